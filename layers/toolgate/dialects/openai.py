"""OpenAI function tools: Chat Completions (plain and strict, i.e. Structured Outputs) and Responses.

Chat Completions: `{"type": "function", "function": {"name", "description", "parameters", "strict"?}}`.
Responses: `{"type": "function", "name", "description", "parameters", "strict": false}`; without an
explicit `strict: false` the Responses API turns a tool into strict mode. Limits are from
platform.openai.com/docs/guides/function-calling and .../structured-outputs#supported-schemas. OpenAI
refuses an array schema without `items` anywhere in `parameters`; renderers add `items: {}` (any item).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from toolgate.dialects.base import (
    FUNCTION_NAME,
    DialectCode,
    LossLog,
    describe,
    escape_pointer_token,
    schema_depth_bound,
    violation,
)
from toolgate.dialects.checks import check_json_schema_root, check_names_and_count, check_text
from toolgate.dialects.schema_rewrite import (
    JSON_TYPES,
    SubschemaRepair,
    find_subschemas,
    object_root,
)
from toolgate.dialects.strict_arguments import accepts_null
from toolgate.spec.models import CanonicalTool, Finding, JsonSchema, Severity

MAX_TOOLS = 128
MAX_DESCRIPTION_CHARS = 1024
#: "schema must have type 'object' and not have 'oneOf'/'anyOf'/'allOf'/'enum'/'const'/'not' at the top level"
ROOT_FORBIDDEN = ("oneOf", "anyOf", "allOf", "enum", "const", "not")

STRICT_MAX_DEPTH = 10
STRICT_MAX_PROPERTIES = 5000
STRICT_MAX_ENUM_VALUES = 1000
#: Property names, definition names, enum values and const values together.
STRICT_MAX_STRING_CHARS = 120_000
STRICT_LARGE_ENUM_VALUES = 250
STRICT_LARGE_ENUM_CHARS = 15_000
STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
#: Keywords strict mode supports; anything else is dropped with a loss note.
STRICT_KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const", "$ref",
     "$defs", "description", "title", "pattern", "format", "multipleOf", "minimum", "maximum",
     "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems"}
)  # fmt: skip
#: Kept as they are in strict mode.
_STRICT_COPIED = frozenset(
    {"type", "enum", "const", "description", "title", "pattern", "multipleOf", "minimum", "maximum",
     "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems"}
)  # fmt: skip
#: Dropping these loses documentation, not validation.
_ANNOTATIONS = frozenset(
    {"default", "examples", "example", "deprecated", "readOnly", "writeOnly", "$comment", "$schema", "$id",
     "$anchor", "contentMediaType", "contentEncoding", "discriminator", "xml", "externalDocs", "nullable"}
)  # fmt: skip


def _function(name: str, description: str, parameters: JsonSchema, *, strict: bool = False) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, "description": description, "parameters": parameters}
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def responses_tool(chat_tool: dict[str, Any]) -> dict[str, Any]:
    """The Responses API form of a plain Chat Completions function tool: the same name, description and
    parameters, flat, and explicitly not strict."""
    function = chat_tool["function"]
    return {"type": "function", "name": function["name"], "description": function["description"],
            "parameters": function["parameters"], "strict": False}  # fmt: skip


def _array_without_items(node: dict[str, Any]) -> bool:
    return "array" in _type_set(node.get("type")) and "items" not in node


def _add_items(node: dict[str, Any], log: LossLog) -> dict[str, Any]:
    if not _array_without_items(node):
        return node
    log.add(
        DialectCode.ARRAY_ITEMS_ADDED,
        "an array without an item schema was given `items: {}` (any item), which OpenAI requires",
    )
    return {**node, "items": {}}


class _PlainParameters:
    """The input schema as it is, with an object root and an item schema on every array.

    One per renderer: subschemas the tools share are repaired once.
    """

    def __init__(self) -> None:
        self._repair = SubschemaRepair(_add_items, schema_depth_bound())

    def __call__(self, tool: CanonicalTool, log: LossLog) -> JsonSchema:
        return self._repair(object_root(tool.input_schema, log, ROOT_FORBIDDEN), log)


class OpenAIRenderer:
    """Plain Chat Completions function tools."""

    def __init__(self) -> None:
        #: The parameters' rewrite, shared with a strict renderer's plain fallback.
        self.parameters = _PlainParameters()

    def render(self, tool: CanonicalTool, log: LossLog) -> dict[str, Any]:
        description = describe(tool, log, MAX_DESCRIPTION_CHARS)
        return _function(tool.name, description, self.parameters(tool, log))


class OpenAIResponsesRenderer:
    """Responses API function tools, explicitly not strict: the plain tools, flat."""

    def __init__(self) -> None:
        self._chat = OpenAIRenderer()

    def render(self, tool: CanonicalTool, log: LossLog) -> dict[str, Any]:
        return responses_tool(self._chat.render(tool, log))


class OpenAIStrictRenderer:
    """Strict function tools where the schema can be expressed; plain ones, with a note, where not."""

    def __init__(self, plain: OpenAIRenderer | None = None) -> None:
        """`plain`: a plain renderer whose rewrites the fallback may share (token counting renders both)."""
        self._rewriter = _StrictRewriter()
        self._parameters = plain.parameters if plain is not None else _PlainParameters()

    def render(self, tool: CanonicalTool, log: LossLog) -> dict[str, Any]:
        description = describe(tool, log, MAX_DESCRIPTION_CHARS)
        attempt = LossLog()
        try:
            parameters = self._rewriter.rewrite_root(
                object_root(tool.input_schema, attempt, ROOT_FORBIDDEN), attempt
            )
        except _NotStrictError as exc:
            log.add(
                DialectCode.STRICT_UNAVAILABLE,
                f"strict mode cannot express this tool: {exc.reason}; it is rendered without `strict`",
                exc.pointer,
                Severity.WARNING,
            )
            return _function(tool.name, description, self._parameters(tool, log))
        log.absorb(attempt, "")
        return _function(tool.name, description, parameters, strict=True)


class _NotStrictError(Exception):
    def __init__(self, reason: str, pointer: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pointer = pointer


@dataclass(slots=True)
class _Strict:
    """One rewritten subschema, with what the account of strict limits needs from it."""

    #: The input node, kept so its id stays unique while it is a memo key.
    source: Any
    schema: JsonSchema
    losses: LossLog
    #: Object nesting levels, counting this node when it is an object.
    height: int
    #: Subschema nesting, for the recursion guard.
    raw_height: int
    properties: int
    enum_values: int
    chars: int
    #: `$defs` names the subtree refers to.
    refs: frozenset[str]


_NO_REFS: frozenset[str] = frozenset()


class _StrictRewriter:
    """Rewrites schemas into strict mode's subset; memoized by node, so shared subtrees are done once."""

    def __init__(self) -> None:
        self._memo: dict[int, _Strict] = {}
        self._bound = schema_depth_bound()
        self._defs: frozenset[str] = frozenset()
        self._path: list[str] = []

    def rewrite_root(self, schema: JsonSchema, log: LossLog) -> JsonSchema:
        defs = schema.get("$defs") or {}
        if not isinstance(defs, dict):
            raise _NotStrictError("`$defs` is not a map of schemas", "/$defs")
        self._defs = frozenset(defs)
        self._path = []
        body = {k: v for k, v in schema.items() if k != "$defs"} if "$defs" in schema else schema
        root = self._rewrite(body)
        if root.schema.get("type") != "object":
            raise _NotStrictError("the root is not a plain object", "")
        parts = [(root, "")]
        out_defs: dict[str, JsonSchema] = {}
        for name, definition in defs.items():
            token = f"$defs/{escape_pointer_token(name)}"
            self._path = [token]
            rewritten = self._rewrite(definition)
            out_defs[name] = rewritten.schema
            parts.append((rewritten, f"/{token}"))
        self._path = []
        self._check_totals(parts, sum(len(name) for name in defs))
        for part, prefix in parts:
            log.absorb(part.losses, prefix)
        return {**root.schema, "$defs": out_defs} if out_defs else root.schema

    def _check_totals(self, parts: list[tuple[_Strict, str]], def_name_chars: int) -> None:
        for part, prefix in parts:
            if part.height > STRICT_MAX_DEPTH:
                raise _NotStrictError(
                    f"objects nest {part.height} levels deep; the limit is {STRICT_MAX_DEPTH}", prefix
                )
        properties = sum(part.properties for part, _ in parts)
        if properties > STRICT_MAX_PROPERTIES:
            raise _NotStrictError(f"{properties} object properties; the limit is {STRICT_MAX_PROPERTIES}", "")
        enum_values = sum(part.enum_values for part, _ in parts)
        if enum_values > STRICT_MAX_ENUM_VALUES:
            raise _NotStrictError(f"{enum_values} enum values; the limit is {STRICT_MAX_ENUM_VALUES}", "")
        chars = def_name_chars + sum(part.chars for part, _ in parts)
        if chars > STRICT_MAX_STRING_CHARS:
            raise _NotStrictError(
                f"names, enum and const values total {chars} characters; "
                f"the limit is {STRICT_MAX_STRING_CHARS}",
                "",
            )

    def _fail(self, reason: str) -> _NotStrictError:
        return _NotStrictError(reason, "/" + "/".join(self._path) if self._path else "")

    def _rewrite(self, node: Any) -> _Strict:
        if not isinstance(node, dict):
            raise self._fail("a boolean schema (any value, or none) has no strict form")
        entry = self._memo.get(id(node))
        if entry is None or entry.source is not node:
            if len(self._path) > self._bound:
                raise self._fail(f"the schema nests deeper than {self._bound} levels")
            entry = self._build(node)
            self._memo[id(node)] = entry
        elif len(self._path) + entry.raw_height > self._bound:
            raise self._fail(f"the schema nests deeper than {self._bound} levels")
        if not entry.refs <= self._defs:
            raise self._fail("a `$ref` names a definition this tool does not carry")
        return entry

    def _child(self, token: str, node: Any) -> _Strict:
        self._path.append(token)
        try:
            return self._rewrite(node)
        finally:
            self._path.pop()

    def _build(self, node: dict[str, Any]) -> _Strict:
        if "$ref" in node:
            return self._ref(node)
        if "allOf" in node:
            return self._single_all_of(node)
        losses = LossLog()
        out: JsonSchema = {}
        children: list[tuple[_Strict, str]] = []
        for keyword, value in node.items():
            if keyword in _STRICT_COPIED:
                out[keyword] = value
            elif keyword == "format":
                if value in STRICT_FORMATS:
                    out[keyword] = value
                else:
                    losses.add(
                        DialectCode.KEYWORD_DROPPED,
                        f"format `{value}` is not supported in strict mode and was dropped",
                        subject=f"format {value}",
                    )
            elif keyword in {"anyOf", "oneOf"}:
                if "anyOf" in out:
                    raise self._fail("`anyOf` and `oneOf` together have no strict form")
                if not isinstance(value, list) or not value:
                    raise self._fail(f"`{keyword}` is not a list of schemas")
                branches = [self._child(f"{keyword}/{index}", branch) for index, branch in enumerate(value)]
                out["anyOf"] = [branch.schema for branch in branches]
                children.extend((branch, f"/{keyword}/{index}") for index, branch in enumerate(branches))
                if keyword == "oneOf":
                    losses.add(
                        DialectCode.SCHEMA_REWRITTEN,
                        "`oneOf` became `anyOf`: strict mode cannot say that only one branch may match",
                        subject="oneOf",
                    )
            elif keyword not in {"properties", "required", "additionalProperties", "items"}:
                _note_dropped(losses, keyword)
        types = self._types(node, out)
        height = 0
        if "object" in types:
            height = 1
            self._object(node, out, losses, children)
        else:
            for keyword in ("properties", "required", "additionalProperties"):
                if keyword in node:
                    _note_dropped(losses, keyword)
        if "array" in types:
            items = node.get("items")
            if not isinstance(items, dict):
                raise self._fail("an array without one item schema has no strict form")
            rewritten = self._child("items", items)
            out["items"] = rewritten.schema
            children.append((rewritten, "/items"))
        elif "items" in node:
            _note_dropped(losses, "items")
        return self._combine(node, out, losses, children, height)

    def _types(self, node: dict[str, Any], out: JsonSchema) -> set[str]:
        type_value = out.get("type")
        if type_value is None:
            if "properties" in node:
                out["type"] = "object"
                return {"object"}
            if "items" in node:
                out["type"] = "array"
                return {"array"}
            if not {"anyOf", "enum", "const"} & out.keys():
                raise self._fail("a schema without a type (any value) has no strict form")
            return set()
        types = _type_set(type_value)
        if not types or not types <= JSON_TYPES:
            raise self._fail(f"type {type_value!r} is not a JSON type")
        return types

    def _object(
        self, node: dict[str, Any], out: JsonSchema, losses: LossLog, children: list[tuple[_Strict, str]]
    ) -> None:
        properties = node.get("properties") or {}
        extra = node.get("additionalProperties")
        if extra is True or isinstance(extra, dict):
            raise self._fail(
                "an object that accepts arbitrary keys (`additionalProperties`) has no strict form"
            )
        if not isinstance(properties, dict):
            raise self._fail("`properties` is not a map of schemas")
        if not properties and extra is not False:
            raise self._fail("an object without declared properties (any keys) has no strict form")
        required = node.get("required") or []
        required_set = set(required) if isinstance(required, list) else set()
        out_properties: dict[str, JsonSchema] = {}
        for name, prop in properties.items():
            token = f"properties/{escape_pointer_token(name)}"
            rewritten = self._child(token, prop)
            children.append((rewritten, f"/{token}"))
            if name in required_set:
                out_properties[name] = rewritten.schema
            else:
                out_properties[name] = _nullable(rewritten.schema)
                losses.add(
                    DialectCode.SCHEMA_REWRITTEN,
                    "an optional property became required and nullable: the model sends null to leave it out",
                    f"/{token}",
                    subject="optional",
                )
        if required_set - properties.keys():
            losses.add(
                DialectCode.KEYWORD_DROPPED,
                "required names without a property schema were dropped",
                "/required",
                Severity.WARNING,
            )
        out["properties"] = out_properties
        out["required"] = list(out_properties)
        out["additionalProperties"] = False

    def _combine(
        self,
        node: dict[str, Any],
        out: JsonSchema,
        losses: LossLog,
        children: list[tuple[_Strict, str]],
        height: int,
    ) -> _Strict:
        enum = out.get("enum")
        enum_values = 0
        chars = sum(len(name) for name in out.get("properties", ()))
        if isinstance(enum, list):
            enum_values = len(enum)
            enum_chars = sum(len(value) for value in enum if isinstance(value, str))
            if enum_values > STRICT_LARGE_ENUM_VALUES and enum_chars > STRICT_LARGE_ENUM_CHARS:
                raise self._fail(
                    f"an enum of {enum_values} values totals {enum_chars} characters; "
                    f"above {STRICT_LARGE_ENUM_VALUES} values the limit is {STRICT_LARGE_ENUM_CHARS}"
                )
            chars += enum_chars
        if isinstance(out.get("const"), str):
            chars += len(out["const"])
        child_height = raw_height = properties = 0
        refs = _NO_REFS
        for child, prefix in children:
            losses.absorb(child.losses, prefix)
            child_height = max(child_height, child.height)
            raw_height = max(raw_height, child.raw_height)
            properties += child.properties
            enum_values += child.enum_values
            chars += child.chars
            if child.refs:
                refs = refs | child.refs
        return _Strict(
            source=node,
            schema=out,
            losses=losses,
            height=height + child_height,
            raw_height=raw_height + 1,
            properties=properties + len(out.get("properties", ())),
            enum_values=enum_values,
            chars=chars,
            refs=refs,
        )

    def _ref(self, node: dict[str, Any]) -> _Strict:
        ref = node["$ref"]
        losses = LossLog()
        refs = _NO_REFS
        if ref != "#":
            name = ref[len("#/$defs/") :] if isinstance(ref, str) and ref.startswith("#/$defs/") else None
            if name is None or "/" in name:
                raise self._fail(f"`$ref` {ref!r} is neither `#` nor `#/$defs/<name>`")
            refs = frozenset({name.replace("~1", "/").replace("~0", "~")})
        for keyword in node:
            if keyword != "$ref":
                losses.add(
                    DialectCode.KEYWORD_DROPPED,
                    f"`{keyword}` beside `$ref` is not allowed in strict mode and was dropped",
                    subject=f"$ref {keyword}",
                )
        return _Strict(node, {"$ref": ref}, losses, 0, 1, 0, 0, 0, refs)

    def _single_all_of(self, node: dict[str, Any]) -> _Strict:
        branches = node["allOf"]
        if not isinstance(branches, list) or len(branches) != 1:
            raise self._fail("`allOf` of several schemas has no strict form")
        if any(not _is_annotation(k) and k not in {"allOf", "description", "title"} for k in node):
            raise self._fail("`allOf` beside other constraints has no strict form")
        inner = self._child("allOf/0", branches[0])
        losses = LossLog()
        losses.absorb(inner.losses, "/allOf/0")
        losses.add(DialectCode.SCHEMA_REWRITTEN, "a one-branch `allOf` was unwrapped", subject="allOf")
        schema = inner.schema
        overlay: JsonSchema = {k: node[k] for k in ("description", "title") if k in node}
        for keyword in node:
            if _is_annotation(keyword) or (keyword in overlay and "$ref" in schema):
                _note_dropped(losses, keyword)
        if overlay and "$ref" not in schema:
            schema = {**schema, **overlay}
        return _Strict(
            node, schema, losses, inner.height, inner.raw_height + 1, inner.properties, inner.enum_values,
            inner.chars, inner.refs,
        )  # fmt: skip


