"""Hostile request bodies on every route of the API and invoke functions: a body of the wrong media type,
or JSON nested 100,000 levels deep (Python's json raises RecursionError on it), is a typed 4xx with the
error envelope, never a 500, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from service_harness import FakeLambdaContext, api_event
from service_world import Service
from toolgate.service.bodies import MAX_BODY_DEPTH

from functions.api.handler import app

DEEP_JSON = "[" * 100_000 + "]" * 100_000
#: Parses, but nests past what the API reads: what a RecursionError further on would come from.
NESTED_PAST_THE_LIMIT = json.dumps(json.loads("[" * (MAX_BODY_DEPTH + 1) + "]" * (MAX_BODY_DEPTH + 1)))
PLAIN_TEXT = ('{"id": "plain"}', {"content-type": "text/plain"})

#: (body, headers) of each hostile kind.
HOSTILE_BODIES: dict[str, tuple[str, dict[str, str]]] = {
    "text-plain": PLAIN_TEXT,
    "deep-json": (DEEP_JSON, {"content-type": "application/json"}),
    "nested-past-the-limit": (NESTED_PAST_THE_LIMIT, {"content-type": "application/json"}),
}

#: The invoke function's routes (API Gateway resource, method, path parameters).
INVOKE_ROUTES: list[tuple[str, str, dict[str, str]]] = [
    ("POST", "/v1/assistants/{assistant}/tools/{tool}/invoke", {"assistant": "desk", "tool": "t"}),
    ("GET", "/v1/continuations/{handle}", {"handle": "c" * 32}),
    ("GET", "/v1/jobs/{job_id}", {"job_id": "job-1"}),
    ("DELETE", "/v1/jobs/{job_id}", {"job_id": "job-1"}),
]


def _document() -> dict[str, Any]:
    document: dict[str, Any] = app.get_openapi_schema().model_dump(by_alias=True, exclude_none=True)
    return document


def _management_routes() -> list[tuple[str, str, bool]]:
    """(method, route, whether it reads a JSON body) of every route the API function publishes."""
    return sorted(
        (method.upper(), path, "requestBody" in operation)
        for path, item in _document()["paths"].items()
        for method, operation in item.items()
    )


def _is_error_envelope(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and isinstance(error.get("code"), str) and bool(error.get("message"))


def _everything(service: Service) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    return sorted(service.table_items(), key=lambda item: (item["pk"], item["sk"])), service.all_objects()


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
@pytest.mark.parametrize(("method", "route", "reads_json"), _management_routes())
def test_hostile_body_on_any_management_route_is_a_typed_4xx_not_a_500(
    service: Service, method: str, route: str, reads_json: bool, kind: str
) -> None:
    path = route.format(integration_id="support", assistant_id="desk", key_id="0123456789abcdef")
    body, headers = HOSTILE_BODIES[kind]
    service.api("GET", "/v1/integrations")  # the caller's key row exists before the snapshot
    before = _everything(service)

    response = service.api(method, path, body=body, headers=headers)

    assert response.status < 500, response.body
    if response.status >= 400:
        assert _is_error_envelope(response.body), response.body
    if reads_json:
        assert 400 <= response.status < 500, response.body
        assert _everything(service) == before


def test_plain_text_body_on_post_integrations_is_a_415_asking_for_json(service: Service) -> None:
    body, headers = PLAIN_TEXT
    response = service.api("POST", "/v1/integrations", body=body, headers=headers)
    assert (response.status, response.error_code) == (415, "MEDIA_TYPE_UNSUPPORTED")
    assert "application/json" in response.body["error"]["message"]
    assert service.api("GET", "/v1/integrations").body == {"integrations": []}


@pytest.mark.parametrize("body", [DEEP_JSON, NESTED_PAST_THE_LIMIT])
def test_json_body_nested_too_deep_is_a_400_not_a_recursion_error(service: Service, body: str) -> None:
    response = service.api("POST", "/v1/integrations", body=body)
    assert (response.status, response.error_code) == (400, "REQUEST_BODY_TOO_DEEP")
    assert str(MAX_BODY_DEPTH) in response.body["error"]["message"]


def test_credential_body_nested_too_deep_stores_no_secret(service: Service) -> None:
    assert service.api("POST", "/v1/integrations", body={"id": "support"}).status == 201
    nested: Any = "token"
    for _ in range(MAX_BODY_DEPTH + 1):
        nested = {"token": nested}
    response = service.api(
        "PUT", "/v1/integrations/support/credential", body={"type": "bearer", "token": nested}
    )
    assert (response.status, response.error_code) == (400, "REQUEST_BODY_TOO_DEEP")
    assert service.secrets.list_secrets()["SecretList"] == []


def test_json_body_within_the_depth_limit_is_still_read(service: Service) -> None:
    response = service.api("POST", "/v1/integrations", body={"id": "crm", "settings": {"include": ["a"]}})
    assert response.status == 201, response.body


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
@pytest.mark.parametrize(("method", "resource", "parameters"), INVOKE_ROUTES)
def test_hostile_body_on_any_invoke_route_is_a_typed_4xx_not_a_500(
    service: Service, method: str, resource: str, parameters: dict[str, str], kind: str
) -> None:
    from functions.invoke.handler import lambda_handler

    body, headers = HOSTILE_BODIES[kind]
    event = api_event(method, resource.format(**parameters), tenant="acme", role="agent", body=body)
    event.update(resource=resource, pathParameters=parameters)
    event["headers"].update(headers)

    raw = lambda_handler(event, FakeLambdaContext())

    assert 400 <= raw["statusCode"] < 500, raw["body"]
    assert _is_error_envelope(json.loads(raw["body"])), raw["body"]
