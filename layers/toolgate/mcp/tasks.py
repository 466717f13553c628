"""Long-running tools as MCP Tasks: a task is one of the caller's jobs (`toolgate.service.jobs`), its id
the job id, its row the job row (written with a conditional PutItem before the call answers, read
strongly consistent), so a task exists, durably, before its id is handed out.

- **2025-11-25** (tasks in the core spec): capability `tasks` (`requests.tools.call`, `list`, `cancel`);
  long-running tools list `execution.taskSupport: "optional"`. `tools/call` with `task` answers
  `CreateTaskResult`; `tasks/get`, `tasks/result`, `tasks/list` and `tasks/cancel` follow the job.
  `tasks/result` blocks, as the spec says, but one HTTP request lives at most API Gateway's 29 s: it
  re-reads the job until it ends or the request's time budget runs out, and then answers
  MCP_TASK_STILL_WORKING (-32011) to ask again.
- **2026-07-28**: the `io.modelcontextprotocol/tasks` extension (SEP-2663), declared in `extensions`.
  A `tools/call` of a long-running tool from a client that declares the extension on the request answers
  `CreateTaskResult` (`resultType: "task"`); `tasks/get` carries the `result` once the task ended,
  `tasks/update` and `tasks/cancel` are acknowledgements. SEP-2663 keeps `failed` for JSON-RPC errors,
  so a job that failed is a `completed` task whose result has `isError: true`.
- Without tasks (no `task` param, an older revision, or no extension): what REST gives, the job handle
  as the result and the `toolgate_job_status` tool.

A task belongs to the caller's tenant and to the assistant whose MCP server started it: any other id
answers MCP_TASK_NOT_FOUND (-32602), exactly as one that never existed. `ttl` is the job's retention
(from its creation to the end of its row's TTL); the poll interval is the job's own schedule.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mcp_types import (
    CallToolResult,
    CancelTaskRequestParams,
    CancelTaskResult,
    CreateTaskResult,
    GetTaskPayloadRequestParams,
    GetTaskRequestParams,
    GetTaskResult,
    ListTasksResult,
    PaginatedRequestParams,
    Task,
)
from pydantic import BaseModel, ValidationError

from toolgate.errors import (
    JobNotFoundError,
    JobNotRunningError,
    McpInvalidParamsError,
    McpRequestRefusedError,
    McpTaskEndedError,
    McpTaskNotFoundError,
    McpTaskNotSupportedError,
    McpTaskStillWorkingError,
    ToolNotAvailableError,
)
from toolgate.mcp.server import MODERN_REVISION, Extension, McpContext, Method, ShapedResult
from toolgate.mcp.tools import call_tool, envelope_result
from toolgate.service.jobs.terms import JOB_STATUS_TOOL, JobStatus, is_job_id, job_pattern
from toolgate.spec.models import CanonicalTool

if TYPE_CHECKING:
    # The jobs code loads with the first task (through `job_queries`), not with every MCP request.
    from toolgate.service.jobs.queries import JobQueries
    from toolgate.service.jobs.records import JobRecord
    from toolgate.service.jobs.views import JobView

TASKS_REVISION = "2025-11-25"
EXTENSION_ID = "io.modelcontextprotocol/tasks"
RELATED_TASK_META_KEY = "io.modelcontextprotocol/related-task"
_CLIENT_CAPABILITIES_META_KEY = "io.modelcontextprotocol/clientCapabilities"
_CURSOR_PREFIX = "tk1:"
_MAX_CURSOR_CHARS = 96
_ECHO_CHARS = 40
#: Tasks in one `tasks/list` page.
LIST_PAGE_SIZE = 50
#: `tasks/result` answers this long before the request's deadline, so the answer still gets out.
_RESULT_MARGIN_SECONDS = 1.0
#: How often a waiting `tasks/result` re-reads the job: its poll interval, within these bounds.
_RESULT_RECHECK_SECONDS = (0.25, 2.0)
_TASK_STATUS = {
    JobStatus.RUNNING: "working",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "cancelled",
}

_Params = TypeVar("_Params", bound=BaseModel)

#: Waits between the re-reads of a blocking `tasks/result`.
pause: Callable[[float], None] = time.sleep


# --- Capabilities and tool listing ----------------------------------------------------------------


def tasks_capabilities(revision: str) -> dict[str, Any]:
    if revision == TASKS_REVISION:
        return {"tasks": {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}}
    if revision == MODERN_REVISION:
        return {"extensions": {EXTENSION_ID: {}}}
    return {}


def long_running(tool: CanonicalTool) -> bool:
    return tool.name != JOB_STATUS_TOOL and job_pattern(tool) is not None


def declare_task_support(revision: str, tool: CanonicalTool, definition: dict[str, Any]) -> dict[str, Any]:
    """A long-running tool may run as a task at 2025-11-25 ("optional": without one, it answers the job
    handle as REST does); the others declare nothing, the spec's "forbidden"."""
    if revision != TASKS_REVISION or not long_running(tool):
        return definition
    return {**definition, "execution": {"taskSupport": "optional"}}


