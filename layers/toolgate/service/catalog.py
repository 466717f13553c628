"""An assistant's tools: the canonical tools of its ready integrations, through its toolset, plus
Toolgate's job-status tool when one of them is a long-running operation. The management API's listing
and the MCP server's `tools/list` both read them here, in one stable order: the assistant's integrations
in order, each one's tools as stored.

`CatalogCache` keeps a warm function's catalogs (the MCP function's `tools/list` reads every tool of
every integration otherwise, for each page). `page_cursor` and `page_offset` are the one opaque cursor of
both paged listings (REST and MCP's `tools/list`).

Pure: the tenant's store is reached through `TenantResources`.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from toolgate.errors import ConflictError, ToolgateError, ToolNameConflictError
from toolgate.service.jobs.terms import JOB_STATUS_TOOL, job_pattern, job_status_tool
from toolgate.service.models import AssistantRecord, IntegrationRecord
from toolgate.service.ports import TenantResources
from toolgate.service.search import SEARCH_TOOL
from toolgate.service.stored_tools import load_tool
from toolgate.service.toolsets import assistant_allows
from toolgate.spec.models import CanonicalTool

_TOOL_READ_ATTEMPTS = 3
_CURSOR_PREFIX = "tg1:"
_MAX_CURSOR_CHARS = 64


class AssistantCatalog(NamedTuple):
    tools: list[CanonicalTool]
    #: (integration id, status) of each integration without a ready version: "missing" when deleted.
    unavailable: list[tuple[str, str]]
    #: (integration id, the ready revision listed, or None) of each of the assistant's integrations.
    revisions: tuple[tuple[str, str | None], ...] = ()
    #: Per tool of `tools`: its token counts by dialect name, as stored at upload; empty when unknown
    #: (a revision stored before counts were, or Toolgate's own job-status tool).
    tokens: Sequence[dict[str, int]] = ()


class FreshTools(NamedTuple):
    """An integration's tools and their token counts not stored yet (an upload in progress)."""

    tools: list[CanonicalTool]
    tokens: list[dict[str, int]]


def assistant_catalog(
    resources: TenantResources,
    assistant: AssistantRecord,
    integrations: Sequence[IntegrationRecord | None] | None = None,
    fresh: Mapping[str, FreshTools] | None = None,
) -> AssistantCatalog:
    """The assistant's tools; ToolNameConflictError when two integrations define one name.
    `integrations`: the records of `assistant.integrations` read already, in order. `fresh`: tools by
    integration id that stand in for those integrations' stored ones."""
    assistant_id = assistant.assistant_id
    fresh = fresh or {}
    if integrations is None:
        integrations = [resources.store.get_integration(name) for name in assistant.integrations]
    tools: list[CanonicalTool] = []
    tokens: list[dict[str, int]] = []
    owners: dict[str, str] = {}
    unavailable: list[tuple[str, str]] = []
    revisions: list[tuple[str, str | None]] = []
    for integration_id, integration in zip(assistant.integrations, integrations, strict=True):
        if integration_id in fresh:
            given = fresh[integration_id]
            revision, listed = None, list(zip(given.tools, given.tokens, strict=True))
        elif integration is None or integration.ready is None:
            unavailable.append((integration_id, integration.status.value if integration else "missing"))
            revisions.append((integration_id, None))
            continue
        else:
            revision, listed = _ready_tools(resources, integration)
        revisions.append((integration_id, revision))
        for tool, counts in listed:
            if not assistant_allows(assistant, tool):
                continue
            if tool.name in owners:
                raise ToolNameConflictError(
                    f"Integrations '{owners[tool.name]}' and '{integration_id}' both define tool "
                    f"'{tool.name}'; list only one of them in assistant '{assistant_id}' or limit its "
                    "toolset."
                )
            owners[tool.name] = integration_id
            tools.append(tool)
            tokens.append(counts)
    if SEARCH_TOOL in owners:
        raise ToolNameConflictError(
            f"Integration '{owners[SEARCH_TOOL]}' defines a tool named '{SEARCH_TOOL}', which is Toolgate's "
            "own tool search; leave it out with the integration's `exclude` setting."
        )
    if any(job_pattern(tool) is not None for tool in tools):
        if JOB_STATUS_TOOL in owners:
            raise ToolNameConflictError(
                f"Integration '{owners[JOB_STATUS_TOOL]}' defines a tool named '{JOB_STATUS_TOOL}', "
                "which is Toolgate's own job-status tool for long-running operations; leave it out "
                "with the integration's `exclude` setting."
            )
        tools.append(job_status_tool())
        tokens.append({})
    return AssistantCatalog(tools=tools, unavailable=unavailable, revisions=tuple(revisions), tokens=tokens)


