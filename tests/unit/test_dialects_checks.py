"""Limit checks on rendered definitions: tool caps, names, argument names, shapes and roots."""

from __future__ import annotations

from typing import Any

import pytest
from toolgate.dialects import Dialect, DialectCode, check_definitions, render_tools
from toolgate.spec.models import CanonicalTool

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"case_id": {"type": "string"}},
    "required": ["case_id"],
}


def make_tool(name: str, schema: dict[str, Any] | None = None) -> CanonicalTool:
    return CanonicalTool(
        name=name,
        description="Get a support case.",
        method="GET",
        path="/support/cases/{case_id}",
        pointer="/paths/~1support~1cases~1{case_id}/get",
        input_schema=schema or SCHEMA,
    )


@pytest.mark.parametrize(
    "dialect", [Dialect.OPENAI, Dialect.OPENAI_STRICT, Dialect.OPENAI_RESPONSES, Dialect.GEMINI]
)
def test_more_than_128_tools_is_a_violation_where_the_api_caps_tools(dialect: Dialect) -> None:
    tools = [make_tool(f"get_case_{i}") for i in range(129)]

    at_cap = render_tools(tools[:128], dialect)
    over_cap = render_tools(tools, dialect)

    assert at_cap.violations == []
    assert [(v.code, v.severity) for v in over_cap.violations] == [(DialectCode.TOO_MANY_TOOLS, "error")]
    assert "129 tools" in over_cap.violations[0].message


@pytest.mark.parametrize("dialect", [Dialect.ANTHROPIC, Dialect.BEDROCK, Dialect.MCP])
def test_apis_without_a_documented_tool_cap_accept_many_tools(dialect: Dialect) -> None:
    tools = [make_tool(f"get_case_{i}") for i in range(300)]

    assert render_tools(tools, dialect).violations == []


NAME_POINTERS = {
    Dialect.OPENAI: "/{i}/function/name",
    Dialect.OPENAI_STRICT: "/{i}/function/name",
    Dialect.OPENAI_RESPONSES: "/{i}/name",
    Dialect.ANTHROPIC: "/{i}/name",
    Dialect.BEDROCK: "/{i}/toolSpec/name",
    Dialect.GEMINI: "/{i}/name",
    Dialect.MCP: "/{i}/name",
}


@pytest.mark.parametrize("dialect", list(Dialect))
def test_names_the_api_refuses_and_duplicate_names_are_violations(dialect: Dialect) -> None:
    tools = [make_tool("get case!"), make_tool("get_case"), make_tool("get_case"), make_tool("x" * 200)]

    found = {(v.code, v.pointer) for v in render_tools(tools, dialect).violations}

    pointer = NAME_POINTERS[dialect]
    assert found == {
        (DialectCode.NAME_INVALID, pointer.format(i=0)),
        (DialectCode.NAME_DUPLICATE, pointer.format(i=2)),
        (DialectCode.NAME_INVALID, pointer.format(i=3)),
    }


def test_gemini_names_must_start_with_a_letter_or_underscore() -> None:
    found = render_tools([make_tool("2fa_enable"), make_tool("_ok.v2-x")], Dialect.GEMINI).violations

    assert [(v.code, v.pointer) for v in found] == [(DialectCode.NAME_INVALID, "/0/name")]


@pytest.mark.parametrize(
    ("dialect", "pointer"),
    [
        (Dialect.ANTHROPIC, "/0/input_schema/properties/page[size]"),
        (Dialect.BEDROCK, "/0/toolSpec/inputSchema/json/properties/page[size]"),
    ],
)
def test_argument_names_outside_the_property_key_pattern_are_violations(
    dialect: Dialect, pointer: str
) -> None:
    schema = {
        "type": "object",
        "properties": {"page[size]": {"type": "integer"}, "X-Trace.id": {"type": "string"}},
    }

    found = render_tools([make_tool("list_cases", schema)], dialect).violations

    assert [(v.code, v.pointer) for v in found] == [(DialectCode.PARAMETER_NAME_INVALID, pointer)]


def test_openai_accepts_argument_names_anthropic_refuses() -> None:
    schema = {"type": "object", "properties": {"page[size]": {"type": "integer"}}}

    assert render_tools([make_tool("list_cases", schema)], Dialect.OPENAI).violations == []


@pytest.mark.parametrize("dialect", list(Dialect))
def test_definitions_of_the_wrong_shape_are_violations(dialect: Dialect) -> None:
    found = check_definitions(["not a tool", {"unexpected": True}], dialect)

    assert {v.code for v in found} <= {
        DialectCode.DEFINITION_INVALID,
        DialectCode.NAME_INVALID,
        DialectCode.DESCRIPTION_INVALID,
        DialectCode.SCHEMA_INVALID,
    }
    assert {v.pointer.split("/")[1] for v in found} == {"0", "1"}


@pytest.mark.parametrize(
    ("dialect", "definition"),
    [
        (
            Dialect.OPENAI,
            {"type": "function", "function": {"name": "t", "description": "d", "parameters": {}}},
        ),
        (Dialect.ANTHROPIC, {"name": "t", "description": "d", "input_schema": {"type": "string"}}),
        (Dialect.BEDROCK, {"toolSpec": {"name": "t", "description": "d", "inputSchema": {"json": {}}}}),
        (Dialect.MCP, {"name": "t", "description": "d", "inputSchema": {"type": "array"}}),
    ],
)
def test_a_schema_root_that_is_not_an_object_is_a_violation(
    dialect: Dialect, definition: dict[str, Any]
) -> None:
    assert [v.code for v in check_definitions([definition], dialect)] == [DialectCode.SCHEMA_INVALID]


def test_root_unions_are_violations_for_anthropic_but_not_for_mcp() -> None:
    schema = {"type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}]}

    anthropic = check_definitions(
        [{"name": "t", "description": "d", "input_schema": schema}], Dialect.ANTHROPIC
    )
    mcp = check_definitions([{"name": "t", "description": "d", "inputSchema": schema}], Dialect.MCP)

    assert [(v.code, v.pointer) for v in anthropic] == [(DialectCode.SCHEMA_INVALID, "/0/input_schema")]
    assert mcp == []


def test_schemas_that_are_not_json_schema_are_violations() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "text"}}}

    found = check_definitions([{"name": "t", "description": "d", "input_schema": schema}], Dialect.ANTHROPIC)

    assert [(v.code, v.message) for v in found] == [
        (DialectCode.SCHEMA_INVALID, "the input schema is not valid JSON Schema 2020-12")
    ]


def test_empty_descriptions_are_violations() -> None:
    definition = {"toolSpec": {"name": "t", "description": "", "inputSchema": {"json": SCHEMA}}}

    found = check_definitions([definition], Dialect.BEDROCK)

    assert [(v.code, v.pointer) for v in found] == [
        (DialectCode.DESCRIPTION_INVALID, "/0/toolSpec/description")
    ]


def test_mcp_annotation_hints_must_be_booleans() -> None:
    definition = {
        "name": "t",
        "description": "d",
        "inputSchema": SCHEMA,
        "annotations": {"readOnlyHint": "yes"},
    }

    found = check_definitions([definition], Dialect.MCP)

    assert [(v.code, v.pointer) for v in found] == [(DialectCode.DEFINITION_INVALID, "/0/annotations")]
