"""Per-tenant limits on tool calls in the stack: one set of defaults and ceilings for every function that
applies, shows or checks them, and ceilings that leave room for the other tenants unless the operator says
otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from aws_cdk.assertions import Template
from synth_helpers import logical_id, synthesize
from toolgate.settings import LimitSettings

from infra.stack import (
    API_BURST_LIMIT,
    API_RATE_LIMIT,
    DEFAULT_TENANT_CEILINGS,
    INVOKE_SIZING,
    TenantCeilingsError,
    TenantLimitValues,
    ToolgateStack,
    limits_environment,
)

CEILING_VARIABLES = (
    "TOOLGATE_LIMITS_MAX_REQUESTS_PER_SECOND",
    "TOOLGATE_LIMITS_MAX_BURST",
    "TOOLGATE_LIMITS_MAX_CONCURRENT_CALLS",
)
OPERATOR_CONTEXT = {
    "toolgate:tenantMaxRequestsPerSecond": "40",
    "toolgate:tenantMaxBurst": "8",
    "toolgate:tenantMaxConcurrentCalls": "5",
}


def limit_variables(stack: ToolgateStack, resources: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each limited function's `TOOLGATE_LIMITS_*` variables, by construct path."""
    found = {}
    for function in stack.limited_functions:
        variables = resources[logical_id(function)]["Properties"]["Environment"]["Variables"]
        found[function.node.path] = {
            name: value for name, value in variables.items() if name.startswith("TOOLGATE_LIMITS_")
        }
    return found


def test_the_api_invoke_mcp_and_jobs_functions_get_the_same_limits_and_ceilings(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    found = limit_variables(stack, resources)
    assert sorted(path.rsplit("/", 1)[-1] for path in found) == [
        "ApiFunction",
        "InvokeFunction",
        "JobsFunction",
        "McpFunction",
    ]
    for path, variables in found.items():
        assert variables == stack.limits_environment, path
        assert set(CEILING_VARIABLES) <= variables.keys(), path


def test_the_stacks_limits_are_settings_the_functions_load_and_equal_their_own_defaults(
    stack: ToolgateStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in stack.limits_environment.items():
        monkeypatch.setenv(name, value)
    # Tests and local runs without the stack's variables get the same limits as a deployment.
    assert LimitSettings() == LimitSettings.model_construct()


def test_a_tenant_admin_cannot_be_allowed_the_capacity_every_tenant_shares_by_default() -> None:
    ceilings = DEFAULT_TENANT_CEILINGS
    assert ceilings.requests_per_second <= API_RATE_LIMIT / 2
    assert ceilings.burst <= API_BURST_LIMIT / 2
    assert ceilings.concurrent_calls <= INVOKE_SIZING.reserved_concurrency / 2


@pytest.fixture(scope="module")
def operator_ceilings(tmp_path_factory: pytest.TempPathFactory) -> tuple[ToolgateStack, dict[str, Any]]:
    """The stack deployed with `-c toolgate:tenantMax...=...`."""
    synthesized = synthesize(tmp_path_factory.mktemp("ceilings"), nag=False, context=OPERATOR_CONTEXT)
    resources = cast(dict[str, Any], Template.from_stack(synthesized.stack).to_json()["Resources"])
    return synthesized.stack, resources


def test_an_operator_sets_the_ceilings_of_every_limited_function_with_cdk_context(
    operator_ceilings: tuple[ToolgateStack, dict[str, Any]],
) -> None:
    stack, resources = operator_ceilings
    for path, variables in limit_variables(stack, resources).items():
        assert [variables[name] for name in CEILING_VARIABLES] == ["40.0", "8", "5"], path
        # A ceiling below a default lowers that default with it, so that the functions' settings load.
        assert (variables["TOOLGATE_LIMITS_BURST"], variables["TOOLGATE_LIMITS_CONCURRENT_CALLS"]) == (
            "8",
            "5",
        )
        assert variables["TOOLGATE_LIMITS_REQUESTS_PER_SECOND"] == "10", path


@pytest.mark.parametrize(
    "ceilings",
    [
        TenantLimitValues(requests_per_second=API_RATE_LIMIT + 1, burst=10, concurrent_calls=10),
        TenantLimitValues(requests_per_second=10, burst=API_BURST_LIMIT + 1, concurrent_calls=10),
        TenantLimitValues(
            requests_per_second=10, burst=10, concurrent_calls=INVOKE_SIZING.reserved_concurrency + 1
        ),
        TenantLimitValues(requests_per_second=0.001, burst=10, concurrent_calls=10),
        TenantLimitValues(requests_per_second=float("nan"), burst=10, concurrent_calls=10),
        TenantLimitValues(requests_per_second=10, burst=10, concurrent_calls=0),
    ],
)
def test_a_ceiling_beyond_what_every_tenant_shares_is_refused_at_synth(ceilings: TenantLimitValues) -> None:
    with pytest.raises(TenantCeilingsError, match=r"toolgate:tenantMax\*"):
        limits_environment(ceilings)


@pytest.mark.parametrize(
    ("key", "value"),
    [("toolgate:tenantMaxConcurrentCalls", "lots"), ("toolgate:tenantMaxBurst", "2.5")],
)
def test_a_ceiling_context_value_that_is_not_a_number_is_refused_by_name(
    tmp_path: Path, key: str, value: str
) -> None:
    with pytest.raises(TenantCeilingsError, match=key):
        synthesize(tmp_path, nag=False, context={key: value})
