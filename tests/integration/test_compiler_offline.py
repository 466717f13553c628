"""The whole ingest (parse, validate, compile) never fetches anything: a recording HTTP server on
127.0.0.1, named by every URL-valued field a spec can hold, sees zero requests."""

from __future__ import annotations

import json
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from toolgate.spec.compiler import compile_document, compile_path, parse_spec
from toolgate.spec.models import CompiledSpec

#: Served for every request: a schema that would add a recognisable property if it were ever inlined.
SERVED_SCHEMA = {"type": "object", "properties": {"fetched_from_the_network": {"type": "string"}}}


class RecordingServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RecordingHandler)
        self.requests: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class RecordingHandler(BaseHTTPRequestHandler):
    server: RecordingServer

    def do_GET(self) -> None:
        self.server.requests.append(f"GET {self.path}")
        body = json.dumps(SERVED_SCHEMA).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.server.requests.append(f"POST {self.path}")
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    recording = RecordingServer()
    thread = threading.Thread(target=recording.serve_forever, daemon=True)
    thread.start()
    yield recording
    recording.shutdown()
    recording.server_close()
    thread.join()


def openapi_31_spec(base: str) -> dict[str, Any]:
    """Every place a 3.1 document can name a URL: refs, `$id`/`$schema`, dialect, links, OAuth, docs."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": f"{base}/dialect",
        "info": {"title": "Remote everything", "version": "1", "termsOfService": f"{base}/terms"},
        "externalDocs": {"url": f"{base}/docs"},
        "servers": [{"url": f"{base}/api"}],
        "paths": {
            "/remote-item": {"$ref": f"{base}/path-item.json"},
            "/things/{id}": {
                "parameters": [{"$ref": f"{base}/parameters.json#/id"}],
                "post": {
                    "operationId": "createThing",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "remote": {"$ref": f"{base}/thing.json"},
                                        "relative_to_id": {"$id": f"{base}/schemas/", "$ref": "thing.json"},
                                        "meta": {"$schema": f"{base}/meta-schema", "type": "string"},
                                        "kind": {
                                            "oneOf": [{"$ref": "#/components/schemas/Local"}],
                                            "discriminator": {
                                                "propertyName": "kind",
                                                "mapping": {"remote": f"{base}/kind.json"},
                                            },
                                        },
                                    },
                                },
                                "examples": {"remote": {"externalValue": f"{base}/example.json"}},
                            }
                        }
                    },
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": f"{base}/response.json"}}},
                            "links": {"next": {"operationRef": f"{base}/openapi.json#/paths/~1next/get"}},
                        },
                        "default": {"$ref": f"{base}/responses.json#/error"},
                    },
                    "callbacks": {"onDone": {"$ref": f"{base}/callbacks.json"}},
                    "security": [{"oidc": []}, {"oauth": ["read"]}],
                },
            },
            "/clean": {"get": {"operationId": "clean", "responses": {"200": {"description": "ok"}}}},
        },
        "components": {
            "schemas": {
                "Local": {"type": "object", "properties": {"kind": {"type": "string"}}},
                "Remote": {"$ref": f"{base}/remote.json", "examples": [{"a": 1}]},
            },
            "securitySchemes": {
                "oidc": {
                    "type": "openIdConnect",
                    "openIdConnectUrl": f"{base}/.well-known/openid-configuration",
                },
                "oauth": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": f"{base}/token", "scopes": {"read": "r"}}},
                },
            },
        },
        "webhooks": {"event": {"$ref": f"{base}/webhook.json"}},
    }


def swagger_2_spec(base: str) -> dict[str, Any]:
    host = base.removeprefix("http://")
    return {
        "swagger": "2.0",
        "info": {"title": "Remote swagger", "version": "1"},
        "host": host,
        "schemes": ["http"],
        "paths": {
            "/pets": {
                "post": {
                    "operationId": "addPet",
                    "parameters": [
                        {"in": "body", "name": "pet", "schema": {"$ref": f"{base}/pet.json"}},
                        {"$ref": f"{base}/parameters.json#/limit"},
                    ],
                    "responses": {"200": {"description": "ok", "schema": {"$ref": f"{base}/pet.json"}}},
                }
            }
        },
        "definitions": {"Pet": {"$ref": f"{base}/pet.json"}},
    }


def assert_nothing_fetched(server: RecordingServer, compiled: CompiledSpec) -> None:
    assert server.requests == []
    assert "fetched_from_the_network" not in compiled.model_dump_json()
    assert "SPEC_EXTERNAL_REF" in {f.code for f in compiled.findings}


def test_the_recording_server_records_what_it_is_asked(server: RecordingServer) -> None:
    with urllib.request.urlopen(f"{server.base_url}/probe.json", timeout=5) as response:
        assert json.load(response) == SERVED_SCHEMA
    assert server.requests == ["GET /probe.json"]


@pytest.mark.parametrize("serialize", [json.dumps, yaml.safe_dump], ids=["json", "yaml"])
def test_openapi_31_ingest_sends_zero_requests(server: RecordingServer, serialize: Any) -> None:
    data = serialize(openapi_31_spec(server.base_url)).encode()

    compiled = compile_document(parse_spec(data, name="remote.spec"))

    assert_nothing_fetched(server, compiled)
    assert "clean" in {t.name for t in compiled.tools}
    assert "/paths/~1things~1{id}/post" in compiled.failed_operations


def test_swagger_2_ingest_sends_zero_requests(server: RecordingServer) -> None:
    compiled = compile_document(parse_spec(json.dumps(swagger_2_spec(server.base_url)).encode()))

    assert_nothing_fetched(server, compiled)
    assert compiled.source_openapi == "2.0"


def test_folder_and_zip_ingest_send_zero_requests(server: RecordingServer, tmp_path: Path) -> None:
    folder = tmp_path / "spec"
    folder.mkdir()
    document = openapi_31_spec(server.base_url)
    document["paths"]["/local"] = {"$ref": "paths/local.yaml"}
    (folder / "openapi.yaml").write_text(yaml.safe_dump(document))
    (folder / "paths").mkdir()
    (folder / "paths" / "local.yaml").write_text(
        yaml.safe_dump(
            {
                "get": {
                    "operationId": "local",
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {"schema": {"$ref": f"{server.base_url}/local.json"}}
                            },
                        }
                    },
                }
            }
        )
    )

    archive = tmp_path / "spec.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in folder.rglob("*.yaml"):
            bundle.write(file, file.relative_to(folder).as_posix())

    for compiled in (compile_path(folder, "openapi.yaml"), compile_path(archive)):
        assert_nothing_fetched(server, compiled)
        assert {"clean", "local"} <= {t.name for t in compiled.tools}
