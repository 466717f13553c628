"""Serving tool search (issue 15): stored vectors reused by the index build, the search listing and its
checks, index keys per tenant and toolset, and a property test that whatever a search returns renders in
every dialect exactly as the listing renders the same tools. The embedding model runs for real."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from toolgate.dialects import render_tools
from toolgate.dialects.base import Dialect
from toolgate.errors import SearchQueryInvalidError
from toolgate.search import SearchIndex, build_index, embed_tools, load_index
from toolgate.search.semantic import Embedder
from toolgate.service.models import AssistantRecord
from toolgate.service.search import (
    SEARCH_TOOL,
    assistant_index_key,
    checked_limit,
    checked_query,
    listed_tools,
    search_tool,
)
from toolgate.settings import SearchSettings
from toolgate.spec.compiler import compile_document, parse_spec
from toolgate.spec.models import CanonicalTool

from tests.integration.search_specs import big_spec

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def tools() -> list[CanonicalTool]:
    return compile_document(parse_spec(big_spec().encode(), name="openapi.json")).tools


@pytest.fixture(scope="module")
def index(tools: list[CanonicalTool]) -> SearchIndex:
    return load_index(build_index(tools))


def _assistant(**fields: Any) -> AssistantRecord:
    return AssistantRecord(assistant_id="big", created_at=NOW, updated_at=NOW, **fields)


def _counting_embeds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of sentences each `Embedder.embed` call is given."""
    calls: list[int] = []
    original = Embedder.embed

    def embed(self: Embedder, sentences: Sequence[str]) -> Any:
        calls.append(len(sentences))
        return original(self, sentences)

    monkeypatch.setattr(Embedder, "embed", embed)
    return calls


# --- Vectors embedded once per revision ------------------------------------------------------


