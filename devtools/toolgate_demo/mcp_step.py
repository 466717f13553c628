"""The demo's MCP step: the assistant as an MCP server, reached by the official `mcp` SDK client over
Streamable HTTP at 2026-07-28 with an agent key as `Authorization: Bearer`, as Claude, Cursor or an agent
framework would reach it. It lists the tools, calls `create_support_case`, and runs the export as a task.

The SDK ships no client for the `io.modelcontextprotocol/tasks` extension (SEP-2663), only the seam for
one (`ClientExtension` and `ResultClaim`); `TasksExtension` below is that small client: it declares the
extension, and when `tools/call` answers `CreateTaskResult` it polls `tasks/get` at the task's
`pollIntervalMs` until the task ends, then hands `call_tool` the task's `CallToolResult`."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx2
from mcp.client import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, Request, RequestParams, Result

from toolgate_demo.journey import JourneyError

#: The stateless revision: no initialize handshake, no session.
PROTOCOL_VERSION = "2026-07-28"
TASKS_EXTENSION = "io.modelcontextprotocol/tasks"


class McpStepError(JourneyError):
    """The MCP step did not give what it should, or the MCP client failed."""


@dataclass
class McpStepResult:
    tools: list[str] = field(default_factory=list)
    #: `structuredContent` of the `create_support_case` call: Toolgate's envelope (`ok`, `status`, `body`).
    case: dict[str, Any] = field(default_factory=dict)
    task_id: str = ""
    #: The task's statuses in the order seen, each once: `["working", "completed"]`.
    task_statuses: list[str] = field(default_factory=list)
    #: `structuredContent` of the task's result: the envelope with the export's result as `body`.
    export: dict[str, Any] = field(default_factory=dict)


# --- The tasks extension, client side (SEP-2663's shapes) --------------------------------------------


class CreatedTask(Result):
    result_type: Literal["task"]
    task_id: str
    status: str
    status_message: str | None = None
    poll_interval_ms: int | None = None


class TaskParams(RequestParams):
    task_id: str


class GetTask(Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskParams
    #: The `Mcp-Name` header carries the task id, as SEP-2663 asks of clients.
    name_param = "taskId"


class TaskState(Result):
    task_id: str
    status: str
    status_message: str | None = None
    poll_interval_ms: int | None = None
    result: dict[str, Any] | None = None


class TasksExtension(ClientExtension):
    """Turns a created task into its final tool result, reporting each new status to `on_status`."""

    identifier = TASKS_EXTENSION

    def __init__(self, on_status: Callable[[str, str, str | None], None]) -> None:
        self._on_status = on_status
        #: The `CreateTaskResult` the server answered, once it has.
        self.created: CreatedTask | None = None
        self.statuses: list[str] = []

    @property
    def task_id(self) -> str:
        return self.created.task_id if self.created is not None else ""

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self._resolve)]

    def _seen(self, task_id: str, status: str, message: str | None) -> None:
        if not self.statuses or self.statuses[-1] != status:
            self.statuses.append(status)
            self._on_status(task_id, status, message)

    async def _resolve(self, created: CreatedTask, context: ClaimContext) -> CallToolResult:
        self.created = created
        self._seen(created.task_id, created.status, created.status_message)
        interval_ms = created.poll_interval_ms or 1000
        # The caller bounds the whole step with a deadline; a task ends or that deadline does.
        while True:
            await anyio.sleep(interval_ms / 1000)
            state = await context.session.send_request(
                GetTask(params=TaskParams(task_id=created.task_id)), TaskState
            )
            self._seen(state.task_id, state.status, state.status_message)
            if state.status == "completed" and state.result is not None:
                return CallToolResult.model_validate(state.result)
            if state.status != "working":
                raise McpStepError(f"task {state.task_id} ended {state.status}: {state.status_message}")
            interval_ms = state.poll_interval_ms or interval_ms


# --- The step ------------------------------------------------------------------------------------


def run_mcp_step(
    mcp_url: str,
    agent_key: str,
    case: dict[str, Any],
    export: dict[str, Any],
    *,
    say: Callable[[str], None] = print,
    timeout: float = 60.0,
) -> McpStepResult:
    """List the tools, call `create_support_case` with `case`, and run `start_case_export` with
    `export` as a task to its result, saying what a user would want to see."""
    result = McpStepResult()

    def on_status(task_id: str, status: str, message: str | None) -> None:
        say(f"   task {task_id}: {status}" + (f" ({message})" if message else ""))

    tasks = TasksExtension(on_status)

    async def session() -> None:
        headers = {"Authorization": f"Bearer {agent_key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=timeout) as http:
            transport = streamable_http_client(mcp_url, http_client=http, terminate_on_close=False)
            with anyio.fail_after(timeout):
                async with Client(transport, mode=PROTOCOL_VERSION, extensions=[tasks]) as client:
                    await _converse(client, case, export, result, say)

    try:
        anyio.run(session)
    except BaseException as error:
        # The SDK's task groups wrap what went wrong; Ctrl-C (not an Exception) goes through unwrapped.
        cause = _innermost(error)
        if isinstance(cause, McpStepError) or not isinstance(cause, Exception):
            raise cause from None
        raise McpStepError(f"the MCP client failed at {mcp_url}: {type(cause).__name__}: {cause}") from None
    result.task_id, result.task_statuses = tasks.task_id, tasks.statuses
    if not result.task_id:
        raise McpStepError("start_case_export did not run as a task")
    exported = result.export["body"]
    say(
        f"   result: {exported['case_count']} case(s) of {export['customer_id']} exported: "
        f"{', '.join(item['case_id'] for item in exported['cases'])}"
    )
    return result


async def _converse(
    client: Client,
    case: dict[str, Any],
    export: dict[str, Any],
    result: McpStepResult,
    say: Callable[[str], None],
) -> None:
    """Every page of tools, one case created, and the export run as a task (the extension resolves it)."""
    cursor: str | None = None
    while True:
        page = await client.list_tools(cursor=cursor)
        result.tools += [tool.name for tool in page.tools]
        cursor = page.next_cursor
        if cursor is None:
            break
    say(f"   tools/list: {len(result.tools)} tools: {', '.join(result.tools)}")

    called = await client.call_tool("create_support_case", case)
    result.case = _envelope("create_support_case", called)
    say(f"   tools/call create_support_case: {_text(called)[:200]}")
    say(f"   grounded: the API created case {result.case['body']['case_id']}")

    say(f"   tools/call start_case_export as a task ({TASKS_EXTENSION}):")
    finished = await client.call_tool("start_case_export", export)
    result.export = _envelope("start_case_export", finished)


def _innermost(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _envelope(tool: str, called: CallToolResult) -> dict[str, Any]:
    """The call's `structuredContent`, which must be a successful envelope."""
    envelope = called.structured_content
    if called.is_error or envelope is None or not envelope.get("ok"):
        raise McpStepError(f"{tool} failed: {_text(called)[:500]}")
    return dict(envelope)


def _text(called: CallToolResult) -> str:
    return " ".join(getattr(block, "text", json.dumps(block.model_dump())) for block in called.content)
