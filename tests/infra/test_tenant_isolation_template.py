"""`toolgate:tenantIsolation=true`: the invoke and MCP functions run in Lambda's tenant isolation mode, and
every API Gateway integration of theirs names the event's tenant to Lambda from the authorizer's verified
context, never from anything the caller sends. Off by default."""

from __future__ import annotations

from typing import Any, cast

import pytest
from aws_cdk.assertions import Template
from cfnlint.api import lint_file
from synth_helpers import Synthesized, invoked_function, logical_id, of_type, synthesize
from toolgate.service.tenancy import is_tenant_id

from infra.stack import (
    TENANT_ID_FROM_AUTHORIZER,
    TENANT_ID_INTEGRATION_HEADER,
    TENANT_ISOLATED_FUNCTIONS,
    UNAUTHENTICATED_TENANT_ID,
    ToolgateStack,
)

PER_TENANT = {"TenantIsolationMode": "PER_TENANT"}


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Synthesized as `cdk synth -c toolgate:tenantIsolation=true` does it, cdk-nag included."""
    return synthesize(
        tmp_path_factory.mktemp("isolated"), nag=True, context={"toolgate:tenantIsolation": "true"}
    )


@pytest.fixture(scope="module")
def isolated_resources(isolated: Synthesized) -> dict[str, Any]:
    return cast(dict[str, Any], Template.from_stack(isolated.stack).to_json()["Resources"])


def _integrations_of(
    stack: ToolgateStack, resources: dict[str, Any], name: str
) -> list[tuple[str, dict[str, Any]]]:
    """The authorization and integration of each method that invokes function `name`."""
    function = logical_id(getattr(stack, f"{name}_function"))
    found = []
    for method in of_type(resources, "AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        integration = properties["Integration"]
        if "Uri" in integration and invoked_function(resources, integration["Uri"]) == function:
            found.append((properties["AuthorizationType"], integration))
    return found


def test_tenant_isolation_is_off_by_default(stack: ToolgateStack, resources: dict[str, Any]) -> None:
    for function in of_type(resources, "AWS::Lambda::Function").values():
        assert "TenancyConfig" not in function["Properties"]
    for name in TENANT_ISOLATED_FUNCTIONS:
        for _, integration in _integrations_of(stack, resources, name):
            assert TENANT_ID_INTEGRATION_HEADER not in integration.get("RequestParameters", {})


def test_only_the_tool_call_functions_are_isolated_per_tenant(
    isolated: Synthesized, isolated_resources: dict[str, Any]
) -> None:
    isolated_functions = {
        function_id
        for function_id, function in of_type(isolated_resources, "AWS::Lambda::Function").items()
        if function["Properties"].get("TenancyConfig") == PER_TENANT
    }
    assert isolated_functions == {
        logical_id(getattr(isolated.stack, f"{name}_function")) for name in TENANT_ISOLATED_FUNCTIONS
    }


def test_isolated_functions_have_no_snap_start_and_the_rest_of_the_request_path_keeps_it(
    isolated: Synthesized, isolated_resources: dict[str, Any]
) -> None:
    """Lambda refuses SnapStart on a function in tenant isolation mode; the aliases stay either way."""
    for name in ("invoke", "mcp"):
        properties = isolated_resources[logical_id(getattr(isolated.stack, f"{name}_function"))]["Properties"]
        assert "SnapStart" not in properties
    for name in ("authorizer", "jobs", "callback"):
        properties = isolated_resources[logical_id(getattr(isolated.stack, f"{name}_function"))]["Properties"]
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert {"invoke", "mcp"} <= set(isolated.stack.live_aliases)


def test_a_caller_can_never_choose_the_tenant_environment_its_call_runs_in(
    isolated: Synthesized, isolated_resources: dict[str, Any]
) -> None:
    """Every authorized route to an isolated function takes the tenant id from the authorizer's context;
    a mapping from a request header, query string or path would let a caller pick another tenant's
    environments."""
    for name in TENANT_ISOLATED_FUNCTIONS:
        integrations = _integrations_of(isolated.stack, isolated_resources, name)
        assert integrations, name
        for authorization, integration in integrations:
            source = integration["RequestParameters"][TENANT_ID_INTEGRATION_HEADER]
            if authorization == "CUSTOM":
                assert source == TENANT_ID_FROM_AUTHORIZER
            else:
                # OAuth discovery (no key, answered 404): a fixed id that no tenant can have.
                assert source == f"'{UNAUTHENTICATED_TENANT_ID}'"


def test_the_unauthenticated_environment_id_can_never_be_a_tenants() -> None:
    assert not is_tenant_id(UNAUTHENTICATED_TENANT_ID)


def test_the_isolated_stack_passes_cdk_nag_and_cfn_lint(isolated: Synthesized) -> None:
    assert isolated.synth_error is None, isolated.synth_error
    template = isolated.outdir / f"{isolated.stack.artifact_id}.template.json"
    assert [f"{match.rule.id} {match.message} ({match.path})" for match in lint_file(template)] == []
