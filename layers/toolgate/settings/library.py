"""The library's own bounds: compiling specs, checking a call's arguments, and reaching its target."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic then
# skips parsing each one from a string, a third of a model's cold-start cost (issue 16).

from functools import lru_cache
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from toolgate.settings.base import MIB, EnvironmentSettings


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
