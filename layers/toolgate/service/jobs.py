"""Long-running operations as jobs, run by the jobs state machine (infra/jobs.py).

- **Launch** (`JobLauncher`, on the invoke path): the call's arguments are checked, a job row is written
  in the tenant's partition and an execution started; the model gets `{job_id, status: "running"}` at
  once, with a hint to call the job-status tool.
- **Run** (`JobRunner`, the state machine's tasks): submit the call, then poll its status endpoint on the
  integration's own origin with a capped backoff, or hand the target a signed callback URL and wait.
- **Callbacks** (`CallbackReceiver`): a genuine, unexpired callback completes its job once; anything else
  is refused with a typed error and changes nothing.
- **Read and cancel** (`JobQueries`): `GET /v1/jobs/{id}`, the job-status tool and `DELETE /v1/jobs/{id}`,
  only ever within the caller's tenant.

A job's result stays on its row when small, and in S3 behind a continuation handle when not. No
credential, callback URL or task token ever appears in a view, a result or an error.

Pure: AWS is reached through the ports below, HTTP through the runtime's `Transport`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import string
from collections.abc import Callable, Collection, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict

from toolgate.errors import (
    CallbackAlreadyUsedError,
    CallbackExpiredError,
    CallbackInvalidError,
    CallbackTooLargeError,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobNotRunningError,
    JobStatusUnreadableError,
    JobTimedOutError,
    TenantLimitError,
    ToolgateError,
    ToolInternalError,
    ToolNotAvailableError,
    UpstreamOutcomeUnknownError,
)
from toolgate.runtime.async_calls import (
    CALLBACK_LOCATIONS,
    Phase,
    StatusReading,
    next_wait_seconds,
    read_status,
    resolve_status_url,
    status_arguments,
    status_request_tool,
)
from toolgate.runtime.credentials import Credential, parse_credential
from toolgate.runtime.envelope import ToolResult
from toolgate.runtime.invoke import invoke_tool
from toolgate.runtime.request import build_request
from toolgate.runtime.transport import Deadline, Transport
from toolgate.service.callback_ids import CallbackSigner
from toolgate.service.continuations import CONTINUATION_HANDLE_BYTES, StoredContinuation
from toolgate.service.ingest import load_tool
from toolgate.service.limits import TenantLimiter
from toolgate.service.models import IntegrationRecord, utc_now
from toolgate.service.ports import TenantResources
from toolgate.service.tenancy import Role, TenantContext
from toolgate.settings import JobSettings, RuntimeSettings
from toolgate.spec.models import Annotations, AsyncKind, AsyncPattern, CanonicalTool

logger = logging.getLogger(__name__)

JOB_ID_PREFIX = "job_"
_JOB_ID_CHARS = 26
_ALPHABET = string.ascii_letters + string.digits
#: The built-in tool every assistant with an async tool gains.
JOB_STATUS_TOOL = "toolgate_job_status"
#: Errors after which a status poll is tried again (up to `JobSettings.max_status_failures` in a row).
#: CIRCUIT_OPEN: the target failed calls in a row; the next poll waits for the circuit's `retry_after`.
TRANSIENT_STATUS_ERRORS = frozenset(
    {
        "UPSTREAM_TIMEOUT",
        "UPSTREAM_UNREACHABLE",
        "UPSTREAM_OUTCOME_UNKNOWN",
        "UPSTREAM_PROTOCOL_ERROR",
        "CIRCUIT_OPEN",
    }
)
TRANSIENT_HTTP_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Step Functions error names that mean the job ran out of time.
TIMEOUT_ERRORS = frozenset({"States.Timeout", "States.HeartbeatTimeout"})
#: A callback submit that failed with one of these may still have reached the target, which then holds
#: the callback URL: the job keeps waiting for it rather than failing.
UNCONFIRMED_SUBMIT_ERRORS = frozenset(
    {"UPSTREAM_OUTCOME_UNKNOWN", "UPSTREAM_TIMEOUT", "UPSTREAM_PROTOCOL_ERROR"}
)
#: The waiting callback task's timeout exceeds its heartbeat, at most the callback URL's lifetime, by this
#: much: Step Functions wants a heartbeat shorter than the timeout.
CALLBACK_TASK_GRACE_SECONDS = 60
#: A task keeps this much of its Lambda time back for the writes after its call.
_TASK_MARGIN_SECONDS = 5.0
_ECHO_CHARS = 500
#: The runtime never cuts a body itself: the job keeps it whole (in S3 when long).
_WHOLE_BODY = 2**62


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobPattern(StrEnum):
    POLL = "poll"
    CALLBACK = "callback"


def new_job_id() -> str:
    return JOB_ID_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(_JOB_ID_CHARS))


def is_job_id(value: str) -> bool:
    return (
        len(value) == len(JOB_ID_PREFIX) + _JOB_ID_CHARS
        and value.startswith(JOB_ID_PREFIX)
        and all(char in _ALPHABET for char in value[len(JOB_ID_PREFIX) :])
    )


#: How an operation without a declared pattern is followed: by its answer's Location header.
_FOLLOW_LOCATION = AsyncPattern(kind=AsyncKind.ACCEPTED_LOCATION)
#: How a callback operation without a declared pattern reads its answers: the default status values.
_CALLBACK = AsyncPattern(kind=AsyncKind.CALLBACK_PARAMETER)
#: What an ended job no longer needs: the call's arguments and the waiting task's token.
_ENDED_JOB_REMOVES = ("arguments", "task_token")


def integration_credential(
    integration: IntegrationRecord, credentials: CredentialSource
) -> Credential | None:
    """The integration's credential, read through `credentials`; None when none is stored. An unbound
    integration that names no shared slot has none, and nothing is read for it."""
    if integration.credential is None and integration.settings.credential is None:
        return None
    text = credentials.get(integration.credential_slot)
    return None if text is None else parse_credential(text)


def job_status_tool() -> CanonicalTool:
    """The built-in tool that reads a job: added to every assistant's list that has an async tool."""
    return CanonicalTool(
        name=JOB_STATUS_TOOL,
        description=(
            "Check a long-running operation that another tool started: returns its status (running, "
            "succeeded, failed or cancelled) and, once it has ended, its result or error. Call it with the "
            "job_id the other tool returned, after the wait that tool suggested."
        ),
        method="GET",
        path="/v1/jobs/{job_id}",
        pointer="#/x-toolgate/job-status",
        input_schema={
            "type": "object",
            "properties": {
                "job_id": {
                    "type": "string",
                    "description": "The job id a long-running tool returned, such as job_Ab12....",
                    "pattern": f"^{JOB_ID_PREFIX}[A-Za-z0-9]{{{_JOB_ID_CHARS}}}$",
                }
            },
            "required": ["job_id"],
            "additionalProperties": False,
        },
        annotations=Annotations(read_only=True, destructive=False, idempotent=True, open_world=False),
    )


