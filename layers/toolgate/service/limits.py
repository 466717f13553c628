"""Per-tenant limits on tool calls, so that one tenant cannot take the capacity every tenant shares.

Each tenant has two limits, with defaults from `LimitSettings` that an admin may replace for the tenant
(`PUT /v1/limits`), up to the deployment's ceilings (`LimitCeilings`), which only the operator sets:

- **Rate**: tool calls started per second on average, with a burst after a quiet spell. It is kept as a
  GCRA clock (the "theoretical arrival time" of a token bucket): a call is admitted when the clock is no
  further ahead of now than the burst allows, and moves it on by one interval.
- **Concurrency**: outbound calls open at once. Each call holds a lease that names its own deadline, so a
  call whose Lambda died frees its slot when that deadline passes; expired leases are cleared by the
  next call that finds them.

Both live in one row of the tenant's own partition, and one conditional write admits a call against both
(`LimiterStore.try_admit`); a second write ends its lease. The numbers therefore hold across every Lambda
instance. A call over a limit is refused before any egress with 429 and a `Retry-After`. A tenant's own
limits stored before the operator lowered a ceiling are clamped to it whenever they are read.

Pure: the row is reached through `LimiterStore`.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from toolgate.errors import (
    ConcurrencyLimitedError,
    LimitAboveCeilingError,
    RateLimitedError,
    ToolgateError,
)
from toolgate.service.ports import LimiterStore
from toolgate.settings import LimitSettings

logger = logging.getLogger(__name__)

#: Conditional writes one admission may take when other calls of the tenant change the row meanwhile.
_MAX_ADMISSION_WRITES = 4


class LimitCeilings(BaseModel):
    """The most an admin may set for its tenant: the operator's `TOOLGATE_LIMITS_MAX_*`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    requests_per_second: float
    burst: int
    concurrent_calls: int

    @classmethod
    def of(cls, settings: LimitSettings) -> "LimitCeilings":
        return cls(
            requests_per_second=settings.max_requests_per_second,
            burst=settings.max_burst,
            concurrent_calls=settings.max_concurrent_calls,
        )


#: Each limit's ceiling, by the setting an operator changes it with.
CEILING_SETTINGS = {
    "requests_per_second": "TOOLGATE_LIMITS_MAX_REQUESTS_PER_SECOND",
    "burst": "TOOLGATE_LIMITS_MAX_BURST",
    "concurrent_calls": "TOOLGATE_LIMITS_MAX_CONCURRENT_CALLS",
}


class TenantLimits(BaseModel):
    """A tenant's limits; also the body of `PUT /v1/limits`. The deployment's ceilings bound them."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    #: Tool calls started per second, on average.
    requests_per_second: float = Field(ge=0.01, allow_inf_nan=False)
    #: Tool calls that may start at once after a quiet spell.
    burst: int = Field(ge=1)
    #: Outbound calls open at the same time.
    concurrent_calls: int = Field(ge=1)

    @classmethod
    def defaults(cls, settings: LimitSettings) -> "TenantLimits":
        return cls(
            requests_per_second=settings.requests_per_second,
            burst=settings.burst,
            concurrent_calls=settings.concurrent_calls,
        )

    def above(self, ceilings: LimitCeilings) -> list[str]:
        """The limits set higher than their ceiling."""
        return [name for name in CEILING_SETTINGS if getattr(self, name) > getattr(ceilings, name)]

    def clamped(self, ceilings: LimitCeilings) -> "TenantLimits":
        """These limits, each lowered to its ceiling if above it."""
        return self.model_copy(update={name: getattr(ceilings, name) for name in self.above(ceilings)})

    def ensure_within(self, ceilings: LimitCeilings) -> None:
        """Raise LimitAboveCeilingError, naming each limit above its ceiling."""
        above = self.above(ceilings)
        if not above:
            return
        problems = [
            {
                "field": name,
                "value": getattr(self, name),
                "ceiling": getattr(ceilings, name),
                "setting": CEILING_SETTINGS[name],
            }
            for name in above
        ]
        listed = "; ".join(
            f"{p['field']} {p['value']} is above its ceiling of {p['ceiling']}" for p in problems
        )
        raise LimitAboveCeilingError(
            f"{listed}. This deployment's operator sets the ceilings (GET /v1/limits shows them), so that "
            "one tenant cannot take the capacity every tenant shares; ask for at most the ceiling.",
            details=problems,
        )


class LimitsRecord(BaseModel):
    """A tenant's own limits, as an admin set them."""

    model_config = ConfigDict(defer_build=True)

    limits: TenantLimits
    version: int = 1
    updated_at: datetime
    #: The admin key's principal.
    updated_by: str


# --- The limiter row ----------------------------------------------------------------------------


class LimiterRow(NamedTuple):
    """What the tenant's limiter row holds."""

    #: The rate clock (epoch ms): when the next call would be on schedule. None before the first call.
    clock_ms: int | None
    #: Open calls' leases: `{deadline epoch ms}.{random}`.
    leases: frozenset[str]


class Admission(NamedTuple):
    """One conditional write that admits a call: the rate clock is `idle` (behind now: it restarts at
    `next_clock_ms`) or `busy` (within the burst: it moves on by `interval_ms`, up to `latest_clock_ms`;
    `next_clock_ms` is then where it is expected to land), and fewer than `max_leases` leases are open
    (after `expired` leases are cleared)."""

    rate: Literal["idle", "busy"]
    lease: str
    now_ms: int
    interval_ms: int
    next_clock_ms: int
    latest_clock_ms: int
    max_leases: int
    ttl_epoch_seconds: int
    expired: frozenset[str] = frozenset()


