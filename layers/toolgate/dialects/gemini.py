"""Gemini function declarations: `{"name", "description", "parameters"?}`, for `tools[].functionDeclarations`.

`parameters` uses Gemini's Schema, a subset of the OpenAPI 3.0 Schema Object (ai.google.dev and Vertex AI
REST reference). We render `parameters` rather than the newer `parametersJsonSchema`: every Gemini surface
and SDK version accepts it (Gemini API v1 and v1beta, Vertex AI, the Live API), its subset is documented
field by field, and the errors it gives are known, so a definition checked here is one the API takes.
What the subset lacks is rewritten or dropped with a loss note:

- `$ref`/`$defs` are inlined; recursion is cut where a definition would recur inside itself;
- `type` arrays become `nullable` (or `anyOf` of the types), `const` a one-value enum, `oneOf` `anyOf`;
- enums are strings only; other enums move into the description;
- objects need declared properties and arrays an item schema: free-form maps and untyped values are
  dropped, since Gemini refuses them ("should be non-empty for OBJECT type", "items: missing field");
- argument names outside `[A-Za-z_][A-Za-z0-9_]{0,63}` are renamed, reversibly (`gemini_names`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from toolgate.dialects.base import (
    DialectCode,
    LossLog,
    describe,
    escape_pointer_token,
    schema_depth_bound,
    violation,
)
from toolgate.dialects.checks import check_names_and_count, check_property_keys, check_text
from toolgate.dialects.gemini_names import PARAMETER_NAME, parameter_renames
from toolgate.dialects.schema_rewrite import UNION_KEYWORDS, object_root, resolve_local, resolve_pointer
from toolgate.settings import get_settings
from toolgate.spec.models import CanonicalTool, Finding, JsonSchema, Severity

#: Vertex AI: "Maximum 128 function declarations can be provided."
MAX_TOOLS = 128
#: "Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots and
#: dashes, with a maximum length of 64."
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
TYPES = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}
#: Schema fields the rendered parameters may use.
SCHEMA_FIELDS = frozenset(
    {"type", "format", "title", "description", "nullable", "enum", "items", "minItems", "maxItems",
     "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern",
     "minimum", "maximum", "anyOf", "default"}
)  # fmt: skip
#: Formats per type; the Gemini API refuses other string formats.
FORMATS = {"STRING": frozenset({"date-time", "enum"}), "INTEGER": frozenset({"int32", "int64"}),
           "NUMBER": frozenset({"float", "double"})}  # fmt: skip
_COPIED = {
    "STRING": ("pattern", "minLength", "maxLength"),
    "NUMBER": ("minimum", "maximum"),
    "INTEGER": ("minimum", "maximum"),
    "BOOLEAN": (),
    "ARRAY": ("minItems", "maxItems"),
    "OBJECT": ("minProperties", "maxProperties"),
}
#: Keywords a typed node handles itself; anything else it drops with a note.
_HANDLED = frozenset(
    {"type", "format", "title", "description", "nullable", "enum", "const", "items", "properties", "required",
     "additionalProperties", "default", "exclusiveMinimum", "exclusiveMaximum", "pattern", "minLength",
     "maxLength", "minimum", "maximum", "minItems", "maxItems", "minProperties", "maxProperties"}
)  # fmt: skip
_ANNOTATIONS = frozenset(
    {"examples", "example", "deprecated", "readOnly", "writeOnly", "$comment", "$schema", "$id", "$anchor",
     "contentMediaType", "contentEncoding", "discriminator", "xml", "externalDocs"}
)  # fmt: skip
_HINT_CHARS = 400


@dataclass(slots=True)
class _Gem:
    """One converted subschema; `schema` is None when Gemini cannot express it (`code`, `reason` say why)."""

    #: The input node, kept so its id stays unique while it is a memo key.
    source: Any
    schema: JsonSchema | None
    code: DialectCode
    reason: str
    losses: LossLog
    raw_height: int
    #: Output schema objects, counting repeats; bounds what inlining may produce.
    nodes: int
    #: None when the result holds wherever the node appears; otherwise the context it was made in.
    context: tuple[Any, ...] | None
    budget_cut: bool = False


class GeminiRenderer:
    """Converts input schemas to Gemini's Schema; memoized by node, so shared subtrees are done once."""

    def __init__(self) -> None:
        self._memo: dict[int, _Gem] = {}
        self._bound = schema_depth_bound()
        #: A rendered schema object serializes to 16 bytes or more, so this keeps inlined schemas within
        #: the byte budget the compiler holds canonical schemas to.
        self._budget = get_settings().compile.max_tool_schema_bytes // 16
        self._root: JsonSchema = {}
        self._defs_id = 0
        self._nodes = 0
        self._path: list[str] = []

    def render(self, tool: CanonicalTool, log: LossLog) -> dict[str, Any]:
        declaration: dict[str, Any] = {"name": tool.name, "description": describe(tool, log)}
        root = object_root(tool.input_schema, log, UNION_KEYWORDS)
        self._root = root
        self._defs_id = id(root.get("$defs"))
        self._nodes = 0
        self._path = []
        converted = self._convert(root, ())
        log.absorb(converted.losses, "")
        if converted.schema is not None:
            declaration["parameters"] = _renamed(converted.schema, root, log)
        elif root.get("properties"):
            log.add(
                converted.code,
                f"no argument can be expressed for Gemini ({converted.reason}); "
                "the declaration has no parameters",
                severity=Severity.WARNING,
            )
        return declaration

    # --- conversion ---------------------------------------------------------------------------

    def _convert(self, node: Any, stack: tuple[str, ...]) -> _Gem:
        depth = len(self._path) + len(stack)
        entry = self._memo.get(id(node))
        if entry is not None and entry.source is node and self._nodes + entry.nodes <= self._budget:
            reusable = (
                depth + entry.raw_height <= self._bound
                if entry.context is None
                else entry.context == (self._defs_id, stack, depth)
            )
            if reusable:
                self._nodes += entry.nodes
                return entry
        if depth > self._bound:
            return self._cut(
                node, DialectCode.DEPTH_EXCEEDED, f"it nests deeper than {self._bound} levels", stack
            )
        if self._nodes >= self._budget:
            cut = self._cut(
                node, DialectCode.SIZE_EXCEEDED, "the inlined schema outgrew its size budget", stack
            )
            cut.budget_cut = True
            return cut
        self._nodes += 1
        entry = (
            self._build(node, stack)
            if isinstance(node, dict)
            else self._dropped(node, "it accepts any value")
        )
        if not entry.budget_cut:
            self._memo[id(node)] = entry
        return entry

    def _cut(self, node: Any, code: DialectCode, reason: str, stack: tuple[str, ...]) -> _Gem:
        context = (self._defs_id, stack, len(self._path) + len(stack))
        return _Gem(node, None, code, reason, LossLog(), 0, 0, context)

    def _dropped(self, node: Any, reason: str, losses: LossLog | None = None) -> _Gem:
        return _Gem(node, None, DialectCode.PROPERTY_DROPPED, reason, losses or LossLog(), 0, 0, None)

    def _child(self, token: str, node: Any, stack: tuple[str, ...]) -> _Gem:
        self._path.append(token)
        try:
            return self._convert(node, stack)
        finally:
            self._path.pop()

    def _build(self, node: dict[str, Any], stack: tuple[str, ...]) -> _Gem:
        ref = node.get("$ref")
        if ref is not None:
            return self._inline(node, ref, stack)
        if "allOf" in node:
            return self._merge_all_of(node, stack)
        building = _Building(node)
        union = node.get("anyOf", node.get("oneOf"))
        types = _types(node)
        if isinstance(union, list) and not types:
            self._union(node, union, stack, building)
        elif len(types) == 1:
            self._typed(node, types[0], stack, building, building.out)
        elif len(types) > 1:
            self._several_types(node, types, stack, building)
        elif building.nullable:
            return self._dropped(node, "it only accepts null", building.losses)
        else:
            return self._dropped(node, "it has no type (any value)", building.losses)
        if building.failed is None and not building.out:
            building.failed = "no value it allows can be expressed"
        if building.failed is not None:
            return building.finish(stack, self._defs_id, len(self._path) + len(stack))
        if isinstance(union, list) and types:
            building.losses.add(
                DialectCode.KEYWORD_DROPPED,
                "a union beside a type was dropped; the typed part is kept",
                severity=Severity.WARNING,
                subject="union beside type",
            )
        if building.nullable:
            building.out["nullable"] = True
        return building.finish(stack, self._defs_id, len(self._path) + len(stack))

    def _inline(self, node: dict[str, Any], ref: Any, stack: tuple[str, ...]) -> _Gem:
        if not isinstance(ref, str):
            return self._dropped(node, "its `$ref` is not a string")
        if ref in stack:
            reason = f"it recurses through {ref}; recursion is cut there"
            return self._cut(node, DialectCode.RECURSION_CUT, reason, stack)
        target = resolve_pointer(self._root, ref)
        if not isinstance(target, dict):
            return self._dropped(node, f"its `$ref` {ref!r} does not resolve")
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        inlined = self._convert({**target, **siblings} if siblings else target, (*stack, ref))
        context = (self._defs_id, stack, len(self._path) + len(stack))
        return _Gem(
            node, inlined.schema, inlined.code, inlined.reason, inlined.losses, inlined.raw_height + 1,
            inlined.nodes, context, inlined.budget_cut,
        )  # fmt: skip

    def _merge_all_of(self, node: dict[str, Any], stack: tuple[str, ...]) -> _Gem:
        """Gemini has no `allOf`: merge the branches' properties and constraints into one schema."""
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        losses = LossLog()
        inner_stack = stack
        branches = node["allOf"] if isinstance(node["allOf"], list) else []
        for index, branch in enumerate(branches):
            ref = branch.get("$ref") if isinstance(branch, dict) else None
            if isinstance(ref, str) and ref in inner_stack:
                losses.add(
                    DialectCode.RECURSION_CUT,
                    f"an `allOf` branch recurses through {ref} and was left out",
                    f"/allOf/{index}",
                    Severity.WARNING,
                )
                continue
            resolved = resolve_local(self._root, branch) if isinstance(branch, dict) else None
            if not isinstance(resolved, dict):
                continue
            if isinstance(ref, str):
                inner_stack = (*inner_stack, ref)
            for keyword, value in resolved.items():
                if keyword == "properties" and isinstance(value, dict):
                    merged["properties"] = {**value, **merged.get("properties", {})}
                elif keyword == "required" and isinstance(value, list):
                    merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
                else:
                    merged.setdefault(keyword, value)
        losses.add(DialectCode.SCHEMA_REWRITTEN, "`allOf` was merged into one schema", subject="allOf")
        result = self._convert(merged, inner_stack)
        losses.absorb(result.losses, "")
        context = (self._defs_id, stack, len(self._path) + len(stack))
        return _Gem(
            node, result.schema, result.code, result.reason, losses, result.raw_height + 1, result.nodes,
            context, result.budget_cut,
        )  # fmt: skip

    def _several_types(
        self, node: dict[str, Any], types: list[str], stack: tuple[str, ...], building: _Building
    ) -> None:
        """`type: [a, b]` becomes `anyOf` of one schema per type (null is `nullable`)."""
        branches: list[JsonSchema] = []
        for json_type in types:
            branch: JsonSchema = {}
            building.failed = None
            self._typed(node, json_type, stack, building, branch)
            if building.failed is None and branch:
                branches.append(branch)
        building.failed = None if branches else f"none of its types {', '.join(types)} can be expressed"
        if len(branches) == 1:
            building.out.update(branches[0])
        elif branches:
            building.out["anyOf"] = branches
            _copy_text(node, building.out)
            building.losses.add(
                DialectCode.SCHEMA_REWRITTEN, "a list of types became `anyOf`", subject="type list"
            )

    def _union(
        self, node: dict[str, Any], union: list[Any], stack: tuple[str, ...], building: _Building
    ) -> None:
        keyword = "anyOf" if "anyOf" in node else "oneOf"
        branches: list[JsonSchema] = []
        for index, branch in enumerate(union):
            if isinstance(branch, dict) and branch.get("type") == "null" and len(branch) == 1:
                building.nullable = True
                continue
            converted = building.child(self, f"{keyword}/{index}", branch, stack)
            if converted.schema is None:
                building.losses.add(
                    converted.code,
                    f"a `{keyword}` branch was dropped: {converted.reason}",
                    f"/{keyword}/{index}",
                    Severity.WARNING,
                )
            else:
                branches.append(converted.schema)
        if not branches:
            building.failed = f"no branch of its `{keyword}` can be expressed"
            return
        if keyword == "oneOf":
            building.losses.add(
                DialectCode.SCHEMA_REWRITTEN,
                "`oneOf` became `anyOf`: Gemini cannot say that only one branch may match",
                subject="oneOf",
            )
        if len(branches) == 1:
            building.out.update(branches[0])
        else:
            building.out["anyOf"] = branches
        _copy_text(node, building.out)

    def _typed(
        self,
        node: dict[str, Any],
        json_type: str,
        stack: tuple[str, ...],
        building: _Building,
        out: JsonSchema,
    ) -> None:
        gemini_type = TYPES[json_type]
        out["type"] = gemini_type
        _copy_text(node, out)
        if "default" in node and _has_type(node["default"], json_type):
            out["default"] = node["default"]
        for keyword in _COPIED[gemini_type]:
            if keyword in node:
                out[keyword] = node[keyword]
        self._format(node, gemini_type, building, out)
        self._bounds(node, gemini_type, building, out)
        if not self._enum(node, json_type, building, out):
            out.clear()
            return
        if gemini_type == "OBJECT":
            self._object(node, stack, building, out)
        elif gemini_type == "ARRAY":
            self._array(node, stack, building, out)
        for keyword in node:
            if keyword not in _HANDLED and keyword not in {"$defs", "anyOf", "oneOf"}:
                _note_dropped(building.losses, keyword)

    def _format(self, node: dict[str, Any], gemini_type: str, building: _Building, out: JsonSchema) -> None:
        value = node.get("format")
        if value is None:
            return
        if value in FORMATS.get(gemini_type, ()):
            out["format"] = value
        else:
            building.losses.add(
                DialectCode.KEYWORD_DROPPED,
                f"format `{value}` is not supported by Gemini and was dropped",
                subject=f"format {value}",
            )

    def _bounds(self, node: dict[str, Any], gemini_type: str, building: _Building, out: JsonSchema) -> None:
        if gemini_type not in {"NUMBER", "INTEGER"}:
            return
        for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            value = node.get(exclusive)
            if isinstance(value, int | float) and not isinstance(value, bool) and bound not in out:
                out[bound] = value
                building.losses.add(
                    DialectCode.SCHEMA_REWRITTEN,
                    f"`{exclusive}` became an inclusive `{bound}`: the bound itself is now allowed",
                    severity=Severity.WARNING,
                    subject=exclusive,
                )

    def _enum(self, node: dict[str, Any], json_type: str, building: _Building, out: JsonSchema) -> bool:
        """Set a string enum, or describe other enums; False when no allowed value has this type."""
        if "const" in node:
            values = [node["const"]]
        elif isinstance(node.get("enum"), list):
            values = node["enum"]
        else:
            return True
        typed = [value for value in values if _has_type(value, json_type)]
        if not typed:
            return False
        if json_type == "string":
            out["enum"] = typed
            if "const" in node:
                building.losses.add(
                    DialectCode.SCHEMA_REWRITTEN, "`const` became a one-value enum", subject="const"
                )
            return True
        hint = "Allowed values: " + ", ".join(json.dumps(value) for value in typed) + "."
        if len(hint) > _HINT_CHARS:
            hint = hint[: _HINT_CHARS - 2] + "…."
        description = out.get("description")
        out["description"] = f"{description} {hint}" if description else hint
        building.losses.add(
            DialectCode.SCHEMA_REWRITTEN,
            "Gemini enums hold strings only: the allowed values moved into the description",
            severity=Severity.WARNING,
            subject="enum",
        )
        return True

    def _object(
        self, node: dict[str, Any], stack: tuple[str, ...], building: _Building, out: JsonSchema
    ) -> None:
        source = node.get("properties")
        properties: dict[str, JsonSchema] = {}
        declared = node.get("required")
        required: list[Any] = declared if isinstance(declared, list) else []
        for name, prop in (source or {}).items() if isinstance(source, dict) else ():
            token = f"properties/{escape_pointer_token(name)}"
            converted = building.child(self, token, prop, stack)
            if converted.schema is not None:
                properties[name] = converted.schema
                continue
            needed = " (it was required: calls that need it will fail)" if name in required else ""
            building.losses.add(
                converted.code, f"argument dropped: {converted.reason}{needed}", f"/{token}", Severity.WARNING
            )
        if not properties:
            building.failed = (
                "none of its properties can be expressed"
                if source
                else "an object without declared properties (any keys) cannot be expressed"
            )
            return
        out["properties"] = properties
        kept = [name for name in required if name in properties]
        if kept:
            out["required"] = kept
        extra = node.get("additionalProperties")
        if extra is True or isinstance(extra, dict):
            building.losses.add(
                DialectCode.KEYWORD_DROPPED,
                "keys beyond the declared properties (`additionalProperties`) cannot be offered to Gemini",
                severity=Severity.WARNING,
                subject="additionalProperties",
            )

    def _array(
        self, node: dict[str, Any], stack: tuple[str, ...], building: _Building, out: JsonSchema
    ) -> None:
        items = node.get("items")
        if not isinstance(items, dict):
            building.failed = "an array without one item schema cannot be expressed"
            return
        converted = building.child(self, "items", items, stack)
        if converted.schema is None:
            building.failed = f"its items cannot be expressed: {converted.reason}"
            building.failed_code = converted.code
            return
        out["items"] = converted.schema


