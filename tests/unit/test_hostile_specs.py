"""Hostile specs end in a typed error or a correct result, quickly, without reading anything outside
the upload and without crashing the interpreter."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from spec_builders import OK, assert_valid_json_schema, compile_paths, findings_with, json_body, openapi, post
from toolgate.errors import (
    BundleError,
    BundlePathEscapeError,
    SpecAliasExpansionError,
    SpecError,
    SpecNotOpenAPIError,
    SpecParseError,
    SpecTooDeepError,
    SpecTooLargeError,
    SpecUnsupportedVersionError,
)
from toolgate.settings import CompileLimits
from toolgate.spec.bundle import bundle_path
from toolgate.spec.compiler import compile_document, compile_path, parse_spec, read_spec
from toolgate.spec.loader import load_document
from toolgate.spec.naming import TOOL_NAME

CANARY = "TOPSECRET-CANARY-5f1c2a"
MIB = 1024 * 1024
DEEP = 50_000


def spec_with_ref(ref: str) -> dict[str, Any]:
    """One operation per place a `$ref` can sit, plus one clean operation."""
    return openapi(
        {
            "/schema": post({"type": "object", "properties": {"x": {"$ref": ref}}}, "schemaRef"),
            "/parameter": {
                "get": {"operationId": "parameterRef", "parameters": [{"$ref": ref}], "responses": OK}
            },
            "/body": {"post": {"operationId": "bodyRef", "requestBody": {"$ref": ref}, "responses": OK}},
            "/response": {
                "get": {
                    "operationId": "responseRef",
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": ref}}},
                        }
                    },
                }
            },
            "/item": {"$ref": ref},
            "/clean": {"get": {"operationId": "clean", "responses": OK}},
        }
    )


@pytest.fixture
def canary_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.yaml"
    secret.write_text(
        f"type: object\nproperties:\n  {CANARY}: {{type: string}}\n{CANARY}: {{type: string}}\n"
    )
    return secret


# --- external references ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        "https://schemas.invalid/thing.json#/Thing",
        "http://127.0.0.1:9/latest/meta-data/",
        "file:///etc/passwd",
        "data:application/json,%7B%22type%22%3A%22integer%22%7D",
        "urn:example:thing",
    ],
)
def test_external_ref_is_refused_with_a_typed_code(ref: str) -> None:
    compiled = compile_document(spec_with_ref(ref))

    assert [t.name for t in compiled.tools] == ["response_ref", "clean"]
    assert compiled.failed_operations == [
        "/paths/~1schema/post",
        "/paths/~1parameter/get",
        "/paths/~1body/post",
    ]
    errors = {(f.code, f.pointer) for f in compiled.findings if f.severity == "error"}
    assert errors == {
        ("SPEC_EXTERNAL_REF", "/paths/~1schema/post"),
        ("SPEC_EXTERNAL_REF", "/paths/~1parameter/get"),
        ("SPEC_EXTERNAL_REF", "/paths/~1body/post"),
        ("SPEC_EXTERNAL_REF", "/paths/~1item"),
    }


def test_file_ref_to_a_local_file_is_never_read(canary_file: Path) -> None:
    compiled = compile_document(spec_with_ref(canary_file.as_uri()))

    assert "SPEC_EXTERNAL_REF" in {f.code for f in compiled.findings}
    assert CANARY not in compiled.model_dump_json()


def test_relative_ref_in_a_single_file_upload_never_reads_the_neighbouring_file(canary_file: Path) -> None:
    spec = canary_file.parent / "openapi.json"
    spec.write_text(json.dumps(spec_with_ref(canary_file.name)))

    compiled = compile_path(spec)

    assert {f.code for f in compiled.findings if f.severity == "error"} == {"SPEC_UNRESOLVABLE_REF"}
    assert CANARY not in compiled.model_dump_json()


def test_file_ref_inside_a_folder_spec_is_refused_and_never_read(tmp_path: Path, canary_file: Path) -> None:
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "openapi.json").write_text(json.dumps(spec_with_ref(canary_file.as_uri())))

    compiled = compile_path(folder, "openapi.json")

    assert "SPEC_EXTERNAL_REF" in {f.code for f in compiled.findings}
    assert CANARY not in compiled.model_dump_json()


# --- YAML alias bombs and nesting -------------------------------------------------------------

#: Billion laughs in about 300 bytes: 9 levels of 9 aliases each, 387 million strings once expanded.
ALIAS_BOMB = b"a: &a [l,l,l,l,l,l,l,l,l]\n" + b"".join(
    b"%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n" % ((level, level) + (level - 1,) * 9)
    for level in range(ord("b"), ord("j"))
)


@pytest.mark.timeout(10)
def test_alias_bomb_is_refused_with_typed_error() -> None:
    assert len(ALIAS_BOMB) < 400

    with pytest.raises(SpecAliasExpansionError) as caught:
        parse_spec(ALIAS_BOMB, name="bomb.yaml")

    assert caught.value.code == "SPEC_ALIAS_EXPANSION"
    assert "bomb.yaml" in caught.value.message


def test_recursive_alias_is_refused_with_typed_error() -> None:
    with pytest.raises(SpecAliasExpansionError):
        load_document(b"openapi: 3.0.3\nloop: &loop [*loop]\n")


def test_modest_anchor_reuse_still_loads() -> None:
    document = load_document(
        b"openapi: 3.0.3\n"
        b"common: &error {type: object, properties: {message: {type: string}}}\n"
        b"a: *error\nb: *error\nc: *error\n"
    )

    assert document["c"] == {"type": "object", "properties": {"message": {"type": "string"}}}


DEEP_DOCUMENTS: dict[str, Callable[[], bytes]] = {
    "yaml_flow_sequences": lambda: b"a: " + b"[" * DEEP + b"]" * DEEP,
    "yaml_flow_mappings": lambda: b"a: " + b"{a: " * DEEP + b"1" + b"}" * DEEP,
    "yaml_block_sequences": lambda: b"a:\n  " + b"- " * DEEP + b"x\n",
    "yaml_block_sequences_at_top": lambda: b"- " * DEEP + b"x\n",
    "yaml_block_mappings": lambda: b"".join(b" " * level + b"k:\n" for level in range(3_000)),
    "json_arrays": lambda: b'{"a": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "json_objects": lambda: b'{"a": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}",
    "json_mixed": lambda: b'{"a": ' + b'[{"a": ' * (DEEP // 2) + b"1" + b"}]" * (DEEP // 2) + b"}",
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", list(DEEP_DOCUMENTS))
def test_fifty_thousand_deep_nesting_is_refused_as_too_deep(kind: str) -> None:
    with pytest.raises(SpecTooDeepError) as caught:
        parse_spec(DEEP_DOCUMENTS[kind]())

    assert caught.value.code == "SPEC_TOO_DEEP"


def test_nesting_just_over_the_depth_limit_is_refused_and_just_under_loads() -> None:
    limits = CompileLimits(max_depth=50)

    load_document(b"a: " + b"[" * 40 + b"]" * 40, limits=limits)
    load_document(b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", limits=limits)
    with pytest.raises(SpecTooDeepError):
        load_document(b"a: " + b"[" * 60 + b"]" * 60, limits=limits)
    with pytest.raises(SpecTooDeepError):
        load_document(b'{"a": ' + b"[" * 60 + b"]" * 60 + b"}", limits=limits)


DEEP_YAML_IN_A_CHILD = """
import sys
from toolgate.errors import SpecTooDeepError
from toolgate.spec.loader import load_document

