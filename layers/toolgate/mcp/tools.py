"""The core methods: `initialize`, `server/discover`, `ping`, `tools/list` and `tools/call`.

- `tools/list` renders the assistant's tools with the MCP dialect (`toolgate.dialects.mcp`), in the
  catalog's stable order (`toolgate.service.catalog`), a page at a time. A warm function keeps each
  catalog, and each tool's definition per revision once a page has rendered it (`CatalogCache`, keyed by
  everything the catalog is made of), so later pages and later lists read no tool items. The cursor is
  opaque: the offset of the next page, encoded; anything else is -32602. On 2026-07-28 it carries
  `ttlMs` and `cacheScope` (`private`: the list is the caller's tenant's).
- Tool search: an assistant with more tools than `SearchSettings.threshold` lists its pinned tools and
  `toolgate_search_tools`, whose `tools/call` answers the found tools as MCP definitions
  (`toolgate.service.search`).
- `tools/call` is REST invoke's path (`InvokeService.invoke`, in the MCP call format): argument
  validation, credential, egress guard, deadline, retries, idempotency, audit, continuation. A tool's
  failure, or a call refused by the tenant's limits, is a result with `isError` true and the envelope's
  error code; a tool the assistant lacks, or a call of no valid shape, is -32602.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mcp_types import (
    CallToolResult,
    DiscoverResult,
    InitializeResult,
    ListToolsResult,
    TextContent,
)

from toolgate.dialects import render_tools
from toolgate.dialects.base import Dialect
from toolgate.errors import (
    CallInvalidError,
    McpInvalidParamsError,
    NotFoundError,
    TenantLimitError,
    ToolNotAvailableError,
)
from toolgate.mcp.server import MODERN_REVISION, SERVER_INFO, McpContext, Method, ToolHook
from toolgate.runtime.envelope import result_from_error
from toolgate.runtime.redaction import Redactor
from toolgate.service.catalog import CachedCatalog, assistant_catalog, page_cursor, page_offset
from toolgate.service.invoke import InvokeRequest
from toolgate.service.search import listed_tools
from toolgate.service.tenancy import Role, check_resource_id
from toolgate.settings import McpSettings
from toolgate.spec.models import CanonicalTool

INSTRUCTIONS = (
    "Each tool calls an API operation through Toolgate. A result's structuredContent is Toolgate's "
    "envelope: ok, status, body, and error {code, message} when the call failed."
)


def core_capabilities(revision: str) -> dict[str, Any]:
    return {"tools": {"listChanged": False}}


def initialize(context: McpContext, params: dict[str, Any]) -> InitializeResult:
    """Answered without session state: every later request stands on its own."""
    return InitializeResult.model_validate(
        {
            "protocolVersion": context.revision,
            "capabilities": context.capabilities,
            "serverInfo": SERVER_INFO,
            "instructions": INSTRUCTIONS,
        }
    )


def discover(context: McpContext, params: dict[str, Any]) -> DiscoverResult:
    return DiscoverResult.model_validate(
        {
            "supportedVersions": [MODERN_REVISION],
            "capabilities": context.capabilities,
            "instructions": INSTRUCTIONS,
            "ttlMs": context.settings.list_ttl_ms,
            "cacheScope": "private",
        }
    )


def ping(context: McpContext, params: dict[str, Any]) -> dict[str, Any]:
    return {}


def list_tools(context: McpContext, params: dict[str, Any]) -> ListToolsResult:
    service = context.service
    service.context.require(Role.ADMIN, Role.AGENT)
    assistant_id = check_resource_id(context.assistant_id, "assistant")
    assistant = service.resources.tenant.store.get_assistant(assistant_id)
    if assistant is None:
        raise NotFoundError(f"No assistant '{assistant_id}'.")
    cursor, revision, settings = params.get("cursor"), context.revision, context.settings
    # --- Tool search (issue 15, slice wire): over the threshold, the pinned tools and the meta-tool ---
    if service.searcher is not None:
        tools = (
            context.catalogs.catalog(service.resources.tenant, assistant).catalog.tools
            if context.catalogs is not None
            else assistant_catalog(service.resources.tenant, assistant).tools
        )
        listed, searching = listed_tools(tools, assistant, service.search_config, asked=None)
        if searching or context.catalogs is None:
            return tools_page(listed, cursor, revision, settings, context.tool_hooks)
    if context.catalogs is None:
        tools = assistant_catalog(service.resources.tenant, assistant).tools
        return tools_page(tools, cursor, revision, settings, context.tool_hooks)
    cached = context.catalogs.catalog(service.resources.tenant, assistant)
    total = len(cached.catalog.tools)
    start = _offset(cursor, total)
    end = start + settings.page_size
    page = _rendered_page(cached, revision, context.tool_hooks, start, end)
    return _listing(page, end, total, revision, settings)


def tools_page(
    tools: Sequence[CanonicalTool],
    cursor: object,
    revision: str,
    settings: McpSettings,
    hooks: Sequence[ToolHook] = (),
) -> ListToolsResult:
    """The page of `tools` after `cursor`, rendered with the MCP dialect (only that page is rendered)."""
    start = _offset(cursor, len(tools))
    end = start + settings.page_size
    return _listing(rendered(tools[start:end], revision, hooks), end, len(tools), revision, settings)


def rendered(
    tools: Sequence[CanonicalTool], revision: str, hooks: Sequence[ToolHook]
) -> list[dict[str, Any]]:
    """The MCP definitions of `tools` at `revision`, each extension's hook applied."""
    definitions = render_tools(tools, Dialect.MCP).definitions
    for hook in hooks:
        pairs = zip(tools, definitions, strict=True)
        definitions = [hook(revision, tool, definition) for tool, definition in pairs]
    return definitions


