"""Big catalogs through the real handlers on moto: a Kubernetes-sized integration (1,100 operations) is
uploaded, reported with its token footprint, and listed page by page, each answer under Lambda's 6 MB."""

from __future__ import annotations

import json
from typing import Any

import pytest
from service_world import Service
from toolgate.dialects.base import Dialect
from toolgate_demo import support_desk_spec

#: Lambda's limit on a synchronous invocation's response payload: 6 MB.
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
OPERATIONS = 1100

pytestmark = pytest.mark.slow


def _kubernetes_sized_spec() -> str:
    """1,100 operations sharing one wide schema: a small spec whose tools render to more than 6 MB."""
    resource = {
        "type": "object",
        "properties": {
            f"field_{index}": {
                "type": "string",
                "description": f"Field {index} of the resource: what it holds and how the server reads it.",
            }
            for index in range(50)
        },
    }
    paths = {
        f"/apis/group{number}/resources": {
            "post": {
                "operationId": f"createResource{number}",
                "summary": f"Create a resource of group {number}",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Resource"}}},
                },
                "responses": {"200": {"description": "ok"}},
            }
        }
        for number in range(OPERATIONS)
    }
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Kubernetes-sized", "version": "1"},
        "servers": [{"url": "https://k8s.example.com"}],
        "paths": paths,
        "components": {"schemas": {"Resource": resource}},
    }
    return json.dumps(document)


@pytest.fixture
def desk(service: Service) -> Service:
    """The demo's Support Desk spec behind assistant `desk`: a catalog that fits in one page."""
    service.api(
        "PUT",
        "/v1/integrations/support",
        body=support_desk_spec().read_text(),
        headers={"content-type": "application/yaml"},
    )
    service.api("POST", "/v1/assistants", body={"id": "desk", "integrations": ["support"]})
    return service


@pytest.fixture
def big_assistant(service: Service) -> Service:
    assert service.api("POST", "/v1/assistants", body={"id": "ops", "integrations": ["k8s"]}).status == 201
    response = service.api(
        "PUT",
        "/v1/integrations/k8s",
        body=_kubernetes_sized_spec(),
        headers={"content-type": "application/json"},
    )
    assert response.status == 200, response.body
    return service


def _sent_bytes(raw: dict[str, Any]) -> int:
    return len(json.dumps(raw).encode("utf-8"))


def test_a_kubernetes_sized_listing_pages_every_tool_and_never_exceeds_lambdas_6_mb(
    big_assistant: Service,
) -> None:
    service = big_assistant
    names: list[str] = []
    tokens: set[int] = set()
    cursor: str | None = None
    pages = 0
    while True:
        query = {"format": "openai", **({"cursor": cursor} if cursor else {})}
        response = service.api("GET", "/v1/assistants/ops/tools", role="agent", query=query)
        assert response.status == 200, response.body
        assert _sent_bytes(response.raw) < LAMBDA_RESPONSE_LIMIT
        assert response.raw["multiValueHeaders"]["X-Toolgate-Tool-Tokens"] == [
            str(response.body["token_count"])
        ]
        assert response.body["tool_count"] == OPERATIONS
        names.extend(definition["function"]["name"] for definition in response.body["tools"])
        tokens.add(response.body["token_count"])
        pages += 1
        cursor = response.body["next_cursor"]
        if cursor is None:
            break
    assert len(names) == len(set(names)) == OPERATIONS
    assert pages > 1
    # The whole catalog in one answer would have broken the limit: paging is what keeps it under.
    (token_count,) = tokens
    assert token_count > 20_000
    codes = {warning["code"] for warning in response.body["warnings"]}
    assert codes == {"CATALOG_TOKEN_BUDGET_EXCEEDED", "CATALOG_TOOL_CAP_EXCEEDED"}
    # Even the largest page a caller may ask for stays under the limit: it holds fewer tools instead.
    largest = service.api("GET", "/v1/assistants/ops/tools", query={"format": "mcp", "limit": "1000"})
    assert largest.status == 200, largest.body
    assert _sent_bytes(largest.raw) < LAMBDA_RESPONSE_LIMIT
    assert 0 < len(largest.body["tools"]) < OPERATIONS
    assert largest.body["next_cursor"] is not None


def test_a_garbage_listing_cursor_is_a_typed_400_not_a_500(desk: Service) -> None:
    service = desk
    response = service.api(
        "GET", "/v1/assistants/desk/tools", query={"format": "openai", "cursor": "bm90LWE"}
    )
    assert response.status == 400
    assert response.error_code == "LISTING_CURSOR_INVALID"
    assert "next_cursor" in response.body["error"]["message"]
    first = service.api("GET", "/v1/assistants/desk/tools", query={"format": "openai"})
    assert first.status == 200
    assert first.body["next_cursor"] is None


def test_the_upload_reports_the_token_footprint_per_tool_integration_and_assistant(
    big_assistant: Service,
) -> None:
    service = big_assistant
    integration = service.api("GET", "/v1/integrations/k8s").body
    ready_tokens = integration["ready"]["tokens"]
    assert set(ready_tokens) == {dialect.value for dialect in Dialect}
    assert {warning["code"] for warning in integration["ready"]["token_warnings"]} >= {
        "CATALOG_TOKEN_BUDGET_EXCEEDED",
        "CATALOG_TOOL_CAP_EXCEEDED",
    }
    footprint = service.api("GET", "/v1/integrations/k8s/report").body["report"]["token_footprint"]
    assert footprint["tokens"] == ready_tokens
    assert len(footprint["tools"]) == OPERATIONS
    assert sum(tool["openai"] for tool in footprint["tools"].values()) == ready_tokens["openai"]
    (assistant,) = footprint["assistants"]
    assert assistant["id"] == "ops"
    assert assistant["tool_count"] == OPERATIONS
    assert assistant["tokens"] == ready_tokens
    listed = service.api("GET", "/v1/assistants/ops/tools", query={"format": "gemini"}).body
    assert listed["token_count"] == ready_tokens["gemini"]
    assert listed["token_count_exact"] is False


def test_an_overlong_listing_cursor_is_the_same_typed_400(desk: Service) -> None:
    service = desk
    response = service.api("GET", "/v1/assistants/desk/tools", query={"cursor": "A" * 5000})
    assert response.status == 400
    assert response.error_code == "LISTING_CURSOR_INVALID"
