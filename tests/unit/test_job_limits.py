"""A job's calls hold the tenant's concurrent slots too: a poll refused by the limit waits instead of
calling or failing the job. The limiter row is kept in memory (`job_fakes.MemoryLimiterStore`); the
DynamoDB limiter itself is tested in tests/service/test_tenant_limits.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from job_fakes import Bench, MemoryLimiterStore, answer
from toolgate.service.jobs.terms import JobStatus
from toolgate.service.limits import LimitsRecord, TenantLimiter, TenantLimits
from toolgate.settings import LimitSettings


@pytest.fixture
def store() -> MemoryLimiterStore:
    limits = TenantLimits(requests_per_second=50, burst=100, concurrent_calls=1)
    return MemoryLimiterStore(LimitsRecord(limits=limits, updated_at=datetime.now(UTC), updated_by="t"))


def test_a_jobs_poll_refused_by_the_tenants_limit_waits_without_calling_or_failing(
    store: MemoryLimiterStore,
) -> None:
    bench = Bench()
    bench.resources = bench.resources._replace(limiter=TenantLimiter(store, LimitSettings()))
    job = bench.new_job("start_export", {"format": "csv"})
    bench.transport.script(answer(202, {"id": 77}, location="/v1/exports/77"))
    assert bench.runner().submit(job.job_id).state is JobStatus.RUNNING
    # Another call of the tenant's holds its only slot (its Lambda died: nothing will release it).
    held = TenantLimiter(store, LimitSettings()).outbound_call(60.0)
    held.__enter__()
    outcome = bench.runner().poll(job.job_id)
    assert (outcome.state, bench.row(job.job_id).status) == (JobStatus.RUNNING, JobStatus.RUNNING)
    assert outcome.wait_seconds >= 1
    assert len(bench.transport.calls) == 1
    assert held is not None


def test_a_job_submit_refused_by_the_tenants_limit_fails_with_its_code_and_sends_nothing(
    store: MemoryLimiterStore,
) -> None:
    bench = Bench()
    bench.resources = bench.resources._replace(limiter=TenantLimiter(store, LimitSettings()))
    job = bench.new_job("start_export", {"format": "csv"})
    held = TenantLimiter(store, LimitSettings()).outbound_call(60.0)
    held.__enter__()
    assert bench.runner().submit(job.job_id).state is JobStatus.FAILED
    row = bench.row(job.job_id)
    assert row.error_code == "CONCURRENCY_LIMITED"
    assert bench.transport.calls == []
    assert held is not None
