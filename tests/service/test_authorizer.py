"""The Lambda authorizer: a tenant API key becomes the tenant context, and nothing else gets through."""

from __future__ import annotations

import pytest
from service_harness import METHOD_ARN, api_event
from service_world import Service

from functions.authorizer.handler import UnauthorizedError


def test_bootstrap_key_is_an_admin_of_its_tenant(service: Service) -> None:
    key = service.bootstrap("acme")
    response = service.authorize(f"Bearer {key}")
    key_id = key.split("_")[2]
    assert response["context"] == {
        "tenant_id": "acme",
        "role": "admin",
        "principal": "bootstrap",
        "key_id": key_id,
    }
    assert response["principalId"] == "acme:bootstrap"
    statement = response["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    # Cached per key across routes, so the policy covers the whole stage.
    assert statement["Resource"] == [METHOD_ARN.split("/GET/")[0] + "/*/*"]


def test_request_type_authorizer_reads_the_authorization_header(service: Service) -> None:
    key = service.bootstrap("acme")
    assert service.authorize(key, request_type=True)["context"]["tenant_id"] == "acme"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "tg_acme_0123456789abcdef_" + "A" * 43,
        "tg_nobody_0123456789abcdef_" + "A" * 43,
    ],
)
def test_bad_keys_get_unauthorized(service: Service, token: str) -> None:
    service.bootstrap("acme")
    with pytest.raises(UnauthorizedError, match=r"^Unauthorized$"):
        service.authorize(token)


def test_key_relabelled_with_another_tenant_is_refused(service: Service) -> None:
    key = service.bootstrap("t1")
    service.bootstrap("t10")
    with pytest.raises(UnauthorizedError):
        service.authorize(key.replace("tg_t1_", "tg_t10_", 1))


def test_refused_key_is_not_logged(service: Service, log_lines) -> None:  # type: ignore[no-untyped-def]
    key = service.bootstrap("acme")
    forged = key[:-6] + "forged"
    with pytest.raises(UnauthorizedError):
        service.authorize(forged)
    service.authorize(key)
    assert not [line for line in log_lines() if forged in line or key in line]
    assert any("api key refused" in line for line in log_lines())


def test_agent_key_through_the_authorizer_cannot_reach_admin_routes(service: Service) -> None:
    admin = service.authorize(service.bootstrap("acme"))["context"]
    created = service.api(
        "POST", "/v1/api-keys", tenant=admin["tenant_id"], body={"role": "agent", "principal": "bot"}
    )
    agent = service.authorize(created.body["key"])["context"]
    assert agent == {
        "tenant_id": "acme",
        "role": "agent",
        "principal": "bot",
        "key_id": created.body["api_key"]["key_id"],
    }
    from service_harness import FakeLambdaContext

    from functions.api.handler import lambda_handler

    event = api_event(
        "GET",
        "/v1/integrations",
        tenant=agent["tenant_id"],
        role=agent["role"],
        principal=agent["principal"],
        key_id=agent["key_id"],
    )
    assert lambda_handler(event, FakeLambdaContext())["statusCode"] == 403


def test_each_tenant_is_throttled_by_its_own_usage_key_in_the_plan(service: Service) -> None:
    """Without a usage key per tenant, API Gateway could not throttle one tenant apart from the others."""
    acme = service.authorize(service.bootstrap("acme"))["usageIdentifierKey"]
    globex = service.authorize(service.bootstrap("globex"))["usageIdentifierKey"]
    assert acme != globex
    assert sorted(service.usage_plan_key_values()) == sorted([acme, globex])
