"""One tenant must not starve the others, over HTTP on the local stack: tenant A floods a target that holds
every call open, and gets 429s with `Retry-After` once its concurrent calls are taken, while tenant B's
calls go through. The front door runs the requests at once, as API Gateway and Lambda do."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from itertools import islice
from pathlib import Path

import pytest
from e2e_harness import Client, invoke_create_case, ready_support_desk_tenant
from toolgate_local.stack import LocalStack

from tests.integration.runtime_servers import Reply, Seen, Server, serve

#: Long enough for anything here; a test that waits this long has failed.
WAIT_SECONDS = 30
A_CONCURRENT_CALLS = 2
A_FLOOD = 6


class HeldDesk:
    """The Support Desk's case creation, holding each call until the test lets it go."""

    def __init__(self, *, hold: bool) -> None:
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self.entered = 0
        self.changed = threading.Condition()

    def __call__(self, seen: Seen) -> Reply:
        with self.changed:
            self.entered += 1
            self.changed.notify_all()
        assert self.released.wait(WAIT_SECONDS), "the test never released the held calls"
        return Reply(body=json.dumps({"case_id": f"case-{self.entered}", "status": "open"}).encode())

    def wait_for(self, count: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.entered >= count, WAIT_SECONDS)


@pytest.fixture(scope="module")
def slow() -> HeldDesk:
    return HeldDesk(hold=True)


@pytest.fixture(scope="module")
def fast() -> HeldDesk:
    return HeldDesk(hold=False)


@pytest.fixture(scope="module")
def slow_target(slow: HeldDesk) -> Iterator[Server]:
    with serve(slow) as server:
        yield server


@pytest.fixture(scope="module")
def fast_target(fast: HeldDesk) -> Iterator[Server]:
    with serve(fast) as server:
        yield server


@pytest.fixture(scope="module")
def stack(stack_template: Path, slow_target: Server, fast_target: Server) -> Iterator[LocalStack]:
    with LocalStack(stack_template, loopback_ports={slow_target.port, fast_target.port}) as local:
        yield local


def tenant_with_target(stack: LocalStack, tenant: str, target: Server) -> Client:
    return ready_support_desk_tenant(stack, tenant, f"{target.url}/api", f"{tenant}-t")


def test_a_flooding_tenant_gets_429s_while_another_tenants_calls_succeed(
    stack: LocalStack, slow: HeldDesk, slow_target: Server, fast_target: Server
) -> None:
    flooder = tenant_with_target(stack, "flooder", slow_target)
    neighbour = tenant_with_target(stack, "neighbour", fast_target)
    limits = {"requests_per_second": 25, "burst": 50, "concurrent_calls": A_CONCURRENT_CALLS}
    assert flooder.put("limits", json=limits).status == 200
    with ThreadPoolExecutor(max_workers=A_FLOOD) as pool:
        try:
            flood = [pool.submit(invoke_create_case, flooder) for _ in range(A_FLOOD)]
            # A's admitted calls are held open at the target; every other one is refused at once.
            assert slow.wait_for(A_CONCURRENT_CALLS)
            first_done = islice(as_completed(flood, WAIT_SECONDS), A_FLOOD - A_CONCURRENT_CALLS)
            refused = [future.result() for future in first_done]
            neighbours = [invoke_create_case(neighbour) for _ in range(3)]
        finally:
            slow.released.set()
        answers = [future.result(WAIT_SECONDS) for future in flood]
    assert all(answer.status_code == 429 for answer in refused)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * A_CONCURRENT_CALLS + [429] * (A_FLOOD - A_CONCURRENT_CALLS)
    assert slow.entered == A_CONCURRENT_CALLS
    for answer in answers:
        if answer.status_code == 429:
            assert answer.json()["error"]["code"] == "CONCURRENCY_LIMITED"
            assert int(answer.headers["Retry-After"]) >= 1
    assert [answer.status_code for answer in neighbours] == [200, 200, 200]
    assert all(answer.json()["ok"] is True for answer in neighbours)


def test_a_tenant_admin_cannot_take_the_whole_deployment_over_http(stack: LocalStack) -> None:
    greedy = Client(stack.api_url, stack.bootstrap_tenant("greedy"))
    everything = {"requests_per_second": 50, "burst": 100, "concurrent_calls": 50}
    refused = greedy.put("limits", json=everything)
    assert refused.status == 422, refused.body
    assert refused.body["error"]["code"] == "LIMIT_ABOVE_CEILING"
    # The ceilings are the ones the template sets on the api function: half of what every tenant shares.
    shown = greedy.get("limits").body
    assert shown["ceilings"] == {"requests_per_second": 25.0, "burst": 50, "concurrent_calls": 25}
    assert (shown["source"], shown["concurrent_calls"]) == ("default", 10)
