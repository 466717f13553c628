"""MCP Tasks over jobs (`toolgate.mcp.tasks`), in memory: the jobs bench's store behind a real
`JobQueries`, spoken to through the MCP server as a client would, at 2025-11-25 and 2026-07-28."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import pytest
from job_fakes import ASSISTANT, TENANT, TOOLS, Bench
from toolgate.errors import ToolNotAvailableError
from toolgate.mcp import tasks
from toolgate.mcp.server import HttpReply, HttpRequest, McpServer
from toolgate.mcp.tasks import TASKS, decode_cursor, encode_cursor
from toolgate.mcp.tools import CORE_METHODS, core_capabilities
from toolgate.runtime.transport import Deadline
from toolgate.service.invoke import InvokeService
from toolgate.service.jobs.queries import JobQueries
from toolgate.service.jobs.records import JobRecord
from toolgate.service.jobs.terms import JobStatus, new_job_id
from toolgate.service.tenancy import Role, TenantContext
from toolgate.settings import McpSettings
from toolgate.spec.models import CanonicalTool

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
EXPORT = "start_export"
SETTINGS = McpSettings()


@dataclass
class FakeCaller:
    """The part of `InvokeService` the tasks methods use: the caller's jobs, and tool look-up."""

    bench: Bench
    context: TenantContext = field(
        default_factory=lambda: TenantContext(tenant_id=TENANT, role=Role.AGENT, principal="key_1")
    )

    def job_queries(self) -> JobQueries:
        return JobQueries(self.context, self.bench.jobs, self.bench.settings, clock=self.bench.clock)

    def tool(self, assistant_id: str, tool_name: str) -> CanonicalTool:
        if tool_name not in TOOLS:
            raise ToolNotAvailableError(f"No tool '{tool_name}'.")
        return TOOLS[tool_name]


@pytest.fixture
def bench() -> Bench:
    return Bench()


def _send(
    bench: Bench,
    method: str,
    params: dict[str, Any],
    *,
    revision: str = LEGACY,
    assistant: str = ASSISTANT,
    deadline: float = 10.0,
) -> HttpReply:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    headers["mcp-protocol-version"] = revision
    body_params = dict(params)
    if revision == MODERN:
        body_params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {tasks.EXTENSION_ID: {}}},
        }
        headers["mcp-method"] = method
        if isinstance(params.get("taskId"), str):
            headers["mcp-name"] = params["taskId"]
    request = HttpRequest(
        method="POST",
        headers=list(headers.items()),
        body=json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": body_params}).encode(),
        assistant_id=assistant,
        http_request_id="req-1",
        deadline=Deadline.after(deadline),
    )
    server = McpServer(CORE_METHODS, core_capabilities, extensions=[TASKS])
    return server.handle(request, SETTINGS, lambda: cast(InvokeService, FakeCaller(bench)))


def _result(reply: HttpReply) -> dict[str, Any]:
    assert reply.status == 200 and reply.body is not None and "result" in reply.body, reply.body
    return cast(dict[str, Any], reply.body["result"])


def _error(reply: HttpReply) -> dict[str, Any]:
    assert reply.body is not None and "error" in reply.body, reply.body
    return cast(dict[str, Any], reply.body["error"])


def _end(bench: Bench, job: JobRecord, status: JobStatus, **fields: Any) -> None:
    changes: dict[str, Any] = {"status": status, "updated_at": bench.clock(), **fields}
    assert bench.jobs.update(job.job_id, changes) is not None


# --- Status mapping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "legacy", "modern"),
    [
        (JobStatus.RUNNING, "working", "working"),
        (JobStatus.SUCCEEDED, "completed", "completed"),
        (JobStatus.FAILED, "failed", "completed"),
        (JobStatus.CANCELLED, "cancelled", "cancelled"),
    ],
)
def test_job_status_maps_to_each_revisions_task_status(
    bench: Bench, status: JobStatus, legacy: str, modern: str
) -> None:
    job = bench.new_job(EXPORT, {})
    if status is not JobStatus.RUNNING:
        extra = {"error_code": "JOB_FAILED", "error_message": "boom"} if status is JobStatus.FAILED else {}
        _end(bench, job, status, **extra)

    at_legacy = _result(_send(bench, "tasks/get", {"taskId": job.job_id}))
    at_modern = _result(_send(bench, "tasks/get", {"taskId": job.job_id}, revision=MODERN))

    assert at_legacy["status"] == legacy and at_modern["status"] == modern
    assert at_legacy["taskId"] == at_modern["taskId"] == job.job_id
    assert at_legacy["ttl"] == at_modern["ttlMs"] == 3600_000 + 86_400_000
    # SEP-2663: a failed job is a tool result with isError, never the JSON-RPC-error status.
    if status is JobStatus.FAILED:
        assert at_modern["result"]["isError"] is True
        assert at_modern["result"]["structuredContent"]["error"]["code"] == "JOB_FAILED"


