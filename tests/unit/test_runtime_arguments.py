"""Argument validation: offline, linear-time patterns, bounded size and depth, every problem reported."""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from toolgate.errors import ArgumentsInvalidError, ArgumentsTooLargeError, ToolSchemaInvalidError
from toolgate.runtime.arguments import validate_arguments
from toolgate.settings import ArgumentLimits
from toolgate.spec.models import CanonicalTool

_names = itertools.count()

CASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 3},
        "priority": {"enum": ["low", "medium", "high"]},
        "count": {"type": "integer", "minimum": 1},
        "contact": {"$ref": "#/$defs/Contact"},
    },
    "required": ["title"],
    "additionalProperties": False,
    "$defs": {
        "Contact": {
            "type": "object",
            "properties": {"email": {"type": "string"}, "phone": {"type": "string", "maxLength": 5}},
            "required": ["email"],
        }
    },
}


def make_tool(schema: dict[str, Any], name: str | None = None) -> CanonicalTool:
    """A tool with a unique name, so the process-wide validator cache never mixes tests."""
    return CanonicalTool(
        name=name or f"tool_{next(_names)}",
        description="A tool.",
        method="post",
        path="/cases",
        pointer="/paths/~1cases/post",
        input_schema=schema,
    )


def problems_by_path(error: ArgumentsInvalidError) -> dict[str, dict[str, str]]:
    return {problem["path"]: problem for problem in error.details}


def test_valid_arguments_are_returned_as_a_new_dict() -> None:
    arguments = {"title": "Printer on fire", "priority": "high", "contact": {"email": "a@example.com"}}
    result = validate_arguments(make_tool(CASE_SCHEMA), arguments)
    assert result == arguments
    assert result is not arguments


def test_every_problem_is_listed_with_its_pointer_and_expectation() -> None:
    arguments = {
        "priority": "urgent",
        "count": 0,
        "contact": {"phone": "0123456789"},
        "colour": "red",
        "size": 3,
    }
    with pytest.raises(ArgumentsInvalidError) as caught:
        validate_arguments(make_tool(CASE_SCHEMA), arguments)
    error = caught.value
    assert error.code == "ARGUMENTS_INVALID"
    assert error.http_status == 400
    problems = problems_by_path(error)
    assert set(problems) == {
        "/title",
        "/priority",
        "/count",
        "/contact/email",
        "/contact/phone",
        "/colour",
        "/size",
    }
    assert problems["/priority"]["expected"] == 'one of ["low","medium","high"]'
    assert problems["/count"]["expected"] == "minimum 1"
    assert problems["/contact/phone"]["expected"] == "maxLength 5"
    assert "missing" in problems["/title"]["message"]
    assert "not allowed" in problems["/colour"]["message"]
    assert problems["/colour"]["expected"] == "only the properties contact, count, priority, title"
    # The message alone is enough for a model to fix everything.
    for path in problems:
        assert path in error.message
    assert "7 problems" in error.message


def test_problem_details_are_plain_json() -> None:
    with pytest.raises(ArgumentsInvalidError) as caught:
        validate_arguments(make_tool(CASE_SCHEMA), {"title": 5})
    assert json.loads(json.dumps(caught.value.to_dict()))["details"] == [
        {"path": "/title", "message": '5 is not of type "string"', "expected": "type string"}
    ]


def test_pointer_escapes_slash_and_tilde_in_property_names() -> None:
    schema = {"type": "object", "properties": {"a/b~c": {"type": "integer"}}}
    with pytest.raises(ArgumentsInvalidError) as caught:
        validate_arguments(make_tool(schema), {"a/b~c": "x"})
    assert [problem["path"] for problem in caught.value.details] == ["/a~1b~0c"]


def test_one_of_expectation_names_each_alternative() -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
    }
    with pytest.raises(ArgumentsInvalidError) as caught:
        validate_arguments(make_tool(schema), {"id": 1.5})
    assert caught.value.details[0]["expected"] == "exactly one of: string | integer"


def test_missing_arguments_mean_an_empty_object() -> None:
    optional = {"type": "object", "properties": {"q": {"type": "string"}}}
    assert validate_arguments(make_tool(optional), None) == {}
    with pytest.raises(ArgumentsInvalidError) as caught:
        validate_arguments(make_tool(CASE_SCHEMA), None)
    assert [problem["path"] for problem in caught.value.details] == ["/title"]


@pytest.mark.parametrize("arguments", [["title"], 42, "[1, 2]", True])
def test_arguments_that_are_not_an_object_are_refused(arguments: object) -> None:
    with pytest.raises(ArgumentsInvalidError, match="must be a JSON object"):
        validate_arguments(make_tool(CASE_SCHEMA), arguments)


def test_json_text_arguments_are_parsed_then_validated() -> None:
    tool = make_tool(CASE_SCHEMA)
    assert validate_arguments(tool, '{"title": "Printer on fire"}') == {"title": "Printer on fire"}
    with pytest.raises(ArgumentsInvalidError) as caught:
        validate_arguments(tool, '{"title": "no", "priority": "now"}')
    assert set(problems_by_path(caught.value)) == {"/title", "/priority"}


