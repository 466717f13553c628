"""The invoke function's AWS adapters, each bound to one tenant's scoped session:

- credentials through Powertools' `SecretsProvider` (a short-lived cache per tenant), refusing any secret
  outside the tenant's own prefix before a call is made, and read afresh when rebound;
- audit records in the main table (`pk` = tenant, `sk` = `AUDIT#{time}#{request id}`, `ttl` set);
- idempotency records through Powertools' `DynamoDBPersistenceLayer` on the main table, with the tenant as
  the partition key (`pk`), `IDEMPOTENCY#...` sort keys and the table's `ttl` attribute as expiry;
- its job rows, and the jobs state machine (the service's, started with the function's own role), both
  reached on the first job: a synchronous call loads none of the jobs code;
- the tenant's limiter row (`toolgate.adapters.aws.limits`), one per tenant and process so that its own
  limits are cached;
- whole results behind continuation handles in S3 (`artifacts/tenants/{tenant}/results/{handle}.json`),
  tagged so that the bucket's lifecycle rule removes them;
- logs and metrics of every call.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from toolgate.adapters.aws.dynamodb import DynamoTenantStore
from toolgate.adapters.aws.errors import error_code, translated_aws_errors
from toolgate.adapters.aws.limits import DynamoLimiterStore
from toolgate.adapters.aws.s3 import S3ObjectStore
from toolgate.adapters.aws.secrets import SecretsManagerCredentialStore, writes_in_this_process
from toolgate.adapters.aws.session import TenantSessionFactory, new_session
from toolgate.adapters.aws.telemetry import logger, metrics
from toolgate.errors import (
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    StoreUnavailableError,
    TenantForbiddenError,
)
from toolgate.service.layout import secret_name, tenant_artifact_prefix
from toolgate.service.limits import TenantLimiter
from toolgate.service.ports import Computation, InvokeResources, JobPage, TenantResources
from toolgate.service.tenancy import is_resource_id
from toolgate.settings import InvokeSettings, JobSettings, LimitSettings, ServiceSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

    from toolgate.adapters.aws.jobs import DynamoJobStore, StepFunctionsJobs
    from toolgate.service.invoke import AuditRecord
    from toolgate.service.jobs.records import JobRecord

#: Sort keys of idempotency records start with this (Powertools appends `#{sha256 of the scope}`).
IDEMPOTENCY_KEY_PREFIX = "IDEMPOTENCY#invoke"
AUDIT_SK_PREFIX = "AUDIT#"
#: Kept results live under the tenant's artifacts prefix, in this folder.
RESULTS_FOLDER = "results/"
#: The object tag the bucket's `ExpireKeptResults` lifecycle rule filters on (infra/tenancy.py): a
#: backstop that removes kept results a day after the continuation handle's own expiry.
RESULT_RETENTION_TAGGING = "toolgate-retention=continuation"
_MISSING_OBJECT = frozenset({"NoSuchKey", "404"})
_DAY_SECONDS = 86_400
#: Metric dimension for a tool name that matched no tool (a caller's text: not a dimension value).
_UNRESOLVED_TOOL = "-"


class CachedCredentialReader:
    """A tenant's credentials, read with its scoped session through Powertools' cache (`max_age`).

    A cached value is read again, before its age is up, when it may be stale: asked `fresh` (the API
    refused it with a 401); its integration's binding changed (`binding`, the time the API last bound
    it, on the integration item every call reads); or this process wrote or deleted the secret since.
    """

    def __init__(
        self, client: SecretsManagerClient, prefix: str, tenant_id: str, max_age_seconds: int
    ) -> None:
        self._provider = SecretsProvider(boto3_client=client)
        self._prefix = prefix
        self._tenant_id = tenant_id
        # Built here rather than with `secret_name`, so that the check below does not share the code
        # path it guards.
        self._own_prefix = f"{prefix.rstrip('/')}/{tenant_id}/"
        self._max_age = max_age_seconds
        #: Per secret name: the binding and the process's write count the cached value was read at.
        self._read_at: dict[str, tuple[str | None, int]] = {}
        self._lock = threading.Lock()

    def get(self, slot: str, *, binding: str | None = None, fresh: bool = False) -> str | None:
        if not is_resource_id(slot):
            raise TenantForbiddenError("A credential slot is an id of the tenant's own credentials.")
        return self.get_named(secret_name(self._prefix, self._tenant_id, slot), binding=binding, fresh=fresh)

    def get_named(self, name: str, *, binding: str | None = None, fresh: bool = False) -> str | None:
        """The secret `name`, which must be one of the tenant's own; anything else is refused unread."""
        slot = name.removeprefix(self._own_prefix)
        if slot == name or not is_resource_id(slot):
            raise TenantForbiddenError("The credential is outside the tenant's own secrets; it was not read.")
        writes = writes_in_this_process(name)
        with self._lock:
            read_at = self._read_at.get(name)
        stale = read_at is not None and (
            read_at[1] != writes or (binding is not None and binding != read_at[0])
        )
        try:
            value = self._provider.get(name, max_age=self._max_age, force_fetch=fresh or stale)
        except GetParameterError as error:
            cause = error.__context__
            if not isinstance(cause, ClientError):
                raise
            if error_code(cause) == "ResourceNotFoundException":
                return None
            with translated_aws_errors("read the credential"):
                raise cause from None
        with self._lock:
            known = self._read_at.get(name, (None, writes))[0]
            self._read_at[name] = (binding if binding is not None else known, writes)
        return value if isinstance(value, str) else None


