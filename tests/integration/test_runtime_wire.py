"""Compiled tools called against a real server on 127.0.0.1: what arrives on the wire is exactly what the
OpenAPI styles describe, with no re-encoding or path normalisation by the HTTP stack on the way."""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from toolgate.adapters.http import HttpTransport
from toolgate.runtime.invoke import invoke_tool
from toolgate.settings import RuntimeSettings
from toolgate.spec.compiler import compile_document
from toolgate.spec.models import CanonicalTool

from tests.integration.runtime_servers import Seen, Server, json_reply, serve

LOCAL = RuntimeSettings(allow_loopback=True)
COLOR_ARRAY = {"type": "array", "items": {"type": "string"}}
COLOR_OBJECT = {"type": "object", "properties": {"R": {"type": "integer"}, "G": {"type": "integer"}}}
OK = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}


@pytest.fixture
def transport() -> Iterator[HttpTransport]:
    transport = HttpTransport(LOCAL)
    yield transport
    transport.close()


@pytest.fixture
def server() -> Iterator[Server]:
    with serve(lambda _: json_reply()) as server:
        yield server


def tool_for(server: Server, path: str, operation: dict[str, Any], method: str = "get") -> CanonicalTool:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Wire", "version": "1"},
        "servers": [{"url": f"{server.url}/v1"}],
        "paths": {path: {method: {"operationId": "probe", "responses": OK, **operation}}},
    }
    compiled = compile_document(document)
    (tool,) = compiled.tools
    return tool


def call(server: Server, transport: HttpTransport, tool: CanonicalTool, arguments: dict[str, Any]) -> Seen:
    result = invoke_tool(tool, arguments, transport=transport, settings=LOCAL)
    assert result.ok, result.to_dict()
    return server.seen[-1]


def parameter(name: str, where: str, style: str, explode: bool, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": where, "required": True, "style": style, "explode": explode, "schema": schema}


@pytest.mark.parametrize(
    ("style", "explode", "schema", "value", "segment"),
    [
        ("simple", False, COLOR_ARRAY, ["blue", "black"], "blue,black"),
        ("simple", True, COLOR_OBJECT, {"R": 100, "G": 200}, "R=100,G=200"),
        ("label", False, COLOR_ARRAY, ["blue", "black"], ".blue,black"),
        ("label", True, COLOR_ARRAY, ["blue", "black"], ".blue.black"),
        ("matrix", False, COLOR_OBJECT, {"R": 100, "G": 200}, ";color=R,100,G,200"),
        ("matrix", True, COLOR_ARRAY, ["blue", "black"], ";color=blue;color=black"),
    ],
)
def test_path_styles_arrive_at_the_server_as_written(
    server: Server,
    transport: HttpTransport,
    *,
    style: str,
    explode: bool,
    schema: dict[str, Any],
    value: Any,
    segment: str,
) -> None:
    tool = tool_for(
        server, "/paint/{color}", {"parameters": [parameter("color", "path", style, explode, schema)]}
    )

    assert call(server, transport, tool, {"color": value}).path == f"/v1/paint/{segment}"


@pytest.mark.parametrize(
    ("style", "explode", "schema", "value", "query"),
    [
        ("form", True, COLOR_ARRAY, ["blue", "black"], "color=blue&color=black"),
        ("form", False, COLOR_ARRAY, ["blue", "black"], "color=blue,black"),
        ("form", True, COLOR_OBJECT, {"R": 100, "G": 200}, "R=100&G=200"),
        ("spaceDelimited", False, COLOR_ARRAY, ["blue", "black"], "color=blue%20black"),
        ("pipeDelimited", False, COLOR_ARRAY, ["blue", "black"], "color=blue%7Cblack"),
        ("deepObject", True, COLOR_OBJECT, {"R": 100, "G": 200}, "color%5BR%5D=100&color%5BG%5D=200"),
    ],
)
def test_query_styles_arrive_at_the_server_as_written(
    server: Server,
    transport: HttpTransport,
    *,
    style: str,
    explode: bool,
    schema: dict[str, Any],
    value: Any,
    query: str,
) -> None:
    tool = tool_for(server, "/paint", {"parameters": [parameter("color", "query", style, explode, schema)]})

    assert call(server, transport, tool, {"color": value}).path == f"/v1/paint?{query}"


def test_header_simple_and_cookie_form_arrive_at_the_server(server: Server, transport: HttpTransport) -> None:
    tool = tool_for(
        server,
        "/paint",
        {
            "parameters": [
                parameter("X-Colors", "header", "simple", False, COLOR_ARRAY),
                parameter("session", "cookie", "form", True, {"type": "string"}),
                parameter("theme", "cookie", "form", False, COLOR_ARRAY),
            ]
        },
    )

    seen = call(
        server, transport, tool, {"X-Colors": ["blue", "black"], "session": "a b;c", "theme": ["x", "y"]}
    )

    assert seen.header("X-Colors") == "blue,black"
    assert seen.header("Cookie") == "session=a%20b%3Bc; theme=x,y"


def test_reserved_characters_in_path_and_query_values_are_percent_encoded_on_the_wire(
    server: Server, transport: HttpTransport
) -> None:
    tool = tool_for(
        server,
        "/files/{name}",
        {
            "parameters": [
                parameter("name", "path", "simple", False, {"type": "string"}),
                parameter("q", "query", "form", True, {"type": "string"}),
            ]
        },
    )

    seen = call(server, transport, tool, {"name": "a/../b?c#d%2F é", "q": "x&y=z+1 #"})

    assert seen.path == "/v1/files/a%2F..%2Fb%3Fc%23d%252F%20%C3%A9?q=x%26y%3Dz%2B1%20%23"


@pytest.mark.parametrize("value", [".", ".."])
def test_dot_segment_path_values_never_reach_the_server(
    server: Server, transport: HttpTransport, value: str
) -> None:
    tool = tool_for(
        server,
        "/users/{user}/keys",
        {"parameters": [parameter("user", "path", "simple", False, {"type": "string"})]},
    )

    result = invoke_tool(tool, {"user": value}, transport=transport, settings=LOCAL)

    assert result.error is not None and result.error.code == "PATH_VALUE_INVALID"
    assert server.count() == 0


def test_json_body_fields_arrive_as_one_json_object(server: Server, transport: HttpTransport) -> None:
    schema = {
        "type": "object",
        "required": ["sku"],
        "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
    }
    tool = tool_for(
        server,
        "/orders",
        {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}},
        method="post",
    )

    seen = call(server, transport, tool, {"sku": "é-1", "qty": 2})

    assert seen.header("Content-Type") == "application/json"
    assert json.loads(seen.body) == {"sku": "é-1", "qty": 2}


