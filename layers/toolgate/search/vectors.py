"""Vectors as the index stores and ranks them (numpy only, whichever embedder made them)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]


def vectors_to_bytes(vectors: Matrix) -> bytes:
    """Rows as little-endian float16: half the bytes (with the offline model, no ranking changed)."""
    return vectors.astype("<f2").tobytes()


def vectors_from_bytes(data: bytes, rows: int, dimensions: int) -> Matrix:
    return np.frombuffer(data, dtype="<f2").astype(np.float32).reshape(rows, dimensions)


def nearest(vectors: Matrix, query: Matrix, depth: int) -> list[int]:
    """Rows by cosine to the (unit) query, best first, at most `depth`; ties in row order."""
    scores = vectors @ query
    depth = min(depth, len(scores))
    if depth == 0:
        return []
    top = np.argpartition(-scores, depth - 1)[:depth]
    return sorted(top.tolist(), key=lambda i: (-float(scores[i]), i))
