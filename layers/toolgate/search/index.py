"""The index bytes (what is stored per assistant version) and the search over them.

Layout, all integers little-endian:

    b"TGSEARCH" | u32 format version | u32 header length | header (JSON, sorted keys)
    | FTS5 database (sqlite3 serialize) | tool vectors (float16, tools x dimensions) | sha256 of all before

The header names the tools in order (FTS5 row i + 1 and vector row i are tool i), the embedder the vectors
came from (its model id and dimensions: an index is searched only with the embedder that built it), and
the two blobs' lengths. Every field is checked on load: corrupt or foreign bytes
raise SearchIndexError, an unknown format or model SearchIndexVersionError; never an empty result.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from toolgate.errors import SearchIndexError, SearchIndexVersionError, SearchQueryInvalidError
from toolgate.search.lexical import LexicalIndex, build_database
from toolgate.search.text import MAX_QUERY_CHARS, clean_query, query_words, tool_text
from toolgate.spec.models import CanonicalTool

if TYPE_CHECKING:
    from toolgate.search.embedding import TextEmbedder
    from toolgate.search.vectors import Matrix

MAGIC = b"TGSEARCH"
#: Tool vectors stored per integration revision (`embed_tools`), reused by `build_index`.
VECTORS_MAGIC = b"TGVECTOR"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sII")
_DIGEST_BYTES = 32
#: The most hits one search returns; a larger limit is capped to it.
MAX_LIMIT = 50
#: How deep each stage's ranking goes before fusion.
CANDIDATES = 100
#: Reciprocal rank fusion: score = sum over stages of weight / (k + rank). The lexical stage counts half:
#: on the TUNE split (never the held-out one) that gave recall@5 0.607 against 0.554 for equal weights.
RRF_K = 60
LEXICAL_WEIGHT = 0.5
SEMANTIC_WEIGHT = 1.0
#: How many fused hits a re-ranking stage (when one is given) reorders.
RERANK_DEPTH = 50
#: How much of a tool's description (characters, after its title) the semantic stage embeds. None: on the
#: TUNE split the title and name alone ranked better (semantic recall@5 0.607 against 0.554 with 300
#: characters), and embed five times faster.
DESCRIPTION_CHARS = 0


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One tool found. `score`: higher is better, comparable only within one result list."""

    name: str
    score: float


#: The seam for a re-ranking stage (e.g. a cross-encoder or a hosted rerank model): it receives the query
#: and the fused top RERANK_DEPTH hits, and returns them (or a subset) in its own order.
Reranker = Callable[[str, Sequence[SearchHit]], list[SearchHit]]


class Stage(StrEnum):
    """Which ranking `search` returns: the fused one (the product), or one stage alone (the bench)."""

    FUSED = "fused"
    LEXICAL = "lexical"
    SEMANTIC = "semantic"


def _default(embedder: TextEmbedder | None) -> TextEmbedder:
    from toolgate.search.embedding import OfflineEmbedder  # noqa: PLC0415

    return embedder if embedder is not None else OfflineEmbedder()


def embed_tools(tools: Sequence[CanonicalTool], *, embedder: TextEmbedder | None = None) -> bytes:
    """The semantic stage's vectors of these tools, as bytes to store beside them (per integration
    revision, at upload): `build_index` reuses them instead of embedding the tools again.
    `embedder`: the offline model unless given."""
    from toolgate.search.vectors import vectors_to_bytes  # noqa: PLC0415

    model = _default(embedder)
    vectors = model.embed([tool_text(tool).sentence(DESCRIPTION_CHARS) for tool in tools])
    vector_bytes = vectors_to_bytes(vectors)
    header = {
        "model": model.model_id,
        "dimensions": model.dimensions,
        "tools": [tool.name for tool in tools],
        "text": [_sentence_digest(tool) for tool in tools],
        "vector_bytes": len(vector_bytes),
    }
    return _sealed(VECTORS_MAGIC, header, vector_bytes)


