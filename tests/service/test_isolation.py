"""Tenant isolation: tenant B cannot read, list, overwrite or delete tenant A's things through any route or
S3 key; `t1` is never `t10`; an agent key cannot do admin work."""

from __future__ import annotations

import json
from typing import Any

import pytest
from service_harness import harness_key_id, support_desk_listing
from service_world import Service
from toolgate.adapters.aws.dynamodb import DynamoTenantStore
from toolgate.adapters.aws.s3 import S3ObjectStore
from toolgate.errors import TenantForbiddenError
from toolgate_demo import support_desk_spec

SPEC = support_desk_spec().read_text()


def _seed(service: Service, tenant: str) -> None:
    """An integration `support` with a credential, an assistant `desk` and an agent key, for `tenant`."""
    assert service.api("PUT", "/v1/integrations/support", tenant=tenant, body=SPEC, headers={}).status == 200
    credential = {"type": "bearer", "token": f"token-of-{tenant}"}
    assert (
        service.api("PUT", "/v1/integrations/support/credential", tenant=tenant, body=credential).status
        == 200
    )
    body = {"id": "desk", "integrations": ["support"]}
    assert service.api("POST", "/v1/assistants", tenant=tenant, body=body).status == 201


def _snapshot(service: Service, tenant: str) -> list[dict[str, Any]]:
    return sorted(
        (item for item in service.table_items() if item["pk"] == tenant), key=lambda item: item["sk"]
    )


#: Every route that names one of a tenant's resources, with a body where it takes one.
RESOURCE_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/v1/integrations/support", None),
    ("GET", "/v1/integrations/support/status", None),
    ("GET", "/v1/integrations/support/report", None),
    ("GET", "/v1/integrations/support/credential", None),
    ("PUT", "/v1/integrations/support/settings", {"exclude": ["*"]}),
    ("DELETE", "/v1/integrations/support", None),
    ("GET", "/v1/assistants/desk", None),
    ("GET", "/v1/assistants/desk/tools", None),
    ("PUT", "/v1/assistants/desk", {"integrations": []}),
    ("DELETE", "/v1/assistants/desk", None),
]


@pytest.mark.parametrize(("method", "path", "body"), RESOURCE_ROUTES)
def test_tenant_b_cannot_reach_tenant_a_resources_by_any_route(
    service: Service, method: str, path: str, body: Any
) -> None:
    _seed(service, "tenant-a")
    before = _snapshot(service, "tenant-a")
    response = service.api(method, path, tenant="tenant-b", body=body)
    assert response.status == 404, response.body
    assert response.error_code == "NOT_FOUND"
    assert _snapshot(service, "tenant-a") == before


def test_tenant_b_lists_nothing_of_tenant_a(service: Service) -> None:
    _seed(service, "tenant-a")
    service.api("POST", "/v1/api-keys", tenant="tenant-a", body={"role": "agent", "principal": "bot"})
    assert service.api("GET", "/v1/integrations", tenant="tenant-b").body == {"integrations": []}
    assert service.api("GET", "/v1/assistants", tenant="tenant-b").body == {"assistants": []}
    listed = service.api("GET", "/v1/api-keys", tenant="tenant-b").body["api_keys"]
    assert [key["key_id"] for key in listed] == [harness_key_id("tenant-b", "admin", "tester")]


def test_tenant_b_writing_the_same_ids_gets_its_own_copies(service: Service) -> None:
    _seed(service, "tenant-a")
    before = _snapshot(service, "tenant-a")
    secret_a = service.secrets.get_secret_value(SecretId="toolgate/tenants/tenant-a/support")["SecretString"]
    _seed(service, "tenant-b")
    assert _snapshot(service, "tenant-a") == before
    assert (
        service.secrets.get_secret_value(SecretId="toolgate/tenants/tenant-a/support")["SecretString"]
        == secret_a
    )
    assert (
        "token-of-tenant-b"
        in service.secrets.get_secret_value(SecretId="toolgate/tenants/tenant-b/support")["SecretString"]
    )


def test_tenant_b_cannot_revoke_tenant_a_keys(service: Service) -> None:
    created = service.api(
        "POST", "/v1/api-keys", tenant="tenant-a", body={"role": "agent", "principal": "bot"}
    )
    key_id = created.body["api_key"]["key_id"]
    assert service.api("DELETE", f"/v1/api-keys/{key_id}", tenant="tenant-b").error_code == "NOT_FOUND"
    assert service.authorize(created.body["key"])["context"]["tenant_id"] == "tenant-a"


def test_tenant_named_in_path_body_or_headers_is_ignored(service: Service) -> None:
    _seed(service, "tenant-a")
    response = service.api(
        "POST",
        "/v1/assistants",
        tenant="tenant-b",
        body={"id": "x", "integrations": ["support"], "tenant_id": "tenant-a"},
        headers={"x-tenant-id": "tenant-a"},
    )
    assert response.error_code == "API_REQUEST_INVALID", "unknown body fields are refused, not trusted"
    listed = service.api(
        "GET",
        "/v1/integrations",
        tenant="tenant-b",
        query={"tenant_id": "tenant-a"},
        headers={"x-tenant-id": "tenant-a"},
    )
    assert listed.body == {"integrations": []}


