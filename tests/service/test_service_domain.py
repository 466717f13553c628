"""The service's pure domain: API keys, the tenant context, key layout, sequencers, settings filters."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from toolgate.errors import ApiKeyInvalidError, RoleForbiddenError, UnauthenticatedError
from toolgate.service.api_keys import authenticate, issue_key, parse_key
from toolgate.service.layout import (
    artifact_prefix,
    compare_sequencers,
    parse_upload_key,
    upload_prefix,
)
from toolgate.service.models import ApiKeyRecord, IntegrationSettings
from toolgate.service.tenancy import Role, TenantContext, tenant_context_from_event
from toolgate.settings import ServiceSettings
from toolgate.spec.models import CanonicalTool

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class DictKeyReader:
    def __init__(self, *records: tuple[str, ApiKeyRecord]) -> None:
        self.records = {(tenant, record.key_id): record for tenant, record in records}

    def get_api_key(self, tenant_id: str, key_id: str) -> ApiKeyRecord | None:
        return self.records.get((tenant_id, key_id))


def test_issued_key_is_stored_only_as_its_sha256() -> None:
    issued = issue_key("acme", Role.AGENT, "bot", NOW)
    assert issued.key.startswith("tg_acme_")
    assert issued.record.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
    assert issued.key not in issued.record.model_dump_json()
    assert issued.key not in repr(issued)


def test_valid_key_authenticates_as_its_tenant_role_and_principal() -> None:
    issued = issue_key("acme", Role.AGENT, "support-bot", NOW)
    reader = DictKeyReader(("acme", issued.record))
    expected = TenantContext("acme", Role.AGENT, "support-bot", key_id=issued.record.key_id)
    assert authenticate(issued.key, reader) == expected
    assert authenticate(f"Bearer {issued.key}", reader).tenant_id == "acme"


def test_revoked_key_is_refused() -> None:
    issued = issue_key("acme", Role.ADMIN, "ops", NOW)
    revoked = issued.record.model_copy(update={"revoked": True})
    with pytest.raises(ApiKeyInvalidError):
        authenticate(issued.key, DictKeyReader(("acme", revoked)))


def test_key_with_a_guessed_secret_is_refused() -> None:
    issued = issue_key("acme", Role.ADMIN, "ops", NOW)
    forged = issued.key[:-4] + ("AAAA" if not issued.key.endswith("AAAA") else "BBBB")
    with pytest.raises(ApiKeyInvalidError):
        authenticate(forged, DictKeyReader(("acme", issued.record)))


def test_key_of_t1_cannot_be_presented_as_t10() -> None:
    issued = issue_key("t1", Role.ADMIN, "ops", NOW)
    relabelled = issued.key.replace("tg_t1_", "tg_t10_", 1)
    reader = DictKeyReader(("t1", issued.record))
    with pytest.raises(ApiKeyInvalidError):
        authenticate(relabelled, reader)
    # Even if t10 stored a record with the same key id, the hash covers the tenant part of the key.
    with pytest.raises(ApiKeyInvalidError):
        authenticate(relabelled, DictKeyReader(("t10", issued.record)))


@pytest.mark.parametrize(
    "presented",
    ["", "Bearer", "tg_acme", "tg_ACME_0123456789abcdef_" + "a" * 43, "tg_acme_zz_" + "a" * 43, "x" * 500],
)
def test_malformed_keys_do_not_parse(presented: str) -> None:
    assert parse_key(presented) is None
    with pytest.raises(ApiKeyInvalidError):
        authenticate(presented, DictKeyReader())


def _event(authorizer: object, **extra: object) -> dict[str, object]:
    return {"requestContext": {"authorizer": authorizer}, **extra}


def test_tenant_comes_from_the_authorizer_context_only() -> None:
    event = _event(
        {"tenant_id": "acme", "role": "agent", "principal": "bot", "key_id": "0123456789abcdef"},
        pathParameters={"tenant_id": "evil"},
        body='{"tenant_id": "evil"}',
        headers={"x-tenant-id": "evil"},
    )
    assert tenant_context_from_event(event) == TenantContext("acme", Role.AGENT, "bot", "0123456789abcdef")


@pytest.mark.parametrize(
    "authorizer",
    [
        None,
        {},
        {"tenant_id": "ACME", "role": "admin", "principal": "p"},
        {"tenant_id": "acme", "role": "root", "principal": "p"},
        {"tenant_id": "acme", "role": "admin", "principal": ""},
        {"tenant_id": "a/b", "role": "admin", "principal": "p"},
        {"tenant_id": "acme", "role": "admin", "principal": "p"},
        {"tenant_id": "acme", "role": "admin", "principal": "p", "key_id": "not-a-key-id"},
    ],
)
def test_missing_or_invalid_authorizer_context_is_unauthenticated(authorizer: object) -> None:
    with pytest.raises(UnauthenticatedError):
        tenant_context_from_event(_event(authorizer))


def test_agent_role_cannot_pass_an_admin_check() -> None:
    with pytest.raises(RoleForbiddenError):
        TenantContext("acme", Role.AGENT, "bot").require_admin()
    TenantContext("acme", Role.AGENT, "bot").require(Role.ADMIN, Role.AGENT)


def test_upload_keys_parse_into_tenant_integration_and_file() -> None:
    location = parse_upload_key("tenants/t1/integrations/crm/openapi.yaml")
    assert location is not None
    assert (location.tenant_id, location.integration_id, location.filename) == ("t1", "crm", "openapi.yaml")
    settings = parse_upload_key("tenants/t1/integrations/crm/toolgate.json")
    assert settings is not None and settings.is_settings


@pytest.mark.parametrize(
    "key",
    [
        "tenants/t1/integrations/crm/other.yaml",
        "tenants/t1/integrations/crm/nested/openapi.yaml",
        "tenants/t1/integrations/../openapi.yaml",
        "tenants/T1/integrations/crm/openapi.yaml",
        "tenants/t1/integrations/-crm/openapi.yaml",
        "artifacts/tenants/t1/integrations/crm/openapi.yaml",
        "tenants/t1/openapi.yaml",
    ],
)
def test_other_keys_are_not_uploads(key: str) -> None:
    assert parse_upload_key(key) is None


def test_prefixes_end_with_a_slash_so_t1_never_covers_t10() -> None:
    assert not upload_prefix("t10", "crm").startswith(upload_prefix("t1", "crm").rstrip("/") + "0")
    assert not f"{upload_prefix('t10', 'crm')}openapi.yaml".startswith("tenants/t1/")
    assert not artifact_prefix("t10", "crm").startswith("artifacts/tenants/t1/")
    assert artifact_prefix("t1", "crm", "v1-ab").endswith("/v1-ab/")


def test_sequencers_compare_after_left_padding() -> None:
    assert compare_sequencers("0055AED6DCD90281E5", "0055AED6DCD90281E5") == 0
    assert compare_sequencers("0055AED6DCD90281E6", "0055AED6DCD90281E5") == 1
    # A shorter sequencer is padded with zeros on the left, so "FF" is before "0100".
    assert compare_sequencers("FF", "0100") == -1
    assert compare_sequencers("100", "FF") == 1
    assert compare_sequencers("ab", "AB") == 0


def _tool(name: str, operation_id: str | None = None) -> CanonicalTool:
    return CanonicalTool(
        name=name,
        description="d",
        operation_id=operation_id,
        method="get",
        path="/x",
        pointer="/paths/~1x/get",
        input_schema={"type": "object"},
    )


def test_include_and_exclude_patterns_match_names_and_operation_ids() -> None:
    settings = IntegrationSettings(include=["*_case", "listThings"], exclude=["delete_*"])
    assert settings.selects(_tool("create_case"))
    assert settings.selects(_tool("list_things", "listThings"))
    assert not settings.selects(_tool("delete_case"))
    assert not settings.selects(_tool("get_user"))
    assert IntegrationSettings().selects(_tool("anything"))


@pytest.mark.parametrize(
    "document",
    [
        {"server_url": "ftp://example.com"},
        {"server_url": "https://"},
        {"server_url": "https://example.com/a b"},
        {"assistants": ["Not_An_Id"]},
        {"unknown": 1},
    ],
)
def test_invalid_settings_are_refused(document: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        IntegrationSettings.model_validate(document)


REQUIRED_SERVICE_ENV = {
    "TOOLGATE_TABLE_NAME": "table",
    "TOOLGATE_BUCKET_NAME": "bucket",
    "TOOLGATE_TENANT_ROLE_ARN": "arn:aws:iam::123456789012:role/tenant",
}


def test_service_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED_SERVICE_ENV.items():
        monkeypatch.setenv(name, value)
    settings = ServiceSettings.from_environment()
    assert (settings.table_name, settings.bucket_name) == ("table", "bucket")
    assert settings.secret_prefix == "toolgate/tenants"
    monkeypatch.delenv("TOOLGATE_BUCKET_NAME")
    with pytest.raises(ValidationError):
        ServiceSettings.from_environment()


@pytest.mark.parametrize(
    "overrides",
    [
        {"TOOLGATE_SESSION_REFRESH_MARGIN_SECONDS": "200", "TOOLGATE_UPLOAD_URL_EXPIRY_SECONDS": "300"},
        {"TOOLGATE_SESSION_REFRESH_MARGIN_SECONDS": "3600", "TOOLGATE_SESSION_DURATION_SECONDS": "3600"},
    ],
)
def test_session_refresh_margin_must_outlive_upload_urls_and_fit_the_session(
    monkeypatch: pytest.MonkeyPatch, overrides: dict[str, str]
) -> None:
    for name, value in {**REQUIRED_SERVICE_ENV, **overrides}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        ServiceSettings.from_environment()
