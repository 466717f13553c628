"""Issue 11, compiler slice: what upload used to accept and later broke tools, listings or model APIs.

Aliased long strings, schemas that stay over budget after pruning, arrays without `items`, regular
expressions no runtime engine compiles, and server variables a caller might hope to steer.
"""

from __future__ import annotations

from typing import Any

import pytest
from spec_builders import (
    OK,
    assert_valid_json_schema,
    compile_paths,
    findings_with,
    only_tool,
    post,
    tool_named,
)
from toolgate.errors import ArgumentsInvalidError, SpecAliasExpansionError
from toolgate.runtime.arguments import validate_arguments
from toolgate.settings import CompileLimits
from toolgate.spec.compiler import compile_document, parse_spec
from toolgate.spec.loader import load_document, load_document_noting_aliases
from toolgate.spec.models import JsonSchema

# --- YAML aliases of long scalars ------------------------------------------------------------------


def aliased_string_spec(length: int, uses: int) -> bytes:
    """One anchored string of `length` characters, referenced `uses` times in an enum."""
    aliases = ", ".join(["*big"] * uses)
    return (
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
        f"x-big: &big {'a' * length}\n"
        "paths:\n  /p:\n    get:\n      operationId: p\n      responses: {'200': {description: ok}}\n"
        "      parameters:\n        - name: q\n          in: query\n"
        f"          schema: {{type: string, enum: [{aliases}]}}\n"
    ).encode()


@pytest.mark.timeout(20)
def test_aliased_million_character_string_cannot_expand_into_a_huge_tool() -> None:
    data = aliased_string_spec(1_000_000, 300)
    assert len(data) < 1_100_000

    with pytest.raises(SpecAliasExpansionError) as caught:
        parse_spec(data, name="scalar-bomb.yaml")

    assert caught.value.code == "SPEC_ALIAS_EXPANSION"
    assert "scalar-bomb.yaml" in caught.value.message
    assert "long strings" in caught.value.message


def test_aliased_long_mapping_key_counts_like_an_aliased_value() -> None:
    keys = "".join(f"m{i}: {{*key : 1}}\n" for i in range(300))
    data = f"openapi: 3.0.3\nx-key: &key {'k' * 100_000}\n{keys}".encode()

    with pytest.raises(SpecAliasExpansionError):
        load_document(data)


def test_long_string_reused_a_few_times_still_loads() -> None:
    document = load_document(aliased_string_spec(100_000, 3))

    enum = document["paths"]["/p"]["get"]["parameters"][0]["schema"]["enum"]
    assert [len(value) for value in enum] == [100_000] * 3


# --- the per-tool schema budget --------------------------------------------------------------------


def huge_enum(count: int = 2_000) -> list[str]:
    return [f"value-{i:05d}-" + "x" * 100 for i in range(count)]


def test_input_schema_over_budget_after_pruning_fails_only_its_operation() -> None:
    compiled = compile_paths(
        {
            "/huge": {
                "get": {
                    "operationId": "huge",
                    "parameters": [{"name": "q", "in": "query", "schema": {"enum": huge_enum()}}],
                    "responses": OK,
                }
            },
            "/small": {"get": {"operationId": "small", "responses": OK}},
        }
    )

    assert [tool.name for tool in compiled.tools] == ["small"]
    assert compiled.failed_operations == ["/paths/~1huge/get"]
    assert findings_with(compiled, "TOOL_SCHEMA_TOO_LARGE") == [("error", "/paths/~1huge/get")]


def test_output_schema_over_budget_after_pruning_is_dropped_not_stored() -> None:
    response = {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"enum": huge_enum()}}}}
    }
    compiled = compile_paths({"/huge": {"get": {"operationId": "huge", "responses": response}}})
    tool = only_tool(compiled)
    limit = CompileLimits().max_tool_schema_bytes

    assert tool.output_schema is None
    assert len(tool.model_dump_json()) < limit
    assert findings_with(compiled, "TOOL_SCHEMA_TOO_LARGE") == [
        ("warning", "/paths/~1huge/get/responses/200")
    ]


# --- arrays keep `items` ---------------------------------------------------------------------------


