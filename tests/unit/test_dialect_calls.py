"""Model-native tool calls: each format's call is read into (tool, arguments, id), and the result block
goes back in the same format with the same id and the right error flag."""

from __future__ import annotations

import json
from typing import Any

import pytest
from toolgate.dialects.calls import CallFormat, ToolCall, format_result, parse_call
from toolgate.errors import CallInvalidError

ARGUMENTS = {"customer_id": "cust-42", "summary": "Printer on fire", "priority": "high"}
OK = {"ok": True, "status": 200, "body": {"case_id": "case-1", "status": "open"}}
FAILED = {
    "ok": False,
    "status": 404,
    "body": {"error": "no such case"},
    "error": {"code": "UPSTREAM_HTTP_ERROR", "message": "The API answered 404 Not Found."},
}

#: One call of `create_support_case` in every format, with the id the result must echo.
CALLS: dict[CallFormat, tuple[dict[str, Any], str | int | None]] = {
    CallFormat.TOOLGATE: ({"arguments": ARGUMENTS}, None),
    CallFormat.OPENAI: (
        {
            "id": "call_abc123",
            "type": "function",
            "function": {"name": "create_support_case", "arguments": json.dumps(ARGUMENTS)},
        },
        "call_abc123",
    ),
    CallFormat.OPENAI_RESPONSES: (
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_xyz",
            "name": "create_support_case",
            "arguments": json.dumps(ARGUMENTS),
        },
        "call_xyz",
    ),
    CallFormat.ANTHROPIC: (
        {"type": "tool_use", "id": "toolu_01A", "name": "create_support_case", "input": ARGUMENTS},
        "toolu_01A",
    ),
    CallFormat.BEDROCK: (
        {"toolUse": {"toolUseId": "tooluse_Q1", "name": "create_support_case", "input": ARGUMENTS}},
        "tooluse_Q1",
    ),
    CallFormat.GEMINI: (
        {"functionCall": {"id": "fn-7", "name": "create_support_case", "args": ARGUMENTS}},
        "fn-7",
    ),
    CallFormat.MCP: (
        {
            "jsonrpc": "2.0",
            "id": 42,
            "method": "tools/call",
            "params": {"name": "create_support_case", "arguments": ARGUMENTS},
        },
        42,
    ),
}


@pytest.mark.parametrize("call_format", list(CALLS))
def test_each_format_reads_the_tool_the_arguments_and_the_id(call_format: CallFormat) -> None:
    payload, call_id = CALLS[call_format]
    call = parse_call(payload)
    assert call.format is call_format
    assert call.arguments == ARGUMENTS
    assert call.call_id == call_id
    assert call.arguments_problem is None
    assert call.name == (None if call_format is CallFormat.TOOLGATE else "create_support_case")


def test_inner_bedrock_and_gemini_objects_are_read_too() -> None:
    bedrock = parse_call({"toolUseId": "t1", "name": "create_support_case", "input": ARGUMENTS})
    gemini = parse_call({"name": "create_support_case", "args": ARGUMENTS})
    assert (bedrock.format, bedrock.call_id, bedrock.arguments) == (CallFormat.BEDROCK, "t1", ARGUMENTS)
    assert (gemini.format, gemini.call_id, gemini.arguments) == (CallFormat.GEMINI, None, ARGUMENTS)


def test_openai_result_is_a_tool_message_with_the_envelope_as_text() -> None:
    result = format_result(parse_call(CALLS[CallFormat.OPENAI][0]), OK)
    assert result == {
        "role": "tool",
        "tool_call_id": "call_abc123",
        "content": json.dumps(OK, separators=(",", ":")),
    }


def test_openai_responses_result_is_a_function_call_output_item() -> None:
    result = format_result(parse_call(CALLS[CallFormat.OPENAI_RESPONSES][0]), FAILED)
    assert result["type"] == "function_call_output"
    assert result["call_id"] == "call_xyz"
    assert json.loads(result["output"]) == FAILED


@pytest.mark.parametrize(("envelope", "is_error"), [(OK, False), (FAILED, True)])
def test_anthropic_tool_result_carries_is_error(envelope: dict[str, Any], is_error: bool) -> None:
    result = format_result(parse_call(CALLS[CallFormat.ANTHROPIC][0]), envelope)
    assert set(result) == {"type", "tool_use_id", "content", "is_error"}
    assert (result["type"], result["tool_use_id"], result["is_error"]) == (
        "tool_result",
        "toolu_01A",
        is_error,
    )
    assert json.loads(result["content"]) == envelope


@pytest.mark.parametrize(("envelope", "status"), [(OK, "success"), (FAILED, "error")])
def test_bedrock_tool_result_is_json_content_with_a_status(envelope: dict[str, Any], status: str) -> None:
    result = format_result(parse_call(CALLS[CallFormat.BEDROCK][0]), envelope)
    assert result == {
        "toolResult": {"toolUseId": "tooluse_Q1", "content": [{"json": envelope}], "status": status}
    }