def test_form_urlencoded_body_arrives_with_its_encoding(server: Server, transport: HttpTransport) -> None:
    schema = {"type": "object", "properties": {"note": {"type": "string"}, "tags": COLOR_ARRAY}}
    tool = tool_for(
        server,
        "/notes",
        {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": schema}}}},
        method="post",
    )

    seen = call(server, transport, tool, {"note": "a&b=c d", "tags": ["x", "y"]})

    assert seen.header("Content-Type") == "application/x-www-form-urlencoded"
    assert parse_qsl(seen.body.decode(), strict_parsing=True) == [
        ("note", "a&b=c d"),
        ("tags", "x"),
        ("tags", "y"),
    ]


def test_multipart_body_arrives_as_one_part_per_field(server: Server, transport: HttpTransport) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "meta": {"type": "object", "properties": {"n": {"type": "integer"}}},
        },
    }
    tool = tool_for(
        server,
        "/uploads",
        {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}}},
        method="post",
    )

    seen = call(server, transport, tool, {"title": "Größe", "meta": {"n": 3}})

    content_type = seen.header("Content-Type") or ""
    assert content_type.startswith("multipart/form-data; boundary=")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + seen.body
    )
    parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
    assert set(parts) == {"title", "meta"}
    assert parts["title"].get_payload(decode=True) == "Größe".encode()
    assert parts["meta"].get_content_type() == "application/json"
    meta = parts["meta"].get_payload(decode=True)
    assert isinstance(meta, bytes)
    assert json.loads(meta) == {"n": 3}


def test_server_variables_resolve_into_the_called_url(server: Server, transport: HttpTransport) -> None:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Wire", "version": "1"},
        "servers": [{"url": f"{server.url}/{{stage}}/api", "variables": {"stage": {"default": "prod"}}}],
        "paths": {"/ping": {"get": {"operationId": "ping", "responses": OK}}},
    }
    (tool,) = compile_document(document).tools

    assert call(server, transport, tool, {}).path == "/prod/api/ping"
