"""The lint writes the fix: an OpenAPI Overlay 1.0 for the lint findings a machine can settle.

Machine-fixable: a missing `description` taken from the summary; a missing or non-snake_case `operationId`
(the tool's own name, or the compiler's derivation, never one the spec already uses); a description over
the model APIs' limit, shortened at a sentence boundary into `x-toolgate.description` so the spec's own
text stays whole for developers; an enum whose schema says what each value means (`x-enum-descriptions`,
`x-enumDescriptions`, `x-ms-enum` values; a `oneOf` of described `const`s needs no fix).
Everything else that the same rules report is listed as needing a person. Targets are RFC 9535 paths of
name selectors, each checked to select exactly the node it fixes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import yaml

from toolgate.spec.compiler import HTTP_METHODS
from toolgate.spec.lint import (
    SNAKE_CASE,
    LintLimits,
    described_schema,
    description_problem,
    is_json_media,
    tool_model_description,
    undocumented_enums,
)
from toolgate.spec.models import CanonicalTool, CompiledSpec
from toolgate.spec.naming import MAX_NAME, base_tool_name, short_hash, snake_case, with_suffix
from toolgate.spec.overlay import select_values

__all__ = ["FixAction", "FixSuggestion", "ManualFix", "suggest_fixes"]

_SHORTHAND = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[\u3002\uff01\uff1f]")
_ENUM_MEANING_KEYS = ("x-enum-descriptions", "x-enumDescriptions")
_MAX_ENUM_DESCRIPTION_CHARS = 1000
_MAX_NAME_ATTEMPTS = 20
_MAX_REF_HOPS = 32
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class FixAction:
    """One overlay action and the lint finding (code and pointer) it clears."""

    code: str
    pointer: str
    target: str
    update: dict[str, Any]
    description: str


@dataclass(frozen=True)
class ManualFix:
    """A finding of a fixable kind that needs a person, and why."""

    code: str
    pointer: str
    reason: str

    def line(self) -> str:
        """`CODE POINTER: reason` on one line, printable (a lone surrogate is escaped)."""
        return _printable(f"{self.code} {_one_line(self.pointer)}: {_one_line(self.reason)}")


@dataclass
class FixSuggestion:
    actions: list[FixAction] = field(default_factory=list)
    manual: list[ManualFix] = field(default_factory=list)
    #: (code, pointer) of each finding the overlay clears.
    cleared: set[tuple[str, str]] = field(default_factory=set)

    def overlay(self, title: str) -> dict[str, Any]:
        return {
            "overlay": "1.0.0",
            "info": {"title": f"Toolgate lint fixes for {title}"[:200], "version": "1"},
            "actions": [
                {"target": action.target, "description": action.description, "update": action.update}
                for action in self.actions
            ],
        }

    def to_yaml(self, title: str) -> str:
        """The overlay as YAML; what needs a person is listed in comments at the top."""
        lines = [f"# Written by `toolgate lint --fix-overlay`: {len(self.actions)} fixes."]
        if self.manual:
            lines.append(f"# Needs a person ({len(self.manual)}):")
            lines.extend(f"#   {item.line()}" for item in self.manual)
        if not self.actions:
            lines.append(
                "# Nothing to fix by machine: an Overlay needs at least one action, so none is written."
            )
            return "\n".join(lines) + "\n"
        body = yaml.safe_dump(self.overlay(title), sort_keys=False, allow_unicode=True, width=100)
        return "\n".join(lines) + "\n" + _printable(body)


def suggest_fixes(
    document: Mapping[str, Any],
    compiled: CompiledSpec,
    *,
    limits: LintLimits | None = None,
) -> FixSuggestion:
    """The overlay actions that settle this spec's machine-fixable lint findings, and the rest.

    `document` is the OpenAPI 3.x document the tools were compiled from (with any overlays applied).
    A Swagger 2.0 document is linted after conversion, so its enum fixes (in converted places) are left
    to a person; operation fixes keep their places.
    """
    return _Fixer(document, compiled, limits or LintLimits()).run()


class _Fixer:
    def __init__(self, document: Mapping[str, Any], compiled: CompiledSpec, limits: LintLimits) -> None:
        self.document = document
        self.compiled = compiled
        self.limits = limits
        self.suggestion = FixSuggestion()
        self.taken = _operation_ids(document) | {tool.name for tool in compiled.tools}
        self.swagger = compiled.source_openapi.startswith("2.")
        #: Enum places already given a description (by another tool's fix), and whether that worked.
        self.described: dict[Path, bool] = {}

    def run(self) -> FixSuggestion:
        for tool in self.compiled.tools:
            located = _follow(self.document, _tokens(tool.pointer))
            if located is None or not isinstance(located[1], dict):
                continue
            path, operation = located
            operation_id = self.fix_operation_id(tool, path, operation)
            self.fix_descriptions(tool, path, operation, operation_id)
            self.fix_enums(tool, operation)
        return self.suggestion

    # operationId

    def fix_operation_id(self, tool: CanonicalTool, path: Path, operation: Mapping[str, Any]) -> str:
        """Propose an operationId when needed; the one the operation will have."""
        current = operation.get("operationId")
        if isinstance(current, str) and current.strip() and SNAKE_CASE.match(current):
            return current
        code = (
            "LINT_OPERATION_ID_NOT_SNAKE_CASE"
            if isinstance(current, str) and current.strip()
            else "LINT_MISSING_OPERATION_ID"
        )
        proposal = self.free_operation_id(tool, operation)
        if proposal is None:
            self.manual(
                code, tool.pointer, "no snake_case operationId could be derived that the spec does not use"
            )
            return current if isinstance(current, str) else ""
        was = f"operationId {current!r}" if code == "LINT_OPERATION_ID_NOT_SNAKE_CASE" else "no operationId"
        if not self.act(code, tool.pointer, path, {"operationId": proposal}, f"{was}: use {proposal}"):
            return current if isinstance(current, str) else ""
        self.taken.add(proposal)
        return proposal

    def free_operation_id(self, tool: CanonicalTool, operation: Mapping[str, Any]) -> str | None:
        current = operation.get("operationId")
        base = base_tool_name(current if isinstance(current, str) else None, tool.method, tool.path)
        route = f"{tool.method} {tool.path}"
        extension = operation.get("x-toolgate")
        named = isinstance(extension, Mapping) and extension.get("name") is not None
        # A long operationId keeps all its words: the tool name (cut to 64 characters) would lose some.
        whole = snake_case(current) if isinstance(current, str) else ""
        long_id = [whole] if len(whole) > MAX_NAME else []
        candidates = [*long_id, *([] if named else [tool.name]), base, with_suffix(base, short_hash(route))]
        candidates += [
            with_suffix(base, short_hash(f"{route}#{attempt}")) for attempt in range(2, _MAX_NAME_ATTEMPTS)
        ]
        taken = self.taken - ({tool.name} if not named else set())
        return next((c for c in candidates if SNAKE_CASE.match(c) and c not in taken), None)

    # descriptions

    def fix_descriptions(
        self, tool: CanonicalTool, path: Path, operation: Mapping[str, Any], operation_id: str
    ) -> None:
        description = _text(operation.get("description"))
        summary = _text(operation.get("summary"))
        if not description:
            problem = (
                description_problem(summary, tool, operation_id, self.limits.min_description_chars)
                if summary
                else "there is no summary to take it from"
            )
            if problem:
                self.manual("LINT_MISSING_DESCRIPTION", tool.pointer, f"write a description: {problem}")
            else:
                self.act(
                    "LINT_MISSING_DESCRIPTION",
                    tool.pointer,
                    path,
                    {"description": summary},
                    "no description: the summary becomes the description",
                )
        # A description equal to the summary leaves what the model reads as it was.
        shown = tool_model_description(operation)
        limit = self.limits.max_description_chars
        if len(shown) <= limit:
            return
        extension = operation.get("x-toolgate")
        shortened = _shorten(shown, limit)
        if extension is not None and not isinstance(extension, Mapping):
            reason = "its x-toolgate is not an object"
        elif shortened is None or len(shortened) < self.limits.min_description_chars:
            reason = f"no sentence ends within the first {limit:,} characters"
        else:
            self.act(
                "LINT_DESCRIPTION_TOO_LONG",
                tool.pointer,
                path,
                {"x-toolgate": {"description": shortened}},
                f"the model would read {len(shown):,} characters: x-toolgate.description keeps the first "
                f"{len(shortened):,}, up to a sentence end; the spec's description stays whole",
            )
            return
        self.manual("LINT_DESCRIPTION_TOO_LONG", tool.pointer, f"shorten it by hand: {reason}")

    # enums

    def fix_enums(self, tool: CanonicalTool, operation: Mapping[str, Any]) -> None:
        listed = undocumented_enums(tool)
        if not listed:
            return
        if self.swagger:
            self.manual(
                "LINT_UNDOCUMENTED_ENUM",
                tool.pointer,
                "describe the enums in the spec (a Swagger 2.0 document is fixed by hand)",
            )
            return
        fixes: list[tuple[Path, str]] = []
        unexplained: list[str] = []
        for path, node, name in self.enum_places(tool, operation):
            meanings = _enum_meanings(node)
            text = _enum_description(meanings) if meanings else None
            if text is None:
                unexplained.append(name)
            else:
                fixes.append((path, text))
        if unexplained or not fixes:
            names = ", ".join(unexplained[:8]) or ", ".join(listed[:8])
            self.manual(
                "LINT_UNDOCUMENTED_ENUM",
                tool.pointer,
                f"describe what the values mean; the schema does not say for: {names}",
            )
            return
        for path, text in fixes:
            if path not in self.described:
                self.described[path] = self.act(
                    "LINT_UNDOCUMENTED_ENUM",
                    tool.pointer,
                    path,
                    {"description": text},
                    "describe the enum from the meanings its schema gives",
                )
        if all(self.described[path] for path, _ in fixes):
            self.suggestion.cleared.add(("LINT_UNDOCUMENTED_ENUM", tool.pointer))

    def enum_places(
        self, tool: CanonicalTool, operation: Mapping[str, Any]
    ) -> Iterator[tuple[Path, Mapping[str, Any], str]]:
        """(place, schema, name) of each undescribed multi-value enum among the tool's arguments, in the
        spec: parameters (the description goes on the parameter) and request body properties."""
        item_path = _tokens(tool.pointer)[:-1]
        item = _follow(self.document, item_path)
        owners = [(item[0], item[1])] if item is not None else []
        op_path = _follow(self.document, _tokens(tool.pointer))
        if op_path is not None:
            owners.append((op_path[0], operation))
        merged: dict[tuple[Any, Any], tuple[Path, Mapping[str, Any]]] = {}
        for owner_path, owner in owners:
            declared = owner.get("parameters") if isinstance(owner, Mapping) else None
            for index, _ in enumerate(declared if isinstance(declared, list) else ()):
                found = _follow(self.document, (*owner_path, "parameters", index))
                if found is not None and isinstance(found[1], Mapping):
                    merged[(found[1].get("name"), found[1].get("in"))] = found
        for path, parameter in merged.values():
            schema = _follow(self.document, (*path, "schema"))
            if schema is None or not isinstance(schema[1], Mapping) or _text(parameter.get("description")):
                continue
            if not described_schema(schema[1]) and len(_enum_values(self.document, schema[1])) > 1:
                yield path, _merged_enum_node(self.document, schema[1]), str(parameter.get("name"))
        if op_path is not None:
            yield from self.body_enums(op_path[0])

    def body_enums(self, operation_path: Path) -> Iterator[tuple[Path, Mapping[str, Any], str]]:
        body = _follow(self.document, (*operation_path, "requestBody"))
        if body is None or not isinstance(body[1], Mapping):
            return
        content = body[1].get("content")
        if not isinstance(content, Mapping):
            return
        media = next((m for m in content if is_json_media(str(m))), None)
        if media is None:
            return
        root = _follow(self.document, (*body[0], "content", media, "schema"))
        stack: list[tuple[Path, str]] = [(root[0], "")] if root is not None else []
        seen: set[Path] = set()
        while stack:
            path, name = stack.pop()
            found = _follow(self.document, path)
            if found is None or found[0] in seen or not isinstance(found[1], Mapping):
                continue
            path, schema = found[0], found[1]
            seen.add(path)
            if name and not described_schema(schema) and len(_enum_values(self.document, schema)) > 1:
                yield path, _merged_enum_node(self.document, schema), name
            properties = schema.get("properties")
            for key in properties if isinstance(properties, Mapping) else ():
                stack.append(((*path, "properties", key), f"{name}.{key}" if name else str(key)))
            for keyword in ("allOf", "anyOf", "oneOf", "prefixItems"):
                members = schema.get(keyword)
                stack.extend(
                    ((*path, keyword, i), name)
                    for i in range(len(members) if isinstance(members, list) else 0)
                )
            if isinstance(schema.get("items"), Mapping):
                stack.append(((*path, "items"), f"{name}[]"))
            if isinstance(schema.get("additionalProperties"), Mapping):
                stack.append(((*path, "additionalProperties"), f"{name}.*"))

    # recording

    def act(self, code: str, pointer: str, path: Path, update: dict[str, Any], why: str) -> bool:
        """Add the action; False (and a note for a person) when no JSONPath selects exactly `path`."""
        target = _jsonpath(path)
        if target is None or not _selects_only(self.document, target, path):
            self.manual(code, pointer, "its place in the spec cannot be named by a JSONPath query")
            return False
        self.suggestion.actions.append(FixAction(code, pointer, target, update, f"{code}: {why}"))
        if code != "LINT_UNDOCUMENTED_ENUM":
            self.suggestion.cleared.add((code, pointer))
        return True

    def manual(self, code: str, pointer: str, reason: str) -> None:
        self.suggestion.manual.append(ManualFix(code, pointer, reason))


# --- JSONPath -----------------------------------------------------------------------------------------


def _jsonpath(path: Path) -> str | None:
    """An RFC 9535 query of name and index selectors for `path`; None when a key has a lone surrogate,
    which no JSONPath string literal can hold."""
    parts = ["$"]
    for token in path:
        if isinstance(token, int):
            parts.append(f"[{token}]")
        elif any(0xD800 <= ord(char) <= 0xDFFF for char in token):
            return None
        elif _SHORTHAND.match(token):
            parts.append(f".{token}")
        else:
            parts.append(f"['{''.join(_escape(char) for char in token)}']")
    return "".join(parts)


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    return f"\\u{ord(char):04x}" if ord(char) < 0x20 else char


def _selects_only(document: Mapping[str, Any], target: str, path: Path) -> bool:
    selected = select_values(target, document)
    expected = _follow(document, path, follow_refs=False)
    return len(selected) == 1 and expected is not None and selected[0] is expected[1]


# --- Document walking ---------------------------------------------------------------------------------


def _tokens(pointer: str) -> Path:
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]) if pointer else ()


def _follow(document: Mapping[str, Any], path: Path, *, follow_refs: bool = True) -> tuple[Path, Any] | None:
    """The concrete place of `path` and its value, following local `$ref`s on the way and at the end."""
    node: Any = document
    where: Path = ()
    for token in path:
        if follow_refs:
            resolved = _deref(document, where, node)
            if resolved is None:
                return None
            where, node = resolved
        in_object = isinstance(node, Mapping) and isinstance(token, str) and token in node
        in_array = isinstance(node, list) and isinstance(token, int) and token < len(node)
        if not (in_object or in_array):
            return None
        node = node[token]
        where = (*where, token)
    return _deref(document, where, node) if follow_refs else (where, node)


def _deref(document: Mapping[str, Any], where: Path, node: Any) -> tuple[Path, Any] | None:
    for _ in range(_MAX_REF_HOPS):
        reference = node.get("$ref") if isinstance(node, Mapping) else None
        if not isinstance(reference, str):
            return where, node
        if not reference.startswith("#"):
            return None
        target = _follow(document, _tokens(unquote(reference[1:])), follow_refs=False)
        if target is None:
            return None
        where, node = target
    return None


def _operation_ids(document: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    paths = document.get("paths")
    for item in paths.values() if isinstance(paths, Mapping) else ():
        resolved = _deref(document, (), item)
        for method in HTTP_METHODS:
            operation = resolved[1].get(method) if resolved and isinstance(resolved[1], Mapping) else None
            if isinstance(operation, Mapping) and isinstance(operation.get("operationId"), str):
                found.add(operation["operationId"])
    return found


# --- Enums --------------------------------------------------------------------------------------------


def _enum_values(document: Mapping[str, Any], schema: Mapping[str, Any]) -> list[Any]:
    """Enum values as the lint counts them: on the schema, its items or union members (or their consts)."""
    node = _merged_enum_node(document, schema)
    values = list(node.get("enum", []))
    values += [member["const"] for member in node.get("oneOf", []) if "const" in member]
    return values


def _merged_enum_node(document: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema, or the one among its items and union members that holds its enum, $refs resolved."""
    candidates = [schema]
    items = schema.get("items")
    if isinstance(items, Mapping):
        candidates.append(items)
    for keyword in ("anyOf", "oneOf"):
        members = schema.get(keyword)
        candidates.extend(m for m in members if isinstance(m, Mapping)) if isinstance(members, list) else None
    resolved = [
        found[1] for c in candidates if (found := _deref(document, (), c)) and isinstance(found[1], Mapping)
    ]
    for candidate in resolved:
        if isinstance(candidate.get("enum"), list) and len(candidate["enum"]) > 1:
            return dict(candidate)
    members = [m for m in resolved[1:] if "const" in m]
    return {"oneOf": members} if len(members) > 1 else {}


