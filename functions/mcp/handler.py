"""The MCP function (API Gateway REST, Lambda proxy): `POST /v1/assistants/{assistant}/mcp` is MCP's
Streamable HTTP transport answered with JSON; GET and DELETE answer 405 (docs/mcp.md).

The event becomes one `HttpRequest` for `toolgate.mcp.server.McpServer`; tool calls run through the same
`InvokeService` as REST invoke. The tenant comes only from the authorizer's context, and the caller's key
row is read again before any message is acted on. The event, the arguments and the results are never
logged or traced.
"""

from __future__ import annotations

import gc

# Cold start: no collection pass while the modules load; `resume_after_init()` ends the handler.
gc.disable()

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from toolgate.adapters.aws.invoke import record_invocation
from toolgate.adapters.aws.snapstart import TENANT_CALL_SERVICES, register_restore_hooks
from toolgate.adapters.aws.telemetry import logger, metrics, tracer
from toolgate.edge import JSON_HEADERS, answer, body_bytes, header_values, json_response
from toolgate.errors import (
    CallInvalidError,
    IdempotencyKeyInvalidError,
    McpOAuthNotSupportedError,
    ToolgateError,
)
from toolgate.gc_pause import resume_after_init
from toolgate.mcp.server import HttpReply, HttpRequest, McpServer, refusal_reply
from toolgate.mcp.tasks import TASKS
from toolgate.mcp.tools import CORE_METHODS, core_capabilities
from toolgate.runtime.transport import Deadline
from toolgate.service.invoke import call_budget_seconds
from toolgate.service.tenancy import tenant_context_from_event
from toolgate.settings import get_invoke_settings, get_mcp_settings
from toolgate.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

wiring = Wiring()
#: What every request imports on first use rather than at init (bench/cold_start.py counts it).
FIRST_REQUEST_MODULES = ("toolgate.adapters.http", "toolgate.dialects.mcp")
# SnapStart: the snapshot holds what every request needs (those modules, the models, the AWS service
# models); each environment restored from it starts its own adapters and random seed.
register_restore_hooks(modules=FIRST_REQUEST_MODULES, services=TENANT_CALL_SERVICES)
server = McpServer(CORE_METHODS, core_capabilities, extensions=[TASKS])

_IDEMPOTENCY_HEADER = "idempotency-key"
_DISCOVERY_PREFIX = "/.well-known/"
_NO_OAUTH = McpOAuthNotSupportedError(
    "This server publishes no OAuth metadata: it takes the assistant's Toolgate API key as "
    "'Authorization: Bearer <key>'. Configure the MCP client with that header (toolgate mcp-config)."
)


def _reply(reply: HttpReply) -> dict[str, Any]:
    if reply.body is None:
        return {
            "statusCode": reply.status,
            "headers": dict(reply.headers),
            "body": "",
            "isBase64Encoded": False,
        }
    return json_response(reply.status, reply.body, {**JSON_HEADERS, **reply.headers})


def _request(event: Mapping[str, Any], context: LambdaContext) -> HttpRequest:
    request_context = event.get("requestContext") or {}
    received_at = request_context.get("requestTimeEpoch")
    budget = call_budget_seconds(
        get_invoke_settings(),
        lambda_remaining_ms=context.get_remaining_time_in_millis(),
        request_time_epoch_ms=received_at if isinstance(received_at, int) else None,
        now_epoch_seconds=time.time(),
    )
    headers = [
        (str(name), str(value))
        for name, values in (event.get("multiValueHeaders") or {}).items()
        for value in (values or [])
    ] or [(str(name), str(value)) for name, value in (event.get("headers") or {}).items()]
    keys = header_values(event, _IDEMPOTENCY_HEADER)
    return HttpRequest(
        method=str(event.get("httpMethod", "")),
        headers=headers,
        body=body_bytes(event, undecodable=_undecodable),
        assistant_id=str((event.get("pathParameters") or {}).get("assistant", "")),
        http_request_id=str(request_context.get("requestId") or context.aws_request_id),
        deadline=Deadline.after(budget),
        idempotency_key=_idempotency_key(keys),
    )


def _undecodable() -> CallInvalidError:
    return CallInvalidError("The body must be one JSON-RPC message, as JSON text.")


def _idempotency_key(values: list[object]) -> str | None:
    if not values:
        return None
    value = values[0]
    if len(values) > 1 or not isinstance(value, str) or not 1 <= len(value) <= 255 or not value.isprintable():
        raise IdempotencyKeyInvalidError(
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters, such as a UUID."
        )
    return value


def _route(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    if str(event.get("resource", "")).startswith(_DISCOVERY_PREFIX):
        return _reply(refusal_reply(_NO_OAUTH))
    caller = tenant_context_from_event(event, getattr(context, "tenant_id", None))
    logger.append_keys(tenant_id=caller.tenant_id, principal=caller.principal)
    try:
        request = _request(event, context)
        reply = server.handle(
            request,
            get_mcp_settings(),
            lambda: wiring.invoke_service(caller, record_invocation),
            wiring.catalogs,
        )
    except ToolgateError as error:
        logger.info("request refused", extra={"error_code": error.code, "http_status": error.http_status})
        reply = refusal_reply(error)
    return _reply(reply)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer(lambda: _route(event, context), context)


# Init is done: what it made leaves the collector's generations, and collection resumes.
resume_after_init()