def _rendered_page(
    cached: CachedCatalog, revision: str, hooks: Sequence[ToolHook], start: int, end: int
) -> list[dict[str, Any]]:
    """The definitions of `cached`'s tools start to end at `revision`: each rendered once, when a page
    first holds it, and kept with the catalog."""
    tools = cached.catalog.tools
    definitions: list[dict[str, Any] | None] = cached.derived.setdefault(
        f"mcp:{revision}", [None] * len(tools)
    )
    missing = [index for index in range(start, min(end, len(tools))) if definitions[index] is None]
    if missing:
        fresh = rendered([tools[index] for index in missing], revision, hooks)
        for index, definition in zip(missing, fresh, strict=True):
            definitions[index] = definition
    return [definition for definition in definitions[start:end] if definition is not None]


def _listing(
    definitions: list[dict[str, Any]], end: int, total: int, revision: str, settings: McpSettings
) -> ListToolsResult:
    result: dict[str, Any] = {"tools": definitions}
    if end < total:
        result["nextCursor"] = page_cursor(end)
    if revision == MODERN_REVISION:
        result |= {"ttlMs": settings.list_ttl_ms, "cacheScope": "private"}
    return ListToolsResult.model_validate(result)


def call_tool(context: McpContext, params: dict[str, Any]) -> CallToolResult:
    """Run the tool as REST invoke does; the answer is the MCP call format's result block."""
    name = params.get("name")
    request = InvokeRequest(
        assistant_id=context.assistant_id,
        tool_name=name if isinstance(name, str) else "",
        body={
            "jsonrpc": "2.0",
            "id": context.request_id,
            "method": "tools/call",
            "params": {"name": name, "arguments": params.get("arguments")},
        },
        request_id=context.http_request_id,
        deadline=context.deadline,
        idempotency_key=context.idempotency_key,
    )
    try:
        response = context.service.invoke(request).response
    except (ToolNotAvailableError, CallInvalidError) as error:
        raise McpInvalidParamsError(error.message, details={"reason": error.code}) from None
    except TenantLimitError as error:
        envelope = result_from_error(error, Redactor()).to_dict()
        return envelope_result(envelope)
    return CallToolResult.model_validate(response["result"])


def envelope_result(envelope: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(text=json.dumps(envelope, ensure_ascii=False, separators=(",", ":")))],
        structured_content=envelope,
        is_error=envelope.get("ok") is not True,
    )


def _offset(cursor: object, total: int) -> int:
    garbage = McpInvalidParamsError(
        "The cursor is not one this server gave: pass a tools/list result's nextCursor as it is, or no "
        "cursor for the first page."
    )
    return page_offset(cursor, total, garbage)


CORE_METHODS: dict[str, Method] = {
    "initialize": Method(initialize),
    "server/discover": Method(discover),
    "ping": Method(ping),
    "tools/list": Method(list_tools),
    "tools/call": Method(call_tool),
}
