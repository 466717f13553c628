"""Fixtures for the service's handler tests: moto for DynamoDB, S3, SQS, Secrets Manager, STS, IAM and
API Gateway, with the table, bucket, tenant role and usage plan made as the CDK stack makes them, and the
real handlers (`service_world.Service`)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws
from service_harness import BUCKET_NAME, TABLE_NAME
from service_world import SERVICE_ENV, TRUST_POLICY, Service, aws_session, clear_service_caches


def pytest_configure(config: pytest.Config) -> None:
    # Powertools warns whenever a request records no metric; most API requests record none.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


@pytest.fixture(scope="session")
def jobs_stack_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The CDK stack's template, synthesized once per test process; take a copy (`template` fixtures)."""
    from jobs_harness import synthesized_template

    return synthesized_template(tmp_path_factory.mktemp("jobs-stack"))


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    for name, value in SERVICE_ENV.items():
        monkeypatch.setenv(name, value)
    # Step Functions executions run (moto's interpreter) for the jobs tests; nothing else starts one.
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        dynamodb = aws_session().client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE_NAME,
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
        s3 = aws_session().client("s3")
        s3.create_bucket(Bucket=BUCKET_NAME)
        s3.put_bucket_versioning(Bucket=BUCKET_NAME, VersioningConfiguration={"Status": "Enabled"})
        aws_session().client("iam").create_role(
            RoleName="toolgate-tenant-access", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
        )
        # The stack's usage plan: bootstrap puts each tenant's API Gateway usage key in it.
        plan = (
            aws_session()
            .client("apigateway")
            .create_usage_plan(name="toolgate-tenants", throttle={"rateLimit": 25.0, "burstLimit": 50})
        )
        monkeypatch.setenv("TOOLGATE_USAGE_PLAN_ID", plan["id"])
        clear_service_caches()
        yield Service(usage_plan_id=plan["id"])
    clear_service_caches()


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[str]]]:
    """The service's log lines exactly as Powertools formats them (JSON, with the appended keys)."""
    from toolgate.adapters.aws.telemetry import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    service_logger = logging.getLogger("toolgate")
    service_logger.addHandler(handler)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        service_logger.removeHandler(handler)