N = 50_000
for document in (
    b"a: " + b"[" * N + b"]" * N,
    b"a: " + b"{a: " * N + b"1" + b"}" * N,
    b"a:\\n  " + b"- " * N + b"x\\n",
    b"- " * N + b"x\\n",
):
    try:
        load_document(document)
    except SpecTooDeepError as exc:
        print(exc.code)
"""


@pytest.mark.timeout(60)
def test_deep_yaml_never_crashes_the_interpreter() -> None:
    """PyYAML's C loader segfaults on this nesting; the loader must refuse before handing it over."""
    child = subprocess.run(
        [sys.executable, "-c", DEEP_YAML_IN_A_CHILD], capture_output=True, text=True, timeout=50, check=False
    )

    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split() == ["SPEC_TOO_DEEP"] * 4


# --- size -------------------------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_fifty_megabyte_document_is_refused_before_parsing() -> None:
    with pytest.raises(SpecTooLargeError) as caught:
        parse_spec(b"openapi: 3.0.3\n" + b"#" * (50 * MIB), name="huge.yaml")

    assert caught.value.code == "SPEC_TOO_LARGE"
    assert "huge.yaml" in caught.value.message


@pytest.mark.timeout(10)
def test_fifty_megabyte_file_is_refused_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(50 * MIB)

    def refuse(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(SpecTooLargeError):
        read_spec(huge)


# --- circular references ----------------------------------------------------------------------


def test_self_referencing_schema_compiles_to_defs() -> None:
    components = {
        "schemas": {
            "Category": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "parent": {"$ref": "#/components/schemas/Category"},
                },
            }
        }
    }
    compiled = compile_paths({"/c": post({"$ref": "#/components/schemas/Category"})}, components)

    (tool,) = compiled.tools
    validator = assert_valid_json_schema(tool.input_schema)
    assert validator.is_valid({"body": {"name": "a", "parent": {"name": "b", "parent": {"name": "c"}}}})
    assert not validator.is_valid({"body": {"name": "a", "parent": {"name": 3}}})


