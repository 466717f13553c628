"""The lint writes the fix: the suggested overlay clears exactly the machine-fixable findings, with
precise targets, never reusing an operationId, and lists what needs a person."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from toolgate.spec.compiler import compile_document, parse_spec
from toolgate.spec.fix_overlay import FixSuggestion, suggest_fixes
from toolgate.spec.lint import lint_spec
from toolgate.spec.overlay import load_overlay

OK = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}
DESCRIBED = "Lists the animals of the shelter, with their adoption status and their carers."


def _spec(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Shelter", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
        **extra,
    }


def _op(**fields: Any) -> dict[str, Any]:
    return {"description": DESCRIBED, "responses": OK, **fields}


def _lint(document: dict[str, Any], overlay: str | None = None) -> set[tuple[str, str]]:
    data = yaml.safe_dump(document).encode()
    overlays = [load_overlay(overlay.encode(), name="fixes.overlay.yaml")] if overlay else []
    spec = parse_spec(data, name="spec.yaml", overlays=overlays)
    assert not [f for f in spec.findings if f.code == "OVERLAY_TARGET_UNMATCHED"]
    return {(f.code, f.pointer) for f in lint_spec(spec.document, compile_document(spec))}


def _suggest(document: dict[str, Any]) -> FixSuggestion:
    spec = parse_spec(yaml.safe_dump(document).encode(), name="spec.yaml")
    return suggest_fixes(spec.document, compile_document(spec))


def _round_trip(document: dict[str, Any]) -> tuple[FixSuggestion, set[tuple[str, str]], set[tuple[str, str]]]:
    suggestion = _suggest(document)
    before = _lint(document)
    after = _lint(document, suggestion.to_yaml("Shelter") if suggestion.actions else None)
    assert after <= before, f"new findings: {after - before}"
    assert before - after == suggestion.cleared
    return suggestion, before, after


def test_fix_overlay_target_with_quotes_in_path_hits_only_that_operation() -> None:
    paths = {
        '/it\'s [a] "path"\\ü/{id}': {"post": _op(operationId="makeThing")},
        '/it\'s [a] "path"\\ü': {"post": _op(operationId="make_other")},
        "/tab\there": {"get": _op(operationId="getTab")},
    }
    document = _spec(paths)
    suggestion, _, after = _round_trip(document)
    assert len(suggestion.actions) == 2
    assert not [code for code, _ in after if code == "LINT_OPERATION_ID_NOT_SNAKE_CASE"]
    spec = parse_spec(
        yaml.safe_dump(document).encode(),
        name="spec.yaml",
        overlays=[load_overlay(suggestion.to_yaml("Shelter").encode(), name="f.yaml")],
    )
    assert spec.document["paths"]['/it\'s [a] "path"\\ü/{id}']["post"]["operationId"] == "make_thing"
    assert spec.document["paths"]['/it\'s [a] "path"\\ü']["post"]["operationId"] == "make_other"
    assert spec.document["paths"]["/tab\there"]["get"]["operationId"] == "get_tab"


def test_fix_overlay_never_renames_onto_an_existing_operation_id() -> None:
    document = _spec(
        {
            "/pets": {"get": _op(operationId="listPets"), "post": _op(operationId="list_pets")},
            "/animals": {"get": _op()},
            "/get/animals": {"get": _op(operationId="get_animals")},
        }
    )
    suggestion, _, _ = _round_trip(document)
    proposed = [
        action.update["operationId"] for action in suggestion.actions if "operationId" in action.update
    ]
    assert len(proposed) == 2
    existing = {"list_pets", "get_animals"}
    assert not existing & set(proposed)
    assert len(set(proposed)) == len(proposed)


def test_fix_overlay_takes_a_missing_description_from_the_summary_only_when_it_says_something() -> None:
    document = _spec(
        {
            "/pets": {
                "get": {
                    "operationId": "list_pets",
                    "summary": "Lists every pet awaiting adoption today",
                    "responses": OK,
                },
                "post": {"operationId": "create_pet", "summary": "Create pet", "responses": OK},
                "put": {"operationId": "replace_pets", "responses": OK},
            }
        }
    )
    suggestion, before, after = _round_trip(document)
    assert ("LINT_MISSING_DESCRIPTION", "/paths/~1pets/get") in before - after
    assert ("LINT_MISSING_DESCRIPTION", "/paths/~1pets/post") in after
    assert ("LINT_MISSING_DESCRIPTION", "/paths/~1pets/put") in after
    manual = {(item.code, item.pointer) for item in suggestion.manual}
    assert manual == {
        ("LINT_MISSING_DESCRIPTION", "/paths/~1pets/post"),
        ("LINT_MISSING_DESCRIPTION", "/paths/~1pets/put"),
    }
    assert "# Needs a person (2):" in suggestion.to_yaml("Shelter")


def test_overlong_description_is_cut_at_a_sentence_into_x_toolgate_and_the_spec_text_stays_whole() -> None:
    long_text = ("The shelter keeps every animal's record here. " * 30).strip()
    document = _spec({"/pets": {"get": _op(operationId="list_pets", description=long_text)}})
    suggestion, before, after = _round_trip(document)
    assert ("LINT_DESCRIPTION_TOO_LONG", "/paths/~1pets/get") in before - after
    (action,) = suggestion.actions
    shortened = action.update["x-toolgate"]["description"]
    assert len(shortened) <= 1024 and shortened.endswith("here.")
    spec = parse_spec(
        yaml.safe_dump(document).encode(),
        name="s.yaml",
        overlays=[load_overlay(suggestion.to_yaml("S").encode(), name="f.yaml")],
    )
    assert spec.document["paths"]["/pets"]["get"]["description"] == long_text
    (tool,) = compile_document(spec).tools
    assert tool.description == shortened


def test_overlong_description_without_a_sentence_end_needs_a_person() -> None:
    document = _spec({"/pets": {"get": _op(operationId="list_pets", description="word " * 400)}})
    suggestion, before, after = _round_trip(document)
    assert not suggestion.actions
    assert before == after
    assert ("LINT_DESCRIPTION_TOO_LONG", "/paths/~1pets/get") in after
    assert [item.code for item in suggestion.manual] == ["LINT_DESCRIPTION_TOO_LONG"]
    assert "Nothing to fix by machine" in suggestion.to_yaml("S")


def test_enum_meanings_the_schema_gives_become_its_description_and_unexplained_enums_need_a_person() -> None:
    status = {"type": "string", "enum": ["a", "h"], "x-enumDescriptions": {"a": "Adopted", "h": "On hold"}}
    document = _spec(
        {
            "/pets": {
                "get": _op(
                    operationId="list_pets",
                    parameters=[
                        {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/Status"}},
                        {
                            "name": "size",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["s", "l"],
                                "x-enum-descriptions": ["Small", "Large"],
                            },
                        },
                    ],
                ),
                "post": _op(
                    operationId="create_pet",
                    requestBody={
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "kind": {
                                            "oneOf": [
                                                {"const": "cat", "title": "A cat"},
                                                {"const": "dog", "description": "A dog"},
                                            ]
                                        },
                                        "tier": {
                                            "type": "string",
                                            "enum": ["x", "y"],
                                            "x-ms-enum": {
                                                "values": [
                                                    {"value": "x", "description": "Basic"},
                                                    {"value": "y", "description": "Plus"},
                                                ]
                                            },
                                        },
                                    },
                                }
                            }
                        }
                    },
                ),
                "put": _op(
                    operationId="replace_pet",
                    parameters=[
                        {"name": "mood", "in": "query", "schema": {"type": "string", "enum": ["a", "b"]}}
                    ],
                ),
            }
        },
        components={"schemas": {"Status": status}},
    )
    suggestion, before, after = _round_trip(document)
    assert ("LINT_UNDOCUMENTED_ENUM", "/paths/~1pets/get") in before - after
    assert ("LINT_UNDOCUMENTED_ENUM", "/paths/~1pets/post") in before - after
    assert ("LINT_UNDOCUMENTED_ENUM", "/paths/~1pets/put") in after
    updates = {action.target: action.update.get("description") for action in suggestion.actions}
    assert updates["$.paths['/pets'].get.parameters[1]"] == "One of: `s`: Small; `l`: Large."
    assert updates["$.paths['/pets'].get.parameters[0]"] == "One of: `a`: Adopted; `h`: On hold."
    body = "$.paths['/pets'].post.requestBody.content['application/json'].schema.properties"
    assert updates[f"{body}.tier"] == "One of: `x`: Basic; `y`: Plus."
    # A oneOf of consts, each with a title or description, already says what each value means.
    assert f"{body}.kind" not in updates
    assert [item.code for item in suggestion.manual] == ["LINT_UNDOCUMENTED_ENUM"]


def test_fix_overlay_is_a_valid_overlay_that_leaves_the_input_document_untouched() -> None:
    document = _spec(
        {"/pets": {"get": {"summary": "Lists every pet awaiting adoption today", "responses": OK}}}
    )
    spec = parse_spec(yaml.safe_dump(document).encode(), name="spec.yaml")
    kept = copy.deepcopy(spec.document)
    suggestion = suggest_fixes(spec.document, compile_document(spec))
    assert spec.document == kept
    overlay = load_overlay(suggestion.to_yaml("Shelter").encode(), name="fixes.overlay.yaml")
    assert overlay.minor == 0 and len(overlay.actions) == 2


def test_fix_in_a_place_no_jsonpath_can_name_is_left_to_a_person_not_claimed() -> None:
    document = _spec(
        {"/bad\ud800key": {"get": _op(operationId="getBad")}, "/good": {"get": _op(operationId="getGood")}}
    )
    spec = parse_spec(json.dumps(document).encode(), name="spec.json")
    suggestion = suggest_fixes(spec.document, compile_document(spec))
    assert [action.target for action in suggestion.actions] == ["$.paths['/good'].get"]
    assert suggestion.cleared == {("LINT_OPERATION_ID_NOT_SNAKE_CASE", "/paths/~1good/get")}
    (manual,) = suggestion.manual
    assert manual.code == "LINT_OPERATION_ID_NOT_SNAKE_CASE"
    assert "cannot be named by a JSONPath query" in manual.reason
    assert "#   LINT_OPERATION_ID_NOT_SNAKE_CASE /paths/~1bad\\ud800key/get" in suggestion.to_yaml("S")
    suggestion.to_yaml("S").encode("utf-8")
