"""Jobs on AWS: job rows in the main table (tenant-scoped), executions of the jobs state machine, task
tokens, and the callback signing key.

Job rows: `pk` = tenant, `sk` = `JOB#{job_id}`, `ttl` = the job's `expires_at`. The state machine and
the signing key are the service's, reached with the function's own role; rows only ever with the tenant's
scoped session.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from toolgate.adapters.aws.dynamodb import record_fields
from toolgate.adapters.aws.errors import error_code, translated_aws_errors
from toolgate.errors import AlreadyExistsError, CallbackExpiredError, JobsUnavailableError
from toolgate.service.jobs.records import JobRecord, JobResources, execution_input
from toolgate.service.jobs.terms import JobStatus, is_job_id
from toolgate.service.ports import InvokeResources, JobPage
from toolgate.service.tenancy import is_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_stepfunctions.client import SFNClient

JOB_SK_PREFIX = "JOB#"
#: What a task token answers once its task has ended or never existed.
_ENDED_TASK_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


def job_sk(job_id: str) -> str:
    return f"{JOB_SK_PREFIX}{job_id}"


class DynamoJobStore:
    """One tenant's job rows."""

    def __init__(self, table: Table, tenant_id: str) -> None:
        if not is_tenant_id(tenant_id):
            raise ValueError("not a tenant id")
        self._table = table
        self._tenant_id = tenant_id

    def create(self, job: JobRecord) -> None:
        item = {
            **{name: _stored(value) for name, value in job.model_dump(exclude_none=True).items()},
            "pk": self._tenant_id,
            "sk": job_sk(job.job_id),
            "item_type": "job",
            "ttl": int(job.expires_at.timestamp()),
        }
        try:
            with translated_aws_errors("write the job"):
                self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            raise AlreadyExistsError(f"Job '{job.job_id}' already exists.") from None

    def get(self, job_id: str) -> JobRecord | None:
        if not is_job_id(job_id):
            return None
        with translated_aws_errors("read the job"):
            response = self._table.get_item(Key=self._key(job_id), ConsistentRead=True)
        item = response.get("Item")
        return None if item is None else JobRecord.model_validate(record_fields(item))

    def list(self, *, after: str | None, limit: int) -> JobPage:
        arguments: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(self._tenant_id) & Key("sk").begins_with(JOB_SK_PREFIX),
            "ConsistentRead": True,
            "Limit": limit,
        }
        if after is not None:
            if not is_job_id(after):
                raise ValueError("not a job id")
            arguments["ExclusiveStartKey"] = self._key(after)
        with translated_aws_errors("list the jobs"):
            response = self._table.query(**arguments)
        jobs = [JobRecord.model_validate(record_fields(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return JobPage(jobs=jobs, after=str(last["sk"]).removeprefix(JOB_SK_PREFIX) if last else None)

    def update(
        self,
        job_id: str,
        changes: Mapping[str, Any],
        *,
        remove: Collection[str] = (),
        expect: Mapping[str, Any] | None = None,
        only_running: bool = True,
    ) -> JobRecord | None:
        """The conditional write of `JobStore.update`; the row before it comes back with it (ALL_OLD),
        so a reader acts on what the write replaced, never on an earlier read."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        assignments = []
        for index, (field, value) in enumerate(changes.items()):
            names[f"#c{index}"] = field
            values[f":c{index}"] = _stored(value)
            assignments.append(f"#c{index} = :c{index}")
        removals = []
        for index, field in enumerate(name for name in remove if name not in changes):
            names[f"#r{index}"] = field
            removals.append(f"#r{index}")
        conditions = ["attribute_exists(pk)"]
        if only_running:
            names["#status"] = "status"
            values[":running"] = JobStatus.RUNNING.value
            conditions.append("#status = :running")
        for index, (field, value) in enumerate((expect or {}).items()):
            names[f"#e{index}"] = field
            if value is None:
                conditions.append(f"attribute_not_exists(#e{index})")
                continue
            values[f":e{index}"] = _stored(value)
            conditions.append(f"#e{index} = :e{index}")
        expression = " ".join(
            part
            for part in (
                f"SET {', '.join(assignments)}" if assignments else "",
                f"REMOVE {', '.join(removals)}" if removals else "",
            )
            if part
        )
        if not expression:
            raise ValueError("a job update needs a change or a removal")
        arguments: dict[str, Any] = {
            "Key": self._key(job_id),
            "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_OLD",
        }
        if values:
            arguments["ExpressionAttributeValues"] = values
        try:
            with translated_aws_errors("update the job"):
                response = self._table.update_item(**arguments)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return JobRecord.model_validate(record_fields(response["Attributes"]))

    def _key(self, job_id: str) -> dict[str, str]:
        return {"pk": self._tenant_id, "sk": job_sk(job_id)}


class StepFunctionsJobs:
    """Executions of the jobs state machine, one per job, named after it."""

    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn

    def execution_arn(self, job_id: str) -> str:
        prefix = self._state_machine_arn.replace(":stateMachine:", ":execution:", 1)
        return f"{prefix}:{job_id}"

    def start(self, tenant_id: str, job: JobRecord) -> None:
        payload = execution_input(tenant_id, job)
        try:
            with translated_aws_errors("start the job"):
                self._client.start_execution(
                    stateMachineArn=self._state_machine_arn, name=job.job_id, input=json.dumps(payload)
                )
        except ClientError as error:
            if error_code(error) == "ExecutionAlreadyExists":
                return
            raise JobsUnavailableError("The job could not be started; call the tool again shortly.") from None
        except BotoCoreError:  # no answer from Step Functions (endpoint, connection, read timeout)
            raise JobsUnavailableError("The job could not be started; call the tool again shortly.") from None

    def stop(self, execution_arn: str) -> None:
        try:
            with translated_aws_errors("stop the job"):
                self._client.stop_execution(
                    executionArn=execution_arn, error="JOB_CANCELLED", cause="Cancelled by its tenant."
                )
        except ClientError as error:
            if error_code(error) != "ExecutionDoesNotExist":
                raise


class StepFunctionsTaskTokens:
    """Completes or extends the state machine's waiting callback task."""

    def __init__(self, client: SFNClient) -> None:
        self._client = client

    def succeed(self, token: str, state: str) -> None:
        with _ended_task_refused():
            self._client.send_task_success(taskToken=token, output=json.dumps({"state": state}))

    def heartbeat(self, token: str) -> None:
        with _ended_task_refused():
            self._client.send_task_heartbeat(taskToken=token)


class SigningKey:
    """The callback signing key from Secrets Manager, read once per process with the function's role."""

    def __init__(self, client: SecretsManagerClient, secret_arn: str) -> None:
        self._client = client
        self._secret_arn = secret_arn
        self._value: bytes | None = None
        self._lock = threading.Lock()

    def value(self) -> bytes:
        with self._lock:
            if self._value is None:
                with translated_aws_errors("read the callback signing key"):
                    secret = self._client.get_secret_value(SecretId=self._secret_arn)
                self._value = secret["SecretString"].encode()
            return self._value


def job_resources(resources: InvokeResources) -> JobResources:
    """A tenant's job resources, from the invoke provider's (the same scoped session)."""
    if resources.jobs is None:
        raise JobsUnavailableError("This deployment runs no jobs state machine.")
    return JobResources(
        tenant=resources.tenant,
        jobs=resources.jobs,
        credentials=resources.credentials,
        results=resources.results,
        limiter=resources.limiter,
    )


@contextmanager
def _ended_task_refused() -> Iterator[None]:
    try:
        with translated_aws_errors("complete the job's task"):
            yield
    except ClientError as error:
        if error_code(error) not in _ENDED_TASK_ERRORS:
            raise
        raise CallbackExpiredError(
            "The job stopped waiting for this callback (it timed out or was cancelled); nothing changed."
        ) from None


def _stored(value: Any) -> Any:
    """A record value as DynamoDB stores it: enums as their value, times as ISO 8601 text."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value
