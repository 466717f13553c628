"""Reading a stored tool back: every tool call does it, so it lives apart from ingestion (issue 16, cold
start: the invoke path does not load the upload code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolgate.spec.models import CanonicalTool

if TYPE_CHECKING:
    from toolgate.service.models import StoredTool
    from toolgate.service.ports import TenantResources


def load_tool(tool: StoredTool, resources: TenantResources) -> CanonicalTool:
    """The canonical tool of a stored item, from the item or from its S3 pointer."""
    if tool.tool_json is not None:
        return CanonicalTool.model_validate_json(tool.tool_json)
    if tool.tool_key is None:
        raise ValueError(f"tool item {tool.name} has neither its JSON nor a pointer")
    return CanonicalTool.model_validate_json(resources.objects.get(tool.tool_key))
