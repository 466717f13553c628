"""The search function in the synthesized template: its own layer (never the dependency layer), its role
holds nothing but logs and traces (tenant data only through the tenant access role), and exactly the
functions that serve search may invoke it."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_lambda as lambda_
from synth_helpers import XRAY_ACTIONS, as_list, logical_id, role_statements

from infra.stack import ToolgateStack


def _layers(resources: dict[str, Any], function: lambda_.Function) -> list[str]:
    properties = resources[logical_id(function)]["Properties"]
    return [layer["Ref"] for layer in properties["Layers"]]


def test_search_function_runs_on_its_own_layer_never_beside_the_dependency_layer(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    layers = _layers(resources, stack.search_function)
    search_layers = [key for key, value in resources.items() if key.startswith("SearchLayer")]

    assert logical_id(stack.dependency_layer) not in layers
    assert len(layers) == 2 and logical_id(stack.toolgate_layer) in layers
    assert [layer for layer in layers if layer != logical_id(stack.toolgate_layer)] == search_layers
    assert resources[search_layers[0]]["Type"] == "AWS::Lambda::LayerVersion"


def test_search_role_may_only_open_tenant_sessions_and_write_its_logs_and_traces(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    for statement in role_statements(resources, logical_id(stack.search_function.role)):
        actions = set(as_list(statement["Action"]))
        assert (
            actions
            in (
                {"sts:AssumeRole", "sts:TagSession"},
                {"logs:CreateLogStream", "logs:PutLogEvents"},
            )
            or actions <= XRAY_ACTIONS
        ), statement
        if actions == {"sts:AssumeRole", "sts:TagSession"}:
            assert statement["Resource"] == {"Fn::GetAtt": [logical_id(stack.tenant_access.role), "Arn"]}


def test_only_the_functions_that_serve_search_may_invoke_it_and_only_it(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    callers = {stack.api_function, stack.upload_function, stack.invoke_function, stack.mcp_function}
    search_arn = {"Fn::GetAtt": [logical_id(stack.search_function), "Arn"]}
    for function in stack.functions:
        invokes = [
            statement
            for statement in role_statements(resources, logical_id(function.role))
            if "lambda:InvokeFunction" in as_list(statement["Action"])
        ]
        if function in callers:
            assert [statement["Resource"] for statement in invokes] == [search_arn], function.node.path
            environment = resources[logical_id(function)]["Properties"]["Environment"]["Variables"]
            assert environment["TOOLGATE_SEARCH_FUNCTION_NAME"] == {"Ref": logical_id(stack.search_function)}
        else:
            assert invokes == [], function.node.path
