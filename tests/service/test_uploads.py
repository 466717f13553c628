"""S3 uploads through SQS to the upload function: at-least-once, out-of-order delivery, and failures that
leave the ready version in service."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from service_harness import (
    eventbridge_object_created,
    s3_notification,
    support_desk_listing,
    support_desk_tools,
)
from service_world import Service
from toolgate_demo import support_desk_spec

SPEC_KEY = "tenants/acme/integrations/support/openapi.yaml"
SETTINGS_KEY = "tenants/acme/integrations/support/toolgate.json"


def _support_spec(title: str = "Support Desk API") -> bytes:
    return support_desk_spec().read_text().replace("Support Desk API", title, 1).encode()


def _integration(service: Service, tenant: str = "acme", integration: str = "support") -> dict[str, Any]:
    response = service.api("GET", f"/v1/integrations/{integration}", tenant=tenant)
    assert response.status == 200, response.body
    return response.body  # type: ignore[no-any-return]


def _tool_items(service: Service) -> list[dict[str, Any]]:
    return [item for item in service.table_items() if str(item["sk"]).startswith("TOOL#")]


def test_support_desk_uploaded_through_s3_lists_in_every_format(service: Service) -> None:
    service.s3.put_object(
        Bucket="toolgate-test-specs", Key=SETTINGS_KEY, Body=json.dumps({"assistants": ["desk"]}).encode()
    )
    assert service.upload(SPEC_KEY, _support_spec()) == {"batchItemFailures": []}
    integration = _integration(service)
    assert integration["status"] == "ready"
    assert integration["ready"]["source"]["key"] == SPEC_KEY
    for format_name in [
        "openai",
        "openai-strict",
        "openai-responses",
        "anthropic",
        "bedrock",
        "gemini",
        "mcp",
    ]:
        response = service.api(
            "GET", "/v1/assistants/desk/tools", role="agent", query={"format": format_name}
        )
        assert response.status == 200, response.body
        assert len(response.body["tools"]) == len(support_desk_listing())
        assert response.body["violations"] == []


def test_duplicate_s3_event_changes_nothing(service: Service) -> None:
    event = service.put_object(SPEC_KEY, _support_spec())
    service.deliver(event)
    before = _integration(service)
    items_before = _tool_items(service)
    assert service.deliver(event) == {"batchItemFailures": []}
    assert _integration(service) == before
    assert _tool_items(service) == items_before


def test_older_event_never_replaces_a_newer_result(service: Service) -> None:
    older = service.put_object(SPEC_KEY, _support_spec("Old Desk"))
    newer = service.put_object(SPEC_KEY, _support_spec("New Desk"))
    service.deliver(newer)
    assert _integration(service)["ready"]["title"] == "New Desk"
    service.deliver(older)
    integration = _integration(service)
    assert integration["ready"]["title"] == "New Desk"
    assert integration["ready"]["number"] == 1
    assert integration["version"] == 1


def test_event_reads_the_object_version_it_names(service: Service) -> None:
    first = service.put_object(SPEC_KEY, _support_spec("First Desk"))
    service.put_object(SPEC_KEY, _support_spec("Second Desk"))
    service.deliver(first)
    assert _integration(service)["ready"]["title"] == "First Desk"


def test_failed_reupload_keeps_the_ready_version_and_records_why(service: Service) -> None:
    service.upload(SPEC_KEY, _support_spec())
    ready = _integration(service)["ready"]
    assert service.upload(SPEC_KEY, b"openapi: 3.0.3\ninfo: [not, a, mapping\n") == {"batchItemFailures": []}
    integration = _integration(service)
    assert integration["status"] == "failed"
    assert integration["ready"] == ready
    assert integration["last_upload"]["error"]["code"] == "SPEC_PARSE_ERROR"
    service.api("POST", "/v1/assistants", body={"id": "desk", "integrations": ["support"]})
    tools = service.api("GET", "/v1/assistants/desk/tools", role="agent").body["tools"]
    assert len(tools) == len(support_desk_listing()), "the previous ready version stays in service"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\x00\x01 not yaml: [", "SPEC_PARSE_ERROR"),
        (b'{"swagger": "1.2", "paths": {}}', "SPEC_UNSUPPORTED_VERSION"),
        (
            b'{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}}',
            "INTEGRATION_NO_TOOLS",
        ),
        (b"just: a mapping\n", "SPEC_NOT_OPENAPI"),
    ],
)
def test_corrupt_spec_gives_failed_with_a_typed_code_visible_through_the_api(
    service: Service, payload: bytes, code: str
) -> None:
    service.upload(SPEC_KEY, payload)
    status = service.api("GET", "/v1/integrations/support/status").body
    assert status["status"] == "failed"
    assert status["ready_version"] is None
    assert status["last_upload"]["error"]["code"] == code
    assert status["last_upload"]["error"]["message"]
    report = service.api("GET", "/v1/integrations/support/report").body
    assert report["report"] is None and report["last_upload"]["error"]["code"] == code


def test_corrupt_zip_is_a_typed_bundle_failure(service: Service) -> None:
    service.upload("tenants/acme/integrations/support/openapi.zip", b"PK\x03\x04 truncated")
    error = _integration(service)["last_upload"]["error"]
    assert error["code"].startswith("SPEC_")


def test_invalid_toolgate_json_fails_the_upload_with_settings_invalid(service: Service) -> None:
    service.s3.put_object(Bucket="toolgate-test-specs", Key=SETTINGS_KEY, Body=b'{"server_url": "ftp://x"}')
    service.upload(SPEC_KEY, _support_spec())
    integration = _integration(service)
    assert integration["status"] == "failed"
    assert integration["last_upload"]["error"]["code"] == "SETTINGS_INVALID"
    assert "server_url" in integration["last_upload"]["error"]["message"]


def test_toolgate_json_filters_tools_and_overrides_the_server(service: Service) -> None:
    settings = {
        "assistants": ["desk"],
        "include": ["*_support_case"],
        "server_url": "https://desk.example.net",
    }
    service.s3.put_object(Bucket="toolgate-test-specs", Key=SETTINGS_KEY, Body=json.dumps(settings).encode())
    service.upload(SPEC_KEY, _support_spec())
    integration = _integration(service)
    assert integration["ready"]["tool_count"] == len(fnmatch.filter(support_desk_tools(), "*_support_case"))
    assert integration["ready"]["server_url"] == "https://desk.example.net"
    assert integration["settings"]["assistants"] == ["desk"]
    assistant = service.api("GET", "/v1/assistants/desk").body
    assert assistant["integrations"] == ["support"]


def test_new_toolgate_json_recompiles_the_ready_spec(service: Service) -> None:
    service.upload(SPEC_KEY, _support_spec())
    service.upload(SETTINGS_KEY, json.dumps({"exclude": ["list_*"]}).encode())
    integration = _integration(service)
    kept = [name for name in support_desk_tools() if not name.startswith("list_")]
    assert integration["ready"]["number"] == 2
    assert integration["ready"]["tool_count"] == len(kept)
    assert integration["ready"]["source"]["key"] == SETTINGS_KEY
    assert sorted(item["name"] for item in _tool_items(service)) == sorted(kept)


def test_toolgate_json_before_any_spec_waits_for_the_spec(service: Service) -> None:
    service.upload(SETTINGS_KEY, json.dumps({"exclude": ["list_*"]}).encode())
    assert service.api("GET", "/v1/integrations/support").error_code == "NOT_FOUND"
    service.upload(SPEC_KEY, _support_spec())
    kept = [name for name in support_desk_tools() if not name.startswith("list_")]
    assert _integration(service)["ready"]["tool_count"] == len(kept)


def test_eventbridge_object_created_events_are_ingested_too(service: Service) -> None:
    put = service.s3.put_object(Bucket="toolgate-test-specs", Key=SPEC_KEY, Body=_support_spec())
    event = eventbridge_object_created(SPEC_KEY, sequencer="00A1", version_id=put["VersionId"])
    assert service.deliver(event) == {"batchItemFailures": []}
    assert _integration(service)["status"] == "ready"


def test_keys_that_are_not_uploads_and_s3_test_events_are_ignored(service: Service) -> None:
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "toolgate-test-specs"}
    other = s3_notification("tenants/acme/notes/readme.txt", sequencer="01")
    elsewhere = s3_notification(SPEC_KEY, sequencer="02")
    elsewhere["Records"][0]["s3"]["bucket"]["name"] = "someone-elses-bucket"
    assert service.deliver(test_event, other, elsewhere) == {"batchItemFailures": []}
    assert [item for item in service.table_items() if item["pk"] == "acme"] == []


def test_spec_over_the_size_limit_fails_without_being_read(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOLGATE_COMPILE__MAX_SPEC_BYTES", "1000")
    from toolgate.settings import get_settings

    get_settings.cache_clear()
    service.upload(SPEC_KEY, _support_spec())
    assert _integration(service)["last_upload"]["error"]["code"] == "SPEC_TOO_LARGE"
    get_settings.cache_clear()


def test_transient_failure_fails_only_that_message_for_redelivery(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.service import uploads

    good = service.put_object("tenants/acme/integrations/good/openapi.yaml", _support_spec())
    bad = service.put_object("tenants/acme/integrations/flaky/openapi.yaml", _support_spec())
    real = uploads.process_object_created

    def flaky(provider: Any, notice: Any, config: Any) -> Any:
        if "flaky" in notice.key:
            raise ConnectionError("network blip")
        return real(provider, notice, config)

    monkeypatch.setattr("functions.upload.handler.process_object_created", flaky)
    from service_harness import FakeLambdaContext, sqs_event

    from functions.upload.handler import lambda_handler

    event = sqs_event(good, bad)
    response = lambda_handler(event, FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert _integration(service, integration="good")["status"] == "ready"


def test_large_tools_are_kept_in_s3_behind_a_pointer(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOLGATE_MAX_INLINE_TOOL_BYTES", "200")
    from toolgate.settings import get_service_settings

    get_service_settings.cache_clear()
    service.upload(SPEC_KEY, _support_spec())
    items = _tool_items(service)
    assert items and all("tool_json" not in item or item["tool_json"] is None for item in items)
    assert all(
        str(item["tool_key"]).startswith("artifacts/tenants/acme/integrations/support/") for item in items
    )
    service.api("POST", "/v1/assistants", body={"id": "desk", "integrations": ["support"]})
    tools = service.api("GET", "/v1/assistants/desk/tools", query={"format": "openai"}).body["tools"]
    assert {tool["function"]["name"] for tool in tools} == support_desk_listing()


def test_uploads_are_counted_with_failures_by_error_code(
    service: Service, capsys: pytest.CaptureFixture[str], log_lines: Callable[[], list[str]]
) -> None:
    service.upload(SPEC_KEY, _support_spec())
    service.upload(SPEC_KEY, b"not: [valid")
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')
    ]
    names = [
        metric["Name"]
        for blob in emitted
        for group in blob["_aws"]["CloudWatchMetrics"]
        for metric in group["Metrics"]
    ]
    assert names.count("SpecUploads") == 2
    assert "SpecCompileTime" in names
    failure = next(blob for blob in emitted if "SpecUploadFailures" in blob)
    assert failure["error_code"] == "SPEC_PARSE_ERROR"
    finished = [json.loads(line) for line in log_lines() if "spec ingest finished" in line]
    assert [line["outcome"] for line in finished] == ["ready", "failed"]
    assert all(line["tenant_id"] == "acme" and line["correlation_id"] for line in finished)


# --- Issue 11: upload-time refusals (compiler slice) ---------------------------------------------


def _spec_with(server: str) -> bytes:
    return _support_spec().decode().replace("https://support.example.com/api", server, 1).encode()


def _support_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(_support_spec())
    return document


def _nothing_stored(service: Service) -> None:
    assert _tool_items(service) == []
    assert [key for key in service.all_objects() if "/artifacts/" in key] == []


@pytest.mark.parametrize(
    ("server", "code"),
    [
        ("https://admin:hunter2@support.example.com/api", "URL_USERINFO_REFUSED"),
        ("http://2130706433/api", "URL_IP_LITERAL_REFUSED"),
        ("http://[::ffff:169.254.169.254]/api", "URL_IP_LITERAL_REFUSED"),
        ("http://localhost:8080/api", "URL_INTERNAL_HOST_REFUSED"),
        ("https://desk.internal/api", "URL_INTERNAL_HOST_REFUSED"),
        ("ftp://support.example.com/api", "URL_SCHEME_REFUSED"),
        ("https://{tenant}.support.example.com/api", "SERVER_VARIABLE_UNDEFINED"),
    ],
)
def test_upload_with_a_server_that_can_never_be_called_is_refused_and_nothing_is_stored(
    service: Service, server: str, code: str
) -> None:
    assert service.upload(SPEC_KEY, _spec_with(server)) == {"batchItemFailures": []}

    integration = _integration(service)
    assert integration["status"] == "failed"
    assert integration["ready"] is None
    assert integration["last_upload"]["error"]["code"] == code
    assert "server" in integration["last_upload"]["error"]["message"]
    _nothing_stored(service)
    assert "hunter2" not in json.dumps(service.table_items(), default=str)
    assert all("hunter2" not in body for body in service.responses)


def test_api_upload_with_a_loopback_server_answers_a_typed_error(service: Service) -> None:
    response = service.api(
        "PUT",
        "/v1/integrations/support",
        body=_spec_with("http://127.0.0.1:9001/api").decode(),
        headers={"Content-Type": "application/yaml"},
    )

    assert response.status == 422
    assert response.error_code == "URL_IP_LITERAL_REFUSED"
    assert "loopback" in response.body["error"]["message"]
    _nothing_stored(service)


def test_upload_is_accepted_with_a_loopback_server_where_the_deployment_allows_loopback(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.settings import get_settings

    monkeypatch.setenv("TOOLGATE_RUNTIME__ALLOW_LOOPBACK", "true")
    get_settings.cache_clear()
    try:
        service.upload(SPEC_KEY, _spec_with("http://127.0.0.1:8080/api"))
    finally:
        get_settings.cache_clear()

    integration = _integration(service)
    assert integration["status"] == "ready"
    assert integration["ready"]["server_url"] == "http://127.0.0.1:8080/api"


def test_server_url_setting_that_can_never_be_called_is_refused_before_it_is_stored(service: Service) -> None:
    created = service.api(
        "POST",
        "/v1/integrations",
        body={"id": "support", "settings": {"server_url": "http://169.254.169.254/"}},
    )
    assert created.status == 422
    assert created.error_code == "URL_IP_LITERAL_REFUSED"
    assert service.api("GET", "/v1/integrations/support").error_code == "NOT_FOUND"

    service.upload(SETTINGS_KEY, json.dumps({"server_url": "http://metadata.google.internal/"}).encode())
    service.upload(SPEC_KEY, _support_spec())
    integration = _integration(service)
    assert integration["last_upload"]["error"]["code"] == "URL_INTERNAL_HOST_REFUSED"
    _nothing_stored(service)


def test_oauth_token_url_that_can_never_be_called_refuses_the_upload_or_leaves_its_tools_out(
    service: Service,
) -> None:
    document = _support_document()
    document["components"]["securitySchemes"] = {
        "oauth": {
            "type": "oauth2",
            "flows": {"clientCredentials": {"tokenUrl": "http://10.1.2.3/oauth/token", "scopes": {}}},
        }
    }
    document["security"] = [{"oauth": []}]
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    service.upload(SPEC_KEY, json.dumps(document, default=str).encode())

    error = _integration(service)["last_upload"]["error"]
    assert error["code"] == "URL_IP_LITERAL_REFUSED"
    assert "OAuth2 token URL of security scheme 'oauth'" in error["message"]
    _nothing_stored(service)

    document["paths"]["/health"] = {
        "get": {"operationId": "health", "security": [], "responses": {"200": {"description": "ok"}}}
    }
    service.upload(SPEC_KEY, json.dumps(document, default=str).encode())

    integration = _integration(service)
    assert integration["status"] == "ready"
    assert [item["name"] for item in _tool_items(service)] == ["health"]
    assert integration["ready"]["summary"]["top_findings"][0]["code"] == "URL_IP_LITERAL_REFUSED"


def test_credential_with_a_token_url_that_can_never_be_called_is_refused_and_not_stored(
    service: Service,
) -> None:
    service.upload(SPEC_KEY, _support_spec())
    credential = {
        "type": "oauth2_client_credentials",
        "client_id": "desk",
        "client_secret": "CANARY-client-secret-77",
        "token_url": "http://[::ffff:127.0.0.1]/token",
    }

    response = service.api("PUT", "/v1/integrations/support/credential", body=credential)

    assert response.status == 422
    assert response.error_code == "URL_IP_LITERAL_REFUSED"
    assert "CANARY-client-secret-77" not in json.dumps(response.body)
    assert service.secrets.list_secrets()["SecretList"] == []
    assert _integration(service)["credential"]["bound"] is False


@pytest.mark.timeout(60)
def test_aliased_long_string_upload_is_refused_and_nothing_is_stored(service: Service) -> None:
    aliases = ", ".join(["*big"] * 300)
    bomb = _support_spec().decode() + f"x-big: &big {'a' * 1_000_000}\nx-uses: [{aliases}]\n"

    service.upload(SPEC_KEY, bomb.encode())

    assert _integration(service)["last_upload"]["error"]["code"] == "SPEC_ALIAS_EXPANSION"
    _nothing_stored(service)


def test_tool_larger_than_a_stored_tool_may_be_is_refused_before_anything_is_stored(
    service: Service,
) -> None:
    document = _support_document()
    long_path = "/cases/" + "segment-" * 150_000
    document["paths"][long_path] = {
        "get": {"operationId": "longPath", "responses": {"200": {"description": "ok"}}}
    }

    service.upload(SPEC_KEY, json.dumps(document, default=str).encode())

    error = _integration(service)["last_upload"]["error"]
    assert error["code"] == "TOOL_TOO_LARGE"
    assert "longPath" in error["message"] or "long_path" in error["message"]
    _nothing_stored(service)


def test_server_url_setting_with_user_information_is_refused_and_never_stored_or_shown(
    service: Service,
) -> None:
    service.upload(SPEC_KEY, _support_spec())
    settings = {"assistants": ["desk"], "server_url": "https://ops:CANARY-pw-31@desk.example.net/api"}

    response = service.api("PUT", "/v1/integrations/support/settings", body=settings)

    assert response.status == 422
    assert response.error_code == "URL_USERINFO_REFUSED"
    integration = _integration(service)
    assert integration["settings"]["server_url"] is None
    assert integration["ready"]["server_url"] == "https://support.example.com/api"
    assert "CANARY-pw-31" not in json.dumps(service.table_items(), default=str)
    assert all("CANARY-pw-31" not in body for body in service.responses)
