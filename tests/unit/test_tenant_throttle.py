"""The pieces of the per-tenant throttle in front of Lambda: each tenant's usage key value, and the token
bucket the local front door keeps per key as API Gateway does."""

from __future__ import annotations

import re

from toolgate.service.usage_keys import usage_key_name, usage_key_value
from toolgate_local.usage_plans import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_tenants_never_share_a_usage_key_within_or_across_deployments() -> None:
    """A shared key would make one tenant's flood spend another's throttle."""
    values = {
        usage_key_value(table, tenant)
        for table in ("Toolgate-Table-A1", "Staging-Table-B2")
        for tenant in ("acme", "globex", "acme-1")
    }
    assert len(values) == 6
    assert usage_key_value("Toolgate-Table-A1", "acme") == usage_key_value("Toolgate-Table-A1", "acme")


def test_usage_keys_are_values_api_gateway_accepts() -> None:
    value = usage_key_value("t", "a" * 63)
    assert re.fullmatch(r"[A-Za-z0-9]{20,128}", value)
    assert usage_key_name("t", "acme").startswith("toolgate-tenant-acme-")


def test_a_key_over_its_burst_is_refused_until_its_rate_refills_it() -> None:
    clock = Clock()
    bucket = TokenBucket(rate_per_second=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.4  # 0.8 of a request
    assert bucket.take() is False
    clock.now += 0.1
    assert bucket.take() is True
    assert bucket.take() is False


def test_a_quiet_key_saves_no_more_than_its_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(rate_per_second=10.0, burst=2, clock=clock)
    clock.now += 3600
    assert [bucket.take() for _ in range(3)] == [True, True, False]
