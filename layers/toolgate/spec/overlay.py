"""OpenAPI Overlays (Overlay Specification 1.0.x and 1.1.x), applied to a loaded spec before it is validated.

An overlay is tenant input: it loads through the spec loader's size, depth and alias guards, is checked
against the specification's JSON Schema, and its RFC 9535 JSONPath targets are evaluated within bounds
(one descendant segment per query, a cap on selected nodes and on the nodes added, regex filters under a
time limit). Nothing named by `extends` or by a `$ref` is ever fetched.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal

import jsonschema_rs
import regex
from iregexp_check import check as check_iregexp
from jsonpath_rfc9535 import JSONPathEnvironment, JSONPathError, JSONPathNode, JSONPathQuery
from jsonpath_rfc9535.function_extensions import Match, Search
from jsonpath_rfc9535.function_extensions._pattern import map_re
from jsonpath_rfc9535.lex import tokenize
from jsonpath_rfc9535.tokens import TokenType

from toolgate.errors import OverlayInvalidError
from toolgate.settings import CompileLimits, get_settings
from toolgate.spec.loader import load_document
from toolgate.spec.models import Finding, Severity
from toolgate.spec.refs import pointer_join

#: Descendant segments (`..`) allowed in one query: one keeps evaluation linear in the spec's size.
_MAX_DESCENDANT_SEGMENTS = 1
#: Seconds one `match()` or `search()` may spend on one value (I-Regexp still allows backtracking).
_REGEX_SECONDS = 0.25
_CHARS_PER_NODE = 64
#: Characters of an overlay's file name (or zip member path): it is recorded on the stored version.
_MAX_NAME_CHARS = 200
_VERSION = re.compile(r"^1\.([01])\.\d+$")

ActionKind = Literal["update", "copy", "remove", "none"]
#: Builds the error for a property whose value cannot be merged (its path below the target, both values).
_Conflict = Callable[[tuple[str, ...], Any, Any], OverlayInvalidError]


def _schema(minor: int) -> dict[str, Any]:
    """The Overlay Specification's own JSON Schema (schemas/v1.0 and v1.1 in OAI/Overlay-Specification)."""
    extensions = {"patternProperties": {"^x-": True}}
    info: dict[str, Any] = {"title": {"type": "string"}, "version": {"type": "string"}}
    action: dict[str, Any] = {
        "target": {"type": "string", "pattern": "^\\$"},
        "description": {"type": "string"},
        "update": {"type": ["string", "boolean", "object", "array", "number", "null"]},
        "remove": {"type": "boolean", "default": False},
    }
    if minor >= 1:
        info["description"] = {"type": "string"}
        action["copy"] = {"type": "string"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "overlay": {"type": "string", "pattern": f"^1\\.{minor}\\.\\d+$"},
            "info": {"$ref": "#/$defs/info-object"},
            "extends": {"type": "string", "format": "uri-reference"},
            "actions": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"$ref": "#/$defs/action"},
            },
        },
        "required": ["overlay", "info", "actions"],
        "$ref": "#/$defs/specification-extensions",
        "unevaluatedProperties": False,
        "$defs": {
            "info-object": {
                "type": "object",
                "properties": info,
                "required": ["title", "version"],
                "$ref": "#/$defs/specification-extensions",
                "unevaluatedProperties": False,
            },
            "action": {
                "type": "object",
                "properties": action,
                "required": ["target"],
                "$ref": "#/$defs/specification-extensions",
                "unevaluatedProperties": False,
            },
            "specification-extensions": extensions,
        },
    }


class _RegexTooSlowError(Exception):
    """A filter's regex ran past its time limit on one value."""


class _BoundedMatch(Match):
    def __call__(self, string: str, pattern: object) -> bool:
        return _regex_test(regex.fullmatch, string, pattern, flags=0)


class _BoundedSearch(Search):
    def __call__(self, string: str, pattern: object) -> bool:
        return _regex_test(regex.search, string, pattern, flags=regex.VERSION1)


def _regex_test(method: Any, string: object, pattern: object, *, flags: int) -> bool:
    """The library's own `match`/`search` (I-Regexp checked, then mapped to `regex` syntax by its
    `map_re`, private in the pinned version), with a time limit on each value."""
    if not isinstance(pattern, str) or not isinstance(string, str) or not check_iregexp(pattern):
        return False
    try:
        return bool(method(map_re(pattern), string, flags, timeout=_REGEX_SECONDS))
    except TimeoutError as exc:
        raise _RegexTooSlowError(pattern) from exc
    except regex.error:
        return False


class _OverlayJSONPath(JSONPathEnvironment):
    """RFC 9535 JSONPath whose regex functions stop after a time limit."""

    def setup_function_extensions(self) -> None:
        super().setup_function_extensions()
        self.function_extensions["match"] = _BoundedMatch()
        self.function_extensions["search"] = _BoundedSearch()


