"""`x-toolgate` on operations and parameters: what an admin changes about a tool without editing the API.

The compiler reads it (include, name, description, hidden parameters, response.select), every dialect
keeps hidden parameters out of what the model sees, the runtime refuses a model that sends one and fills
it as the spec's style says, and a selection trims the body and the output schema alike.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
from spec_builders import compile_paths, only_tool, tool_named
from toolgate.dialects import as_dialect, render_tools
from toolgate.dialects.base import Dialect
from toolgate.runtime.invoke import invoke_tool
from toolgate.runtime.transport import HttpResponse, OutboundCall
from toolgate.spec.models import CanonicalTool, CompiledSpec, Severity

SERVER = [{"url": "https://api.example.com"}]
ITEM_LIST = {
    "type": "object",
    "required": ["items", "total"],
    "properties": {
        "total": {"type": "integer"},
        "next": {"type": ["string", "null"]},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
    },
}
ITEM = {
    "type": "object",
    "required": ["id", "name", "blob"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "blob": {"type": "string", "description": "Kilobytes an agent never needs."},
    },
}
LIST_RESPONSE = {
    "total": 2,
    "next": None,
    "items": [{"id": 1, "name": "a", "blob": "x" * 500}, {"id": 2, "name": "b", "blob": "y" * 500}],
}


def operation(**fields: Any) -> dict[str, Any]:
    return {
        "operationId": "listItems",
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": ITEM_LIST}}}},
        **fields,
    }


def compile_one(op: dict[str, Any], path: str = "/items", method: str = "get") -> CompiledSpec:
    return compile_paths({path: {method: op}}, {"schemas": {"Item": ITEM}}, servers=SERVER)


def codes(compiled: CompiledSpec) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in compiled.findings:
        found.setdefault(finding.code, []).append(finding.pointer)
    return found


def api_version(**extension: Any) -> dict[str, Any]:
    return {
        "name": "api-version",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "x-toolgate": {"hidden": True, **extension},
    }


class RecordingTransport:
    def __init__(self, body: bytes = b"{}") -> None:
        self.body = body
        self.calls: list[OutboundCall] = []

    def send(self, call: OutboundCall) -> HttpResponse:
        self.calls.append(call)
        return HttpResponse(
            status=200, reason="OK", headers={"content-type": "application/json"}, body=self.body
        )


# --- Operations: include, name, description -------------------------------------------------------


def test_excluded_operation_is_not_a_tool_and_the_report_says_so() -> None:
    compiled = compile_paths(
        {
            "/items": {
                "get": operation(),
                "delete": {
                    "operationId": "purgeItems",
                    "x-toolgate": {"include": False},
                    "responses": {"204": {"description": "gone"}},
                },
            }
        },
        {"schemas": {"Item": ITEM}},
        servers=SERVER,
    )
    assert [tool.name for tool in compiled.tools] == ["list_items"]
    assert codes(compiled)["X_TOOLGATE_EXCLUDED"] == ["/paths/~1items/delete"]
    assert compiled.failed_operations == []


def test_admin_name_and_description_replace_what_every_dialect_shows() -> None:
    extension = {"name": "find_items", "description": "Find items by name; returns ids and names."}
    tool = only_tool(compile_one(operation(summary="List all items", **{"x-toolgate": extension})))
    assert (tool.name, tool.description) == ("find_items", extension["description"])
    assert tool.operation_id == "listItems"
    for dialect in Dialect:
        text = json.dumps(render_tools([tool], dialect).definitions)
        assert "find_items" in text and "List all items" not in text.replace('"title": "List all items"', "")


def test_an_invalid_admin_name_is_reported_and_the_derived_name_kept() -> None:
    compiled = compile_one(operation(**{"x-toolgate": {"name": "find items; drop table"}}))
    assert only_tool(compiled).name == "list_items"
    assert codes(compiled)["X_TOOLGATE_NAME_INVALID"] == ["/paths/~1items/get/x-toolgate/name"]


def test_two_operations_claiming_one_name_both_fail_and_a_derived_name_yields_to_an_admin_name() -> None:
    compiled = compile_paths(
        {
            "/a": {"get": {"operationId": "a", "x-toolgate": {"name": "same"}, "responses": {"200": {}}}},
            "/b": {"get": {"operationId": "b", "x-toolgate": {"name": "same"}, "responses": {"200": {}}}},
            "/c": {"get": {"operationId": "c", "x-toolgate": {"name": "get_d"}, "responses": {"200": {}}}},
            "/d": {"get": {"operationId": "get_d", "responses": {"200": {}}}},
        },
        servers=SERVER,
    )
    assert compiled.failed_operations == ["/paths/~1a/get", "/paths/~1b/get"]
    conflicts = [f for f in compiled.findings if f.code == "X_TOOLGATE_NAME_CONFLICT"]
    assert len(conflicts) == 2 and all(f.severity is Severity.ERROR for f in conflicts)
    assert "'same'" in conflicts[0].message
    assert tool_named(compiled, "get_d").path == "/c"
    derived = [tool for tool in compiled.tools if tool.path == "/d"]
    assert derived and derived[0].name.startswith("get_d_")


def test_unknown_and_mistyped_x_toolgate_keys_are_reported_with_pointers_not_ignored() -> None:
    compiled = compile_one(
        operation(
            **{"x-toolgate": {"include": "no", "nmae": "typo", "response": {"select": "/items", "pick": 1}}},
            parameters=[
                {"name": "q", "in": "query", "schema": {"type": "string"}, "x-toolgate": {"hiden": True}}
            ],
        )
    )
    found = codes(compiled)
    base = "/paths/~1items/get"
    assert set(found["X_TOOLGATE_UNKNOWN_KEY"]) == {
        f"{base}/x-toolgate/nmae",
        f"{base}/x-toolgate/response/pick",
        f"{base}/parameters/0/x-toolgate/hiden",
    }
    assert set(found["X_TOOLGATE_INVALID"]) == {
        f"{base}/x-toolgate/include",
        f"{base}/x-toolgate/response/select",
    }
    tool = only_tool(compiled)
    assert "q" in tool.input_schema["properties"] and tool.response_select is None


# --- Hidden parameters ---------------------------------------------------------------------------


def test_hidden_parameter_is_absent_from_every_dialects_schema_and_required_list() -> None:
    tool = only_tool(
        compile_one(
            operation(
                parameters=[
                    api_version(value="2019-06-01"),
                    {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                ]
            )
        )
    )
    assert tool.input_schema["required"] == ["q"]
    assert "api-version" not in tool.input_schema["properties"]
    for dialect in Dialect:
        rendered = render_tools([tool], as_dialect(dialect.value))
        text = json.dumps(rendered.definitions)
        assert "api-version" not in text and "api_version" not in text, dialect
        assert "2019-06-01" not in text, dialect


def test_hidden_parameter_without_exactly_one_source_stays_visible_with_a_finding() -> None:
    compiled = compile_one(
        operation(
            parameters=[{**api_version(), "x-toolgate": {"hidden": True, "value": "2019-06-01", "from": "v"}}]
        )
    )
    tool = only_tool(compiled)
    assert "api-version" in tool.input_schema["properties"] and tool.hidden == []
    assert codes(compiled)["X_TOOLGATE_INVALID"] == ["/paths/~1items/get/parameters/0/x-toolgate"]


def test_fixed_value_that_breaks_its_schema_fails_the_operation_at_compile_time_not_at_call_time() -> None:
    compiled = compile_one(operation(parameters=[api_version(value="June 2019")]))
    assert compiled.tools == [] and compiled.failed_operations == ["/paths/~1items/get"]
    (failure,) = [f for f in compiled.findings if f.code == "X_TOOLGATE_VALUE_INVALID"]
    assert failure.severity is Severity.ERROR and "api-version" in failure.message


def test_model_sending_a_hidden_argument_is_refused_and_nothing_is_sent() -> None:
    tool = only_tool(compile_one(operation(parameters=[api_version(value="2019-06-01")])))
    transport = RecordingTransport()
    result = invoke_tool(tool, {"api-version": "2099-01-01"}, transport=transport)
    assert transport.calls == []
    assert result.error is not None and result.error.code == "ARGUMENT_HIDDEN"
    assert "fixed" in result.error.message and "api-version" in result.error.message


def test_fixed_value_reaches_the_request_in_the_style_the_spec_declares() -> None:
    fields = {
        "name": "fields",
        "in": "query",
        "style": "pipeDelimited",
        "explode": False,
        "schema": {"type": "array", "items": {"type": "string"}},
        "x-toolgate": {"hidden": True, "value": ["id", "name"]},
    }
    region = {
        "name": "X-Region",
        "in": "header",
        "schema": {"type": "string"},
        "x-toolgate": {"hidden": True, "value": "eu-west-1"},
    }
    tool = only_tool(compile_one(operation(parameters=[api_version(value="2019-06-01"), fields, region])))
    transport = RecordingTransport()
    result = invoke_tool(tool, {}, transport=transport)
    assert result.ok, result.to_dict()
    (call,) = transport.calls
    assert urlsplit(call.request.url).query == "api-version=2019-06-01&fields=id%7Cname"
    assert call.request.headers["X-Region"] == "eu-west-1"


def test_setting_value_fills_a_hidden_parameter_and_a_missing_or_invalid_setting_is_refused() -> None:
    tool = only_tool(compile_one(operation(parameters=[api_version(**{"from": "azure_api_version"})])))
    assert tool.hidden[0].setting == "azure_api_version"
    transport = RecordingTransport()
    result = invoke_tool(tool, {}, transport=transport, parameters={"azure_api_version": "2021-04-01"})
    assert result.ok and transport.calls[-1].request.url.endswith("?api-version=2021-04-01")

    missing = invoke_tool(tool, {}, transport=transport, parameters={})
    assert missing.error is not None and missing.error.code == "PARAMETER_SETTING_MISSING"
    assert "azure_api_version" in missing.error.message
    invalid = invoke_tool(tool, {}, transport=transport, parameters={"azure_api_version": "latest"})
    assert invalid.error is not None and invalid.error.code == "PARAMETER_SETTING_INVALID"
    assert len(transport.calls) == 1


# --- response.select -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "select",
    [
        ["/total", "/items"],
        ["/total", "$.items[*]['id','name']"],
        ["$.items[?@.id > 1].name", "/next"],
    ],
)
def test_select_trims_the_body_and_the_output_schema_consistently(select: list[str]) -> None:
    tool = only_tool(compile_one(operation(**{"x-toolgate": {"response": {"select": select}}})))
    assert tool.output_schema is not None and "required" not in tool.output_schema
    result = invoke_tool(tool, {}, transport=RecordingTransport(json.dumps(LIST_RESPONSE).encode()))
    assert result.ok and result.trimmed and result.warnings == [], result.to_dict()
    assert result.full_body == LIST_RESPONSE
    assert json.dumps(result.body) != json.dumps(LIST_RESPONSE)
    assert jsonschema_rs.validator_for(tool.output_schema).is_valid(result.body)
    envelope = result.to_dict()
    assert envelope["trimmed"] is True and "full_body" not in envelope
    (mcp,) = render_tools([tool], Dialect.MCP).definitions
    assert jsonschema_rs.validator_for(mcp["outputSchema"]).is_valid(envelope)


def test_select_keeps_the_named_parts_in_their_places() -> None:
    tool = only_tool(
        compile_one(
            operation(**{"x-toolgate": {"response": {"select": ["/total", "$.items[*]['id','name']"]}}})
        )
    )
    result = invoke_tool(tool, {}, transport=RecordingTransport(json.dumps(LIST_RESPONSE).encode()))
    assert result.body == {"total": 2, "items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    items = tool.output_schema["properties"]["items"]["items"]  # type: ignore[index]
    assert set(items["properties"]) == {"id", "name"}


def test_select_trimmed_schema_rejects_a_body_the_documented_schema_rejects() -> None:
    tool = only_tool(compile_one(operation(**{"x-toolgate": {"response": {"select": ["/total"]}}})))
    body = json.dumps({"total": "two", "items": []}).encode()
    result = invoke_tool(tool, {}, transport=RecordingTransport(body))
    assert result.body == {"total": "two"} and len(result.warnings) == 1


@pytest.mark.parametrize("expression", ["$..id", "items", "$.items[", "/a/~2b", "$.items[?@..id]"])
def test_select_expressions_that_are_not_bounded_pointers_or_jsonpath_are_reported(expression: str) -> None:
    compiled = compile_one(operation(**{"x-toolgate": {"response": {"select": [expression, "/total"]}}}))
    assert codes(compiled)["X_TOOLGATE_SELECT_INVALID"] == ["/paths/~1items/get/x-toolgate/response/select/0"]
    assert only_tool(compiled).response_select is not None
    assert only_tool(compiled).response_select.expressions == ["/total"]  # type: ignore[union-attr]


def test_select_of_a_part_the_schema_does_not_describe_leaves_it_open_with_a_note() -> None:
    compiled = compile_one(operation(**{"x-toolgate": {"response": {"select": ["/cursor"]}}}))
    tool = only_tool(compiled)
    assert tool.output_schema == {"type": "object", "properties": {"cursor": {}}}
    assert "X_TOOLGATE_SELECT_UNDESCRIBED" in codes(compiled)


def test_a_response_that_misses_every_selected_part_is_empty_with_a_warning() -> None:
    tool: CanonicalTool = only_tool(
        compile_one(operation(**{"x-toolgate": {"response": {"select": ["/nothing"]}}}))
    )
    result = invoke_tool(tool, {}, transport=RecordingTransport(b'{"total": 1}'))
    assert result.body == {} and result.trimmed and result.full_body == {"total": 1}
    assert any("None of the parts" in warning for warning in result.warnings)


def test_hidden_body_property_is_kept_from_the_model_and_sent_in_the_body() -> None:
    body = {
        "type": "object",
        "required": ["title", "source"],
        "properties": {
            "title": {"type": "string"},
            "source": {"type": "string", "enum": ["agent"], "x-toolgate": {"hidden": True, "value": "agent"}},
        },
    }
    op = {
        "operationId": "createNote",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {"201": {"description": "created"}},
    }
    tool = only_tool(compile_one(op, path="/notes", method="post"))
    assert tool.input_schema["properties"].keys() == {"title"} and tool.input_schema["required"] == ["title"]
    refused = invoke_tool(tool, {"title": "t", "source": "human"}, transport=RecordingTransport())
    assert refused.error is not None and refused.error.code == "ARGUMENT_HIDDEN"
    transport = RecordingTransport()
    assert invoke_tool(tool, {"title": "t"}, transport=transport).ok
    assert json.loads(transport.calls[-1].request.body or b"") == {"title": "t", "source": "agent"}
