"""The invoke function end to end: the handler over moto, a real Support Desk target on 127.0.0.1.

The seed's workflow, refusals, credentials from Secrets Manager and their rotation, the deadline, large
results behind continuation handles, the audit log, metrics, and the import cost of the cold start."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aws_lambda_powertools.utilities.parameters.base as parameters_base
import pytest
from invoke_harness import SEED_ARGUMENTS, SPEC, Desk, SupportDesk, desk_world, invoke_event
from service_harness import BUCKET_NAME, FakeLambdaContext
from service_world import Service
from toolgate.runtime.transport import HttpResponse, OutboundCall
from toolgate.service.invoke import call_budget_seconds
from toolgate.settings import InvokeSettings

from tests.integration.runtime_servers import Reply, Seen, json_reply

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "desk-token-1"
SECRET_ID = "toolgate/tenants/acme/support"


@pytest.fixture
def desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with desk_world(service, monkeypatch) as world:
        yield world


def audit_items(service: Service, tenant: str = "acme") -> list[dict[str, Any]]:
    return sorted(
        (item for item in service.table_items() if item["pk"] == tenant and item["sk"].startswith("AUDIT#")),
        key=lambda item: item["sk"],
    )


# --- The seed's workflow ----------------------------------------------------------------------


def test_seed_workflow_creates_the_case_with_the_bearer_token(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    response = desk.invoke({"arguments": SEED_ARGUMENTS})
    assert response.status == 200, response.body
    assert response.body == {
        "ok": True,
        "status": 200,
        "headers": {"content-type": "application/json"},
        "body": {"case_id": "case-1", "status": "open"},
    }
    [request] = desk.target.seen
    assert (request.method, request.path) == ("POST", "/api/support/cases")
    assert request.header("Authorization") == f"Bearer {TOKEN}"
    assert request.header("Content-Type") == "application/json"
    assert json.loads(request.body) == SEED_ARGUMENTS


def test_an_admin_key_may_invoke_as_well(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    assert desk.invoke(role="admin").body["ok"] is True


def test_a_request_without_authorizer_context_is_refused(desk: Desk) -> None:
    from functions.invoke.handler import lambda_handler

    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    event = invoke_event("desk", "create_support_case", tenant=None, body={"arguments": SEED_ARGUMENTS})
    raw = lambda_handler(event, FakeLambdaContext())
    assert (raw["statusCode"], json.loads(raw["body"])["error"]["code"]) == (401, "UNAUTHENTICATED")
    assert desk.target.seen == []


def test_a_call_in_an_environment_isolated_for_another_tenant_is_refused_before_anything_runs(
    desk: Desk,
) -> None:
    """With tenant isolation, Lambda names the environment's tenant; a mapping that names another tenant
    than the authorizer's (a misconfigured API) must not run acme's call in globex's environment."""
    from functions.invoke.handler import lambda_handler

    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    event = invoke_event("desk", "create_support_case", tenant="acme", body={"arguments": SEED_ARGUMENTS})
    raw = lambda_handler(event, FakeLambdaContext(tenant_id="globex"))
    refusal = (raw["statusCode"], json.loads(raw["body"])["error"]["code"])
    assert refusal == (500, "TENANT_ENVIRONMENT_MISMATCH")
    assert desk.target.seen == []
    own = lambda_handler(event, FakeLambdaContext(tenant_id="acme"))
    assert (own["statusCode"], json.loads(own["body"])["ok"]) == (200, True)


# --- Refusals ---------------------------------------------------------------------------------


