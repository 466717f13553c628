"""The MCP server validates params and shapes results per revision without the SDK's per-revision models
(`mcp_types.methods`, kept out of the function's cold start): these tests hold its answers to the SDK's,
case by case, so a drift in either shows here."""

from __future__ import annotations

from typing import Any

import pytest
from mcp_types import (
    SERVER_INFO_META_KEY,
    CallToolResult,
    DiscoverResult,
    InitializeResult,
    ListToolsResult,
    TextContent,
)
from mcp_types import methods as sdk_methods
from pydantic import BaseModel, ValidationError
from toolgate.errors import McpInvalidParamsError
from toolgate.mcp.server import (
    MODERN_REVISION,
    SERVED_REVISIONS,
    SERVER_INFO,
    SPEC_REQUESTS,
    validate_params,
    wire_result,
)
from toolgate.mcp.tasks import TASKS, declare_task_support
from toolgate.mcp.tools import CORE_METHODS, tools_page
from toolgate.settings import McpSettings
from toolgate.spec.compiler import compile_path
from toolgate_demo import support_desk_spec

_MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN_REVISION,
    "io.modelcontextprotocol/clientCapabilities": {},
}
_CLIENT = {"name": "client", "version": "1.0"}

_PARAMS: dict[str, list[dict[str, Any]]] = {
    "initialize": [
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": _CLIENT},
        {"protocolVersion": "2025-11-25", "capabilities": {"extensions": {"x": {}}}, "clientInfo": _CLIENT},
        {"protocolVersion": "2025-06-18", "capabilities": {}},
        {"protocolVersion": 7, "capabilities": {}, "clientInfo": _CLIENT},
        {"protocolVersion": "2025-06-18", "capabilities": [], "clientInfo": _CLIENT},
        {"protocolVersion": "2025-06-18", "capabilities": {"sampling": 1}, "clientInfo": _CLIENT},
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": 3}},
    ],
    "ping": [{}, {"_meta": {"progressToken": "p"}}, {"_meta": {"progressToken": [1]}}],
    "server/discover": [{}],
    "tools/list": [
        {},
        {"cursor": "abc"},
        {"cursor": 5},
        {"cursor": None},
        {"_meta": {"progressToken": 4}},
        {"_meta": {"progressToken": {"no": 1}}},
        {"_meta": "not an object"},
    ],
    "tools/call": [
        {"name": "create_support_case"},
        {"name": "create_support_case", "arguments": {"summary": "s"}},
        {"name": "create_support_case", "arguments": None},
        {"name": "create_support_case", "arguments": ["a"]},
        {"name": 12},
        {},
        {"name": "t", "task": {"ttl": 1000}},
        {"name": "t", "task": {"ttl": "soon"}},
        {"name": "t", "task": "yes"},
        {"name": "t", "inputResponses": "not a map"},
        {"name": "t", "requestState": 3},
        {"name": "t", "_meta": {"progressToken": "p", "vendor/key": [1, 2]}},
    ],
}
#: 2026-07-28 `_meta` variants, over each method's params.
_MODERN_METAS: list[dict[str, Any]] = [
    _MODERN_META,
    {**_MODERN_META, "io.modelcontextprotocol/clientCapabilities": "all of them"},
    {**_MODERN_META, "io.modelcontextprotocol/clientCapabilities": {"sampling": {}, "elicitation": {}}},
    {**_MODERN_META, "io.modelcontextprotocol/clientCapabilities": {"roots": 5}},
    {**_MODERN_META, "io.modelcontextprotocol/clientInfo": _CLIENT},
    {**_MODERN_META, "io.modelcontextprotocol/clientInfo": {"name": "c"}},
    {**_MODERN_META, "io.modelcontextprotocol/logLevel": "info"},
    {**_MODERN_META, "io.modelcontextprotocol/logLevel": "loud"},
    {**_MODERN_META, "progressToken": 1.5},
    {**_MODERN_META, "progressToken": True},
]


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    cases = []
    for method, spec in SPEC_REQUESTS.items():
        for revision in sorted(spec.revisions):
            for params in _PARAMS[method]:
                if revision != MODERN_REVISION:
                    cases.append((method, revision, params))
                    continue
                own_meta = params.get("_meta")
                for meta in _MODERN_METAS:
                    merged = {**(own_meta if isinstance(own_meta, dict) else {}), **meta}
                    cases.append((method, revision, {**params, "_meta": merged}))
    return cases


