"""A generated OpenAPI spec with more operations than the search threshold (40), for the tool search
tests (service and e2e): one tool per resource and verb, `{verb}_{resource}` (e.g. `delete_webhook`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

RESOURCES = ("widget", "gadget", "invoice", "customer", "webhook", "shipment", "coupon", "report", "ticket")
_VERBS: dict[str, tuple[str, str, str]] = {
    # verb: (method, path shape, summary)
    "list": ("get", "/{plural}", "List all {plural}"),
    "get": ("get", "/{plural}/{{id}}", "Read one {resource} by its id"),
    "create": ("post", "/{plural}", "Create a new {resource}"),
    "update": ("patch", "/{plural}/{{id}}", "Change the fields of a {resource}"),
    "delete": ("delete", "/{plural}/{{id}}", "Delete a {resource} for good"),
}


def tool_names(resources: Sequence[str] = RESOURCES) -> list[str]:
    return [f"{verb}_{resource}" for resource in resources for verb in _VERBS]


def big_spec(
    server_url: str = "https://api.example.com", *, resources: Sequence[str] = RESOURCES, marker: str = "A"
) -> str:
    """The spec as JSON text: len(resources) x 5 operations; each description ends in `[marker]`, so a
    test can tell whose definition it was given."""
    paths: dict[str, dict[str, Any]] = {}
    for resource in resources:
        plural = f"{resource}s"
        for verb, (method, shape, summary) in _VERBS.items():
            path = shape.format(plural=plural)
            operation: dict[str, Any] = {
                "operationId": f"{verb}_{resource}",
                "summary": summary.format(resource=resource, plural=plural),
                "description": f"{summary.format(resource=resource, plural=plural)}. [{marker}]",
                "tags": [plural],
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {}}}}},
            }
            if "{id}" in path:
                operation["parameters"] = [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ]
            if method in ("post", "patch"):
                operation["requestBody"] = {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"name": {"type": "string"}}}
                        }
                    }
                }
            paths.setdefault(path, {})[method] = operation
    document = {
        "openapi": "3.0.3",
        "info": {"title": f"Catalog {marker}", "version": "1.0.0"},
        "servers": [{"url": server_url}],
        "paths": paths,
    }
    return json.dumps(document)
