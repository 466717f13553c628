"""Model-native tool calls in, the matching result blocks out.

An agent loop can pass the tool call its model produced straight to the invoke endpoint and append the
answer to the conversation as it is. Each format is what the model API's documentation gives:

- `{"arguments": {...}}` gets the Toolgate result envelope itself.
- OpenAI Chat Completions, one element of `tool_calls`:
  `{"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}` gets
  `{"role": "tool", "tool_call_id", "content": "<envelope as JSON text>"}`.
- OpenAI Responses, a `function_call` item: `{"type": "function_call", "call_id", "name", "arguments"}`
  gets `{"type": "function_call_output", "call_id", "output": "<envelope as JSON text>"}`.
- Anthropic, a `tool_use` block: `{"type": "tool_use", "id", "name", "input"}` gets
  `{"type": "tool_result", "tool_use_id", "content": "<envelope as JSON text>", "is_error"}`.
- Bedrock Converse, `{"toolUse": {"toolUseId", "name", "input"}}` (or the inner object) gets
  `{"toolResult": {"toolUseId", "content": [{"json": <envelope>}], "status": "success" or "error"}}`.
- Gemini, `{"functionCall": {"name", "args", "id"?}}` (or the inner object) gets
  `{"functionResponse": {"name", "response": {"output" or "error": <envelope>}, "id"?}}`. The
  google-genai SDK's own form, `Part.to_json_dict()`, is snake_case: `{"function_call": {...}}` gets
  `{"function_response": {...}}`. Arguments under a name the Gemini rendering changed are mapped back by
  the invoke path (`gemini_names.restore_parameter_names`).
- MCP, a `tools/call` request `{"jsonrpc": "2.0", "id", "method": "tools/call", "params": {"name",
  "arguments"}}` gets `{"jsonrpc": "2.0", "id", "result": {"content": [{"type": "text", "text"}],
  "structuredContent": <envelope>, "isError"}}`.

A result is an error (`is_error`, `status: error`, Gemini's `error` key, MCP's `isError`) exactly when the
envelope's `ok` is false. Chat Completions and Responses have no error flag; the envelope in the text
says it. MCP's `structuredContent` is the envelope itself, always: every MCP tool's `outputSchema`
describes the envelope (`dialects.mcp`), so whatever the API answered, the official client's check passes.

Pure: no I/O.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from toolgate.errors import CallInvalidError

_MAX_NAME_CHARS = 256
_MAX_ID_CHARS = 512
_ACCEPTED = (
    '{"arguments": {...}}, an OpenAI tool_call or function_call item, an Anthropic tool_use block, a '
    "Bedrock toolUse, a Gemini functionCall (or function_call), or an MCP tools/call request"
)


class CallFormat(StrEnum):
    TOOLGATE = "toolgate"
    OPENAI = "openai"
    OPENAI_RESPONSES = "openai-responses"
    ANTHROPIC = "anthropic"
    BEDROCK = "bedrock"
    GEMINI = "gemini"
    MCP = "mcp"


class ToolCall(NamedTuple):
    """One tool call, whatever model API it came from."""

    format: CallFormat
    #: The tool the call names; None for a plain `{"arguments": {...}}` body.
    name: str | None
    arguments: dict[str, Any]
    #: The id the result must echo; None when the format has none (or Gemini's optional id is absent).
    call_id: str | int | None = None
    #: Why the arguments could not be read (malformed JSON, not an object). Such a call is answered with
    #: an ARGUMENTS_INVALID result the model can correct, not refused.
    arguments_problem: str | None = None
    #: The call came in snake_case (google-genai's `function_call`); the result answers in kind.
    snake_case: bool = False


def parse_call(payload: object) -> ToolCall:
    """The tool call in a request body. Raises CallInvalidError for a body of no supported shape."""
    if not isinstance(payload, dict):
        raise CallInvalidError(f"The body must be a JSON object: {_ACCEPTED}.")
    if "jsonrpc" in payload:
        return _mcp(payload)
    if "toolUse" in payload:
        return _bedrock(_object(payload["toolUse"], "toolUse"))
    if "toolUseId" in payload:
        return _bedrock(payload)
    if "functionCall" in payload:
        return _gemini(_object(payload["functionCall"], "functionCall"))
    if "function_call" in payload:
        return _gemini(_object(payload["function_call"], "function_call"), snake_case=True)
    kind = payload.get("type")
    if kind == "tool_use":
        return _anthropic(payload)
    if kind == "function":
        return _openai_chat(payload)
    if kind == "function_call":
        return _openai_responses(payload)
    if "tool_calls" in payload:
        raise CallInvalidError(
            "The body is a whole assistant message; send one element of its tool_calls per request."
        )
    if set(payload) == {"arguments"}:
        arguments, problem = _arguments_object(payload["arguments"], "arguments")
        return ToolCall(CallFormat.TOOLGATE, None, arguments, arguments_problem=problem)
    if "name" in payload and set(payload) <= {"name", "args", "id"}:
        return _gemini(payload)
    raise CallInvalidError(f"The body is not a tool call Toolgate knows. Send {_ACCEPTED}.")


def format_result(call: ToolCall, envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The result block answering `call`, in its model API's format, carrying `envelope`."""
    is_error = envelope.get("ok") is not True
    if call.format is CallFormat.TOOLGATE:
        return dict(envelope)
    if call.format is CallFormat.OPENAI:
        return {"role": "tool", "tool_call_id": call.call_id, "content": _text(envelope)}
    if call.format is CallFormat.OPENAI_RESPONSES:
        return {"type": "function_call_output", "call_id": call.call_id, "output": _text(envelope)}
    if call.format is CallFormat.ANTHROPIC:
        return {
            "type": "tool_result",
            "tool_use_id": call.call_id,
            "content": _text(envelope),
            "is_error": is_error,
        }
    if call.format is CallFormat.BEDROCK:
        return {
            "toolResult": {
                "toolUseId": call.call_id,
                "content": [{"json": dict(envelope)}],
                "status": "error" if is_error else "success",
            }
        }
    if call.format is CallFormat.GEMINI:
        response: dict[str, Any] = {"error" if is_error else "output": dict(envelope)}
        block: dict[str, Any] = {"name": call.name, "response": response}
        if call.call_id is not None:
            block["id"] = call.call_id
        return {"function_response" if call.snake_case else "functionResponse": block}
    result = {
        "content": [{"type": "text", "text": _text(envelope)}],
        "structuredContent": dict(envelope),
        "isError": is_error,
    }
    return {"jsonrpc": "2.0", "id": call.call_id, "result": result}


