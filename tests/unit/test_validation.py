"""Advisory validation: each real-world defect becomes a warning at the right JSON pointer, a clean spec
gives none, and nothing in the document (however broken) makes validation raise."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from toolgate.spec.models import Finding, Severity
from toolgate.spec.validation import ValidationCode, validate_document


def spec30(paths: dict[str, Any] | None = None, schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Support Desk", "version": "1.0.0"},
        "paths": paths if paths is not None else {},
    }
    if schemas is not None:
        document["components"] = {"schemas": schemas}
    return document


def json_response(schema: dict[str, Any], **media: Any) -> dict[str, Any]:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema, **media}}}}


def operation(operation_id: str, **fields: Any) -> dict[str, Any]:
    return {"operationId": operation_id, "responses": {"204": {"description": "done"}}, **fields}


def path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def by_code(findings: list[Finding], code: ValidationCode) -> list[Finding]:
    return [finding for finding in findings if finding.code == code]


def warnings(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == Severity.WARNING]


CLEAN_30 = spec30(
    paths={
        "/cases/{case_id}": {
            "parameters": [path_parameter("case_id")],
            "get": {
                "operationId": "get_case",
                "parameters": [
                    {"name": "expand", "in": "query", "schema": {"type": "boolean", "default": False}},
                ],
                "responses": json_response(
                    {"$ref": "#/components/schemas/Case"},
                    examples={"open": {"$ref": "#/components/examples/OpenCase"}},
                ),
            },
        },
        "/cases": {
            "post": {
                "operationId": "create_support_case",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/NewCase"},
                            "example": {"customer_id": "c-1", "summary": "Printer on fire"},
                        }
                    },
                },
                "responses": json_response({"$ref": "#/components/schemas/Case"}),
            }
        },
    },
    schemas={
        "NewCase": {
            "type": "object",
            "required": ["customer_id", "summary"],
            "properties": {
                "customer_id": {"type": "string", "example": "c-42"},
                "summary": {"type": "string", "maxLength": 200},
                "priority": {"type": "string", "enum": ["low", "medium", "high"], "default": "medium"},
                "note": {"type": "string", "nullable": True, "default": None},
            },
        },
        "Case": {
            "allOf": [
                {"$ref": "#/components/schemas/NewCase"},
                {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "integer", "example": 7}},
                },
            ]
        },
    },
)
CLEAN_30["components"]["examples"] = {
    "OpenCase": {"value": {"id": 7, "customer_id": "c-1", "summary": "Printer on fire", "priority": "high"}}
}


def test_clean_30_spec_gives_no_findings() -> None:
    assert validate_document(CLEAN_30, "3.0.3") == []


def test_validation_does_not_mutate_the_document() -> None:
    document = copy.deepcopy(CLEAN_30)
    document["paths"]["/cases"]["post"]["parameters"] = [{"$ref": "https://example.com/p.json"}]
    before = copy.deepcopy(document)
    findings = validate_document(document, "3.0.3")
    assert by_code(findings, ValidationCode.EXTERNAL_REF)
    assert document == before


def test_duplicate_operation_id_is_reported_at_the_second_operation() -> None:
    document = spec30(paths={"/a": {"get": operation("listThings")}, "/b": {"get": operation("listThings")}})
    findings = validate_document(document, "3.0.3")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.DUPLICATE_OPERATION_ID, "/paths/~1b/get/operationId")
    ]
    assert "GET /a" in findings[0].message


def test_undeclared_path_parameter_is_reported_at_its_operation() -> None:
    document = spec30(paths={"/users/{id}": {"get": operation("getUser")}})
    findings = validate_document(document, "3.0.3")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.UNDECLARED_PATH_PARAMETER, "/paths/~1users~1{id}/get")
    ]
    assert "'id'" in findings[0].message


def test_path_parameter_declared_on_the_path_item_or_through_a_ref_counts_as_declared() -> None:
    document = spec30(
        paths={
            "/users/{id}": {"parameters": [path_parameter("id")], "get": operation("getUser")},
            "/teams/{team}": {
                "get": operation("getTeam", parameters=[{"$ref": "#/components/parameters/Team"}])
            },
        }
    )
    document["components"] = {"parameters": {"Team": path_parameter("team")}}
    assert validate_document(document, "3.0.3") == []


def test_path_parameter_missing_from_the_template_is_reported_at_the_parameter() -> None:
    document = spec30(paths={"/users": {"get": operation("listUsers", parameters=[path_parameter("id")])}})
    findings = validate_document(document, "3.0.3")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.UNUSED_PATH_PARAMETER, "/paths/~1users/get/parameters/0")
    ]


def test_duplicate_parameter_is_reported_at_the_repeat() -> None:
    query = {"name": "q", "in": "query", "schema": {"type": "string"}}
    again = {**query, "description": "The same parameter again"}
    document = spec30(paths={"/search": {"get": operation("search", parameters=[query, again])}})
    findings = validate_document(document, "3.0.3")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.DUPLICATE_PARAMETER, "/paths/~1search/get/parameters/1")
    ]


def test_schema_example_that_does_not_match_is_reported_at_the_example() -> None:
    document = spec30(
        schemas={"Case": {"type": "object", "properties": {"id": {"type": "integer", "example": "seven"}}}}
    )
    findings = validate_document(document, "3.0.3")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.EXAMPLE_MISMATCH, "/components/schemas/Case/properties/id/example")
    ]
    assert "'seven' is not of type 'integer'" in findings[0].message


def test_media_type_examples_are_checked_where_they_live() -> None:
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    document = spec30(
        paths={
            "/cases": {
                "get": operation(
                    "listCases",
                    responses=json_response(
                        schema,
                        examples={
                            "inline": {"value": {"id": "x"}},
                            "shared": {"$ref": "#/components/examples/Bad"},
                        },
                    ),
                )
            }
        }
    )
    document["components"] = {"examples": {"Bad": {"value": {"id": []}}}}
    pointers = {
        f.pointer for f in by_code(validate_document(document, "3.0.3"), ValidationCode.EXAMPLE_MISMATCH)
    }
    assert pointers == {
        "/paths/~1cases/get/responses/200/content/application~1json/examples/inline/value/id",
        "/components/examples/Bad/value/id",
    }


def test_default_that_does_not_match_is_reported_at_the_default() -> None:
    document = spec30(
        schemas={"Page": {"type": "object", "properties": {"size": {"type": "integer", "default": "ten"}}}}
    )
    findings = validate_document(document, "3.0.3")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.DEFAULT_MISMATCH, "/components/schemas/Page/properties/size/default")
    ]


def test_default_inside_a_referenced_schema_is_reported_at_the_schema_not_the_reference() -> None:
    document = spec30(
        paths={
            "/pages": {
                "get": operation("listPages", responses=json_response({"$ref": "#/components/schemas/Size"}))
            }
        },
        schemas={"Size": {"type": "integer", "minimum": 1, "default": 0}},
    )
    findings = validate_document(document, "3.0.3")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.DEFAULT_MISMATCH, "/components/schemas/Size/default")
    ]


def test_type_null_in_30_is_reported_at_the_type_keyword() -> None:
    document = spec30(
        paths={
            "/cases/{id}": {
                "get": operation("getCase", parameters=[{**path_parameter("id"), "schema": {"type": "null"}}])
            }
        }
    )
    findings = validate_document(document, "3.0.3")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.VALIDATION, "/paths/~1cases~1{id}/get/parameters/0/schema/type")
    ]
    assert '"null"' in findings[0].message


def test_the_meta_schema_runs_on_jsonschema_rs_whatever_the_environment_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND", "jsonschema")
    document = spec30(schemas={"Nothing": {"type": "null"}})
    (finding,) = validate_document(document, "3.0.3")
    # jsonschema-rs quotes with double quotes and elides long enums; jsonschema would print a Python list.
    assert finding.message.startswith('"null" is not one of "array", "boolean" or 4 other candidates')


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_items_given_as_a_list_is_reported_at_items(version: str) -> None:
    document = spec30(schemas={"Tags": {"type": "array", "items": [{"type": "string"}]}})
    document["openapi"] = version
    findings = validate_document(document, version)
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.VALIDATION, "/components/schemas/Tags/items")
    ]


def test_parameter_error_points_at_the_missing_field_not_at_other_parameter_kinds() -> None:
    not_required = {"name": "id", "in": "path", "schema": {"type": "string"}}
    document = spec30(paths={"/cases/{id}": {"get": operation("getCase", parameters=[not_required])}})
    findings = warnings(validate_document(document, "3.0.3"))
    assert [(f.code, f.pointer) for f in findings] == [
        (ValidationCode.VALIDATION, "/paths/~1cases~1{id}/get/parameters/0")
    ]
    assert "required" in findings[0].message


def test_31_spec_with_2020_12_features_validates_clean() -> None:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Modern", "version": "1"},
        "paths": {
            "/things": {
                "post": {
                    "operationId": "createThing",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
                    },
                    "responses": {"201": {"description": "created"}},
                }
            }
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "$defs": {"label": {"type": "string", "minLength": 1}},
                    "properties": {
                        "kind": {"const": "thing"},
                        "label": {"$ref": "#/components/schemas/Thing/$defs/label"},
                        "note": {"type": ["string", "null"], "default": None, "examples": ["hi", None]},
                        "size": {"type": "integer", "exclusiveMinimum": 0, "examples": [3]},
                    },
                    "required": ["kind"],
                    "unevaluatedProperties": False,
                }
            }
        },
    }
    assert validate_document(document, "3.1.0") == []


def test_31_examples_array_is_checked_item_by_item() -> None:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Modern", "version": "1"},
        "components": {"schemas": {"Size": {"type": "integer", "examples": [1, "two"]}}},
    }
    findings = validate_document(document, "3.1.0")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.EXAMPLE_MISMATCH, "/components/schemas/Size/examples/1")
    ]


SWAGGER_2: dict[str, Any] = {
    "swagger": "2.0",
    "info": {"title": "Legacy", "version": "1"},
    "host": "api.example.com",
    "basePath": "/v1",
    "paths": {
        "/pets/{petId}": {
            "get": {
                "operationId": "getPet",
                "parameters": [
                    {"name": "petId", "in": "path", "required": True, "type": "string"},
                    {"name": "limit", "in": "query", "type": "integer", "default": 10},
                ],
                "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}},
            }
        }
    },
    "definitions": {"Pet": {"type": "object", "properties": {"name": {"type": "string", "example": "Rex"}}}},
}


def test_swagger_2_spec_validates_clean_with_the_2_0_validator() -> None:
    assert validate_document(SWAGGER_2, "2.0") == []


def test_swagger_2_is_held_to_the_2_0_meta_schema() -> None:
    document = copy.deepcopy(SWAGGER_2)
    # A 3.0 request body is not part of Swagger 2.0, and a 2.0 parameter default is checked against its type.
    document["paths"]["/pets/{petId}"]["get"]["requestBody"] = {"content": {}}
    assert [f.pointer for f in warnings(validate_document(document, "2.0"))] == ["/paths/~1pets~1{petId}/get"]
    assert validate_document(document, "3.0.3") != validate_document(document, "2.0")


def test_swagger_2_parameter_default_is_checked_against_the_parameter_type() -> None:
    document = copy.deepcopy(SWAGGER_2)
    document["paths"]["/pets/{petId}"]["get"]["parameters"][1]["default"] = "ten"
    findings = validate_document(document, "2.0")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.DEFAULT_MISMATCH, "/paths/~1pets~1{petId}/get/parameters/1/default")
    ]


def test_schema_property_named_ref_is_not_a_reference() -> None:
    document = spec30(
        schemas={
            "JSONSchemaProps": {
                "type": "object",
                "properties": {
                    "$ref": {"type": "string"},
                    "$schema": {"type": "string"},
                    "nested": {
                        "type": "object",
                        "properties": {"$ref": {"type": "string", "example": "#/x"}},
                    },
                },
            }
        }
    )
    assert validate_document(document, "3.0.3") == []


def test_non_local_refs_are_reported_and_ignored_and_never_a_crash() -> None:
    document = spec30(
        paths={
            "/remote": {"$ref": "https://example.com/path-item.json"},
            "/cases": {
                "get": operation(
                    "listCases",
                    parameters=[{"$ref": "other.yaml#/components/parameters/Page"}],
                    responses={"200": {"$ref": "file:///etc/passwd"}},
                )
            },
        },
        schemas={"Data": {"$ref": 'data:application/json,{"type":"integer"}'}},
    )
    findings = validate_document(document, "3.0.3")
    assert {(f.code, f.pointer) for f in warnings(findings)} == {
        (ValidationCode.EXTERNAL_REF, "/paths/~1remote"),
        (ValidationCode.EXTERNAL_REF, "/paths/~1cases/get/parameters/0"),
        (ValidationCode.EXTERNAL_REF, "/paths/~1cases/get/responses/200"),
        (ValidationCode.EXTERNAL_REF, "/components/schemas/Data"),
    }


def test_unresolvable_and_circular_local_refs_are_reported() -> None:
    document = spec30(
        paths={
            "/a": {"get": operation("getA", responses=json_response({"$ref": "#/components/schemas/Gone"}))}
        },
        schemas={
            "Loop": {"$ref": "#/components/schemas/Loop2"},
            "Loop2": {"$ref": "#/components/schemas/Loop"},
        },
    )
    findings = validate_document(document, "3.0.3")
    assert {(f.code, f.pointer) for f in warnings(findings)} == {
        (ValidationCode.UNRESOLVABLE_REF, "/paths/~1a/get/responses/200/content/application~1json/schema"),
        (ValidationCode.UNRESOLVABLE_REF, "/components/schemas/Loop"),
        (ValidationCode.UNRESOLVABLE_REF, "/components/schemas/Loop2"),
    }


def test_self_referencing_schema_is_walked_once() -> None:
    node = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}},
        "example": {"children": [{"children": "not-a-list"}]},
    }
    findings = validate_document(spec30(schemas={"Node": node}), "3.0.3")
    assert [(f.code, f.pointer) for f in warnings(findings)] == [
        (ValidationCode.EXAMPLE_MISMATCH, "/components/schemas/Node/example/children/0/children")
    ]


def test_findings_are_capped_with_a_summary_of_what_was_left_out() -> None:
    paths = {f"/things/{index}": {"get": operation("same")} for index in range(30)}
    findings = validate_document(spec30(paths=paths), "3.0.3", max_findings=10)
    assert len(by_code(findings, ValidationCode.DUPLICATE_OPERATION_ID)) == 10
    assert findings[-1].code == ValidationCode.FINDINGS_OMITTED
    assert findings[-1].severity == Severity.INFO
    assert "19 more" in findings[-1].message


def test_one_message_repeated_everywhere_does_not_crowd_out_the_rest() -> None:
    # Bundled multi-file specs `$ref` whole operations, which OpenAPI does not allow: one message each.
    document = spec30(
        paths={f"/things/{index}": {"get": {"$ref": f"#/x-operations/op{index}"}} for index in range(30)},
        schemas={"Page": {"type": "integer", "default": "ten"}},
    )
    document["x-operations"] = {f"op{index}": operation(f"op{index}") for index in range(30)}
    findings = validate_document(document, "3.0.3", max_findings=20)
    misplaced = by_code(findings, ValidationCode.VALIDATION)
    assert len(misplaced) == 2
    assert misplaced[0].pointer == "/paths/~1things~10/get"
    assert "allows no $ref here" in misplaced[0].message
    assert [f.pointer for f in by_code(findings, ValidationCode.DEFAULT_MISMATCH)] == [
        "/components/schemas/Page/default"
    ]
    assert "28 more" in by_code(findings, ValidationCode.FINDINGS_OMITTED)[0].message


def test_long_messages_are_cut_short() -> None:
    huge = {"type": "object", "properties": {f"field_{index}": {"type": "string"} for index in range(500)}}
    document = spec30(schemas={"Huge": {"type": "array", "items": [huge]}})
    (finding,) = warnings(validate_document(document, "3.0.3"))
    assert len(finding.message) <= 300


def test_an_exhausted_budget_still_runs_the_cheap_checks_and_says_the_walk_was_partial() -> None:
    document = spec30(
        paths={"/users/{id}": {"get": operation("getUser")}},
        schemas={"Page": {"type": "object", "properties": {"size": {"type": "integer", "default": "ten"}}}},
    )
    findings = validate_document(document, "3.0.3", time_budget_seconds=0)
    assert [f.code for f in findings] == [
        ValidationCode.UNDECLARED_PATH_PARAMETER,
        ValidationCode.VALIDATION_PARTIAL,
    ]
    assert findings[-1].severity == Severity.INFO
    assert "0 of 1 path items and 0 of 1 component schemas" in findings[-1].message
    unlimited = validate_document(document, "3.0.3", time_budget_seconds=60)
    assert [f.code for f in unlimited] == [
        ValidationCode.UNDECLARED_PATH_PARAMETER,
        ValidationCode.DEFAULT_MISMATCH,
    ]


INFO = {"title": "Broken", "version": "1"}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"openapi": "3.0.3"}, {(ValidationCode.VALIDATION, "")}),
        ({"openapi": "3.0.3", "info": INFO, "paths": []}, {(ValidationCode.VALIDATION, "/paths")}),
        (
            {"openapi": "3.0.3", "info": INFO, "paths": {"/a": []}},
            {(ValidationCode.VALIDATION, "/paths/~1a")},
        ),
        (
            {"openapi": "3.0.3", "info": INFO, "paths": {"/a/{b": {"get": {"parameters": "nope"}}}},
            {(ValidationCode.VALIDATION, "/paths/~1a~1{b/get/parameters")},
        ),
        (
            {
                "openapi": "3.0.3",
                "info": INFO,
                "paths": {"/a": {"get": {"parameters": [None, {"in": "path"}]}}},
            },
            {
                (ValidationCode.VALIDATION, "/paths/~1a/get/parameters/0"),
                (ValidationCode.VALIDATION, "/paths/~1a/get/parameters/1"),
            },
        ),
        (
            {
                "openapi": "3.0.3",
                "info": INFO,
                "paths": {},
                "components": {"schemas": {"A": {"pattern": "("}}},
            },
            {(ValidationCode.VALIDATION, "/components/schemas/A/pattern")},
        ),
        (
            {
                "openapi": "3.0.3",
                "info": INFO,
                "paths": {},
                "components": {"schemas": {"A#B": {"default": 1, "type": "string"}}},
            },
            {(ValidationCode.DEFAULT_MISMATCH, "/components/schemas/A#B/default")},
        ),
        (
            {
                "openapi": "3.0.3",
                "info": INFO,
                "paths": {},
                "components": {"schemas": {"A": {"$ref": "#/info/title/x"}}},
            },
            {(ValidationCode.UNRESOLVABLE_REF, "/components/schemas/A")},
        ),
        (
            {"openapi": "3.0.3", "info": INFO, "paths": {}, "components": {"schemas": {"A": {"$ref": ""}}}},
            {(ValidationCode.UNRESOLVABLE_REF, "/components/schemas/A")},
        ),
    ],
)
def test_malformed_documents_give_findings_not_exceptions(
    document: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    findings = validate_document(document, "3.0.3")
    assert expected <= {(f.code, f.pointer) for f in findings}


def test_a_document_that_contains_itself_is_reported_not_looped_over() -> None:
    document = spec30(schemas={})
    loop: dict[str, Any] = {"type": "object"}
    loop["properties"] = {"again": loop}
    document["components"]["schemas"]["Loop"] = loop
    (finding,) = validate_document(document, "3.0.3")
    assert finding.code == ValidationCode.VALIDATOR_FAILURE
    assert finding.pointer == "/components/schemas/Loop/properties/again"


def test_shared_subtrees_are_checked_at_every_place_they_appear() -> None:
    shared = {"$ref": "https://example.com/shared.json"}
    document = spec30(schemas={"A": {"properties": {"x": shared}}, "B": {"properties": {"y": shared}}})
    pointers = {f.pointer for f in by_code(validate_document(document, "3.0.3"), ValidationCode.EXTERNAL_REF)}
    assert pointers == {"/components/schemas/A/properties/x", "/components/schemas/B/properties/y"}


def test_unknown_version_is_skipped_with_a_warning() -> None:
    (finding,) = validate_document({"openapi": "4.0.0"}, "4.0.0")
    assert finding.code == ValidationCode.VALIDATION_SKIPPED
