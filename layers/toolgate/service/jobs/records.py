"""Jobs' records: the job row, the tenant's job resources, what a running job shows the model
(`running_envelope`), and where a result is kept. Job ids, statuses and patterns are in
`toolgate.service.jobs.terms`; what a job shows its tenant is in `toolgate.service.jobs.views`.

Pure: AWS is reached through the ports in `toolgate.service.ports`.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import json
import logging
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from toolgate.runtime.async_calls import StatusReading
from toolgate.service.continuations import keep_result
from toolgate.service.jobs.terms import JOB_STATUS_TOOL, JobPattern, JobStatus
from toolgate.service.limits import TenantLimiter
from toolgate.service.ports import CredentialReader, JobStore, ResultPages, TenantResources
from toolgate.settings import JobSettings
from toolgate.spec.models import AsyncKind, AsyncPattern

logger = logging.getLogger(__name__)

#: The waiting callback task's timeout exceeds its heartbeat, at most the callback URL's lifetime, by this
#: much: Step Functions wants a heartbeat shorter than the timeout.
CALLBACK_TASK_GRACE_SECONDS = 60
ECHO_CHARS = 500


@cache
def follow_location() -> AsyncPattern:
    """How an operation without a declared pattern is followed: by its answer's Location header."""
    return AsyncPattern(kind=AsyncKind.ACCEPTED_LOCATION)


@cache
def default_callback_pattern() -> AsyncPattern:
    """How a callback operation without a declared pattern reads its answers: the default status values."""
    return AsyncPattern(kind=AsyncKind.CALLBACK_PARAMETER)


#: What an ended job no longer needs: the call's arguments and the waiting task's token.
ENDED_JOB_REMOVES = ("arguments", "task_token")


# --- Records ----------------------------------------------------------------------------------


class JobRecord(BaseModel):
    """One job, as its row keeps it (`pk` = tenant, `sk` = `JOB#{job_id}`)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    job_id: str
    assistant_id: str
    tool: str
    integration_id: str
    revision: str
    pattern: JobPattern
    status: JobStatus = JobStatus.RUNNING
    created_at: datetime
    updated_at: datetime
    #: A job still running then has timed out.
    deadline_at: datetime
    #: DynamoDB's TTL removes the row then.
    expires_at: datetime
    execution_arn: str
    #: The call's arguments as JSON, kept only until the call is submitted.
    arguments: str | None = None
    #: Set, conditionally, just before the call is sent: a retried task that finds it never sends again.
    submit_claimed_at: datetime | None = None
    #: The target's answer to the call was recorded (its outcome is known).
    submitted: bool = False
    #: Polling: a status URL, or a status operation's tool name and its arguments as JSON.
    status_url: str | None = None
    status_tool: str | None = None
    status_arguments: str | None = None
    polls: int = 0
    status_failures: int = 0
    #: Callbacks: the id in the issued URL, whether it was used, and the state machine's task token.
    callback_id: str | None = None
    callback_used: bool = False
    task_token: str | None = None
    #: The operation's opt-in `heartbeatSeconds`: the longest it may stay silent while a callback is due.
    heartbeat_seconds: int | None = None
    #: The result as JSON text, or a continuation handle when it was too long for the row.
    result: str | None = None
    result_handle: str | None = None
    result_pages: int | None = None
    target_status: int | None = None
    error_code: str | None = None
    error_message: str | None = None


class JobResources(NamedTuple):
    """One tenant's resources for following its jobs, all reached with its scoped credentials."""

    tenant: TenantResources
    jobs: JobStore
    credentials: CredentialReader
    results: ResultPages
    #: The tenant's limits: every call a job makes holds one of its concurrent slots. None: unlimited.
    limiter: TenantLimiter | None = None

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id


class TaskOutcome(NamedTuple):
    """What a task hands back to the state machine."""

    state: JobStatus
    wait_seconds: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state.value, "wait_seconds": self.wait_seconds}


def execution_input(tenant_id: str, job: JobRecord) -> dict[str, Any]:
    """The jobs state machine's input: ids, and for a callback job its waiting task's heartbeat and timeout
    (read with HeartbeatSecondsPath and TimeoutSecondsPath). Without an opt-in heartbeat, the heartbeat is
    the callback URL's whole lifetime: a silent target is cut off only when its URL expires."""
    payload: dict[str, Any] = {"tenant_id": tenant_id, "job_id": job.job_id, "pattern": job.pattern.value}
    if job.pattern is JobPattern.CALLBACK:
        lifetime = int((job.deadline_at - job.created_at).total_seconds())
        payload["heartbeat_seconds"] = min(job.heartbeat_seconds or lifetime, lifetime)
        payload["timeout_seconds"] = lifetime + CALLBACK_TASK_GRACE_SECONDS
    return payload


def running_envelope(job: JobRecord, settings: JobSettings) -> dict[str, Any]:
    """What an async tool's call answers at once."""
    return {
        "ok": True,
        "status": 202,
        "body": {"job_id": job.job_id, "status": JobStatus.RUNNING.value, "tool": job.tool},
        "hint": job_hint(job, JobStatus.RUNNING, settings),
        "job": {
            "job_id": job.job_id,
            "status": JobStatus.RUNNING.value,
            "check_after_seconds": check_after_seconds(settings),
        },
    }


def check_after_seconds(settings: JobSettings) -> int:
    """When the model is told to check a running job again."""
    return max(settings.first_poll_seconds * 2, 5)


def job_hint(job: JobRecord, status: JobStatus, settings: JobSettings) -> str | None:
    if status is not JobStatus.RUNNING:
        return None
    wait = check_after_seconds(settings)
    return (
        f"'{job.tool}' is a long-running operation, now running as job {job.job_id}. Call "
        f'{JOB_STATUS_TOOL} with {{"job_id": "{job.job_id}"}} in about {wait} seconds '
        f"to get its result (or GET /v1/jobs/{job.job_id}); do not call '{job.tool}' again for it."
    )


def timed_out_message(job: JobRecord) -> str:
    if job.submit_claimed_at is not None and not job.submitted:
        return (
            f"Job {job.job_id} did not finish by {job.deadline_at.isoformat(timespec='seconds')}, and the "
            "API never confirmed that it received the call (its answer was lost). Check at the API whether "
            "the operation ran before starting it again."
        )
    return (
        f"Job {job.job_id} did not finish by {job.deadline_at.isoformat(timespec='seconds')}; it was given "
        "up. Start the operation again if it is still needed."
    )


def result_fields(
    results: ResultPages, settings: JobSettings, job: JobRecord, value: Any, now: datetime
) -> dict[str, Any]:
    """Row fields for a job's result: inline when short, else in S3 with its first page inline."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(text) <= settings.inline_result_chars:
        return {"result": text}
    page_chars = settings.inline_result_chars
    handle, stored = keep_result(
        results,
        assistant_id=job.assistant_id,
        tool=job.tool,
        text=text,
        now=now,
        lifetime_seconds=settings.retention_seconds,
        page_chars=page_chars,
    )
    return {"result": text[:page_chars], "result_handle": handle, "result_pages": stored.pages}


def failure_message(reading: StatusReading) -> str:
    return f"The API reports that the operation failed (status '{str(reading.status_value)[:200]}')."
