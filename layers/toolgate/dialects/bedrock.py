"""Amazon Bedrock Converse tools: `{"toolSpec": {"name", "description", "inputSchema": {"json": ...}}}`.

ToolSpecification: name 1 to 64 characters of `[a-zA-Z0-9_-]`, description at least 1 character. The
schema reaches the model as it is; Claude on Bedrock refuses a root `oneOf`/`anyOf`/`allOf` and
property keys outside `^[a-zA-Z0-9_.-]{1,64}$`, so the Anthropic rules apply to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from toolgate.dialects.base import FUNCTION_NAME, PROPERTY_KEY, DialectCode, LossLog, describe, violation
from toolgate.dialects.checks import (
    check_json_schema_root,
    check_names_and_count,
    check_property_keys,
    check_text,
)
from toolgate.dialects.schema_rewrite import UNION_KEYWORDS, object_root
from toolgate.spec.models import CanonicalTool, Finding


class BedrockRenderer:
    def render(self, tool: CanonicalTool, log: LossLog) -> dict[str, Any]:
        schema = object_root(tool.input_schema, log, UNION_KEYWORDS)
        return {
            "toolSpec": {
                "name": tool.name,
                "description": describe(tool, log),
                "inputSchema": {"json": schema},
            }
        }


def check_bedrock(definitions: Sequence[Any]) -> list[Finding]:
    findings: list[Finding] = []
    names: list[tuple[int, Any]] = []
    for index, definition in enumerate(definitions):
        spec = definition.get("toolSpec") if isinstance(definition, dict) else None
        input_schema = spec.get("inputSchema") if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or not isinstance(input_schema, dict) or len(definition) != 1:
            findings.append(
                violation(
                    DialectCode.DEFINITION_INVALID,
                    f"tool {index} must be exactly {{'toolSpec': {{..., 'inputSchema': {{'json': ...}}}}}}",
                    f"/{index}",
                )
            )
            continue
        at = f"/{index}/toolSpec"
        names.append((index, spec.get("name")))
        findings.extend(check_text(spec.get("name"), FUNCTION_NAME, at + "/name", DialectCode.NAME_INVALID))
        findings.extend(
            check_text(spec.get("description"), None, at + "/description", DialectCode.DESCRIPTION_INVALID)
        )
        schema = input_schema.get("json")
        findings.extend(check_json_schema_root(schema, at + "/inputSchema/json", UNION_KEYWORDS))
        findings.extend(check_property_keys(schema, at + "/inputSchema/json", PROPERTY_KEY))
    findings.extend(check_names_and_count(names, None, "Bedrock", "/{index}/toolSpec/name"))
    return findings
