"""Step Functions that cannot be reached: starting a job is a typed refusal, never a bare 500."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from toolgate.adapters.aws.jobs import StepFunctionsJobs
from toolgate.errors import JobsUnavailableError
from toolgate.service.jobs.records import JobRecord
from toolgate.service.jobs.terms import JobPattern, new_job_id

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:jobs"


def test_unreachable_step_functions_refuses_the_start_with_a_typed_error() -> None:
    client = boto3.client(
        "stepfunctions",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",  # nothing listens on port 1
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    now = datetime.now(UTC)
    job = JobRecord(
        job_id=new_job_id(),
        assistant_id="desk",
        tool="start_case_export",
        integration_id="support",
        revision="r1",
        pattern=JobPattern.POLL,
        created_at=now,
        updated_at=now,
        deadline_at=now,
        expires_at=now,
        execution_arn=f"{ARN}:x",
    )

    with pytest.raises(JobsUnavailableError, match="call the tool again"):
        StepFunctionsJobs(client, ARN).start("acme", job)
