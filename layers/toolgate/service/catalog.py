"""An assistant's tools: the canonical tools of its ready integrations, through its toolset, plus
Toolgate's job-status tool when one of them is a long-running operation. The management API's listing
and the MCP server's `tools/list` both read them here, in one stable order: the assistant's integrations
in order, each one's tools as stored.

Pure: the tenant's store is reached through `TenantResources`.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolgate.errors import ConflictError, ToolNameConflictError
from toolgate.service.ingest import load_tool
from toolgate.service.jobs.records import JOB_STATUS_TOOL, job_pattern, job_status_tool
from toolgate.service.models import AssistantRecord, IntegrationRecord
from toolgate.service.ports import TenantResources
from toolgate.service.toolsets import assistant_allows
from toolgate.spec.models import CanonicalTool

_TOOL_READ_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class AssistantCatalog:
    tools: list[CanonicalTool]
    #: (integration id, status) of each integration without a ready version: "missing" when deleted.
    unavailable: list[tuple[str, str]]


def assistant_catalog(resources: TenantResources, assistant: AssistantRecord) -> AssistantCatalog:
    """The assistant's tools; ToolNameConflictError when two integrations define one name."""
    assistant_id = assistant.assistant_id
    tools: list[CanonicalTool] = []
    owners: dict[str, str] = {}
    unavailable: list[tuple[str, str]] = []
    for integration_id in assistant.integrations:
        integration = resources.store.get_integration(integration_id)
        if integration is None or integration.ready is None:
            unavailable.append((integration_id, integration.status.value if integration else "missing"))
            continue
        for tool in ready_tools(resources, integration):
            if not assistant_allows(assistant, tool):
                continue
            if tool.name in owners:
                raise ToolNameConflictError(
                    f"Integrations '{owners[tool.name]}' and '{integration_id}' both define tool "
                    f"'{tool.name}'; list only one of them in assistant '{assistant_id}' or limit its "
                    "toolset."
                )
            owners[tool.name] = integration_id
            tools.append(tool)
    if any(job_pattern(tool) is not None for tool in tools):
        if JOB_STATUS_TOOL in owners:
            raise ToolNameConflictError(
                f"Integration '{owners[JOB_STATUS_TOOL]}' defines a tool named '{JOB_STATUS_TOOL}', "
                "which is Toolgate's own job-status tool for long-running operations; leave it out "
                "with the integration's `exclude` setting."
            )
        tools.append(job_status_tool())
    return AssistantCatalog(tools=tools, unavailable=unavailable)


def ready_tools(resources: TenantResources, integration: IntegrationRecord) -> list[CanonicalTool]:
    """The ready revision's tools; read again if an upload replaced the revision meanwhile."""
    for _ in range(_TOOL_READ_ATTEMPTS):
        ready = integration.ready
        if ready is None:
            return []
        items = resources.store.list_tools(integration.integration_id, ready.revision)
        if len(items) == ready.tool_count:
            return [load_tool(item, resources) for item in items]
        refreshed = resources.store.get_integration(integration.integration_id)
        if refreshed is None:
            return []
        integration = refreshed
    raise ConflictError(
        f"Integration '{integration.integration_id}' is being replaced; list the tools again shortly."
    )
