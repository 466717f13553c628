"""Every port of the service domain: what it needs from AWS, as protocols that `toolgate.adapters.aws`
implements with boto3. Each object is bound to one tenant when it is made, so no method takes a tenant id
(the authorizer's `ApiKeyReader` and the service's `JobExecutions` excepted): a tenant's resources cannot
name another tenant's data.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from toolgate.service.models import (
    ApiKeyRecord,
    AssistantRecord,
    IntegrationRecord,
    StoredTool,
    TenantRecord,
)

if TYPE_CHECKING:  # these records' modules use the ports themselves
    from toolgate.service.invoke import AuditRecord
    from toolgate.service.jobs.records import JobRecord
    from toolgate.service.limits import Admission, LimiterRow, LimitsRecord, TenantLimiter

# --- Tenants, their integrations, assistants and keys -------------------------------------------


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

    def delete_prefix(self, prefix: str, *, keep: Collection[str] = ()) -> None:
        """Delete every object under `prefix` but the keys in `keep`."""
        ...

    def presign_put(self, key: str, expires_in: int) -> str: ...


class CredentialStore(Protocol):
    """The tenant's credentials in Secrets Manager, by slot (an integration id)."""

    def secret_name(self, slot: str) -> str: ...

    def put(self, slot: str, secret_json: str) -> None: ...

    def get(self, slot: str) -> str | None: ...

    def delete(self, slot: str) -> None: ...


class LimiterStore(Protocol):
    """The tenant's limiter row and its own limits, in the tenant's partition."""

    def read_limits(self) -> LimitsRecord | None: ...

    def save_limits(self, record: LimitsRecord, expected_version: int | None) -> None:
        """Write only if the stored version is `expected_version` (None: only if absent); ConflictError
        otherwise. The rate clock restarts, so the new limits begin with a full burst."""
        ...

    def try_admit(self, admission: Admission) -> LimiterRow | None:
        """Apply `admission` in one conditional write: None when the call is admitted, else the row as
        the failed condition found it."""
        ...

    def clear(self, leases: frozenset[str]) -> None:
        """Drop expired leases from the row."""
        ...

    def release(self, lease: str) -> None: ...


class UsageKeyRegistry(Protocol):
    """The deployment's API Gateway usage plan and its API keys, one per tenant (operator credentials)."""

    def ensure_key(self, name: str, value: str) -> str:
        """Create the API key `value` (named `name`) unless it exists, make sure it is enabled and in the
        usage plan; its id. UsageKeyError when API Gateway refuses."""
        ...


class TenantResources(NamedTuple):
    tenant_id: str
    store: TenantStore
    objects: ObjectStore
    credentials: CredentialStore
    #: The tenant's limits and limiter row; None where no limits apply (tests, tools without a table).
    limits: LimiterStore | None = None


class ResourceProvider(Protocol):
    """Hands out a tenant's resources, reached with credentials scoped to that tenant."""

    def for_tenant(self, tenant_id: str) -> TenantResources: ...


class ApiKeyReader(Protocol):
    """Reads one API key record; the authorizer's own (read-only) access to the table."""

    def get_api_key(self, tenant_id: str, key_id: str) -> ApiKeyRecord | None: ...


# --- Tool calls ---------------------------------------------------------------------------------


class CredentialReader(Protocol):
    """Reads the tenant's credentials, for tool calls and the calls jobs make."""

    def get(self, slot: str, *, binding: str | None = None, fresh: bool = False) -> str | None:
        """The tenant's credential in `slot` as JSON text (None when none is stored), read through a
        cache that keeps it for `InvokeSettings.credential_cache_seconds` at most. It is read afresh
        when `fresh`, and when `binding` (when the integration's own credential was last bound)
        differs from the one the cached value was read for."""
        ...


class AuditLog(Protocol):
    def record(self, entry: AuditRecord) -> None: ...


class ResultStore(Protocol):
    """Whole results behind continuation handles, in the tenant's own artifacts prefix."""

    def put(self, handle: str, data: bytes) -> None: ...

    def get(self, handle: str, max_bytes: int) -> bytes | None:
        """The kept result, None when there is none under this handle for the tenant."""
        ...


#: Makes the call: its envelope, and whether that envelope is the key's answer from now on.
Computation = Callable[[], tuple[dict[str, Any], bool]]


class IdempotencyStore(Protocol):
    def run_once(
        self,
        scope: Mapping[str, str],
        request: Mapping[str, Any],
        compute: Computation,
        in_progress_seconds: float,
    ) -> tuple[dict[str, Any], bool]:
        """`compute()`'s envelope, or the envelope an earlier request with the same `scope` kept (then
        True). Raises IdempotencyKeyReusedError when `scope` was used with another `request`, and
        IdempotencyInProgressError while that earlier request is still running (for at most
        `in_progress_seconds`, after which a retry may take the key over)."""
        ...


# --- Jobs ---------------------------------------------------------------------------------------


class JobPage(NamedTuple):
    """Some of a tenant's jobs, in job id order."""

    jobs: list[JobRecord]
    #: The last job id read: the next page starts after it. None: there are no more.
    after: str | None


class JobStore(Protocol):
    """The jobs of one tenant."""

    def create(self, job: JobRecord) -> None: ...

    def get(self, job_id: str) -> JobRecord | None: ...

    def list(self, *, after: str | None, limit: int) -> JobPage:
        """Up to `limit` jobs after job id `after` (None: from the first), read strongly consistent."""
        ...

    def update(
        self,
        job_id: str,
        changes: Mapping[str, Any],
        *,
        remove: Collection[str] = (),
        expect: Mapping[str, Any] | None = None,
        only_running: bool = True,
    ) -> JobRecord | None:
        """Apply `changes` (and remove fields) when the job exists, is running (unless `only_running` is
        False) and every `expect` field has its value (None: the field is absent). Returns the row as it
        was just before the write, read in the same conditional write; None when nothing was written."""
        ...


class JobExecutions(Protocol):
    def start(self, tenant_id: str, job: JobRecord) -> None: ...

    def stop(self, execution_arn: str) -> None: ...

    def execution_arn(self, job_id: str) -> str: ...


class TaskTokens(Protocol):
    def succeed(self, token: str, state: str) -> None:
        """Complete the waiting task with `{"state": state}`; raises CallbackExpiredError when the task
        has already timed out."""
        ...

    def heartbeat(self, token: str) -> None: ...


class ResultPages(Protocol):
    """Long results kept in S3 behind continuation handles (the part of `ResultStore` a job needs)."""

    def put(self, handle: str, data: bytes) -> None: ...


class InvokeResources(NamedTuple):
    """One tenant's resources for tool calls, all reached with that tenant's scoped credentials."""

    tenant: TenantResources
    credentials: CredentialReader
    audit: AuditLog
    idempotency: IdempotencyStore
    results: ResultStore
    #: Long-running operations: the tenant's jobs and the state machine that runs them.
    jobs: JobStore | None = None
    executions: JobExecutions | None = None
    #: The tenant's limits on calls; None: unlimited.
    limiter: TenantLimiter | None = None

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id
