"""FastMCP's client (4.x), a second MCP client independent of the official SDK's, against the local stack's
MCP endpoint: real HTTP, the real authorizer and the Support Desk target, the URL `toolgate mcp-config`
prints and an agent key as `Authorization: Bearer`.

FastMCP negotiates the protocol era itself: `mode="auto"` probes `server/discover` and speaks 2026-07-28,
`mode="legacy"` runs the `initialize` handshake (2025-11-25).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import support_desk_tools
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from mcp.shared.exceptions import MCPError
from toolgate_cli.client import ToolgateClient
from toolgate_cli.mcp_config import mcp_url
from toolgate_demo import support_desk_spec
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack

TENANT = "acme"
INTEGRATION = "support"
ASSISTANT = "desk"
WRONG_KEY = "tg_acme_0123456789abcdef_NotTheSecretNotTheSecretNotTheSecret0"
#: Generous: the local stack runs every function in this process, on a machine that may be busy.
REQUEST_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def stack(stack_template: Path, support_desk: SupportDeskTarget) -> Iterator[LocalStack]:
    environment = {"POWERTOOLS_METRICS_DISABLED": "true"}
    with LocalStack(stack_template, loopback_ports={support_desk.port}, environment=environment) as local:
        yield local


@pytest.fixture(scope="module")
def agent_key(stack: LocalStack, support_desk: SupportDeskTarget) -> str:
    """An agent key of tenant acme, whose assistant `desk` serves the Support Desk with its credential."""
    with ToolgateClient(stack.api_url, stack.bootstrap_tenant(TENANT)) as admin:
        admin.ensure_integration(INTEGRATION, assistants=[ASSISTANT], server_url=support_desk.base_url)
        admin.upload_spec(INTEGRATION, support_desk_spec().read_bytes(), "yaml")
        admin.bind_credential(INTEGRATION, {"type": "bearer", "token": support_desk.token})
        created = admin.request("POST", ["api-keys"], {"role": "agent", "principal": "fastmcp-client"})
    return str(created["key"])


@pytest.fixture(scope="module")
def endpoint(stack: LocalStack, agent_key: str) -> str:
    """The assistant's MCP URL, as `toolgate mcp-config` prints it."""
    return mcp_url(stack.api_url, ASSISTANT)


def fastmcp_client(url: str, key: str, mode: str) -> Client[Any]:
    return Client(StreamableHttpTransport(url, auth=key), mode=mode, timeout=REQUEST_TIMEOUT_SECONDS)


@pytest.mark.parametrize(("mode", "revision"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
def test_fastmcp_client_lists_the_assistants_tools_and_creates_a_case_at_each_protocol_era(
    mode: str, revision: str, endpoint: str, agent_key: str, support_desk: SupportDeskTarget
) -> None:
    customer = f"cust-fastmcp-{mode}"

    async def session() -> tuple[str, list[str], Any]:
        async with fastmcp_client(endpoint, agent_key, mode) as client:
            tools = await client.list_tools()
            result = await client.call_tool(
                "create_support_case",
                {"customer_id": customer, "summary": "Printer on fire", "priority": "high"},
                raise_on_error=False,
            )
            return str(client.protocol_version), [tool.name for tool in tools], result

    negotiated, names, result = asyncio.run(session())

    assert negotiated == revision
    assert set(names) >= support_desk_tools()
    assert len(names) == len(set(names))
    assert result.is_error is False, result.content
    (case,) = [case for case in support_desk.cases if case["customer_id"] == customer]
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert case["case_id"] in text
    assert support_desk.requests[-1].authorized is True


def test_fastmcp_client_with_a_wrong_key_gets_no_tools(
    endpoint: str, support_desk: SupportDeskTarget
) -> None:
    calls_before = len(support_desk.requests)

    async def session() -> None:
        async with fastmcp_client(endpoint, WRONG_KEY, "auto") as client:
            await client.list_tools()

    with pytest.raises(MCPError):
        asyncio.run(session())
    assert len(support_desk.requests) == calls_before
