"""Circuit breakers per tenant and target origin: when they open, fail fast, probe and close again."""

from __future__ import annotations

import threading

import pytest
from toolgate.errors import CircuitOpenError
from toolgate.runtime.breaker import CircuitBreakers, CircuitKey

ACME = CircuitKey("acme", "https://api.example.com")
GLOBEX = CircuitKey("globex", "https://api.example.com")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breakers(clock: Clock, threshold: int = 3, cooldown: float = 30.0) -> CircuitBreakers:
    return CircuitBreakers(failure_threshold=threshold, cooldown_seconds=cooldown, clock=clock)


def fail(circuits: CircuitBreakers, key: CircuitKey, times: int) -> None:
    for _ in range(times):
        circuits.admit(key).answered(503)


def test_a_target_failing_in_a_row_opens_its_circuit_with_a_retry_after() -> None:
    clock = Clock()
    circuits = breakers(clock)
    fail(circuits, ACME, 3)
    clock.now += 10
    with pytest.raises(CircuitOpenError) as caught:
        circuits.admit(ACME)
    assert caught.value.code == "CIRCUIT_OPEN"
    assert caught.value.details == {"retry_after": 20}
    assert "https://api.example.com" in caught.value.message and "Nothing was sent" in caught.value.message


def test_an_answer_between_failures_keeps_the_circuit_closed() -> None:
    circuits = breakers(Clock())
    fail(circuits, ACME, 2)
    circuits.admit(ACME).answered(404)  # the target is up: a client error is not its failure
    fail(circuits, ACME, 2)
    assert not circuits.is_open(ACME)


@pytest.mark.parametrize("status", [200, 400, 401, 429, 501])
def test_statuses_that_are_not_target_failures_never_open_the_circuit(status: int) -> None:
    circuits = breakers(Clock(), threshold=1)
    circuits.admit(ACME).answered(status)
    assert not circuits.is_open(ACME)


def test_one_tenants_open_circuit_does_not_refuse_another_tenant() -> None:
    circuits = breakers(Clock())
    fail(circuits, ACME, 3)
    with pytest.raises(CircuitOpenError):
        circuits.admit(ACME)
    circuits.admit(GLOBEX).answered(200)


def test_after_the_cool_down_only_one_probe_goes_through_at_a_time() -> None:
    clock = Clock()
    circuits = breakers(clock)
    fail(circuits, ACME, 3)
    clock.now += 30
    probe = circuits.admit(ACME)
    assert probe.probe
    with pytest.raises(CircuitOpenError) as caught:
        circuits.admit(ACME)
    assert caught.value.details == {"retry_after": 1}
    probe.answered(200)
    circuits.admit(ACME).answered(200)


def test_a_failed_probe_opens_the_circuit_for_another_cool_down() -> None:
    clock = Clock()
    circuits = breakers(clock)
    fail(circuits, ACME, 3)
    clock.now += 30
    circuits.admit(ACME).failed()
    clock.now += 29
    with pytest.raises(CircuitOpenError) as caught:
        circuits.admit(ACME)
    assert caught.value.details == {"retry_after": 1}
    clock.now += 1
    assert circuits.admit(ACME).probe


def test_a_probe_that_says_nothing_about_the_target_frees_the_probe_slot() -> None:
    clock = Clock()
    circuits = breakers(clock)
    fail(circuits, ACME, 3)
    clock.now += 30
    circuits.admit(ACME).released()  # e.g. an egress refusal: not the target's health
    assert circuits.admit(ACME).probe


def test_late_outcomes_of_attempts_admitted_before_the_circuit_opened_change_nothing() -> None:
    clock = Clock()
    circuits = breakers(clock)
    late_success = circuits.admit(ACME)
    late_failure = circuits.admit(ACME)
    fail(circuits, ACME, 3)
    late_success.answered(200)
    late_failure.failed()
    with pytest.raises(CircuitOpenError) as caught:
        circuits.admit(ACME)
    assert caught.value.details == {"retry_after": 30}


def test_an_outcome_is_counted_once_per_permit() -> None:
    circuits = breakers(Clock(), threshold=2)
    permit = circuits.admit(ACME)
    permit.failed()
    permit.failed()
    assert not circuits.is_open(ACME)


def test_concurrent_callers_after_the_cool_down_get_exactly_one_probe() -> None:
    clock = Clock()
    circuits = breakers(clock)
    fail(circuits, ACME, 3)
    clock.now += 30
    start = threading.Barrier(16)
    probes: list[bool] = []
    refused: list[bool] = []
    lock = threading.Lock()

    def caller() -> None:
        start.wait(timeout=30)
        try:
            permit = circuits.admit(ACME)
        except CircuitOpenError:
            with lock:
                refused.append(True)
            return
        with lock:
            probes.append(permit.probe)

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert probes == [True]
    assert len(refused) == 15


def test_the_number_of_circuits_kept_is_bounded() -> None:
    circuits = CircuitBreakers(failure_threshold=1, cooldown_seconds=30, max_circuits=2, clock=Clock())
    fail(circuits, ACME, 1)
    for index in range(2):
        circuits.admit(CircuitKey("acme", f"https://host-{index}.example.com")).answered(200)
    # ACME's open circuit was the least recently used: dropped, so it starts closed again.
    assert not circuits.admit(ACME).probe
