"""One tenant's S3 prefixes in the service bucket: its uploads and its artifacts.

Every key is checked against the tenant's two prefixes (each ending in `/`) before any call, on top of
the IAM policy that limits the tenant session to the same prefixes.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from toolgate.adapters.aws.errors import error_code, translated_aws_errors
from toolgate.errors import SpecTooLargeError, TenantForbiddenError
from toolgate.service.layout import tenant_artifact_prefix, tenant_upload_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

_MISSING = frozenset({"NoSuchKey", "NoSuchVersion", "404"})
_DELETE_BATCH = 1000


class S3ObjectStore:
    def __init__(self, client: S3Client, bucket: str, tenant_id: str) -> None:
        self._client = client
        self._bucket = bucket
        self._prefixes = (tenant_upload_prefix(tenant_id), tenant_artifact_prefix(tenant_id))

    def put(self, key: str, data: bytes, content_type: str) -> None:
        with translated_aws_errors("store an object"):
            self._client.put_object(
                Bucket=self._bucket, Key=self._checked(key), Body=data, ContentType=content_type
            )

    def get(self, key: str) -> bytes:
        with translated_aws_errors("read an object"):
            response = self._client.get_object(Bucket=self._bucket, Key=self._checked(key))
        return response["Body"].read()

    def read_upload(self, key: str, version_id: str | None, max_bytes: int) -> bytes | None:
        checked = self._checked(key)
        try:
            with translated_aws_errors("read an upload"):
                if version_id:
                    response = self._client.get_object(Bucket=self._bucket, Key=checked, VersionId=version_id)
                else:
                    response = self._client.get_object(Bucket=self._bucket, Key=checked)
        except ClientError as error:
            if error_code(error) in _MISSING:
                return None
            raise
        if response.get("ContentLength", 0) > max_bytes:
            response["Body"].close()
            raise SpecTooLargeError(
                f"{key.rsplit('/', 1)[-1]} is larger than the limit of {max_bytes:,} bytes"
            )
        data = response["Body"].read(max_bytes + 1)
        if len(data) > max_bytes:
            raise SpecTooLargeError(
                f"{key.rsplit('/', 1)[-1]} is larger than the limit of {max_bytes:,} bytes"
            )
        return data

    def delete_prefix(self, prefix: str, *, keep: Collection[str] = ()) -> None:
        paginator = self._client.get_paginator("list_objects_v2")
        with translated_aws_errors("delete objects"):
            for page in paginator.paginate(Bucket=self._bucket, Prefix=self._checked(prefix)):
                keys: list[ObjectIdentifierTypeDef] = [
                    {"Key": entry["Key"]} for entry in page.get("Contents", []) if entry["Key"] not in keep
                ]
                for start in range(0, len(keys), _DELETE_BATCH):
                    self._client.delete_objects(
                        Bucket=self._bucket,
                        Delete={"Objects": keys[start : start + _DELETE_BATCH], "Quiet": True},
                    )

    def presign_put(self, key: str, expires_in: int) -> str:
        return self._client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self._bucket, "Key": self._checked(key)},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )

    def _checked(self, key: str) -> str:
        if not key.startswith(self._prefixes) or "/../" in f"/{key}/" or "/./" in f"/{key}/":
            raise TenantForbiddenError("The object key is outside the tenant's prefixes.")
        return key
