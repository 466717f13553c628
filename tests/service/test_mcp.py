"""The MCP function over moto, with the Support Desk as a real HTTP target on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from invoke_harness import SEED_ARGUMENTS, Desk, desk_world
from mcp_harness import MODERN, call_mcp, mcp_message
from service_world import Service

CREDENTIAL = {"type": "bearer", "token": "canary-7f3a9c-never-shown"}


@pytest.fixture
def desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with desk_world(service, monkeypatch) as world:
        world.seed("acme", CREDENTIAL)
        yield world


@pytest.mark.parametrize("revision", [MODERN, "2025-11-25", "2025-06-18"])
def test_tools_list_and_call_work_at_every_served_revision(desk: Desk, revision: str) -> None:
    listed = call_mcp(desk, mcp_message("tools/list", revision=revision), revision=revision)
    assert listed.status == 200, listed.body
    names = [tool["name"] for tool in listed.body["result"]["tools"]]
    assert "create_support_case" in names
    called = call_mcp(
        desk,
        mcp_message(
            "tools/call", {"name": "create_support_case", "arguments": SEED_ARGUMENTS}, revision=revision
        ),
        revision=revision,
    )
    assert called.status == 200, called.body
    result = called.body["result"]
    assert result["isError"] is False
    assert result["structuredContent"]["body"]["case_id"] == "case-1"
    assert len(desk.created_cases()) == 1