def _renamed(parameters: JsonSchema, root: JsonSchema, log: LossLog) -> JsonSchema:
    """`parameters` with every argument under a name Gemini documents as valid (a copy when any changes)."""
    properties = root.get("properties")
    renames = parameter_renames(properties) if isinstance(properties, dict) else {}
    kept = parameters.get("properties", {})
    if not renames.keys() & kept.keys():
        return parameters
    for original, rendered in renames.items():
        if original in kept:
            log.add(
                DialectCode.PARAMETER_RENAMED,
                f"argument {original!r} is offered to Gemini as {rendered!r}, since Gemini parameter names "
                "are letters, digits and underscores; calls are mapped back to the original name",
                f"/properties/{escape_pointer_token(original)}",
                subject=original,
            )
    out = {**parameters, "properties": {renames.get(name, name): value for name, value in kept.items()}}
    if "required" in parameters:
        out["required"] = [renames.get(name, name) for name in parameters["required"]]
    return out


class _Building:
    """State of one node's conversion: output, losses, and what its children contribute."""

    __slots__ = (
        "budget_cut", "context", "failed", "failed_code", "losses", "node", "nodes", "nullable", "out",
        "raw_height",
    )  # fmt: skip

    def __init__(self, node: dict[str, Any]) -> None:
        self.node = node
        self.out: JsonSchema = {}
        self.losses = LossLog()
        self.nullable = node.get("nullable") is True or _null_allowed(node)
        self.failed: str | None = None
        self.failed_code = DialectCode.PROPERTY_DROPPED
        self.raw_height = 0
        self.nodes = 1
        self.context = False
        self.budget_cut = False

    def child(self, renderer: GeminiRenderer, token: str, node: Any, stack: tuple[str, ...]) -> _Gem:
        converted = renderer._child(token, node, stack)
        self.losses.absorb(converted.losses, f"/{token}")
        self.raw_height = max(self.raw_height, converted.raw_height)
        self.nodes += converted.nodes
        self.context = self.context or converted.context is not None
        self.budget_cut = self.budget_cut or converted.budget_cut
        return converted

    def finish(self, stack: tuple[str, ...], defs_id: int, depth: int) -> _Gem:
        """The node's result; a failure keeps the context too, since a cut below may have caused it."""
        context = (defs_id, stack, depth) if self.context else None
        if self.failed is not None:
            return _Gem(
                self.node, None, self.failed_code, self.failed, self.losses, 0, 0, context, self.budget_cut
            )
        return _Gem(
            self.node, self.out, DialectCode.PROPERTY_DROPPED, "", self.losses, self.raw_height + 1,
            self.nodes, context, self.budget_cut,
        )  # fmt: skip


