"""Local `$ref` resolution. Nothing outside the document is ever read or fetched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from toolgate.errors import ExternalRefError, RefCycleError, UnresolvableRefError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer_join(pointer: str, *tokens: str | int) -> str:
    return pointer + "".join("/" + escape_token(str(token)) for token in tokens)


def lookup_pointer(document: Any, pointer: str) -> tuple[bool, Any]:
    """(whether JSON pointer `pointer` resolves in `document`, the value it points to)."""
    node = document
    for raw in pointer.split("/")[1:] if pointer else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, None
    return True, node


def is_local_ref(ref: str) -> bool:
    return ref.startswith("#")


def is_external_url(ref: str) -> bool:
    """http, https, file, data and every other URI scheme: refused, never fetched."""
    return _SCHEME.match(ref) is not None


def reference_of(node: Any) -> str | None:
    """The `$ref` of a Reference Object, or None. A property *named* `$ref` maps to a schema, not a string."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            return ref
    return None


def iter_refs(node: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """Every (pointer, ref) in a document, iteratively (documents can be large)."""
    stack: list[tuple[Any, str]] = [(node, pointer)]
    seen: set[int] = set()
    while stack:
        current, where = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str):
                yield where, ref
            for key, value in current.items():
                if isinstance(value, dict | list):
                    stack.append((value, pointer_join(where, key)))
        elif isinstance(current, list):
            for index, value in enumerate(current):
                if isinstance(value, dict | list):
                    stack.append((value, pointer_join(where, index)))


class RefResolver:
    """Resolves `#/...` pointers within one document, with a cache."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._cache: dict[str, Any] = {}

    def resolve(self, ref: str, *, at: str = "") -> Any:
        """Return the node `ref` points to, or raise ExternalRefError / UnresolvableRefError."""
        cached = self._cache.get(ref)
        if cached is not None:
            return cached
        if not is_local_ref(ref):
            if is_external_url(ref):
                raise ExternalRefError(
                    f"$ref {ref[:200]!r} points outside the document; Toolgate never fetches remote refs. "
                    "Inline it, or upload the spec as a folder or zip",
                    pointer=at,
                )
            raise UnresolvableRefError(
                f"$ref {ref[:200]!r} names another file; upload the spec as a folder or zip to include it",
                pointer=at,
            )
        fragment = unquote(ref[1:])
        if fragment and not fragment.startswith("/"):
            raise UnresolvableRefError(f"$ref {ref[:200]!r} is not a JSON pointer", pointer=at)
        found, node = lookup_pointer(self.document, fragment)
        if not found:
            raise UnresolvableRefError(f"$ref {ref[:200]!r} does not resolve in the document", pointer=at)
        self._cache[ref] = node
        return node

    def deref(self, node: Any, *, at: str = "", max_hops: int = 32) -> Any:
        """Follow a chain of Reference Objects (e.g. a parameter that refs a parameter) to a real object."""
        hops = 0
        while (ref := reference_of(node)) is not None:
            hops += 1
            if hops > max_hops:
                raise RefCycleError("$ref chain is circular or too long", pointer=at)
            node = self.resolve(ref, at=at)
        return node
