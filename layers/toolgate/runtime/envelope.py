"""The result a model reads after a tool call: grounded in what the API answered, bounded, secret-free.

`ok` is true only for a 2xx answer. The body is parsed JSON when the API sent JSON, text otherwise, and
is cut to `RuntimeSettings.result_body_chars` with an explicit marker and a hint. Failures carry an
`error` with a stable code. A body that does not match the documented output schema adds warnings; it
never fails the call.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from toolgate.errors import ToolgateError, UpstreamHttpError, UpstreamRedirectError
from toolgate.runtime.redaction import Redactor
from toolgate.runtime.transport import HttpResponse
from toolgate.settings import RuntimeSettings
from toolgate.spec.models import CanonicalTool, JsonSchema
from toolgate.spec.selection import select

if TYPE_CHECKING:
    import jsonschema_rs

#: Response headers worth showing a model; all others are dropped.
RESULT_HEADERS = ("content-type", "location", "operation-location", "retry-after")
_TEXT_MEDIA_MARKERS = ("json", "xml", "javascript", "yaml", "csv", "x-www-form-urlencoded", "html")
_WARNING_CHARS = 240
_VALIDATOR_CACHE_ENTRIES = 256


class ToolError(NamedTuple):
    code: str
    message: str
    details: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-ready data, without empty fields."""
        return {name: value for name, value in self._asdict().items() if value is not None}


class ToolResult(NamedTuple):
    """What one tool call returns to the model. Built by our own code only, never validated from input, so
    a NamedTuple (cheap to define at cold start) rather than a pydantic model."""

    ok: bool
    status: int | None = None
    #: Read-only: `result_from_response` gives each result its own.
    headers: Mapping[str, str] = MappingProxyType({})
    body: Any = None
    truncated: bool = False
    #: The body holds only the parts `x-toolgate.response.select` names; `full_body` is the whole.
    trimmed: bool = False
    hint: str | None = None
    warnings: Sequence[str] = ()
    error: ToolError | None = None
    #: The whole (redacted) body of a trimmed answer, for the caller to keep; never shown to the model.
    full_body: Any = None

    def __repr__(self) -> str:
        # As short as the envelope the model reads: the whole body of a trimmed answer is left out.
        shown = (
            f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True) if name != "full_body"
        )
        return f"ToolResult({', '.join(shown)})"

    def to_dict(self) -> dict[str, Any]:
        """The envelope as JSON-ready data, without empty fields."""
        result: dict[str, Any] = {"ok": self.ok}
        if self.status is not None:
            result["status"] = self.status
        if self.headers:
            result["headers"] = dict(self.headers)
        if self.body is not None:
            result["body"] = self.body
        if self.truncated:
            result["truncated"] = True
        if self.trimmed:
            result["trimmed"] = True
        if self.hint:
            result["hint"] = self.hint
        if self.warnings:
            result["warnings"] = list(self.warnings)
        if self.error is not None:
            result["error"] = self.error.to_dict()
        return result


def result_from_error(error: ToolgateError, redactor: Redactor) -> ToolResult:
    details = redactor.redact_value(error.details) if error.details is not None else None
    return ToolResult(
        ok=False, error=ToolError(code=error.code, message=redactor.redact(error.message), details=details)
    )


def result_from_response(
    tool: CanonicalTool, response: HttpResponse, settings: RuntimeSettings, redactor: Redactor
) -> ToolResult:
    content_type = response.headers.get("content-type", "")
    headers = {
        name: redactor.redact(response.headers[name]) for name in RESULT_HEADERS if name in response.headers
    }
    value, is_json = _decode(response.body, content_type)
    warnings: list[str] = []
    full_body: Any = None
    selection = tool.response_select
    try:
        value = redactor.redact_value(value)
        if is_json and 200 <= response.status < 300 and selection is not None:
            full_body = value
            value, matched = select(value, selection)
            if not matched:
                warnings.append(
                    "None of the parts the admin selected (response.select) is in this response; the body "
                    "is empty here, and the whole response is kept apart."
                )
        if is_json and 200 <= response.status < 300 and tool.output_schema is not None:
            warnings += [
                redactor.redact(w) for w in _schema_warnings(tool, value, settings.max_result_warnings)
            ]
        body, truncated, hint = _fit(value, is_json, settings.result_body_chars)
    except RecursionError:
        # JSON nested deeper than Python can walk: shown as text instead.
        text = redactor.redact(response.body.decode("utf-8", errors="replace"))
        body, truncated, hint = _fit(text, False, settings.result_body_chars)
        full_body = None
    if full_body is not None and selection is not None:
        selected = ", ".join(selection.expressions)
        hint = " ".join(
            filter(None, [f"The body holds only the parts the admin selected ({selected}).", hint])
        )
    return ToolResult(
        ok=200 <= response.status < 300,
        status=response.status,
        headers=headers,
        body=body,
        truncated=truncated,
        trimmed=full_body is not None,
        hint=hint,
        warnings=warnings,
        error=_status_error(response, headers.get("location"), headers.get("retry-after")),
        full_body=full_body,
    )


