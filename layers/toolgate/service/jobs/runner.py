"""The jobs state machine's tasks (`JobRunner`): submit the call, then poll its status endpoint on the
integration's own origin with a capped backoff, or hand the target a signed callback URL and wait.

Pure: AWS is reached through the ports in `toolgate.service.ports`, HTTP through the runtime's `Transport`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from toolgate.errors import (
    CallbackExpiredError,
    JobFailedError,
    JobNotFoundError,
    JobStatusUnreadableError,
    JobTimedOutError,
    TenantLimitError,
    ToolgateError,
    ToolInternalError,
    ToolNotAvailableError,
    UpstreamOutcomeUnknownError,
)
from toolgate.runtime.async_calls import (
    Phase,
    StatusReading,
    next_wait_seconds,
    read_status,
    resolve_status_url,
    status_arguments,
    status_request_tool,
)
from toolgate.runtime.credentials import Credential
from toolgate.runtime.envelope import ToolResult
from toolgate.runtime.invoke import invoke_tool
from toolgate.runtime.request import build_request
from toolgate.runtime.transport import Deadline, Transport
from toolgate.service.callback_ids import CallbackSigner
from toolgate.service.jobs.records import (
    ECHO_CHARS,
    ENDED_JOB_REMOVES,
    JobRecord,
    JobResources,
    TaskOutcome,
    default_callback_pattern,
    failure_message,
    follow_location,
    result_fields,
    timed_out_message,
)
from toolgate.service.jobs.terms import JobStatus
from toolgate.service.models import IntegrationRecord, utc_now
from toolgate.service.ports import JobStore, TaskTokens
from toolgate.service.stored_tools import integration_credential, load_tool
from toolgate.settings import JobSettings, RuntimeSettings
from toolgate.spec.models import AsyncPattern, CanonicalTool

logger = logging.getLogger(__name__)

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
#: A task keeps this much of its Lambda time back for the writes after its call.
_TASK_MARGIN_SECONDS = 5.0
#: The runtime never cuts a body itself: the job keeps it whole (in S3 when long).
_WHOLE_BODY = 2**62


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
            return self._fail(job, JobTimedOutError.code, timed_out_message(job))
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
            return self._fail(job, JobTimedOutError.code, timed_out_message(job))
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
            reading = read_status(tool.async_pattern or default_callback_pattern(), result)
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
        pattern = tool.async_pattern or follow_location()
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
                failure_message(reading),
                result=reading.result,
                extra=changes,
            )
        changes.update(self._result_fields(job, reading.result))
        changes.update(status=JobStatus.SUCCEEDED, target_status=result.status, updated_at=self._clock())
        updated = self._jobs.update(job.job_id, changes, remove=ENDED_JOB_REMOVES)
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
        updated = self._jobs.update(job.job_id, changes, remove=ENDED_JOB_REMOVES)
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
                parameters=integration.settings.parameters,
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
        pattern = tool.async_pattern or follow_location()
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
            f"The spec's x-toolgate-async names status operation '{operation[:ECHO_CHARS]}', which is not a "
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


def _unconfirmed_submit_message(job: JobRecord) -> str:
    return (
        f"The call of job {job.job_id} may have reached the API, but its answer was lost; Toolgate never "
        "sends a call twice. Check at the API whether the operation started before calling the tool again."
    )


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
                f"The status path '{template[:ECHO_CHARS]}' needs '{name}', which neither the API's answer "
                "nor the call's arguments hold."
            )
        return quote(str(found), safe="")

    return re.sub(r"\{([^{}]+)\}", lambda match: value(match.group(1)), template)


def _server_path(tool: CanonicalTool, path: str) -> str:
    """A spec path (relative to the server URL) as a URL reference relative to any request URL."""
    base = urlsplit(tool.server_url or "").path.rstrip("/")
    return f"{base}/{path.lstrip('/')}"
