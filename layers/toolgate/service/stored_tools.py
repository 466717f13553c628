"""Reading back what every tool call needs, a stored tool and its integration's credential: apart from
ingestion and the jobs code (issue 16, cold start: the invoke path loads neither)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolgate.runtime.credentials import Credential, parse_credential
from toolgate.spec.models import CanonicalTool

if TYPE_CHECKING:
    from toolgate.service.models import IntegrationRecord, StoredTool
    from toolgate.service.ports import CredentialReader, TenantResources


def load_tool(tool: StoredTool, resources: TenantResources) -> CanonicalTool:
    """The canonical tool of a stored item, from the item or from its S3 pointer."""
    if tool.tool_json is not None:
        return CanonicalTool.model_validate_json(tool.tool_json)
    if tool.tool_key is None:
        raise ValueError(f"tool item {tool.name} has neither its JSON nor a pointer")
    return CanonicalTool.model_validate_json(resources.objects.get(tool.tool_key))


def integration_credential(
    integration: IntegrationRecord,
    credentials: CredentialReader,
    *,
    binding: str | None = None,
    fresh: bool = False,
) -> Credential | None:
    """The integration's credential, read through `credentials` (see `CredentialReader.get` for
    `binding` and `fresh`); None when none is stored. An unbound integration that names no shared slot
    has none, and nothing is read for it."""
    if integration.credential is None and integration.settings.credential is None:
        return None
    text = credentials.get(integration.credential_slot, binding=binding, fresh=fresh)
    return None if text is None else parse_credential(text)
