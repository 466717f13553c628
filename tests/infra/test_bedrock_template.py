"""`-c toolgate:embeddings=bedrock` (issue 15): the search function embeds with Titan Text Embeddings V2 and
may invoke that foundation model and nothing else; the default (offline) grants no Bedrock at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from synth_helpers import Synthesized, as_list, logical_id, render, role_statements, synthesize

from infra.stack import ToolgateStack

TITAN_V2_ARN = "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/amazon.titan-embed-text-v2:0"


@pytest.fixture(scope="module")
def bedrock(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Synthesized with cdk-nag, as `cdk synth -c toolgate:embeddings=bedrock` builds it."""
    return synthesize(
        tmp_path_factory.mktemp("bedrock"), nag=True, context={"toolgate:embeddings": "bedrock"}
    )


def _resources(stack: ToolgateStack) -> dict[str, Any]:
    return cast(dict[str, Any], Template.from_stack(stack).to_json()["Resources"])


def _bedrock_statements(resources: dict[str, Any], stack: ToolgateStack) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for function in stack.functions:
        for statement in role_statements(resources, logical_id(function.role)):
            if any(str(action).startswith("bedrock:") for action in as_list(statement["Action"])):
                found.setdefault(function.node.id, []).append(statement)
    return found


def _environment(resources: dict[str, Any], stack: ToolgateStack) -> dict[str, Any]:
    properties = resources[logical_id(stack.search_function)]["Properties"]
    return cast(dict[str, Any], properties["Environment"]["Variables"])


def test_bedrock_embeddings_let_the_search_function_invoke_titan_v2_and_no_other_model(
    bedrock: Synthesized,
) -> None:
    resources = _resources(bedrock.stack)

    statements = _bedrock_statements(resources, bedrock.stack)

    assert list(statements) == [bedrock.stack.search_function.node.id], "no other function gets Bedrock"
    (statement,) = statements[bedrock.stack.search_function.node.id]
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["bedrock:InvokeModel"]
    assert [render(resource) for resource in as_list(statement["Resource"])] == [TITAN_V2_ARN]
    environment = _environment(resources, bedrock.stack)
    assert environment["TOOLGATE_SEARCH_EMBEDDINGS"] == "bedrock"
    assert environment["TOOLGATE_SEARCH_BEDROCK_MODEL_ID"] == "amazon.titan-embed-text-v2:0"


def test_bedrock_embeddings_synth_has_no_unacknowledged_cdk_nag_finding(bedrock: Synthesized) -> None:
    assert bedrock.synth_error is None, bedrock.synth_error
    report = AwsSolutionsChecks().validate_scope(bedrock.stack)
    assert report.success, [f"{v.rule_name}: {v.description}" for v in report.violations]


def test_offline_default_grants_no_bedrock_and_names_no_embedder(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    assert _bedrock_statements(resources, stack) == {}
    environment = _environment(resources, stack)
    assert "TOOLGATE_SEARCH_EMBEDDINGS" not in environment
    assert "TOOLGATE_SEARCH_BEDROCK_MODEL_ID" not in environment


def test_an_unknown_embeddings_flag_is_refused_at_synth_never_deployed_as_offline(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="toolgate:embeddings"):
        synthesize(tmp_path, nag=False, context={"toolgate:embeddings": "openai"})