def _types(node: dict[str, Any]) -> list[str]:
    """The node's JSON types without null, inferred from its keywords when `type` is absent."""
    declared = node.get("type")
    if isinstance(declared, str):
        return [declared] if declared in TYPES else []
    if isinstance(declared, list):
        return [t for t in declared if t in TYPES]
    if "properties" in node:
        return ["object"]
    if "items" in node:
        return ["array"]
    values = [node["const"]] if "const" in node else node.get("enum")
    if isinstance(values, list):
        inferred = [
            t for t in ("string", "boolean", "integer", "number") if any(_has_type(v, t) for v in values)
        ]
        return inferred[:1] if "integer" in inferred and "number" in inferred else inferred
    return []


def _null_allowed(node: dict[str, Any]) -> bool:
    declared = node.get("type")
    if declared == "null" or (isinstance(declared, list) and "null" in declared):
        return True
    return isinstance(node.get("enum"), list) and None in node["enum"]


def _has_type(value: Any, json_type: str) -> bool:
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if json_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if json_type == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def _copy_text(node: dict[str, Any], out: JsonSchema) -> None:
    for keyword in ("title", "description"):
        if isinstance(node.get(keyword), str) and keyword not in out:
            out[keyword] = node[keyword]


def _note_dropped(losses: LossLog, keyword: str) -> None:
    if keyword.startswith("x-"):
        losses.add(DialectCode.KEYWORD_DROPPED, "extension keywords (`x-...`) were dropped", subject="x-")
        return
    losses.add(
        DialectCode.KEYWORD_DROPPED,
        f"`{keyword}` is not supported by Gemini and was dropped",
        severity=Severity.INFO if keyword in _ANNOTATIONS else Severity.WARNING,
        subject=keyword,
    )


