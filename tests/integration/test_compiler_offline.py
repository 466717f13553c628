"""The whole ingest (parse, validate, compile) never fetches anything: a recording HTTP server on
127.0.0.1, named by every URL-valued field a spec can hold, sees zero requests."""

from __future__ import annotations

import json
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from toolgate.spec.compiler import compile_document, compile_path, parse_spec
from toolgate.spec.models import CompiledSpec

from tests.integration.runtime_servers import Server, json_reply, serve

#: Served for every request: a schema that would add a recognisable property if it were ever inlined.
SERVED_SCHEMA = {"type": "object", "properties": {"fetched_from_the_network": {"type": "string"}}}


@pytest.fixture
def server() -> Iterator[Server]:
    """A real server on 127.0.0.1 that answers every request with the schema; it records what it sees."""
    with serve(lambda seen: json_reply(json.dumps(SERVED_SCHEMA).encode())) as recording:
        yield recording


def requests_seen(server: Server) -> list[str]:
    return [f"{seen.method} {seen.path}" for seen in server.seen]


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


def assert_nothing_fetched(server: Server, compiled: CompiledSpec) -> None:
    assert requests_seen(server) == []
    assert "fetched_from_the_network" not in compiled.model_dump_json()
    assert "SPEC_EXTERNAL_REF" in {f.code for f in compiled.findings}


def test_the_recording_server_records_what_it_is_asked(server: Server) -> None:
    with urllib.request.urlopen(f"{server.url}/probe.json", timeout=5) as response:
        assert json.load(response) == SERVED_SCHEMA
    assert requests_seen(server) == ["GET /probe.json"]


@pytest.mark.parametrize("serialize", [json.dumps, yaml.safe_dump], ids=["json", "yaml"])
def test_openapi_31_ingest_sends_zero_requests(server: Server, serialize: Any) -> None:
    data = serialize(openapi_31_spec(server.url)).encode()

    compiled = compile_document(parse_spec(data, name="remote.spec"))

    assert_nothing_fetched(server, compiled)
    assert "clean" in {t.name for t in compiled.tools}
    assert "/paths/~1things~1{id}/post" in compiled.failed_operations


def test_swagger_2_ingest_sends_zero_requests(server: Server) -> None:
    compiled = compile_document(parse_spec(json.dumps(swagger_2_spec(server.url)).encode()))

    assert_nothing_fetched(server, compiled)
    assert compiled.source_openapi == "2.0"


def test_folder_and_zip_ingest_send_zero_requests(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "spec"
    folder.mkdir()
    document = openapi_31_spec(server.url)
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
                            "content": {"application/json": {"schema": {"$ref": f"{server.url}/local.json"}}},
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
