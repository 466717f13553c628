"""Launching a job, on the invoke path: the job row is written in the tenant's partition and an execution
of the jobs state machine started; the model gets `{job_id, status: "running"}` at once, with a hint to
call the job-status tool.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from toolgate.errors import (
    ToolgateError,
)
from toolgate.service.jobs.records import JobRecord, running_envelope
from toolgate.service.jobs.terms import JobPattern, JobStatus, new_job_id
from toolgate.service.models import IntegrationRecord, utc_now
from toolgate.service.ports import JobExecutions, JobStore
from toolgate.settings import JobSettings
from toolgate.spec.models import CanonicalTool

logger = logging.getLogger(__name__)


class JobLauncher:
    """Starts jobs for the invoke path."""

    def __init__(
        self,
        jobs: JobStore,
        executions: JobExecutions,
        settings: JobSettings,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._jobs = jobs
        self._executions = executions
        self._settings = settings
        self._clock = clock

    def launch(
        self,
        tenant_id: str,
        assistant_id: str,
        *,
        integration: IntegrationRecord,
        tool: CanonicalTool,
        arguments: Mapping[str, Any],
        pattern: JobPattern,
    ) -> dict[str, Any]:
        if integration.ready is None:
            raise ValueError("the integration has no ready revision")
        now = self._clock()
        lifetime = (
            self._settings.max_job_seconds
            if pattern is JobPattern.POLL
            else self._settings.callback_ttl_seconds
        )
        deadline = now + timedelta(seconds=lifetime)
        job_id = new_job_id()
        job = JobRecord(
            job_id=job_id,
            assistant_id=assistant_id,
            tool=tool.name,
            integration_id=integration.integration_id,
            revision=integration.ready.revision,
            pattern=pattern,
            created_at=now,
            updated_at=now,
            deadline_at=deadline,
            expires_at=deadline + timedelta(seconds=self._settings.retention_seconds),
            execution_arn=self._executions.execution_arn(job_id),
            arguments=json.dumps(arguments, ensure_ascii=False, separators=(",", ":")),
            heartbeat_seconds=(
                tool.async_pattern.heartbeat_seconds
                if pattern is JobPattern.CALLBACK and tool.async_pattern is not None
                else None
            ),
        )
        self._jobs.create(job)
        try:
            self._executions.start(tenant_id, job)
        except ToolgateError as error:
            self._jobs.update(
                job_id,
                {"status": JobStatus.FAILED, "error_code": error.code, "error_message": error.message},
                remove=("arguments",),
            )
            raise
        return running_envelope(job, self._settings)
