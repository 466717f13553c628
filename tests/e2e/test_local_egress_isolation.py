"""A tenant's tools cannot reach the local stack's own servers, even with loopback egress allowed for the
demo target's port (what `make demo` runs).

moto serves every tenant's S3 objects, secrets and DynamoDB items without checking signatures, and the front
door serves the API: a tool aimed at either would hand one tenant the whole stack. Each test below is an
attack over HTTP through the front door, as an agent would make it, and each must end in EGRESS_DENIED with
nothing read, written or wiped.

A server written as a loopback address is already refused at upload (`URL_IP_LITERAL_REFUSED`), so the
attacker's servers here are public names that resolve to 127.0.0.1, as a DNS record the attacker controls
would (or a rebinding one): the call-time guard is what must hold. The names are resolved by the system
resolver wrapped for this module only.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from e2e_harness import (
    ASSISTANT,
    INTEGRATION,
    Answer,
    Client,
    create_case_call,
    put_upload,
    ready_support_desk_tenant,
    upload_settled,
    wait_for_status,
)
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack

VICTIM = "acme"
ATTACKER = "mallory"
#: The assistants of the attacker's integration aimed at moto, and of the one aimed at the front door.
MOTO_BOT = "mallory-moto"
API_BOT = "mallory-api"
#: An `api_key` credential shaped like a SigV4 Authorization header: moto reads the service from it.
SIGV4_LOOKALIKE = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, "
    "SignedHeaders=host;x-amz-target, Signature=" + "0" * 64
)
#: Operations that are moto's own APIs when the spec's server is moto.
ATTACK_SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Storage", "version": "1"},
    "servers": [{"url": "http://storage.invalid"}],
    "security": [{"sigv4": []}],
    "paths": {
        "/{bucket}": {
            "get": {
                "operationId": "list_objects",
                "parameters": [
                    {"name": "bucket", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "prefix", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "the objects"}},
            }
        },
        "/{bucket}/{key}": {
            "get": {
                "operationId": "get_object",
                "parameters": [
                    {"name": "bucket", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "the object"}},
            }
        },
        "/": {
            "post": {
                "operationId": "aws_json_call",
                "parameters": [
                    {"name": "X-Amz-Target", "in": "header", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {"200": {"description": "the answer"}},
            }
        },
        "/moto-api/reset": {
            "post": {"operationId": "reset_everything", "responses": {"200": {"description": "reset"}}}
        },
    },
    "components": {"securitySchemes": {"sigv4": {"type": "apiKey", "in": "header", "name": "Authorization"}}},
}


#: Public-looking names the attacker points at this machine.
REBOUND_NAMES = ("storage.mallory.test", "api.mallory.test")


@pytest.fixture(scope="module", autouse=True)
def attacker_dns() -> Iterator[None]:
    """The attacker's DNS: its names answer 127.0.0.1; every other name resolves as usual."""
    system_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in REBOUND_NAMES:
            host = "127.0.0.1"
        return system_getaddrinfo(host, port, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        yield


@pytest.fixture(scope="module")
def victim(stack: LocalStack, support_desk: SupportDeskTarget) -> Client:
    """Tenant acme: its spec in S3, its bearer token in Secrets Manager, its keys in DynamoDB."""
    return ready_support_desk_tenant(stack, VICTIM, support_desk.base_url, support_desk.token)


def _attacker_integration(
    stack: LocalStack, client: Client, integration: str, assistant: str, server_url: str
) -> None:
    settings = {"assistants": [assistant], "server_url": server_url}
    put_upload(stack, ATTACKER, integration, "toolgate.json", json.dumps(settings).encode())
    put_upload(stack, ATTACKER, integration, "openapi.json", json.dumps(ATTACK_SPEC).encode())
    wait_for_status(client, integration, lambda status: status["status"] == "ready")
    bound = client.put(
        f"integrations/{integration}/credential", json={"type": "api_key", "value": SIGV4_LOOKALIKE}
    )
    assert bound.status == 200, bound.body


@pytest.fixture(scope="module")
def attacker(stack: LocalStack, victim: Client) -> Client:
    """Tenant mallory, with one integration whose server is moto and one whose server is the front door."""
    client = Client(stack.api_url, stack.bootstrap_tenant(ATTACKER))
    storage, api = REBOUND_NAMES
    _attacker_integration(stack, client, "storage", MOTO_BOT, f"http://{storage}:{stack.moto_port}")
    _attacker_integration(stack, client, "api", API_BOT, f"http://{api}:{stack.api_port}/prod/v1")
    return client


def _invoke(client: Client, tool: str, arguments: dict[str, Any], *, assistant: str = MOTO_BOT) -> Answer:
    return client.post(f"assistants/{assistant}/tools/{tool}/invoke", json={"arguments": arguments})


def _denied(answer: Answer, port: int) -> None:
    assert answer.status == 200, answer.body
    assert answer.body["ok"] is False, answer.body
    assert answer.body["error"]["code"] == "EGRESS_DENIED", answer.body
    assert str(port) in answer.body["error"]["message"]


def _victim_secret_names(stack: LocalStack) -> list[str]:
    secrets = stack.boto3_session().client("secretsmanager", endpoint_url=stack.moto_url)
    names = [entry["Name"] for entry in secrets.list_secrets()["SecretList"]]
    return [name for name in names if f"/{VICTIM}/" in name]


def _api_key_items(stack: LocalStack) -> list[dict[str, Any]]:
    dynamodb = stack.boto3_session().client("dynamodb", endpoint_url=stack.moto_url)
    items: list[dict[str, Any]] = dynamodb.scan(TableName=stack.table_name)["Items"]
    return [
        item
        for item in items
        if any(str(value.get("S", "")).startswith("APIKEY#") for value in item.values())
    ]


def test_upload_aimed_at_motos_address_is_refused_before_anything_is_stored(
    stack: LocalStack, attacker: Client
) -> None:
    settings = {"assistants": ["mallory-literal"], "server_url": stack.moto_url}
    put_upload(stack, ATTACKER, "literal", "toolgate.json", json.dumps(settings).encode())
    put_upload(stack, ATTACKER, "literal", "openapi.json", json.dumps(ATTACK_SPEC).encode())

    status = wait_for_status(attacker, "literal", upload_settled)

    assert status["status"] == "failed", status
    assert status["last_upload"]["error"]["code"] == "URL_IP_LITERAL_REFUSED"
    assert attacker.get("assistants/mallory-literal/tools").body.get("tools", []) == []


def test_tool_aimed_at_moto_cannot_list_or_read_another_tenants_s3_objects(
    stack: LocalStack, attacker: Client
) -> None:
    prefix = f"tenants/{VICTIM}/"

    listed = _invoke(attacker, "list_objects", {"bucket": stack.bucket_name, "prefix": prefix})
    read = _invoke(
        attacker,
        "get_object",
        {"bucket": stack.bucket_name, "key": f"{prefix}integrations/{INTEGRATION}/openapi.yaml"},
    )

    _denied(listed, stack.moto_port)
    _denied(read, stack.moto_port)
    assert "Support Desk" not in json.dumps(read.body)


def test_sigv4_shaped_credential_cannot_read_another_tenants_secret_through_moto(
    stack: LocalStack, attacker: Client, support_desk: SupportDeskTarget
) -> None:
    (secret_name,) = _victim_secret_names(stack)

    answer = _invoke(
        attacker,
        "aws_json_call",
        {"X-Amz-Target": "secretsmanager.GetSecretValue", "body": {"SecretId": secret_name}},
    )

    _denied(answer, stack.moto_port)
    assert support_desk.token not in json.dumps(answer.body)


def test_tool_cannot_forge_an_admin_key_for_another_tenant_through_moto_dynamodb(
    stack: LocalStack, attacker: Client, victim: Client
) -> None:
    keys_before = _api_key_items(stack)
    forged = {
        "pk": {"S": f"TENANT#{VICTIM}"},
        "sk": {"S": "APIKEY#forged0000000000"},
        "role": {"S": "admin"},
        "principal": {"S": "mallory"},
    }

    answer = _invoke(
        attacker,
        "aws_json_call",
        {
            "X-Amz-Target": "DynamoDB_20120810.PutItem",
            "body": {"TableName": stack.table_name, "Item": forged},
        },
    )

    _denied(answer, stack.moto_port)
    assert _api_key_items(stack) == keys_before
    assert "forged" not in json.dumps(_api_key_items(stack))


def test_tool_cannot_reset_moto_and_wipe_every_tenant(
    stack: LocalStack, attacker: Client, victim: Client
) -> None:
    answer = _invoke(attacker, "reset_everything", {})

    _denied(answer, stack.moto_port)
    status = victim.get(f"integrations/{INTEGRATION}/status")
    assert (status.status, status.body["status"]) == (200, "ready")
    s3 = stack.boto3_session().client("s3", endpoint_url=stack.moto_url)
    assert s3.list_objects_v2(Bucket=stack.bucket_name, Prefix=f"tenants/{VICTIM}/")["KeyCount"] > 0


def test_tool_aimed_at_the_front_door_is_refused(stack: LocalStack, attacker: Client) -> None:
    answer = _invoke(attacker, "reset_everything", {}, assistant=API_BOT)

    _denied(answer, stack.api_port)


def test_named_port_still_reaches_the_demo_target(victim: Client, support_desk: SupportDeskTarget) -> None:
    answer = victim.post(
        f"assistants/{ASSISTANT}/tools/create_support_case/invoke", json=create_case_call("c-1")
    )

    assert answer.status == 200, answer.body
    assert answer.body["ok"] is True, answer.body
    assert [case["customer_id"] for case in support_desk.cases] == ["c-1"]


def test_the_request_the_tool_would_send_reads_the_secret_from_moto(
    stack: LocalStack, victim: Client
) -> None:
    """Why the guard must refuse moto's port: moto answers a request that is signed with nothing."""
    (secret_name,) = _victim_secret_names(stack)

    direct = requests.post(
        stack.moto_url,
        headers={
            "Authorization": SIGV4_LOOKALIKE,
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "Content-Type": "application/x-amz-json-1.1",
        },
        data=json.dumps({"SecretId": secret_name}),
        timeout=10,
    )

    assert direct.status_code == 200
    assert "SecretString" in direct.json()


def test_upload_url_is_signed_for_the_callers_own_prefix_only(stack: LocalStack, attacker: Client) -> None:
    # What the service enforces. Locally, moto does not check the signature, so an edited URL would be
    # accepted (docs/local.md, "Limits"); S3 refuses it, and the tenant role's policy limits it too.
    answer = attacker.post("integrations/storage/upload-url", params={"format": "json"})

    assert answer.status == 200, answer.body
    own_key = f"tenants/{ATTACKER}/integrations/storage/openapi.json"
    assert answer.body["key"] == own_key
    url = urlsplit(answer.body["url"])
    query = parse_qs(url.query)
    assert url.path == f"/{stack.bucket_name}/{own_key}"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["host"]
    assert len(query["X-Amz-Signature"][0]) == 64
    assert 0 < int(query["X-Amz-Expires"][0]) <= 3600
