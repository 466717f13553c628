"""Runtime values passed between the pure domain (request building) and the HTTP adapter."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HttpRequest(BaseModel):
    """An outbound request, fully built from a tool call. Credentials are added by the adapter."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    method: str
    #: Absolute URL with the query string already encoded.
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: bytes | None = None
    #: Safe to retry: an idempotent method, or an idempotency key the spec declares was set.
    retryable: bool = False