def job_pattern(tool: CanonicalTool) -> JobPattern | None:
    """How a tool's operation is followed; None runs it as a plain call (an OpenAPI `callbacks` object
    without a header or query parameter to carry the URL cannot be served)."""
    pattern = tool.async_pattern
    if pattern is None:
        return None
    if pattern.kind is AsyncKind.EXTENSION and (pattern.status_operation or pattern.status_path):
        return JobPattern.POLL
    if pattern.callback_parameter and pattern.callback_location in CALLBACK_LOCATIONS:
        return JobPattern.CALLBACK
    if pattern.kind in (AsyncKind.ACCEPTED_LOCATION, AsyncKind.EXTENSION):
        return JobPattern.POLL
    return None


# --- Records and ports ------------------------------------------------------------------------


class JobRecord(BaseModel):
    """One job, as its row keeps it (`pk` = tenant, `sk` = `JOB#{job_id}`)."""

    model_config = ConfigDict(frozen=True)

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


class JobStore(Protocol):
    """The jobs of one tenant."""

    def create(self, job: JobRecord) -> None: ...

    def get(self, job_id: str) -> JobRecord | None: ...

    def update(
        self,
        job_id: str,
        changes: Mapping[str, Any],
        *,
        remove: Collection[str] = (),
        expect: Mapping[str, Any] | None = None,
        only_running: bool = True,
    ) -> JobRecord | None:
        """Apply `changes` (and remove fields) when the job exists, is running (unless `only_running` is
        False) and every `expect` field has its value (None: the field is absent). Returns the row as it
        was just before the write, read in the same conditional write; None when nothing was written."""
        ...


class JobExecutions(Protocol):
    def start(self, tenant_id: str, job: JobRecord) -> None: ...

    def stop(self, execution_arn: str) -> None: ...

    def execution_arn(self, job_id: str) -> str: ...


class TaskTokens(Protocol):
    def succeed(self, token: str, state: str) -> None:
        """Complete the waiting task with `{"state": state}`; raises CallbackExpiredError when the task
        has already timed out."""
        ...

    def heartbeat(self, token: str) -> None: ...


class ResultPages(Protocol):
    """Long results kept in S3 behind continuation handles (`service.invoke.ResultStore`)."""

    def put(self, handle: str, data: bytes) -> None: ...