def _is_annotation(keyword: str) -> bool:
    return keyword in _ANNOTATIONS or keyword.startswith("x-")


def _note_dropped(losses: LossLog, keyword: str) -> None:
    if keyword.startswith("x-"):
        losses.add(DialectCode.KEYWORD_DROPPED, "extension keywords (`x-...`) were dropped", subject="x-")
        return
    severity = Severity.INFO if keyword in _ANNOTATIONS else Severity.WARNING
    losses.add(
        DialectCode.KEYWORD_DROPPED,
        f"`{keyword}` is not supported in strict mode and was dropped",
        severity=severity,
        subject=keyword,
    )


def _type_set(type_value: Any) -> set[str]:
    if isinstance(type_value, str):
        return {type_value}
    return set(type_value) if isinstance(type_value, list) else set()


def _nullable(schema: JsonSchema) -> JsonSchema:
    """The same schema, also accepting null (how strict mode says 'optional')."""
    if accepts_null(schema):
        return schema
    type_value = schema.get("type")
    if isinstance(type_value, str | list) and "anyOf" not in schema:
        types = [type_value] if isinstance(type_value, str) else list(type_value)
        out = {**schema, "type": [*types, "null"]}
        if "const" in out:
            out["enum"] = [out.pop("const"), None]
        elif isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
        return out
    if type_value is None and "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    if type_value is None and isinstance(schema.get("enum"), list):
        return {**schema, "enum": [*schema["enum"], None]}
    return {"anyOf": [schema, {"type": "null"}]}


