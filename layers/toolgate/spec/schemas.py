"""OpenAPI Schema Objects (3.0 and 3.1) to self-contained JSON Schema 2020-12.

`$ref`s are inlined; a ref that recurses into itself becomes a `$defs` entry. Converted subtrees are
shared between tools and must be treated as read-only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jsonschema_rs

from toolgate.errors import ToolgateError
from toolgate.spec.models import Finding, JsonSchema, Severity
from toolgate.spec.refs import RefResolver, escape_token, reference_of

#: Keywords carried over unchanged (values that are not subschemas).
_PLAIN_KEYWORDS = frozenset(
    {
        "type", "format", "enum", "const", "title", "description", "default", "deprecated",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems",
        "minProperties", "maxProperties", "required", "minContains", "maxContains",
        "contentMediaType", "contentEncoding", "dependentRequired", "readOnly", "writeOnly",
    }
)  # fmt: skip
_SCHEMA_KEYWORDS = frozenset(
    {"not", "if", "then", "else", "contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties"}
)
_SCHEMA_LIST_KEYWORDS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_MAP_KEYWORDS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})


def _is_number(value: Any) -> bool:
    """A JSON number: NaN and infinities (YAML `.inf`, JSON `Infinity`) have no JSON form."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and math.isfinite(value)
    )


def _is_count(value: Any) -> bool:
    return _is_number(value) and value >= 0 and float(value).is_integer()


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


#: What the 2020-12 meta-schema accepts for each plain keyword (others accept any value). Lists of
#: names are deduplicated after the check, since the meta-schema wants them unique.
_PLAIN_SHAPES: dict[str, Callable[[Any], bool]] = {
    "type": lambda v: isinstance(v, str) or (_is_string_list(v) and bool(v) and set(v) <= _JSON_TYPES),
    "enum": lambda v: isinstance(v, list),
    "required": _is_string_list,
    "dependentRequired": lambda v: isinstance(v, dict) and all(_is_string_list(i) for i in v.values()),
    "multipleOf": lambda v: _is_number(v) and v > 0,
    "exclusiveMinimum": lambda v: _is_number(v) or isinstance(v, bool),
    "exclusiveMaximum": lambda v: _is_number(v) or isinstance(v, bool),
    **dict.fromkeys(("minimum", "maximum"), _is_number),
    **dict.fromkeys(("minLength", "maxLength", "minItems", "maxItems", "minProperties"), _is_count),
    **dict.fromkeys(("maxProperties", "minContains", "maxContains"), _is_count),
    **dict.fromkeys(("deprecated", "readOnly", "writeOnly", "uniqueItems"), lambda v: isinstance(v, bool)),
    **dict.fromkeys(
        ("title", "description", "format", "pattern", "contentMediaType", "contentEncoding"),
        lambda v: isinstance(v, str),
    ),
}
_DEF_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
#: Subschema nesting beyond which conversion stops; keeps recursion far from Python's limit.
MAX_SCHEMA_DEPTH = 64
#: Nesting beyond which a `$ref` becomes a `$defs` entry instead of being inlined.
INLINE_DEPTH = 24


@dataclass
class _Context:
    direction: str  # "input" drops readOnly properties, "output" drops writeOnly ones
    depth: int = 0


