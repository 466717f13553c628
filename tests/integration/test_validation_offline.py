"""Validation never fetches anything: a recording HTTP server on 127.0.0.1 sees zero requests, and
`file:` or `data:` refs are never read. Every remote target holds a schema that would turn a valid
example or default into a distinctive finding if it were ever loaded, so a fetch cannot go unseen."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from toolgate.spec.models import Finding
from toolgate.spec.validation import ValidationCode, validate_document

from tests.integration.runtime_servers import Server, json_reply, serve

#: Served for every request and written to every marker file: a text example fails against it.
INTEGER_SCHEMA = {"type": "integer"}
EXAMPLE = "not-a-number"


@pytest.fixture
def server() -> Iterator[Server]:
    """A real server on 127.0.0.1 that answers every request with the schema; it records what it sees."""
    with serve(lambda seen: json_reply(json.dumps(INTEGER_SCHEMA).encode())) as recording:
        yield recording


def requests_seen(server: Server) -> list[str]:
    return [f"{seen.method} {seen.path}" for seen in server.seen]


def spec_with_refs(ref: str) -> dict[str, Any]:
    """A 3.0 document with `ref` as a schema, a parameter, a response and a path item."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Remote refs", "version": "1"},
        "paths": {
            "/remote": {"$ref": f"{ref}#/path-item"},
            "/things": {
                "post": {
                    "operationId": "createThing",
                    "parameters": [{"$ref": f"{ref}#/parameter"}],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": {"count": {"$ref": ref}}},
                                "example": {"count": EXAMPLE},
                            }
                        }
                    },
                    "responses": {"200": {"$ref": f"{ref}#/response"}},
                }
            },
        },
        "components": {"schemas": {"Count": {"$ref": ref, "example": EXAMPLE}}},
    }


REF_POINTERS = {
    "/paths/~1remote",
    "/paths/~1things/post/parameters/0",
    "/paths/~1things/post/requestBody/content/application~1json/schema/properties/count",
    "/paths/~1things/post/responses/200",
    "/components/schemas/Count",
}


def codes_at(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(finding.code, finding.pointer) for finding in findings}


def test_the_recording_server_records_what_it_is_asked(server: Server) -> None:
    with urllib.request.urlopen(f"{server.url}/probe.json", timeout=5) as response:
        assert json.load(response) == INTEGER_SCHEMA
    assert requests_seen(server) == ["GET /probe.json"]


def test_the_served_schema_would_make_the_examples_fail_if_it_were_loaded() -> None:
    inlined = json.loads(json.dumps(spec_with_refs("#/components/schemas/Integer")))
    inlined["paths"] = {"/things": inlined["paths"]["/things"]}
    del inlined["paths"]["/things"]["post"]["parameters"]
    inlined["paths"]["/things"]["post"]["responses"] = {"200": {"description": "ok"}}
    inlined["components"]["schemas"] = {
        "Integer": INTEGER_SCHEMA,
        "Count": {"allOf": [{"$ref": "#/components/schemas/Integer"}], "example": EXAMPLE},
    }
    findings = validate_document(inlined, "3.0.3")
    assert {f.pointer for f in findings if f.code == ValidationCode.EXAMPLE_MISMATCH} == {
        "/paths/~1things/post/requestBody/content/application~1json/example/count",
        "/components/schemas/Count/example",
    }


def test_http_refs_get_zero_requests(server: Server) -> None:
    findings = validate_document(spec_with_refs(f"{server.url}/schema.json"), "3.0.3")
    assert requests_seen(server) == []
    assert codes_at(findings) == {(ValidationCode.EXTERNAL_REF, pointer) for pointer in REF_POINTERS}


def test_a_ref_made_remote_by_an_id_is_refused_by_the_resolver(server: Server) -> None:
    # The ref looks local, but `$id` rebases it onto the server; only the resolver's refusal stops the fetch.
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Rebased", "version": "1"},
        "components": {
            "schemas": {
                "Count": {"type": "integer"},
                "Counter": {
                    "type": "object",
                    "properties": {
                        "inner": {
                            "$id": f"{server.url}/base.json",
                            "properties": {"count": {"$ref": "#/components/schemas/Count"}},
                        }
                    },
                    "default": {"inner": {"count": 1}},
                },
            }
        },
    }
    findings = validate_document(document, "3.1.0")
    assert requests_seen(server) == []
    assert codes_at(findings) == {(ValidationCode.VALIDATOR_FAILURE, "/components/schemas/Counter/default")}


def test_file_refs_are_never_read(tmp_path: Path) -> None:
    marker = tmp_path / "marker.json"
    marker.write_text(json.dumps(INTEGER_SCHEMA))
    findings = validate_document(spec_with_refs(marker.as_uri()), "3.0.3")
    assert codes_at(findings) == {(ValidationCode.EXTERNAL_REF, pointer) for pointer in REF_POINTERS}


def test_etc_passwd_ref_is_reported_not_read() -> None:
    findings = validate_document(spec_with_refs("file:///etc/passwd"), "3.0.3")
    assert codes_at(findings) == {(ValidationCode.EXTERNAL_REF, pointer) for pointer in REF_POINTERS}
    assert all("root:" not in finding.message for finding in findings)


def test_a_file_made_reachable_by_an_id_is_refused_by_the_resolver(tmp_path: Path) -> None:
    (tmp_path / "base.json").write_text(json.dumps({"components": {"schemas": {"Count": INTEGER_SCHEMA}}}))
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Rebased", "version": "1"},
        "components": {
            "schemas": {
                "Count": {"type": "string"},
                "Counter": {
                    "properties": {
                        "inner": {
                            "$id": (tmp_path / "base.json").as_uri(),
                            "properties": {"count": {"$ref": "#/components/schemas/Count"}},
                        }
                    },
                    "default": {"inner": {"count": EXAMPLE}},
                },
            }
        },
    }
    findings = validate_document(document, "3.1.0")
    # Read, the file would make the default a DEFAULT_MISMATCH; refused, the default is left unchecked.
    assert codes_at(findings) == {(ValidationCode.VALIDATOR_FAILURE, "/components/schemas/Counter/default")}


def test_data_uri_refs_are_never_decoded() -> None:
    findings = validate_document(
        spec_with_refs("data:application/json," + json.dumps(INTEGER_SCHEMA)), "3.0.3"
    )
    assert codes_at(findings) == {(ValidationCode.EXTERNAL_REF, pointer) for pointer in REF_POINTERS}