def _ready_tools(
    resources: TenantResources, integration: IntegrationRecord
) -> tuple[str | None, list[tuple[CanonicalTool, dict[str, int]]]]:
    """The ready revision and its tools with their stored token counts; read again if an upload replaced
    the revision meanwhile."""
    for _ in range(_TOOL_READ_ATTEMPTS):
        ready = integration.ready
        if ready is None:
            return None, []
        items = resources.store.list_tools(integration.integration_id, ready.revision)
        if len(items) == ready.tool_count:
            return ready.revision, [(load_tool(item, resources), dict(item.tokens)) for item in items]
        refreshed = resources.store.get_integration(integration.integration_id)
        if refreshed is None:
            return None, []
        integration = refreshed
    raise ConflictError(
        f"Integration '{integration.integration_id}' is being replaced; list the tools again shortly."
    )


# --- The warm function's catalogs ----------------------------------------------------------------


class CachedCatalog:
    __slots__ = ("catalog", "derived")

    def __init__(self, catalog: AssistantCatalog) -> None:
        self.catalog = catalog
        #: What callers derived from the catalog, by their own key (e.g. the MCP rendering per revision).
        self.derived: dict[str, Any] = {}


class CatalogCache:
    """Assistants' catalogs, least recently used dropped first.

    The key names everything a catalog is made of: the tenant, the assistant, its integrations in
    order, its toolset, and each integration's ready revision (a new one per upload; a revision's tools
    never change). Checking it costs the assistant's and its integrations' records, read for every
    request; a change to any of them is a miss, never a stale or another tenant's catalog.
    """

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[object, ...], CachedCatalog] = OrderedDict()
        self._lock = threading.Lock()

    def catalog(self, resources: TenantResources, assistant: AssistantRecord) -> CachedCatalog:
        integrations = [resources.store.get_integration(name) for name in assistant.integrations]
        revisions = tuple(
            (name, record.ready.revision if record is not None and record.ready is not None else None)
            for name, record in zip(assistant.integrations, integrations, strict=True)
        )
        key = catalog_key(resources.tenant_id, assistant, revisions)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                return cached
        entry = CachedCatalog(assistant_catalog(resources, assistant, integrations))
        # An upload landed while the tools were read: serve what was read, keep nothing.
        if entry.catalog.revisions == revisions:
            with self._lock:
                self._entries[key] = entry
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        return entry


def catalog_key(
    tenant_id: str, assistant: AssistantRecord, revisions: tuple[tuple[str, str | None], ...]
) -> tuple[object, ...]:
    """Everything an assistant's catalog is made of: a different key is a different catalog."""
    return (tenant_id, assistant.assistant_id, _toolset(assistant), revisions)


def _toolset(assistant: AssistantRecord) -> tuple[object, ...]:
    return (
        tuple(assistant.tools) if assistant.tools is not None else None,
        tuple(assistant.tags) if assistant.tags is not None else None,
        assistant.read_only,
        tuple(assistant.exclude),
    )


# --- Paging ----------------------------------------------------------------------------------------


def page_cursor(offset: int) -> str:
    """The opaque cursor of the page that starts at `offset`."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode().rstrip("=")


def page_offset(cursor: object, total: int, garbage: ToolgateError) -> int:
    """Where the page `cursor` names starts (0 for none); `garbage` for anything `page_cursor` did not
    make. A list that shrank since: past its end is an empty last page."""
    if cursor is None:
        return 0
    if not isinstance(cursor, str) or len(cursor) > _MAX_CURSOR_CHARS:
        raise garbage
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise garbage from None
    digits = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not digits.isdigit() or len(digits) > 9:
        raise garbage
    return min(int(digits), total)
