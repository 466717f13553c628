"""The MCP function's test bench: the Support Desk world of `invoke_harness`, spoken to over MCP as an
SDK client would (headers, `_meta` envelope) at each protocol revision."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

from invoke_harness import Desk, _event
from service_harness import HARNESS_KEY, ApiResponse, FakeLambdaContext

MCP_RESOURCE = "/v1/assistants/{assistant}/mcp"
MODERN = "2026-07-28"
CLIENT_INFO = {"name": "toolgate-tests", "version": "1"}
_ids = itertools.count(1)


def mcp_message(
    method: str, params: Mapping[str, Any] | None = None, *, revision: str = MODERN
) -> dict[str, Any]:
    """One JSON-RPC request as the SDK client sends it at `revision` (2026-07-28: with `_meta`)."""
    body_params = dict(params or {})
    if revision == MODERN:
        body_params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": revision,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
        }
    return {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": body_params}


def mcp_headers(message: Mapping[str, Any], revision: str | None = MODERN) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if revision is not None:
        headers["mcp-protocol-version"] = revision
    if revision == MODERN and "method" in message:
        headers["mcp-method"] = str(message["method"])
        name = (message.get("params") or {}).get("name")
        if message["method"] == "tools/call" and isinstance(name, str):
            headers["mcp-name"] = name
    return headers


def mcp_event(
    assistant: str,
    *,
    tenant: str | None,
    raw_body: str,
    headers: Mapping[str, str],
    method: str = "POST",
    role: str = "agent",
    key_id: str | None = HARNESS_KEY,
) -> dict[str, Any]:
    event = _event(
        method,
        f"/v1/assistants/{assistant}/mcp",
        MCP_RESOURCE,
        {"assistant": assistant},
        tenant=tenant,
        role=role,
        key_id=key_id,
        headers={},
        body=raw_body,
    )
    event["headers"] = dict(headers)
    event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    return event


def call_mcp(
    desk: Desk,
    message: Any = None,
    *,
    revision: str | None = MODERN,
    tenant: str = "acme",
    assistant: str = "desk",
    headers: Mapping[str, str] | None = None,
    raw_body: str | None = None,
    method: str = "POST",
    key_id: str | None = HARNESS_KEY,
) -> ApiResponse:
    """Send one MCP message to the MCP function; `headers` replace the ones an SDK client would send."""
    from functions.mcp.handler import lambda_handler

    body = raw_body if raw_body is not None else json.dumps(message)
    sent = (
        dict(headers)
        if headers is not None
        else mcp_headers(message if isinstance(message, dict) else {}, revision)
    )
    event = mcp_event(assistant, tenant=tenant, raw_body=body, headers=sent, method=method, key_id=key_id)
    raw = lambda_handler(event, FakeLambdaContext())
    desk.responses.append(raw.get("body") or "")
    text = raw.get("body") or ""
    return ApiResponse(status=raw["statusCode"], body=json.loads(text) if text else None, raw=raw)
