"""MCP tools as listed by `tools/list` (spec revision 2025-11-25, compatible with 2025-06-18).

`{"name", "title"?, "description", "inputSchema", "outputSchema", "annotations"}`. Both schemas are
JSON Schema 2020-12 whose root must be `type: object`; a tool name SHOULD be 1 to 128 characters of
`[A-Za-z0-9_.-]`.

The spec says a tool with an `outputSchema` MUST return `structuredContent` that conforms to it, and the
official clients refuse a result that does not ("has an output schema but did not return structured
content"). An upstream API can answer anything: off-schema JSON, text, a cut body, an error, or a job
that has only started. So every tool's `outputSchema` describes Toolgate's result envelope, which is
what `structuredContent` always holds (`dialects.calls`). The API's documented response schema stays in
it as the schema of `body`, applied only where the runtime vouches for the body: a successful call whose
whole JSON body matched the documented schema (`ok` true, no `truncated`, no `warnings`, no `job`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import jsonschema_rs

from toolgate.dialects.base import DialectCode, LossLog, describe, schema_depth_bound, violation
from toolgate.dialects.checks import check_json_schema_root, check_names_and_count, check_text
from toolgate.dialects.schema_rewrite import SubschemaRepair, find_subschemas, object_root
from toolgate.settings import get_settings
from toolgate.spec.models import CanonicalTool, Finding, JsonSchema, Severity

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
#: Keywords that change how `$ref`s resolve: a body schema holding one is not embedded in the envelope.
_RESOURCE_KEYWORDS = frozenset({"$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveRef"})

#: The result envelope (`runtime.envelope`, plus `continuation` and `job` from the service), kept open:
#: new fields must not break listed tools.
_ENVELOPE_PROPERTIES: dict[str, Any] = {
    "ok": {"type": "boolean", "description": "Whether the call succeeded; false comes with `error`."},
    "status": {"type": "integer", "description": "The API's HTTP status, when it answered."},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    "body": {"description": "The API's response body: JSON as it is, other content as text."},
    "truncated": {"type": "boolean", "description": "The body was cut; `hint` says how to get the rest."},
    "trimmed": {
        "type": "boolean",
        "description": "The body holds only the parts the admin selected; `full_response` has the whole.",
    },
    "hint": {"type": "string"},
    "warnings": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Where the body does not match the documented response schema.",
    },
    "error": {
        "type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        "required": ["code", "message"],
    },
    "continuation": {"type": "object", "description": "How to page through a body that was cut."},
    "full_response": {"type": "object", "description": "How to read the whole of a trimmed response."},
    "job": {"type": "object", "description": "A long-running operation that was started."},
}
#: When the runtime vouches for the body: a success with a whole, checked JSON body.
_BODY_CHECKED = {
    "properties": {"ok": {"const": True}, "body": {"not": {"type": "string"}}},
    "required": ["ok", "body"],
    "not": {"anyOf": [{"required": ["truncated"]}, {"required": ["warnings"]}, {"required": ["job"]}]},
}


def envelope_schema(body: JsonSchema | None = None) -> JsonSchema:
    """The envelope's schema; with `body`, the documented body schema applies to a vouched-for body."""
    schema: JsonSchema = {
        "type": "object",
        "description": "Toolgate's result envelope around the API's answer.",
        "properties": _ENVELOPE_PROPERTIES,
        "required": ["ok"],
    }
    if body is None:
        return schema
    defs = body.get("$defs")
    inner = {k: v for k, v in body.items() if k not in {"$defs", "$schema"}}
    schema = {**schema, "if": _BODY_CHECKED, "then": {"properties": {"body": inner}}}
    return {**schema, "$defs": defs} if isinstance(defs, dict) and defs else schema


