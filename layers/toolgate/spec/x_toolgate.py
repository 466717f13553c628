"""`x-toolgate` on operations and parameters: what an admin changes about a tool without editing the API.

Written in the spec or set by an overlay. Every key is checked: an unknown key or a value of the wrong
type is a finding with a code and a pointer, and the key is ignored; nothing is silently dropped.

```yaml
x-toolgate:                      # on an operation
  include: false                 # leave the operation out
  name: find_customers           # the tool's name
  description: Search customers by name or e-mail.
  response:
    select: [/total, "$.items[*]['id','name']"]   # what the model sees of a JSON response
parameters:
  - name: api-version
    in: query
    x-toolgate: {hidden: true, value: "2019-06-01"}      # or {hidden: true, from: api_version}
```
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

from collections.abc import Callable
from typing import Any, NamedTuple

import jsonschema_rs

from toolgate.spec.models import JsonSchema, ResponseSelection, Severity
from toolgate.spec.naming import SETTING_NAME, TOOL_NAME
from toolgate.spec.refs import pointer_join
from toolgate.spec.selection import SelectionError, check_expression, trim_schema

EXTENSION = "x-toolgate"
_OPERATION_KEYS = frozenset({"include", "name", "description", "response"})
_RESPONSE_KEYS = frozenset({"select"})
_PARAMETER_KEYS = frozenset({"hidden", "value", "from"})
_MAX_SELECT = 50
_MAX_EXPRESSION_CHARS = 500

Note = Callable[[str, str, str, Severity], None]


class OperationExtension(NamedTuple):
    include: bool = True
    name: str | None = None
    description: str | None = None
    select: ResponseSelection | None = None


class ParameterExtension(NamedTuple):
    hidden: bool = False
    #: A fixed value (never null), or the integration parameter setting that holds it.
    value: Any = None
    setting: str | None = None


def operation_extension(operation: dict[str, Any], at: str, note: Note) -> OperationExtension:
    """The operation's `x-toolgate`, each defect reported through `note(code, message, pointer, severity)`."""
    raw = operation.get(EXTENSION)
    if raw is None:
        return OperationExtension()
    at = pointer_join(at, EXTENSION)
    if not isinstance(raw, dict):
        _invalid(note, at, "must be an object")
        return OperationExtension()
    _unknown_keys(raw, _OPERATION_KEYS, at, note)
    include = _typed(raw, "include", bool, "true or false", at=at, note=note)
    name = _typed(raw, "name", str, "a string", at=at, note=note)
    if name is not None and not TOOL_NAME.fullmatch(name):
        note(
            "X_TOOLGATE_NAME_INVALID",
            f"name {name[:80]!r} is not a valid tool name (letters, digits, '_' and '-', starting with a "
            "letter or '_', at most 64 characters); the name derived from the operation is used",
            pointer_join(at, "name"),
            Severity.WARNING,
        )
        name = None
    description = _typed(raw, "description", str, "a string", at=at, note=note)
    if description is not None and not description.strip():
        _invalid(note, pointer_join(at, "description"), "must not be empty")
        description = None
    return OperationExtension(
        include=include is not False,
        name=name,
        description=description.strip() if description else None,
        select=_selection(raw.get("response"), pointer_join(at, "response"), note),
    )


def parameter_extension(parameter: dict[str, Any], at: str, note: Note) -> ParameterExtension:
    """A parameter's `x-toolgate`: hidden with a fixed `value` or `from` a setting. A hidden parameter
    without exactly one source stays visible (with a finding), so the model can still send it."""
    raw = parameter.get(EXTENSION)
    if raw is None:
        return ParameterExtension()
    at = pointer_join(at, EXTENSION)
    if not isinstance(raw, dict):
        _invalid(note, at, "must be an object")
        return ParameterExtension()
    _unknown_keys(raw, _PARAMETER_KEYS, at, note)
    hidden = _typed(raw, "hidden", bool, "true or false", at=at, note=note)
    setting = _typed(raw, "from", str, "a string", at=at, note=note)
    if setting is not None and not SETTING_NAME.fullmatch(setting):
        _invalid(
            note, pointer_join(at, "from"), "must name an integration parameter setting ([A-Za-z0-9_.-])"
        )
        setting = None
    has_value = "value" in raw and raw["value"] is not None
    if not hidden:
        if has_value or setting is not None:
            _invalid(note, at, "`value` and `from` need `hidden: true`; the parameter stays visible")
        return ParameterExtension()
    if has_value == (setting is not None):
        _invalid(
            note,
            at,
            "a hidden parameter needs exactly one of `value` (a fixed value) and `from` (an integration "
            "parameter setting); the parameter stays visible",
        )
        return ParameterExtension()
    return ParameterExtension(hidden=True, value=raw.get("value"), setting=setting)


