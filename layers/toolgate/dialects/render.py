"""Render canonical tools into one model API's format and check the result against that API's limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from toolgate.dialects.base import Dialect, LossLog
from toolgate.errors import DialectError
from toolgate.gc_pause import gc_paused
from toolgate.spec.models import CanonicalTool, Finding


class RenderedTools(BaseModel):
    """Tool definitions for one model API, with what rendering lost and what still breaks its limits."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    dialect: Dialect
    #: Ready to send as that API's tools array. Subschemas may be shared with the canonical tools and
    #: between definitions: treat them as read-only.
    definitions: list[dict[str, Any]] = Field(default_factory=list)
    #: Per tool name: what was dropped or rewritten, with pointers into the tool's input schema.
    losses: dict[str, list[Finding]] = Field(default_factory=dict)
    #: Limit checks that still fail after rendering; an empty list means the API accepts the request.
    violations: list[Finding] = Field(default_factory=list)


class Renderer(Protocol):
    def render(self, tool: CanonicalTool, log: LossLog) -> dict[str, Any]: ...


#: Each dialect's module, renderer and limit check, loaded on first use: a function that renders one
#: dialect (MCP's `tools/list`) never pays for the others' modules (issue 16, cold start).
_DIALECTS: dict[Dialect, tuple[str, str, str]] = {
    Dialect.OPENAI: ("openai", "OpenAIRenderer", "check_openai"),
    Dialect.OPENAI_STRICT: ("openai", "OpenAIStrictRenderer", "check_openai"),
    Dialect.OPENAI_RESPONSES: ("openai", "OpenAIResponsesRenderer", "check_openai_responses"),
    Dialect.ANTHROPIC: ("anthropic", "AnthropicRenderer", "check_anthropic"),
    Dialect.BEDROCK: ("bedrock", "BedrockRenderer", "check_bedrock"),
    Dialect.GEMINI: ("gemini", "GeminiRenderer", "check_gemini"),
    Dialect.MCP: ("mcp", "MCPRenderer", "check_mcp"),
}


def new_renderer(dialect: Dialect) -> Renderer:
    """A fresh renderer for `dialect`; it remembers the subschemas it rewrote, so share it across tools."""
    module, renderer, _ = _DIALECTS[dialect]
    factory: Callable[[], Renderer] = getattr(import_module(f"toolgate.dialects.{module}"), renderer)
    return factory()


def _check(dialect: Dialect) -> Callable[[Sequence[Any]], list[Finding]]:
    module, _, check = _DIALECTS[dialect]
    checker: Callable[[Sequence[Any]], list[Finding]] = getattr(
        import_module(f"toolgate.dialects.{module}"), check
    )
    return checker


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
    renderer = new_renderer(dialect)
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
    return _check(as_dialect(dialect))(definitions)