@pytest.mark.parametrize("text", ['{"title": ', '{"title": NaN}', '{"n": Infinity}'])
def test_malformed_json_text_is_a_readable_error(text: str) -> None:
    with pytest.raises(ArgumentsInvalidError, match="not valid JSON") as caught:
        validate_arguments(make_tool(CASE_SCHEMA), text)
    assert type(caught.value) is ArgumentsInvalidError


def test_catastrophic_backtracking_pattern_is_checked_in_linear_time() -> None:
    schema = {"type": "object", "properties": {"word": {"type": "string", "pattern": "^(a+)+$"}}}
    tool = make_tool(schema)
    hostile = "a" * 50_000 + "!"
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            validate_arguments(tool, {"word": hostile})
        except ArgumentsInvalidError as error:
            outcome["error"] = error
        outcome["valid"] = validate_arguments(tool, {"word": "a" * 50_000})

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "validating a backtracking pattern did not finish"
    problem = outcome["error"].details[0]
    assert problem["path"] == "/word"
    assert problem["expected"] == "a string matching the pattern ^(a+)+$"
    # The 50 000-character value is not echoed back to the model.
    assert len(problem["message"]) < 200
    assert outcome["valid"] == {"word": "a" * 50_000}


def test_pattern_with_lookahead_falls_back_to_the_bounded_engine() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": r"^(?=.*\d)[a-z\d]+$"}}}
    tool = make_tool(schema)
    assert validate_arguments(tool, {"code": "abc1"}) == {"code": "abc1"}
    with pytest.raises(ArgumentsInvalidError) as caught:
        validate_arguments(tool, {"code": "abc"})
    assert caught.value.details[0]["path"] == "/code"


def test_backtracking_fallback_engine_gives_up_at_its_limit_instead_of_hanging() -> None:
    # A negative look-ahead needs the backtracking engine; this pattern is exponential on "aaa…!".
    schema = {"type": "object", "properties": {"word": {"type": "string", "pattern": "^(a|aa)+(?!x)$"}}}
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            validate_arguments(make_tool(schema), {"word": "a" * 60 + "!"})
        except ArgumentsInvalidError as error:
            outcome["problems"] = error.details

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "the backtracking limit did not stop the match"
    [problem] = outcome["problems"]
    assert problem["path"] == "/word"
    assert "backtracking limit" in problem["message"]
    assert problem["expected"] == "a string matching the pattern ^(a|aa)+(?!x)$"


def test_local_defs_references_resolve() -> None:
    schema = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}},
        "$defs": {"Item": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}},
    }
    tool = make_tool(schema)
    assert validate_arguments(tool, {"items": [{"sku": "A1"}]}) == {"items": [{"sku": "A1"}]}
    with pytest.raises(ArgumentsInvalidError) as caught:
        validate_arguments(tool, {"items": [{"sku": "A1"}, {}]})
    assert [problem["path"] for problem in caught.value.details] == ["/items/1/sku"]


def test_file_reference_is_never_read(tmp_path: Path) -> None:
    # If the referenced file were read, the schema would compile and accept {"x": 1}.
    target = tmp_path / "any.json"
    target.write_text(json.dumps({"type": "integer"}))
    schema = {"type": "object", "properties": {"x": {"$ref": target.as_uri()}}}
    with pytest.raises(ToolSchemaInvalidError) as caught:
        validate_arguments(make_tool(schema), {"x": 1})
    assert caught.value.code == "TOOL_SCHEMA_INVALID"
    assert "never fetched" in caught.value.message


def test_remote_reference_is_refused_without_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the validator tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    schema = {"type": "object", "properties": {"x": {"$ref": "https://schemas.example.com/x.json"}}}
    with pytest.raises(ToolSchemaInvalidError, match=r"schemas\.example\.com"):
        validate_arguments(make_tool(schema), {"x": 1})


def test_openapi_dialect_schema_is_validated_as_json_schema_2020_12() -> None:
    schema = {**CASE_SCHEMA, "$schema": "https://spec.openapis.org/oas/3.1/dialect/base"}
    tool = make_tool(schema)
    assert validate_arguments(tool, {"title": "Printer"}) == {"title": "Printer"}
    with pytest.raises(ArgumentsInvalidError):
        validate_arguments(tool, {"title": "no"})


def test_arguments_over_the_size_cap_are_refused_before_validation() -> None:
    limits = ArgumentLimits(max_argument_bytes=1024)
    tool = make_tool(CASE_SCHEMA)
    assert validate_arguments(tool, {"title": "x" * 900}, limits)["title"] == "x" * 900
    with pytest.raises(ArgumentsTooLargeError) as caught:
        validate_arguments(tool, {"title": "x" * 1100}, limits)
    assert caught.value.code == "ARGUMENTS_TOO_LARGE"
    assert caught.value.http_status == 413
    with pytest.raises(ArgumentsTooLargeError):
        validate_arguments(tool, json.dumps({"title": "x" * 1100}), limits)


