"""Settings, modelled once. Values come from defaults and `TOOLGATE_*` environment variables
(`toolgate.settings.base`).

Each group of settings is a module of this package, loaded when one of its names is first taken from
`toolgate.settings` (`from toolgate.settings import JobSettings`): a function defines only the models its
code names, e.g. the authorizer neither the compile limits nor the MCP, catalog or search settings (issue 16,
docs/performance.md "Cold start"). Import these names from `toolgate.settings`, never from the modules:
each getter is cached, and a name taken through here is what `cache_clear` is called on.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolgate.settings.base import MIB as MIB
    from toolgate.settings.base import EnvironmentSettings as EnvironmentSettings
    from toolgate.settings.callbacks import CallbackSettings as CallbackSettings
    from toolgate.settings.callbacks import get_callback_settings as get_callback_settings
    from toolgate.settings.calls import InvokeSettings as InvokeSettings
    from toolgate.settings.calls import LimitSettings as LimitSettings
    from toolgate.settings.calls import get_invoke_settings as get_invoke_settings
    from toolgate.settings.calls import get_limit_settings as get_limit_settings
    from toolgate.settings.catalog import CatalogSettings as CatalogSettings
    from toolgate.settings.catalog import get_catalog_settings as get_catalog_settings
    from toolgate.settings.jobs import JobSettings as JobSettings
    from toolgate.settings.jobs import get_job_settings as get_job_settings
    from toolgate.settings.library import ArgumentLimits as ArgumentLimits
    from toolgate.settings.library import CompileLimits as CompileLimits
    from toolgate.settings.library import RuntimeSettings as RuntimeSettings
    from toolgate.settings.library import ToolgateSettings as ToolgateSettings
    from toolgate.settings.library import get_settings as get_settings
    from toolgate.settings.mcp import McpSettings as McpSettings
    from toolgate.settings.mcp import get_mcp_settings as get_mcp_settings
    from toolgate.settings.search import TITAN_V2_DIMENSIONS as TITAN_V2_DIMENSIONS
    from toolgate.settings.search import SearchSettings as SearchSettings
    from toolgate.settings.search import get_search_settings as get_search_settings
    from toolgate.settings.service import ServiceSettings as ServiceSettings
    from toolgate.settings.service import get_service_settings as get_service_settings

#: Each public name, and the module of this package that defines it.
_HOMES = {
    "MIB": "base",
    "EnvironmentSettings": "base",
    "CallbackSettings": "callbacks",
    "get_callback_settings": "callbacks",
    "InvokeSettings": "calls",
    "LimitSettings": "calls",
    "get_invoke_settings": "calls",
    "get_limit_settings": "calls",
    "CatalogSettings": "catalog",
    "get_catalog_settings": "catalog",
    "JobSettings": "jobs",
    "get_job_settings": "jobs",
    "ArgumentLimits": "library",
    "CompileLimits": "library",
    "RuntimeSettings": "library",
    "ToolgateSettings": "library",
    "get_settings": "library",
    "McpSettings": "mcp",
    "get_mcp_settings": "mcp",
    "TITAN_V2_DIMENSIONS": "search",
    "SearchSettings": "search",
    "get_search_settings": "search",
    "ServiceSettings": "service",
    "get_service_settings": "service",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    # Kept here, so the next lookup is a plain one and `vars(toolgate.settings)` lists it.
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
