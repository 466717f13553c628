"""Validate a model's tool-call arguments against the tool's input schema: offline, bounded, in linear time.

Schemas are compiled by jsonschema-rs with a retriever that refuses every remote or file reference, and
with the `regex` crate's engine, whose matching time is linear in the input, so a `pattern` such as
`^(a+)+$` cannot hang a call. A pattern that needs look-around or back-references (which that engine
lacks) falls back to `fancy-regex` with its backtracking limit. Every problem is reported, each with a
JSON pointer into the arguments and what the schema expected, so a model can fix them all and retry.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import jsonschema_rs

from toolgate.errors import ArgumentsInvalidError, ArgumentsTooLargeError, ToolSchemaInvalidError
from toolgate.runtime.hidden import refuse_hidden
from toolgate.settings import ArgumentLimits, get_settings
from toolgate.spec.models import CanonicalTool, JsonSchema

#: `$schema` values naming the OpenAPI 3.1+ dialect: JSON Schema 2020-12 plus annotation-only keywords.
_OPENAPI_DIALECT_PREFIX = "https://spec.openapis.org/oas/"
#: Longest validator message passed through as is; longer ones quote a long value and are rewritten.
_MESSAGE_CHARS = 300
#: Problems spelled out in the error message itself; `details` carries the full list.
_PROBLEMS_IN_MESSAGE = 10
_SUMMARY_CHARS = 160

Problem = dict[str, str]


def validate_arguments(
    tool: CanonicalTool, arguments: object, limits: ArgumentLimits | None = None
) -> dict[str, Any]:
    """Return the arguments as a dict once they satisfy the tool's input schema.

    `arguments` is a mapping, a JSON text of an object, or None (no arguments: `{}`).
    Raises ArgumentsTooLargeError past the size or depth caps, ArgumentHiddenError for an argument the
    admin fixed (`x-toolgate.hidden`), and ArgumentsInvalidError listing every schema violation (up to
    `limits.max_reported_problems`).
    """
    limits = limits or get_settings().arguments
    values = _as_json_object(arguments, limits)
    refuse_hidden(tool, values)
    validator = _validator_for(tool, limits)
    problems = [
        problem for error in validator.iter_errors(values) for problem in _describe(error, tool.input_schema)
    ]
    if problems:
        raise _invalid(tool.name, problems, limits.max_reported_problems)
    return values


# --- Shape, size and depth -------------------------------------------------------------------


def _as_json_object(arguments: object, limits: ArgumentLimits) -> dict[str, Any]:
    if arguments is None:
        return {}
    if isinstance(arguments, str | bytes | bytearray):
        arguments = _parse_json_text(arguments, limits)
    if not isinstance(arguments, Mapping):
        raise ArgumentsInvalidError(
            f"Tool arguments must be a JSON object, got {_json_type(arguments)}.",
            details=[{"path": "", "message": "not an object", "expected": "type object"}],
        )
    values = dict(arguments)
    _check_json_shape(values, limits)
    size = len(json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode())
    if size > limits.max_argument_bytes:
        raise ArgumentsTooLargeError(
            f"Tool arguments are {size} bytes as JSON; the limit is {limits.max_argument_bytes}. "
            "Send shorter values."
        )
    return values


def _parse_json_text(text: str | bytes | bytearray, limits: ArgumentLimits) -> object:
    size = len(text.encode() if isinstance(text, str) else text)
    if size > limits.max_argument_bytes:
        raise ArgumentsTooLargeError(
            f"Tool arguments are {size} bytes; the limit is {limits.max_argument_bytes}. Send shorter values."
        )
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ArgumentsTooLargeError(
            f"Tool arguments nest deeper than {limits.max_argument_depth} levels."
        ) from None
    except ValueError as error:
        raise ArgumentsInvalidError(f"Tool arguments are not valid JSON: {error}.") from None


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _check_json_shape(values: dict[str, Any], limits: ArgumentLimits) -> None:
    """Walk the arguments iteratively: JSON types only, string keys, finite numbers, bounded depth."""
    stack: list[tuple[object, str, int]] = [(values, "", 1)]
    while stack:
        value, pointer, depth = stack.pop()
        if isinstance(value, dict | list | tuple) and depth > limits.max_argument_depth:
            raise ArgumentsTooLargeError(
                f"Tool arguments nest deeper than {limits.max_argument_depth} levels (at {pointer}).",
                pointer=pointer,
            )
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _not_json(pointer, f"object key {key!r} is not a string")
                stack.append((item, f"{pointer}/{_escape_pointer(key)}", depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((item, f"{pointer}/{index}", depth + 1) for index, item in enumerate(value))
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _not_json(pointer, f"{value} is not a finite number")
        elif not isinstance(value, str | int | bool) and value is not None:
            raise _not_json(pointer, f"a {type(value).__name__} is not a JSON value")


def _not_json(pointer: str, message: str) -> ArgumentsInvalidError:
    return ArgumentsInvalidError(
        f"Tool arguments must be plain JSON: at {pointer or '/'}, {message}.",
        pointer=pointer,
        details=[{"path": pointer, "message": message, "expected": "a JSON value"}],
    )


# --- Compiled validators ---------------------------------------------------------------------

_validators: OrderedDict[tuple[str, int], tuple[JsonSchema, jsonschema_rs.Validator]] = OrderedDict()
_validators_lock = threading.Lock()


def _validator_for(tool: CanonicalTool, limits: ArgumentLimits) -> jsonschema_rs.Validator:
    """The compiled validator of this tool's schema, cached by tool name and schema identity."""
    key = (tool.name, id(tool.input_schema))
    with _validators_lock:
        cached = _validators.get(key)
        # The entry holds the schema itself, so its id cannot be reused by another object while cached.
        if cached is not None and cached[0] is tool.input_schema:
            _validators.move_to_end(key)
            return cached[1]
    validator = _compile(tool)
    with _validators_lock:
        _validators[key] = (tool.input_schema, validator)
        _validators.move_to_end(key)
        while len(_validators) > limits.validator_cache_entries:
            _validators.popitem(last=False)
    return validator