# --- checks ---------------------------------------------------------------------------------------


def check_openai(definitions: Sequence[Any]) -> list[Finding]:
    """Violations of OpenAI's documented limits by Chat Completions tools; pointers into `definitions`."""
    findings: list[Finding] = []
    names: list[tuple[int, Any]] = []
    strict_checker = _StrictChecker()
    for index, definition in enumerate(definitions):
        function = definition.get("function") if isinstance(definition, dict) else None
        if not isinstance(function, dict) or definition.get("type") != "function":
            findings.append(
                violation(DialectCode.DEFINITION_INVALID, f"tool {index} is not a function tool", f"/{index}")
            )
            continue
        names.append((index, function.get("name")))
        findings.extend(_check_function(function, f"/{index}/function", strict_checker))
    findings.extend(check_names_and_count(names, MAX_TOOLS, "OpenAI", "/{index}/function/name"))
    return findings


def check_openai_responses(definitions: Sequence[Any]) -> list[Finding]:
    """Violations of OpenAI's documented limits by Responses API function tools."""
    findings: list[Finding] = []
    names: list[tuple[int, Any]] = []
    strict_checker = _StrictChecker()
    for index, definition in enumerate(definitions):
        if (
            not isinstance(definition, dict)
            or definition.get("type") != "function"
            or "function" in definition
        ):
            findings.append(
                violation(
                    DialectCode.DEFINITION_INVALID,
                    f"tool {index} is not a Responses function tool (flat `type`, `name`, `parameters`)",
                    f"/{index}",
                )
            )
            continue
        names.append((index, definition.get("name")))
        findings.extend(_check_function(definition, f"/{index}", strict_checker))
        if definition.get("strict") is not False:
            findings.append(
                violation(
                    DialectCode.DEFINITION_INVALID,
                    "without `strict: false` the Responses API puts the tool into strict mode",
                    f"/{index}/strict",
                )
            )
    findings.extend(check_names_and_count(names, MAX_TOOLS, "OpenAI", "/{index}/name"))
    return findings


