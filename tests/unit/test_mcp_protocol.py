"""The MCP server's transport, framing and revision negotiation (`toolgate.mcp.server`), in memory: the
methods used here never reach the invoke service, so it is a bare placeholder that fails if touched."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import pytest
from toolgate.errors import (
    McpMethodNotAllowedError,
    McpNotAcceptableError,
    McpRequestTooLargeError,
    MediaTypeUnsupportedError,
)
from toolgate.mcp.server import Extension, HttpReply, HttpRequest, McpServer, Method
from toolgate.mcp.tools import CORE_METHODS, _offset, core_capabilities
from toolgate.runtime.transport import Deadline
from toolgate.service.catalog import page_cursor
from toolgate.service.invoke import InvokeService
from toolgate.settings import McpSettings

MODERN = "2026-07-28"
SETTINGS = McpSettings()


class _Untouchable:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the invoke service was used ({name})")


def _service() -> InvokeService:
    return cast(InvokeService, _Untouchable())


def _meta(revision: str = MODERN) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": revision,
        "io.modelcontextprotocol/clientCapabilities": {},
    }


def _post(
    body: object,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    raw: bytes | None = None,
    method: str = "POST",
) -> HttpReply:
    if headers is None:
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        if isinstance(body, dict) and isinstance(body.get("params"), dict) and "_meta" in body["params"]:
            headers |= {"mcp-protocol-version": MODERN, "mcp-method": str(body.get("method"))}
    request = HttpRequest(
        method=method,
        headers=[*headers.items(), *(extra or {}).items()],
        body=raw if raw is not None else json.dumps(body).encode(),
        assistant_id="desk",
        http_request_id="req-1",
        deadline=Deadline.after(10),
    )
    return McpServer(CORE_METHODS, core_capabilities).handle(request, SETTINGS, _service)


def _error(reply: HttpReply) -> dict[str, Any]:
    assert reply.body is not None
    return cast(dict[str, Any], reply.body["error"])


# --- Negotiation --------------------------------------------------------------------------------


@pytest.mark.parametrize("revision", ["2025-06-18", "2025-11-25"])
def test_initialize_agrees_to_a_served_handshake_revision_without_a_session(revision: str) -> None:
    reply = _post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": revision,
                "capabilities": {},
                "clientInfo": {"name": "c", "version": "1"},
            },
        }
    )
    assert reply.status == 200
    assert reply.body is not None
    assert reply.body["result"]["protocolVersion"] == revision
    assert reply.body["result"]["capabilities"]["tools"] == {"listChanged": False}
    assert not any(name.lower() == "mcp-session-id" for name in reply.headers)


def test_initialize_offering_an_unknown_revision_is_answered_with_the_newest_handshake_one() -> None:
    reply = _post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2099-01-01",
                "capabilities": {},
                "clientInfo": {"name": "c", "version": "1"},
            },
        }
    )
    assert reply.body is not None
    assert reply.body["result"]["protocolVersion"] == "2025-11-25"


def test_a_client_sending_a_session_id_is_not_refused() -> None:
    reply = _post(
        {"jsonrpc": "2.0", "id": 2, "method": "ping"},
        extra={"mcp-session-id": "abc", "mcp-protocol-version": "2025-06-18"},
    )
    assert reply.status == 200
    assert reply.body == {"jsonrpc": "2.0", "id": 2, "result": {}}


def test_server_discover_names_the_stateless_revision_and_stamps_the_server_in_meta() -> None:
    reply = _post({"jsonrpc": "2.0", "id": 3, "method": "server/discover", "params": {"_meta": _meta()}})
    assert reply.status == 200, reply.body
    assert reply.body is not None
    result = reply.body["result"]
    assert result["supportedVersions"] == [MODERN]
    assert result["resultType"] == "complete"
    assert result["cacheScope"] == "private"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "toolgate"


def test_server_discover_is_not_served_to_a_handshake_era_request() -> None:
    reply = _post(
        {"jsonrpc": "2.0", "id": 4, "method": "server/discover"}, extra={"mcp-protocol-version": "2025-11-25"}
    )
    assert _error(reply)["code"] == -32601


def test_a_request_at_an_unsupported_revision_gets_the_spec_error_listing_the_supported_ones() -> None:
    body = {"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"_meta": _meta("2030-01-01")}}
    reply = _post(
        body,
        headers={
            "content-type": "application/json",
            "accept": "application/json",
            "mcp-protocol-version": "2030-01-01",
            "mcp-method": "tools/list",
        },
    )
    assert reply.status == 400
    error = _error(reply)
    assert error["code"] == -32022
    assert error["data"]["requested"] == "2030-01-01"
    assert error["data"]["supported"] == ["2025-06-18", "2025-11-25", MODERN]


def test_an_unsupported_handshake_revision_header_is_refused_with_400() -> None:
    reply = _post({"jsonrpc": "2.0", "id": 6, "method": "ping"}, extra={"mcp-protocol-version": "2024-11-05"})
    assert reply.status == 400
    assert _error(reply)["code"] == -32022


def test_a_method_header_that_disagrees_with_the_body_is_a_header_mismatch() -> None:
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"_meta": _meta()}}
    reply = _post(
        body,
        headers={
            "content-type": "application/json",
            "accept": "application/json",
            "mcp-protocol-version": MODERN,
            "mcp-method": "tools/call",
        },
    )
    assert reply.status == 400
    assert _error(reply)["code"] == -32020


def test_a_tool_name_header_that_disagrees_with_the_body_cannot_route_a_call_elsewhere() -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 8,
        "method": "tools/call",
        "params": {"_meta": _meta(), "name": "delete_everything", "arguments": {}},
    }
    reply = _post(
        body,
        headers={
            "content-type": "application/json",
            "accept": "application/json",
            "mcp-protocol-version": MODERN,
            "mcp-method": "tools/call",
            "mcp-name": "list_cases",
        },
    )
    assert _error(reply)["code"] == -32020


def test_a_stateless_revision_request_without_its_meta_envelope_is_invalid_params_with_400() -> None:
    reply = _post(
        {"jsonrpc": "2.0", "id": 10, "method": "tools/list"}, extra={"mcp-protocol-version": MODERN}
    )
    assert reply.status == 400
    assert _error(reply)["code"] == -32602
    assert "_meta" in _error(reply)["message"]


def test_a_version_header_that_disagrees_with_the_body_meta_is_a_header_mismatch() -> None:
    body = {"jsonrpc": "2.0", "id": 9, "method": "ping", "params": {"_meta": _meta()}}
    reply = _post(
        body,
        headers={"content-type": "application/json", "accept": "application/json", "mcp-method": "ping"},
    )
    assert _error(reply)["code"] == -32020


# --- Bad input (item 6) ---------------------------------------------------------------------------


def test_malformed_json_is_a_parse_error_not_a_crash() -> None:
    reply = _post(None, raw=b'{"jsonrpc": "2.0", "id": 1, "method": ')
    assert reply.status == 400
    assert reply.body is not None
    assert reply.body["id"] is None
    assert _error(reply)["code"] == -32700


def test_a_json_rpc_batch_is_refused_since_batching_was_removed() -> None:
    reply = _post(
        [{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": 2, "method": "ping"}]
    )
    assert reply.status == 400
    assert _error(reply)["code"] == -32600
    assert "batch" in _error(reply)["message"]


def test_an_unknown_method_is_method_not_found() -> None:
    reply = _post({"jsonrpc": "2.0", "id": 1, "method": "tools/explode", "params": {"_meta": _meta()}})
    assert reply.status == 404
    assert _error(reply)["code"] == -32601


def test_an_unknown_method_of_the_handshake_era_answers_200_as_that_transport_does() -> None:
    reply = _post(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/explode"}, extra={"mcp-protocol-version": "2025-11-25"}
    )
    assert reply.status == 200
    assert _error(reply)["code"] == -32601


def test_params_that_fail_the_schema_are_invalid_params_without_echoing_them() -> None:
    secret = "sk-live-0123456789"
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"_meta": _meta(), "name": "create_case", "arguments": secret},
    }
    reply = _post(body, extra={"mcp-name": "create_case"})
    assert reply.status == 400
    assert _error(reply)["code"] == -32602
    assert secret not in json.dumps(reply.body)


def test_a_garbage_cursor_is_invalid_params() -> None:
    with pytest.raises(Exception) as refused:
        _offset("definitely-not-a-cursor", 10)
    assert getattr(refused.value, "rpc_code", None) == -32602


@pytest.mark.parametrize("cursor", ["", "dGcxOi0x", "dGcxOjEyMzQ1Njc4OTAxMg", "x" * 65, "dGcyOjU"])
def test_forged_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(Exception) as refused:
        _offset(cursor, 10)
    assert getattr(refused.value, "rpc_code", None) == -32602


def test_cursors_round_trip_and_past_the_end_is_an_empty_last_page() -> None:
    assert _offset(page_cursor(100), 250) == 100
    assert _offset(page_cursor(300), 250) == 250
    assert _offset(None, 250) == 0


def test_a_request_envelope_without_an_id_type_json_rpc_allows_is_invalid_request() -> None:
    reply = _post(
        {"jsonrpc": "2.0", "id": True, "method": "ping"}, extra={"mcp-protocol-version": "2025-11-25"}
    )
    assert reply.status == 400
    assert _error(reply)["code"] == -32600


def test_a_notification_gets_202_and_no_body() -> None:
    reply = _post(
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        extra={"mcp-protocol-version": "2025-06-18"},
    )
    assert reply.status == 202
    assert reply.body is None


def test_wrong_content_type_is_415() -> None:
    with pytest.raises(MediaTypeUnsupportedError):
        _post(
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"content-type": "text/plain", "accept": "*/*"},
        )


@pytest.mark.parametrize("accept", [None, "text/event-stream", "text/html"])
def test_an_accept_header_without_json_is_406(accept: str | None) -> None:
    headers = {"content-type": "application/json"} | ({"accept": accept} if accept else {})
    with pytest.raises(McpNotAcceptableError):
        _post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers)


def test_a_body_over_the_limit_is_413_before_it_is_parsed() -> None:
    with pytest.raises(McpRequestTooLargeError):
        _post(None, raw=b"[" * (SETTINGS.max_request_bytes + 1))


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_are_405_since_no_stream_or_session_exists(method: str) -> None:
    with pytest.raises(McpMethodNotAllowedError):
        _post(None, raw=b"", method=method)


# --- The method table's seam for extensions ---------------------------------------------------------


def _server_with(extension: Extension) -> McpServer:
    return McpServer(CORE_METHODS, core_capabilities, [extension])


def test_an_extension_adds_a_method_at_its_revisions_and_its_capabilities() -> None:
    extension = Extension(
        methods={"tasks/list": Method(lambda context, params: {"tasks": []}, frozenset({"2025-11-25"}))},
        capabilities=lambda revision: {"tasks": {"list": {}}} if revision == "2025-11-25" else {},
    )
    server = _server_with(extension)
    assert server.capabilities("2025-11-25") == {"tools": {"listChanged": False}, "tasks": {"list": {}}}
    assert server.capabilities("2025-06-18") == {"tools": {"listChanged": False}}
    request = HttpRequest(
        method="POST",
        headers=[
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        body=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tasks/list"}).encode(),
        assistant_id="desk",
        http_request_id="req-1",
        deadline=Deadline.after(10),
    )
    assert server.handle(request, SETTINGS, _service).body == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"tasks": []},
    }
    older = request._replace(
        headers=[
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("mcp-protocol-version", "2025-06-18"),
        ],
    )
    assert _error(server.handle(older, SETTINGS, _service))["code"] == -32601


def test_a_result_the_sdk_refuses_is_an_internal_json_rpc_error_not_a_traceback() -> None:
    broken = Extension(methods={"tools/list": Method(lambda context, params: {"tools": "not a list"})})
    request = HttpRequest(
        method="POST",
        headers=[
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        body=json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}).encode(),
        assistant_id="desk",
        http_request_id="req-9",
        deadline=Deadline.after(10),
    )
    reply = _server_with(broken).handle(request, SETTINGS, _service)
    assert reply.status == 500
    assert reply.body is not None and reply.body["id"] == 9
    assert _error(reply)["code"] == -32603
    assert "req-9" in _error(reply)["message"]
    assert "Traceback" not in json.dumps(reply.body)
