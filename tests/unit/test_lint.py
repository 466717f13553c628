"""Agent-readiness lint: each rule fires on a spec that has the problem and stays quiet on a near-identical
spec that does not. Tools are built by hand, so all but one end-to-end test run without the compiler."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from toolgate.spec.lint import LINT_RULES, LintLimits, format_findings, lint_spec
from toolgate.spec.models import (
    CanonicalTool,
    CompiledSpec,
    Finding,
    SecurityScheme,
    SecuritySchemeType,
    Severity,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lint-rules.md"

Mutation = Callable[[dict[str, Any], dict[str, Any]], None]


def operation_pointer(path: str, method: str) -> str:
    return "/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def make_tool(path: str = "/support/cases", method: str = "post", **fields: Any) -> CanonicalTool:
    """A canonical tool as the compiler would emit it, with every argument described."""
    defaults: dict[str, Any] = {
        "name": "create_support_case",
        "description": "Create support case. Open a support case for a customer.",
        "operation_id": "create_support_case",
        "method": method,
        "path": path,
        "pointer": operation_pointer(path, method),
        "server_url": "https://support.example.com/api",
        "input_schema": {
            "type": "object",
            "properties": {
                "customer_id": {"type": "string", "description": "The customer's account id."},
                "summary": {"type": "string", "description": "One line describing the problem."},
                "priority": {
                    "type": "string",
                    "enum": ["low", "medium", "high"],
                    "description": "How urgent the case is: high pages the on-call engineer.",
                },
            },
            "required": ["customer_id", "summary", "priority"],
        },
        "output_schema": {
            "type": "object",
            "properties": {"case_id": {"type": "string"}, "status": {"type": "string"}},
        },
    }
    return CanonicalTool(**{**defaults, **fields})


def clean_document() -> dict[str, Any]:
    """A Support Desk spec that satisfies every rule."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Support Desk API", "version": "1.0"},
        "servers": [{"url": "https://support.example.com/api"}],
        "paths": {
            "/support/cases": {
                "post": {
                    "operationId": "create_support_case",
                    "summary": "Create support case",
                    "description": "Open a support case for a customer; returns the new case id and status.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Req"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "Case created",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Res"}}},
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Req": {"type": "object", "properties": {"summary": {"type": "string"}}},
                "Res": {"type": "object", "properties": {"case_id": {"type": "string"}}},
            }
        },
    }


def compiled(document: dict[str, Any], tools: list[CanonicalTool], source: str | None = None) -> CompiledSpec:
    return CompiledSpec(
        title="Support Desk API",
        version="1.0",
        source_openapi=source or str(document.get("openapi", "3.0.3")),
        tools=tools,
    )


def lint(document: dict[str, Any], tools: list[CanonicalTool] | None = None, **kwargs: Any) -> list[Finding]:
    return lint_spec(document, compiled(document, [make_tool()] if tools is None else tools), **kwargs)


def codes(findings: list[Finding]) -> set[str]:
    return {finding.code for finding in findings}


