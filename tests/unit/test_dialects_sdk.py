"""What the official model SDKs accept: our tool lists and our result blocks, checked by each SDK's own
types and validators (openai, anthropic, google-genai, mcp, and botocore for Bedrock Converse), over the
Support Desk demo spec and hostile specs. The corpus run is tests/corpus/test_dialects_sdk_corpus.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sdk_checks import (
    DEFINITION_CHECKS,
    check_result,
    mcp_client_refusals,
    mcp_result,
    result_shapes,
    sdk_calls,
)
from spec_builders import compile_paths, json_body
from toolgate.dialects import Dialect, render_tools
from toolgate.dialects.calls import format_result, parse_call
from toolgate.dialects.gemini_names import restore_parameter_names
from toolgate.spec.compiler import compile_path
from toolgate.spec.models import CanonicalTool
from toolgate_demo import support_desk_spec

DEMO_TOOLS = compile_path(support_desk_spec()).tools
CASE = {"case_id": "case-1", "status": "open"}

#: A spec built to trip every refusal the SDKs reported: arrays without `items`, argument names Gemini
#: does not document (colliding once renamed), a body schema with a regex Python cannot compile, and
#: bodies that are arrays, unions and recursive.
HOSTILE = compile_paths(
    {
        "/things": {
            "get": {
                "operationId": "listThings",
                "parameters": [
                    {"name": "api-key", "in": "query", "schema": {"type": "string"}},
                    {"name": "api_key", "in": "query", "schema": {"type": "string"}},
                    {"name": "filter.status", "in": "query", "schema": {"type": "string"}},
                    {"name": "2fa", "in": "query", "required": True, "schema": {"type": "boolean"}},
                    {"name": "tags", "in": "query", "schema": {"type": "array"}},
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {"label": {"type": "string", "pattern": r"^\p{L}+$"}},
                                    },
                                }
                            }
                        },
                    }
                },
            },
            "post": {
                "operationId": "createThing",
                "requestBody": json_body(
                    {
                        "type": "object",
                        "properties": {
                            "labels": {"type": "array"},
                            "matrix": {"type": "array", "items": {"type": "array"}},
                            "maybe": {"type": ["array", "null"]},
                            "either": {"anyOf": [{"type": "string"}, {"type": "array"}]},
                            "node": {"$ref": "#/components/schemas/Node"},
                        },
                        "required": ["labels"],
                    }
                ),
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}},
                    }
                },
            },
        },
        "/weird": {
            "get": {
                "operationId": "getWeird",
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {"oneOf": [{"type": "string"}, {"type": "object"}]}
                            }
                        },
                    }
                },
            }
        },
    },
    {
        "schemas": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                    "extra": {"type": "array"},
                },
            }
        }
    },
    version="3.1.0",
).tools
HOSTILE_BODIES: dict[str, Any] = {
    "list_things": [{"label": "Zoë"}],
    "create_thing": {"name": "root", "children": [{"name": "leaf"}]},
    "get_weird": "just a string",
}


def test_the_hostile_spec_compiles_to_the_tools_the_sdk_tests_need() -> None:
    assert sorted(tool.name for tool in HOSTILE) == sorted(HOSTILE_BODIES)


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("tools", [DEMO_TOOLS, HOSTILE], ids=["support-desk", "hostile"])
def test_every_rendered_tool_list_is_one_the_sdk_accepts(
    dialect: Dialect, tools: list[CanonicalTool]
) -> None:
    rendered = render_tools(tools, dialect)

    assert rendered.violations == []
    DEFINITION_CHECKS[dialect](rendered.definitions)


@pytest.mark.parametrize("format_name", list(sdk_calls("t", {})))
def test_each_sdk_serialized_call_is_read_and_answered_with_a_block_the_sdk_accepts(format_name: str) -> None:
    arguments = {"customer_id": "cust-42", "summary": "Printer on fire", "priority": "high"}
    payload = sdk_calls("create_support_case", arguments)[format_name]

    call = parse_call(payload)

    assert (call.name, call.arguments) == ("create_support_case", arguments)
    tool = next(tool for tool in DEMO_TOOLS if tool.name == "create_support_case")
    for shape, envelope in result_shapes(tool, CASE).items():
        result = format_result(call, envelope)
        check_result(call, result)
        assert _envelope_in(result) == envelope, shape


def test_gemini_call_with_renamed_arguments_from_the_sdk_reaches_the_tool_under_its_own_names() -> None:
    [tool] = [tool for tool in HOSTILE if tool.name == "list_things"]
    [declaration] = render_tools([tool], Dialect.GEMINI).definitions
    offered = set(declaration["parameters"]["properties"])
    # `tags` is an array without an item schema, which Gemini cannot take: it is dropped with a note.
    assert offered == {"api_key", "api_key_2", "filter_status", "_2fa"}

    sent = {"api_key": "a", "api_key_2": "b", "filter_status": "open", "_2fa": True}
    call = parse_call(sdk_calls("list_things", sent)["gemini"])

    assert restore_parameter_names(call.arguments, tool.input_schema) == {
        "api_key": "a",
        "api-key": "b",
        "filter.status": "open",
        "2fa": True,
    }


def test_the_official_mcp_client_accepts_every_result_shape_of_every_tool() -> None:
    tools = [*DEMO_TOOLS, *HOSTILE]
    definitions = render_tools(tools, Dialect.MCP).definitions
    bodies = {**HOSTILE_BODIES, "create_support_case": CASE}
    results: list[tuple[str, str, dict[str, Any]]] = []
    for tool in tools:
        shapes = result_shapes(tool, bodies.get(tool.name, {}))
        if tool.name in bodies:
            assert "warnings" not in shapes["ok-body"], (tool.name, shapes["ok-body"])
        if tool.name in {"create_support_case", "list_things"}:
            assert "warnings" in shapes["off-schema-body"]
        results.extend(
            (tool.name, shape, mcp_result(index, tool.name, envelope))
            for index, (shape, envelope) in enumerate(shapes.items())
        )

    assert mcp_client_refusals(definitions, results) == []


def _envelope_in(result: dict[str, Any]) -> Any:
    """The envelope a result block carries, whatever its format."""
    if "role" in result:
        return json.loads(result["content"])
    if result.get("type") == "function_call_output":
        return json.loads(result["output"])
    if result.get("type") == "tool_result":
        return json.loads(result["content"])
    if "toolResult" in result:
        return result["toolResult"]["content"][0]["json"]
    block = result.get("functionResponse") or result.get("function_response")
    if block is not None:
        return block["response"].get("output", block["response"].get("error"))
    return result["result"]["structuredContent"]