@dataclass
class SchemaConverter:
    """Converts schemas of one document, memoizing by `$ref` across all of its tools.

    A `$ref` is inlined unless it recurses or sits deeper than INLINE_DEPTH; those become `$defs`.
    """

    resolver: RefResolver
    openapi_31: bool
    findings: list[Finding] = field(default_factory=list)
    _memo: dict[tuple[str, str], JsonSchema] = field(default_factory=dict)
    _in_progress: set[tuple[str, str]] = field(default_factory=set)
    _def_names: dict[tuple[str, str], str] = field(default_factory=dict)
    _def_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    _defs: dict[str, JsonSchema] = field(default_factory=dict)
    _reported: set[tuple[str, str]] = field(default_factory=set)

    def convert(self, schema: Any, pointer: str, direction: str) -> JsonSchema:
        return self._convert(schema, pointer, _Context(direction))

    def with_defs(self, schema: JsonSchema, measure: SchemaMeasure) -> JsonSchema:
        """`schema` plus the `$defs` it needs, followed transitively."""
        needed: dict[str, JsonSchema] = {}
        pending = sorted(measure.refs(schema))
        while pending:
            name = pending.pop()
            if name in needed:
                continue
            definition = self._definition(name)
            if definition is None:
                continue
            needed[name] = definition
            pending.extend(measure.refs(definition))
        if not needed:
            return schema
        return {**schema, "$defs": dict(sorted(needed.items()))}

    def _definition(self, name: str) -> JsonSchema | None:
        """The `$defs` entry `name`, converting it now if it was deferred for depth."""
        if name not in self._defs:
            key = self._def_keys.get(name)
            if key is None:
                return None
            converted = self._convert_ref({"$ref": key[0]}, key[0], key[0][1:], _Context(key[1]))
            self._defs.setdefault(name, converted)
        return self._defs[name]

    # --- conversion ---------------------------------------------------------------------------

    def _convert(self, schema: Any, pointer: str, ctx: _Context) -> JsonSchema:
        if schema is True or schema is None:
            return {}
        if schema is False:
            return {"not": {}}
        if not isinstance(schema, dict):
            self._note("SCHEMA_INVALID", f"expected a schema object, found {type(schema).__name__}", pointer)
            return {}
        if ctx.depth > MAX_SCHEMA_DEPTH:
            self._note("SCHEMA_TOO_DEEP", f"schema nesting beyond {MAX_SCHEMA_DEPTH} levels was cut", pointer)
            return {}
        ref = reference_of(schema)
        if ref is not None:
            return self._convert_ref(schema, ref, pointer, ctx)
        return self._convert_object(schema, pointer, ctx)

    def _convert_ref(self, schema: dict[str, Any], ref: str, pointer: str, ctx: _Context) -> JsonSchema:
        key = (ref, ctx.direction)
        converted = self._memo.get(key)
        if converted is None:
            if key in self._in_progress or ctx.depth >= INLINE_DEPTH:
                return self._def_ref(key)
            try:
                target = self.resolver.resolve(ref, at=pointer)
            except ToolgateError as exc:
                if ctx.direction == "input":
                    raise
                self._note(exc.code, exc.message, pointer, Severity.WARNING)
                return {"description": "Schema unavailable: its $ref could not be resolved."}
            self._in_progress.add(key)
            try:
                converted = self._convert(target, ref[1:], _Context(ctx.direction, ctx.depth + 1))
            finally:
                self._in_progress.discard(key)
            if key in self._def_names:
                if converted == self._def_ref(key):
                    self._note(
                        "SCHEMA_INVALID", "a $ref loop with no schema in it was read as any value", pointer
                    )
                    converted = {}
                self._defs[self._def_names[key]] = converted
                converted = self._def_ref(key)
            self._memo[key] = converted
        siblings = {
            k: v for k, v in schema.items() if k not in {"$ref", "nullable"} and not k.startswith("x-")
        }
        if siblings:
            overlay = self._convert_object(siblings, pointer, ctx)
            if "$ref" in converted and _has_constraints(overlay):
                converted = {**overlay, "allOf": [converted]}
            else:
                converted = {**converted, **overlay}
        if schema.get("nullable") is True:
            converted = {"anyOf": [converted, {"type": "null"}]}
        return converted

    def _def_ref(self, key: tuple[str, str]) -> JsonSchema:
        name = self._def_names.get(key)
        if name is None:
            base = _DEF_NAME_UNSAFE.sub("_", key[0].rsplit("/", 1)[-1]) or "schema"
            name = base
            suffix = 2
            while name in self._def_names.values():
                name = f"{base}_{suffix}"
                suffix += 1
            self._def_names[key] = name
            self._def_keys[name] = key
        return {"$ref": f"#/$defs/{name}"}

    def _convert_object(self, schema: dict[str, Any], pointer: str, ctx: _Context) -> JsonSchema:
        inner = _Context(ctx.direction, ctx.depth + 1)
        out: JsonSchema = {}
        for keyword, value in schema.items():
            if keyword in _PLAIN_KEYWORDS:
                if not _PLAIN_SHAPES.get(keyword, _accepts_any)(value):
                    self._note(
                        "REPAIRED_INVALID_KEYWORD",
                        f"`{keyword}` with a value JSON Schema does not allow was dropped",
                        f"{pointer}/{keyword}",
                    )
                elif keyword == "pattern" and not pattern_compiles(value):
                    self._note_unusable_pattern(value, f"{pointer}/pattern")
                elif isinstance(value, list) and keyword in {"type", "required"}:
                    out[keyword] = list(dict.fromkeys(value))
                else:
                    out[keyword] = value
            elif keyword in _SCHEMA_KEYWORDS:
                out[keyword] = (
                    value if isinstance(value, bool) else self._convert(value, f"{pointer}/{keyword}", inner)
                )
            elif keyword in _SCHEMA_LIST_KEYWORDS:
                if value == []:
                    self._note(
                        "REPAIRED_INVALID_KEYWORD", f"empty `{keyword}` was dropped", f"{pointer}/{keyword}"
                    )
                elif isinstance(value, list):
                    out[keyword] = [
                        self._convert(v, f"{pointer}/{keyword}/{i}", inner) for i, v in enumerate(value)
                    ]
            elif keyword in _SCHEMA_MAP_KEYWORDS:
                mapping = self._deref_map(value, f"{pointer}/{keyword}")
                if keyword == "patternProperties" and isinstance(mapping, dict):
                    mapping = self._usable_pattern_properties(mapping, f"{pointer}/{keyword}")
                if isinstance(mapping, dict):
                    out[keyword] = {
                        name: self._convert(v, f"{pointer}/{keyword}/{escape_token(name)}", inner)
                        for name, v in mapping.items()
                    }
            elif keyword == "items":
                out["items"] = self._convert_items(value, pointer, inner)
            elif keyword == "additionalProperties":
                out[keyword] = (
                    value if isinstance(value, bool) else self._convert(value, f"{pointer}/{keyword}", inner)
                )
            elif keyword == "$defs" and isinstance(value, dict):
                out["$defs"] = {
                    n: self._convert(v, f"{pointer}/$defs/{escape_token(n)}", inner) for n, v in value.items()
                }
        return self._normalize(out, schema, pointer, ctx)

    def _usable_pattern_properties(self, mapping: dict[str, Any], pointer: str) -> dict[str, Any]:
        usable = {}
        for pattern, subschema in mapping.items():
            if pattern_compiles(pattern):
                usable[pattern] = subschema
            else:
                self._note_unusable_pattern(pattern, f"{pointer}/{escape_token(pattern)}")
        return usable

    def _note_unusable_pattern(self, pattern: str, pointer: str) -> None:
        shown = pattern if len(pattern) <= 80 else pattern[:79] + "…"
        self._note(
            "SCHEMA_PATTERN_INVALID",
            f"the regular expression {shown!r} does not compile, so no value could ever be checked "
            "against it; it was dropped",
            pointer,
            Severity.WARNING,
        )

    def _deref_map(self, value: Any, pointer: str) -> Any:
        """A `properties` map given as a Reference Object (seen in real multi-file specs)."""
        if reference_of(value) is None:
            return value
        try:
            return self.resolver.deref(value, at=pointer)
        except ToolgateError as exc:
            self._note(exc.code, exc.message, pointer, Severity.WARNING)
            return {}

    def _convert_items(self, value: Any, pointer: str, ctx: _Context) -> JsonSchema:
        if isinstance(value, list):
            self._note(
                "REPAIRED_ITEMS_LIST", "`items` given as a list was read as a union of its schemas", pointer
            )
            converted = [self._convert(v, f"{pointer}/items/{i}", ctx) for i, v in enumerate(value)]
            return converted[0] if len(converted) == 1 else {"anyOf": converted}
        return self._convert(value, f"{pointer}/items", ctx)

    def _normalize(self, out: JsonSchema, source: dict[str, Any], pointer: str, ctx: _Context) -> JsonSchema:
        type_value = out.get("type")
        if not self.openapi_31 and type_value == "null":
            self._note("REPAIRED_TYPE_NULL", '`type: "null"` is not OpenAPI 3.0; read as JSON null', pointer)
        for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(out.get(exclusive), bool):
                _boolean_exclusive(out, exclusive, bound)
        if isinstance(type_value, str) and type_value not in _JSON_TYPES:
            self._note("REPAIRED_UNKNOWN_TYPE", f"unknown type {type_value!r} was dropped", pointer)
            del out["type"]
        if _is_array_type(out.get("type")) and "items" not in out and "prefixItems" not in out:
            # The same meaning (any items), said explicitly: model APIs (OpenAI) require `items`.
            out["items"] = {}
        if source.get("nullable") is True:
            out = _make_nullable(out)
        if "properties" in out:
            out = self._drop_directional(out, ctx.direction)
        if "allOf" in out:
            out = _merge_all_of(out)
        if "default" in out and not _matches_type(out["default"], out):
            self._note(
                "REPAIRED_DEFAULT_MISMATCH", "a default that does not match its schema was dropped", pointer
            )
            out = {k: v for k, v in out.items() if k != "default"}
        return out

    def _drop_directional(self, out: JsonSchema, direction: str) -> JsonSchema:
        hidden = "readOnly" if direction == "input" else "writeOnly"
        properties = out["properties"]
        dropped = [
            name for name, prop in properties.items() if isinstance(prop, dict) and prop.get(hidden) is True
        ]
        if not dropped:
            return out
        out = dict(out)
        out["properties"] = {name: prop for name, prop in properties.items() if name not in dropped}
        if isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name not in dropped]
        return out

    def _note(self, code: str, message: str, pointer: str, severity: Severity = Severity.INFO) -> None:
        if (code, pointer) in self._reported:
            return
        self._reported.add((code, pointer))
        self.findings.append(Finding(code=code, severity=severity, message=message, pointer=pointer))


