"""Tenant-scoped AWS sessions: STS AssumeRole on the tenant access role with a `tenant_id` session tag.

The role's policies allow only resources named by `${aws:PrincipalTag/tenant_id}`, so a session made here
can reach its own tenant's rows, objects and secrets and nothing else, whatever the code asks for.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import time
from collections.abc import Callable, Iterable
from functools import cache, cached_property
from typing import TYPE_CHECKING, NamedTuple

import boto3
import botocore.exceptions
import botocore.loaders
import botocore.session

from toolgate.service.tenancy import is_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_sts.client import STSClient

_MAX_SESSION_NAME = 64


@cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def new_session(
    *,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
    region_name: str | None = None,
) -> boto3.Session:
    """A boto3 session that shares one model loader with every other session made here, so each AWS
    service's model is read from disk once per process rather than once per tenant."""
    core = botocore.session.Session()
    loader = _shared_loader()
    core.register_component("data_loader", loader)
    session = boto3.Session(
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
        region_name=region_name,
        botocore_session=core,
    )
    # boto3 appends its resource models' folder to the loader for every new session; keep one copy.
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return session


#: What a client (and, for DynamoDB and S3, a boto3 resource) reads from the shared loader when it is made.
_MODEL_TYPES = ("service-2", "endpoint-rule-set-1", "resources-1")


def load_service_models(services: Iterable[str]) -> None:
    """Read these AWS services' models into the loader every session shares (its cache outlives sessions
    and clients), making no client and reading no credentials: SnapStart's snapshot then holds them."""
    new_session()  # puts boto3's resource models on the shared loader's search path
    loader = _shared_loader()
    for service in services:
        for model_type in _MODEL_TYPES:
            try:
                loader.load_service_model(service, model_type, api_version=None)
            except botocore.exceptions.DataNotFoundError:
                continue  # no boto3 resource model for this service


class _CachedSession(NamedTuple):
    session: boto3.Session
    expires_at: float


class TenantSessionFactory:
    def __init__(
        self,
        role_arn: str,
        *,
        duration_seconds: int = 3600,
        refresh_margin_seconds: int = 600,
        base_session: boto3.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.role_arn = role_arn
        self.duration_seconds = duration_seconds
        self.refresh_margin_seconds = refresh_margin_seconds
        self._base = base_session or new_session()
        self._clock = clock
        self._sessions: dict[str, _CachedSession] = {}

    @cached_property
    def _sts(self) -> "STSClient":
        """One STS client for every tenant's AssumeRole: each new tenant would otherwise pay a client."""
        return self._base.client("sts")

    def for_tenant(self, tenant_id: str) -> boto3.Session:
        """A session acting only as `tenant_id`, reused until shortly before its credentials expire."""
        if not is_tenant_id(tenant_id):
            raise ValueError("not a tenant id")
        cached = self._sessions.get(tenant_id)
        if cached is not None and cached.expires_at - self.refresh_margin_seconds > self._clock():
            return cached.session
        response = self._sts.assume_role(
            RoleArn=self.role_arn,
            RoleSessionName=f"toolgate-{tenant_id}"[:_MAX_SESSION_NAME],
            DurationSeconds=self.duration_seconds,
            Tags=[{"Key": "tenant_id", "Value": tenant_id}],
        )
        credentials = response["Credentials"]
        session = new_session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self._base.region_name,
        )
        self._sessions[tenant_id] = _CachedSession(session, credentials["Expiration"].timestamp())
        return session