def the_operation(document: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"]["/support/cases"]["post"]
    return operation


def test_clean_spec_has_no_findings() -> None:
    assert lint(clean_document()) == []


# --- Document rules: one mutation of the clean spec each ------------------------------------------------


def set_servers(servers: Any) -> Mutation:
    def mutate(document: dict[str, Any], _: dict[str, Any]) -> None:
        document["servers"] = servers

    return mutate


def drop_servers(document: dict[str, Any], _: dict[str, Any]) -> None:
    del document["servers"]


def form_request(document: dict[str, Any], _: dict[str, Any]) -> None:
    the_operation(document)["requestBody"]["content"] = {
        "application/x-www-form-urlencoded": {"schema": {"type": "object"}}
    }


def form_or_json_request(document: dict[str, Any], _: dict[str, Any]) -> None:
    the_operation(document)["requestBody"]["content"] = {
        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        "application/vnd.api+json": {"schema": {"type": "object"}},
    }


def csv_response(document: dict[str, Any], _: dict[str, Any]) -> None:
    the_operation(document)["responses"]["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}


def csv_or_json_response(document: dict[str, Any], _: dict[str, Any]) -> None:
    the_operation(document)["responses"]["200"]["content"] = {
        "text/csv": {"schema": {"type": "string"}},
        "application/json; charset=utf-8": {"schema": {"type": "object"}},
    }


def set_responses(responses: dict[str, Any]) -> Mutation:
    def mutate(document: dict[str, Any], _: dict[str, Any]) -> None:
        the_operation(document)["responses"] = responses

    return mutate


def set_operation_id(operation_id: str) -> Mutation:
    def mutate(document: dict[str, Any], _: dict[str, Any]) -> None:
        the_operation(document)["operationId"] = operation_id

    return mutate


def drop_operation_id(document: dict[str, Any], _: dict[str, Any]) -> None:
    del the_operation(document)["operationId"]


def drop_description(document: dict[str, Any], _: dict[str, Any]) -> None:
    del the_operation(document)["description"]


def set_description(text: str) -> Mutation:
    def mutate(document: dict[str, Any], _: dict[str, Any]) -> None:
        the_operation(document)["description"] = text

    return mutate


def set_version(version: str) -> Mutation:
    def mutate(document: dict[str, Any], _: dict[str, Any]) -> None:
        document["openapi"] = version

    return mutate


def callback_header(name: str) -> Mutation:
    def mutate(document: dict[str, Any], _: dict[str, Any]) -> None:
        the_operation(document)["parameters"] = [
            {"in": "header", "name": name, "required": True, "schema": {"type": "string"}}
        ]

    return mutate


def callbacks(media_type: str = "application/json") -> Mutation:
    def mutate(document: dict[str, Any], _: dict[str, Any]) -> None:
        the_operation(document)["callbacks"] = {
            "caseResolved": {
                "{$request.header.callbackUrl}": {
                    "post": {
                        "requestBody": {"content": {media_type: {"schema": {"type": "object"}}}},
                        "responses": {"200": {"description": "Received"}},
                    }
                }
            }
        }

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(document: dict[str, Any], tool: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(document, tool)

    return mutate


def extension(name: str) -> Mutation:
    def mutate(document: dict[str, Any], _: dict[str, Any]) -> None:
        the_operation(document)[name] = "imported"

    return mutate


def set_tool(**fields: Any) -> Mutation:
    def mutate(_: dict[str, Any], tool: dict[str, Any]) -> None:
        tool.update(fields)

    return mutate


def arguments(count: int) -> dict[str, Any]:
    properties = {f"field_{i}": {"type": "string", "description": f"Field {i}."} for i in range(count)}
    return {"type": "object", "properties": properties}


def schema_with(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def nested(levels: int) -> dict[str, Any]:
    """An arguments object whose JSON nests `levels` containers deep, the arguments object included."""
    schema: dict[str, Any] = {"type": "string", "description": "Leaf."}
    for _ in range(levels - 1):
        schema = {"type": "object", "description": "Level.", "properties": {"inner": schema}}
    return {"type": "object", "properties": {"outer": schema}}


def enum_in_object(*, described: bool) -> dict[str, Any]:
    """An enum nested in an object argument, as a nullable union the way 3.0 `nullable` compiles."""
    state: dict[str, Any] = {"anyOf": [{"type": "string", "enum": ["open", "closed"]}, {"type": "null"}]}
    if described:
        state["description"] = "Open cases accept comments; closed ones do not."
    filters = {"type": "object", "description": "Filters.", "properties": {"state": state}}
    return {"type": "object", "properties": {"filters": filters}}


def secured_by(*schemes: SecurityScheme, alternatives: list[dict[str, list[str]]] | None = None) -> Mutation:
    named = {f"scheme{i}": scheme for i, scheme in enumerate(schemes)}
    requirement = alternatives if alternatives is not None else [{name: []} for name in named]
    return set_tool(security=requirement, security_schemes=named)


AUTH_CODE = SecurityScheme(type=SecuritySchemeType.OAUTH2, flows=["authorizationCode"])
IMPLICIT = SecurityScheme(type=SecuritySchemeType.OAUTH2, flows=["implicit", "authorizationCode"])
CLIENT_CREDENTIALS = SecurityScheme(
    type=SecuritySchemeType.OAUTH2, flows=["authorizationCode", "clientCredentials"], token_url="https://t"
)
OIDC = SecurityScheme(type=SecuritySchemeType.OPENID_CONNECT, open_id_connect_url="https://id/.well-known")
API_KEY = SecurityScheme(type=SecuritySchemeType.API_KEY, location="header", parameter_name="X-Key")
BEARER = SecurityScheme(type=SecuritySchemeType.HTTP, scheme="bearer")

# (rule, a mutation that must trigger it, a near-identical mutation that must not)
RULE_CASES: list[tuple[str, Mutation, Mutation]] = [
    ("LINT_SERVER_COUNT", drop_servers, set_servers([{"url": "https://a.example.com"}])),
    (
        "LINT_SERVER_COUNT",
        set_servers([{"url": "https://a.example.com"}, {"url": "https://b.example.com"}]),
        set_servers([{"url": "https://b.example.com"}]),
    ),
    ("LINT_SERVER_COUNT", set_servers([]), set_servers([{"url": "https://b.example.com"}])),
    (
        "LINT_SERVER_TEMPLATED",
        set_servers([{"url": "https://{tenant}.example.com", "variables": {"tenant": {"default": "acme"}}}]),
        set_servers([{"url": "https://acme.example.com"}]),
    ),
    (
        "LINT_SERVER_RELATIVE",
        set_servers([{"url": "/api/v1"}]),
        set_servers([{"url": "https://x.io/api/v1"}]),
    ),
    (
        "LINT_SERVER_RELATIVE",
        set_servers([{"url": "mytoolserver"}]),
        set_servers([{"url": "http://mytoolserver"}]),
    ),
    (
        "LINT_SERVER_RELATIVE",
        set_servers([{"url": "{base}/v1", "variables": {"base": {"default": "/api"}}}]),
        set_servers([{"url": "{base}/v1", "variables": {"base": {"default": "https://x.io"}}}]),
    ),
    ("LINT_NON_JSON_REQUEST", form_request, form_or_json_request),
    ("LINT_NON_JSON_RESPONSE", csv_response, csv_or_json_response),
    ("LINT_MISSING_OPERATION_ID", drop_operation_id, set_operation_id("open_case")),
    ("LINT_MISSING_OPERATION_ID", set_operation_id("  "), set_operation_id("open_case")),
    (
        "LINT_OPERATION_ID_NOT_SNAKE_CASE",
        set_operation_id("createSupportCase"),
        set_operation_id("create_case2"),
    ),
    ("LINT_OPERATION_ID_NOT_SNAKE_CASE", set_operation_id("repos/get"), set_operation_id("repos_get")),
    (
        "LINT_MISSING_DESCRIPTION",
        drop_description,
        set_description("Open a case for the customer's problem."),
    ),
    (
        "LINT_POOR_DESCRIPTION",
        set_description("Creates a case."),
        set_description("Creates a case for a user."),
    ),
    (
        "LINT_POOR_DESCRIPTION",
        set_description("Create support cases."),
        set_description("Create support cases for a customer."),
    ),
    (
        "LINT_POOR_DESCRIPTION",
        set_description("POST /support/cases create_support_case"),
        set_description("POST /support/cases to open a case"),
    ),
    (
        "LINT_DESCRIPTION_TOO_LONG",
        set_description("Open a case for the customer's problem. " * 30),
        set_description("Open a case for the customer's problem. " * 25),
    ),
    ("LINT_OPENAPI_VERSION", set_version("3.1.0"), set_version("3.0.1")),
    ("LINT_IBM_EXTENSION", extension("x-ibm-skill-type"), extension("x-internal-skill-type")),
    (
        "LINT_ASYNC_CALLBACK",
        callback_header("callbackUrl"),
        both(callback_header("callbackUrl"), callbacks()),
    ),
    ("LINT_ASYNC_CALLBACK", callbacks(), both(callback_header("callbackUrl"), callbacks())),
    (
        "LINT_ASYNC_CALLBACK",
        both(callback_header("callback_url"), callbacks()),
        both(callback_header("callbackUrl"), callbacks()),
    ),
    (
        "LINT_ASYNC_CALLBACK",
        both(callback_header("callbackUrl"), callbacks("application/xml")),
        both(callback_header("callbackUrl"), callbacks("application/json; charset=utf-8")),
    ),
    ("LINT_TOO_MANY_PARAMETERS", set_tool(input_schema=arguments(21)), set_tool(input_schema=arguments(20))),
    ("LINT_DEEP_INPUT", set_tool(input_schema=nested(6)), set_tool(input_schema=nested(5))),
    (
        "LINT_UNDOCUMENTED_ENUM",
        set_tool(input_schema=schema_with(tier={"enum": ["a", "b"]})),
        set_tool(input_schema=schema_with(tier={"enum": ["a", "b"], "description": "Plan."})),
    ),
    (
        "LINT_UNDOCUMENTED_ENUM",
        set_tool(input_schema=enum_in_object(described=False)),
        set_tool(input_schema=enum_in_object(described=True)),
    ),
    (
        "LINT_UNDOCUMENTED_ENUM",
        set_tool(input_schema=schema_with(tags={"items": {"enum": ["x", "y"]}})),
        set_tool(input_schema=schema_with(tags={"items": {"type": "string"}})),
    ),
    (
        "LINT_UNDESCRIBED_PARAMETER",
        set_tool(input_schema=schema_with(note={"type": "string"})),
        set_tool(input_schema=schema_with(note={"type": "string", "description": "Note."})),
    ),
    ("LINT_NO_OUTPUT_SCHEMA", set_tool(output_schema=None), set_tool(output_schema={"type": "object"})),
    (
        "LINT_NO_OUTPUT_SCHEMA",
        both(set_tool(output_schema=None), set_responses({"200": {"description": "OK"}})),
        both(set_tool(output_schema=None), set_responses({"204": {"description": "Created"}})),
    ),
    (
        "LINT_NO_OUTPUT_SCHEMA",
        both(set_tool(output_schema=None), set_responses({"400": {"description": "Bad"}})),
        both(set_tool(output_schema=None), set_responses({"204": {}, "400": {"description": "Bad"}})),
    ),
    ("LINT_DEPRECATED_OPERATION", set_tool(deprecated=True), set_tool(deprecated=False)),
    ("LINT_INTERACTIVE_AUTH", secured_by(AUTH_CODE), secured_by(CLIENT_CREDENTIALS)),
    ("LINT_INTERACTIVE_AUTH", secured_by(IMPLICIT), secured_by(BEARER)),
    ("LINT_INTERACTIVE_AUTH", secured_by(OIDC), secured_by(API_KEY)),
    (
        "LINT_INTERACTIVE_AUTH",
        secured_by(OIDC, API_KEY, alternatives=[{"scheme0": [], "scheme1": []}]),
        secured_by(OIDC, API_KEY, alternatives=[{"scheme0": []}, {"scheme1": []}]),
    ),
    (
        "LINT_INTERACTIVE_AUTH",
        secured_by(AUTH_CODE, alternatives=[{"scheme0": ["read"]}]),
        secured_by(AUTH_CODE, alternatives=[{"scheme0": ["read"]}, {}]),
    ),
]


def lint_case(mutation: Mutation) -> list[Finding]:
    document = clean_document()
    tool_fields: dict[str, Any] = {}
    mutation(document, tool_fields)
    return lint(document, [make_tool(**tool_fields)])


@pytest.mark.parametrize(
    ("code", "triggering", "quiet"), RULE_CASES, ids=[f"{case[0]}-{i}" for i, case in enumerate(RULE_CASES)]
)
def test_rule_fires_on_the_problem_and_not_on_its_fix(
    code: str, triggering: Mutation, quiet: Mutation
) -> None:
    assert code in codes(lint_case(triggering))
    assert code not in codes(lint_case(quiet))


def test_swagger_2_conversion_is_reported_instead_of_the_version() -> None:
    document = clean_document()
    converted = lint_spec(document, compiled(document, [make_tool()], source="2.0"))
    native = lint_spec(document, compiled(document, [make_tool()], source="3.0.3"))
    assert [(f.code, f.severity, f.pointer) for f in converted] == [
        ("LINT_SWAGGER_CONVERTED", Severity.WARNING, "/openapi")
    ]
    assert native == []


def test_openapi_31_is_only_information() -> None:
    findings = lint_case(set_version("3.1.0"))
    assert [(f.code, f.severity) for f in findings] == [("LINT_OPENAPI_VERSION", Severity.INFO)]


def test_more_tools_than_openai_accepts_is_one_spec_level_finding() -> None:
    too_many = lint(clean_document(), [make_tool() for _ in range(129)])
    at_cap = lint(clean_document(), [make_tool() for _ in range(128)])
    assert [(f.code, f.pointer) for f in too_many] == [("LINT_TOO_MANY_TOOLS", "/paths")]
    assert "129 tools" in too_many[0].message
    assert at_cap == []


# --- Locations and messages -------------------------------------------------------------------------------


def only(findings: list[Finding], code: str) -> Finding:
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, findings
    return matching[0]


def test_findings_point_at_the_offending_part_of_the_document() -> None:
    pointer = operation_pointer("/support/cases", "post")
    assert pointer == "/paths/~1support~1cases/post"
    assert only(lint_case(form_request), "LINT_NON_JSON_REQUEST").pointer == f"{pointer}/requestBody"
    assert only(lint_case(csv_response), "LINT_NON_JSON_RESPONSE").pointer == f"{pointer}/responses"
    assert only(lint_case(drop_description), "LINT_MISSING_DESCRIPTION").pointer == pointer
    templated = set_servers(
        [{"url": "https://a.io"}, {"url": "https://{x}.io", "variables": {"x": {"default": "b"}}}]
    )
    assert only(lint_case(templated), "LINT_SERVER_TEMPLATED").pointer == "/servers/1/url"
    assert only(lint_case(drop_servers), "LINT_SERVER_COUNT").pointer == ""
    assert only(lint_case(secured_by(OIDC)), "LINT_INTERACTIVE_AUTH").pointer == (
        "/components/securitySchemes/scheme0"
    )
    assert only(lint_case(extension("x-ibm-skill-type")), "LINT_IBM_EXTENSION").pointer == (
        f"{pointer}/x-ibm-skill-type"
    )


def test_templated_server_message_names_the_url_toolgate_calls() -> None:
    mutation = set_servers(
        [{"url": "https://{tenant}.example.com", "variables": {"tenant": {"default": "acme"}}}]
    )
    assert "`https://acme.example.com`" in only(lint_case(mutation), "LINT_SERVER_TEMPLATED").message


def test_referenced_request_bodies_and_responses_are_resolved() -> None:
    document = clean_document()
    operation = the_operation(document)
    document["components"]["requestBodies"] = {"Form": {"content": {"multipart/form-data": {}}}}
    document["components"]["responses"] = {"Csv": {"$ref": "#/components/responses/CsvBody"}}
    document["components"]["responses"]["CsvBody"] = {"description": "CSV", "content": {"text/csv": {}}}
    operation["requestBody"] = {"$ref": "#/components/requestBodies/Form"}
    operation["responses"] = {"200": {"$ref": "#/components/responses/Csv"}}
    found = codes(lint(document))
    assert {"LINT_NON_JSON_REQUEST", "LINT_NON_JSON_RESPONSE"} <= found


def test_path_level_callback_header_counts_for_its_operations() -> None:
    document = clean_document()
    callbacks()(document, {})
    document["paths"]["/support/cases"]["parameters"] = [
        {"$ref": "#/components/parameters/Callback"},
    ]
    document["components"]["parameters"] = {
        "Callback": {"in": "header", "name": "callbackUrl", "schema": {"type": "string"}}
    }
    assert lint(document) == []
    del document["paths"]["/support/cases"]["parameters"]
    assert codes(lint(document)) == {"LINT_ASYNC_CALLBACK"}


def test_lookalike_callback_parameter_is_named_in_the_message() -> None:
    header = only(lint_case(both(callback_header("X-Callback-URL"), callbacks())), "LINT_ASYNC_CALLBACK")
    assert "taken as header parameter X-Callback-URL;" in header.message
    assert "named exactly callbackUrl" in header.message

    def query_callback(document: dict[str, Any], _: dict[str, Any]) -> None:
        the_operation(document)["parameters"] = [{"in": "query", "name": "callbackUrl", "schema": {}}]

    query = only(lint_case(both(query_callback, callbacks())), "LINT_ASYNC_CALLBACK")
    assert "taken as query parameter callbackUrl;" in query.message
    assert "LINT_ASYNC_CALLBACK" not in codes(lint_case(query_callback))


def test_undescribed_arguments_are_one_finding_per_tool() -> None:
    schema = schema_with(**{f"arg_{i}": {"type": "integer"} for i in range(40)})
    findings = lint(clean_document(), [make_tool(input_schema=schema)])
    finding = only(findings, "LINT_UNDESCRIBED_PARAMETER")
    assert finding.severity is Severity.INFO
    assert finding.message.startswith("Arguments without a description (40 of 40): arg_0, arg_1,")
    assert finding.message.endswith("and 32 more.")


def test_enum_arguments_are_reported_as_enums_not_as_undescribed() -> None:
    schema = schema_with(
        priority={"type": "string", "enum": ["low", "medium", "high"]},
        note={"type": "string"},
    )
    findings = lint(clean_document(), [make_tool(input_schema=schema)])
    assert "priority [low|medium|high]" in only(findings, "LINT_UNDOCUMENTED_ENUM").message
    undescribed = only(findings, "LINT_UNDESCRIBED_PARAMETER").message
    assert "note" in undescribed
    assert "priority" not in undescribed


def test_nested_enum_is_named_by_its_path() -> None:
    findings = lint(clean_document(), [make_tool(input_schema=enum_in_object(described=False))])
    assert "filters.state [open|closed]" in only(findings, "LINT_UNDOCUMENTED_ENUM").message


def test_depth_counts_arrays_and_objects_the_model_must_write() -> None:
    # {"orders": [{"lines": [{"sku": ...}]}]}: arguments, orders, order, lines, line = 5 containers.
    line = {"type": "object", "properties": {"sku": {"type": "string"}}}
    order = {"type": "object", "properties": {"lines": {"type": "array", "items": line}}}
    schema = schema_with(orders={"type": "array", "description": "Orders.", "items": order})
    assert "LINT_DEEP_INPUT" not in codes(lint(clean_document(), [make_tool(input_schema=schema)]))
    strict = lint(clean_document(), [make_tool(input_schema=schema)], limits=LintLimits(max_input_depth=4))
    assert "orders[].lines[]" in only(strict, "LINT_DEEP_INPUT").message


def test_recursive_input_schema_is_not_followed() -> None:
    node = {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}
    schema = {**schema_with(root={"$ref": "#/$defs/Node", "description": "Tree."}), "$defs": {"Node": node}}
    assert lint(clean_document(), [make_tool(input_schema=schema)]) == []


def test_interactive_scheme_lists_the_stranded_tools() -> None:
    tools = [
        make_tool(name=f"tool_{i}", security=[{"login": []}], security_schemes={"login": AUTH_CODE})
        for i in range(3)
    ]
    tools.append(
        make_tool(
            name="tool_ok",
            security=[{"login": []}, {"key": []}],
            security_schemes={"login": AUTH_CODE, "key": API_KEY},
        )
    )
    finding = only(lint(clean_document(), tools), "LINT_INTERACTIVE_AUTH")
    assert finding.message.endswith("the only way to authenticate for 3 tools: tool_0, tool_1, tool_2.")
    single = only(lint(clean_document(), tools[:1]), "LINT_INTERACTIVE_AUTH")
    assert single.message.endswith("the only way to authenticate for 1 tool: tool_0.")


# --- The seed's Support Desk spec -------------------------------------------------------------------------

SUPPORT_DESK = {
    "openapi": "3.0.1",
    "info": {"title": "Support Desk API", "version": "1.0"},
    "paths": {
        "/support/cases": {
            "post": {
                "summary": "Create support case",
                "operationId": "createSupportCase",
                "security": [{"bearerAuth": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/SupportCaseRequest"}}
                    },
                },
                "responses": {
                    "200": {
                        "description": "Case created",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SupportCaseResponse"}
                            }
                        },
                    }
                },
            }
        }
    },
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "SupportCaseRequest": {
                "type": "object",
                "required": ["customer_id", "summary", "priority"],
                "properties": {
                    "customer_id": {"type": "string"},
                    "summary": {"type": "string"},
                    "priority": {"type": "string", "enum": ["low", "medium", "high"]},
                },
            },
            "SupportCaseResponse": {
                "type": "object",
                "properties": {"case_id": {"type": "string"}, "status": {"type": "string"}},
            },
        },
    },
}


