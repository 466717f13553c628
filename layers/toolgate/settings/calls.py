"""What every tool call reads: the invoke function's budgets and lifetimes, and the tenants' limits."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic then
# skips parsing each one from a string, a third of a model's cold-start cost (issue 16).

from functools import lru_cache
from typing import ClassVar, Self

from pydantic import Field, model_validator

from toolgate.settings.base import EnvironmentSettings


class InvokeSettings(EnvironmentSettings):
    """The invoke function's caches, budgets and record lifetimes (`TOOLGATE_*`, set by the CDK stack)."""

    #: A credential is read from Secrets Manager at most this often per tenant; a rotated value is in use
    #: within this time. 0 reads it on every call.
    credential_cache_seconds: int = Field(default=60, ge=0, le=3600)
    #: DynamoDB's TTL removes an audit record this many days after its call.
    audit_ttl_days: int = Field(default=30, ge=1, le=3650)
    #: Lifetime of a continuation handle and of the full result it pages through.
    continuation_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    #: A call retried with the same `Idempotency-Key` within this time returns the first result.
    idempotency_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    #: Characters of result body in one answer: the invoke response or one continuation page. A longer
    #: body is kept whole in S3. The answer is also the idempotency record, and a DynamoDB item holds at
    #: most 400 KB, so this stays far below Lambda's 6 MB response limit.
    result_page_chars: int = Field(default=16_000, ge=1000, le=50_000)
    #: API Gateway's integration timeout for a REST API, counted from when it received the request.
    api_gateway_timeout_seconds: float = Field(default=29.0, gt=0, le=29.0)
    #: Kept back from the deadline for the work after the call (audit record, S3, idempotency record).
    deadline_margin_seconds: float = Field(default=1.5, ge=0.1, le=10.0)
    #: Arguments in an audit record (only for integrations with `audit_arguments`), as JSON, cut here.
    max_audited_argument_bytes: int = Field(default=16_384, ge=256, le=65_536)


@lru_cache(maxsize=1)
def get_invoke_settings() -> InvokeSettings:
    return InvokeSettings()


class LimitSettings(EnvironmentSettings):
    """Per-tenant limits on tool calls (`TOOLGATE_LIMITS_*`): the defaults a tenant has until an admin sets
    its own (`PUT /v1/limits`), and the ceilings an admin may not set them above."""

    env_prefix: ClassVar[str] = "TOOLGATE_LIMITS_"

    #: Off: no tenant is limited and no limiter row is written (a single-tenant deployment).
    enabled: bool = True
    #: Tool calls a tenant may start per second, on average ...
    requests_per_second: float = Field(default=10.0, ge=0.01, allow_inf_nan=False)
    #: ... and at once after a quiet spell.
    burst: int = Field(default=20, ge=1)
    #: Outbound calls a tenant may have open at the same time, across every Lambda instance.
    concurrent_calls: int = Field(default=10, ge=1)
    #: Ceilings, set by the operator: the most a tenant's admin may set. By default half of what every tenant
    #: shares (the stage's 50 requests/s and burst 100, the invoke function's 50 reserved executions), so a
    #: tenant at its ceilings leaves the other half to the rest. The CDK stack derives them from its sizing.
    max_requests_per_second: float = Field(default=25.0, ge=0.01, allow_inf_nan=False)
    max_burst: int = Field(default=50, ge=1)
    max_concurrent_calls: int = Field(default=25, ge=1)
    #: A tenant's own limits are read at most this often per process; a change applies within this time.
    cache_seconds: int = Field(default=30, ge=0, le=600)
    #: The `Retry-After` advised when every concurrent slot is taken (a slot frees when a call ends).
    concurrency_retry_after_seconds: int = Field(default=1, ge=1, le=60)
    #: DynamoDB's TTL removes a tenant's limiter row this long after its last call.
    row_ttl_seconds: int = Field(default=3600, ge=300, le=86_400)

    @model_validator(mode="after")
    def _defaults_within_the_ceilings(self) -> Self:
        for name in ("requests_per_second", "burst", "concurrent_calls"):
            if getattr(self, name) > getattr(self, f"max_{name}"):
                raise ValueError(
                    f"the default {name} ({getattr(self, name)}) is above its ceiling max_{name} "
                    f"({getattr(self, f'max_{name}')}); lower the default or raise the ceiling"
                )
        return self


@lru_cache(maxsize=1)
def get_limit_settings() -> LimitSettings:
    return LimitSettings()
