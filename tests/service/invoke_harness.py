"""The invoke function's test bench: the real handlers over moto (the `service` fixture), the Support Desk
spec set up through the management API, and a real HTTP target on 127.0.0.1 that the egress guard is
told to allow (`TOOLGATE_RUNTIME__ALLOW_LOOPBACK`, tests only)."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from service_harness import ACCOUNT_ID, HARNESS_KEY, ApiResponse, FakeLambdaContext, authorizer_context
from service_world import Service
from toolgate_demo import support_desk_spec

from tests.integration.runtime_servers import Reply, Seen, Server, json_reply, serve

SPEC = support_desk_spec().read_text()
INVOKE_RESOURCE = "/v1/assistants/{assistant}/tools/{tool}/invoke"
CONTINUATION_RESOURCE = "/v1/continuations/{handle}"
SEED_ARGUMENTS = {"customer_id": "cust-42", "summary": "Printer on fire", "priority": "high"}


def invoke_event(
    assistant: str,
    tool: str,
    *,
    tenant: str | None,
    body: Any,
    role: str = "agent",
    key_id: str | None = HARNESS_KEY,
    headers: Mapping[str, str] | None = None,
    raw_body: str | None = None,
    received_ms_ago: int = 0,
) -> dict[str, Any]:
    """The API Gateway REST proxy event of one invoke request; `tenant=None`: no authorizer context.
    `received_ms_ago` says how long ago API Gateway received the request; `key_id` as in `api_event`."""
    path = f"/v1/assistants/{assistant}/tools/{tool}/invoke"
    event = _event(
        "POST",
        path,
        INVOKE_RESOURCE,
        {"assistant": assistant, "tool": tool},
        tenant=tenant,
        role=role,
        key_id=key_id,
        headers=headers,
        body=raw_body if raw_body is not None else json.dumps(body),
    )
    event["requestContext"]["requestTimeEpoch"] -= received_ms_ago
    return event


def continuation_event(
    handle: str, *, tenant: str, page: str | None = None, key_id: str | None = HARNESS_KEY
) -> dict[str, Any]:
    event = _event(
        "GET",
        f"/v1/continuations/{handle}",
        CONTINUATION_RESOURCE,
        {"handle": handle},
        tenant=tenant,
        key_id=key_id,
    )
    if page is not None:
        event["queryStringParameters"] = {"page": page}
        event["multiValueQueryStringParameters"] = {"page": [page]}
    return event


def _event(
    method: str,
    path: str,
    resource: str,
    parameters: dict[str, str],
    *,
    tenant: str | None,
    role: str = "agent",
    key_id: str | None = HARNESS_KEY,
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    all_headers = {"content-type": "application/json", **(headers or {})}
    request_context: dict[str, Any] = {
        "requestId": str(uuid.uuid4()),
        "requestTimeEpoch": int(time.time() * 1000),
        "stage": "prod",
        "httpMethod": method,
        "path": f"/prod{path}",
        "resourcePath": resource,
        "accountId": ACCOUNT_ID,
        "apiId": "abc123",
        "identity": {"sourceIp": "198.51.100.7"},
    }
    if tenant is not None:
        request_context["authorizer"] = authorizer_context(tenant, role, "agent-bot", key_id)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": parameters,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": False,
    }


class SupportDesk:
    """The Support Desk API, as the target: cases are created and listed; everything it saw is kept."""

    def __init__(self, *, cases_listed: int = 3) -> None:
        self.cases_listed = cases_listed
        self.created = itertools.count(1)

    def __call__(self, seen: Seen) -> Reply:
        url = urlsplit(seen.path)
        if seen.method == "POST" and url.path == "/api/support/cases":
            case = {"case_id": f"case-{next(self.created)}", "status": "open"}
            return json_reply(json.dumps(case).encode())
        if seen.method == "GET" and url.path == "/api/support/cases":
            customer = parse_qs(url.query).get("customer_id", ["?"])[0]
            cases = [
                {"case_id": f"case-{index}", "customer_id": customer, "summary": f"case number {index}"}
                for index in range(self.cases_listed)
            ]
            return json_reply(json.dumps({"cases": cases}).encode())
        return json_reply(b'{"error": "no such route"}', status=404)


@dataclass
class Desk:
    """The deployed service with the Support Desk behind it."""

    service: Service
    target: Server
    #: Every raw invoke response body, for the canary checks.
    responses: list[str] = field(default_factory=list)

    def seed(
        self,
        tenant: str,
        credential: Mapping[str, Any] | None,
        *,
        settings: Mapping[str, Any] | None = None,
        server_url: str | None = None,
        spec: str = SPEC,
    ) -> None:
        """Integration `support` (the Support Desk spec, served by the target), assistant `desk`, and the
        credential, all set up through the management API as an admin would."""
        integration_settings = {
            "assistants": ["desk"],
            "server_url": server_url or f"{self.target.url}/api",
            **(settings or {}),
        }
        created = self.service.api(
            "POST",
            "/v1/integrations",
            tenant=tenant,
            body={"id": "support", "settings": integration_settings},
        )
        assert created.status == 201, created.body
        uploaded = self.service.api(
            "PUT",
            "/v1/integrations/support",
            tenant=tenant,
            body=spec,
            headers={"content-type": "application/yaml"},
        )
        assert uploaded.status == 200, uploaded.body
        if credential is not None:
            bound = self.service.api(
                "PUT", "/v1/integrations/support/credential", tenant=tenant, body=credential
            )
            assert bound.status == 200, bound.body

    def invoke(
        self,
        body: Any = None,
        *,
        tool: str = "create_support_case",
        tenant: str = "acme",
        assistant: str = "desk",
        role: str = "agent",
        key_id: str | None = HARNESS_KEY,
        headers: Mapping[str, str] | None = None,
        raw_body: str | None = None,
        context: Any = None,
        received_ms_ago: int = 0,
    ) -> ApiResponse:
        from functions.invoke.handler import lambda_handler

        if body is None and raw_body is None:
            body = {"arguments": SEED_ARGUMENTS}
        event = invoke_event(
            assistant,
            tool,
            tenant=tenant,
            body=body,
            role=role,
            key_id=key_id,
            headers=headers,
            raw_body=raw_body,
            received_ms_ago=received_ms_ago,
        )
        return self._answer(lambda_handler(event, context or FakeLambdaContext()))

    def continuation(self, handle: str, *, tenant: str = "acme", page: str | None = None) -> ApiResponse:
        from functions.invoke.handler import lambda_handler

        return self._answer(
            lambda_handler(continuation_event(handle, tenant=tenant, page=page), FakeLambdaContext())
        )

    def _answer(self, raw: dict[str, Any]) -> ApiResponse:
        text = raw.get("body") or ""
        self.responses.append(text)
        return ApiResponse(status=raw["statusCode"], body=json.loads(text) if text else None, raw=raw)

    def created_cases(self) -> list[Seen]:
        return [
            seen for seen in self.target.seen if seen.method == "POST" and seen.path == "/api/support/cases"
        ]


def clear_invoke_caches() -> None:
    from toolgate.settings import get_invoke_settings, get_settings
    from toolgate.wiring import clear_caches

    clear_caches()
    get_invoke_settings.cache_clear()
    get_settings.cache_clear()


@contextmanager
def desk_world(
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    target: Callable[[Seen], Reply] | None = None,
    **environment: str,
) -> Iterator[Desk]:
    """The invoke function over moto, with a local target; `environment` adds `TOOLGATE_*` settings."""
    monkeypatch.setenv("TOOLGATE_RUNTIME__ALLOW_LOOPBACK", "true")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    clear_invoke_caches()
    try:
        with serve(target or SupportDesk()) as server:
            yield Desk(service, server)
    finally:
        clear_invoke_caches()
