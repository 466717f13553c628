"""The service in miniature for handler tests: the environment the CDK stack gives the functions, the
tests' own AWS session, and `Service`, which drives the real handlers over moto. The `service` fixture
(conftest.py) builds the moto world this module describes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service_harness import (
    ACCOUNT_ID,
    BUCKET_NAME,
    HARNESS_KEYS_STORED,
    METHOD_ARN,
    REGION,
    TABLE_NAME,
    TENANT_ROLE_ARN,
    ApiResponse,
    FakeLambdaContext,
    Sequencers,
    api_event,
    s3_notification,
    sqs_event,
)

SERVICE_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "TOOLGATE_TABLE_NAME": TABLE_NAME,
    "TOOLGATE_BUCKET_NAME": BUCKET_NAME,
    "TOOLGATE_TENANT_ROLE_ARN": TENANT_ROLE_ARN,
    "TOOLGATE_SECRET_PREFIX": "toolgate/tenants",
    "POWERTOOLS_SERVICE_NAME": "toolgate",
    "POWERTOOLS_METRICS_NAMESPACE": "Toolgate",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "LOG_LEVEL": "INFO",
}

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringLike": {"aws:RequestTag/tenant_id": "?*"}},
        }
    ],
}


def clear_service_caches() -> None:
    from toolgate.settings import get_catalog_settings, get_service_settings, get_settings
    from toolgate.wiring import clear_caches

    get_settings.cache_clear()
    get_catalog_settings.cache_clear()
    get_service_settings.cache_clear()
    HARNESS_KEYS_STORED.clear()
    clear_caches()


def aws_session() -> Any:
    """The tests' own AWS session (the admin's view), sharing the service's model loader: fast to make."""
    from toolgate.adapters.aws.session import new_session

    return new_session(region_name=REGION)


@dataclass
class Service:
    """The deployed service in miniature: real handlers over moto."""

    #: The deployment's usage plan for tenants' API Gateway usage keys.
    usage_plan_id: str = ""
    sequencers: Sequencers = field(default_factory=Sequencers)
    #: Every raw API response body, for the canary checks.
    responses: list[str] = field(default_factory=list)

    @property
    def table(self) -> Any:
        return aws_session().resource("dynamodb").Table(TABLE_NAME)

    @property
    def s3(self) -> Any:
        return aws_session().client("s3")

    @property
    def secrets(self) -> Any:
        return aws_session().client("secretsmanager")

    def api(self, method: str, path: str, *, tenant: str | None = "acme", **kwargs: Any) -> ApiResponse:
        from functions.api.handler import lambda_handler

        raw = lambda_handler(api_event(method, path, tenant=tenant, **kwargs), FakeLambdaContext())
        text = raw.get("body") or ""
        self.responses.append(text)
        body = json.loads(text) if text else None
        return ApiResponse(status=raw["statusCode"], body=body, raw=raw)

    def authorize(self, token: str, *, request_type: bool = False) -> dict[str, Any]:
        from functions.authorizer.handler import lambda_handler

        if request_type:
            event = {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": {"Authorization": token}}
        else:
            event = {"type": "TOKEN", "methodArn": METHOD_ARN, "authorizationToken": token}
        response: dict[str, Any] = lambda_handler(event, FakeLambdaContext())
        return response

    def deliver(self, *bodies: Mapping[str, Any]) -> dict[str, Any]:
        """Send S3 (or EventBridge) event bodies through SQS to the upload function."""
        from functions.upload.handler import lambda_handler

        response: dict[str, Any] = lambda_handler(sqs_event(*bodies), FakeLambdaContext())
        return response

    def put_object(self, key: str, data: bytes) -> dict[str, Any]:
        """Write an object as an admin would, and return the S3 notification it causes."""
        put = self.s3.put_object(Bucket=BUCKET_NAME, Key=key, Body=data)
        return s3_notification(
            key, sequencer=self.sequencers.next(), version_id=put.get("VersionId"), size=len(data)
        )

    def upload(self, key: str, data: bytes) -> dict[str, Any]:
        """Put the object and deliver its event; returns the batch response."""
        return self.deliver(self.put_object(key, data))

    def bootstrap(self, tenant: str) -> str:
        from toolgate.adapters.aws.dynamodb import DynamoTenantStore
        from toolgate.service.api_keys import bootstrap_tenant

        store = DynamoTenantStore(self.table, tenant)
        return bootstrap_tenant(store, "bootstrap", self.usage_keys, TABLE_NAME).key

    @property
    def usage_keys(self) -> Any:
        from toolgate.adapters.aws.usage_keys import ApiGatewayUsageKeys

        return ApiGatewayUsageKeys(aws_session().client("apigateway"), self.usage_plan_id)

    def usage_plan_key_values(self) -> list[str]:
        """The values of the API keys in the usage plan, as API Gateway lists them."""
        client = aws_session().client("apigateway")
        return [key["value"] for key in client.get_usage_plan_keys(usagePlanId=self.usage_plan_id)["items"]]

    def table_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {}
        while True:
            page = self.table.scan(**arguments)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def all_objects(self) -> dict[str, bytes]:
        """Every version of every object in the bucket."""
        found: dict[str, bytes] = {}
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET_NAME):
            for version in page.get("Versions", []):
                body = self.s3.get_object(
                    Bucket=BUCKET_NAME, Key=version["Key"], VersionId=version["VersionId"]
                )
                found[f"{version['Key']}@{version['VersionId']}"] = body["Body"].read()
        return found
