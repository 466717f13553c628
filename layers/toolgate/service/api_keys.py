"""Tenant API keys: `tg_{tenant}_{key_id}_{secret}`, shown once, stored only as a SHA-256 hash.

Keys carry 256 random bits, so a fast hash is right (no password stretching needed) and the comparison is
constant-time. A key names its tenant and key id, so verifying it is one read of one item.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import NamedTuple

from toolgate.errors import ApiKeyInvalidError, ApiKeyRevokedError, NotFoundError
from toolgate.service.models import ApiKeyRecord, TenantRecord, utc_now
from toolgate.service.ports import ApiKeyReader, TenantStore, UsageKeyRegistry
from toolgate.service.tenancy import Role, TenantContext, is_key_id
from toolgate.service.usage_keys import ensure_usage_key

KEY_PREFIX = "tg"
_KEY = re.compile(r"^tg_(?P<tenant>[a-z0-9-]{1,63})_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")
_BEARER = re.compile(r"^bearer\s+", re.IGNORECASE)


class IssuedKey(NamedTuple):
    """A new key: `key` is shown to its owner once and never stored."""

    key: str
    record: ApiKeyRecord

    def __repr__(self) -> str:
        # The key itself is shown to its owner once, never in a log or an error.
        return f"IssuedKey(record={self.record!r})"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_key(tenant_id: str, role: Role, principal: str, now: datetime) -> IssuedKey:
    key_id = secrets.token_hex(8)
    key = f"{KEY_PREFIX}_{tenant_id}_{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKeyRecord(
        key_id=key_id,
        key_hash=hash_key(key),
        role=role,
        principal=principal,
        created_at=now,
    )
    return IssuedKey(key=key, record=record)


def parse_key(presented: str) -> tuple[str, str] | None:
    """(tenant id, key id) of a well-formed key, optionally given as `Bearer <key>`; None otherwise."""
    match = _KEY.fullmatch(_BEARER.sub("", presented.strip(), count=1))
    return (match["tenant"], match["key_id"]) if match else None


def authenticate(presented: str, reader: ApiKeyReader) -> TenantContext:
    """The tenant context of a valid, unrevoked key; API_KEY_INVALID otherwise, without saying why."""
    token = _BEARER.sub("", presented.strip(), count=1)
    parsed = parse_key(token)
    if parsed is None:
        raise ApiKeyInvalidError("The API key is not valid.")
    tenant_id, key_id = parsed
    record = reader.get_api_key(tenant_id, key_id)
    if record is None or record.revoked or not hmac.compare_digest(record.key_hash, hash_key(token)):
        raise ApiKeyInvalidError("The API key is not valid.")
    return TenantContext(tenant_id=tenant_id, role=record.role, principal=record.principal, key_id=key_id)


def require_live_key(store: TenantStore, caller: TenantContext) -> None:
    """Refuse a caller whose key is revoked (or gone) now, by a consistent read of its row.

    API Gateway keeps serving the authorizer's cached Allow for a key after it is revoked, so the
    functions run this before each request's work: a revocation holds from the moment it is written.
    """
    record = store.get_api_key(caller.key_id) if caller.key_id else None
    if record is None or record.revoked:
        raise ApiKeyRevokedError(
            "This API key has been revoked; nothing was done. Ask a tenant admin for a new key."
        )


def create_api_key(store: TenantStore, role: Role, principal: str) -> IssuedKey:
    """Issue a key for the store's tenant and save its hash."""
    issued = issue_key(store.tenant_id, role, principal, utc_now())
    store.save_api_key(issued.record, expected_version=None)
    return issued


def revoke_api_key(store: TenantStore, key_id: str) -> ApiKeyRecord:
    """Mark a key revoked (it stays listed). The functions refuse it from the next request on
    (`require_live_key`); the authorizer refuses it once API Gateway's cached Allow expires."""
    record = store.get_api_key(key_id) if is_key_id(key_id) else None
    if record is None:
        raise NotFoundError(f"No API key '{key_id[:40]}'.")
    if record.revoked:
        return record
    revoked = record.model_copy(
        update={"revoked": True, "revoked_at": utc_now(), "version": record.version + 1}
    )
    store.save_api_key(revoked, expected_version=record.version)
    return revoked


def bootstrap_tenant(
    store: TenantStore, principal: str, usage_keys: UsageKeyRegistry, table_name: str
) -> IssuedKey:
    """Create the store's tenant, its API Gateway usage key and its first admin key; ALREADY_EXISTS if
    the tenant exists.

    The usage key comes first: it is idempotent and holds no tenant data, so when API Gateway refuses,
    nothing is written and the bootstrap can simply be run again. Without it API Gateway would refuse
    every request of the tenant (USAGE_KEY_MISSING)."""
    ensure_usage_key(usage_keys, table_name, store.tenant_id)
    store.create_tenant(TenantRecord(tenant_id=store.tenant_id, created_at=utc_now()))
    return create_api_key(store, Role.ADMIN, principal)
