"""The HTTP transport against real servers on 127.0.0.1: deadlines, size caps, redirects, retries, SSRF."""

from __future__ import annotations

import email.utils
import json
import logging
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest
from toolgate.adapters.http import HttpTransport
from toolgate.runtime.credentials import parse_credential
from toolgate.runtime.invoke import invoke_tool
from toolgate.runtime.models import HttpRequest
from toolgate.runtime.redaction import Redactor
from toolgate.runtime.transport import Deadline, EgressPolicy, OutboundCall
from toolgate.settings import RuntimeSettings
from toolgate.spec.models import SecurityScheme, SecuritySchemeType

from tests.integration.runtime_servers import Reply, Seen, Server, json_reply, make_tool, serve

LOCAL = RuntimeSettings(allow_loopback=True, retry_backoff_base_seconds=0.01, retry_backoff_max_seconds=0.02)


@pytest.fixture
def transport() -> Iterator[HttpTransport]:
    transport = HttpTransport(LOCAL)
    yield transport
    transport.close()


def call_of(url: str, *, method: str = "GET", retryable: bool = True, seconds: float = 5.0) -> OutboundCall:
    return OutboundCall(
        request=HttpRequest(method=method, url=url, retryable=retryable),
        deadline=Deadline.after(seconds),
        policy=EgressPolicy(allow_loopback=True),
        tenant="t1",
        redactor=Redactor(),
    )


# --- Deadlines ---------------------------------------------------------------------------------


def trickle(status_line_first: bool) -> Callable[[Seen], Callable[[BaseHTTPRequestHandler], None]]:
    """A server that sends one byte every 50 ms, in the body or while still sending headers."""

    def handler(_: Seen) -> Callable[[BaseHTTPRequestHandler], None]:
        def write(request: BaseHTTPRequestHandler) -> None:
            if status_line_first:
                request.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                pieces = [b"x"] * 100_000
            else:
                pieces = [bytes([byte]) for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"y" * 100_000]
            try:
                for piece in pieces:
                    request.wfile.write(piece)
                    time.sleep(0.05)
            except OSError:
                return

        return write

    return handler


@pytest.mark.parametrize("in_headers", [False, True], ids=["trickling-body", "trickling-headers"])
def test_trickling_server_cannot_stretch_the_deadline(transport: HttpTransport, in_headers: bool) -> None:
    with serve(trickle(status_line_first=not in_headers)) as server:
        tool = make_tool(server.url)
        started = time.monotonic()
        result = invoke_tool(
            tool, {}, transport=transport, settings=LOCAL.model_copy(update={"default_timeout_seconds": 0.8})
        )
        elapsed = time.monotonic() - started
    assert result.error is not None and result.error.code == "UPSTREAM_TIMEOUT"
    assert 0.7 < elapsed < 1.5


def test_callers_budget_shortens_the_deadline(transport: HttpTransport) -> None:
    with serve(trickle(status_line_first=True)) as server:
        started = time.monotonic()
        result = invoke_tool(
            make_tool(server.url), {}, transport=transport, settings=LOCAL, deadline=Deadline.after(0.5)
        )
        elapsed = time.monotonic() - started
    assert result.error is not None and result.error.code == "UPSTREAM_TIMEOUT"
    assert elapsed < 1.2


def test_post_whose_answer_times_out_is_outcome_unknown_and_not_retried(transport: HttpTransport) -> None:
    with serve(trickle(status_line_first=True)) as server:
        tool = make_tool(server.url, method="POST")
        result = invoke_tool(tool, {}, transport=transport, settings=LOCAL, deadline=Deadline.after(0.5))
        assert result.error is not None and result.error.code == "UPSTREAM_OUTCOME_UNKNOWN"
        assert server.count() == 1


# --- Size ----------------------------------------------------------------------------------------


def gzip_bomb(decoded_megabytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(decoded_megabytes)) + compressor.flush()


def test_gzip_bomb_stops_at_the_decoded_cap() -> None:
    bomb = gzip_bomb(200)
    assert len(bomb) < 250_000
    settings = LOCAL.model_copy(update={"max_response_bytes": 1024 * 1024})
    transport = HttpTransport(settings)
    reply = Reply(headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, body=bomb)
    with serve(lambda _: reply) as server:
        started = time.monotonic()
        result = invoke_tool(make_tool(server.url), {}, transport=transport, settings=settings)
        elapsed = time.monotonic() - started
    transport.close()
    assert result.error is not None and result.error.code == "RESPONSE_TOO_LARGE"
    assert result.error.details == {"status": 200, "limit_bytes": 1024 * 1024}
    assert elapsed < 2


