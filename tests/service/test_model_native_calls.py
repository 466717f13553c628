"""The invoke endpoint takes each model API's own tool call and answers with the block that API takes
back, end to end: the handler over moto, the Support Desk target on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from invoke_harness import SEED_ARGUMENTS, Desk, desk_world
from service_world import Service

TOKEN = "desk-token-5d1c"


@pytest.fixture
def desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with desk_world(service, monkeypatch) as world:
        world.seed("acme", {"type": "bearer", "token": TOKEN})
        yield world


def native_call(call_format: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The call object each model API hands an agent loop."""
    if call_format == "openai":
        return {
            "id": "call_1",
            "type": "function",
            "function": {"name": tool, "arguments": json.dumps(arguments)},
        }
    if call_format == "openai-responses":
        return {
            "type": "function_call",
            "call_id": "call_2",
            "name": tool,
            "arguments": json.dumps(arguments),
        }
    if call_format == "anthropic":
        return {"type": "tool_use", "id": "toolu_3", "name": tool, "input": arguments}
    if call_format == "bedrock":
        return {"toolUse": {"toolUseId": "tooluse_4", "name": tool, "input": arguments}}
    if call_format == "gemini":
        return {"functionCall": {"id": "fc_5", "name": tool, "args": arguments}}
    assert call_format == "mcp"
    return {
        "jsonrpc": "2.0",
        "id": 6,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


def unwrap(call_format: str, block: dict[str, Any]) -> tuple[dict[str, Any], bool | None, object]:
    """(the envelope inside the block, the block's own error flag or None, the id it echoes)."""
    if call_format == "openai":
        assert block["role"] == "tool"
        return json.loads(block["content"]), None, block["tool_call_id"]
    if call_format == "openai-responses":
        assert block["type"] == "function_call_output"
        return json.loads(block["output"]), None, block["call_id"]
    if call_format == "anthropic":
        assert block["type"] == "tool_result"
        return json.loads(block["content"]), block["is_error"], block["tool_use_id"]
    if call_format == "bedrock":
        result = block["toolResult"]
        return result["content"][0]["json"], result["status"] == "error", result["toolUseId"]
    if call_format == "gemini":
        response = block["functionResponse"]["response"]
        assert block["functionResponse"]["name"] in {"create_support_case", "get_support_case"}
        return next(iter(response.values())), "error" in response, block["functionResponse"]["id"]
    assert block["jsonrpc"] == "2.0"
    result = block["result"]
    return json.loads(result["content"][0]["text"]), result["isError"], block["id"]


FORMATS = ["openai", "openai-responses", "anthropic", "bedrock", "gemini", "mcp"]
IDS = {
    "openai": "call_1",
    "openai-responses": "call_2",
    "anthropic": "toolu_3",
    "bedrock": "tooluse_4",
    "gemini": "fc_5",
    "mcp": 6,
}


@pytest.mark.parametrize("call_format", FORMATS)
def test_seed_workflow_answers_case_id_and_status_in_every_format(desk: Desk, call_format: str) -> None:
    response = desk.invoke(native_call(call_format, "create_support_case", SEED_ARGUMENTS))
    assert response.status == 200, response.body
    envelope, is_error, echoed = unwrap(call_format, response.body)
    assert envelope["ok"] is True and is_error in (None, False)
    assert envelope["body"]["status"] == "open"
    assert envelope["body"]["case_id"].startswith("case-")
    assert echoed == IDS[call_format]
    [created] = desk.created_cases()
    assert created.header("Authorization") == f"Bearer {TOKEN}"
    assert json.loads(created.body) == SEED_ARGUMENTS


def test_mcp_success_carries_the_envelope_as_structured_content(desk: Desk) -> None:
    response = desk.invoke(native_call("mcp", "create_support_case", SEED_ARGUMENTS))
    structured = response.body["result"]["structuredContent"]
    assert structured["ok"] is True
    assert structured["body"] == {"case_id": "case-1", "status": "open"}


@pytest.mark.parametrize("call_format", FORMATS)
def test_an_api_error_comes_back_as_an_error_result_in_every_format(desk: Desk, call_format: str) -> None:
    # The Support Desk answers 404 for a case that does not exist.
    response = desk.invoke(
        native_call(call_format, "get_support_case", {"case_id": "no-such-case"}), tool="get_support_case"
    )
    assert response.status == 200, "a failed API call is a result the model reads, not a refusal"
    envelope, is_error, _ = unwrap(call_format, response.body)
    assert envelope["ok"] is False
    assert (envelope["status"], envelope["error"]["code"]) == (404, "UPSTREAM_HTTP_ERROR")
    assert is_error in (None, True)
    if call_format == "mcp":
        assert response.body["result"]["structuredContent"] == envelope


def test_malformed_openai_arguments_get_an_error_result_the_model_can_fix(desk: Desk) -> None:
    call = {"id": "call_9", "type": "function", "function": {"name": "create_support_case", "arguments": "{"}}
    response = desk.invoke(call)
    assert response.status == 200
    envelope = json.loads(response.body["content"])
    assert envelope["error"]["code"] == "ARGUMENTS_INVALID"
    assert response.body["tool_call_id"] == "call_9"
    assert desk.created_cases() == []


def test_invalid_arguments_are_an_anthropic_error_result(desk: Desk) -> None:
    call = native_call("anthropic", "create_support_case", {**SEED_ARGUMENTS, "priority": "urgent"})
    response = desk.invoke(call)
    assert response.body["is_error"] is True
    assert json.loads(response.body["content"])["error"]["code"] == "ARGUMENTS_INVALID"
    assert desk.created_cases() == []


def test_strict_openai_nulls_for_optional_arguments_are_dropped(desk: Desk) -> None:
    # Strict tools make every property required, so a model sends null for `status` and `limit`.
    arguments = {"customer_id": "cust-42", "status": None, "limit": None}
    response = desk.invoke(native_call("openai", "list_support_cases", arguments), tool="list_support_cases")
    envelope = json.loads(response.body["content"])
    assert envelope["ok"] is True, envelope
    [listed] = [seen for seen in desk.target.seen if seen.method == "GET"]
    assert listed.path == "/api/support/cases?customer_id=cust-42"


def test_call_naming_another_tool_than_the_url_is_refused(desk: Desk) -> None:
    response = desk.invoke(native_call("bedrock", "update_support_case", {}), tool="create_support_case")
    assert (response.status, response.error_code) == (400, "CALL_TOOL_MISMATCH")
    assert desk.target.seen == []


@pytest.mark.parametrize(
    ("body", "raw_body"),
    [(None, "not json"), (None, ""), ({"tool_calls": []}, None), ({"input": {}}, None)],
    ids=["not-json", "empty", "message", "unknown-shape"],
)
def test_bodies_that_are_no_tool_call_are_refused(desk: Desk, body: Any, raw_body: str | None) -> None:
    response = desk.invoke(body if body is not None else None, raw_body=raw_body if body is None else None)
    assert response.status == 400
    assert response.error_code == "CALL_INVALID"
    assert desk.target.seen == []


HYPHENATED_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Case filters", "version": "1"},
    "paths": {
        "/support/cases": {
            "get": {
                "operationId": "listCasesByCustomer",
                "description": "List the support cases of one customer.",
                "parameters": [
                    {"name": "customer-id", "in": "query", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "The cases."}},
            }
        }
    },
}


