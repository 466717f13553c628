"""What an assistant's tools may cost, and how the REST listing pages them (the API and upload functions)."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic then
# skips parsing each one from a string, a third of a model's cold-start cost (issue 16).

from functools import lru_cache
from typing import ClassVar, Self

from pydantic import Field, model_validator

from toolgate.settings.base import MIB, EnvironmentSettings


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
    def _default_page_within_the_max(self) -> Self:
        if self.listing_page_size > self.max_listing_page_size:
            raise ValueError("listing_page_size must not exceed max_listing_page_size")
        return self


@lru_cache(maxsize=1)
def get_catalog_settings() -> CatalogSettings:
    return CatalogSettings()
