"""The invoke function (API Gateway REST, Lambda proxy):

- `POST /v1/assistants/{assistant}/tools/{tool}/invoke` with `{"arguments": {...}}` or a model-native tool
  call, and an optional `Idempotency-Key` header: the result envelope or the matching result block;
- `GET /v1/continuations/{handle}?page=N`: a page of a result too large for one answer;
- `GET /v1/jobs/{job_id}` and `DELETE /v1/jobs/{job_id}`: a long-running operation's status and result,
  and its cancellation.

Each request is read from the event, handed to one `InvokeService` call, and its typed errors become
`{"error": {"code", "message"}}`. The tenant comes only from the authorizer's context, and the caller's key
row is read again before any work (API Gateway's cached Allow outlives a revocation). The event, the
arguments and the results are never logged or traced.
"""

from __future__ import annotations

import gc

# Cold start: no collection pass while the modules load; `resume_after_init()` ends the handler.
gc.disable()

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from toolgate.adapters.aws.invoke import record_invocation
from toolgate.adapters.aws.snapstart import TENANT_CALL_SERVICES, register_restore_hooks
from toolgate.adapters.aws.telemetry import logger, metrics, tracer
from toolgate.edge import answer, header_values, json_body, json_response
from toolgate.errors import (
    CallInvalidError,
    ContinuationPageInvalidError,
    IdempotencyKeyInvalidError,
    RouteNotFoundError,
)
from toolgate.gc_pause import resume_after_init
from toolgate.runtime.transport import Deadline
from toolgate.service.invoke import InvokeRequest, InvokeService, call_budget_seconds
from toolgate.service.tenancy import TenantContext, tenant_context_from_event
from toolgate.settings import get_invoke_settings
from toolgate.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

IDEMPOTENCY_HEADER = "idempotency-key"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$")

wiring = Wiring()
#: What every request imports on first use rather than at init (bench/cold_start.py counts it).
FIRST_REQUEST_MODULES = ("toolgate.adapters.http",)
# SnapStart: the snapshot holds what every request needs (those modules, the models, the AWS service
# models); each environment restored from it starts its own adapters and random seed.
register_restore_hooks(modules=FIRST_REQUEST_MODULES, services=TENANT_CALL_SERVICES)


def _service(caller: TenantContext) -> InvokeService:
    return wiring.invoke_service(caller, record_invocation)


# --- Routes -----------------------------------------------------------------------------------


def invoke(event: Mapping[str, Any], context: LambdaContext, caller: TenantContext) -> dict[str, Any]:
    parameters = event.get("pathParameters") or {}
    request_context = event.get("requestContext") or {}
    received_at = request_context.get("requestTimeEpoch")
    budget = call_budget_seconds(
        get_invoke_settings(),
        lambda_remaining_ms=context.get_remaining_time_in_millis(),
        request_time_epoch_ms=received_at if isinstance(received_at, int) else None,
        now_epoch_seconds=time.time(),
    )
    request = InvokeRequest(
        assistant_id=str(parameters.get("assistant", "")),
        tool_name=str(parameters.get("tool", "")),
        body=json_body(event, undecodable=_not_json),
        request_id=str(request_context.get("requestId") or context.aws_request_id),
        deadline=Deadline.after(budget),
        idempotency_key=_idempotency_key(event),
        tool_format=_tool_format(event.get("queryStringParameters") or {}),
    )
    return json_response(200, _service(caller).invoke(request).response)


def read_continuation(event: Mapping[str, Any], caller: TenantContext) -> dict[str, Any]:
    handle = str((event.get("pathParameters") or {}).get("handle", ""))
    page = _page(event.get("queryStringParameters") or {})
    return json_response(200, _service(caller).read_continuation(handle, page).model_dump(mode="json"))


def read_job(event: Mapping[str, Any], caller: TenantContext) -> dict[str, Any]:
    job_id = str((event.get("pathParameters") or {}).get("job_id", ""))
    return json_response(200, _service(caller).job(job_id).model_dump(mode="json", exclude_none=True))


def cancel_job(event: Mapping[str, Any], caller: TenantContext) -> dict[str, Any]:
    job_id = str((event.get("pathParameters") or {}).get("job_id", ""))
    return json_response(200, _service(caller).cancel_job(job_id).model_dump(mode="json", exclude_none=True))


# --- Reading the event --------------------------------------------------------------------------


def _not_json() -> CallInvalidError:
    return CallInvalidError(
        'The body must be JSON: {"arguments": {...}} or the tool call object the model produced.'
    )


def _idempotency_key(event: Mapping[str, Any]) -> str | None:
    values = header_values(event, IDEMPOTENCY_HEADER)
    if not values:
        return None
    if len(values) > 1 or not isinstance(values[0], str) or not _IDEMPOTENCY_KEY.fullmatch(values[0]):
        raise IdempotencyKeyInvalidError(
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters, such as a UUID."
        )
    return values[0]


def _tool_format(query: Mapping[str, Any]) -> str | None:
    """`?format=`: the format `toolgate_search_tools` answers in (default: the call's own)."""
    value = query.get("format")
    return str(value)[:40] if value is not None else None


def _page(query: Mapping[str, Any]) -> int:
    value = query.get("page", "1")
    if not isinstance(value, str) or not value.isdigit() or len(value) > 9:
        raise ContinuationPageInvalidError("The page must be a whole number, 0 or more: ?page=1.")
    return int(value)


def _route(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    caller = tenant_context_from_event(event, getattr(context, "tenant_id", None))
    logger.append_keys(tenant_id=caller.tenant_id, principal=caller.principal)
    method = event.get("httpMethod")
    parameters = event.get("pathParameters") or {}
    if method == "POST" and {"assistant", "tool"} <= parameters.keys():
        return invoke(event, context, caller)
    if method == "GET" and "handle" in parameters:
        return read_continuation(event, caller)
    if method == "GET" and "job_id" in parameters:
        return read_job(event, caller)
    if method == "DELETE" and "job_id" in parameters:
        return cancel_job(event, caller)
    raise RouteNotFoundError(f"No route {str(method)[:10]} {str(event.get('path'))[:200]}.")


# --- Entry point ------------------------------------------------------------------------------


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer(lambda: _route(event, context), context)


# Init is done: what it made leaves the collector's generations, and collection resumes.
resume_after_init()
