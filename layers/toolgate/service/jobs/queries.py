"""Reading and cancelling jobs: `GET /v1/jobs/{id}`, the job-status tool and `DELETE /v1/jobs/{id}`, only
ever within the caller's tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from toolgate.errors import (
    JobCancelledError,
    JobNotFoundError,
    JobNotRunningError,
)
from toolgate.runtime.async_calls import next_wait_seconds
from toolgate.service.jobs.records import ECHO_CHARS, JobRecord, check_after_seconds
from toolgate.service.jobs.terms import JobPattern, JobStatus, is_job_id
from toolgate.service.jobs.views import JobView
from toolgate.service.models import utc_now
from toolgate.service.ports import JobExecutions, JobPage, JobStore
from toolgate.service.tenancy import Role, TenantContext
from toolgate.settings import JobSettings

logger = logging.getLogger(__name__)

#: Reads of the tenant's jobs one page may take to find the assistant's (others' jobs are skipped).
_PAGE_READS = 5


class JobQueries:
    def __init__(
        self,
        context: TenantContext,
        jobs: JobStore,
        settings: JobSettings,
        executions: JobExecutions | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.context = context
        self._jobs = jobs
        self._settings = settings
        self._executions = executions
        self._clock = clock

    def get(self, job_id: str, *, assistant_id: str | None = None) -> JobView:
        """The tenant's job; with `assistant_id`, only a job that assistant started."""
        self.context.require(Role.ADMIN, Role.AGENT)
        return JobView.of(self._job(job_id, assistant_id), self._settings, self._clock())

    def record(self, job_id: str, *, assistant_id: str | None = None) -> JobRecord:
        """The tenant's job row (as `get`, before it is made a view): JobNotFoundError when absent."""
        self.context.require(Role.ADMIN, Role.AGENT)
        return self._job(job_id, assistant_id)

    def view(self, job: JobRecord) -> JobView:
        return JobView.of(job, self._settings, self._clock())

    def next_change_seconds(self, job: JobRecord) -> int:
        """When the job may next change: a polled job's next status poll on the state machine's schedule; a
        callback job's suggested check (the REST answer's `check_after_seconds`)."""
        if job.pattern is JobPattern.POLL:
            return next_wait_seconds(self._settings, job.polls)
        return check_after_seconds(self._settings)

    def page(self, *, assistant_id: str, after: str | None, limit: int) -> JobPage:
        """Up to `limit` of the jobs `assistant_id` started, in job id order, after job id `after`."""
        self.context.require(Role.ADMIN, Role.AGENT)
        found: list[JobRecord] = []
        for _ in range(_PAGE_READS):
            read = self._jobs.list(after=after, limit=limit - len(found))
            found.extend(job for job in read.jobs if job.assistant_id == assistant_id)
            after = read.after
            if after is None or len(found) >= limit:
                break
        return JobPage(jobs=found, after=after)

    def cancel(self, job_id: str, *, assistant_id: str | None = None) -> JobView:
        """Stop a running job; with `assistant_id`, only a job that assistant started."""
        self.context.require(Role.ADMIN, Role.AGENT)
        job = self._job(job_id, assistant_id)
        changes = {
            "status": JobStatus.CANCELLED,
            "updated_at": self._clock(),
            "error_code": JobCancelledError.code,
            "error_message": f"Job {job_id} was cancelled by {self.context.principal}.",
        }
        if self._jobs.update(job_id, changes, remove=("arguments", "task_token")) is None:
            # The row as it is now: it may have ended after it was read.
            current = self._job(job_id, None)
            raise JobNotRunningError(
                f"Job {job_id} has already ended ({current.status.value}); there is nothing to cancel."
            )
        if self._executions is not None:
            self._executions.stop(job.execution_arn)
        return JobView.of(self._job(job_id, None), self._settings, self._clock())

    def _job(self, job_id: str, assistant_id: str | None) -> JobRecord:
        job = self._jobs.get(job_id) if is_job_id(job_id) else None
        if job is None or (assistant_id is not None and job.assistant_id != assistant_id):
            raise JobNotFoundError(
                f"No job '{job_id[: ECHO_CHARS // 10]}': job ids belong to one tenant (and, through the "
                f"job-status tool, to the assistant that started them); finished jobs are kept "
                f"{self._settings.retention_seconds // 3600} hours."
            )
        return job
