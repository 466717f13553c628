"""JSON Schema helpers shared by the dialects: the object root every tool API demands, and local refs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolgate.dialects.base import DialectCode, LossLog, escape_pointer_token
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


#: Keywords whose value is one subschema, a list of them, or a map of them (JSON Schema 2020-12, plus the
#: `definitions` of older drafts).
_ONE_SCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties", "additionalItems")  # fmt: skip
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


class SubschemaRepair:
    """Rewrites every subschema with `repair`, bottom-up and copy-on-write.

    `repair(node, log)` gets a schema object whose children are already repaired and returns it, or a
    changed copy. Unchanged subtrees are returned as they are (shared, never copied), and a subtree
    shared by several parents is repaired once. Pointers in the notes are relative to the root given.
    """

    def __init__(self, repair: Callable[[dict[str, Any], LossLog], dict[str, Any]], depth_bound: int) -> None:
        self._repair = repair
        self._bound = depth_bound
        self._memo: dict[int, tuple[Any, Any, LossLog]] = {}

    def __call__(self, schema: JsonSchema, log: LossLog) -> JsonSchema:
        repaired: JsonSchema = self._walk(schema, 0, log)
        return repaired

    def _walk(self, node: Any, depth: int, log: LossLog) -> Any:
        if not isinstance(node, dict) or depth > self._bound:
            return node
        cached = self._memo.get(id(node))
        if cached is not None and cached[0] is node:
            log.absorb(cached[2], "")
            return cached[1]
        own = LossLog()
        changed: dict[str, Any] = {}
        for keyword, value in node.items():
            token = escape_pointer_token(keyword)
            if keyword in _ONE_SCHEMA:
                new = self._child(value, depth, own, f"/{token}")
            elif keyword in _SCHEMA_LISTS and isinstance(value, list):
                items = [self._child(v, depth, own, f"/{token}/{i}") for i, v in enumerate(value)]
                new = items if any(a is not b for a, b in zip(items, value, strict=True)) else value
            elif keyword in _SCHEMA_MAPS and isinstance(value, dict):
                entries = {
                    k: self._child(v, depth, own, f"/{token}/{escape_pointer_token(k)}")
                    for k, v in value.items()
                }
                new = entries if any(entries[k] is not value[k] for k in value) else value
            else:
                continue
            if new is not value:
                changed[keyword] = new
        result = self._repair({**node, **changed} if changed else node, own)
        self._memo[id(node)] = (node, result, own)
        log.absorb(own, "")
        return result

    def _child(self, value: Any, depth: int, log: LossLog, pointer: str) -> Any:
        child_log = LossLog()
        new = self._walk(value, depth + 1, child_log)
        log.absorb(child_log, pointer)
        return new


def find_subschemas(schema: Any, matches: Callable[[dict[str, Any]], bool], depth_bound: int) -> list[str]:
    """Pointers (relative to `schema`) of every subschema `matches` accepts; shared clean subtrees once."""
    found: list[str] = []
    clean: dict[int, Any] = {}

    def walk(node: Any, pointer: str, depth: int) -> None:
        if not isinstance(node, dict) or depth > depth_bound or clean.get(id(node)) is node:
            return
        before = len(found)
        if matches(node):
            found.append(pointer)
        for keyword, value in node.items():
            token = f"{pointer}/{escape_pointer_token(keyword)}"
            if keyword in _ONE_SCHEMA:
                walk(value, token, depth + 1)
            elif keyword in _SCHEMA_LISTS and isinstance(value, list):
                for index, item in enumerate(value):
                    walk(item, f"{token}/{index}", depth + 1)
            elif keyword in _SCHEMA_MAPS and isinstance(value, dict):
                for name, item in value.items():
                    walk(item, f"{token}/{escape_pointer_token(name)}", depth + 1)
        if len(found) == before:
            clean[id(node)] = node

    walk(schema, "", 0)
    return found