def array_nodes(node: Any) -> list[JsonSchema]:
    """Every schema node in `node` whose type is (or includes) array."""
    found: list[JsonSchema] = []
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "array" or (isinstance(kind, list) and "array" in kind):
            found.append(node)
        for value in node.values():
            found.extend(array_nodes(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(array_nodes(value))
    return found


def test_pruned_arrays_keep_items_so_openai_accepts_them() -> None:
    def nested(depth: int) -> JsonSchema:
        lists: dict[str, Any] = {
            f"list_{i}": {"type": "array", "description": "a list " * 30, "items": {"type": "string"}}
            for i in range(4)
        }
        if depth == 0:
            return {"type": "object", "properties": lists}
        return {
            "type": "object",
            "description": "level " * 20,
            "properties": {**lists, "child": nested(depth - 1)},
        }

    compiled = compile_paths({"/big": post(nested(12))}, limits=CompileLimits(max_tool_schema_bytes=8_000))
    schema = only_tool(compiled).input_schema

    assert findings_with(compiled, "TOOL_SCHEMA_PRUNED")
    arrays = array_nodes(schema)
    cut = [node for node in arrays if "details omitted" in node.get("description", "")]
    assert cut, "pruning cut some arrays to their type"
    assert [node for node in arrays if "items" not in node] == []
    assert_valid_json_schema(schema)


def test_source_array_without_items_is_given_explicit_any_items() -> None:
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array"}, "maybe": {"type": "array", "nullable": True}},
    }
    tool = only_tool(compile_paths({"/p": post(schema)}))

    assert tool.input_schema["properties"]["tags"] == {"type": "array", "items": {}}
    assert tool.input_schema["properties"]["maybe"] == {"type": ["array", "null"], "items": {}}
    assert validate_arguments(tool, {"tags": [1, "two", None]}) == {"tags": [1, "two", None]}


# --- regular expressions the runtime cannot compile ------------------------------------------------

BROKEN = "((("


def test_uncompilable_patterns_are_dropped_so_the_tool_stays_callable() -> None:
    components = {
        "schemas": {
            "Node": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "pattern": "[a-z"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                },
            }
        }
    }
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": BROKEN},
            "after_a": {"type": "string", "pattern": "(?<=a)b"},
            "labels": {
                "type": "object",
                "patternProperties": {BROKEN: {"type": "string"}, "^x-": {"type": "integer"}},
            },
            "tree": {"$ref": "#/components/schemas/Node"},
        },
    }
    compiled = compile_paths({"/p": post(schema)}, components)
    tool = only_tool(compiled)
    properties = tool.input_schema["properties"]

    assert "pattern" not in properties["id"]
    assert properties["after_a"]["pattern"] == "(?<=a)b", "look-around compiles with fancy-regex: kept"
    assert properties["labels"]["patternProperties"] == {"^x-": {"type": "integer"}}
    assert "pattern" not in tool.input_schema["$defs"]["Node"]["properties"]["code"]
    body = "/paths/~1p/post/requestBody/content/application~1json/schema/properties"
    assert set(findings_with(compiled, "SCHEMA_PATTERN_INVALID")) == {
        ("warning", f"{body}/id/pattern"),
        ("warning", f"{body}/labels/patternProperties/((("),
        ("warning", "/components/schemas/Node/properties/code/pattern"),
    }
    arguments = {"id": "anything", "labels": {"x-a": 1}, "tree": {"code": "z", "children": [{"code": "q"}]}}
    assert validate_arguments(tool, arguments) == arguments
    with pytest.raises(ArgumentsInvalidError):
        validate_arguments(tool, {"labels": {"x-a": "not an integer"}})


# --- server variables ------------------------------------------------------------------------------


def test_server_variables_are_never_arguments_a_caller_could_steer() -> None:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://{host}/v1", "variables": {"host": {"default": "api.example.com"}}}],
        "paths": {"/p": {"get": {"operationId": "p", "responses": OK}}},
    }
    tool = tool_named(compile_document(document), "p")

    assert tool.server_url == "https://api.example.com/v1"
    assert tool.input_schema["properties"] == {}
    with pytest.raises(ArgumentsInvalidError):
        validate_arguments(tool, {"host": "169.254.169.254"})


@pytest.mark.timeout(30)
def test_enum_of_millions_of_shared_strings_fails_only_its_operation() -> None:
    repeated = "r" * 60
    schema: JsonSchema = {"enum": [repeated] * 2_000_000}
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/p": {
                "get": {
                    "operationId": "p",
                    "parameters": [{"name": "q", "in": "query", "schema": schema}],
                    "responses": OK,
                }
            }
        },
    }
    compiled = compile_document(document)

    assert compiled.tools == []
    assert findings_with(compiled, "TOOL_SCHEMA_TOO_LARGE") == [("error", "/paths/~1p/get")]


def test_a_tagged_anchor_is_still_an_alias_the_budget_counts() -> None:
    """The loader notes aliases as it builds the document, whatever the text around the anchor."""
    uses = ", ".join(["*big"] * 300)
    data = f"openapi: 3.0.3\nx-big: !!str &big {'b' * 100_000}\nx-uses: [{uses}]\n".encode()

    with pytest.raises(SpecAliasExpansionError):
        load_document(data)


def test_url_templates_that_look_like_anchors_are_not_aliases() -> None:
    """`{&page,per_page}` in GitHub's URL templates is text: the document shares no node, so no copy is
    made before overlays apply."""
    data = b"openapi: 3.0.3\nx-url: https://api.github.com/search/code?q={query}{&page,per_page}\n"

    document, aliased = load_document_noting_aliases(data)

    assert document["x-url"].endswith("{&page,per_page}")
    assert aliased is False
    assert load_document_noting_aliases(b"a: &x {b: 1}\nc: *x\n")[1] is True
    assert load_document_noting_aliases(b"a: &k key\n*k : 1\n")[1] is True
