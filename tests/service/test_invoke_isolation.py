"""Tenant isolation on the call path, and a canary credential that never leaves Secrets Manager.

moto does not evaluate IAM policy variables, so the IAM half of "A's session cannot read B's secret"
(the tenant role's `${aws:PrincipalTag/tenant_id}` resources) is asserted on the synthesized template by
the infrastructure tests. Here the code's own half is shown: the credential reader refuses any secret
outside the tenant's prefix before a call is made, even when the code is made to ask for one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from invoke_harness import SEED_ARGUMENTS, Desk, SupportDesk, desk_world
from service_world import Service
from toolgate.adapters.aws.invoke import CachedCredentialReader
from toolgate.errors import TenantForbiddenError

from tests.integration.runtime_servers import Reply, Seen, json_reply


@pytest.fixture
def desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with desk_world(service, monkeypatch) as world:
        yield world


# --- Tools of another tenant ------------------------------------------------------------------


def test_tenant_a_cannot_invoke_tenant_b_tools_and_learns_nothing_about_them(desk: Desk) -> None:
    before = desk.invoke(tenant="tenant-a")
    desk.seed("tenant-b", {"type": "bearer", "token": "token-of-b"})
    after = desk.invoke(tenant="tenant-a")
    assert (after.status, after.error_code) == (403, "TOOL_NOT_AVAILABLE")
    assert after.body == before.body, "the refusal is the same whether the tool exists elsewhere or not"
    assert desk.target.seen == []
    assert desk.invoke(tenant="tenant-b").body["ok"] is True


def test_t1_cannot_invoke_t10s_tools(desk: Desk) -> None:
    desk.seed("t10", {"type": "bearer", "token": "token-of-t10"})
    assert desk.invoke(tenant="t1").error_code == "TOOL_NOT_AVAILABLE"
    assert desk.target.seen == []


def test_same_ids_in_two_tenants_call_with_each_tenants_own_credential(desk: Desk) -> None:
    desk.seed("tenant-a", {"type": "bearer", "token": "token-of-a"})
    desk.seed("tenant-b", {"type": "bearer", "token": "token-of-b"})
    for tenant in ("tenant-a", "tenant-b", "tenant-a"):
        assert desk.invoke(tenant=tenant).body["ok"] is True
    tokens = [seen.header("Authorization") for seen in desk.created_cases()]
    assert tokens == ["Bearer token-of-a", "Bearer token-of-b", "Bearer token-of-a"]


# --- Secrets of another tenant ------------------------------------------------------------------


def _count_secret_reads(client: Any) -> list[str]:
    reads: list[str] = []
    client.meta.events.register(
        "before-call.secrets-manager.GetSecretValue",
        lambda params, **_: reads.append(params["SecretId"]),
    )
    return reads


@pytest.mark.parametrize(
    "name",
    [
        "toolgate/tenants/tenant-b/support",
        "toolgate/tenants/tenant-a0/support",
        "toolgate/tenants/tenant-a/../tenant-b/support",
        "toolgate/tenants/tenant-a/support/../../tenant-b/support",
        "toolgate/tenants/tenant-a/",
        "toolgate/tenants/tenant-a",
        "other/tenants/tenant-a/support",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:toolgate/tenants/tenant-b/support",
    ],
)
def test_the_credential_reader_refuses_secrets_outside_its_tenant_unread(service: Service, name: str) -> None:
    client = service.secrets
    client.create_secret(
        Name="toolgate/tenants/tenant-b/support", SecretString='{"type":"bearer","token":"b"}'
    )
    reads = _count_secret_reads(client)
    reader = CachedCredentialReader(client, "toolgate/tenants", "tenant-a", max_age_seconds=60)
    with pytest.raises(TenantForbiddenError):
        reader.get_named(name)
    assert reads == []


@pytest.mark.parametrize("slot", ["../tenant-b/support", "support/../../tenant-b/support", "", "Support"])
def test_the_credential_reader_takes_only_slot_ids(service: Service, slot: str) -> None:
    reader = CachedCredentialReader(service.secrets, "toolgate/tenants", "tenant-a", max_age_seconds=60)
    with pytest.raises(TenantForbiddenError):
        reader.get(slot)


def test_even_when_the_code_asks_for_tenant_bs_secret_it_is_not_read(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.adapters.aws import invoke as invoke_adapters
    from toolgate.service.layout import secret_name

    desk.seed("tenant-a", {"type": "bearer", "token": "token-of-a"})
    desk.seed("tenant-b", {"type": "bearer", "token": "token-of-b"})
    # A bug that names tenant B's secret while serving tenant A.
    monkeypatch.setattr(
        invoke_adapters, "secret_name", lambda prefix, tenant, slot: secret_name(prefix, "tenant-b", slot)
    )
    response = desk.invoke(tenant="tenant-a")
    assert (response.status, response.error_code) == (403, "TENANT_FORBIDDEN")
    assert desk.target.seen == []
    assert "token-of-b" not in json.dumps(response.body)


# --- OAuth2 tokens per tenant -------------------------------------------------------------------

OAUTH_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Tickets", "version": "1"},
    "servers": [{"url": "https://tickets.example.com"}],
    "components": {
        "securitySchemes": {
            "oauth": {
                "type": "oauth2",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": "https://auth.example.com/token",
                        "scopes": {"tickets:write": "open tickets"},
                    }
                },
            }
        }
    },
    "paths": {
        "/tickets": {
            "post": {
                "operationId": "create_ticket",
                "description": "Open a ticket.",
                "security": [{"oauth": ["tickets:write"]}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"title": {"type": "string"}},
                                "required": ["title"],
                            }
                        }
                    },
                },
                "responses": {"200": {"description": "Opened"}},
            }
        }
    },
}


class TicketsWithTokens:
    """A token endpoint issuing `tok-1`, `tok-2`, ... and an API accepting only tokens it issued."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    def __call__(self, seen: Seen) -> Reply:
        if seen.path == "/token":
            self.issued.append(f"tok-{len(self.issued) + 1}")
            body = {"access_token": self.issued[-1], "token_type": "Bearer", "expires_in": 3600}
            return json_reply(json.dumps(body).encode())
        if seen.header("Authorization") in {f"Bearer {token}" for token in self.issued}:
            return json_reply(b'{"ticket": "T-1"}')
        return json_reply(b'{"error": "invalid_token"}', status=401)


