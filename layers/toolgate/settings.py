"""Settings, modelled once. Values come from defaults and `TOOLGATE_*` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class CompileLimits(BaseModel):
    """Bounds that keep hostile specs from exhausting time, memory or the C stack."""

    max_spec_bytes: int = Field(default=32 * MIB, gt=0)
    #: Nesting depth of the document; PyYAML's C loader segfaults far above this.
    max_depth: int = Field(default=200, gt=0)
    #: Nodes the document would have with every YAML alias expanded.
    max_expanded_nodes: int = Field(default=20_000_000, gt=0)
    #: Allowed ratio of expanded to stored nodes, on top of a small allowance.
    max_alias_expansion_ratio: float = Field(default=4.0, gt=1.0)
    max_bundle_files: int = Field(default=10_000, gt=0)
    max_bundle_bytes: int = Field(default=96 * MIB, gt=0)
    max_operations: int = Field(default=20_000, gt=0)
    #: Serialized size of one tool's input schema before it is pruned.
    max_tool_schema_bytes: int = Field(default=96 * 1024, gt=0)
    max_description_chars: int = Field(default=1024, gt=0)


class ArgumentLimits(BaseModel):
    """Bounds on the arguments a model sends with a tool call."""

    max_argument_bytes: int = Field(default=256 * 1024, gt=0)
    max_argument_depth: int = Field(default=32, gt=0)


class RuntimeSettings(BaseModel):
    """How tool calls reach their targets: deadlines, retries, response budgets and the egress guard."""

    default_timeout_seconds: float = Field(default=25.0, gt=0)
    max_response_bytes: int = Field(default=10 * MIB, gt=0)
    result_body_chars: int = Field(default=16_000, gt=0)
    max_retries: int = Field(default=2, ge=0)
    #: Loopback targets are refused unless this is set (tests and local mode only).
    allow_loopback: bool = False


class ToolgateSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOOLGATE_", env_nested_delimiter="__", extra="ignore")

    compile: CompileLimits = Field(default_factory=CompileLimits)
    arguments: ArgumentLimits = Field(default_factory=ArgumentLimits)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)


@lru_cache(maxsize=1)
def get_settings() -> ToolgateSettings:
    return ToolgateSettings()
