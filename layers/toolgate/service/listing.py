"""The REST listing of an assistant's tools: one page at a time, each page well under Lambda's 6 MB.

A page holds at most `limit` tools (the settings' default and maximum), and fewer when their JSON would
pass `max_listing_bytes`, measured as Lambda sends it (the body is a JSON string inside the proxy
response, so every quote and non-ASCII character is escaped once more). A page always holds at least one
tool. The cursor is the catalog's opaque one, shared with MCP's `tools/list`.

Every page states the whole assistant's token count and tool count in the format, and its warnings.
"""

from __future__ import annotations

import json
from typing import Any

from toolgate.dialects import as_dialect, check_definitions, render_tools
from toolgate.dialects.tokens import EXACT_DIALECTS, footprint_warnings
from toolgate.errors import ListingCursorInvalidError
from toolgate.service.catalog import AssistantCatalog, page_cursor, page_offset
from toolgate.service.footprint import catalog_tokens, tokenizers
from toolgate.service.views import AssistantTools, ToolFormat, UnavailableIntegration
from toolgate.settings import CatalogSettings

#: Room kept in a page's byte budget for everything beside the definitions (warnings, unavailable...).
_ENVELOPE_RESERVE_BYTES = 64 * 1024


def tools_listing(
    catalog: AssistantCatalog,
    assistant_id: str,
    tool_format: ToolFormat,
    *,
    cursor: str | None,
    limit: int | None,
    settings: CatalogSettings,
) -> AssistantTools:
    """The page of the assistant's tools after `cursor`, rendered in `tool_format`."""
    dialect = as_dialect(tool_format)
    total = len(catalog.tools)
    start = page_offset(
        cursor,
        total,
        ListingCursorInvalidError(
            "The cursor is not one this listing gave: pass a page's `next_cursor` as it is, or no cursor "
            "for the first page."
        ),
    )
    size = min(limit or settings.listing_page_size, settings.max_listing_page_size)
    rendered = render_tools(catalog.tools[start : start + size], dialect)
    definitions = rendered.definitions
    losses = rendered.losses
    violations = rendered.violations
    fitting = _fitting(definitions, losses, settings.max_listing_bytes - _ENVELOPE_RESERVE_BYTES)
    if fitting < len(definitions):
        definitions = definitions[:fitting]
        kept = {tool.name for tool in catalog.tools[start : start + fitting]}
        losses = {name: findings for name, findings in losses.items() if name in kept}
        violations = check_definitions(definitions, dialect)
    end = start + len(definitions)
    tokens = catalog_tokens(catalog, dialect)
    subject = f"Assistant '{assistant_id}'"
    return AssistantTools(
        assistant_id=assistant_id,
        format=tool_format,
        tools=definitions,
        losses=losses,
        violations=violations,
        unavailable=[UnavailableIntegration(id=i, status=status) for i, status in catalog.unavailable],
        tool_count=total,
        token_count=tokens,
        token_count_exact=dialect in EXACT_DIALECTS,
        tokenizer=tokenizers()[dialect.value],
        warnings=footprint_warnings(subject, total, {dialect.value: tokens}, settings.token_budget),
        next_cursor=page_cursor(end) if end < total else None,
    )


def _fitting(definitions: list[dict[str, Any]], losses: dict[str, list[Any]], budget: int) -> int:
    """How many of `definitions`, from the first, fit in `budget` bytes as Lambda sends them; at least 1."""
    used = sum(
        _sent_bytes([finding.model_dump(mode="json") for finding in found]) for found in losses.values()
    )
    for index, definition in enumerate(definitions):
        used += _sent_bytes(definition)
        if used > budget:
            return max(index, 1)
    return len(definitions)


def _sent_bytes(value: Any) -> int:
    """Bytes of `value` in the proxy response: JSON (ASCII-escaped), itself escaped as a JSON string."""
    return len(json.dumps(json.dumps(value, separators=(",", ":"))))