def _sdk_refuses(method: str, revision: str, params: dict[str, Any]) -> bool:
    try:
        sdk_methods.parse_client_request(method, revision, params)
    except ValidationError:
        return True
    return False


def _server_refuses(method: str, revision: str, params: dict[str, Any]) -> bool:
    try:
        validate_params(method, revision, params)
    except McpInvalidParamsError:
        return True
    return False


def test_each_spec_method_is_served_exactly_where_the_sdks_surface_map_defines_it() -> None:
    served_methods = set(CORE_METHODS) | set(TASKS.methods)
    for method in served_methods:
        defined = {
            revision for revision in SERVED_REVISIONS if (method, revision) in sdk_methods.CLIENT_REQUESTS
        }
        if defined:
            assert method in SPEC_REQUESTS, f"{method} is a spec method the server would not validate"
            assert SPEC_REQUESTS[method].revisions == defined, method
            assert SPEC_REQUESTS[method].model is sdk_methods.MONOLITH_REQUESTS[method]


@pytest.mark.parametrize(("method", "revision", "params"), _cases())
def test_params_the_sdk_refuses_at_a_revision_are_refused_and_none_it_accepts(
    method: str, revision: str, params: dict[str, Any]
) -> None:
    assert _server_refuses(method, revision, params) == _sdk_refuses(method, revision, params)


def test_an_invalid_meta_key_is_named_but_its_value_is_not_echoed() -> None:
    params = {"_meta": {**_MODERN_META, "io.modelcontextprotocol/logLevel": "sk_live_secret"}}
    with pytest.raises(McpInvalidParamsError) as refused:
        validate_params("tools/list", MODERN_REVISION, params)
    assert "params._meta.io.modelcontextprotocol/logLevel" in refused.value.message
    assert "sk_live_secret" not in refused.value.message


def _results() -> list[tuple[str, str, BaseModel | dict[str, Any]]]:
    tools = compile_path(support_desk_spec()).tools
    settings = McpSettings(page_size=2)
    capabilities = {"tools": {"listChanged": False}, "tasks": {"list": {}}, "extensions": {"x/y": {}}}
    call = CallToolResult(
        content=[TextContent(text="{}")],
        structured_content={"ok": True, "status": 200, "body": {"id": 1}},
        is_error=False,
        meta={"vendor/key": 1},
    )
    results: list[tuple[str, str, BaseModel | dict[str, Any]]] = []
    for revision in SERVED_REVISIONS:
        for cursor in (None, "dGcxOjI"):
            page = tools_page(tools, cursor, revision, settings, (declare_task_support,))
            results.append(("tools/list", revision, page))
        results.append(("tools/call", revision, call))
        # A definition with every optional field, `execution` (2025-11-25 only) among them.
        rich = {
            "name": "t",
            "title": "T",
            "inputSchema": {"type": "object", "additionalProperties": False, "$defs": {"a": {}}},
            "outputSchema": {"type": "object", "x-vendor": 1},
            "annotations": {"readOnlyHint": True},
            "execution": {"taskSupport": "optional"},
            "icons": [{"src": "https://example.test/i.png"}],
            "_meta": {"vendor/key": 1},
        }
        results.append(("tools/list", revision, ListToolsResult.model_validate({"tools": [rich]})))
    for revision in sorted(SPEC_REQUESTS["initialize"].revisions):
        initialized = InitializeResult.model_validate(
            {"protocolVersion": revision, "capabilities": capabilities, "serverInfo": SERVER_INFO}
        )
        results += [("initialize", revision, initialized), ("ping", revision, {})]
    discovered = DiscoverResult.model_validate(
        {
            "supportedVersions": [MODERN_REVISION],
            "capabilities": capabilities,
            "ttlMs": 5,
            "cacheScope": "private",
        }
    )
    results.append(("server/discover", MODERN_REVISION, discovered))
    return results


@pytest.mark.parametrize(("method", "revision", "result"), _results())
def test_a_result_carries_no_field_its_revision_lacks_exactly_as_the_sdk_shapes_it(
    method: str, revision: str, result: BaseModel | dict[str, Any]
) -> None:
    data = (
        result.model_dump(by_alias=True, mode="json", exclude_none=True)
        if isinstance(result, BaseModel)
        else dict(result)
    )
    if revision == MODERN_REVISION:
        data.setdefault("resultType", "complete")
    expected = sdk_methods.serialize_server_result(method, revision, data)
    if revision == MODERN_REVISION:
        expected["_meta"] = {**expected.get("_meta", {}), SERVER_INFO_META_KEY: SERVER_INFO}
    assert wire_result(method, revision, result) == expected
