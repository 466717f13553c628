"""OpenAI strict mode: closed objects, every property required, optional ones nullable; else plain tools."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs
from toolgate.dialects import (
    Dialect,
    DialectCode,
    RenderedTools,
    check_definitions,
    render_tools,
    restore_omitted_arguments,
)
from toolgate.spec.models import CanonicalTool, Finding


def tool_with(schema: dict[str, Any], name: str = "update_support_case") -> CanonicalTool:
    return CanonicalTool(
        name=name,
        description="Change a support case.",
        method="PATCH",
        path="/support/cases/{case_id}",
        pointer="/paths/~1support~1cases~1{case_id}/patch",
        input_schema=schema,
    )


def strict(schema: dict[str, Any]) -> tuple[dict[str, Any], RenderedTools]:
    rendered = render_tools([tool_with(schema)], Dialect.OPENAI_STRICT)
    return rendered.definitions[0]["function"], rendered


def losses(rendered: RenderedTools) -> list[Finding]:
    return rendered.losses.get("update_support_case", [])


def test_optional_properties_become_required_and_accept_null() -> None:
    function, rendered = strict(
        {
            "type": "object",
            "properties": {
                "case_id": {"type": "string"},
                "priority": {"type": "string", "enum": ["low", "medium", "high"]},
                "status": {"const": "open"},
                "assignee": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "note": {"type": ["string", "null"]},
                "watchers": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["case_id"],
        }
    )

    assert function["strict"] is True
    assert function["parameters"] == {
        "type": "object",
        "properties": {
            "case_id": {"type": "string"},
            "priority": {"type": ["string", "null"], "enum": ["low", "medium", "high", None]},
            "status": {"anyOf": [{"const": "open"}, {"type": "null"}]},
            "assignee": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
            "note": {"type": ["string", "null"]},
            "watchers": {"type": ["array", "null"], "items": {"type": "string"}},
        },
        "required": ["case_id", "priority", "status", "assignee", "note", "watchers"],
        "additionalProperties": False,
    }
    rewritten = [f for f in losses(rendered) if f.code == DialectCode.SCHEMA_REWRITTEN]
    assert len(rewritten) == 1
    assert rewritten[0].pointer == "/properties/priority"
    assert "5 places" in rewritten[0].message
    assert rendered.violations == []


def test_nested_objects_are_closed_and_list_every_property() -> None:
    function, rendered = strict(
        {
            "type": "object",
            "properties": {
                "contact": {
                    "type": "object",
                    "properties": {"email": {"type": "string"}, "phone": {"type": "string"}},
                    "required": ["email"],
                }
            },
            "required": ["contact"],
            "additionalProperties": False,
        }
    )

    assert function["parameters"]["properties"]["contact"] == {
        "type": "object",
        "properties": {"email": {"type": "string"}, "phone": {"type": ["string", "null"]}},
        "required": ["email", "phone"],
        "additionalProperties": False,
    }
    assert [f.pointer for f in losses(rendered)] == ["/properties/contact/properties/phone"]


def test_recursive_definitions_stay_as_refs_in_strict_mode() -> None:
    function, rendered = strict(
        {
            "type": "object",
            "properties": {"root": {"$ref": "#/$defs/node"}},
            "required": ["root"],
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                    },
                    "required": ["name", "children"],
                }
            },
        }
    )

    parameters = function["parameters"]
    assert function["strict"] is True
    assert parameters["properties"]["root"] == {"$ref": "#/$defs/node"}
    assert parameters["$defs"]["node"]["additionalProperties"] is False
    assert parameters["$defs"]["node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/node"}
    assert jsonschema_rs.meta.is_valid(parameters)
    assert rendered.violations == []


def test_unsupported_keywords_are_dropped_and_each_kind_is_reported_where_it_first_occurs() -> None:
    function, rendered = strict(
        {
            "type": "object",
            "properties": {
                "summary": {"type": "string", "minLength": 3, "maxLength": 80, "default": "n/a"},
                "email": {"type": "string", "format": "email"},
                "site": {"type": "string", "format": "uri"},
                "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "uniqueItems": True},
            },
            "required": ["summary", "email", "site", "tags"],
            "if": {"required": ["email"]},
            "then": {"required": ["site"]},
        }
    )

    properties = function["parameters"]["properties"]
    assert properties["summary"] == {"type": "string"}
    assert properties["email"] == {"type": "string", "format": "email"}
    assert properties["site"] == {"type": "string"}
    assert properties["tags"] == {"type": "array", "items": {"type": "string"}}
    assert "if" not in function["parameters"]
    dropped = {(f.message.split(" is not")[0], f.pointer) for f in losses(rendered)}
    assert dropped == {
        ("`minLength`", "/properties/summary"),
        ("`maxLength`", "/properties/summary"),
        ("`default`", "/properties/summary"),
        ("format `uri`", "/properties/site"),
        ("`uniqueItems`", "/properties/tags"),
        ("`if`", ""),
        ("`then`", ""),
    }
    max_length = next(f for f in losses(rendered) if f.message.startswith("`maxLength`"))
    assert "2 places" in max_length.message
    assert max_length.severity == "warning"
    assert next(f for f in losses(rendered) if f.message.startswith("`default`")).severity == "info"


def test_one_of_becomes_any_of_with_a_note() -> None:
    function, rendered = strict(
        {
            "type": "object",
            "properties": {"target": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
            "required": ["target"],
        }
    )

    assert function["parameters"]["properties"]["target"] == {
        "anyOf": [{"type": "string"}, {"type": "integer"}]
    }
    assert [(f.code, f.pointer) for f in losses(rendered)] == [
        (DialectCode.SCHEMA_REWRITTEN, "/properties/target")
    ]


def test_ref_beside_a_description_keeps_the_ref_alone() -> None:
    function, rendered = strict(
        {
            "type": "object",
            "properties": {"node": {"$ref": "#/$defs/node", "description": "The start."}},
            "required": ["node"],
            "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
        }
    )

    assert function["parameters"]["properties"]["node"] == {"$ref": "#/$defs/node"}
    assert any(
        f.code == DialectCode.KEYWORD_DROPPED and f.pointer == "/properties/node" for f in losses(rendered)
    )
    assert rendered.violations == []


def unavailable(rendered: RenderedTools) -> Finding:
    notes = [f for f in losses(rendered) if f.code == DialectCode.STRICT_UNAVAILABLE]
    assert len(notes) == 1, losses(rendered)
    return notes[0]


def test_free_form_map_falls_back_to_a_plain_tool_naming_the_argument() -> None:
    schema = {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    function, rendered = strict(schema)

    assert "strict" not in function
    assert function["parameters"] == schema
    note = unavailable(rendered)
    assert note.pointer == "/properties/metadata"
    assert "additionalProperties" in note.message
    assert rendered.violations == []


def test_untyped_value_falls_back_to_a_plain_tool() -> None:
    function, rendered = strict({"type": "object", "properties": {"payload": {"description": "Anything."}}})

    assert "strict" not in function
    assert unavailable(rendered).pointer == "/properties/payload"


def test_objects_nested_more_than_ten_deep_fall_back_to_a_plain_tool() -> None:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(10):
        node = {"type": "object", "properties": {"inner": node}, "required": ["inner"]}
    ten_deep = node
    eleven_deep = {"type": "object", "properties": {"inner": node}, "required": ["inner"]}

    assert strict(ten_deep)[0]["strict"] is True
    function, rendered = strict(eleven_deep)
    assert "strict" not in function
    assert "11 levels" in unavailable(rendered).message


def test_more_than_5000_properties_fall_back_to_a_plain_tool() -> None:
    properties = {f"field_{i}": {"type": "string"} for i in range(5001)}
    function, rendered = strict({"type": "object", "properties": properties})

    assert "strict" not in function
    assert "5001 object properties" in unavailable(rendered).message


def test_more_than_1000_enum_values_fall_back_to_a_plain_tool() -> None:
    properties = {f"choice_{i}": {"type": "string", "enum": [f"v{j}" for j in range(200)]} for i in range(6)}
    function, rendered = strict({"type": "object", "properties": properties})

    assert "strict" not in function
    assert "1200 enum values" in unavailable(rendered).message


def test_shared_subschemas_count_once_per_place_they_appear() -> None:
    shared = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(600)}}
    properties = {f"copy_{i}": shared for i in range(9)}
    function, rendered = strict({"type": "object", "properties": properties})

    assert "strict" not in function
    assert "5409 object properties" in unavailable(rendered).message


def test_pathologically_deep_schema_falls_back_without_recursion_error() -> None:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(3000):
        node = {"type": "object", "properties": {"inner": node}}

    function, rendered = strict(node)

    assert "strict" not in function
    assert "deeper than" in unavailable(rendered).message


def test_check_flags_strict_schemas_that_break_the_strict_rules() -> None:
    definitions = [
        {
            "type": "function",
            "function": {
                "name": "bad_strict",
                "description": "Breaks every strict rule.",
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {
                        "open": {"type": "object", "properties": {"a": {"type": "string"}}},
                        "loose": {"type": "string", "minLength": 2},
                        "anything": {"description": "no type"},
                        "ref": {"$ref": "#/$defs/missing"},
                    },
                    "required": ["open", "loose"],
                    "additionalProperties": False,
                },
            },
        }
    ]

    found = {(f.code, f.pointer) for f in check_definitions(definitions, Dialect.OPENAI_STRICT)}

    base = "/0/function/parameters"
    assert found == {
        (DialectCode.SCHEMA_INVALID, base),
        (DialectCode.SCHEMA_INVALID, f"{base}/properties/open"),
        (DialectCode.KEYWORD_UNSUPPORTED, f"{base}/properties/loose"),
        (DialectCode.SCHEMA_INVALID, f"{base}/properties/anything"),
        (DialectCode.SCHEMA_INVALID, f"{base}/properties/ref"),
    }


def test_the_same_schema_without_strict_passes_the_plain_checks() -> None:
    definition = {
        "type": "function",
        "function": {
            "name": "plain",
            "description": "A plain tool.",
            "parameters": {"type": "object", "properties": {"a": {"type": "string", "minLength": 2}}},
        },
    }

    assert check_definitions([definition], Dialect.OPENAI) == []


def test_nulls_the_strict_model_sends_for_left_out_arguments_are_removed_again() -> None:
    schema = {
        "type": "object",
        "properties": {
            "case_id": {"type": "string"},
            "note": {"type": "string"},
            "assignee": {"type": ["string", "null"]},
            "contact": {
                "type": "object",
                "properties": {"email": {"type": "string"}, "phone": {"type": "string"}},
                "required": ["email"],
            },
            "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
            "parent": {"$ref": "#/$defs/step"},
        },
        "required": ["case_id"],
        "$defs": {
            "step": {
                "type": "object",
                "properties": {"label": {"type": "string"}, "next": {"$ref": "#/$defs/step"}},
            }
        },
    }
    arguments = {
        "case_id": "c-1",
        "note": None,
        "assignee": None,
        "contact": {"email": "a@example.com", "phone": None},
        "steps": [{"label": "open", "next": None}, {"label": None, "next": {"label": "close", "next": None}}],
        "parent": None,
    }
    sent = copy.deepcopy(arguments)

    restored = restore_omitted_arguments(arguments, schema)

    assert restored == {
        "case_id": "c-1",
        "assignee": None,
        "contact": {"email": "a@example.com"},
        "steps": [{"label": "open"}, {"next": {"label": "close"}}],
    }
    assert arguments == sent


def test_a_required_argument_sent_as_null_is_kept_for_validation_to_refuse() -> None:
    schema = {"type": "object", "properties": {"case_id": {"type": "string"}}, "required": ["case_id"]}

    assert restore_omitted_arguments({"case_id": None}, schema) == {"case_id": None}
