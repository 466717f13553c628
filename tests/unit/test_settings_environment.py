"""Settings read `TOOLGATE_*` variables without pydantic-settings (issue 16, cold start), and must read them
as it did: a deployment's variables keep their meaning, and a bad one is refused, never half-applied."""

from __future__ import annotations

from importlib import import_module

import pytest
from pydantic import ValidationError
from toolgate.settings import JobSettings, LimitSettings, ServiceSettings, ToolgateSettings


def test_settings_variables_keep_their_meaning_case_json_and_nested_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("toolgate_runtime__allow_http", "true")
    monkeypatch.setenv("TOOLGATE_RUNTIME__ALLOWED_HOSTS", '["api.example.com", "*.example.org"]')
    monkeypatch.setenv("TOOLGATE_COMPILE", '{"max_depth": 50, "max_operations": 7}')
    monkeypatch.setenv("TOOLGATE_COMPILE__MAX_OPERATIONS", "9")
    monkeypatch.setenv("TOOLGATE_LIMITS_BURST", "7")
    monkeypatch.setenv(
        "TOOLGATE_JOBS_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:j"
    )
    settings = ToolgateSettings()
    assert settings.runtime.allow_http is True
    assert settings.runtime.allowed_hosts == ["api.example.com", "*.example.org"]
    # A whole sub-model as JSON, with one field overridden by its own variable.
    assert (settings.compile.max_depth, settings.compile.max_operations) == (50, 9)
    assert LimitSettings().burst == 7
    # Keyword arguments win over the environment; only `model_construct` skips it.
    assert LimitSettings(burst=3).burst == 3
    assert LimitSettings.model_validate({}).burst == 7
    assert LimitSettings.model_construct().burst == LimitSettings.model_fields["burst"].default
    assert JobSettings().state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:j"


def test_a_setting_that_is_not_json_where_json_is_needed_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOOLGATE_RUNTIME__ALLOWED_LOOPBACK_PORTS", "[8123")
    with pytest.raises(ValueError, match="TOOLGATE_RUNTIME__ALLOWED_LOOPBACK_PORTS must hold JSON"):
        ToolgateSettings()


def test_a_missing_or_out_of_range_service_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLGATE_TABLE_NAME", "table")
    monkeypatch.setenv("TOOLGATE_BUCKET_NAME", "bucket")
    with pytest.raises(ValidationError, match="tenant_role_arn"):
        ServiceSettings.from_environment()
    monkeypatch.setenv("TOOLGATE_TENANT_ROLE_ARN", "arn:aws:iam::123456789012:role/tenant")
    monkeypatch.setenv("TOOLGATE_SESSION_DURATION_SECONDS", "60")
    with pytest.raises(ValidationError, match="session_duration_seconds"):
        ServiceSettings.from_environment()


def test_every_settings_name_resolves_from_the_package_and_its_getters_can_be_cleared() -> None:
    """The models live in modules loaded when first named (cold start); `toolgate.settings` still answers
    every name, and a getter taken from it is in its namespace, where the local stack finds the caches it
    clears when it changes the environment (`toolgate_local.stack._clear_settings_caches`)."""
    from toolgate import settings

    for name in settings._HOMES:
        assert getattr(settings, name) is getattr(
            import_module(f"toolgate.settings.{settings._HOMES[name]}"), name
        )
    getters = [value for value in vars(settings).values() if callable(getattr(value, "cache_clear", None))]
    assert {getter.__name__ for getter in getters} == {
        name for name in settings._HOMES if name.startswith("get_")
    }
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchSettings'"):
        _ = settings.NoSuchSettings