def test_a_running_job_suggests_its_next_poll_as_the_poll_interval(bench: Bench) -> None:
    job = bench.new_job(EXPORT, {}, polls=2)

    legacy = _result(_send(bench, "tasks/get", {"taskId": job.job_id}))
    modern = _result(_send(bench, "tasks/get", {"taskId": job.job_id}, revision=MODERN))

    # first_poll_seconds 5, doubling: the third poll waits 20 s.
    assert legacy["pollInterval"] == modern["pollIntervalMs"] == 20_000


def test_a_running_job_past_its_deadline_is_a_failed_task_not_working_forever(bench: Bench) -> None:
    job = bench.new_job(EXPORT, {})
    bench.clock.advance(3601)

    task = _result(_send(bench, "tasks/get", {"taskId": job.job_id}))

    assert task["status"] == "failed" and "JOB_TIMED_OUT" in task["statusMessage"]


# --- Ids, cursors and scoping ---------------------------------------------------------------------


@pytest.mark.parametrize("task_id", ["", "job_", "../etc", "job_" + "x" * 500, "job_" + "A" * 26])
@pytest.mark.parametrize("revision", [LEGACY, MODERN])
def test_garbage_or_unknown_task_id_is_invalid_params_without_a_traceback(
    bench: Bench, task_id: str, revision: str
) -> None:
    for method in ("tasks/get", "tasks/cancel"):
        error = _error(_send(bench, method, {"taskId": task_id}, revision=revision))
        assert (error["code"], error["data"]["code"]) == (-32602, "MCP_TASK_NOT_FOUND")
        assert len(error["message"]) < 300


def test_a_task_id_that_is_not_a_string_is_invalid_params(bench: Bench) -> None:
    error = _error(_send(bench, "tasks/get", {"taskId": 12}))

    assert (error["code"], error["data"]["code"]) == (-32602, "MCP_INVALID_PARAMS")


def test_another_assistants_task_is_not_found_on_this_assistants_server(bench: Bench) -> None:
    job = bench.new_job(EXPORT, {})

    error = _error(_send(bench, "tasks/get", {"taskId": job.job_id}, assistant="other"))
    listed = _result(_send(bench, "tasks/list", {}, assistant="other"))

    assert error["data"]["code"] == "MCP_TASK_NOT_FOUND"
    assert listed["tasks"] == []


def test_tasks_list_pages_through_every_task_once_with_an_opaque_cursor(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "LIST_PAGE_SIZE", 3)
    mine = {bench.new_job(EXPORT, {}).job_id for _ in range(7)}
    for _ in range(4):
        bench.new_job(EXPORT, {}, assistant_id="other")

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = _result(_send(bench, "tasks/list", {"cursor": cursor} if cursor else {}))
        assert len(page["tasks"]) <= 3
        seen.extend(task["taskId"] for task in page["tasks"])
        cursor = page.get("nextCursor")
        if cursor is None:
            break
        assert "job_" not in cursor  # opaque, not the id itself

    assert sorted(seen) == sorted(mine)


@pytest.mark.parametrize("cursor", ["nope", "dGsxOmpvYl8", "x" * 200, encode_cursor("job_short")])
def test_a_garbage_tasks_list_cursor_is_invalid_params(bench: Bench, cursor: str) -> None:
    error = _error(_send(bench, "tasks/list", {"cursor": cursor}))

    assert (error["code"], error["data"]["code"]) == (-32602, "MCP_INVALID_PARAMS")


def test_cursor_round_trips_a_job_id() -> None:
    job_id = new_job_id()

    assert decode_cursor(encode_cursor(job_id)) == job_id


# --- Methods per revision ---------------------------------------------------------------------


def test_tasks_result_and_list_are_not_served_at_2026_07_28(bench: Bench) -> None:
    job = bench.new_job(EXPORT, {})

    for method in ("tasks/result", "tasks/list"):
        error = _error(_send(bench, method, {"taskId": job.job_id}, revision=MODERN))
        assert error["code"] == -32601


def test_tasks_are_not_served_at_2025_06_18(bench: Bench) -> None:
    job = bench.new_job(EXPORT, {})

    error = _error(_send(bench, "tasks/get", {"taskId": job.job_id}, revision="2025-06-18"))

    assert error["code"] == -32601


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        (LEGACY, {"tasks": {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}}),
        (MODERN, {"extensions": {"io.modelcontextprotocol/tasks": {}}}),
        ("2025-06-18", {}),
    ],
)
def test_capabilities_declare_tasks_as_each_revision_does(revision: str, expected: dict[str, Any]) -> None:
    assert tasks.tasks_capabilities(revision) == expected


def test_only_long_running_tools_declare_task_support_and_only_at_2025_11_25() -> None:
    definition: dict[str, Any] = {"name": "x"}
    sync_tool = next(tool for tool in TOOLS.values() if tool.async_pattern is None)

    assert tasks.declare_task_support(LEGACY, TOOLS[EXPORT], definition)["execution"] == {
        "taskSupport": "optional"
    }
    assert "execution" not in tasks.declare_task_support(LEGACY, sync_tool, definition)
    assert "execution" not in tasks.declare_task_support(MODERN, TOOLS[EXPORT], definition)