def build_index(
    tools: Sequence[CanonicalTool],
    *,
    stored_vectors: Sequence[bytes] = (),
    embedder: TextEmbedder | None = None,
) -> bytes:
    """The search index of these tools, as bytes; the same tools give the same bytes.

    `stored_vectors`: `embed_tools` outputs (e.g. one per integration revision); a tool whose vector is
    there, for the same text and model, is not embedded again. Unusable vector bytes (corrupt, another
    model or format) are ignored: those tools are embedded afresh. `embedder`: the offline model unless
    given; the index records its model id, and only that embedder may search it.
    """
    import numpy as np  # noqa: PLC0415

    from toolgate.search.vectors import vectors_to_bytes  # noqa: PLC0415

    model = _default(embedder)
    texts = [tool_text(tool) for tool in tools]
    reusable = _reusable_vectors(stored_vectors, model.model_id, model.dimensions)
    vectors = np.zeros((len(tools), model.dimensions), dtype=np.float32)
    missing: list[int] = []
    for position, tool in enumerate(tools):
        row = reusable.get((tool.name, _sentence_digest(tool)))
        if row is None:
            missing.append(position)
        else:
            vectors[position] = row
    if missing:
        vectors[missing] = model.embed([texts[i].sentence(DESCRIPTION_CHARS) for i in missing])
    database = build_database(texts)
    vector_bytes = vectors_to_bytes(vectors)
    header = {
        "model": model.model_id,
        "dimensions": model.dimensions,
        "tools": [tool.name for tool in tools],
        "lexical_bytes": len(database),
        "vector_bytes": len(vector_bytes),
    }
    return _sealed(MAGIC, header, database + vector_bytes)


def _sealed(magic: bytes, header: dict[str, Any], blobs: bytes) -> bytes:
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    body = _PREFIX.pack(magic, FORMAT_VERSION, len(header_bytes)) + header_bytes + blobs
    return body + hashlib.sha256(body).digest()


def _sentence_digest(tool: CanonicalTool) -> str:
    """What of the tool was embedded, hashed: a stored vector is reused only for the same text."""
    sentence = tool_text(tool).sentence(DESCRIPTION_CHARS)
    return hashlib.sha256(sentence.encode()).hexdigest()[:16]


def _reusable_vectors(stored: Sequence[bytes], model: str, dimensions: int) -> dict[tuple[str, str], Matrix]:
    """(tool name, sentence digest) to its stored vector, from every usable `embed_tools` output."""
    from toolgate.search.vectors import vectors_from_bytes  # noqa: PLC0415

    rows: dict[tuple[str, str], Matrix] = {}
    for data in stored:
        try:
            header, blob = _unpack_vectors(data)
        except SearchIndexError:
            continue
        names, digests = header["tools"], header["text"]
        if header["model"] != model or header["dimensions"] != dimensions:
            continue
        if len(blob) != len(names) * dimensions * 2 or len(digests) != len(names):
            continue
        matrix = vectors_from_bytes(blob, len(names), dimensions)
        for position, (name, digest) in enumerate(zip(names, digests, strict=True)):
            rows[(str(name), str(digest))] = matrix[position]
    return rows


def _unpack_vectors(data: bytes) -> tuple[dict[str, Any], bytes]:
    header, body = _checked(data, VECTORS_MAGIC)
    if not isinstance(header.get("tools"), list) or not isinstance(header.get("text"), list):
        raise SearchIndexError("The stored tool vectors' header is unreadable.")
    return header, body


def load_index(
    data: bytes, *, reranker: Reranker | None = None, embedder: TextEmbedder | None = None
) -> SearchIndex:
    """The index these bytes hold; SearchIndexError when they are not a whole, sound index, and
    SearchIndexVersionError when `embedder` (the offline model unless given) did not build it."""
    header, database, vector_bytes = _unpack(data)
    from toolgate.search.vectors import vectors_from_bytes  # noqa: PLC0415

    model = _default(embedder)
    if header["model"] != model.model_id or header["dimensions"] != model.dimensions:
        raise SearchIndexVersionError(
            f"The search index was built with embedding model '{header['model']}' "
            f"({header['dimensions']} dimensions), not the one configured ('{model.model_id}', "
            f"{model.dimensions}); rebuild it from the assistant's tools."
        )
    names: list[str] = header["tools"]
    if len(vector_bytes) != len(names) * model.dimensions * 2:
        raise SearchIndexError("The search index's vectors do not match its tools; rebuild it.")
    vectors = vectors_from_bytes(vector_bytes, len(names), model.dimensions)
    try:
        lexical = LexicalIndex(database)
        lexical.check(len(names))
    except sqlite3.Error as error:
        raise SearchIndexError(
            f"The search index's lexical database is unreadable ({type(error).__name__}); rebuild it."
        ) from error
    return SearchIndex(names, lexical, vectors, reranker, model)


