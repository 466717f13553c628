"""Builders for the events the service's functions receive, and a harness that calls the real handlers."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from toolgate.service.jobs.terms import JOB_STATUS_TOOL
from toolgate.spec.compiler import compile_path
from toolgate_demo import support_desk_spec

TABLE_NAME = "toolgate-test"
BUCKET_NAME = "toolgate-test-specs"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
TENANT_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/toolgate-tenant-access"
METHOD_ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:abc123/prod/GET/v1/integrations"
#: `key_id=HARNESS_KEY`: the authorizer context names a live key of the caller's tenant, role and principal.
HARNESS_KEY = "harness"


@dataclass
class FakeLambdaContext:
    function_name: str = "toolgate-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:toolgate-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: Lambda's tenant isolation mode: the tenant this environment runs for.
    tenant_id: str | None = None

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


#: The harness keys stored in the current moto table (the `service` fixture clears it with the table).
HARNESS_KEYS_STORED: set[tuple[str, str]] = set()


def harness_key_id(tenant: str, role: str, principal: str) -> str:
    """The id of a live API key of `tenant` with this role and principal, stored in the (moto) table the
    first time it is asked for: the key a test's authorizer context stands for. Not a tenant id: no row."""
    from toolgate.adapters.aws.dynamodb import DynamoTenantStore
    from toolgate.adapters.aws.session import new_session
    from toolgate.service.models import ApiKeyRecord, utc_now
    from toolgate.service.tenancy import Role, is_tenant_id

    key_id = hashlib.sha256(f"{tenant}:{role}:{principal}".encode()).hexdigest()[:16]
    valid = is_tenant_id(tenant) and role in {member.value for member in Role}
    if valid and (tenant, key_id) not in HARNESS_KEYS_STORED:
        table = new_session(region_name=REGION).resource("dynamodb").Table(TABLE_NAME)
        record = ApiKeyRecord(
            key_id=key_id, key_hash="0" * 64, role=Role(role), principal=principal, created_at=utc_now()
        )
        DynamoTenantStore(table, tenant).save_api_key(record, expected_version=None)
        HARNESS_KEYS_STORED.add((tenant, key_id))
    return key_id


def authorizer_context(tenant: str, role: str, principal: str, key_id: str | None) -> dict[str, Any]:
    """The context the authorizer gives API Gateway; `key_id=HARNESS_KEY` names the harness's live key,
    None leaves the key id out."""
    context = {
        "tenant_id": tenant,
        "role": role,
        "principal": principal,
        "principalId": f"{tenant}:{principal}",
    }
    if key_id is not None:
        context["key_id"] = harness_key_id(tenant, role, principal) if key_id == HARNESS_KEY else key_id
    return context


def api_event(
    method: str,
    path: str,
    *,
    tenant: str | None,
    role: str = "admin",
    principal: str = "tester",
    key_id: str | None = HARNESS_KEY,
    body: str | bytes | Mapping[str, Any] | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event; `tenant=None` means no authorizer context. By default the caller
    holds a live key (`harness_key_id`); `key_id` names another key, or None for none."""
    all_headers = {"content-type": "application/json", **(headers or {})}
    encoded = False
    if isinstance(body, Mapping):
        text: str | None = json.dumps(body)
    elif isinstance(body, bytes):
        text, encoded = base64.b64encode(body).decode("ascii"), True
    else:
        text = body
    request_context: dict[str, Any] = {
        "requestId": str(uuid.uuid4()),
        "stage": "prod",
        "httpMethod": method,
        "path": f"/prod{path}",
        "resourcePath": "/{proxy+}",
        "accountId": ACCOUNT_ID,
        "apiId": "abc123",
        "identity": {"sourceIp": "198.51.100.7"},
    }
    if tenant is not None:
        request_context["authorizer"] = authorizer_context(tenant, role, principal, key_id)
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.removeprefix("/")},
        "stageVariables": None,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": encoded,
    }


def s3_notification(
    key: str, *, sequencer: str, version_id: str | None = None, size: int = 100
) -> dict[str, Any]:
    """An S3 event notification for one ObjectCreated:Put (keys are URL-encoded, as S3 sends them)."""
    obj: dict[str, Any] = {
        "key": key.replace(" ", "+"),
        "size": size,
        "eTag": "0" * 32,
        "sequencer": sequencer,
    }
    if version_id is not None:
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventName": "ObjectCreated:Put",
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": BUCKET_NAME}, "object": obj},
            }
        ]
    }


def eventbridge_object_created(key: str, *, sequencer: str, version_id: str | None = None) -> dict[str, Any]:
    return {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {
            "bucket": {"name": BUCKET_NAME},
            "object": {"key": key, "size": 100, "sequencer": sequencer, "version-id": version_id},
        },
    }


def sqs_event(*bodies: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "handle",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:toolgate-uploads",
                "awsRegion": REGION,
            }
            for body in bodies
        ]
    }


@dataclass
class ApiResponse:
    status: int
    body: Any
    raw: dict[str, Any]

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("code"))
        return None


@dataclass
class Sequencers:
    """Increasing S3 sequencers, as S3 would give for successive writes of one key."""

    value: int = 0x0055AED6DCD90281E5

    def next(self) -> str:
        self.value += 1
        return f"{self.value:X}"

    def __iter__(self) -> Iterator[str]:
        while True:
            yield self.next()


@cache
def support_desk_tools() -> frozenset[str]:
    """The tool names the compiler makes of the Support Desk spec (what every listing must show)."""
    return frozenset(tool.name for tool in compile_path(support_desk_spec()).tools)


def support_desk_listing() -> frozenset[str]:
    """An assistant's tool list with the whole Support Desk: its tools plus Toolgate's job-status tool,
    which comes with the spec's long-running operations."""
    return support_desk_tools() | {JOB_STATUS_TOOL}