_JSONPATH = _OverlayJSONPath()
_VALIDATORS = {minor: jsonschema_rs.validator_for(_schema(minor)) for minor in (0, 1)}


@dataclass(frozen=True)
class OverlayAction:
    index: int
    target: str
    query: JSONPathQuery
    kind: ActionKind
    #: The `update` value, or None.
    value: Any
    copy_query: JSONPathQuery | None

    @property
    def pointer(self) -> str:
        return f"/actions/{self.index}"


@dataclass(frozen=True)
class Overlay:
    """A loaded, validated Overlay document, ready to apply."""

    name: str
    sha256: str
    #: 0 for Overlay 1.0.x, 1 for 1.1.x: 1.0 appends an array `update` to a target array as one entry.
    minor: int
    actions: tuple[OverlayAction, ...]


def load_overlay(data: bytes, *, name: str, limits: CompileLimits | None = None) -> Overlay:
    """Parse and validate an Overlay document; OverlayInvalidError (with a pointer) when it is not one."""
    limits = limits or get_settings().compile
    if len(name) > _MAX_NAME_CHARS:
        raise OverlayInvalidError(
            f"an overlay's file name is {len(name):,} characters long; the limit is {_MAX_NAME_CHARS}: "
            f"{name[:60]!r}..."
        )
    document = load_document(data, name=f"overlay {name}", limits=limits)
    version = document.get("overlay")
    matched = _VERSION.match(version) if isinstance(version, str) else None
    if matched is None:
        raise OverlayInvalidError(
            f"overlay {name}: `overlay` must be the Overlay Specification version as a string, "
            f"1.0.x or 1.1.x (quote it in YAML), not {str(version)[:40]!r}",
            pointer="/overlay",
        )
    minor = int(matched.group(1))
    actions = document.get("actions")
    if isinstance(actions, list) and len(actions) > limits.max_overlay_actions:
        raise OverlayInvalidError(
            f"overlay {name} has {len(actions):,} actions; the limit is {limits.max_overlay_actions:,}",
            pointer="/actions",
        )
    _check_schema(document, minor, name)
    return Overlay(
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        minor=minor,
        actions=tuple(_action(index, raw, name) for index, raw in enumerate(document["actions"])),
    )


def select_values(target: str, document: Any) -> list[Any]:
    """The values an action's target selects in `document` (JSONPathError when it is not a query)."""
    return [node.value for node in _JSONPATH.compile(target).finditer(document)]


def check_overlay_count(overlays: Sequence[Overlay], limits: CompileLimits) -> None:
    """At most `max_overlays` for one spec: each is recorded on the stored version."""
    if len(overlays) > limits.max_overlays:
        raise OverlayInvalidError(
            f"{len(overlays)} overlays were given for one spec; the limit is {limits.max_overlays}. "
            "Merge them: an overlay may hold many actions"
        )


def _check_schema(document: dict[str, Any], minor: int, name: str) -> None:
    error = next(iter(_VALIDATORS[minor].iter_errors(document)), None)
    if error is not None:
        pointer = pointer_join("", *error.instance_path)
        problem = error.message[:300]
        if pointer.endswith("/target") and list(error.schema_path)[-1:] == ["pattern"]:
            problem = f"{str(error.instance)[:200]!r} is not a JSONPath query: one starts with `$`"
        raise OverlayInvalidError(
            f"overlay {name} is not a valid Overlay 1.{minor} document at {pointer or '/'}: {problem}",
            pointer=pointer,
        )


def _action(index: int, raw: dict[str, Any], name: str) -> OverlayAction:
    where = f"/actions/{index}"
    target = raw["target"]
    if "update" in raw and "copy" in raw:
        raise OverlayInvalidError(
            f"overlay {name}: action {index} has both `update` and `copy`; the specification gives each "
            "precedence over the other, so split it into two actions",
            pointer=where,
        )
    kind: ActionKind = "none"
    if raw.get("remove") is True:
        kind = "remove"
    elif "update" in raw:
        kind = "update"
    elif "copy" in raw:
        kind = "copy"
    copy_source = raw.get("copy") if kind == "copy" else None
    return OverlayAction(
        index=index,
        target=target,
        query=_compile(target, name, f"{where}/target"),
        kind=kind,
        value=raw.get("update"),
        copy_query=_compile(copy_source, name, f"{where}/copy") if copy_source is not None else None,
    )


