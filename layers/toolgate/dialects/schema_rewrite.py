"""JSON Schema helpers shared by the dialects: the object root every tool API demands, and local refs."""

from __future__ import annotations

from typing import Any

from toolgate.dialects.base import DialectCode, LossLog
from toolgate.spec.models import JsonSchema, Severity

JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
UNION_KEYWORDS = ("oneOf", "anyOf", "allOf")


def object_root(schema: JsonSchema, log: LossLog, forbidden: tuple[str, ...] = UNION_KEYWORDS) -> JsonSchema:
    """A root of `type: object` without the keywords an API refuses at the top level.

    Returns `schema` itself when it already qualifies; otherwise a shallow copy (subschemas shared).
    Root unions are flattened: their branches' properties become optional top-level properties.
    """
    root_type = schema.get("type")
    needs_type = root_type != "object" and (root_type is None or _object_or_null(root_type))
    present = [keyword for keyword in forbidden if keyword in schema]
    if not needs_type and not present:
        return schema
    root = dict(schema)
    if needs_type:
        root["type"] = "object"
        log.add(DialectCode.SCHEMA_REWRITTEN, "the input schema root was given `type: object`")
    for keyword in present:
        value = root.pop(keyword)
        if keyword in UNION_KEYWORDS and isinstance(value, list):
            _merge_union(root, keyword, value, log)
        else:
            log.add(
                DialectCode.KEYWORD_DROPPED,
                f"`{keyword}` is not allowed at the root of this API's input schema and was dropped",
                f"/{keyword}",
                Severity.WARNING,
            )
    return root


def _object_or_null(type_value: Any) -> bool:
    return isinstance(type_value, list) and "object" in type_value and set(type_value) <= {"object", "null"}


def _merge_union(root: JsonSchema, keyword: str, branches: list[Any], log: LossLog) -> None:
    """Fold a root `oneOf`/`anyOf`/`allOf` of object branches into the root's own properties."""
    properties: dict[str, Any] = dict(root.get("properties") or {})
    branch_required: list[set[str]] = []
    for branch in branches:
        resolved = resolve_local(root, branch) if isinstance(branch, dict) else None
        if not isinstance(resolved, dict):
            continue
        for name, prop in (resolved.get("properties") or {}).items():
            known = properties.get(name)
            if known is None:
                properties[name] = prop
            elif known != prop and keyword != "allOf":
                properties[name] = {"anyOf": [known, prop]}
        branch_required.append(set(resolved.get("required") or []))
    if keyword == "allOf":
        shared = set().union(*branch_required)
        kept = "what any branch requires is required"
    else:
        shared = set.intersection(*branch_required) if branch_required else set()
        kept = "only what every branch requires stays required, and the choice between branches is lost"
    required = list(root.get("required") or [])
    required.extend(sorted(name for name in shared if name not in required and name in properties))
    if properties:
        root["properties"] = properties
    if required:
        root["required"] = required
    log.add(
        DialectCode.ROOT_FLATTENED,
        f"the root `{keyword}` was flattened into one object: every branch's properties are offered; {kept}",
        f"/{keyword}",
        Severity.WARNING,
    )


def resolve_local(root: JsonSchema, node: JsonSchema) -> Any:
    """Follow a local `$ref` (`#`, `#/$defs/...` or any `#/...` pointer) within `root`; other nodes as is."""
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    return resolve_pointer(root, ref)


def resolve_pointer(root: JsonSchema, ref: str) -> Any:
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    target: Any = root
    for raw in ref[2:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and token in target:
            target = target[token]
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            target = target[int(token)]
        else:
            return None
    return target
