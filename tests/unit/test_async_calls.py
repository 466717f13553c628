"""Following a long-running operation (`toolgate.runtime.async_calls`): where the status is, what a
status answer means, when to look again, and where a callback URL goes. Pure functions, no I/O."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from toolgate.errors import JobStatusUrlRefusedError
from toolgate.runtime.async_calls import (
    Phase,
    next_wait_seconds,
    read_status,
    resolve_status_url,
    status_arguments,
    status_request_tool,
    with_callback_url,
)
from toolgate.runtime.envelope import ToolResult
from toolgate.runtime.models import HttpRequest
from toolgate.runtime.request import build_request
from toolgate.settings import JobSettings
from toolgate.spec.models import (
    ArgumentBinding,
    ArgumentLocation,
    AsyncKind,
    AsyncPattern,
    CanonicalTool,
    SecurityScheme,
    SecuritySchemeType,
)

REQUEST_URL = "https://api.example.com/v1/exports?dry=0"
CALLBACK = "https://gw.example.com/prod/v1/callbacks/cb1.acme.job_x.1.sig?a=1&b=2"
ACCEPTED = AsyncPattern(kind=AsyncKind.ACCEPTED_LOCATION, status_header="Location")
GRADED = AsyncPattern(
    kind=AsyncKind.EXTENSION,
    status_pointer="/run/outcome",
    success_values=["PASSED"],
    failure_values=["Flunked"],
    result_pointer="/run/grade",
)


def schedule(**changes: Any) -> JobSettings:
    values: dict[str, Any] = {"first_poll_seconds": 5, "poll_backoff": 2.0, "max_poll_interval_seconds": 60}
    values.update(changes)
    return JobSettings(**values)


def answered(status: int, body: Any) -> ToolResult:
    return ToolResult(ok=True, status=status, body=body)


def export_tool() -> CanonicalTool:
    return CanonicalTool(
        name="start_export",
        description="Start an export.",
        method="POST",
        path="/exports/{kind}",
        pointer="#/paths/~1exports~1{kind}/post",
        server_url="https://api.example.com/v1",
        input_schema={
            "type": "object",
            "properties": {"kind": {"type": "string"}, "format": {"type": "string"}},
            "required": ["kind"],
            "additionalProperties": False,
        },
        bindings=[
            ArgumentBinding(argument="kind", location=ArgumentLocation.PATH, name="kind", required=True),
            ArgumentBinding(argument="format", location=ArgumentLocation.QUERY, name="format"),
        ],
        security=[{"key": []}],
        security_schemes={
            "key": SecurityScheme(type=SecuritySchemeType.API_KEY, name="X-Key", location="header")
        },
        async_pattern=ACCEPTED,
        idempotency_header="Idempotency-Key",
    )


# --- resolve_status_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/v1/exports/77", "https://api.example.com/v1/exports/77"),
        ("77/status", "https://api.example.com/v1/77/status"),
        ("  /v1/ops/9?view=full#frag  ", "https://api.example.com/v1/ops/9?view=full"),
        ("https://API.Example.com:443/v1/ops/9", "https://API.Example.com:443/v1/ops/9"),
        ("?page=2", "https://api.example.com/v1/exports?page=2"),
    ],
)
def test_status_url_on_the_requests_origin_is_resolved_against_the_request(
    location: str, expected: str
) -> None:
    assert resolve_status_url(REQUEST_URL, location) == expected


def test_status_url_of_a_bare_origin_gets_a_root_path() -> None:
    assert resolve_status_url("https://api.example.com", "?op=1") == "https://api.example.com/?op=1"


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example/v1/exports/77",
        "//evil.example/v1/exports/77",
        "http://api.example.com/v1/exports/77",
        "https://api.example.com:8443/v1/exports/77",
        "https://api.example.com.evil.example/x",
        "https://169.254.169.254/latest/meta-data/",
    ],
)
def test_status_url_leaving_the_origin_is_refused(location: str) -> None:
    with pytest.raises(JobStatusUrlRefusedError, match="leaves the API's origin"):
        resolve_status_url(REQUEST_URL, location)


@pytest.mark.parametrize(
    "location",
    [
        "https://user:secret@api.example.com/v1/exports/77",
        "https://user@api.example.com/v1/exports/77",
        "https://api.example.com@evil.example/x",
        "mailto:ops@api.example.com",
        "javascript:alert(1)",
        "file:///etc/passwd",
    ],
)
def test_status_url_with_credentials_or_without_a_host_is_refused(location: str) -> None:
    with pytest.raises(JobStatusUrlRefusedError, match="not a plain http"):
        resolve_status_url(REQUEST_URL, location)


def test_refused_status_url_is_echoed_only_in_part() -> None:
    location = "https://evil.example/" + "a" * 5000
    with pytest.raises(JobStatusUrlRefusedError) as refused:
        resolve_status_url(REQUEST_URL, location)
    assert location[:200] in refused.value.message
    assert "a" * 300 not in refused.value.message


@pytest.mark.parametrize(
    "location", ["https://api.example.com:99999/v1/ops/1", "https://api.example.com:x/v1"]
)
def test_status_url_with_an_invalid_port_is_refused_as_a_typed_error(location: str) -> None:
    with pytest.raises(JobStatusUrlRefusedError):
        resolve_status_url(REQUEST_URL, location)


# --- status_request_tool ------------------------------------------------------------------------


def test_status_request_is_an_argument_free_get_that_authenticates_like_the_tool() -> None:
    tool = export_tool()
    status_tool = status_request_tool(tool, "https://api.example.com/v1/ops/9?view=full")
    assert status_tool.method == "GET"
    assert status_tool.bindings == []
    assert status_tool.body is None
    assert status_tool.async_pattern is None
    assert status_tool.idempotency_header is None
    assert status_tool.input_schema == {"type": "object", "properties": {}, "additionalProperties": False}
    assert (status_tool.security, status_tool.security_schemes) == (tool.security, tool.security_schemes)
    request = build_request(status_tool, {})
    assert request.url == "https://api.example.com/v1/ops/9?view=full"
    assert request.body is None


def test_status_path_braces_are_not_read_as_path_templates() -> None:
    status_tool = status_request_tool(export_tool(), "https://api.example.com/v1/ops/{id}/a%20b")
    assert build_request(status_tool, {}).url == "https://api.example.com/v1/ops/%7Bid%7D/a%20b"


def test_status_query_braces_are_not_read_as_server_variables() -> None:
    status_tool = status_request_tool(export_tool(), "https://api.example.com/v1/ops?id={7}")
    url = urlsplit(build_request(status_tool, {}).url)
    assert (url.path, parse_qs(url.query)) == ("/v1/ops", {"id": ["{7}"]})


# --- status_arguments ---------------------------------------------------------------------------


def audit_status_tool() -> CanonicalTool:
    return CanonicalTool(
        name="get_audit",
        description="Read an audit.",
        method="GET",
        path="/audits/{audit_id}",
        pointer="#/paths/~1audits~1{audit_id}/get",
        input_schema={
            "type": "object",
            "properties": {"audit_id": {"type": "string"}, "region": {"type": "string"}, "depth": {}},
            "additionalProperties": False,
        },
    )


def test_status_arguments_come_from_the_answer_first_then_the_call() -> None:
    values = status_arguments(
        audit_status_tool(),
        {"audit_id": "a-1", "region": None, "other": 3},
        {"region": "eu", "audit_id": "stale", "scope": "all"},
    )
    assert values == {"audit_id": "a-1", "region": "eu"}


@pytest.mark.parametrize("submitted", [None, "accepted", [{"audit_id": "a-1"}]])
def test_status_arguments_of_a_non_object_answer_come_from_the_call(submitted: Any) -> None:
    assert status_arguments(audit_status_tool(), submitted, {"audit_id": "a-2"}) == {"audit_id": "a-2"}


# --- read_status --------------------------------------------------------------------------------


def test_accepted_answer_without_a_status_is_still_running() -> None:
    assert read_status(ACCEPTED, answered(202, {"progress": 40})).phase is Phase.RUNNING


@pytest.mark.parametrize("body", [{"id": 7, "rows": [1, 2]}, "plain text", None, [1, 2]])
def test_other_2xx_answer_without_a_status_is_the_finished_result(body: Any) -> None:
    reading = read_status(ACCEPTED, answered(200, body))
    assert (reading.phase, reading.result, reading.status_value) == (Phase.SUCCEEDED, body, None)


@pytest.mark.parametrize(
    ("value", "phase"),
    [
        ("Completed", Phase.SUCCEEDED),
        (" DONE ", Phase.SUCCEEDED),
        ("ready", Phase.SUCCEEDED),
        ("FAILED", Phase.FAILED),
        ("canceled", Phase.FAILED),
        ("expired", Phase.FAILED),
        ("in_progress", Phase.RUNNING),
        ("queued", Phase.RUNNING),
    ],
)
def test_default_status_values_are_read_case_insensitively(value: str, phase: Phase) -> None:
    body = {"status": value, "id": 9}
    reading = read_status(ACCEPTED, answered(200, body))
    assert (reading.phase, reading.status_value) == (phase, value)
    if phase is not Phase.RUNNING:
        assert reading.result == body


def test_status_decides_even_on_a_202_answer() -> None:
    assert read_status(ACCEPTED, answered(202, {"status": "succeeded"})).phase is Phase.SUCCEEDED


def test_state_field_is_read_when_there_is_no_status_field() -> None:
    reading = read_status(ACCEPTED, answered(200, {"state": "error", "detail": "disk"}))
    assert (reading.phase, reading.status_value) == (Phase.FAILED, "error")


def test_status_field_that_is_an_object_is_not_a_status() -> None:
    body = {"status": {"code": "failed"}}
    reading = read_status(ACCEPTED, answered(202, body))
    assert reading.phase is Phase.RUNNING


def test_declared_pointer_and_values_replace_the_defaults() -> None:
    still = read_status(GRADED, answered(200, {"run": {"outcome": "completed"}, "status": "failed"}))
    assert (still.phase, still.status_value) == (Phase.RUNNING, "completed")
    passed = read_status(GRADED, answered(200, {"run": {"outcome": "passed", "grade": {"score": 91}}}))
    assert (passed.phase, passed.result) == (Phase.SUCCEEDED, {"score": 91})
    flunked_body = {"run": {"outcome": "FLUNKED", "grade": {"score": 12}}}
    flunked = read_status(GRADED, answered(200, flunked_body))
    assert (flunked.phase, flunked.result) == (Phase.FAILED, flunked_body)


def test_result_pointer_missing_from_the_answer_gives_the_whole_body() -> None:
    body = {"run": {"outcome": "passed"}}
    assert read_status(GRADED, answered(200, body)).result == body


# --- next_wait_seconds --------------------------------------------------------------------------


def test_waits_grow_exponentially_up_to_the_cap() -> None:
    settings = schedule()
    assert [next_wait_seconds(settings, polls) for polls in range(7)] == [5, 10, 20, 40, 60, 60, 60]


def test_wait_after_very_many_polls_stays_at_the_cap() -> None:
    assert next_wait_seconds(schedule(poll_backoff=10.0), 10_000) == 60


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [("30", 30), (" 12 ", 12), ("1", 5), ("0", 5), ("86400", 60), ("9" * 400, 60)],
)
def test_retry_after_seconds_are_honoured_within_the_bounds(retry_after: str, wait: int) -> None:
    assert next_wait_seconds(schedule(), 2, retry_after) == wait


@pytest.mark.parametrize("retry_after", ["", "-5", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"])
def test_retry_after_that_is_not_seconds_keeps_the_backoff(retry_after: str) -> None:
    assert next_wait_seconds(schedule(), 2, retry_after) == 20


@pytest.mark.parametrize("retry_after", ["²", "1²", "³"])
def test_retry_after_with_non_decimal_digits_keeps_the_backoff(retry_after: str) -> None:
    assert next_wait_seconds(schedule(), 2, retry_after) == 20


# --- with_callback_url --------------------------------------------------------------------------


def submit_request() -> HttpRequest:
    return HttpRequest(
        method="POST",
        url="https://api.example.com/v1/notify?topic=a%20b",
        headers={"Content-Type": "application/json", "x-callback-url": "https://attacker.example/"},
        body=b'{"topic":"x"}',
    )


def test_callback_url_replaces_a_header_of_any_case() -> None:
    pattern = AsyncPattern(
        kind=AsyncKind.CALLBACK_PARAMETER, callback_parameter="X-Callback-Url", callback_location="header"
    )
    request = with_callback_url(submit_request(), pattern, CALLBACK)
    assert request.headers == {"Content-Type": "application/json", "X-Callback-Url": CALLBACK}
    assert (request.url, request.body) == (submit_request().url, submit_request().body)


def test_callback_url_is_appended_to_the_query_percent_encoded() -> None:
    pattern = AsyncPattern(
        kind=AsyncKind.CALLBACK_PARAMETER, callback_parameter="notify to", callback_location="query"
    )
    request = with_callback_url(submit_request(), pattern, CALLBACK)
    url = urlsplit(request.url)
    assert url.path == "/v1/notify"
    assert url.query.startswith("topic=a%20b&notify%20to=https%3A%2F%2F")
    assert parse_qs(url.query) == {"topic": ["a b"], "notify to": [CALLBACK]}
    assert request.headers == submit_request().headers


def test_callback_url_starts_the_query_when_there_is_none() -> None:
    pattern = AsyncPattern(kind=AsyncKind.EXTENSION, callback_parameter="cb", callback_location="query")
    plain = submit_request()._replace(url="https://api.example.com/v1/notify")
    assert parse_qs(urlsplit(with_callback_url(plain, pattern, CALLBACK).url).query) == {"cb": [CALLBACK]}


@pytest.mark.parametrize(
    "pattern",
    [
        AsyncPattern(kind=AsyncKind.CALLBACK_PARAMETER, callbacks=["done"]),
        AsyncPattern(kind=AsyncKind.CALLBACK_PARAMETER, callback_parameter="cb", callback_location="body"),
        AsyncPattern(kind=AsyncKind.CALLBACK_PARAMETER, callback_parameter="cb", callback_location="path"),
    ],
)
def test_callback_url_needs_a_declared_header_or_query_parameter(pattern: AsyncPattern) -> None:
    with pytest.raises(ValueError, match="no header or query parameter"):
        with_callback_url(submit_request(), pattern, CALLBACK)


def test_status_url_on_port_zero_is_not_the_default_port() -> None:
    with pytest.raises(JobStatusUrlRefusedError):
        resolve_status_url("https://api.example.com/v1/exports", "https://api.example.com:0/v1/ops/1")