@lru_cache(maxsize=8192)
def pattern_compiles(pattern: str) -> bool:
    """Whether the runtime validator (jsonschema-rs, `toolgate.runtime.arguments`) can use `pattern`: with
    the linear `regex` engine, or with `fancy-regex` for look-around and back-references."""
    for options in (jsonschema_rs.RegexOptions(), jsonschema_rs.FancyRegexOptions()):
        try:
            jsonschema_rs.validator_for({"pattern": pattern}, pattern_options=options)
        except jsonschema_rs.ValidationError:
            continue
        return True
    return False


def _is_array_type(type_value: Any) -> bool:
    return type_value == "array" or (isinstance(type_value, list) and "array" in type_value)


def _accepts_any(value: Any) -> bool:
    return True


def _has_constraints(schema: JsonSchema) -> bool:
    return any(
        k not in {"description", "title", "default", "deprecated", "readOnly", "writeOnly"} for k in schema
    )


def _boolean_exclusive(out: JsonSchema, exclusive: str, bound: str) -> None:
    if out.pop(exclusive) and bound in out:
        out[exclusive] = out.pop(bound)


def _make_nullable(out: JsonSchema) -> JsonSchema:
    type_value = out.get("type")
    if isinstance(type_value, str):
        out = {**out, "type": [type_value, "null"]} if type_value != "null" else out
    elif isinstance(type_value, list):
        out = {**out, "type": [*type_value, "null"]} if "null" not in type_value else out
    elif out:
        return {"anyOf": [out, {"type": "null"}]}
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out = {**out, "enum": [*out["enum"], None]}
    return out


