"""An embedder behind toolgate.search's seam for tests in every suite: deterministic, and it records what
it was asked to embed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from toolgate.search.vectors import Matrix

TITAN = "amazon.titan-embed-text-v2:0"


class DigestEmbedder:
    """A stand-in for another embedder behind the seam (not an AWS API): a sentence's sha256 as its
    vector, so it is deterministic and counts what it is asked to embed."""

    def __init__(self, model_id: str = f"bedrock:{TITAN}:512", dimensions: int = 512) -> None:
        self.model_id = model_id
        self.dimensions = dimensions
        self.embedded: list[str] = []

    def embed(self, sentences: Sequence[str]) -> Matrix:
        self.embedded.extend(sentences)
        rows = [
            np.resize(np.frombuffer(hashlib.sha256(s.encode()).digest(), np.uint8), self.dimensions)
            for s in sentences
        ]
        vectors = np.array(rows, dtype=np.float32).reshape(len(sentences), self.dimensions) + 1.0
        result: Matrix = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return result
