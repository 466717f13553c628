"""Tool search served to agents: `toolgate_search_tools`, the listing's `?query=` and MCP (issue 15).

- **Index lifecycle.** At upload, the search function embeds each integration revision's tools once
  (`embed_tools`, the expensive part) and stores the vectors beside the revision's tools
  (`artifacts/tenants/{t}/integrations/{i}/{revision}/search/vectors.bin`). An assistant's index is
  assembled from its catalog (its toolset applied) and those vectors, and stored under a key derived
  from everything the catalog is made of (`CatalogCache`'s key, hashed):
  `artifacts/tenants/{t}/assistants/{a}/search/{hash}.idx`. It is built at upload for the assistants
  linked to the integration, and on the first search when it is missing or unusable (a toolset changed,
  the object is gone or corrupt): rebuilt from the stored tools, never answered as "nothing matched".
- **Warm reuse.** A warm search function keeps loaded indexes by that same key (tenant first), least
  recently used dropped first: never another tenant's, never a stale one.
- **Listing.** An assistant with more tools than `SearchSettings.threshold` (or any, when asked) is
  listed as its pinned tools (`AssistantRecord.pinned`), the job-status tool when it has one, and
  `toolgate_search_tools`.

This module is what every function needs (the meta-tool, the listing, the checks, the keys); building and
searching indexes is `toolgate.service.search_index`, imported by the search function alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Protocol

from toolgate.errors import SearchQueryInvalidError
from toolgate.service.jobs.terms import JOB_STATUS_TOOL
from toolgate.service.layout import artifact_prefix, tenant_artifact_prefix
from toolgate.service.models import AssistantRecord
from toolgate.settings import SearchSettings
from toolgate.spec.models import Annotations, CanonicalTool

SEARCH_TOOL = "toolgate_search_tools"
#: Mirrors `toolgate.search.MAX_QUERY_CHARS` (not imported: listing needs no search engine).
MAX_QUERY_CHARS = 1_000


class ToolSearcher(Protocol):
    """Where searches run: the search function (deployed), or in process (tests, local runs)."""

    def search(self, tenant_id: str, assistant_id: str, query: str, limit: int) -> list[str]:
        """The names of the assistant's tools best matching `query`, best first."""
        ...

    def prepare(self, tenant_id: str, integration_id: str) -> None:
        """Embed the integration's ready revision and build its assistants' indexes (may be async)."""
        ...


# --- The meta-tool and the listing -----------------------------------------------------------------


def search_tool(settings: SearchSettings) -> CanonicalTool:
    """`toolgate_search_tools`: finds the assistant's other tools by what they do."""
    return CanonicalTool(
        name=SEARCH_TOOL,
        description=(
            "Find this assistant's tools by what you need to do. Returns the best matching tools as full "
            "tool definitions, best first; call one of them by its name as you call any tool. Describe "
            "the task in plain words, e.g. 'delete a webhook of a repository'."
        ),
        method="POST",
        path="/v1/assistants/{assistant}/tools/search",
        pointer="#/x-toolgate/search-tools",
        input_schema={
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": "What the tool should do, in words.",
                    "minLength": 1,
                    "maxLength": MAX_QUERY_CHARS,
                },
                "limit": {
                    "type": "integer",
                    "description": f"How many tools to return (default {settings.default_results}).",
                    "minimum": 1,
                    "maximum": settings.max_results,
                },
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        annotations=Annotations(read_only=True, destructive=False, idempotent=True, open_world=False),
    )


def listed_tools(
    tools: Sequence[CanonicalTool],
    assistant: AssistantRecord,
    settings: SearchSettings,
    *,
    asked: bool | None,
) -> tuple[list[CanonicalTool], bool]:
    """What the listing holds, and whether it is a search listing: the catalog as it is, or (over the
    threshold, or `asked`) the pinned tools, the job-status tool and `toolgate_search_tools`."""
    searching = asked if asked is not None else len(tools) > settings.threshold
    if not searching:
        return list(tools), False
    pinned = set(assistant.pinned)
    kept = [tool for tool in tools if tool.name in pinned or tool.name == JOB_STATUS_TOOL]
    return [*kept, search_tool(settings)], True


def checked_query(query: object) -> str:
    """The query, when it is text of 1 to MAX_QUERY_CHARS characters; SearchQueryInvalidError if not."""
    if not isinstance(query, str) or not query.strip():
        raise SearchQueryInvalidError(
            "The search query must be non-empty text: describe the tool you need in words."
        )
    if len(query) > MAX_QUERY_CHARS:
        raise SearchQueryInvalidError(
            f"The search query is {len(query):,} characters; the most is {MAX_QUERY_CHARS:,}. "
            "Describe the tool you need in a sentence."
        )
    return query


def checked_limit(limit: object, settings: SearchSettings) -> int:
    """`limit` clamped to `max_results`; None is the default. Not a whole number of 1 or more: 400."""
    if limit is None:
        return settings.default_results
    if isinstance(limit, str) and limit.isdigit() and len(limit) <= 9:
        limit = int(limit)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise SearchQueryInvalidError(
            f"limit must be a whole number from 1 to {settings.max_results} (larger ones are clamped)."
        )
    return min(limit, settings.max_results)


# --- Where indexes live --------------------------------------------------------------------------


def revision_vectors_key(tenant_id: str, integration_id: str, revision: str) -> str:
    return f"{artifact_prefix(tenant_id, integration_id, revision)}search/vectors.bin"


def assistant_index_prefix(tenant_id: str, assistant_id: str) -> str:
    """Where every index of the assistant's catalogs lives."""
    return f"{tenant_artifact_prefix(tenant_id)}assistants/{assistant_id}/search/"


def assistant_index_key(key: tuple[object, ...]) -> str:
    """The S3 key of the index of the catalog `key` (`catalog_key`: tenant, assistant, toolset,
    revisions); another toolset or revision is another object."""
    tenant_id, assistant_id = str(key[0]), str(key[1])
    digest = hashlib.sha256(json.dumps(key, separators=(",", ":")).encode()).hexdigest()[:32]
    return f"{assistant_index_prefix(tenant_id, assistant_id)}{digest}.idx"