def _status_error(response: HttpResponse, location: str | None, retry_after: str | None) -> ToolError | None:
    status = response.status
    if 200 <= status < 300:
        return None
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = response.reason
    if 300 <= status < 400:
        target = f" to {location}" if location else ""
        return ToolError(
            code=UpstreamRedirectError.code,
            message=f"The API answered {status} {phrase}, redirecting{target}. Redirects are not followed; "
            "if the new location is another operation of this API, call that tool instead.",
        )
    advice = ""
    if status == 429 or (status == 503 and retry_after):
        advice = f" Wait {retry_after} seconds before calling again." if retry_after else " Slow down."
    elif status in (401, 403):
        advice = " The bound credential was refused or lacks permission; retrying will not help."
    elif 400 <= status < 500:
        advice = " Check the arguments against the error body before calling again."
    return ToolError(code=UpstreamHttpError.code, message=f"The API answered {status} {phrase}.{advice}")


# --- Body decoding and budget ----------------------------------------------------------------


def _decode(body: bytes, content_type: str) -> tuple[Any, bool]:
    """The body as (parsed JSON, True) when it is JSON, else (text or a binary summary, False)."""
    if not body:
        return None, False
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    if "json" in media_type or not media_type:
        try:
            return json.loads(body), True
        except (ValueError, RecursionError):
            pass
    charset = _charset(parameters)
    textual = media_type.startswith("text/") or any(marker in media_type for marker in _TEXT_MEDIA_MARKERS)
    try:
        return body.decode(charset if textual else "utf-8", errors="replace" if textual else "strict"), False
    except (UnicodeDecodeError, LookupError):
        if textual:
            return body.decode("utf-8", errors="replace"), False
    return f"[{len(body)} bytes of binary content ({media_type or 'unknown type'}) not shown]", False


def _charset(parameters: str) -> str:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


def _fit(value: Any, is_json: bool, budget: int) -> tuple[Any, bool, str | None]:
    if value is None:
        return None, False, None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(text) <= budget:
        return value, False, None
    omitted = len(text) - budget
    cut = f"{text[:budget]}…[truncated: {omitted} of {len(text)} characters not shown]"
    kind = "JSON " if is_json else ""
    hint = (
        f"The {kind}body was cut to its first {budget} characters. Ask for less: use the tool's filters, "
        "pagination or field selection if it has any."
    )
    return cut, True, hint


# --- Lenient output validation ---------------------------------------------------------------

_validators: "OrderedDict[int, tuple[JsonSchema, jsonschema_rs.Validator | str]]" = OrderedDict()
_validators_lock = threading.Lock()


def _schema_warnings(tool: CanonicalTool, value: Any, limit: int) -> list[str]:
    if limit == 0 or tool.output_schema is None:
        return []
    validator = _validator(tool.output_schema)
    if isinstance(validator, str):
        return [f"The documented output schema could not be used to check the body: {validator}"]
    warnings = []
    for error in validator.iter_errors(value):
        where = "/" + "/".join(str(part) for part in error.instance_path)
        message = error.message[:_WARNING_CHARS]
        warnings.append(f"The body does not match the documented output schema at {where}: {message}")
        if len(warnings) == limit:
            break
    return warnings


def _validator(schema: JsonSchema) -> "jsonschema_rs.Validator | str":
    """A compiled validator for `schema` (cached), or why it could not be compiled."""
    key = id(schema)
    with _validators_lock:
        cached = _validators.get(key)
        # The entry holds the schema, so its id cannot be reused by another object while cached.
        if cached is not None and cached[0] is schema:
            _validators.move_to_end(key)
            return cached[1]
    # Loaded by the first schema compiled: the callback function reads results but checks none.
    import jsonschema_rs  # noqa: PLC0415

    compiled: jsonschema_rs.Validator | str
    try:
        compiled = jsonschema_rs.validator_for(
            schema, retriever=_refuse_retrieval, pattern_options=jsonschema_rs.FancyRegexOptions()
        )
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as error:
        compiled = str(getattr(error, "message", error)).split("\n", 1)[0][:_WARNING_CHARS]
    with _validators_lock:
        _validators[key] = (schema, compiled)
        while len(_validators) > _VALIDATOR_CACHE_ENTRIES:
            _validators.popitem(last=False)
    return compiled


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"references outside the schema are never fetched ({uri})")
