"""Render canonical tools into one model API's format and check the result against that API's limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from toolgate.dialects.anthropic import AnthropicRenderer, check_anthropic
from toolgate.dialects.base import Dialect, LossLog, RenderedTools
from toolgate.dialects.bedrock import BedrockRenderer, check_bedrock
from toolgate.dialects.gemini import GeminiRenderer, check_gemini
from toolgate.dialects.mcp import MCPRenderer, check_mcp
from toolgate.dialects.openai import (
    OpenAIRenderer,
    OpenAIResponsesRenderer,
    OpenAIStrictRenderer,
    check_openai,
    check_openai_responses,
)
from toolgate.errors import DialectError
from toolgate.gc_pause import gc_paused
from toolgate.spec.models import CanonicalTool, Finding


class _Renderer(Protocol):
    def render(self, tool: CanonicalTool, log: LossLog) -> dict[str, Any]: ...


_RENDERERS: dict[Dialect, Callable[[], _Renderer]] = {
    Dialect.OPENAI: OpenAIRenderer,
    Dialect.OPENAI_STRICT: OpenAIStrictRenderer,
    Dialect.OPENAI_RESPONSES: OpenAIResponsesRenderer,
    Dialect.ANTHROPIC: AnthropicRenderer,
    Dialect.BEDROCK: BedrockRenderer,
    Dialect.GEMINI: GeminiRenderer,
    Dialect.MCP: MCPRenderer,
}
_CHECKS: dict[Dialect, Callable[[Sequence[Any]], list[Finding]]] = {
    Dialect.OPENAI: check_openai,
    Dialect.OPENAI_STRICT: check_openai,
    Dialect.OPENAI_RESPONSES: check_openai_responses,
    Dialect.ANTHROPIC: check_anthropic,
    Dialect.BEDROCK: check_bedrock,
    Dialect.GEMINI: check_gemini,
    Dialect.MCP: check_mcp,
}


def as_dialect(value: str) -> Dialect:
    """The dialect named `value`, or a DialectError that lists the known ones."""
    try:
        return Dialect(value)
    except ValueError:
        known = ", ".join(dialect.value for dialect in Dialect)
        raise DialectError(f"unknown tool format {value!r}; use one of: {known}") from None


def render_tools(tools: Sequence[CanonicalTool], dialect: Dialect | str) -> RenderedTools:
    """Each tool as `dialect` defines tools, in order, with per-tool losses and the limit violations left.

    The tools' schemas are never modified; unchanged subschemas are shared with the result, not copied.
    """
    with gc_paused():
        return _render(tools, as_dialect(dialect))


def _render(tools: Sequence[CanonicalTool], dialect: Dialect) -> RenderedTools:
    renderer = _RENDERERS[dialect]()
    definitions: list[dict[str, Any]] = []
    losses: dict[str, list[Finding]] = {}
    for tool in tools:
        log = LossLog()
        definitions.append(renderer.render(tool, log))
        if log:
            losses[tool.name] = log.findings()
    return RenderedTools.model_construct(
        dialect=dialect,
        definitions=definitions,
        losses=losses,
        violations=check_definitions(definitions, dialect),
    )


def check_definitions(definitions: Sequence[Any], dialect: Dialect | str) -> list[Finding]:
    """Violations of `dialect`'s documented limits by rendered definitions; empty when the API accepts them.

    Pointers locate the problem within `definitions` (e.g. `/3/function/parameters/properties/x`).
    """
    return _CHECKS[as_dialect(dialect)](definitions)
