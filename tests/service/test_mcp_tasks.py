"""MCP Tasks through the MCP function over moto: the synthesized jobs state machine run by moto's
interpreter, the real jobs and callback handlers, and the Support Desk demo target on 127.0.0.1."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from jobs_harness import Jobs, jobs_world
from mcp_harness import mcp_event
from service_harness import TABLE_NAME, ApiResponse, FakeLambdaContext
from service_world import Service, aws_session

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
EXTENSION = "io.modelcontextprotocol/tasks"
EXPORT = {"customer_id": "cust-42", "format": "json"}
REPORT = {"customer_id": "cust-42"}


@pytest.fixture(scope="module")
def template(jobs_stack_template: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(jobs_stack_template)


@pytest.fixture
def jobs(service: Service, monkeypatch: pytest.MonkeyPatch, template: dict[str, Any]) -> Iterator[Jobs]:
    with jobs_world(service, monkeypatch, template, polls_before_done=2) as world:
        service.bootstrap("acme")
        world.seed("acme")
        yield world


@pytest.fixture
def waiting(service: Service, monkeypatch: pytest.MonkeyPatch, template: dict[str, Any]) -> Iterator[Jobs]:
    """Two tenants of one deployment; the target calls back only after a minute, so reports keep running."""
    with jobs_world(service, monkeypatch, template, callback_delay=60.0) as world:
        for tenant in ("acme", "rival"):
            service.bootstrap(tenant)
            world.seed(tenant)
        yield world


def send(
    jobs: Jobs,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    revision: str = LEGACY,
    tenant: str = "acme",
    extension: bool = True,
) -> ApiResponse:
    """One request as an SDK client sends it; at 2026-07-28 declaring the tasks extension unless told."""
    from functions.mcp.handler import lambda_handler

    body_params = dict(params or {})
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": revision,
    }
    if revision == MODERN:
        extensions: dict[str, Any] = {EXTENSION: {}} if extension else {}
        body_params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {"extensions": extensions},
        }
        headers["mcp-method"] = method
        name = body_params.get("name") if method == "tools/call" else body_params.get("taskId")
        if isinstance(name, str):
            headers["mcp-name"] = name
    message = {"jsonrpc": "2.0", "id": 1, "method": method, "params": body_params}
    event = mcp_event("desk", tenant=tenant, raw_body=json.dumps(message), headers=headers)
    raw = lambda_handler(event, FakeLambdaContext())
    text = raw.get("body") or ""
    jobs.responses.append(text)
    return ApiResponse(status=raw["statusCode"], body=json.loads(text) if text else None, raw=raw)


def result(answer: ApiResponse) -> dict[str, Any]:
    assert answer.status == 200 and "result" in answer.body, answer.body
    found: dict[str, Any] = answer.body["result"]
    return found


def error(answer: ApiResponse) -> dict[str, Any]:
    assert "error" in answer.body, answer.body
    found: dict[str, Any] = answer.body["error"]
    return found


def job_row(job_id: str, tenant: str = "acme") -> dict[str, Any] | None:
    table = aws_session().resource("dynamodb").Table(TABLE_NAME)
    item: dict[str, Any] | None = table.get_item(
        Key={"pk": tenant, "sk": f"JOB#{job_id}"}, ConsistentRead=True
    ).get("Item")
    return item


def start_task(jobs: Jobs, tool: str, arguments: dict[str, Any], *, revision: str = LEGACY) -> str:
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    if revision == LEGACY:
        params["task"] = {"ttl": 60_000}
    created = result(send(jobs, "tools/call", params, revision=revision))
    task = created["task"] if revision == LEGACY else created
    assert task["status"] == "working", created
    task_id: str = task["taskId"]
    # Durable before the answer: the job row is there, read strongly consistent.
    assert job_row(task_id) is not None
    return task_id


# --- 2025-11-25 ---------------------------------------------------------------------------------


def test_long_running_tools_declare_task_support_and_the_server_declares_tasks(jobs: Jobs) -> None:
    initialized = result(
        send(
            jobs,
            "initialize",
            {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
        )
    )
    listed = result(send(jobs, "tools/list"))

    assert initialized["capabilities"]["tasks"] == {
        "list": {},
        "cancel": {},
        "requests": {"tools": {"call": {}}},
    }
    support = {tool["name"]: tool.get("execution", {}).get("taskSupport") for tool in listed["tools"]}
    assert support["start_case_export"] == "optional" and support["generate_case_report"] == "optional"
    assert support["create_support_case"] is None and support["toolgate_job_status"] is None


def test_export_runs_as_a_task_to_its_result_at_2025_11_25(jobs: Jobs) -> None:
    task_id = start_task(jobs, "start_case_export", EXPORT)

    # tasks/result waits for the job: the state machine polls the target meanwhile.
    final = result(send(jobs, "tasks/result", {"taskId": task_id}))
    task = result(send(jobs, "tasks/get", {"taskId": task_id}))
    listed = result(send(jobs, "tasks/list"))

    assert final["isError"] is False
    assert final["structuredContent"]["body"] == jobs.job(task_id).body["result"]
    assert final["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task_id}
    assert task["status"] == "completed" and task["ttl"] > 0
    assert [entry["taskId"] for entry in listed["tasks"]] == [task_id]
    assert jobs.wait_for_execution(task_id)["status"] == "SUCCEEDED"


def test_failing_export_is_a_failed_task_whose_result_carries_the_jobs_error(jobs: Jobs) -> None:
    task_id = start_task(jobs, "start_case_export", {"customer_id": "cust-42", "format": "xlsx"})

    final = result(send(jobs, "tasks/result", {"taskId": task_id}))
    legacy = result(send(jobs, "tasks/get", {"taskId": task_id}))
    modern = result(send(jobs, "tasks/get", {"taskId": task_id}, revision=MODERN))

    assert final["isError"] is True and final["structuredContent"]["error"]["code"] == "JOB_FAILED"
    assert legacy["status"] == "failed" and "JOB_FAILED" in legacy["statusMessage"]
    # SEP-2663 keeps `failed` for JSON-RPC errors: the tool's failure is a completed task with isError.
    assert modern["status"] == "completed" and modern["result"]["isError"] is True


def test_a_call_without_task_gets_the_job_handle_as_rest_gives_it(jobs: Jobs) -> None:
    for revision, extension in ((LEGACY, True), (MODERN, False), ("2025-06-18", True)):
        called = result(
            send(
                jobs,
                "tools/call",
                {"name": "start_case_export", "arguments": EXPORT},
                revision=revision,
                extension=extension,
            )
        )
        envelope = called["structuredContent"]
        assert called["isError"] is False and "task" not in called and called.get("resultType") != "task"
        assert envelope["status"] == 202 and envelope["job"]["status"] == "running"
        assert "toolgate_job_status" in envelope["hint"]


def test_cancelled_task_stops_its_execution(waiting: Jobs, monkeypatch: pytest.MonkeyPatch) -> None:
    from toolgate.adapters.aws.jobs import StepFunctionsJobs

    stopped: list[str] = []
    stop = StepFunctionsJobs.stop

    def recording_stop(self: StepFunctionsJobs, execution_arn: str) -> None:
        stopped.append(execution_arn)
        stop(self, execution_arn)

    monkeypatch.setattr(StepFunctionsJobs, "stop", recording_stop)
    task_id = start_task(waiting, "generate_case_report", REPORT)
    waiting.wait_until_submitted(task_id)

    cancelled = result(send(waiting, "tasks/cancel", {"taskId": task_id}))
    again = error(send(waiting, "tasks/cancel", {"taskId": task_id}))

    assert cancelled["status"] == "cancelled"
    assert (again["code"], again["data"]["code"]) == (-32602, "MCP_TASK_ENDED")
    # moto's interpreter acts on StopExecution only when the waiting task ends; AWS aborts at once.
    assert stopped == [waiting.execution(task_id)["executionArn"]]
    final = result(send(waiting, "tasks/result", {"taskId": task_id}))
    assert final["isError"] is True and final["structuredContent"]["error"]["code"] == "JOB_CANCELLED"


# --- 2026-07-28 -------------------------------------------------------------------------------


def test_export_runs_as_a_task_to_its_result_at_2026_07_28(jobs: Jobs) -> None:
    discovered = result(send(jobs, "server/discover", revision=MODERN))
    created = result(
        send(jobs, "tools/call", {"name": "start_case_export", "arguments": EXPORT}, revision=MODERN)
    )
    task_id = created["taskId"]

    assert discovered["capabilities"]["extensions"] == {EXTENSION: {}}
    assert "tasks" not in discovered["capabilities"]
    assert created["resultType"] == "task" and created["status"] == "working"
    assert created["pollIntervalMs"] >= 1000 and created["ttlMs"] > 0
    assert job_row(task_id) is not None
    jobs.wait_for_execution(task_id)
    task = result(send(jobs, "tasks/get", {"taskId": task_id}, revision=MODERN))
    assert task["resultType"] == "complete" and task["status"] == "completed"
    assert task["result"]["structuredContent"]["body"] == jobs.job(task_id).body["result"]


def test_cancel_is_an_acknowledgement_and_the_task_shows_cancelled(waiting: Jobs) -> None:
    created = result(
        send(waiting, "tools/call", {"name": "generate_case_report", "arguments": REPORT}, revision=MODERN)
    )

    waiting.wait_until_submitted(created["taskId"])
    ack = result(send(waiting, "tasks/cancel", {"taskId": created["taskId"]}, revision=MODERN))
    task = result(send(waiting, "tasks/get", {"taskId": created["taskId"]}, revision=MODERN))

    assert set(ack) == {"resultType", "_meta"}
    assert task["status"] == "cancelled"


# --- Tenancy: A's tasks are invisible to B ---------------------------------------------------------


def _not_found(answer: ApiResponse) -> None:
    found = error(answer)
    assert (found["code"], found["data"]["code"]) == (-32602, "MCP_TASK_NOT_FOUND"), found


def test_tenant_b_cannot_get_tenant_a_task(waiting: Jobs) -> None:
    task_id = start_task(waiting, "generate_case_report", REPORT)

    _not_found(send(waiting, "tasks/get", {"taskId": task_id}, tenant="rival"))
    _not_found(send(waiting, "tasks/get", {"taskId": task_id}, tenant="rival", revision=MODERN))
    assert result(send(waiting, "tasks/get", {"taskId": task_id}))["status"] == "working"


def test_tenant_b_cannot_list_tenant_a_task(waiting: Jobs) -> None:
    task_id = start_task(waiting, "generate_case_report", REPORT)

    theirs = result(send(waiting, "tasks/list", tenant="rival"))
    mine = result(send(waiting, "tasks/list"))

    assert theirs["tasks"] == []
    assert [task["taskId"] for task in mine["tasks"]] == [task_id]


def test_tenant_b_cannot_cancel_tenant_a_task(waiting: Jobs) -> None:
    task_id = start_task(waiting, "generate_case_report", REPORT)

    _not_found(send(waiting, "tasks/cancel", {"taskId": task_id}, tenant="rival"))
    _not_found(send(waiting, "tasks/cancel", {"taskId": task_id}, tenant="rival", revision=MODERN))

    assert result(send(waiting, "tasks/get", {"taskId": task_id}))["status"] == "working"
    assert waiting.execution(task_id)["status"] == "RUNNING"


def test_tenant_b_cannot_read_tenant_a_task_result(waiting: Jobs) -> None:
    task_id = start_task(waiting, "generate_case_report", REPORT)

    _not_found(send(waiting, "tasks/result", {"taskId": task_id}, tenant="rival"))


def test_bearer_token_never_reaches_a_task_answer(jobs: Jobs) -> None:
    task_id = start_task(jobs, "start_case_export", EXPORT)
    send(jobs, "tasks/result", {"taskId": task_id})
    send(jobs, "tasks/list")

    assert not any(jobs.target.token in answer for answer in jobs.responses)
