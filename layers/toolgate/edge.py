"""The HTTP edge of the API Gateway functions (Lambda proxy): reading a request's body and headers, and
answering with JSON, typed errors included.

Every refusal is `{"error": {"code", "message", ...}}` with the error's own status (and `Retry-After` when
a tenant is over a limit). Anything unexpected becomes INTERNAL_ERROR with a correlation id (API Gateway's
request id, else the Lambda request id) that is also logged with the traceback, never its text.

No AWS SDK or Powertools import here: only the event, the Lambda request id and the functions' logger.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from toolgate.adapters.aws.telemetry import logger
from toolgate.errors import InternalServiceError, TenantLimitError, ToolgateError

JSON_HEADERS = {"Content-Type": "application/json"}


class LambdaContext(Protocol):
    """What the edge reads from the Lambda context."""

    @property
    def aws_request_id(self) -> str: ...


# --- Reading the request ------------------------------------------------------------------------


def body_bytes(event: Mapping[str, Any], *, undecodable: Callable[[], ToolgateError]) -> bytes:
    """The request body as sent; `undecodable()` is raised when API Gateway's base64 does not decode."""
    raw = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(raw).encode("utf-8", errors="replace")
    try:
        return base64.b64decode(str(raw), validate=True)
    except (binascii.Error, ValueError):
        raise undecodable() from None


def json_body(event: Mapping[str, Any], *, undecodable: Callable[[], ToolgateError]) -> object:
    """The request body parsed as JSON; `undecodable()` is raised when it is not JSON text."""
    data = body_bytes(event, undecodable=undecodable)
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        raise undecodable() from None


def header_values(event: Mapping[str, Any], name: str) -> list[object]:
    """Every value of header `name` (any letter case); API Gateway keeps one per spelling."""
    headers = event.get("headers") or {}
    return [value for key, value in headers.items() if isinstance(key, str) and key.lower() == name.lower()]


# --- Answering ----------------------------------------------------------------------------------


def json_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] = JSON_HEADERS
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": dict(headers),
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def error_body(error: ToolgateError) -> dict[str, Any]:
    return {"error": error.to_dict()}


def error_headers(error: ToolgateError) -> dict[str, str]:
    if isinstance(error, TenantLimitError):
        return {**JSON_HEADERS, "Retry-After": str(error.retry_after_seconds)}
    return dict(JSON_HEADERS)


def refused(error: ToolgateError) -> ToolgateError:
    """Log a typed refusal (its code and status, never its message) and hand it back."""
    logger.info("request refused", extra={"error_code": error.code, "http_status": error.http_status})
    return error


def unexpected(error: Exception, context: LambdaContext) -> InternalServiceError:
    """Log an unexpected fault with its traceback, and the typed error that answers it."""
    correlation_id = logger.get_correlation_id() or context.aws_request_id
    logger.exception("unexpected error", extra={"error_type": type(error).__name__})
    return InternalServiceError(
        f"An unexpected error occurred; quote correlation id {correlation_id} when reporting it.",
        details={"correlation_id": correlation_id},
    )


def error_response(error: ToolgateError) -> dict[str, Any]:
    return json_response(error.http_status, error_body(error), error_headers(error))


def answer(
    route: Callable[[], dict[str, Any]],
    context: LambdaContext,
    *,
    on_refusal: Callable[[ToolgateError], None] | None = None,
) -> dict[str, Any]:
    """`route()`'s response; a typed error becomes its refusal, anything else INTERNAL_ERROR."""
    try:
        return route()
    except ToolgateError as error:
        if on_refusal is not None:
            on_refusal(error)
        return error_response(refused(error))
    except Exception as error:
        return error_response(unexpected(error, context))
