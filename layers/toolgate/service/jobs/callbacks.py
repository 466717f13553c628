"""Callbacks (`CallbackReceiver`): a genuine, unexpired callback completes its job once; anything else is
refused with a typed error and changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from toolgate.errors import (
    CallbackAlreadyUsedError,
    CallbackExpiredError,
    CallbackInvalidError,
    CallbackTooLargeError,
    JobFailedError,
    JobNotRunningError,
)
from toolgate.runtime.async_calls import (
    Phase,
    read_status,
)
from toolgate.runtime.envelope import ToolResult
from toolgate.service.callback_ids import CallbackSigner
from toolgate.service.jobs.records import (
    ENDED_JOB_REMOVES,
    JobRecord,
    JobResources,
    default_callback_pattern,
    failure_message,
    result_fields,
)
from toolgate.service.jobs.terms import JobStatus
from toolgate.service.models import utc_now
from toolgate.service.ports import TaskTokens
from toolgate.service.stored_tools import load_tool
from toolgate.settings import JobSettings
from toolgate.spec.models import AsyncPattern

logger = logging.getLogger(__name__)


class CallbackAck(BaseModel):
    model_config = ConfigDict(defer_build=True)

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
                "error_message": failure_message(reading),
            }
            changes.update(result_fields(resources.results, self._settings, job, value, now))
        changes.update(callback_used=True, updated_at=now)
        replaced = resources.jobs.update(
            job.job_id,
            changes,
            remove=ENDED_JOB_REMOVES,
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
    return default_callback_pattern()


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
