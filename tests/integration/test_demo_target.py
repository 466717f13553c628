"""The Support Desk demo target on 127.0.0.1: its cases, its async export, its callback report, its
bearer check and its handling of hostile input; and the spec that describes it."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from toolgate.adapters.http import HttpTransport
from toolgate.runtime.credentials import parse_credential
from toolgate.runtime.invoke import invoke_tool
from toolgate.settings import RuntimeSettings
from toolgate.spec.compiler import compile_document, read_spec
from toolgate.spec.lint import lint_spec
from toolgate.spec.models import AsyncKind, CanonicalTool, CompiledSpec, Severity
from toolgate_demo import support_desk_spec
from toolgate_demo.target import SupportDeskTarget

from tests.integration.runtime_servers import Seen, json_reply, serve

TOKEN = "demo-bearer-7f3a9c"
JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def target() -> Iterator[SupportDeskTarget]:
    with SupportDeskTarget(TOKEN, polls_before_done=2, callback_delay=0.05) as running:
        yield running


class Answer:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.raw = body
        assert headers.get("Content-Type") == "application/json", (status, body)
        self.body: Any = json.loads(body)


def call(
    target: SupportDeskTarget,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = TOKEN,
) -> Answer:
    """One request on a fresh connection; `path` is relative to the target's base URL unless absolute."""
    sent = dict(JSON_HEADERS if json_body is not None or body is not None else {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    if json_body is not None:
        body = json.dumps(json_body).encode()
    url = path if path.startswith("/api/") else f"{urlsplit(target.base_url).path}{path}"
    connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
    try:
        connection.request(method, url, body=body, headers=sent)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def create_case(target: SupportDeskTarget, customer_id: str, priority: str = "high") -> str:
    answer = call(
        target,
        "POST",
        "/support/cases",
        json_body={"customer_id": customer_id, "summary": "Printer on fire", "priority": priority},
    )
    assert answer.status == 200, answer.body
    return str(answer.body["case_id"])


# --- Cases -------------------------------------------------------------------------------------------


def test_created_case_is_read_back_by_get_and_list(target: SupportDeskTarget) -> None:
    case_id = create_case(target, "cus_1")
    create_case(target, "cus_other")

    assert re.fullmatch(r"CASE-\d+", case_id)
    fetched = call(target, "GET", f"/support/cases/{case_id}")
    assert fetched.status == 200
    assert fetched.body["case_id"] == case_id
    assert fetched.body["customer_id"] == "cus_1"
    assert fetched.body["priority"] == "high" and fetched.body["status"] == "open"
    listed = call(target, "GET", "/support/cases?customer_id=cus_1&status=open,pending")
    assert [case["case_id"] for case in listed.body["cases"]] == [case_id]
    assert [case["case_id"] for case in target.cases if case["customer_id"] == "cus_1"] == [case_id]


def test_list_is_newest_first_and_honours_status_and_limit(target: SupportDeskTarget) -> None:
    first, second, third = (create_case(target, "cus_1") for _ in range(3))
    closed = call(target, "PATCH", f"/support/cases/{second}", json_body={"status": "closed"})

    assert closed.status == 200 and closed.body["status"] == "closed"
    listed = call(target, "GET", "/support/cases?customer_id=cus_1&status=open")
    assert [case["case_id"] for case in listed.body["cases"]] == [third, first]
    limited = call(target, "GET", "/support/cases?customer_id=cus_1&limit=1")
    assert [case["case_id"] for case in limited.body["cases"]] == [third]


def test_comment_is_added_to_an_existing_case_only(target: SupportDeskTarget) -> None:
    case_id = create_case(target, "cus_1")

    added = call(target, "POST", f"/support/cases/{case_id}/comments", json_body={"body": "On it"})
    missing = call(target, "POST", "/support/cases/CASE-999999/comments", json_body={"body": "Hello?"})

    assert added.status == 201 and added.body["comment_id"]
    assert [(c["case_id"], c["body"], c["internal"]) for c in target.comments] == [(case_id, "On it", False)]
    assert missing.status == 404 and missing.body["code"] == "CASE_NOT_FOUND"


def test_unknown_case_is_a_json_404(target: SupportDeskTarget) -> None:
    answer = call(target, "GET", "/support/cases/CASE-424242")
    assert answer.status == 404 and answer.body["code"] == "CASE_NOT_FOUND"


# --- The bearer token --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-the-token-0000", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "],
    ids=["missing", "wrong", "other-scheme", "longer", "empty"],
)
def test_request_without_the_right_bearer_token_is_refused(
    target: SupportDeskTarget, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    answer = call(
        target,
        "POST",
        "/support/cases",
        json_body={"customer_id": "cus_1", "summary": "s", "priority": "low"},
        headers=headers,
        token=None,
    )

    assert answer.status == 401
    assert answer.body["code"] == "UNAUTHORIZED"
    assert answer.headers.get("WWW-Authenticate", "").startswith("Bearer")
    sent_credentials = (authorization or "").partition(" ")[2]
    if sent_credentials:
        assert sent_credentials.encode() not in answer.raw, "the received token is never echoed"
    assert target.cases == []
    assert [(r.method, r.path, r.authorized) for r in target.requests] == [
        ("POST", "/api/support/cases", False)
    ]


def test_right_bearer_token_is_recorded_as_authorized(target: SupportDeskTarget) -> None:
    create_case(target, "cus_1")
    assert [r.authorized for r in target.requests] == [True]


def test_a_target_without_a_given_token_makes_a_random_one() -> None:
    with SupportDeskTarget() as first, SupportDeskTarget() as second:
        assert len(first.token) >= 24 and first.token != second.token
        assert call(first, "GET", "/support/cases?customer_id=c", token=first.token).status == 200
        assert call(first, "GET", "/support/cases?customer_id=c", token=second.token).status == 401


def test_an_empty_token_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="empty"):
        SupportDeskTarget("  ")


# --- The async export ------------------------------------------------------------------------------


def start_export(target: SupportDeskTarget, customer_id: str, export_format: str) -> tuple[str, str]:
    """Start an export; returns its id and its absolute status URL resolved from `Location`."""
    answer = call(
        target, "POST", "/support/exports", json_body={"customer_id": customer_id, "format": export_format}
    )
    assert answer.status == 202, answer.body
    assert answer.body["status"] == "running"
    export_id = answer.body["export_id"]
    location = answer.headers["Location"]
    assert location == f"/api/support/exports/{export_id}", "relative to the server, under its base path"
    return export_id, urljoin(target.base_url, location)


def test_export_answers_running_until_polled_n_times_then_its_result(target: SupportDeskTarget) -> None:
    cases = {create_case(target, "cus_1"), create_case(target, "cus_1")}
    create_case(target, "cus_other")
    export_id, status_url = start_export(target, "cus_1", "csv")

    answers = [call(target, "GET", urlsplit(status_url).path) for _ in range(4)]

    assert [a.status for a in answers] == [200] * 4
    assert [a.body["status"] for a in answers] == ["running", "running", "succeeded", "succeeded"]
    assert all(a.body["export_id"] == export_id for a in answers)
    result = answers[2].body["result"]
    assert result["case_count"] == 2
    assert {case["case_id"] for case in result["cases"]} == cases
    assert result["download"]["filename"] == f"{export_id}.csv"
    assert result["download"]["media_type"] == "text/csv"
    assert result["download"]["size_bytes"] > 0
    assert "error" not in answers[2].body
    assert target.export_polls == {export_id: 4}


@pytest.mark.parametrize("polls_before_done", [0, 3])
def test_polls_before_done_is_configurable(polls_before_done: int) -> None:
    with SupportDeskTarget(TOKEN, polls_before_done=polls_before_done) as target:
        _, status_url = start_export(target, "cus_1", "json")
        statuses = [
            call(target, "GET", urlsplit(status_url).path).body["status"]
            for _ in range(polls_before_done + 1)
        ]
    assert statuses == ["running"] * polls_before_done + ["succeeded"]


def test_xlsx_export_is_accepted_then_ends_failed(target: SupportDeskTarget) -> None:
    create_case(target, "cus_1")
    export_id, status_url = start_export(target, "cus_1", "xlsx")

    answers = [call(target, "GET", urlsplit(status_url).path).body for _ in range(3)]

    assert [a["status"] for a in answers] == ["running", "running", "failed"]
    assert answers[2]["error"]["code"] == "FORMAT_UNAVAILABLE"
    assert "result" not in answers[2]
    assert target.export_polls == {export_id: 3}


def test_unknown_export_is_a_json_404(target: SupportDeskTarget) -> None:
    answer = call(target, "GET", "/support/exports/EXP-404404")
    assert answer.status == 404 and answer.body["code"] == "EXPORT_NOT_FOUND"


def test_export_in_an_unknown_format_is_refused(target: SupportDeskTarget) -> None:
    answer = call(target, "POST", "/support/exports", json_body={"customer_id": "cus_1", "format": "pdf"})
    assert answer.status == 400 and answer.body["code"] == "INVALID_REQUEST"
    assert target.export_polls == {}


# --- The callback report ---------------------------------------------------------------------------


def request_report(target: SupportDeskTarget, customer_id: str, callback_url: str) -> str:
    answer = call(
        target,
        "POST",
        "/support/reports",
        json_body={"customer_id": customer_id},
        headers={"callbackUrl": callback_url},
    )
    assert answer.status == 202, answer.body
    assert answer.body["status"] == "accepted"
    return str(answer.body["report_id"])


def test_report_is_posted_as_json_to_the_callback_url(target: SupportDeskTarget) -> None:
    create_case(target, "cus_1", "high")
    create_case(target, "cus_1", "low")
    with serve(lambda _: json_reply(b"{}", status=200)) as receiver:
        report_id = request_report(target, "cus_1", f"{receiver.url}/v1/callbacks/cb-1?sig=abc")
        [delivery] = target.wait_for_callbacks(1)
        seen = receiver.seen

    assert len(seen) == 1
    assert seen[0].method == "POST"
    assert seen[0].path == "/v1/callbacks/cb-1?sig=abc"
    assert seen[0].header("Content-Type") == "application/json"
    assert seen[0].header("Authorization") is None, "the target's token never goes to the callback URL"
    assert json.loads(seen[0].body) == {
        "report_id": report_id,
        "status": "succeeded",
        "result": {
            "customer_id": "cus_1",
            "case_count": 2,
            "by_status": {"open": 2},
            "by_priority": {"high": 1, "low": 1},
        },
    }
    assert delivery.report_id == report_id
    assert delivery.status == 200 and delivery.error is None
    assert delivery.payload == json.loads(seen[0].body)


def test_report_for_a_customer_without_cases_is_posted_as_failed(target: SupportDeskTarget) -> None:
    with serve(lambda _: json_reply(status=204, body=b"")) as receiver:
        report_id = request_report(target, "cus_nobody", f"{receiver.url}/hook")
        [delivery] = target.wait_for_callbacks(1)
        posted = json.loads(receiver.seen[0].body)

    assert posted["report_id"] == report_id
    assert posted["status"] == "failed"
    assert posted["error"]["code"] == "CUSTOMER_UNKNOWN"
    assert "result" not in posted
    assert delivery.status == 204


def test_callback_redirect_is_not_followed(target: SupportDeskTarget) -> None:
    create_case(target, "cus_1")
    with serve(lambda _: json_reply()) as elsewhere:

        def redirect(_: Seen) -> Any:
            return json_reply(status=307, Location=f"{elsewhere.url}/stolen")

        with serve(redirect) as receiver:
            request_report(target, "cus_1", f"{receiver.url}/hook")
            [delivery] = target.wait_for_callbacks(1)
            assert receiver.count() == 1
        assert elsewhere.count() == 0
    assert delivery.status == 307


def test_unreachable_callback_url_is_recorded_as_undelivered() -> None:
    with serve(lambda _: json_reply()) as closed:
        unreachable = f"{closed.url}/hook"
    with SupportDeskTarget(TOKEN, callback_delay=0) as target:
        create_case(target, "cus_1")
        request_report(target, "cus_1", unreachable)
        [delivery] = target.wait_for_callbacks(1)
    assert delivery.status is None and delivery.error


@pytest.mark.parametrize(
    "headers",
    [{}, {"callbackUrl": "ftp://127.0.0.1/hook"}, {"callbackUrl": "not a url"}],
    ids=["missing", "not-http", "not-a-url"],
)
def test_report_without_a_usable_callback_url_is_refused(
    target: SupportDeskTarget, headers: dict[str, str]
) -> None:
    answer = call(target, "POST", "/support/reports", json_body={"customer_id": "cus_1"}, headers=headers)
    assert answer.status == 400 and answer.body["code"] == "INVALID_REQUEST"
    assert "callbackUrl" in answer.body["message"]


def test_stop_cancels_reports_not_yet_delivered() -> None:
    with serve(lambda _: json_reply()) as receiver:
        with SupportDeskTarget(TOKEN, callback_delay=30) as target:
            request_report(target, "cus_1", f"{receiver.url}/hook")
        with pytest.raises(TimeoutError):
            target.wait_for_callbacks(1, timeout=0.2)
        assert receiver.count() == 0


# --- Hostile input ---------------------------------------------------------------------------------


def test_oversized_body_is_refused_with_413_and_not_stored() -> None:
    with SupportDeskTarget(TOKEN, max_body_bytes=1024) as target:
        summary = "x" * 2048
        answer = call(
            target,
            "POST",
            "/support/cases",
            json_body={"customer_id": "cus_1", "summary": summary, "priority": "low"},
        )
        assert answer.status == 413 and answer.body["code"] == "BODY_TOO_LARGE"
        assert target.cases == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "INVALID_JSON"),
        (b"\xff\xfe{}", "INVALID_JSON"),
        (b'{"customer_id": NaN}', "INVALID_JSON"),
        (b"[" * 30_000 + b"]" * 30_000, "INVALID_JSON"),
        (b'["customer_id"]', "INVALID_REQUEST"),
        (b'{"customer_id": 7, "summary": "s", "priority": "urgent"}', "INVALID_REQUEST"),
        (b'{"summary": "s", "priority": "low"}', "INVALID_REQUEST"),
    ],
    ids=["truncated", "not-utf8", "nan", "deep-nesting", "not-an-object", "wrong-types", "missing-field"],
)
def test_malformed_body_gets_a_400_json_error(target: SupportDeskTarget, body: bytes, code: str) -> None:
    answer = call(target, "POST", "/support/cases", body=body)
    assert answer.status == 400
    assert answer.body["code"] == code
    assert "Traceback" not in answer.body["message"]
    assert target.cases == []


