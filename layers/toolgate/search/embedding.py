"""The semantic stage's seam: what turns sentences into unit vectors.

An index records the `model_id` and `dimensions` of the embedder that built it; one built with another
embedder is refused on load (SearchIndexVersionError) and rebuilt. Two implementations: `OfflineEmbedder`
(all-MiniLM-L6-v2 in the process, the default) and `toolgate.adapters.aws.bedrock.BedrockEmbedder`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from toolgate.search.vectors import Matrix


class TextEmbedder(Protocol):
    """Sentences to unit vectors (float32, one row each, `dimensions` wide)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed(self, sentences: Sequence[str]) -> Matrix: ...


class OfflineEmbedder:
    """The offline model (`toolgate.search.semantic`), loaded on the first `embed`, once per process."""

    @property
    def model_id(self) -> str:
        from toolgate.search.semantic import model_id  # noqa: PLC0415

        return model_id()

    @property
    def dimensions(self) -> int:
        from toolgate.search.semantic import DIMENSIONS  # noqa: PLC0415

        return DIMENSIONS

    def embed(self, sentences: Sequence[str]) -> Matrix:
        from toolgate.search.semantic import embedder  # noqa: PLC0415

        return embedder().embed(sentences)