def support_desk_tool() -> CanonicalTool:
    schemas = SUPPORT_DESK["components"]["schemas"]  # type: ignore[index]
    return make_tool(
        description="Create support case",
        operation_id="createSupportCase",
        server_url=None,
        input_schema=copy.deepcopy(schemas["SupportCaseRequest"]),
        output_schema=copy.deepcopy(schemas["SupportCaseResponse"]),
        security=[{"bearerAuth": []}],
        security_schemes={"bearerAuth": SecurityScheme(type=SecuritySchemeType.HTTP, scheme="bearer")},
    )


def test_support_desk_seed_fails_the_watsonx_conditions_it_breaks() -> None:
    findings = lint_spec(SUPPORT_DESK, compiled(SUPPORT_DESK, [support_desk_tool()]))
    pointer = "/paths/~1support~1cases/post"
    assert sorted((f.code, f.severity.value, f.pointer) for f in findings) == [
        ("LINT_MISSING_DESCRIPTION", "warning", pointer),
        ("LINT_OPERATION_ID_NOT_SNAKE_CASE", "info", pointer),
        ("LINT_SERVER_COUNT", "warning", ""),
        ("LINT_UNDESCRIBED_PARAMETER", "info", pointer),
        ("LINT_UNDOCUMENTED_ENUM", "warning", pointer),
    ]
    assert "only the summary `Create support case`" in only(findings, "LINT_MISSING_DESCRIPTION").message
    assert "create_support_case" in only(findings, "LINT_OPERATION_ID_NOT_SNAKE_CASE").message
    assert "customer_id, summary" in only(findings, "LINT_UNDESCRIBED_PARAMETER").message


