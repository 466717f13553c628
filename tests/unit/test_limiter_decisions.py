"""The limiter's decisions on the row a failed admission found (pure: `toolgate.service.limits`)."""

from __future__ import annotations

import pytest
from toolgate.errors import ConcurrencyLimitedError, RateLimitedError
from toolgate.service.limits import Admission, LimiterRow, TenantLimits, plan_admission
from toolgate.settings import LimitSettings

NOW = 1_000_000_000_000
LIMITS = TenantLimits(requests_per_second=10, burst=5, concurrent_calls=2)
INTERVAL = 100
SETTINGS = LimitSettings()


def first_write() -> Admission:
    return Admission(
        rate="idle",
        lease=f"{NOW + 5000}.new",
        now_ms=NOW,
        interval_ms=INTERVAL,
        next_clock_ms=NOW + INTERVAL,
        latest_clock_ms=NOW + (LIMITS.burst - 1) * INTERVAL,
        max_leases=LIMITS.concurrent_calls,
        ttl_epoch_seconds=NOW // 1000 + 3600,
    )


def test_a_tenant_past_its_burst_is_refused_until_its_next_call_is_on_schedule() -> None:
    # The clock is 2.5 s past what the burst allows: the next call fits in 3 s (rounded up).
    row = LimiterRow(clock_ms=NOW + 4 * INTERVAL + 2500, leases=frozenset())
    with pytest.raises(RateLimitedError) as refused:
        plan_admission(row, first_write(), LIMITS, SETTINGS)
    assert refused.value.retry_after_seconds == 3
    assert refused.value.http_status == 429


def test_a_tenant_within_its_burst_moves_the_clock_on_from_where_it_is() -> None:
    row = LimiterRow(clock_ms=NOW + 2 * INTERVAL, leases=frozenset())
    write = plan_admission(row, first_write(), LIMITS, SETTINGS)
    assert (write.rate, write.next_clock_ms) == ("busy", NOW + 3 * INTERVAL)


def test_a_crashed_calls_expired_lease_does_not_hold_a_slot() -> None:
    expired = {f"{NOW - 1}.crashed", "not-a-lease"}
    row = LimiterRow(clock_ms=None, leases=frozenset({*expired, f"{NOW + 9000}.open"}))
    write = plan_admission(row, first_write(), LIMITS, SETTINGS)
    assert write.rate == "idle"
    assert write.expired == expired


def test_a_tenant_with_every_slot_taken_is_refused_with_retry_after() -> None:
    row = LimiterRow(clock_ms=None, leases=frozenset({f"{NOW + 20_000}.a", f"{NOW + 400}.b"}))
    with pytest.raises(ConcurrencyLimitedError) as refused:
        plan_admission(row, first_write(), LIMITS, SETTINGS)
    # The sooner of the advice and the first lease's deadline, and never under a second.
    assert refused.value.retry_after_seconds == 1
    assert refused.value.to_dict()["details"] == {"retry_after_seconds": 1, "concurrent_calls": 2}