def _check_function(function: dict[str, Any], at: str, strict_checker: _StrictChecker) -> list[Finding]:
    findings = check_text(function.get("name"), FUNCTION_NAME, at + "/name", DialectCode.NAME_INVALID)
    findings.extend(
        check_text(
            function.get("description"),
            None,
            at + "/description",
            DialectCode.DESCRIPTION_INVALID,
            MAX_DESCRIPTION_CHARS,
        )
    )
    parameters = function.get("parameters")
    findings.extend(check_json_schema_root(parameters, at + "/parameters", ROOT_FORBIDDEN))
    findings.extend(
        violation(
            DialectCode.ARRAY_ITEMS_MISSING,
            "an array schema without `items`: OpenAI refuses it",
            f"{at}/parameters{pointer}",
        )
        for pointer in find_subschemas(parameters, _array_without_items, schema_depth_bound())
    )
    if function.get("strict") is True and isinstance(parameters, dict):
        findings.extend(strict_checker.check(parameters, at + "/parameters"))
    return findings


@dataclass(slots=True)
class _Measured:
    source: Any
    height: int
    properties: int
    enum_values: int
    chars: int
    refs: frozenset[str]


class _StrictChecker:
    """Walks rendered strict schemas; clean subtrees are measured once and reused."""

    def __init__(self) -> None:
        self._clean: dict[int, _Measured] = {}
        self._bound = schema_depth_bound()

    def check(self, parameters: JsonSchema, at: str) -> list[Finding]:
        problems: list[Finding] = []
        defs = parameters.get("$defs") or {}
        if not isinstance(defs, dict):
            return [violation(DialectCode.SCHEMA_INVALID, "`$defs` is not a map", at + "/$defs")]
        names = frozenset(defs)
        body = {k: v for k, v in parameters.items() if k != "$defs"}
        parts = [(self._walk(body, at, 0, names, problems), at)]
        for name, definition in defs.items():
            pointer = f"{at}/$defs/{escape_pointer_token(name)}"
            parts.append((self._walk(definition, pointer, 0, names, problems), pointer))
        for measured, pointer in parts:
            if measured.height > STRICT_MAX_DEPTH:
                problems.append(
                    violation(
                        DialectCode.LIMIT_EXCEEDED,
                        f"objects nest {measured.height} levels deep; strict mode allows {STRICT_MAX_DEPTH}",
                        pointer,
                    )
                )
        totals = (
            ("object properties", sum(m.properties for m, _ in parts), STRICT_MAX_PROPERTIES),
            ("enum values", sum(m.enum_values for m, _ in parts), STRICT_MAX_ENUM_VALUES),
            (
                "characters of names, enum and const values",
                sum(m.chars for m, _ in parts) + sum(len(name) for name in names),
                STRICT_MAX_STRING_CHARS,
            ),
        )
        for what, count, limit in totals:
            if count > limit:
                problems.append(
                    violation(DialectCode.LIMIT_EXCEEDED, f"{count} {what}; strict mode allows {limit}", at)
                )
        return problems

    def _walk(
        self, node: Any, pointer: str, depth: int, defs: frozenset[str], problems: list[Finding]
    ) -> _Measured:
        if not isinstance(node, dict):
            problems.append(
                violation(DialectCode.SCHEMA_INVALID, "a strict schema must be an object", pointer)
            )
            return _Measured(node, 0, 0, 0, 0, _NO_REFS)
        cached = self._clean.get(id(node))
        if cached is not None and cached.source is node and cached.refs <= defs:
            return cached
        if depth > self._bound:
            problems.append(
                violation(DialectCode.LIMIT_EXCEEDED, "the schema nests too deep to check", pointer)
            )
            return _Measured(node, 0, 0, 0, 0, _NO_REFS)
        before = len(problems)
        local = _strict_node_problems(node, pointer, defs)
        problems.extend(local)
        children: list[tuple[Any, str]] = []
        properties = node.get("properties")
        if isinstance(properties, dict):
            children.extend(
                (child, f"{pointer}/properties/{escape_pointer_token(name)}")
                for name, child in properties.items()
            )
        if "items" in node:
            children.append((node["items"], f"{pointer}/items"))
        if isinstance(node.get("anyOf"), list):
            children.extend((child, f"{pointer}/anyOf/{i}") for i, child in enumerate(node["anyOf"]))
        height = enum_values = chars = count = 0
        refs = _NO_REFS
        for child, child_pointer in children:
            measured = self._walk(child, child_pointer, depth + 1, defs, problems)
            height = max(height, measured.height)
            count += measured.properties
            enum_values += measured.enum_values
            chars += measured.chars
            refs = refs | measured.refs
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/$defs/"):
            refs = refs | {node["$ref"][len("#/$defs/") :].replace("~1", "/").replace("~0", "~")}
        enum = node.get("enum")
        if isinstance(enum, list):
            enum_values += len(enum)
            chars += sum(len(value) for value in enum if isinstance(value, str))
        if isinstance(node.get("const"), str):
            chars += len(node["const"])
        if isinstance(properties, dict):
            count += len(properties)
            chars += sum(len(name) for name in properties)
        type_value = node.get("type")
        is_object = type_value == "object" or (isinstance(type_value, list) and "object" in type_value)
        measured = _Measured(node, height + is_object, count, enum_values, chars, refs)
        if len(problems) == before:
            self._clean[id(node)] = measured
        return measured


