"""Tool search (toolgate.search) on small hand-made catalogs: ranking, hostile queries, corrupt indexes.

The embedding model runs for real: it loads from its installed package, nothing touches the network.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Sequence
from typing import Any

import pytest
from search_catalog import CATALOG
from toolgate.errors import (
    SearchIndexError,
    SearchIndexVersionError,
    SearchQueryInvalidError,
    ToolgateError,
)
from toolgate.search import (
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    SearchHit,
    SearchIndex,
    Stage,
    build_index,
    load_index,
)
from toolgate.search.index import FORMAT_VERSION, MAGIC


@pytest.fixture(scope="module")
def index_bytes() -> bytes:
    return build_index(CATALOG)


@pytest.fixture(scope="module")
def index(index_bytes: bytes) -> SearchIndex:
    return load_index(index_bytes)


def names(hits: list[SearchHit]) -> list[str]:
    return [hit.name for hit in hits]


# --- Ranking -----------------------------------------------------------------------------------------


def test_request_in_a_persons_words_finds_the_tool_the_spec_words_differently(index: SearchIndex) -> None:
    assert names(index.search("kill the webhook on my repo", 3))[0] == "repos_delete_webhook"


def test_a_removal_request_ranks_the_delete_operation_over_create_and_get(index: SearchIndex) -> None:
    ranked = names(index.search("remove the hook of my repository", MAX_LIMIT, stage=Stage.LEXICAL))
    assert ranked.index("repos_delete_webhook") < ranked.index("repos_create_webhook")
    assert ranked.index("repos_delete_webhook") < ranked.index("repos_get_webhook")


def test_camel_case_names_are_searchable_by_their_words(index: SearchIndex) -> None:
    assert names(index.search("pod log", 1, stage=Stage.LEXICAL)) == ["readNamespacedPodLog"]
    assert names(index.search("storage class", 1, stage=Stage.LEXICAL)) == ["listStorageClass"]


def test_abbreviations_people_type_match_the_words_specs_use(index: SearchIndex) -> None:
    assert names(index.search("delete org hook", 1, stage=Stage.LEXICAL)) == ["orgs_delete_webhook"]


def test_semantic_stage_finds_a_paraphrase_that_shares_no_word_with_the_tool(index: SearchIndex) -> None:
    query = "give the buyer their money back"
    assert index.search(query, 5, stage=Stage.LEXICAL) == [] or "post_refunds" not in names(
        index.search(query, 1, stage=Stage.LEXICAL)
    )
    assert names(index.search(query, 1, stage=Stage.SEMANTIC)) == ["post_refunds"]
    assert names(index.search(query, 1)) == ["post_refunds"]


def test_hits_are_indexed_tools_best_first_with_falling_scores(index: SearchIndex) -> None:
    hits = index.search("create something", MAX_LIMIT)
    assert {hit.name for hit in hits} <= {t.name for t in CATALOG}
    assert len(hits) == len({hit.name for hit in hits})
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_the_same_tools_always_build_the_same_index_bytes(index_bytes: bytes) -> None:
    assert build_index(CATALOG) == index_bytes


def test_reranker_seam_receives_the_fused_top_and_its_order_is_served(index_bytes: bytes) -> None:
    seen: list[tuple[str, list[str]]] = []

    def reverse(query: str, hits: Sequence[SearchHit]) -> list[SearchHit]:
        seen.append((query, names(list(hits))))
        return list(reversed(hits))

    fused = names(load_index(index_bytes).search("delete webhook", MAX_LIMIT))
    reranked = load_index(index_bytes, reranker=reverse).search("delete webhook", 2)
    assert seen == [("delete webhook", fused)]
    assert names(reranked) == list(reversed(fused))[:2]


def test_an_empty_catalog_finds_nothing_and_says_so_without_error() -> None:
    assert load_index(build_index([])).search("anything", 5) == []


# --- Hostile queries ---------------------------------------------------------------------------------

HOSTILE_QUERIES = [
    '"',
    '"""',
    "*",
    "webhook*",
    "NEAR(",
    "NEAR(delete webhook, 2)",
    "OR OR",
    "AND",
    "NOT delete",
    "delete OR",
    "name:webhook",
    "{name title}: webhook",
    "^delete",
    "delete + webhook",
    "'); DROP TABLE tools; --",
    "- - -",
    "删除 webhook 🔥",
    "supprimer le crochet du dépôt",
    "webhook\x00delete",
    "\u202edelete webhook",
    "x" * MAX_QUERY_CHARS,
    " ".join(["delete"] * 400)[:MAX_QUERY_CHARS],
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
def test_engine_syntax_in_a_query_is_searched_as_text_never_an_error(index: SearchIndex, query: str) -> None:
    for stage in Stage:
        hits = index.search(query, 5, stage=stage)
        assert {hit.name for hit in hits} <= {t.name for t in CATALOG}


