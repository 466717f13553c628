"""What every dialect shares: the dialect names, the result model, finding codes and the loss log."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import re
from enum import StrEnum
from typing import Any

from toolgate.settings import get_settings
from toolgate.spec.models import CanonicalTool, Finding, Severity


class Dialect(StrEnum):
    """A model API's tool format. `canonical` (the tool itself) is handled by callers."""

    OPENAI = "openai"
    OPENAI_STRICT = "openai-strict"
    #: OpenAI's Responses API: flat `{"type": "function", "name", ...}` tools.
    OPENAI_RESPONSES = "openai-responses"
    ANTHROPIC = "anthropic"
    BEDROCK = "bedrock"
    GEMINI = "gemini"
    MCP = "mcp"


class DialectCode(StrEnum):
    """Stable codes of loss notes (what rendering dropped or rewrote) and of limit violations."""

    # Losses: the definition is usable, but says less than (or differently from) the canonical tool.
    KEYWORD_DROPPED = "DIALECT_KEYWORD_DROPPED"
    SCHEMA_REWRITTEN = "DIALECT_SCHEMA_REWRITTEN"
    PROPERTY_DROPPED = "DIALECT_PROPERTY_DROPPED"
    ROOT_FLATTENED = "DIALECT_ROOT_FLATTENED"
    STRICT_UNAVAILABLE = "DIALECT_STRICT_UNAVAILABLE"
    DEPTH_EXCEEDED = "DIALECT_DEPTH_EXCEEDED"
    RECURSION_CUT = "DIALECT_RECURSION_CUT"
    SIZE_EXCEEDED = "DIALECT_SIZE_EXCEEDED"
    DESCRIPTION_MISSING = "DIALECT_DESCRIPTION_MISSING"
    DESCRIPTION_TRUNCATED = "DIALECT_DESCRIPTION_TRUNCATED"
    OUTPUT_SCHEMA_DROPPED = "DIALECT_OUTPUT_SCHEMA_DROPPED"
    ARRAY_ITEMS_ADDED = "DIALECT_ARRAY_ITEMS_ADDED"
    PARAMETER_RENAMED = "DIALECT_PARAMETER_RENAMED"
    # Violations: the API would refuse the request as rendered.
    TOO_MANY_TOOLS = "DIALECT_TOO_MANY_TOOLS"
    NAME_INVALID = "DIALECT_NAME_INVALID"
    NAME_DUPLICATE = "DIALECT_NAME_DUPLICATE"
    DESCRIPTION_INVALID = "DIALECT_DESCRIPTION_INVALID"
    DEFINITION_INVALID = "DIALECT_DEFINITION_INVALID"
    SCHEMA_INVALID = "DIALECT_SCHEMA_INVALID"
    PARAMETER_NAME_INVALID = "DIALECT_PARAMETER_NAME_INVALID"
    KEYWORD_UNSUPPORTED = "DIALECT_KEYWORD_UNSUPPORTED"
    ARRAY_ITEMS_MISSING = "DIALECT_ARRAY_ITEMS_MISSING"
    LIMIT_EXCEEDED = "DIALECT_LIMIT_EXCEEDED"


#: Tool names OpenAI, Anthropic and Bedrock accept (Bedrock: `[a-zA-Z0-9_-]+`, 1 to 64 characters).
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
#: Property keys Anthropic accepts in `input_schema.properties`; the compiler's argument names follow it.
PROPERTY_KEY = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class LossLog:
    """One tool's (or one subschema's) loss notes, counted per kind so repeats make one finding.

    A kind is a code plus a subject (e.g. the dropped keyword); the finding points at its first place.
    Subschema logs hold pointers relative to their subschema and are absorbed under a prefix.
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], list[Any]] = {}

    def add(
        self,
        code: DialectCode,
        message: str,
        pointer: str = "",
        severity: Severity = Severity.INFO,
        subject: str | None = None,
    ) -> None:
        key = (code.value, message if subject is None else subject)
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = [message, severity, 1, pointer]
        else:
            entry[2] += 1

    def absorb(self, other: "LossLog", prefix: str) -> None:
        for key, (message, severity, count, pointer) in other._entries.items():
            entry = self._entries.get(key)
            if entry is None:
                self._entries[key] = [message, severity, count, prefix + pointer]
            else:
                entry[2] += count

    def __bool__(self) -> bool:
        return bool(self._entries)

    def findings(self) -> list[Finding]:
        findings = []
        for (code, _), (message, severity, count, pointer) in self._entries.items():
            text = f"{message} ({count} places; the pointer shows the first)" if count > 1 else message
            findings.append(
                Finding.model_construct(code=code, severity=severity, message=text, pointer=pointer)
            )
        return findings


def describe(tool: CanonicalTool, log: LossLog, max_chars: int | None = None) -> str:
    """The tool's description, or a fallback built from its route; every API needs a non-empty one."""
    text = tool.description.strip()
    if not text:
        text = f"Calls {tool.method.upper()} {tool.path}"
        if tool.operation_id:
            text += f" (operation {tool.operation_id})"
        text += "."
        log.add(
            DialectCode.DESCRIPTION_MISSING,
            "the tool has no description; one was made from its method and path",
            severity=Severity.WARNING,
        )
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
        log.add(
            DialectCode.DESCRIPTION_TRUNCATED,
            f"the description was cut to this API's {max_chars} characters",
            severity=Severity.WARNING,
        )
    return text


def violation(code: DialectCode, message: str, pointer: str = "") -> Finding:
    return Finding(code=code.value, severity=Severity.ERROR, message=message, pointer=pointer)


def schema_depth_bound() -> int:
    """Subschema nesting a rewrite follows before it cuts, far below Python's recursion limit.

    The runtime refuses arguments nested deeper than `max_argument_depth`, and one argument level takes
    at most a few schema levels (`properties`, a union, its branch), so deeper schema is never usable.
    """
    return 4 * get_settings().arguments.max_argument_depth