class CredentialSource(Protocol):
    def get(self, slot: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class JobResources:
    """One tenant's resources for following its jobs, all reached with its scoped credentials."""

    tenant: TenantResources
    jobs: JobStore
    credentials: CredentialSource
    results: ResultPages
    #: The tenant's limits: every call a job makes holds one of its concurrent slots. None: unlimited.
    limiter: TenantLimiter | None = None

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """What a task hands back to the state machine."""

    state: JobStatus
    wait_seconds: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state.value, "wait_seconds": self.wait_seconds}


# --- Views --------------------------------------------------------------------------------------


class JobErrorView(BaseModel):
    code: str
    message: str


class JobContinuation(BaseModel):
    handle: str
    pages: int
    next_page: int


class JobView(BaseModel):
    """A job as its tenant sees it: never its task token or callback URL."""

    job_id: str
    status: JobStatus
    assistant_id: str
    tool: str
    created_at: datetime
    updated_at: datetime
    target_status: int | None = None
    result: Any = None
    result_truncated: bool = False
    continuation: JobContinuation | None = None
    error: JobErrorView | None = None
    hint: str | None = None

    @classmethod
    def of(cls, job: JobRecord, settings: JobSettings, now: datetime) -> JobView:
        status, error = job.status, None
        if job.error_code is not None:
            error = JobErrorView(code=job.error_code, message=job.error_message or "")
        if status is JobStatus.RUNNING and job.deadline_at <= now:
            status = JobStatus.FAILED
            error = JobErrorView(code=JobTimedOutError.code, message=_timed_out_message(job))
        view = cls(
            job_id=job.job_id,
            status=status,
            assistant_id=job.assistant_id,
            tool=job.tool,
            created_at=job.created_at,
            updated_at=job.updated_at,
            target_status=job.target_status,
            error=error,
            hint=_hint(job, status, settings),
        )
        if job.result is not None:
            view.result = json.loads(job.result) if job.result_handle is None else job.result
        if job.result_handle is not None:
            view.result_truncated = True
            view.continuation = JobContinuation(
                handle=job.result_handle, pages=job.result_pages or 1, next_page=1
            )
        return view

    def envelope(self) -> dict[str, Any]:
        """The job-status tool's result: ok unless the job failed or was cancelled."""
        envelope: dict[str, Any] = {
            "ok": self.status in (JobStatus.RUNNING, JobStatus.SUCCEEDED),
            "status": 200,
            "body": self.model_dump(mode="json", exclude_none=True, exclude={"hint"}),
        }
        if self.hint:
            envelope["hint"] = self.hint
        if self.error is not None:
            envelope["error"] = self.error.model_dump()
        return envelope


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
        "hint": _hint(job, JobStatus.RUNNING, settings),
        "job": {
            "job_id": job.job_id,
            "status": JobStatus.RUNNING.value,
            "check_after_seconds": _check_after(settings),
        },
    }


def _check_after(settings: JobSettings) -> int:
    return max(settings.first_poll_seconds * 2, 5)


def _hint(job: JobRecord, status: JobStatus, settings: JobSettings) -> str | None:
    if status is not JobStatus.RUNNING:
        return None
    return (
        f"'{job.tool}' is a long-running operation, now running as job {job.job_id}. Call "
        f'{JOB_STATUS_TOOL} with {{"job_id": "{job.job_id}"}} in about {_check_after(settings)} seconds '
        f"to get its result (or GET /v1/jobs/{job.job_id}); do not call '{job.tool}' again for it."
    )


def _timed_out_message(job: JobRecord) -> str:
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


def _unconfirmed_submit_message(job: JobRecord) -> str:
    return (
        f"The call of job {job.job_id} may have reached the API, but its answer was lost; Toolgate never "
        "sends a call twice. Check at the API whether the operation started before calling the tool again."
    )


# --- Launch -------------------------------------------------------------------------------------


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


# --- Read and cancel ----------------------------------------------------------------------------


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

    def cancel(self, job_id: str) -> JobView:
        self.context.require(Role.ADMIN, Role.AGENT)
        job = self._job(job_id, None)
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
                f"No job '{job_id[: _ECHO_CHARS // 10]}': job ids belong to one tenant (and, through the "
                f"job-status tool, to the assistant that started them); finished jobs are kept "
                f"{self._settings.retention_seconds // 3600} hours."
            )
        return job


# --- Run (the state machine's tasks) ------------------------------------------------------------


