"""Load one JSON or YAML document from untrusted bytes, within bounds.

Guarantees: every mapping key is a string, YAML dates stay strings, and size, nesting depth and
alias expansion (of containers and long strings alike) are capped before they can exhaust memory
or the C stack.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from toolgate.errors import (
    SpecAliasExpansionError,
    SpecParseError,
    SpecTooDeepError,
    SpecTooLargeError,
)
from toolgate.gc_pause import gc_paused
from toolgate.settings import CompileLimits, get_settings

#: Nesting the C parser is ever handed: it recurses on the C stack and segfaults near 2,500 levels
#: on a 1 MiB thread stack. Real specs stay below 300.
_PARSER_SAFE_DEPTH = 1_000
#: Below this many open brackets, flow nesting is bounded by the count itself.
_EXACT_FLOW_THRESHOLD = 256
#: Expanded nodes allowed on top of the ratio, so small documents with a few anchors always load.
_ALIAS_ALLOWANCE = 10_000
#: Characters of a string that weigh as much as one node: an aliased long string expands like a tree.
_CHARS_PER_NODE = 64

_YamlBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_BRACKET_DELTA = bytes.maketrans(b"[{]}", b"\x01\x01\x02\x02")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[{]}")
_LEADING_INDENT = re.compile(rb"^[ ]+", re.MULTILINE)
_COMPACT_MARKERS = re.compile(rb"^[ ]*(?:[-?][ \t]+){4,}", re.MULTILINE)


class _SpecLoader(_YamlBase):  # type: ignore[misc]
    """PyYAML's safe loader (C-accelerated when available) with JSON-compatible keys and dates; it notes
    whether an alias made one node appear in several places."""

    def __init__(self, stream: bytes) -> None:
        super().__init__(stream)
        self.aliased = False
        #: Mapping keys are read from their nodes, not constructed: an alias used as a key shows here.
        self._key_nodes: set[Node] = set()

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self._key_nodes:
            self.aliased = True
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[str, Any]:
        if not isinstance(node, MappingNode):
            raise SpecParseError(f"expected a mapping at line {node.start_mark.line + 1}")
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise SpecParseError(
                    f"mapping keys must be plain scalars (line {key_node.start_mark.line + 1})"
                )
            if key_node in self._key_nodes or key_node in self.constructed_objects:
                self.aliased = True
            self._key_nodes.add(key_node)
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping


def _scalar_as_text(loader: Any, node: Node) -> str:
    return str(node.value)


_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _scalar_as_text)


def load_document(data: bytes, *, name: str = "", limits: CompileLimits | None = None) -> dict[str, Any]:
    """Parse `data` as JSON or YAML and return a mapping with string keys, or raise a typed SpecError."""
    return load_document_noting_aliases(data, name=name, limits=limits)[0]


def load_document_noting_aliases(
    data: bytes, *, name: str = "", limits: CompileLimits | None = None
) -> tuple[dict[str, Any], bool]:
    """`load_document`, and whether a YAML alias put one node in several places of the document."""
    with gc_paused():
        return _load(data, name, limits)


def _load(data: bytes, name: str, limits: CompileLimits | None) -> tuple[dict[str, Any], bool]:
    limits = limits or get_settings().compile
    label = name or "document"
    if len(data) > limits.max_spec_bytes:
        raise SpecTooLargeError(
            f"{label} is {len(data):,} bytes; the limit is {limits.max_spec_bytes:,} bytes"
        )
    text_start = data.lstrip()[:1]
    document = _load_json(data, label, limits) if text_start == b"{" else None
    aliased = False
    if document is None:
        document, aliased = _load_yaml(data, label, limits)
    if not isinstance(document, dict):
        raise SpecParseError(f"{label} must be a mapping at the top level, not {type(document).__name__}")
    return document, aliased


def _load_json(data: bytes, label: str, limits: CompileLimits) -> Any:
    """Parse JSON, or return None so the caller falls back to YAML (flow-style YAML starts with `{` too)."""
    try:
        document = json.loads(data)
    except RecursionError as exc:
        raise SpecTooDeepError(f"{label} is nested too deeply to load") from exc
    except ValueError:
        return None
    if _flow_depth_bound(data) > limits.max_depth:
        _check_shape(document, label, limits)
    return document


def _load_yaml(data: bytes, label: str, limits: CompileLimits) -> tuple[Any, bool]:
    bound = _nesting_upper_bound(data)
    if bound > _PARSER_SAFE_DEPTH:
        raise SpecTooDeepError(
            f"{label} nests too deeply (about {bound:,} levels); the limit is {limits.max_depth}"
        )
    loader = _SpecLoader(data)
    try:
        document = loader.get_single_data()
    except RecursionError as exc:
        raise SpecTooDeepError(f"{label} is nested too deeply to load") from exc
    except yaml.YAMLError as exc:
        raise SpecParseError(f"{label} is not valid YAML: {_first_line(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise SpecParseError(f"{label} is not valid UTF-8 text") from exc
    except ValueError as exc:
        raise SpecParseError(f"{label} holds a value that cannot be read: {_first_line(exc)}") from exc
    finally:
        loader.dispose()
    if loader.aliased or bound > limits.max_depth:
        _check_shape(document, label, limits)
    return document, loader.aliased


def _nesting_upper_bound(data: bytes) -> int:
    """A cheap bound on YAML nesting: indentation, compact `- - -` markers and flow brackets."""
    block = max(map(len, _LEADING_INDENT.findall(data)), default=0)
    markers = _COMPACT_MARKERS.findall(data)
    compact = max((m.count(b"-") + m.count(b"?") for m in markers), default=0)
    return 2 * (block + compact) + _flow_depth_bound(data) + 2


def _flow_depth_bound(data: bytes) -> int:
    """Deepest run of unclosed brackets, counting brackets inside strings too (so never an underestimate)."""
    brackets = data.translate(_BRACKET_DELTA, _NOT_BRACKETS)
    opened = brackets.count(1)
    if opened <= _EXACT_FLOW_THRESHOLD:
        return opened
    steps = (1 if b == 1 else -1 for b in brackets)
    deepest: int = max(accumulate(steps, lambda depth, step: max(0, depth + step)))
    return deepest


def _check_shape(document: Any, label: str, limits: CompileLimits) -> None:
    """Measure depth and alias-expanded size without expanding (shared nodes are visited once).

    Size counts containers and long strings (one node per `_CHARS_PER_NODE` characters), so an alias to
    a long scalar counts its whole length each time it is used, just like an alias to a mapping.
    """
    expanded: dict[int, int] = {}
    depth_of: dict[int, int] = {}
    active: set[int] = set()
    strings_seen: set[int] = set()
    unique = 0
    stack: list[tuple[Any, bool]] = [(document, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = node.values() if isinstance(node, dict) else node
        if children_done:
            active.discard(key)
            size, depth = 1, 0
            for child in children:
                if isinstance(child, dict | list):
                    size += expanded[id(child)]
                    depth = max(depth, depth_of[id(child)])
            size += sum(len(text) // _CHARS_PER_NODE for text in _long_strings(node))
            depth += 1
            if depth > limits.max_depth:
                raise SpecTooDeepError(f"{label} nests {depth} levels deep; the limit is {limits.max_depth}")
            expanded[key] = size
            depth_of[key] = depth
            continue
        if key in expanded:
            continue
        if key in active:
            raise SpecAliasExpansionError(f"{label} contains a recursive YAML alias")
        active.add(key)
        unique += 1
        stack.append((node, True))
        stack.extend((child, False) for child in children if isinstance(child, dict | list))
        for text in _long_strings(node):
            if id(text) not in strings_seen:
                strings_seen.add(id(text))
                unique += len(text) // _CHARS_PER_NODE
    total = expanded.get(id(document), 1)
    allowed = min(
        limits.max_expanded_nodes, int(unique * limits.max_alias_expansion_ratio) + _ALIAS_ALLOWANCE
    )
    if total > allowed:
        raise SpecAliasExpansionError(
            f"{label} expands to {total:,} nodes through YAML aliases (long strings count one node per "
            f"{_CHARS_PER_NODE} characters); the limit is {allowed:,}. Repeat the content instead of "
            "aliasing it, or reuse it with a $ref."
        )


def _long_strings(node: dict[str, Any] | list[Any]) -> list[str]:
    """The keys and values of `node` that are strings long enough to weigh at least one node."""
    items = [*node, *node.values()] if isinstance(node, dict) else node
    return [item for item in items if isinstance(item, str) and len(item) >= _CHARS_PER_NODE]


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
