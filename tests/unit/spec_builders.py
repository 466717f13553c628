"""Small builders for compiler tests: an OpenAPI document from paths, and checks on the result."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
from toolgate.settings import CompileLimits
from toolgate.spec.compiler import compile_document
from toolgate.spec.models import CanonicalTool, CompiledSpec, JsonSchema

OK = {"200": {"description": "ok"}}
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def openapi(
    paths: dict[str, Any],
    components: dict[str, Any] | None = None,
    *,
    version: str = "3.0.3",
    **fields: Any,
) -> dict[str, Any]:
    document: dict[str, Any] = {"openapi": version, "info": {"title": "Test API", "version": "1"}}
    document.update(fields)
    document["paths"] = paths
    if components is not None:
        document["components"] = components
    return document


def compile_paths(
    paths: dict[str, Any],
    components: dict[str, Any] | None = None,
    *,
    version: str = "3.0.3",
    limits: CompileLimits | None = None,
    **fields: Any,
) -> CompiledSpec:
    return compile_document(openapi(paths, components, version=version, **fields), limits)


def json_body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def post(schema: dict[str, Any], operation_id: str = "submit", **fields: Any) -> dict[str, Any]:
    """A path item whose POST operation takes `schema` as its JSON body."""
    return {
        "post": {"operationId": operation_id, "requestBody": json_body(schema), "responses": OK, **fields}
    }


def only_tool(compiled: CompiledSpec) -> CanonicalTool:
    assert compiled.failed_operations == [], compiled.findings
    assert len(compiled.tools) == 1, [t.name for t in compiled.tools]
    return compiled.tools[0]


def tool_named(compiled: CompiledSpec, name: str) -> CanonicalTool:
    matches = [t for t in compiled.tools if t.name == name]
    assert len(matches) == 1, [t.name for t in compiled.tools]
    return matches[0]


def codes(compiled: CompiledSpec) -> set[str]:
    return {finding.code for finding in compiled.findings}


def findings_with(compiled: CompiledSpec, code: str) -> list[tuple[str, str]]:
    return [(f.severity.value, f.pointer) for f in compiled.findings if f.code == code]


def assert_valid_json_schema(schema: JsonSchema) -> jsonschema_rs.Draft202012Validator:
    """The schema passes the 2020-12 meta-schema and compiles (every `$ref` resolves), offline."""
    assert jsonschema_rs.meta.is_valid({"$schema": DRAFT_2020_12, **schema}), schema
    return jsonschema_rs.Draft202012Validator(schema, offline=True)
