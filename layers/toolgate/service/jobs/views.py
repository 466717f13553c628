"""A job as its tenant sees it (`GET /v1/jobs/{id}`, the job-status tool, MCP tasks): built from its
record, never its task token or callback URL. Apart from the records, which every tool call reads, so only
the requests that show a job define these models (issue 16, cold start)."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic then
# skips parsing each one from a string, a third of a model's cold-start cost (issue 16).

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from toolgate.errors import JobTimedOutError
from toolgate.service.jobs.records import JobRecord, job_hint, timed_out_message
from toolgate.service.jobs.terms import JobStatus
from toolgate.settings import JobSettings


class JobErrorView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    code: str
    message: str


class JobContinuation(BaseModel):
    model_config = ConfigDict(defer_build=True)

    handle: str
    pages: int
    next_page: int


class JobView(BaseModel):
    """A job as its tenant sees it: never its task token or callback URL."""

    model_config = ConfigDict(defer_build=True)

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
    def of(cls, job: JobRecord, settings: JobSettings, now: datetime) -> "JobView":
        status, error = job.status, None
        if job.error_code is not None:
            error = JobErrorView(code=job.error_code, message=job.error_message or "")
        if status is JobStatus.RUNNING and job.deadline_at <= now:
            status = JobStatus.FAILED
            error = JobErrorView(code=JobTimedOutError.code, message=timed_out_message(job))
        view = cls(
            job_id=job.job_id,
            status=status,
            assistant_id=job.assistant_id,
            tool=job.tool,
            created_at=job.created_at,
            updated_at=job.updated_at,
            target_status=job.target_status,
            error=error,
            hint=job_hint(job, status, settings),
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