def test_validation_errors_do_not_echo_the_values_received(target: SupportDeskTarget) -> None:
    answer = call(
        target,
        "POST",
        "/support/cases",
        json_body={"customer_id": "cus_1", "summary": "s", "priority": "<script>alert(1)</script>"},
    )
    assert answer.status == 400
    assert "priority" in answer.body["message"] and "<script>" not in answer.body["message"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/support/nothing", 404, "NOT_FOUND"),
        ("GET", "/api2/support/cases", 404, "NOT_FOUND"),
        ("GET", "/support/cases/CASE-1/comments/extra", 404, "NOT_FOUND"),
        ("DELETE", "/support/cases", 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/support/cases", 400, "INVALID_REQUEST"),
        ("GET", "/support/cases?customer_id=c&limit=1000", 400, "INVALID_REQUEST"),
        ("GET", "/support/cases?customer_id=c&status=lost", 400, "INVALID_REQUEST"),
        ("GET", "/support/cases?customer_id=a&customer_id=b", 400, "INVALID_REQUEST"),
    ],
)
def test_unknown_routes_and_bad_queries_get_json_errors(
    target: SupportDeskTarget, method: str, path: str, status: int, code: str
) -> None:
    url = path if path.startswith("/api2") else f"/api{path}"
    connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
    try:
        connection.request(method, url, headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        answer = Answer(response.status, response.headers, response.read())
    finally:
        connection.close()
    assert (answer.status, answer.body["code"]) == (status, code)
    if status == 405:
        assert answer.headers["Allow"] == "GET, POST"


def test_store_stops_growing_at_max_records() -> None:
    with SupportDeskTarget(TOKEN, max_records=2) as target:
        create_case(target, "cus_1")
        create_case(target, "cus_1")
        full = call(
            target,
            "POST",
            "/support/cases",
            json_body={"customer_id": "c", "summary": "s", "priority": "low"},
        )
        export = call(target, "POST", "/support/exports", json_body={"customer_id": "c", "format": "csv"})
        assert (full.status, full.body["code"]) == (507, "STORE_FULL")
        assert (export.status, export.body["code"]) == (507, "STORE_FULL")
        assert len(target.cases) == 2


def test_non_json_body_is_refused_with_415(target: SupportDeskTarget) -> None:
    answer = call(
        target,
        "POST",
        "/support/cases",
        body=b"customer_id=cus_1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 415 and answer.body["code"] == "UNSUPPORTED_MEDIA_TYPE"


# --- Through Toolgate's runtime: the spec and the target agree -----------------------------------------


@pytest.fixture(scope="module")
def compiled() -> CompiledSpec:
    return compile_document(read_spec(support_desk_spec()))


def tool_named(compiled: CompiledSpec, name: str) -> CanonicalTool:
    [tool] = [tool for tool in compiled.tools if tool.name == name]
    return tool


def test_toolgate_creates_reads_and_exports_cases_on_the_target(
    target: SupportDeskTarget, compiled: CompiledSpec
) -> None:
    transport = HttpTransport(RuntimeSettings(allow_loopback=True))
    credential = parse_credential({"type": "bearer", "token": TOKEN})
    try:

        def invoke(name: str, arguments: dict[str, Any]) -> Any:
            return invoke_tool(
                tool_named(compiled, name),
                arguments,
                transport=transport,
                credential=credential,
                settings=RuntimeSettings(allow_loopback=True),
                server_url=target.base_url,
            )

        created = invoke("create_support_case", {"customer_id": "cus_9", "summary": "s", "priority": "low"})
        fetched = invoke("get_support_case", {"case_id": created.body["case_id"]})
        started = invoke("start_case_export", {"customer_id": "cus_9", "format": "json"})
        polled = [invoke("get_case_export", {"export_id": started.body["export_id"]}) for _ in range(3)]
    finally:
        transport.close()

    assert created.ok and re.fullmatch(r"CASE-\d+", created.body["case_id"])
    assert fetched.ok and fetched.body["case_id"] == created.body["case_id"]
    assert started.ok and started.status == 202 and started.body["status"] == "running"
    assert [p.body["status"] for p in polled] == ["running", "running", "succeeded"]
    assert polled[-1].body["result"]["cases"][0]["case_id"] == created.body["case_id"]
    assert all(r.authorized for r in target.requests)


def test_toolgate_hands_the_report_its_callback_url(
    target: SupportDeskTarget, compiled: CompiledSpec
) -> None:
    create_case(target, "cus_1")
    transport = HttpTransport(RuntimeSettings(allow_loopback=True))
    try:
        with serve(lambda _: json_reply()) as receiver:
            accepted = invoke_tool(
                tool_named(compiled, "generate_case_report"),
                {"customer_id": "cus_1"},
                transport=transport,
                credential=parse_credential({"type": "bearer", "token": TOKEN}),
                settings=RuntimeSettings(allow_loopback=True),
                server_url=target.base_url,
                callback_url=f"{receiver.url}/v1/callbacks/cb-9",
            )
            [delivery] = target.wait_for_callbacks(1)
            [seen] = receiver.seen
    finally:
        transport.close()

    assert accepted.ok and accepted.status == 202 and accepted.body["status"] == "accepted"
    assert seen.path == "/v1/callbacks/cb-9"
    assert json.loads(seen.body)["report_id"] == accepted.body["report_id"]
    assert delivery.status == 200


# --- The spec ----------------------------------------------------------------------------------------

NEW_OPERATIONS = {
    "start_case_export": "/paths/~1support~1exports/post",
    "get_case_export": "/paths/~1support~1exports~1{export_id}/get",
    "generate_case_report": "/paths/~1support~1reports/post",
}


def test_spec_marks_the_export_and_the_report_as_async(compiled: CompiledSpec) -> None:
    export = tool_named(compiled, "start_case_export").async_pattern
    report = tool_named(compiled, "generate_case_report").async_pattern

    assert export is not None and export.kind is AsyncKind.EXTENSION
    assert export.status_operation == "getCaseExport"
    assert (export.status_pointer, export.result_pointer) == ("/status", "/result")
    assert (export.success_values, export.failure_values) == (["succeeded"], ["failed"])
    assert report is not None and report.kind is AsyncKind.CALLBACK_PARAMETER
    assert (report.callback_parameter, report.callback_location) == ("callbackUrl", "header")
    assert report.callbacks == ["reportReady"]
    assert "callbackUrl" not in tool_named(compiled, "generate_case_report").input_schema["properties"]
    assert tool_named(compiled, "get_case_export").async_pattern is None
    detected = {f.pointer for f in compiled.findings if f.code == "ASYNC_DETECTED"}
    assert detected == {NEW_OPERATIONS["start_case_export"], NEW_OPERATIONS["generate_case_report"]}


def test_export_202_with_location_is_detected_without_the_extension() -> None:
    spec = read_spec(support_desk_spec())
    del spec.document["paths"]["/support/exports"]["post"]["x-toolgate-async"]

    export = tool_named(compile_document(spec), "start_case_export").async_pattern

    assert export is not None and export.kind is AsyncKind.ACCEPTED_LOCATION
    assert export.status_header == "Location"


def test_spec_lints_clean_apart_from_the_seed_operations_kept_as_they_are(compiled: CompiledSpec) -> None:
    findings = lint_spec(read_spec(support_desk_spec()).document, compiled)

    serious = {(f.code, f.pointer) for f in findings if f.severity is not Severity.INFO}
    assert serious == {
        ("LINT_UNDOCUMENTED_ENUM", "/paths/~1support~1cases/post"),
        ("LINT_UNDOCUMENTED_ENUM", "/paths/~1support~1cases~1{case_id}/patch"),
    }
    on_new_operations = {f.code for f in findings if f.pointer.startswith(tuple(NEW_OPERATIONS.values()))}
    assert on_new_operations <= {"LINT_OPERATION_ID_NOT_SNAKE_CASE"}
    assert compiled.failed_operations == []
    assert not [f for f in compiled.findings if f.severity is not Severity.INFO]