def test_mutual_recursion_across_many_schemas_compiles() -> None:
    names = [f"S{i}" for i in range(50)]
    schemas = {
        name: {
            "type": "object",
            "properties": {
                "next": {"$ref": f"#/components/schemas/{names[(i + 1) % len(names)]}"},
                "back": {"$ref": f"#/components/schemas/{names[i - 1]}"},
            },
        }
        for i, name in enumerate(names)
    }
    compiled = compile_paths(
        {"/s": post({"type": "object", "properties": {"start": {"$ref": "#/components/schemas/S0"}}})},
        {"schemas": schemas},
    )

    (tool,) = compiled.tools
    validator = assert_valid_json_schema(tool.input_schema)
    assert validator.is_valid({"start": {"next": {"next": {"back": {}}}}})


@pytest.mark.timeout(10)
def test_reference_object_loop_in_parameters_fails_only_that_operation() -> None:
    components = {
        "parameters": {
            "A": {"$ref": "#/components/parameters/B"},
            "B": {"$ref": "#/components/parameters/A"},
        }
    }
    paths = {
        "/loop": {
            "get": {
                "operationId": "loop",
                "parameters": [{"$ref": "#/components/parameters/A"}],
                "responses": OK,
            }
        },
        "/fine": {"get": {"operationId": "fine", "responses": OK}},
    }
    compiled = compile_paths(paths, components)

    assert [t.name for t in compiled.tools] == ["fine"]
    assert compiled.failed_operations == ["/paths/~1loop/get"]
    assert ("error", "/paths/~1loop/get") in findings_with(compiled, "SPEC_UNRESOLVABLE_REF")


@pytest.mark.timeout(10)
def test_path_item_that_refers_to_itself_is_skipped_with_a_finding() -> None:
    compiled = compile_paths(
        {"/self": {"$ref": "#/paths/~1self"}, "/fine": {"get": {"operationId": "fine", "responses": OK}}}
    )

    assert [t.name for t in compiled.tools] == ["fine"]
    assert ("error", "/paths/~1self") in findings_with(compiled, "SPEC_UNRESOLVABLE_REF")


