"""Golden conversions of small Swagger 2.0 documents to OpenAPI 3.0.3."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV2SpecValidator, OpenAPIV30SpecValidator
from toolgate.errors import SpecUnsupportedVersionError
from toolgate.spec.models import Finding, Severity
from toolgate.spec.swagger2 import convert_swagger2

PET = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "id": {"type": "integer", "format": "int64", "readOnly": True},
        "name": {"type": "string"},
    },
}
OK = {"200": {"description": "OK"}}


def swagger(paths: dict[str, Any], **top: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "swagger": "2.0",
        "info": {"title": "Pets", "version": "1.0"},
        "host": "api.example.com",
        "basePath": "/v1",
        "schemes": ["https"],
        "paths": paths,
    }
    document.update(top)
    return document


def convert_valid(document: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    """Convert a document that is valid Swagger 2.0 and check the result is valid OpenAPI 3.0."""
    validate(document, cls=OpenAPIV2SpecValidator)
    converted, findings = convert_swagger2(document)
    validate(converted, cls=OpenAPIV30SpecValidator)
    return converted, findings


def codes(findings: list[Finding]) -> dict[str, list[str]]:
    """Finding codes (except the summary) mapped to their pointers."""
    by_code: dict[str, list[str]] = {}
    for finding in findings:
        if finding.code != "SWAGGER2_CONVERTED":
            by_code.setdefault(finding.code, []).append(finding.pointer)
    return by_code


def parameter_in(operation: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in operation["parameters"] if p.get("name") == name)


# --- Document level -------------------------------------------------------------------------


def test_swagger_version_becomes_openapi_and_info_tags_external_docs_extensions_are_kept() -> None:
    document = swagger(
        {"/pets": {"get": {"responses": OK}, "x-path-note": 1}, "x-paths-note": {"a": 1}},
        tags=[{"name": "pets", "description": "Pets"}],
        externalDocs={"url": "https://docs.example.com"},
        **{"x-logo": {"url": "https://example.com/logo.png"}},
    )
    converted, findings = convert_valid(document)

    assert converted["openapi"] == "3.0.3"
    assert "swagger" not in converted
    assert converted["info"] == document["info"]
    assert converted["tags"] == document["tags"]
    assert converted["externalDocs"] == document["externalDocs"]
    assert converted["x-logo"] == {"url": "https://example.com/logo.png"}
    assert converted["paths"]["x-paths-note"] == {"a": 1}
    assert converted["paths"]["/pets"]["x-path-note"] == 1
    summary = findings[0]
    assert (summary.code, summary.severity, summary.pointer) == ("SWAGGER2_CONVERTED", Severity.INFO, "")
    assert "1 operations" in summary.message


def test_document_that_is_not_swagger_2_is_refused_with_a_typed_error() -> None:
    with pytest.raises(SpecUnsupportedVersionError) as raised:
        convert_swagger2({"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {}})
    assert raised.value.pointer == "/swagger"


def test_input_document_is_left_unchanged() -> None:
    document = swagger(
        {
            "/pets": {
                "post": {
                    "consumes": ["multipart/form-data"],
                    "parameters": [
                        {"in": "formData", "name": "photo", "type": "file"},
                        {"in": "query", "name": "tags", "type": "array", "items": {"type": "string"}},
                    ],
                    "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/Pet"}}},
                }
            }
        },
        definitions={"Pet": {**PET, "x-nullable": True, "discriminator": "name"}},
    )
    before = copy.deepcopy(document)
    convert_swagger2(document)
    assert document == before


def test_keys_outside_swagger_2_are_dropped_and_reported() -> None:
    document = swagger(
        {"/pets": {"get": {"responses": OK, "callbacks": {}}, "servers": []}},
        webhooks={},
    )
    converted, findings = convert_swagger2(document)

    assert "webhooks" not in converted
    assert "callbacks" not in converted["paths"]["/pets"]["get"]
    assert "servers" not in converted["paths"]["/pets"]
    assert sorted(codes(findings)["SWAGGER2_FIELD_DROPPED"]) == [
        "/paths/~1pets/get/callbacks",
        "/paths/~1pets/servers",
        "/webhooks",
    ]


def test_operation_without_operation_id_stays_without_one() -> None:
    converted, _ = convert_valid(swagger({"/pets": {"get": {"responses": OK}}}))
    assert "operationId" not in converted["paths"]["/pets"]["get"]


# --- Servers --------------------------------------------------------------------------------


def test_each_scheme_becomes_a_server_with_https_first() -> None:
    document = swagger({"/pets": {"get": {"responses": OK}}}, schemes=["http", "https"])
    converted, findings = convert_valid(document)

    assert converted["servers"] == [
        {"url": "https://api.example.com/v1"},
        {"url": "http://api.example.com/v1"},
    ]
    assert codes(findings)["SWAGGER2_MULTIPLE_SCHEMES"] == ["/schemes"]


def test_missing_host_gives_a_relative_base_path_server_and_a_warning() -> None:
    document = swagger({"/pets": {"get": {"responses": OK}}}, basePath="/api/v2/")
    del document["host"]
    converted, findings = convert_valid(document)

    assert converted["servers"] == [{"url": "/api/v2"}]
    warning = next(f for f in findings if f.code == "SWAGGER2_NO_HOST")
    assert (warning.severity, warning.pointer) == (Severity.WARNING, "/host")


def test_missing_host_and_base_path_give_the_root_server() -> None:
    document = swagger({"/pets": {"get": {"responses": OK}}})
    del document["host"], document["basePath"]
    converted, _ = convert_valid(document)
    assert converted["servers"] == [{"url": "/"}]


def test_missing_schemes_assume_https_and_say_so() -> None:
    document = swagger({"/pets": {"get": {"responses": OK}}}, basePath="/")
    del document["schemes"]
    converted, findings = convert_valid(document)

    assert converted["servers"] == [{"url": "https://api.example.com"}]
    assert codes(findings)["SWAGGER2_SCHEME_ASSUMED"] == ["/schemes"]


def test_operation_schemes_that_differ_from_the_document_give_operation_servers() -> None:
    document = swagger(
        {
            "/pets": {
                "get": {"responses": OK, "schemes": ["http"]},
                "put": {"responses": OK, "schemes": ["https"]},
            }
        }
    )
    converted, _ = convert_valid(document)

    assert converted["paths"]["/pets"]["get"]["servers"] == [{"url": "http://api.example.com/v1"}]
    assert "servers" not in converted["paths"]["/pets"]["put"]


# --- Body parameters ------------------------------------------------------------------------


def test_body_parameter_becomes_a_request_body_for_each_consumed_media_type() -> None:
    document = swagger(
        {
            "/pets": {
                "post": {
                    "consumes": ["application/json", "application/xml"],
                    "parameters": [
                        {
                            "in": "body",
                            "name": "pet",
                            "description": "The pet to add",
                            "required": True,
                            "schema": {"$ref": "#/definitions/Pet"},
                            "x-example-id": 7,
                        }
                    ],
                    "responses": OK,
                }
            }
        },
        consumes=["text/plain"],
        definitions={"Pet": PET},
    )
    converted, _ = convert_valid(document)

    operation = converted["paths"]["/pets"]["post"]
    assert "parameters" not in operation
    assert operation["requestBody"] == {
        "description": "The pet to add",
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}},
            "application/xml": {"schema": {"$ref": "#/components/schemas/Pet"}},
        },
        "x-codegen-request-body-name": "pet",
        "x-example-id": 7,
    }


def test_body_parameter_uses_global_consumes_then_json() -> None:
    body = {"in": "body", "name": "pet", "schema": {"type": "object"}}
    with_global = swagger({"/pets": {"post": {"parameters": [body], "responses": OK}}}, consumes=["text/csv"])
    without = swagger({"/pets": {"post": {"parameters": [body], "responses": OK}}})

    global_body = convert_valid(with_global)[0]["paths"]["/pets"]["post"]["requestBody"]
    default_body = convert_valid(without)[0]["paths"]["/pets"]["post"]["requestBody"]
    assert list(global_body["content"]) == ["text/csv"]
    assert list(default_body["content"]) == ["application/json"]
    assert "required" not in default_body


def test_reference_to_a_global_body_parameter_becomes_a_request_body_with_each_operations_consumes() -> None:
    document = swagger(
        {
            "/pets/{id}": {
                "parameters": [{"$ref": "#/parameters/id"}],
                "patch": {
                    "consumes": ["application/merge-patch+json"],
                    "parameters": [{"$ref": "#/parameters/body-patch"}, {"$ref": "#/parameters/pretty"}],
                    "responses": OK,
                },
                "put": {"parameters": [{"$ref": "#/parameters/body-patch"}], "responses": OK},
            }
        },
        consumes=["application/json"],
        definitions={"Patch": {"type": "object"}},
        parameters={
            "body-patch": {
                "in": "body",
                "name": "body",
                "required": True,
                "schema": {"$ref": "#/definitions/Patch"},
            },
            "pretty": {"in": "query", "name": "pretty", "type": "boolean"},
            "id": {"in": "path", "name": "id", "required": True, "type": "string"},
        },
    )
    converted, _ = convert_valid(document)

    item = converted["paths"]["/pets/{id}"]
    assert item["parameters"] == [{"$ref": "#/components/parameters/id"}]
    patch, put = item["patch"], item["put"]
    assert patch["requestBody"]["required"] is True
    assert patch["requestBody"]["content"] == {
        "application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/Patch"}}
    }
    assert put["requestBody"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Patch"}}
    }
    assert patch["parameters"] == [{"$ref": "#/components/parameters/pretty"}]
    assert "parameters" not in put
    assert set(converted["components"]["parameters"]) == {"pretty", "id"}
    assert converted["components"]["parameters"]["pretty"]["schema"] == {"type": "boolean"}


def test_path_level_body_parameter_moves_into_each_operation_and_operations_override_it() -> None:
    document = swagger(
        {
            "/pets": {
                "parameters": [
                    {"in": "body", "name": "pet", "schema": {"type": "object"}},
                    {"in": "header", "name": "X-Trace", "type": "string"},
                ],
                "post": {"responses": OK},
                "put": {
                    "parameters": [{"in": "body", "name": "pets", "schema": {"type": "array"}}],
                    "responses": OK,
                },
            }
        }
    )
    converted, _ = convert_swagger2(document)

    item = converted["paths"]["/pets"]
    assert item["parameters"] == [{"in": "header", "name": "X-Trace", "schema": {"type": "string"}}]
    assert item["post"]["requestBody"]["content"]["application/json"]["schema"] == {"type": "object"}
    assert item["put"]["requestBody"]["content"]["application/json"]["schema"] == {"type": "array"}


def test_body_and_form_parameters_together_keep_the_body_and_report_the_form() -> None:
    document = swagger(
        {
            "/pets": {
                "post": {
                    "parameters": [
                        {"in": "formData", "name": "name", "type": "string"},
                        {"in": "body", "name": "pet", "schema": {"type": "object"}},
                    ],
                    "responses": OK,
                }
            }
        }
    )
    converted, findings = convert_swagger2(document)

    assert list(converted["paths"]["/pets"]["post"]["requestBody"]["content"]) == ["application/json"]
    assert codes(findings)["SWAGGER2_BODY_AND_FORMDATA"] == ["/paths/~1pets/post"]


# --- Form parameters ------------------------------------------------------------------------


def test_form_parameters_become_a_urlencoded_body_with_required_fields_and_descriptions() -> None:
    document = swagger(
        {
            "/pets/{id}": {
                "post": {
                    "consumes": ["application/x-www-form-urlencoded"],
                    "parameters": [
                        {"in": "path", "name": "id", "required": True, "type": "integer"},
                        {
                            "in": "formData",
                            "name": "name",
                            "required": True,
                            "type": "string",
                            "description": "Name",
                        },
                        {
                            "in": "formData",
                            "name": "status",
                            "type": "string",
                            "enum": ["available", "sold"],
                            "default": "available",
                            "x-display": "Status",
                        },
                    ],
                    "responses": OK,
                }
            }
        }
    )
    converted, findings = convert_valid(document)

    operation = converted["paths"]["/pets/{id}"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["id"]
    assert operation["requestBody"] == {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "description": "Name"},
                        "status": {
                            "type": "string",
                            "enum": ["available", "sold"],
                            "default": "available",
                            "x-display": "Status",
                        },
                    },
                    "required": ["name"],
                }
            }
        },
        "required": True,
    }
    assert "SWAGGER2_FORMDATA_FILE" not in codes(findings)


def test_file_parameter_makes_a_multipart_body_with_a_binary_string() -> None:
    document = swagger(
        {
            "/pets/{id}/photo": {
                "post": {
                    "consumes": ["multipart/form-data"],
                    "parameters": [
                        {"in": "path", "name": "id", "required": True, "type": "integer"},
                        {"in": "formData", "name": "caption", "type": "string"},
                        {
                            "in": "formData",
                            "name": "photo",
                            "type": "file",
                            "required": True,
                            "description": "JPEG",
                        },
                    ],
                    "responses": OK,
                }
            }
        }
    )
    converted, findings = convert_valid(document)

    content = converted["paths"]["/pets/{id}/photo"]["post"]["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    schema = content["multipart/form-data"]["schema"]
    assert schema["properties"]["photo"] == {"type": "string", "format": "binary", "description": "JPEG"}
    assert schema["required"] == ["photo"]
    file_finding = next(f for f in findings if f.code == "SWAGGER2_FORMDATA_FILE")
    assert (file_finding.severity, file_finding.pointer) == (
        Severity.INFO,
        "/paths/~1pets~1{id}~1photo/post/parameters/2",
    )


def test_file_parameter_without_multipart_in_consumes_still_makes_multipart_and_warns() -> None:
    document = swagger(
        {
            "/upload": {
                "post": {
                    "consumes": ["application/x-www-form-urlencoded"],
                    "parameters": [{"in": "formData", "name": "file", "type": "file"}],
                    "responses": OK,
                }
            }
        }
    )
    converted, findings = convert_swagger2(document)

    assert list(converted["paths"]["/upload"]["post"]["requestBody"]["content"]) == ["multipart/form-data"]
    warning = next(f for f in findings if f.code == "SWAGGER2_FORMDATA_FILE")
    assert warning.severity == Severity.WARNING


def test_form_parameters_drop_non_form_media_types_and_report_them() -> None:
    document = swagger(
        {
            "/chat.post": {
                "post": {
                    "consumes": ["application/x-www-form-urlencoded", "application/json"],
                    "parameters": [{"in": "formData", "name": "text", "type": "string"}],
                    "responses": OK,
                }
            }
        }
    )
    converted, findings = convert_swagger2(document)

    assert list(converted["paths"]["/chat.post"]["post"]["requestBody"]["content"]) == [
        "application/x-www-form-urlencoded"
    ]
    assert codes(findings)["SWAGGER2_FORMDATA_MEDIA_TYPE_DROPPED"] == ["/paths/~1chat.post/post/consumes"]


def test_form_array_collection_formats_become_urlencoded_encoding() -> None:
    document = swagger(
        {
            "/pets": {
                "post": {
                    "parameters": [
                        {"in": "formData", "name": "tags", "type": "array", "items": {"type": "string"}},
                        {
                            "in": "formData",
                            "name": "ids",
                            "type": "array",
                            "items": {"type": "integer"},
                            "collectionFormat": "multi",
                        },
                        {
                            "in": "formData",
                            "name": "words",
                            "type": "array",
                            "items": {"type": "string"},
                            "collectionFormat": "pipes",
                        },
                    ],
                    "responses": OK,
                }
            }
        }
    )
    converted, _ = convert_valid(document)

    media = converted["paths"]["/pets"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert media["encoding"] == {
        "tags": {"style": "form", "explode": False},
        "ids": {"style": "form", "explode": True},
        "words": {"style": "pipeDelimited", "explode": False},
    }
    assert media["schema"]["properties"]["ids"] == {"type": "array", "items": {"type": "integer"}}


def test_multipart_array_with_comma_format_is_reported() -> None:
    document = swagger(
        {
            "/pets": {
                "post": {
                    "consumes": ["multipart/form-data"],
                    "parameters": [
                        {"in": "formData", "name": "tags", "type": "array", "items": {"type": "string"}}
                    ],
                    "responses": OK,
                }
            }
        }
    )
    converted, findings = convert_valid(document)

    assert (
        "encoding" not in converted["paths"]["/pets"]["post"]["requestBody"]["content"]["multipart/form-data"]
    )
    assert codes(findings)["SWAGGER2_MULTIPART_COLLECTION_FORMAT"] == [
        "/paths/~1pets/post/parameters/0/collectionFormat"
    ]


def test_reference_to_a_global_form_parameter_is_inlined_into_the_form_body() -> None:
    document = swagger(
        {"/pets": {"post": {"parameters": [{"$ref": "#/parameters/name"}], "responses": OK}}},
        parameters={"name": {"in": "formData", "name": "name", "type": "string", "required": True}},
    )
    converted, _ = convert_valid(document)

    schema = converted["paths"]["/pets"]["post"]["requestBody"]["content"][
        "application/x-www-form-urlencoded"
    ]
    assert schema["schema"]["required"] == ["name"]
    assert "components" not in converted


# --- Non-body parameters --------------------------------------------------------------------


def test_value_keywords_move_into_the_parameter_schema() -> None:
    document = swagger(
        {
            "/pets": {
                "get": {
                    "parameters": [
                        {
                            "in": "query",
                            "name": "limit",
                            "description": "Page size",
                            "type": "integer",
                            "format": "int32",
                            "minimum": 1,
                            "maximum": 100,
                            "exclusiveMaximum": True,
                            "default": 20,
                            "multipleOf": 1,
                            "allowEmptyValue": True,
                            "x-go-name": "Limit",
                        },
                        {
                            "in": "query",
                            "name": "name",
                            "type": "string",
                            "pattern": "^[a-z]+$",
                            "minLength": 1,
                            "maxLength": 9,
                            "enum": ["rex", "tom"],
                        },
                    ],
                    "responses": OK,
                }
            }
        }
    )
    converted, _ = convert_valid(document)

    operation = converted["paths"]["/pets"]["get"]
    assert parameter_in(operation, "limit") == {
        "in": "query",
        "name": "limit",
        "description": "Page size",
        "allowEmptyValue": True,
        "x-go-name": "Limit",
        "schema": {
            "type": "integer",
            "format": "int32",
            "minimum": 1,
            "maximum": 100,
            "exclusiveMaximum": True,
            "default": 20,
            "multipleOf": 1,
        },
    }
    assert parameter_in(operation, "name")["schema"] == {
        "type": "string",
        "pattern": "^[a-z]+$",
        "minLength": 1,
        "maxLength": 9,
        "enum": ["rex", "tom"],
    }


@pytest.mark.parametrize(
    ("location", "collection_format", "style", "explode"),
    [
        ("query", None, "form", False),
        ("query", "csv", "form", False),
        ("query", "ssv", "spaceDelimited", False),
        ("query", "pipes", "pipeDelimited", False),
        ("query", "multi", "form", True),
        ("path", "csv", "simple", False),
        ("path", None, "simple", False),
        ("header", "csv", "simple", False),
    ],
)
def test_collection_format_maps_to_style_and_explode(
    location: str, collection_format: str | None, style: str, explode: bool
) -> None:
    parameter: dict[str, Any] = {
        "in": location,
        "name": "ids",
        "type": "array",
        "items": {"type": "integer", "minimum": 0},
        "minItems": 1,
    }
    if location == "path":
        parameter["required"] = True
    if collection_format is not None:
        parameter["collectionFormat"] = collection_format
    converted, findings = convert_valid(
        swagger({"/pets/{ids}": {"get": {"parameters": [parameter], "responses": OK}}})
        if location == "path"
        else swagger({"/pets": {"get": {"parameters": [parameter], "responses": OK}}})
    )

    operation = next(iter(converted["paths"].values()))["get"]
    converted_parameter = parameter_in(operation, "ids")
    assert (converted_parameter["style"], converted_parameter["explode"]) == (style, explode)
    assert converted_parameter["schema"] == {
        "type": "array",
        "items": {"type": "integer", "minimum": 0},
        "minItems": 1,
    }
    assert codes(findings) == {}


def test_tsv_has_no_equivalent_and_falls_back_to_comma_separated_with_a_warning() -> None:
    parameter = {
        "in": "query",
        "name": "ids",
        "type": "array",
        "items": {"type": "string"},
        "collectionFormat": "tsv",
    }
    converted, findings = convert_valid(
        swagger({"/pets": {"get": {"parameters": [parameter], "responses": OK}}})
    )

    converted_parameter = converted["paths"]["/pets"]["get"]["parameters"][0]
    assert (converted_parameter["style"], converted_parameter["explode"]) == ("form", False)
    finding = next(f for f in findings if f.code == "SWAGGER2_COLLECTION_FORMAT_TSV")
    assert (finding.severity, finding.pointer) == (
        Severity.WARNING,
        "/paths/~1pets/get/parameters/0/collectionFormat",
    )


def test_multi_on_a_header_is_reported_and_sent_comma_separated() -> None:
    parameter = {
        "in": "header",
        "name": "X-Ids",
        "type": "array",
        "items": {"type": "string"},
        "collectionFormat": "multi",
    }
    converted, findings = convert_swagger2(
        swagger({"/pets": {"get": {"parameters": [parameter], "responses": OK}}})
    )

    converted_parameter = converted["paths"]["/pets"]["get"]["parameters"][0]
    assert (converted_parameter["style"], converted_parameter["explode"]) == ("simple", False)
    assert codes(findings)["SWAGGER2_COLLECTION_FORMAT_MULTI"] == [
        "/paths/~1pets/get/parameters/0/collectionFormat"
    ]


def test_space_delimited_on_a_path_parameter_is_reported_as_unsupported() -> None:
    parameter = {
        "in": "path",
        "name": "ids",
        "required": True,
        "type": "array",
        "items": {"type": "string"},
        "collectionFormat": "ssv",
    }
    converted, findings = convert_valid(
        swagger({"/pets/{ids}": {"get": {"parameters": [parameter], "responses": OK}}})
    )

    assert converted["paths"]["/pets/{ids}"]["get"]["parameters"][0]["style"] == "simple"
    assert "SWAGGER2_COLLECTION_FORMAT_UNSUPPORTED" in codes(findings)


def test_nested_array_collection_format_is_dropped_and_reported() -> None:
    parameter = {
        "in": "query",
        "name": "grid",
        "type": "array",
        "collectionFormat": "pipes",
        "items": {"type": "array", "collectionFormat": "csv", "items": {"type": "integer"}},
    }
    converted, findings = convert_valid(
        swagger({"/grid": {"get": {"parameters": [parameter], "responses": OK}}})
    )

    schema = converted["paths"]["/grid"]["get"]["parameters"][0]["schema"]
    assert schema == {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
    assert codes(findings)["SWAGGER2_NESTED_COLLECTION_FORMAT"] == [
        "/paths/~1grid/get/parameters/0/items/collectionFormat"
    ]


# --- References and components --------------------------------------------------------------


def test_definitions_become_component_schemas_and_every_ref_is_rewritten() -> None:
    document = swagger(
        {
            "/pets": {
                "get": {
                    "parameters": [{"$ref": "#/parameters/limit"}],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "schema": {"type": "array", "items": {"$ref": "#/definitions/Pet"}},
                        },
                        "default": {"$ref": "#/responses/Error"},
                    },
                }
            }
        },
        definitions={
            "Pet": PET,
            "Dog": {"allOf": [{"$ref": "#/definitions/Pet"}, {"properties": {"bark": {"type": "boolean"}}}]},
            "Kennel": {
                "type": "object",
                "properties": {"dogs": {"type": "array", "items": {"$ref": "#/definitions/Dog"}}},
                "additionalProperties": {"$ref": "#/definitions/Pet/properties/name"},
            },
            "Error": {"type": "object", "properties": {"message": {"type": "string"}}},
        },
        parameters={"limit": {"in": "query", "name": "limit", "type": "integer"}},
        responses={"Error": {"description": "Error", "schema": {"$ref": "#/definitions/Error"}}},
    )
    converted, _ = convert_valid(document)

    schemas = converted["components"]["schemas"]
    assert schemas["Dog"]["allOf"][0] == {"$ref": "#/components/schemas/Pet"}
    assert schemas["Kennel"]["properties"]["dogs"]["items"] == {"$ref": "#/components/schemas/Dog"}
    assert schemas["Kennel"]["additionalProperties"] == {"$ref": "#/components/schemas/Pet/properties/name"}
    operation = converted["paths"]["/pets"]["get"]
    assert operation["parameters"] == [{"$ref": "#/components/parameters/limit"}]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/Pet"
    }
    assert operation["responses"]["default"] == {"$ref": "#/components/responses/Error"}
    assert converted["components"]["responses"]["Error"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert "#/definitions/" not in json.dumps(converted)


def test_a_property_named_ref_is_a_schema_not_a_reference() -> None:
    document = swagger(
        {
            "/props": {
                "get": {
                    "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/Props"}}}
                }
            }
        },
        definitions={
            "Props": {
                "type": "object",
                "properties": {
                    "$ref": {"type": "string", "description": "A JSON reference"},
                    "$schema": {"type": "string"},
                    "ref": {"$ref": "#/definitions/Other"},
                },
                "required": ["$ref"],
                "example": {"$ref": "#/definitions/Other"},
            },
            "Other": {"type": "string"},
        },
    )
    converted, _ = convert_valid(document)

    props = converted["components"]["schemas"]["Props"]
    assert props["properties"]["$ref"] == {"type": "string", "description": "A JSON reference"}
    assert props["properties"]["ref"] == {"$ref": "#/components/schemas/Other"}
    assert props["required"] == ["$ref"]
    # Examples are data: a `$ref` key inside one is not a reference either.
    assert props["example"] == {"$ref": "#/definitions/Other"}


def test_invalid_component_names_are_renamed_and_references_follow() -> None:
    document = swagger(
        {
            "/pets": {
                "get": {
                    "parameters": [{"$ref": "#/parameters/trait:paging:limit"}],
                    "responses": {
                        "200": {"description": "OK", "schema": {"$ref": "#/definitions/Pet%20List"}}
                    },
                    "security": [{"api key": []}],
                }
            }
        },
        definitions={
            "Pet List": {"type": "array", "items": {"type": "string"}},
            "Pet_List": {"type": "string"},
        },
        parameters={"trait:paging:limit": {"in": "query", "name": "limit", "type": "integer"}},
        securityDefinitions={"api key": {"type": "apiKey", "name": "X-Key", "in": "header"}},
    )
    converted, findings = convert_valid(document)

    components = converted["components"]
    assert set(components["schemas"]) == {"Pet_List", "Pet_List_2"}
    assert components["schemas"]["Pet_List_2"] == {"type": "array", "items": {"type": "string"}}
    operation = converted["paths"]["/pets"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Pet_List_2"
    }
    assert operation["parameters"] == [{"$ref": "#/components/parameters/trait_paging_limit"}]
    assert operation["security"] == [{"api_key": []}]
    assert set(components["securitySchemes"]) == {"api_key"}
    assert sorted(codes(findings)["SWAGGER2_COMPONENT_RENAMED"]) == [
        "/definitions/Pet List",
        "/parameters/trait:paging:limit",
        "/securityDefinitions/api key",
    ]


# --- Responses ------------------------------------------------------------------------------


def test_response_schema_examples_and_headers_are_mapped_per_produced_media_type() -> None:
    document = swagger(
        {
            "/pets": {
                "get": {
                    "produces": ["application/json", "application/xml"],
                    "responses": {
                        "200": {
                            "description": "Pets",
                            "schema": {"type": "array", "items": {"type": "string"}},
                            "examples": {"application/json": ["rex"], "text/csv": "rex"},
                            "headers": {
                                "X-Rate-Limit": {
                                    "type": "integer",
                                    "format": "int32",
                                    "description": "Calls left",
                                },
                                "X-Tags": {"type": "array", "items": {"type": "string"}},
                            },
                            "x-cache": "no",
                        },
                        "204": {"description": "Nothing"},
                    },
                }
            }
        }
    )
    converted, _ = convert_valid(document)

    responses = converted["paths"]["/pets"]["get"]["responses"]
    schema = {"type": "array", "items": {"type": "string"}}
    assert responses["200"]["content"] == {
        "application/json": {"schema": schema, "example": ["rex"]},
        "application/xml": {"schema": schema},
        "text/csv": {"schema": schema, "example": "rex"},
    }
    assert responses["200"]["headers"] == {
        "X-Rate-Limit": {"description": "Calls left", "schema": {"type": "integer", "format": "int32"}},
        "X-Tags": {
            "schema": {"type": "array", "items": {"type": "string"}},
            "style": "simple",
            "explode": False,
        },
    }
    assert responses["200"]["x-cache"] == "no"
    assert responses["204"] == {"description": "Nothing"}


def test_integer_response_codes_become_strings() -> None:
    document = swagger({"/pets": {"get": {"responses": {200: {"description": "OK"}}}}})
    converted, _ = convert_swagger2(document)
    assert list(converted["paths"]["/pets"]["get"]["responses"]) == ["200"]


def test_response_without_description_gets_an_empty_one_and_a_finding() -> None:
    converted, findings = convert_swagger2(swagger({"/pets": {"get": {"responses": {"200": {}}}}}))

    assert converted["paths"]["/pets"]["get"]["responses"]["200"] == {"description": ""}
    assert codes(findings)["SWAGGER2_RESPONSE_DESCRIPTION_ADDED"] == [
        "/paths/~1pets/get/responses/200/description"
    ]


# --- Security -------------------------------------------------------------------------------


def test_security_definitions_become_security_schemes_and_requirements_are_kept() -> None:
    scopes = {"read": "Read pets", "write": "Write pets"}
    document = swagger(
        {
            "/pets": {
                "get": {"responses": OK, "security": [{"oauth_code": ["read"]}, {"basic": [], "key": []}]}
            }
        },
        security=[{"key": []}],
        securityDefinitions={
            "basic": {"type": "basic", "description": "Basic auth"},
            "key": {"type": "apiKey", "name": "api_key", "in": "query", "x-vendor": True},
            "oauth_implicit": {
                "type": "oauth2",
                "flow": "implicit",
                "authorizationUrl": "https://auth.example.com/authorize",
                "scopes": scopes,
            },
            "oauth_password": {
                "type": "oauth2",
                "flow": "password",
                "tokenUrl": "https://auth.example.com/token",
                "scopes": scopes,
            },
            "oauth_application": {
                "type": "oauth2",
                "flow": "application",
                "tokenUrl": "https://auth.example.com/token",
                "scopes": {},
            },
            "oauth_code": {
                "type": "oauth2",
                "flow": "accessCode",
                "authorizationUrl": "https://auth.example.com/authorize",
                "tokenUrl": "https://auth.example.com/token",
                "scopes": scopes,
            },
        },
    )
    converted, findings = convert_valid(document)

    schemes = converted["components"]["securitySchemes"]
    assert schemes["basic"] == {"type": "http", "scheme": "basic", "description": "Basic auth"}
    assert schemes["key"] == {"type": "apiKey", "name": "api_key", "in": "query", "x-vendor": True}
    assert schemes["oauth_implicit"]["flows"] == {
        "implicit": {"authorizationUrl": "https://auth.example.com/authorize", "scopes": scopes}
    }
    assert schemes["oauth_password"]["flows"] == {
        "password": {"tokenUrl": "https://auth.example.com/token", "scopes": scopes}
    }
    assert schemes["oauth_application"]["flows"] == {
        "clientCredentials": {"tokenUrl": "https://auth.example.com/token", "scopes": {}}
    }
    assert schemes["oauth_code"] == {
        "type": "oauth2",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": "https://auth.example.com/authorize",
                "tokenUrl": "https://auth.example.com/token",
                "scopes": scopes,
            }
        },
    }
    assert converted["security"] == [{"key": []}]
    assert converted["paths"]["/pets"]["get"]["security"] == [
        {"oauth_code": ["read"]},
        {"basic": [], "key": []},
    ]
    assert codes(findings) == {}


def test_oauth2_flow_missing_its_token_url_is_reported() -> None:
    document = swagger(
        {"/pets": {"get": {"responses": OK}}},
        securityDefinitions={
            "oauth": {
                "type": "oauth2",
                "flow": "accessCode",
                "authorizationUrl": "https://a.example.com",
                "scopes": {},
            }
        },
    )
    converted, findings = convert_swagger2(document)

    assert converted["components"]["securitySchemes"]["oauth"]["flows"]["authorizationCode"] == {
        "authorizationUrl": "https://a.example.com",
        "scopes": {},
    }
    assert codes(findings)["SWAGGER2_OAUTH2_URL_MISSING"] == ["/securityDefinitions/oauth/tokenUrl"]


def test_unknown_security_scheme_type_is_dropped_and_reported() -> None:
    document = swagger(
        {"/pets": {"get": {"responses": OK}}},
        securityDefinitions={
            "mtls": {"type": "mutualTLS"},
            "key": {"type": "apiKey", "name": "k", "in": "header"},
        },
    )
    converted, findings = convert_swagger2(document)

    assert set(converted["components"]["securitySchemes"]) == {"key"}
    assert codes(findings)["SWAGGER2_SECURITY_SCHEME_UNSUPPORTED"] == ["/securityDefinitions/mtls/type"]


# --- Schema quirks --------------------------------------------------------------------------


def test_swagger_schema_quirks_become_openapi_3_keywords() -> None:
    document = swagger(
        {
            "/pets": {
                "get": {"responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/Pet"}}}}
            },
            "/pets/photo": {
                "get": {
                    "produces": ["image/png"],
                    "responses": {"200": {"description": "A photo", "schema": {"type": "file"}}},
                }
            },
        },
        definitions={
            "Pet": {
                "type": "object",
                "discriminator": "petType",
                "required": ["petType"],
                "properties": {
                    "petType": {"type": "string"},
                    "nickname": {"type": "string", "x-nullable": True},
                    "id": {"type": "integer", "readOnly": True},
                },
            },
            "Cat": {"allOf": [{"$ref": "#/definitions/Pet"}, {"type": "object", "x-nullable": False}]},
        },
    )
    # openapi-spec-validator rejects the Swagger 2.0 file response schema, so only the output is validated.
    converted, _ = convert_swagger2(document)
    validate(converted, cls=OpenAPIV30SpecValidator)

    pet = converted["components"]["schemas"]["Pet"]
    assert pet["discriminator"] == {"propertyName": "petType"}
    assert pet["properties"]["nickname"] == {"type": "string", "nullable": True}
    assert pet["properties"]["id"] == {"type": "integer", "readOnly": True}
    photo = converted["paths"]["/pets/photo"]["get"]["responses"]["200"]["content"]
    assert photo == {"image/png": {"schema": {"type": "string", "format": "binary"}}}
    assert converted["components"]["schemas"]["Cat"]["allOf"][1] == {"type": "object", "nullable": False}


def test_type_arrays_become_nullable_and_any_of_with_a_finding() -> None:
    document = swagger(
        {"/pets": {"get": {"responses": OK}}},
        definitions={
            "Maybe": {"type": ["string", "null"], "maxLength": 3},
            "Either": {"type": ["object", "array", "null"]},
        },
    )
    converted, findings = convert_swagger2(document)

    schemas = converted["components"]["schemas"]
    assert schemas["Maybe"] == {"maxLength": 3, "nullable": True, "type": "string"}
    assert schemas["Either"] == {"nullable": True, "anyOf": [{"type": "object"}, {"type": "array"}]}
    assert sorted(codes(findings)["SWAGGER2_TYPE_ARRAY"]) == [
        "/definitions/Either/type",
        "/definitions/Maybe/type",
    ]
    validate(converted, cls=OpenAPIV30SpecValidator)


def test_schemas_without_anything_to_convert_are_shared_not_copied() -> None:
    plain = {"type": "object", "properties": {"name": {"type": "string"}}}
    document = swagger(
        {"/pets": {"get": {"responses": {"200": {"description": "OK", "schema": plain}}}}},
        definitions={"Plain": plain},
    )
    converted, _ = convert_swagger2(document)

    assert converted["components"]["schemas"]["Plain"] is plain
    assert (
        converted["paths"]["/pets"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        is plain
    )