def test_support_desk_seed_compiled_by_the_compiler_gives_the_same_findings() -> None:
    from toolgate.spec.compiler import compile_document

    handmade = lint_spec(SUPPORT_DESK, compiled(SUPPORT_DESK, [support_desk_tool()]))
    end_to_end = lint_spec(SUPPORT_DESK, compile_document(copy.deepcopy(SUPPORT_DESK)))
    assert sorted((f.code, f.pointer, f.message) for f in end_to_end) == sorted(
        (f.code, f.pointer, f.message) for f in handmade
    )


# --- Bounded output, robustness, registry -----------------------------------------------------------------


def huge_spec(operations: int) -> tuple[dict[str, Any], list[CanonicalTool]]:
    """Many operations with camelCase ids, no descriptions and undescribed arguments."""
    document = clean_document()
    document["paths"] = {}
    tools = []
    for i in range(operations):
        path = f"/items/{i}"
        document["paths"][path] = {
            "get": {"operationId": f"getItem{i}", "responses": {"200": {"description": "OK"}}}
        }
        tools.append(
            make_tool(
                path=path,
                method="get",
                name=f"get_item{i}",
                input_schema=schema_with(item_id={"type": "string"}),
                output_schema=None,
            )
        )
    return document, tools


def test_output_stays_bounded_on_a_spec_with_thousands_of_operations() -> None:
    import time

    document, tools = huge_spec(2000)
    started = time.perf_counter()
    findings = lint(document, tools)
    elapsed = time.perf_counter() - started
    cap = LintLimits().max_findings_per_rule
    per_code = {code: sum(f.code == code for f in findings) for code in codes(findings)}
    assert per_code == {
        "LINT_TOO_MANY_TOOLS": 1,
        "LINT_OPERATION_ID_NOT_SNAKE_CASE": cap + 1,
        "LINT_MISSING_DESCRIPTION": cap + 1,
        "LINT_UNDESCRIBED_PARAMETER": cap + 1,
        "LINT_NO_OUTPUT_SCHEMA": cap + 1,
    }
    summaries = [f for f in findings if f.pointer == ""]
    assert {f.message for f in summaries} == {
        f"{2000 - cap} more findings of this kind are not listed individually."
    }
    assert elapsed < 2.0


