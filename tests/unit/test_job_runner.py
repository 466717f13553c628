"""Jobs (`toolgate.service.jobs`) without AWS or a network: ids, views, the job-status tool, the state
machine's tasks (`JobRunner`) and callbacks (`CallbackReceiver`), run against in-memory ports and a
scripted transport (`job_fakes`)."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from job_fakes import (
    ASSISTANT,
    BEARER_TOKEN,
    CALLBACK_BASE,
    SERVER,
    TENANT,
    TOOLS,
    Bench,
    FunctionCutOffError,
    ScriptedTransport,
    answer,
    integration_record,
    job_settings,
)
from spec_builders import OK, assert_valid_json_schema, compile_paths, json_body
from toolgate.errors import (
    ArgumentsInvalidError,
    CallbackAlreadyUsedError,
    CallbackExpiredError,
    CallbackInvalidError,
    CallbackTooLargeError,
    CircuitOpenError,
    JobNotRunningError,
    ToolgateError,
    UpstreamOutcomeUnknownError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from toolgate.runtime.arguments import validate_arguments
from toolgate.runtime.transport import HttpResponse, OutboundCall
from toolgate.service.continuations import CONTINUATION_HANDLE, StoredContinuation
from toolgate.service.jobs.launch import JobLauncher
from toolgate.service.jobs.queries import JobQueries
from toolgate.service.jobs.records import (
    CALLBACK_TASK_GRACE_SECONDS,
    JobRecord,
    execution_input,
    running_envelope,
)
from toolgate.service.jobs.terms import (
    JOB_STATUS_TOOL,
    JobPattern,
    JobStatus,
    is_job_id,
    job_pattern,
    job_status_tool,
    new_job_id,
)
from toolgate.service.jobs.views import JobView
from toolgate.service.tenancy import Role, TenantContext
from toolgate.settings import ArgumentLimits

TOKEN = "task-token-1"
INTERNAL_MESSAGE = "failure is logged"


@pytest.fixture
def bench() -> Bench:
    return Bench()


def sent(bench: Bench) -> list[tuple[str, str]]:
    return [(call.request.method, call.request.url) for call in bench.transport.calls]


# --- Job ids, patterns and the job-status tool ---------------------------------------------------


def test_new_job_ids_are_well_formed_and_distinct() -> None:
    ids = {new_job_id() for _ in range(500)}
    assert len(ids) == 500
    for job_id in ids:
        assert re.fullmatch(r"job_[A-Za-z0-9]{26}", job_id)
        assert is_job_id(job_id)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "job_",
        "job_" + "a" * 25,
        "job_" + "a" * 27,
        "JOB_" + "a" * 26,
        "job-" + "a" * 26,
        "job_" + "a" * 25 + "-",
        "job_" + "a" * 25 + "/",
        "job_" + "٣" * 26,
        "job_" + "a" * 25 + "\n",
        "../" + "a" * 27,
    ],
)
def test_anything_but_a_job_id_is_not_one(value: str) -> None:
    assert not is_job_id(value)


def test_async_tools_are_followed_by_polling_or_callback() -> None:
    patterns = {name: job_pattern(tool) for name, tool in TOOLS.items()}
    assert patterns == {
        "start_export": JobPattern.POLL,
        "start_report": JobPattern.POLL,
        "start_audit": JobPattern.POLL,
        "get_audit": None,
        "start_notified": JobPattern.CALLBACK,
        "start_graded": JobPattern.CALLBACK,
    }


def test_callback_without_a_header_or_query_parameter_runs_as_a_plain_call() -> None:
    compiled = compile_paths(
        {
            "/hooks": {
                "post": {
                    "operationId": "startHook",
                    "requestBody": json_body({"type": "object", "properties": {"cb": {"type": "string"}}}),
                    "callbacks": {"done": {"{$request.body#/cb}": {"post": {"responses": OK}}}},
                    "responses": OK,
                }
            },
            "/pings": {
                "post": {
                    "operationId": "startPing",
                    "callbacks": {"done": {"https://fixed.example/hook": {"post": {"responses": OK}}}},
                    "responses": OK,
                }
            },
        },
        servers=[{"url": SERVER}],
    )
    for tool in compiled.tools:
        assert tool.async_pattern is not None, tool.name
        assert job_pattern(tool) is None, tool.name


def test_job_status_tool_takes_exactly_one_job_id() -> None:
    tool = job_status_tool()
    assert tool.name == JOB_STATUS_TOOL
    assert tool.annotations.read_only and tool.annotations.idempotent
    assert_valid_json_schema(tool.input_schema)
    job_id = new_job_id()
    assert validate_arguments(tool, {"job_id": job_id}, ArgumentLimits()) == {"job_id": job_id}


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"job_id": "job_short"},
        {"job_id": "../../v1/integrations"},
        {"job_id": "job_" + "a" * 26 + "\n"},
        {"job_id": 12},
        {"job_id": new_job_id(), "tenant_id": "globex"},
    ],
)
def test_job_status_tool_refuses_anything_else(arguments: dict[str, Any]) -> None:
    with pytest.raises(ArgumentsInvalidError):
        validate_arguments(job_status_tool(), arguments, ArgumentLimits())


# --- Views --------------------------------------------------------------------------------------


def test_running_job_reads_as_running_with_a_hint_to_check_back(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"}, task_token="secret-token")
    view = JobView.of(job, bench.settings, bench.clock())
    assert (view.status, view.error) == (JobStatus.RUNNING, None)
    assert view.hint is not None and JOB_STATUS_TOOL in view.hint and job.job_id in view.hint
    envelope = view.envelope()
    assert (envelope["ok"], envelope["status"], envelope["hint"]) == (True, 200, view.hint)
    assert envelope["body"]["job_id"] == job.job_id and "hint" not in envelope["body"]
    assert "error" not in envelope
    assert "secret-token" not in json.dumps(envelope)


def test_running_job_past_its_deadline_reads_as_timed_out(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    view = JobView.of(job, bench.settings, job.deadline_at)
    assert view.status is JobStatus.FAILED
    assert view.error is not None and view.error.code == "JOB_TIMED_OUT"
    assert job.deadline_at.isoformat(timespec="seconds") in view.error.message
    assert view.hint is None
    envelope = view.envelope()
    assert envelope["ok"] is False
    assert envelope["error"]["code"] == "JOB_TIMED_OUT"
    assert envelope["body"]["status"] == "failed"
    just_before = JobView.of(job, bench.settings, job.deadline_at - timedelta(seconds=1))
    assert just_before.status is JobStatus.RUNNING


def test_finished_job_past_its_deadline_keeps_its_outcome(bench: Bench) -> None:
    job = bench.new_job("start_export", {}).model_copy(
        update={"status": JobStatus.SUCCEEDED, "result": '{"rows":2}'}
    )
    view = JobView.of(job, bench.settings, job.deadline_at + timedelta(days=1))
    assert (view.status, view.result, view.error) == (JobStatus.SUCCEEDED, {"rows": 2}, None)
    assert view.envelope()["ok"] is True


@pytest.mark.parametrize(
    ("status", "code"), [(JobStatus.FAILED, "JOB_FAILED"), (JobStatus.CANCELLED, "JOB_CANCELLED")]
)
def test_failed_or_cancelled_job_is_not_ok_and_carries_its_error(
    bench: Bench, status: JobStatus, code: str
) -> None:
    job = bench.new_job("start_export", {}).model_copy(
        update={"status": status, "error_code": code, "error_message": "it ended"}
    )
    envelope = JobView.of(job, bench.settings, bench.clock()).envelope()
    assert envelope["ok"] is False
    assert envelope["error"] == {"code": code, "message": "it ended"}
    assert "hint" not in envelope


def test_long_result_view_holds_the_first_page_and_a_continuation(bench: Bench) -> None:
    job = bench.new_job("start_export", {}).model_copy(
        update={
            "status": JobStatus.SUCCEEDED,
            "result": '{"rows":[1,2',
            "result_handle": "h" * 32,
            "result_pages": 3,
        }
    )
    view = JobView.of(job, bench.settings, bench.clock())
    assert (view.result, view.result_truncated) == ('{"rows":[1,2', True)
    assert view.continuation is not None
    assert (view.continuation.handle, view.continuation.pages, view.continuation.next_page) == (
        "h" * 32,
        3,
        1,
    )


@pytest.mark.parametrize(("first_poll", "check_after"), [(1, 5), (10, 20)])
def test_async_call_answers_202_with_the_job_at_once(bench: Bench, first_poll: int, check_after: int) -> None:
    settings = job_settings(first_poll_seconds=first_poll)
    job = bench.new_job("start_export", {"format": "csv"})
    envelope = running_envelope(job, settings)
    assert (envelope["ok"], envelope["status"]) == (True, 202)
    assert envelope["body"] == {"job_id": job.job_id, "status": "running", "tool": "start_export"}
    assert envelope["job"] == {"job_id": job.job_id, "status": "running", "check_after_seconds": check_after}
    assert f"in about {check_after} seconds" in envelope["hint"]
    assert "do not call 'start_export' again" in envelope["hint"]


# --- Submit and poll ------------------------------------------------------------------------------


def test_accepted_export_is_polled_at_its_location_until_done(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    runner = bench.runner()
    bench.transport.script(answer(202, {"id": 77}, location="/v1/exports/77"))
    assert runner.submit(job.job_id).to_dict() == {"state": "running", "wait_seconds": 5}
    row = bench.row(job.job_id)
    assert (row.submitted, row.status_url, row.arguments, row.target_status) == (
        True,
        f"{SERVER}/exports/77",
        None,
        202,
    )

    bench.transport.script(answer(200, {"status": "running"}), answer(200, {"status": "Done", "url": "x"}))
    assert runner.poll(job.job_id).to_dict() == {"state": "running", "wait_seconds": 10}
    assert bench.row(job.job_id).polls == 1
    assert runner.poll(job.job_id).to_dict() == {"state": "succeeded", "wait_seconds": 0}

    row = bench.row(job.job_id)
    assert (row.status, row.target_status, json.loads(row.result or "")) == (
        JobStatus.SUCCEEDED,
        200,
        {"status": "Done", "url": "x"},
    )
    assert sent(bench) == [
        ("POST", f"{SERVER}/exports"),
        ("GET", f"{SERVER}/exports/77"),
        ("GET", f"{SERVER}/exports/77"),
    ]
    assert bench.transport.calls[0].request.body == b'{"format":"csv"}'
    assert all(call.request.body is None for call in bench.transport.calls[1:])
    assert all(call.tenant == TENANT for call in bench.transport.calls)


def test_every_status_poll_carries_the_integrations_credential_and_the_row_never_does(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    runner = bench.runner()
    bench.transport.script(
        answer(202, None, location="/v1/exports/77"), answer(200, {"status": "done", "echo": BEARER_TOKEN})
    )
    runner.submit(job.job_id)
    runner.poll(job.job_id)
    for call in bench.transport.calls:
        assert call.request.headers["Authorization"] == f"Bearer {BEARER_TOKEN}"
    assert BEARER_TOKEN not in bench.row(job.job_id).model_dump_json()


def test_retry_after_on_the_accepted_answer_sets_the_first_wait(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    bench.transport.script(answer(202, None, location="/v1/exports/77", retry_after="42"))
    assert bench.runner().submit(job.job_id).wait_seconds == 42


def test_status_values_and_pointers_come_from_x_toolgate_async(bench: Bench) -> None:
    job = bench.new_job("start_report", {"topic": "q3"})
    runner = bench.runner()
    bench.transport.script(answer(202, {"report_id": "r 9/x"}))
    runner.submit(job.job_id)
    assert bench.row(job.job_id).status_url == f"{SERVER}/reports/r%209%2Fx"

    bench.transport.script(
        answer(200, {"state": "succeeded", "status": "done"}),
        answer(200, {"state": "done", "output": {"rows": 3}}),
    )
    assert runner.poll(job.job_id).state is JobStatus.RUNNING
    assert runner.poll(job.job_id).state is JobStatus.SUCCEEDED
    assert json.loads(bench.row(job.job_id).result or "") == {"rows": 3}
    assert sent(bench)[1:] == [("GET", f"{SERVER}/reports/r%209%2Fx")] * 2


def test_declared_failure_value_fails_the_job_with_the_answer_kept(bench: Bench) -> None:
    job = bench.new_job("start_report", {"topic": "q3"})
    runner = bench.runner()
    bench.transport.script(answer(202, {"report_id": "r9"}), answer(200, {"state": "BROKEN", "why": "disk"}))
    runner.submit(job.job_id)
    assert runner.poll(job.job_id).state is JobStatus.FAILED
    row = bench.row(job.job_id)
    assert (row.status, row.error_code) == (JobStatus.FAILED, "JOB_FAILED")
    assert "'BROKEN'" in (row.error_message or "")
    assert json.loads(row.result or "") == {"state": "BROKEN", "why": "disk"}


def test_status_path_value_missing_everywhere_fails_the_job_as_unreadable(bench: Bench) -> None:
    job = bench.new_job("start_report", {"topic": "q3"})
    bench.transport.script(answer(202, {"id": "r9"}))
    assert bench.runner().submit(job.job_id).state is JobStatus.FAILED
    row = bench.row(job.job_id)
    assert row.error_code == "JOB_STATUS_UNREADABLE"
    assert "report_id" in (row.error_message or "")


def test_status_operation_is_called_with_arguments_from_the_accepted_answer(bench: Bench) -> None:
    job = bench.new_job("start_audit", {"scope": "all"})
    runner = bench.runner()
    bench.transport.script(answer(202, {"audit_id": "a-7"}), answer(200, {"status": "completed", "n": 0}))
    runner.submit(job.job_id)
    row = bench.row(job.job_id)
    assert (row.status_tool, json.loads(row.status_arguments or "")) == ("get_audit", {"audit_id": "a-7"})
    assert runner.poll(job.job_id).state is JobStatus.SUCCEEDED
    assert sent(bench)[1] == ("GET", f"{SERVER}/audits/a-7")
    assert bench.transport.calls[1].request.headers["Authorization"] == f"Bearer {BEARER_TOKEN}"


def test_operation_answered_at_once_finishes_on_submit(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    bench.transport.script(answer(200, {"rows": [1, 2]}))
    assert bench.runner().submit(job.job_id).state is JobStatus.SUCCEEDED
    row = bench.row(job.job_id)
    assert (row.status, row.submitted, json.loads(row.result or "")) == (
        JobStatus.SUCCEEDED,
        True,
        {"rows": [1, 2]},
    )


def test_accepted_answer_that_says_nowhere_where_its_status_is_fails_the_job(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    bench.transport.script(answer(202, {"queued": True}))
    assert bench.runner().submit(job.job_id).state is JobStatus.FAILED
    assert bench.row(job.job_id).error_code == "JOB_STATUS_UNREADABLE"


def test_status_location_off_the_integrations_origin_fails_the_job_before_any_poll(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    runner = bench.runner()
    bench.transport.script(answer(202, None, location="http://169.254.169.254/latest/meta-data/"))
    assert runner.submit(job.job_id).state is JobStatus.FAILED
    row = bench.row(job.job_id)
    assert (row.error_code, row.status_url) == ("JOB_STATUS_URL_REFUSED", None)
    assert runner.poll(job.job_id).state is JobStatus.FAILED
    assert len(bench.transport.calls) == 1


def test_refused_submit_fails_the_job_with_the_apis_answer(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    bench.transport.script(answer(422, {"detail": "format unknown"}))
    assert bench.runner().submit(job.job_id).to_dict() == {"state": "failed", "wait_seconds": 0}
    row = bench.row(job.job_id)
    assert (row.status, row.error_code, row.target_status, row.arguments) == (
        JobStatus.FAILED,
        "UPSTREAM_HTTP_ERROR",
        422,
        None,
    )
    assert "422" in (row.error_message or "")
    assert json.loads(row.result or "") == {"detail": "format unknown"}


def test_submit_of_a_tool_no_longer_in_the_revision_fails_without_a_call(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    bench.store.tools.clear()
    assert bench.runner().submit(job.job_id).state is JobStatus.FAILED
    assert bench.row(job.job_id).error_code == "TOOL_NOT_AVAILABLE"
    assert bench.transport.calls == []


def test_retried_submit_never_sends_the_call_twice(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    runner = bench.runner()
    bench.transport.script(answer(202, None, location="/v1/exports/77"))
    runner.submit(job.job_id)
    before = bench.row(job.job_id)
    again = bench.runner().submit(job.job_id)
    assert again.to_dict() == {"state": "running", "wait_seconds": 5}
    assert len(bench.transport.calls) == 1
    assert bench.row(job.job_id) == before


def test_submit_or_poll_of_an_ended_job_reports_its_state_without_a_call(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"}, status=JobStatus.CANCELLED)
    runner = bench.runner()
    assert runner.submit(job.job_id).state is JobStatus.CANCELLED
    assert runner.poll(job.job_id).state is JobStatus.CANCELLED
    assert bench.transport.calls == []


def submitted_export(bench: Bench) -> JobRecord:
    job = bench.new_job("start_export", {"format": "csv"})
    bench.transport.script(answer(202, None, location="/v1/exports/77"))
    bench.runner().submit(job.job_id)
    return bench.row(job.job_id)


def test_poll_of_a_job_whose_integration_was_deleted_fails_without_a_call(bench: Bench) -> None:
    job = submitted_export(bench)
    bench.store.integration = None
    assert bench.runner().poll(job.job_id).state is JobStatus.FAILED
    assert bench.row(job.job_id).error_code == "TOOL_NOT_AVAILABLE"
    assert len(bench.transport.calls) == 1


def test_transient_status_failures_are_retried_and_a_running_answer_resets_the_count(bench: Bench) -> None:
    job = submitted_export(bench)
    runner = bench.runner()
    bench.transport.script(
        answer(503, None, retry_after="7"),
        UpstreamTimeoutError("no answer in time"),
        answer(202, {"status": "queued"}),
        answer(429, None),
        UpstreamUnreachableError("connection refused"),
    )
    waits = [runner.poll(job.job_id) for _ in range(2)]
    assert [outcome.to_dict() for outcome in waits] == [
        {"state": "running", "wait_seconds": 7},
        {"state": "running", "wait_seconds": 5},
    ]
    assert bench.row(job.job_id).status_failures == 2
    assert runner.poll(job.job_id).state is JobStatus.RUNNING
    assert (bench.row(job.job_id).status_failures, bench.row(job.job_id).polls) == (0, 1)
    assert [runner.poll(job.job_id).state for _ in range(2)] == [JobStatus.RUNNING] * 2
    assert bench.row(job.job_id).status_failures == 2

    failures_in_a_row = 2
    while bench.row(job.job_id).status is JobStatus.RUNNING:
        assert failures_in_a_row <= bench.settings.max_status_failures
        bench.transport.script(answer(503, {"message": "busy"}))
        runner.poll(job.job_id)
        failures_in_a_row += 1
    row = bench.row(job.job_id)
    assert (row.status, row.error_code, row.target_status) == (JobStatus.FAILED, "UPSTREAM_HTTP_ERROR", 503)
    assert json.loads(row.result or "") == {"message": "busy"}


def test_transient_status_failures_are_retried_max_status_failures_times_then_fail(bench: Bench) -> None:
    job = submitted_export(bench)
    runner = bench.runner()
    allowed = bench.settings.max_status_failures
    bench.transport.script(*[answer(503, None) for _ in range(allowed + 1)])
    assert [runner.poll(job.job_id).state for _ in range(allowed)] == [JobStatus.RUNNING] * allowed
    assert runner.poll(job.job_id).state is JobStatus.FAILED


def test_a_status_poll_refused_by_an_open_circuit_waits_for_it_instead_of_failing_the_job(
    bench: Bench,
) -> None:
    job = submitted_export(bench)
    bench.transport.script(CircuitOpenError("paused", details={"retry_after": 25}))
    outcome = bench.runner().poll(job.job_id)
    assert outcome.to_dict() == {"state": "running", "wait_seconds": 25}
    assert bench.row(job.job_id).status_failures == 1


def test_client_error_status_answer_fails_the_job_with_the_apis_code(bench: Bench) -> None:
    job = submitted_export(bench)
    bench.transport.script(answer(404, {"message": "no such export"}))
    assert bench.runner().poll(job.job_id).state is JobStatus.FAILED
    row = bench.row(job.job_id)
    assert (row.error_code, row.target_status) == ("UPSTREAM_HTTP_ERROR", 404)
    assert "404" in (row.error_message or "")
    assert json.loads(row.result or "") == {"message": "no such export"}


def test_poll_after_the_deadline_times_the_job_out_without_a_call(bench: Bench) -> None:
    job = submitted_export(bench)
    bench.clock.advance(bench.settings.max_job_seconds)
    assert bench.runner().poll(job.job_id).state is JobStatus.FAILED
    row = bench.row(job.job_id)
    assert row.error_code == "JOB_TIMED_OUT"
    assert job.deadline_at.isoformat(timespec="seconds") in (row.error_message or "")
    assert len(bench.transport.calls) == 1


def test_result_longer_than_the_row_allows_goes_to_result_pages(bench: Bench) -> None:
    job = submitted_export(bench)
    body = {"status": "done", "data": "é" * 2400}
    bench.transport.script(answer(200, body))
    assert bench.runner().poll(job.job_id).state is JobStatus.SUCCEEDED

    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    page = bench.settings.inline_result_chars
    row = bench.row(job.job_id)
    assert row.result_handle is not None and CONTINUATION_HANDLE.fullmatch(row.result_handle)
    assert (row.result, row.result_pages) == (text[:page], math.ceil(len(text) / page))
    stored = StoredContinuation.model_validate_json(bench.results.pages[row.result_handle])
    assert (stored.text, stored.page_chars, stored.assistant_id, stored.tool) == (
        text,
        page,
        ASSISTANT,
        "start_export",
    )
    assert stored.expires_at == bench.clock() + timedelta(seconds=bench.settings.retention_seconds)
    view = JobView.of(row, bench.settings, bench.clock())
    assert view.result_truncated and view.continuation is not None
    assert (view.continuation.handle, view.continuation.pages) == (row.result_handle, row.result_pages)


def test_result_exactly_as_long_as_the_row_allows_stays_inline(bench: Bench) -> None:
    job = submitted_export(bench)
    page = bench.settings.inline_result_chars
    body = {"status": "done", "data": "x" * (page - len('{"status":"done","data":""}'))}
    bench.transport.script(answer(200, body))
    bench.runner().poll(job.job_id)
    row = bench.row(job.job_id)
    assert (row.result_handle, len(row.result or "")) == (None, page)
    assert bench.results.pages == {}


def test_unreadable_retry_after_keeps_the_job_running_on_the_backoff(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    bench.transport.script(answer(202, None, location="/v1/exports/77", retry_after="\xb2"))
    assert bench.runner().submit(job.job_id).to_dict() == {"state": "running", "wait_seconds": 5}


def test_status_location_with_an_invalid_port_fails_the_job_as_refused(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    bench.transport.script(answer(202, None, location="https://api.example.com:99999/v1/exports/77"))
    assert bench.runner().submit(job.job_id).state is JobStatus.FAILED
    assert bench.row(job.job_id).error_code == "JOB_STATUS_URL_REFUSED"


# --- Callbacks: issuing the URL -------------------------------------------------------------------


def test_await_callback_puts_a_signed_callback_url_in_the_declared_header(bench: Bench) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    bench.transport.script(answer(202, {"accepted": True}))
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)

    row = bench.row(job.job_id)
    assert row.callback_id is not None
    request = bench.transport.calls[0].request
    assert request.headers["X-Callback-Url"] == f"{CALLBACK_BASE}/v1/callbacks/{row.callback_id}"
    claim = bench.signer.verify(row.callback_id, bench.clock().timestamp())
    expires = bench.clock() + timedelta(seconds=bench.settings.callback_ttl_seconds)
    assert (claim.tenant_id, claim.job_id, claim.expires_at) == (TENANT, job.job_id, int(expires.timestamp()))
    assert (row.status, row.task_token, row.submitted, row.target_status, row.arguments) == (
        JobStatus.RUNNING,
        TOKEN,
        True,
        202,
        None,
    )
    assert bench.tokens.succeeded == []


def test_await_callback_puts_the_callback_url_in_a_declared_query_parameter(bench: Bench) -> None:
    job = bench.new_job("start_graded", {})
    bench.transport.script(answer(202, None))
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)
    query = parse_qs(urlsplit(bench.transport.calls[0].request.url).query)
    assert query == {"notify": [f"{CALLBACK_BASE}/v1/callbacks/{bench.row(job.job_id).callback_id}"]}


@pytest.mark.parametrize(
    ("script", "code"),
    [
        (answer(422, {"detail": "bad topic"}), "UPSTREAM_HTTP_ERROR"),
        (UpstreamUnreachableError("connection refused"), "UPSTREAM_UNREACHABLE"),
    ],
)
def test_failing_callback_submit_reports_failed_through_the_task_token(
    bench: Bench, script: Any, code: str
) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    bench.transport.script(script)
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)
    row = bench.row(job.job_id)
    assert (row.status, row.error_code) == (JobStatus.FAILED, code)
    assert bench.tokens.succeeded == [(TOKEN, "failed")]


def test_callback_submit_of_a_missing_tool_reports_failed_without_a_call(bench: Bench) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    bench.store.tools.clear()
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)
    assert bench.row(job.job_id).error_code == "TOOL_NOT_AVAILABLE"
    assert bench.tokens.succeeded == [(TOKEN, "failed")]
    assert bench.transport.calls == []


def test_await_callback_for_a_cancelled_job_ends_the_task_without_a_call(bench: Bench) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"}, status=JobStatus.CANCELLED)
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)
    assert bench.tokens.succeeded == [(TOKEN, "cancelled")]
    assert bench.row(job.job_id).callback_id is None
    assert bench.transport.calls == []


def test_await_callback_needs_a_signer_base_url_and_task_tokens(bench: Bench) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    with pytest.raises(ValueError, match="callbacks need"):
        bench.runner().await_callback(job.job_id, TOKEN)


def test_retried_await_callback_keeps_the_job_waiting_on_the_issued_url(bench: Bench) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    bench.transport.script(answer(202, None), answer(202, None))
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)
    issued = bench.row(job.job_id).callback_id
    assert issued is not None
    bench.clock.advance(5)
    bench.runner(with_callbacks=True).await_callback(job.job_id, "task-token-2")
    row = bench.row(job.job_id)
    assert len(bench.transport.calls) == 1
    assert (row.status, row.error_code, row.callback_id) == (JobStatus.RUNNING, None, issued)
    assert bench.receiver().receive(issued, b'{"status":"done"}').status is JobStatus.SUCCEEDED


# --- fail ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("error_name", ["States.Timeout", "States.HeartbeatTimeout"])
def test_state_machine_timeout_fails_the_job_as_timed_out(bench: Bench, error_name: str) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    assert bench.runner().fail(job.job_id, error_name).to_dict() == {"state": "failed", "wait_seconds": 0}
    row = bench.row(job.job_id)
    assert (row.status, row.error_code) == (JobStatus.FAILED, "JOB_TIMED_OUT")


@pytest.mark.parametrize(
    "error_name",
    [
        "States.TaskFailed",
        "StoreUnavailableError",
        "Lambda.ServiceException",
        "Lambda.ClientExecutionTimeoutException",
        "Sandbox.Timedout",
        "KeyError: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:key'",
        "unknown",
    ],
)
def test_any_other_task_failure_is_an_internal_error_that_names_no_cause(
    bench: Bench, error_name: str
) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    assert bench.runner().fail(job.job_id, error_name).state is JobStatus.FAILED
    row = bench.row(job.job_id)
    assert row.error_code == "TOOL_INTERNAL_ERROR"
    message = row.error_message or ""
    assert INTERNAL_MESSAGE in message and job.job_id in message
    assert error_name not in message
    assert "secretsmanager" not in message and "Lambda" not in message


def test_fail_of_an_ended_job_changes_nothing(bench: Bench) -> None:
    job = bench.new_job("start_export", {}, status=JobStatus.SUCCEEDED, result='{"rows":1}')
    assert bench.runner().fail(job.job_id, "States.Timeout").state is JobStatus.SUCCEEDED
    assert bench.row(job.job_id) == job


# --- Callbacks: receiving -----------------------------------------------------------------------


def waiting_job(bench: Bench, tool: str = "start_notified") -> tuple[JobRecord, str]:
    """A callback job whose call the target accepted: the job and the callback id it was given."""
    job = bench.new_job(tool, {"topic": "q3"} if tool == "start_notified" else {})
    bench.transport.script(answer(202, None))
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)
    row = bench.row(job.job_id)
    assert row.callback_id is not None
    return row, row.callback_id


def test_final_callback_completes_the_job_once_and_resumes_the_task(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    body = {"status": "completed", "file": "s3://exports/77.csv"}
    ack = bench.receiver().receive(callback_id, json.dumps(body).encode())
    assert (ack.job_id, ack.status) == (job.job_id, JobStatus.SUCCEEDED)
    row = bench.row(job.job_id)
    assert (row.status, row.callback_used, row.task_token) == (JobStatus.SUCCEEDED, True, None)
    assert json.loads(row.result or "") == body
    assert bench.tokens.succeeded == [(TOKEN, "succeeded")]


def test_failure_callback_fails_the_job_and_resumes_the_task(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    ack = bench.receiver().receive(callback_id, b'{"status": "Failed", "why": "disk"}')
    assert ack.status is JobStatus.FAILED
    row = bench.row(job.job_id)
    assert (row.status, row.error_code, row.callback_used) == (JobStatus.FAILED, "JOB_FAILED", True)
    assert json.loads(row.result or "") == {"status": "Failed", "why": "disk"}
    assert bench.tokens.succeeded == [(TOKEN, "failed")]


def test_callback_is_read_with_the_operations_status_pointer_and_values(bench: Bench) -> None:
    job, callback_id = waiting_job(bench, "start_graded")
    receiver = bench.receiver()
    assert receiver.receive(callback_id, b'{"outcome": "completed"}').status is JobStatus.RUNNING
    assert receiver.receive(callback_id, b'{"outcome": "passed", "grade": "A"}').status is JobStatus.SUCCEEDED
    assert bench.row(job.job_id).result == '"A"'


def test_replayed_callback_is_refused_and_changes_nothing(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    receiver = bench.receiver()
    receiver.receive(callback_id, b'{"status": "done", "n": 1}')
    completed = bench.row(job.job_id)
    with pytest.raises(CallbackAlreadyUsedError):
        receiver.receive(callback_id, b'{"status": "failed", "n": 2}')
    assert bench.row(job.job_id) == completed
    assert bench.tokens.succeeded == [(TOKEN, "succeeded")]


def test_racing_callbacks_complete_the_job_once(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    receiver = bench.receiver()
    receiver.receive(callback_id, b'{"status": "done", "n": 1}')
    completed = bench.row(job.job_id)
    bench.jobs.serve_stale(job)
    with pytest.raises(CallbackAlreadyUsedError):
        receiver.receive(callback_id, b'{"status": "done", "n": 2}')
    assert bench.row(job.job_id) == completed
    assert bench.tokens.succeeded == [(TOKEN, "succeeded")]


def test_forged_callback_is_refused_and_changes_nothing(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    head, signature = callback_id.rsplit(".", 1)
    forged = f"{head}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    with pytest.raises(CallbackInvalidError):
        bench.receiver().receive(forged, b'{"status": "done"}')
    assert bench.row(job.job_id) == job
    assert (bench.tokens.succeeded, bench.tokens.heartbeats) == ([], [])


def test_genuine_id_that_is_not_the_jobs_current_one_is_refused(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    other_expiry = bench.signer.verify(callback_id, bench.clock().timestamp()).expires_at - 1
    superseded = bench.signer.sign(TENANT, job.job_id, other_expiry)
    never_issued = bench.signer.sign(TENANT, bench.new_job("start_notified", {}).job_id, other_expiry)
    for callback in (superseded, never_issued, bench.signer.sign(TENANT, new_job_id(), other_expiry)):
        with pytest.raises(CallbackInvalidError):
            bench.receiver().receive(callback, b'{"status": "done"}')
    assert bench.row(job.job_id) == job
    assert bench.tokens.succeeded == []


def test_expired_callback_is_refused_and_changes_nothing(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    bench.clock.advance(bench.settings.callback_ttl_seconds)
    with pytest.raises(CallbackExpiredError):
        bench.receiver().receive(callback_id, b'{"status": "done"}')
    assert bench.row(job.job_id) == job
    assert bench.tokens.succeeded == []


def test_progress_callback_is_a_heartbeat_and_keeps_the_url_valid(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    receiver = bench.receiver()
    ack = receiver.receive(callback_id, b'{"status": "in_progress", "percent": 40}')
    assert (ack.job_id, ack.status) == (job.job_id, JobStatus.RUNNING)
    assert bench.tokens.heartbeats == [TOKEN]
    assert bench.row(job.job_id) == job
    assert receiver.receive(callback_id, b'{"status": "done"}').status is JobStatus.SUCCEEDED
    assert bench.tokens.succeeded == [(TOKEN, "succeeded")]


def padded_body(size: int) -> bytes:
    shell = b'{"status":"done","pad":""}'
    return shell[:-2] + b"x" * (size - len(shell)) + b'"}'


def test_callback_body_over_the_limit_is_refused_and_changes_nothing(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    limit = bench.settings.max_callback_bytes
    with pytest.raises(CallbackTooLargeError, match=str(limit)):
        bench.receiver().receive(callback_id, padded_body(limit + 1))
    assert bench.row(job.job_id) == job
    assert bench.receiver().receive(callback_id, padded_body(limit)).status is JobStatus.SUCCEEDED


def test_callback_for_a_cancelled_job_is_refused_and_changes_nothing(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    JobQueries(TenantContext(TENANT, Role.AGENT, "desk-key"), bench.jobs, bench.settings).cancel(job.job_id)
    cancelled = bench.row(job.job_id)
    assert (cancelled.status, cancelled.task_token) == (JobStatus.CANCELLED, None)
    with pytest.raises(JobNotRunningError):
        bench.receiver().receive(callback_id, b'{"status": "done"}')
    assert bench.row(job.job_id) == cancelled
    assert (bench.tokens.succeeded, bench.tokens.heartbeats) == ([], [])


@pytest.mark.parametrize("body", [b'{"status": "done"}', b'{"status": "in_progress"}'])
def test_callback_for_a_failed_job_is_refused_and_changes_nothing(bench: Bench, body: bytes) -> None:
    job, callback_id = waiting_job(bench)
    bench.runner().fail(job.job_id, "States.TaskFailed")
    failed = bench.row(job.job_id)
    with pytest.raises(JobNotRunningError):
        bench.receiver().receive(callback_id, body)
    assert bench.row(job.job_id) == failed
    assert (bench.tokens.succeeded, bench.tokens.heartbeats) == ([], [])


def test_callback_after_the_task_timed_out_still_records_the_result(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    bench.tokens.ended = True
    assert bench.receiver().receive(callback_id, b'{"status": "done"}').status is JobStatus.SUCCEEDED
    assert bench.row(job.job_id).status is JobStatus.SUCCEEDED


# --- Hardening (issue 11): retried tasks, lost answers, final answers, heartbeats ----------------

TOKEN_2 = "task-token-2"


def test_callback_racing_a_retried_task_resumes_it_with_the_token_the_write_replaced(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    read_before_the_retry = bench.row(job.job_id)
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN_2)
    bench.tokens.stale.add(TOKEN)  # the first attempt no longer waits
    bench.jobs.serve_stale(read_before_the_retry)

    ack = bench.receiver().receive(callback_id, b'{"status": "done"}')

    assert ack.status is JobStatus.SUCCEEDED
    assert bench.tokens.succeeded == [(TOKEN_2, "succeeded")]
    assert len(bench.transport.calls) == 1


def test_retried_task_that_loses_the_race_to_a_callback_ends_with_the_jobs_outcome(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    read_by_the_retry = bench.row(job.job_id)
    bench.receiver().receive(callback_id, b'{"status": "failed"}')
    bench.jobs.serve_stale(read_by_the_retry)

    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN_2)

    assert bench.tokens.succeeded == [(TOKEN, "failed"), (TOKEN_2, "failed")]
    assert bench.row(job.job_id).status is JobStatus.FAILED
    assert len(bench.transport.calls) == 1


def test_progress_callback_racing_a_retried_task_extends_the_current_token(bench: Bench) -> None:
    job, callback_id = waiting_job(bench)
    read_before_the_retry = bench.row(job.job_id)
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN_2)
    bench.tokens.stale.add(TOKEN)
    bench.jobs.serve_stale(read_before_the_retry)

    assert bench.receiver().receive(callback_id, b'{"status": "in_progress"}').status is JobStatus.RUNNING

    assert bench.tokens.heartbeats == [TOKEN_2]


@pytest.mark.parametrize(
    "lost",
    [
        UpstreamOutcomeUnknownError("the connection closed after the request was sent"),
        UpstreamTimeoutError("no complete answer within the deadline"),
    ],
)
def test_callback_submit_with_an_unknown_outcome_keeps_waiting_for_its_genuine_callback(
    bench: Bench, lost: ToolgateError
) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    bench.transport.script(lost)
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)

    row = bench.row(job.job_id)
    assert (row.status, row.error_code, row.task_token, row.arguments) == (
        JobStatus.RUNNING,
        None,
        TOKEN,
        None,
    )
    assert bench.tokens.succeeded == []
    assert row.callback_id is not None
    ack = bench.receiver().receive(row.callback_id, b'{"status": "done", "rows": 3}')
    assert ack.status is JobStatus.SUCCEEDED
    assert bench.tokens.succeeded == [(TOKEN, "succeeded")]
    assert len(bench.transport.calls) == 1


def test_unconfirmed_callback_job_that_times_out_says_to_check_before_starting_again(bench: Bench) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    bench.transport.script(UpstreamOutcomeUnknownError("the connection closed"))
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)

    bench.runner().fail(job.job_id, "States.HeartbeatTimeout")

    row = bench.row(job.job_id)
    assert row.error_code == "JOB_TIMED_OUT"
    assert "never confirmed" in (row.error_message or "")


def test_retried_submit_after_a_lost_answer_never_sends_the_call_twice(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    bench.transport.script(answer(202, None, location="/v1/exports/77"))
    bench.jobs.cut_off_at(lambda changes: changes.get("submitted") is True)
    with pytest.raises(FunctionCutOffError):
        bench.runner().submit(job.job_id)

    outcome = bench.runner().submit(job.job_id)

    assert outcome.state is JobStatus.FAILED
    row = bench.row(job.job_id)
    assert row.error_code == "UPSTREAM_OUTCOME_UNKNOWN"
    assert "Check at the API" in (row.error_message or "") and row.arguments is None
    assert len(bench.transport.calls) == 1


@pytest.mark.parametrize("tool", ["start_export", "start_notified"])
def test_task_failure_after_the_call_may_have_been_sent_says_to_check_at_the_api(
    bench: Bench, tool: str
) -> None:
    job = bench.new_job(tool, {"format": "csv"} if tool == "start_export" else {"topic": "q3"})
    bench.transport.script(answer(202, None, location="/v1/exports/77"))
    bench.jobs.cut_off_at(lambda changes: changes.get("submitted") is True)
    with pytest.raises(FunctionCutOffError):
        if tool == "start_export":
            bench.runner().submit(job.job_id)
        else:
            bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)

    bench.runner().fail(job.job_id, "Sandbox.Timedout")

    row = bench.row(job.job_id)
    assert (row.status, row.error_code) == (JobStatus.FAILED, "UPSTREAM_OUTCOME_UNKNOWN")
    assert "Check at the API" in (row.error_message or "") and "Sandbox" not in (row.error_message or "")


def test_submit_claims_the_job_before_the_call_is_sent(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    bench.transport.script(answer(202, None, location="/v1/exports/77"))
    bench.runner().submit(job.job_id)
    claim, recorded = bench.jobs.writes[0], bench.jobs.writes[-1]
    assert claim.keys() == {"submit_claimed_at", "updated_at"}
    assert recorded["submitted"] is True
    assert bench.row(job.job_id).submit_claimed_at == bench.clock()


def test_retried_callback_task_after_a_lost_answer_waits_on_the_issued_url_without_sending_again(
    bench: Bench,
) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    bench.transport.script(answer(202, None))
    bench.jobs.cut_off_at(lambda changes: changes.get("submitted") is True)
    with pytest.raises(FunctionCutOffError):
        bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)
    issued = bench.row(job.job_id).callback_id
    assert issued is not None

    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN_2)

    row = bench.row(job.job_id)
    assert (row.status, row.callback_id, row.task_token) == (JobStatus.RUNNING, issued, TOKEN_2)
    assert len(bench.transport.calls) == 1
    assert bench.receiver().receive(issued, b'{"status": "done"}').status is JobStatus.SUCCEEDED
    assert bench.tokens.succeeded == [(TOKEN_2, "succeeded")]


@pytest.mark.parametrize(
    ("body", "state", "code"),
    [
        ({"status": "completed", "file": "s3://exports/77.csv"}, JobStatus.SUCCEEDED, None),
        ({"status": "failed", "why": "no data"}, JobStatus.FAILED, "JOB_FAILED"),
    ],
)
def test_final_answer_to_a_callback_submit_ends_the_job_instead_of_waiting_forever(
    bench: Bench, body: dict[str, Any], state: JobStatus, code: str | None
) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    bench.transport.script(answer(200, body))

    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)

    row = bench.row(job.job_id)
    assert (row.status, row.error_code, row.callback_used, row.task_token) == (state, code, True, None)
    assert json.loads(row.result or "") == body
    assert bench.tokens.succeeded == [(TOKEN, state.value)]
    assert row.callback_id is not None
    with pytest.raises(CallbackAlreadyUsedError):
        bench.receiver().receive(row.callback_id, b'{"status": "done"}')


def test_final_answer_racing_its_own_callback_completes_the_job_once_without_an_error(bench: Bench) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    scripted = bench.transport
    scripted.script(answer(200, {"status": "completed", "by": "answer"}))

    class CalledBackBeforeAnswering(ScriptedTransport):
        def send(self, call: OutboundCall) -> HttpResponse:
            callback_id = call.request.headers["X-Callback-Url"].rsplit("/", 1)[1]
            bench.receiver().receive(callback_id, b'{"status": "done", "by": "callback"}')
            return scripted.send(call)

    bench.transport = CalledBackBeforeAnswering()

    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)

    row = bench.row(job.job_id)
    assert row.status is JobStatus.SUCCEEDED
    assert json.loads(row.result or "") == {"status": "done", "by": "callback"}
    assert bench.tokens.succeeded == [(TOKEN, "succeeded")]


@pytest.mark.parametrize("body", [{"accepted": True}, {"status": "queued"}, None])
def test_answer_to_a_callback_submit_without_a_final_status_waits_for_the_callback(
    bench: Bench, body: Any
) -> None:
    job = bench.new_job("start_notified", {"topic": "q3"})
    bench.transport.script(answer(200, body))
    bench.runner(with_callbacks=True).await_callback(job.job_id, TOKEN)
    row = bench.row(job.job_id)
    assert (row.status, row.submitted, row.callback_used) == (JobStatus.RUNNING, True, False)
    assert bench.tokens.succeeded == []


def test_cancel_of_a_job_that_ended_after_it_was_read_quotes_its_current_status(bench: Bench) -> None:
    job = bench.new_job("start_export", {}, status=JobStatus.SUCCEEDED, result='{"rows":1}')
    bench.jobs.serve_stale(job.model_copy(update={"status": JobStatus.RUNNING}))
    queries = JobQueries(TenantContext(TENANT, Role.AGENT, "desk-key"), bench.jobs, bench.settings)

    with pytest.raises(JobNotRunningError) as refused:
        queries.cancel(job.job_id)

    assert "(succeeded)" in refused.value.message and "running" not in refused.value.message
    assert bench.row(job.job_id) == job


def launched(bench: Bench, tool: str) -> dict[str, Any]:
    """The execution input the launcher starts `tool`'s job with."""
    started: list[dict[str, Any]] = []

    class Executions:
        def start(self, tenant_id: str, job: JobRecord) -> None:
            started.append(execution_input(tenant_id, job))

        def stop(self, execution_arn: str) -> None:
            raise AssertionError("not stopped")

        def execution_arn(self, job_id: str) -> str:
            return f"arn:aws:states:eu-west-1:123456789012:execution:jobs:{job_id}"

    launcher = JobLauncher(bench.jobs, Executions(), bench.settings, clock=bench.clock)
    launcher.launch(
        TENANT,
        ASSISTANT,
        integration=integration_record(),
        tool=TOOLS[tool],
        arguments={},
        pattern=JobPattern.CALLBACK,
    )
    (payload,) = started
    return payload


