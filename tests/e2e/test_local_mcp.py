"""Every assistant as an MCP server, over HTTP against the local stack, driven by the official `mcp` SDK
client (Streamable HTTP) at 2026-07-28 (no handshake) and through the initialize handshake at 2025-11-25
and 2025-06-18. The tools reach the Support Desk on 127.0.0.1 with the bound credential."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import anyio
import httpx2
import pytest
import requests
from e2e_harness import (
    ASSISTANT,
    Client,
    ready_support_desk_tenant,
    support_desk_tools,
)
from mcp.client import Client as McpClient
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack

T = TypeVar("T")
MODERN = "2026-07-28"
CASE_ARGUMENTS = {"customer_id": "cust-mcp", "summary": "Printer on fire", "priority": "high"}


@pytest.fixture(scope="module")
def tenant(stack: LocalStack, support_desk: SupportDeskTarget) -> Client:
    return ready_support_desk_tenant(stack, "acme", support_desk.base_url, support_desk.token)


def _url(stack: LocalStack, assistant: str = ASSISTANT) -> str:
    return f"{stack.api_url}assistants/{assistant}/mcp"


def _client(url: str, key: str, mode: str) -> AbstractAsyncContextManager[McpClient]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return McpClient(streamable_http_client(url, http_client=http, terminate_on_close=False), mode=mode)


def _run(session: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(session)


@pytest.mark.parametrize(
    ("mode", "revision"),
    [(MODERN, MODERN), ("auto", MODERN), ("legacy", "2025-11-25"), ("legacy", "2025-06-18")],
)
def test_the_official_sdk_client_lists_and_calls_tools_at_each_revision(
    stack: LocalStack,
    tenant: Client,
    support_desk: SupportDeskTarget,
    monkeypatch: pytest.MonkeyPatch,
    *,
    mode: str,
    revision: str,
) -> None:
    # The SDK offers its newest handshake revision; this makes it offer (and so speak) the older one.
    monkeypatch.setattr(
        "mcp.client.session.LATEST_HANDSHAKE_VERSION", revision if mode == "legacy" else "2025-11-25"
    )

    async def session() -> tuple[Any, Any, str | None]:
        async with _client(_url(stack), tenant.key, mode) as client:
            listed = await client.list_tools()
            called = await client.call_tool(
                "create_support_case", {**CASE_ARGUMENTS, "customer_id": f"cust-{revision}-{mode}"}
            )
            return listed, called, client.session.protocol_version

    listed, called, negotiated = _run(session)
    assert negotiated == revision
    assert {tool.name for tool in listed.tools} >= support_desk_tools()
    case_tool = next(tool for tool in listed.tools if tool.name == "create_support_case")
    assert case_tool.annotations is not None and case_tool.annotations.read_only_hint is False
    assert case_tool.output_schema is not None
    assert called.is_error is False
    assert called.structured_content["ok"] is True
    (case,) = [case for case in support_desk.cases if case["customer_id"] == f"cust-{revision}-{mode}"]
    assert called.structured_content["body"]["case_id"] == case["case_id"]
    assert json.loads(called.content[0].text) == called.structured_content
    assert support_desk.requests[-1].authorized is True


async def _refusal(call: Callable[[McpClient], Awaitable[object]], client: McpClient) -> MCPError:
    try:
        await call(client)
    except MCPError as error:
        return error
    raise AssertionError("the server did not refuse")


def test_an_unknown_tool_is_an_error_the_sdk_raises(stack: LocalStack, tenant: Client) -> None:
    async def session() -> MCPError:
        async with _client(_url(stack), tenant.key, MODERN) as client:
            return await _refusal(lambda c: c.call_tool("drop_all_tables", {}), client)

    assert _run(session).error.code == -32602


def test_tenant_bs_key_on_tenant_as_assistant_lists_nothing_of_a(
    stack: LocalStack, tenant: Client, support_desk: SupportDeskTarget
) -> None:
    other = Client(stack.api_url, stack.bootstrap_tenant("tenant-b"))
    calls_before = len(support_desk.requests)

    async def session() -> MCPError:
        async with _client(_url(stack), other.key, MODERN) as client:
            return await _refusal(lambda c: c.list_tools(), client)

    refused = _run(session)
    assert refused.error.data["code"] == "NOT_FOUND"
    assert "create_support_case" not in str(refused)
    assert len(support_desk.requests) == calls_before


def test_the_transport_edge_answers_as_streamable_http_says(stack: LocalStack, tenant: Client) -> None:
    headers = {"Authorization": f"Bearer {tenant.key}"}
    assert requests.get(_url(stack), headers=headers, timeout=30).status_code == 405
    assert requests.delete(_url(stack), headers=headers, timeout=30).status_code == 405
    notification = requests.post(
        _url(stack),
        headers={
            **headers,
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        timeout=30,
    )
    assert (notification.status_code, notification.text) == (202, "")
    unauthenticated = requests.post(
        _url(stack), json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, timeout=30
    )
    assert unauthenticated.status_code == 401
    discovery = requests.get(
        stack.api_url.split("/v1/")[0]
        + f"/.well-known/oauth-protected-resource/v1/assistants/{ASSISTANT}/mcp",
        timeout=30,
    )
    assert discovery.status_code == 404
    assert discovery.json()["error"]["code"] == "MCP_OAUTH_NOT_SUPPORTED"