def test_long_body_is_cut_with_a_marker_and_a_hint(transport: HttpTransport) -> None:
    items = [{"id": index, "name": f"item {index}"} for index in range(2000)]
    with serve(lambda _: json_reply(json.dumps(items).encode())) as server:
        settings = LOCAL.model_copy(update={"result_body_chars": 500})
        result = invoke_tool(make_tool(server.url), {}, transport=transport, settings=settings)
    assert result.ok and result.truncated
    assert isinstance(result.body, str) and result.body.startswith('[{"id":0,')
    assert "[truncated:" in result.body and len(result.body) < 600
    assert result.hint is not None and "500" in result.hint


# --- Redirects -----------------------------------------------------------------------------------


def test_redirect_to_metadata_address_is_not_followed(transport: HttpTransport) -> None:
    location = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    with serve(lambda _: Reply(status=302, headers={"Location": location}, body=b"")) as server:
        result = invoke_tool(make_tool(server.url), {}, transport=transport, settings=LOCAL)
        assert server.count() == 1
    assert not result.ok and result.status == 302
    assert result.headers["location"] == location
    assert result.error is not None and result.error.code == "UPSTREAM_REDIRECT"


def test_redirect_to_another_host_does_not_carry_the_api_key(transport: HttpTransport) -> None:
    with serve(lambda _: json_reply()) as elsewhere:
        redirect = Reply(status=307, headers={"Location": f"{elsewhere.url}/steal"}, body=b"")
        with serve(lambda _: redirect) as server:
            scheme = SecurityScheme(
                type=SecuritySchemeType.API_KEY, location="header", parameter_name="X-API-Key"
            )
            tool = make_tool(server.url, security=[{"key": []}], schemes={"key": scheme})
            credential = parse_credential({"type": "api_key", "value": "k-123"})
            result = invoke_tool(tool, {}, transport=transport, credential=credential, settings=LOCAL)
        assert server.seen[0].header("X-API-Key") == "k-123"
        assert elsewhere.count() == 0
    assert result.status == 307


# --- Retries -------------------------------------------------------------------------------------


def failing_then(statuses: list[int], headers: dict[str, str] | None = None) -> Callable[[Seen], Reply]:
    """Answer each status in turn (with `headers`), then 200."""
    remaining = list(statuses)

    def handler(_: Seen) -> Reply:
        if remaining:
            return Reply(status=remaining.pop(0), headers=headers or {}, body=b"busy")
        return json_reply(b'{"done": true}')

    return handler


def test_get_that_fails_then_succeeds_is_retried(transport: HttpTransport) -> None:
    with serve(failing_then([503, 502])) as server:
        result = invoke_tool(make_tool(server.url), {}, transport=transport, settings=LOCAL)
        assert server.count() == 3
    assert result.ok and result.body == {"done": True}


def test_retries_stop_at_the_configured_count(transport: HttpTransport) -> None:
    with serve(failing_then([503] * 10)) as server:
        result = invoke_tool(make_tool(server.url), {}, transport=transport, settings=LOCAL)
        assert server.count() == LOCAL.max_retries + 1
    assert result.status == 503 and result.error is not None and result.error.code == "UPSTREAM_HTTP_ERROR"


def test_429_retry_after_is_honoured(transport: HttpTransport) -> None:
    with serve(failing_then([429], {"Retry-After": "1"})) as server:
        started = time.monotonic()
        result = invoke_tool(make_tool(server.url), {}, transport=transport, settings=LOCAL)
        elapsed = time.monotonic() - started
        assert server.count() == 2
    assert result.ok
    assert elapsed >= 1.0


def test_retry_after_beyond_the_deadline_returns_the_429_at_once(transport: HttpTransport) -> None:
    with serve(failing_then([429], {"Retry-After": "120"})) as server:
        started = time.monotonic()
        result = invoke_tool(make_tool(server.url), {}, transport=transport, settings=LOCAL)
        elapsed = time.monotonic() - started
        assert server.count() == 1
    assert result.status == 429 and result.headers["retry-after"] == "120"
    assert result.error is not None and "120 seconds" in result.error.message
    assert elapsed < 1


