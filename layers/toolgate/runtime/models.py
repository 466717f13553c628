"""Runtime values passed between the pure domain (request building) and the HTTP adapter."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple


class HttpRequest(NamedTuple):
    """An outbound request, fully built from a tool call. Credentials are added by the adapter.

    Built by our own code only, never validated from input, so a NamedTuple (cheap to define at cold start)
    rather than a pydantic model; `_replace` returns a changed copy."""

    method: str
    #: Absolute URL with the query string already encoded.
    url: str
    #: Empty by default, and read-only: a changed request is a copy with its own headers.
    headers: Mapping[str, str] = MappingProxyType({})
    body: bytes | None = None
    #: Safe to retry: an idempotent method, or an idempotency key the spec declares was set.
    retryable: bool = False
