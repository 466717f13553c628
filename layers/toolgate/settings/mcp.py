"""The MCP server's settings (the MCP function)."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic then
# skips parsing each one from a string, a third of a model's cold-start cost (issue 16).

from functools import lru_cache
from typing import ClassVar

from pydantic import Field

from toolgate.settings.base import MIB, EnvironmentSettings


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