@pytest.mark.parametrize(
    ("status", "retried"), [(429, True), (502, True), (503, True), (504, True), (500, False), (501, False)]
)
def test_only_overload_and_gateway_statuses_are_retried(
    transport: HttpTransport, status: int, retried: bool
) -> None:
    with serve(failing_then([status])) as server:
        result = invoke_tool(make_tool(server.url), {}, transport=transport, settings=LOCAL)
        assert server.count() == (2 if retried else 1)
    assert result.ok is retried


def test_backoff_doubles_per_attempt_up_to_its_cap_and_is_scaled_by_jitter() -> None:
    settings = LOCAL.model_copy(
        update={
            "max_retries": 5,
            "retry_backoff_base_seconds": 0.001,
            "retry_backoff_max_seconds": 0.005,
            # Five failures in a row would open the circuit and end the retries.
            "breaker_failure_threshold": 6,
        }
    )
    pauses: list[float] = []
    counting = HttpTransport(settings, sleep=pauses.append, jitter=lambda: 0.5)
    with serve(failing_then([503] * 5)) as server:
        result = invoke_tool(make_tool(server.url), {}, transport=counting, settings=settings)
    counting.close()
    assert result.ok
    assert pauses == pytest.approx([0.0005, 0.001, 0.002, 0.0025, 0.0025])


def test_retry_after_as_an_http_date_is_honoured(transport: HttpTransport) -> None:
    soon = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    with serve(failing_then([503], {"Retry-After": soon})) as server:
        started = time.monotonic()
        result = invoke_tool(make_tool(server.url), {}, transport=transport, settings=LOCAL)
        elapsed = time.monotonic() - started
        assert server.count() == 2
    assert result.ok
    assert 0.9 <= elapsed < 2.5


def test_post_is_never_retried(transport: HttpTransport) -> None:
    with serve(failing_then([503, 503])) as server:
        result = invoke_tool(make_tool(server.url, method="POST"), {}, transport=transport, settings=LOCAL)
        assert server.count() == 1
    assert result.status == 503


def test_post_with_a_declared_idempotency_key_is_retried_with_the_same_key(transport: HttpTransport) -> None:
    with serve(failing_then([503])) as server:
        tool = make_tool(server.url, method="POST", idempotency_header="Idempotency-Key")
        result = invoke_tool(tool, {}, transport=transport, settings=LOCAL)
        keys = [seen.header("Idempotency-Key") for seen in server.seen]
    assert result.ok
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]


def hang_up_first(times: int) -> Callable[[Seen], Reply | Callable[[BaseHTTPRequestHandler], None]]:
    """Close the connection without a byte of answer `times` times, then answer 200."""
    remaining = [times]

    def handler(_: Seen) -> Reply | Callable[[BaseHTTPRequestHandler], None]:
        if remaining[0]:
            remaining[0] -= 1

            def hang_up(request: BaseHTTPRequestHandler) -> None:
                request.close_connection = True

            return hang_up
        return json_reply(b'{"done": true}')

    return handler


def test_get_whose_connection_drops_before_an_answer_is_retried(transport: HttpTransport) -> None:
    with serve(hang_up_first(1)) as server:
        result = invoke_tool(make_tool(server.url), {}, transport=transport, settings=LOCAL)
        assert server.count() == 2
    assert result.ok and result.body == {"done": True}


def test_post_whose_connection_drops_is_outcome_unknown_and_not_retried(transport: HttpTransport) -> None:
    with serve(hang_up_first(1)) as server:
        result = invoke_tool(make_tool(server.url, method="POST"), {}, transport=transport, settings=LOCAL)
        assert server.count() == 1
    assert result.error is not None and result.error.code == "UPSTREAM_OUTCOME_UNKNOWN"
    assert "may or may not have taken effect" in result.error.message


def test_connection_refused_is_retried_then_unreachable() -> None:
    attempts: list[float] = []
    counting = HttpTransport(LOCAL, sleep=attempts.append)
    # Nothing listens on port 1 of the loopback interface.
    result = invoke_tool(make_tool("http://127.0.0.1:1"), {}, transport=counting, settings=LOCAL)
    assert result.error is not None and result.error.code == "UPSTREAM_UNREACHABLE"
    assert len(attempts) == LOCAL.max_retries
    assert all(0 <= pause <= LOCAL.retry_backoff_max_seconds for pause in attempts)


