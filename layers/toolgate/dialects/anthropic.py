"""Anthropic Messages API tools: `{"name", "description", "input_schema"}`.

The input schema is JSON Schema 2020-12 with an object root; the API refuses `oneOf`, `allOf` or `anyOf`
at the top level ("input_schema does not support oneOf, allOf, or anyOf at the top level").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from toolgate.dialects.base import FUNCTION_NAME, PROPERTY_KEY, DialectCode, LossLog, describe, violation
from toolgate.dialects.checks import (
    check_json_schema_root,
    check_names_and_count,
    check_property_keys,
    check_text,
)
from toolgate.dialects.schema_rewrite import UNION_KEYWORDS, object_root
from toolgate.spec.models import CanonicalTool, Finding


class AnthropicRenderer:
    def render(self, tool: CanonicalTool, log: LossLog) -> dict[str, Any]:
        return {
            "name": tool.name,
            "description": describe(tool, log),
            "input_schema": object_root(tool.input_schema, log, UNION_KEYWORDS),
        }


def check_anthropic(definitions: Sequence[Any]) -> list[Finding]:
    findings: list[Finding] = []
    names: list[tuple[int, Any]] = []
    for index, definition in enumerate(definitions):
        if not isinstance(definition, dict):
            findings.append(
                violation(DialectCode.DEFINITION_INVALID, f"tool {index} is not an object", f"/{index}")
            )
            continue
        names.append((index, definition.get("name")))
        findings.extend(
            check_text(definition.get("name"), FUNCTION_NAME, f"/{index}/name", DialectCode.NAME_INVALID)
        )
        findings.extend(
            check_text(
                definition.get("description"), None, f"/{index}/description", DialectCode.DESCRIPTION_INVALID
            )
        )
        schema = definition.get("input_schema")
        findings.extend(check_json_schema_root(schema, f"/{index}/input_schema", UNION_KEYWORDS))
        findings.extend(check_property_keys(schema, f"/{index}/input_schema", PROPERTY_KEY))
    findings.extend(check_names_and_count(names, None, "Anthropic", "/{index}/name"))
    return findings
