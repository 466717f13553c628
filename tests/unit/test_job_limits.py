"""A job's calls hold the tenant's concurrent slots too: a poll refused by the limit waits instead of
calling or failing the job. The limiter row is kept in moto's in-memory DynamoDB (`mock_aws`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import boto3
import pytest
from job_fakes import TENANT, Bench, answer
from moto import mock_aws
from toolgate.adapters.aws.limits import DynamoLimiterStore
from toolgate.service.jobs.records import JobStatus
from toolgate.service.limits import LimitsRecord, TenantLimiter, TenantLimits
from toolgate.settings import LimitSettings


@pytest.fixture
def store() -> Iterator[DynamoLimiterStore]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        table = dynamodb.create_table(
            TableName="toolgate",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        limits = TenantLimits(requests_per_second=50, burst=100, concurrent_calls=1)
        store = DynamoLimiterStore(table, TENANT)
        store.save_limits(LimitsRecord(limits=limits, updated_at=datetime.now(UTC), updated_by="t"), None)
        yield store


def test_a_jobs_poll_refused_by_the_tenants_limit_waits_without_calling_or_failing(
    store: DynamoLimiterStore,
) -> None:
    bench = Bench()
    bench.resources = replace(bench.resources, limiter=TenantLimiter(store, LimitSettings()))
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
    store: DynamoLimiterStore,
) -> None:
    bench = Bench()
    bench.resources = replace(bench.resources, limiter=TenantLimiter(store, LimitSettings()))
    job = bench.new_job("start_export", {"format": "csv"})
    held = TenantLimiter(store, LimitSettings()).outbound_call(60.0)
    held.__enter__()
    assert bench.runner().submit(job.job_id).state is JobStatus.FAILED
    row = bench.row(job.job_id)
    assert row.error_code == "CONCURRENCY_LIMITED"
    assert bench.transport.calls == []
    assert held is not None
