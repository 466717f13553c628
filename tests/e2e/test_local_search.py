"""Tool search over the local stack, as an agent meets it: a spec with more tools than the threshold is
uploaded to S3, its listing holds the pinned tools and `toolgate_search_tools`, a search finds a tool the
listing never showed, and invoking it reaches a real target on 127.0.0.1. Another tenant with the same
tool names never gets the first tenant's definitions. MCP's tools/list shows the same meta-tool."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from e2e_harness import Client, put_upload, wait_for_status
from toolgate_local.stack import LocalStack

from tests.integration.runtime_servers import Reply, Seen, Server, json_reply, serve
from tests.integration.search_specs import big_spec

ASSISTANT = "big"
INTEGRATION = "catalog"
SEARCH_TOOL = "toolgate_search_tools"
MODERN = "2026-07-28"


def _target(seen: Seen) -> Reply:
    return json_reply(json.dumps({"done": seen.method, "path": seen.path}).encode())


@pytest.fixture(scope="module")
def target() -> Iterator[Server]:
    with serve(_target) as server:
        yield server


@pytest.fixture(scope="module")
def stack(stack_template: Path, target: Server) -> Iterator[LocalStack]:
    with LocalStack(stack_template, loopback_ports={target.port}) as local:
        yield local


def _tenant(stack: LocalStack, target: Server, tenant: str, **spec: object) -> Client:
    client = Client(stack.api_url, stack.bootstrap_tenant(tenant))
    settings = {"assistants": [ASSISTANT], "server_url": target.url}
    put_upload(stack, tenant, INTEGRATION, "toolgate.json", json.dumps(settings).encode())
    put_upload(stack, tenant, INTEGRATION, "openapi.json", big_spec(target.url, **spec).encode())  # type: ignore[arg-type]
    wait_for_status(client, INTEGRATION, lambda status: status["status"] == "ready", timeout=120)
    return client


@pytest.fixture(scope="module")
def acme(stack: LocalStack, target: Server) -> Client:
    client = _tenant(stack, target, "acme")
    pinned = client.put(
        f"assistants/{ASSISTANT}", json={"integrations": [INTEGRATION], "pinned": ["list_ticket"]}
    )
    assert pinned.status == 200, pinned.body
    return client


def test_a_big_catalog_lists_its_pinned_tools_and_the_search_tool(acme: Client) -> None:
    listing = acme.get(f"assistants/{ASSISTANT}/tools", params={"format": "openai"})

    assert listing.status == 200, listing.body
    assert [tool["function"]["name"] for tool in listing.body["tools"]] == ["list_ticket", SEARCH_TOOL]
    assert listing.body["search"] is True and listing.body["total_tools"] == 45


def test_search_finds_a_tool_never_listed_and_invoking_it_reaches_the_target(
    acme: Client, target: Server
) -> None:
    searched = acme.get(
        f"assistants/{ASSISTANT}/tools",
        params={"format": "openai", "query": "kill the webhook", "limit": "3"},
    )
    call = {
        "type": "function",
        "id": "call_1",
        "function": {"name": SEARCH_TOOL, "arguments": json.dumps({"query": "get rid of a webhook"})},
    }
    found = acme.post(f"assistants/{ASSISTANT}/tools/{SEARCH_TOOL}/invoke", json=call)

    assert searched.status == 200, searched.body
    assert searched.body["tools"][0]["function"]["name"] == "delete_webhook"
    assert found.status == 200, found.body
    envelope = json.loads(found.body["content"])
    assert envelope["body"]["tools"][0]["function"]["name"] == "delete_webhook"
    invoked = acme.post(
        f"assistants/{ASSISTANT}/tools/delete_webhook/invoke", json={"arguments": {"id": "w1"}}
    )
    assert invoked.status == 200, invoked.body
    assert invoked.body["ok"] is True
    assert ("DELETE", "/webhooks/w1") in [(seen.method, seen.path) for seen in target.seen]


def test_tenant_b_never_gets_tenant_a_definitions_for_the_same_names(
    stack: LocalStack, target: Server, acme: Client
) -> None:
    beta = _tenant(stack, target, "beta", resources=("widget", "kitten"), marker="B")

    searched = beta.get(
        f"assistants/{ASSISTANT}/tools",
        params={"format": "openai", "query": "delete a widget", "limit": "20"},
    )

    assert searched.status == 200, searched.body
    tools = searched.body["tools"]
    assert tools and all(tool["function"]["description"].endswith("[B]") for tool in tools)
    assert "delete_webhook" not in {tool["function"]["name"] for tool in tools}


def test_mcp_tools_list_shows_the_search_tool(stack: LocalStack, acme: Client) -> None:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": _meta()}}
    response = requests.post(
        f"{stack.api_url}assistants/{ASSISTANT}/mcp",
        json=message,
        headers={
            "Authorization": f"Bearer {acme.key}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": MODERN,
            "Mcp-Method": "tools/list",
        },
        timeout=60,
    )

    assert response.status_code == 200, response.text
    assert [tool["name"] for tool in response.json()["result"]["tools"]] == ["list_ticket", SEARCH_TOOL]


def _meta() -> dict[str, object]:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "e2e", "version": "1.0"},
    }