class DynamoAuditLog:
    """Audit records in the tenant's partition of the main table; DynamoDB's TTL removes them."""

    def __init__(self, client: DynamoDBClient, table_name: str, tenant_id: str, ttl_days: int) -> None:
        self._client = client
        self._table_name = table_name
        self._tenant_id = tenant_id
        self._ttl_seconds = ttl_days * _DAY_SECONDS

    def record(self, entry: AuditRecord) -> None:
        if entry.tenant_id != self._tenant_id:
            raise ValueError("the audit record is not this tenant's")
        fields = entry.model_dump(mode="json", exclude_none=True)
        item = {
            "pk": self._tenant_id,
            "sk": f"{AUDIT_SK_PREFIX}{entry.at.isoformat(timespec='milliseconds')}#{entry.request_id}",
            "item_type": "audit",
            **fields,
            "ttl": int(entry.at.timestamp()) + self._ttl_seconds,
        }
        with translated_aws_errors("write the audit record"):
            self._client.put_item(
                TableName=self._table_name, Item={name: _attribute(value) for name, value in item.items()}
            )


class DynamoIdempotencyStore:
    """Powertools idempotency on the main table, in the tenant's own partition.

    The record's key is the tenant (`pk`, Powertools' `static_pk_value`) and a hash of the scope (tenant,
    assistant, tool, client key); the arguments are hashed for payload validation, so reusing a key for
    other arguments is refused rather than answered with another call's result.
    """

    def __init__(
        self, client: DynamoDBClient, table_name: str, tenant_id: str, expires_after_seconds: int
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._tenant_id = tenant_id
        self._expires_after_seconds = expires_after_seconds
        self._persistence: DynamoDBPersistenceLayer | None = None

    def run_once(
        self,
        scope: Mapping[str, str],
        request: Mapping[str, Any],
        compute: Computation,
        in_progress_seconds: float,
    ) -> tuple[dict[str, Any], bool]:
        if scope.get("tenant_id") != self._tenant_id:
            raise ValueError("the idempotency scope is not this tenant's")
        # Powertools' idempotency loads with the first call that carries an Idempotency-Key (issue 16).
        from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
        )
        from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler  # noqa: PLC0415
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        if self._persistence is None:
            self._persistence = DynamoDBPersistenceLayer(
                table_name=self._table_name,
                key_attr="pk",
                sort_key_attr="sk",
                static_pk_value=self._tenant_id,
                expiry_attr="ttl",
                boto3_client=self._client,
            )
        replayed = False

        def replay(response: Any, idempotent_data: DataRecord) -> Any:
            nonlocal replayed
            replayed = True
            return response

        config = IdempotencyConfig(
            event_key_jmespath="scope",
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._expires_after_seconds,
            hash_function="sha256",
            lambda_context=_RemainingTime(in_progress_seconds),  # type: ignore[arg-type]
            response_hook=replay,
        )
        handler = IdempotencyHandler(
            function=_kept(compute),
            function_payload={"scope": dict(scope), "request": dict(request)},
            config=config,
            persistence_store=self._persistence,
            key_prefix=IDEMPOTENCY_KEY_PREFIX,
            function_args=(),
            function_kwargs={},
        )
        try:
            envelope: dict[str, Any] = handler.handle()
        except _NotKept as unkept:
            return unkept.envelope, False
        except IdempotencyValidationError:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was already used for this tool with other arguments; use a new key "
                "for a new call."
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise IdempotencyInProgressError(
                "A call with this Idempotency-Key is still running; retry when it has finished."
            ) from None
        except IdempotencyPersistenceLayerError as error:
            raise _store_error(error) from None
        return envelope, replayed


