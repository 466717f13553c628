"""Over HTTP against the local stack, whose front door caches the authorizer's answer per key for the
template's TTL (300 s) as API Gateway does: a revoked key is refused at once all the same, and every route
of the synthesized API answers hostile bodies with a typed 4xx."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e_harness import Client
from toolgate_local.stack import LocalStack

DEEP_JSON = "[" * 100_000 + "]" * 100_000
HOSTILE_BODIES: dict[str, tuple[str, str]] = {
    "text-plain": ('{"id": "plain"}', "text/plain"),
    "deep-json": (DEEP_JSON, "application/json"),
}


@pytest.fixture(scope="module")
def stack(stack_template: Path) -> Iterator[LocalStack]:
    with LocalStack(stack_template) as local:
        yield local


def _authorizer_ttl(stack: LocalStack) -> int:
    assert stack.template is not None
    [authorizer] = [
        resource["Properties"]
        for resource in stack.template.resources.values()
        if resource["Type"] == "AWS::ApiGateway::Authorizer"
    ]
    return int(authorizer["AuthorizerResultTtlInSeconds"])


def test_revoked_admin_key_cannot_mint_a_new_key_within_the_authorizer_cache(stack: LocalStack) -> None:
    assert _authorizer_ttl(stack) == 300
    owner = Client(stack.api_url, stack.bootstrap_tenant("revocation"))
    issued = owner.post("api-keys", json={"role": "admin", "principal": "laptop"})
    assert issued.status == 201, issued.body
    leaked = Client(stack.api_url, issued.body["key"])
    assert leaked.get("integrations").status == 200  # the authorizer's Allow for it is now cached

    revoked = owner.call("DELETE", f"api-keys/{issued.body['api_key']['key_id']}")
    assert (revoked.status, revoked.body["revoked"]) == (200, True)

    minted = leaked.post("api-keys", json={"role": "admin", "principal": "intruder"})
    assert (minted.status, minted.error_code) == (401, "API_KEY_REVOKED")
    written = leaked.post("integrations", json={"id": "intruder"})
    assert (written.status, written.error_code) == (401, "API_KEY_REVOKED")
    read = leaked.get("integrations")
    assert (read.status, read.error_code) == (401, "API_KEY_REVOKED")
    listed = owner.get("api-keys").body["api_keys"]
    assert sorted(key["principal"] for key in listed) == ["bootstrap-admin", "laptop"]
    assert owner.get("integrations").body == {"integrations": []}


# --- Hostile bodies on every route --------------------------------------------------------------


def _template_routes(stack: LocalStack) -> list[tuple[str, str]]:
    """(method, resource path) of each method of the synthesized API with its own HTTP method; the `ANY`
    methods lead to the api function, whose own routes come from its published OpenAPI document."""
    assert stack.template is not None
    resources = {
        logical_id: resource["Properties"]
        for logical_id, resource in stack.template.resources.items()
        if resource["Type"] == "AWS::ApiGateway::Resource"
    }

    def path_of(reference: Mapping[str, Any]) -> str:
        if "Ref" not in reference:  # Fn::GetAtt [api, RootResourceId]
            return ""
        properties = resources[reference["Ref"]]
        return f"{path_of(properties['ParentId'])}/{properties['PathPart']}"

    return sorted(
        (resource["Properties"]["HttpMethod"], path_of(resource["Properties"]["ResourceId"]))
        for resource in stack.template.resources.values()
        if resource["Type"] == "AWS::ApiGateway::Method" and resource["Properties"]["HttpMethod"] != "ANY"
    )


def _is_error_envelope(body: Any) -> bool:
    """Toolgate's `{"error": {"code", "message"}}`, or (the MCP route) a JSON-RPC error whose `data.code`
    is Toolgate's stable code."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and body.get("jsonrpc") == "2.0":
        data = error.get("data")
        return (
            isinstance(error.get("code"), int)
            and isinstance(data, dict)
            and isinstance(data.get("code"), str)
        )
    return isinstance(error, dict) and isinstance(error.get("code"), str) and bool(error.get("message"))


def test_every_route_answers_hostile_bodies_with_a_typed_4xx(stack: LocalStack) -> None:
    admin = Client(stack.api_url, stack.bootstrap_tenant("hostile"))
    document = admin.get("openapi.json").body
    routes = {
        (method.upper(), f"/v1{path.removeprefix('/v1')}", "requestBody" in operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    template_routes = _template_routes(stack)
    assert ("POST", "/v1/callbacks/{callback_id}") in template_routes
    routes |= {(method, path, method in {"POST", "PUT"}) for method, path in template_routes}
    parameters = {"integration_id": "support", "assistant_id": "desk", "key_id": "0123456789abcdef"}
    parameters |= {"assistant": "desk", "tool": "t", "handle": "c" * 32, "job_id": "j", "callback_id": "x"}
    parameters |= {"proxy+": "oauth-protected-resource"}
    root = stack.api_url.removesuffix("v1/")

    failures = []
    for method, route, reads_body in sorted(routes):
        for kind, (body, content_type) in HOSTILE_BODIES.items():
            answer = requests.request(
                method,
                root + route.format(**parameters).lstrip("/"),
                data=body.encode(),
                headers={"Authorization": f"Bearer {admin.key}", "Content-Type": content_type},
                timeout=60,
            )
            refused = 400 <= answer.status_code < 500
            typed = answer.status_code < 400 or _is_error_envelope(answer.json())
            if not typed or answer.status_code >= 500 or (reads_body and not refused):
                failures.append(f"{method} {route} {kind}: {answer.status_code} {answer.text[:200]}")
    assert not failures, "\n".join(failures)
