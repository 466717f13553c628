"""A tenant's resources (store, objects, credentials), all reached through its tenant-scoped session."""

from __future__ import annotations

from botocore.config import Config

from toolgate.adapters.aws.dynamodb import DynamoTenantStore
from toolgate.adapters.aws.limits import DynamoLimiterStore
from toolgate.adapters.aws.s3 import S3ObjectStore
from toolgate.adapters.aws.secrets import SecretsManagerCredentialStore
from toolgate.adapters.aws.session import TenantSessionFactory
from toolgate.service.ports import TenantResources
from toolgate.settings import ServiceSettings

#: Presigned URLs need Signature Version 4 (required in newer regions, and for KMS-encrypted buckets).
_S3_CONFIG = Config(signature_version="s3v4")


class AwsResourceProvider:
    def __init__(self, config: ServiceSettings, sessions: TenantSessionFactory | None = None) -> None:
        self._config = config
        self._sessions = sessions or TenantSessionFactory(
            config.tenant_role_arn,
            duration_seconds=config.session_duration_seconds,
            refresh_margin_seconds=config.session_refresh_margin_seconds,
        )
        #: Per tenant: the session the resources were made with, and the resources (clients are reused).
        self._cache: dict[str, tuple[object, TenantResources]] = {}

    def for_tenant(self, tenant_id: str) -> TenantResources:
        session = self._sessions.for_tenant(tenant_id)
        cached = self._cache.get(tenant_id)
        if cached is not None and cached[0] is session:
            return cached[1]
        table = session.resource("dynamodb").Table(self._config.table_name)
        resources = TenantResources(
            tenant_id=tenant_id,
            store=DynamoTenantStore(table, tenant_id),
            objects=S3ObjectStore(
                session.client("s3", config=_S3_CONFIG), self._config.bucket_name, tenant_id
            ),
            credentials=SecretsManagerCredentialStore(
                session.client("secretsmanager"), self._config.secret_prefix, tenant_id
            ),
            limits=DynamoLimiterStore(table, tenant_id),
        )
        self._cache[tenant_id] = (session, resources)
        return resources