def _enum_meanings(node: Mapping[str, Any]) -> list[tuple[Any, str]] | None:
    """(value, meaning) for every value of the enum, when the schema says what each means; else None."""
    values = node.get("enum")
    if isinstance(values, list):
        for key in _ENUM_MEANING_KEYS:
            meanings = node.get(key)
            if isinstance(meanings, list) and len(meanings) == len(values):
                pairs = list(zip(values, meanings, strict=True))
            elif isinstance(meanings, Mapping):
                pairs = [(value, meanings.get(str(value))) for value in values]
            else:
                continue
            return pairs if all(_text(meaning) for _, meaning in pairs) else None
        ms_enum = node.get("x-ms-enum")
        listed = ms_enum.get("values") if isinstance(ms_enum, Mapping) else None
        if isinstance(listed, list):
            by_value = {
                json.dumps(e.get("value")): e.get("description") for e in listed if isinstance(e, Mapping)
            }
            pairs = [(value, by_value.get(json.dumps(value))) for value in values]
            return pairs if all(_text(meaning) for _, meaning in pairs) else None
    return None


def _enum_description(meanings: list[tuple[Any, str]]) -> str | None:
    described = [
        f"`{value if isinstance(value, str) else json.dumps(value)}`: {_one_line(str(meaning)).rstrip('.;')}"
        for value, meaning in meanings
    ]
    text = f"One of: {'; '.join(described)}."
    return text if len(text) <= _MAX_ENUM_DESCRIPTION_CHARS else None


# --- Text ---------------------------------------------------------------------------------------------


def _shorten(text: str, limit: int) -> str | None:
    """`text` up to its last sentence end within `limit` characters; None when no sentence ends there."""
    ends = [match.end() for match in _SENTENCE_END.finditer(text, 0, limit + 1) if match.end() <= limit]
    return text[: ends[-1]].rstrip() if ends else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _printable(text: str) -> str:
    """`text` as UTF-8 can carry it: a lone surrogate (valid in a JSON string) becomes `\\udXXX`."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _one_line(text: str) -> str:
    return " ".join(text.split())
