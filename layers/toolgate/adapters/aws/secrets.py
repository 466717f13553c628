"""One tenant's credentials in Secrets Manager: `{prefix}/{tenant}/{slot}`, tagged `tenant_id`.

Values are written and read only through the tenant-scoped session; nothing here logs or returns a value
except `get`, which the invoke path uses.

Every write and delete is counted per secret name in this process (`writes_in_this_process`), so a cache
of credentials in the same process (the invoke path's, in local mode) drops a rebound value at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from toolgate.adapters.aws.errors import error_code, translated_aws_errors
from toolgate.service.layout import secret_name
from toolgate.service.tenancy import is_resource_id

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

_RECOVERY_WINDOW_DAYS = 7

_writes: Counter[str] = Counter()
_writes_lock = threading.Lock()


def writes_in_this_process(name: str) -> int:
    """How often the secret `name` was written or deleted by this process."""
    with _writes_lock:
        return _writes[name]


def _count_write(name: str) -> None:
    with _writes_lock:
        _writes[name] += 1


class SecretsManagerCredentialStore:
    def __init__(self, client: SecretsManagerClient, prefix: str, tenant_id: str) -> None:
        self._client = client
        self._prefix = prefix
        self._tenant_id = tenant_id

    def secret_name(self, slot: str) -> str:
        if not is_resource_id(slot):
            raise ValueError("not a credential slot")
        return secret_name(self._prefix, self._tenant_id, slot)

    def put(self, slot: str, secret_json: str) -> None:
        name = self.secret_name(slot)
        try:
            self._put(name, secret_json)
        finally:
            _count_write(name)

    def _put(self, name: str, secret_json: str) -> None:
        with translated_aws_errors("store the credential"):
            try:
                self._client.put_secret_value(SecretId=name, SecretString=secret_json)
                return
            except ClientError as error:
                if error_code(error) != "ResourceNotFoundException":
                    raise
            try:
                self._client.create_secret(
                    Name=name,
                    SecretString=secret_json,
                    Description="Toolgate integration credential",
                    Tags=[{"Key": "tenant_id", "Value": self._tenant_id}],
                )
            except ClientError as error:
                if error_code(error) != "ResourceExistsException":
                    raise
                self._client.put_secret_value(SecretId=name, SecretString=secret_json)

    def get(self, slot: str) -> str | None:
        try:
            with translated_aws_errors("read the credential"):
                response = self._client.get_secret_value(SecretId=self.secret_name(slot))
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise
        return response.get("SecretString")

    def delete(self, slot: str) -> None:
        name = self.secret_name(slot)
        try:
            with translated_aws_errors("delete the credential"):
                self._client.delete_secret(SecretId=name, RecoveryWindowInDays=_RECOVERY_WINDOW_DAYS)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
        finally:
            _count_write(name)
