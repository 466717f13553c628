"""The semantic stage on Amazon Bedrock: Titan Text Embeddings V2 through `bedrock-runtime` InvokeModel.

One request per sentence (the model embeds one `inputText` at a time), at most `concurrency` at once.
Request: `{"inputText", "dimensions" (256, 512 or 1024), "normalize": true}`; response:
`{"embedding": [float, ...], "inputTextTokenCount", "embeddingsByType"}` (AWS's Bedrock user guide,
"Amazon Titan Embeddings G1 - Text", V2 request and response). Never tested against the real service:
moto answers InvokeModel with an empty body, so the tests cover the bodies as pure functions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from toolgate.adapters.aws.errors import error_code
from toolgate.adapters.aws.session import new_session
from toolgate.errors import BedrockEmbeddingError
from toolgate.search.embedding import OfflineEmbedder, TextEmbedder
from toolgate.search.vectors import Matrix
from toolgate.settings import SearchSettings

_JSON = "application/json"


def embedding_request(text: str, dimensions: int) -> bytes:
    """The InvokeModel body that embeds `text` as one unit vector of `dimensions` floats."""
    return json.dumps({"inputText": text, "dimensions": dimensions, "normalize": True}).encode()


def embedding_from_response(body: bytes, dimensions: int) -> list[float]:
    """The vector of an InvokeModel answer; BedrockEmbeddingError unless it is `dimensions` finite floats."""
    try:
        answer = json.loads(body)
    except ValueError:
        raise BedrockEmbeddingError("Bedrock answered something other than JSON; retry shortly.") from None
    embedding = answer.get("embedding") if isinstance(answer, dict) else None
    if (
        not isinstance(embedding, list)
        or len(embedding) != dimensions
        or not all(_finite_number(value) for value in embedding)
    ):
        raise BedrockEmbeddingError(
            f"Bedrock answered no embedding of {dimensions} numbers; check that the model is a Titan Text "
            "Embeddings V2 model (TOOLGATE_SEARCH_BEDROCK_MODEL_ID)."
        )
    return [float(value) for value in embedding]


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class BedrockEmbedder:
    """Sentences to unit vectors with a Bedrock embedding model (`TOOLGATE_SEARCH_EMBEDDINGS=bedrock`)."""

    def __init__(self, client: Any, model_id: str, dimensions: int, concurrency: int) -> None:
        self._client = client
        self._model = model_id
        self._dimensions = dimensions
        self._concurrency = concurrency

    @property
    def model_id(self) -> str:
        """As indexes record it: the offline model's indexes (and another size's) are refused and rebuilt."""
        return f"bedrock:{self._model}:{self._dimensions}"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def embed(self, sentences: Sequence[str]) -> Matrix:
        if len(sentences) <= 1:
            rows = [self._embed_one(sentence) for sentence in sentences]
        else:
            with ThreadPoolExecutor(min(self._concurrency, len(sentences))) as pool:
                rows = list(pool.map(self._embed_one, sentences))
        vectors = np.array(rows, dtype=np.float32).reshape(len(sentences), self._dimensions)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        result: Matrix = (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result

    def _embed_one(self, sentence: str) -> list[float]:
        try:
            response = self._client.invoke_model(
                modelId=self._model,
                body=embedding_request(sentence, self._dimensions),
                contentType=_JSON,
                accept=_JSON,
            )
            body = response["body"].read()
        except ClientError as error:
            code = error_code(error)
            hint = "retry shortly"
            if code == "AccessDeniedException":
                hint = "check the search function's bedrock:InvokeModel grant and the model's region"
            raise BedrockEmbeddingError(
                f"Bedrock refused to embed with model '{self._model}' ({code}); {hint}."
            ) from None
        except BotoCoreError as error:
            raise BedrockEmbeddingError(
                f"Bedrock could not be reached to embed ({type(error).__name__}); retry shortly."
            ) from None
        return embedding_from_response(body, self._dimensions)


def configured_embedder(settings: SearchSettings) -> TextEmbedder:
    """The search function's semantic stage, as `TOOLGATE_SEARCH_EMBEDDINGS` names it: the offline model,
    or Bedrock's with the function's own role (`bedrock:InvokeModel` on `bedrock_model_id`)."""
    if settings.embeddings == "offline":
        return OfflineEmbedder()
    client = new_session().client(
        "bedrock-runtime",
        config=Config(
            retries={"mode": "standard", "max_attempts": 4},
            max_pool_connections=settings.bedrock_concurrency,
        ),
    )
    return BedrockEmbedder(
        client, settings.bedrock_model_id, settings.bedrock_dimensions, settings.bedrock_concurrency
    )
