"""Circuit breakers: one per tenant and target origin, so a failing API is not hammered by every call.

A circuit is closed until `failure_threshold` attempts in a row fail (no answer, a timeout, or a 500,
502, 503 or 504). It then opens: attempts fail fast with CIRCUIT_OPEN and a `retry_after` until the
cool-down has passed. The first attempt after that is the one probe (half-open); others still fail fast
while it runs. The probe's success closes the circuit; its failure opens it for another cool-down.
Outcomes that say nothing about the target's health (an egress refusal, a TLS failure, a body too large)
leave the circuit as it was, and free the probe slot.

State lives in this object, so in one process. Pure: the clock is injected.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from toolgate.errors import CircuitOpenError

#: HTTP statuses that count as a failure of the target (not of the request).
FAILURE_STATUSES = frozenset({500, 502, 503, 504})


class CircuitKey(NamedTuple):
    tenant: str
    #: `scheme://host:port`, the host lower-cased.
    origin: str


class _Circuit:
    __slots__ = ("failures", "open_until", "probing")

    def __init__(self) -> None:
        self.failures = 0
        #: None while closed; else when the cool-down ends (half-open from then on, until an outcome).
        self.open_until: float | None = None
        self.probing = False


class Permit:
    """Leave to make one attempt. Report its outcome once: `answered`, `failed` or `released`."""

    __slots__ = ("_breakers", "_circuit", "_done", "key", "probe")

    def __init__(self, breakers: CircuitBreakers, key: CircuitKey, circuit: _Circuit, probe: bool) -> None:
        self._breakers = breakers
        self._circuit = circuit
        self._done = False
        self.key = key
        self.probe = probe

    def answered(self, status: int) -> None:
        """The target answered with `status`."""
        if status in FAILURE_STATUSES:
            self.failed()
        else:
            self._report(success=True)

    def failed(self) -> None:
        """No answer, a timeout, a broken connection, or a status in FAILURE_STATUSES."""
        self._report(success=False)

    def released(self) -> None:
        """The attempt said nothing about the target's health; a probe slot is freed."""
        self._report(success=None)

    def _report(self, success: bool | None) -> None:
        if self._done:
            return
        self._done = True
        self._breakers._settle(self, self._circuit, success)


class CircuitBreakers:
    """Circuits by CircuitKey, least recently used dropped first. Thread-safe."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        cooldown_seconds: float,
        max_circuits: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._cooldown = cooldown_seconds
        self._max_circuits = max_circuits
        self._clock = clock
        self._circuits: OrderedDict[CircuitKey, _Circuit] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, key: CircuitKey) -> Permit:
        """A permit for one attempt to `key`'s origin, or CircuitOpenError."""
        with self._lock:
            circuit = self._circuits.get(key)
            if circuit is None:
                circuit = self._circuits[key] = _Circuit()
                while len(self._circuits) > self._max_circuits:
                    self._circuits.popitem(last=False)
            self._circuits.move_to_end(key)
            if circuit.open_until is None:
                return Permit(self, key, circuit, probe=False)
            wait = circuit.open_until - self._clock()
            if wait > 0:
                raise _open_error(key.origin, circuit.failures, wait)
            if circuit.probing:
                raise CircuitOpenError(
                    f"Calls to {key.origin} are paused: it failed {circuit.failures} times in a row, and one "
                    "trial request is checking whether it has recovered. Nothing was sent; try again in a "
                    "few seconds.",
                    details={"retry_after": 1},
                )
            circuit.probing = True
            return Permit(self, key, circuit, probe=True)

    def is_open(self, key: CircuitKey) -> bool:
        """Whether attempts to `key` would be refused now (a retry is not worth its pause then)."""
        with self._lock:
            circuit = self._circuits.get(key)
            return circuit is not None and circuit.open_until is not None

    def _settle(self, permit: Permit, circuit: _Circuit, success: bool | None) -> None:
        with self._lock:
            if self._circuits.get(permit.key) is not circuit:
                return  # dropped from the cache meanwhile
            if permit.probe:
                circuit.probing = False
                if success is True:
                    circuit.failures, circuit.open_until = 0, None
                elif success is False:
                    circuit.failures += 1
                    circuit.open_until = self._clock() + self._cooldown
                return
            if circuit.open_until is not None or success is None:
                return  # an attempt admitted before the circuit opened: the probe decides now
            if success:
                circuit.failures = 0
                return
            circuit.failures += 1
            if circuit.failures >= self._threshold:
                circuit.open_until = self._clock() + self._cooldown


def _open_error(label: str, failures: int, wait: float) -> CircuitOpenError:
    seconds = max(1, math.ceil(wait))
    return CircuitOpenError(
        f"Calls to {label} are paused for {seconds} s: it failed {failures} times in a row (no answer, "
        f"a timeout, or a 5xx status). Nothing was sent; try again after {seconds} seconds.",
        details={"retry_after": seconds},
    )
