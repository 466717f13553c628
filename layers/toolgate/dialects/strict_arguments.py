"""Arguments back from an OpenAI strict-mode tool call, as the canonical tool expects them.

Split from `toolgate.dialects.openai` so that every tool call loads these few functions and not OpenAI's
renderer and checks (issue 16, cold start); `openai` renders the nullable schemas they undo.
"""

from __future__ import annotations

from typing import Any

from toolgate.dialects.base import schema_depth_bound
from toolgate.dialects.schema_rewrite import resolve_pointer
from toolgate.spec.models import JsonSchema


def accepts_null(schema: JsonSchema) -> bool:
    """Whether `schema` admits null: a null type, a null const or enum value, or a branch that does."""
    type_value = schema.get("type")
    if type_value == "null" or (isinstance(type_value, list) and "null" in type_value):
        return True
    if "const" in schema and schema["const"] is None:
        return True
    if type_value is None and isinstance(schema.get("enum"), list) and None in schema["enum"]:
        return True
    branches = schema.get("anyOf")
    return isinstance(branches, list) and any(isinstance(b, dict) and accepts_null(b) for b in branches)


def restore_omitted_arguments(arguments: dict[str, Any], input_schema: JsonSchema) -> dict[str, Any]:
    """Arguments from a strict tool call as the canonical tool expects them.

    Strict mode makes every property required, so the model sends null for an optional argument it
    means to leave out. Such nulls are removed wherever the canonical schema makes the property optional
    and does not accept null; a new mapping is returned and `arguments` is left as it is.
    """
    restored: dict[str, Any] = _restore(arguments, input_schema, input_schema, schema_depth_bound())
    return restored


def _restore(value: Any, schema: Any, root: JsonSchema, budget: int) -> Any:
    if budget <= 0 or not isinstance(schema, dict):
        return value
    if isinstance(schema.get("$ref"), str):
        schema = resolve_pointer(root, schema["$ref"])
        if not isinstance(schema, dict):
            return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_restore(item, schema["items"], root, budget - 1) for item in value]
    properties = schema.get("properties")
    if not isinstance(value, dict) or not isinstance(properties, dict):
        return value
    required = schema.get("required")
    required_names = set(required) if isinstance(required, list) else set()
    restored: dict[str, Any] = {}
    for name, item in value.items():
        prop = properties.get(name)
        if (
            item is None
            and name not in required_names
            and isinstance(prop, dict)
            and not _null_ok(prop, root)
        ):
            continue
        restored[name] = _restore(item, prop, root, budget - 1)
    return restored


def _null_ok(schema: JsonSchema, root: JsonSchema) -> bool:
    target = resolve_pointer(root, schema["$ref"]) if isinstance(schema.get("$ref"), str) else schema
    return isinstance(target, dict) and accepts_null(target)
