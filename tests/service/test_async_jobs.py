"""Long-running operations end to end: the synthesized state machine, run by moto's interpreter, with the
real invoke, jobs and callback handlers and the Support Desk demo target."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from jobs_harness import Jobs, jobs_world
from service_harness import TABLE_NAME, FakeLambdaContext
from service_world import Service, aws_session

from tests.integration.runtime_servers import Reply, Seen, Server, json_reply, serve

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


def _started(jobs: Jobs, tool: str, arguments: dict[str, Any]) -> str:
    answer = jobs.invoke(tool, arguments)
    assert answer.status == 200, answer.body
    assert answer.body["ok"] is True and answer.body["status"] == 202, answer.body
    assert answer.body["body"]["status"] == "running"
    assert "toolgate_job_status" in answer.body["hint"]
    job_id: str = answer.body["body"]["job_id"]
    return job_id


def _job_row(job_id: str, tenant: str = "acme") -> dict[str, Any]:
    item: dict[str, Any] = (
        aws_session()
        .resource("dynamodb")
        .Table(TABLE_NAME)
        .get_item(Key={"pk": tenant, "sk": f"JOB#{job_id}"}, ConsistentRead=True)["Item"]
    )
    return item


def test_polled_export_runs_to_its_result_through_the_synthesized_state_machine(jobs: Jobs) -> None:
    job_id = _started(jobs, "start_case_export", EXPORT)

    execution = jobs.wait_for_execution(job_id)

    assert execution["status"] == "SUCCEEDED", execution
    export_id = next(iter(jobs.target.export_polls))
    assert jobs.target.export_polls[export_id] == 3  # two "running" answers, then the outcome
    view = jobs.job(job_id)
    assert view.status == 200, view.body
    assert view.body["status"] == "succeeded"
    # resultPointer /result: the export's result, not its status wrapper.
    assert "status" not in view.body["result"] and view.body["result"]["case_count"] >= 0
    states = [event["type"] for event in jobs.history(job_id)]
    assert states.count("WaitStateEntered") == 3
    events = jobs.completion_events()
    assert [event["detail"]["job_id"] for event in events] == [job_id]
    assert (
        events[0]["detail"]["state"] == "succeeded" and events[0]["detail-type"] == "Toolgate Job Completed"
    )


def test_job_status_tool_reads_the_result_for_the_assistant_that_started_it(jobs: Jobs) -> None:
    job_id = _started(jobs, "start_case_export", EXPORT)
    jobs.wait_for_execution(job_id)

    answer = jobs.invoke("toolgate_job_status", {"job_id": job_id})

    assert answer.status == 200 and answer.body["ok"] is True, answer.body
    assert answer.body["body"]["status"] == "succeeded"
    assert answer.body["body"]["result"] == jobs.job(job_id).body["result"]


def test_tool_list_gains_the_job_status_tool(jobs: Jobs) -> None:
    listed = jobs.service.api("GET", "/v1/assistants/desk/tools", tenant="acme", query={"format": "openai"})

    assert listed.status == 200, listed.body
    names = [tool["function"]["name"] for tool in listed.body["tools"]]
    assert "toolgate_job_status" in names and "start_case_export" in names


def test_failing_export_records_a_typed_failure_and_fails_the_execution(jobs: Jobs) -> None:
    job_id = _started(jobs, "start_case_export", {"customer_id": "cust-42", "format": "xlsx"})

    execution = jobs.wait_for_execution(job_id)

    assert execution["status"] == "FAILED"
    view = jobs.job(job_id).body
    assert view["status"] == "failed"
    assert view["error"]["code"] == "JOB_FAILED"
    assert [event["detail"]["state"] for event in jobs.completion_events()] == ["failed"]


def test_callback_report_completes_through_the_callback_route(jobs: Jobs) -> None:
    job_id = _started(jobs, "generate_case_report", REPORT)

    execution = jobs.wait_for_execution(job_id)

    assert execution["status"] == "SUCCEEDED", execution
    delivered = jobs.target.wait_for_callbacks(1)
    assert delivered[0].status == 200
    view = jobs.job(job_id).body
    assert view["status"] == "succeeded"
    assert view["result"]["status"] == "succeeded" and "result" in view["result"]
    # The callback URL reached the target, and it is not shown anywhere the caller can see.
    assert not any("/v1/callbacks/" in response for response in jobs.responses)


def _issued_callback(jobs: Jobs, job_id: str, tenant: str = "acme") -> tuple[str, dict[str, Any]]:
    """The callback id of a job whose call went out with it, and its row: from then on only a callback
    changes the row. (A row read before its submit finished would change under a loaded machine.)"""
    jobs.wait_until_submitted(job_id, tenant=tenant)
    row = _job_row(job_id, tenant)
    assert row.get("submitted"), f"the job's call was not submitted within the wait: {row}"
    return str(row["callback_id"]), row


@pytest.fixture
def waiting(service: Service, monkeypatch: pytest.MonkeyPatch, template: dict[str, Any]) -> Iterator[Jobs]:
    """A world whose target accepts reports but calls back only after a minute."""
    with jobs_world(service, monkeypatch, template, callback_delay=60.0) as world:
        service.bootstrap("acme")
        world.seed("acme")
        service.bootstrap("rival")
        world.seed("rival")
        yield world


def _post_callback(jobs: Jobs, callback_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from jobs_harness import callback_event

    from functions.callback.handler import lambda_handler

    raw = lambda_handler(callback_event(callback_id, json.dumps(body).encode()), FakeLambdaContext())
    return raw["statusCode"], json.loads(raw["body"])


def _unchanged(before: dict[str, Any], job_id: str) -> None:
    after = _job_row(job_id)
    assert after == before


def test_forged_callback_is_refused_and_changes_nothing(waiting: Jobs) -> None:
    job_id = _started(waiting, "generate_case_report", REPORT)
    callback_id, before = _issued_callback(waiting, job_id)
    forged = callback_id[:-4] + ("AAAA" if not callback_id.endswith("AAAA") else "BBBB")

    status, body = _post_callback(waiting, forged, {"status": "succeeded", "result": "forged"})

    assert (status, body["error"]["code"]) == (403, "CALLBACK_INVALID")
    _unchanged(before, job_id)
    assert waiting.execution(job_id)["status"] == "RUNNING"


def test_replayed_callback_is_refused_after_the_first_completes_the_job(waiting: Jobs) -> None:
    job_id = _started(waiting, "generate_case_report", REPORT)
    callback_id, _ = _issued_callback(waiting, job_id)

    first = _post_callback(waiting, callback_id, {"status": "succeeded", "result": {"total": 3}})
    assert first[0] == 200, first
    assert waiting.wait_for_execution(job_id)["status"] == "SUCCEEDED"
    after_first = _job_row(job_id)
    replay = _post_callback(waiting, callback_id, {"status": "succeeded", "result": {"total": 999}})

    assert (replay[0], replay[1]["error"]["code"]) == (409, "CALLBACK_ALREADY_USED")
    _unchanged(after_first, job_id)
    assert waiting.job(job_id).body["result"]["result"] == {"total": 3}


def test_expired_callback_is_refused(waiting: Jobs) -> None:
    from functions.callback.handler import wiring

    job_id = _started(waiting, "generate_case_report", REPORT)
    _, before = _issued_callback(waiting, job_id)
    expired = wiring.callbacks.signer.sign("acme", job_id, int(time.time()) - 1)

    status, body = _post_callback(waiting, expired, {"status": "succeeded"})

    assert (status, body["error"]["code"]) == (410, "CALLBACK_EXPIRED")
    _unchanged(before, job_id)


def test_callback_of_another_tenant_cannot_complete_this_tenants_job(waiting: Jobs) -> None:
    acme_job = _started(waiting, "generate_case_report", REPORT)
    _, acme_before = _issued_callback(waiting, acme_job)
    rival_answer = waiting.invoke("generate_case_report", REPORT, tenant="rival")
    rival_job = rival_answer.body["body"]["job_id"]
    rival_callback, _ = _issued_callback(waiting, rival_job, tenant="rival")
    # The rival's genuine id, re-pointed at acme's job (and at acme as the tenant).
    _, tenant, _, expires, signature = rival_callback.split(".")
    repointed = ".".join(["cb1", "acme", acme_job, expires, signature])
    same_job_other_tenant = ".".join(["cb1", "acme", rival_job, expires, signature])

    for attempt in (repointed, same_job_other_tenant):
        status, body = _post_callback(waiting, attempt, {"status": "succeeded", "result": "stolen"})
        assert (status, body["error"]["code"]) == (403, "CALLBACK_INVALID")
    _unchanged(acme_before, acme_job)
    assert tenant == "rival"


def test_cancelled_job_stops_its_execution_and_refuses_a_late_callback(
    waiting: Jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.adapters.aws.jobs import StepFunctionsJobs

    stopped: list[str] = []
    stop = StepFunctionsJobs.stop

    def recording_stop(self: StepFunctionsJobs, execution_arn: str) -> None:
        stopped.append(execution_arn)
        stop(self, execution_arn)

    monkeypatch.setattr(StepFunctionsJobs, "stop", recording_stop)
    job_id = _started(waiting, "generate_case_report", REPORT)
    callback_id, _ = _issued_callback(waiting, job_id)

    cancelled = waiting.job(job_id, method="DELETE")

    assert cancelled.status == 200, cancelled.body
    assert cancelled.body["status"] == "cancelled"
    # moto's interpreter acts on StopExecution only when the waiting task ends; AWS aborts at once.
    assert stopped == [waiting.execution(job_id)["executionArn"]]
    status, body = _post_callback(waiting, callback_id, {"status": "succeeded"})
    assert (status, body["error"]["code"]) == (409, "JOB_NOT_RUNNING")
    assert waiting.job(job_id).body["status"] == "cancelled"
    again = waiting.job(job_id, method="DELETE")
    assert (again.status, again.body["error"]["code"]) == (409, "JOB_NOT_RUNNING")


def test_jobs_are_tenant_scoped(waiting: Jobs) -> None:
    job_id = _started(waiting, "generate_case_report", REPORT)

    read = waiting.job(job_id, tenant="rival")
    cancel = waiting.job(job_id, tenant="rival", method="DELETE")
    status_tool = waiting.invoke("toolgate_job_status", {"job_id": job_id}, tenant="rival")

    assert (read.status, read.body["error"]["code"]) == (404, "JOB_NOT_FOUND")
    assert (cancel.status, cancel.body["error"]["code"]) == (404, "JOB_NOT_FOUND")
    assert status_tool.body["error"]["code"] == "JOB_NOT_FOUND"
    assert waiting.job(job_id).body["status"] == "running"


def test_progress_callback_keeps_the_job_waiting(waiting: Jobs) -> None:
    job_id = _started(waiting, "generate_case_report", REPORT)
    callback_id, _ = _issued_callback(waiting, job_id)

    status, body = _post_callback(waiting, callback_id, {"status": "in_progress"})

    assert (status, body["status"]) == (200, "running")
    assert waiting.execution(job_id)["status"] == "RUNNING"
    final = _post_callback(waiting, callback_id, {"status": "succeeded", "result": {"total": 1}})
    assert final[0] == 200
    assert waiting.wait_for_execution(job_id)["status"] == "SUCCEEDED"


def test_bearer_token_never_reaches_history_rows_logs_or_answers(
    jobs: Jobs, log_lines: Callable[[], list[str]]
) -> None:
    token = jobs.target.token
    poll_job = _started(jobs, "start_case_export", EXPORT)
    callback_job = _started(jobs, "generate_case_report", REPORT)
    for job_id in (poll_job, callback_job):
        assert jobs.wait_for_execution(job_id)["status"] == "SUCCEEDED"
        history = json.dumps(jobs.history(job_id), default=str)
        assert token not in history
        # The callback URL and the task token stay out of the history's task inputs too.
        assert "/v1/callbacks/" not in history
    rows = json.dumps(jobs.service.table_items(), default=str)
    assert token not in rows
    logs = log_lines()
    assert any('"action":"poll"' in line for line in logs)  # the jobs function's own lines are captured
    assert not any(token in line or "/v1/callbacks/" in line for line in logs)
    assert not any(token in response for response in jobs.responses + jobs.service.responses)


def test_execution_input_carries_only_ids(jobs: Jobs) -> None:
    job_id = _started(jobs, "start_case_export", EXPORT)
    execution = jobs.wait_for_execution(job_id)

    assert json.loads(execution["input"]) == {"tenant_id": "acme", "job_id": job_id, "pattern": "poll"}


LOCATION_SPEC = """
openapi: 3.0.3
info: {title: Exports, version: "1"}
paths:
  /exports:
    post:
      operationId: startExport
      description: Start an export; poll the Location for its status.
      responses:
        "202":
          description: Accepted
          headers:
            Location: {schema: {type: string}}