@pytest.mark.timeout(10)
def test_schema_that_is_only_a_reference_loop_terminates_with_a_valid_schema() -> None:
    components = {
        "schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"$ref": "#/components/schemas/A"},
        }
    }
    compiled = compile_paths(
        {"/a": post({"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}})}, components
    )

    (tool,) = compiled.tools
    assert_valid_json_schema(tool.input_schema)
    assert "SPEC_UNRESOLVABLE_REF" in {f.code for f in compiled.findings}


@pytest.mark.timeout(20)
def test_three_thousand_schema_reference_chain_does_not_exhaust_the_stack() -> None:
    length = 3_000
    schemas: dict[str, Any] = {
        f"S{i}": {"type": "object", "properties": {"next": {"$ref": f"#/components/schemas/S{i + 1}"}}}
        for i in range(length)
    }
    schemas[f"S{length}"] = {"type": "string"}
    compiled = compile_paths(
        {"/chain": post({"type": "object", "properties": {"head": {"$ref": "#/components/schemas/S0"}}})},
        {"schemas": schemas},
    )

    (tool,) = compiled.tools
    validator = assert_valid_json_schema(tool.input_schema)
    assert validator.is_valid({"head": {"next": {"next": {}}}})
    assert not validator.is_valid({"head": {"next": 5}})


# --- a property named $ref --------------------------------------------------------------------


def test_property_named_ref_is_a_property_not_a_reference() -> None:
    components = {
        "schemas": {
            "JSONSchemaProps": {
                "type": "object",
                "properties": {
                    "$ref": {"type": "string", "description": "A reference."},
                    "$schema": {"type": "string"},
                    "description": {"type": "string"},
                },
            }
        }
    }
    compiled = compile_paths({"/crds": post({"$ref": "#/components/schemas/JSONSchemaProps"})}, components)

    (tool,) = compiled.tools
    assert tool.input_schema["properties"]["ref"] == {"type": "string", "description": "A reference."}
    assert {b.argument: b.name for b in tool.bindings} == {
        "ref": "$ref",
        "schema": "$schema",
        "description": "description",
    }
    validator = assert_valid_json_schema(tool.input_schema)
    assert validator.is_valid({"ref": "#/definitions/x", "schema": "s"})
    assert not validator.is_valid({"ref": 5})


def test_property_named_ref_survives_in_a_recursive_output_schema() -> None:
    components = {
        "schemas": {
            "Props": {
                "type": "object",
                "properties": {"$ref": {"type": "string"}, "items": {"$ref": "#/components/schemas/Props"}},
            }
        }
    }
    responses = {
        "200": {
            "description": "ok",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Props"}}},
        }
    }
    compiled = compile_paths({"/p": {"get": {"operationId": "p", "responses": responses}}}, components)

    (tool,) = compiled.tools
    assert tool.output_schema is not None
    validator = assert_valid_json_schema(tool.output_schema)
    assert validator.is_valid({"$ref": "x", "items": {"$ref": "y"}})
    assert not validator.is_valid({"items": {"$ref": 1}})


# --- size of the API --------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_ten_thousand_operations_compile_to_uniquely_named_tools() -> None:
    paths: dict[str, Any] = {}
    for i in range(5_000):
        parameter = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        paths[f"/resources{i}/{{id}}"] = {
            "get": {"operationId": "getResource", "parameters": [parameter], "responses": OK},
            "post": {
                "requestBody": json_body({"type": "object", "properties": {"n": {"type": "integer"}}}),
                "responses": OK,
            },
        }
    compiled = compile_paths(paths)

    names = [t.name for t in compiled.tools]
    assert len(names) == 10_000
    assert len(set(names)) == 10_000
    assert all(TOOL_NAME.match(name) for name in names)
    assert compiled.failed_operations == []
    assert {t.input_schema["required"][0] for t in compiled.tools if t.method == "GET"} == {"id"}


def test_more_operations_than_the_limit_is_refused_with_typed_error() -> None:
    paths = {f"/r{i}": {"get": {"responses": OK}} for i in range(30)}

    with pytest.raises(SpecTooLargeError):
        compile_document(openapi(paths), CompileLimits(max_operations=20))


# --- multi-file escapes -----------------------------------------------------------------------

MINIMAL_SPEC = b'openapi: 3.0.3\ninfo: {title: T, version: "1"}\npaths:\n  /x: {$ref: "paths/x.yaml"}\n'


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("member", ["../evil.yaml", "paths/../../evil.yaml", "/etc/evil.yaml"])
def test_zip_member_escaping_the_archive_root_is_refused(tmp_path: Path, member: str) -> None:
    archive = write_zip(
        tmp_path / "spec.zip", {"openapi.yaml": MINIMAL_SPEC, member: b"get: {responses: {}}"}
    )

    with pytest.raises(BundlePathEscapeError) as caught:
        compile_path(archive)

    assert caught.value.code == "SPEC_BUNDLE_PATH_ESCAPE"


@pytest.mark.parametrize(
    "ref", ["../../etc/passwd", "../outside.yaml", "/etc/passwd", "paths/../../outside.yaml"]
)
def test_folder_ref_escaping_the_spec_folder_is_refused(tmp_path: Path, ref: str) -> None:
    (tmp_path / "outside.yaml").write_text(f"{CANARY}: 1\n")
    folder = tmp_path / "spec"
    (folder / "paths").mkdir(parents=True)
    (folder / "openapi.yaml").write_bytes(MINIMAL_SPEC.replace(b"paths/x.yaml", ref.encode()))

    with pytest.raises(BundlePathEscapeError) as caught:
        compile_path(folder, "openapi.yaml")

    assert CANARY not in str(caught.value)


def test_symlink_out_of_the_spec_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_text(f"{CANARY}: 1\n")
    folder = tmp_path / "spec"
    (folder / "paths").mkdir(parents=True)
    (folder / "openapi.yaml").write_bytes(MINIMAL_SPEC)
    (folder / "paths" / "x.yaml").symlink_to(tmp_path / "outside.yaml")

    with pytest.raises(BundlePathEscapeError):
        compile_path(folder, "openapi.yaml")


def test_entry_outside_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "spec"
    folder.mkdir()

    with pytest.raises(BundlePathEscapeError):
        bundle_path(folder, "../openapi.yaml")


@pytest.mark.timeout(20)
def test_zip_member_declaring_a_huge_size_is_refused_before_decompression(tmp_path: Path) -> None:
    limits = CompileLimits(max_spec_bytes=MIB)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("openapi.yaml", MINIMAL_SPEC)
        with bundle.open("paths/x.yaml", "w") as member:
            for _ in range(8):
                member.write(bytes(MIB))
    assert archive.stat().st_size < 100_000

    with pytest.raises(SpecTooLargeError) as caught:
        bundle_path(archive, None, limits)

    assert "paths/x.yaml" in caught.value.message


@pytest.mark.parametrize("offset", [40, 60, 80])
def test_corrupt_zip_member_is_a_typed_error(tmp_path: Path, offset: int) -> None:
    archive = write_zip(tmp_path / "spec.zip", {"openapi.yaml": MINIMAL_SPEC * 20})
    data = bytearray(archive.read_bytes())
    for index in range(offset, offset + 16):
        data[index] ^= 0xFF
    archive.write_bytes(bytes(data))

    with pytest.raises(SpecError):
        compile_path(archive)


def test_file_that_is_not_a_zip_is_a_typed_error(tmp_path: Path) -> None:
    fake = tmp_path / "spec.zip"
    fake.write_bytes(b"PK\x03\x04 not really a zip")

    with pytest.raises(BundleError):
        compile_path(fake)


# --- not an OpenAPI document ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"- just\n- a list\n", b"just a sentence", b"42", b"", b"~", b"[1, 2, 3]", b'"a json string"'],
)
def test_top_level_that_is_not_a_mapping_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(SpecParseError) as caught:
        parse_spec(data)

    assert "mapping" in caught.value.message


@pytest.mark.parametrize("seed", range(8))
def test_binary_garbage_is_a_parse_error(seed: int) -> None:
    with pytest.raises(SpecParseError):
        parse_spec(random.Random(seed).randbytes(4096))


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(64),
        b"\x1f\x8b\x08\x00" + random.Random(1).randbytes(32),
        b"a: !custom 5\n",
        b"? [a, b]\n: complex key\n",
        b'{"openapi": "3.0.3", "n": ' + b"9" * 5_000 + b"}",
        b"openapi: 3.0.3\nn: " + b"9" * 5_000 + b"\n",
    ],
)
def test_unreadable_content_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(SpecParseError):
        parse_spec(data)