@pytest.mark.parametrize(("envelope", "key"), [(OK, "output"), (FAILED, "error")])
def test_gemini_function_response_puts_failures_under_error(envelope: dict[str, Any], key: str) -> None:
    result = format_result(parse_call(CALLS[CallFormat.GEMINI][0]), envelope)
    assert result == {
        "functionResponse": {"name": "create_support_case", "response": {key: envelope}, "id": "fn-7"}
    }


def test_gemini_response_has_no_id_when_the_call_had_none() -> None:
    result = format_result(parse_call({"functionCall": {"name": "create_support_case", "args": {}}}), OK)
    assert "id" not in result["functionResponse"]


def test_mcp_success_has_the_envelope_as_structured_content_and_is_not_an_error() -> None:
    result = format_result(parse_call(CALLS[CallFormat.MCP][0]), OK)
    assert result["jsonrpc"] == "2.0" and result["id"] == 42
    assert result["result"]["isError"] is False
    assert result["result"]["structuredContent"] == OK
    assert json.loads(result["result"]["content"][0]["text"]) == OK
    assert result["result"]["content"][0]["type"] == "text"


@pytest.mark.parametrize(
    "envelope",
    [
        FAILED,
        {**OK, "body": "plain text"},
        {**OK, "body": '{"case_id": "cas', "truncated": True},
        {**OK, "warnings": ["The body does not match the documented output schema at /status"]},
    ],
    ids=["error", "text-body", "truncated", "schema-mismatch"],
)
def test_mcp_structured_content_is_the_envelope_whatever_the_api_answered(envelope: dict[str, Any]) -> None:
    result = format_result(parse_call(CALLS[CallFormat.MCP][0]), envelope)["result"]
    assert result["structuredContent"] == envelope
    assert result["isError"] is (envelope["ok"] is not True)


def test_mcp_string_ids_are_echoed() -> None:
    payload = {**CALLS[CallFormat.MCP][0], "id": "req-9"}
    assert format_result(parse_call(payload), OK)["id"] == "req-9"


def test_toolgate_format_answers_with_the_envelope_itself() -> None:
    assert format_result(parse_call({"arguments": {}}), FAILED) == FAILED


@pytest.mark.parametrize("arguments", ["", "  "])
def test_openai_empty_arguments_mean_no_arguments(arguments: str) -> None:
    payload = {"id": "c1", "type": "function", "function": {"name": "ping", "arguments": arguments}}
    call = parse_call(payload)
    assert (call.arguments, call.arguments_problem) == ({}, None)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"id": "c", "type": "function", "function": {"name": "t", "arguments": '{"a": '}}, "not valid JSON"),
        ({"id": "c", "type": "function", "function": {"name": "t", "arguments": "[1, 2]"}}, "not an array"),
        ({"id": "c", "type": "function", "function": {"name": "t", "arguments": "[" * 100_000}}, "JSON"),
        ({"type": "tool_use", "id": "t", "name": "t", "input": "text"}, "not a string"),
        ({"toolUse": {"toolUseId": "t", "name": "t", "input": None}}, "not null"),
        ({"functionCall": {"name": "t", "args": [1]}}, "not an array"),
        (
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "t", "arguments": 3}},
            "number",
        ),
        ({"arguments": "customer_id=1"}, "not a string"),
    ],
)
def test_unreadable_arguments_become_a_problem_the_model_can_fix(
    payload: dict[str, Any], problem: str
) -> None:
    call = parse_call(payload)
    assert call.arguments == {}
    assert call.arguments_problem is not None and problem in call.arguments_problem


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "create_support_case",
        {},
        {"arguments": {}, "tool": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c"}]},
        {"type": "function", "function": {"name": "t", "arguments": "{}"}},
        {"id": "", "type": "function", "function": {"name": "t", "arguments": "{}"}},
        {"id": "c", "type": "function", "function": {"name": "", "arguments": "{}"}},
        {"id": "c", "type": "function", "function": "t"},
        {"type": "tool_use", "name": "t", "input": {}},
        {"toolUse": {"name": "t", "input": {}}},
        {"toolUse": "t"},
        {"functionCall": {"args": {}}},
        {"functionCall": {"name": "t", "id": 5}},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        {"jsonrpc": "1.0", "id": 1, "method": "tools/call", "params": {"name": "t"}},
        {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "t"}},
        {"jsonrpc": "2.0", "id": None, "method": "tools/call", "params": {"name": "t"}},
        {"jsonrpc": "2.0", "id": True, "method": "tools/call", "params": {"name": "t"}},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call"},
        {"type": "tool_use", "id": "t\n", "name": "t", "input": {}},
        {"type": "tool_use", "id": "x" * 600, "name": "t", "input": {}},
    ],
)
def test_bodies_of_no_supported_shape_are_refused(payload: object) -> None:
    with pytest.raises(CallInvalidError) as raised:
        parse_call(payload)
    assert raised.value.http_status == 400


def test_a_whole_assistant_message_is_refused_with_advice() -> None:
    with pytest.raises(CallInvalidError, match="one element of its tool_calls"):
        parse_call({"role": "assistant", "content": None, "tool_calls": []})


def test_results_echo_ids_they_were_given_not_their_own() -> None:
    call = ToolCall(CallFormat.ANTHROPIC, "t", {}, call_id="toolu_given")
    assert format_result(call, OK)["tool_use_id"] == "toolu_given"
