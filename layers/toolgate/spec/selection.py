"""`x-toolgate.response.select`: keep only the named parts of a JSON response, and trim its schema to match.

Pure and small: the invoke path imports it (the JSONPath library only when a selection uses JSONPath).
A selection is a list of JSON Pointers (RFC 6901, `/items`) and RFC 9535 JSONPath queries
(`$.items[*]['id','name']`). The kept parts stay where they were: `/total` of `{"items": [...],
"total": 3}` is `{"total": 3}`, and array elements keep their order (`/items/2` gives a one-element
`items`). Descendant segments (`..`) are refused: every query then visits each value at most once per
segment, so selecting from a large response stays linear in its size.

The trimmed schema has the selected properties only, each with its documented schema, and no `required`:
a body that matched the documented schema then always matches the trimmed one, whatever was selected.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from toolgate.spec.models import JsonSchema, ResponseSelection

if TYPE_CHECKING:
    from jsonpath_rfc9535 import JSONPathQuery

#: `$ref` hops followed while trimming before a part is left open (recursive schemas).
_MAX_REF_HOPS = 32
#: Keywords a trimmed schema node keeps from its source besides its structure.
_KEPT_KEYWORDS = ("type", "title", "description")

Path = tuple[str | int, ...]


class SelectionError(ValueError):
    """An expression that is neither a JSON Pointer nor a JSONPath query this module takes."""


def check_expression(expression: str) -> None:
    """SelectionError unless `expression` is a JSON Pointer or a JSONPath query without `..`."""
    if expression.startswith("$"):
        _query(expression)
    else:
        parse_pointer(expression)


@lru_cache(maxsize=1024)
def _query(expression: str) -> JSONPathQuery:
    import jsonpath_rfc9535  # noqa: PLC0415 - only JSONPath selections need it

    if ".." in expression:
        raise SelectionError(
            f"{expression[:80]!r} has a descendant segment ('..'), which select does not take"
        )
    try:
        return jsonpath_rfc9535.compile(expression)
    except jsonpath_rfc9535.JSONPathError as error:
        raise SelectionError(f"{expression[:80]!r} is not RFC 9535 JSONPath: {error}") from None


def parse_pointer(expression: str) -> tuple[str, ...]:
    """The reference tokens of a JSON Pointer; SelectionError if it is not one."""
    if expression == "":
        return ()
    if not expression.startswith("/"):
        raise SelectionError(f"{expression[:80]!r} is not a JSON Pointer (it must start with '/')")
    tokens = expression[1:].split("/")
    for token in tokens:
        if "~" in token.replace("~0", "").replace("~1", ""):
            raise SelectionError(f"{expression[:80]!r} has a '~' that is not '~0' or '~1'")
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in tokens)


def select(document: Any, selection: ResponseSelection) -> tuple[Any, bool]:
    """The parts of `document` the selection names, in their places, and whether any matched.

    When nothing matches, an object or array becomes empty; any other value stays as it is.
    """
    found = [path for expression in selection.expressions for path in _locate(document, expression)]
    if not found:
        empty: Any = {} if isinstance(document, dict) else [] if isinstance(document, list) else document
        return empty, False
    return _assemble(document, found), True


def _locate(document: Any, expression: str) -> Iterator[Path]:
    if expression.startswith("$"):
        for found in _query(expression).finditer(document):
            yield tuple(found.location)
        return
    node = document
    path: list[str | int] = []
    for token in parse_pointer(expression):
        if isinstance(node, dict) and token in node:
            node = node[token]
            path.append(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
            path.append(int(token))
        else:
            return
    yield tuple(path)


def _assemble(node: Any, paths: list[Path]) -> Any:
    if any(not path for path in paths):
        return node
    children: dict[str | int, list[Path]] = {}
    for path in paths:
        children.setdefault(path[0], []).append(path[1:])
    if isinstance(node, list):
        indices = sorted(index for index in children if isinstance(index, int))
        return [_assemble(node[index], children[index]) for index in indices]
    return {key: _assemble(value, children[key]) for key, value in node.items() if key in children}


# --- The trimmed schema ------------------------------------------------------------------------


class _Node:
    """A selection as a tree of tokens: a node is kept whole, or only its selected children."""

    def __init__(self) -> None:
        self.whole = False
        self.children: dict[str, _Node] = {}
        #: What a JSONPath wildcard, index, slice or filter selects: any element or member.
        self.any: _Node | None = None

    def child(self, token: str) -> _Node:
        return self.children.setdefault(token, _Node())

    def any_child(self) -> _Node:
        if self.any is None:
            self.any = _Node()
        return self.any

    def merge(self, other: _Node | None) -> None:
        if other is None:
            return
        self.whole = self.whole or other.whole
        for token, child in other.children.items():
            self.child(token).merge(child)
        if other.any is not None:
            self.any_child().merge(other.any)

    def leaves(self, at: str) -> list[str]:
        if self.whole or not (self.children or self.any):
            return [at]
        named = [leaf for token, child in self.children.items() for leaf in child.leaves(f"{at}/{token}")]
        return named + (self.any.leaves(f"{at}/*") if self.any is not None else [])


def trim_schema(schema: JsonSchema, selection: ResponseSelection) -> tuple[JsonSchema, list[str]]:
    """The schema of what `select` keeps, and the selected pointers the schema does not describe (their
    part is left open: `{}`)."""
    root = _Node()
    for expression in selection.expressions:
        for node in _ends(root, expression):
            node.whole = True
    defs = schema.get("$defs") if isinstance(schema.get("$defs"), dict) else {}
    trimmer = _Trimmer(defs or {})
    body = {key: value for key, value in schema.items() if key != "$defs"}
    trimmed = trimmer.trim(body, root, "")
    if defs and "#/$defs/" in json.dumps(trimmed):
        trimmed["$defs"] = defs
    return trimmed, trimmer.undescribed


def _ends(root: _Node, expression: str) -> list[_Node]:
    """The tree nodes an expression selects, added to the tree."""
    if not expression.startswith("$"):
        node = root
        for token in parse_pointer(expression):
            node = node.child(token)
        return [node]
    from jsonpath_rfc9535.selectors import NameSelector  # noqa: PLC0415 - only JSONPath selections

    frontier = [root]
    for segment in _query(expression).segments:
        frontier = [
            node.child(selector.name) if isinstance(selector, NameSelector) else node.any_child()
            for node in frontier
            for selector in segment.selectors
        ]
    return frontier


class _Trimmer:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.undescribed: list[str] = []

    def trim(self, schema: Any, node: _Node, at: str) -> JsonSchema:
        if node.whole:
            return schema if isinstance(schema, dict) else {}
        resolved = self._resolved(schema)
        if resolved is None or any(k in resolved for k in ("oneOf", "anyOf", "allOf", "not", "if", "$ref")):
            self.undescribed.extend(node.leaves(at))
            return {}
        out: JsonSchema = {k: resolved[k] for k in _KEPT_KEYWORDS if k in resolved}
        types = resolved.get("type")
        is_array = types == "array" or (isinstance(types, list) and "array" in types) or "items" in resolved
        if is_array and all(token.isdigit() for token in node.children):
            elements = _Node()
            elements.merge(node.any)
            for child in node.children.values():
                elements.merge(child)
            out["items"] = self.trim(resolved.get("items", {}), elements, f"{at}/*")
            return out
        properties = resolved.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        extra = resolved.get("additionalProperties")
        kept: dict[str, JsonSchema] = {}
        if node.any is not None:
            # Any member: every documented one, and any other as `additionalProperties` says.
            for name, member in properties.items():
                selected = _Node()
                selected.merge(node.any)
                selected.merge(node.children.get(name))
                kept[name] = self.trim(member, selected, f"{at}/{name}")
            if isinstance(extra, dict):
                out["additionalProperties"] = self.trim(extra, node.any, f"{at}/*")
        for token, child in node.children.items():
            if token in kept:
                continue
            where = f"{at}/{token.replace('~', '~0').replace('/', '~1')}"
            if token in properties:
                kept[token] = self.trim(properties[token], child, where)
            elif isinstance(extra, dict):
                kept[token] = self.trim(extra, child, where)
            else:
                self.undescribed.append(where)
                kept[token] = {}
        out["properties"] = kept
        return out

    def _resolved(self, schema: Any) -> dict[str, Any] | None:
        for _ in range(_MAX_REF_HOPS):
            if not isinstance(schema, dict):
                return None
            ref = schema.get("$ref")
            if not (isinstance(ref, str) and ref.startswith("#/$defs/")):
                return schema
            target = self.defs.get(ref[len("#/$defs/") :])
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if isinstance(target, dict) else None
        return None