def test_only_an_operation_that_opts_in_is_cut_off_by_a_heartbeat(bench: Bench) -> None:
    ttl = bench.settings.callback_ttl_seconds
    silent = launched(bench, "start_notified")
    opted_in = launched(bench, "start_graded")
    assert silent["heartbeat_seconds"] == ttl
    assert opted_in["heartbeat_seconds"] == 900
    for payload in (silent, opted_in):
        assert payload["timeout_seconds"] == ttl + CALLBACK_TASK_GRACE_SECONDS
        assert payload.keys() == {"tenant_id", "job_id", "pattern", "heartbeat_seconds", "timeout_seconds"}


def test_polled_jobs_start_with_ids_only(bench: Bench) -> None:
    job = bench.new_job("start_export", {"format": "csv"})
    assert execution_input(TENANT, job) == {"tenant_id": TENANT, "job_id": job.job_id, "pattern": "poll"}


@pytest.mark.parametrize("value", ["600", 0, -5, 1.5, True])
def test_a_heartbeat_that_is_not_a_positive_integer_is_ignored_with_a_warning(value: Any) -> None:
    compiled = compile_paths(
        {
            "/jobs": {
                "post": {
                    "operationId": "startJob",
                    "parameters": [{"name": "callbackUrl", "in": "header", "schema": {"type": "string"}}],
                    "x-toolgate-async": {"heartbeatSeconds": value},
                    "responses": {"202": {"description": "accepted"}},
                }
            }
        },
        servers=[{"url": SERVER}],
    )
    (tool,) = compiled.tools
    assert tool.async_pattern is not None and tool.async_pattern.heartbeat_seconds is None
    (finding,) = [f for f in compiled.findings if f.code == "ASYNC_HEARTBEAT_IGNORED"]
    assert finding.severity.value == "warning"
    assert finding.pointer.endswith("/x-toolgate-async/heartbeatSeconds")
