"""A new API key is shown to its owner once: the record kept for it holds only its hash."""

from __future__ import annotations

from datetime import UTC, datetime

from toolgate.service.api_keys import hash_key, issue_key
from toolgate.service.tenancy import Role


def test_an_issued_keys_repr_never_shows_the_key() -> None:
    # IssuedKey is a NamedTuple (cheap to define at cold start), whose own repr would show every field.
    issued = issue_key("acme", Role.ADMIN, "ana", datetime(2026, 12, 6, tzinfo=UTC))
    assert issued.record.key_hash == hash_key(issued.key)
    for shown in (repr(issued), str(issued)):
        assert issued.key not in shown
        assert issued.record.key_id in shown