def test_cap_is_configurable() -> None:
    document, tools = huge_spec(10)
    findings = lint(document, tools, limits=LintLimits(max_findings_per_rule=3))
    assert sum(f.code == "LINT_MISSING_DESCRIPTION" for f in findings) == 4


def test_malformed_document_parts_are_skipped_not_fatal() -> None:
    document: dict[str, Any] = {
        "openapi": "3.0.0",
        "servers": ["https://not-an-object.example.com", {"url": 42}],
        "paths": {
            "/loop": {
                "post": {
                    "operationId": "loop_case",
                    "description": "Exercise a reference cycle in the request body.",
                    "requestBody": {"$ref": "#/components/requestBodies/A"},
                    "parameters": ["not-a-parameter", {"$ref": "https://example.com/param.json"}],
                    "callbacks": {"cb": ["not", "a", "mapping"]},
                    "responses": {200: {"content": {"text/html": {}}}, "201": "junk"},
                }
            },
            "/list": ["not", "a", "path", "item"],
        },
        "components": {
            "requestBodies": {
                "A": {"$ref": "#/components/requestBodies/B"},
                "B": {"$ref": "#/components/requestBodies/A"},
            }
        },
    }
    tools = [
        make_tool(
            path="/loop", name="loop_case", input_schema={"properties": {"x": True, "y": {"items": [1]}}}
        ),
        make_tool(path="/list", method="get", name="list_get", deprecated=True),
        make_tool(path="/missing", name="missing", input_schema=schema_with(mode={"enum": ["a", "b"]})),
    ]
    findings = lint(document, tools)
    assert sorted((f.code, f.pointer) for f in findings) == [
        ("LINT_ASYNC_CALLBACK", "/paths/~1loop/post"),
        ("LINT_DEPRECATED_OPERATION", "/paths/~1list/get"),
        ("LINT_NON_JSON_RESPONSE", "/paths/~1loop/post/responses"),
        ("LINT_SERVER_COUNT", "/servers"),
        ("LINT_UNDESCRIBED_PARAMETER", "/paths/~1loop/post"),
        ("LINT_UNDOCUMENTED_ENUM", "/paths/~1missing/post"),
    ]


