"""OpenAPI Overlays (1.0 and 1.1): the specification's semantics, applied before compile, and the
hostile-overlay bounds (size, depth, aliases, JSONPath cost). Also: degrade, don't drop, for parameter refs
that point at a sibling file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_builders import codes, only_tool
from toolgate.errors import OverlayInvalidError, SpecAliasExpansionError, SpecTooDeepError, SpecTooLargeError
from toolgate.settings import CompileLimits
from toolgate.spec.compiler import compile_document, parse_spec
from toolgate.spec.overlay import Overlay, apply_overlays, load_overlay

PETS: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Pets", "version": "1"},
    "servers": [{"url": "https://pets.example.com"}],
    "paths": {
        "/items": {
            "get": {
                "operationId": "listItems",
                "description": "old",
                "tags": ["keep", "dummy"],
                "parameters": [
                    {"name": "dummy", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": {"description": "OK"}},
            }
        },
        "/some-items": {"delete": {"operationId": "deleteSome", "responses": {"200": {"description": "OK"}}}},
    },
}


def overlay(
    actions: list[dict[str, Any]], version: str = "1.1.0", name: str = "test.overlay.yaml"
) -> Overlay:
    document = {"overlay": version, "info": {"title": "t", "version": "1"}, "actions": actions}
    return load_overlay(yaml.safe_dump(document).encode(), name=name)


def applied(actions: list[dict[str, Any]], version: str = "1.1.0") -> tuple[dict[str, Any], list[str]]:
    document = json.loads(json.dumps(PETS))
    findings = apply_overlays(document, [overlay(actions, version)])
    return document, [finding.code for finding in findings]


def test_update_merges_objects_replaces_primitives_and_concatenates_arrays_as_the_spec_defines() -> None:
    document, _ = applied(
        [
            {
                "target": "$.paths['/items'].get",
                "update": {"description": "new", "tags": ["more"], "x-a": {"b": 1}},
            }
        ]
    )
    get = document["paths"]["/items"]["get"]
    assert get["description"] == "new"
    assert get["tags"] == ["keep", "dummy", "more"]
    assert get["x-a"] == {"b": 1}
    assert get["operationId"] == "listItems"


def test_update_of_an_array_target_appends_an_object_and_concatenates_an_array_in_1_1() -> None:
    document, _ = applied(
        [
            {"target": "$.paths.*.get.parameters", "update": {"name": "top", "in": "query"}},
            {"target": "$.paths.*.get.tags", "update": ["a", "b"]},
        ]
    )
    get = document["paths"]["/items"]["get"]
    assert [p["name"] for p in get["parameters"]] == ["dummy", "limit", "top"]
    assert get["tags"] == ["keep", "dummy", "a", "b"]


def test_overlay_1_0_appends_an_array_update_to_a_target_array_as_one_entry() -> None:
    document, _ = applied([{"target": "$.paths.*.get.tags", "update": ["a"]}], version="1.0.0")
    assert document["paths"]["/items"]["get"]["tags"] == ["keep", "dummy", ["a"]]


def test_update_replaces_a_selected_primitive_in_1_1() -> None:
    document, _ = applied([{"target": "$.paths['/items'].get.description", "update": "replaced"}])
    assert document["paths"]["/items"]["get"]["description"] == "replaced"


def test_remove_deletes_filtered_array_items_and_primitives() -> None:
    document, _ = applied(
        [
            {"target": "$.paths.*.get.parameters[?@.name == 'dummy']", "remove": True},
            {"target": "$.paths.*.get.tags[?@ == 'dummy']", "remove": True},
        ]
    )
    get = document["paths"]["/items"]["get"]
    assert [p["name"] for p in get["parameters"]] == ["limit"]
    assert get["tags"] == ["keep"]


def test_copy_then_remove_moves_a_path_item_as_in_the_spec_move_example() -> None:
    document, _ = applied(
        [
            {"target": "$.paths", "update": {"/new-items": {}}},
            {"target": '$.paths["/new-items"]', "copy": '$.paths["/items"]'},
            {"target": '$.paths["/items"]', "remove": True},
        ]
    )
    assert set(document["paths"]) == {"/new-items", "/some-items"}
    assert document["paths"]["/new-items"]["get"]["operationId"] == "listItems"


def test_copy_is_refused_in_an_overlay_1_0_document() -> None:
    with pytest.raises(OverlayInvalidError) as caught:
        overlay([{"target": "$.paths", "copy": "$.info"}], version="1.0.0")
    assert caught.value.pointer == "/actions/0"


def test_overlays_apply_in_order_each_to_the_result_of_the_last() -> None:
    document = json.loads(json.dumps(PETS))
    first = overlay([{"target": "$.info", "update": {"title": "first"}}], name="a.overlay.yaml")
    second = overlay([{"target": "$.info.title", "update": "second"}], name="b.overlay.yaml")
    apply_overlays(document, [first, second])
    assert document["info"]["title"] == "second"
    apply_overlays(document, [second, first])
    assert document["info"]["title"] == "first"


def test_a_target_that_selects_nothing_is_a_warning_not_a_failure() -> None:
    document, found = applied([{"target": "$.paths['/nope'].get", "update": {"x-a": 1}}])
    assert found == ["OVERLAY_TARGET_UNMATCHED"]
    assert document == PETS


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        ({"info": {"title": "t", "version": "1"}, "actions": [{"target": "$"}]}, "/overlay"),
        (
            {"overlay": "2.0.0", "info": {"title": "t", "version": "1"}, "actions": [{"target": "$"}]},
            "/overlay",
        ),
        ({"overlay": "1.1.0", "info": {"title": "t"}, "actions": [{"target": "$"}]}, "/info"),
        ({"overlay": "1.1.0", "info": {"title": "t", "version": "1"}, "actions": []}, "/actions"),
        (
            {"overlay": "1.1.0", "info": {"title": "t", "version": "1"}, "actions": [{"target": "paths"}]},
            "/actions/0/target",
        ),
        (
            {
                "overlay": "1.1.0",
                "info": {"title": "t", "version": "1"},
                "actions": [{"target": "$", "bogus": 1}],
            },
            "/actions/0",
        ),
        (
            {
                "overlay": "1.1.0",
                "info": {"title": "t", "version": "1"},
                "actions": [{"target": "$", "remove": "yes"}],
            },
            "/actions/0/remove",
        ),
        (
            {
                "overlay": "1.1.0",
                "info": {"title": "t", "version": "1"},
                "actions": [{"target": "$.paths[?@.x ==]"}],
            },
            "/actions/0/target",
        ),
    ],
)
def test_an_invalid_overlay_is_refused_with_a_pointer_to_the_bad_part(
    document: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(OverlayInvalidError) as caught:
        load_overlay(json.dumps(document).encode(), name="bad.overlay.json")
    assert caught.value.code == "OVERLAY_INVALID"
    assert caught.value.pointer == pointer
    assert "bad.overlay.json" in caught.value.message


def test_an_update_that_cannot_merge_is_refused_naming_the_action() -> None:
    with pytest.raises(OverlayInvalidError) as caught:
        applied([{"target": "$.paths['/items'].get", "update": {"description": {"not": "a string"}}}])
    assert caught.value.pointer == "/actions/0"
    assert "description" in caught.value.message


def test_removing_the_root_of_the_spec_is_refused() -> None:
    with pytest.raises(OverlayInvalidError):
        applied([{"target": "$", "remove": True}])


def test_alias_bomb_overlay_is_refused_by_the_spec_loaders_guard() -> None:
    bomb = (
        b"overlay: 1.1.0\ninfo: {title: t, version: '1'}\nl0: &l0 [x, x, x, x, x, x, x, x, x]\n"
        + b"".join(
            f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]\n".encode() for level in range(1, 9)
        )
    )
    with pytest.raises(SpecAliasExpansionError):
        load_overlay(bomb, name="bomb.overlay.yaml")


def test_huge_overlay_is_refused_before_it_is_parsed() -> None:
    limits = CompileLimits(max_spec_bytes=1024)
    with pytest.raises(SpecTooLargeError):
        load_overlay(b"overlay: 1.1.0\n" + b"#" * 2048, name="huge.overlay.yaml", limits=limits)


def test_deeply_nested_overlay_is_refused() -> None:
    deep = b'{"overlay": "1.1.0", "x-deep": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    with pytest.raises(SpecTooDeepError):
        load_overlay(deep, name="deep.overlay.json")


def test_an_update_that_would_nest_the_spec_too_deep_is_refused() -> None:
    nested: dict[str, Any] = {}
    for _ in range(60):
        nested = {"a": nested}
    document = json.loads(json.dumps(PETS))
    deep = load_overlay(
        json.dumps(
            {
                "overlay": "1.1.0",
                "info": {"title": "t", "version": "1"},
                "actions": [{"target": "$.paths.*.*", "update": {"x": nested}}],
            }
        ).encode(),
        name="deep.overlay.json",
    )
    with pytest.raises(OverlayInvalidError):
        apply_overlays(document, [deep], CompileLimits(max_depth=40))


def test_more_than_one_descendant_segment_is_refused_so_targets_stay_linear() -> None:
    with pytest.raises(OverlayInvalidError) as caught:
        overlay([{"target": "$..*..*", "remove": True}])
    assert caught.value.pointer == "/actions/0/target"


def test_wildcard_descent_over_a_huge_spec_is_capped_by_the_match_limit() -> None:
    huge = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {f"/p{i}": {"get": {}} for i in range(3000)},
    }
    everything = overlay([{"target": "$..*", "update": {}}])
    with pytest.raises(OverlayInvalidError) as caught:
        apply_overlays(huge, [everything], CompileLimits(max_overlay_matches=1000))
    assert "more than 1,000 nodes" in caught.value.message


def test_an_update_fanned_out_over_many_targets_is_capped_by_the_added_nodes_budget() -> None:
    big_update = {"x-big": [{"k": i} for i in range(200)]}
    document = json.loads(json.dumps(PETS))
    with pytest.raises(OverlayInvalidError):
        apply_overlays(
            document,
            [overlay([{"target": "$..*", "update": big_update}])],
            CompileLimits(max_overlay_added_nodes=500),
        )


def test_a_filter_regex_past_its_time_limit_stops_the_overlay_instead_of_running_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A limit of zero seconds makes every regex run out of time: deterministic, whatever the machine's load.
    monkeypatch.setattr("toolgate.spec.overlay._REGEX_SECONDS", 0.0)
    document = json.loads(json.dumps(PETS))
    slow = overlay([{"target": "$.info[?match(@, '(a|aa)*b')]", "remove": True}])
    with pytest.raises(OverlayInvalidError) as caught:
        apply_overlays(document, [slow])
    assert caught.value.pointer == "/actions/0/target"


def test_overlay_applies_before_validation_and_compile_so_it_can_fix_the_tool() -> None:
    fix = overlay([{"target": "$.paths['/items'].get", "update": {"operationId": "list_items_for_agents"}}])
    compiled = compile_document(parse_spec(json.dumps(PETS).encode(), name="pets.json", overlays=[fix]))
    assert "list_items_for_agents" in {tool.name for tool in compiled.tools}
    assert "OVERLAY_APPLIED" in codes(compiled)


def test_the_spec_compiles_unchanged_with_an_overlay_that_matches_nothing() -> None:
    plain = compile_document(parse_spec(json.dumps(PETS).encode(), name="pets.json"))
    noop = overlay([{"target": "$.nothing", "update": {}}])
    overlaid = compile_document(parse_spec(json.dumps(PETS).encode(), name="pets.json", overlays=[noop]))
    assert [t.model_dump() for t in overlaid.tools] == [t.model_dump() for t in plain.tools]


# --- Degrade, don't drop: parameter refs to a sibling file -------------------------------------------

COMMON_TYPES = "../../../common-types/resource-management/v1/types.json"
AZURE_STYLE: dict[str, Any] = {
    "swagger": "2.0",
    "info": {"title": "Azure-style", "version": "2019-06-01"},
    "host": "management.example.com",
    "schemes": ["https"],
    "paths": {
        "/subscriptions/{subscriptionId}/providers/Microsoft.Thing/things": {
            "get": {
                "operationId": "Things_List",
                "parameters": [
                    {"$ref": f"{COMMON_TYPES}#/parameters/SubscriptionIdParameter"},
                    {"$ref": f"{COMMON_TYPES}#/parameters/ApiVersionParameter"},
                    {"name": "top", "in": "query", "type": "integer"},
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
    },
}


def test_operation_with_sibling_file_parameter_refs_still_becomes_a_tool_without_them() -> None:
    compiled = compile_document(parse_spec(json.dumps(AZURE_STYLE).encode(), name="things.json"))
    tool = only_tool(compiled)
    assert set(tool.input_schema["properties"]) == {"subscriptionId", "top"}
    assert tool.input_schema["required"] == ["subscriptionId"]
    dropped = [f for f in compiled.findings if f.code == "SPEC_PARAMETER_DROPPED"]
    assert len(dropped) == 2
    assert "overlay" in dropped[0].message and "zip" in dropped[0].message


def test_an_overlay_with_the_missing_parameter_restores_it() -> None:
    fix = overlay(
        [
            {
                "target": "$.paths.*.get.parameters[1]",
                "remove": True,
            },
            {
                "target": "$.paths.*.get.parameters",
                "update": {
                    "name": "api-version",
                    "in": "query",
                    "required": True,
                    "type": "string",
                    "enum": ["2019-06-01"],
                },
            },
        ]
    )
    compiled = compile_document(
        parse_spec(json.dumps(AZURE_STYLE).encode(), name="things.json", overlays=[fix])
    )
    tool = only_tool(compiled)
    assert set(tool.input_schema["properties"]) == {"subscriptionId", "top", "api-version"}
    assert [f.code for f in compiled.findings].count("SPEC_PARAMETER_DROPPED") == 1


def test_more_overlays_than_the_limit_are_refused_before_any_is_applied() -> None:
    noop = overlay([{"target": "$.nothing", "update": {}}])
    with pytest.raises(OverlayInvalidError):
        parse_spec(
            json.dumps(PETS).encode(),
            name="pets.json",
            overlays=[noop] * 3,
            limits=CompileLimits(max_overlays=2),
        )


def test_an_overlay_with_a_huge_file_name_is_refused_so_the_stored_version_stays_small() -> None:
    with pytest.raises(OverlayInvalidError):
        load_overlay(b"overlay: 1.1.0", name="a/" * 200 + "x.overlay.yaml")


def test_an_update_through_one_yaml_alias_does_not_change_the_other_places_that_alias_it() -> None:
    spec = b"""openapi: 3.1.0
