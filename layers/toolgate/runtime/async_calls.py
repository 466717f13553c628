"""Following a long-running operation: where its status is, what a status answer means, when to look
again, and how a callback URL reaches the target. Pure: the calls themselves go through `invoke_tool`."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import re
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from toolgate.errors import JobStatusUrlRefusedError
from toolgate.runtime.envelope import ToolResult
from toolgate.runtime.models import HttpRequest
from toolgate.settings import JobSettings
from toolgate.spec.models import CALLBACK_LOCATIONS, ArgumentLocation, AsyncPattern, CanonicalTool
from toolgate.spec.refs import lookup_pointer

#: Status values read as done or failed when the spec names none (compared case-insensitively).
DEFAULT_SUCCESS_VALUES = frozenset(
    {"succeeded", "success", "successful", "completed", "complete", "done", "finished", "ready"}
)
DEFAULT_FAILURE_VALUES = frozenset(
    {"failed", "failure", "error", "errored", "cancelled", "canceled", "aborted", "rejected", "expired"}
)
#: Where the status is looked for when the spec names no `statusPointer`.
DEFAULT_STATUS_POINTERS = ("/status", "/state")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Characters kept as they are when a status URL's path or query is re-encoded: all but braces.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
#: Retry-After as delta-seconds: ASCII digits only (`str.isdigit` also takes superscripts).
_DELTA_SECONDS = re.compile(r"^[0-9]+$")
_ECHO_CHARS = 200


class Phase(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class StatusReading(NamedTuple):
    phase: Phase
    #: The status value the answer held, when it held one.
    status_value: str | None = None
    #: For a finished operation: the value at the result pointer, or the whole body.
    result: Any = None


def resolve_status_url(request_url: str, location: str) -> str:
    """The absolute status URL of a `Location` answer to `request_url`. It must stay on the request's
    origin (scheme, host and port): a target cannot send the poller elsewhere."""
    not_plain = JobStatusUrlRefusedError(
        f"The status URL '{location[:_ECHO_CHARS]}' is not a plain http(s) URL; the job cannot be followed."
    )
    origin = urlsplit(request_url)
    try:
        resolved = urlsplit(urljoin(request_url, location.strip()))
        if resolved.username is not None or resolved.password is not None or not resolved.hostname:
            raise not_plain
        same_origin = _origin(resolved) == _origin(origin)
    except ValueError:  # urllib's reading of a port that is not one
        raise not_plain from None
    if not same_origin:
        raise JobStatusUrlRefusedError(
            f"The status URL '{location[:_ECHO_CHARS]}' leaves the API's origin "
            f"{origin.scheme}://{origin.netloc}; Toolgate polls only the integration's own host."
        )
    return urlunsplit((resolved.scheme, resolved.netloc, resolved.path or "/", resolved.query, ""))


def status_request_tool(tool: CanonicalTool, status_url: str) -> CanonicalTool:
    """A GET of `status_url` that authenticates like `tool`: same security, no arguments."""
    parts = urlsplit(status_url)
    return tool.model_copy(
        update={
            "method": "GET",
            # Braces would read as path templates; the URL is already encoded otherwise.
            "path": quote(parts.path, safe=_PATH_SAFE),
            "server_url": urlunsplit(
                (parts.scheme, parts.netloc, "", quote(parts.query, safe=_QUERY_SAFE), "")
            ),
            "bindings": [],
            "body": None,
            "input_schema": {"type": "object", "properties": {}, "additionalProperties": False},
            "output_schema": None,
            "idempotency_header": None,
            "async_pattern": None,
        }
    )


def status_arguments(status_tool: CanonicalTool, submitted: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    """Arguments for a status operation: each of its inputs from the submit answer's field of the same
    name, else from the submitted call's arguments."""
    values: dict[str, Any] = {}
    answer = submitted if isinstance(submitted, dict) else {}
    for name in status_tool.input_schema.get("properties", {}):
        if name in answer and answer[name] is not None:
            values[name] = answer[name]
        elif name in arguments:
            values[name] = arguments[name]
    return values


def read_status(pattern: AsyncPattern, result: ToolResult) -> StatusReading:
    """What a 2xx status answer says. 202 is still running; a status field decides when there is one;
    without one, any other 2xx answer is the finished result."""
    body = result.body
    found, value = _status_value(pattern, body)
    if result.status == 202 and not found:
        return StatusReading(Phase.RUNNING)
    if not found:
        return StatusReading(Phase.SUCCEEDED, result=_result(pattern, body))
    text = str(value).strip().lower()
    success = {v.lower() for v in pattern.success_values} or DEFAULT_SUCCESS_VALUES
    failure = {v.lower() for v in pattern.failure_values} or DEFAULT_FAILURE_VALUES
    if text in success:
        return StatusReading(Phase.SUCCEEDED, status_value=str(value), result=_result(pattern, body))
    if text in failure:
        return StatusReading(Phase.FAILED, status_value=str(value), result=body)
    return StatusReading(Phase.RUNNING, status_value=str(value))


def next_wait_seconds(settings: JobSettings, polls: int, retry_after: str | None = None) -> int:
    """Seconds before poll number `polls` (0 for the first): exponential from `first_poll_seconds`, capped;
    a target's `Retry-After` in seconds is honoured within the same bounds."""
    wait = settings.first_poll_seconds * settings.poll_backoff ** min(polls, 64)
    if retry_after is not None and _DELTA_SECONDS.fullmatch(retry_after.strip()):
        wait = max(float(retry_after.strip()), settings.first_poll_seconds)
    return int(min(wait, settings.max_poll_interval_seconds))


def with_callback_url(request: HttpRequest, pattern: AsyncPattern, callback_url: str) -> HttpRequest:
    """`request` carrying `callback_url` in the parameter the spec declares for it."""
    name = pattern.callback_parameter
    if name is None or pattern.callback_location not in CALLBACK_LOCATIONS:
        raise ValueError("the operation declares no header or query parameter for its callback URL")
    if pattern.callback_location == ArgumentLocation.HEADER.value:
        headers = {k: v for k, v in request.headers.items() if k.lower() != name.lower()}
        return request._replace(headers={**headers, name: callback_url})
    parts = urlsplit(request.url)
    pair = f"{quote(name, safe='')}={quote(callback_url, safe='')}"
    query = f"{parts.query}&{pair}" if parts.query else pair
    return request._replace(url=urlunsplit(parts._replace(query=query)))


def _status_value(pattern: AsyncPattern, body: Any) -> tuple[bool, Any]:
    pointers = (pattern.status_pointer,) if pattern.status_pointer else DEFAULT_STATUS_POINTERS
    for pointer in pointers:
        found, value = lookup_pointer(body, pointer)
        if found and isinstance(value, str | int | bool):
            return True, value
    return False, None


def _result(pattern: AsyncPattern, body: Any) -> Any:
    if pattern.result_pointer:
        found, value = lookup_pointer(body, pattern.result_pointer)
        if found:
            return value
    return body


def _origin(parts: Any) -> tuple[str, str, int | None]:
    scheme = str(parts.scheme).lower()
    port = parts.port
    return scheme, str(parts.hostname).lower(), _DEFAULT_PORTS.get(scheme) if port is None else port