class MCPRenderer:
    def __init__(self) -> None:
        self._patterns = SubschemaRepair(_drop_foreign_pattern, schema_depth_bound())
        self._vouched = get_settings().runtime.max_result_warnings > 0

    def render(self, tool: CanonicalTool, log: LossLog) -> dict[str, Any]:
        hints = tool.annotations
        annotations: dict[str, Any] = {
            "readOnlyHint": hints.read_only,
            "destructiveHint": hints.destructive,
            "idempotentHint": hints.idempotent,
            "openWorldHint": hints.open_world,
        }
        view = model_view(tool, log)
        definition: dict[str, Any] = {"name": tool.name}
        if hints.title:
            definition["title"] = hints.title
            annotations = {"title": hints.title, **annotations}
        definition["description"] = view["description"]
        definition["inputSchema"] = view["inputSchema"]
        definition["outputSchema"] = envelope_schema(self._body_schema(tool, log))
        definition["annotations"] = annotations
        return definition

    def _body_schema(self, tool: CanonicalTool, log: LossLog) -> JsonSchema | None:
        """The documented response schema, if clients can check bodies against it as the runtime does."""
        schema = tool.output_schema
        if schema is None:
            return None
        if not self._vouched:
            _note_body_schema_dropped(log, "the runtime does not check bodies (max_result_warnings is 0)")
            return None
        if find_subschemas(schema, _unembeddable, schema_depth_bound()):
            _note_body_schema_dropped(log, "it has a `$ref` other than `#/$defs/...`, or a `$id` or anchor")
            return None
        body_log = LossLog()
        repaired = self._patterns(schema, body_log)
        log.absorb(body_log, "/outputSchema/then/properties/body")
        if not _usable(envelope_schema(repaired)):
            _note_body_schema_dropped(log, "it is not valid JSON Schema 2020-12")
            return None
        return repaired


def model_view(tool: CanonicalTool, log: LossLog) -> dict[str, Any]:
    """What an MCP host hands its model of the tool: its name, description and input schema, as `tools/list`
    lists them (the output schema and annotations are for the client; token counts read this alone)."""
    return {
        "name": tool.name,
        "description": describe(tool, log),
        "inputSchema": object_root(tool.input_schema, log, ()),
    }


def _note_body_schema_dropped(log: LossLog, reason: str) -> None:
    log.add(
        DialectCode.OUTPUT_SCHEMA_DROPPED,
        f"the documented response schema was left out of the MCP outputSchema: {reason}; results still "
        "carry the envelope as structured content",
        "/outputSchema",
        Severity.WARNING,
    )


def _unembeddable(node: dict[str, Any]) -> bool:
    ref = node.get("$ref")
    return bool(_RESOURCE_KEYWORDS & node.keys()) or (
        ref is not None and not (isinstance(ref, str) and ref.startswith("#/$defs/"))
    )


def _drop_foreign_pattern(node: dict[str, Any], log: LossLog) -> dict[str, Any]:
    """Without a `pattern` Python cannot compile: the official client checks schemas with Python's `re`."""
    pattern = node.get("pattern")
    if not isinstance(pattern, str) or _compiles(pattern):
        return node
    log.add(
        DialectCode.KEYWORD_DROPPED,
        "a `pattern` Python's `re` cannot compile was dropped: MCP clients would refuse the schema",
        severity=Severity.WARNING,
        subject="pattern",
    )
    return {k: v for k, v in node.items() if k != "pattern"}


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def _usable(schema: JsonSchema) -> bool:
    """Valid 2020-12 whose `$ref`s all resolve within the schema, and whose other regexes compile."""
    if find_subschemas(schema, _foreign_pattern_keys, schema_depth_bound()):
        return False
    try:
        # Compiled as the runtime compiles output schemas (`runtime.envelope`).
        jsonschema_rs.validator_for(
            schema, retriever=_refuse_retrieval, pattern_options=jsonschema_rs.FancyRegexOptions()
        )
        return bool(jsonschema_rs.meta.is_valid(schema))
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError):
        return False


def _foreign_pattern_keys(node: dict[str, Any]) -> bool:
    keys = node.get("patternProperties")
    return isinstance(keys, dict) and not all(_compiles(key) for key in keys)


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"references outside the schema are never fetched ({uri})")


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