def test_t1_never_sees_t10(service: Service) -> None:
    _seed(service, "t10")
    assert service.api("GET", "/v1/integrations", tenant="t1").body == {"integrations": []}
    assert service.api("GET", "/v1/integrations/support", tenant="t1").error_code == "NOT_FOUND"
    store = DynamoTenantStore(service.table, "t1")
    assert store.list_integrations() == []
    assert store.get_integration("support") is None


def test_s3_upload_under_a_tenants_key_lands_only_in_that_tenant(service: Service) -> None:
    service.upload("tenants/t10/integrations/support/openapi.yaml", SPEC.encode())
    assert service.api("GET", "/v1/integrations/support", tenant="t10").status == 200
    assert service.api("GET", "/v1/integrations/support", tenant="t1").error_code == "NOT_FOUND"
    assert {item["pk"] for item in service.table_items() if not item["sk"].startswith("APIKEY#")} == {"t10"}


@pytest.mark.parametrize(
    "key",
    [
        "tenants/tenant-a/integrations/support/openapi.yaml",
        "artifacts/tenants/tenant-a/integrations/support/report.json",
        "tenants/tenant-b0/integrations/support/openapi.yaml",
        "tenants/tenant-b/../tenant-a/integrations/support/openapi.yaml",
        "tenants/tenant-b",
        "other/tenants/tenant-b/x",
    ],
)
def test_tenant_object_store_refuses_keys_outside_its_prefixes(service: Service, key: str) -> None:
    store = S3ObjectStore(service.s3, "toolgate-test-specs", "tenant-b")
    with pytest.raises(TenantForbiddenError):
        store.get(key)
    with pytest.raises(TenantForbiddenError):
        store.put(key, b"x", "text/plain")
    with pytest.raises(TenantForbiddenError):
        store.presign_put(key, 60)


def test_upload_url_is_always_under_the_callers_prefix(service: Service) -> None:
    response = service.api("POST", "/v1/integrations/support/upload-url", tenant="tenant-b")
    assert response.body["key"] == "tenants/tenant-b/integrations/support/openapi.yaml"
    traversal = service.api("POST", "/v1/integrations/..%2Ftenant-a/upload-url", tenant="tenant-b")
    assert traversal.status == 404


ADMIN_ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/v1/api-keys", {"role": "admin", "principal": "escalate"}),
    ("GET", "/v1/api-keys", None),
    ("DELETE", "/v1/api-keys/0123456789abcdef", None),
    ("POST", "/v1/integrations", {"id": "new"}),
    ("GET", "/v1/integrations", None),
    ("GET", "/v1/integrations/support", None),
    ("PUT", "/v1/integrations/support", SPEC),
    ("DELETE", "/v1/integrations/support", None),
    ("GET", "/v1/integrations/support/status", None),
    ("GET", "/v1/integrations/support/report", None),
    ("PUT", "/v1/integrations/support/settings", {}),
    ("POST", "/v1/integrations/support/upload-url", None),
    ("PUT", "/v1/integrations/support/credential", {"type": "bearer", "token": "stolen"}),
    ("GET", "/v1/integrations/support/credential", None),
    ("POST", "/v1/assistants", {"id": "new"}),
    ("GET", "/v1/assistants", None),
    ("GET", "/v1/assistants/desk", None),
    ("PUT", "/v1/assistants/desk", {"integrations": []}),
    ("DELETE", "/v1/assistants/desk", None),
    ("GET", "/v1/limits", None),
    ("PUT", "/v1/limits", {"requests_per_second": 25, "burst": 50, "concurrent_calls": 25}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_agent_key_cannot_do_admin_work(service: Service, method: str, path: str, body: Any) -> None:
    _seed(service, "acme")
    harness_key_id("acme", "agent", "tester")
    before = _snapshot(service, "acme")
    response = service.api(method, path, tenant="acme", role="agent", body=body)
    assert (response.status, response.error_code) == (403, "ROLE_FORBIDDEN")
    assert _snapshot(service, "acme") == before


def test_agent_key_may_list_an_assistants_tools(service: Service) -> None:
    _seed(service, "acme")
    response = service.api("GET", "/v1/assistants/desk/tools", tenant="acme", role="agent")
    assert response.status == 200
    assert {tool["function"]["name"] for tool in response.body["tools"]} == support_desk_listing()


def test_every_admin_route_is_in_the_role_matrix(service: Service) -> None:
    document = service.api("GET", "/v1/openapi.json").body
    published = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    covered = {(method, path.replace("support", "{integration_id}", 1)) for method, path, _ in ADMIN_ROUTES}
    covered = {
        (method, path.replace("/desk", "/{assistant_id}").replace("0123456789abcdef", "{key_id}"))
        for method, path in covered
    }
    agent_routes = {("GET", "/v1/assistants/{assistant_id}/tools")}
    assert published - agent_routes == covered, json.dumps(sorted(published - agent_routes - covered))
