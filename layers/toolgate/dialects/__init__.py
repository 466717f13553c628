"""Canonical tools rendered for each model API, checked against that API's documented limits.

The names below load their module on first use: the invoke path imports `toolgate.dialects.calls` alone and
never pays for the renderers (issue 16, cold start).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolgate.dialects.base import Dialect, DialectCode
    from toolgate.dialects.render import RenderedTools, as_dialect, check_definitions, render_tools
    from toolgate.dialects.strict_arguments import restore_omitted_arguments

_HOMES = {
    "Dialect": "toolgate.dialects.base",
    "DialectCode": "toolgate.dialects.base",
    "RenderedTools": "toolgate.dialects.render",
    "as_dialect": "toolgate.dialects.render",
    "check_definitions": "toolgate.dialects.render",
    "render_tools": "toolgate.dialects.render",
    "restore_omitted_arguments": "toolgate.dialects.strict_arguments",
}

__all__ = [
    "Dialect",
    "DialectCode",
    "RenderedTools",
    "as_dialect",
    "check_definitions",
    "render_tools",
    "restore_omitted_arguments",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'toolgate.dialects' has no attribute '{name}'")
    return getattr(import_module(home), name)
