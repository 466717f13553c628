"""MCP tools as listed by `tools/list` (spec revision 2025-11-25, compatible with 2025-06-18).

`{"name", "title"?, "description", "inputSchema", "outputSchema"?, "annotations"}`. Both schemas are
JSON Schema 2020-12 whose root must be `type: object`; a tool name SHOULD be 1 to 128 characters of
`[A-Za-z0-9_.-]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from toolgate.dialects.base import DialectCode, LossLog, describe, violation
from toolgate.dialects.checks import check_json_schema_root, check_names_and_count, check_text
from toolgate.dialects.schema_rewrite import object_root, resolve_pointer
from toolgate.spec.models import CanonicalTool, Finding, JsonSchema

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
#: `$ref` and union levels followed to decide whether an output is always an object.
_MAX_HOPS = 8


class MCPRenderer:
    def render(self, tool: CanonicalTool, log: LossLog) -> dict[str, Any]:
        hints = tool.annotations
        annotations: dict[str, Any] = {
            "readOnlyHint": hints.read_only,
            "destructiveHint": hints.destructive,
            "idempotentHint": hints.idempotent,
            "openWorldHint": hints.open_world,
        }
        definition: dict[str, Any] = {"name": tool.name}
        if hints.title:
            definition["title"] = hints.title
            annotations = {"title": hints.title, **annotations}
        definition["description"] = describe(tool, log)
        definition["inputSchema"] = object_root(tool.input_schema, log, ())
        if tool.output_schema is not None:
            output = _output_schema(tool.output_schema, log)
            if output is not None:
                definition["outputSchema"] = output
        definition["annotations"] = annotations
        return definition


def _output_schema(schema: JsonSchema, log: LossLog) -> JsonSchema | None:
    """The output schema with `type: object` at its root, or None (with a note) when results vary in type."""
    if schema.get("type") == "object":
        return schema
    if "type" not in schema and _always_object(schema, schema, 0):
        log.add(DialectCode.SCHEMA_REWRITTEN, "the output schema root was given `type: object`")
        return {"type": "object", **schema}
    log.add(
        DialectCode.OUTPUT_SCHEMA_DROPPED,
        "MCP output schemas must be objects and this tool's response is not always one: the outputSchema "
        "was left out, so results come back as unstructured content only",
    )
    return None


def _always_object(node: Any, root: JsonSchema, hops: int) -> bool:
    """Whether every value `node` accepts is an object, following local `$ref`s and unions a few levels."""
    if not isinstance(node, dict) or hops > _MAX_HOPS:
        return False
    if node.get("type") == "object":
        return True
    if "type" in node:
        return False
    if isinstance(node.get("$ref"), str):
        return _always_object(resolve_pointer(root, node["$ref"]), root, hops + 1)
    if isinstance(node.get("allOf"), list) and any(_always_object(b, root, hops + 1) for b in node["allOf"]):
        return True
    branches = node.get("anyOf", node.get("oneOf"))
    if isinstance(branches, list) and branches:
        return all(_always_object(b, root, hops + 1) for b in branches)
    return "properties" in node


def check_mcp(definitions: Sequence[Any]) -> list[Finding]:
    findings: list[Finding] = []
    names: list[tuple[int, Any]] = []
    for index, definition in enumerate(definitions):
        if not isinstance(definition, dict):
            findings.append(
                violation(DialectCode.DEFINITION_INVALID, f"tool {index} is not an object", f"/{index}")
            )
            continue
        names.append((index, definition.get("name")))
        findings.extend(check_text(definition.get("name"), NAME, f"/{index}/name", DialectCode.NAME_INVALID))
        findings.extend(
            check_text(
                definition.get("description"), None, f"/{index}/description", DialectCode.DESCRIPTION_INVALID
            )
        )
        findings.extend(check_json_schema_root(definition.get("inputSchema"), f"/{index}/inputSchema", ()))
        if "outputSchema" in definition:
            findings.extend(
                check_json_schema_root(definition["outputSchema"], f"/{index}/outputSchema", (), meta=False)
            )
        annotations = definition.get("annotations", {})
        if not isinstance(annotations, dict) or any(
            not isinstance(annotations.get(hint, False), bool) for hint in _HINTS
        ):
            findings.append(
                violation(
                    DialectCode.DEFINITION_INVALID,
                    "annotation hints must be booleans",
                    f"/{index}/annotations",
                )
            )
    findings.extend(check_names_and_count(names, None, "MCP", "/{index}/name"))
    return findings