info: {title: shared, version: "1"}
paths:
  /a:
    get:
      operationId: get_a
      responses: &ok
        "200": {description: OK}
  /b:
    get:
      operationId: get_b
      responses: *ok
"""
    fix = overlay([{"target": "$.paths['/a'].get.responses['200']", "update": {"description": "A only"}}])
    document = parse_spec(spec, name="shared.yaml", overlays=[fix]).document
    assert document["paths"]["/a"]["get"]["responses"]["200"]["description"] == "A only"
    assert document["paths"]["/b"]["get"]["responses"]["200"]["description"] == "OK"


def test_match_and_search_filters_select_as_rfc_9535_defines_under_the_time_limit() -> None:
    document, found = applied(
        [
            {"target": "$.paths.*[?match(@.operationId, 'list.*')]", "update": {"x-match": True}},
            {"target": "$.paths.*[?search(@.operationId, 'Some')]", "update": {"x-search": True}},
            {"target": "$.paths.*[?match(@.operationId, 'Some')]", "update": {"x-never": True}},
        ]
    )
    assert document["paths"]["/items"]["get"]["x-match"] is True
    assert document["paths"]["/some-items"]["delete"]["x-search"] is True
    assert found == ["OVERLAY_TARGET_UNMATCHED"]


COMPLIANT_SETS = Path(__file__).parent / "overlay_compliant_sets"


@pytest.mark.parametrize("name", sorted(p.name for p in COMPLIANT_SETS.iterdir() if p.is_dir()))
def test_overlay_gives_exactly_the_output_of_the_specifications_compliant_sets(name: str) -> None:
    folder = COMPLIANT_SETS / name
    document = yaml.safe_load((folder / "openapi.yaml").read_bytes())
    findings = apply_overlays(document, [load_overlay((folder / "overlay.yaml").read_bytes(), name=name)])
    assert document == yaml.safe_load((folder / "output.yaml").read_bytes())
    assert findings == []