def every_triggered_finding() -> list[Finding]:
    findings = [finding for _, triggering, _ in RULE_CASES for finding in lint_case(triggering)]
    document = clean_document()
    findings += lint_spec(document, compiled(document, [make_tool()] * 129, source="2.0"))
    return findings


def test_every_emitted_code_is_registered_with_the_severity_it_is_emitted_at() -> None:
    for finding in every_triggered_finding():
        rule = LINT_RULES[finding.code]
        assert finding.severity is rule.severity
        assert rule.code == finding.code


def test_every_registered_rule_has_a_triggering_test() -> None:
    assert codes(every_triggered_finding()) == set(LINT_RULES)


def test_rule_codes_are_prefixed_and_texts_end_in_full_stops() -> None:
    for code, rule in LINT_RULES.items():
        assert re.fullmatch(r"LINT_[A-Z0-9_]+", code)
        assert rule.rationale.endswith(".") and rule.fix.endswith(".")


def test_docs_table_lists_every_rule_with_its_severity() -> None:
    row = re.compile(r"^\| `(LINT_[A-Z0-9_]+)` \| (error|warning|info) \| \*\*([^*]+)\.\*\*", re.MULTILINE)
    text = DOCS.read_text()
    documented = sorted(row.findall(text))
    assert documented == sorted((code, rule.severity.value, rule.title) for code, rule in LINT_RULES.items())
    for rule in LINT_RULES.values():
        assert rule.checks in text and rule.rationale in text and rule.fix in text, rule.code


