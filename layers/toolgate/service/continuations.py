"""Long results kept whole in S3 behind random, expiring continuation handles, and read page by page.

Loaded by the first call whose result is too long for one answer, or the first continuation read: a call
with a short result loads none of it (issue 16, cold start).
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import math
import re
import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from toolgate.errors import ContinuationPageInvalidError
from toolgate.service.ports import ResultPages

#: Continuation handles: 32 URL-safe characters (24 random bytes).
CONTINUATION_HANDLE = re.compile(r"^[A-Za-z0-9_-]{32}$")
CONTINUATION_HANDLE_BYTES = 24


class StoredContinuation(BaseModel):
    """A large result kept in S3 for paging."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    assistant_id: str
    tool: str
    created_at: datetime
    expires_at: datetime
    page_chars: int
    #: The whole body: JSON text when the API answered JSON, its text otherwise.
    text: str

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.text) / self.page_chars))


def keep_result(
    results: ResultPages,
    *,
    assistant_id: str,
    tool: str,
    text: str,
    now: datetime,
    lifetime_seconds: int,
    page_chars: int,
) -> tuple[str, StoredContinuation]:
    """Keep `text` whole in S3 behind a new random handle, for `lifetime_seconds`; the handle and what was
    kept. Errors of the store pass through."""
    stored = StoredContinuation(
        assistant_id=assistant_id,
        tool=tool,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime_seconds),
        page_chars=page_chars,
        text=text,
    )
    handle = secrets.token_urlsafe(CONTINUATION_HANDLE_BYTES)
    results.put(handle, stored.model_dump_json().encode())
    return handle, stored


class ContinuationPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    handle: str
    page: int
    pages: int
    #: This page of the body's text (JSON text is cut between characters, not between values).
    body: str
    next_page: int | None
    expires_at: datetime


def continuation_page(stored: StoredContinuation, handle: str, page: int) -> ContinuationPage:
    """Page `page` (from 0) of the result kept behind `handle`."""
    if not 0 <= page < stored.pages:
        raise ContinuationPageInvalidError(
            f"Continuation '{handle}' has pages 0 to {stored.pages - 1}; page {page} does not exist.",
            details={"pages": stored.pages},
        )
    start = page * stored.page_chars
    return ContinuationPage(
        handle=handle,
        page=page,
        pages=stored.pages,
        body=stored.text[start : start + stored.page_chars],
        next_page=page + 1 if page + 1 < stored.pages else None,
        expires_at=stored.expires_at,
    )
