"""An assistant's toolset: which tools of its integrations it may list and call.

One predicate, used by listing, invoke and MCP alike, so a tool that is not listed cannot be called:

- `tools`: globs (`fnmatch`, case-sensitive) matched against each tool's name and its operationId; a
  plain name matches itself.
- `tags`: OpenAPI tags; a tool with one of them is in.
- Neither given: every tool is in. Both given: a tool matching either is in.
- `read_only: true` keeps only the tools the compiler marks read-only.
- `exclude`: globs like `tools`; a matching tool is out, whatever else matched it.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from toolgate.service.models import AssistantRecord
from toolgate.spec.models import CanonicalTool


def assistant_allows(assistant: AssistantRecord, tool: CanonicalTool) -> bool:
    """Whether `tool` is in the assistant's toolset."""
    if assistant.tools is None and assistant.tags is None:
        included = True
    else:
        included = tool_matches(tool, assistant.tools or ()) or bool(
            set(assistant.tags or ()) & set(tool.tags)
        )
    if not included or (assistant.read_only and not tool.annotations.read_only):
        return False
    return not tool_matches(tool, assistant.exclude)


def tool_matches(tool: CanonicalTool, patterns: Sequence[str]) -> bool:
    """Whether one of the globs matches the tool's name or its operationId."""
    names = [tool.name] if tool.operation_id is None else [tool.name, tool.operation_id]
    return any(fnmatchcase(name, pattern) for pattern in patterns for name in names)