def test_a_tool_outside_the_assistants_allow_list_is_not_available(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    limited = {"integrations": ["support"], "tools": ["get_support_case"]}
    assert desk.service.api("PUT", "/v1/assistants/desk", body=limited).status == 200
    response = desk.invoke()
    assert (response.status, response.error_code) == (403, "TOOL_NOT_AVAILABLE")
    assert desk.target.seen == []


@pytest.mark.parametrize(
    ("assistant", "tool"),
    [("desk", "delete_everything"), ("nobody", "create_support_case"), ("Bad Id", "create_support_case")],
)
def test_unknown_tools_and_assistants_are_not_available(desk: Desk, assistant: str, tool: str) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    response = desk.invoke(assistant=assistant, tool=tool)
    assert (response.status, response.error_code) == (403, "TOOL_NOT_AVAILABLE")


def test_an_integration_without_a_ready_version_offers_no_tools(desk: Desk) -> None:
    desk.service.api("POST", "/v1/integrations", body={"id": "pending", "settings": {"assistants": []}})
    desk.service.api("POST", "/v1/assistants", body={"id": "desk", "integrations": ["pending"]})
    response = desk.invoke()
    assert response.error_code == "TOOL_NOT_AVAILABLE"


def test_a_warm_call_reads_only_the_assistant_and_its_integrations(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.client

    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    other = {"id": "other", "settings": {"include": ["get_support_case"], "server_url": desk.target.url}}
    desk.service.api("POST", "/v1/integrations", body=other)
    desk.service.api("PUT", "/v1/integrations/other", body=SPEC, headers={"content-type": "application/yaml"})
    desk.service.api("PUT", "/v1/assistants/desk", body={"integrations": ["other", "support"]})
    desk.invoke()
    operations: list[str] = []
    # A private method the stubs do not declare: every AWS call of every client goes through it.
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def recording(self: Any, operation: str, parameters: Any) -> Any:
        operations.append(operation)
        return original(self, operation, parameters)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    assert desk.invoke().body["ok"] is True
    # The caller's key (revoked since the authorizer ran?), the assistant, both integrations (the current
    # revisions), the audit record, and the tenant's limiter row (one write admits the call, one ends its
    # lease); tools and the tenant's limits come from cache.
    assert sorted(operations) == ["GetItem"] * 4 + ["PutItem", "UpdateItem", "UpdateItem"]


# --- Credentials --------------------------------------------------------------------------------


def test_a_call_without_a_bound_credential_is_a_credential_missing_result(desk: Desk) -> None:
    desk.seed("acme", None)
    response = desk.invoke()
    assert response.status == 200
    assert response.body["ok"] is False
    assert response.body["error"]["code"] == "CREDENTIAL_MISSING"
    assert desk.target.seen == []


class _ShiftedClock:
    """Stops, then moves, the clock Powertools' parameter cache reads (`datetime.now()` in its base module):
    real time never passes for the cache, so a slow machine cannot expire an entry early."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta()
        clock = self
        stopped_at = datetime.now()

        class ShiftedDatetime(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> ShiftedDatetime:
                shifted = stopped_at + clock.offset
                return shifted.astimezone(tz) if tz is not None else shifted  # type: ignore[return-value]

        monkeypatch.setattr(parameters_base, "datetime", ShiftedDatetime)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def test_a_rotated_credential_is_used_once_the_cache_ttl_has_passed(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _ShiftedClock(monkeypatch)
    desk.seed("acme", {"type": "bearer", "token": "before-rotation"})
    desk.invoke()
    desk.service.secrets.put_secret_value(
        SecretId=SECRET_ID, SecretString=json.dumps({"type": "bearer", "token": "after-rotation"})
    )
    desk.invoke()
    clock.advance(59)
    desk.invoke()
    clock.advance(2)
    desk.invoke()
    tokens = [seen.header("Authorization") for seen in desk.created_cases()]
    assert tokens == ["Bearer before-rotation"] * 3 + ["Bearer after-rotation"]


def test_with_no_cache_a_rotated_credential_is_used_at_once(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with desk_world(service, monkeypatch, TOOLGATE_CREDENTIAL_CACHE_SECONDS="0") as desk:
        desk.seed("acme", {"type": "bearer", "token": "first"})
        desk.invoke()
        service.secrets.put_secret_value(
            SecretId=SECRET_ID, SecretString='{"type": "bearer", "token": "second"}'
        )
        desk.invoke()
        assert [seen.header("Authorization") for seen in desk.created_cases()] == [
            "Bearer first",
            "Bearer second",
        ]


def rebind(desk: Desk, credential: dict[str, Any], integration: str = "support") -> None:
    bound = desk.service.api("PUT", f"/v1/integrations/{integration}/credential", body=credential)
    assert bound.status == 200, bound.body


def test_a_credential_rebound_through_the_api_is_used_by_the_next_call(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": "before-rebind"})
    desk.invoke()
    rebind(desk, {"type": "bearer", "token": "after-rebind"})
    desk.invoke()
    tokens = [seen.header("Authorization") for seen in desk.created_cases()]
    assert tokens == ["Bearer before-rebind", "Bearer after-rebind"]


def test_a_rebind_by_another_process_is_seen_through_the_integrations_binding_time(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.adapters.aws import invoke as invoke_adapters

    # The API function is another Lambda: its writes are not counted in the invoke function's process.
    monkeypatch.setattr(invoke_adapters, "writes_in_this_process", lambda name: 0)
    desk.seed("acme", {"type": "bearer", "token": "before-rebind"})
    desk.invoke()
    rebind(desk, {"type": "bearer", "token": "after-rebind"})
    desk.invoke()
    desk.invoke()
    tokens = [seen.header("Authorization") for seen in desk.created_cases()]
    assert tokens == ["Bearer before-rebind"] + ["Bearer after-rebind"] * 2


def test_a_shared_credential_rebound_in_the_same_process_is_used_at_once(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": "before-rebind"})
    sharing = {
        "id": "sharing",
        "settings": {
            "include": ["get_support_case"],
            "server_url": f"{desk.target.url}/api",
            "credential": "support",
        },
    }
    assert desk.service.api("POST", "/v1/integrations", body=sharing).status == 201
    uploaded = desk.service.api(
        "PUT", "/v1/integrations/sharing", body=SPEC, headers={"content-type": "application/yaml"}
    )
    assert uploaded.status == 200, uploaded.body
    desk.service.api("PUT", "/v1/assistants/desk", body={"integrations": ["sharing"]})
    read_case = {"arguments": {"case_id": "case-1"}}
    desk.invoke(read_case, tool="get_support_case")
    rebind(desk, {"type": "bearer", "token": "after-rebind"})
    desk.invoke(read_case, tool="get_support_case")
    tokens = [seen.header("Authorization") for seen in desk.target.seen]
    assert tokens == ["Bearer before-rebind", "Bearer after-rebind"]


def revoking_desk(accepted: str) -> Callable[[Seen], Reply]:
    desk = SupportDesk()

    def handler(seen: Seen) -> Reply:
        if seen.header("Authorization") != f"Bearer {accepted}":
            return json_reply(b'{"error": "invalid_token"}', status=401)
        return desk(seen)

    return handler


def test_a_401_reads_the_credential_again_and_sends_the_rotated_one_once(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with desk_world(service, monkeypatch, revoking_desk("rotated")) as desk:
        desk.seed("acme", {"type": "bearer", "token": "old"})
        refused = desk.invoke()
        # Rotated in Secrets Manager by another process: no binding time changed, no write counted here.
        service.secrets.put_secret_value(
            SecretId=SECRET_ID, SecretString='{"type": "bearer", "token": "rotated"}'
        )
        retried = desk.invoke()
        cached = desk.invoke()
        tokens = [seen.header("Authorization") for seen in desk.created_cases()]
    # The first 401: read again, unchanged, not sent again. The second: read again, changed, sent once.
    assert refused.body["status"] == 401
    assert retried.body["ok"] is True and cached.body["ok"] is True
    assert tokens == ["Bearer old", "Bearer old", "Bearer rotated", "Bearer rotated"]


def test_the_credential_is_read_once_within_the_ttl(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    reads: list[str] = []
    original = SecretsProvider._get

    def counting(self: Any, name: str, **options: Any) -> Any:
        reads.append(name)
        return original(self, name, **options)

    monkeypatch.setattr(SecretsProvider, "_get", counting)
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    for _ in range(3):
        assert desk.invoke().body["ok"] is True
    assert reads == [SECRET_ID]


def test_a_deleted_secret_means_no_credential(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    desk.service.secrets.delete_secret(SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True)
    response = desk.invoke()
    assert response.body["error"]["code"] == "CREDENTIAL_MISSING"


def test_a_corrupt_stored_credential_is_an_error_result_without_its_value(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    desk.service.secrets.put_secret_value(SecretId=SECRET_ID, SecretString='{"type": "bearer", "token": 7}')
    response = desk.invoke()
    assert response.body["error"]["code"] == "CREDENTIAL_INVALID"
    assert desk.target.seen == []


# --- The deadline ---------------------------------------------------------------------------------


class HeldDesk:
    """The Support Desk, holding every request until released: only the caller's deadline ends a call."""

    def __init__(self) -> None:
        self.desk = SupportDesk()
        self.release = threading.Event()
        self.answered = threading.Event()

    def __call__(self, seen: Seen) -> Reply:
        self.release.wait(timeout=120)
        self.answered.set()
        return self.desk(seen)


@dataclass
class ShortLambdaContext(FakeLambdaContext):
    #: Leaves the call 5 s once 1.5 s is kept back: room for the work before it on a loaded machine.
    remaining_ms: int = 6_500

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_the_call_ends_with_the_lambdas_remaining_time(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.adapters.http import HttpTransport

    budgets: list[float] = []
    send = HttpTransport.send

    def recording(self: HttpTransport, call: OutboundCall) -> HttpResponse:
        budgets.append(call.deadline.remaining())
        return send(self, call)

    monkeypatch.setattr(HttpTransport, "send", recording)
    target = HeldDesk()
    try:
        with desk_world(service, monkeypatch, target) as desk:
            desk.seed("acme", {"type": "bearer", "token": TOKEN})
            response = desk.invoke(context=ShortLambdaContext())
            ended_before_the_answer = not target.answered.is_set()
            reached = len(desk.created_cases())
    finally:
        target.release.set()
    # 6.5 s left, 1.5 s kept back for the work after the call: the call gets at most 5 s, and ends
    # while the target still holds the request.
    assert response.body["error"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN"
    assert ended_before_the_answer and reached == 1
    assert len(budgets) == 1 and 0 < budgets[0] <= 5.0


def test_a_target_answering_503_in_a_row_gets_circuit_open_results_that_are_not_kept(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    unavailable = lambda seen: json_reply(b'{"error": "down"}', status=503)  # noqa: E731
    with desk_world(service, monkeypatch, unavailable) as desk:
        desk.seed("acme", {"type": "bearer", "token": TOKEN})
        answered = [desk.invoke().body for _ in range(5)]
        paused = desk.invoke(headers={"Idempotency-Key": "paused-1"})
        reached = len(desk.created_cases())
    # A POST is sent once per call: five 503s in a row open the circuit, the sixth call sends nothing.
    assert [body["status"] for body in answered] == [503] * 5 and reached == 5
    assert paused.status == 200 and paused.body["ok"] is False
    assert paused.body["error"]["code"] == "CIRCUIT_OPEN"
    assert paused.body["error"]["details"] == {"retry_after": 30}
    codes = sorted(str(record.get("error_code")) for record in audit_items(service))
    assert codes == ["CIRCUIT_OPEN"] + ["UPSTREAM_HTTP_ERROR"] * 5
    assert not [item for item in service.table_items() if item["sk"].startswith("IDEMPOTENCY#")]


def test_the_call_ends_with_api_gateways_29_seconds(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    # API Gateway received the request 28 s ago: it answers 504 in 1 s, less than the margin.
    response = desk.invoke(received_ms_ago=28_000)
    assert response.body["ok"] is False
    assert response.body["error"]["code"] == "UPSTREAM_TIMEOUT"
    assert desk.target.seen == []


def test_call_budget_takes_the_sooner_limit_less_the_margin() -> None:
    config = InvokeSettings(deadline_margin_seconds=1.5)
    now = 1_000_000.0
    fresh = call_budget_seconds(
        config, lambda_remaining_ms=60_000, request_time_epoch_ms=int(now * 1000), now_epoch_seconds=now
    )
    late_lambda = call_budget_seconds(
        config, lambda_remaining_ms=5_000, request_time_epoch_ms=int(now * 1000), now_epoch_seconds=now
    )
    no_epoch = call_budget_seconds(
        config, lambda_remaining_ms=60_000, request_time_epoch_ms=None, now_epoch_seconds=now
    )
    past = call_budget_seconds(
        config,
        lambda_remaining_ms=60_000,
        request_time_epoch_ms=int((now - 40) * 1000),
        now_epoch_seconds=now,
    )
    assert (fresh, late_lambda, no_epoch, past) == (27.5, 3.5, 27.5, 0.0)


# --- Large results ------------------------------------------------------------------------------


@pytest.fixture
def big_desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with desk_world(
        service, monkeypatch, SupportDesk(cases_listed=120), TOOLGATE_RESULT_PAGE_CHARS="1000"
    ) as world:
        world.seed("acme", {"type": "bearer", "token": TOKEN})
        yield world


def list_cases(desk: Desk, **options: Any) -> Any:
    return desk.invoke({"arguments": {"customer_id": "cust-42"}}, tool="list_support_cases", **options)


def test_a_large_result_is_paged_through_a_continuation_handle(big_desk: Desk) -> None:
    first = list_cases(big_desk).body
    continuation = first["continuation"]
    assert first["ok"] is True and first["truncated"] is True
    assert len(first["body"]) == 1000
    assert continuation["page"] == 0 and continuation["next_page"] == 1
    assert f"/v1/continuations/{continuation['handle']}?page=1" in first["hint"]
    text = first["body"]
    page = continuation["next_page"]
    while page is not None:
        answer = big_desk.continuation(continuation["handle"], page=str(page))
        assert answer.status == 200, answer.body
        assert answer.body["page"] == page and answer.body["pages"] == continuation["pages"]
        text += answer.body["body"]
        page = answer.body["next_page"]
    served = json.loads(text)
    assert len(served["cases"]) == 120
    assert served["cases"][119] == {
        "case_id": "case-119",
        "customer_id": "cust-42",
        "summary": "case number 119",
    }


def test_the_whole_result_is_kept_in_the_tenants_artifacts_prefix(big_desk: Desk) -> None:
    handle = list_cases(big_desk).body["continuation"]["handle"]
    keys = [key.split("@", 1)[0] for key in big_desk.service.all_objects()]
    assert f"artifacts/tenants/acme/results/{handle}.json" in keys


def test_kept_results_carry_the_tag_the_buckets_lifecycle_rule_expires(big_desk: Desk) -> None:
    from infra.tenancy import RESULT_RETENTION_TAG_KEY, RESULT_RETENTION_TAG_VALUE

    handle = list_cases(big_desk).body["continuation"]["handle"]
    key = f"artifacts/tenants/acme/results/{handle}.json"
    tags = big_desk.service.s3.get_object_tagging(Bucket=BUCKET_NAME, Key=key)["TagSet"]
    assert tags == [{"Key": RESULT_RETENTION_TAG_KEY, "Value": RESULT_RETENTION_TAG_VALUE}]


def test_another_tenants_handle_is_not_found(big_desk: Desk) -> None:
    handle = list_cases(big_desk).body["continuation"]["handle"]
    stolen = big_desk.continuation(handle, tenant="intruder", page="1")
    made_up = big_desk.continuation("A" * 32, tenant="intruder", page="1")
    assert (stolen.status, stolen.error_code) == (404, "CONTINUATION_NOT_FOUND")
    assert stolen.body["error"]["message"] == made_up.body["error"]["message"].replace("A" * 32, handle)


def test_an_expired_continuation_is_not_found(big_desk: Desk) -> None:
    handle = list_cases(big_desk).body["continuation"]["handle"]
    key = f"artifacts/tenants/acme/results/{handle}.json"
    s3 = big_desk.service.s3
    stored = json.loads(s3.get_object(Bucket=BUCKET_NAME, Key=key)["Body"].read())
    stored["expires_at"] = (datetime.now().astimezone() - timedelta(seconds=1)).isoformat()
    s3.put_object(Bucket=BUCKET_NAME, Key=key, Body=json.dumps(stored).encode())
    assert big_desk.continuation(handle, page="1").error_code == "CONTINUATION_NOT_FOUND"


def test_when_the_full_result_cannot_be_kept_the_first_page_still_answers(
    big_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.adapters.aws.invoke import S3ResultStore
    from toolgate.errors import StoreUnavailableError

    def unavailable(self: Any, handle: str, data: bytes) -> None:
        raise StoreUnavailableError("S3 is throttling")

    monkeypatch.setattr(S3ResultStore, "put", unavailable)
    body = list_cases(big_desk).body
    assert body["ok"] is True and body["truncated"] is True and len(body["body"]) == 1000
    assert "continuation" not in body and "only the first 1000" in body["hint"]


@pytest.mark.parametrize("page", ["99", "-1", "one"])
def test_pages_outside_the_result_are_refused(big_desk: Desk, page: str) -> None:
    handle = list_cases(big_desk).body["continuation"]["handle"]
    response = big_desk.continuation(handle, page=page)
    assert (response.status, response.error_code) == (400, "CONTINUATION_PAGE_INVALID")


@pytest.mark.parametrize("handle", ["../../tenants/acme/integrations", "x" * 32 + "/..", "short"])
def test_handles_that_are_not_handles_are_not_found(big_desk: Desk, handle: str) -> None:
    assert big_desk.continuation(handle, page="1").error_code == "CONTINUATION_NOT_FOUND"


def test_a_small_result_has_no_continuation(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    body = desk.invoke().body
    assert "continuation" not in body and "truncated" not in body
    assert not [key for key in desk.service.all_objects() if "/results/" in key]


# --- Audit, logs and metrics ------------------------------------------------------------------


def test_every_call_leaves_one_audit_record_with_a_ttl(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    desk.invoke()
    desk.invoke(tool="delete_everything")
    ok, refused = sorted(audit_items(desk.service), key=lambda item: item["status"])
    assert ok["status"] == "ok" and ok["tool"] == "create_support_case" and ok["integration_id"] == "support"
    assert ok["assistant_id"] == "desk" and ok["principal"] == "agent-bot" and ok["tenant_id"] == "acme"
    assert ok["target_status"] == 200 and ok["call_format"] == "toolgate" and "error_code" not in ok
    assert ok["latency_ms"] >= 0
    assert (refused["status"], refused["error_code"]) == ("refused", "TOOL_NOT_AVAILABLE")
    at = datetime.fromisoformat(ok["at"])
    assert int(ok["ttl"]) == int(at.timestamp()) + 30 * 86_400
    assert "arguments" not in ok and "arguments" not in refused


def test_arguments_are_audited_only_when_the_integration_allows_it(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN}, settings={"audit_arguments": True})
    desk.invoke()
    [record] = audit_items(desk.service)
    assert json.loads(record["arguments"]) == SEED_ARGUMENTS
    assert record["arguments_truncated"] is False


KEY_PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCs3cr3t\n-----END PRIVATE KEY-----"
#: Each credential type, and the secret values (as sent) an argument may carry.
CREDENTIALS_AND_SECRETS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "bearer": ({"type": "bearer", "token": "bearer-s3cret-1"}, ["bearer-s3cret-1"]),
    "api_key": (
        {"type": "api_key", "value": "apikey-s3cret-2", "in": "header", "name": "X-Key"},
        ["apikey-s3cret-2"],
    ),
    "basic": (
        {"type": "basic", "username": "ana", "password": "basic-s3cret-3"},
        ["basic-s3cret-3", base64.b64encode(b"ana:basic-s3cret-3").decode()],
    ),
    "oauth2_client_credentials": (
        {
            "type": "oauth2_client_credentials",
            "client_id": "app",
            "client_secret": "client-s3cret-4",
            "token_url": "https://login.example.com/token",
        },
        ["client-s3cret-4", base64.b64encode(b"app:client-s3cret-4").decode()],
    ),
    "mtls": (
        {
            "type": "mtls",
            "certificate_pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "private_key_pem": KEY_PEM,
            "private_key_password": "keypass-s3cret-5",
        },
        [KEY_PEM, "keypass-s3cret-5"],
    ),
}


@pytest.mark.parametrize("kind", sorted(CREDENTIALS_AND_SECRETS))
def test_audited_arguments_never_hold_the_integrations_credential(desk: Desk, kind: str) -> None:
    credential, secrets = CREDENTIALS_AND_SECRETS[kind]
    desk.seed("acme", credential, settings={"audit_arguments": True})
    summary = "The key is " + " and ".join(secrets)
    desk.invoke({"arguments": {**SEED_ARGUMENTS, "summary": summary, "customer_id": secrets[0]}})
    [record] = audit_items(desk.service)
    audited = json.loads(record["arguments"])
    assert not [secret for secret in secrets if secret in record["arguments"]]
    assert audited == {
        **SEED_ARGUMENTS,
        "summary": "The key is " + " and ".join(["[REDACTED]"] * len(secrets)),
        "customer_id": "[REDACTED]",
    }


OAUTH_SPEC = SPEC.replace(
    """    bearerAuth:
      type: http
      scheme: bearer
      bearerFormat: JWT""",
    """    bearerAuth:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: /oauth/token
          scopes: {}""",
)
ACCESS_TOKEN = "access-s3cret-6"


def desk_with_token_endpoint() -> Callable[[Seen], Reply]:
    desk = SupportDesk()

    def handler(seen: Seen) -> Reply:
        if seen.path == "/oauth/token":
            token = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600}
            return json_reply(json.dumps(token).encode())
        return desk(seen)

    return handler


def test_audited_arguments_never_hold_the_oauth_access_token_the_call_used(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert OAUTH_SPEC != SPEC
    with desk_world(service, monkeypatch, desk_with_token_endpoint()) as desk:
        credential = {"type": "oauth2_client_credentials", "client_id": "app", "client_secret": "cs-7"}
        desk.seed("acme", credential, settings={"audit_arguments": True}, spec=OAUTH_SPEC)
        response = desk.invoke({"arguments": {**SEED_ARGUMENTS, "summary": f"token {ACCESS_TOKEN}"}})
        [case] = desk.created_cases()
    assert response.body["ok"] is True
    assert case.header("Authorization") == f"Bearer {ACCESS_TOKEN}"
    [record] = audit_items(service)
    assert json.loads(record["arguments"])["summary"] == "token [REDACTED]"


def test_a_replayed_call_does_not_store_its_arguments_again(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN}, settings={"audit_arguments": True})
    for _ in range(2):
        desk.invoke(headers={"Idempotency-Key": "replay-1"})
    first, replay = sorted(audit_items(desk.service), key=lambda item: item["replayed"])
    assert json.loads(first["arguments"]) == SEED_ARGUMENTS
    assert replay["replayed"] is True and "arguments" not in replay


def test_a_failed_audit_write_still_answers_and_is_counted(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from toolgate.adapters.aws import invoke as invoke_adapters

    def unavailable(self: Any, entry: Any) -> None:
        raise RuntimeError("throttled")

    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    monkeypatch.setattr(invoke_adapters.DynamoAuditLog, "record", unavailable)
    capsys.readouterr()
    assert desk.invoke().body["ok"] is True
    assert '"AuditWriteFailures"' in capsys.readouterr().out
    assert audit_items(desk.service) == []


def test_metrics_count_calls_per_tool_and_errors_per_code(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.seed("acme", None)
    capsys.readouterr()
    desk.invoke()
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    by_name = {
        definition["Name"]: document
        for document in metrics
        for directive in document["_aws"]["CloudWatchMetrics"]
        for definition in directive["Metrics"]
    }
    assert by_name["ToolInvocations"]["tool"] == "create_support_case"
    assert by_name["ToolInvocations"]["status"] == "error"
    assert by_name["ToolErrors"]["error_code"] == "CREDENTIAL_MISSING"
    assert "ToolLatency" in by_name


def test_unknown_tool_names_are_not_metric_dimensions(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    capsys.readouterr()
    desk.invoke(tool="made-up-by-the-model")
    output = capsys.readouterr().out
    assert "made-up-by-the-model" not in "".join(line for line in output.splitlines() if '"_aws"' in line)


def test_log_lines_carry_the_tenant_and_the_correlation_id(
    desk: Desk, log_lines: Callable[[], list[str]]
) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    desk.invoke()
    [finished] = [json.loads(line) for line in log_lines() if "tool call finished" in line]
    assert finished["tenant_id"] == "acme" and finished["correlation_id"]
    assert finished["tool"] == "create_support_case" and finished["status"] == "ok"
    assert "cust-42" not in "\n".join(log_lines()), "arguments are never logged"


# --- Cold start ---------------------------------------------------------------------------------


def test_the_invoke_handler_does_not_import_the_compiler_or_its_validators() -> None:
    heavy = [
        "openapi_spec_validator",
        "jsonschema",
        "toolgate.spec.compiler",
        "toolgate.spec.lint",
        "toolgate.service.management",
        "yaml",
        "requests",
        # The model SDKs are dev dependencies, for the tests only.
        "openai",
        "anthropic",
        "google.genai",
        "mcp",
        # The MCP function's SDK types: REST invoke's cold start does not pay for them.
        "mcp_types",
    ]
    script = (
        "import json, sys\n"
        "import functions.invoke.handler\n"
        f"print(json.dumps([name for name in {heavy!r} if name in sys.modules]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(completed.stdout) == []
