"""Keep credential values out of results, error text and logs.

A Redactor knows the secrets of one call and replaces them, in every form they travel in (raw,
percent-encoded as in a query string, JSON-escaped), with a fixed marker. The adapter publishes the
current call's Redactor in a context variable so its log filter can scrub third-party log records too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote, quote_plus

MARKER = "[REDACTED]"

#: Characters RFC 3986 lets through unescaped in a query value; clients differ, so each form is scrubbed.
_QUERY_SAFE = "/:@!$&'()*+,;=?"


class Redactor:
    """Replaces known secret values, in the forms they are sent in, with `[REDACTED]`."""

    __slots__ = ("_forms",)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms: list[str] = []
        self.add_all(secrets)

    def add(self, secret: str) -> None:
        if not secret:
            return
        forms = {
            secret,
            quote(secret, safe=""),
            quote(secret, safe=_QUERY_SAFE),
            quote_plus(secret, safe=""),
            json.dumps(secret)[1:-1],
        }
        self._forms = sorted(set(self._forms) | forms, key=len, reverse=True)

    def add_all(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            self.add(secret)

    def redact(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MARKER)
        return text

    def redact_value(self, value: Any) -> Any:
        """`value` (parsed JSON) with every string, and every object key, redacted."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_value(item) for item in value]
        if isinstance(value, dict):
            return {self.redact(str(key)): self.redact_value(item) for key, item in value.items()}
        return value


#: The Redactor of the call running in this context; None outside a call.
CURRENT_REDACTOR: ContextVar[Redactor | None] = ContextVar("toolgate_current_redactor", default=None)