"""


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ("http://169.254.169.254/latest/meta-data/", "JOB_STATUS_URL_REFUSED"),
        ("//evil.example/exports/1", "JOB_STATUS_URL_REFUSED"),
        ("/exports/1", None),
    ],
)
def test_status_url_must_stay_on_the_integrations_origin(
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    template: dict[str, Any],
    location: str,
    code: str | None,
) -> None:
    from tests.integration.runtime_servers import Reply, json_reply, serve

    def exports(seen: Seen) -> Reply:
        if seen.method == "POST":
            return Reply(
                status=202, headers={"Location": location, "Content-Type": "application/json"}, body=b"{}"
            )
        return json_reply(b'{"status": "done", "rows": 7}')

    with jobs_world(service, monkeypatch, template) as world, serve(exports) as server:
        service.bootstrap("acme")
        settings = {"assistants": ["desk"], "server_url": server.url}
        created = service.api(
            "POST", "/v1/integrations", tenant="acme", body={"id": "exports", "settings": settings}
        )
        assert created.status == 201, created.body
        uploaded = service.api(
            "PUT",
            "/v1/integrations/exports",
            tenant="acme",
            body=LOCATION_SPEC,
            headers={"content-type": "application/yaml"},
        )
        assert uploaded.status == 200, uploaded.body
        job_id = _started(world, "start_export", {})

        execution = world.wait_for_execution(job_id)

        view = world.job(job_id).body
        if code is None:
            assert execution["status"] == "SUCCEEDED", view
            assert view["result"] == {"status": "done", "rows": 7}
            assert [seen.path for seen in server.seen] == ["/exports", "/exports/1"]
        else:
            assert execution["status"] == "FAILED"
            assert view["error"]["code"] == code
            assert [seen.path for seen in server.seen] == ["/exports"]


def test_large_job_result_is_kept_in_s3_and_paged(
    service: Service, monkeypatch: pytest.MonkeyPatch, template: dict[str, Any]
) -> None:
    from invoke_harness import continuation_event

    from functions.invoke.handler import lambda_handler

    monkeypatch.setenv("TOOLGATE_JOBS_INLINE_RESULT_CHARS", "1000")
    with jobs_world(service, monkeypatch, template, polls_before_done=0) as world:
        service.bootstrap("acme")
        world.seed("acme")
        for number in range(8):
            summary = f"Case {number}: " + "the printer is on fire again " * 6
            created = world.invoke(
                "create_support_case", {"customer_id": "cust-42", "summary": summary, "priority": "low"}
            )
            assert created.body["ok"] is True
        job_id = _started(world, "start_case_export", EXPORT)
        assert world.wait_for_execution(job_id)["status"] == "SUCCEEDED"

        view = world.job(job_id).body
        page = lambda_handler(
            continuation_event(view["continuation"]["handle"], tenant="acme", page="1"), FakeLambdaContext()
        )
        rival = lambda_handler(
            continuation_event(view["continuation"]["handle"], tenant="rival", page="1"), FakeLambdaContext()
        )

    assert view["result_truncated"] is True and len(view["result"]) == 1000
    assert view["continuation"]["pages"] >= 2
    whole = view["result"] + json.loads(page["body"])["body"]
    assert whole.startswith('{"case_count":9')
    kept = [key for key in service.all_objects() if key.startswith("artifacts/tenants/acme/results/")]
    assert len(kept) == 1
    assert (rival["statusCode"], json.loads(rival["body"])["error"]["code"]) == (
        404,
        "CONTINUATION_NOT_FOUND",
    )


# --- Hardening (issue 11): retried tasks, lost answers, final answers, heartbeats ----------------

#: What Step Functions reports when Lambda fails around a function that ran: its Retry takes it again.
LambdaServiceError: type[Exception] = type(
    "Lambda.ServiceException", (Exception,), {"__doc__": "Lambda lost the function's answer."}
)

CALLBACK_SPEC = """
openapi: 3.0.3
info: {title: Renders, version: "1"}
paths:
  /renders:
    post:
      operationId: startRender
      description: Start a render; its result is POSTed to the callbackUrl when it is done.
      parameters:
        - {name: callbackUrl, in: header, schema: {type: string}}
      responses:
        "202": {description: Accepted}
  /checks:
    post:
      operationId: startCheck
      description: Start a check; it reports its progress to the callbackUrl at least every second.
      parameters:
        - {name: callbackUrl, in: header, schema: {type: string}}
      x-toolgate-async: {heartbeatSeconds: 1}
      responses:
        "202": {description: Accepted}
  /exports:
    post:
      operationId: startExport
      description: Start an export; poll the Location for its status.
      responses:
        "202":
          description: Accepted
          headers:
            Location: {schema: {type: string}}