def test_stored_vectors_are_reused_so_an_assistant_index_embeds_nothing_again(
    tools: list[CanonicalTool], monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = embed_tools(tools)
    calls = _counting_embeds(monkeypatch)

    assembled = build_index(tools[:30], stored_vectors=[stored])

    assert calls == []
    monkeypatch.undo()
    assert assembled == build_index(tools[:30]), "the same bytes as embedding afresh"


def test_corrupt_or_foreign_stored_vectors_are_ignored_and_the_tools_embedded_afresh(
    tools: list[CanonicalTool], monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = bytearray(embed_tools(tools[:5]))
    stored[-40] ^= 0xFF
    calls = _counting_embeds(monkeypatch)

    assembled = build_index(tools[:5], stored_vectors=[bytes(stored), b"TGVECTOR", b"\0" * 100])

    assert calls == [5]
    monkeypatch.undo()
    assert assembled == build_index(tools[:5])


def test_a_tool_whose_text_changed_is_embedded_again_not_given_its_old_vector(
    tools: list[CanonicalTool], monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = embed_tools(tools[:5])
    renamed = tools[0].model_copy(
        update={"annotations": tools[0].annotations.model_copy(update={"title": "Ship it"})}
    )
    calls = _counting_embeds(monkeypatch)

    build_index([renamed, *tools[1:5]], stored_vectors=[stored])

    assert calls == [1]


# --- The listing, its checks, the index keys ---------------------------------------------------


def test_over_the_threshold_the_listing_is_the_pinned_tools_and_the_search_tool(
    tools: list[CanonicalTool],
) -> None:
    config = SearchSettings(threshold=40)
    listed, searching = listed_tools(tools, _assistant(pinned=["get_ticket", "nope"]), config, asked=None)
    small, small_searching = listed_tools(tools[:40], _assistant(), config, asked=None)
    asked, _ = listed_tools(tools[:3], _assistant(), config, asked=True)
    refused, refused_searching = listed_tools(tools, _assistant(), config, asked=False)

    assert searching and [tool.name for tool in listed] == ["get_ticket", SEARCH_TOOL]
    assert not small_searching and small == tools[:40]
    assert [tool.name for tool in asked] == [SEARCH_TOOL]
    assert not refused_searching and refused == tools


@pytest.mark.parametrize("limit", [0, -1, "0", "x", 1.5, True, "1" * 12])
def test_a_limit_that_is_not_a_whole_number_of_one_or_more_is_refused_with_a_typed_error(
    limit: object,
) -> None:
    with pytest.raises(SearchQueryInvalidError, match="limit"):
        checked_limit(limit, SearchSettings())


def test_a_limit_above_the_most_results_is_clamped_and_none_is_the_default() -> None:
    config = SearchSettings(max_results=20, default_results=5)
    assert (checked_limit("100000", config), checked_limit(7, config), checked_limit(None, config)) == (
        20,
        7,
        5,
    )


def test_the_service_bounds_a_query_exactly_as_the_engine_does() -> None:
    from toolgate import search
    from toolgate.service import search as service_search

    assert service_search.MAX_QUERY_CHARS == search.MAX_QUERY_CHARS
    assert checked_query("x" * search.MAX_QUERY_CHARS) == "x" * search.MAX_QUERY_CHARS


@pytest.mark.parametrize("query", ["", "   ", "x" * 1001, None, 42, ["webhook"]])
def test_an_empty_overlong_or_non_text_query_is_refused_with_a_typed_error(query: object) -> None:
    with pytest.raises(SearchQueryInvalidError):
        checked_query(query)


def test_index_keys_differ_per_tenant_assistant_toolset_and_revision_and_stay_in_the_tenant_prefix() -> None:
    toolset = (None, None, False, ())
    base = ("acme", "big", toolset, (("catalog", "v1-aa"),))
    keys = {
        assistant_index_key(base),
        assistant_index_key(("beta", *base[1:])),
        assistant_index_key(("acme", "other", *base[2:])),
        assistant_index_key(("acme", "big", (None, None, True, ()), base[3])),
        assistant_index_key(("acme", "big", toolset, (("catalog", "v2-bb"),))),
    }
    assert len(keys) == 5
    assert assistant_index_key(base).startswith("artifacts/tenants/acme/assistants/big/search/")


# --- Whatever a search returns renders as the listing does ---------------------------------------


@pytest.mark.parametrize("dialect", list(Dialect))
def test_the_search_tool_renders_in_every_dialect_within_its_limits(dialect: Dialect) -> None:
    rendered = render_tools([search_tool(SearchSettings())], dialect)
    assert len(rendered.definitions) == 1 and rendered.violations == []
    # Strict OpenAI drops the length keywords (the service checks the query anyway) and makes `limit`
    # nullable (null is the default); every other dialect keeps the schema whole.
    lost = {finding.pointer for findings in rendered.losses.values() for finding in findings}
    assert lost <= ({"/properties/query", "/properties/limit"} if dialect is Dialect.OPENAI_STRICT else set())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(min_size=1, max_size=200), limit=st.integers(min_value=1, max_value=60))
def test_every_tool_a_search_returns_renders_in_each_dialect_exactly_as_the_listing_renders_it(
    tools: list[CanonicalTool], index: SearchIndex, query: str, limit: int
) -> None:
    try:
        hits = index.search(query, limit)
    except SearchQueryInvalidError:
        assume(False)
        return
    by_name = {tool.name: tool for tool in tools}
    found = [by_name[hit.name] for hit in hits]
    assert found and len({tool.name for tool in found}) == len(found)
    for dialect in Dialect:
        listing = render_tools(tools, dialect)
        listed = dict(zip([tool.name for tool in tools], listing.definitions, strict=True))
        rendered = render_tools(found, dialect)
        assert rendered.definitions == [listed[tool.name] for tool in found]
        assert {name: rendered.losses.get(name) for name in rendered.losses} == {
            name: listing.losses[name] for name in rendered.losses
        }