def _compile(query: str, name: str, pointer: str) -> JSONPathQuery:
    try:
        descendants = sum(token.type_ == TokenType.DOUBLE_DOT for token in tokenize(query))
        compiled = _JSONPATH.compile(query)
    except JSONPathError as exc:
        raise OverlayInvalidError(
            f"overlay {name}: {query[:200]!r} is not an RFC 9535 JSONPath query: {str(exc)[:200]}",
            pointer=pointer,
        ) from None
    if descendants > _MAX_DESCENDANT_SEGMENTS:
        raise OverlayInvalidError(
            f"overlay {name}: {query[:200]!r} has {descendants} descendant segments (`..`); at most "
            f"{_MAX_DESCENDANT_SEGMENTS} is allowed so that it runs in time linear in the spec. Spell out "
            "the path instead (e.g. $.paths.*.*.parameters)",
            pointer=pointer,
        )
    return compiled


def apply_overlays(
    document: dict[str, Any],
    overlays: Sequence[Overlay],
    limits: CompileLimits | None = None,
    *,
    may_share_nodes: bool = True,
) -> list[Finding]:
    """Apply each overlay's actions in order, in place; the findings say which targets selected nothing.

    `may_share_nodes` (a YAML document with anchors, or a bundle) first gives every aliased node a copy of
    its own, so an action changes the node its target names and not the places that alias it too.
    """
    limits = limits or get_settings().compile
    if may_share_nodes:
        _unshare(document)
    applier = _Applier(document, limits)
    for overlay in overlays:
        for action in overlay.actions:
            applier.apply(overlay, action)
    return applier.findings


class _Applier:
    def __init__(self, document: dict[str, Any], limits: CompileLimits) -> None:
        self.document = document
        self.limits = limits
        self.findings: list[Finding] = []
        self.added_nodes = 0

    def apply(self, overlay: Overlay, action: OverlayAction) -> None:
        nodes = self._select(overlay, action, action.query, "target")
        if not nodes:
            self.findings.append(
                Finding(
                    code="OVERLAY_TARGET_UNMATCHED",
                    severity=Severity.WARNING,
                    message=f"overlay {overlay.name}: action {action.index}'s target {action.target[:200]!r} "
                    "selects nothing in the spec, so the action changed nothing; check the path against "
                    "the spec (JSONPath is case-sensitive, and path keys need brackets: $.paths['/pets'])",
                    pointer=f"{action.pointer}/target",
                )
            )
            return
        if action.kind == "remove":
            self._remove(overlay, action, nodes)
        elif action.kind == "update":
            self._merge_all(overlay, action, nodes, action.value)
        elif action.kind == "copy" and action.copy_query is not None:
            sources = self._select(overlay, action, action.copy_query, "copy")
            if len(sources) != 1:
                self._unusable_copy(overlay, action, len(sources))
                return
            # A copy of the source, so merging it into its own ancestor or descendant reads it unchanged.
            self._merge_all(overlay, action, nodes, copy.deepcopy(sources[0].value))

    def _select(
        self, overlay: Overlay, action: OverlayAction, query: JSONPathQuery, field: str
    ) -> list[JSONPathNode]:
        limit = self.limits.max_overlay_matches
        try:
            nodes = list(islice(query.finditer(self.document), limit + 1))
        except _RegexTooSlowError as exc:
            raise OverlayInvalidError(
                f"overlay {overlay.name}: action {action.index}'s {field} uses the pattern "
                f"{str(exc)[:100]!r}, which took too long on a value of the spec; simplify it "
                "(avoid nested repetition)",
                pointer=f"{action.pointer}/{field}",
            ) from None
        except JSONPathError as exc:
            raise OverlayInvalidError(
                f"overlay {overlay.name}: action {action.index}'s {field} cannot be evaluated: "
                f"{str(exc)[:200]}",
                pointer=f"{action.pointer}/{field}",
            ) from None
        if len(nodes) > limit:
            raise OverlayInvalidError(
                f"overlay {overlay.name}: action {action.index}'s {field} selects more than {limit:,} nodes; "
                "narrow it",
                pointer=f"{action.pointer}/{field}",
            )
        return nodes

    def _unusable_copy(self, overlay: Overlay, action: OverlayAction, found: int) -> None:
        if found == 0:
            self.findings.append(
                Finding(
                    code="OVERLAY_TARGET_UNMATCHED",
                    severity=Severity.WARNING,
                    message=f"overlay {overlay.name}: action {action.index}'s copy source selects nothing in "
                    "the spec, so the action changed nothing",
                    pointer=f"{action.pointer}/copy",
                )
            )
            return
        raise OverlayInvalidError(
            f"overlay {overlay.name}: action {action.index}'s copy source selects {found} nodes; "
            "it must select exactly one",
            pointer=f"{action.pointer}/copy",
        )

    def _remove(self, overlay: Overlay, action: OverlayAction, nodes: list[JSONPathNode]) -> None:
        list_indexes: dict[int, tuple[list[Any], set[int]]] = {}
        for node in nodes:
            if node.parent is None:
                raise self._invalid(overlay, action, "the root of the spec cannot be removed")
            container, key = node.parent.value, node.location[-1]
            if isinstance(container, dict):
                container.pop(key, None)
            elif isinstance(container, list) and isinstance(key, int):
                list_indexes.setdefault(id(container), (container, set()))[1].add(key)
        for container, indexes in list_indexes.values():
            for index in sorted(indexes, reverse=True):
                del container[index]

    def _merge_all(
        self, overlay: Overlay, action: OverlayAction, nodes: list[JSONPathNode], value: Any
    ) -> None:
        kinds = {_kind(node.value) for node in nodes}
        if len(kinds) > 1:
            raise self._invalid(
                overlay,
                action,
                f"the target selects a mix of {', '.join(sorted(kinds))} nodes; an update or "
                "copy needs them all objects, all arrays or all primitives",
            )
        size, depth = _measure(value)
        self.added_nodes += size * len(nodes)
        if self.added_nodes > self.limits.max_overlay_added_nodes:
            raise self._invalid(
                overlay,
                action,
                f"the overlays would add more than {self.limits.max_overlay_added_nodes:,} "
                "nodes to the spec; target fewer nodes or update with less",
            )
        for node in nodes:
            if len(node.location) + depth > self.limits.max_depth:
                raise self._invalid(
                    overlay,
                    action,
                    f"the update would nest the spec deeper than {self.limits.max_depth} levels",
                )
            self._merge_one(overlay, action, node, value)

    def _merge_one(self, overlay: Overlay, action: OverlayAction, node: JSONPathNode, value: Any) -> None:
        target = node.value
        if isinstance(target, dict):
            if not isinstance(value, dict):
                raise self._invalid(overlay, action, f"{node.path()} is an object, so the update must be one")
            _merge_object(target, value, self._conflict(overlay, action, node))
        elif isinstance(target, list):
            if overlay.minor >= 1 and isinstance(value, list):
                target.extend(copy.deepcopy(value))
            else:
                target.append(copy.deepcopy(value))
        elif isinstance(value, dict | list):
            raise self._invalid(
                overlay, action, f"{node.path()} is a primitive value; the update must be one too"
            )
        else:
            node.value = value  # assigns through to the parent object or array

    def _conflict(self, overlay: Overlay, action: OverlayAction, node: JSONPathNode) -> _Conflict:
        def conflict(path: tuple[str, ...], target: Any, value: Any) -> OverlayInvalidError:
            where = node.path() + "".join(f"[{key!r}]" for key in path)
            return self._invalid(
                overlay,
                action,
                f"cannot merge {_kind(value)} into the {_kind(target)} at {where}; "
                "update or remove that property first",
            )

        return conflict

    def _invalid(self, overlay: Overlay, action: OverlayAction, problem: str) -> OverlayInvalidError:
        return OverlayInvalidError(
            f"overlay {overlay.name}: action {action.index} cannot be applied: {problem}",
            pointer=action.pointer,
        )