# --- Rendering --------------------------------------------------------------------------------------------


def test_format_findings_sorts_by_severity_then_pointer() -> None:
    findings = [
        Finding(code="LINT_B", severity=Severity.INFO, message="info", pointer="/a"),
        Finding(code="LINT_C", severity=Severity.WARNING, message="late", pointer="/z"),
        Finding(code="LINT_D", severity=Severity.ERROR, message="broken", pointer="/m"),
        Finding(code="LINT_E", severity=Severity.WARNING, message="early", pointer="/b"),
        Finding(code="LINT_F", severity=Severity.WARNING, message="spec-wide", pointer=""),
    ]
    assert format_findings(findings).splitlines() == [
        "error[LINT_D] /m: broken",
        "warning[LINT_F]: spec-wide",
        "warning[LINT_E] /b: early",
        "warning[LINT_C] /z: late",
        "info[LINT_B] /a: info",
    ]


def test_format_findings_keeps_one_finding_per_line() -> None:
    document = clean_document()
    the_operation(document)["description"] = "Tiny\n\n  thing"
    assert format_findings(lint(document)) == (
        "warning[LINT_POOR_DESCRIPTION] /paths/~1support~1cases/post: "
        "Description `Tiny thing` is shorter than 20 characters."
    )
    multiline = Finding(code="LINT_X", severity=Severity.INFO, message="one\ntwo")
    assert format_findings([multiline]) == "info[LINT_X]: one two"
    assert format_findings([]) == ""