def test_gemini_call_under_a_renamed_argument_reaches_the_api_under_its_original_name(desk: Desk) -> None:
    created = desk.service.api(
        "POST",
        "/v1/integrations",
        body={"id": "filters", "settings": {"assistants": ["desk"], "server_url": f"{desk.target.url}/api"}},
    )
    assert created.status == 201, created.body
    uploaded = desk.service.api("PUT", "/v1/integrations/filters", body=HYPHENATED_SPEC)
    assert uploaded.status == 200, uploaded.body
    listing = desk.service.api(
        "GET", "/v1/assistants/desk/tools", role="agent", query={"format": "gemini"}
    ).body
    [declaration] = [tool for tool in listing["tools"] if tool["name"] == "list_cases_by_customer"]
    assert declaration["parameters"]["required"] == ["customer_id"]
    assert [f["code"] for f in listing["losses"]["list_cases_by_customer"]] == ["DIALECT_PARAMETER_RENAMED"]

    call = {"function_call": {"name": "list_cases_by_customer", "args": {"customer_id": "cust-42"}}}
    response = desk.invoke(call, tool="list_cases_by_customer")

    assert response.status == 200, response.body
    assert response.body["function_response"]["response"]["output"]["ok"] is True
    [seen] = [seen for seen in desk.target.seen if seen.method == "GET"]
    assert seen.path == "/api/support/cases?customer-id=cust-42"