"""


class Tasks:
    """The jobs function's tasks as the state machine runs them: a test can wait for one to return, or
    have Lambda lose an attempt's answer after the function ran (Step Functions then retries the task)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from functions.jobs import handler

        self._run = handler.run_task
        self._returned: list[str] = []
        self._changed = threading.Condition()
        #: Actions whose first attempt runs in full and then ends in LambdaServiceError.
        self.lose_first_answer_of: set[str] = set()
        self.tokens: list[str] = []
        monkeypatch.setattr(handler, "run_task", self._task)

    def _task(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        action = str(event.get("action"))
        if "task_token" in event:
            self.tokens.append(str(event["task_token"]))
        outcome = self._run(event, context)
        with self._changed:
            first = action not in self._returned
            self._returned.append(action)
            self._changed.notify_all()
        if first and action in self.lose_first_answer_of:
            raise LambdaServiceError("the function ran, but Lambda lost its answer")
        return outcome

    def wait_for(self, action: str, times: int = 1) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self._returned.count(action) >= times, timeout=60), action


class Renders:
    """An API on 127.0.0.1 whose operations call back; `answer` decides what a submit gets."""

    world: Jobs
    server: Server

    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks
        self.callback_urls: list[str] = []
        self.answer: Callable[[Seen], Reply | Callable[[BaseHTTPRequestHandler], None]] = lambda _: Reply(
            status=202
        )

    def handle(self, seen: Seen) -> Reply | Callable[[BaseHTTPRequestHandler], None]:
        url = seen.header("callbackUrl")
        if url:
            self.callback_urls.append(url)
        return self.answer(seen)

    def callback_id(self, index: int = 0) -> str:
        return self.callback_urls[index].rsplit("/", 1)[1]

    def posts(self) -> int:
        return sum(1 for seen in self.server.seen if seen.method == "POST")


