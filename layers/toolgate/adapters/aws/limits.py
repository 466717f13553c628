"""A tenant's limits and its limiter row in the main table, in the tenant's own partition (so the tenant
session's `dynamodb:LeadingKeys` condition holds):

    LIMITS      the tenant's own limits, as an admin set them (versioned; no TTL); saving them restarts
                the rate clock, which ran at the old interval
    LIMITER     the rate clock `clock_ms`, the open calls' `leases` (a string set) and `ttl`

An admission is one UpdateItem whose condition checks both limits; when it fails, DynamoDB hands back
the row as it found it (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), which is all the domain needs to
decide. The row's `ttl` is pushed past the last lease at every admission, so a tenant that stops calling
leaves nothing behind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from toolgate.adapters.aws.dynamodb import record_fields
from toolgate.adapters.aws.errors import error_code, translated_aws_errors
from toolgate.errors import AlreadyExistsError, ConflictError
from toolgate.service.limits import Admission, LimiterRow, LimitsRecord
from toolgate.service.tenancy import is_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

LIMITS_SK = "LIMITS"
LIMITER_SK = "LIMITER"
_CONDITION_FAILED = "ConditionalCheckFailedException"
_SLOT_FREE = "(attribute_not_exists(leases) OR size(leases) < :max_leases)"
#: The two ways an admission moves the rate clock (see `Admission`).
_RATE_WRITES = {
    "idle": (
        "SET clock_ms = :next_clock, #ttl = :ttl ADD leases :lease",
        f"(attribute_not_exists(clock_ms) OR clock_ms < :now) AND {_SLOT_FREE}",
    ),
    "busy": (
        "SET clock_ms = clock_ms + :interval, #ttl = :ttl ADD leases :lease",
        f"clock_ms BETWEEN :now AND :latest_clock AND {_SLOT_FREE}",
    ),
}


class DynamoLimiterStore:
    """One tenant's limits and limiter row; every key this class builds has `pk` = its tenant id."""

    def __init__(self, table: Table, tenant_id: str) -> None:
        if not is_tenant_id(tenant_id):
            raise ValueError("not a tenant id")
        self._table = table
        self._tenant_id = tenant_id

    def read_limits(self) -> LimitsRecord | None:
        with translated_aws_errors("read the tenant's limits"):
            response = self._table.get_item(Key=self._key(LIMITS_SK), ConsistentRead=True)
        item = response.get("Item")
        return None if item is None else LimitsRecord.model_validate(record_fields(item))

    def save_limits(self, record: LimitsRecord, expected_version: int | None) -> None:
        item = {**self._key(LIMITS_SK), "item_type": "limits", **record.model_dump(mode="json")}
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if expected_version is None
            else {
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": expected_version},
            }
        )
        try:
            with translated_aws_errors("save the tenant's limits"):
                self._table.put_item(Item=_decimals(item), **condition)
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise
            if expected_version is None:
                raise AlreadyExistsError(
                    "The tenant's limits were set meanwhile; read them and retry."
                ) from None
            raise ConflictError(
                f"The tenant's limits changed since they were read (expected version {expected_version}); "
                "read them again and retry."
            ) from None
        # The rate clock ran at the old interval: the new limits start from a full burst.
        try:
            with translated_aws_errors("restart the rate clock"):
                self._table.update_item(
                    Key=self._key(LIMITER_SK),
                    UpdateExpression="REMOVE clock_ms",
                    ConditionExpression="attribute_exists(clock_ms)",
                )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise

    def try_admit(self, admission: Admission) -> LimiterRow | None:
        update, condition = _RATE_WRITES[admission.rate]
        values: dict[str, Any] = {
            ":now": admission.now_ms,
            ":ttl": admission.ttl_epoch_seconds,
            ":lease": {admission.lease},
            ":max_leases": admission.max_leases,
        }
        if admission.rate == "idle":
            values[":next_clock"] = admission.next_clock_ms
        else:
            values[":interval"] = admission.interval_ms
            values[":latest_clock"] = admission.latest_clock_ms
        try:
            with translated_aws_errors("admit the tool call"):
                self._table.update_item(
                    Key=self._key(LIMITER_SK),
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#ttl": "ttl"},
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise
            return _row(error.response.get("Item") or {})  # type: ignore[arg-type]
        return None

    def clear(self, leases: frozenset[str]) -> None:
        self._drop(leases, "clear expired leases")

    def release(self, lease: str) -> None:
        self._drop(frozenset({lease}), "end the call's lease")

    def _drop(self, leases: frozenset[str], action: str) -> None:
        if not leases:
            return
        try:
            with translated_aws_errors(action):
                self._table.update_item(
                    Key=self._key(LIMITER_SK),
                    UpdateExpression="DELETE leases :leases",
                    # Never creates the row: a lease already gone is nothing to do.
                    ConditionExpression="attribute_exists(leases)",
                    ExpressionAttributeValues={":leases": set(leases)},
                )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise

    def _key(self, sk: str) -> dict[str, str]:
        return {"pk": self._tenant_id, "sk": sk}


def _row(item: dict[str, Any]) -> LimiterRow:
    """The row from a failed condition's low-level item (`{"clock_ms": {"N": ...}, ...}`)."""
    clock = item.get("clock_ms", {}).get("N")
    leases = item.get("leases", {}).get("SS", [])
    return LimiterRow(
        clock_ms=int(Decimal(clock)) if clock is not None else None,
        leases=frozenset(str(lease) for lease in leases),
    )


def _decimals(value: Any) -> Any:
    """Floats as Decimals: the resource API refuses Python floats."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decimals(item) for item in value]
    return value
