"""The semantic stage on Bedrock (issue 15): Titan Text Embeddings V2's request and response bodies, the
embedder each `TOOLGATE_SEARCH_EMBEDDINGS` selects, and indexes never searched with an embedder that did
not build them. moto answers InvokeModel with an empty body, so the bodies are tested here as pure
functions; the Bedrock path has never run against the real service."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from search_catalog import CATALOG
from toolgate.adapters.aws.bedrock import (
    BedrockEmbedder,
    configured_embedder,
    embedding_from_response,
    embedding_request,
)
from toolgate.errors import BedrockEmbeddingError, SearchIndexVersionError
from toolgate.search import build_index, embed_tools, load_index
from toolgate.search.embedding import OfflineEmbedder
from toolgate.settings import SearchSettings, get_search_settings

from tests.search_embedders import DigestEmbedder

TITAN = "amazon.titan-embed-text-v2:0"


def _titan_answer(vector: Sequence[object]) -> bytes:
    """A V2 response body as AWS documents it."""
    return json.dumps(
        {"embedding": vector, "inputTextTokenCount": 4, "embeddingsByType": {"float": vector}}
    ).encode()


# --- Titan V2 bodies -----------------------------------------------------------------------------


def test_titan_request_asks_for_one_normalized_vector_of_the_configured_size() -> None:
    body = json.loads(embedding_request("kill the webhook on my repo", 512))

    assert body == {"inputText": "kill the webhook on my repo", "dimensions": 512, "normalize": True}


def test_titan_answer_is_read_as_its_vector() -> None:
    vector = [0.5, -0.25, 0.0, 1]

    assert embedding_from_response(_titan_answer(vector), 4) == [0.5, -0.25, 0.0, 1.0]


@pytest.mark.parametrize(
    "body",
    [
        b"{}",  # what moto answers
        b"not json",
        b"[0.1, 0.2]",
        _titan_answer([0.1, 0.2, 0.3]),  # another size than asked for
        _titan_answer(["0.1", "0.2", "0.3", "0.4"]),
        _titan_answer([True, False, True, False]),
        b'{"embedding": [NaN, 0.1, 0.2, 0.3]}',
        b'{"embedding": [Infinity, 0.1, 0.2, 0.3]}',
    ],
)
def test_titan_answer_without_a_whole_finite_vector_is_a_typed_error_never_a_bad_vector(body: bytes) -> None:
    with pytest.raises(BedrockEmbeddingError) as raised:
        embedding_from_response(body, 4)

    assert raised.value.code == "SEARCH_EMBEDDINGS_UNAVAILABLE"
    assert raised.value.http_status == 503


# --- One embedder per index ----------------------------------------------------------------------


def test_bedrock_embedder_names_its_model_and_size_apart_from_the_offline_model() -> None:
    small, large = BedrockEmbedder(None, TITAN, 512, 4), BedrockEmbedder(None, TITAN, 1024, 4)

    assert len({small.model_id, large.model_id, OfflineEmbedder().model_id}) == 3
    assert (small.dimensions, large.dimensions) == (512, 1024)


def test_an_offline_index_is_refused_as_unsupported_by_the_bedrock_embedder() -> None:
    offline_index = build_index(CATALOG)

    with pytest.raises(SearchIndexVersionError) as raised:
        load_index(offline_index, embedder=BedrockEmbedder(None, TITAN, 512, 4))

    assert raised.value.code == "SEARCH_INDEX_UNSUPPORTED"
    assert "rebuild" in raised.value.message


def test_an_index_of_another_embedder_is_refused_by_the_offline_model_and_searched_by_its_own() -> None:
    other = DigestEmbedder()
    data = build_index(CATALOG, embedder=other)

    with pytest.raises(SearchIndexVersionError):
        load_index(data)
    with pytest.raises(SearchIndexVersionError):
        load_index(data, embedder=DigestEmbedder(dimensions=256))
    hits = load_index(data, embedder=other).search("delete a repository webhook", 3)
    assert hits[0].name == "repos_delete_webhook"
    assert other.embedded[-1] == "delete a repository webhook", "the query is embedded by the same embedder"


def test_stored_vectors_of_another_embedder_are_never_mixed_into_an_index() -> None:
    offline_vectors = embed_tools(CATALOG)
    other = DigestEmbedder()

    build_index(CATALOG, stored_vectors=[offline_vectors], embedder=other)

    assert len(other.embedded) == len(CATALOG), "every tool embedded afresh by the index's own embedder"


# --- Selection by setting ------------------------------------------------------------------------


def test_search_embeddings_setting_selects_the_offline_model_by_default_and_bedrock_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    get_search_settings.cache_clear()
    try:
        assert isinstance(configured_embedder(get_search_settings()), OfflineEmbedder)

        monkeypatch.setenv("TOOLGATE_SEARCH_EMBEDDINGS", "bedrock")
        monkeypatch.setenv("TOOLGATE_SEARCH_BEDROCK_DIMENSIONS", "1024")
        get_search_settings.cache_clear()
        embedder = configured_embedder(get_search_settings())
    finally:
        get_search_settings.cache_clear()

    assert isinstance(embedder, BedrockEmbedder)
    assert (embedder.model_id, embedder.dimensions) == (f"bedrock:{TITAN}:1024", 1024)


@pytest.mark.parametrize("fields", [{"bedrock_dimensions": 384}, {"embeddings": "openai"}])
def test_an_embedder_titan_v2_cannot_serve_is_refused_at_startup(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"bedrock_dimensions|embeddings"):
        SearchSettings.model_validate(fields)
