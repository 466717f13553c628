"""The jobs' terms that every tool call and listing uses: job ids and statuses, which tools run as jobs
(`job_pattern`), and the job-status tool. Apart from the job records, so that a synchronous call, a listing
and an MCP server load none of the jobs code until a job is started or read (issue 16, cold start)."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import secrets
import string
from enum import StrEnum

from toolgate.spec.models import CALLBACK_LOCATIONS, Annotations, AsyncKind, CanonicalTool

JOB_ID_PREFIX = "job_"
_JOB_ID_CHARS = 26
_ALPHABET = string.ascii_letters + string.digits
#: The built-in tool every assistant with an async tool gains.
JOB_STATUS_TOOL = "toolgate_job_status"


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
