"""The model SDKs' own validation of what Toolgate renders and answers, for the SDK tests.

Each check uses the SDK's types (pydantic models, TypedDicts through a TypeAdapter, botocore's parameter
validation of Bedrock Converse, the MCP client's output-schema check) and raises when the SDK refuses.
The SDKs are dev dependencies only: nothing under layers/ imports them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import anthropic.types
import anyio
import botocore.session
import botocore.validate
import mcp.types
from google.genai import types as genai
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from mcp import Client
from mcp.server import Server
from openai.types.chat import ChatCompletionToolMessageParam, ChatCompletionToolParam
from openai.types.responses import FunctionToolParam, ResponseInputItemParam
from pydantic import TypeAdapter
from referencing import Registry
from toolgate.dialects import Dialect
from toolgate.dialects.calls import CallFormat, ToolCall, format_result
from toolgate.errors import EgressDeniedError
from toolgate.runtime.envelope import result_from_error, result_from_response
from toolgate.runtime.redaction import Redactor
from toolgate.runtime.transport import HttpResponse
from toolgate.service.jobs.records import JobRecord, running_envelope
from toolgate.service.jobs.terms import JobPattern
from toolgate.settings import JobSettings, RuntimeSettings
from toolgate.spec.models import CanonicalTool

# --- Tool definitions -----------------------------------------------------------------------------


def _typed_dict_exact(adapter: TypeAdapter[Any], value: Any) -> None:
    """Valid for the TypedDict, with no key it does not know (a TypeAdapter drops unknown keys)."""
    validated = adapter.validate_python(value)
    assert validated == value, f"keys the SDK type does not know: {value}"


_OPENAI_CHAT_TOOL = TypeAdapter(ChatCompletionToolParam)
_OPENAI_RESPONSES_TOOL = TypeAdapter(FunctionToolParam)
_ANTHROPIC_TOOL = TypeAdapter(anthropic.types.ToolParam)


@cache
def _bedrock_converse_input() -> Any:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return model.operation_model("Converse").input_shape


def _bedrock_validate(params: dict[str, Any]) -> None:
    report = botocore.validate.ParamValidator().validate(params, _bedrock_converse_input())
    assert not report.has_errors(), report.generate_report()


def _bedrock_tools(definitions: list[dict[str, Any]]) -> None:
    if not definitions:
        return  # Converse takes no `toolConfig` at all when there are no tools
    _bedrock_validate(
        {
            "modelId": "anthropic.claude",
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "toolConfig": {"tools": definitions},
        }
    )


def _openai_chat_tools(definitions: list[dict[str, Any]]) -> None:
    for definition in definitions:
        _typed_dict_exact(_OPENAI_CHAT_TOOL, definition)


def _openai_responses_tools(definitions: list[dict[str, Any]]) -> None:
    for definition in definitions:
        _typed_dict_exact(_OPENAI_RESPONSES_TOOL, definition)
        assert definition["strict"] is False


def _anthropic_tools(definitions: list[dict[str, Any]]) -> None:
    for definition in definitions:
        _ANTHROPIC_TOOL.validate_python(definition)


def _gemini_tools(definitions: list[dict[str, Any]]) -> None:
    # google-genai models forbid unknown fields, so every Schema keyword must be one Gemini knows; the Tool
    # validates each definition as a FunctionDeclaration.
    genai.Tool.model_validate({"functionDeclarations": definitions})


def _mcp_tools(definitions: list[dict[str, Any]]) -> None:
    listing = mcp.types.ListToolsResult.model_validate({"tools": definitions})
    for tool in listing.tools:
        assert tool.input_schema.get("type") == "object"
        assert tool.output_schema is not None and tool.output_schema.get("type") == "object"
    check_schemas(tool.output_schema for tool in listing.tools if tool.output_schema is not None)


#: Keywords whose value is a subschema, a name-to-subschema map or a list of subschemas (JSON Schema 2020-12,
#: plus the older `definitions` and `additionalItems`).
_SUBSCHEMA = (
    *("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"),
    *("unevaluatedItems", "unevaluatedProperties", "additionalItems", "contentSchema"),
)
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")


def _schema_nodes(schema: Any, nodes: list[Any]) -> None:
    """`schema` and each subschema under it, with every subschema it holds replaced by `true` and its
    annotations by values the metaschema judges alike (any string is a valid title or description, any
    value a valid default, any array valid examples)."""
    if not isinstance(schema, dict):
        nodes.append(schema)
        return
    node = dict(schema)
    for keyword in ("title", "description"):
        if isinstance(node.get(keyword), str):
            node[keyword] = ""
    if isinstance(node.get("examples"), list):
        node["examples"] = []
    node.pop("default", None)
    for keyword in _SUBSCHEMA:
        if isinstance(schema.get(keyword), dict | bool):
            node[keyword] = True
            _schema_nodes(schema[keyword], nodes)
    for keyword in _SUBSCHEMA_MAPS:
        if isinstance(schema.get(keyword), dict):
            node[keyword] = dict.fromkeys(schema[keyword], True)
            for subschema in schema[keyword].values():
                _schema_nodes(subschema, nodes)
    for keyword in _SUBSCHEMA_LISTS:
        if isinstance(schema.get(keyword), list):
            node[keyword] = [True] * len(schema[keyword])
            for subschema in schema[keyword]:
                _schema_nodes(subschema, nodes)
    nodes.append(node)


def check_schemas(schemas: Iterable[dict[str, Any]]) -> None:
    """Each schema passes the check the MCP client makes of an output schema (`check_schema` of jsonschema's
    validator for the schema's dialect), made once per distinct node.

    The 2020-12 metaschema checks a subschema exactly as it checks a whole schema (`$dynamicRef: #meta`), so
    a schema is valid when each node, its subschemas stubbed as `true`, is: rendered schemas repeat the same
    components many times, and checking each distinct node once is what keeps the corpus affordable.
    """
    seen: set[str] = set()
    for schema in schemas:
        dialect = validator_for(schema)
        nodes: list[Any] = []
        _schema_nodes(schema, nodes)
        for node in nodes:
            key = json.dumps(node, sort_keys=True)
            if key not in seen:
                seen.add(key)
                dialect.check_schema(node)


DEFINITION_CHECKS: dict[Dialect, Callable[[list[dict[str, Any]]], None]] = {
    Dialect.OPENAI: _openai_chat_tools,
    Dialect.OPENAI_STRICT: _openai_chat_tools,
    Dialect.OPENAI_RESPONSES: _openai_responses_tools,
    Dialect.ANTHROPIC: _anthropic_tools,
    Dialect.BEDROCK: _bedrock_tools,
    Dialect.GEMINI: _gemini_tools,
    Dialect.MCP: _mcp_tools,
}

# --- Calls, as each SDK produces them --------------------------------------------------------------


def sdk_calls(name: str, arguments: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One call of `name` per format, serialized by the SDK's own types."""
    from openai.types.chat import ChatCompletionMessageFunctionToolCall
    from openai.types.responses import ResponseFunctionToolCall

    text = json.dumps(arguments)
    return {
        "openai": ChatCompletionMessageFunctionToolCall.model_validate(
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": text}}
        ).model_dump(exclude_none=True),
        "openai-responses": ResponseFunctionToolCall(
            type="function_call", call_id="call_2", name=name, arguments=text, id="fc_2", status="completed"
        ).model_dump(exclude_none=True),
        "anthropic": anthropic.types.ToolUseBlock(
            type="tool_use", id="toolu_3", name=name, input=arguments
        ).model_dump(exclude_none=True),
        "gemini": genai.Part(
            function_call=genai.FunctionCall(name=name, args=arguments, id="gem_4")
        ).to_json_dict(),
        "gemini-camel": genai.Part(function_call=genai.FunctionCall(name=name, args=arguments)).model_dump(
            mode="json", by_alias=True, exclude_none=True
        ),
        "mcp": {
            "jsonrpc": "2.0",
            "id": 5,
            **mcp.types.CallToolRequest(
                params=mcp.types.CallToolRequestParams(name=name, arguments=arguments)
            ).model_dump(mode="json", by_alias=True, exclude_none=True),
        },
    }


# --- Results ----------------------------------------------------------------------------------------

_CHAT_RESULT = TypeAdapter(ChatCompletionToolMessageParam)
_RESPONSES_RESULT = TypeAdapter(ResponseInputItemParam)
_ANTHROPIC_RESULT = TypeAdapter(anthropic.types.ToolResultBlockParam)


def check_result(call: ToolCall, result: dict[str, Any]) -> None:
    """The result block is one the call's SDK accepts as the answer to a tool call."""
    if call.format is CallFormat.OPENAI:
        _typed_dict_exact(_CHAT_RESULT, result)
    elif call.format is CallFormat.OPENAI_RESPONSES:
        assert _RESPONSES_RESULT.validate_python(result)["type"] == "function_call_output"
    elif call.format is CallFormat.ANTHROPIC:
        _typed_dict_exact(_ANTHROPIC_RESULT, result)
    elif call.format is CallFormat.BEDROCK:
        _bedrock_validate(
            {"modelId": "anthropic.claude", "messages": [{"role": "user", "content": [result]}]}
        )
    elif call.format is CallFormat.GEMINI:
        part = genai.Part.model_validate(result)
        assert part.function_response is not None and part.function_response.name == call.name
    elif call.format is CallFormat.MCP:
        assert result["jsonrpc"] == "2.0" and result["id"] == call.call_id
        mcp.types.CallToolResult.model_validate(result["result"])


def answered(
    tool: CanonicalTool, status: int, body: bytes, content_type: str, settings: RuntimeSettings | None = None
) -> dict[str, Any]:
    """The envelope the runtime makes of an upstream answer to a call of `tool`."""
    response = HttpResponse(status=status, reason="", headers={"content-type": content_type}, body=body)
    return result_from_response(tool, response, settings or RuntimeSettings(), Redactor()).to_dict()


def result_shapes(tool: CanonicalTool, conforming_body: Any) -> dict[str, dict[str, Any]]:
    """Every kind of envelope the invoke path answers, made by the runtime's and service's own code."""
    settings = RuntimeSettings()
    redactor = Redactor()

    def answer(status: int, body: bytes, content_type: str, budget: int | None = None) -> dict[str, Any]:
        used = settings if budget is None else settings.model_copy(update={"result_body_chars": budget})
        return answered(tool, status, body, content_type, used)

    now = datetime.now(UTC)
    job = JobRecord(
        job_id="job_" + "A" * 24, assistant_id="desk", tool=tool.name, integration_id="support",
        revision="r1", pattern=JobPattern.POLL, created_at=now, updated_at=now,
        deadline_at=now + timedelta(hours=1), expires_at=now + timedelta(days=1), execution_arn="arn:x",
    )  # fmt: skip
    off_schema = {"unexpected": [1, 2, 3], "case_id": 42}
    return {
        "ok-body": answer(200, json.dumps(conforming_body).encode(), "application/json"),
        "off-schema-body": answer(200, json.dumps(off_schema).encode(), "application/json"),
        "truncated": answer(200, json.dumps({"items": ["x" * 100] * 50}).encode(), "application/json", 64),
        "non-json": answer(200, b"<html>not json</html>", "text/html"),
        "upstream-error": answer(404, b'{"error": "no such case"}', "application/json"),
        "egress-denied": result_from_error(
            EgressDeniedError("The address 10.0.0.1 is private; calls to it are refused."), redactor
        ).to_dict(),
        "job-started": running_envelope(job, JobSettings()),
    }


def mcp_client_refusals(
    definitions: list[dict[str, Any]], results: Iterable[tuple[str, str, dict[str, Any]]]
) -> list[str]:
    """What the official MCP client refuses: it lists `definitions` from an in-process server, then
    calls each (tool, shape) and gets the given `tools/call` result back; every refusal is returned."""
    answers = {(name, shape): result for name, shape, result in results}
    listing = mcp.types.ListToolsResult.model_validate({"tools": definitions})

    async def list_tools(_context: Any, _params: Any) -> mcp.types.ListToolsResult:
        return listing

    async def call_tool(_context: Any, params: mcp.types.CallToolRequestParams) -> mcp.types.CallToolResult:
        shape = (params.arguments or {})["shape"]
        return mcp.types.CallToolResult.model_validate(answers[(params.name, shape)]["result"])

    refusals: list[str] = []

    async def run() -> None:
        server = Server("toolgate-under-test", on_list_tools=list_tools, on_call_tool=call_tool)
        async with Client(server) as client:
            await client.list_tools()
            for name, shape in answers:
                try:
                    await client.call_tool(name, {"shape": shape})
                except Exception as refusal:  # the client's refusal is what the test reports
                    refusals.append(f"{name} {shape}: {refusal}")

    anyio.run(run)
    return refusals


def output_schema_refusals(
    definitions: list[dict[str, Any]], results: Iterable[tuple[str, str, dict[str, Any]]]
) -> list[str]:
    """What the MCP client's output check refuses, made as the client makes it (jsonschema's validator for
    the schema's dialect, `$ref`s resolved within the schema, the error `best_match` picks), without the
    in-process session and without its per-tool `check_schema` (`check_schemas` covers the schemas)."""
    schemas = {definition["name"]: definition["outputSchema"] for definition in definitions}
    refusals: list[str] = []
    for name, shape, answer in results:
        result = mcp.types.CallToolResult.model_validate(answer["result"])
        if result.is_error:
            continue  # the client checks only successes against the output schema
        if result.structured_content is None:
            refusals.append(f"{name} {shape}: no structured content")
            continue
        schema = schemas[name]
        validator = validator_for(schema)(schema, registry=Registry())
        error = best_match(validator.iter_errors(result.structured_content))
        if error is not None:
            refusals.append(f"{name} {shape}: {error.message}")
    return refusals


def mcp_result(call_id: int, name: str, envelope: dict[str, Any]) -> dict[str, Any]:
    return format_result(ToolCall(CallFormat.MCP, name, {}, call_id=call_id), envelope)
