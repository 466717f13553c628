"""One canonical tool rendered for each model API: golden definitions, shared behaviour, and limits."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs
import pytest
from toolgate.dialects import Dialect, DialectCode, RenderedTools, check_definitions, render_tools
from toolgate.dialects.mcp import envelope_schema
from toolgate.errors import DialectError
from toolgate.spec.compiler import compile_path
from toolgate.spec.models import Annotations, CanonicalTool
from toolgate_demo import support_desk_spec

SUPPORT_DESK = support_desk_spec()

CASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "customer_id": {"type": "string"},
        "summary": {"type": "string"},
        "priority": {"type": "string", "enum": ["low", "medium", "high"]},
    },
    "required": ["customer_id", "summary", "priority"],
}
CASE_DESCRIPTION = "Create a support ticket for the current customer in the Support Desk API."


def make_tool(name: str = "create_support_case", **overrides: Any) -> CanonicalTool:
    fields: dict[str, Any] = {
        "name": name,
        "description": CASE_DESCRIPTION,
        "method": "POST",
        "path": "/support/cases",
        "pointer": "/paths/~1support~1cases/post",
        "input_schema": copy.deepcopy(CASE_SCHEMA),
    }
    fields.update(overrides)
    return CanonicalTool(**fields)


def codes(rendered: RenderedTools, tool: str) -> list[str]:
    return [finding.code for finding in rendered.losses.get(tool, [])]


def test_openai_parameters_for_create_support_case_are_exactly_the_seed_arguments() -> None:
    rendered = render_tools([make_tool()], Dialect.OPENAI)

    assert rendered.definitions == [
        {
            "type": "function",
            "function": {
                "name": "create_support_case",
                "description": CASE_DESCRIPTION,
                "parameters": CASE_SCHEMA,
            },
        }
    ]
    assert rendered.losses == {}
    assert rendered.violations == []


def test_anthropic_tool_is_name_description_and_input_schema() -> None:
    rendered = render_tools([make_tool()], Dialect.ANTHROPIC)

    assert rendered.definitions == [
        {"name": "create_support_case", "description": CASE_DESCRIPTION, "input_schema": CASE_SCHEMA}
    ]
    assert rendered.violations == []


def test_bedrock_tool_spec_wraps_the_schema_in_input_schema_json() -> None:
    rendered = render_tools([make_tool()], Dialect.BEDROCK)

    assert rendered.definitions == [
        {
            "toolSpec": {
                "name": "create_support_case",
                "description": CASE_DESCRIPTION,
                "inputSchema": {"json": CASE_SCHEMA},
            }
        }
    ]
    assert rendered.violations == []


def test_gemini_declaration_uses_gemini_types_and_keeps_the_string_enum() -> None:
    rendered = render_tools([make_tool()], Dialect.GEMINI)

    assert rendered.definitions == [
        {
            "name": "create_support_case",
            "description": CASE_DESCRIPTION,
            "parameters": {
                "type": "OBJECT",
                "properties": {
                    "customer_id": {"type": "STRING"},
                    "summary": {"type": "STRING"},
                    "priority": {"type": "STRING", "enum": ["low", "medium", "high"]},
                },
                "required": ["customer_id", "summary", "priority"],
            },
        }
    ]
    assert rendered.losses == {}
    assert rendered.violations == []


def test_mcp_tool_carries_title_annotations_and_an_envelope_output_schema_around_its_body_schema() -> None:
    output = {"type": "object", "properties": {"case_id": {"type": "string"}, "status": {"type": "string"}}}
    annotations = Annotations(title="Create support case", idempotent=False, open_world=True)
    tool = make_tool(output_schema=output, annotations=annotations)

    rendered = render_tools([tool], Dialect.MCP)

    assert rendered.definitions == [
        {
            "name": "create_support_case",
            "title": "Create support case",
            "description": CASE_DESCRIPTION,
            "inputSchema": CASE_SCHEMA,
            "outputSchema": envelope_schema(output),
            "annotations": {
                "title": "Create support case",
                "readOnlyHint": False,
                "destructiveHint": False,
                "idempotentHint": False,
                "openWorldHint": True,
            },
        }
    ]
    assert rendered.definitions[0]["outputSchema"]["then"] == {"properties": {"body": output}}
    assert rendered.violations == []


def test_mcp_array_output_schema_is_kept_as_the_body_schema() -> None:
    output = {"type": "array", "items": {"type": "string"}}
    rendered = render_tools([make_tool(output_schema=output)], Dialect.MCP)

    assert rendered.definitions[0]["outputSchema"]["then"] == {"properties": {"body": output}}
    assert rendered.losses == {}


def test_mcp_body_schema_definitions_move_to_the_envelope_root_so_refs_still_resolve() -> None:
    case = {"type": "object", "properties": {"parent": {"$ref": "#/$defs/case"}}}
    output = {"$ref": "#/$defs/case", "$defs": {"case": case}}
    rendered = render_tools([make_tool(output_schema=output)], Dialect.MCP)

    schema = rendered.definitions[0]["outputSchema"]
    assert schema["$defs"] == {"case": case}
    assert schema["then"] == {"properties": {"body": {"$ref": "#/$defs/case"}}}
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid({"ok": True, "body": {"parent": {}}})
    assert not validator.is_valid({"ok": True, "body": {"parent": 3}})
    assert rendered.violations == []


def test_rendering_never_modifies_the_canonical_schemas_and_shares_unchanged_ones() -> None:
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": ["string", "null"], "format": "date-time"},
            "tags": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "node": {"$ref": "#/$defs/node"},
        },
        "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
    }
    tool = make_tool(input_schema=schema, output_schema={"type": "object", "properties": {}})
    before = copy.deepcopy(tool.model_dump())

    results = {dialect: render_tools([tool], dialect) for dialect in Dialect}

    assert tool.model_dump() == before
    assert results[Dialect.OPENAI].definitions[0]["function"]["parameters"] is tool.input_schema
    assert results[Dialect.ANTHROPIC].definitions[0]["input_schema"] is tool.input_schema
    assert results[Dialect.MCP].definitions[0]["inputSchema"] is tool.input_schema


def test_missing_description_falls_back_to_the_route_and_is_reported() -> None:
    tool = make_tool(description="  ", operation_id="createSupportCase")

    for dialect in Dialect:
        rendered = render_tools([tool], dialect)
        assert DialectCode.DESCRIPTION_MISSING in codes(rendered, tool.name), dialect
        assert rendered.violations == [], dialect
    anthropic = render_tools([tool], Dialect.ANTHROPIC).definitions[0]
    assert anthropic["description"] == "Calls POST /support/cases (operation createSupportCase)."


def test_openai_description_is_cut_to_its_1024_character_limit() -> None:
    rendered = render_tools([make_tool(description="x" * 3000)], Dialect.OPENAI)

    assert len(rendered.definitions[0]["function"]["description"]) == 1024
    assert codes(rendered, "create_support_case") == [DialectCode.DESCRIPTION_TRUNCATED]
    assert rendered.violations == []


ROOT_UNION: dict[str, Any] = {
    "type": "object",
    "properties": {"account": {"type": "string"}},
    "required": ["account"],
    "oneOf": [
        {"properties": {"email": {"type": "string"}}, "required": ["email"]},
        {"properties": {"phone": {"type": "string"}}, "required": ["phone"]},
    ],
}


@pytest.mark.parametrize(
    ("dialect", "schema_of"),
    [
        (Dialect.OPENAI, lambda d: d["function"]["parameters"]),
        (Dialect.ANTHROPIC, lambda d: d["input_schema"]),
        (Dialect.BEDROCK, lambda d: d["toolSpec"]["inputSchema"]["json"]),
    ],
)
def test_root_union_is_flattened_for_apis_that_refuse_it(dialect: Dialect, schema_of: Any) -> None:
    rendered = render_tools([make_tool(input_schema=ROOT_UNION)], dialect)

    schema = schema_of(rendered.definitions[0])
    assert schema == {
        "type": "object",
        "properties": {
            "account": {"type": "string"},
            "email": {"type": "string"},
            "phone": {"type": "string"},
        },
        "required": ["account"],
    }
    losses = rendered.losses["create_support_case"]
    assert [(f.code, f.pointer) for f in losses] == [(DialectCode.ROOT_FLATTENED, "/oneOf")]
    assert rendered.violations == []


def test_mcp_keeps_a_root_union_beside_the_object_type() -> None:
    rendered = render_tools([make_tool(input_schema=ROOT_UNION)], Dialect.MCP)

    assert rendered.definitions[0]["inputSchema"] == ROOT_UNION
    assert rendered.losses == {}


def test_root_enum_or_not_is_dropped_for_openai_only() -> None:
    schema = {**CASE_SCHEMA, "not": {"required": ["summary"]}}

    openai = render_tools([make_tool(input_schema=schema)], Dialect.OPENAI)
    anthropic = render_tools([make_tool(input_schema=schema)], Dialect.ANTHROPIC)

    assert openai.definitions[0]["function"]["parameters"] == CASE_SCHEMA
    assert codes(openai, "create_support_case") == [DialectCode.KEYWORD_DROPPED]
    assert anthropic.definitions[0]["input_schema"] == schema


def test_unknown_dialect_is_a_typed_error_naming_the_known_ones() -> None:
    with pytest.raises(DialectError) as raised:
        render_tools([make_tool()], "cohere")

    assert raised.value.code == "DIALECT_UNKNOWN"
    assert "openai-strict" in raised.value.message


def test_dialect_names_are_the_cli_format_names() -> None:
    assert [d.value for d in Dialect] == [
        "openai", "openai-strict", "openai-responses", "anthropic", "bedrock", "gemini", "mcp"
    ]  # fmt: skip
    assert render_tools([make_tool()], "openai-strict").dialect is Dialect.OPENAI_STRICT


RICH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid", "pattern": "^[0-9a-f-]+$"},
        "note": {"type": ["string", "null"], "maxLength": 200, "default": None},
        "count": {"type": "integer", "minimum": 1, "exclusiveMaximum": 100, "format": "int64"},
        "mode": {"const": "fast"},
        "level": {"enum": [1, 2, 3]},
        "shape": {
            "oneOf": [
                {"type": "object", "properties": {"radius": {"type": "number"}}, "required": ["radius"]},
                {"type": "object", "properties": {"side": {"type": "number"}}, "required": ["side"]},
            ]
        },
        "labels": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True},
        "tree": {"$ref": "#/$defs/tree"},
        "if_present": {"type": "object", "properties": {"a": {"type": "string"}}, "if": {"required": ["a"]}},
    },
    "required": ["id", "mode"],
    "$defs": {
        "tree": {
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/tree"}},
            },
        }
    },
}


@pytest.mark.parametrize(
    "dialect",
    [Dialect.OPENAI, Dialect.OPENAI_STRICT, Dialect.OPENAI_RESPONSES, Dialect.ANTHROPIC, Dialect.BEDROCK],
)
def test_rendered_json_schemas_pass_the_meta_schema_and_the_api_checks(dialect: Dialect) -> None:
    rendered = render_tools([make_tool(input_schema=RICH_SCHEMA)], dialect)

    definition = rendered.definitions[0]
    schema = {
        Dialect.OPENAI: lambda: definition["function"]["parameters"],
        Dialect.OPENAI_STRICT: lambda: definition["function"]["parameters"],
        Dialect.OPENAI_RESPONSES: lambda: definition["parameters"],
        Dialect.ANTHROPIC: lambda: definition["input_schema"],
        Dialect.BEDROCK: lambda: definition["toolSpec"]["inputSchema"]["json"],
    }[dialect]()
    assert jsonschema_rs.meta.is_valid(schema)
    assert rendered.violations == []
    assert check_definitions(rendered.definitions, dialect) == []


def test_every_dialect_renders_the_support_desk_fixture_within_its_limits() -> None:
    tools = compile_path(SUPPORT_DESK).tools
    assert tools

    for dialect in Dialect:
        rendered = render_tools(tools, dialect)
        assert len(rendered.definitions) == len(tools), dialect
        assert rendered.violations == [], (dialect, rendered.violations)