# --- checks ---------------------------------------------------------------------------------------


def check_gemini(definitions: Sequence[Any]) -> list[Finding]:
    findings: list[Finding] = []
    names: list[tuple[int, Any]] = []
    checker = _SchemaChecker()
    for index, declaration in enumerate(definitions):
        if not isinstance(declaration, dict):
            findings.append(
                violation(DialectCode.DEFINITION_INVALID, f"tool {index} is not an object", f"/{index}")
            )
            continue
        names.append((index, declaration.get("name")))
        findings.extend(check_text(declaration.get("name"), NAME, f"/{index}/name", DialectCode.NAME_INVALID))
        findings.extend(
            check_text(
                declaration.get("description"), None, f"/{index}/description", DialectCode.DESCRIPTION_INVALID
            )
        )
        if "parameters" not in declaration:
            continue
        parameters = declaration["parameters"]
        at = f"/{index}/parameters"
        if not isinstance(parameters, dict) or parameters.get("type") != "OBJECT":
            findings.append(violation(DialectCode.SCHEMA_INVALID, "parameters must be an OBJECT schema", at))
            continue
        findings.extend(checker.check(parameters, at))
        findings.extend(check_property_keys(parameters, at, PARAMETER_NAME))
    findings.extend(check_names_and_count(names, MAX_TOOLS, "Gemini", "/{index}/name"))
    return findings