def fixed_value_problem(schema: JsonSchema, value: Any) -> str | None:
    """Why a hidden parameter's fixed value does not match its schema; None when it does."""
    try:
        validator = jsonschema_rs.validator_for(
            schema, retriever=_refuse_retrieval, pattern_options=jsonschema_rs.FancyRegexOptions()
        )
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as error:
        return f"its schema cannot be used ({str(error).splitlines()[0][:200]})"
    for problem in validator.iter_errors(value):
        return str(problem.message)[:300]
    return None


def selected_output(
    schema: JsonSchema | None, selection: ResponseSelection, at: str, note: Note
) -> JsonSchema | None:
    """The output schema trimmed to what `response.select` keeps (None stays None)."""
    if schema is None:
        return None
    trimmed, undescribed = trim_schema(schema, selection)
    for where in undescribed:
        note(
            "X_TOOLGATE_SELECT_UNDESCRIBED",
            f"response.select keeps {where!r}, which the documented response schema does not describe (or "
            "describes with oneOf/anyOf/allOf); that part of the output schema is left open",
            pointer_join(at, EXTENSION, "response", "select"),
            Severity.INFO,
        )
    return trimmed


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"references outside the schema are never fetched ({uri})")


def _selection(raw: Any, at: str, note: Note) -> ResponseSelection | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        _invalid(note, at, "must be an object")
        return None
    _unknown_keys(raw, _RESPONSE_KEYS, at, note)
    select = raw.get("select")
    if select is None:
        return None
    at = pointer_join(at, "select")
    if not isinstance(select, list) or not select or len(select) > _MAX_SELECT:
        _invalid(note, at, f"must be a list of 1 to {_MAX_SELECT} JSON Pointers or JSONPath queries")
        return None
    expressions: list[str] = []
    for index, expression in enumerate(select):
        where = pointer_join(at, index)
        if not isinstance(expression, str) or len(expression) > _MAX_EXPRESSION_CHARS:
            _select_invalid(note, where, f"must be a string of at most {_MAX_EXPRESSION_CHARS} characters")
            continue
        try:
            check_expression(expression)
        except SelectionError as error:
            _select_invalid(note, where, str(error))
            continue
        expressions.append(expression)
    return ResponseSelection(expressions=expressions) if expressions else None


def _typed(raw: dict[str, Any], key: str, kind: type, expected: str, *, at: str, note: Note) -> Any:
    value = raw.get(key)
    if value is None or isinstance(value, kind):
        return value
    _invalid(note, pointer_join(at, key), f"must be {expected}, not {type(value).__name__}; it is ignored")
    return None


def _unknown_keys(raw: dict[str, Any], known: frozenset[str], at: str, note: Note) -> None:
    for key in raw:
        if key not in known:
            note(
                "X_TOOLGATE_UNKNOWN_KEY",
                f"x-toolgate has no key {str(key)[:60]!r} here (known: {', '.join(sorted(known))}); "
                "it is ignored",
                pointer_join(at, str(key)),
                Severity.WARNING,
            )


def _invalid(note: Note, at: str, problem: str) -> None:
    note("X_TOOLGATE_INVALID", f"x-toolgate {problem}", at, Severity.WARNING)


def _select_invalid(note: Note, at: str, problem: str) -> None:
    note("X_TOOLGATE_SELECT_INVALID", f"response.select entry {problem}; it is ignored", at, Severity.WARNING)
