"""The service's one DynamoDB table. `pk` is the tenant id exactly (IAM pins a tenant session to it with
`dynamodb:LeadingKeys`), `sk` names the item:

    TENANT                                     the tenant
    APIKEY#{key_id}                            an API key (hash, role, principal, revoked)
    INTEGRATION#{integration}                  an integration (version, status, ready revision, ...)
    TOOL#{integration}#{revision}#{tool}       one tool of one revision of an integration
    ASSISTANT#{assistant}                      an assistant

Ids never contain `#`, so `begins_with` on `TOOL#{integration}#` cannot reach another integration's tools.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel

from toolgate.adapters.aws.errors import error_code, translated_aws_errors
from toolgate.errors import AlreadyExistsError, ConflictError
from toolgate.service.models import (
    ApiKeyRecord,
    AssistantRecord,
    IntegrationRecord,
    StoredTool,
    TenantRecord,
)
from toolgate.service.tenancy import is_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

RecordT = TypeVar("RecordT", bound=BaseModel)

TENANT_SK = "TENANT"
_KEY_ATTRIBUTES = ("pk", "sk", "item_type")


def api_key_sk(key_id: str) -> str:
    return f"APIKEY#{key_id}"


def integration_sk(integration_id: str) -> str:
    return f"INTEGRATION#{integration_id}"


def tools_sk_prefix(integration_id: str, revision: str | None = None) -> str:
    return f"TOOL#{integration_id}#{revision}#" if revision else f"TOOL#{integration_id}#"


def assistant_sk(assistant_id: str) -> str:
    return f"ASSISTANT#{assistant_id}"


class DynamoTenantStore:
    """One tenant's items; every key this class builds has `pk` = its tenant id."""

    def __init__(self, table: Table, tenant_id: str) -> None:
        if not is_tenant_id(tenant_id):
            raise ValueError("not a tenant id")
        self._table = table
        self._tenant_id = tenant_id

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    # --- Tenant and API keys ----------------------------------------------------------------

    def create_tenant(self, record: TenantRecord) -> None:
        self._put(TENANT_SK, "tenant", record, expected_version=None)

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        return self._get(api_key_sk(key_id), ApiKeyRecord)

    def list_api_keys(self) -> list[ApiKeyRecord]:
        return [ApiKeyRecord.model_validate(item) for item in self._query("APIKEY#")]

    def save_api_key(self, record: ApiKeyRecord, expected_version: int | None) -> None:
        self._put(api_key_sk(record.key_id), "api_key", record, expected_version)

    # --- Integrations and tools -------------------------------------------------------------

    def get_integration(self, integration_id: str) -> IntegrationRecord | None:
        return self._get(integration_sk(integration_id), IntegrationRecord)

    def list_integrations(self) -> list[IntegrationRecord]:
        return [IntegrationRecord.model_validate(item) for item in self._query("INTEGRATION#")]

    def save_integration(self, record: IntegrationRecord, expected_version: int | None) -> None:
        self._put(integration_sk(record.integration_id), "integration", record, expected_version)

    def delete_integration(self, integration_id: str, expected_version: int) -> None:
        self._delete(integration_sk(integration_id), expected_version)

    def put_tools(self, tools: Sequence[StoredTool]) -> None:
        with translated_aws_errors("store tools"), self._table.batch_writer() as batch:
            for tool in tools:
                sk = tools_sk_prefix(tool.integration_id, tool.revision) + tool.name
                batch.put_item(Item=self._item(sk, "tool", tool))

    def list_tools(self, integration_id: str, revision: str) -> list[StoredTool]:
        prefix = tools_sk_prefix(integration_id, revision)
        return [StoredTool.model_validate(item) for item in self._query(prefix)]

    def get_tool(self, integration_id: str, revision: str, name: str) -> StoredTool | None:
        return self._get(tools_sk_prefix(integration_id, revision) + name, StoredTool)

    def delete_tools(self, integration_id: str, revision: str) -> None:
        keys = list(self._query(tools_sk_prefix(integration_id, revision), keys_only=True))
        with translated_aws_errors("delete tools"), self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key={"pk": key["pk"], "sk": key["sk"]})

    # --- Assistants -------------------------------------------------------------------------

    def get_assistant(self, assistant_id: str) -> AssistantRecord | None:
        return self._get(assistant_sk(assistant_id), AssistantRecord)

    def list_assistants(self) -> list[AssistantRecord]:
        return [AssistantRecord.model_validate(item) for item in self._query("ASSISTANT#")]

    def save_assistant(self, record: AssistantRecord, expected_version: int | None) -> None:
        self._put(assistant_sk(record.assistant_id), "assistant", record, expected_version)

    def delete_assistant(self, assistant_id: str, expected_version: int) -> None:
        self._delete(assistant_sk(assistant_id), expected_version)

    # --- Plumbing -------------------------------------------------------------------------

    def _item(self, sk: str, item_type: str, record: BaseModel) -> dict[str, Any]:
        return {"pk": self._tenant_id, "sk": sk, "item_type": item_type, **record.model_dump(mode="json")}

    def _get(self, sk: str, model: type[RecordT]) -> RecordT | None:
        with translated_aws_errors("read an item"):
            response = self._table.get_item(Key={"pk": self._tenant_id, "sk": sk}, ConsistentRead=True)
        item = response.get("Item")
        return None if item is None else model.model_validate(record_fields(item))

    def _query(self, sk_prefix: str, *, keys_only: bool = False) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(self._tenant_id) & Key("sk").begins_with(sk_prefix),
            "ConsistentRead": True,
        }
        if keys_only:
            arguments["ProjectionExpression"] = "pk, sk"
        while True:
            with translated_aws_errors("list items"):
                response = self._table.query(**arguments)
            for item in response.get("Items", []):
                yield dict(item) if keys_only else record_fields(item)
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            arguments["ExclusiveStartKey"] = last_key

    def _put(self, sk: str, item_type: str, record: BaseModel, expected_version: int | None) -> None:
        condition: dict[str, Any]
        if expected_version is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": expected_version},
            }
        try:
            with translated_aws_errors("write an item"):
                self._table.put_item(Item=self._item(sk, item_type, record), **condition)
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            name = sk.split("#", 1)[-1]
            if expected_version is None:
                raise AlreadyExistsError(
                    f"{item_type.replace('_', ' ').capitalize()} '{name}' already exists."
                ) from None
            raise ConflictError(
                f"{item_type.replace('_', ' ').capitalize()} '{name}' changed since it was read "
                f"(expected version {expected_version}); read it again and retry."
            ) from None

    def _delete(self, sk: str, expected_version: int) -> None:
        try:
            with translated_aws_errors("delete an item"):
                self._table.delete_item(
                    Key={"pk": self._tenant_id, "sk": sk},
                    ConditionExpression="#version = :expected",
                    ExpressionAttributeNames={"#version": "version"},
                    ExpressionAttributeValues={":expected": expected_version},
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            raise ConflictError(
                f"'{sk.split('#', 1)[-1]}' changed or was deleted since it was read; read it again and retry."
            ) from None


class DynamoApiKeyReader:
    """The authorizer's read of one API key item, with the function's own read-only access."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def get_api_key(self, tenant_id: str, key_id: str) -> ApiKeyRecord | None:
        with translated_aws_errors("read an API key"):
            response = self._table.get_item(Key={"pk": tenant_id, "sk": api_key_sk(key_id)})
        item = response.get("Item")
        return None if item is None else ApiKeyRecord.model_validate(record_fields(item))


def tenant_ids(table: Table) -> Iterator[str]:
    """Every tenant in the table, for operator commands that span tenants (a Scan: it reads the whole
    table, page by page; no function calls it)."""
    arguments: dict[str, Any] = {
        "FilterExpression": "#sk = :tenant",
        "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
        "ExpressionAttributeValues": {":tenant": TENANT_SK},
        "ProjectionExpression": "#pk",
    }
    while True:
        page = table.scan(**arguments)
        for item in page.get("Items", []):
            tenant_id = item.get("pk")
            if isinstance(tenant_id, str) and is_tenant_id(tenant_id):
                yield tenant_id
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def record_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item's record fields: key attributes dropped, DynamoDB's Decimals made ints."""
    return {name: _plain(value) for name, value in item.items() if name not in _KEY_ATTRIBUTES}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