class S3ResultStore:
    """Whole results behind continuation handles, only ever under the tenant's own `results/` folder."""

    def __init__(self, client: S3Client, bucket: str, tenant_id: str) -> None:
        self._client = client
        self._bucket = bucket
        self._folder = f"{tenant_artifact_prefix(tenant_id)}{RESULTS_FOLDER}"

    def key(self, handle: str) -> str:
        from toolgate.service.continuations import CONTINUATION_HANDLE  # noqa: PLC0415 - long results only

        if not CONTINUATION_HANDLE.fullmatch(handle):
            raise TenantForbiddenError("A continuation handle is 32 URL-safe characters.")
        return f"{self._folder}{handle}.json"

    def put(self, handle: str, data: bytes) -> None:
        with translated_aws_errors("keep the result"):
            self._client.put_object(
                Bucket=self._bucket,
                Key=self.key(handle),
                Body=data,
                ContentType="application/json",
                Tagging=RESULT_RETENTION_TAGGING,
            )

    def get(self, handle: str, max_bytes: int) -> bytes | None:
        try:
            with translated_aws_errors("read the result"):
                response = self._client.get_object(Bucket=self._bucket, Key=self.key(handle))
        except ClientError as error:
            if error_code(error) in _MISSING_OBJECT:
                return None
            raise
        data = response["Body"].read(max_bytes + 1)
        if len(data) > max_bytes:
            raise StoreUnavailableError("The kept result is larger than any result Toolgate keeps.")
        return data


class AwsInvokeProvider:
    """Per tenant: the store, S3 objects, credentials, audit log, idempotency records and limiter, all
    reached with the tenant's scoped session and rebuilt when that session is renewed."""

    def __init__(
        self,
        config: ServiceSettings,
        invoke: InvokeSettings,
        sessions: TenantSessionFactory | None = None,
        jobs: JobSettings | None = None,
        limits: LimitSettings | None = None,
    ) -> None:
        self._config = config
        self._invoke = invoke
        self._limits = limits or LimitSettings()
        state_machine_arn = (jobs or JobSettings()).state_machine_arn
        self._executions = _StateMachine(state_machine_arn) if state_machine_arn else None
        self._sessions = sessions or TenantSessionFactory(
            config.tenant_role_arn,
            duration_seconds=config.session_duration_seconds,
            refresh_margin_seconds=config.session_refresh_margin_seconds,
        )
        self._cache: dict[str, tuple[object, InvokeResources]] = {}

    def for_tenant(self, tenant_id: str) -> InvokeResources:
        session = self._sessions.for_tenant(tenant_id)
        cached = self._cache.get(tenant_id)
        if cached is not None and cached[0] is session:
            return cached[1]
        config = self._config
        table = session.resource("dynamodb").Table(config.table_name)
        # A plain client: the resource's own client would serialize Powertools' typed attributes again.
        dynamodb = session.client("dynamodb")
        secrets = session.client("secretsmanager")
        s3 = session.client("s3")
        limits = DynamoLimiterStore(table, tenant_id)
        tenant = TenantResources(
            tenant_id=tenant_id,
            store=DynamoTenantStore(table, tenant_id),
            objects=S3ObjectStore(s3, config.bucket_name, tenant_id),
            credentials=SecretsManagerCredentialStore(secrets, config.secret_prefix, tenant_id),
            limits=limits,
        )
        resources = InvokeResources(
            tenant=tenant,
            credentials=CachedCredentialReader(
                secrets, config.secret_prefix, tenant_id, self._invoke.credential_cache_seconds
            ),
            audit=DynamoAuditLog(dynamodb, config.table_name, tenant_id, self._invoke.audit_ttl_days),
            idempotency=DynamoIdempotencyStore(
                dynamodb, config.table_name, tenant_id, self._invoke.idempotency_ttl_seconds
            ),
            results=S3ResultStore(s3, config.bucket_name, tenant_id),
            jobs=_JobRows(table, tenant_id),
            executions=self._executions,
            limiter=TenantLimiter(limits, self._limits),
        )
        self._cache[tenant_id] = (session, resources)
        return resources