def _compile(tool: CanonicalTool) -> jsonschema_rs.Validator:
    schema = tool.input_schema
    dialect = schema.get("$schema")
    if isinstance(dialect, str) and dialect.startswith(_OPENAPI_DIALECT_PREFIX):
        schema = {key: value for key, value in schema.items() if key != "$schema"}
    try:
        return jsonschema_rs.validator_for(
            schema, retriever=_refuse_retrieval, pattern_options=jsonschema_rs.RegexOptions()
        )
    except jsonschema_rs.ValidationError:
        pass
    try:
        # Look-around or back-references: bounded backtracking instead of the linear engine.
        return jsonschema_rs.validator_for(
            schema, retriever=_refuse_retrieval, pattern_options=jsonschema_rs.FancyRegexOptions()
        )
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as error:
        reason = getattr(error, "message", str(error)).split("\n", 1)[0]
        raise ToolSchemaInvalidError(
            f"The input schema of tool '{tool.name}' cannot be used: {reason}", pointer=tool.pointer
        ) from None


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"references outside the schema are never fetched ({uri})")


# --- Problems a model can act on -------------------------------------------------------------


def _invalid(tool_name: str, problems: list[Problem], reported: int) -> ArgumentsInvalidError:
    total = len(problems)
    details = problems[:reported]
    listed = "; ".join(
        f"{problem['path'] or '/'}: {problem['message']} (expected {problem['expected']})"
        for problem in details[:_PROBLEMS_IN_MESSAGE]
    )
    unlisted = total - min(len(details), _PROBLEMS_IN_MESSAGE)
    more = f"; and {unlisted} more" if unlisted else ""
    shown = f" ({len(details)} listed in details)" if total > len(details) else ""
    noun = "problem" if total == 1 else "problems"
    return ArgumentsInvalidError(
        f"Arguments for tool '{tool_name}' are invalid, {total} {noun}{shown}: {listed}{more}. "
        "Fix every problem and call the tool again.",
        details=details,
    )