def test_fts_operators_around_real_words_still_find_the_tool(index: SearchIndex) -> None:
    query = 'NEAR("merge" OR pull* request AND) NOT ^'
    assert names(index.search(query, 1, stage=Stage.LEXICAL)) == ["pulls_merge"]


def test_a_query_longer_than_the_bound_is_refused_with_a_typed_error(index: SearchIndex) -> None:
    with pytest.raises(SearchQueryInvalidError) as caught:
        index.search("delete webhook " * 700, 5)
    assert caught.value.code == "SEARCH_QUERY_INVALID"
    assert f"{MAX_QUERY_CHARS:,}" in caught.value.message


@pytest.mark.parametrize("query", ["", "   ", "\x00", "\x00\x01\n\t"])
def test_an_empty_query_is_refused_rather_than_matching_nothing(index: SearchIndex, query: str) -> None:
    with pytest.raises(SearchQueryInvalidError, match="empty"):
        index.search(query, 5)


@pytest.mark.parametrize("query", [None, 42, b"delete webhook", ["delete"]])
def test_a_query_that_is_not_text_is_refused_with_a_typed_error(index: SearchIndex, query: Any) -> None:
    with pytest.raises(SearchQueryInvalidError, match="text"):
        index.search(query, 5)


@pytest.mark.parametrize("limit", [0, -1, True])
def test_a_limit_below_one_is_refused(index: SearchIndex, limit: int) -> None:
    with pytest.raises(SearchQueryInvalidError, match="limit"):
        index.search("delete webhook", limit)


def test_a_huge_limit_is_capped(index: SearchIndex) -> None:
    big = index.search("repository", 10**9)
    assert len(big) <= MAX_LIMIT
    assert names(big) == names(index.search("repository", MAX_LIMIT))


# --- Corrupt or foreign index bytes ------------------------------------------------------------------


def resigned(body: bytes) -> bytes:
    """Bytes with a valid checksum, so the check under test is the one after it."""
    return body + hashlib.sha256(body).digest()


def with_header(data: bytes, change: dict[str, Any], version: int = FORMAT_VERSION) -> bytes:
    _, _, length = struct.unpack_from("<8sII", data)
    header = json.loads(data[16 : 16 + length])
    header.update(change)
    new_header = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    rest = data[16 + length : -32]
    return resigned(struct.pack("<8sII", MAGIC, version, len(new_header)) + new_header + rest)


def _junk_lexical(data: bytes) -> bytes:
    """The FTS5 database's first page overwritten, under a valid checksum."""
    start = data.index(b"SQLite format 3")
    body = data[:-32]
    return resigned(body[:start] + b"\x07" * 64 + body[start + 64 :])


CORRUPTIONS = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "last byte cut": lambda data: data[:-1],
    "one bit flipped": lambda data: data[:100] + bytes([data[100] ^ 1]) + data[101:],
    "foreign bytes": lambda data: b"SQLite format 3\x00" + data[16:],
    "tool list shorter than vectors": lambda data: with_header(data, {"tools": ["a"]}),
    "duplicate tool names": lambda data: with_header(data, {"tools": ["a"] * len(CATALOG)}),
    "lengths that do not add up": lambda data: with_header(data, {"lexical_bytes": 12}),
    "negative lengths": lambda data: with_header(data, {"lexical_bytes": -5}),
    "no dimensions": lambda data: with_header(data, {"dimensions": None}),
    "other dimensions": lambda data: with_header(data, {"dimensions": 768}),
    "header not an object": lambda data: resigned(struct.pack("<8sII", MAGIC, FORMAT_VERSION, 2) + b"[]"),
    "junk lexical database": _junk_lexical,
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_a_corrupt_index_raises_a_typed_error_never_an_empty_search(
    index_bytes: bytes, corruption: str
) -> None:
    with pytest.raises(SearchIndexError) as caught:
        load_index(CORRUPTIONS[corruption](index_bytes))
    assert caught.value.code.startswith("SEARCH_INDEX_")
    assert "rebuild" in caught.value.message


def test_an_index_of_an_unknown_format_version_is_refused_as_unsupported(index_bytes: bytes) -> None:
    with pytest.raises(SearchIndexVersionError, match="format 99"):
        load_index(with_header(index_bytes, {}, version=99))


def test_an_index_built_with_another_embedding_model_is_refused(index_bytes: bytes) -> None:
    with pytest.raises(SearchIndexVersionError, match="other-model"):
        load_index(with_header(index_bytes, {"model": "other-model"}))


def test_index_errors_are_toolgate_errors_with_a_stable_code(index_bytes: bytes) -> None:
    with pytest.raises(ToolgateError) as caught:
        load_index(index_bytes[:-1])
    assert caught.value.to_dict()["code"] == "SEARCH_INDEX_CORRUPT"