def record_invocation(record: AuditRecord, audit_written: bool) -> None:
    """Log one tool call and count it per tool, status and error code. Never logs its arguments."""
    logger.info(
        "tool call finished",
        extra={
            "assistant_id": record.assistant_id,
            "tool": record.tool,
            "integration_id": record.integration_id,
            "call_format": record.call_format,
            "status": record.status,
            "error_code": record.error_code,
            "target_status": record.target_status,
            "latency_ms": record.latency_ms,
            "idempotent": record.idempotent,
            "replayed": record.replayed,
            "audit_written": audit_written,
        },
    )
    if is_metrics_disabled():  # Powertools' own switch; `single_metric` does not read it
        return
    tool = record.tool if record.integration_id is not None else _UNRESOLVED_TOOL
    with single_metric(
        name="ToolInvocations", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
    ) as metric:
        metric.add_dimension(name="tool", value=tool)
        metric.add_dimension(name="status", value=record.status)
    with single_metric(
        name="ToolLatency", unit=MetricUnit.Milliseconds, value=record.latency_ms, namespace=metrics.namespace
    ) as metric:
        metric.add_dimension(name="tool", value=tool)
    if record.error_code is not None:
        with single_metric(
            name="ToolErrors", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="tool", value=tool)
            metric.add_dimension(name="error_code", value=record.error_code)
    if not audit_written:
        metrics.add_metric(name="AuditWriteFailures", unit=MetricUnit.Count, value=1)


# --- Helpers ------------------------------------------------------------------------------------


class _JobRows:
    """A tenant's job rows (`DynamoJobStore`), whose adapter and records are loaded on the first job."""

    def __init__(self, table: Table, tenant_id: str) -> None:
        self._table = table
        self._tenant_id = tenant_id

    @cached_property
    def _store(self) -> DynamoJobStore:
        from toolgate.adapters.aws.jobs import DynamoJobStore  # noqa: PLC0415 - only jobs need it

        return DynamoJobStore(self._table, self._tenant_id)

    def create(self, job: JobRecord) -> None:
        self._store.create(job)

    def get(self, job_id: str) -> JobRecord | None:
        return self._store.get(job_id)

    def list(self, *, after: str | None, limit: int) -> JobPage:
        return self._store.list(after=after, limit=limit)

    def update(
        self,
        job_id: str,
        changes: Mapping[str, Any],
        *,
        remove: Collection[str] = (),
        expect: Mapping[str, Any] | None = None,
        only_running: bool = True,
    ) -> JobRecord | None:
        return self._store.update(job_id, changes, remove=remove, expect=expect, only_running=only_running)


class _StateMachine:
    """The jobs state machine (`StepFunctionsJobs`), the service's, started with the function's own role;
    its adapter and Step Functions client (that service's model) are made on the first job."""

    def __init__(self, state_machine_arn: str) -> None:
        self._state_machine_arn = state_machine_arn

    @cached_property
    def _jobs(self) -> StepFunctionsJobs:
        from toolgate.adapters.aws.jobs import StepFunctionsJobs  # noqa: PLC0415 - only jobs need it

        return StepFunctionsJobs(new_session().client("stepfunctions"), self._state_machine_arn)

    def start(self, tenant_id: str, job: JobRecord) -> None:
        self._jobs.start(tenant_id, job)

    def stop(self, execution_arn: str) -> None:
        self._jobs.stop(execution_arn)

    def execution_arn(self, job_id: str) -> str:
        return self._jobs.execution_arn(job_id)


class _NotKept(Exception):  # noqa: N818 - a signal to Powertools, not an error
    """Raised through Powertools so that it drops the in-progress record: the answer is not the key's."""

    def __init__(self, envelope: dict[str, Any]) -> None:
        super().__init__("the answer is not kept for the key")
        self.envelope = envelope


def _kept(compute: Computation) -> Any:
    def call_once() -> dict[str, Any]:
        envelope, keep = compute()
        if not keep:
            raise _NotKept(envelope)
        return envelope

    return call_once


class _RemainingTime:
    """What Powertools reads from a Lambda context: how long an in-progress record holds the key."""

    def __init__(self, seconds: float) -> None:
        self._milliseconds = max(0, int(seconds * 1000))

    def get_remaining_time_in_millis(self) -> int:
        return self._milliseconds


def _store_error(error: BaseException) -> Exception:
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ClientError):
        cause = cause.__cause__ or cause.__context__
    try:
        with translated_aws_errors("keep the idempotency record"):
            if cause is not None:
                raise cause
    except (TenantForbiddenError, StoreUnavailableError) as translated:
        return translated
    except ClientError:
        pass
    return StoreUnavailableError("The idempotency record could not be kept; retry shortly.")


def _attribute(value: Any) -> AttributeValueTypeDef:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    return {"S": str(value)}
