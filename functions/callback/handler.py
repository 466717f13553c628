"""The callback function: `POST /v1/callbacks/{callback_id}`, called by a tenant's target API when a
long-running operation it accepted has finished (or reports progress).

There is no API key: the id itself is the authentication (HMAC-signed per tenant, expiring, and usable
once, see `toolgate.service.callback_ids`). Everything about the request is untrusted; a refusal is a
typed error and changes nothing. The id, the body and the task token are never logged.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from toolgate.adapters.aws.invoke import AwsInvokeProvider
from toolgate.adapters.aws.jobs import SigningKey, StepFunctionsTaskTokens, job_resources
from toolgate.adapters.aws.session import new_session
from toolgate.adapters.aws.telemetry import logger, metrics, tracer
from toolgate.errors import CallbackInvalidError, InternalServiceError, ToolgateError
from toolgate.service.callback_ids import CallbackSigner
from toolgate.service.jobs import CallbackReceiver, JobResources
from toolgate.settings import (
    get_callback_settings,
    get_invoke_settings,
    get_job_settings,
    get_service_settings,
)

_JSON_HEADERS = {"Content-Type": "application/json"}


@cache
def _provider() -> AwsInvokeProvider:
    return AwsInvokeProvider(get_service_settings(), get_invoke_settings(), jobs=get_job_settings())


def _resources(tenant_id: str) -> JobResources:
    return job_resources(_provider().for_tenant(tenant_id))


@cache
def _receiver() -> CallbackReceiver:
    session = new_session()
    key = SigningKey(session.client("secretsmanager"), get_callback_settings().signing_secret_arn)
    return CallbackReceiver(
        CallbackSigner(key.value()),
        _resources,
        StepFunctionsTaskTokens(session.client("stepfunctions")),
        get_job_settings(),
    )


def receive(event: Mapping[str, Any]) -> dict[str, Any]:
    callback_id = (event.get("pathParameters") or {}).get("callback_id")
    if not isinstance(callback_id, str):
        raise CallbackInvalidError("This is not a callback URL Toolgate issued; nothing was changed.")
    ack = _receiver().receive(callback_id, _body(event))
    logger.info("callback accepted", extra={"job_id": ack.job_id, "status": ack.status.value})
    return _response(200, ack.model_dump(mode="json"))


def _body(event: Mapping[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(raw).encode("utf-8", errors="replace")
    try:
        return base64.b64decode(str(raw), validate=True)
    except (binascii.Error, ValueError):
        raise CallbackInvalidError("The callback body is not valid base64; nothing was changed.") from None


def _response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": _JSON_HEADERS,
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return receive(event)
    except ToolgateError as error:
        logger.info("callback refused", extra={"error_code": error.code, "http_status": error.http_status})
        metrics.add_metric(name="CallbacksRefused", unit=MetricUnit.Count, value=1)
        return _response(error.http_status, {"error": error.to_dict()})
    except Exception as error:
        correlation_id = logger.get_correlation_id() or context.aws_request_id
        logger.exception("unexpected error", extra={"error_type": type(error).__name__})
        failure = InternalServiceError(
            f"An unexpected error occurred; quote correlation id {correlation_id} when reporting it.",
            details={"correlation_id": correlation_id},
        )
        return _response(failure.http_status, {"error": failure.to_dict()})
