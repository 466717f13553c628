"""The callback function: `POST /v1/callbacks/{callback_id}`, called by a tenant's target API when a
long-running operation it accepted has finished (or reports progress).

There is no API key: the id itself is the authentication (HMAC-signed per tenant, expiring, and usable
once, see `toolgate.service.callback_ids`). Everything about the request is untrusted; a refusal is a
typed error and changes nothing. The id, the body and the task token are never logged.
"""

from __future__ import annotations

import gc

# Cold start: no collection pass while the modules load; `resume_after_init()` ends the handler.
gc.disable()

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from toolgate.adapters.aws.snapstart import TENANT_CALL_SERVICES, register_restore_hooks
from toolgate.adapters.aws.telemetry import logger, metrics, tracer
from toolgate.edge import answer, body_bytes, json_response
from toolgate.errors import CallbackInvalidError, ToolgateError
from toolgate.gc_pause import resume_after_init
from toolgate.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

wiring = Wiring()
#: What every request imports on first use rather than at init (bench/cold_start.py counts it).
FIRST_REQUEST_MODULES = (
    "toolgate.adapters.aws.invoke",
    "toolgate.adapters.aws.jobs",
    "toolgate.service.callback_ids",
    "toolgate.service.jobs.callbacks",
)
# SnapStart: the snapshot holds what every request needs (those modules, the models, the AWS service
# models); each environment restored from it starts its own adapters and random seed.
register_restore_hooks(modules=FIRST_REQUEST_MODULES, services=TENANT_CALL_SERVICES)


def receive(event: Mapping[str, Any]) -> dict[str, Any]:
    callback_id = (event.get("pathParameters") or {}).get("callback_id")
    if not isinstance(callback_id, str):
        raise CallbackInvalidError("This is not a callback URL Toolgate issued; nothing was changed.")
    body = body_bytes(event, undecodable=_not_base64)
    ack = wiring.callback_receiver.receive(callback_id, body)
    logger.info("callback accepted", extra={"job_id": ack.job_id, "status": ack.status.value})
    return json_response(200, ack.model_dump(mode="json"))


def _not_base64() -> CallbackInvalidError:
    return CallbackInvalidError("The callback body is not valid base64; nothing was changed.")


def _count_refusal(_: ToolgateError) -> None:
    metrics.add_metric(name="CallbacksRefused", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer(lambda: receive(event), context, on_refusal=_count_refusal)


# Init is done: what it made leaves the collector's generations, and collection resumes.
resume_after_init()