def test_python_object_tag_is_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    with pytest.raises(SpecParseError):
        parse_spec(f"a: !!python/object/apply:os.system ['touch {marker}']\n".encode())

    assert not marker.exists()


@pytest.mark.parametrize(
    "version_fields",
    [{"openapi": "4.0.0"}, {"openapi": "2.0"}, {"openapi": "3.9.1"}, {"swagger": "1.2"}, {"swagger": "3.0"}],
)
def test_unknown_version_is_refused_with_typed_error(version_fields: dict[str, str]) -> None:
    document = {"info": {"title": "T", "version": "1"}, "paths": {}, **version_fields}

    with pytest.raises(SpecUnsupportedVersionError):
        compile_document(document)


def test_document_without_a_version_is_not_openapi() -> None:
    with pytest.raises(SpecNotOpenAPIError):
        parse_spec(b"info: {title: T}\npaths: {}\n")


@pytest.mark.parametrize("paths", [["/a", "/b"], "/a", 5])
def test_paths_that_are_not_a_mapping_are_refused(paths: Any) -> None:
    with pytest.raises(SpecNotOpenAPIError):
        compile_document({"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": paths})


def test_malformed_path_items_and_operations_are_skipped_not_fatal() -> None:
    paths = {
        "/null": None,
        "/text": "hello",
        "/list": [1, 2],
        "/op-text": {"get": "not an operation"},
        "/params-dict": {"get": {"operationId": "paramsDict", "parameters": {"name": "x"}, "responses": OK}},
        "/bad-param": {
            "get": {"operationId": "badParam", "parameters": [None, 5, {"in": "query"}], "responses": OK}
        },
        "/bad-body": {
            "post": {
                "operationId": "badBody",
                "requestBody": {"content": {"application/json": None}},
                "responses": OK,
            }
        },
        "/bad-responses": {"get": {"operationId": "badResponses", "responses": ["200"]}},
        "/fine": {"get": {"operationId": "fine", "responses": OK}},
    }
    compiled = compile_document({"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": paths})

    assert [t.name for t in compiled.tools] == [
        "params_dict",
        "bad_param",
        "bad_body",
        "bad_responses",
        "fine",
    ]
    assert compiled.failed_operations == []
    assert len(findings_with(compiled, "PARAMETER_INVALID")) == 3
    assert any(f.pointer.startswith("/paths/~1op-text/get") for f in compiled.findings)
    for tool in compiled.tools:
        assert_valid_json_schema(tool.input_schema)
