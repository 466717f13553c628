"""Long results kept whole in S3 behind random, expiring continuation handles, and read page by page."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import math
import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict

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
