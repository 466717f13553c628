"""The per-tenant throttle in front of Lambda: API Gateway throttles each tenant by its own usage key
(returned by the authorizer) in one usage plan, and answers over the limit with our error envelope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synth_helpers import logical_id, synthesize
from toolgate.errors import RateLimitedError, UsageKeyMissingError

from infra.stack import DEFAULT_TENANT_CEILINGS, ToolgateStack


def of_type(resources: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in resources.items() if value["Type"] == resource_type}


def test_the_api_takes_each_tenants_usage_key_from_the_authorizer(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    """A key from the X-API-Key header would let a client pick whose throttle it spends."""
    api = resources[logical_id(stack.api)]["Properties"]
    assert api["ApiKeySourceType"] == "AUTHORIZER"


def test_every_tenant_route_requires_a_usage_key_so_no_tenant_escapes_the_throttle(
    resources: dict[str, Any],
) -> None:
    methods = of_type(resources, "AWS::ApiGateway::Method")
    custom = [
        method["Properties"]
        for method in methods.values()
        if method["Properties"]["AuthorizationType"] == "CUSTOM"
    ]
    assert custom and all(method["ApiKeyRequired"] is True for method in custom)
    # The callback (called by the target, which holds no Toolgate key) and OAuth discovery (public by
    # definition) have no authorizer, so they cannot need a usage key: API Gateway would refuse them all.
    others = [
        method["Properties"]
        for method in methods.values()
        if method["Properties"]["AuthorizationType"] != "CUSTOM"
    ]
    assert len(others) == 2 and all(method.get("ApiKeyRequired") is False for method in others)


def test_one_usage_plan_throttles_each_tenant_at_the_deployments_ceilings(
    stack: ToolgateStack, resources: dict[str, Any], template: Any
) -> None:
    (plan,) = of_type(resources, "AWS::ApiGateway::UsagePlan").values()
    properties = plan["Properties"]
    assert properties["Throttle"] == {
        "RateLimit": DEFAULT_TENANT_CEILINGS.requests_per_second,
        "BurstLimit": DEFAULT_TENANT_CEILINGS.burst,
    }
    (stage,) = properties["ApiStages"]
    assert stage["ApiId"] == {"Ref": logical_id(stack.api)}
    assert stage["Stage"] == {"Ref": logical_id(stack.api.deployment_stage)}
    # No quota: it would cut a tenant off for the rest of a period, which limits must never do.
    assert "Quota" not in properties
    # Keys are made per tenant by the bootstrap, never in the template (they would be shared).
    assert not of_type(resources, "AWS::ApiGateway::ApiKey")
    outputs = template.to_json()["Outputs"]
    assert outputs["TenantUsagePlanId"]["Value"] == {"Ref": logical_id(stack.tenant_usage_plan)}


def test_the_operators_ceilings_are_the_gateway_throttle(tmp_path: Path) -> None:
    context = {"toolgate:tenantMaxRequestsPerSecond": "0.5", "toolgate:tenantMaxBurst": "3"}
    synthesized = synthesize(tmp_path, nag=False, context=context)
    assert synthesized.synth_error is None
    resources = json.loads(
        (synthesized.outdir / f"{synthesized.stack.stack_name}.template.json").read_text()
    )["Resources"]
    (plan,) = of_type(resources, "AWS::ApiGateway::UsagePlan").values()
    assert plan["Properties"]["Throttle"] == {"RateLimit": 0.5, "BurstLimit": 3}
    (throttled,) = [
        response["Properties"]
        for response in of_type(resources, "AWS::ApiGateway::GatewayResponse").values()
        if response["Properties"]["ResponseType"] == "THROTTLED"
    ]
    # One request every 2 s: a client that waits less is refused again.
    assert throttled["ResponseParameters"] == {"gatewayresponse.header.Retry-After": "'2'"}


def test_a_throttled_tenant_gets_our_error_envelope_with_retry_after_not_a_bare_message(
    resources: dict[str, Any],
) -> None:
    responses = {
        response["Properties"]["ResponseType"]: response["Properties"]
        for response in of_type(resources, "AWS::ApiGateway::GatewayResponse").values()
    }
    throttled = responses["THROTTLED"]
    assert throttled["StatusCode"] == "429"
    assert throttled["ResponseParameters"] == {"gatewayresponse.header.Retry-After": "'1'"}
    body = json.loads(throttled["ResponseTemplates"]["application/json"])
    assert body["error"]["code"] == RateLimitedError.code
    assert "Retry-After" in body["error"]["message"]
    missing = responses["INVALID_API_KEY"]
    assert missing["StatusCode"] == "403"
    body = json.loads(missing["ResponseTemplates"]["application/json"])
    assert body["error"]["code"] == UsageKeyMissingError.code
    assert "toolgate admin usage-key" in body["error"]["message"]
