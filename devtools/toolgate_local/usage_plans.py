"""Usage plans as API Gateway applies them: a token bucket per API key, with the plan's rate and burst.

The keys and their plans are what the tenant's bootstrap made in moto's API Gateway (`create_api_key`,
`create_usage_plan_key`, as on AWS); the throttle is the template's (`rest_api.UsagePlan`). A key found
in a plan is remembered for `KEY_CACHE_SECONDS`, so a flood costs one dictionary look-up per request, not
moto calls; a key not found is looked up again on the next request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from toolgate_local.rest_api import UsagePlan

#: How long the front door trusts that a key is enabled and in a plan.
KEY_CACHE_SECONDS = 60.0


@dataclass
class TokenBucket:
    """API Gateway's throttle: `burst` requests at once, refilled at `rate_per_second`."""

    rate_per_second: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)
        self.updated = self.clock()

    def take(self) -> bool:
        """Spend a token if there is one: the request may go on."""
        with self.lock:
            now = self.clock()
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate_per_second)
            self.updated = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


@dataclass(frozen=True)
class _Found:
    key_id: str
    plan: UsagePlan
    until: float


class UsagePlanThrottle:
    """Finds the plan of a usage key (in moto's API Gateway) and spends from that key's bucket."""

    def __init__(self, apigateway: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._apigateway = apigateway
        self._clock = clock
        self._lock = threading.Lock()
        self._found: dict[tuple[str, str], _Found] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        #: Requests refused by a bucket, by plan id and key id (what never reached a function).
        self.refused: dict[tuple[str, str], int] = {}

    def admit(self, value: str, plans: Mapping[str, UsagePlan], stage: str) -> bool | None:
        """None when `value` is no enabled key of a plan of `stage` (API Gateway answers 403); else
        whether its bucket had a token."""
        found = self._find(value, plans, stage)
        if found is None:
            return None
        bucket_id = (found.plan.plan_id, found.key_id)
        with self._lock:
            bucket = self._buckets.get(bucket_id)
            if bucket is None:
                bucket = TokenBucket(found.plan.rate_per_second, found.plan.burst, clock=self._clock)
                self._buckets[bucket_id] = bucket
        if bucket.take():
            return True
        with self._lock:
            self.refused[bucket_id] = self.refused.get(bucket_id, 0) + 1
        return False

    def _find(self, value: str, plans: Mapping[str, UsagePlan], stage: str) -> _Found | None:
        with self._lock:
            found = self._found.get((stage, value))
        if found is not None and found.until > self._clock():
            return found
        key_id = self._enabled_key_id(value)
        if key_id is None:
            return None
        in_plans = self._apigateway.get_usage_plans(keyId=key_id).get("items", [])
        plan = next((plans[item["id"]] for item in in_plans if item["id"] in plans), None)
        if plan is None:
            return None
        found = _Found(key_id, plan, self._clock() + KEY_CACHE_SECONDS)
        with self._lock:
            self._found[(stage, value)] = found
        return found

    def _enabled_key_id(self, value: str) -> str | None:
        for page in self._apigateway.get_paginator("get_api_keys").paginate(includeValues=True):
            for key in page.get("items", []):
                if key.get("value") == value:
                    return str(key["id"]) if key.get("enabled", False) else None
        return None