_MERGEABLE = frozenset({"type", "properties", "required", "description", "title", "additionalProperties"})


def _merge_all_of(out: JsonSchema) -> JsonSchema:
    """Fold `allOf` of plain object schemas into one object; keep it when a merge would change meaning."""
    parts = [{k: v for k, v in out.items() if k != "allOf"}, *out["allOf"]]
    if not all(isinstance(p, dict) and set(p) <= _MERGEABLE for p in parts):
        return out
    types = {p["type"] for p in parts if isinstance(p.get("type"), str)}
    if (
        len(types) > 1
        or any(isinstance(p.get("type"), list) for p in parts)
        or (types and types != {"object"})
    ):
        return out
    merged: JsonSchema = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in parts:
        for name, prop in part.get("properties", {}).items():
            if name in properties and properties[name] != prop:
                properties[name] = {"allOf": [properties[name], prop]}
            else:
                properties[name] = prop
        required.extend(r for r in part.get("required", []) if r not in required)
        for keyword in ("description", "title"):
            if keyword in part and keyword not in merged:
                merged[keyword] = part[keyword]
        if "additionalProperties" in part:
            if (
                merged.get("additionalProperties", part["additionalProperties"])
                != part["additionalProperties"]
            ):
                return out
            merged["additionalProperties"] = part["additionalProperties"]
    if types:
        merged["type"] = "object"
    if properties:
        merged["properties"] = properties
    if required:
        merged["required"] = required
    return merged


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def _matches_type(value: Any, schema: JsonSchema) -> bool:
    """A cheap check of a default against `type` and `enum`; enough to catch the usual real-world defects."""
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return False
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared if isinstance(declared, list) else []
    if not names:
        return True
    for name in names:
        expected = _PYTHON_TYPES.get(name, ())
        if isinstance(value, bool) and name not in {"boolean"}:
            continue
        if isinstance(value, expected) and not (name == "integer" and isinstance(value, float)):
            return True
    return False


