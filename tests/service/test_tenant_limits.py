"""One tenant must not starve the others: per-tenant limits on the rate of tool calls and on concurrent
outbound calls, kept in the tenant's own partition, enforced before any egress, set only by the tenant's
admins. The handlers run over moto; the targets are real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from invoke_harness import Desk, SupportDesk, clear_invoke_caches, desk_world
from pydantic import ValidationError
from service_world import Service
from toolgate.adapters.aws.limits import LIMITER_SK, LIMITS_SK, DynamoLimiterStore
from toolgate.errors import ConcurrencyLimitedError
from toolgate.service.limits import TenantLimiter, TenantLimits
from toolgate.settings import LimitSettings, get_limit_settings

from tests.integration.runtime_servers import Reply, Seen

TOKEN = "desk-token-1"
#: Long enough for any call in these tests; a test that waits this long has failed.
WAIT_SECONDS = 30


def set_limits(service: Service, tenant: str, **limits: Any) -> dict[str, Any]:
    response = service.api("PUT", "/v1/limits", tenant=tenant, body=limits)
    assert response.status == 200, response.body
    body: dict[str, Any] = response.body
    return body


def limiter_row(service: Service, tenant: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = service.table.get_item(Key={"pk": tenant, "sk": LIMITER_SK}).get("Item")
    return item


class GatedDesk(SupportDesk):
    """The Support Desk, whose case creation waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, seen: Seen) -> Reply:
        if seen.method == "POST":
            self.entered.set()
            assert self.gate.wait(WAIT_SECONDS), "the test never opened the gate"
        reply = super().__call__(seen)
        assert isinstance(reply, Reply)
        return reply


@pytest.fixture
def desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with desk_world(service, monkeypatch) as world:
        world.seed("acme", {"type": "bearer", "token": TOKEN})
        yield world


# --- Rate -------------------------------------------------------------------------------------------


def test_a_tenant_over_its_rate_gets_429_with_retry_after_before_any_egress(desk: Desk) -> None:
    set_limits(desk.service, "acme", requests_per_second=0.01, burst=2, concurrent_calls=5)
    assert [desk.invoke().status for _ in range(2)] == [200, 200]
    refused = desk.invoke()
    assert (refused.status, refused.error_code) == (429, "RATE_LIMITED")
    retry_after = int(refused.raw["headers"]["Retry-After"])
    # One call per 100 s: the next token is about 100 s away, and the envelope says the same.
    assert 1 <= retry_after <= 100
    assert refused.body["error"]["details"]["retry_after_seconds"] == retry_after
    assert "Retry-After" in refused.body["error"]["message"]
    assert len(desk.created_cases()) == 2


def test_a_rate_limited_call_does_not_use_up_its_idempotency_key(desk: Desk) -> None:
    set_limits(desk.service, "acme", requests_per_second=0.01, burst=1, concurrent_calls=5)
    assert desk.invoke().status == 200
    key = {"Idempotency-Key": "retry-me-later"}
    assert desk.invoke(headers=key).status == 429
    set_limits(desk.service, "acme", requests_per_second=25, burst=50, concurrent_calls=5)
    # The invoke function reads a tenant's limits again after `cache_seconds`; a fresh process at once.
    clear_invoke_caches()
    retried = desk.invoke(headers=key)
    assert (retried.status, retried.body["ok"]) == (200, True)
    assert len(desk.created_cases()) == 2


# --- Concurrency ------------------------------------------------------------------------------------