class JobRunner:
    def __init__(
        self,
        resources: JobResources,
        settings: JobSettings,
        *,
        runtime: RuntimeSettings,
        transport: Transport,
        task_budget: Callable[[], float],
        callback_base_url: str | None = None,
        signer: CallbackSigner | None = None,
        tokens: TaskTokens | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.resources = resources
        self._settings = settings
        self._runtime = runtime.model_copy(update={"result_body_chars": _WHOLE_BODY})
        self._transport = transport
        self._task_budget = task_budget
        self._callback_base_url = callback_base_url.rstrip("/") if callback_base_url else None
        self._signer = signer
        self._tokens = tokens
        self._clock = clock

    @property
    def _jobs(self) -> JobStore:
        return self.resources.jobs

    def submit(self, job_id: str) -> TaskOutcome:
        """Make the call of a polled job and find where its status is."""
        job = self._require(job_id)
        if job.status is not JobStatus.RUNNING:
            return TaskOutcome(job.status)
        if job.submitted:
            # A retried task: the call was made and answered; never send it twice.
            return TaskOutcome(JobStatus.RUNNING, next_wait_seconds(self._settings, job.polls))
        claim = {"submit_claimed_at": self._clock(), "updated_at": self._clock()}
        if self._jobs.update(job_id, claim, expect={"submit_claimed_at": None}) is None:
            return self._claimed_before(job_id)
        try:
            integration, tool, arguments = self._call_of(job)
            result = self._send(integration, tool, arguments)
            if not result.ok:
                return self._fail_from_result(job, result)
            return self._follow(job, integration, tool, arguments, result)
        except ToolgateError as error:
            return self._fail(job, error.code, error.message)

    def poll(self, job_id: str) -> TaskOutcome:
        """Read the status once; finish the job when it has ended."""
        job = self._require(job_id)
        if job.status is not JobStatus.RUNNING:
            return TaskOutcome(job.status)
        if job.deadline_at <= self._clock():
            return self._fail(job, JobTimedOutError.code, _timed_out_message(job))
        try:
            integration, pattern, tool, arguments = self._status_call(job)
            result = self._send(integration, tool, arguments)
        except TenantLimitError as error:
            # The tenant's calls take every slot now: poll again later rather than fail the job.
            wait = next_wait_seconds(self._settings, job.polls, str(error.retry_after_seconds))
            return TaskOutcome(JobStatus.RUNNING, wait)
        except ToolgateError as error:
            return self._fail(job, error.code, error.message)
        if not result.ok:
            if _is_transient(result) and job.status_failures < self._settings.max_status_failures:
                self._jobs.update(
                    job_id, {"status_failures": job.status_failures + 1, "updated_at": self._clock()}
                )
                retry_after = result.headers.get("retry-after") or _circuit_retry_after(result)
                return TaskOutcome(
                    JobStatus.RUNNING, next_wait_seconds(self._settings, job.polls, retry_after)
                )
            return self._fail_from_result(job, result)
        return self._settle(job, read_status(pattern, result), result)

    def await_callback(self, job_id: str, task_token: str) -> None:
        """Issue the job's callback URL, then make the call with it. The state machine waits for the
        callback (or this task's own failure report) through `task_token`."""
        if self._signer is None or self._callback_base_url is None or self._tokens is None:
            raise ValueError("callbacks need a signer, a base URL and the task tokens")
        job = self._require(job_id)
        if job.status is not JobStatus.RUNNING:
            _end_task(self._tokens, task_token, job.status, job_id)
            return
        now = self._clock()
        expires = now + timedelta(seconds=self._settings.callback_ttl_seconds)
        callback_id = self._signer.sign(self.resources.tenant_id, job_id, int(expires.timestamp()))
        # Issuing the URL is the claim: one conditional write, before the call is sent.
        claim = {
            "callback_id": callback_id,
            "callback_used": False,
            "task_token": task_token,
            "submit_claimed_at": now,
            "updated_at": now,
        }
        if self._jobs.update(job_id, claim, expect={"callback_id": None}) is None:
            self._keep_waiting(job_id, task_token, self._tokens)
            return
        try:
            integration, tool, arguments = self._call_of(job)
            callback_url = f"{self._callback_base_url}/v1/callbacks/{callback_id}"
            result = self._send(integration, tool, arguments, callback_url=callback_url)
        except ToolgateError as error:
            outcome: TaskOutcome | None = self._fail(job, error.code, error.message)
        else:
            outcome = self._after_callback_submit(job, tool, result)
        if outcome is not None:
            _end_task(self._tokens, task_token, outcome.state, job_id)

    def fail(self, job_id: str, error_name: str) -> TaskOutcome:
        """Record the failure the state machine caught (a task's error or a timeout)."""
        job = self._require(job_id)
        if job.status is not JobStatus.RUNNING:
            return TaskOutcome(job.status)
        logger.warning("job task failed", extra={"job_id": job_id, "error_name": error_name[:100]})
        if error_name in TIMEOUT_ERRORS:
            return self._fail(job, JobTimedOutError.code, _timed_out_message(job))
        if job.submit_claimed_at is not None and not job.submitted:
            # The task stopped after its claim: the call may have been sent, and starting it again may
            # run the operation twice.
            return self._fail(job, UpstreamOutcomeUnknownError.code, _unconfirmed_submit_message(job))
        return self._fail(
            job,
            ToolInternalError.code,
            f"Toolgate failed while following job {job_id}; the failure is logged. Start the operation "
            "again if it is still needed.",
        )

    # --- Steps ----------------------------------------------------------------------------------

    def _claimed_before(self, job_id: str) -> TaskOutcome:
        """A retried submit found an earlier attempt's claim: that attempt may have sent the call."""
        job = self._require(job_id)
        if job.status is not JobStatus.RUNNING:
            return TaskOutcome(job.status)
        if job.submitted:
            return TaskOutcome(JobStatus.RUNNING, next_wait_seconds(self._settings, job.polls))
        # Without the answer there is no status to poll, and sending again could start it twice.
        return self._fail(job, UpstreamOutcomeUnknownError.code, _unconfirmed_submit_message(job))

    def _keep_waiting(self, job_id: str, task_token: str, tokens: TaskTokens) -> None:
        """A retried callback task: an earlier attempt issued the URL (and may have sent the call), so the
        target may hold it. Only the task token is new; a job that ended meanwhile ends this task too."""
        swapped = self._jobs.update(
            job_id, {"task_token": task_token, "updated_at": self._clock()}, expect={"callback_used": False}
        )
        if swapped is None:
            _end_task(tokens, task_token, self._require(job_id).status, job_id)

    def _after_callback_submit(
        self, job: JobRecord, tool: CanonicalTool, result: ToolResult
    ) -> TaskOutcome | None:
        """The outcome to end the callback task with now, or None to keep waiting for the callback."""
        if result.ok:
            reading = read_status(tool.async_pattern or _CALLBACK, result)
            if (
                result.status != 202
                and reading.status_value is not None
                and reading.phase is not Phase.RUNNING
            ):
                # The answer is already final: the job ends now, and the issued URL is spent.
                return self._settle(job, reading, result, extra={"submitted": True, "callback_used": True})
            self._jobs.update(
                job.job_id,
                {"submitted": True, "target_status": result.status, "updated_at": self._clock()},
                remove=("arguments",),
                only_running=False,
            )
            return None
        if result.error is not None and result.error.code in UNCONFIRMED_SUBMIT_ERRORS:
            # The call may have reached the target, which then holds the URL: keep waiting for it.
            self._jobs.update(job.job_id, {"updated_at": self._clock()}, remove=("arguments",))
            return None
        return self._fail_from_result(job, result)

    def _follow(
        self,
        job: JobRecord,
        integration: IntegrationRecord,
        tool: CanonicalTool,
        arguments: dict[str, Any],
        result: ToolResult,
    ) -> TaskOutcome:
        """After the call was accepted: record where its status is, or its result if it is done."""
        pattern = tool.async_pattern or _FOLLOW_LOCATION
        changes: dict[str, Any] = {
            "submitted": True,
            "target_status": result.status,
            "updated_at": self._clock(),
        }
        if pattern.status_operation:
            status_tool = self._operation_tool(job, pattern.status_operation)
            changes["status_tool"] = status_tool.name
            changes["status_arguments"] = json.dumps(status_arguments(status_tool, result.body, arguments))
        elif pattern.status_path:
            path = _fill_template(pattern.status_path, result.body, arguments)
            changes["status_url"] = resolve_status_url(
                self._request_url(tool, arguments), _server_path(tool, path)
            )
        elif (location := _status_location(pattern, result)) is not None:
            changes["status_url"] = resolve_status_url(self._request_url(tool, arguments), location)
        elif result.status == 202:
            return self._fail(
                job,
                JobStatusUnreadableError.code,
                "The API accepted the operation (202) but said nowhere where its status is: no Location or "
                "Operation-Location header, and the spec's x-toolgate-async names no status operation.",
            )
        else:
            # Answered at once: the call's own answer is the result, unless it says it is still running.
            reading = read_status(pattern, result)
            if reading.phase is Phase.RUNNING:
                return self._fail(
                    job,
                    JobStatusUnreadableError.code,
                    f"The API answered {result.status} with status '{reading.status_value}' but said nowhere "
                    "where to follow it: no Location or Operation-Location header, and no status operation.",
                )
            return self._settle(job, reading, result, extra=changes)
        self._jobs.update(job.job_id, changes, remove=("arguments",))
        retry_after = result.headers.get("retry-after")
        return TaskOutcome(JobStatus.RUNNING, next_wait_seconds(self._settings, 0, retry_after))

    def _settle(
        self,
        job: JobRecord,
        reading: StatusReading,
        result: ToolResult,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> TaskOutcome:
        changes: dict[str, Any] = dict(extra or {})
        if reading.phase is Phase.RUNNING:
            changes.update(polls=job.polls + 1, status_failures=0, updated_at=self._clock())
            self._jobs.update(job.job_id, changes)
            retry_after = result.headers.get("retry-after")
            return TaskOutcome(
                JobStatus.RUNNING, next_wait_seconds(self._settings, job.polls + 1, retry_after)
            )
        if reading.phase is Phase.FAILED:
            return self._fail(
                job,
                JobFailedError.code,
                _failure_message(reading),
                result=reading.result,
                extra=changes,
            )
        changes.update(self._result_fields(job, reading.result))
        changes.update(status=JobStatus.SUCCEEDED, target_status=result.status, updated_at=self._clock())
        updated = self._jobs.update(job.job_id, changes, remove=_ENDED_JOB_REMOVES)
        return TaskOutcome(JobStatus.SUCCEEDED if updated else self._require(job.job_id).status)

    def _fail_from_result(self, job: JobRecord, result: ToolResult) -> TaskOutcome:
        error = result.error
        code = error.code if error is not None else JobFailedError.code
        message = error.message if error is not None else "The API refused the operation."
        return self._fail(job, code, message, result=result.body, extra={"target_status": result.status})

    def _fail(
        self,
        job: JobRecord,
        code: str,
        message: str,
        *,
        result: Any = None,
        extra: Mapping[str, Any] | None = None,
    ) -> TaskOutcome:
        changes: dict[str, Any] = {
            **(extra or {}),
            "status": JobStatus.FAILED,
            "error_code": code,
            "error_message": message[:2000],
            "updated_at": self._clock(),
        }
        if result is not None:
            changes.update(self._result_fields(job, result))
        updated = self._jobs.update(job.job_id, changes, remove=_ENDED_JOB_REMOVES)
        return TaskOutcome(JobStatus.FAILED if updated else self._require(job.job_id).status)

    def _result_fields(self, job: JobRecord, value: Any) -> dict[str, Any]:
        return result_fields(self.resources.results, self._settings, job, value, self._clock())

    # --- Calls ----------------------------------------------------------------------------------

    def _send(
        self,
        integration: IntegrationRecord,
        tool: CanonicalTool,
        arguments: Mapping[str, Any],
        callback_url: str | None = None,
    ) -> ToolResult:
        budget = max(0.0, self._task_budget() - _TASK_MARGIN_SECONDS)
        limiter = self.resources.limiter
        with limiter.outbound_call(budget) if limiter is not None else nullcontext():
            return invoke_tool(
                tool,
                dict(arguments),
                transport=self._transport,
                credential=self._credential(integration),
                settings=self._runtime,
                deadline=Deadline.after(budget),
                tenant=self.resources.tenant_id,
                callback_url=callback_url,
            )

    def _call_of(self, job: JobRecord) -> tuple[IntegrationRecord, CanonicalTool, dict[str, Any]]:
        integration = self._integration(job)
        item = self.resources.tenant.store.get_tool(job.integration_id, job.revision, job.tool)
        if item is None or job.arguments is None:
            raise ToolNotAvailableError(
                f"Tool '{job.tool}' is no longer available in integration '{job.integration_id}'; the job "
                "could not be submitted."
            )
        arguments: dict[str, Any] = json.loads(job.arguments)
        return integration, load_tool(item, self.resources.tenant), arguments

    def _status_call(
        self, job: JobRecord
    ) -> tuple[IntegrationRecord, AsyncPattern, CanonicalTool, dict[str, Any]]:
        """The integration, the submitted operation's async pattern, and the status request to make."""
        integration = self._integration(job)
        store = self.resources.tenant.store
        submitted = store.get_tool(job.integration_id, job.revision, job.tool)
        if submitted is None:
            raise ToolNotAvailableError(
                f"Tool '{job.tool}' is no longer available; its job cannot be followed."
            )
        tool = load_tool(submitted, self.resources.tenant)
        pattern = tool.async_pattern or _FOLLOW_LOCATION
        if job.status_tool is not None:
            item = store.get_tool(job.integration_id, job.revision, job.status_tool)
            if item is None:
                raise ToolNotAvailableError(
                    f"The status operation '{job.status_tool}' is no longer available."
                )
            status_tool = load_tool(item, self.resources.tenant)
            return integration, pattern, status_tool, json.loads(job.status_arguments or "{}")
        if job.status_url is None:
            raise JobStatusUnreadableError(f"Job {job.job_id} has no status URL to poll.")
        return integration, pattern, status_request_tool(tool, job.status_url), {}

    def _operation_tool(self, job: JobRecord, operation: str) -> CanonicalTool:
        """The status operation, from the same revision as the job's own tool."""
        for item in self.resources.tenant.store.list_tools(job.integration_id, job.revision):
            tool = load_tool(item, self.resources.tenant)
            if operation in (tool.operation_id, tool.name):
                return tool
        raise JobStatusUnreadableError(
            f"The spec's x-toolgate-async names status operation '{operation[:_ECHO_CHARS]}', which is not a "
            "tool of this integration."
        )

    def _integration(self, job: JobRecord) -> IntegrationRecord:
        integration = self.resources.tenant.store.get_integration(job.integration_id)
        if integration is None:
            raise ToolNotAvailableError(f"Integration '{job.integration_id}' no longer exists.")
        return integration

    def _credential(self, integration: IntegrationRecord) -> Credential | None:
        return integration_credential(integration, self.resources.credentials)

    @staticmethod
    def _request_url(tool: CanonicalTool, arguments: Mapping[str, Any]) -> str:
        return build_request(tool, arguments).url

    def _require(self, job_id: str) -> JobRecord:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(f"No job '{job_id[:80]}' in this tenant.")
        return job


# --- Callbacks ----------------------------------------------------------------------------------


class CallbackAck(BaseModel):
    job_id: str
    status: JobStatus


class CallbackReceiver:
    def __init__(
        self,
        signer: CallbackSigner,
        resources_for: Callable[[str], JobResources],
        tokens: TaskTokens,
        settings: JobSettings,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._signer = signer
        self._resources_for = resources_for
        self._tokens = tokens
        self._settings = settings
        self._clock = clock

    def receive(self, callback_id: str, body: bytes) -> CallbackAck:
        """Complete the job the callback id was issued for. A progress report (a non-final status) keeps
        the job waiting and the URL valid."""
        now = self._clock()
        claim = self._signer.verify(callback_id, now.timestamp())
        if len(body) > self._settings.max_callback_bytes:
            raise CallbackTooLargeError(
                f"The callback body has {len(body)} bytes; at most {self._settings.max_callback_bytes} are "
                "accepted. Send the result's location instead of the result."
            )
        resources = self._resources_for(claim.tenant_id)
        job = resources.jobs.get(claim.job_id)
        if job is None or job.callback_id != callback_id:
            raise CallbackInvalidError("This is not a callback URL Toolgate issued; nothing was changed.")
        if job.callback_used:
            raise _already_used()
        if job.status is not JobStatus.RUNNING or job.task_token is None:
            raise JobNotRunningError(
                f"Job {job.job_id} has ended ({job.status.value}); the callback changes nothing."
            )
        value = _callback_value(body)
        reading = read_status(
            job_pattern_of_callback(resources, job), ToolResult(ok=True, status=200, body=value)
        )
        if reading.phase is Phase.RUNNING:
            self._heartbeat(resources, job, job.task_token)
            return CallbackAck(job_id=job.job_id, status=JobStatus.RUNNING)
        if reading.phase is Phase.SUCCEEDED:
            changes: dict[str, Any] = {"status": JobStatus.SUCCEEDED}
            changes.update(result_fields(resources.results, self._settings, job, reading.result, now))
        else:
            changes = {
                "status": JobStatus.FAILED,
                "error_code": JobFailedError.code,
                "error_message": _failure_message(reading),
            }
            changes.update(result_fields(resources.results, self._settings, job, value, now))
        changes.update(callback_used=True, updated_at=now)
        replaced = resources.jobs.update(
            job.job_id,
            changes,
            remove=_ENDED_JOB_REMOVES,
            expect={"callback_id": callback_id, "callback_used": False},
        )
        if replaced is None:
            current = resources.jobs.get(job.job_id)
            if current is not None and current.callback_used:
                raise _already_used()
            raise JobNotRunningError(f"Job {job.job_id} has ended; the callback changes nothing.")
        # The token the write replaced, not the one read before it: a retried task may have swapped it in.
        try:
            if replaced.task_token is not None:
                self._tokens.succeed(replaced.task_token, changes["status"].value)
        except CallbackExpiredError:
            logger.warning("the job's task had already timed out", extra={"job_id": job.job_id})
        return CallbackAck(job_id=job.job_id, status=changes["status"])

    def _heartbeat(self, resources: JobResources, job: JobRecord, token: str) -> None:
        """Extend the waiting task. A token that a retried task has replaced since the read is stale:
        the current one is extended instead."""
        try:
            self._tokens.heartbeat(token)
        except CallbackExpiredError:
            current = resources.jobs.get(job.job_id)
            if (
                current is None
                or current.status is not JobStatus.RUNNING
                or current.task_token in (None, token)
            ):
                raise
            self._tokens.heartbeat(current.task_token)


def job_pattern_of_callback(resources: JobResources, job: JobRecord) -> AsyncPattern:
    """The operation's async pattern, whose status pointer and values also read its callbacks."""
    item = resources.tenant.store.get_tool(job.integration_id, job.revision, job.tool)
    if item is not None:
        pattern = load_tool(item, resources.tenant).async_pattern
        if pattern is not None:
            return pattern
    return _CALLBACK


def result_fields(
    results: ResultPages, settings: JobSettings, job: JobRecord, value: Any, now: datetime
) -> dict[str, Any]:
    """Row fields for a job's result: inline when short, else in S3 with its first page inline."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(text) <= settings.inline_result_chars:
        return {"result": text}
    page_chars = settings.inline_result_chars
    stored = StoredContinuation(
        assistant_id=job.assistant_id,
        tool=job.tool,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.retention_seconds),
        page_chars=page_chars,
        text=text,
    )
    handle = secrets.token_urlsafe(CONTINUATION_HANDLE_BYTES)
    results.put(handle, stored.model_dump_json().encode())
    return {"result": text[:page_chars], "result_handle": handle, "result_pages": stored.pages}


# --- Helpers ------------------------------------------------------------------------------------


def _end_task(tokens: TaskTokens, task_token: str, state: JobStatus, job_id: str) -> None:
    """End the waiting callback task with the job's state; a task a racing callback already ended (or
    that timed out) needs nothing more."""
    try:
        tokens.succeed(task_token, state.value)
    except CallbackExpiredError:
        logger.info("the job's task had already ended", extra={"job_id": job_id})


def _is_transient(result: ToolResult) -> bool:
    if result.status is not None:
        return result.status in TRANSIENT_HTTP_STATUSES
    return result.error is not None and result.error.code in TRANSIENT_STATUS_ERRORS


def _circuit_retry_after(result: ToolResult) -> str | None:
    """An open circuit's `retry_after` (seconds), in the form of a Retry-After header."""
    details = result.error.details if result.error is not None else None
    seconds = details.get("retry_after") if isinstance(details, dict) else None
    return str(seconds) if isinstance(seconds, int) else None


def _status_location(pattern: AsyncPattern, result: ToolResult) -> str | None:
    names = [pattern.status_header.lower()] if pattern.status_header else []
    names += ["operation-location", "location"]
    for name in names:
        value = result.headers.get(name)
        if value:
            return value
    return None


def _fill_template(template: str, answer: Any, arguments: Mapping[str, Any]) -> str:
    """`statusPath` with each `{name}` from the submit answer's field, else the call's argument."""
    fields = answer if isinstance(answer, dict) else {}

    def value(name: str) -> str:
        found = fields.get(name, arguments.get(name))
        if found is None or isinstance(found, dict | list):
            raise JobStatusUnreadableError(
                f"The status path '{template[:_ECHO_CHARS]}' needs '{name}', which neither the API's answer "
                "nor the call's arguments hold."
            )
        return quote(str(found), safe="")

    return re.sub(r"\{([^{}]+)\}", lambda match: value(match.group(1)), template)


def _server_path(tool: CanonicalTool, path: str) -> str:
    """A spec path (relative to the server URL) as a URL reference relative to any request URL."""
    base = urlsplit(tool.server_url or "").path.rstrip("/")
    return f"{base}/{path.lstrip('/')}"


def _failure_message(reading: StatusReading) -> str:
    return f"The API reports that the operation failed (status '{str(reading.status_value)[:200]}')."


def _callback_value(body: bytes) -> Any:
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):
        return text


def _already_used() -> CallbackAlreadyUsedError:
    return CallbackAlreadyUsedError(
        "This callback URL was already used; a job is completed once. Nothing changed."
    )
