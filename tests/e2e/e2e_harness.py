"""Driving a local stack as a user or an agent would: HTTP to the front door, S3 PutObject to the bucket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import requests
from toolgate.spec.compiler import compile_path
from toolgate_demo import support_desk_spec
from toolgate_local.stack import LocalStack

ASSISTANT = "support-bot"
INTEGRATION = "support-desk"


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("code"))
        return None


@dataclass
class Client:
    """One API key against the front door."""

    api_url: str
    key: str

    def call(self, method: str, path: str, **kwargs: Any) -> Answer:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        response = requests.request(method, self.api_url + path, headers=headers, timeout=30, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return Answer(response.status_code, body)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.call("GET", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Answer:
        return self.call("PUT", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.call("POST", path, **kwargs)


def bootstrap_with_cli(stack: LocalStack, tenant: str) -> str:
    """`toolgate admin bootstrap-tenant` in its own process, configured by the exports the stack prints."""
    environment = {
        **os.environ,
        **stack.client_environment(),
        "TOOLGATE_TABLE_NAME": stack.table_name,
        "TOOLGATE_USAGE_PLAN_ID": stack.output("TenantUsagePlanId"),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "toolgate_cli", "admin", "bootstrap-tenant", tenant],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return completed.stdout.strip()


def put_upload(stack: LocalStack, tenant: str, integration: str, name: str, data: bytes) -> None:
    """What an admin does with the AWS CLI or SDK: a PutObject under the tenant's upload prefix."""
    s3 = stack.boto3_session().client("s3", endpoint_url=stack.moto_url)
    s3.put_object(
        Bucket=stack.bucket_name, Key=f"tenants/{tenant}/integrations/{integration}/{name}", Body=data
    )


def upload_support_desk(stack: LocalStack, tenant: str, server_url: str) -> None:
    settings = {"assistants": [ASSISTANT], "server_url": server_url}
    put_upload(stack, tenant, INTEGRATION, "toolgate.json", json.dumps(settings).encode())
    put_upload(stack, tenant, INTEGRATION, "openapi.yaml", support_desk_spec().read_bytes())


def ready_support_desk_tenant(stack: LocalStack, tenant: str, server_url: str, token: str) -> Client:
    """A tenant bootstrapped on `stack`, its Support Desk uploaded through S3, ready, and its bearer token
    bound: an admin client of it."""
    client = Client(stack.api_url, stack.bootstrap_tenant(tenant))
    upload_support_desk(stack, tenant, server_url)
    wait_for_status(client, INTEGRATION, lambda status: status["status"] == "ready")
    bound = client.put(f"integrations/{INTEGRATION}/credential", json={"type": "bearer", "token": token})
    assert bound.status == 200, bound.body
    return client


def wait_for_status(
    client: Client, integration: str, done: Callable[[Mapping[str, Any]], bool], timeout: float = 60.0
) -> Mapping[str, Any]:
    """Poll GET /integrations/{id}/status until `done` holds; the last status."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"integrations/{integration}/status")
        if answer.status == 200 and done(answer.body):
            return dict(answer.body)
        if time.monotonic() > deadline:
            raise AssertionError(f"integration {integration} did not settle: {answer.status} {answer.body}")
        time.sleep(0.1)


def upload_settled(status: Mapping[str, Any]) -> bool:
    return status.get("last_upload") is not None


@cache
def support_desk_tools() -> frozenset[str]:
    """The tool names the compiler makes of the Support Desk spec (what every listing must show)."""
    return frozenset(tool.name for tool in compile_path(support_desk_spec()).tools)


def create_case_call(customer_id: str = "cust-42") -> dict[str, Any]:
    return {"arguments": {"customer_id": customer_id, "summary": "Printer on fire", "priority": "high"}}


def function_id(stack: LocalStack, prefix: str) -> str:
    """The logical id of the stack's one function whose id starts with `prefix` (`InvokeFunction`)."""
    (logical_id,) = [name for name in stack.functions if name.startswith(prefix)]
    return logical_id


def invoke_create_case(client: Client, timeout: float = 30) -> requests.Response:
    """One `create_support_case` call of the client's assistant, through the front door."""
    return requests.post(
        f"{client.api_url}assistants/{ASSISTANT}/tools/create_support_case/invoke",
        headers={"Authorization": f"Bearer {client.key}"},
        json=create_case_call(),
        timeout=timeout,
    )
