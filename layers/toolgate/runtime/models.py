"""Runtime values passed between the pure domain (request building) and the HTTP adapter."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

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
