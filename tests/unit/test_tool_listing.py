"""The REST listing's pages (toolgate.service.listing): bounded in tools and bytes, with an opaque cursor,
and the whole assistant's token count and warnings on every page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from spec_builders import compile_paths, json_body
from toolgate.dialects import Dialect
from toolgate.dialects.tokens import TOKEN_BUDGET_EXCEEDED, TOOL_CAP_EXCEEDED, tool_token_counts
from toolgate.errors import ListingCursorInvalidError
from toolgate.service.catalog import AssistantCatalog, page_cursor
from toolgate.service.footprint import catalog_tokens
from toolgate.service.listing import tools_listing
from toolgate.service.views import AssistantTools
from toolgate.settings import CatalogSettings
from toolgate.spec.models import CanonicalTool

SMALL_PAGES = CatalogSettings(max_listing_bytes=256 * 1024)


def _tools(count: int, properties: int = 4) -> list[CanonicalTool]:
    schema = {
        "type": "object",
        "properties": {
            f"field_{index}": {"type": "string", "description": f"What field {index} holds, in words. " * 4}
            for index in range(properties)
        },
    }
    paths = {
        f"/things{number}": {
            "post": {"operationId": f"create_thing_{number}", "requestBody": json_body(schema)}
        }
        for number in range(count)
    }
    return compile_paths(paths).tools


def _catalog(tools: list[CanonicalTool], *, stored_counts: bool = True) -> AssistantCatalog:
    tokens = tool_token_counts(tools) if stored_counts else [{} for _ in tools]
    return AssistantCatalog(tools=tools, unavailable=[], tokens=tokens)


def _all_pages(catalog: AssistantCatalog, settings: CatalogSettings, **kwargs: Any) -> list[AssistantTools]:
    pages = [tools_listing(catalog, "a", "openai", cursor=None, settings=settings, **kwargs)]
    while pages[-1].next_cursor is not None:
        pages.append(
            tools_listing(catalog, "a", "openai", cursor=pages[-1].next_cursor, settings=settings, **kwargs)
        )
    return pages


def _names(page: AssistantTools) -> list[str]:
    return [definition["function"]["name"] for definition in page.tools]


def test_a_small_assistant_lists_in_one_page_with_its_token_count() -> None:
    tools = _tools(5)
    listing = tools_listing(
        _catalog(tools), "a", "openai", cursor=None, limit=None, settings=CatalogSettings()
    )
    assert _names(listing) == [tool.name for tool in tools]
    assert listing.next_cursor is None
    assert listing.tool_count == 5
    assert listing.token_count == sum(counts["openai"] for counts in tool_token_counts(tools)) > 0
    assert listing.token_count_exact is True
    assert listing.warnings == []


def test_pages_hold_every_tool_once_in_catalog_order_and_state_the_whole_count() -> None:
    tools = _tools(23)
    pages = _all_pages(_catalog(tools), CatalogSettings(), limit=5)
    assert [len(page.tools) for page in pages] == [5, 5, 5, 5, 3]
    assert [name for page in pages for name in _names(page)] == [tool.name for tool in tools]
    assert {page.token_count for page in pages} == {pages[0].token_count}
    assert {page.tool_count for page in pages} == {23}


def test_a_page_that_would_pass_the_byte_limit_holds_fewer_tools_instead() -> None:
    tools = _tools(24, properties=120)
    pages = _all_pages(_catalog(tools), SMALL_PAGES, limit=24)
    # 24 tools would not fit in one page; each page is still as full as the limit allows.
    assert len(pages) > 1
    assert min(len(page.tools) for page in pages[:-1]) > 1
    assert [name for page in pages for name in _names(page)] == [tool.name for tool in tools]
    for page in pages:
        sent = len(json.dumps(json.dumps(page.model_dump(mode="json"), separators=(",", ":"))))
        assert sent <= SMALL_PAGES.max_listing_bytes


def test_the_requested_page_size_is_capped() -> None:
    settings = CatalogSettings(listing_page_size=3, max_listing_page_size=4)
    listing = tools_listing(_catalog(_tools(10)), "a", "openai", cursor=None, limit=1000, settings=settings)
    assert len(listing.tools) == 4
    assert tools_listing(
        _catalog(_tools(10)), "a", "openai", cursor=None, limit=None, settings=settings
    ).tools[2:]


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "", "dGcxOi0x", "dGcxOjEyMzQ1Njc4OTAxMjM=", page_cursor(1) + "!", "x" * 65, "dGcyOjE"],
)
def test_a_cursor_the_listing_did_not_give_is_a_typed_400(cursor: str) -> None:
    with pytest.raises(ListingCursorInvalidError) as raised:
        tools_listing(
            _catalog(_tools(3)), "a", "openai", cursor=cursor, limit=None, settings=CatalogSettings()
        )
    assert raised.value.http_status == 400
    assert "next_cursor" in raised.value.message


def test_tools_without_stored_counts_are_counted_when_listed() -> None:
    tools = _tools(4)
    stored = _catalog(tools)
    assert catalog_tokens(_catalog(tools, stored_counts=False), Dialect.GEMINI) == catalog_tokens(
        stored, Dialect.GEMINI
    )


def test_the_listing_warns_past_the_budget_and_the_formats_tool_cap() -> None:
    tools = _tools(130, properties=1)
    listing = tools_listing(
        _catalog(tools), "a", "openai", cursor=None, limit=None, settings=CatalogSettings(token_budget=1000)
    )
    assert {warning.code for warning in listing.warnings} == {TOKEN_BUDGET_EXCEEDED, TOOL_CAP_EXCEEDED}
    anthropic = tools_listing(
        _catalog(tools),
        "a",
        "anthropic",
        cursor=None,
        limit=None,
        settings=CatalogSettings(token_budget=10**9),
    )
    assert anthropic.warnings == []
    assert anthropic.token_count_exact is False
