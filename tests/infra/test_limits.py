"""Per-tenant limits on tool calls in the stack: one set of defaults for every function that applies or
shows them, and limiter rows the tenant-scoped role may write only in the tenant's own partition."""

from __future__ import annotations

from typing import Any

import pytest
from synth_helpers import logical_id
from toolgate.service.limits import MAX_BURST, MAX_CONCURRENT_CALLS, MAX_REQUESTS_PER_SECOND
from toolgate.settings import LimitSettings

from infra.stack import API_BURST_LIMIT, API_RATE_LIMIT, INVOKE_SIZING, LIMITS_ENVIRONMENT, ToolgateStack


def test_the_api_shows_the_same_default_limits_the_invoke_and_jobs_functions_apply(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    for function in stack.limited_functions:
        variables = resources[logical_id(function)]["Properties"]["Environment"]["Variables"]
        assert LIMITS_ENVIRONMENT.items() <= variables.items(), function.node.path


def test_default_limits_are_settings_the_functions_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in LIMITS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    settings = LimitSettings()
    for name, value in LIMITS_ENVIRONMENT.items():
        assert str(getattr(settings, name.removeprefix("TOOLGATE_LIMITS_").lower())) in {value, f"{value}.0"}


def test_no_tenant_may_be_given_more_than_the_stage_and_the_invoke_function_hold() -> None:
    assert MAX_REQUESTS_PER_SECOND <= API_RATE_LIMIT
    assert MAX_BURST <= API_BURST_LIMIT
    assert INVOKE_SIZING.reserved_concurrency >= MAX_CONCURRENT_CALLS
