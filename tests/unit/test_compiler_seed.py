"""The seed's Support Desk example compiles to the tool the product description promises."""

from __future__ import annotations

import pytest
from toolgate.spec.compiler import compile_path
from toolgate.spec.models import ArgumentLocation, CanonicalTool, CompiledSpec, SecuritySchemeType
from toolgate_demo import support_desk_spec

FIXTURE = support_desk_spec()


@pytest.fixture(scope="module")
def compiled() -> CompiledSpec:
    return compile_path(FIXTURE)


def tool(compiled: CompiledSpec, name: str) -> CanonicalTool:
    matches = [t for t in compiled.tools if t.name == name]
    assert len(matches) == 1, [t.name for t in compiled.tools]
    return matches[0]


def test_every_support_desk_operation_becomes_a_tool_without_errors(compiled: CompiledSpec) -> None:
    assert sorted(t.name for t in compiled.tools) == [
        "add_support_case_comment",
        "create_support_case",
        "generate_case_report",
        "get_case_export",
        "get_support_case",
        "list_support_cases",
        "start_case_export",
        "update_support_case",
    ]
    assert compiled.failed_operations == []
    assert not [f for f in compiled.findings if f.severity != "info"]
    assert compiled.title == "Support Desk API"
    assert compiled.source_openapi == "3.0.1"
    assert compiled.servers == ["https://support.example.com/api"]


def test_create_support_case_takes_exactly_the_three_required_body_fields(compiled: CompiledSpec) -> None:
    create = tool(compiled, "create_support_case")

    assert create.input_schema == {
        "type": "object",
        "properties": {
            "customer_id": {"type": "string"},
            "summary": {"type": "string"},
            "priority": {"type": "string", "enum": ["low", "medium", "high"]},
        },
        "required": ["customer_id", "summary", "priority"],
        "additionalProperties": False,
    }
    assert create.method == "POST"
    assert create.path == "/support/cases"
    assert create.operation_id == "createSupportCase"
    assert create.server_url == "https://support.example.com/api"


def test_create_support_case_arguments_bind_to_json_body_fields(compiled: CompiledSpec) -> None:
    create = tool(compiled, "create_support_case")

    assert [(b.argument, b.location, b.name, b.required) for b in create.bindings] == [
        ("customer_id", ArgumentLocation.BODY_FIELD, "customer_id", True),
        ("summary", ArgumentLocation.BODY_FIELD, "summary", True),
        ("priority", ArgumentLocation.BODY_FIELD, "priority", True),
    ]
    assert create.body is not None
    assert create.body.media_type == "application/json"
    assert create.body.flattened is True
    assert create.body.required is True


def test_create_support_case_output_schema_has_case_id_and_status(compiled: CompiledSpec) -> None:
    output = tool(compiled, "create_support_case").output_schema

    assert output == {
        "type": "object",
        "properties": {"case_id": {"type": "string"}, "status": {"type": "string"}},
    }


def test_create_support_case_requires_the_bearer_scheme(compiled: CompiledSpec) -> None:
    create = tool(compiled, "create_support_case")

    assert create.security == [{"bearerAuth": []}]
    scheme = create.security_schemes["bearerAuth"]
    assert scheme.type == SecuritySchemeType.HTTP
    assert scheme.scheme == "bearer"
    assert scheme.bearer_format == "JWT"


def test_create_support_case_is_a_non_idempotent_write(compiled: CompiledSpec) -> None:
    annotations = tool(compiled, "create_support_case").annotations

    assert annotations.read_only is False
    assert annotations.idempotent is False
    assert annotations.destructive is False
    assert annotations.title == "Create support case"


def test_create_support_case_description_comes_from_summary_and_description(compiled: CompiledSpec) -> None:
    description = tool(compiled, "create_support_case").description

    assert description.startswith("Create support case")
    assert "Open a support ticket for a customer" in description


def test_get_support_case_takes_its_path_level_case_id(compiled: CompiledSpec) -> None:
    get = tool(compiled, "get_support_case")

    assert get.input_schema["required"] == ["case_id"]
    assert list(get.input_schema["properties"]) == ["case_id"]
    assert [(b.argument, b.location, b.style, b.explode) for b in get.bindings] == [
        ("case_id", ArgumentLocation.PATH, "simple", False)
    ]
    assert get.annotations.read_only is True
    assert get.annotations.idempotent is True
    assert get.output_schema is not None
    assert {"case_id", "status", "priority"} <= set(get.output_schema["properties"])


def test_list_support_cases_binds_query_parameters_with_their_styles(compiled: CompiledSpec) -> None:
    listing = tool(compiled, "list_support_cases")

    assert listing.input_schema["required"] == ["customer_id"]
    assert listing.input_schema["properties"]["limit"]["default"] == 20
    assert listing.input_schema["properties"]["status"]["items"]["enum"] == ["open", "pending", "closed"]
    assert {(b.argument, b.location, b.style, b.explode) for b in listing.bindings} == {
        ("customer_id", ArgumentLocation.QUERY, "form", True),
        ("status", ArgumentLocation.QUERY, "form", False),
        ("limit", ArgumentLocation.QUERY, "form", True),
    }
    assert listing.body is None


def test_update_support_case_mixes_path_and_optional_body_fields(compiled: CompiledSpec) -> None:
    update = tool(compiled, "update_support_case")

    assert update.input_schema["required"] == ["case_id"]
    assert update.input_schema["properties"]["priority"] == {
        "type": "string",
        "enum": ["low", "medium", "high"],
    }
    assert {b.argument: b.location for b in update.bindings} == {
        "case_id": ArgumentLocation.PATH,
        "priority": ArgumentLocation.BODY_FIELD,
        "status": ArgumentLocation.BODY_FIELD,
    }
