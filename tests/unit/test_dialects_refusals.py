"""What the model APIs and SDKs refused (issue 11): OpenAI arrays without `items`, the Responses API's own
tool shape, Gemini calls in the SDK's snake_case, Gemini parameter names, and MCP results the official
client rejects. The SDKs' own checks are in test_dialects_sdk.py."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, get_args

import jsonschema
import pytest
from toolgate.dialects import Dialect, DialectCode, check_definitions, render_tools
from toolgate.dialects.calls import CallFormat, format_result, parse_call
from toolgate.dialects.gemini_names import PARAMETER_NAME, parameter_renames, restore_parameter_names
from toolgate.dialects.mcp import envelope_schema
from toolgate.dialects.schema_rewrite import find_subschemas
from toolgate.service.views import ToolFormat
from toolgate.settings import get_settings
from toolgate.spec.models import CanonicalTool, JsonSchema

ITEMLESS: JsonSchema = {
    "type": "object",
    "properties": {
        "tags": {"type": "array"},
        "maybe": {"type": ["array", "null"]},
        "grid": {"type": "array", "items": {"type": "array"}},
        "either": {"anyOf": [{"type": "string"}, {"type": "array"}]},
        "node": {"$ref": "#/$defs/node"},
    },
    "$defs": {"node": {"type": "object", "properties": {"kids": {"type": "array"}}}},
}
ITEMLESS_POINTERS = {
    "/properties/tags",
    "/properties/maybe",
    "/properties/grid/items",
    "/properties/either/anyOf/1",
    "/$defs/node/properties/kids",
}


def make_tool(input_schema: JsonSchema, output_schema: JsonSchema | None = None) -> CanonicalTool:
    return CanonicalTool(
        name="list_cases",
        description="List support cases.",
        method="GET",
        path="/cases",
        pointer="/paths/~1cases/get",
        input_schema=input_schema,
        output_schema=output_schema,
    )


def _without_items(node: dict[str, Any]) -> bool:
    types = node.get("type")
    return (types == "array" or (isinstance(types, list) and "array" in types)) and "items" not in node


# --- OpenAI -----------------------------------------------------------------------------------


def test_check_openai_flags_every_array_without_items_with_a_stable_code() -> None:
    chat = [
        {"type": "function", "function": {"name": "list_cases", "description": "d", "parameters": ITEMLESS}}
    ]
    responses = [
        {
            "type": "function",
            "name": "list_cases",
            "description": "d",
            "parameters": ITEMLESS,
            "strict": False,
        }
    ]

    chat_found = check_definitions(chat, Dialect.OPENAI)
    responses_found = check_definitions(responses, Dialect.OPENAI_RESPONSES)

    assert {(f.code, f.pointer) for f in chat_found} == {
        (DialectCode.ARRAY_ITEMS_MISSING, f"/0/function/parameters{p}") for p in ITEMLESS_POINTERS
    }
    assert {(f.code, f.pointer) for f in responses_found} == {
        (DialectCode.ARRAY_ITEMS_MISSING, f"/0/parameters{p}") for p in ITEMLESS_POINTERS
    }


@pytest.mark.parametrize("dialect", [Dialect.OPENAI, Dialect.OPENAI_STRICT, Dialect.OPENAI_RESPONSES])
def test_openai_renderers_never_send_an_array_without_items_and_report_the_repair(dialect: Dialect) -> None:
    tool = make_tool(copy.deepcopy(ITEMLESS))

    rendered = render_tools([tool], dialect)

    definition = rendered.definitions[0]
    parameters = (
        definition["function"]["parameters"] if "function" in definition else definition["parameters"]
    )
    assert find_subschemas(parameters, _without_items, 100) == []
    assert rendered.violations == []
    repairs = [f for f in rendered.losses["list_cases"] if f.code == DialectCode.ARRAY_ITEMS_ADDED]
    assert len(repairs) == 1 and "5 places" in repairs[0].message
    assert tool.input_schema == ITEMLESS, "the canonical schema is never modified"


def test_responses_tools_are_flat_and_say_strict_false_so_the_api_keeps_them_as_they_are() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}

    rendered = render_tools([make_tool(schema)], Dialect.OPENAI_RESPONSES)

    assert rendered.definitions == [
        {
            "type": "function",
            "name": "list_cases",
            "description": "List support cases.",
            "parameters": schema,
            "strict": False,
        }
    ]


@pytest.mark.parametrize("strict", [None, True])
def test_a_responses_tool_without_strict_false_is_a_violation_since_the_api_would_make_it_strict(
    strict: bool | None,
) -> None:
    definition: dict[str, Any] = {
        "type": "function",
        "name": "t",
        "description": "d",
        "parameters": {"type": "object"},
    }
    if strict is not None:
        definition["strict"] = strict

    found = check_definitions([definition], Dialect.OPENAI_RESPONSES)

    assert (DialectCode.DEFINITION_INVALID, "/0/strict") in {(f.code, f.pointer) for f in found}


def test_a_chat_completions_tool_listed_as_a_responses_tool_is_a_violation() -> None:
    chat = render_tools([make_tool({"type": "object"})], Dialect.OPENAI).definitions

    found = check_definitions(chat, Dialect.OPENAI_RESPONSES)

    assert [(f.code, f.pointer) for f in found] == [(DialectCode.DEFINITION_INVALID, "/0")]


# --- Gemini calls -------------------------------------------------------------------------------


def test_gemini_call_in_the_sdks_snake_case_is_read_and_answered_in_snake_case() -> None:
    payload = {
        "function_call": {"id": "gem-1", "name": "list_cases", "args": {"q": "open"}},
        "thought_signature": "c2lnbmF0dXJl",
    }

    call = parse_call(payload)
    ok = format_result(call, {"ok": True, "status": 200, "body": []})
    failed = format_result(call, {"ok": False, "error": {"code": "EGRESS_DENIED", "message": "no"}})

    assert (call.format, call.name, call.arguments, call.call_id) == (
        CallFormat.GEMINI, "list_cases", {"q": "open"}, "gem-1"
    )  # fmt: skip
    assert ok == {
        "function_response": {
            "name": "list_cases",
            "response": {"output": {"ok": True, "status": 200, "body": []}},
            "id": "gem-1",
        }
    }
    assert set(failed["function_response"]["response"]) == {"error"}
    assert "functionResponse" in format_result(
        parse_call({"functionCall": payload["function_call"]}), {"ok": True}
    )


# --- Gemini parameter names ----------------------------------------------------------------------


def test_gemini_argument_names_are_renamed_to_documented_names_without_collisions() -> None:
    long_name = "x-" + "a" * 80
    names = ["api-key", "api_key", "api_key_2", "2fa", "filter.status", "", long_name, long_name + "-b", "ok"]

    renames = parameter_renames(names)

    final = [renames.get(name, name) for name in names]
    assert len(set(final)) == len(final), final
    assert all(PARAMETER_NAME.fullmatch(name) for name in final), final
    assert renames["api-key"] == "api_key_3"
    assert renames["2fa"] == "_2fa"
    assert "ok" not in renames and "api_key" not in renames
    assert parameter_renames(names) == renames, "rendering and invoking must agree"


def test_gemini_rendering_renames_arguments_and_their_required_entries_and_reports_each() -> None:
    schema = {
        "type": "object",
        "properties": {
            "api-key": {"type": "string"},
            "filter.status": {"type": "string"},
            "q": {"type": "string"},
        },
        "required": ["api-key", "q"],
    }
    tool = make_tool(schema)

    rendered = render_tools([tool], Dialect.GEMINI)

    parameters = rendered.definitions[0]["parameters"]
    assert list(parameters["properties"]) == ["api_key", "filter_status", "q"]
    assert parameters["required"] == ["api_key", "q"]
    assert rendered.violations == []
    renamed = {f.pointer for f in rendered.losses["list_cases"] if f.code == DialectCode.PARAMETER_RENAMED}
    assert renamed == {"/properties/api-key", "/properties/filter.status"}
    assert list(tool.input_schema["properties"]) == ["api-key", "filter.status", "q"]


def test_a_gemini_argument_name_outside_the_documented_pattern_is_a_violation() -> None:
    declaration = {
        "name": "t",
        "description": "d",
        "parameters": {"type": "OBJECT", "properties": {"api-key": {"type": "STRING"}}},
    }

    found = check_definitions([declaration], Dialect.GEMINI)

    assert [(f.code, f.pointer) for f in found] == [
        (DialectCode.PARAMETER_NAME_INVALID, "/0/parameters/properties/api-key")
    ]


def test_arguments_under_renamed_names_are_mapped_back_and_the_rest_left_alone() -> None:
    schema = {"type": "object", "properties": {"api-key": {}, "api_key": {}, "q": {}}}
    arguments = {"api_key_2": "secret-ref", "api_key": "plain", "q": "open", "unknown": 1}

    restored = restore_parameter_names(arguments, schema)

    assert restored == {"api-key": "secret-ref", "api_key": "plain", "q": "open", "unknown": 1}
    assert restore_parameter_names({"q": "open"}, schema) == {"q": "open"}


# --- MCP results the official client checks --------------------------------------------------------

CASE_OUTPUT: JsonSchema = {
    "type": "object",
    "properties": {"case_id": {"type": "string"}},
    "required": ["case_id"],
}


def _client_accepts(output_schema: JsonSchema, structured: Any) -> bool:
    """The MCP client's check: the schema must pass Draft 2020-12's meta-schema (with its regex format
    check), then the structured content must validate."""
    validator_class = jsonschema.validators.validator_for(output_schema)
    validator_class.check_schema(output_schema)
    return bool(validator_class(output_schema).is_valid(structured))


@pytest.mark.parametrize(
    ("envelope", "accepted"),
    [
        ({"ok": True, "status": 200, "body": {"case_id": "c-1"}}, True),
        ({"ok": True, "status": 200, "body": {"case_id": 7}}, False),
        ({"ok": True, "status": 200, "body": {"case_id": 7}, "warnings": ["does not match"]}, True),
        ({"ok": True, "status": 200, "body": '{"case_id": "c', "truncated": True}, True),
        ({"ok": True, "status": 200, "body": "<html>"}, True),
        ({"ok": True, "status": 202, "body": {"job_id": "job_1"}, "job": {"job_id": "job_1"}}, True),
        ({"ok": False, "error": {"code": "EGRESS_DENIED", "message": "refused"}}, True),
    ],
    ids=["vouched", "vouched-but-off-schema", "off-schema", "truncated", "text", "job-started", "error"],
)
def test_mcp_output_schema_holds_the_body_to_its_documented_schema_only_when_the_runtime_vouches(
    envelope: dict[str, Any], accepted: bool
) -> None:
    [definition] = render_tools([make_tool({"type": "object"}, CASE_OUTPUT)], Dialect.MCP).definitions
    call = parse_call(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_cases", "arguments": {}}}
    )

    structured = format_result(call, envelope)["result"]["structuredContent"]

    assert _client_accepts(definition["outputSchema"], structured) is accepted


def test_mcp_body_schema_with_a_regex_python_cannot_compile_loses_only_that_pattern() -> None:
    output = {
        "type": "object",
        "properties": {"label": {"type": "string", "pattern": r"^\p{L}+$", "maxLength": 9}},
    }

    rendered = render_tools([make_tool({"type": "object"}, output)], Dialect.MCP)

    schema = rendered.definitions[0]["outputSchema"]
    assert schema["then"]["properties"]["body"]["properties"]["label"] == {"type": "string", "maxLength": 9}
    assert _client_accepts(schema, {"ok": True, "body": {"label": "Zoë"}})
    [note] = rendered.losses["list_cases"]
    assert (note.code, note.pointer) == (
        DialectCode.KEYWORD_DROPPED, "/outputSchema/then/properties/body/properties/label"
    )  # fmt: skip


@pytest.mark.parametrize(
    "output",
    [
        {"type": "object", "properties": {"self": {"$ref": "#"}}},
        {"$id": "https://example.com/case", "type": "object"},
        {"type": "object", "properties": {"a": {"$ref": "#/properties/b"}, "b": {"type": "string"}}},
    ],
    ids=["root-ref", "id", "pointer-ref"],
)
def test_mcp_body_schema_whose_refs_would_resolve_elsewhere_in_the_envelope_is_left_out(
    output: JsonSchema,
) -> None:
    rendered = render_tools([make_tool({"type": "object"}, output)], Dialect.MCP)

    assert rendered.definitions[0]["outputSchema"] == envelope_schema()
    assert [f.code for f in rendered.losses["list_cases"]] == [DialectCode.OUTPUT_SCHEMA_DROPPED]


@pytest.fixture
def bodies_unchecked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TOOLGATE_RUNTIME__MAX_RESULT_WARNINGS", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("bodies_unchecked")
def test_mcp_body_schema_is_left_out_when_the_runtime_does_not_check_bodies() -> None:
    rendered = render_tools([make_tool({"type": "object"}, CASE_OUTPUT)], Dialect.MCP)

    schema = rendered.definitions[0]["outputSchema"]
    assert schema == envelope_schema()
    assert _client_accepts(schema, {"ok": True, "status": 200, "body": {"case_id": 7}})


def test_every_format_the_api_and_the_cli_list_is_a_dialect_and_every_dialect_is_listed() -> None:
    assert set(get_args(ToolFormat)) == {dialect.value for dialect in Dialect}
