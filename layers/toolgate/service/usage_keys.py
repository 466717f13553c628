"""Each tenant's API Gateway usage key: what API Gateway throttles a tenant's requests by, before Lambda.

The REST API takes its API keys from the authorizer (`apiKeySource: AUTHORIZER`): the authorizer returns
the tenant's key as `usageIdentifierKey`, and API Gateway applies the deployment's usage plan to it (the
per-tenant rate and burst), answering 429 itself over the limit. Clients never see or send this key, so
it is an identifier, not a credential: its value is derived from the deployment's table name and the
tenant id, and neither the authorizer nor the store has to keep it. The operator's bootstrap creates it
(`ensure_usage_key`); a tenant without one is refused by API Gateway with 403 USAGE_KEY_MISSING.

Pure: API Gateway is reached through `UsageKeyRegistry`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from toolgate.errors import UsageKeyError
from toolgate.service.ports import UsageKeyRegistry

_DOMAIN = b"toolgate-usage-key"


def usage_key_value(table_name: str, tenant_id: str) -> str:
    """The tenant's key value in the deployment whose table is `table_name`: 64 hex characters (API
    Gateway wants 20 to 128 alphanumerics, unique in the account and region)."""
    material = b"\0".join((_DOMAIN, table_name.encode("utf-8"), tenant_id.encode("utf-8")))
    return hashlib.sha256(material).hexdigest()


def usage_key_name(table_name: str, tenant_id: str) -> str:
    """The key's name as the API Gateway console lists it."""
    return f"toolgate-tenant-{tenant_id}-{usage_key_value(table_name, tenant_id)[:8]}"


def ensure_usage_key(registry: UsageKeyRegistry, table_name: str, tenant_id: str) -> str:
    """Create the tenant's usage key in the usage plan unless it is there already (idempotent); its id."""
    return registry.ensure_key(usage_key_name(table_name, tenant_id), usage_key_value(table_name, tenant_id))


class UsageKeyBackfill:
    """What `ensure_usage_keys` did: each tenant's key id, and each tenant API Gateway refused."""

    __slots__ = ("failures", "key_ids")

    def __init__(self) -> None:
        self.key_ids: dict[str, str] = {}
        self.failures: dict[str, UsageKeyError] = {}


def ensure_usage_keys(
    registry: UsageKeyRegistry, table_name: str, tenant_ids: Iterable[str]
) -> UsageKeyBackfill:
    """Give every tenant its usage key (after upgrading a deployment made before the usage plan existed).
    A refusal for one tenant is recorded and the others still get theirs; running it again is safe."""
    backfill = UsageKeyBackfill()
    for tenant_id in tenant_ids:
        try:
            backfill.key_ids[tenant_id] = ensure_usage_key(registry, table_name, tenant_id)
        except UsageKeyError as error:
            backfill.failures[tenant_id] = error
    return backfill
