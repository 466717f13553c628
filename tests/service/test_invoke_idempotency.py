"""`Idempotency-Key`: a retried invoke returns the first answer instead of calling the API again, and the
key is scoped by tenant (and assistant and tool), so one tenant never receives another's stored result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from invoke_harness import SEED_ARGUMENTS, Desk, desk_world
from service_world import Service
from toolgate.errors import IdempotencyInProgressError

TOKEN = "desk-token-7"


@pytest.fixture
def desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with desk_world(service, monkeypatch) as world:
        yield world


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_the_same_key_twice_calls_the_api_once_and_answers_the_same(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    first = desk.invoke(headers=keyed("order-1"))
    second = desk.invoke(headers=keyed("order-1"))
    assert first.body["ok"] is True
    assert second.body == first.body
    assert len(desk.created_cases()) == 1


def test_a_retry_in_another_format_gets_the_first_answer_in_its_own_format(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    first = desk.invoke(headers=keyed("order-2"))
    call = {"toolUse": {"toolUseId": "tooluse_9", "name": "create_support_case", "input": SEED_ARGUMENTS}}
    retried = desk.invoke(call, headers=keyed("order-2"))
    assert retried.body["toolResult"]["content"][0]["json"] == first.body
    assert retried.body["toolResult"]["toolUseId"] == "tooluse_9"
    assert len(desk.created_cases()) == 1


def test_the_same_key_from_two_tenants_calls_the_api_twice(desk: Desk) -> None:
    desk.seed("tenant-a", {"type": "bearer", "token": "token-of-a"})
    desk.seed("tenant-b", {"type": "bearer", "token": "token-of-b"})
    from_a = desk.invoke(tenant="tenant-a", headers=keyed("shared-key"))
    from_b = desk.invoke(tenant="tenant-b", headers=keyed("shared-key"))
    assert from_a.body["body"]["case_id"] == "case-1"
    assert from_b.body["body"]["case_id"] == "case-2", "tenant B got its own call, not tenant A's result"
    tokens = [seen.header("Authorization") for seen in desk.created_cases()]
    assert tokens == ["Bearer token-of-a", "Bearer token-of-b"]


def test_different_keys_make_different_calls(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    desk.invoke(headers=keyed("a"))
    desk.invoke(headers=keyed("b"))
    desk.invoke()
    desk.invoke()
    assert len(desk.created_cases()) == 4


def test_the_same_key_for_other_tools_of_the_assistant_is_another_call(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    desk.invoke(headers=keyed("k"))
    listed = desk.invoke(
        {"arguments": {"customer_id": "cust-42"}}, tool="list_support_cases", headers=keyed("k")
    )
    assert listed.body["ok"] is True and "cases" in listed.body["body"]


def test_reusing_a_key_with_other_arguments_is_refused(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    desk.invoke(headers=keyed("order-3"))
    other = desk.invoke({"arguments": {**SEED_ARGUMENTS, "priority": "low"}}, headers=keyed("order-3"))
    assert (other.status, other.error_code) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert len(desk.created_cases()) == 1


def test_strict_nulls_do_not_make_a_retry_look_different(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    arguments = {"customer_id": "cust-42"}
    desk.invoke({"arguments": arguments}, tool="list_support_cases", headers=keyed("list-1"))
    retried = desk.invoke(
        {"arguments": {**arguments, "status": None, "limit": None}},
        tool="list_support_cases",
        headers=keyed("list-1"),
    )
    assert retried.status == 200 and retried.body["ok"] is True
    assert len([seen for seen in desk.target.seen if seen.method == "GET"]) == 1


def test_a_call_refused_before_sending_is_not_kept_for_the_key(desk: Desk) -> None:
    desk.seed("acme", None)
    refused = desk.invoke(headers=keyed("order-4"))
    assert refused.body["error"]["code"] == "CREDENTIAL_MISSING"
    desk.service.api("PUT", "/v1/integrations/support/credential", body={"type": "bearer", "token": TOKEN})
    retried = desk.invoke(headers=keyed("order-4"))
    assert retried.body["ok"] is True, "the retry ran, now with a credential"
    again = desk.invoke(headers=keyed("order-4"))
    assert again.body == retried.body
    assert len(desk.created_cases()) == 1


def test_an_api_error_answer_is_kept_for_the_key(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    arguments = {"arguments": {"case_id": "no-such-case"}}
    first = desk.invoke(arguments, tool="get_support_case", headers=keyed("get-1"))
    second = desk.invoke(arguments, tool="get_support_case", headers=keyed("get-1"))
    assert first.body["status"] == 404 and second.body == first.body
    assert len(desk.target.seen) == 1


def test_records_live_in_the_tenants_partition_and_expire(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    desk.invoke(headers=keyed("order-5"))
    [record] = [item for item in desk.service.table_items() if item["sk"].startswith("IDEMPOTENCY#")]
    assert record["pk"] == "acme"
    assert record["sk"].startswith("IDEMPOTENCY#invoke#")
    assert "order-5" not in record["sk"], "the key is hashed with its scope"
    assert record["status"] == "COMPLETED" and int(record["ttl"]) > 0
    assert json.loads(record["data"])["body"]["case_id"] == "case-1"


def test_replays_are_audited_as_replays(desk: Desk) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    desk.invoke(headers=keyed("order-6"))
    desk.invoke(headers=keyed("order-6"))
    audits = sorted(
        (item for item in desk.service.table_items() if item["sk"].startswith("AUDIT#")),
        key=lambda item: item["sk"],
    )
    assert [(item["idempotent"], item["replayed"]) for item in audits] == [(True, False), (True, True)]


@pytest.mark.parametrize("key", ["", " leading", "x" * 256, "tab\tinside", "é"])
def test_malformed_keys_are_refused(desk: Desk, key: str) -> None:
    desk.seed("acme", {"type": "bearer", "token": TOKEN})
    response = desk.invoke(headers=keyed(key))
    assert (response.status, response.error_code) == (400, "IDEMPOTENCY_KEY_INVALID")
    assert desk.target.seen == []


def test_a_retry_while_the_first_call_runs_is_told_to_wait(desk: Desk) -> None:
    from functions.invoke import handler

    desk.seed("acme", None)
    store = handler.wiring.invoke_resources.for_tenant("acme").idempotency
    scope = {"tenant_id": "acme", "assistant_id": "desk", "tool": "create_support_case", "key": "k"}
    request: dict[str, Any] = {"arguments": SEED_ARGUMENTS}

    def first_call() -> tuple[dict[str, Any], bool]:
        # The retry arrives while the first call is still in progress.
        with pytest.raises(IdempotencyInProgressError):
            store.run_once(scope, request, lambda: ({"ok": "the retry ran"}, True), 30)
        return {"ok": True, "status": 200}, True

    assert store.run_once(scope, request, first_call, 30) == ({"ok": True, "status": 200}, False)
    assert store.run_once(scope, request, first_call, 30) == ({"ok": True, "status": 200}, True)
