"""Tool and argument names that every model API accepts, deterministic across re-uploads."""

from __future__ import annotations

import hashlib
import re

TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
MAX_NAME = 64
#: An integration parameter setting's name (`x-toolgate: {hidden: true, from: NAME}`).
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_CAMEL_BOUNDARY = re.compile(r"([a-z0-9])([A-Z])")
_ACRONYM_BOUNDARY = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")
_NOT_ARGUMENT = re.compile(r"[^A-Za-z0-9_.-]+")


def snake_case(text: str) -> str:
    text = _ACRONYM_BOUNDARY.sub(r"\1_\2", _CAMEL_BOUNDARY.sub(r"\1_\2", text))
    return _NOT_WORD.sub("_", text).strip("_").lower()


def short_hash(text: str, length: int = 6) -> str:
    # surrogatepass: a JSON spec can hold lone surrogates (`"\ud800"`), which plain UTF-8 refuses.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def fit(name: str, seed: str) -> str:
    """Make `name` match TOOL_NAME, shortening with a hash of `seed` when it is too long."""
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = f"op_{name}" if name else "op"
    if len(name) > MAX_NAME:
        name = f"{name[: MAX_NAME - 7].rstrip('_')}_{short_hash(seed)}"
    return name


def base_tool_name(operation_id: str | None, method: str, path: str) -> str:
    """snake_case operationId, or method and path when there is none (or it has no usable characters)."""
    name = snake_case(operation_id) if operation_id else ""
    if not name:
        words = path.replace("{", "by_").replace("}", "")
        name = snake_case(f"{method}_{words}")
    return fit(name, f"{operation_id}|{method} {path}")


def unique_tool_names(candidates: list[tuple[str, str]]) -> list[str]:
    """Names for (base name, 'METHOD /path') pairs; every member of a clash gets a suffix from its route."""
    counts: dict[str, int] = {}
    for base, _ in candidates:
        counts[base] = counts.get(base, 0) + 1
    names: list[str] = []
    taken: set[str] = set()
    for base, route in candidates:
        name = base
        if counts[base] > 1:
            name = with_suffix(base, short_hash(route))
        attempt = 2
        while name in taken:
            name = with_suffix(base, short_hash(f"{route}#{attempt}"))
            attempt += 1
        taken.add(name)
        names.append(name)
    return names


def with_suffix(base: str, suffix: str) -> str:
    """`base` and `_suffix`, with `base` shortened so the whole fits MAX_NAME."""
    return f"{base[: MAX_NAME - len(suffix) - 1].rstrip('_')}_{suffix}"


def argument_name(raw: str) -> str:
    """A property name that Anthropic, Bedrock, Gemini and OpenAI all accept: `^[A-Za-z0-9_.-]{1,64}$`."""
    name = _NOT_ARGUMENT.sub("_", raw).strip("_") or "arg"
    return name[:MAX_NAME]


def tool_names(candidates: list[tuple[str, str, str | None]]) -> list[str | None]:
    """Names for (base name, 'METHOD /path', admin's name or None) triples.

    An admin's name (`x-toolgate.name`) is kept as given; one that two operations ask for is None for
    both (a conflict the admin must settle). Derived names that clash with it or with each other get
    suffixes as in `unique_tool_names`.
    """
    wanted: dict[str, int] = {}
    for _, _, override in candidates:
        if override is not None:
            wanted[override] = wanted.get(override, 0) + 1
    derived = [
        (base if base not in wanted else with_suffix(base, short_hash(route)), route)
        for base, route, override in candidates
        if override is None
    ]
    derived_names = iter(unique_tool_names(derived))
    return [
        next(derived_names) if override is None else override if wanted[override] == 1 else None
        for _, _, override in candidates
    ]
