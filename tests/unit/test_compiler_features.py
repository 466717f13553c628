"""Golden tests for each compiler feature: one small spec in, the exact tool shape out."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from spec_builders import (
    OK,
    assert_valid_json_schema,
    codes,
    compile_paths,
    findings_with,
    json_body,
    only_tool,
    openapi,
    post,
    tool_named,
)
from toolgate.settings import CompileLimits
from toolgate.spec import loader
from toolgate.spec.compiler import compile_document, parse_spec
from toolgate.spec.models import ArgumentLocation, AsyncKind, BodyEncoding, SecuritySchemeType
from toolgate.spec.naming import TOOL_NAME

# --- YAML traps -------------------------------------------------------------------------------

YAML_TRAPS = b"""
openapi: 3.0.3
info:
  title: Traps
  version: 2020-01-01
paths:
  /events:
    get:
      operationId: listEvents
      parameters:
        - name: since
          in: query
          schema:
            type: string
            format: date
            default: 2021-03-04
            enum: [2021-03-04, 2022-01-01]
      responses:
        200:
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  on: {type: boolean}
                  off: {type: string}
                  yes: {type: string}
                  404: {type: integer}
                  created: {type: string, default: 2020-01-01T10:00:00Z}
"""


def test_unquoted_response_code_is_read_as_a_string_key() -> None:
    spec = parse_spec(YAML_TRAPS)

    assert list(spec.document["paths"]["/events"]["get"]["responses"]) == ["200"]
    listing = only_tool(compile_document(spec))
    assert listing.output_schema is not None
    assert listing.output_schema["type"] == "object"


def test_yaml_is_parsed_by_the_libyaml_loader_when_it_is_installed() -> None:
    """The C loader is 4-8x faster on big specs; losing it silently would slow every large ingest."""
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml")

    assert issubclass(loader._SpecLoader, yaml.CSafeLoader)


def test_yaml_dates_stay_strings() -> None:
    spec = parse_spec(YAML_TRAPS)
    listing = only_tool(compile_document(spec))

    assert spec.document["info"]["version"] == "2020-01-01"
    since = listing.input_schema["properties"]["since"]
    assert since["default"] == "2021-03-04"
    assert since["enum"] == ["2021-03-04", "2022-01-01"]
    assert listing.output_schema is not None
    assert listing.output_schema["properties"]["created"]["default"] == "2020-01-01T10:00:00Z"
    assert_valid_json_schema(listing.input_schema)


def test_yaml_boolean_and_number_words_as_keys_stay_their_text() -> None:
    listing = only_tool(compile_document(parse_spec(YAML_TRAPS)))

    assert listing.output_schema is not None
    assert list(listing.output_schema["properties"]) == ["on", "off", "yes", "404", "created"]


# --- parameters -------------------------------------------------------------------------------


def test_parameters_in_every_location_bind_with_their_style_and_explode() -> None:
    parameters = [
        {"name": "ids", "in": "path", "required": True, "style": "label", "explode": True,
         "schema": {"type": "array", "items": {"type": "integer"}}},
        {"name": "org", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "filter", "in": "query", "style": "deepObject", "explode": True,
         "schema": {"type": "object", "properties": {"state": {"type": "string"}}}},
        {"name": "tags", "in": "query", "style": "pipeDelimited", "explode": False, "allowReserved": True,
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "page", "in": "query", "schema": {"type": "integer"}},
        {"name": "X-Trace-Id", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "session", "in": "cookie", "schema": {"type": "string"}},
        {"name": "where", "in": "query", "content": {"application/json": {"schema": {"type": "object"}}}},
    ]  # fmt: skip
    tool = only_tool(
        compile_paths(
            {
                "/orgs/{org}/items/{ids}": {
                    "get": {"operationId": "find", "parameters": parameters, "responses": OK}
                }
            }
        )
    )

    bindings = {b.argument: (b.location, b.name, b.required, b.style, b.explode) for b in tool.bindings}
    assert bindings == {
        "ids": (ArgumentLocation.PATH, "ids", True, "label", True),
        "org": (ArgumentLocation.PATH, "org", True, "simple", False),
        "filter": (ArgumentLocation.QUERY, "filter", False, "deepObject", True),
        "tags": (ArgumentLocation.QUERY, "tags", False, "pipeDelimited", False),
        "page": (ArgumentLocation.QUERY, "page", False, "form", True),
        "X-Trace-Id": (ArgumentLocation.HEADER, "X-Trace-Id", True, "simple", False),
        "session": (ArgumentLocation.COOKIE, "session", False, "form", True),
        "where": (ArgumentLocation.QUERY, "where", False, "form", True),
    }
    by_argument = {b.argument: b for b in tool.bindings}
    assert by_argument["tags"].allow_reserved is True
    assert by_argument["where"].content_type == "application/json"
    assert tool.input_schema["required"] == ["ids", "org", "X-Trace-Id"]
    assert tool.input_schema["properties"]["filter"]["properties"] == {"state": {"type": "string"}}
    assert tool.input_schema["additionalProperties"] is False
    assert_valid_json_schema(tool.input_schema)


def test_operation_parameter_overrides_the_path_level_one_and_both_levels_merge() -> None:
    path_item = {
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer"}},
            {"name": "X-Tenant", "in": "header", "schema": {"type": "string"}},
        ],
        "get": {
            "operationId": "getItem",
            "parameters": [
                {"name": "limit", "in": "query", "required": True, "description": "page size",
                 "schema": {"type": "integer", "maximum": 50}},
                {"name": "expand", "in": "query", "schema": {"type": "boolean"}},
            ],
            "responses": OK,
        },
    }  # fmt: skip
    tool = only_tool(compile_paths({"/items/{id}": path_item}))

    assert tool.input_schema["properties"] == {
        "id": {"type": "string"},
        "limit": {"type": "integer", "maximum": 50, "description": "page size"},
        "X-Tenant": {"type": "string"},
        "expand": {"type": "boolean"},
    }
    assert sorted(tool.input_schema["required"]) == ["id", "limit"]
    assert len(tool.bindings) == 4


def test_same_name_in_two_locations_keeps_both_with_a_suffix() -> None:
    parameters = [
        {"name": "version", "in": "query", "schema": {"type": "integer"}},
        {"name": "version", "in": "header", "schema": {"type": "string"}},
    ]
    tool = only_tool(
        compile_paths({"/v": {"get": {"operationId": "v", "parameters": parameters, "responses": OK}}})
    )

    assert {(b.argument, b.location, b.name) for b in tool.bindings} == {
        ("version", ArgumentLocation.QUERY, "version"),
        ("version_header", ArgumentLocation.HEADER, "version"),
    }


def test_accept_content_type_and_authorization_headers_are_not_arguments() -> None:
    parameters = [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
        for name in ("Accept", "Content-Type", "Authorization", "X-Request-Id")
    ]
    compiled = compile_paths({"/h": {"get": {"operationId": "h", "parameters": parameters, "responses": OK}}})

    assert list(only_tool(compiled).input_schema["properties"]) == ["X-Request-Id"]
    assert len(findings_with(compiled, "PARAMETER_IGNORED")) == 3


REFERENCED_COMPONENTS: dict[str, Any] = {
    "parameters": {
        "Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
        "LimitAlias": {"$ref": "#/components/parameters/Limit"},
        "ThingId": {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}},
    },
    "requestBodies": {"NewThing": json_body({"$ref": "#/components/schemas/Thing"})},
    "responses": {
        "Thing": {
            "description": "a thing",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
        }
    },
    "schemas": {
        "Thing": {
            "type": "object",
            "required": ["name"],
            "properties": {"id": {"type": "string", "readOnly": True}, "name": {"type": "string"}},
        }
    },
    "pathItems": {
        "ThingItem": {
            "parameters": [{"$ref": "#/components/parameters/ThingId"}],
            "get": {
                "operationId": "getThing",
                "responses": {"200": {"$ref": "#/components/responses/Thing"}},
            },
        }
    },
    "x-operations": {
        "CreateThing": {
            "operationId": "createThing",
            "parameters": [{"$ref": "#/components/parameters/LimitAlias"}],
            "requestBody": {"$ref": "#/components/requestBodies/NewThing"},
            "responses": {"201": {"$ref": "#/components/responses/Thing"}},
        }
    },
}


def test_referenced_parameters_bodies_responses_path_items_and_operations_are_resolved() -> None:
    compiled = compile_paths(
        {
            "/things/{thing_id}": {"$ref": "#/components/pathItems/ThingItem"},
            "/things": {"post": {"$ref": "#/components/x-operations/CreateThing"}},
        },
        REFERENCED_COMPONENTS,
        version="3.1.0",
    )

    assert compiled.failed_operations == []
    get_thing = tool_named(compiled, "get_thing")
    assert get_thing.input_schema["properties"] == {"thing_id": {"type": "string"}}
    assert get_thing.output_schema == REFERENCED_COMPONENTS["schemas"]["Thing"]
    create = tool_named(compiled, "create_thing")
    assert create.input_schema["properties"] == {
        "limit": {"type": "integer", "maximum": 100},
        "name": {"type": "string"},
    }
    assert create.input_schema["required"] == ["name"]
    assert create.output_schema is not None
    assert create.output_schema["properties"]["id"] == {"type": "string", "readOnly": True}


# --- request bodies ---------------------------------------------------------------------------


def test_json_object_body_is_flattened_and_a_clashing_field_gets_a_suffix() -> None:
    body = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "note": {"type": "string"}},
    }
    compiled = compile_paths(
        {
            "/items/{id}": {
                "put": {
                    "operationId": "replaceItem",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                    ],
                    "requestBody": json_body(body),
                    "responses": OK,
                }
            }
        }
    )
    tool = only_tool(compiled)

    assert tool.input_schema["properties"] == {
        "id": {"type": "integer"},
        "id_body": {"type": "string"},
        "name": {"type": "string"},
        "note": {"type": "string"},
    }
    assert tool.input_schema["required"] == ["id", "id_body", "name"]
    assert [(b.argument, b.location, b.name) for b in tool.bindings] == [
        ("id", ArgumentLocation.PATH, "id"),
        ("id_body", ArgumentLocation.BODY_FIELD, "id"),
        ("name", ArgumentLocation.BODY_FIELD, "name"),
        ("note", ArgumentLocation.BODY_FIELD, "note"),
    ]
    assert "ARGUMENT_RENAMED" in codes(compiled)


def test_body_fields_of_an_optional_body_are_optional_arguments() -> None:
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    operation = {"operationId": "touch", "requestBody": json_body(schema, required=False), "responses": OK}
    tool = only_tool(compile_paths({"/t": {"post": operation}}))

    assert "required" not in tool.input_schema
    assert tool.body is not None
    assert tool.body.required is False


@pytest.mark.parametrize(
    ("media_type", "schema"),
    [
        ("application/json", {"type": "array", "items": {"type": "string"}}),
        ("application/json", {"type": "string"}),
        ("application/json", {"type": "object", "additionalProperties": {"type": "integer"}}),
        ("application/json", {"oneOf": [{"type": "object", "properties": {"a": {}}}, {"type": "string"}]}),
        ("text/plain", {"type": "string"}),
        ("application/octet-stream", {"type": "string", "format": "binary"}),
    ],
)  # fmt: skip
def test_a_body_that_is_not_a_plain_object_is_one_body_argument(
    media_type: str, schema: dict[str, Any]
) -> None:
    operation = {
        "operationId": "send",
        "requestBody": {
            "required": True,
            "description": "The payload.",
            "content": {media_type: {"schema": schema}},
        },
        "responses": OK,
    }
    tool = only_tool(compile_paths({"/send": {"post": operation}}))

    assert tool.input_schema["properties"] == {"body": {**schema, "description": "The payload."}}
    assert tool.input_schema["required"] == ["body"]
    assert [(b.argument, b.location, b.name) for b in tool.bindings] == [("body", ArgumentLocation.BODY, "")]
    assert tool.body is not None
    assert (tool.body.media_type, tool.body.flattened) == (media_type, False)


def test_form_urlencoded_body_is_flattened_with_its_encoding() -> None:
    form = {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["grant_type"],
                "properties": {
                    "grant_type": {"type": "string"},
                    "scope": {"type": "array", "items": {"type": "string"}},
                },
            },
            "encoding": {"scope": {"style": "spaceDelimited", "explode": False}},
        }
    }
    operation = {"operationId": "token", "requestBody": {"required": True, "content": form}, "responses": OK}
    tool = only_tool(compile_paths({"/token": {"post": operation}}))

    assert tool.body is not None
    assert tool.body.media_type == "application/x-www-form-urlencoded"
    assert tool.body.flattened is True
    assert tool.body.encoding == {"scope": BodyEncoding(style="spaceDelimited", explode=False)}
    assert {b.argument: b.location for b in tool.bindings} == {
        "grant_type": ArgumentLocation.BODY_FIELD,
        "scope": ArgumentLocation.BODY_FIELD,
    }
    assert tool.input_schema["required"] == ["grant_type"]


def test_multipart_body_is_flattened_with_part_content_types() -> None:
    multipart = {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "meta": {"type": "object", "properties": {"title": {"type": "string"}}},
                },
            },
            "encoding": {"file": {"contentType": "image/png"}, "meta": {"contentType": "application/json"}},
        },
        "application/json": {"schema": {"type": "object", "properties": {"url": {"type": "string"}}}},
    }
    operation = {
        "operationId": "upload",
        "requestBody": {"required": True, "content": multipart},
        "responses": OK,
    }
    compiled = compile_paths({"/upload": {"post": operation}})
    tool = only_tool(compiled)

    assert tool.body is not None
    assert tool.body.media_type == "application/json", (
        "JSON is preferred when several media types are offered"
    )
    assert "REQUEST_BODY_MEDIA_CHOSEN" in codes(compiled)

    del multipart["application/json"]
    tool = only_tool(compile_paths({"/upload": {"post": operation}}))
    assert tool.body is not None
    assert tool.body.media_type == "multipart/form-data"
    assert tool.body.encoding == {
        "file": BodyEncoding(content_type="image/png"),
        "meta": BodyEncoding(content_type="application/json"),
    }
    assert tool.input_schema["properties"]["file"] == {"type": "string", "format": "binary"}
    assert tool.input_schema["required"] == ["file"]


# --- schema conversion ------------------------------------------------------------------------

SCHEMAS: dict[str, Any] = {
    "Base": {
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": {"type": "string", "readOnly": True},
            "name": {"type": "string"},
            "secret": {"type": "string", "writeOnly": True},
        },
    },
    "Pet": {
        "allOf": [
            {"$ref": "#/components/schemas/Base"},
            {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}},
        ]
    },
    "ShortText": {"allOf": [{"type": "string"}, {"maxLength": 10}]},
    "Cat": {"type": "object", "properties": {"meows": {"type": "boolean"}}},
    "Dog": {"type": "object", "properties": {"barks": {"type": "boolean"}}},
    "Node": {
        "type": "object",
        "properties": {
            "value": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    },
    "Employee": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "team": {"$ref": "#/components/schemas/Team"}},
    },
    "Team": {
        "type": "object",
        "properties": {"members": {"type": "array", "items": {"$ref": "#/components/schemas/Employee"}}},
    },
}


def compile_schemas(paths: dict[str, Any], version: str = "3.0.3") -> Any:
    return compile_paths(paths, {"schemas": SCHEMAS}, version=version)


def test_read_only_properties_are_dropped_from_inputs_and_write_only_from_outputs() -> None:
    operation = {
        "operationId": "createBase",
        "requestBody": json_body({"$ref": "#/components/schemas/Base"}),
        "responses": {
            "201": {
                "description": "created",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Base"}}},
            }
        },
    }
    tool = only_tool(compile_schemas({"/bases": {"post": operation}}))

    assert list(tool.input_schema["properties"]) == ["name", "secret"]
    assert tool.input_schema["required"] == ["name"]
    assert tool.output_schema is not None
    assert list(tool.output_schema["properties"]) == ["id", "name"]
    assert tool.output_schema["required"] == ["id", "name"]


def test_nullable_becomes_a_type_union() -> None:
    schema = {
        "type": "object",
        "properties": {
            "nickname": {"type": "string", "nullable": True},
            "size": {"type": "string", "enum": ["s", "m"], "nullable": True},
            "pet": {"$ref": "#/components/schemas/Cat", "nullable": True},
            "plain": {"type": "integer", "nullable": False},
        },
    }
    tool = only_tool(compile_schemas({"/n": post(schema)}))
    properties = tool.input_schema["properties"]

    assert properties["nickname"] == {"type": ["string", "null"]}
    assert properties["size"] == {"type": ["string", "null"], "enum": ["s", "m", None]}
    assert properties["pet"] == {"anyOf": [SCHEMAS["Cat"], {"type": "null"}]}
    assert properties["plain"] == {"type": "integer"}
    validator = assert_valid_json_schema(tool.input_schema)
    assert validator.is_valid({"nickname": None, "size": None, "pet": None})
    assert not validator.is_valid({"size": "xl"})


def test_all_of_of_object_schemas_is_merged_into_one_object() -> None:
    tool = only_tool(compile_schemas({"/pets": post({"$ref": "#/components/schemas/Pet"})}))

    assert tool.input_schema["properties"] == {
        "name": {"type": "string"},
        "secret": {"type": "string", "writeOnly": True},
        "kind": {"type": "string"},
    }
    assert tool.input_schema["required"] == ["name", "kind"]
    assert [b.location for b in tool.bindings] == [ArgumentLocation.BODY_FIELD] * 3


def test_all_of_that_cannot_be_merged_safely_is_kept() -> None:
    schema = {"type": "object", "properties": {"label": {"$ref": "#/components/schemas/ShortText"}}}
    tool = only_tool(compile_schemas({"/labels": post(schema)}))

    assert tool.input_schema["properties"]["label"] == {"allOf": [{"type": "string"}, {"maxLength": 10}]}
    validator = assert_valid_json_schema(tool.input_schema)
    assert not validator.is_valid({"label": "x" * 11})


def test_one_of_and_any_of_are_kept() -> None:
    schema = {
        "type": "object",
        "properties": {
            "animal": {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]},
            "id": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        },
    }
    tool = only_tool(compile_schemas({"/animals": post(schema)}))

    assert tool.input_schema["properties"] == {
        "animal": {"oneOf": [SCHEMAS["Cat"], SCHEMAS["Dog"]]},
        "id": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    }


def test_self_referencing_schema_becomes_a_defs_entry_that_holds_the_definition() -> None:
    schema = {"type": "object", "properties": {"root": {"$ref": "#/components/schemas/Node"}}}
    tool = only_tool(compile_schemas({"/trees": post(schema)}))

    root_ref = tool.input_schema["properties"]["root"]["$ref"]
    assert root_ref.startswith("#/$defs/")
    definition = tool.input_schema["$defs"][root_ref.removeprefix("#/$defs/")]
    assert definition["properties"]["value"] == {"type": "string"}
    assert definition["properties"]["children"]["items"] == {"$ref": root_ref}
    validator = assert_valid_json_schema(tool.input_schema)
    assert validator.is_valid({"root": {"value": "a", "children": [{"value": "b", "children": []}]}})
    assert not validator.is_valid({"root": {"value": "a", "children": [{"value": 7}]}})


def test_mutually_recursive_schemas_keep_every_definition_they_need() -> None:
    operation = {
        "operationId": "getEmployee",
        "responses": {
            "200": {
                "description": "ok",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Employee"}}},
            }
        },
    }
    compiled = compile_schemas(
        {
            "/employees": {"get": operation},
            "/teams": post({"$ref": "#/components/schemas/Team"}, "createTeam"),
        }
    )

    employee = tool_named(compiled, "get_employee").output_schema
    team = tool_named(compiled, "create_team").input_schema
    assert employee is not None
    for schema in (employee, team):
        refs = set(re.findall(r"#/\$defs/([A-Za-z0-9_.-]+)", json.dumps(schema)))
        assert refs, "the cycle is kept as $defs"
        assert refs <= set(schema["$defs"])
    employee_validator = assert_valid_json_schema(employee)
    assert employee_validator.is_valid(
        {"name": "a", "team": {"members": [{"name": "b", "team": {"members": []}}]}}
    )
    assert not employee_validator.is_valid({"name": "a", "team": {"members": [{"name": 1}]}})
    team_validator = assert_valid_json_schema(team)
    assert team_validator.is_valid({"body": {"members": [{"name": "a", "team": {"members": []}}]}})
    assert not team_validator.is_valid({"body": {"members": [{"team": {"members": [{"name": False}]}}]}})


def test_boolean_exclusive_bounds_become_numbers() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ratio": {
                "type": "number",
                "minimum": 0,
                "exclusiveMinimum": True,
                "maximum": 1,
                "exclusiveMaximum": False,
            }
        },
    }
    tool = only_tool(compile_schemas({"/r": post(schema)}))

    assert tool.input_schema["properties"]["ratio"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
    assert_valid_json_schema(tool.input_schema)


def test_openapi_31_schema_keywords_are_preserved() -> None:
    components = {
        "schemas": {
            "Tagged": {
                "$defs": {"tag": {"type": "string", "minLength": 1}},
                "type": "object",
                "properties": {
                    "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tagged/$defs/tag"}}
                },
            }
        }
    }
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": ["string", "null"]},
            "kind": {"const": "widget"},
            "tagged": {"$ref": "#/components/schemas/Tagged"},
            "extra": {
                "type": "object",
                "properties": {"a": {"type": "integer"}},
                "unevaluatedProperties": False,
            },
            "size": {"type": "number", "exclusiveMinimum": 0},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
        },
    }
    tool = only_tool(compile_paths({"/widgets": post(schema)}, components, version="3.1.0"))
    properties = tool.input_schema["properties"]

    assert properties["name"] == {"type": ["string", "null"]}
    assert properties["kind"] == {"const": "widget"}
    assert properties["tagged"]["$defs"] == {"tag": {"type": "string", "minLength": 1}}
    assert properties["tagged"]["properties"]["tags"]["items"] == {"type": "string", "minLength": 1}
    assert properties["extra"]["unevaluatedProperties"] is False
    assert properties["size"] == {"type": "number", "exclusiveMinimum": 0}
    assert properties["pair"]["prefixItems"] == [{"type": "string"}, {"type": "integer"}]
    validator = assert_valid_json_schema(tool.input_schema)
    assert not validator.is_valid({"extra": {"a": 1, "b": 2}})
    assert validator.is_valid({"name": None, "kind": "widget", "extra": {"a": 1}})


def test_keyword_values_json_schema_forbids_are_dropped_with_a_finding() -> None:
    schema = {
        "type": "object",
        "required": ["name", "name"],
        "properties": {
            "name": {"type": "string", "required": True, "description": 5, "minLength": -1},
            "count": {"type": "integer", "minimum": "5", "multipleOf": 0, "readOnly": "no"},
            "kind": {"type": ["string", "string"], "enum": "abc"},
            "never": {"type": "array", "maxItems": 0, "items": {"oneOf": []}},
        },
    }
    compiled = compile_schemas({"/bad": post(schema)})
    tool = only_tool(compiled)

    assert tool.input_schema["properties"] == {
        "name": {"type": "string"},
        "count": {"type": "integer"},
        "kind": {"type": ["string"]},
        "never": {"type": "array", "maxItems": 0, "items": {}},
    }
    assert tool.input_schema["required"] == ["name"]
    assert_valid_json_schema(tool.input_schema)
    pointer = "/paths/~1bad/post/requestBody/content/application~1json/schema"
    assert set(findings_with(compiled, "REPAIRED_INVALID_KEYWORD")) >= {
        ("info", f"{pointer}/properties/name/required"),
        ("info", f"{pointer}/properties/count/minimum"),
        ("info", f"{pointer}/properties/kind/enum"),
        ("info", f"{pointer}/properties/never/items/oneOf"),
    }


def test_oversized_tool_schema_is_pruned_to_the_budget_and_reported() -> None:
    def nested(depth: int) -> dict[str, Any]:
        if depth == 0:
            return {"type": "string", "description": "a leaf value " * 20}
        return {
            "type": "object",
            "description": f"level {depth} " * 10,
            "properties": {f"field_{i}": nested(depth - 1) for i in range(5)},
        }

    limits = CompileLimits(max_tool_schema_bytes=8_000)
    compiled = compile_paths({"/big": post(nested(5))}, limits=limits)
    tool = only_tool(compiled)

    assert len(str(tool.input_schema)) < 10_000
    assert set(tool.input_schema["properties"]) == {f"field_{i}" for i in range(5)}
    assert findings_with(compiled, "TOOL_SCHEMA_PRUNED") == [("warning", "/paths/~1big/post")]
    assert_valid_json_schema(tool.input_schema)


# --- output, annotations, description ---------------------------------------------------------


def test_output_schema_comes_from_the_first_2xx_json_response() -> None:
    responses = {
        "400": {"description": "bad", "content": {"application/json": {"schema": {"type": "object"}}}},
        "204": {"description": "no content"},
        "201": {
            "description": "created",
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/vnd.api+json": {
                    "schema": {"type": "object", "properties": {"id": {"type": "string"}}}
                },
            },
        },
    }
    tool = only_tool(compile_paths({"/o": {"post": {"operationId": "o", "responses": responses}}}))

    assert tool.output_schema == {"type": "object", "properties": {"id": {"type": "string"}}}


def test_no_output_schema_without_a_2xx_json_response() -> None:
    responses = {
        "200": {"description": "text", "content": {"text/csv": {"schema": {"type": "string"}}}},
        "default": {"description": "error", "content": {"application/json": {"schema": {"type": "object"}}}},
    }
    tool = only_tool(compile_paths({"/csv": {"get": {"operationId": "csv", "responses": responses}}}))

    assert tool.output_schema is None


@pytest.mark.parametrize(
    ("method", "read_only", "destructive", "idempotent"),
    [
        ("get", True, False, True),
        ("head", True, False, True),
        ("options", True, False, True),
        ("put", False, True, True),
        ("delete", False, True, True),
        ("post", False, False, False),
        ("patch", False, False, False),
    ],
)
def test_annotations_follow_the_http_method(
    method: str, read_only: bool, destructive: bool, idempotent: bool
) -> None:
    annotations = only_tool(
        compile_paths({"/a": {method: {"operationId": "act", "responses": OK}}})
    ).annotations

    assert (annotations.read_only, annotations.destructive, annotations.idempotent) == (
        read_only,
        destructive,
        idempotent,
    )
    assert annotations.open_world is True


def test_x_toolgate_annotations_override_the_method_defaults() -> None:
    operation = {
        "operationId": "search",
        "summary": "Search",
        "responses": OK,
        "x-toolgate-annotations": {
            "readOnlyHint": True,
            "idempotentHint": True,
            "openWorldHint": False,
            "title": "Search the catalogue",
            "destructiveHint": "yes",
            "unknownHint": True,
        },
    }
    annotations = only_tool(compile_paths({"/search": {"post": operation}})).annotations

    assert annotations.read_only is True
    assert annotations.idempotent is True
    assert annotations.open_world is False
    assert annotations.destructive is False, "a non-boolean override is ignored"
    assert annotations.title == "Search the catalogue"


def test_description_joins_summary_and_description_within_the_budget() -> None:
    operation = {
        "operationId": "d",
        "summary": "Short summary",
        "description": "Long text. " * 100,
        "responses": OK,
    }
    limits = CompileLimits(max_description_chars=200)
    description = only_tool(compile_paths({"/d": {"get": operation}}, limits=limits)).description

    assert description.startswith("Short summary\n\nLong text.")
    assert len(description) == 200
    assert description.endswith("…")


def test_description_falls_back_to_method_and_path() -> None:
    tool = only_tool(compile_paths({"/things/{id}": {"delete": {"operationId": "zap", "responses": OK}}}))

    assert tool.description == "DELETE /things/{id}"


# --- servers and security ---------------------------------------------------------------------


def test_server_variables_resolve_to_their_defaults() -> None:
    servers = [
        {
            "url": "https://{region}.api.example.com/{version}",
            "variables": {"region": {"default": "eu", "enum": ["eu", "us"]}, "version": {"default": "v2"}},
        }
    ]
    compiled = compile_paths({"/x": {"get": {"operationId": "x", "responses": OK}}}, servers=servers)

    assert compiled.servers == ["https://eu.api.example.com/v2"]
    assert only_tool(compiled).server_url == "https://eu.api.example.com/v2"


def test_multiple_servers_are_reported_and_the_first_is_used() -> None:
    servers = [{"url": "https://api.example.com"}, {"url": "https://sandbox.example.com"}]
    compiled = compile_paths({"/x": {"get": {"operationId": "x", "responses": OK}}}, servers=servers)

    assert compiled.servers == ["https://api.example.com", "https://sandbox.example.com"]
    assert only_tool(compiled).server_url == "https://api.example.com"
    assert findings_with(compiled, "SERVERS_MULTIPLE") == [("info", "/servers")]


def test_operation_and_path_servers_override_document_servers() -> None:
    paths = {
        "/a": {
            "servers": [{"url": "https://path.example.com"}],
            "get": {"operationId": "a", "responses": OK},
        },
        "/b": {
            "servers": [{"url": "https://path.example.com"}],
            "get": {"operationId": "b", "responses": OK, "servers": [{"url": "https://op.example.com"}]},
        },
        "/c": {"get": {"operationId": "c", "responses": OK}},
    }
    compiled = compile_paths(paths, servers=[{"url": "https://doc.example.com"}])

    assert {t.name: t.server_url for t in compiled.tools} == {
        "a": "https://path.example.com",
        "b": "https://op.example.com",
        "c": "https://doc.example.com",
    }


def test_relative_server_is_kept_as_given_and_absent_servers_leave_no_url() -> None:
    relative = compile_paths(
        {"/x": {"get": {"operationId": "x", "responses": OK}}}, servers=[{"url": "/api/v1"}]
    )
    absent = compile_paths({"/x": {"get": {"operationId": "x", "responses": OK}}})

    assert only_tool(relative).server_url == "/api/v1"
    assert relative.servers == ["/api/v1"]
    assert only_tool(absent).server_url is None
    assert absent.servers == []


SECURITY_SCHEMES = {
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
    "bearer": {"type": "http", "scheme": "Bearer"},
    "oauth": {
        "type": "oauth2",
        "flows": {
            "clientCredentials": {
                "tokenUrl": "https://auth.example.com/token",
                "scopes": {"read": "Read", "write": "Write"},
            }
        },
    },
}


def test_security_keeps_its_and_or_structure() -> None:
    operation = {
        "operationId": "s",
        "responses": OK,
        "security": [{"apiKey": [], "oauth": ["read"]}, {"bearer": []}],
    }
    tool = only_tool(compile_paths({"/s": {"get": operation}}, {"securitySchemes": SECURITY_SCHEMES}))

    assert tool.security == [{"apiKey": [], "oauth": ["read"]}, {"bearer": []}]
    assert set(tool.security_schemes) == {"apiKey", "oauth", "bearer"}
    assert tool.security_schemes["bearer"].scheme == "bearer"
    oauth = tool.security_schemes["oauth"]
    assert (oauth.type, oauth.token_url, oauth.flows, oauth.scopes) == (
        SecuritySchemeType.OAUTH2,
        "https://auth.example.com/token",
        ["clientCredentials"],
        ["read", "write"],
    )
    api_key = tool.security_schemes["apiKey"]
    assert (api_key.location, api_key.parameter_name) == ("header", "X-Api-Key")


def test_alternative_naming_an_unknown_scheme_is_dropped_with_one_finding() -> None:
    operation = {"operationId": "s", "responses": OK, "security": [{"ghost": []}, {"bearer": []}]}
    compiled = compile_paths({"/s": {"get": operation}}, {"securitySchemes": SECURITY_SCHEMES})
    tool = only_tool(compiled)

    assert tool.security == [{"bearer": []}]
    assert list(tool.security_schemes) == ["bearer"]
    assert findings_with(compiled, "SECURITY_SCHEME_UNKNOWN") == [("warning", "/paths/~1s/get")]


def test_document_security_applies_unless_the_operation_opts_out() -> None:
    paths = {
        "/private": {"get": {"operationId": "private", "responses": OK}},
        "/public": {"get": {"operationId": "public", "responses": OK, "security": []}},
    }
    compiled = compile_paths(paths, {"securitySchemes": SECURITY_SCHEMES}, security=[{"bearer": []}])

    assert tool_named(compiled, "private").security == [{"bearer": []}]
    assert tool_named(compiled, "public").security == []
    assert tool_named(compiled, "public").security_schemes == {}


# --- async and idempotency --------------------------------------------------------------------


def test_callback_url_header_is_not_an_argument_and_marks_the_tool_async() -> None:
    operation = {
        "operationId": "myTool",
        "parameters": [
            {"in": "header", "name": "callbackUrl", "required": True, "schema": {"type": "string"}}
        ],
        "requestBody": json_body({"type": "object", "properties": {"query": {"type": "string"}}}),
        "responses": OK,
        "callbacks": {"callback": {"{$request.header.callbackUrl}": {"post": {"responses": OK}}}},
    }
    tool = only_tool(compile_paths({"/": {"post": operation}}))

    assert list(tool.input_schema["properties"]) == ["query"]
    assert all(b.name != "callbackUrl" for b in tool.bindings)
    assert tool.async_pattern is not None
    assert tool.async_pattern.kind == AsyncKind.CALLBACK_PARAMETER
    assert (tool.async_pattern.callback_parameter, tool.async_pattern.callback_location) == (
        "callbackUrl",
        "header",
    )
    assert tool.async_pattern.callbacks == ["callback"]


def test_callback_expression_on_a_body_field_takes_it_out_of_the_arguments() -> None:
    body = {
        "type": "object",
        "required": ["callback_url", "topic"],
        "properties": {"callback_url": {"type": "string", "format": "uri"}, "topic": {"type": "string"}},
    }
    operation = {
        "operationId": "subscribe",
        "requestBody": json_body(body),
        "responses": OK,
        "callbacks": {"onEvent": {"{$request.body#/callback_url}": {"post": {"responses": OK}}}},
    }
    tool = only_tool(compile_paths({"/subscriptions": {"post": operation}}))

    assert tool.input_schema["properties"] == {"topic": {"type": "string"}}
    assert tool.input_schema["required"] == ["topic"]
    assert tool.async_pattern is not None
    assert (tool.async_pattern.callback_parameter, tool.async_pattern.callback_location) == (
        "callback_url",
        "body",
    )
    assert tool.async_pattern.callbacks == ["onEvent"]


@pytest.mark.parametrize("header", ["Location", "Operation-Location"])
def test_accepted_response_with_a_status_header_marks_the_tool_async(header: str) -> None:
    responses = {"202": {"description": "accepted", "headers": {header: {"schema": {"type": "string"}}}}}
    tool = only_tool(compile_paths({"/jobs": {"post": {"operationId": "startJob", "responses": responses}}}))

    assert tool.async_pattern is not None
    assert (tool.async_pattern.kind, tool.async_pattern.status_header) == (
        AsyncKind.ACCEPTED_LOCATION,
        header,
    )


def test_x_toolgate_async_describes_the_status_polling() -> None:
    operation = {
        "operationId": "export",
        "responses": OK,
        "x-toolgate-async": {
            "statusOperation": "getExport",
            "statusPointer": "/state",
            "successValues": ["done"],
            "failureValues": ["failed", "cancelled"],
            "resultPointer": "/result",
        },
    }
    pattern = only_tool(compile_paths({"/exports": {"post": operation}})).async_pattern

    assert pattern is not None
    assert pattern.kind == AsyncKind.EXTENSION
    assert (pattern.status_operation, pattern.status_pointer, pattern.result_pointer) == (
        "getExport",
        "/state",
        "/result",
    )
    assert (pattern.success_values, pattern.failure_values) == (["done"], ["failed", "cancelled"])


def test_synchronous_operation_has_no_async_pattern() -> None:
    assert (
        only_tool(compile_paths({"/x": {"post": {"operationId": "x", "responses": OK}}})).async_pattern
        is None
    )


def test_idempotency_key_header_is_excluded_and_recorded() -> None:
    operation = {
        "operationId": "pay",
        "parameters": [
            {"in": "header", "name": "Idempotency-Key", "required": True, "schema": {"type": "string"}},
            {"in": "query", "name": "amount", "required": True, "schema": {"type": "integer"}},
        ],
        "responses": OK,
    }
    tool = only_tool(compile_paths({"/payments": {"post": operation}}))

    assert tool.idempotency_header == "Idempotency-Key"
    assert list(tool.input_schema["properties"]) == ["amount"]
    assert tool.input_schema["required"] == ["amount"]


# --- naming -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation_id", "expected"),
    [
        ("createSupportCase", "create_support_case"),
        ("getHTTPResponseCode", "get_http_response_code"),
        ("Create-User Repo!!", "create_user_repo"),
        ("repos/list-for-org", "repos_list_for_org"),
        ("123go", "op_123go"),
        ("already_snake", "already_snake"),
    ],
)
def test_operation_id_becomes_a_snake_case_name(operation_id: str, expected: str) -> None:
    tool = only_tool(compile_paths({"/x": {"get": {"operationId": operation_id, "responses": OK}}}))

    assert tool.name == expected
    assert tool.operation_id == operation_id


@pytest.mark.parametrize(
    ("method", "path", "operation_id", "expected"),
    [
        ("get", "/users/{userId}/repos", None, "get_users_by_user_id_repos"),
        ("delete", "/", None, "delete"),
        ("post", "/v1/things.json", "", "post_v1_things_json"),
        ("get", "/reports", "报告", "get_reports"),
    ],
)
def test_without_a_usable_operation_id_the_name_comes_from_method_and_path(
    method: str, path: str, operation_id: str | None, expected: str
) -> None:
    operation: dict[str, Any] = {"responses": OK}
    if operation_id is not None:
        operation["operationId"] = operation_id
    parameters = [{"name": "userId", "in": "path", "required": True, "schema": {"type": "string"}}]
    if "{userId}" in path:
        operation["parameters"] = parameters

    assert only_tool(compile_paths({path: {method: operation}})).name == expected


def test_overlong_operation_ids_are_cut_to_64_characters_and_stay_distinct() -> None:
    long_id = "listAllTheOrganisationMembersWithTheirRolesAndPermissions" * 3
    paths = {
        "/a": {"get": {"operationId": long_id, "responses": OK}},
        "/b": {"get": {"operationId": long_id + "Again", "responses": OK}},
    }
    names = [t.name for t in compile_paths(paths).tools]

    assert len(set(names)) == 2
    for name in names:
        assert len(name) <= 64
        assert TOOL_NAME.match(name)
        assert name.startswith("list_all_the_organisation_members")


def test_duplicate_names_get_suffixes_that_are_stable_and_independent_of_order() -> None:
    routes = [("/x", "get"), ("/x", "post"), ("/y", "get"), ("/z/{id}", "put")]

    def names_for(order: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        paths: dict[str, Any] = {}
        for path, method in order:
            operation: dict[str, Any] = {"operationId": "getThing", "responses": OK}
            if "{id}" in path:
                operation["parameters"] = [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ]
            paths.setdefault(path, {})[method] = operation
        compiled = compile_paths(paths)
        assert "SPEC_DUPLICATE_OPERATION_ID" in codes(compiled)
        return {(t.path, t.method.lower()): t.name for t in compiled.tools}

    first = names_for(routes)
    again = names_for(routes)
    reversed_order = names_for(list(reversed(routes)))

    assert first == again == reversed_order
    assert len(set(first.values())) == 4
    for name in first.values():
        assert re.fullmatch(r"get_thing_[0-9a-f]{6}", name)


def test_every_tool_name_matches_the_pattern_whatever_the_operation_id() -> None:
    operation_ids = [
        "",
        "___",
        "😀😀",
        "a.b.c",
        "x" * 300,
        "-leading",
        "9lives",
        "名前",
        "get thing",
        "get_thing",
    ]
    paths = {
        f"/p{i}": {"get": {"operationId": operation_id, "responses": OK}}
        for i, operation_id in enumerate(operation_ids)
    }
    names = [t.name for t in compile_paths(paths).tools]

    assert len(names) == len(operation_ids)
    assert len(set(names)) == len(names)
    for name in names:
        assert TOOL_NAME.match(name), name


def test_argument_names_are_sanitised_and_keep_their_http_names() -> None:
    schema = {
        "type": "object",
        "properties": {
            "first name": {"type": "string"},
            "$ref": {"type": "string"},
            "@type": {"type": "string"},
            "page[size]": {"type": "integer"},
        },
    }
    tool = only_tool(compile_paths({"/s": post(schema)}))

    assert {b.argument: b.name for b in tool.bindings} == {
        "first_name": "first name",
        "ref": "$ref",
        "type": "@type",
        "page_size": "page[size]",
    }
    for argument in tool.input_schema["properties"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", argument)


@pytest.mark.timeout(10)
def test_long_argument_names_that_clash_after_cutting_get_distinct_names() -> None:
    prefix = "x" * 80
    schema = {"type": "object", "properties": {f"{prefix}{i}": {"type": "string"} for i in range(5)}}
    tool = only_tool(compile_paths({"/long": post(schema)}))

    arguments = list(tool.input_schema["properties"])
    assert len(arguments) == 5
    assert len(set(arguments)) == 5
    assert all(len(argument) <= 64 for argument in arguments)
    assert sorted(b.name for b in tool.bindings) == sorted(schema["properties"])


# --- repairs of real-world defects ------------------------------------------------------------


def test_undeclared_path_parameter_is_inferred_as_a_required_string() -> None:
    operation = {
        "operationId": "getPart",
        "parameters": [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": OK,
    }
    compiled = compile_paths({"/items/{item_id}/parts/{part}": {"get": operation}})
    tool = only_tool(compiled)

    assert tool.input_schema["properties"] == {"item_id": {"type": "integer"}, "part": {"type": "string"}}
    assert tool.input_schema["required"] == ["item_id", "part"]
    assert ("part", ArgumentLocation.PATH) in {(b.argument, b.location) for b in tool.bindings}
    assert findings_with(compiled, "REPAIRED_UNDECLARED_PATH_PARAMETER") == [
        ("info", "/paths/~1items~1{item_id}~1parts~1{part}/get")
    ]
    assert "SPEC_UNDECLARED_PATH_PARAMETER" in codes(compiled)


def test_duplicate_operation_ids_still_yield_one_tool_each() -> None:
    paths = {
        "/a": {"get": {"operationId": "fetch", "responses": OK}},
        "/b": {"get": {"operationId": "fetch", "responses": OK}},
    }
    compiled = compile_paths(paths)

    assert len(compiled.tools) == 2
    assert {t.operation_id for t in compiled.tools} == {"fetch"}
    assert len({t.name for t in compiled.tools}) == 2
    assert "SPEC_DUPLICATE_OPERATION_ID" in codes(compiled)
    assert len(findings_with(compiled, "TOOL_NAME_DEDUPLICATED")) == 2


def test_defaults_and_examples_that_do_not_match_their_schema_are_reported_and_bad_defaults_dropped() -> None:
    parameters = [
        {"name": "count", "in": "query", "schema": {"type": "integer", "default": "ten"}},
        {
            "name": "mode",
            "in": "query",
            "schema": {"type": "string", "enum": ["a", "b"], "default": "c", "example": 5},
        },
        {"name": "fine", "in": "query", "schema": {"type": "integer", "default": 3}},
    ]
    compiled = compile_paths({"/d": {"get": {"operationId": "d", "parameters": parameters, "responses": OK}}})
    properties = only_tool(compiled).input_schema["properties"]

    assert properties["count"] == {"type": "integer"}
    assert properties["mode"] == {"type": "string", "enum": ["a", "b"]}
    assert properties["fine"] == {"type": "integer", "default": 3}
    assert {"SPEC_DEFAULT_MISMATCH", "SPEC_EXAMPLE_MISMATCH"} <= codes(compiled)
    assert {pointer for _, pointer in findings_with(compiled, "REPAIRED_DEFAULT_MISMATCH")} == {
        "/paths/~1d/get/parameters/0/schema",
        "/paths/~1d/get/parameters/1/schema",
    }


def test_type_null_in_openapi_30_is_read_as_json_null() -> None:
    schema = {
        "type": "object",
        "properties": {
            "nothing": {"type": "null"},
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    }
    compiled = compile_paths({"/n": post(schema)})
    tool = only_tool(compiled)

    assert tool.input_schema["properties"]["nothing"] == {"type": "null"}
    assert "REPAIRED_TYPE_NULL" in codes(compiled)
    assert_valid_json_schema(tool.input_schema)


def test_items_given_as_a_list_becomes_a_union() -> None:
    schema = {
        "type": "object",
        "properties": {
            "mixed": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
            "single": {"type": "array", "items": [{"type": "string"}]},
        },
    }
    compiled = compile_paths({"/i": post(schema)})
    properties = only_tool(compiled).input_schema["properties"]

    assert properties["mixed"]["items"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert properties["single"]["items"] == {"type": "string"}
    assert "REPAIRED_ITEMS_LIST" in codes(compiled)


def test_one_broken_operation_fails_alone_with_a_typed_code() -> None:
    paths = {
        "/broken": {
            "post": {
                "operationId": "broken",
                "requestBody": json_body({"$ref": "#/components/schemas/Missing"}),
                "responses": OK,
            },
            "get": {"operationId": "sibling", "responses": OK},
        },
        "/fine": {"get": {"operationId": "fine", "responses": OK}},
    }
    compiled = compile_paths(paths, {"schemas": {}})

    assert sorted(t.name for t in compiled.tools) == ["fine", "sibling"]
    assert compiled.failed_operations == ["/paths/~1broken/post"]
    errors = [f for f in compiled.findings if f.severity == "error"]
    assert [(f.code, f.pointer) for f in errors] == [("SPEC_UNRESOLVABLE_REF", "/paths/~1broken/post")]
    assert "POST /broken was skipped" in errors[0].message


def test_missing_schema_in_a_response_only_loses_the_output_schema() -> None:
    responses = {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/nowhere"}}}}
    }
    compiled = compile_paths({"/r": {"get": {"operationId": "r", "responses": responses}}})

    tool = only_tool(compiled)
    assert tool.output_schema is not None
    assert "$ref" not in json.dumps(tool.output_schema, sort_keys=True).replace("its $ref", "")
    assert findings_with(compiled, "SPEC_UNRESOLVABLE_REF")
    assert_valid_json_schema(tool.output_schema)


# --- Swagger 2.0 ------------------------------------------------------------------------------

SWAGGER_2 = {
    "swagger": "2.0",
    "info": {"title": "Pets", "version": "1"},
    "host": "pets.example.com",
    "basePath": "/v1",
    "schemes": ["https"],
    "consumes": ["application/json"],
    "produces": ["application/json"],
    "securityDefinitions": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
    "security": [{"key": []}],
    "paths": {
        "/pets": {
            "post": {
                "operationId": "addPet",
                "parameters": [
                    {"in": "body", "name": "pet", "required": True, "schema": {"$ref": "#/definitions/Pet"}}
                ],
                "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}},
            }
        },
        "/pets/{id}/photo": {
            "post": {
                "operationId": "uploadPhoto",
                "consumes": ["multipart/form-data"],
                "parameters": [
                    {"in": "path", "name": "id", "required": True, "type": "integer"},
                    {"in": "formData", "name": "file", "type": "file", "required": True},
                    {"in": "formData", "name": "note", "type": "string"},
                ],
                "responses": {"200": {"description": "ok"}},
            }
        },
    },
    "definitions": {
        "Pet": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "tag": {"type": "string"}},
        }
    },
}


def test_swagger_2_is_converted_with_a_report() -> None:
    compiled = compile_document(SWAGGER_2)

    assert compiled.source_openapi == "2.0"
    assert compiled.servers == ["https://pets.example.com/v1"]
    assert "SWAGGER2_CONVERTED" in codes(compiled)
    add_pet = tool_named(compiled, "add_pet")
    assert add_pet.input_schema["properties"] == {"name": {"type": "string"}, "tag": {"type": "string"}}
    assert add_pet.input_schema["required"] == ["name"]
    assert add_pet.body is not None
    assert add_pet.body.media_type == "application/json"
    assert add_pet.output_schema is not None
    assert add_pet.output_schema["properties"]["name"] == {"type": "string"}
    assert add_pet.security == [{"key": []}]
    assert add_pet.security_schemes["key"].parameter_name == "X-Key"
    upload = tool_named(compiled, "upload_photo")
    assert upload.body is not None
    assert upload.body.media_type == "multipart/form-data"
    assert upload.input_schema["properties"]["file"] == {"type": "string", "format": "binary"}
    assert upload.input_schema["required"] == ["id", "file"]
    assert {b.argument: b.location for b in upload.bindings} == {
        "id": ArgumentLocation.PATH,
        "file": ArgumentLocation.BODY_FIELD,
        "note": ArgumentLocation.BODY_FIELD,
    }


def test_every_compiled_schema_in_this_module_is_valid_json_schema() -> None:
    compiled = compile_paths(
        {
            "/things/{thing_id}": {"$ref": "#/components/pathItems/ThingItem"},
            "/things": {"post": {"$ref": "#/components/x-operations/CreateThing"}},
            "/pets": post({"$ref": "#/components/schemas/Pet"}, "createPet"),
            "/teams": post({"$ref": "#/components/schemas/Team"}, "createTeam"),
        },
        {**REFERENCED_COMPONENTS, "schemas": {**REFERENCED_COMPONENTS["schemas"], **SCHEMAS}},
        version="3.1.0",
    )

    assert len(compiled.tools) == 4
    for tool in compiled.tools:
        assert_valid_json_schema(tool.input_schema)
        if tool.output_schema is not None:
            assert_valid_json_schema(tool.output_schema)


def test_json_text_compiles_like_the_same_document_in_yaml() -> None:
    document = openapi({"/x": post({"type": "object", "properties": {"on": {"type": "string"}}}, "x")})
    from_json = compile_document(parse_spec(json.dumps(document).encode(), name="spec.json"))
    from_yaml = compile_document(parse_spec(yaml.safe_dump(document).encode(), name="spec.yaml"))

    assert from_json.tools == from_yaml.tools
    assert list(only_tool(from_json).input_schema["properties"]) == ["on"]


def test_external_ref_in_a_response_costs_only_the_output_schema() -> None:
    compiled = compile_document(
        {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/a": {
                    "get": {
                        "operationId": "getA",
                        "responses": {"200": {"$ref": "https://example.com/responses.json#/ok"}},
                    }
                }
            },
        }
    )
    assert [t.name for t in compiled.tools] == ["get_a"]
    assert compiled.tools[0].output_schema is None
    assert "SPEC_EXTERNAL_REF" in {f.code for f in compiled.findings}


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (
            {
                "parameters": [
                    {"name": "callbackUrl", "in": "header", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "ok"}},
            },
            "callback URL in header 'callbackUrl'",
        ),
        (
            {
                "responses": {
                    "202": {"description": "accepted", "headers": {"Operation-Location": {"schema": {}}}}
                }
            },
            "202 Accepted with the Operation-Location header",
        ),
        (
            {"x-toolgate-async": {"statusPath": "/jobs/{id}"}, "responses": {"200": {"description": "ok"}}},
            "the x-toolgate-async extension",
        ),
    ],
)
def test_each_async_pattern_detected_is_reported(operation: dict[str, Any], expected: str) -> None:
    compiled = compile_document(
        {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/export": {"post": {"operationId": "export", **operation}}},
        }
    )
    reports = [f for f in compiled.tools[0].findings if f.code == "ASYNC_DETECTED"]
    assert [r.message for r in reports] == [f"long-running operation: {expected}"]
    assert reports[0].pointer == "/paths/~1export/post"


def test_a_synchronous_operation_reports_no_async_pattern() -> None:
    compiled = compile_document(
        {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok"}}}}},
        }
    )
    assert "ASYNC_DETECTED" not in {f.code for f in compiled.findings}
