"""The local stack's execution environments (`toolgate_local.handlers.ExecutionEnvironments`) keep a
function's environments as Lambda does: shared by every caller by default, and in tenant isolation mode
one tenant's alone, so a tenant's event never runs where another tenant's data and clients were."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from toolgate_local.handlers import ExecutionEnvironments, HandlerSource, unload
from toolgate_local.lambda_routing import FunctionThrottledError

#: Each environment is a fresh import: `ENVIRONMENT` tells them apart, and `hold` keeps an event running.
HANDLER = """
import sys
import threading
import uuid

ENVIRONMENT = uuid.uuid4().hex
SEEN = set()


def lambda_handler(event, context):
    SEEN.add(event["tenant"])
    gate = event.get("gate")
    if gate is not None:
        gate["started"].set()
        gate["release"].wait(10)
    return {"environment": ENVIRONMENT, "seen": sorted(SEEN)}
"""


@dataclass
class Context:
    tenant_id: str | None = None


@pytest.fixture
def source(tmp_path: Path) -> HandlerSource:
    path = tmp_path / "handler.py"
    path.write_text(HANDLER)
    return HandlerSource(logical_id="WorkerFunction", name="worker", path=path, attribute="lambda_handler")


@pytest.fixture
def environments(source: HandlerSource) -> Iterator[list[ExecutionEnvironments]]:
    made: list[ExecutionEnvironments] = []
    yield made
    for function in made:
        unload(function.modules)


def make(
    source: HandlerSource, made: list[ExecutionEnvironments], concurrency: int, *, isolated: bool
) -> ExecutionEnvironments:
    function = ExecutionEnvironments(source, "_test_envs", concurrency, tenant_isolation=isolated)
    made.append(function)
    return function


def call(function: ExecutionEnvironments, tenant: str, **event: Any) -> dict[str, Any]:
    context = Context(tenant_id=tenant if function.tenant_isolation else None)
    answer: dict[str, Any] = function({"tenant": tenant, **event}, context)
    return answer


class Held:
    """An event kept running in its environment until `release()`."""

    def __init__(self, function: ExecutionEnvironments, tenant: str) -> None:
        self.gate = {"started": threading.Event(), "release": threading.Event()}
        self.answer: dict[str, Any] | BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(function, tenant), daemon=True)
        self._thread.start()
        assert self.gate["started"].wait(10)

    def _run(self, function: ExecutionEnvironments, tenant: str) -> None:
        try:
            self.answer = call(function, tenant, gate=self.gate)
        except BaseException as error:  # handed to the test thread
            self.answer = error

    def release(self) -> dict[str, Any]:
        self.gate["release"].set()
        self._thread.join(10)
        assert isinstance(self.answer, dict), self.answer
        return self.answer


def test_shared_environments_serve_every_tenant(
    source: HandlerSource, environments: list[ExecutionEnvironments]
) -> None:
    function = make(source, environments, 5, isolated=False)
    first, second = call(function, "tenant-a"), call(function, "tenant-b")
    assert first["environment"] == second["environment"]
    assert second["seen"] == ["tenant-a", "tenant-b"]


def test_an_isolated_function_never_runs_a_tenants_event_where_another_tenants_ran(
    source: HandlerSource, environments: list[ExecutionEnvironments]
) -> None:
    function = make(source, environments, 5, isolated=True)
    answers = [call(function, tenant) for tenant in ("tenant-a", "tenant-b", "tenant-a", "tenant-b")]
    assert {answer["environment"] for answer in answers[0::2]} != {
        answer["environment"] for answer in answers[1::2]
    }
    assert all(len(answer["seen"]) == 1 for answer in answers)
    # A's environments are reused for A: no new cold start once each tenant has one.
    assert answers[0]["environment"] == answers[2]["environment"]
    assert all(len(tenants) == 1 for tenants in function.tenants_served())


def test_a_tenant_whose_environments_are_busy_gets_a_new_one_and_never_another_tenants_idle_one(
    source: HandlerSource, environments: list[ExecutionEnvironments]
) -> None:
    function = make(source, environments, 5, isolated=True)
    call(function, "tenant-b")  # B has one idle environment
    held = Held(function, "tenant-a")
    second_a = call(function, "tenant-a")
    first_a = held.release()
    assert first_a["environment"] != second_a["environment"]
    assert second_a["seen"] == ["tenant-a"]
    assert sorted(len(tenants) for tenants in function.tenants_served()) == [1, 1, 1]


def test_isolated_events_at_once_are_still_bounded_by_the_reserved_concurrency(
    source: HandlerSource, environments: list[ExecutionEnvironments]
) -> None:
    function = make(source, environments, 2, isolated=True)
    held = [Held(function, "tenant-a"), Held(function, "tenant-b")]
    with pytest.raises(FunctionThrottledError):
        call(function, "tenant-c")
    for event in held:
        event.release()
    assert call(function, "tenant-c")["seen"] == ["tenant-c"]


def test_past_lambdas_environment_cap_the_least_recently_used_idle_environment_is_reclaimed(
    source: HandlerSource, environments: list[ExecutionEnvironments]
) -> None:
    """2,500 environments per 1,000 of concurrency: with a concurrency of 2, five environments."""
    function = make(source, environments, 2, isolated=True)
    assert function.max_environments == 5
    first = {tenant: call(function, tenant)["environment"] for tenant in ("t1", "t2", "t3", "t4", "t5")}
    call(function, "t2")  # t1's environment is now the least recently used
    assert call(function, "t6")["seen"] == ["t6"]
    assert len(function.tenants_served()) == 5
    assert len(function.modules) == 5
    assert call(function, "t2")["environment"] == first["t2"]
    assert call(function, "t1")["environment"] != first["t1"]


def test_an_isolated_function_refuses_an_event_that_names_no_tenant(
    source: HandlerSource, environments: list[ExecutionEnvironments]
) -> None:
    function = make(source, environments, 2, isolated=True)
    with pytest.raises(RuntimeError, match="names no tenant"):
        function({"tenant": "x"}, Context(tenant_id=None))


#: A handler whose environment holds an HTTP transport, as the invoke, jobs and MCP functions' do.
WIRED_HANDLER = """
from toolgate.wiring import Wiring

wiring = Wiring()


def lambda_handler(event, context):
    wiring.transport
    return {}
"""


def test_a_reclaimed_environment_releases_what_its_wiring_made_and_the_others_keep_theirs(
    tmp_path: Path, environments: list[ExecutionEnvironments]
) -> None:
    """Lambda ends a reclaimed environment's process, and its connection pools with it: the local stack
    clears the reclaimed module's `wiring` (closing its HTTP transport) instead of leaving them open."""
    path = tmp_path / "wired.py"
    path.write_text(WIRED_HANDLER)
    source = HandlerSource(logical_id="WiredFunction", name="wired", path=path, attribute="lambda_handler")
    function = make(source, environments, 2, isolated=True)
    for tenant in ("t1", "t2", "t3", "t4", "t5"):
        function({"tenant": tenant}, Context(tenant_id=tenant))
    modules = {name: sys.modules[name] for name in function.modules}
    assert all("transport" in vars(module.wiring) for module in modules.values())
    function({"tenant": "t6"}, Context(tenant_id="t6"))
    reclaimed = [module for name, module in modules.items() if name not in function.modules]
    assert len(reclaimed) == 1
    assert vars(reclaimed[0].wiring) == {}
    kept = [module for name, module in modules.items() if name in function.modules]
    assert len(kept) == 4 and all("transport" in vars(module.wiring) for module in kept)
