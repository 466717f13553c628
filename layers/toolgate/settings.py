"""Settings, modelled once. Values come from defaults and `TOOLGATE_*` environment variables.

Environment variables are read as pydantic-settings read them, without its import cost on every cold start
(issue 16): names are case-insensitive, list, set and model fields take JSON, and `ToolgateSettings` takes
a sub-model's fields as `TOOLGATE_RUNTIME__ALLOW_HTTP`.
"""

from __future__ import annotations

import json
import os
import types
import typing
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

MIB = 1024 * 1024

_JSON_ORIGINS = (list, set, frozenset, dict, tuple)


def _json_kind(annotation: Any) -> str | None:
    """ "json" if a variable for this field must hold JSON (a list, set, dict or model), "maybe" for a union
    with such a member (a value that is not JSON is then validated as given), None for a plain value."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [_json_kind(member) for member in typing.get_args(annotation)]
        return "maybe" if any(members) else None
    if origin is Annotated:
        return _json_kind(typing.get_args(annotation)[0])
    if origin in _JSON_ORIGINS or annotation in _JSON_ORIGINS:
        return "json"
    return "json" if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _decoded(variable: str, annotation: Any, value: str) -> Any:
    kind = _json_kind(annotation)
    if kind is None:
        return value
    try:
        return json.loads(value)
    except ValueError:
        if kind == "maybe":
            return value
        raise ValueError(f"environment variable {variable.upper()} must hold JSON for this setting") from None


class EnvironmentSettings(BaseModel):
    """A settings model whose constructor fills unset fields from `{env_prefix}{FIELD}` variables.

    Keyword arguments win over the environment. pydantic runs this `__init__` for `model_validate` too;
    only `model_construct` (no validation) skips the environment.
    """

    model_config = ConfigDict(extra="ignore", validate_default=True, defer_build=True)
    env_prefix: ClassVar[str] = "TOOLGATE_"
    #: Set: a model-typed field also takes its fields one by one, as `{PREFIX}{FIELD}{delimiter}{SUBFIELD}`.
    env_nested_delimiter: ClassVar[str | None] = None

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**self.environment_values(), **values})

    @classmethod
    def from_environment(cls) -> Self:
        """The settings from the environment alone (what `cls()` builds, for models with required fields)."""
        return cls.model_validate({})

    @classmethod
    def environment_values(cls) -> dict[str, Any]:
        environment = {name.lower(): value for name, value in os.environ.items()}
        found: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            variable = f"{cls.env_prefix}{name}".lower()
            if variable in environment:
                found[name] = _decoded(variable, field.annotation, environment[variable])
            submodel = field.annotation
            if cls.env_nested_delimiter and isinstance(submodel, type) and issubclass(submodel, BaseModel):
                nested = f"{variable}{cls.env_nested_delimiter}".lower()
                subfields = {
                    sub: _decoded(nested + sub, subfield.annotation, environment[nested + sub])
                    for sub, subfield in submodel.model_fields.items()
                    if nested + sub in environment
                }
                if subfields:
                    whole = found.get(name)
                    found[name] = {**whole, **subfields} if isinstance(whole, dict) else subfields
        return found


class CompileLimits(BaseModel):
    """Bounds that keep hostile specs from exhausting time, memory or the C stack."""

    model_config = ConfigDict(defer_build=True)

    max_spec_bytes: int = Field(default=32 * MIB, gt=0)
    #: Nesting depth of the document; PyYAML's C loader segfaults far above this.
    max_depth: int = Field(default=200, gt=0)
    #: Containers the document would have with every YAML alias expanded.
    max_expanded_nodes: int = Field(default=20_000_000, gt=0)
    #: Allowed ratio of expanded to stored nodes, on top of a small allowance.
    max_alias_expansion_ratio: float = Field(default=4.0, gt=1.0)
    max_bundle_files: int = Field(default=10_000, gt=0)
    max_bundle_bytes: int = Field(default=96 * MIB, gt=0)
    max_operations: int = Field(default=20_000, gt=0)
    #: Serialized size of one tool's input schema before it is pruned.
    max_tool_schema_bytes: int = Field(default=96 * 1024, gt=0)
    max_description_chars: int = Field(default=1024, gt=0)
    #: Time the advisory validator's full walk may take; the meta-schema pass always runs in full.
    validation_time_budget_seconds: float = Field(default=1.0, gt=0)
    max_validation_findings: int = Field(default=200, gt=0)
    #: Overlays applied to one spec (each is recorded, with its digest, on the version).
    max_overlays: int = Field(default=20, gt=0)
    #: Actions in one overlay.
    max_overlay_actions: int = Field(default=2_000, gt=0)
    #: Nodes one overlay action's JSONPath target (or copy source) may select.
    max_overlay_matches: int = Field(default=100_000, gt=0)
    #: Containers and long strings the overlays' updates and copies may add to the spec, over all actions.
    max_overlay_added_nodes: int = Field(default=2_000_000, gt=0)


class ArgumentLimits(BaseModel):
    """Bounds on the arguments a model sends with a tool call."""

    model_config = ConfigDict(defer_build=True)

    #: Size of the arguments serialized as compact UTF-8 JSON.
    max_argument_bytes: int = Field(default=256 * 1024, gt=0)
    #: Nesting of objects and arrays; the arguments object itself is depth 1.
    max_argument_depth: int = Field(default=32, gt=0)
    #: Problems listed in one ARGUMENTS_INVALID error; the message says how many more there were.
    max_reported_problems: int = Field(default=100, gt=0)
    #: Compiled input-schema validators kept per process, least recently used dropped first.
    validator_cache_entries: int = Field(default=1024, gt=0)


class RuntimeSettings(BaseModel):
    """How tool calls reach their targets: deadlines, retries, response budgets and the egress guard."""

    model_config = ConfigDict(defer_build=True)

    #: Longest a call may take in total (connect, every read, retries), capped by the caller's budget.
    default_timeout_seconds: float = Field(default=25.0, gt=0)
    #: Decoded bytes read from one response before it is abandoned (a gzip bomb stops here).
    max_response_bytes: int = Field(default=10 * MIB, gt=0)
    #: Characters of body handed to the model; longer bodies are cut with a marker and a hint.
    result_body_chars: int = Field(default=16_000, gt=0)
    #: Output-schema mismatches listed as warnings in one result.
    max_result_warnings: int = Field(default=5, ge=0)
    #: Extra attempts for retryable requests on connect errors, 429, 502, 503 and 504.
    max_retries: int = Field(default=2, ge=0)
    #: Exponential backoff with full jitter: attempt n sleeps up to min(max, base * 2**n).
    retry_backoff_base_seconds: float = Field(default=0.25, ge=0)
    retry_backoff_max_seconds: float = Field(default=4.0, ge=0)
    #: Every loopback port; for tests whose targets run on free ports. Never set by a stack: local mode
    #: names its ports in `allowed_loopback_ports` instead.
    allow_loopback: bool = False
    #: Loopback ports tools may reach (local mode: the ports `--allow-loopback-port` names); every other
    #: loopback port stays refused, moto's and the front door's among them.
    allowed_loopback_ports: frozenset[Annotated[int, Field(ge=1, le=65_535)]] = frozenset()
    #: Private, shared (100.64/10) and unique-local targets, and loopback; for local mode and laptops.
    #: Link-local (cloud metadata) and other special-purpose addresses stay refused.
    allow_private: bool = False
    #: Plain http to public hosts; http to an allowed loopback or private address is always accepted.
    allow_http: bool = False
    #: Host names (or `*.suffix` patterns) every call may reach; None allows any public host.
    #: A tenant's own list, given per call, replaces this one.
    allowed_hosts: list[str] | None = None
    #: An OAuth2 token is refreshed this long before it expires (half its lifetime if that is shorter).
    oauth_refresh_margin_seconds: float = Field(default=30.0, ge=0)
    #: How long a token is cached when the token endpoint states no `expires_in`.
    oauth_default_token_lifetime_seconds: float = Field(default=300.0, ge=0)
    #: Attempts in a row to one tenant's target origin that may fail (no answer, a timeout, or 500, 502,
    #: 503, 504) before its circuit opens and calls fail fast with CIRCUIT_OPEN.
    breaker_failure_threshold: int = Field(default=5, ge=1)
    #: How long an open circuit refuses calls before one trial request may probe the target.
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    #: Circuits (tenant and target origin) kept per process, least recently used dropped first.
    breaker_max_circuits: int = Field(default=1024, gt=0)
    #: Connection pools (one per destination address) kept per session.
    max_connection_pools: int = Field(default=32, gt=0)
    #: Sessions with a client certificate (one per tenant and credential) kept per process.
    max_client_certificate_sessions: int = Field(default=64, gt=0)


class ToolgateSettings(EnvironmentSettings):
    env_nested_delimiter: ClassVar[str | None] = "__"

    compile: CompileLimits = Field(default_factory=CompileLimits)
    arguments: ArgumentLimits = Field(default_factory=ArgumentLimits)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)


@lru_cache(maxsize=1)
def get_settings() -> ToolgateSettings:
    return ToolgateSettings()


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
    def _margin_fits_the_session(self) -> ServiceSettings:
        # A presigned URL stops working when the credentials that signed it expire.
        if self.session_refresh_margin_seconds <= self.upload_url_expiry_seconds:
            raise ValueError("session_refresh_margin_seconds must exceed upload_url_expiry_seconds")
        if self.session_refresh_margin_seconds >= self.session_duration_seconds:
            raise ValueError("session_refresh_margin_seconds must be shorter than session_duration_seconds")
        return self


@lru_cache(maxsize=1)
def get_service_settings() -> ServiceSettings:
    return ServiceSettings.from_environment()


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
    def _defaults_within_the_ceilings(self) -> LimitSettings:
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


class JobSettings(EnvironmentSettings):
    """Long-running operations (`TOOLGATE_JOBS_*`): the state machine, the poll schedule and lifetimes."""

    env_prefix: ClassVar[str] = "TOOLGATE_JOBS_"

    #: The jobs state machine; without it, async tools are refused with JOBS_UNAVAILABLE.
    state_machine_arn: str | None = None
    #: First wait before polling a status endpoint; each next wait is `poll_backoff` times longer, up to
    #: `max_poll_interval_seconds`. A `Retry-After` from the target is honoured within those bounds.
    first_poll_seconds: int = Field(default=5, ge=0, le=3600)
    poll_backoff: float = Field(default=2.0, ge=1.0, le=10.0)
    max_poll_interval_seconds: int = Field(default=60, ge=0, le=3600)
    #: A polled job still running after this long fails with JOB_TIMED_OUT.
    max_job_seconds: int = Field(default=3600, ge=1, le=86_400)
    #: Status polls in a row that may fail transiently (timeouts, 429, 5xx) before the job fails.
    max_status_failures: int = Field(default=5, ge=1, le=50)
    #: Lifetime of a callback URL, and so how long a callback job waits: the one source of the waiting
    #: task's heartbeat and timeout, which the state machine reads from the execution's input.
    callback_ttl_seconds: int = Field(default=86_400, ge=60, le=86_400)
    #: Largest callback body accepted.
    max_callback_bytes: int = Field(default=1 * MIB, ge=1024, le=6 * MIB)
    #: A finished job and its result stay readable this long. At most a day: S3's lifecycle rule deletes a
    #: kept result a day after it was written (`RESULT_RETENTION_DAYS` in infra/tenancy.py).
    retention_seconds: int = Field(default=86_400, ge=60, le=86_400)
    #: Characters of result kept on the job item; a longer one is kept in S3 and paged.
    inline_result_chars: int = Field(default=16_000, ge=1000, le=100_000)

    @model_validator(mode="after")
    def _backoff_starts_within_its_cap(self) -> JobSettings:
        if self.first_poll_seconds > self.max_poll_interval_seconds:
            raise ValueError("first_poll_seconds must not exceed max_poll_interval_seconds")
        return self


class CallbackSettings(EnvironmentSettings):
    """Where callback URLs point and how they are signed (`TOOLGATE_CALLBACK_*`, set by the CDK stack)."""

    env_prefix: ClassVar[str] = "TOOLGATE_CALLBACK_"

    #: The API's public base, without `/v1`: `https://{api}.execute-api.{region}.amazonaws.com/prod`.
    base_url: str = Field(min_length=1)
    #: The Secrets Manager secret holding the master signing key.
    signing_secret_arn: str = Field(min_length=1)


@lru_cache(maxsize=1)
def get_job_settings() -> JobSettings:
    return JobSettings()


@lru_cache(maxsize=1)
def get_callback_settings() -> CallbackSettings:
    return CallbackSettings.from_environment()


class McpSettings(EnvironmentSettings):
    """The MCP server (`POST /v1/assistants/{assistant}/mcp`, `TOOLGATE_MCP_*`)."""

    env_prefix: ClassVar[str] = "TOOLGATE_MCP_"

    #: Largest JSON-RPC request body read; a larger one is refused with 413 before it is parsed.
    max_request_bytes: int = Field(default=1 * MIB, ge=1024, le=6 * MIB)
    #: Tools in one `tools/list` page.
    page_size: int = Field(default=100, ge=1, le=1000)
    #: How long a 2026-07-28 client may keep a `tools/list` page (`ttlMs`); an upload changes the list.
    list_ttl_ms: int = Field(default=60_000, ge=0, le=3_600_000)
    #: Assistants' catalogs (with their rendered tool lists) a warm function keeps, least recently used
    #: dropped first; a GitHub-sized catalog of 1,000+ tools is some megabytes.
    catalog_cache_entries: int = Field(default=32, ge=1, le=1024)


@lru_cache(maxsize=1)
def get_mcp_settings() -> McpSettings:
    return McpSettings()


class CatalogSettings(EnvironmentSettings):
    """What an assistant's tools may cost, and how the REST listing pages them (`TOOLGATE_CATALOG_*`)."""

    env_prefix: ClassVar[str] = "TOOLGATE_CATALOG_"

    #: Tokens of tool definitions an assistant may send with every request before the upload report and
    #: the listing warn (CATALOG_TOKEN_BUDGET_EXCEEDED), in any dialect.
    token_budget: int = Field(default=20_000, ge=1)
    #: Tools in one page of `GET /v1/assistants/{a}/tools` when the caller names no `limit` ...
    listing_page_size: int = Field(default=200, ge=1, le=1000)
    #: ... and the most it may name.
    max_listing_page_size: int = Field(default=500, ge=1, le=1000)
    #: Largest listing body: a page that would be larger holds fewer tools. Lambda answers at most 6 MB
    #: (the whole response, headers and JSON escaping included), so this keeps a wide margin.
    max_listing_bytes: int = Field(default=4 * MIB, ge=256 * 1024, le=5 * MIB)

    @model_validator(mode="after")
    def _default_page_within_the_max(self) -> CatalogSettings:
        if self.listing_page_size > self.max_listing_page_size:
            raise ValueError("listing_page_size must not exceed max_listing_page_size")
        return self


