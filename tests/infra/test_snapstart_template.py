"""The request path (authorizer, invoke, mcp, jobs, callback) restores from SnapStart snapshots of a
published version, and every caller reaches it through its `live` alias; `toolgate:snapStart=false`
turns the snapshots off and keeps the aliases."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from aws_cdk.assertions import Template
from synth_helpers import invoked_function, logical_id, of_type, synthesize

from infra.stack import LIVE_ALIAS_NAME, REQUEST_PATH_FUNCTIONS, ToolgateStack

PUBLISHED_VERSIONS = {"ApplyOn": "PublishedVersions"}


def _functions(stack: ToolgateStack) -> dict[str, str]:
    """Each function's logical id, by name."""
    names = ("api", "authorizer", "upload", "invoke", "mcp", "jobs", "callback")
    return {name: logical_id(getattr(stack, f"{name}_function")) for name in names}


def test_only_the_request_path_functions_restore_from_snapshots(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    snap_start = {
        name: resources[function]["Properties"].get("SnapStart")
        for name, function in _functions(stack).items()
    }
    assert {name for name, conf in snap_start.items() if conf == PUBLISHED_VERSIONS} == set(
        REQUEST_PATH_FUNCTIONS
    )
    # The spec compilers (api, upload) start rarely and are not on an agent's request path.
    assert snap_start["api"] is None
    assert snap_start["upload"] is None


def test_each_request_path_function_has_a_live_alias_on_its_published_version(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    functions = _functions(stack)
    versions = of_type(resources, "AWS::Lambda::Version")
    aliases = of_type(resources, "AWS::Lambda::Alias")
    assert set(stack.live_aliases) == set(REQUEST_PATH_FUNCTIONS)
    assert len(aliases) == len(REQUEST_PATH_FUNCTIONS)
    for name, alias in stack.live_aliases.items():
        properties = aliases[logical_id(alias)]["Properties"]
        assert properties["Name"] == LIVE_ALIAS_NAME
        assert properties["FunctionName"] == {"Ref": functions[name]}
        (version_id, attribute) = properties["FunctionVersion"]["Fn::GetAtt"]
        assert attribute == "Version"
        assert versions[version_id]["Properties"]["FunctionName"] == {"Ref": functions[name]}
        # Replaced on the next deploy, and then deleted: a retained version keeps a billed snapshot.
        assert versions[version_id]["DeletionPolicy"] == "Delete"


def test_api_gateway_reaches_the_request_path_only_through_the_live_aliases(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    """An integration on the unqualified function would run `$LATEST`: no snapshot, a full cold start."""
    request_path = {logical_id(getattr(stack, f"{name}_function")) for name in REQUEST_PATH_FUNCTIONS}
    aliases = {logical_id(alias) for alias in stack.live_aliases.values()}
    uris = [
        m["Properties"]["Integration"]["Uri"] for m in of_type(resources, "AWS::ApiGateway::Method").values()
    ]
    uris += [
        a["Properties"]["AuthorizerUri"] for a in of_type(resources, "AWS::ApiGateway::Authorizer").values()
    ]
    reached = set()
    for uri in uris:
        function = invoked_function(resources, uri)
        if function in request_path:
            assert any(json.dumps({"Ref": alias}) in json.dumps(uri) for alias in aliases), uri
            reached.add(function)
    # The authorizer, invoke, mcp and callback functions are behind API Gateway; jobs behind Step Functions.
    assert reached == request_path - {logical_id(stack.jobs_function)}


def test_api_gateway_may_invoke_the_aliases_and_never_the_request_path_functions_themselves(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    aliases = {logical_id(alias) for alias in stack.live_aliases.values()}
    request_path = {logical_id(getattr(stack, f"{name}_function")) for name in REQUEST_PATH_FUNCTIONS}
    permitted = set()
    for permission in of_type(resources, "AWS::Lambda::Permission").values():
        properties = permission["Properties"]
        if properties["Principal"] != "apigateway.amazonaws.com":
            continue
        target = properties["FunctionName"]
        assert target.get("Fn::GetAtt", [None])[0] not in request_path, target
        if "Ref" in target:
            permitted.add(target["Ref"])
    assert permitted == aliases - {logical_id(stack.live_aliases["jobs"])}


def test_the_jobs_state_machine_invokes_the_jobs_alias(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    definition = resources[logical_id(stack.jobs.state_machine)]["Properties"]["DefinitionString"]
    parts = definition["Fn::Join"][1]
    targets = {
        part["Ref"]
        for part in parts
        if isinstance(part, dict) and "Ref" in part and not part["Ref"].startswith("AWS::")
    }
    assert targets == {logical_id(stack.live_aliases["jobs"])}
    assert not [part for part in parts if isinstance(part, dict) and "Fn::GetAtt" in part]


@pytest.fixture(scope="module")
def without_snap_start(tmp_path_factory: pytest.TempPathFactory) -> tuple[ToolgateStack, dict[str, Any]]:
    synthesized = synthesize(
        tmp_path_factory.mktemp("no-snapstart"), nag=False, context={"toolgate:snapStart": "false"}
    )
    template = Template.from_stack(synthesized.stack)
    return synthesized.stack, cast(dict[str, Any], template.to_json()["Resources"])


def test_snap_start_false_turns_snapshots_off_and_keeps_the_aliases(
    without_snap_start: tuple[ToolgateStack, dict[str, Any]],
) -> None:
    stack, resources = without_snap_start
    for function in of_type(resources, "AWS::Lambda::Function").values():
        assert "SnapStart" not in function["Properties"]
    # The same aliases: API Gateway's integrations and permissions do not change with the flag.
    assert set(stack.live_aliases) == set(REQUEST_PATH_FUNCTIONS)
    assert len(of_type(resources, "AWS::Lambda::Alias")) == len(REQUEST_PATH_FUNCTIONS)
