"""The deployment's usage plan and its per-tenant API keys in API Gateway (`toolgate.service.usage_keys`).

Used by the operator's bootstrap (`toolgate admin`) with the operator's own credentials: it needs
`apigateway:POST` on `/apikeys` and `/usageplans/{plan}/keys`, `apigateway:GET` on `/apikeys`, and
`apigateway:PATCH` on `/apikeys/*` (to enable a disabled key). No function holds these permissions.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from toolgate.adapters.aws.errors import error_code
from toolgate.errors import UsageKeyError

_CONFLICT = "ConflictException"


class ApiGatewayUsageKeys:
    """`UsageKeyRegistry` over API Gateway's `apikeys` and `usageplans/{plan}/keys`."""

    def __init__(self, client: Any, usage_plan_id: str) -> None:
        self._client = client
        self.usage_plan_id = usage_plan_id

    def ensure_key(self, name: str, value: str) -> str:
        try:
            key_id = self._create_or_find(name, value)
            self._add_to_plan(key_id)
        except (ClientError, BotoCoreError) as error:
            reason = error_code(error) if isinstance(error, ClientError) else type(error).__name__
            raise UsageKeyError(
                f"API Gateway refused to set up the tenant's usage key in usage plan {self.usage_plan_id} "
                f"({reason}): check that the plan exists (the stack's "
                "TenantUsagePlanId output) and that your credentials may call apigateway:POST on /apikeys "
                "and /usageplans/*/keys. Nothing was stored in the table.",
                details={"usage_plan_id": self.usage_plan_id, "reason": reason},
            ) from None
        return key_id

    def _add_to_plan(self, key_id: str) -> None:
        try:
            self._client.create_usage_plan_key(
                usagePlanId=self.usage_plan_id, keyId=key_id, keyType="API_KEY"
            )
        except ClientError as error:
            if error_code(error) != _CONFLICT:  # Conflict: the key is in the plan already
                raise

    def _create_or_find(self, name: str, value: str) -> str:
        try:
            created = self._client.create_api_key(
                name=name,
                value=value,
                enabled=True,
                description="Toolgate: the tenant's throttle in the usage plan (not a credential).",
            )
            return str(created["id"])
        except ClientError as error:
            if error_code(error) != _CONFLICT:
                raise
        # The value exists already: an earlier bootstrap made it (API Gateway's key values are unique).
        for page in self._client.get_paginator("get_api_keys").paginate(includeValues=True):
            for key in page.get("items", []):
                if key.get("value") == value:
                    if not key.get("enabled", True):
                        self._client.update_api_key(
                            apiKey=key["id"],
                            patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}],
                        )
                    return str(key["id"])
        raise UsageKeyError(
            f"API Gateway says the usage key {name} exists but does not list it; try again.",
            details={"usage_plan_id": self.usage_plan_id},
        )
