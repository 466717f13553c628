"""The MCP function over moto, with the Support Desk as a real HTTP target on 127.0.0.1: tools/list and
tools/call through REST invoke's path, tenancy, the canary credential, limits and the HTTP edge."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from invoke_harness import SEED_ARGUMENTS, SPEC, Desk, SupportDesk, desk_world
from mcp_harness import MODERN, call_mcp, mcp_event, mcp_headers, mcp_message
from service_harness import FakeLambdaContext
from service_world import Service
from test_tenant_limits import set_limits

from tests.integration.runtime_servers import Reply, Seen, json_reply

REPO_ROOT = Path(__file__).resolve().parents[2]
CANARY = "canary-5d1e7b-MCP-NEVER-SHOWN"
CREDENTIAL = {"type": "bearer", "token": CANARY}
REVISIONS = [MODERN, "2025-11-25", "2025-06-18"]


class EchoingDesk(SupportDesk):
    """The Support Desk, but careless: it echoes the Authorization header it got, and fails with it too."""

    def __call__(self, seen: Seen) -> Reply:
        if seen.method == "POST" and seen.path == "/api/support/cases":
            if b"fail" in seen.body:
                return json_reply(json.dumps({"error": f"bad {seen.header('Authorization')}"}).encode(), 500)
            echoed = {"case_id": "case-1", "status": "open", "auth": seen.header("Authorization")}
            return json_reply(json.dumps(echoed).encode())
        return super().__call__(seen)


@pytest.fixture
def desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with desk_world(service, monkeypatch) as world:
        world.seed("acme", CREDENTIAL)
        yield world


def _call(name: str, arguments: Any, revision: str = MODERN) -> dict[str, Any]:
    return mcp_message("tools/call", {"name": name, "arguments": arguments}, revision=revision)


def _audit_rows(service: Service) -> list[dict[str, Any]]:
    return [item for item in service.table_items() if item["sk"].startswith("AUDIT#")]


@pytest.mark.parametrize("revision", REVISIONS)
def test_tools_list_and_call_work_at_every_served_revision(desk: Desk, revision: str) -> None:
    listed = call_mcp(desk, mcp_message("tools/list", revision=revision), revision=revision)
    assert listed.status == 200, listed.body
    tools = {tool["name"]: tool for tool in listed.body["result"]["tools"]}
    case = tools["create_support_case"]
    assert case["inputSchema"]["type"] == "object"
    assert case["outputSchema"]["type"] == "object"
    assert case["annotations"]["readOnlyHint"] is False
    assert ("ttlMs" in listed.body["result"]) is (revision == MODERN)

    called = call_mcp(desk, _call("create_support_case", SEED_ARGUMENTS, revision), revision=revision)
    assert called.status == 200, called.body
    result = called.body["result"]
    assert result["isError"] is False
    assert result["structuredContent"]["body"]["case_id"] == "case-1"
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    assert len(desk.created_cases()) == 1


def test_tools_list_pages_with_an_opaque_cursor_in_a_stable_order(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.settings import get_mcp_settings

    whole = call_mcp(desk, mcp_message("tools/list")).body["result"]
    names = [tool["name"] for tool in whole["tools"]]
    assert len(names) >= 3 and "nextCursor" not in whole
    monkeypatch.setenv("TOOLGATE_MCP_PAGE_SIZE", "2")
    get_mcp_settings.cache_clear()
    try:
        paged: list[str] = []
        cursor: str | None = None
        for _ in range(len(names)):
            params = {"cursor": cursor} if cursor else {}
            page = call_mcp(desk, mcp_message("tools/list", params)).body["result"]
            assert len(page["tools"]) <= 2
            paged += [tool["name"] for tool in page["tools"]]
            cursor = page.get("nextCursor")
            if cursor is None:
                break
        assert paged == names
        garbage = call_mcp(desk, mcp_message("tools/list", {"cursor": "not-a-cursor"}))
        assert garbage.status == 400 and garbage.body["error"]["code"] == -32602
    finally:
        get_mcp_settings.cache_clear()


def test_a_tool_failure_is_a_result_with_is_error_and_its_code(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with desk_world(service, monkeypatch, target=lambda seen: json_reply(b'{"error": "down"}', 503)) as desk:
        desk.seed("acme", CREDENTIAL)
        called = call_mcp(desk, _call("create_support_case", SEED_ARGUMENTS))
    assert called.status == 200, called.body
    result = called.body["result"]
    assert result["isError"] is True
    assert result["structuredContent"]["ok"] is False
    assert result["structuredContent"]["error"]["code"]


def test_arguments_that_fail_the_tools_schema_are_a_correctable_tool_result(desk: Desk) -> None:
    called = call_mcp(desk, _call("create_support_case", {"priority": "sky-high"}))
    result = called.body["result"]
    assert result["isError"] is True
    assert result["structuredContent"]["error"]["code"] == "ARGUMENTS_INVALID"
    assert desk.created_cases() == []


def test_an_unknown_tool_is_invalid_params_and_reaches_no_api(desk: Desk) -> None:
    called = call_mcp(desk, _call("drop_all_tables", {}))
    assert called.status == 400
    assert called.body["error"]["code"] == -32602
    assert called.body["error"]["data"]["reason"] == "TOOL_NOT_AVAILABLE"
    assert desk.target.seen == []


def test_a_tool_call_runs_the_invoke_path_and_leaves_its_audit_record(desk: Desk) -> None:
    call_mcp(desk, _call("create_support_case", SEED_ARGUMENTS))
    rows = _audit_rows(desk.service)
    assert len(rows) == 1
    assert rows[0]["call_format"] == "mcp"
    assert rows[0]["status"] == "ok"


def test_an_idempotency_key_makes_an_mcp_retry_call_the_api_once(desk: Desk) -> None:
    message = _call("create_support_case", SEED_ARGUMENTS)
    headers = {**mcp_headers(message), "idempotency-key": "retry-1"}
    first = call_mcp(desk, message, headers=headers)
    again = call_mcp(desk, message, headers=headers)
    assert first.body["result"]["structuredContent"] == again.body["result"]["structuredContent"]
    assert json.loads(again.body["result"]["content"][0]["text"]) == first.body["result"]["structuredContent"]
    assert len(desk.created_cases()) == 1


def test_a_call_over_the_tenants_rate_is_a_tool_result_with_the_limit_code_and_no_egress(desk: Desk) -> None:
    set_limits(desk.service, "acme", requests_per_second=0.01, burst=1, concurrent_calls=5)
    assert call_mcp(desk, _call("create_support_case", SEED_ARGUMENTS)).body["result"]["isError"] is False
    limited = call_mcp(desk, _call("create_support_case", SEED_ARGUMENTS))
    assert limited.status == 200
    result = limited.body["result"]
    assert result["isError"] is True
    assert result["structuredContent"]["error"]["code"] == "RATE_LIMITED"
    assert result["structuredContent"]["error"]["details"]["retry_after_seconds"] >= 1
    assert len(desk.created_cases()) == 1


# --- Tenancy ------------------------------------------------------------------------------------


def test_tenant_bs_key_on_tenant_as_mcp_url_sees_and_calls_nothing_of_a(desk: Desk) -> None:
    listed = call_mcp(desk, mcp_message("tools/list"), tenant="tenant-b")
    assert listed.status == 404
    assert listed.body["error"]["data"]["code"] == "NOT_FOUND"
    assert "create_support_case" not in json.dumps(listed.body)
    called = call_mcp(desk, _call("create_support_case", SEED_ARGUMENTS), tenant="tenant-b")
    assert called.body["error"]["code"] == -32602
    assert desk.target.seen == []
    assert [row["tenant_id"] for row in _audit_rows(desk.service)] == ["tenant-b"]


def test_a_request_without_the_authorizers_tenant_is_refused(desk: Desk) -> None:
    from functions.mcp.handler import lambda_handler

    message = mcp_message("tools/list")
    event = mcp_event("desk", tenant=None, raw_body=json.dumps(message), headers=mcp_headers(message))
    refused = lambda_handler(event, FakeLambdaContext())
    assert refused["statusCode"] in (401, 403)
    assert "create_support_case" not in refused["body"]


def test_a_revoked_key_cannot_list_or_call_through_the_cached_allow(desk: Desk) -> None:
    from test_revocation import _agent_allow, _revoke

    agent = _agent_allow(desk.service)
    _revoke(desk.service, agent)
    for message in (mcp_message("tools/list"), _call("create_support_case", SEED_ARGUMENTS)):
        refused = call_mcp(desk, message, tenant=agent["tenant_id"], key_id=agent["key_id"])
        assert refused.status == 401
        assert refused.body["error"]["code"] == "API_KEY_REVOKED"
    assert desk.created_cases() == []


# --- The canary credential -----------------------------------------------------------------------


def test_the_credential_never_appears_in_an_mcp_response_or_a_log_line(
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: Callable[[], list[str]],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with desk_world(service, monkeypatch, target=EchoingDesk()) as desk:
        desk.seed("acme", CREDENTIAL, settings={"audit_arguments": True})
        for revision in REVISIONS:
            call_mcp(desk, mcp_message("tools/list", revision=revision), revision=revision)
            echoed = call_mcp(desk, _call("create_support_case", SEED_ARGUMENTS, revision), revision=revision)
            assert echoed.body["result"]["structuredContent"]["ok"] is True
            failing = {**SEED_ARGUMENTS, "summary": f"fail {CANARY}"}
            call_mcp(desk, _call("create_support_case", failing, revision), revision=revision)
            call_mcp(desk, _call("create_support_case", CANARY, revision), revision=revision)
        assert {seen.header("Authorization") for seen in desk.created_cases()} == {f"Bearer {CANARY}"}
    assert desk.responses and not [body for body in desk.responses if CANARY in body]
    assert log_lines(), "the service logged something"
    assert not [line for line in log_lines() if CANARY in line]
    assert CANARY not in caplog.text
    captured = capsys.readouterr()
    assert CANARY not in captured.out and CANARY not in captured.err
    assert CANARY not in json.dumps(service.table_items(), default=str)


# --- The HTTP edge ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_answer_405_with_allow_post(desk: Desk, method: str) -> None:
    answered = call_mcp(desk, raw_body="", method=method, headers={"accept": "text/event-stream"})
    assert answered.status == 405
    assert answered.raw["headers"]["Allow"] == "POST"
    assert answered.body["error"]["code"] == "MCP_METHOD_NOT_ALLOWED"


def test_an_mcp_call_in_an_environment_isolated_for_another_tenant_lists_and_calls_nothing(
    desk: Desk,
) -> None:
    from functions.mcp.handler import lambda_handler

    message = mcp_message("tools/list")
    event = mcp_event("desk", tenant="acme", raw_body=json.dumps(message), headers=mcp_headers(message))
    refused = lambda_handler(event, FakeLambdaContext(tenant_id="tenant-b"))
    assert refused["statusCode"] == 500
    assert "TENANT_ENVIRONMENT_MISMATCH" in refused["body"]
    assert "create_support_case" not in refused["body"]
    assert desk.target.seen == []


def test_oauth_discovery_is_a_clear_404_without_a_key(desk: Desk) -> None:
    from functions.mcp.handler import lambda_handler

    event = mcp_event("desk", tenant=None, raw_body="", headers={}, method="GET")
    event |= {
        "resource": "/.well-known/{proxy+}",
        "path": "/.well-known/oauth-protected-resource/v1/assistants/desk/mcp",
    }
    answered = lambda_handler(event, FakeLambdaContext())
    assert answered["statusCode"] == 404
    body = json.loads(answered["body"])
    assert body["error"]["code"] == "MCP_OAUTH_NOT_SUPPORTED"
    assert "Authorization: Bearer" in body["error"]["message"]


def test_wrong_content_type_is_415_and_calls_nothing(desk: Desk) -> None:
    message = _call("create_support_case", SEED_ARGUMENTS)
    answered = call_mcp(desk, message, headers={**mcp_headers(message), "content-type": "text/plain"})
    assert answered.status == 415
    assert desk.target.seen == []


def test_a_notification_gets_202_with_no_body(desk: Desk) -> None:
    notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    answered = call_mcp(desk, notification, revision="2025-06-18")
    assert answered.status == 202
    assert answered.raw["body"] == ""


def test_a_body_over_the_limit_is_413_and_never_a_5xx(desk: Desk) -> None:
    message = _call("create_support_case", {"summary": "x" * (2 * 1024 * 1024)})
    answered = call_mcp(desk, message)
    assert answered.status == 413
    assert answered.body["error"]["code"] == "MCP_REQUEST_TOO_LARGE"


def test_the_mcp_handler_imports_the_sdks_version_free_types_but_not_the_sdk_or_its_web_stack() -> None:
    heavy = ["mcp", "starlette", "anyio", "httpx", "httpx2", "uvicorn", "toolgate.spec.compiler", "yaml"]
    script = (
        "import json, sys\n"
        "import functions.mcp.handler\n"
        f"print(json.dumps([name for name in {heavy!r} if name in sys.modules]))\n"
        "print('mcp_types.methods' in sys.modules)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    loaded, per_revision = completed.stdout.splitlines()
    assert json.loads(loaded) == []
    # The per-revision models cost the cold start ~200 ms; the server does without them (docs/mcp.md).
    assert per_revision == "False"


# --- The warm function's catalog cache (tools/list) ---------------------------------------------


def _listed_names(desk: Desk, tenant: str = "acme") -> list[str]:
    listed = call_mcp(desk, mcp_message("tools/list"), tenant=tenant)
    assert listed.status == 200, listed.body
    return [tool["name"] for tool in listed.body["result"]["tools"]]


def test_a_new_upload_is_listed_at_once_never_the_cached_list(desk: Desk) -> None:
    assert "create_support_case" in _listed_names(desk)
    renamed = SPEC.replace("operationId: createSupportCase", "operationId: openSupportCase")
    uploaded = desk.service.api(
        "PUT",
        "/v1/integrations/support",
        tenant="acme",
        body=renamed,
        headers={"content-type": "application/yaml"},
    )
    assert uploaded.status == 200, uploaded.body
    names = _listed_names(desk)
    assert "open_support_case" in names and "create_support_case" not in names


def test_a_toolset_change_is_listed_at_once_never_the_cached_list(desk: Desk) -> None:
    assert "create_support_case" in _listed_names(desk)
    updated = desk.service.api(
        "PUT",
        "/v1/assistants/desk",
        tenant="acme",
        body={"name": "desk", "integrations": ["support"], "exclude": ["create_support_case"]},
    )
    assert updated.status == 200, updated.body
    names = _listed_names(desk)
    assert names and "create_support_case" not in names


def test_tenant_bs_same_named_assistant_never_gets_tenant_as_cached_list(desk: Desk) -> None:
    desk.seed(
        "globex", None, spec=SPEC.replace("operationId: createSupportCase", "operationId: fileGlobexCase")
    )
    acme = _listed_names(desk, "acme")
    globex = _listed_names(desk, "globex")
    assert "create_support_case" in acme and "file_globex_case" not in acme
    assert "file_globex_case" in globex and "create_support_case" not in globex
    assert _listed_names(desk, "acme") == acme


@pytest.fixture
def tool_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(tenant, integration) of each read of an integration's tool items."""
    from toolgate.service import catalog

    reads: list[tuple[str, str]] = []
    read_tools = catalog._ready_tools

    def counted(resources: Any, integration: Any) -> Any:
        reads.append((resources.tenant_id, integration.integration_id))
        return read_tools(resources, integration)

    monkeypatch.setattr(catalog, "_ready_tools", counted)
    return reads


