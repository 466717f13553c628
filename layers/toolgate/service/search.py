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

Pure: S3 and DynamoDB are reached through `TenantResources`; the engine is `toolgate.search`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from toolgate.errors import (
    NotFoundError,
    SearchIndexError,
    SearchQueryInvalidError,
    TenantForbiddenError,
    ToolgateError,
)
from toolgate.service.catalog import AssistantCatalog, CatalogCache, assistant_catalog, catalog_key
from toolgate.service.ingest import load_tool
from toolgate.service.jobs.records import JOB_STATUS_TOOL
from toolgate.service.layout import artifact_prefix, tenant_artifact_prefix
from toolgate.service.models import AssistantRecord
from toolgate.service.ports import ResourceProvider, TenantResources
from toolgate.service.tenancy import check_resource_id
from toolgate.settings import SearchSettings
from toolgate.spec.models import Annotations, CanonicalTool

if TYPE_CHECKING:
    from toolgate.search import SearchIndex

logger = logging.getLogger(__name__)

SEARCH_TOOL = "toolgate_search_tools"
#: Mirrors `toolgate.search.MAX_QUERY_CHARS` (not imported: listing needs no search engine).
MAX_QUERY_CHARS = 1_000
#: The largest stored index read back; GitHub's 1,078 tools take about 2 MB.
MAX_INDEX_BYTES = 256 * 1024 * 1024
_CONTENT_TYPE = "application/octet-stream"


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


def assistant_index_key(key: tuple[object, ...]) -> str:
    """The S3 key of the index of the catalog `key` (`catalog_key`: tenant, assistant, toolset,
    revisions); another toolset or revision is another object."""
    tenant_id, assistant_id = str(key[0]), str(key[1])
    digest = hashlib.sha256(json.dumps(key, separators=(",", ":")).encode()).hexdigest()[:32]
    return f"{tenant_artifact_prefix(tenant_id)}assistants/{assistant_id}/search/{digest}.idx"


# --- Building and searching (the search function) ------------------------------------------------


class SearchIndexes:
    """Assistants' loaded indexes, least recently used dropped first, keyed as catalogs are."""

    def __init__(self, settings: SearchSettings, catalogs: CatalogCache | None = None) -> None:
        self._settings = settings
        self._catalogs = catalogs or CatalogCache(settings.index_cache_entries)
        self._entries: OrderedDict[tuple[object, ...], SearchIndex] = OrderedDict()
        self._lock = threading.Lock()

    def search(
        self, resources: TenantResources, assistant_id: str, query: object, limit: object
    ) -> list[str]:
        """The names of the assistant's tools best matching `query`, best first."""
        text, count = checked_query(query), checked_limit(limit, self._settings)
        assistant = resources.store.get_assistant(check_resource_id(assistant_id, "assistant"))
        if assistant is None:
            raise NotFoundError(f"No assistant '{assistant_id}'.")
        catalog = self._catalogs.catalog(resources, assistant).catalog
        index = self._index(resources, assistant, catalog)
        return [hit.name for hit in index.search(text, count)]

    def prepare(self, resources: TenantResources, integration_id: str) -> None:
        """Embed the integration's ready revision once, then build the indexes of its assistants."""
        integration = resources.store.get_integration(integration_id)
        if integration is None or integration.ready is None:
            return
        from toolgate.search import embed_tools  # noqa: PLC0415 - only the search function embeds

        revision = integration.ready.revision
        items = resources.store.list_tools(integration_id, revision)
        tools = [load_tool(item, resources) for item in items]
        key = revision_vectors_key(resources.tenant_id, integration_id, revision)
        resources.objects.put(key, embed_tools(tools), _CONTENT_TYPE)
        for assistant in resources.store.list_assistants():
            if integration_id not in assistant.integrations:
                continue
            try:
                catalog = assistant_catalog(resources, assistant)
                self._index(resources, assistant, catalog, rebuild=True)
            except ToolgateError as error:
                # Built on its first search instead; the listing says what is wrong (e.g. a name clash).
                logger.warning(
                    "search index not built at upload",
                    extra={"assistant_id": assistant.assistant_id, "error_code": error.code},
                )

    def _index(
        self,
        resources: TenantResources,
        assistant: AssistantRecord,
        catalog: AssistantCatalog,
        *,
        rebuild: bool = False,
    ) -> SearchIndex:
        from toolgate.search import load_index  # noqa: PLC0415

        key = catalog_key(resources.tenant_id, assistant, catalog.revisions)
        names = [tool.name for tool in catalog.tools]
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and not rebuild:
                self._entries.move_to_end(key)
                return cached
        object_key = assistant_index_key(key)
        index = None if rebuild else _stored_index(resources, object_key)
        if index is None or index.names != names:
            data = self._built(resources, catalog)
            resources.objects.put(object_key, data, _CONTENT_TYPE)
            index = load_index(data)
        with self._lock:
            self._entries[key] = index
            self._entries.move_to_end(key)
            while len(self._entries) > self._settings.index_cache_entries:
                self._entries.popitem(last=False)
        return index

    @staticmethod
    def _built(resources: TenantResources, catalog: AssistantCatalog) -> bytes:
        """The catalog's index from its revisions' stored vectors; tools without one are embedded."""
        from toolgate.search import build_index  # noqa: PLC0415

        stored = []
        for integration_id, revision in catalog.revisions:
            if revision is not None:
                data = _read(resources, revision_vectors_key(resources.tenant_id, integration_id, revision))
                if data is not None:
                    stored.append(data)
        return build_index(catalog.tools, stored_vectors=stored)


def _stored_index(resources: TenantResources, key: str) -> SearchIndex | None:
    """The stored index, or None when it is missing or unusable (then it is rebuilt)."""
    from toolgate.search import load_index  # noqa: PLC0415

    data = _read(resources, key)
    if data is None:
        return None
    try:
        return load_index(data)
    except SearchIndexError as error:
        logger.warning("stored search index unusable; rebuilding", extra={"error_code": error.code})
        return None


def _read(resources: TenantResources, key: str) -> bytes | None:
    try:
        return resources.objects.read_upload(key, None, MAX_INDEX_BYTES)
    except TenantForbiddenError:
        # Without s3:ListBucket on the key, S3 answers a missing object with AccessDenied.
        return None


class InProcessSearcher:
    """A `ToolSearcher` that runs the search here: the search function itself, tests, local runs."""

    def __init__(self, provider: ResourceProvider, indexes: SearchIndexes) -> None:
        self._provider = provider
        self._indexes = indexes

    def search(self, tenant_id: str, assistant_id: str, query: str, limit: int) -> list[str]:
        return self._indexes.search(self._provider.for_tenant(tenant_id), assistant_id, query, limit)

    def prepare(self, tenant_id: str, integration_id: str) -> None:
        self._indexes.prepare(self._provider.for_tenant(tenant_id), integration_id)