#: Where converted schemas hold subschemas (for measuring and pruning them).
_SUBSCHEMA_MAPS = _SCHEMA_MAP_KEYWORDS | {"$defs"}
_SUBSCHEMA_LISTS = _SCHEMA_LIST_KEYWORDS
_SUBSCHEMAS = _SCHEMA_KEYWORDS | {"items", "additionalProperties"}
_PRUNED_DESCRIPTION_CHARS = 160
_PRUNED_NOTE = " (details omitted to fit the size budget)"
#: Prune depths the size profile covers (index 0 is a stub, index d + 1 keeps d levels).
_PROFILE_LEVELS = 13


class SchemaMeasure:
    """Serialized size and `$defs` references of converted schemas, memoized over shared subtrees."""

    def __init__(self) -> None:
        self._sizes: dict[int, tuple[Any, int]] = {}
        self._refs: dict[int, tuple[Any, frozenset[str]]] = {}
        self._profiles: dict[int, tuple[Any, list[int]]] = {}

    def pruned_size(self, schema: JsonSchema, depth: int) -> int:
        """About `size(prune_schema(schema, depth))`, computed without building the pruned copy."""
        return self._profile(schema)[max(depth, 1) + 1]

    def _profile(self, node: Any) -> list[int]:
        """Size of `node` for each number of levels it may keep (index 0: cut to a stub)."""
        if not isinstance(node, dict):
            return [self.size(node)] * _PROFILE_LEVELS
        cached = self._profiles.get(id(node))
        if cached is not None:
            return cached[1]
        stub = 60 + min(len(str(node.get("description", ""))), _PRUNED_DESCRIPTION_CHARS)
        profile = [stub] + [2] * (_PROFILE_LEVELS - 1)
        for keyword, value in node.items():
            head = len(keyword) + 6
            if keyword in _SUBSCHEMA_MAPS and isinstance(value, dict):
                step = 0 if keyword == "$defs" else 1
                children = [(len(name) + 6, self._profile(v)) for name, v in value.items()]
                for level in range(1, _PROFILE_LEVELS):
                    profile[level] += head + 2 + sum(w + p[level - step] for w, p in children)
            elif keyword in _SUBSCHEMA_LISTS and isinstance(value, list):
                items = [self._profile(v) for v in value]
                for level in range(1, _PROFILE_LEVELS):
                    profile[level] += head + 2 + sum(p[level - 1] + 2 for p in items)
            elif keyword in _SUBSCHEMAS and isinstance(value, dict):
                child = self._profile(value)
                for level in range(1, _PROFILE_LEVELS):
                    profile[level] += head + child[level - 1]
            else:
                width = head + (
                    min(len(value), _PRUNED_DESCRIPTION_CHARS) + 2
                    if keyword == "description"
                    else self.size(value)
                )
                for level in range(1, _PROFILE_LEVELS):
                    profile[level] += width
        self._profiles[id(node)] = (node, profile)
        return profile

    def size(self, node: Any) -> int:
        """Approximately `len(json.dumps(node))`, without expanding shared subtrees more than once."""
        if isinstance(node, str):
            return len(node) + 2
        if not isinstance(node, dict | list):
            return 6
        cached = self._sizes.get(id(node))
        if cached is not None:
            return cached[1]
        if isinstance(node, dict):
            total = 2 + sum(len(k) + 6 + self.size(v) for k, v in node.items())
        else:
            total = 2 + sum(self.size(v) + 2 for v in node)
        self._sizes[id(node)] = (node, total)
        return total

    def refs(self, node: Any) -> frozenset[str]:
        cached = self._refs.get(id(node))
        if cached is not None:
            return cached[1]
        found: set[str] = set()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                found.add(ref[len("#/$defs/") :])
            values: Any = node.values()
        else:
            values = node
        for value in values:
            if isinstance(value, dict | list) and value:
                inner = self.refs(value)
                if inner:
                    found.update(inner)
        result = frozenset(found) if found else _NO_REFS
        self._refs[id(node)] = (node, result)
        return result