def test_union_branches_merge_into_one_enum_and_constants_need_no_description() -> None:
    def rule(kind: str) -> dict[str, Any]:
        return {"type": "object", "properties": {"type": {"type": "string", "enum": [kind]}}}

    merged = schema_with(
        rules={"type": "array", "description": "Rules.", "items": {"oneOf": [rule("a"), rule("b")]}}
    )
    constant = schema_with(rules={"type": "array", "description": "Rules.", "items": {"oneOf": [rule("a")]}})
    message = only(lint(clean_document(), [make_tool(input_schema=merged)]), "LINT_UNDOCUMENTED_ENUM").message
    assert message == "Enum arguments without a description: rules[].type [a|b]."
    assert lint(clean_document(), [make_tool(input_schema=constant)]) == []


def test_const_union_is_an_enum_that_needs_a_description_unless_each_value_is_described() -> None:
    def kinds(*members: dict[str, Any]) -> dict[str, Any]:
        return schema_with(kind={"oneOf": list(members)})

    bare = kinds({"const": "cat"}, {"const": "dog"})
    described = kinds({"const": "cat", "title": "A cat"}, {"const": "dog", "description": "A dog"})
    message = only(lint(clean_document(), [make_tool(input_schema=bare)]), "LINT_UNDOCUMENTED_ENUM").message
    assert message == "Enum arguments without a description: kind [cat|dog]."
    assert lint(clean_document(), [make_tool(input_schema=described)]) == []


def test_description_limit_counts_what_the_model_reads_including_an_x_toolgate_override() -> None:
    document = clean_document()
    operation = document["paths"]["/support/cases"]["post"]
    operation["x-toolgate"] = {"description": "Opens a case for the customer's problem. " * 30}
    finding = only(lint(document, [make_tool()]), "LINT_DESCRIPTION_TOO_LONG")
    assert finding.pointer == "/paths/~1support~1cases/post"
    operation["x-toolgate"] = {"description": "Opens a case for the customer's problem."}
    operation["description"] = "Open a case for the customer's problem. " * 30
    assert "LINT_DESCRIPTION_TOO_LONG" not in codes(lint(document, [make_tool()]))


def test_missing_servers_message_says_whether_operations_bring_their_own() -> None:
    document = clean_document()
    del document["servers"]
    with_own = only(lint(document, [make_tool()]), "LINT_SERVER_COUNT")
    without = only(lint(document, [make_tool(server_url=None)]), "LINT_SERVER_COUNT")
    assert "operations declare their own" in with_own.message
    assert "the runtime has no base URL to call" in without.message