def _lost_answer(_: Seen) -> Callable[[BaseHTTPRequestHandler], None]:
    """Read the request, then close the connection without an answer."""

    def close(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True

    return close


@pytest.fixture
def renders(service: Service, monkeypatch: pytest.MonkeyPatch, template: dict[str, Any]) -> Iterator[Renders]:
    target = Renders(Tasks(monkeypatch))
    with jobs_world(service, monkeypatch, template) as world, serve(target.handle) as server:
        target.world, target.server = world, server
        service.bootstrap("acme")
        settings = {"assistants": ["desk"], "server_url": server.url}
        created = service.api(
            "POST", "/v1/integrations", tenant="acme", body={"id": "renders", "settings": settings}
        )
        assert created.status == 201, created.body
        uploaded = service.api(
            "PUT",
            "/v1/integrations/renders",
            tenant="acme",
            body=CALLBACK_SPEC,
            headers={"content-type": "application/yaml"},
        )
        assert uploaded.status == 200, uploaded.body
        yield target


def test_callback_racing_a_retried_callback_task_still_resumes_the_execution(
    renders: Renders, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retried callback task swaps its new token onto the row between the callback's read and its
    write. moto hands a retried task the token it had, so the row first holds an earlier attempt's."""
    from toolgate.adapters.aws.jobs import DynamoJobStore, job_sk

    job_id = _started(renders.world, "start_render", {})
    renders.tasks.wait_for("await_callback")
    (waiting_token,) = renders.tasks.tokens
    table = aws_session().resource("dynamodb").Table(TABLE_NAME)
    key = {"pk": "acme", "sk": job_sk(job_id)}

    def swap_token(token: str) -> None:
        table.update_item(
            Key=key, UpdateExpression="SET task_token = :t", ExpressionAttributeValues={":t": token}
        )

    swap_token("token-of-an-earlier-attempt")
    read = DynamoJobStore.get

    def read_then_the_retry_swaps_its_token(self: DynamoJobStore, wanted: str) -> Any:
        row = read(self, wanted)
        swap_token(waiting_token)
        return row

    monkeypatch.setattr(DynamoJobStore, "get", read_then_the_retry_swaps_its_token)

    status, body = _post_callback(renders.world, renders.callback_id(), {"status": "succeeded", "n": 1})

    assert (status, body["status"]) == (200, "succeeded"), body
    assert renders.world.wait_for_execution(job_id)["status"] == "SUCCEEDED"
    assert renders.posts() == 1


def test_retried_callback_task_keeps_waiting_on_the_issued_url_without_posting_again(
    renders: Renders,
) -> None:
    renders.tasks.lose_first_answer_of.add("await_callback")
    job_id = _started(renders.world, "start_render", {})
    renders.tasks.wait_for("await_callback", times=2)

    status, body = _post_callback(renders.world, renders.callback_id(), {"status": "succeeded"})

    assert (status, body["status"]) == (200, "succeeded"), body
    assert renders.world.wait_for_execution(job_id)["status"] == "SUCCEEDED"
    assert renders.posts() == 1 and len(renders.callback_urls) == 1


def test_callback_job_whose_submit_lost_its_answer_completes_with_its_genuine_callback(
    renders: Renders,
) -> None:
    renders.answer = _lost_answer
    job_id = _started(renders.world, "start_render", {})
    renders.tasks.wait_for("await_callback")
    assert renders.world.job(job_id).body["status"] == "running"

    status, body = _post_callback(renders.world, renders.callback_id(), {"status": "succeeded", "pages": 4})

    assert (status, body["status"]) == (200, "succeeded"), body
    assert renders.world.wait_for_execution(job_id)["status"] == "SUCCEEDED"
    assert renders.world.job(job_id).body["result"] == {"status": "succeeded", "pages": 4}
    assert renders.posts() == 1


def test_callback_task_cut_off_after_its_post_is_retried_without_posting_again(
    renders: Renders, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.adapters.aws.jobs import DynamoJobStore

    # The function is cut off after the call went out, before its answer was recorded.
    update = DynamoJobStore.update
    cut: list[bool] = []

    def cut_off_before_recording(self: DynamoJobStore, job_id: str, changes: Any, **options: Any) -> Any:
        if changes.get("submitted") is True and not cut:
            cut.append(True)
            raise LambdaServiceError("the function was cut off")
        return update(self, job_id, changes, **options)

    monkeypatch.setattr(DynamoJobStore, "update", cut_off_before_recording)
    job_id = _started(renders.world, "start_render", {})
    renders.tasks.wait_for("await_callback")

    assert renders.world.job(job_id).body["status"] == "running"
    status, _ = _post_callback(renders.world, renders.callback_id(), {"status": "succeeded"})
    assert status == 200
    assert renders.world.wait_for_execution(job_id)["status"] == "SUCCEEDED"
    assert cut == [True] and renders.posts() == 1
    assert len(renders.tasks.tokens) == 2


def test_final_answer_to_a_callback_submit_ends_the_job_without_a_callback(renders: Renders) -> None:
    renders.answer = lambda _: json_reply(b'{"status": "succeeded", "pages": 2}')
    job_id = _started(renders.world, "start_render", {})

    assert renders.world.wait_for_execution(job_id)["status"] == "SUCCEEDED"

    assert renders.world.job(job_id).body["result"] == {"status": "succeeded", "pages": 2}
    status, body = _post_callback(renders.world, renders.callback_id(), {"status": "failed"})
    assert (status, body["error"]["code"]) == (409, "CALLBACK_ALREADY_USED")


def test_only_an_operation_that_opted_into_a_heartbeat_is_cut_off_for_silence(renders: Renders) -> None:
    from toolgate.service.jobs.records import CALLBACK_TASK_GRACE_SECONDS
    from toolgate.settings import JobSettings

    silent = _started(renders.world, "start_render", {})
    renders.tasks.wait_for("await_callback")
    chatty = _started(renders.world, "start_check", {})

    # The check promised a progress report every second and sent none.
    assert renders.world.wait_for_execution(chatty)["status"] == "FAILED"

    assert renders.world.job(chatty).body["error"]["code"] == "JOB_TIMED_OUT"
    assert renders.world.execution(silent)["status"] == "RUNNING"
    lifetime = JobSettings().callback_ttl_seconds
    assert json.loads(renders.world.execution(silent)["input"]) == {
        "tenant_id": "acme",
        "job_id": silent,
        "pattern": "callback",
        "heartbeat_seconds": lifetime,
        "timeout_seconds": lifetime + CALLBACK_TASK_GRACE_SECONDS,
    }
    assert json.loads(renders.world.execution(chatty)["input"])["heartbeat_seconds"] == 1


def test_polled_submit_cut_off_after_its_post_fails_as_unknown_instead_of_posting_again(
    renders: Renders, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.adapters.aws.jobs import DynamoJobStore

    renders.answer = lambda _: json_reply(b"{}", status=202, Location="/exports/1")
    update = DynamoJobStore.update

    def cut_off_before_recording(self: DynamoJobStore, job_id: str, changes: Any, **options: Any) -> Any:
        if changes.get("submitted") is True:
            raise LambdaServiceError("the function was cut off")
        return update(self, job_id, changes, **options)

    monkeypatch.setattr(DynamoJobStore, "update", cut_off_before_recording)
    job_id = _started(renders.world, "start_export", {})

    assert renders.world.wait_for_execution(job_id)["status"] == "FAILED"

    error = renders.world.job(job_id).body["error"]
    assert error["code"] == "UPSTREAM_OUTCOME_UNKNOWN" and "Check at the API" in error["message"]
    assert renders.posts() == 1


def test_moto_fix_refuses_a_heartbeat_setup_it_was_not_written_against(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The local stack must not silently lose early task results if moto changes underneath the fix."""
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
    from toolgate_local.moto_callbacks import early_task_results_seen

    def changed(self: CallbackEndpoint, heartbeat_seconds: int, jitter: float) -> Any:
        raise AssertionError("never called")

    monkeypatch.setattr(CallbackEndpoint, "setup_heartbeat_endpoint", changed)
    with pytest.raises(RuntimeError, match="re-check"), early_task_results_seen():
        pass


def test_heartbeat_set_up_after_a_task_result_counts_that_result() -> None:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, CallbackOutcomeSuccess
    from toolgate_local.moto_callbacks import early_task_results_seen

    original = CallbackEndpoint.setup_heartbeat_endpoint
    endpoint = CallbackEndpoint(callback_id="token")
    endpoint.notify(CallbackOutcomeSuccess(callback_id="token", output='{"state": "failed"}'))
    with early_task_results_seen():
        heartbeat = endpoint.setup_heartbeat_endpoint(heartbeat_seconds=1)
    # Without the fix the wait runs out (False): the result would be seen only when the heartbeat expires.
    assert heartbeat.clear_and_wait() is True
    assert endpoint.get_outcome() is not None
    assert CallbackEndpoint.setup_heartbeat_endpoint is original