class _SchemaChecker:
    """Checks rendered Gemini schemas; subtrees found clean are not walked again."""

    def __init__(self) -> None:
        self._clean: dict[int, Any] = {}
        self._bound = schema_depth_bound()

    def check(self, schema: JsonSchema, at: str) -> list[Finding]:
        problems: list[Finding] = []
        self._walk(schema, at, 0, problems)
        return problems

    def _walk(self, node: Any, pointer: str, depth: int, problems: list[Finding]) -> None:
        if self._clean.get(id(node)) is node:
            return
        if not isinstance(node, dict):
            problems.append(violation(DialectCode.SCHEMA_INVALID, "a schema must be an object", pointer))
            return
        if depth > self._bound:
            problems.append(violation(DialectCode.LIMIT_EXCEEDED, "the schema nests too deep", pointer))
            return
        before = len(problems)
        problems.extend(_node_problems(node, pointer))
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name, child in properties.items():
                self._walk(child, f"{pointer}/properties/{escape_pointer_token(name)}", depth + 1, problems)
        if "items" in node:
            self._walk(node["items"], f"{pointer}/items", depth + 1, problems)
        if isinstance(node.get("anyOf"), list):
            for index, child in enumerate(node["anyOf"]):
                self._walk(child, f"{pointer}/anyOf/{index}", depth + 1, problems)
        if len(problems) == before:
            self._clean[id(node)] = node


