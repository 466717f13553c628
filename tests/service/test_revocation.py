"""Revocation contains a leaked key at once, although API Gateway keeps serving the authorizer's cached
Allow for that key (up to 300 s in the stack): the API and invoke functions read the key's row again.

Each test takes the authorizer's real answer for a key (the context API Gateway would cache), revokes the
key, and then sends requests with that cached context, as API Gateway would within the cache window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from invoke_harness import SEED_ARGUMENTS, SPEC, Desk, desk_world, invoke_event
from service_harness import FakeLambdaContext, api_event
from service_world import Service
from toolgate.adapters.aws.dynamodb import DynamoTenantStore
from toolgate.service.api_keys import revoke_api_key
from toolgate.service.models import ApiKeyRecord

from functions.api.handler import app

Context = dict[str, Any]


def _cached_allow(service: Service, key: str) -> Context:
    """The authorizer's context for `key`: what API Gateway hands the functions while its cache holds it."""
    return dict(service.authorize(f"Bearer {key}")["context"])


def _with(service: Service, allow: Context, method: str, path: str, **kwargs: Any) -> Any:
    """A request that API Gateway lets through on the cached `allow`."""
    return service.api(
        method,
        path,
        tenant=allow["tenant_id"],
        role=allow["role"],
        principal=allow["principal"],
        key_id=allow["key_id"],
        **kwargs,
    )


def _revoke(service: Service, allow: Context) -> None:
    """Another admin of the tenant revokes the key; the answer is what the guarantee starts from."""
    revoked = service.api("DELETE", f"/v1/api-keys/{allow['key_id']}", tenant=allow["tenant_id"])
    assert (revoked.status, revoked.body["revoked"]) == (200, True)


def _state(service: Service) -> tuple[list[dict[str, Any]], dict[str, bytes], dict[str, str]]:
    """Everything a request could change: every item, every object version, every secret value."""
    items = sorted(service.table_items(), key=lambda item: (item["pk"], item["sk"]))
    secrets = {
        entry["Name"]: service.secrets.get_secret_value(SecretId=entry["ARN"])["SecretString"]
        for entry in service.secrets.list_secrets()["SecretList"]
    }
    return items, service.all_objects(), secrets


def _seed(service: Service) -> None:
    """Integration `support` (ready, with a credential) and assistant `desk` for acme, by an admin."""
    assert service.api("PUT", "/v1/integrations/support", body=SPEC, headers={}).status == 200
    bound = service.api("PUT", "/v1/integrations/support/credential", body={"type": "bearer", "token": "t-1"})
    assert bound.status == 200
    assert (
        service.api("POST", "/v1/assistants", body={"id": "desk", "integrations": ["support"]}).status == 201
    )


# --- Minting keys -------------------------------------------------------------------------------


def test_revoked_admin_key_cannot_mint_a_new_key(service: Service) -> None:
    leaked = _cached_allow(service, service.bootstrap("acme"))
    first = _with(service, leaked, "POST", "/v1/api-keys", body={"role": "agent", "principal": "used-once"})
    assert first.status == 201
    _revoke(service, leaked)
    before = _state(service)

    minted = _with(service, leaked, "POST", "/v1/api-keys", body={"role": "admin", "principal": "intruder"})

    assert (minted.status, minted.error_code) == (401, "API_KEY_REVOKED")
    assert "key" not in minted.body
    assert _state(service) == before


def test_key_minted_while_its_issuer_is_being_revoked_is_never_handed_out(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The revocation commits between the request's key check and its write of the new key."""
    leaked = _cached_allow(service, service.bootstrap("acme"))
    save_api_key = DynamoTenantStore.save_api_key

    def revoked_meanwhile(
        store: DynamoTenantStore, record: ApiKeyRecord, expected_version: int | None
    ) -> None:
        if record.principal == "intruder" and expected_version is None:
            revoke_api_key(DynamoTenantStore(service.table, "acme"), leaked["key_id"])
        save_api_key(store, record, expected_version)

    monkeypatch.setattr(DynamoTenantStore, "save_api_key", revoked_meanwhile)

    minted = _with(service, leaked, "POST", "/v1/api-keys", body={"role": "admin", "principal": "intruder"})

    assert (minted.status, minted.error_code) == (401, "API_KEY_REVOKED")
    [stored] = [item for item in service.table_items() if item.get("principal") == "intruder"]
    assert stored["revoked"] is True


def test_key_minted_before_the_revocation_is_not_revoked_with_it(service: Service) -> None:
    """Revocation is per key: what the key did before it was revoked stands, and is the admin's to undo."""
    leaked = _cached_allow(service, service.bootstrap("acme"))
    minted = _with(service, leaked, "POST", "/v1/api-keys", body={"role": "admin", "principal": "second"})
    _revoke(service, leaked)
    assert _cached_allow(service, minted.body["key"])["role"] == "admin"


# --- Every management route ---------------------------------------------------------------------

#: A valid body for each route that takes one, so that only the revocation can stop the request.
VALID_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/api-keys"): {"role": "admin", "principal": "intruder"},
    ("POST", "/v1/integrations"): {"id": "intruder"},
    ("PUT", "/v1/integrations/{integration_id}"): SPEC,
    ("PUT", "/v1/integrations/{integration_id}/settings"): {"exclude": ["delete_*"]},
    ("PUT", "/v1/integrations/{integration_id}/credential"): {"type": "bearer", "token": "intruder-token"},
    ("POST", "/v1/assistants"): {"id": "intruder", "integrations": ["support"]},
    ("PUT", "/v1/assistants/{assistant_id}"): {"integrations": []},
    ("PUT", "/v1/limits"): {"requests_per_second": 25, "burst": 50, "concurrent_calls": 25},
}