@pytest.fixture
def mcp_setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    from toolgate.settings import get_mcp_settings
    from toolgate.wiring import clear_caches

    def set_to(name: str, value: str) -> None:
        monkeypatch.setenv(f"TOOLGATE_MCP_{name}", value)
        get_mcp_settings.cache_clear()
        clear_caches()

    yield set_to
    get_mcp_settings.cache_clear()


def test_a_warm_list_and_its_pages_read_no_tool_items_again(
    desk: Desk, tool_reads: list[tuple[str, str]], mcp_setting: Callable[[str, str], None]
) -> None:
    mcp_setting("PAGE_SIZE", "2")
    names: list[str] = []
    cursor: str | None = None
    for _ in range(20):
        page = call_mcp(desk, mcp_message("tools/list", {"cursor": cursor} if cursor else {}))
        names += [tool["name"] for tool in page.body["result"]["tools"]]
        cursor = page.body["result"].get("nextCursor")
        if cursor is None:
            break
    assert cursor is None and len(names) > 2
    assert tool_reads == [("acme", "support")]
    # Each revision renders the same cached catalog.
    older = call_mcp(desk, mcp_message("tools/list", revision="2025-11-25"), revision="2025-11-25")
    assert older.status == 200 and len(older.body["result"]["tools"]) == 2
    assert tool_reads == [("acme", "support")]


def test_the_catalog_cache_keeps_no_more_than_its_bound(
    desk: Desk, tool_reads: list[tuple[str, str]], mcp_setting: Callable[[str, str], None]
) -> None:
    mcp_setting("CATALOG_CACHE_ENTRIES", "1")
    desk.seed("globex", None)
    for tenant in ("acme", "acme", "globex", "acme"):
        _listed_names(desk, tenant)
    # The second acme list was a hit; globex's displaced acme's, so the last one read again.
    assert tool_reads == [("acme", "support"), ("globex", "support"), ("acme", "support")]


def test_a_list_read_while_an_upload_replaced_the_revision_is_served_but_not_kept(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.service import catalog

    reads: list[str] = []
    read_tools = catalog._ready_tools

    def raced(resources: Any, integration: Any) -> Any:
        # As when the tool items had changed under the revision the key names, and were read again.
        reads.append(integration.integration_id)
        return "v9-newer", read_tools(resources, integration)[1]

    monkeypatch.setattr(catalog, "_ready_tools", raced)
    assert "create_support_case" in _listed_names(desk)
    assert "create_support_case" in _listed_names(desk)
    assert reads == ["support", "support"]