def lease_deadline_ms(lease: str) -> int:
    """The deadline a lease names; 0 (long expired) for anything else."""
    head = lease.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def plan_admission(
    row: LimiterRow, admission: Admission, limits: TenantLimits, settings: LimitSettings
) -> Admission:
    """The write to try next, given the row a failed write found; raises when the tenant is over a limit."""
    now_ms = admission.now_ms
    tolerance_ms = admission.latest_clock_ms - now_ms
    if row.clock_ms is not None and row.clock_ms > admission.latest_clock_ms:
        wait_ms = row.clock_ms - now_ms - tolerance_ms
        raise RateLimitedError(
            f"This tenant may start {limits.requests_per_second:g} tool calls per second (bursts of "
            f"{limits.burst}); retry after the Retry-After seconds.",
            retry_after_seconds=_seconds(wait_ms),
            details={"requests_per_second": limits.requests_per_second, "burst": limits.burst},
        )
    live = frozenset(lease for lease in row.leases if lease_deadline_ms(lease) > now_ms)
    if len(live) >= limits.concurrent_calls:
        first_free_ms = min(lease_deadline_ms(lease) for lease in live) - now_ms
        raise ConcurrencyLimitedError(
            f"This tenant already has {len(live)} tool calls open, its limit of concurrent calls; retry "
            "after the Retry-After seconds, when one of them has ended.",
            retry_after_seconds=min(settings.concurrency_retry_after_seconds, _seconds(first_free_ms)),
            details={"concurrent_calls": limits.concurrent_calls},
        )
    if row.clock_ms is None or row.clock_ms < now_ms:
        return _replace(
            admission, rate="idle", next_clock_ms=now_ms + admission.interval_ms, expired=row.leases - live
        )
    return _replace(
        admission, rate="busy", next_clock_ms=row.clock_ms + admission.interval_ms, expired=row.leases - live
    )


def _replace(
    admission: Admission, *, rate: Literal["idle", "busy"], next_clock_ms: int, expired: frozenset[str]
) -> Admission:
    return Admission(
        rate=rate,
        lease=admission.lease,
        now_ms=admission.now_ms,
        interval_ms=admission.interval_ms,
        next_clock_ms=next_clock_ms,
        latest_clock_ms=admission.latest_clock_ms,
        max_leases=admission.max_leases,
        ttl_epoch_seconds=admission.ttl_epoch_seconds,
        expired=expired,
    )


def _seconds(milliseconds: int) -> int:
    return max(1, math.ceil(milliseconds / 1000))


# --- The limiter --------------------------------------------------------------------------------


class TenantLimiter:
    """One tenant's limits in one process: its own limits (cached for `cache_seconds`) and admissions."""

    def __init__(
        self,
        store: LimiterStore,
        settings: LimitSettings,
        *,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.settings = settings
        self._clock_ms = clock_ms
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: tuple[float, TenantLimits] | None = None
        #: Where this process last left the rate clock: the first write guesses from it.
        self._clock_hint_ms = 0

    def limits(self) -> TenantLimits:
        """The limits in force: the tenant's own within the ceilings, else the defaults; read again after
        `cache_seconds`."""
        with self._lock:
            cached = self._cached
            if cached is not None and self._monotonic() - cached[0] < self.settings.cache_seconds:
                return cached[1]
        record = self.store.read_limits()
        limits = (
            record.limits.clamped(LimitCeilings.of(self.settings))
            if record is not None
            else TenantLimits.defaults(self.settings)
        )
        with self._lock:
            self._cached = (self._monotonic(), limits)
        return limits

    @contextmanager
    def outbound_call(self, hold_seconds: float) -> Iterator[None]:
        """Admit one call that ends within `hold_seconds`, or raise RateLimitedError or
        ConcurrencyLimitedError; the call's slot is freed when the block ends (or when its deadline
        passes, if the process dies first)."""
        if not self.settings.enabled:
            yield
            return
        lease = self._admit(hold_seconds)
        try:
            yield
        finally:
            try:
                self.store.release(lease)
            except ToolgateError as error:  # the lease expires at its deadline anyway
                logger.warning("a call's lease could not be released", extra={"error_code": error.code})

    def _admit(self, hold_seconds: float) -> str:
        limits = self.limits()
        now_ms = self._clock_ms()
        interval_ms = max(1, round(1000 / limits.requests_per_second))
        deadline_ms = now_ms + max(1, math.ceil(hold_seconds * 1000))
        busy = self._clock_hint_ms >= now_ms
        admission = Admission(
            rate="busy" if busy else "idle",
            lease=f"{deadline_ms}.{secrets.token_hex(8)}",
            now_ms=now_ms,
            interval_ms=interval_ms,
            next_clock_ms=(self._clock_hint_ms if busy else now_ms) + interval_ms,
            latest_clock_ms=now_ms + (limits.burst - 1) * interval_ms,
            max_leases=limits.concurrent_calls,
            ttl_epoch_seconds=deadline_ms // 1000 + self.settings.row_ttl_seconds,
        )
        for _ in range(_MAX_ADMISSION_WRITES):
            if admission.expired:
                self.store.clear(admission.expired)
            row = self.store.try_admit(admission)
            if row is None:
                self._clock_hint_ms = admission.next_clock_ms
                return admission.lease
            admission = plan_admission(row, admission, limits, self.settings)
        raise ConcurrencyLimitedError(
            "This tenant's calls are starting faster than they can be counted; retry after the Retry-After "
            "seconds.",
            retry_after_seconds=self.settings.concurrency_retry_after_seconds,
            details={"concurrent_calls": limits.concurrent_calls},
        )
