"""Synthesize the real stack for tests, and read CloudFormation expressions back as text.

The dependency layer is an empty placeholder here (no PyPI in unit tests); `make synth` builds the real
one. Everything else is the stack exactly as `npx cdk synth` produces it, with cdk.json's feature flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import CfnElement, Stack

from infra.app import add_toolgate_stack, load_cdk_context
from infra.layers import placeholder_layer_assets
from infra.stack import ToolgateStack

TENANT = "${aws:PrincipalTag/tenant_id}"
TENANT_SESSION_CONDITION = {
    "StringLike": {"aws:RequestTag/tenant_id": "?*"},
    "ForAllValues:StringEquals": {"aws:TagKeys": ["tenant_id"]},
}
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@dataclass
class Synthesized:
    app: cdk.App
    stack: ToolgateStack
    outdir: Path
    #: The exception synth raised (a validation plugin refusing the app), if any.
    synth_error: Exception | None


def synthesize(workdir: Path, *, nag: bool, context: Mapping[str, Any] | None = None) -> Synthesized:
    """Synthesize into `workdir`, with cdk.json's context plus `context` (as `-c key=value` would add)."""
    layers_dir = workdir / "layers"
    assets = placeholder_layer_assets(layers_dir)
    outdir = workdir / "cdk.out"
    app = cdk.App(context={**load_cdk_context(), **(context or {})}, outdir=str(outdir))
    stack = add_toolgate_stack(app, assets, nag=nag)
    try:
        app.synth()
    except RuntimeError as error:
        return Synthesized(app, stack, outdir, error)
    return Synthesized(app, stack, outdir, None)


def render(value: Any) -> str:
    """A CloudFormation string expression as text: `Ref X` becomes `${X}`, `GetAtt X.Arn` `${X.Arn}`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(render(part) for part in parts)
        if function == "Ref":
            return "${" + str(argument) + "}"
        if function == "Fn::GetAtt":
            return "${" + ".".join(argument) + "}"
    raise AssertionError(f"not a string expression: {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def logical_id(construct: Any) -> str:
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    stack = Stack.of(element)
    return cast(str, stack.resolve(stack.get_logical_id(element)))


def invoked_function(resources: dict[str, Any], uri: Any) -> str:
    """The logical id of the function a Lambda integration or authorizer URI invokes, through its alias."""
    (target,) = [
        part
        for part in uri["Fn::Join"][1]
        if isinstance(part, dict)
        and ("Fn::GetAtt" in part or "Ref" in part)
        and not str(part.get("Ref", "")).startswith("AWS::")
    ]
    if "Fn::GetAtt" in target:
        return str(target["Fn::GetAtt"][0])
    alias = resources[target["Ref"]]
    assert alias["Type"] == "AWS::Lambda::Alias", target
    return str(alias["Properties"]["FunctionName"]["Ref"])


def of_type(resources: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in resources.items() if value["Type"] == resource_type}


def role_statements(resources: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every identity-policy statement that applies to the role: inline, attached and managed."""
    role = resources[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role, f"{role_id} has managed policies attached"
    statements = [
        statement
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in of_type(resources, policy_type).values():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in as_list(statement["Action"])}


def function_role_ids(stack: ToolgateStack) -> dict[str, str]:
    functions = {
        "api": stack.api_function,
        "authorizer": stack.authorizer_function,
        "upload": stack.upload_function,
        "invoke": stack.invoke_function,
        "mcp": stack.mcp_function,
        "jobs": stack.jobs_function,
        "callback": stack.callback_function,
        "search": stack.search_function,
    }
    return {name: logical_id(function.role) for name, function in functions.items()}


def tenant_statements(stack: ToolgateStack, resources: dict[str, Any]) -> list[dict[str, Any]]:
    return role_statements(resources, logical_id(stack.tenant_access.role))


def statement_with(statements: list[dict[str, Any]], action: str) -> dict[str, Any]:
    (found,) = [statement for statement in statements if action in as_list(statement["Action"])]
    return found
