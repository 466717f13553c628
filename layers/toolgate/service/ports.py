"""What the domain needs from storage, as protocols. Each object is bound to one tenant when it is made,
so no method takes a tenant id: a tenant's resources cannot name another tenant's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from toolgate.service.limits import LimiterStore
from toolgate.service.models import (
    ApiKeyRecord,
    AssistantRecord,
    IntegrationRecord,
    StoredTool,
    TenantRecord,
)


class TenantStore(Protocol):
    """The tenant's rows. `save_*` writes only if the stored version is `expected_version`
    (None: only if absent) and raises ConflictError (or AlreadyExistsError) otherwise."""

    @property
    def tenant_id(self) -> str: ...

    def create_tenant(self, record: TenantRecord) -> None: ...

    def get_integration(self, integration_id: str) -> IntegrationRecord | None: ...

    def list_integrations(self) -> list[IntegrationRecord]: ...

    def save_integration(self, record: IntegrationRecord, expected_version: int | None) -> None: ...

    def delete_integration(self, integration_id: str, expected_version: int) -> None: ...

    def put_tools(self, tools: Sequence[StoredTool]) -> None: ...

    def list_tools(self, integration_id: str, revision: str) -> list[StoredTool]: ...

    def get_tool(self, integration_id: str, revision: str, name: str) -> StoredTool | None: ...

    def delete_tools(self, integration_id: str, revision: str) -> None: ...

    def get_assistant(self, assistant_id: str) -> AssistantRecord | None: ...

    def list_assistants(self) -> list[AssistantRecord]: ...

    def save_assistant(self, record: AssistantRecord, expected_version: int | None) -> None: ...

    def delete_assistant(self, assistant_id: str, expected_version: int) -> None: ...

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...

    def list_api_keys(self) -> list[ApiKeyRecord]: ...

    def save_api_key(self, record: ApiKeyRecord, expected_version: int | None) -> None: ...


class ObjectStore(Protocol):
    """The tenant's S3 prefixes: uploads under `tenants/{tenant}/`, artifacts under
    `artifacts/tenants/{tenant}/`. Keys outside them are refused before any call."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def read_upload(self, key: str, version_id: str | None, max_bytes: int) -> bytes | None:
        """The object's bytes, None when it does not exist; SpecTooLargeError past `max_bytes`."""
        ...

    def delete_prefix(self, prefix: str) -> None: ...

    def presign_put(self, key: str, expires_in: int) -> str: ...


class CredentialStore(Protocol):
    """The tenant's credentials in Secrets Manager, by slot (an integration id)."""

    def secret_name(self, slot: str) -> str: ...

    def put(self, slot: str, secret_json: str) -> None: ...

    def get(self, slot: str) -> str | None: ...

    def delete(self, slot: str) -> None: ...


@dataclass(frozen=True, slots=True)
class TenantResources:
    tenant_id: str
    store: TenantStore
    objects: ObjectStore
    credentials: CredentialStore
    #: The tenant's limits and limiter row; None where no limits apply (tests, tools without a table).
    limits: LimiterStore | None = None


class ResourceProvider(Protocol):
    """Hands out a tenant's resources, reached with credentials scoped to that tenant."""

    def for_tenant(self, tenant_id: str) -> TenantResources: ...
