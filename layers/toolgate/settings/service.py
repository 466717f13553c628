"""Where the AWS service keeps its data: every function reads it."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic then
# skips parsing each one from a string, a third of a model's cold-start cost (issue 16).

from functools import lru_cache
from typing import Self

from pydantic import Field, model_validator

from toolgate.settings.base import MIB, EnvironmentSettings


class ServiceSettings(EnvironmentSettings):
    """Where the AWS service keeps its data; set on each function by the CDK stack (`TOOLGATE_*`)."""

    table_name: str = Field(min_length=1)
    bucket_name: str = Field(min_length=1)
    #: The tenant access role functions assume with a `tenant_id` session tag.
    tenant_role_arn: str = Field(min_length=1)
    #: Secrets are named `{secret_prefix}/{tenant}/{credential}`.
    secret_prefix: str = "toolgate/tenants"  # noqa: S105 - a name prefix, not a secret
    #: Lifetime of the tenant-scoped STS credentials (AssumeRole allows 900 to 43200 seconds).
    session_duration_seconds: int = Field(default=3600, ge=900, le=43200)
    #: A cached tenant session is replaced this long before it expires; longer than any presigned URL.
    session_refresh_margin_seconds: int = Field(default=600, ge=60)
    #: Lifetime of a presigned upload URL.
    upload_url_expiry_seconds: int = Field(default=300, ge=30, le=3600)
    #: A tool whose canonical JSON is larger than this is kept in S3, its item holds a pointer
    #: (a DynamoDB item holds at most 400 KB).
    max_inline_tool_bytes: int = Field(default=350_000, gt=0, le=380_000)
    #: Largest stored tool; an upload with a larger one is refused (TOOL_TOO_LARGE). The compiler keeps
    #: each schema within `CompileLimits.max_tool_schema_bytes`, so only hostile specs come near this.
    max_tool_bytes: int = Field(default=1 * MIB, gt=0, le=16 * MIB)
    #: Findings kept on the integration item; the full report is in S3.
    max_item_findings: int = Field(default=20, ge=0)
    #: Largest suggested fix overlay kept in the upload report; a larger one is left for `toolgate lint
    #: --fix-overlay` to write.
    max_suggested_overlay_bytes: int = Field(default=64 * 1024, gt=0, le=1 * MIB)

    @model_validator(mode="after")
    def _margin_fits_the_session(self) -> Self:
        # A presigned URL stops working when the credentials that signed it expire.
        if self.session_refresh_margin_seconds <= self.upload_url_expiry_seconds:
            raise ValueError("session_refresh_margin_seconds must exceed upload_url_expiry_seconds")
        if self.session_refresh_margin_seconds >= self.session_duration_seconds:
            raise ValueError("session_refresh_margin_seconds must be shorter than session_duration_seconds")
        return self


@lru_cache(maxsize=1)
def get_service_settings() -> ServiceSettings:
    return ServiceSettings.from_environment()
