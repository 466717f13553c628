"""Gemini parameter names, and the reversible renaming that gives every argument one.

Google documents `FunctionDeclaration.parameters` as: "Parameter names must start with a letter or an
underscore and must only contain chars a-z, A-Z, 0-9, or underscores with a maximum length of 64". Argument
names such as `api-key` or `filter.status` break that rule, so the Gemini rendering offers them under a
conforming name and a Gemini call's arguments are mapped back before the tool runs. The mapping depends on
the tool's input schema alone, so rendering and invoking compute the same one.

Pure: no I/O. Kept apart from the renderer so that the invoke path imports only this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from toolgate.dialects.base import LossLog
from toolgate.dialects.schema_rewrite import UNION_KEYWORDS, object_root
from toolgate.spec.models import JsonSchema

PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_CHARS = 64
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_]")


def parameter_renames(names: Iterable[str]) -> dict[str, str]:
    """The names that must change, each to a distinct conforming name that no other argument uses.

    Conforming names keep theirs; the others get theirs in order, with `_2`, `_3`... on a collision.
    """
    ordered = list(names)
    taken = {name for name in ordered if PARAMETER_NAME.fullmatch(name)}
    renames: dict[str, str] = {}
    for name in ordered:
        if name in taken:
            continue
        base = _NOT_ALLOWED.sub("_", name)
        if not base or base[0].isdigit():
            base = "_" + base
        base = base[:_MAX_CHARS]
        candidate, counter = base, 2
        while candidate in taken:
            suffix = f"_{counter}"
            candidate = base[: _MAX_CHARS - len(suffix)] + suffix
            counter += 1
        taken.add(candidate)
        renames[name] = candidate
    return renames


def tool_parameter_renames(input_schema: JsonSchema) -> dict[str, str]:
    """The renames for a tool's arguments: its object root's properties, as the Gemini renderer sees them."""
    properties = object_root(input_schema, LossLog(), UNION_KEYWORDS).get("properties")
    return parameter_renames(properties) if isinstance(properties, dict) else {}


def restore_parameter_names(arguments: dict[str, Any], input_schema: JsonSchema) -> dict[str, Any]:
    """A Gemini call's arguments under the tool's own names; a new mapping when any name changes.

    A renamed argument wins over one the model sent under the original name as well.
    """
    renames = tool_parameter_renames(input_schema)
    if not renames:
        return arguments
    originals = {rendered: original for original, rendered in renames.items()}
    if not originals.keys() & arguments.keys():
        return arguments
    restored = {name: value for name, value in arguments.items() if name not in originals}
    for rendered, value in arguments.items():
        if rendered in originals:
            restored[originals[rendered]] = value
    return restored