def test_a_tenant_at_its_concurrent_call_limit_gets_429_until_a_call_ends(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = GatedDesk()
    with desk_world(service, monkeypatch, target) as desk:
        desk.seed("acme", {"type": "bearer", "token": TOKEN})
        set_limits(service, "acme", requests_per_second=25, burst=50, concurrent_calls=1)
        first: list[Any] = []
        holder = threading.Thread(target=lambda: first.append(desk.invoke()))
        holder.start()
        try:
            assert target.entered.wait(WAIT_SECONDS)
            refused = desk.invoke()
            assert (refused.status, refused.error_code) == (429, "CONCURRENCY_LIMITED")
            assert int(refused.raw["headers"]["Retry-After"]) >= 1
            assert len(desk.created_cases()) == 1
        finally:
            target.gate.set()
            holder.join(WAIT_SECONDS)
        assert first[0].status == 200
        # The first call's lease was released when it ended: the slot is free again.
        assert desk.invoke().status == 200
        row = limiter_row(service, "acme")
        assert row is not None and "leases" not in row


def test_a_crashed_calls_lease_frees_its_slot_after_its_deadline(service: Service) -> None:
    now = [1_000_000_000_000]
    store = DynamoLimiterStore(service.table, "acme")
    limits = TenantLimits(requests_per_second=50, burst=100, concurrent_calls=1)
    store.save_limits(_record(limits), expected_version=None)
    limiter = TenantLimiter(store, LimitSettings(), clock_ms=lambda: now[0])
    # A call that took its slot for 5 s, and whose Lambda died: the block is never left (the context
    # manager is kept alive, so that collecting it cannot run its release either).
    crashed = limiter.outbound_call(5.0)
    crashed.__enter__()
    now[0] += 4_000
    with pytest.raises(ConcurrencyLimitedError), limiter.outbound_call(5.0):
        pytest.fail("admitted while the crashed call's lease is still within its deadline")
    now[0] += 2_000
    with limiter.outbound_call(5.0):
        row = limiter_row(service, "acme")
        assert row is not None
        # The expired lease was cleared; only this call's remains.
        assert len(row["leases"]) == 1
        assert all(int(lease.split(".")[0]) > now[0] for lease in row["leases"])
    assert crashed is not None


def test_the_limiter_row_expires_after_the_tenant_stops_calling(desk: Desk) -> None:
    before = int(time.time())
    assert desk.invoke().status == 200
    row = limiter_row(desk.service, "acme")
    assert row is not None
    ttl = int(row["ttl"])
    settings = LimitSettings()
    # Past any lease's deadline (the call's budget is under a minute), and never much later.
    assert before + settings.row_ttl_seconds < ttl <= int(time.time()) + settings.row_ttl_seconds + 60


# --- Isolation --------------------------------------------------------------------------------------


def test_one_tenant_over_its_limits_does_not_limit_another_tenant(desk: Desk) -> None:
    desk.seed("globex", {"type": "bearer", "token": "globex-token"})
    set_limits(desk.service, "acme", requests_per_second=0.01, burst=1, concurrent_calls=1)
    assert desk.invoke(tenant="acme").status == 200
    assert desk.invoke(tenant="acme").status == 429
    assert [desk.invoke(tenant="globex").status for _ in range(3)] == [200, 200, 200]
    # Each tenant's counters live in its own partition, where its tenant-scoped role may write.
    rows = [item for item in desk.service.table_items() if item["sk"] == LIMITER_SK]
    assert sorted(row["pk"] for row in rows) == ["acme", "globex"]


def test_an_admin_sets_only_its_own_tenants_limits(service: Service) -> None:
    set_limits(service, "acme", requests_per_second=2, burst=4, concurrent_calls=3)
    acme = service.api("GET", "/v1/limits", tenant="acme").body
    globex = service.api("GET", "/v1/limits", tenant="globex").body
    assert (acme["concurrent_calls"], acme["source"], acme["version"]) == (3, "tenant", 1)
    defaults = LimitSettings()
    assert (globex["concurrent_calls"], globex["source"]) == (defaults.concurrent_calls, "default")


# --- Who may set them -------------------------------------------------------------------------------


def test_an_agent_key_cannot_raise_its_tenants_limits(service: Service) -> None:
    body = {"requests_per_second": 25, "burst": 50, "concurrent_calls": 25}
    response = service.api("PUT", "/v1/limits", tenant="acme", role="agent", body=body)
    assert (response.status, response.error_code) == (403, "ROLE_FORBIDDEN")
    assert service.api("GET", "/v1/limits", tenant="acme", role="agent").status == 403
    assert service.api("GET", "/v1/limits", tenant="acme").body["source"] == "default"


def test_a_limits_body_naming_another_tenant_is_refused(service: Service) -> None:
    body = {"requests_per_second": 5, "burst": 5, "concurrent_calls": 5, "tenant_id": "globex"}
    response = service.api("PUT", "/v1/limits", tenant="acme", body=body)
    assert (response.status, response.error_code) == (422, "API_REQUEST_INVALID")
    assert service.api("GET", "/v1/limits", tenant="globex").body["source"] == "default"


@pytest.mark.parametrize(
    "body",
    [
        {"requests_per_second": 5, "burst": 0, "concurrent_calls": 5},
        {"requests_per_second": 0, "burst": 10, "concurrent_calls": 5},
        {"requests_per_second": 5, "burst": 10},
    ],
)
def test_limits_outside_the_deployments_bounds_are_refused(service: Service, body: dict[str, Any]) -> None:
    response = service.api("PUT", "/v1/limits", tenant="acme", body=body)
    assert (response.status, response.error_code) == (422, "API_REQUEST_INVALID")
    assert response.body["error"]["details"]
    assert service.api("GET", "/v1/limits", tenant="acme").body["source"] == "default"


# --- The deployment's ceilings ------------------------------------------------------------------------

#: The whole deployment's capacity, which the static maxima used to let one tenant's admin take.
THE_WHOLE_DEPLOYMENT = {"requests_per_second": 50, "burst": 100, "concurrent_calls": 50}


@pytest.fixture
def lowered_ceilings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The operator lowers the ceilings (and the defaults with them) after tenants have set their limits:
    one call per 100 s, bursts of 2, 1 concurrent call. Every function reads the new settings."""
    for name, value in {"REQUESTS_PER_SECOND": "0.01", "BURST": "2", "CONCURRENT_CALLS": "1"}.items():
        monkeypatch.setenv(f"TOOLGATE_LIMITS_{name}", value)
        monkeypatch.setenv(f"TOOLGATE_LIMITS_MAX_{name}", value)
    get_limit_settings.cache_clear()
    clear_invoke_caches()
    yield
    get_limit_settings.cache_clear()
    clear_invoke_caches()


def test_a_tenant_admin_cannot_raise_its_limits_past_the_deployment_ceiling(service: Service) -> None:
    set_limits(service, "acme", requests_per_second=5, burst=10, concurrent_calls=5)
    response = service.api("PUT", "/v1/limits", tenant="acme", body=THE_WHOLE_DEPLOYMENT)
    assert (response.status, response.error_code) == (422, "LIMIT_ABOVE_CEILING")
    ceilings = LimitSettings()
    assert response.body["error"]["details"] == [
        {
            "field": "requests_per_second",
            "value": 50.0,
            "ceiling": ceilings.max_requests_per_second,
            "setting": "TOOLGATE_LIMITS_MAX_REQUESTS_PER_SECOND",
        },
        {
            "field": "burst",
            "value": 100,
            "ceiling": ceilings.max_burst,
            "setting": "TOOLGATE_LIMITS_MAX_BURST",
        },
        {
            "field": "concurrent_calls",
            "value": 50,
            "ceiling": ceilings.max_concurrent_calls,
            "setting": "TOOLGATE_LIMITS_MAX_CONCURRENT_CALLS",
        },
    ]
    assert (
        f"concurrent_calls 50 is above its ceiling of {ceilings.max_concurrent_calls}"
        in (response.body["error"]["message"])
    )
    # Nothing was stored: the tenant keeps the limits it had.
    kept = service.api("GET", "/v1/limits", tenant="acme").body
    assert (kept["requests_per_second"], kept["burst"], kept["concurrent_calls"], kept["version"]) == (
        5,
        10,
        5,
        1,
    )


@pytest.mark.parametrize("field", ["requests_per_second", "burst", "concurrent_calls"])
def test_one_limit_past_its_ceiling_is_refused_by_name(service: Service, field: str) -> None:
    ceilings = service.api("GET", "/v1/limits", tenant="acme").body["ceilings"]
    at_ceilings = dict(ceilings)
    assert set_limits(service, "acme", **at_ceilings)["clamped"] == []
    over = {**at_ceilings, field: ceilings[field] + 1}
    response = service.api("PUT", "/v1/limits", tenant="acme", body=over)
    assert (response.status, response.error_code) == (422, "LIMIT_ABOVE_CEILING")
    assert [problem["field"] for problem in response.body["error"]["details"]] == [field]


def test_the_default_ceilings_leave_half_of_the_shared_capacity_to_other_tenants(service: Service) -> None:
    ceilings = service.api("GET", "/v1/limits", tenant="acme").body["ceilings"]
    assert ceilings == {"requests_per_second": 25.0, "burst": 50, "concurrent_calls": 25}
    assert all(ceilings[name] <= limit / 2 for name, limit in THE_WHOLE_DEPLOYMENT.items())


def test_stored_limits_above_a_lowered_ceiling_are_clamped(
    service: Service, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    with desk_world(service, monkeypatch) as desk:
        desk.seed("acme", {"type": "bearer", "token": TOKEN})
        set_limits(service, "acme", requests_per_second=20, burst=40, concurrent_calls=20)
        request.getfixturevalue("lowered_ceilings")

        shown = service.api("GET", "/v1/limits", tenant="acme").body
        assert (shown["requests_per_second"], shown["burst"], shown["concurrent_calls"]) == (0.01, 2, 1)
        assert shown["clamped"] == ["requests_per_second", "burst", "concurrent_calls"]
        assert (shown["source"], shown["version"]) == ("tenant", 1)
        # The invoke function applies the ceilings, not the stored 20 calls/s with bursts of 40.
        assert [desk.invoke().status for _ in range(2)] == [200, 200]
        refused = desk.invoke()
        assert (refused.status, refused.error_code) == (429, "RATE_LIMITED")
        assert refused.body["error"]["details"]["burst"] == 2
        assert len(desk.created_cases()) == 2
        # The row is left as the admin wrote it: raising the ceiling again restores the tenant's limits.
        item = service.table.get_item(Key={"pk": "acme", "sk": LIMITS_SK})["Item"]
        assert (item["limits"]["burst"], item["limits"]["concurrent_calls"]) == (40, 20)


def test_a_ceiling_below_the_defaults_is_refused_when_the_settings_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOOLGATE_LIMITS_MAX_CONCURRENT_CALLS", "5")
    with pytest.raises(ValidationError, match="concurrent_calls"):
        LimitSettings()


def _record(limits: TenantLimits) -> Any:
    from datetime import UTC, datetime

    from toolgate.service.limits import LimitsRecord

    return LimitsRecord(limits=limits, updated_at=datetime.now(UTC), updated_by="tester")
