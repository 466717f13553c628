"""Gemini function declarations: refs inlined, recursion cut, OpenAPI-subset types, honest loss notes."""

from __future__ import annotations

import json
import time
from typing import Any

from toolgate.dialects import Dialect, DialectCode, RenderedTools, check_definitions, render_tools
from toolgate.spec.models import CanonicalTool, Finding

NAME = "list_support_cases"


def tool_with(schema: dict[str, Any]) -> CanonicalTool:
    return CanonicalTool(
        name=NAME,
        description="List support cases.",
        method="GET",
        path="/support/cases",
        pointer="/paths/~1support~1cases/get",
        input_schema=schema,
    )


def gemini(schema: dict[str, Any]) -> tuple[dict[str, Any], RenderedTools]:
    rendered = render_tools([tool_with(schema)], Dialect.GEMINI)
    assert rendered.violations == [], rendered.violations
    return rendered.definitions[0], rendered


def losses(rendered: RenderedTools) -> list[Finding]:
    return rendered.losses.get(NAME, [])


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def test_recursive_definitions_are_inlined_and_cut_where_they_recur() -> None:
    declaration, rendered = gemini(
        {
            **obj({"root": {"$ref": "#/$defs/category", "description": "Top category."}}, ["root"]),
            "$defs": {
                "category": obj(
                    {
                        "name": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/$defs/category"}},
                    },
                    ["name"],
                )
            },
        }
    )

    assert declaration["parameters"] == {
        "type": "OBJECT",
        "properties": {
            "root": {
                "type": "OBJECT",
                "description": "Top category.",
                "properties": {"name": {"type": "STRING"}},
                "required": ["name"],
            }
        },
        "required": ["root"],
    }
    assert [(f.code, f.pointer) for f in losses(rendered)] == [
        (DialectCode.RECURSION_CUT, "/properties/root/properties/children")
    ]
    assert "$defs" not in json.dumps(declaration)


def test_mutually_recursive_definitions_expand_once_per_path() -> None:
    declaration, rendered = gemini(
        {
            **obj({"person": {"$ref": "#/$defs/person"}}),
            "$defs": {
                "person": obj({"name": {"type": "string"}, "employer": {"$ref": "#/$defs/company"}}),
                "company": obj({"title": {"type": "string"}, "owner": {"$ref": "#/$defs/person"}}),
            },
        }
    )

    person = declaration["parameters"]["properties"]["person"]
    assert person["properties"]["employer"]["properties"] == {"title": {"type": "STRING"}}
    cut = [f for f in losses(rendered) if f.code == DialectCode.RECURSION_CUT]
    assert [f.pointer for f in cut] == ["/properties/person/properties/employer/properties/owner"]


def test_densely_recursive_definitions_stay_small_and_fast() -> None:
    names = [f"d{i}" for i in range(10)]
    defs = {
        name: obj(
            {"value": {"type": "string"}, **{f"to_{other}": {"$ref": f"#/$defs/{other}"} for other in names}}
        )
        for name in names
    }
    started = time.perf_counter()

    declaration, rendered = gemini({**obj({"start": {"$ref": "#/$defs/d0"}}), "$defs": defs})

    assert time.perf_counter() - started < 5
    assert len(json.dumps(declaration)) < 400_000
    assert DialectCode.SIZE_EXCEEDED in {f.code for f in losses(rendered)}


def test_type_lists_become_nullable_or_any_of() -> None:
    declaration, rendered = gemini(
        obj(
            {
                "note": {"type": ["string", "null"], "description": "Free text."},
                "ref": {"type": ["string", "integer"]},
                "when": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
            }
        )
    )

    assert declaration["parameters"]["properties"] == {
        "note": {"type": "STRING", "description": "Free text.", "nullable": True},
        "ref": {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]},
        "when": {"type": "STRING", "format": "date-time", "nullable": True},
    }
    assert [f.code for f in losses(rendered)] == [DialectCode.SCHEMA_REWRITTEN]


def test_const_becomes_a_one_value_enum_and_other_enums_move_to_the_description() -> None:
    declaration, rendered = gemini(
        obj(
            {
                "kind": {"const": "support"},
                "size": {"type": "integer", "enum": [10, 50, 100], "description": "Page size."},
                "state": {"type": ["string", "null"], "enum": ["open", "closed", None]},
            }
        )
    )

    assert declaration["parameters"]["properties"] == {
        "kind": {"type": "STRING", "enum": ["support"]},
        "size": {"type": "INTEGER", "description": "Page size. Allowed values: 10, 50, 100."},
        "state": {"type": "STRING", "enum": ["open", "closed"], "nullable": True},
    }
    assert {(f.code, f.pointer) for f in losses(rendered)} == {
        (DialectCode.SCHEMA_REWRITTEN, "/properties/kind"),
        (DialectCode.SCHEMA_REWRITTEN, "/properties/size"),
    }