@lru_cache(maxsize=1)
def get_catalog_settings() -> CatalogSettings:
    return CatalogSettings()


# --- Tool search (issue 15, slice wire) ------------------------------------------------------------

#: The output sizes Titan Text Embeddings V2 accepts (`dimensions`).
TITAN_V2_DIMENSIONS = frozenset({256, 512, 1024})


class SearchSettings(EnvironmentSettings):
    """Tool search for agents (`toolgate_search_tools`, the listing's `?query=`; `TOOLGATE_SEARCH_*`)."""

    env_prefix: ClassVar[str] = "TOOLGATE_SEARCH_"

    #: The search function's name (set by the stack on the functions that call it); None: no search here.
    function_name: str | None = None
    #: An assistant with more tools than this is listed as its pinned tools plus `toolgate_search_tools`.
    threshold: int = Field(default=40, ge=0)
    #: The most tools one search returns; a larger `limit` is clamped to it (each is a full definition).
    max_results: int = Field(default=20, ge=1, le=50)
    #: Results when the caller gives no `limit`.
    default_results: int = Field(default=5, ge=1, le=50)
    #: Loaded assistant indexes a warm search function keeps, least recently used dropped first.
    index_cache_entries: int = Field(default=16, ge=1, le=256)

    # --- Bedrock embeddings (issue 15, slice bedrock) ---
    #: The semantic stage's embedder: the offline model in the search layer, or Bedrock's
    #: (`-c toolgate:embeddings=bedrock` sets it and grants `bedrock:InvokeModel` on `bedrock_model_id`).
    embeddings: Literal["offline", "bedrock"] = "offline"
    #: A Titan Text Embeddings V2 model id: its request and response bodies are the ones the adapter speaks.
    bedrock_model_id: str = Field(default="amazon.titan-embed-text-v2:0", min_length=1, max_length=200)
    #: The vector size: Titan V2 accepts 256, 512 or 1024.
    bedrock_dimensions: int = 512
    #: Concurrent InvokeModel requests while an upload embeds its tools (one request per tool).
    bedrock_concurrency: int = Field(default=8, ge=1, le=32)

    @model_validator(mode="after")
    def _titan_dimensions(self) -> SearchSettings:
        if self.bedrock_dimensions not in TITAN_V2_DIMENSIONS:
            raise ValueError(f"bedrock_dimensions must be one of {sorted(TITAN_V2_DIMENSIONS)}")
        return self


@lru_cache(maxsize=1)
def get_search_settings() -> SearchSettings:
    return SearchSettings()
