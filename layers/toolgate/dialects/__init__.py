"""Canonical tools rendered for each model API, checked against that API's documented limits."""

from toolgate.dialects.base import Dialect, DialectCode, RenderedTools
from toolgate.dialects.openai import restore_omitted_arguments
from toolgate.dialects.render import as_dialect, check_definitions, render_tools

__all__ = [
    "Dialect",
    "DialectCode",
    "RenderedTools",
    "as_dialect",
    "check_definitions",
    "render_tools",
    "restore_omitted_arguments",
]
