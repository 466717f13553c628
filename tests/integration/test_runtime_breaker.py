"""The circuit breaker against real servers on 127.0.0.1 that always fail, hang, or recover.

Upstream requests are counted on the server. Cool-downs pass on an injected clock: nothing sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from toolgate.adapters.http import HttpTransport
from toolgate.runtime.envelope import ToolResult
from toolgate.runtime.invoke import invoke_tool
from toolgate.settings import RuntimeSettings

from tests.integration.runtime_servers import Reply, Seen, json_reply, make_tool, serve

COOLDOWN = 30.0
SETTINGS = RuntimeSettings(
    allow_loopback=True,
    max_retries=2,
    breaker_failure_threshold=5,
    breaker_cooldown_seconds=COOLDOWN,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def transport(clock: Clock) -> Iterator[HttpTransport]:
    transport = HttpTransport(SETTINGS, sleep=lambda _: None, clock=clock)
    yield transport
    transport.close()


def call(url: str, transport: HttpTransport, tenant: str = "acme", **settings: float) -> ToolResult:
    return invoke_tool(
        make_tool(url),
        {},
        transport=transport,
        settings=SETTINGS.model_copy(update=settings),
        tenant=tenant,
    )


def always(status: int) -> Callable[[Seen], Reply]:
    return lambda _: json_reply(b'{"error": "down"}', status=status)


def codes(results: list[ToolResult]) -> list[str | int | None]:
    """Each result's HTTP status, or its error code when no answer came."""
    return [result.status or (result.error.code if result.error else None) for result in results]


def test_calls_to_a_target_that_always_answers_503_stop_reaching_it_once_its_circuit_opens(
    transport: HttpTransport,
) -> None:
    with serve(always(503)) as server:
        results = [call(server.url, transport) for _ in range(8)]
        requests = server.count()
    # Call 1 makes 3 attempts, call 2 two: the fifth failure in a row opens the circuit, and the call
    # stops retrying. Without the breaker, the 8 calls made 24 requests.
    assert requests == 5
    assert codes(results) == [503, 503] + ["CIRCUIT_OPEN"] * 6
    refusal = results[-1].error
    assert refusal is not None and refusal.details == {"retry_after": 30}
    assert "try again after 30 seconds" in refusal.message


def test_calls_to_a_target_that_hangs_fail_fast_once_its_circuit_opens(clock: Clock) -> None:
    released = threading.Event()

    def hang(seen: Seen) -> Callable[[BaseHTTPRequestHandler], None]:
        released.wait(timeout=60)
        return lambda _: None  # never answers

    transport = HttpTransport(SETTINGS.model_copy(update={"breaker_failure_threshold": 2}), clock=clock)
    try:
        with serve(hang) as server:
            results = [call(server.url, transport, default_timeout_seconds=0.3) for _ in range(4)]
            requests = server.count()
    finally:
        released.set()
        transport.close()
    assert requests == 2
    assert codes(results) == ["UPSTREAM_TIMEOUT", "UPSTREAM_TIMEOUT", "CIRCUIT_OPEN", "CIRCUIT_OPEN"]


def test_a_target_that_recovers_is_probed_once_after_the_cool_down_and_called_again(
    transport: HttpTransport, clock: Clock
) -> None:
    healthy = threading.Event()

    def recovering(seen: Seen) -> Reply:
        return json_reply() if healthy.is_set() else json_reply(status=503)

    with serve(recovering) as server:
        for _ in range(3):
            call(server.url, transport)
        healthy.set()
        assert codes([call(server.url, transport)]) == ["CIRCUIT_OPEN"]
        before = server.count()
        clock.now += COOLDOWN
        probe = call(server.url, transport)
        after = [call(server.url, transport) for _ in range(2)]
        assert server.count() == before + 3
    assert probe.ok and all(result.ok for result in after)


def test_a_failed_probe_is_one_request_and_opens_the_circuit_again(
    transport: HttpTransport, clock: Clock
) -> None:
    with serve(always(503)) as server:
        for _ in range(3):
            call(server.url, transport)
        opened_after = server.count()
        clock.now += COOLDOWN
        probe = call(server.url, transport)
        probe_requests = server.count() - opened_after
        refused = call(server.url, transport)
        assert server.count() == opened_after + 1
    assert probe_requests == 1 and probe.status == 503
    assert refused.error is not None and refused.error.code == "CIRCUIT_OPEN"


def test_while_a_probe_runs_other_calls_fail_fast_without_reaching_the_target(
    transport: HttpTransport, clock: Clock
) -> None:
    probing = threading.Event()
    probe_arrived = threading.Event()
    release = threading.Event()

    def handler(seen: Seen) -> Reply:
        if not probing.is_set():
            return json_reply(status=503)
        probe_arrived.set()
        release.wait(timeout=60)
        return json_reply()

    with serve(handler) as server:
        for _ in range(3):
            call(server.url, transport)
        probing.set()
        clock.now += COOLDOWN
        probe_result: list[ToolResult] = []
        prober = threading.Thread(target=lambda: probe_result.append(call(server.url, transport)))
        prober.start()
        try:
            assert probe_arrived.wait(timeout=30)
            during = call(server.url, transport)
            during_requests = server.count()
        finally:
            release.set()
            prober.join(timeout=30)
        after = call(server.url, transport)
    assert during.error is not None and during.error.code == "CIRCUIT_OPEN"
    assert during.error.details == {"retry_after": 1}
    assert during_requests == 5 + 1, "the failures that opened the circuit, then the probe alone"
    assert probe_result[0].ok and after.ok


def test_one_tenants_open_circuit_does_not_stop_another_tenants_calls(transport: HttpTransport) -> None:
    with serve(always(503)) as server:
        for _ in range(3):
            call(server.url, transport, tenant="acme")
        refused = call(server.url, transport, tenant="acme")
        before = server.count()
        other = call(server.url, transport, tenant="globex")
        assert server.count() == before + 3
    assert refused.error is not None and refused.error.code == "CIRCUIT_OPEN"
    assert other.status == 503
