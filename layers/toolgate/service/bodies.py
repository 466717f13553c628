"""Reading a JSON request body that anyone may have written: a typed refusal, never a RecursionError."""

from __future__ import annotations

import json
from typing import Any

from toolgate.errors import RequestBodyTooDeepError

#: The management API's bodies (keys, integrations, settings, credentials, assistants) are a few levels
#: deep; nothing it reads comes near this.
MAX_BODY_DEPTH = 32


def parse_json_body(text: str) -> Any:
    """The body's JSON value. Invalid JSON raises `json.JSONDecodeError` (the caller's to report); JSON
    nested deeper than `MAX_BODY_DEPTH` raises REQUEST_BODY_TOO_DEEP."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    if _nests_deeper_than(value, MAX_BODY_DEPTH):
        raise _too_deep()
    return value


def _nests_deeper_than(value: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep() -> RequestBodyTooDeepError:
    return RequestBodyTooDeepError(
        f"The JSON body nests deeper than {MAX_BODY_DEPTH} levels; this API reads no body that deep. "
        "Nothing was done."
    )