def test_free_form_and_untyped_arguments_are_dropped_and_reported() -> None:
    declaration, rendered = gemini(
        obj(
            {
                "summary": {"type": "string"},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                "payload": {"description": "Anything at all."},
                "ids": {"type": "array"},
            },
            ["summary", "metadata"],
        )
    )

    assert declaration["parameters"] == {
        "type": "OBJECT",
        "properties": {"summary": {"type": "STRING"}},
        "required": ["summary"],
    }
    dropped = {f.pointer: f for f in losses(rendered) if f.code == DialectCode.PROPERTY_DROPPED}
    assert set(dropped) == {"/properties/metadata", "/properties/payload", "/properties/ids"}
    assert "it was required" in dropped["/properties/metadata"].message
    assert all(f.severity == "warning" for f in dropped.values())


def test_a_tool_without_arguments_has_no_parameters() -> None:
    declaration, rendered = gemini({"type": "object", "properties": {}, "additionalProperties": False})

    assert declaration == {"name": NAME, "description": "List support cases."}
    assert losses(rendered) == []


def test_a_tool_whose_arguments_all_drop_has_no_parameters_and_says_so() -> None:
    declaration, rendered = gemini(obj({"filter": {"type": "object"}}))

    assert "parameters" not in declaration
    assert {f.pointer for f in losses(rendered)} == {"", "/properties/filter"}


def test_formats_and_bounds_outside_the_subset_are_rewritten_or_dropped() -> None:
    declaration, rendered = gemini(
        obj(
            {
                "id": {"type": "string", "format": "uuid", "maxLength": 36},
                "count": {"type": "integer", "format": "int64", "exclusiveMinimum": 0},
                "ratio": {"type": "number", "format": "double", "multipleOf": 0.5},
            }
        )
    )

    assert declaration["parameters"]["properties"] == {
        "id": {"type": "STRING", "maxLength": 36},
        "count": {"type": "INTEGER", "format": "int64", "minimum": 0},
        "ratio": {"type": "NUMBER", "format": "double"},
    }
    assert {(f.code, f.pointer) for f in losses(rendered)} == {
        (DialectCode.KEYWORD_DROPPED, "/properties/id"),
        (DialectCode.SCHEMA_REWRITTEN, "/properties/count"),
        (DialectCode.KEYWORD_DROPPED, "/properties/ratio"),
    }


def test_all_of_is_merged_into_one_object() -> None:
    declaration, rendered = gemini(
        obj(
            {
                "case": {
                    "allOf": [
                        obj({"id": {"type": "string"}}, ["id"]),
                        obj({"status": {"type": "string"}}, ["status"]),
                    ]
                }
            }
        )
    )

    assert declaration["parameters"]["properties"]["case"] == {
        "type": "OBJECT",
        "properties": {"status": {"type": "STRING"}, "id": {"type": "STRING"}},
        "required": ["id", "status"],
    }
    assert [f.code for f in losses(rendered)] == [DialectCode.SCHEMA_REWRITTEN]


def test_pathologically_deep_schema_is_cut_without_recursion_error() -> None:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(3000):
        node = obj({"inner": node, "label": {"type": "string"}})

    declaration, rendered = gemini(node)

    assert DialectCode.DEPTH_EXCEEDED in {f.code for f in losses(rendered)}
    assert declaration["parameters"]["properties"]["label"] == {"type": "STRING"}


def test_check_flags_schemas_gemini_refuses() -> None:
    declaration = {
        "name": "9starts_with_digit",
        "description": "Broken on purpose.",
        "parameters": {
            "type": "OBJECT",
            "properties": {
                "empty": {"type": "OBJECT", "properties": {}},
                "list": {"type": "ARRAY"},
                "level": {"type": "INTEGER", "enum": [1, 2]},
                "ref": {"$ref": "#/$defs/x"},
                "lower": {"type": "string"},
            },
            "required": ["missing"],
        },
    }

    found = {(f.code, f.pointer) for f in check_definitions([declaration], Dialect.GEMINI)}

    at = "/0/parameters"
    assert found == {
        (DialectCode.NAME_INVALID, "/0/name"),
        (DialectCode.SCHEMA_INVALID, at),
        (DialectCode.SCHEMA_INVALID, f"{at}/properties/empty"),
        (DialectCode.SCHEMA_INVALID, f"{at}/properties/list"),
        (DialectCode.SCHEMA_INVALID, f"{at}/properties/level"),
        (DialectCode.KEYWORD_UNSUPPORTED, f"{at}/properties/ref"),
        (DialectCode.SCHEMA_INVALID, f"{at}/properties/ref"),
        (DialectCode.SCHEMA_INVALID, f"{at}/properties/lower"),
    }
