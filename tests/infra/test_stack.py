"""Security properties of the synthesized stack: tenant isolation in IAM, least privilege, encryption,
the upload queue's dead-letter wiring, the API's authorizer and the functions' limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template
from synth_helpers import (
    TENANT,
    TENANT_SESSION_CONDITION,
    XRAY_ACTIONS,
    actions_of,
    as_list,
    function_role_ids,
    logical_id,
    of_type,
    render,
    role_statements,
    statement_with,
    tenant_statements,
)
from toolgate.service.api_keys import issue_key
from toolgate.service.tenancy import Role
from toolgate.settings import ServiceSettings

from infra.stack import AUTHORIZATION_HEADER_PATTERN, ToolgateStack, bucket_name_prefix

# --- Tenant isolation ----------------------------------------------------------------------------


def test_tenant_rows_need_an_exact_leading_key_match_on_the_session_tag(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    statements = tenant_statements(stack, resources)
    table_statements = [s for s in statements if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]
    assert len(table_statements) == 1
    (rows,) = table_statements
    # Exact match (never StringLike), so the session of tenant `t1` is refused the rows of `t10`.
    assert rows["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [TENANT]}}
    assert rows["Resource"] == {"Fn::GetAtt": [logical_id(stack.table), "Arn"]}


def test_tenant_role_cannot_scan_the_table_or_use_wildcard_actions(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    # Scan and PartiQL carry no leading key, so the LeadingKeys condition would not hold them back.
    actions = actions_of(tenant_statements(stack, resources))
    assert not {a for a in actions if "*" in a}
    assert "dynamodb:Scan" not in actions
    assert not {a for a in actions if a.startswith("dynamodb:PartiQL")}


def test_tenant_objects_are_only_the_sessions_own_prefixes_with_a_trailing_slash(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    bucket = "${" + logical_id(stack.bucket) + ".Arn}"
    statements = tenant_statements(stack, resources)
    objects = statement_with(statements, "s3:GetObject")
    assert {render(resource) for resource in as_list(objects["Resource"])} == {
        f"{bucket}/tenants/{TENANT}/*",
        f"{bucket}/artifacts/tenants/{TENANT}/*",
    }
    listing = statement_with(statements, "s3:ListBucket")
    assert render(listing["Resource"]) == bucket
    assert set(listing["Condition"]["StringLike"]["s3:prefix"]) == {
        f"tenants/{TENANT}/",
        f"tenants/{TENANT}/*",
        f"artifacts/tenants/{TENANT}/",
        f"artifacts/tenants/{TENANT}/*",
    }


def test_tenant_secrets_are_only_under_the_sessions_own_path(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    expected = (
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:"
        f"secret:toolgate/tenants/{TENANT}/*"
    )
    statements = tenant_statements(stack, resources)
    secret_statements = [
        s for s in statements if any(a.startswith("secretsmanager:") for a in as_list(s["Action"]))
    ]
    assert secret_statements
    for statement in secret_statements:
        assert [render(resource) for resource in as_list(statement["Resource"])] == [expected]
    creating = statement_with(statements, "secretsmanager:CreateSecret")
    # A new secret must carry the creator's own tenant tag, and no other tag.
    assert creating["Condition"] == {
        "StringEquals": {"aws:RequestTag/tenant_id": TENANT},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["tenant_id"]},
    }


def test_every_tenant_role_permission_is_bound_to_the_session_tag(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    for statement in tenant_statements(stack, resources):
        assert statement["Effect"] == "Allow"
        in_resource = all(f"{TENANT}/" in render(r) for r in as_list(statement["Resource"]))
        in_condition = TENANT in str(statement.get("Condition", {}))
        assert in_resource or in_condition, statement


def test_tenant_role_trusts_only_the_tenant_facing_function_roles_with_a_tenant_tag(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    roles = function_role_ids(stack)
    trust = resources[logical_id(stack.tenant_access.role)]["Properties"]["AssumeRolePolicyDocument"]
    trusted: set[str] = set()
    for statement in trust["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(as_list(statement["Action"])) == {"sts:AssumeRole", "sts:TagSession"}
        assert statement["Condition"] == TENANT_SESSION_CONDITION
        trusted |= {principal["Fn::GetAtt"][0] for principal in as_list(statement["Principal"]["AWS"])}
    # Every function but the authorizer, which reads API-key items with its own role.
    tenant_facing = ("api", "upload", "invoke", "mcp", "jobs", "callback", "search")
    assert trusted == {roles[name] for name in tenant_facing}
    assert resources[logical_id(stack.tenant_access.role)]["Properties"]["MaxSessionDuration"] <= 3600


def test_tenant_facing_function_roles_open_only_tagged_tenant_sessions(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    tenant_role = logical_id(stack.tenant_access.role)
    for name in ("api", "upload", "invoke", "mcp", "jobs", "callback", "search"):
        statements = role_statements(resources, function_role_ids(stack)[name])
        sts = [s for s in statements if any(a.startswith("sts:") for a in as_list(s["Action"]))]
        assert len(sts) == 1, name
        (session,) = sts
        assert set(as_list(session["Action"])) == {"sts:AssumeRole", "sts:TagSession"}
        assert session["Resource"] == {"Fn::GetAtt": [tenant_role, "Arn"]}
        assert session["Condition"] == TENANT_SESSION_CONDITION


def test_admin_policy_limits_people_to_their_own_prefixes(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    bucket = "${" + logical_id(stack.bucket) + ".Arn}"
    policy = resources[logical_id(stack.tenant_access.admin_policy)]["Properties"]["PolicyDocument"]
    writes = statement_with(policy["Statement"], "s3:PutObject")
    assert [render(r) for r in as_list(writes["Resource"])] == [f"{bucket}/tenants/{TENANT}/*"]
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert not [a for a in as_list(statement["Action"]) if "*" in a]
        in_resource = all(f"{TENANT}/" in render(r) for r in as_list(statement["Resource"]))
        assert in_resource or TENANT in str(statement.get("Condition", {})), statement


def test_bucket_denies_tagged_principals_every_object_outside_their_prefixes(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    bucket = "${" + logical_id(stack.bucket) + ".Arn}"
    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id(stack.bucket)}
    ]
    (guard,) = [s for s in policy["Statement"] if "NotResource" in s]
    assert guard["Effect"] == "Deny"
    assert guard["Principal"] == {"AWS": "*"}
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= set(guard["Action"])
    assert guard["Condition"] == {"StringLike": {"aws:PrincipalTag/tenant_id": "?*"}}
    assert {render(r) for r in guard["NotResource"]} == {
        f"{bucket}/tenants/{TENANT}/*",
        f"{bucket}/artifacts/tenants/{TENANT}/*",
    }


# --- Least privilege of the functions' own roles ---------------------------------------------------


def test_function_roles_have_no_wildcard_actions_and_star_resources_only_for_xray(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    for name, role_id in function_role_ids(stack).items():
        for statement in role_statements(resources, role_id):
            actions = set(as_list(statement["Action"]))
            assert not {a for a in actions if "*" in a}, (name, statement)
            if "*" in as_list(statement["Resource"]):
                assert actions <= XRAY_ACTIONS, (name, statement)


def test_functions_cannot_read_tenant_secrets_objects_or_rows_with_their_own_roles(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    roles = function_role_ids(stack)
    signing_key = {"Ref": logical_id(stack.jobs.signing_key)}
    for name, role_id in roles.items():
        statements = role_statements(resources, role_id)
        actions = actions_of(statements)
        assert not {a for a in actions if a.startswith(("s3:", "kms:"))}, name
        secret_statements = [
            s for s in statements if any(a.startswith("secretsmanager:") for a in as_list(s["Action"]))
        ]
        # The callback signing key is the one secret a function role reads, and only these two do.
        for statement in secret_statements:
            assert name in {"jobs", "callback"}, name
            assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"], name
            assert as_list(statement["Resource"]) == [signing_key], name
        table_actions = {a for a in actions if a.startswith("dynamodb:")}
        # Only the authorizer reads the table itself: single API-key items, nothing else.
        assert table_actions == ({"dynamodb:GetItem"} if name == "authorizer" else set()), name
    authorizer_actions = actions_of(role_statements(resources, roles["authorizer"]))
    assert not {a for a in authorizer_actions if a.startswith("sts:")}


def test_only_the_upload_function_consumes_the_upload_queue(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    for name, role_id in function_role_ids(stack).items():
        sqs_statements = [
            s
            for s in role_statements(resources, role_id)
            if any(a.startswith("sqs:") for a in as_list(s["Action"]))
        ]
        if name != "upload":
            assert not sqs_statements, name
            continue
        (consume,) = sqs_statements
        assert consume["Resource"] == {"Fn::GetAtt": [logical_id(stack.upload_queue), "Arn"]}
        assert "sqs:SendMessage" not in as_list(consume["Action"])


# --- Encryption, durability and transport --------------------------------------------------------


def test_table_is_encrypted_recoverable_on_demand_and_retained(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    table = resources[logical_id(stack.table)]
    properties = table["Properties"]
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert properties["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]


def test_buckets_are_private_encrypted_and_refuse_plain_http(resources: dict[str, Any]) -> None:
    buckets = of_type(resources, "AWS::S3::Bucket")
    assert buckets
    policies = of_type(resources, "AWS::S3::BucketPolicy").values()
    for bucket_id, bucket in buckets.items():
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
        (policy,) = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": bucket_id}]
        assert any(
            s["Effect"] == "Deny"
            and s["Action"] == "s3:*"
            and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )
        assert bucket["DeletionPolicy"] == "Retain"


def test_specs_bucket_keeps_versions_logs_access_and_expires_old_versions(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    properties = resources[logical_id(stack.bucket)]["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "DestinationBucketName" in properties["LoggingConfiguration"]
    rules = properties["LifecycleConfiguration"]["Rules"]
    assert any("NoncurrentVersionExpiration" in rule for rule in rules)
    assert any("AbortIncompleteMultipartUpload" in rule for rule in rules)


def test_queues_are_encrypted_and_refuse_plain_http(resources: dict[str, Any]) -> None:
    queues = of_type(resources, "AWS::SQS::Queue")
    assert len(queues) >= 2
    policies = of_type(resources, "AWS::SQS::QueuePolicy").values()
    for queue_id, queue in queues.items():
        properties = queue["Properties"]
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties
        (policy,) = [p for p in policies if {"Ref": queue_id} in p["Properties"]["Queues"]]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )


# --- The upload pipeline -------------------------------------------------------------------------


def test_a_message_that_fails_three_times_moves_to_the_dead_letter_queue(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    queue = resources[logical_id(stack.upload_queue)]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [logical_id(stack.dead_letter_queue), "Arn"]},
        "maxReceiveCount": 3,
    }
    dead_letters = resources[logical_id(stack.dead_letter_queue)]["Properties"]
    # A message must outlive its retries: the dead-letter queue keeps it longer than the source queue.
    assert dead_letters["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    upload = resources[logical_id(stack.upload_function)]["Properties"]
    # A message stays invisible while any one of its attempts may still be running.
    assert queue["VisibilityTimeout"] >= 6 * upload["Timeout"]


def test_upload_function_reports_partial_batch_failures_within_its_reserved_concurrency(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["EventSourceArn"] == {"Fn::GetAtt": [logical_id(stack.upload_queue), "Arn"]}
    assert properties["FunctionName"] == {"Ref": logical_id(stack.upload_function)}
    upload = resources[logical_id(stack.upload_function)]["Properties"]
    assert properties["ScalingConfig"]["MaximumConcurrency"] <= upload["ReservedConcurrentExecutions"]


def test_only_the_specs_bucket_may_notify_the_upload_queue_of_tenant_uploads(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    bucket = resources[logical_id(stack.bucket)]
    (notification,) = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Queue"] == {"Fn::GetAtt": [logical_id(stack.upload_queue), "Arn"]}
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "tenants/"}]

    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in of_type(resources, "AWS::SQS::QueuePolicy").values()
        if {"Ref": logical_id(stack.upload_queue)} in p["Properties"]["Queues"]
    ]
    (from_s3,) = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "s3.amazonaws.com"}]
    assert as_list(from_s3["Action"]) == ["sqs:SendMessage"]
    # The account-regional bucket name is known before the bucket exists: it is the one sender.
    assert bucket["Properties"]["BucketNamespace"] == "account-regional"
    prefix = bucket["Properties"]["BucketNamePrefix"]
    assert render(from_s3["Condition"]["ArnEquals"]["aws:SourceArn"]) == (
        f"arn:${{AWS::Partition}}:s3:::{prefix}-${{AWS::AccountId}}-${{AWS::Region}}-an"
    )
    assert from_s3["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # S3 tests the destination when the bucket is created, so the queue policy must exist first.
    assert logical_id(stack.upload_queue.node.find_child("Policy")) in bucket["DependsOn"]


# --- The API -------------------------------------------------------------------------------------


def test_every_api_method_but_the_callback_and_oauth_discovery_requires_the_api_key_authorizer(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    (authorizer_id,) = of_type(resources, "AWS::ApiGateway::Authorizer")
    methods = of_type(resources, "AWS::ApiGateway::Method")
    callback = f"${{{logical_id(stack.live_aliases['callback'])}}}"
    keyless = {
        key
        for key, method in methods.items()
        if callback in render(method["Properties"]["Integration"]["Uri"])
        or method["Properties"]["ResourceId"] == {"Ref": _resource_id(resources, "{proxy+}", ".well-known")}
    }
    # The target calling back holds no key: its signed callback URL is the credential (test_jobs.py).
    # OAuth discovery is answered 404 by the MCP function before it reads anything.
    assert len(keyless) == 2
    # No other public method: even /v1/openapi.json needs a key.
    for key, method in methods.items():
        if key in keyless:
            continue
        assert method["Properties"]["AuthorizationType"] == "CUSTOM"
        assert method["Properties"]["AuthorizerId"] == {"Ref": authorizer_id}


def test_authorizer_is_cached_and_runs_the_authorizer_functions_live_alias(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    (authorizer,) = of_type(resources, "AWS::ApiGateway::Authorizer").values()
    properties = authorizer["Properties"]
    assert properties["IdentitySource"] == "method.request.header.Authorization"
    assert 0 < properties["AuthorizerResultTtlInSeconds"] <= 300
    uri_parts = properties["AuthorizerUri"]["Fn::Join"][1]
    assert {"Ref": logical_id(stack.live_aliases["authorizer"])} in uri_parts


@pytest.mark.parametrize("form", ["{key}", "Bearer {key}", "bearer {key}"])
def test_api_gateway_lets_real_keys_through_to_the_authorizer(form: str) -> None:
    issued = issue_key("t-10", Role.ADMIN, "ops", datetime.now(UTC))
    assert re.fullmatch(AUTHORIZATION_HEADER_PATTERN, form.format(key=issued.key))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "Basic dXNlcjpwYXNz",
        "tg_ACME_0123456789abcdef_" + "a" * 43,
        "tg_acme_0123456789abcdef_" + "a" * 42,
        "tg_acme_0123456789abcdef_" + "a" * 43 + "\nx",
        "Bearer tg_acme_0123456789abcdef_" + "a" * 43 + " extra",
    ],
)
def test_api_gateway_refuses_malformed_tokens_without_invoking_the_authorizer(
    resources: dict[str, Any], token: str
) -> None:
    (authorizer,) = of_type(resources, "AWS::ApiGateway::Authorizer").values()
    assert authorizer["Properties"]["IdentityValidationExpression"] == AUTHORIZATION_HEADER_PATTERN
    assert not re.fullmatch(AUTHORIZATION_HEADER_PATTERN, token)


def test_api_stage_logs_access_without_bodies_or_keys_and_throttles(resources: dict[str, Any]) -> None:
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    log_format = properties["AccessLogSetting"]["Format"]
    assert "$context.authorizer.tenant_id" in log_format
    assert "$input" not in log_format
    assert "Authorization" not in log_format
    assert properties["TracingEnabled"] is True
    (settings,) = properties["MethodSettings"]
    assert settings["DataTraceEnabled"] is False
    assert settings["LoggingLevel"] in {"ERROR", "INFO"}
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0
    assert of_type(resources, "AWS::ApiGateway::Account")


def test_api_proxies_v1_to_the_api_function(stack: ToolgateStack, template: Template) -> None:
    template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "{proxy+}"})
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "ANY",
            "Integration": {
                "Type": "AWS_PROXY",
                "Uri": {
                    "Fn::Join": [
                        "",
                        Match.array_with(
                            [{"Fn::GetAtt": [logical_id(stack.api_function), "Arn"]}, "/invocations"]
                        ),
                    ]
                },
            },
        },
    )


# --- The functions -------------------------------------------------------------------------------


def test_functions_have_deliberate_limits_tracing_and_bounded_logs(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    assert set(functions) == {logical_id(function) for function in stack.functions}
    for function in functions.values():
        properties = function["Properties"]
        assert properties["Timeout"] > 0
        assert properties["MemorySize"] >= 128
        assert properties["ReservedConcurrentExecutions"] > 0
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["Runtime"] == "python3.12"
        assert properties["Architectures"] == ["arm64"]
        assert properties["Handler"] == "handler.lambda_handler"
        log_group = resources[properties["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Properties"]["RetentionInDays"] > 0
    api = resources[logical_id(stack.api_function)]["Properties"]
    # API Gateway gives up on an integration after 29 s.
    assert api["Timeout"] <= 29


def test_functions_and_layers_agree_on_runtime_and_architecture(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    layers = of_type(resources, "AWS::Lambda::LayerVersion")
    assert len(layers) == 4
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    for function in of_type(resources, "AWS::Lambda::Function").values():
        assert {ref["Ref"] for ref in function["Properties"]["Layers"]} <= set(layers)


def test_each_function_gets_the_dependency_layer_it_needs_and_no_other(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    full, slim, search, toolgate = (
        logical_id(layer)
        for layer in (
            stack.dependency_layer,
            stack.slim_dependency_layer,
            stack.search_layer,
            stack.toolgate_layer,
        )
    )
    expected_layers = {"api": full, "upload": full, "search": search}
    for name in ("api", "authorizer", "upload", "invoke", "mcp", "jobs", "callback", "search"):
        function = resources[logical_id(getattr(stack, f"{name}_function"))]["Properties"]
        expected = [expected_layers.get(name, slim), toolgate]
        assert [ref["Ref"] for ref in function["Layers"]] == expected, name


def test_functions_get_every_setting_the_service_requires(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    required = {
        f"TOOLGATE_{name.upper()}"
        for name, field in ServiceSettings.model_fields.items()
        if field.is_required()
    }
    assert required
    expected = {
        "TOOLGATE_TABLE_NAME": {"Ref": logical_id(stack.table)},
        "TOOLGATE_BUCKET_NAME": {"Ref": logical_id(stack.bucket)},
        "TOOLGATE_TENANT_ROLE_ARN": {"Fn::GetAtt": [logical_id(stack.tenant_access.role), "Arn"]},
        "TOOLGATE_SECRET_PREFIX": "toolgate/tenants",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
    for function in of_type(resources, "AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert required <= set(variables)
        assert expected.items() <= variables.items()


def test_a_placeholder_dependency_layer_is_flagged_as_not_deployable(stack: ToolgateStack) -> None:
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("EMPTY placeholder.*never deploy")
    )
    assert warnings


@pytest.mark.parametrize("stack_name", ["Toolgate", "Toolgate-Staging__EU", "T" * 128])
def test_specs_bucket_name_is_valid_for_any_stack_name(stack_name: str) -> None:
    longest_region = "ap-southeast-5"
    name = f"{bucket_name_prefix(stack_name)}-123456789012-{longest_region}-an"
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name)
    assert "--" not in name


def test_zip_specs_reach_the_api_function_as_binary(template: Template) -> None:
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"BinaryMediaTypes": ["application/zip"]})


def _resource_id(resources: dict[str, Any], path_part: str, parent_part: str) -> str:
    api_resources = of_type(resources, "AWS::ApiGateway::Resource")
    (found,) = [
        key
        for key, resource in api_resources.items()
        if resource["Properties"]["PathPart"] == path_part
        and api_resources.get(resource["Properties"]["ParentId"].get("Ref", ""), {})
        .get("Properties", {})
        .get("PathPart")
        == parent_part
    ]
    return found