_NO_REFS: frozenset[str] = frozenset()


class SchemaPruner:
    """Copies of schemas whose subschemas below a depth keep only their type, memoized across tools."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, int, int], tuple[Any, Any]] = {}

    def prune(self, schema: JsonSchema, depth: int) -> JsonSchema:
        return dict(self._walk(schema, 0, max(depth, 1)))

    def _walk(self, node: Any, level: int, depth: int) -> Any:
        if not isinstance(node, dict):
            return node
        key = (id(node), level, depth)
        cached = self._memo.get(key)
        if cached is not None:
            return cached[1]
        out: dict[str, Any]
        if level > depth:
            out = {k: node[k] for k in ("type", "$ref") if k in node}
            if _is_array_type(out.get("type")):
                # Model APIs (OpenAI) refuse an array schema without `items`.
                out["items"] = {}
            out["description"] = _shorten(node.get("description", "")) + _PRUNED_NOTE
        else:
            out = {}
            for keyword, value in node.items():
                if keyword in _SUBSCHEMA_MAPS and isinstance(value, dict):
                    step = 0 if keyword == "$defs" else 1
                    out[keyword] = {name: self._walk(v, level + step, depth) for name, v in value.items()}
                elif keyword in _SUBSCHEMA_LISTS and isinstance(value, list):
                    out[keyword] = [self._walk(v, level + 1, depth) for v in value]
                elif keyword in _SUBSCHEMAS and isinstance(value, dict):
                    out[keyword] = self._walk(value, level + 1, depth)
                elif keyword == "description" and level > 1:
                    out[keyword] = _shorten(value)
                else:
                    out[keyword] = value
        self._memo[key] = (node, out)
        return out


def _shorten(value: Any) -> str:
    text = str(value).strip()
    return text if len(text) <= _PRUNED_DESCRIPTION_CHARS else text[: _PRUNED_DESCRIPTION_CHARS - 1] + "…"