def _strict_node_problems(node: dict[str, Any], pointer: str, defs: frozenset[str]) -> list[Finding]:
    problems: list[Finding] = []
    unsupported = [k for k in node if k not in STRICT_KEYWORDS or k == "$defs"]
    if unsupported:
        problems.append(
            violation(
                DialectCode.KEYWORD_UNSUPPORTED,
                f"strict mode does not support {', '.join(sorted(unsupported))}",
                pointer,
            )
        )
    ref = node.get("$ref")
    if ref is not None:
        target = ref[len("#/$defs/") :] if isinstance(ref, str) and ref.startswith("#/$defs/") else None
        if len(node) > 1:
            problems.append(violation(DialectCode.SCHEMA_INVALID, "`$ref` must stand alone", pointer))
        if ref != "#" and (target is None or target.replace("~1", "/").replace("~0", "~") not in defs):
            problems.append(
                violation(DialectCode.SCHEMA_INVALID, f"`$ref` {ref!r} does not resolve", pointer)
            )
        return problems
    type_value = node.get("type")
    if type_value is None and not {"anyOf", "enum", "const"} & node.keys():
        problems.append(violation(DialectCode.SCHEMA_INVALID, "a strict schema needs a type", pointer))
    types = _type_set(type_value)
    if "object" in types:
        properties = node.get("properties")
        if node.get("additionalProperties") is not False:
            problems.append(
                violation(
                    DialectCode.SCHEMA_INVALID, "strict objects need `additionalProperties: false`", pointer
                )
            )
        if not isinstance(properties, dict) or set(node.get("required") or []) != properties.keys():
            problems.append(
                violation(
                    DialectCode.SCHEMA_INVALID,
                    "strict objects must list every property in `required`",
                    pointer,
                )
            )
    if "array" in types and "items" in node and not isinstance(node["items"], dict):
        problems.append(violation(DialectCode.SCHEMA_INVALID, "strict arrays need an item schema", pointer))
    if "format" in node and node["format"] not in STRICT_FORMATS:
        problems.append(
            violation(DialectCode.KEYWORD_UNSUPPORTED, f"format {node['format']!r} is not supported", pointer)
        )
    enum = node.get("enum")
    if isinstance(enum, list) and len(enum) > STRICT_LARGE_ENUM_VALUES:
        enum_chars = sum(len(value) for value in enum if isinstance(value, str))
        if enum_chars > STRICT_LARGE_ENUM_CHARS:
            problems.append(
                violation(
                    DialectCode.LIMIT_EXCEEDED,
                    f"an enum of {len(enum)} values totals {enum_chars} characters; "
                    f"strict mode allows {STRICT_LARGE_ENUM_CHARS}",
                    pointer,
                )
            )
    return problems