def _unpack(data: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    header, blobs = _checked(data, MAGIC)
    try:
        names = header["tools"]
        lexical_end = int(header["lexical_bytes"])
        vector_end = lexical_end + int(header["vector_bytes"])
        valid = (
            isinstance(names, list)
            and isinstance(header["dimensions"], int)
            and int(header["lexical_bytes"]) >= 0
            and int(header["vector_bytes"]) >= 0
            and all(isinstance(name, str) for name in names)
            and len(set(names)) == len(names)
            and isinstance(header["model"], str)
            and vector_end == len(blobs)
        )
    except (ValueError, KeyError, TypeError) as error:
        raise SearchIndexError("The search index's header is unreadable; rebuild it.") from error
    if not valid:
        raise SearchIndexError("The search index's header does not describe its contents; rebuild it.")
    return header, blobs[:lexical_end], blobs[lexical_end:vector_end]


def _checked(data: bytes, magic: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and what follows it, once magic, format version and checksum are checked."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SearchIndexError("A search index is bytes.")
    data = bytes(data)
    if len(data) < _PREFIX.size + _DIGEST_BYTES or not data.startswith(magic):
        raise SearchIndexError("These bytes are not a Toolgate search index; rebuild it.")
    _, version, header_length = _PREFIX.unpack_from(data)
    if version != FORMAT_VERSION:
        raise SearchIndexVersionError(
            f"The search index is in format {version}; this Toolgate reads format {FORMAT_VERSION}. "
            "Rebuild it from the assistant's tools."
        )
    body, digest = data[:-_DIGEST_BYTES], data[-_DIGEST_BYTES:]
    if hashlib.sha256(body).digest() != digest:
        raise SearchIndexError("The search index is corrupt (its checksum does not match); rebuild it.")
    start = _PREFIX.size
    try:
        header = json.loads(body[start : start + header_length])
    except ValueError as error:
        raise SearchIndexError("The search index's header is unreadable; rebuild it.") from error
    if not isinstance(header, dict):
        raise SearchIndexError("The search index's header is unreadable; rebuild it.")
    return header, body[start + header_length :]


class SearchIndex:
    """One assistant version's tools, searchable. Safe to share between threads."""

    def __init__(
        self,
        names: list[str],
        lexical: LexicalIndex,
        vectors: Matrix,
        reranker: Reranker | None,
        embedder: TextEmbedder,
    ) -> None:
        self.names = names
        self._lexical = lexical
        self._vectors = vectors
        self._reranker = reranker
        self._embedder = embedder

    def __len__(self) -> int:
        return len(self.names)

    def search(self, query: str, limit: int, *, stage: Stage = Stage.FUSED) -> list[SearchHit]:
        """The tools best matching `query`, best first, at most `limit` (capped at MAX_LIMIT)."""
        if not isinstance(query, str):
            raise SearchQueryInvalidError("The search query must be text.")
        text = clean_query(query)
        if not text:
            raise SearchQueryInvalidError("The search query is empty; describe the tool you need in words.")
        if len(query) > MAX_QUERY_CHARS:
            raise SearchQueryInvalidError(
                f"The search query is {len(query):,} characters; the most is {MAX_QUERY_CHARS:,}. "
                "Describe the tool you need in a sentence."
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise SearchQueryInvalidError(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
        limit = min(limit, MAX_LIMIT)
        if not self.names:
            return []
        rankings: list[tuple[float, list[int]]] = []
        if stage in (Stage.FUSED, Stage.LEXICAL):
            rankings.append((LEXICAL_WEIGHT, self._lexical.rank(query_words(text), CANDIDATES)))
        if stage in (Stage.FUSED, Stage.SEMANTIC):
            rankings.append((SEMANTIC_WEIGHT, self._semantic_rank(text, CANDIDATES)))
        hits = self._fused(rankings)
        if self._reranker is not None and stage is Stage.FUSED:
            hits = self._reranker(text, hits[:RERANK_DEPTH])
        return hits[:limit]

    def _semantic_rank(self, text: str, depth: int) -> list[int]:
        from toolgate.search.vectors import nearest  # noqa: PLC0415

        return nearest(self._vectors, self._embedder.embed([text])[0], depth)

    def _fused(self, rankings: list[tuple[float, list[int]]]) -> list[SearchHit]:
        scores: dict[int, float] = {}
        for weight, ranking in rankings:
            for rank, position in enumerate(ranking, start=1):
                scores[position] = scores.get(position, 0.0) + weight / (RRF_K + rank)
        ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return [SearchHit(self.names[position], score) for position, score in ordered]