def test_oauth_tokens_are_cached_per_tenant_and_credential(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = TicketsWithTokens()
    with desk_world(service, monkeypatch, tickets) as desk:
        credential = {
            "type": "oauth2_client_credentials",
            "client_id": "shared-app",
            "client_secret": "same-secret-for-both",
            "token_url": f"{desk.target.url}/token",
        }
        for tenant in ("tenant-a", "tenant-b"):
            settings = {"assistants": ["desk"], "server_url": f"{desk.target.url}/api"}
            service.api(
                "POST", "/v1/integrations", tenant=tenant, body={"id": "tickets", "settings": settings}
            )
            assert (
                service.api("PUT", "/v1/integrations/tickets", tenant=tenant, body=OAUTH_SPEC).status == 200
            )
            service.api("PUT", "/v1/integrations/tickets/credential", tenant=tenant, body=credential)
        for tenant in ("tenant-a", "tenant-b", "tenant-a", "tenant-b"):
            response = desk.invoke({"arguments": {"title": "Broken"}}, tool="create_ticket", tenant=tenant)
            assert response.body["ok"] is True, response.body
    calls = [seen.header("Authorization") for seen in desk.target.seen if seen.path == "/api/tickets"]
    assert tickets.issued == ["tok-1", "tok-2"], "one token per tenant, though the credential is the same"
    assert calls == ["Bearer tok-1", "Bearer tok-2", "Bearer tok-1", "Bearer tok-2"]


# --- The canary ------------------------------------------------------------------------------

CANARY = "canary-4b1d9e-INVOKE-DO-NOT-LEAK"


class _RecordingSubsegment:
    def __init__(self, sink: list[tuple[str, str, Any]]) -> None:
        self._sink = sink

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        self._sink.append(("metadata", key, value))

    def put_annotation(self, key: str, value: Any) -> None:
        self._sink.append(("annotation", key, value))


class RecordingTraceProvider:
    """Stands in for X-Ray (disabled in tests): keeps every subsegment, annotation and metadata."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, Any]] = []

    @contextmanager
    def in_subsegment(self, name: str | None = None, **_: Any) -> Iterator[_RecordingSubsegment]:
        self.recorded.append(("subsegment", name or "", None))
        yield _RecordingSubsegment(self.recorded)


def echoing_desk() -> Callable[[Seen], Reply]:
    """The Support Desk, careless: it echoes the Authorization header it received in its answers."""
    desk = SupportDesk(cases_listed=200)

    def handler(seen: Seen) -> Reply:
        reply = desk(seen)
        body = json.loads(reply.body)
        body["received_authorization"] = seen.header("Authorization")
        return json_reply(json.dumps(body).encode(), status=reply.status)

    return handler


def test_canary_credential_is_absent_from_logs_responses_audit_objects_and_traces(
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: Callable[[], list[str]],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from toolgate.adapters.aws.telemetry import tracer

    caplog.set_level(logging.DEBUG)
    traces = RecordingTraceProvider()
    monkeypatch.setattr(tracer, "provider", traces)
    with desk_world(service, monkeypatch, echoing_desk(), TOOLGATE_RESULT_PAGE_CHARS="1000") as desk:
        desk.seed("acme", {"type": "bearer", "token": CANARY}, settings={"audit_arguments": True})
        # The call in two formats, a replayed idempotent call, a large result and its pages, a refusal.
        first = desk.invoke().body
        assert first["body"]["received_authorization"] == "Bearer [REDACTED]", "the echo was redacted"
        anthropic = {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "create_support_case",
            "input": SEED_ARGUMENTS,
        }
        assert desk.invoke(anthropic).body["is_error"] is False
        for _ in range(2):
            desk.invoke(headers={"Idempotency-Key": "canary-key"})
        listed = desk.invoke({"arguments": {"customer_id": "cust-42"}}, tool="list_support_cases").body
        handle = listed["continuation"]["handle"]
        for page in range(1, listed["continuation"]["pages"]):
            assert desk.continuation(handle, page=str(page)).status == 200
        desk.invoke(tool="delete_everything")
        responses = desk.responses

    assert desk.created_cases()[0].header("Authorization") == f"Bearer {CANARY}"
    assert responses and not [body for body in responses if CANARY in body]
    assert log_lines() and not [line for line in log_lines() if CANARY in line]
    assert CANARY not in caplog.text
    captured = capsys.readouterr()
    assert CANARY not in captured.out and CANARY not in captured.err
    items = service.table_items()
    assert [item for item in items if item["sk"].startswith("AUDIT#")]
    assert [item for item in items if item["sk"].startswith("IDEMPOTENCY#")]
    assert CANARY not in json.dumps(items, default=str)
    objects = service.all_objects()
    assert [key for key in objects if "/results/" in key]
    assert not [key for key, data in objects.items() if CANARY.encode() in data]
    # Tracing: the handler's subsegment was recorded, with no response and nothing of the canary.
    assert ("subsegment", "## lambda_handler", None) in traces.recorded
    assert not [entry for entry in traces.recorded if entry[0] == "metadata" and "response" in entry[1]]
    assert CANARY not in repr(traces.recorded)
