"""The Lambda authorizer (TOKEN or REQUEST type): a tenant API key in `Authorization` becomes the context
`{tenant_id, role, principal, key_id}` that API Gateway hands to the API and invoke functions, and the
tenant's usage key (`usageIdentifierKey`), by which API Gateway applies the per-tenant throttle of the
deployment's usage plan before any function runs (`toolgate.service.usage_keys`).

The policy allows every route of the stage, because API Gateway caches it per key. That cached Allow
outlives a revocation, so the functions read the key's row again by `key_id` before each request's work.
Any bad key gets API Gateway's 401 (the function fails with exactly "Unauthorized"); the key is never
logged.
"""

from __future__ import annotations

import gc

# Cold start: no collection pass while the modules load; `resume_after_init()` ends the handler.
gc.disable()

from typing import TYPE_CHECKING, Any

from toolgate.adapters.aws.snapstart import register_restore_hooks
from toolgate.adapters.aws.telemetry import logger, tracer
from toolgate.edge import header_values
from toolgate.errors import ApiKeyInvalidError
from toolgate.gc_pause import resume_after_init
from toolgate.service.api_keys import authenticate
from toolgate.service.usage_keys import usage_key_value
from toolgate.settings import get_service_settings
from toolgate.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

wiring = Wiring()
#: What every request imports on first use rather than at init (bench/cold_start.py counts it).
FIRST_REQUEST_MODULES = ("toolgate.adapters.aws.dynamodb", "toolgate.adapters.aws.session")
# SnapStart: the snapshot holds what every request needs (those modules, the models, the AWS service
# models); each environment restored from it starts its own adapters and random seed.
register_restore_hooks(modules=FIRST_REQUEST_MODULES, services=("dynamodb",))


class UnauthorizedError(Exception):
    """API Gateway answers 401 when an authorizer fails with exactly the message "Unauthorized"."""


def allow_every_route(method_arn: str, principal_id: str, context: dict[str, Any]) -> dict[str, Any]:
    """The policy allowing every method and path of the stage `method_arn` names, with `context`.

    What Powertools' `APIGatewayAuthorizerResponse.from_route_arn(...).allow_all_routes()` builds, without
    importing its event classes on every cold start (issue 16); the partition is the ARN's own.
    """
    # arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path}
    api_arn, _, route = method_arn.partition("/")
    stage = route.split("/", 1)[0]
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{api_arn}/{stage}/*/*"]}
            ],
        },
        "context": context,
    }


def _presented_key(event: dict[str, Any]) -> str:
    token = event.get("authorizationToken")
    if isinstance(token, str):
        return token
    return next((value for value in header_values(event, "authorization") if isinstance(value, str)), "")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        caller = authenticate(_presented_key(event), wiring.api_keys)
    except ApiKeyInvalidError:
        logger.info("api key refused")
        raise UnauthorizedError("Unauthorized") from None
    logger.append_keys(tenant_id=caller.tenant_id, principal=caller.principal, key_id=caller.key_id)
    logger.info("api key accepted", extra={"role": caller.role.value})
    answer = allow_every_route(
        event["methodArn"],
        f"{caller.tenant_id}:{caller.principal}",
        {
            "tenant_id": caller.tenant_id,
            "role": caller.role.value,
            "principal": caller.principal,
            "key_id": caller.key_id,
        },
    )
    answer["usageIdentifierKey"] = usage_key_value(get_service_settings().table_name, caller.tenant_id)
    return answer


# Init is done: what it made leaves the collector's generations, and collection resumes.
resume_after_init()