# --- Egress guard in its default mode -----------------------------------------------------------


@pytest.fixture
def bystander() -> Iterator[Server]:
    """A loopback server that must never be reached by a default-mode call."""
    with serve(lambda _: json_reply()) as server:
        yield server


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "localhost",
        "127.0.0.1",
        "[::1]",
    ],
)
def test_loopback_in_any_spelling_is_refused_by_default(bystander: Server, host: str) -> None:
    transport = HttpTransport(RuntimeSettings())
    call = OutboundCall(
        request=HttpRequest(method="GET", url=f"http://{host}:{bystander.port}/items", retryable=True),
        deadline=Deadline.after(5),
        policy=EgressPolicy(allow_http=True),
        tenant="t1",
        redactor=Redactor(),
    )
    with pytest.raises(Exception) as raised:
        transport.send(call)
    assert getattr(raised.value, "code", None) == "EGRESS_DENIED"
    assert bystander.count() == 0


def test_default_settings_refuse_the_loopback_server_in_a_tool_call(bystander: Server) -> None:
    transport = HttpTransport(RuntimeSettings())
    result = invoke_tool(make_tool(bystander.url), {}, transport=transport, settings=RuntimeSettings())
    assert result.error is not None and result.error.code == "EGRESS_DENIED"
    assert bystander.count() == 0


def test_connection_goes_to_the_checked_address_not_a_second_lookup() -> None:
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    transport = HttpTransport(LOCAL, resolver=resolver)
    with serve(lambda _: json_reply()) as server:
        # `.test` names never resolve in real DNS: the request can only arrive through the pinned address.
        result = transport.send(call_of(f"http://api.example.test:{server.port}/items"))
        assert server.seen[0].header("Host") == f"api.example.test:{server.port}"
    assert result.status == 200
    assert lookups == ["api.example.test"]


def test_tenant_allowlist_refuses_other_hosts(bystander: Server) -> None:
    transport = HttpTransport(LOCAL)
    tool = make_tool(bystander.url)
    result = invoke_tool(tool, {}, transport=transport, settings=LOCAL, allowed_hosts=["api.example.com"])
    assert result.error is not None and result.error.code == "EGRESS_DENIED"
    assert bystander.count() == 0
    allowed = invoke_tool(tool, {}, transport=transport, settings=LOCAL, allowed_hosts=["127.0.0.1"])
    assert allowed.ok


# --- Secrets -------------------------------------------------------------------------------------

CANARY = "CANARY-s3cr3t/+value"


def test_canary_secret_never_appears_in_results_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    scheme = SecurityScheme(type=SecuritySchemeType.API_KEY, location="query", parameter_name="api_key")
    credential = parse_credential({"type": "api_key", "value": CANARY})
    outputs: list[str] = []

    def echo(seen: Seen) -> Reply:
        return json_reply(json.dumps({"path": seen.path, "headers": seen.headers}).encode())

    with serve(echo) as echoing, serve(trickle(status_line_first=True)) as slow:
        for url, method in ((echoing.url, "GET"), (slow.url, "POST"), ("http://127.0.0.1:1", "GET")):
            tool = make_tool(url, method=method, security=[{"key": []}], schemes={"key": scheme})
            transport = HttpTransport(LOCAL)
            result = invoke_tool(
                tool,
                {},
                transport=transport,
                credential=credential,
                settings=LOCAL,
                deadline=Deadline.after(0.5),
            )
            outputs.append(json.dumps(result.to_dict()))
            transport.close()
        assert "api_key=" in echoing.seen[0].path
    assert "[REDACTED]" in outputs[0]
    assert json.loads(outputs[1])["error"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN"
    assert json.loads(outputs[2])["error"]["code"] == "UPSTREAM_UNREACHABLE"
    assert any(record.name.startswith("urllib3") for record in caplog.records)
    everything = (
        "\n".join(outputs) + "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    )
    for form in (CANARY, "CANARY-s3cr3t%2F%2Bvalue", "CANARY-s3cr3t/%2Bvalue", "s3cr3t"):
        assert form not in everything