def _node_problems(node: dict[str, Any], pointer: str) -> list[Finding]:
    problems: list[Finding] = []
    unknown = [keyword for keyword in node if keyword not in SCHEMA_FIELDS]
    if unknown:
        problems.append(
            violation(
                DialectCode.KEYWORD_UNSUPPORTED,
                f"Gemini's Schema has no {', '.join(sorted(unknown))}",
                pointer,
            )
        )
    gemini_type = node.get("type")
    if gemini_type is None and not isinstance(node.get("anyOf"), list):
        problems.append(violation(DialectCode.SCHEMA_INVALID, "a schema needs a type or anyOf", pointer))
    elif gemini_type is not None and gemini_type not in TYPES.values():
        problems.append(
            violation(DialectCode.SCHEMA_INVALID, f"type {gemini_type!r} is not a Gemini type", pointer)
        )
    properties = node.get("properties")
    if gemini_type == "OBJECT":
        if not isinstance(properties, dict) or not properties:
            problems.append(
                violation(DialectCode.SCHEMA_INVALID, "OBJECT needs non-empty properties", pointer)
            )
        elif not set(node.get("required", [])) <= properties.keys():
            problems.append(
                violation(DialectCode.SCHEMA_INVALID, "required names a missing property", pointer)
            )
    elif "properties" in node or "required" in node:
        problems.append(
            violation(DialectCode.SCHEMA_INVALID, "properties are only allowed on OBJECT", pointer)
        )
    if gemini_type == "ARRAY" and not isinstance(node.get("items"), dict):
        problems.append(violation(DialectCode.SCHEMA_INVALID, "ARRAY needs items", pointer))
    enum = node.get("enum")
    if enum is not None and (not isinstance(enum, list) or not all(isinstance(v, str) for v in enum)):
        problems.append(violation(DialectCode.SCHEMA_INVALID, "enum values must be strings", pointer))
    if "format" in node and node["format"] not in FORMATS.get(str(gemini_type), ()):
        problems.append(
            violation(
                DialectCode.KEYWORD_UNSUPPORTED, f"format {node['format']!r} is not allowed here", pointer
            )
        )
    return problems
