"""The jobs state machine's definition (ASL) as text, read from a synthesized CloudFormation template.

The template holds the definition as an `Fn::Join` of JSON text and CloudFormation tokens: the ARN the
tasks invoke (the jobs function's, or its alias's) and the partition, region and account. This module
fills them in, so tests and the local stack run the exact definition the stack deploys. Pure Python (no
CDK): it reads `cdk.out/<stack>.template.json` as well as a template synthesized in memory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"
FUNCTION_TYPE = "AWS::Lambda::Function"
ALIAS_TYPE = "AWS::Lambda::Alias"
DEFAULT_PARTITION = "aws"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


class DefinitionError(ValueError):
    """The template holds no single state machine whose definition this module can fill in."""


def state_machine_definition(template: Mapping[str, Any], substitutions: Mapping[str, str]) -> str:
    """The ASL JSON text of the template's one state machine, every token replaced.

    `substitutions`: `jobs_function_arn` (required), the ARN every task invokes (in place of the jobs
    function's or its alias's); `region` (default
    `us-east-1`), `account` (default `123456789012`) and `partition` (default `aws`).
    """
    resources: Mapping[str, Any] = template.get("Resources", {})
    machines = [resource for resource in resources.values() if resource.get("Type") == STATE_MACHINE_TYPE]
    if len(machines) != 1:
        raise DefinitionError(f"expected one {STATE_MACHINE_TYPE} in the template, found {len(machines)}")
    properties = machines[0].get("Properties", {})
    if "DefinitionString" not in properties:
        raise DefinitionError("the state machine has no DefinitionString")
    if "jobs_function_arn" not in substitutions:
        raise DefinitionError("substitutions must name jobs_function_arn")

    pseudo_parameters = {
        "AWS::Partition": substitutions.get("partition", DEFAULT_PARTITION),
        "AWS::Region": substitutions.get("region", DEFAULT_REGION),
        "AWS::AccountId": substitutions.get("account", DEFAULT_ACCOUNT),
    }
    functions: set[str] = set()

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            ((intrinsic, argument),) = value.items()
            if intrinsic == "Fn::Join":
                separator, parts = argument
                return str(separator).join(text(part) for part in parts)
            if intrinsic == "Ref" and argument in pseudo_parameters:
                return pseudo_parameters[argument]
            if intrinsic == "Ref" and resources.get(argument, {}).get("Type") == ALIAS_TYPE:
                functions.add(argument)
                return substitutions["jobs_function_arn"]
            if intrinsic == "Fn::GetAtt" and _is_function_arn(resources, argument):
                functions.add(argument[0])
                return substitutions["jobs_function_arn"]
        raise DefinitionError(f"no substitution for {json.dumps(value)} in the definition")

    definition = text(properties["DefinitionString"])
    if len(functions) > 1:
        raise DefinitionError(f"the definition invokes more than one function: {sorted(functions)}")
    try:
        json.loads(definition)
    except json.JSONDecodeError as error:
        raise DefinitionError(f"the filled-in definition is not JSON: {error}") from error
    return definition


def _is_function_arn(resources: Mapping[str, Any], argument: Any) -> bool:
    return (
        isinstance(argument, list)
        and len(argument) == 2
        and argument[1] == "Arn"
        and resources.get(argument[0], {}).get("Type") == FUNCTION_TYPE
    )
