"""`x-toolgate` against a real server on 127.0.0.1: hidden parameters arrive on the wire as the spec's style
says, and a selection trims what the model sees of a real response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from toolgate.adapters.http import HttpTransport
from toolgate.runtime.invoke import invoke_tool
from toolgate.settings import RuntimeSettings
from toolgate.spec.compiler import compile_document
from toolgate.spec.models import CanonicalTool

from tests.integration.runtime_servers import Seen, Server, json_reply, serve

LOCAL = RuntimeSettings(allow_loopback=True)
VAULTS = {"value": [{"id": "/v/1", "name": "one", "properties": {"sku": "standard", "tags": {"a": "b"}}}]}


@pytest.fixture
def transport() -> Iterator[HttpTransport]:
    transport = HttpTransport(LOCAL)
    yield transport
    transport.close()


@pytest.fixture
def server() -> Iterator[Server]:
    with serve(lambda _: json_reply(json.dumps(VAULTS).encode())) as server:
        yield server


def azure_tool(server: Server, **extension: Any) -> CanonicalTool:
    (tool,) = compile_document(azure_document(server.url, **extension)).tools
    return tool


def azure_document(server_url: str, **extension: Any) -> dict[str, Any]:
    """An Azure-style list operation whose `api-version` and subscription the admin fixes."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Vaults", "version": "2019-06-01"},
        "servers": [{"url": server_url}],
        "paths": {
            "/subscriptions/{subscriptionId}/vaults": {
                "get": {
                    "operationId": "Vaults_List",
                    "x-toolgate": extension,
                    "parameters": [
                        {
                            "name": "subscriptionId",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                            "x-toolgate": {"hidden": True, "from": "subscription"},
                        },
                        {
                            "name": "api-version",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                            "x-toolgate": {"hidden": True, "value": "2019-06-01"},
                        },
                        {"name": "$top", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "value": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "properties": {
                                                        "id": {"type": "string"},
                                                        "name": {"type": "string"},
                                                        "properties": {"type": "object"},
                                                    },
                                                },
                                            }
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            }
        },
    }


def test_hidden_fixed_parameter_reaches_the_wire(server: Server, transport: HttpTransport) -> None:
    tool = azure_tool(server)
    assert set(tool.input_schema["properties"]) == {"top"}
    result = invoke_tool(
        tool, {"top": 5}, transport=transport, settings=LOCAL, parameters={"subscription": "sub 1/a"}
    )
    assert result.ok, result.to_dict()
    seen: Seen = server.seen[-1]
    url = urlsplit(seen.path)
    assert url.path == "/subscriptions/sub%201%2Fa/vaults"
    assert sorted(parse_qsl(url.query)) == [("$top", "5"), ("api-version", "2019-06-01")]


def test_model_cannot_override_a_hidden_parameter_on_the_wire(
    server: Server, transport: HttpTransport
) -> None:
    tool = azure_tool(server)
    result = invoke_tool(
        tool,
        {"api-version": "2099-01-01"},
        transport=transport,
        settings=LOCAL,
        parameters={"subscription": "s"},
    )
    assert result.error is not None and result.error.code == "ARGUMENT_HIDDEN"
    assert server.seen == []


def test_selected_response_is_what_the_model_sees_of_a_real_answer(
    server: Server, transport: HttpTransport
) -> None:
    tool = azure_tool(server, response={"select": ["$.value[*]['id','name']"]})
    result = invoke_tool(tool, {}, transport=transport, settings=LOCAL, parameters={"subscription": "s"})
    assert result.ok and result.warnings == [], result.to_dict()
    assert result.body == {"value": [{"id": "/v/1", "name": "one"}]}
    assert result.full_body == VAULTS


def test_cli_call_takes_parameter_settings_for_hidden_parameters(
    server: Server, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from toolgate_cli.main import main

    spec = tmp_path / "vaults.json"
    spec.write_text(json.dumps(azure_document("https://vaults.example.com")))
    arguments = [
        "Vaults_List",
        "--parameter",
        "subscription=sub-9",
        "--server",
        server.url,
        "--allow-private",
    ]
    status = main(["call", str(spec), *arguments])
    assert status == 0, capsys.readouterr()
    assert urlsplit(server.seen[-1].path).path == "/subscriptions/sub-9/vaults"