def _management_routes() -> list[tuple[str, str]]:
    """Every route of the API function: its published OpenAPI document, and the document's own route."""
    document = app.get_openapi_schema().model_dump(by_alias=True, exclude_none=True)
    routes = [(method.upper(), path) for path, item in document["paths"].items() for method in item]
    return [*sorted(routes), ("GET", "/v1/openapi.json")]


def test_every_route_that_takes_a_body_has_a_valid_one_here() -> None:
    document = app.get_openapi_schema().model_dump(by_alias=True, exclude_none=True)
    with_body = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert with_body <= VALID_BODIES.keys(), sorted(with_body - VALID_BODIES.keys())


@pytest.mark.parametrize(("method", "route"), _management_routes())
def test_revoked_key_can_neither_write_nor_read_through_the_cached_allow(
    service: Service, method: str, route: str
) -> None:
    _seed(service)
    leaked = _cached_allow(service, service.bootstrap("acme"))
    path = route.format(integration_id="support", assistant_id="desk", key_id=leaked["key_id"])
    body = VALID_BODIES.get((method, route))
    headers = {"content-type": "application/yaml"} if isinstance(body, str) else None
    _revoke(service, leaked)
    before = _state(service)

    response = _with(service, leaked, method, path, body=body, headers=headers)

    assert (response.status, response.error_code) == (401, "API_KEY_REVOKED"), response.body
    assert _state(service) == before


def test_authorizer_context_without_a_key_id_is_refused(service: Service) -> None:
    """A context that names no key cannot be checked against revocation, so it is not trusted at all."""
    response = service.api("POST", "/v1/api-keys", key_id=None, body={"role": "admin", "principal": "x"})
    assert (response.status, response.error_code) == (401, "UNAUTHENTICATED")
    assert not [item for item in service.table_items() if item["sk"].startswith("APIKEY#")]


def test_revoked_key_of_one_tenant_leaves_other_keys_working(service: Service) -> None:
    leaked = _cached_allow(service, service.bootstrap("acme"))
    other = _cached_allow(service, service.bootstrap("rival"))
    _revoke(service, leaked)
    assert _with(service, other, "GET", "/v1/integrations").status == 200
    assert _with(service, leaked, "GET", "/v1/integrations").error_code == "API_KEY_REVOKED"


# --- The invoke function ------------------------------------------------------------------------


@pytest.fixture
def desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with desk_world(service, monkeypatch) as world:
        world.seed("acme", {"type": "bearer", "token": "desk-token"})
        yield world


def _agent_allow(service: Service) -> Context:
    created = service.api("POST", "/v1/api-keys", body={"role": "agent", "principal": "support-bot"})
    return _cached_allow(service, created.body["key"])


def _invoke_as(allow: Context, **kwargs: Any) -> dict[str, Any]:
    from functions.invoke.handler import lambda_handler

    event = invoke_event(
        "desk",
        "create_support_case",
        tenant=allow["tenant_id"],
        role=allow["role"],
        key_id=allow["key_id"],
        body={"arguments": SEED_ARGUMENTS},
        **kwargs,
    )
    response: dict[str, Any] = lambda_handler(event, FakeLambdaContext())
    return response


def test_revoked_agent_key_cannot_invoke_a_tool_with_the_tenants_credential(desk: Desk) -> None:
    agent = _agent_allow(desk.service)
    assert _invoke_as(agent)["statusCode"] == 200
    assert len(desk.created_cases()) == 1
    _revoke(desk.service, agent)
    before = _state(desk.service)

    refused = _invoke_as(agent, headers={"Idempotency-Key": "after-revocation"})

    assert refused["statusCode"] == 401
    assert '"API_KEY_REVOKED"' in refused["body"]
    assert len(desk.created_cases()) == 1
    assert _state(desk.service) == before


@pytest.mark.parametrize(
    ("method", "resource", "parameters"),
    [
        ("GET", "/v1/continuations/{handle}", {"handle": "c" * 32}),
        ("GET", "/v1/jobs/{job_id}", {"job_id": "job-1"}),
        ("DELETE", "/v1/jobs/{job_id}", {"job_id": "job-1"}),
    ],
)
def test_revoked_agent_key_reads_and_cancels_no_job_or_result_page(
    desk: Desk, method: str, resource: str, parameters: dict[str, str]
) -> None:
    from functions.invoke.handler import lambda_handler

    agent = _agent_allow(desk.service)
    _revoke(desk.service, agent)
    path = resource.format(**parameters)
    event = api_event(
        method,
        path,
        tenant=agent["tenant_id"],
        role=agent["role"],
        principal=agent["principal"],
        key_id=agent["key_id"],
    )
    event.update(resource=resource, pathParameters=parameters)

    response = lambda_handler(event, FakeLambdaContext())

    assert response["statusCode"] == 401
    assert '"API_KEY_REVOKED"' in response["body"]