# --- Each format ------------------------------------------------------------------------------


def _openai_chat(call: Mapping[str, Any]) -> ToolCall:
    function = _object(call.get("function"), "function")
    arguments, problem = _json_arguments(function.get("arguments"), "function.arguments")
    return ToolCall(
        CallFormat.OPENAI,
        _name(function.get("name"), "function.name"),
        arguments,
        call_id=_string_id(call.get("id"), "id"),
        arguments_problem=problem,
    )


def _openai_responses(call: Mapping[str, Any]) -> ToolCall:
    arguments, problem = _json_arguments(call.get("arguments"), "arguments")
    return ToolCall(
        CallFormat.OPENAI_RESPONSES,
        _name(call.get("name"), "name"),
        arguments,
        call_id=_string_id(call.get("call_id"), "call_id"),
        arguments_problem=problem,
    )


def _anthropic(block: Mapping[str, Any]) -> ToolCall:
    arguments, problem = _arguments_object(block.get("input"), "input")
    return ToolCall(
        CallFormat.ANTHROPIC,
        _name(block.get("name"), "name"),
        arguments,
        call_id=_string_id(block.get("id"), "id"),
        arguments_problem=problem,
    )


def _bedrock(block: Mapping[str, Any]) -> ToolCall:
    arguments, problem = _arguments_object(block.get("input"), "toolUse.input")
    return ToolCall(
        CallFormat.BEDROCK,
        _name(block.get("name"), "toolUse.name"),
        arguments,
        call_id=_string_id(block.get("toolUseId"), "toolUse.toolUseId"),
        arguments_problem=problem,
    )


def _gemini(call: Mapping[str, Any], *, snake_case: bool = False) -> ToolCall:
    field = "function_call" if snake_case else "functionCall"
    raw = call.get("args")
    arguments, problem = ({}, None) if raw is None else _arguments_object(raw, f"{field}.args")
    call_id = call.get("id")
    return ToolCall(
        CallFormat.GEMINI,
        _name(call.get("name"), f"{field}.name"),
        arguments,
        call_id=None if call_id is None else _string_id(call_id, f"{field}.id"),
        arguments_problem=problem,
        snake_case=snake_case,
    )


def _mcp(request: Mapping[str, Any]) -> ToolCall:
    if request.get("jsonrpc") != "2.0" or request.get("method") != "tools/call":
        raise CallInvalidError('Only MCP "tools/call" requests (JSON-RPC 2.0) can invoke a tool.')
    request_id = request.get("id")
    # JSON-RPC ids are strings or numbers; MCP requests must have one, and it must not be null.
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        raise CallInvalidError("The MCP request needs an `id`, a string or an integer.")
    if isinstance(request_id, str):
        request_id = _string_id(request_id, "id")
    params = _object(request.get("params"), "params")
    raw = params.get("arguments")
    arguments, problem = ({}, None) if raw is None else _arguments_object(raw, "params.arguments")
    return ToolCall(
        CallFormat.MCP,
        _name(params.get("name"), "params.name"),
        arguments,
        call_id=request_id,
        arguments_problem=problem,
    )


# --- Field checks -----------------------------------------------------------------------------


def _object(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise CallInvalidError(f"The tool call's `{field}` must be an object.")
    return value


def _name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_NAME_CHARS:
        raise CallInvalidError(f"The tool call's `{field}` must name the tool.")
    return value


def _string_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_ID_CHARS or not value.isprintable():
        raise CallInvalidError(
            f"The tool call's `{field}` must be the call's id (1 to {_MAX_ID_CHARS} printable characters); "
            "the result has to echo it."
        )
    return value


def _arguments_object(value: object, field: str) -> tuple[dict[str, Any], str | None]:
    if isinstance(value, dict):
        return value, None
    return {}, f"The tool call's `{field}` must be a JSON object, not {_kind(value)}."


def _json_arguments(value: object, field: str) -> tuple[dict[str, Any], str | None]:
    """OpenAI's arguments: JSON text of an object (an empty string for a tool without arguments)."""
    if isinstance(value, dict):
        return value, None
    if not isinstance(value, str):
        return {}, f"The tool call's `{field}` must be JSON text of an object, not {_kind(value)}."
    if not value.strip():
        return {}, None
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError) as error:
        where = f" ({error.msg} at character {error.pos})" if isinstance(error, json.JSONDecodeError) else ""
        return {}, f"The tool call's `{field}` is not valid JSON{where}."
    return _arguments_object(parsed, field)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else type(value).__name__


def _text(envelope: Mapping[str, Any]) -> str:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
