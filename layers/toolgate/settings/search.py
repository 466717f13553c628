"""Tool search for agents (issue 15)."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic then
# skips parsing each one from a string, a third of a model's cold-start cost (issue 16).

from functools import lru_cache
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from toolgate.settings.base import EnvironmentSettings

#: The output sizes Titan Text Embeddings V2 accepts (`dimensions`).
TITAN_V2_DIMENSIONS = frozenset({256, 512, 1024})


class SearchSettings(EnvironmentSettings):
    """Tool search for agents (`toolgate_search_tools`, the listing's `?query=`; `TOOLGATE_SEARCH_*`)."""

    env_prefix: ClassVar[str] = "TOOLGATE_SEARCH_"

    #: The search function's name (set by the stack on the functions that call it); None: no search here.
    function_name: str | None = None
    #: An assistant with more tools than this is listed as its pinned tools plus `toolgate_search_tools`.
    threshold: int = Field(default=40, ge=0)
    #: The most tools one search returns; a larger `limit` is clamped to it (each is a full definition).
    max_results: int = Field(default=20, ge=1, le=50)
    #: Results when the caller gives no `limit`.
    default_results: int = Field(default=5, ge=1, le=50)
    #: Loaded assistant indexes a warm search function keeps, least recently used dropped first.
    index_cache_entries: int = Field(default=16, ge=1, le=256)

    # --- Bedrock embeddings (issue 15, slice bedrock) ---
    #: The semantic stage's embedder: the offline model in the search layer, or Bedrock's
    #: (`-c toolgate:embeddings=bedrock` sets it and grants `bedrock:InvokeModel` on `bedrock_model_id`).
    embeddings: Literal["offline", "bedrock"] = "offline"
    #: A Titan Text Embeddings V2 model id: its request and response bodies are the ones the adapter speaks.
    bedrock_model_id: str = Field(default="amazon.titan-embed-text-v2:0", min_length=1, max_length=200)
    #: The vector size: Titan V2 accepts 256, 512 or 1024.
    bedrock_dimensions: int = 512
    #: Concurrent InvokeModel requests while an upload embeds its tools (one request per tool).
    bedrock_concurrency: int = Field(default=8, ge=1, le=32)

    @model_validator(mode="after")
    def _titan_dimensions(self) -> Self:
        if self.bedrock_dimensions not in TITAN_V2_DIMENSIONS:
            raise ValueError(f"bedrock_dimensions must be one of {sorted(TITAN_V2_DIMENSIONS)}")
        return self


@lru_cache(maxsize=1)
def get_search_settings() -> SearchSettings:
    return SearchSettings()