def test_a_task_for_a_tool_that_is_not_long_running_is_method_not_found(bench: Bench) -> None:
    sync_tool = next(tool for tool in TOOLS.values() if tool.async_pattern is None)

    error = _error(_send(bench, "tools/call", {"name": sync_tool.name, "arguments": {}, "task": {}}))

    assert (error["code"], error["data"]["code"]) == (-32601, "MCP_TASK_NOT_SUPPORTED")
    assert bench.jobs.rows == {}


# --- Cancel -----------------------------------------------------------------------------------------


def test_cancelling_an_ended_task_is_refused_at_2025_11_25_and_acknowledged_at_2026_07_28(
    bench: Bench,
) -> None:
    job = bench.new_job(EXPORT, {})
    _end(bench, job, JobStatus.SUCCEEDED, result="{}")

    legacy = _error(_send(bench, "tasks/cancel", {"taskId": job.job_id}))
    modern = _result(_send(bench, "tasks/cancel", {"taskId": job.job_id}, revision=MODERN))

    assert (legacy["code"], legacy["data"]["code"]) == (-32602, "MCP_TASK_ENDED")
    assert modern == {"resultType": "complete", "_meta": modern["_meta"]}
    assert bench.row(job.job_id).status is JobStatus.SUCCEEDED


def test_cancel_answers_the_cancelled_task_at_2025_11_25(bench: Bench) -> None:
    job = bench.new_job(EXPORT, {})

    task = _result(_send(bench, "tasks/cancel", {"taskId": job.job_id}))

    assert task["status"] == "cancelled" and task["taskId"] == job.job_id
    assert bench.row(job.job_id).status is JobStatus.CANCELLED


# --- tasks/result -------------------------------------------------------------------------------


def test_tasks_result_of_an_ended_task_is_the_tool_calls_result_with_the_related_task(bench: Bench) -> None:
    job = bench.new_job(EXPORT, {})
    _end(bench, job, JobStatus.SUCCEEDED, result=json.dumps({"rows": 3}), target_status=200)

    result = _result(_send(bench, "tasks/result", {"taskId": job.job_id}))

    assert result["isError"] is False
    assert result["structuredContent"]["body"] == {"rows": 3}
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    assert result["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": job.job_id}


def test_tasks_result_of_a_failed_task_is_an_error_result_with_the_jobs_code(bench: Bench) -> None:
    job = bench.new_job(EXPORT, {})
    _end(bench, job, JobStatus.FAILED, error_code="JOB_FAILED", error_message="The API says no.")

    result = _result(_send(bench, "tasks/result", {"taskId": job.job_id}))

    assert result["isError"] is True
    assert result["structuredContent"]["error"] == {"code": "JOB_FAILED", "message": "The API says no."}


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    waited: list[float] = []
    monkeypatch.setattr(tasks, "pause", waited.append)
    yield waited


def test_tasks_result_blocks_until_the_task_ends(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, pauses: list[float]
) -> None:
    job = bench.new_job(EXPORT, {})

    def the_job_ends_during_the_second_wait(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:
            _end(bench, job, JobStatus.SUCCEEDED, result='"done"')

    monkeypatch.setattr(tasks, "pause", the_job_ends_during_the_second_wait)

    result = _result(_send(bench, "tasks/result", {"taskId": job.job_id}))

    assert result["structuredContent"]["body"] == "done"
    assert len(pauses) == 2 and all(0 < seconds <= 2.0 for seconds in pauses)


def test_tasks_result_still_working_when_the_request_runs_out_of_time_says_to_ask_again(
    bench: Bench, pauses: list[float]
) -> None:
    job = bench.new_job(EXPORT, {})

    reply = _send(bench, "tasks/result", {"taskId": job.job_id}, deadline=0.5)

    error = _error(reply)
    assert reply.status == 200
    assert (error["code"], error["data"]["code"]) == (-32011, "MCP_TASK_STILL_WORKING")
    assert "tasks/result again" in error["message"]
    assert pauses == []


def test_tasks_update_is_an_acknowledgement_for_a_known_task_only(bench: Bench) -> None:
    job = bench.new_job(EXPORT, {})

    known = _result(
        _send(bench, "tasks/update", {"taskId": job.job_id, "inputResponses": {}}, revision=MODERN)
    )
    unknown = _error(
        _send(bench, "tasks/update", {"taskId": new_job_id(), "inputResponses": {}}, revision=MODERN)
    )

    assert known["resultType"] == "complete" and "status" not in known
    assert unknown["data"]["code"] == "MCP_TASK_NOT_FOUND"


def test_ttl_is_the_jobs_retention_from_its_creation(bench: Bench) -> None:
    job = bench.new_job(EXPORT, {})

    assert tasks.ttl_ms(job) == int((job.expires_at - job.created_at) / timedelta(milliseconds=1))