# --- Status mapping ---------------------------------------------------------------------------


def task_status(view: JobView) -> str:
    """The task status of a job as its tenant sees it (a job past its deadline shows as failed)."""
    return _TASK_STATUS[view.status]


def ttl_ms(job: JobRecord) -> int:
    """The task's lifetime from its creation: the job row's, until DynamoDB's TTL removes it."""
    return int((job.expires_at - job.created_at).total_seconds() * 1000)


def poll_interval_ms(job: JobRecord, queries: JobQueries) -> int:
    """When the job may next change (`JobQueries.next_change_seconds`), at least a second."""
    return max(queries.next_change_seconds(job), 1) * 1000


def _timestamp(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _status_message(view: JobView) -> str | None:
    if view.error is not None:
        return f"{view.error.code}: {view.error.message}"
    if view.status is JobStatus.RUNNING:
        return f"The operation '{view.tool}' is running at the API."
    return None


def legacy_task(job: JobRecord, view: JobView, queries: JobQueries) -> Task:
    """The task at 2025-11-25: an ended job's failure (isError) is `failed`, as that revision says."""
    return Task(
        task_id=job.job_id,
        status=task_status(view),
        status_message=_status_message(view),
        created_at=_timestamp(job.created_at),
        last_updated_at=_timestamp(view.updated_at),
        ttl=ttl_ms(job),
        poll_interval=poll_interval_ms(job, queries) if view.status is JobStatus.RUNNING else None,
    )


def extension_task(job: JobRecord, view: JobView, queries: JobQueries) -> dict[str, Any]:
    """The task at 2026-07-28 (SEP-2663's `DetailedTask`): an ended job is `completed` with the tool
    call's result (isError for a job that failed), or `cancelled`."""
    status = "working" if view.status is JobStatus.RUNNING else "completed"
    if view.status is JobStatus.CANCELLED:
        status = "cancelled"
    task: dict[str, Any] = {
        "taskId": job.job_id,
        "status": status,
        "createdAt": _timestamp(job.created_at),
        "lastUpdatedAt": _timestamp(view.updated_at),
        "ttlMs": ttl_ms(job),
    }
    message = _status_message(view)
    if message is not None:
        task["statusMessage"] = message
    if status == "working":
        task["pollIntervalMs"] = poll_interval_ms(job, queries)
    if status == "completed":
        task["result"] = _dumped(tool_result(view))
    return task


def tool_result(view: JobView) -> CallToolResult:
    """What the tool call would have answered had it waited for the job: Toolgate's envelope, with the
    job's result as `body`, or its error. `job` in it marks a body the documented schema does not vouch
    for (the result is read at the status answer's `resultPointer`)."""
    envelope: dict[str, Any] = {"ok": view.status is JobStatus.SUCCEEDED}
    if view.target_status is not None:
        envelope["status"] = view.target_status
    if view.result is not None:
        envelope["body"] = view.result
    if view.continuation is not None:
        envelope["truncated"] = True
        envelope["continuation"] = view.continuation.model_dump()
        envelope["hint"] = (
            f"The result was cut; read the rest with GET /v1/continuations/{view.continuation.handle}"
            f"?page=1 and onwards ({view.continuation.pages} pages)."
        )
    if view.error is not None:
        envelope["error"] = view.error.model_dump()
    envelope["job"] = {"job_id": view.job_id, "status": view.status.value}
    return envelope_result(envelope)


# --- tools/call -------------------------------------------------------------------------------------


def call_tool_or_task(context: McpContext, params: dict[str, Any]) -> CallToolResult | ShapedResult:
    """`tools/call`: the core's call; a job it started becomes a task when the client takes tasks."""
    legacy_task_requested = context.revision == TASKS_REVISION and params.get("task") is not None
    if legacy_task_requested:
        _require_long_running(context, params.get("name"))
    result = call_tool(context, params)
    if not (legacy_task_requested or _declares_extension(context, params)):
        return result
    job_id = _started_job(result)
    if job_id is None:
        if not legacy_task_requested:
            return result  # SEP-2663: the server decides; a call that started no job answers as it is
        raise _not_started(result)
    queries = context.service.job_queries()
    # The row was written with a conditional PutItem; this strongly consistent read is what tasks/get reads.
    job = _job(queries, context, job_id)
    view = queries.view(job)
    if legacy_task_requested:
        created = CreateTaskResult(task=legacy_task(job, view, queries))
        return ShapedResult(_dumped(created))
    return ShapedResult({**extension_task(job, view, queries), "resultType": "task"})


def _declares_extension(context: McpContext, params: Mapping[str, Any]) -> bool:
    if context.revision != MODERN_REVISION:
        return False
    meta = params.get("_meta")
    capabilities = meta.get(_CLIENT_CAPABILITIES_META_KEY) if isinstance(meta, dict) else None
    extensions = capabilities.get("extensions") if isinstance(capabilities, dict) else None
    return isinstance(extensions, dict) and EXTENSION_ID in extensions


def _require_long_running(context: McpContext, name: object) -> None:
    tool = None
    if isinstance(name, str) and name != JOB_STATUS_TOOL:
        try:
            tool = context.service.tool(context.assistant_id, name)
        except ToolNotAvailableError as error:
            raise McpInvalidParamsError(error.message, details={"reason": error.code}) from None
    if tool is None or not long_running(tool):
        raise McpTaskNotSupportedError(
            f"Tool '{str(name)[:_ECHO_CHARS]}' is not long-running: it declares no execution.taskSupport. "
            "Call it without `task`."
        )


def _started_job(result: CallToolResult) -> str | None:
    envelope = result.structured_content or {}
    job = envelope.get("job")
    job_id = job.get("job_id") if isinstance(job, dict) else None
    return job_id if envelope.get("ok") is True and isinstance(job_id, str) else None


def _not_started(result: CallToolResult) -> McpRequestRefusedError:
    envelope = result.structured_content or {}
    found = envelope.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    return McpRequestRefusedError(
        str(error.get("message") or "The tool call started no task."),
        http_status=400,
        details={"code": str(error.get("code") or McpRequestRefusedError.code)},
    )


# --- tasks/* ------------------------------------------------------------------------------------


def get_task(context: McpContext, params: dict[str, Any]) -> GetTaskResult | dict[str, Any]:
    task_id = _params(GetTaskRequestParams, params).task_id
    queries = context.service.job_queries()
    job = _job(queries, context, task_id)
    view = queries.view(job)
    if context.modern:
        return extension_task(job, view, queries)
    task = legacy_task(job, view, queries)
    return GetTaskResult.model_validate(task.model_dump(by_alias=True))


def task_result(context: McpContext, params: dict[str, Any]) -> dict[str, Any]:
    """`tasks/result` (2025-11-25): the tool call's result once the task ended; until then it waits, within
    the request's time budget (see the module's note)."""
    task_id = _params(GetTaskPayloadRequestParams, params).task_id
    queries = context.service.job_queries()
    job = _job(queries, context, task_id)
    view = queries.view(job)
    while view.status is JobStatus.RUNNING:
        left = context.deadline.remaining() - _RESULT_MARGIN_SECONDS
        if left <= 0:
            raise McpTaskStillWorkingError(
                f"Task {task_id} is still working (checked until this request's time ran out). Call "
                f"tasks/result again, or poll tasks/get every {poll_interval_ms(job, queries)} ms.",
                details={"taskId": task_id},
            )
        low, high = _RESULT_RECHECK_SECONDS
        pause(min(max(poll_interval_ms(job, queries) / 1000, low), high, left))
        job = _job(queries, context, task_id)
        view = queries.view(job)
    result = _dumped(tool_result(view))
    result["_meta"] = {RELATED_TASK_META_KEY: {"taskId": task_id}}
    return result


def list_tasks(context: McpContext, params: dict[str, Any]) -> ListTasksResult:
    """`tasks/list` (2025-11-25): the assistant's tasks in the caller's tenant, a page at a time."""
    cursor = _params(PaginatedRequestParams, params).cursor
    queries = context.service.job_queries()
    page = queries.page(assistant_id=context.assistant_id, after=decode_cursor(cursor), limit=LIST_PAGE_SIZE)
    tasks = [legacy_task(job, queries.view(job), queries) for job in page.jobs]
    next_cursor = encode_cursor(page.after) if page.after is not None else None
    return ListTasksResult(tasks=tasks, next_cursor=next_cursor)


def cancel_task(context: McpContext, params: dict[str, Any]) -> CancelTaskResult | dict[str, Any]:
    """Stops the job. 2025-11-25 answers the cancelled task, and refuses a task that already ended;
    2026-07-28's is an acknowledgement, also when the task ended first (SEP-2663)."""
    task_id = _params(CancelTaskRequestParams, params).task_id
    queries = context.service.job_queries()
    try:
        queries.cancel(task_id, assistant_id=context.assistant_id)
    except JobNotFoundError:
        raise _not_found(task_id) from None
    except JobNotRunningError as error:
        if context.modern:
            return {}
        raise McpTaskEndedError(f"Cannot cancel task {task_id}: {error.message}") from None
    if context.modern:
        return {}
    job = _job(queries, context, task_id)
    cancelled = legacy_task(job, queries.view(job), queries)
    return CancelTaskResult.model_validate(cancelled.model_dump(by_alias=True))


def update_task(context: McpContext, params: dict[str, Any]) -> dict[str, Any]:
    """`tasks/update` (2026-07-28): an acknowledgement. A job never asks for input, so any
    `inputResponses` answer no outstanding request and are ignored, as SEP-2663 says."""
    task_id = params.get("taskId")
    if not isinstance(task_id, str) or not isinstance(params.get("inputResponses"), dict):
        raise McpInvalidParamsError("tasks/update takes {taskId: string, inputResponses: object}.")
    _job(context.service.job_queries(), context, task_id)
    return {}


# --- Helpers ------------------------------------------------------------------------------------


def _job(queries: JobQueries, context: McpContext, task_id: str) -> JobRecord:
    try:
        return queries.record(task_id, assistant_id=context.assistant_id)
    except JobNotFoundError:
        raise _not_found(task_id) from None


def _not_found(task_id: str) -> McpTaskNotFoundError:
    return McpTaskNotFoundError(
        f"No task '{task_id[:_ECHO_CHARS]}' on this server: a task belongs to the tenant and assistant "
        "that started it, and ended tasks are removed when their ttl has passed."
    )


def _params(model: type[_Params], params: Mapping[str, Any]) -> _Params:
    try:
        return model.model_validate(params, by_name=False)
    except ValidationError as error:
        fields = ", ".join(
            ".".join(str(part) for part in problem["loc"]) or "params"
            for problem in error.errors(include_input=False, include_url=False)[:3]
        )
        raise McpInvalidParamsError(f"Invalid params ({fields}): see the tasks spec.") from None


def _dumped(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


def encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{after}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The job id a `tasks/list` cursor resumes after; -32602 for one this server did not give."""
    if cursor is None:
        return None
    garbage = McpInvalidParamsError(
        "The cursor is not one this server gave: pass a tasks/list result's nextCursor as it is, or no "
        "cursor for the first page."
    )
    if len(cursor) > _MAX_CURSOR_CHARS:
        raise garbage
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise garbage from None
    job_id = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not is_job_id(job_id):
        raise garbage
    return job_id


_BOTH = frozenset({TASKS_REVISION, MODERN_REVISION})

TASKS = Extension(
    methods={
        "tools/call": Method(call_tool_or_task),
        "tasks/get": Method(get_task, revisions=_BOTH),
        "tasks/result": Method(task_result, revisions=frozenset({TASKS_REVISION})),
        "tasks/list": Method(list_tasks, revisions=frozenset({TASKS_REVISION})),
        "tasks/cancel": Method(cancel_task, revisions=_BOTH),
        "tasks/update": Method(update_task, revisions=frozenset({MODERN_REVISION})),
    },
    capabilities=tasks_capabilities,
    tool_hook=declare_task_support,
)
