"""The local stack's pure parts: CloudFormation intrinsics, names, routing rules, authorizer policies,
generated secrets and the function-to-handler mapping. No network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from toolgate.errors import LocalHandlerMissingError, LocalTemplateError, LocalTemplateMissingError
from toolgate_local.front_door import policy_effect
from toolgate_local.handlers import handler_source
from toolgate_local.intrinsics import PseudoParameters, Resolver, UnresolvedReferenceError, references
from toolgate_local.provision import generate_secret_string
from toolgate_local.rest_api import ApiResource, RestApiModel
from toolgate_local.template import Template, find_stack_template, physical_name

PSEUDO = PseudoParameters(account_id="123456789012", region="eu-west-1", stack_name="Toolgate")
TEMPLATE: dict[str, Any] = {
    "Parameters": {"Stage": {"Type": "String", "Default": "prod"}},
    "Mappings": {"Sizes": {"eu-west-1": {"Memory": "512"}}},
    "Conditions": {
        "IsEurope": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
        "Elsewhere": {"Fn::Not": [{"Condition": "IsEurope"}]},
    },
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Topic": {"Type": "AWS::SNS::Topic"},
    },
}


@pytest.fixture
def resolver() -> Resolver:
    resolver = Resolver(TEMPLATE, PSEUDO)
    resolver.provide(
        "Queue", "https://queue/url", {"Arn": "arn:aws:sqs:eu-west-1:123456789012:q", "QueueName": "q"}
    )
    resolver.mark_unavailable("Topic", "nothing publishes to it")
    return resolver


def test_ref_and_get_att_give_the_local_values(resolver: Resolver) -> None:
    assert resolver.resolve({"Ref": "Queue"}) == "https://queue/url"
    assert resolver.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:eu-west-1:123456789012:q"
    assert resolver.resolve({"Fn::GetAtt": "Queue.QueueName"}) == "q"
    assert resolver.resolve({"Ref": "Stage"}) == "prod"


def test_pseudo_parameters_resolve(resolver: Resolver) -> None:
    value = {
        "Fn::Join": [
            ":",
            [
                {"Ref": "AWS::Partition"},
                {"Ref": "AWS::Region"},
                {"Ref": "AWS::AccountId"},
                {"Ref": "AWS::URLSuffix"},
                {"Ref": "AWS::StackName"},
            ],
        ]
    }

    assert resolver.resolve(value) == "aws:eu-west-1:123456789012:amazonaws.com:Toolgate"


def test_sub_resolves_references_attributes_variables_and_keeps_escaped_literals(resolver: Resolver) -> None:
    text = "${AWS::Region}/${Queue}/${Queue.Arn}/${Named}/${!Literal}"

    resolved = resolver.resolve({"Fn::Sub": [text, {"Named": {"Fn::GetAtt": ["Queue", "QueueName"]}}]})

    assert resolved == "eu-west-1/https://queue/url/arn:aws:sqs:eu-west-1:123456789012:q/q/${Literal}"


def test_select_split_base64_and_find_in_map(resolver: Resolver) -> None:
    arn = {"Fn::GetAtt": ["Queue", "Arn"]}

    assert resolver.resolve({"Fn::Select": [3, {"Fn::Split": [":", arn]}]}) == "eu-west-1"
    assert resolver.resolve({"Fn::Select": ["1", ["a", "b"]]}) == "b"
    assert resolver.resolve({"Fn::Base64": "hi"}) == "aGk="
    assert resolver.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "AWS::Region"}, "Memory"]}) == "512"


def test_conditions_and_no_value_shape_the_result(resolver: Resolver) -> None:
    value = {
        "Keep": {"Fn::If": ["IsEurope", "eu", "elsewhere"]},
        "Drop": {"Ref": "AWS::NoValue"},
        "List": [
            "a",
            {"Ref": "AWS::NoValue"},
            {"Fn::If": ["Elsewhere", "x", "b"]},
        ],
    }

    assert resolver.resolve(value) == {"Keep": "eu", "List": ["a", "b"]}


def test_reference_to_a_resource_not_created_locally_names_it_and_the_reason(resolver: Resolver) -> None:
    with pytest.raises(UnresolvedReferenceError) as refused:
        resolver.resolve({"Fn::Join": ["", ["arn:", {"Ref": "Topic"}]]})

    assert refused.value.logical_id == "Topic"
    assert "AWS::SNS::Topic" in refused.value.message
    assert "nothing publishes to it" in refused.value.message


def test_unknown_attribute_and_unknown_function_are_refused(resolver: Resolver) -> None:
    with pytest.raises(UnresolvedReferenceError, match="no attribute 'Nope'"):
        resolver.resolve({"Fn::GetAtt": ["Queue", "Nope"]})
    with pytest.raises(LocalTemplateError, match="Fn::ImportValue"):
        resolver.resolve({"Fn::ImportValue": "shared"})
    with pytest.raises(UnresolvedReferenceError, match="no such resource"):
        resolver.resolve({"Ref": "Missing"})


def test_references_are_found_in_refs_attributes_and_sub_strings() -> None:
    value = {
        "A": {"Ref": "One"},
        "B": [{"Fn::GetAtt": ["Two", "Arn"]}, {"Fn::GetAtt": "Three.Arn"}],
        "C": {"Fn::Sub": ["${Four.Arn}/${Local}/${!Escaped}/${AWS::Region}", {"Local": {"Ref": "Five"}}]},
    }

    assert references(value) == {"One", "Two", "Three", "Four", "Five"}


def test_dependency_order_puts_referenced_resources_first(tmp_path: Path) -> None:
    document = {
        "Resources": {
            "Function": {"Type": "T", "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
            "Mapping": {"Type": "T", "Properties": {"F": {"Ref": "Function"}}, "DependsOn": "Queue"},
            "Queue": {"Type": "T", "Properties": {}},
            "Role": {"Type": "T", "Properties": {}},
        }
    }
    path = tmp_path / "Stack.template.json"
    path.write_text(json.dumps(document))

    order = Template.load(path).dependency_order(["Mapping", "Function", "Role", "Queue"])

    assert order.index("Role") < order.index("Function") < order.index("Mapping")
    assert order.index("Queue") < order.index("Mapping")


def test_physical_names_are_stable_bounded_and_distinct() -> None:
    first = physical_name("Toolgate", "UploadQueueA4421744", max_length=80)

    assert first == physical_name("Toolgate", "UploadQueueA4421744", max_length=80)
    assert first.startswith("Toolgate-UploadQueueA4421744-")
    assert first != physical_name("Toolgate", "UploadDeadLetterQueue4B762C3B", max_length=80)
    assert len(physical_name("Toolgate", "X" * 200, max_length=63, lowercase=True)) == 63


def test_stack_template_is_found_through_the_cloud_assembly_manifest(tmp_path: Path) -> None:
    manifest = {
        "artifacts": {
            "Toolgate.assets": {"type": "cdk:asset-manifest", "properties": {"file": "Toolgate.assets.json"}},
            "Toolgate": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Toolgate.template.json"},
            },
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))

    assert find_stack_template(tmp_path) == tmp_path / "Toolgate.template.json"
    with pytest.raises(LocalTemplateMissingError, match="no stack 'Other'"):
        find_stack_template(tmp_path, "Other")
    with pytest.raises(LocalTemplateMissingError, match="make synth"):
        find_stack_template(tmp_path / "missing")


def _api() -> RestApiModel:
    resources = {
        "root": ApiResource("root", "/", ""),
        "v1": ApiResource("v1", "/v1", "v1"),
        "proxy": ApiResource("proxy", "/v1/{proxy+}", "{proxy+}"),
        "items": ApiResource("items", "/v1/items", "items"),
        "item": ApiResource("item", "/v1/items/{item}", "{item}"),
        "special": ApiResource("special", "/v1/items/special", "special"),
    }
    children = {
        "root": [resources["v1"]],
        "v1": [resources["proxy"], resources["items"]],
        "items": [resources["item"], resources["special"]],
    }
    return RestApiModel(
        api_id="api",
        resources=resources,
        children=children,
        root_id="root",
        methods={},
        authorizers={},
        binary_media_types=("application/zip", "image/*"),
        stages={"prod": None},
    )


def test_routing_prefers_literal_then_variable_then_greedy_without_backtracking() -> None:
    api = _api()

    def route(path: str) -> tuple[str, dict[str, str]] | None:
        found = api.route(path.strip("/").split("/"))
        return (found[0].resource_id, found[1]) if found else None

    assert route("v1/items/special") == ("special", {})
    assert route("v1/items/42") == ("item", {"item": "42"})
    assert route("v1/other/deep/path") == ("proxy", {"proxy": "other/deep/path"})
    assert route("v1/items/42/deeper") is None


def test_binary_media_types_match_exactly_or_by_wildcard() -> None:
    api = _api()

    assert api.is_binary("application/zip")
    assert api.is_binary("image/png; charset=binary")
    assert not api.is_binary("application/json")
    assert not api.is_binary(None)


def test_authorizer_policy_denial_wins_over_allow() -> None:
    arn = "arn:aws:execute-api:eu-west-1:123456789012:api/prod/GET/v1/items"
    allow_all = {
        "Effect": "Allow",
        "Action": "execute-api:Invoke",
        "Resource": "arn:aws:execute-api:*:*:api/prod/*/*",
    }
    deny_items = {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": [arn]}

    assert policy_effect({"Statement": [allow_all]}, arn) == "Allow"
    assert policy_effect({"Statement": [allow_all, deny_items]}, arn) == "Deny"
    assert (
        policy_effect({"Statement": [{**allow_all, "Resource": "arn:aws:execute-api:*:*:api/dev/*/*"}]}, arn)
        is None
    )
    assert policy_effect({"Statement": [{**allow_all, "Action": "s3:GetObject"}]}, arn) is None


def test_generated_secret_honours_length_exclusions_and_the_json_template() -> None:
    value = generate_secret_string(
        {"PasswordLength": 40, "ExcludeCharacters": "abc", "ExcludePunctuation": True}
    )
    templated = json.loads(
        generate_secret_string({"SecretStringTemplate": '{"user": "svc"}', "GenerateStringKey": "password"})
    )

    assert len(value) == 40
    assert value.isalnum()
    assert not set("abc") & set(value)
    assert templated["user"] == "svc"
    assert len(templated["password"]) == 32
    assert generate_secret_string({}) != generate_secret_string({})


def _write_function(folder: Path, name: str, code: str) -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "handler.py").write_text(code)


def test_function_maps_to_the_handler_folder_of_its_construct(tmp_path: Path) -> None:
    functions = tmp_path / "functions"
    _write_function(functions, "api", "API = 1\n")
    properties = {"Runtime": "python3.12", "Handler": "handler.lambda_handler"}

    source = handler_source(
        "ApiFunctionCE271BD4",
        properties,
        {"aws:cdk:path": "Toolgate/ApiFunction/Resource"},
        functions_dir=functions,
        assets_dir=tmp_path,
    )
    from_logical_id = handler_source(
        "ApiFunctionCE271BD4", properties, {}, functions_dir=functions, assets_dir=tmp_path
    )

    assert (source.name, source.path, source.attribute) == (
        "api",
        functions / "api" / "handler.py",
        "lambda_handler",
    )
    assert from_logical_id.path == source.path


def test_packaged_code_of_another_function_refuses_the_mapping(tmp_path: Path) -> None:
    functions = tmp_path / "functions"
    _write_function(functions, "api", "API = 1\n")
    _write_function(functions, "upload", "UPLOAD = 1\n")
    _write_function(tmp_path / "cdk.out", "asset.1234", "UPLOAD = 1\n")
    metadata = {"aws:cdk:path": "Toolgate/ApiFunction/Resource", "aws:asset:path": "asset.1234"}

    with pytest.raises(LocalHandlerMissingError, match="construct id and the code disagree"):
        handler_source(
            "ApiFunctionCE271BD4",
            {"Runtime": "python3.12", "Handler": "handler.lambda_handler"},
            metadata,
            functions_dir=functions,
            assets_dir=tmp_path / "cdk.out",
        )


def test_handler_changed_since_the_synth_is_run_and_noted(tmp_path: Path) -> None:
    functions = tmp_path / "functions"
    _write_function(functions, "api", "API = 2\n")
    _write_function(tmp_path / "cdk.out", "asset.1234", "API = 1\n")
    metadata = {"aws:cdk:path": "Toolgate/ApiFunction/Resource", "aws:asset:path": "asset.1234"}

    source = handler_source(
        "ApiFunctionCE271BD4",
        {"Runtime": "python3.12", "Handler": "handler.lambda_handler"},
        metadata,
        functions_dir=functions,
        assets_dir=tmp_path / "cdk.out",
    )

    assert source.note is not None
    assert "changed since the template was synthesized" in source.note


def test_function_that_is_not_python_or_not_named_like_a_function_is_refused(tmp_path: Path) -> None:
    functions = tmp_path / "functions"
    _write_function(functions, "api", "API = 1\n")

    with pytest.raises(LocalHandlerMissingError, match="only Python handlers"):
        handler_source(
            "ApiFunctionCE271BD4",
            {"Runtime": "nodejs20.x", "Handler": "index.handler"},
            {},
            functions_dir=functions,
            assets_dir=tmp_path,
        )
    with pytest.raises(LocalHandlerMissingError, match="not named"):
        handler_source(
            "Worker",
            {"Runtime": "python3.12", "Handler": "handler.lambda_handler"},
            {"aws:cdk:path": "Toolgate/Worker/Resource"},
            functions_dir=functions,
            assets_dir=tmp_path,
        )
