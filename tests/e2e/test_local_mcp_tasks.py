"""Long-running tools as MCP Tasks, over HTTP against the local stack (its jobs state machine run by moto)
with the Support Desk export as the long-running tool.

- 2026-07-28: the official `mcp` SDK client with the demo's client extension for
  `io.modelcontextprotocol/tasks` (`toolgate_demo.mcp_step.TasksExtension`; the SDK ships none): its
  `call_tool` gets `CreateTaskResult`, polls `tasks/get` at the task's `pollIntervalMs`, and returns the
  task's `CallToolResult`.
- 2025-11-25: the SDK client lists the tools (its `Tool.execution.taskSupport`); its typed `call_tool`
  cannot take a `CreateTaskResult` at that revision, so the task flow is raw JSON-RPC over HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx2
import pytest
import requests
from e2e_harness import ASSISTANT, Client, ready_support_desk_tenant
from mcp.client import Client as McpClient
from mcp.client.extension import ClientExtension
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from toolgate_demo.mcp_step import TasksExtension
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack

T = TypeVar("T")
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
EXPORT = {"customer_id": "cust-42", "format": "json"}
#: Status polls start at once and do not back off, so exports end within seconds.
FAST_JOBS = {"TOOLGATE_JOBS_FIRST_POLL_SECONDS": "0", "TOOLGATE_JOBS_POLL_BACKOFF": "1"}
#: Long enough for an export on a busy machine; the task ends well before.
TASK_DEADLINE_SECONDS = 120


# --- The stack -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(stack_template: Path, support_desk: SupportDeskTarget) -> Iterator[LocalStack]:
    environment = {"POWERTOOLS_METRICS_DISABLED": "true", **FAST_JOBS}
    with LocalStack(stack_template, loopback_ports={support_desk.port}, environment=environment) as local:
        yield local


@pytest.fixture(scope="module")
def tenant(stack: LocalStack, support_desk: SupportDeskTarget) -> Client:
    return ready_support_desk_tenant(stack, "acme", support_desk.base_url, support_desk.token)


def _url(stack: LocalStack) -> str:
    return f"{stack.api_url}assistants/{ASSISTANT}/mcp"


def _client(
    url: str, key: str, mode: str, extensions: Sequence[ClientExtension] = ()
) -> AbstractAsyncContextManager[McpClient]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return McpClient(
        streamable_http_client(url, http_client=http, terminate_on_close=False),
        mode=mode,
        extensions=list(extensions),
    )


def _run(session: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(session)


def _rpc(stack: LocalStack, key: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One handshake-era JSON-RPC request at 2025-11-25, as raw HTTP."""
    answer = requests.post(
        _url(stack),
        headers={
            "Authorization": f"Bearer {key}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": LEGACY,
        },
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


# --- 2026-07-28 -------------------------------------------------------------------------------


def test_the_sdk_client_runs_the_export_as_a_task_to_its_result_at_2026_07_28(
    stack: LocalStack, tenant: Client
) -> None:
    extension = TasksExtension(on_status=lambda task_id, status, message: None)

    async def session() -> CallToolResult:
        async with _client(_url(stack), tenant.key, MODERN, [extension]) as client:
            with anyio.fail_after(TASK_DEADLINE_SECONDS):
                called = await client.call_tool("start_case_export", EXPORT)
            assert isinstance(called, CallToolResult)
            return called

    called = _run(session)

    created = extension.created
    assert created is not None
    assert created.status == "working" and created.poll_interval_ms == 1000
    assert extension.statuses == ["working", "completed"]
    assert called.is_error is False
    job = tenant.get(f"jobs/{created.task_id}")
    assert job.status == 200 and job.body["status"] == "succeeded"
    assert called.structured_content is not None
    assert called.structured_content["body"] == job.body["result"]


def test_an_sdk_client_without_the_extension_gets_the_job_handle(stack: LocalStack, tenant: Client) -> None:
    async def session() -> Any:
        async with _client(_url(stack), tenant.key, MODERN) as client:
            listed = await client.list_tools()
            called = await client.call_tool("start_case_export", EXPORT)
            return listed, called

    listed, called = _run(session)

    assert "toolgate_job_status" in {tool.name for tool in listed.tools}
    assert called.structured_content["status"] == 202
    assert called.structured_content["job"]["status"] == "running"


# --- 2025-11-25 -------------------------------------------------------------------------------


def test_the_export_runs_as_a_task_to_its_result_at_2025_11_25(
    stack: LocalStack, tenant: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mcp.client.session.LATEST_HANDSHAKE_VERSION", LEGACY)

    async def session() -> Any:
        async with _client(_url(stack), tenant.key, "legacy") as client:
            listed = await client.list_tools()
            return listed, client.session.server_capabilities, client.session.protocol_version

    listed, capabilities, negotiated = _run(session)
    assert negotiated == LEGACY
    assert capabilities.tasks is not None and capabilities.tasks.requests is not None
    export = next(tool for tool in listed.tools if tool.name == "start_case_export")
    assert export.execution is not None and export.execution.task_support == "optional"

    created = _rpc(
        stack,
        tenant.key,
        "tools/call",
        {"name": "start_case_export", "arguments": EXPORT, "task": {"ttl": 60_000}},
    )["result"]
    task_id = created["task"]["taskId"]
    assert created["task"]["status"] == "working"
    final = _rpc(stack, tenant.key, "tasks/result", {"taskId": task_id})["result"]
    got = _rpc(stack, tenant.key, "tasks/get", {"taskId": task_id})["result"]
    listed_tasks = _rpc(stack, tenant.key, "tasks/list", {})["result"]

    assert final["isError"] is False
    assert final["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task_id}
    assert final["structuredContent"]["body"] == tenant.get(f"jobs/{task_id}").body["result"]
    assert got["status"] == "completed"
    assert task_id in {task["taskId"] for task in listed_tasks["tasks"]}


def test_tenant_b_cannot_see_tenant_a_task_over_http(stack: LocalStack, tenant: Client) -> None:
    created = _rpc(
        stack, tenant.key, "tools/call", {"name": "start_case_export", "arguments": EXPORT, "task": {}}
    )["result"]
    task_id = created["task"]["taskId"]
    other = Client(stack.api_url, stack.bootstrap_tenant("tenant-b"))

    for method in ("tasks/get", "tasks/result", "tasks/cancel"):
        refused = _rpc(stack, other.key, method, {"taskId": task_id})["error"]
        assert (refused["code"], refused["data"]["code"]) == (-32602, "MCP_TASK_NOT_FOUND")
    assert _rpc(stack, other.key, "tasks/list", {})["result"]["tasks"] == []
