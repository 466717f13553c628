"""The management API through the real handler: routes, formats, errors and the published OpenAPI."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from service_harness import support_desk_listing, support_desk_tools
from service_world import Service
from toolgate_demo import support_desk_spec

FORMATS = ["openai", "openai-strict", "openai-responses", "anthropic", "bedrock", "gemini", "mcp"]


def _names(format_name: str, definitions: list[dict[str, object]]) -> set[str]:
    if format_name in {"openai", "openai-strict"}:
        return {d["function"]["name"] for d in definitions}  # type: ignore[index]
    if format_name == "bedrock":
        return {d["toolSpec"]["name"] for d in definitions}  # type: ignore[index]
    return {str(d["name"]) for d in definitions}


def _put_support_desk(
    service: Service, tenant: str = "acme", integration: str = "support"
) -> dict[str, object]:
    response = service.api(
        "PUT",
        f"/v1/integrations/{integration}",
        tenant=tenant,
        body=support_desk_spec().read_text(),
        headers={"content-type": "application/yaml"},
    )
    assert response.status == 200, response.body
    return response.body  # type: ignore[no-any-return]


def test_support_desk_uploaded_through_the_api_lists_in_every_format(service: Service) -> None:
    integration = _put_support_desk(service)
    assert integration["status"] == "ready"
    assert integration["ready"]["tool_count"] == len(support_desk_tools())  # type: ignore[index]
    assert (
        service.api("POST", "/v1/assistants", body={"id": "desk", "integrations": ["support"]}).status == 201
    )
    for format_name in FORMATS:
        response = service.api(
            "GET", "/v1/assistants/desk/tools", role="agent", query={"format": format_name}
        )
        assert response.status == 200, response.body
        assert response.body["format"] == format_name
        assert _names(format_name, response.body["tools"]) == support_desk_listing()
        assert response.body["violations"] == []


def test_anthropic_tools_are_ready_to_pass_to_the_model_api(service: Service) -> None:
    _put_support_desk(service)
    service.api("POST", "/v1/assistants", body={"id": "desk", "integrations": ["support"]})
    tools = service.api("GET", "/v1/assistants/desk/tools", query={"format": "anthropic"}).body["tools"]
    create = next(tool for tool in tools if tool["name"] == "create_support_case")
    assert set(create) >= {"name", "description", "input_schema"}
    assert set(create["input_schema"]["required"]) >= {"customer_id", "summary"}


def test_unknown_tool_format_is_a_typed_request_error(service: Service) -> None:
    _put_support_desk(service)
    service.api("POST", "/v1/assistants", body={"id": "desk", "integrations": ["support"]})
    response = service.api("GET", "/v1/assistants/desk/tools", query={"format": "cobol"})
    assert response.status == 422
    assert response.error_code == "API_REQUEST_INVALID"
    assert response.body["error"]["details"][0]["loc"] == ["query", "format"]


def test_assistant_allow_list_limits_the_listed_tools(service: Service) -> None:
    _put_support_desk(service)
    body = {"id": "reader", "integrations": ["support"], "tools": ["get_support_case", "list_support_cases"]}
    service.api("POST", "/v1/assistants", body=body)
    tools = service.api("GET", "/v1/assistants/reader/tools", query={"format": "mcp"}).body["tools"]
    assert {tool["name"] for tool in tools} == {"get_support_case", "list_support_cases"}


def test_two_integrations_with_the_same_tool_name_conflict_in_one_assistant(service: Service) -> None:
    _put_support_desk(service, integration="desk-a")
    _put_support_desk(service, integration="desk-b")
    service.api("POST", "/v1/assistants", body={"id": "both", "integrations": ["desk-a", "desk-b"]})
    response = service.api("GET", "/v1/assistants/both/tools")
    assert response.status == 409
    assert response.error_code == "TOOL_NAME_CONFLICT"


def test_assistant_lists_unavailable_integrations_instead_of_failing(service: Service) -> None:
    _put_support_desk(service)
    service.api("POST", "/v1/integrations", body={"id": "later"})
    service.api("POST", "/v1/assistants", body={"id": "desk", "integrations": ["support", "later", "gone"]})
    response = service.api("GET", "/v1/assistants/desk/tools")
    assert response.status == 200
    assert {entry["id"]: entry["status"] for entry in response.body["unavailable"]} == {
        "later": "pending",
        "gone": "missing",
    }
    assert len(response.body["tools"]) == len(support_desk_listing())


def test_integration_lifecycle_create_read_list_status_report_delete(service: Service) -> None:
    created = service.api(
        "POST", "/v1/integrations", body={"id": "support", "settings": {"exclude": ["get_*"]}}
    )
    assert created.status == 201 and created.body["status"] == "pending"
    assert service.api("POST", "/v1/integrations", body={"id": "support"}).error_code == "ALREADY_EXISTS"

    _put_support_desk(service)
    kept = {name for name in support_desk_tools() if not name.startswith("get_")}
    read = service.api("GET", "/v1/integrations/support").body
    assert read["ready"]["tool_count"] == len(kept), (
        "the stored settings' exclude filter applies to API uploads"
    )
    assert [item["id"] for item in service.api("GET", "/v1/integrations").body["integrations"]] == ["support"]

    status = service.api("GET", "/v1/integrations/support/status").body
    assert status == {
        "id": "support",
        "status": "ready",
        "ready_version": 1,
        "last_upload": read["last_upload"],
    }
    report = service.api("GET", "/v1/integrations/support/report").body
    assert report["report"]["title"] == "Support Desk API"
    assert set(report["report"]["tools"]) == kept

    assert service.api("DELETE", "/v1/integrations/support").status == 204
    assert service.api("GET", "/v1/integrations/support").error_code == "NOT_FOUND"
    leftovers = [item["sk"] for item in service.table_items() if item["pk"] == "acme"]
    assert [sk for sk in leftovers if not sk.startswith("APIKEY#")] == [], leftovers
    artifacts = service.s3.list_objects_v2(Bucket="toolgate-test-specs", Prefix="artifacts/")
    assert artifacts.get("KeyCount", 0) == 0


def test_settings_update_recompiles_the_stored_spec(service: Service) -> None:
    _put_support_desk(service)
    response = service.api(
        "PUT",
        "/v1/integrations/support/settings",
        body={
            "include": ["create_*"],
            "server_url": "https://desk.internal.example/api",
            "assistants": ["desk"],
        },
    )
    assert response.status == 200, response.body
    assert response.body["ready"]["number"] == 2
    assert response.body["ready"]["server_url"] == "https://desk.internal.example/api"
    tools = service.api("GET", "/v1/assistants/desk/tools", query={"format": "mcp"}).body["tools"]
    assert [tool["name"] for tool in tools] == ["create_support_case"]
    tool_items = [item for item in service.table_items() if str(item["sk"]).startswith("TOOL#support#")]
    assert len(tool_items) == 1, "the replaced revision's tool items are removed"


def test_zip_spec_in_a_base64_body_is_compiled(service: Service) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("openapi.yaml", support_desk_spec().read_bytes())
    response = service.api(
        "PUT", "/v1/integrations/zipped", body=buffer.getvalue(), headers={"content-type": "application/zip"}
    )
    assert response.status == 200, response.body
    assert response.body["ready"]["spec_key"].endswith("/openapi.zip")
    assert response.body["ready"]["tool_count"] == len(support_desk_tools())


def test_corrupt_spec_through_the_api_is_a_typed_error_and_recorded(service: Service) -> None:
    response = service.api("PUT", "/v1/integrations/broken", body="openapi: [3.0\npaths: {", headers={})
    assert response.status == 422
    assert response.error_code == "SPEC_PARSE_ERROR"
    status = service.api("GET", "/v1/integrations/broken/status").body
    assert status["status"] == "failed"
    assert status["ready_version"] is None
    assert status["last_upload"]["error"]["code"] == "SPEC_PARSE_ERROR"


def test_upload_url_is_a_short_lived_put_to_the_tenants_own_prefix(service: Service) -> None:
    response = service.api("POST", "/v1/integrations/big/upload-url", query={"format": "json"})
    assert response.status == 200, response.body
    assert response.body["method"] == "PUT"
    assert response.body["key"] == "tenants/acme/integrations/big/openapi.json"
    url = urlsplit(response.body["url"])
    assert url.path.endswith("/tenants/acme/integrations/big/openapi.json")
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["300"]
    # Signed with the tenant-scoped session, not the function's own role.
    assert "X-Amz-Security-Token" in query


def test_assistant_crud_with_optimistic_locking(service: Service) -> None:
    created = service.api("POST", "/v1/assistants", body={"id": "desk", "name": "Desk"}).body
    assert created["version"] == 1
    updated = service.api(
        "PUT",
        "/v1/assistants/desk",
        body={"name": "Desk 2", "integrations": ["support"], "expected_version": 1},
    )
    assert updated.status == 200 and updated.body["version"] == 2
    stale = service.api("PUT", "/v1/assistants/desk", body={"name": "Desk 3", "expected_version": 1})
    assert stale.status == 409 and stale.error_code == "CONFLICT"
    assert service.api("GET", "/v1/assistants/desk").body["name"] == "Desk 2"
    assert [a["id"] for a in service.api("GET", "/v1/assistants").body["assistants"]] == ["desk"]
    assert service.api("DELETE", "/v1/assistants/desk").status == 204
    assert service.api("GET", "/v1/assistants/desk").error_code == "NOT_FOUND"


def test_api_keys_are_shown_once_listed_without_hash_and_revocable(service: Service) -> None:
    created = service.api("POST", "/v1/api-keys", body={"role": "agent", "principal": "support-bot"})
    assert created.status == 201
    key = created.body["key"]
    key_id = created.body["api_key"]["key_id"]
    listed = service.api("GET", "/v1/api-keys")
    assert key not in json.dumps(listed.body)
    assert "key_hash" not in json.dumps(listed.body)
    assert service.authorize(key)["context"]["role"] == "agent"
    revoked = service.api("DELETE", f"/v1/api-keys/{key_id}")
    assert revoked.status == 200 and revoked.body["revoked"] is True
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        service.authorize(key)


def test_openapi_document_describes_the_routes(service: Service) -> None:
    response = service.api("GET", "/v1/openapi.json", role="agent")
    assert response.status == 200
    document = response.body
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Toolgate management API"
    paths = document["paths"]
    assert {"put", "get", "delete"} <= set(paths["/v1/integrations/{integration_id}"])
    assert "put" in paths["/v1/integrations/{integration_id}/credential"]
    assert "post" in paths["/v1/integrations/{integration_id}/upload-url"]
    tools = paths["/v1/assistants/{assistant_id}/tools"]["get"]
    format_parameter = next(p for p in tools["parameters"] if p["name"] == "format")
    assert set(format_parameter["schema"]["enum"]) == set(FORMATS)
    assert "tenantApiKey" in document["components"]["securitySchemes"]
    assert "/v1/openapi.json" not in paths


def test_unknown_route_and_missing_context_are_typed_errors(service: Service) -> None:
    missing = service.api("GET", "/v1/nothing-here")
    assert (missing.status, missing.error_code) == (404, "ROUTE_NOT_FOUND")
    anonymous = service.api("GET", "/v1/integrations", tenant=None)
    assert (anonymous.status, anonymous.error_code) == (401, "UNAUTHENTICATED")
    openapi = service.api("GET", "/v1/openapi.json", tenant=None)
    assert openapi.status == 401


def test_invalid_body_is_a_422_with_the_problems_listed(service: Service) -> None:
    response = service.api("POST", "/v1/integrations", body={"id": "Bad Id!"})
    assert response.status == 422
    assert response.error_code == "API_REQUEST_INVALID"
    assert response.body["error"]["details"][0]["loc"] == ["body", "id"]
    not_json = service.api("POST", "/v1/assistants", body="{nope")
    assert not_json.error_code == "API_REQUEST_INVALID"


def test_unexpected_failure_is_a_500_with_a_correlation_id_and_no_traceback(
    service: Service, monkeypatch: pytest.MonkeyPatch, log_lines: Callable[[], list[str]]
) -> None:
    from toolgate.service.management import ManagementService

    def explode(self: ManagementService) -> None:
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(ManagementService, "list_integrations", explode)
    response = service.api("GET", "/v1/integrations")
    assert response.status == 500
    assert response.error_code == "INTERNAL_ERROR"
    correlation_id = response.body["error"]["details"]["correlation_id"]
    assert correlation_id in response.body["error"]["message"]
    assert "internal detail" not in response.raw["body"]
    assert "Traceback" not in response.raw["body"]
    logged = [json.loads(line) for line in log_lines()]
    failure = next(line for line in logged if line.get("message") == "unexpected error")
    assert failure["correlation_id"] == correlation_id
    assert failure["tenant_id"] == "acme"


def test_unexpected_failure_of_an_event_without_a_request_id_quotes_the_lambda_request_id(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service_harness import FakeLambdaContext, api_event
    from toolgate.service.management import ManagementService

    from functions.api.handler import lambda_handler

    def explode(self: ManagementService) -> None:
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(ManagementService, "list_integrations", explode)
    event = api_event("GET", "/v1/integrations", tenant="acme")
    del event["requestContext"]["requestId"]

    raw = lambda_handler(event, FakeLambdaContext(aws_request_id="lambda-request-7"))

    error = json.loads(raw["body"])["error"]
    assert (raw["statusCode"], error["code"]) == (500, "INTERNAL_ERROR")
    assert error["details"]["correlation_id"] == "lambda-request-7"
    assert "lambda-request-7" in error["message"] and "internal detail" not in raw["body"]


def test_spec_upload_in_undecodable_base64_is_a_typed_refusal_not_a_500(service: Service) -> None:
    from service_harness import FakeLambdaContext, api_event

    from functions.api.handler import lambda_handler

    event = api_event("PUT", "/v1/integrations/support", tenant="acme", body="openapi: 3.0.0")
    event.update(body="not*base64!", isBase64Encoded=True)

    raw = lambda_handler(event, FakeLambdaContext())

    assert raw["statusCode"] == 422
    assert json.loads(raw["body"])["error"]["code"] == "API_REQUEST_INVALID"
    assert service.api("GET", "/v1/integrations/support").status == 404