def _merge_object(
    target: dict[str, Any], update: dict[str, Any], conflict: _Conflict, path: tuple[str, ...] = ()
) -> None:
    """The specification's merge: insert new properties, replace primitives, concatenate arrays,
    merge objects recursively; any other pairing is an error."""
    for key, value in update.items():
        if key not in target:
            target[key] = copy.deepcopy(value)
            continue
        current = target[key]
        if isinstance(current, dict) and isinstance(value, dict):
            _merge_object(current, value, conflict, (*path, key))
        elif isinstance(current, list) and isinstance(value, list):
            current.extend(copy.deepcopy(value))
        elif not isinstance(current, dict | list) and not isinstance(value, dict | list):
            target[key] = value
        else:
            raise conflict((*path, key), current, value)


def _unshare(document: dict[str, Any]) -> None:
    """Replace each second and later reference to a container with a copy (the loader bounded the size
    the copies can reach when it measured alias expansion)."""
    seen: set[int] = {id(document)}
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        keys: Iterable[Any] = list(node) if isinstance(node, dict) else range(len(node))
        for key in keys:
            child = node[key]
            if not isinstance(child, dict | list):
                continue
            if id(child) in seen:
                node[key] = _clone(child)
            else:
                seen.add(id(child))
                stack.append(child)


def _clone(value: Any) -> Any:
    """A copy in which no container is shared, even where `value` shares one (deepcopy would keep it)."""
    if isinstance(value, dict):
        return {key: _clone(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_clone(child) for child in value]
    return value


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else "primitive"


def _measure(value: Any) -> tuple[int, int]:
    """(nodes, depth) of a JSON value: containers and long strings weigh like the loader counts them."""
    size, deepest = 0, 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            size += 1
            deepest = max(deepest, depth)
            children: Iterable[Any] = [*node, *node.values()] if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(node, str):
            size += len(node) // _CHARS_PER_NODE
    return size, deepest
