"""Limit checks every dialect shares: names, descriptions, tool counts and JSON Schema roots."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import jsonschema_rs

from toolgate.dialects.base import DialectCode, escape_pointer_token, violation
from toolgate.spec.models import Finding


def check_text(
    value: Any, pattern: re.Pattern[str] | None, pointer: str, code: DialectCode, max_chars: int | None = None
) -> list[Finding]:
    """A required, non-empty string, matching `pattern` and within `max_chars` when given."""
    if not isinstance(value, str) or not value.strip():
        return [violation(code, "must be a non-empty string", pointer)]
    if pattern is not None and not pattern.fullmatch(value):
        return [violation(code, f"{value[:80]!r} does not match {pattern.pattern}", pointer)]
    if max_chars is not None and len(value) > max_chars:
        return [violation(code, f"{len(value)} characters; the limit is {max_chars}", pointer)]
    return []


def check_names_and_count(
    names: Sequence[tuple[int, Any]], max_tools: int | None, api: str, pointer_template: str
) -> list[Finding]:
    """Tool names are unique, and there are no more tools than the API takes in one request."""
    findings: list[Finding] = []
    first_index: dict[Any, int] = {}
    for index, name in names:
        if not isinstance(name, str):
            continue
        if name in first_index:
            findings.append(
                violation(
                    DialectCode.NAME_DUPLICATE,
                    f"tool name {name!r} is also used by tool {first_index[name]}",
                    pointer_template.format(index=index),
                )
            )
        else:
            first_index[name] = index
    if max_tools is not None and len(names) > max_tools:
        findings.append(
            violation(
                DialectCode.TOO_MANY_TOOLS,
                f"{len(names)} tools; {api} takes at most {max_tools} per request",
            )
        )
    return findings


def check_json_schema_root(
    schema: Any, pointer: str, forbidden: tuple[str, ...], *, meta: bool = True
) -> list[Finding]:
    """A schema with an object root and none of `forbidden` at the top; with `meta`, valid JSON Schema too.

    Meta-schema validation serializes the whole schema, so it is for input schemas, which the compiler
    holds to a size budget.
    """
    if not isinstance(schema, dict):
        return [violation(DialectCode.SCHEMA_INVALID, "the input schema must be a JSON object", pointer)]
    findings: list[Finding] = []
    if schema.get("type") != "object":
        findings.append(
            violation(DialectCode.SCHEMA_INVALID, "the input schema root must be `type: object`", pointer)
        )
    present = [keyword for keyword in forbidden if keyword in schema]
    if present:
        findings.append(
            violation(
                DialectCode.SCHEMA_INVALID,
                f"{', '.join(present)} at the root of the input schema is refused",
                pointer,
            )
        )
    if meta and not _meta_valid(schema):
        findings.append(
            violation(
                DialectCode.SCHEMA_INVALID, "the input schema is not valid JSON Schema 2020-12", pointer
            )
        )
    return findings


def check_property_keys(schema: Any, pointer: str, pattern: re.Pattern[str]) -> list[Finding]:
    """Top-level property names (the tool's argument names) match the API's pattern."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return []
    return [
        violation(
            DialectCode.PARAMETER_NAME_INVALID,
            f"argument name {name[:80]!r} does not match {pattern.pattern}",
            f"{pointer}/properties/{escape_pointer_token(name)}",
        )
        for name in properties
        if not pattern.fullmatch(name)
    ]


def _meta_valid(schema: dict[str, Any]) -> bool:
    try:
        return bool(jsonschema_rs.meta.is_valid(schema))
    except (jsonschema_rs.ReferencingError, ValueError):
        return False
