"""A canary secret bound through the API never appears in a log line, a response, a DynamoDB item or an
S3 object; it exists only in Secrets Manager."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from service_world import Service
from toolgate_demo import support_desk_spec

CANARY = "canary-7f3e9a1c-DO-NOT-LEAK"


@pytest.mark.parametrize(
    "credential",
    [
        {"type": "bearer", "token": CANARY},
        {"type": "api_key", "value": CANARY, "in": "header", "name": "X-Api-Key"},
        {"type": "basic", "username": "desk", "password": CANARY},
        {"type": "oauth2_client_credentials", "client_id": "desk", "client_secret": CANARY},
    ],
    ids=lambda credential: credential["type"],
)
def test_canary_secret_is_only_in_secrets_manager(
    service: Service,
    credential: dict[str, str],
    log_lines: Callable[[], list[str]],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    service.upload("tenants/acme/integrations/support/openapi.yaml", support_desk_spec().read_bytes())
    bound = service.api("PUT", "/v1/integrations/support/credential", body=credential)
    assert bound.status == 200, bound.body
    assert bound.body == {
        "credential": {
            "type": credential["type"],
            "bound": True,
            "updated_at": bound.body["credential"]["updated_at"],
        }
    }
    # Every way of reading the integration back, and a settings change that rewrites its item.
    service.api("GET", "/v1/integrations/support/credential")
    service.api("GET", "/v1/integrations/support")
    service.api("GET", "/v1/integrations")
    service.api("GET", "/v1/integrations/support/report")
    service.api("PUT", "/v1/integrations/support/settings", body={"assistants": ["desk"]})
    service.api("GET", "/v1/assistants/desk/tools", role="agent", query={"format": "mcp"})
    # A rejected credential must not echo the value either.
    rejected = service.api(
        "PUT", "/v1/integrations/support/credential", body={"type": "bearer", "token": CANARY + "\n"}
    )
    assert rejected.error_code == "CREDENTIAL_INVALID"

    stored = service.secrets.get_secret_value(SecretId="toolgate/tenants/acme/support")
    assert CANARY in stored["SecretString"], "the credential was stored where the invoke path reads it"
    tags = service.secrets.describe_secret(SecretId="toolgate/tenants/acme/support")["Tags"]
    assert {"Key": "tenant_id", "Value": "acme"} in tags

    assert log_lines(), "the service logged something"
    assert not [line for line in log_lines() if CANARY in line]
    assert CANARY not in caplog.text
    captured = capsys.readouterr()
    assert CANARY not in captured.out and CANARY not in captured.err
    assert not [body for body in service.responses if CANARY in body]
    assert CANARY not in json.dumps(service.table_items(), default=str)
    objects = service.all_objects()
    assert objects, "the spec and the artifacts are in S3"
    assert not [key for key, data in objects.items() if CANARY.encode() in data]


def test_credential_can_be_replaced_and_is_never_read_back(service: Service) -> None:
    service.api("POST", "/v1/integrations", body={"id": "support"})
    first = service.api(
        "PUT", "/v1/integrations/support/credential", body={"type": "bearer", "token": "first"}
    )
    second = service.api(
        "PUT", "/v1/integrations/support/credential", body={"type": "bearer", "token": "second"}
    )
    assert first.status == second.status == 200
    value = service.secrets.get_secret_value(SecretId="toolgate/tenants/acme/support")["SecretString"]
    assert json.loads(value) == {"type": "bearer", "token": "second"}
    view = service.api("GET", "/v1/integrations/support/credential").body
    assert view["credential"]["bound"] is True and set(view["credential"]) == {"type", "bound", "updated_at"}


def test_credential_for_an_unknown_integration_is_not_stored(service: Service) -> None:
    response = service.api("PUT", "/v1/integrations/ghost/credential", body={"type": "bearer", "token": "x"})
    assert response.error_code == "NOT_FOUND"
    assert service.secrets.list_secrets()["SecretList"] == []


def test_shared_credential_slot_from_settings_names_the_secret(service: Service) -> None:
    service.api("POST", "/v1/integrations", body={"id": "support", "settings": {"credential": "desk-shared"}})
    service.api("PUT", "/v1/integrations/support/credential", body={"type": "bearer", "token": "shared"})
    names = [secret["Name"] for secret in service.secrets.list_secrets()["SecretList"]]
    assert names == ["toolgate/tenants/acme/desk-shared"]


def test_deleting_an_integration_schedules_its_own_credential_for_deletion(service: Service) -> None:
    service.api("POST", "/v1/integrations", body={"id": "support"})
    service.api("PUT", "/v1/integrations/support/credential", body={"type": "bearer", "token": "x"})
    assert service.api("DELETE", "/v1/integrations/support").status == 204
    described = service.secrets.describe_secret(SecretId="toolgate/tenants/acme/support")
    assert "DeletedDate" in described