def test_size_counts_utf8_bytes_not_characters() -> None:
    limits = ArgumentLimits(max_argument_bytes=1024)
    with pytest.raises(ArgumentsTooLargeError):
        validate_arguments(make_tool(CASE_SCHEMA), {"title": "é" * 600}, limits)


def nested(depth: int) -> dict[str, Any]:
    """An arguments object `depth` levels deep, the top object included."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


def test_nesting_over_the_depth_cap_is_refused() -> None:
    limits = ArgumentLimits(max_argument_depth=8)
    tool = make_tool({"type": "object"})
    assert validate_arguments(tool, nested(8), limits) == nested(8)
    with pytest.raises(ArgumentsTooLargeError, match="deeper than 8"):
        validate_arguments(tool, nested(9), limits)


def test_deeply_nested_json_text_is_a_typed_error_not_a_crash() -> None:
    text = '{"a":' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ArgumentsTooLargeError):
        validate_arguments(make_tool({"type": "object"}), text)


def test_self_referencing_arguments_stop_at_the_depth_cap() -> None:
    arguments: dict[str, Any] = {}
    arguments["self"] = arguments
    with pytest.raises(ArgumentsTooLargeError):
        validate_arguments(make_tool({"type": "object"}), arguments)


@pytest.mark.parametrize(
    ("arguments", "pointer"),
    [
        ({"x": math.nan}, "/x"),
        ({"x": [1, math.inf]}, "/x/1"),
        ({"x": {1: "a"}}, "/x"),
        ({"x": {"y": b"raw"}}, "/x/y"),
        ({"x": {"a", "b"}}, "/x"),
    ],
)
def test_values_that_are_not_json_are_refused(arguments: dict[str, Any], pointer: str) -> None:
    with pytest.raises(ArgumentsInvalidError, match="plain JSON") as caught:
        validate_arguments(make_tool({"type": "object"}), arguments)
    assert caught.value.pointer == pointer


def test_reported_problems_are_capped_and_the_message_counts_the_rest() -> None:
    schema = {"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}}
    limits = ArgumentLimits(max_reported_problems=3)
    with pytest.raises(ArgumentsInvalidError) as caught:
        validate_arguments(make_tool(schema), {"ids": ["a"] * 12}, limits)
    assert [problem["path"] for problem in caught.value.details] == ["/ids/0", "/ids/1", "/ids/2"]
    assert "12 problems (3 listed in details)" in caught.value.message
    assert "and 9 more" in caught.value.message


def test_problem_cap_counts_problems_not_validator_errors() -> None:
    # One additionalProperties error names five unexpected properties: five problems.
    schema = {"type": "object", "properties": {"a": {}}, "additionalProperties": False}
    limits = ArgumentLimits(max_reported_problems=2)
    with pytest.raises(ArgumentsInvalidError) as caught:
        validate_arguments(make_tool(schema), dict.fromkeys("vwxyz", 1), limits)
    assert [problem["path"] for problem in caught.value.details] == ["/v", "/w"]
    assert "5 problems (2 listed in details)" in caught.value.message


def test_validator_is_compiled_once_per_tool_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[object] = []
    original = jsonschema_rs.validator_for

    def counting(schema: Any, **options: Any) -> jsonschema_rs.Validator:
        compiled.append(schema)
        return original(schema, **options)

    monkeypatch.setattr(jsonschema_rs, "validator_for", counting)
    tool = make_tool(CASE_SCHEMA)
    for title in ("first", "second", "third"):
        validate_arguments(tool, {"title": title})
    assert len(compiled) == 1


def test_a_changed_schema_under_the_same_tool_name_is_recompiled() -> None:
    name = f"renamed_{next(_names)}"
    strict = make_tool({"type": "object", "properties": {"n": {"type": "integer"}}}, name=name)
    loose = make_tool({"type": "object", "properties": {"n": {"type": "string"}}}, name=name)
    assert validate_arguments(strict, {"n": 1}) == {"n": 1}
    with pytest.raises(ArgumentsInvalidError):
        validate_arguments(loose, {"n": 1})
    assert validate_arguments(loose, {"n": "1"}) == {"n": "1"}


def test_cache_stays_within_its_bound() -> None:
    from toolgate.runtime import arguments as module

    limits = ArgumentLimits(validator_cache_entries=2)
    for _ in range(5):
        validate_arguments(make_tool({"type": "object"}), {}, limits)
    assert len(module._validators) <= 2


def test_broken_schema_is_a_tool_error_not_an_argument_error() -> None:
    with pytest.raises(ToolSchemaInvalidError, match=re.escape("tool 'broken'")):
        validate_arguments(make_tool({"type": "strin"}, name="broken"), {})