def _describe(error: jsonschema_rs.ValidationError, root: JsonSchema) -> list[Problem]:
    keyword = error.kind.name
    path = _pointer(error.instance_path)
    parent = _schema_at(root, error.schema_path[:-1])
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Required):
        name = error.kind.property
        properties = parent.get("properties") if isinstance(parent, dict) else None
        subschema = properties.get(name) if isinstance(properties, dict) else None
        return [
            {
                "path": f"{path}/{_escape_pointer(name)}",
                "message": f"required property '{name}' is missing",
                "expected": _summarize(subschema) if subschema is not None else "a value",
            }
        ]
    if isinstance(
        error.kind,
        jsonschema_rs.ValidationErrorKind.AdditionalProperties
        | jsonschema_rs.ValidationErrorKind.UnevaluatedProperties,
    ):
        return [
            {
                "path": f"{path}/{_escape_pointer(name)}",
                "message": f"property '{name}' is not allowed here",
                "expected": _allowed_properties(parent),
            }
            for name in error.kind.unexpected
        ]
    return [{"path": path, "message": _message(error, keyword), "expected": _expected(error, keyword, root)}]


def _expected(error: jsonschema_rs.ValidationError, keyword: str, root: JsonSchema) -> str:
    value = _schema_at(root, error.schema_path)
    if keyword == "enum":
        return f"one of {_compact(value)}"
    if keyword == "const":
        return f"exactly {_compact(value)}"
    if keyword == "type":
        types = value if isinstance(value, list) else [value]
        return "type " + " or ".join(str(name) for name in types)
    if keyword in ("oneOf", "anyOf") and isinstance(value, list):
        quantity = "exactly one" if keyword == "oneOf" else "at least one"
        return f"{quantity} of: " + " | ".join(_summarize(option) for option in value)
    if keyword == "not":
        return f"anything but {_summarize(value)}"
    if keyword == "falseSchema":
        return "no value at this location"
    if keyword == "pattern":
        return f"a string matching the pattern {value}"
    if keyword == "format":
        return f"format {value}"
    return f"{keyword} {_compact(value)}"


def _message(error: jsonschema_rs.ValidationError, keyword: str) -> str:
    if isinstance(
        error.kind,
        jsonschema_rs.ValidationErrorKind.BacktrackLimitExceeded
        | jsonschema_rs.ValidationErrorKind.RegexEngineFailure,
    ):
        return "the pattern could not be checked against this value within the backtracking limit"
    message = error.message
    if len(message) <= _MESSAGE_CHARS:
        return message
    instance = error.instance
    size = f" of {len(instance)} characters" if isinstance(instance, str | list | dict) else ""
    return f"the {_json_type(instance)}{size} here fails the '{keyword}' check"


def _allowed_properties(schema: object) -> str:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(properties, dict) and properties:
        return "only the properties " + ", ".join(sorted(properties))
    return "no properties beyond those the schema defines"


def _summarize(schema: object) -> str:
    """A short human description of a subschema: its enum, const or type, else its JSON."""
    if isinstance(schema, dict):
        if "enum" in schema:
            return f"one of {_compact(schema['enum'])}"
        if "const" in schema:
            return f"exactly {_compact(schema['const'])}"
        if "$ref" in schema and len(schema) == 1:
            return str(schema["$ref"]).rsplit("/", 1)[-1]
        kind = schema.get("type")
        if isinstance(kind, str) and set(schema) <= {"type", "description", "title", "format"}:
            return f"{kind} ({schema['format']})" if "format" in schema else kind
    return _compact(schema)


def _compact(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= _SUMMARY_CHARS else text[: _SUMMARY_CHARS - 3] + "..."


def _schema_at(root: JsonSchema, schema_path: list[str | int]) -> object:
    """The value at a schema location jsonschema-rs reports (absolute within the root document)."""
    node: object = root
    for part in schema_path:
        if not isinstance(node, dict | list):
            return None
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _pointer(parts: list[str | int]) -> str:
    return "".join(f"/{_escape_pointer(str(part))}" for part in parts)


def _escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str | bytes | bytearray):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__
