"""`x-toolgate` and toolsets through the real handlers over moto: integration parameter settings fill
hidden parameters, toolsets shape listing and invoke alike, and a trimmed result keeps the whole response
behind a continuation handle."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from invoke_harness import Desk, desk_world
from service_world import Service

from tests.integration.runtime_servers import Reply, Seen, json_reply

TOKEN = "vault-token-1"
VAULTS = {
    "value": [
        {"id": f"/v/{index}", "name": f"vault-{index}", "properties": {"sku": "standard", "notes": "n" * 200}}
        for index in range(3)
    ]
}
OBJECT = {"type": "object"}


def ok(schema: dict[str, Any] = OBJECT) -> dict[str, Any]:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Vaults", "version": "2019-06-01"},
    "servers": [{"url": "https://vaults.example.com"}],
    "security": [{"bearer": []}],
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/subscriptions/{subscriptionId}/vaults": {
            "parameters": [
                {
                    "name": "subscriptionId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 3},
                    "x-toolgate": {"hidden": True, "from": "subscription"},
                },
                {
                    "name": "api-version",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string"},
                    "x-toolgate": {"hidden": True, "value": "2019-06-01"},
                },
            ],
            "get": {
                "operationId": "Vaults_List",
                "tags": ["vaults"],
                "x-toolgate": {
                    "name": "list_vaults",
                    "description": "List the key vaults of the subscription: ids and names.",
                    "response": {"select": ["$.value[*]['id','name']"]},
                },
                "responses": ok(
                    {
                        "type": "object",
                        "properties": {
                            "value": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "id": {"type": "string"},
                                        "name": {"type": "string"},
                                        "properties": OBJECT,
                                    },
                                },
                            }
                        },
                    }
                ),
            },
            "put": {
                "operationId": "Vaults_CreateOrUpdate",
                "summary": "Create or update a vault.",
                "tags": ["vaults"],
                "responses": ok(),
            },
        },
        "/subscriptions/{subscriptionId}/vaults/{name}": {
            "parameters": [
                {
                    "name": "subscriptionId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "x-toolgate": {"hidden": True, "from": "subscription"},
                },
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
            "get": {
                "operationId": "Vaults_Get",
                "summary": "Read one vault.",
                "tags": ["vaults"],
                "responses": ok(),
            },
            "delete": {
                "operationId": "Vaults_Delete",
                "summary": "Delete a vault.",
                "tags": ["vaults"],
                "responses": ok(),
            },
        },
        "/operations": {
            "get": {
                "operationId": "Operations_List",
                "summary": "List the API's operations.",
                "tags": ["meta"],
                "responses": ok(),
            },
            "post": {"operationId": "Operations_Purge", "x-toolgate": {"include": False}, "responses": ok()},
        },
    },
}


def vault_api(seen: Seen) -> Reply:
    return json_reply(json.dumps(VAULTS).encode())


@pytest.fixture
def desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with desk_world(service, monkeypatch, vault_api) as world:
        yield world


def seed(desk: Desk, **settings: Any) -> None:
    desk.seed(
        "acme",
        {"type": "bearer", "token": TOKEN},
        settings=settings,
        server_url=desk.target.url,
        spec=json.dumps(SPEC),
    )


def listed(desk: Desk, fmt: str = "openai") -> list[dict[str, Any]]:
    response = desk.service.api("GET", "/v1/assistants/desk/tools", role="agent", query={"format": fmt})
    assert response.status == 200, response.body
    tools: list[dict[str, Any]] = response.body["tools"]
    return tools


def names(desk: Desk) -> set[str]:
    return {tool["function"]["name"] for tool in listed(desk)}


# --- Hidden parameters and the integration's parameter settings ------------------------------------


def test_integration_parameter_setting_fills_a_hidden_parameter_and_a_new_value_applies(desk: Desk) -> None:
    seed(desk, parameters={"subscription": "sub-1"})
    response = desk.invoke({"arguments": {}}, tool="list_vaults")
    assert response.status == 200 and response.body["ok"] is True, response.body
    url = urlsplit(desk.target.seen[-1].path)
    assert url.path == "/subscriptions/sub-1/vaults"
    assert parse_qsl(url.query) == [("api-version", "2019-06-01")]

    settings = {
        "assistants": ["desk"],
        "server_url": desk.target.url,
        "parameters": {"subscription": "sub-2"},
    }
    updated = desk.service.api("PUT", "/v1/integrations/support/settings", body=settings)
    assert updated.status == 200, updated.body
    assert updated.body["settings"]["parameters"] == {"subscription": "sub-2"}
    assert desk.invoke({"arguments": {}}, tool="list_vaults").body["ok"] is True
    assert urlsplit(desk.target.seen[-1].path).path == "/subscriptions/sub-2/vaults"


def test_hidden_parameters_never_reach_a_listing_and_a_model_sending_one_is_refused(desk: Desk) -> None:
    seed(desk, parameters={"subscription": "sub-1"})
    for fmt in ("openai", "anthropic", "gemini", "mcp"):
        text = json.dumps(listed(desk, fmt))
        assert "subscriptionId" not in text and "api-version" not in text and "sub-1" not in text, fmt
    response = desk.invoke({"arguments": {"subscriptionId": "someone-elses"}}, tool="list_vaults")
    assert response.body["ok"] is False and response.error_code == "ARGUMENT_HIDDEN", response.body
    assert desk.target.seen == []


def test_a_missing_parameter_setting_is_reported_at_upload_and_refused_before_any_request(desk: Desk) -> None:
    seed(desk)
    report = desk.service.api("GET", "/v1/integrations/support/report").body["report"]
    unset = [f for f in report["findings"] if f["code"] == "PARAMETER_SETTING_UNSET"]
    assert unset and all("'subscription'" in finding["message"] for finding in unset)
    response = desk.invoke({"arguments": {}}, tool="list_vaults")
    assert (
        response.error_code == "PARAMETER_SETTING_MISSING"
        and "subscription" in response.body["error"]["message"]
    )
    assert desk.target.seen == []


@pytest.mark.parametrize(
    "parameters",
    [{"subscription": {"nested": "object"}}, {"bad name!": "x"}, {"subscription": 1.5}, {"s": "x" * 3000}],
)
def test_parameter_settings_take_only_named_scalars(desk: Desk, parameters: dict[str, Any]) -> None:
    body = {"id": "other", "settings": {"parameters": parameters}}
    response = desk.service.api("POST", "/v1/integrations", body=body)
    assert response.status == 422 and response.error_code == "API_REQUEST_INVALID", response.body


# --- Toolsets --------------------------------------------------------------------------------------


def put_toolset(desk: Desk, **toolset: Any) -> None:
    response = desk.service.api("PUT", "/v1/assistants/desk", body={"integrations": ["support"], **toolset})
    assert response.status == 200, response.body
    for field in ("tools", "tags", "read_only", "exclude"):
        if field in toolset:
            assert response.body[field] == toolset[field]


def test_the_whole_spec_minus_excluded_operations_is_listed_by_default(desk: Desk) -> None:
    seed(desk, parameters={"subscription": "sub-1"})
    assert names(desk) == {
        "list_vaults",
        "vaults_create_or_update",
        "vaults_get",
        "vaults_delete",
        "operations_list",
    }


@pytest.mark.parametrize(
    ("toolset", "expected"),
    [
        ({"tools": ["Vaults_*"]}, {"list_vaults", "vaults_create_or_update", "vaults_get", "vaults_delete"}),
        ({"tools": ["list_*", "operations_list"]}, {"list_vaults", "operations_list"}),
        ({"tags": ["meta"]}, {"operations_list"}),
        ({"tags": ["meta"], "tools": ["vaults_get"]}, {"operations_list", "vaults_get"}),
        ({"read_only": True}, {"list_vaults", "vaults_get", "operations_list"}),
        ({"tags": ["vaults"], "exclude": ["*Delete", "*_create_*"]}, {"list_vaults", "vaults_get"}),
    ],
)
def test_toolset_globs_tags_read_only_and_excludes_shape_the_listing(
    desk: Desk, toolset: dict[str, Any], expected: set[str]
) -> None:
    seed(desk, parameters={"subscription": "sub-1"})
    put_toolset(desk, **toolset)
    assert names(desk) == expected


@pytest.mark.parametrize(
    "toolset",
    [{"tools": ["list_*"]}, {"read_only": True}, {"exclude": ["Vaults_Delete"]}, {"tags": ["meta"]}],
)
def test_a_tool_outside_the_toolset_is_refused_at_invoke_and_nothing_is_sent(
    desk: Desk, toolset: dict[str, Any]
) -> None:
    seed(desk, parameters={"subscription": "sub-1"})
    put_toolset(desk, **toolset)
    response = desk.invoke({"arguments": {"name": "v1"}}, tool="vaults_delete")
    assert (response.status, response.error_code) == (403, "TOOL_NOT_AVAILABLE")
    assert desk.target.seen == []


def test_a_tool_inside_a_glob_toolset_is_callable(desk: Desk) -> None:
    seed(desk, parameters={"subscription": "sub-1"})
    put_toolset(desk, tools=["Vaults_Get", "list_*"], read_only=True)
    response = desk.invoke({"arguments": {"name": "v1"}}, tool="vaults_get")
    assert response.status == 200 and response.body["ok"] is True, response.body
    assert urlsplit(desk.target.seen[-1].path).path == "/subscriptions/sub-1/vaults/v1"


# --- response.select and the whole response ----------------------------------------------------


def test_trimmed_result_keeps_the_whole_response_behind_a_continuation_handle(desk: Desk) -> None:
    seed(desk, parameters={"subscription": "sub-1"})
    response = desk.invoke({"arguments": {}}, tool="list_vaults")
    envelope = response.body
    assert envelope["ok"] is True and envelope["trimmed"] is True, envelope
    assert envelope["body"] == {"value": [{"id": v["id"], "name": v["name"]} for v in VAULTS["value"]]}
    assert "notes" not in json.dumps(envelope["body"])
    handle = envelope["full_response"]["handle"]
    assert handle in envelope["hint"]
    page = desk.continuation(handle, page="0")
    assert page.status == 200 and page.body["pages"] == 1
    assert json.loads(page.body["body"]) == VAULTS
    assert desk.continuation(handle, tenant="globex", page="0").status == 404
