"""Token footprints: what tool definitions cost in every dialect, for an integration and for each
assistant after its toolset, with warnings past the budget or a dialect's tool cap.

Counts are made once per tool at upload (`toolgate.dialects.tokens`) and stored with the tool; a tool
without stored counts (an older revision, Toolgate's job-status tool) is counted when asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from toolgate.dialects import Dialect, render_tools
from toolgate.dialects.tokens import (
    APPROXIMATION_FACTORS,
    CHARS_PER_O200K_TOKEN,
    EXACT_DIALECTS,
    definitions_tokens,
    footprint_warnings,
)
from toolgate.errors import ToolgateError
from toolgate.service.catalog import AssistantCatalog, FreshTools, assistant_catalog
from toolgate.service.models import AssistantRecord, utc_now
from toolgate.service.ports import TenantResources
from toolgate.spec.models import Finding, Severity


def tokenizers() -> dict[str, str]:
    """How each dialect is counted, by dialect name."""
    return {
        dialect.value: "o200k_base"
        if dialect in EXACT_DIALECTS
        else f"approximation: characters / {CHARS_PER_O200K_TOKEN} x {APPROXIMATION_FACTORS[dialect]}"
        for dialect in Dialect
    }


class AssistantFootprint(BaseModel):
    id: str
    tool_count: int
    #: Tokens of the assistant's tools (after its toolset) by dialect name.
    tokens: dict[str, int] = Field(default_factory=dict)
    warnings: list[Finding] = Field(default_factory=list)


class UploadFootprint(BaseModel):
    """The token footprint in an upload report."""

    #: How each dialect was counted.
    tokenizers: dict[str, str]
    #: The integration's tools together, by dialect name.
    tokens: dict[str, int]
    #: Each tool's tokens by dialect name.
    tools: dict[str, dict[str, int]]
    #: Every assistant with this integration, after its toolset, as it stands with this upload.
    assistants: list[AssistantFootprint]
    warnings: list[Finding]


def upload_footprint(
    resources: TenantResources,
    integration_id: str,
    fresh: FreshTools,
    linked_assistants: Sequence[str],
    budget: int,
) -> UploadFootprint:
    """The footprint of an upload's tools (`fresh`), alone and in each assistant that has or is about to
    have (`linked_assistants`) the integration."""
    totals = _sum(fresh.tokens)
    subject = f"Integration '{integration_id}'"
    assistants = [
        _assistant_footprint(resources, assistant, integration_id, fresh, budget)
        for assistant in _assistants_with(resources, integration_id, linked_assistants)
    ]
    return UploadFootprint(
        tokenizers=tokenizers(),
        tokens=totals,
        tools={tool.name: counts for tool, counts in zip(fresh.tools, fresh.tokens, strict=True)},
        assistants=assistants,
        warnings=footprint_warnings(subject, len(fresh.tools), totals, budget),
    )


def catalog_tokens(catalog: AssistantCatalog, dialect: Dialect) -> int:
    """Tokens of the catalog's tools in `dialect`; tools without a stored count are counted now."""
    known = [counts.get(dialect.value) for counts in catalog.tokens]
    missing = [tool for tool, count in zip(catalog.tools, known, strict=True) if count is None]
    counted = definitions_tokens(render_tools(missing, dialect).definitions, dialect) if missing else []
    return sum(count for count in known if count is not None) + sum(counted)


def _assistant_footprint(
    resources: TenantResources,
    assistant: AssistantRecord,
    integration_id: str,
    fresh: FreshTools,
    budget: int,
) -> AssistantFootprint:
    subject = f"Assistant '{assistant.assistant_id}'"
    try:
        catalog = assistant_catalog(resources, assistant, fresh={integration_id: fresh})
    except ToolgateError as error:
        problem = Finding(code=error.code, severity=Severity.WARNING, message=error.message)
        return AssistantFootprint(id=assistant.assistant_id, tool_count=0, warnings=[problem])
    tokens = {dialect.value: catalog_tokens(catalog, dialect) for dialect in Dialect}
    return AssistantFootprint(
        id=assistant.assistant_id,
        tool_count=len(catalog.tools),
        tokens=tokens,
        warnings=footprint_warnings(subject, len(catalog.tools), tokens, budget),
    )


def _assistants_with(
    resources: TenantResources, integration_id: str, linked: Sequence[str]
) -> list[AssistantRecord]:
    """The tenant's assistants with the integration, and those the upload links it to (made if missing)."""
    found = {record.assistant_id: record for record in resources.store.list_assistants()}
    now = utc_now()
    for assistant_id in linked:
        record = found.get(assistant_id) or AssistantRecord(
            assistant_id=assistant_id, created_at=now, updated_at=now
        )
        if integration_id not in record.integrations:
            found[assistant_id] = record.model_copy(
                update={"integrations": [*record.integrations, integration_id]}
            )
    return [record for record in found.values() if integration_id in record.integrations]


def _sum(per_tool: Sequence[dict[str, int]]) -> dict[str, int]:
    return {dialect.value: sum(counts.get(dialect.value, 0) for counts in per_tool) for dialect in Dialect}
