"""The invoke path in the synthesized stack: the role chain to tenant data and its conditions, the
function's placement and limits, its routes beside the management API's, the alarms, and how long kept
results may live."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from pydantic import ValidationError
from synth_helpers import (
    TENANT,
    TENANT_SESSION_CONDITION,
    XRAY_ACTIONS,
    as_list,
    invoked_function,
    logical_id,
    of_type,
    render,
    role_statements,
    synthesize,
    tenant_statements,
)
from toolgate.settings import InvokeSettings, RuntimeSettings

from infra.monitoring import (
    INVOKE_ERROR_RATE_PERCENT,
    AlarmEmailError,
    OperationsAlarms,
)
from infra.stack import INVOKE_ENVIRONMENT, INVOKE_SIZING, ToolgateStack
from infra.tenancy import RESULT_RETENTION_DAYS, RESULT_RETENTION_TAG_KEY, RESULT_RETENTION_TAG_VALUE

#: API Gateway's integration timeout for REST APIs, in seconds.
API_GATEWAY_TIMEOUT = 29
ALARM_EMAIL = "ops@example.com"


@pytest.fixture(scope="module")
def invoke_role(stack: ToolgateStack) -> str:
    return logical_id(stack.invoke_function.role)


@pytest.fixture(scope="module")
def invoke(stack: ToolgateStack, resources: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], resources[logical_id(stack.invoke_function)]["Properties"])


@pytest.fixture(scope="module")
def with_context(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The stack deployed with `-c toolgate:reservedConcurrency=false -c toolgate:alarmEmail=...`."""
    synthesized = synthesize(
        tmp_path_factory.mktemp("context"),
        nag=False,
        context={"toolgate:reservedConcurrency": "false", "toolgate:alarmEmail": ALARM_EMAIL},
    )
    return cast(dict[str, Any], Template.from_stack(synthesized.stack).to_json()["Resources"])


# --- The role chain ------------------------------------------------------------------------------


def test_invoke_role_may_only_open_tagged_tenant_sessions_run_jobs_and_write_its_logs_and_traces(
    stack: ToolgateStack, resources: dict[str, Any], invoke_role: str
) -> None:
    own_logs = {"Fn::GetAtt": [logical_id(stack.invoke_function.log_group), "Arn"]}
    machine = logical_id(stack.jobs.state_machine)
    kinds: set[str] = set()
    for statement in role_statements(resources, invoke_role):
        assert statement["Effect"] == "Allow", statement
        actions = set(as_list(statement["Action"]))
        if actions == {"sts:AssumeRole", "sts:TagSession"}:
            kinds.add("tenant sessions")
            assert statement["Resource"] == {"Fn::GetAtt": [logical_id(stack.tenant_access.role), "Arn"]}
            assert statement["Condition"] == TENANT_SESSION_CONDITION
        elif actions <= {"logs:CreateLogStream", "logs:PutLogEvents"}:
            kinds.add("logs")
            assert statement["Resource"] == own_logs
        elif actions <= XRAY_ACTIONS:
            kinds.add("traces")
        elif actions == {"states:StartExecution"}:
            kinds.add("start jobs")
            assert statement["Resource"] == {"Ref": machine}
        elif actions == {"states:DescribeExecution", "states:StopExecution"}:
            kinds.add("read and cancel jobs")
            assert render(statement["Resource"]) == (
                "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
                f"${{{machine}.Name}}:*"
            )
        elif actions == {"lambda:InvokeFunction"}:
            kinds.add("search")
            assert statement["Resource"] == {"Fn::GetAtt": [logical_id(stack.search_function), "Arn"]}
        else:
            pytest.fail(f"the invoke role may do more than open tenant sessions and run jobs: {statement}")
    assert kinds == {"tenant sessions", "logs", "traces", "start jobs", "read and cancel jobs", "search"}


def test_no_resource_policy_grants_the_invoke_role_anything(
    resources: dict[str, Any], invoke_role: str
) -> None:
    # A bucket, queue, topic or key policy naming the role would grant what its identity policy does not.
    for resource_id, resource in resources.items():
        if resource["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            continue
        properties = resource.get("Properties", {})
        document = properties.get("PolicyDocument") or properties.get("KeyPolicy")
        assert invoke_role not in str(document), resource_id


def test_tenant_role_trusts_the_invoke_role_only_with_a_tenant_tag_and_no_other(
    stack: ToolgateStack, resources: dict[str, Any], invoke_role: str
) -> None:
    trust = resources[logical_id(stack.tenant_access.role)]["Properties"]["AssumeRolePolicyDocument"]
    (from_invoke,) = [
        statement
        for statement in trust["Statement"]
        if {"Fn::GetAtt": [invoke_role, "Arn"]} in as_list(statement["Principal"]["AWS"])
    ]
    assert set(as_list(from_invoke["Action"])) == {"sts:AssumeRole", "sts:TagSession"}
    # A non-empty tenant_id tag is required, and it must be the only tag the session carries.
    assert from_invoke["Condition"] == TENANT_SESSION_CONDITION


def _allowing(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if s["Effect"] == "Allow" and action in as_list(s["Action"])]


def test_tenant_sessions_may_read_only_their_own_credentials(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    (reading,) = _allowing(tenant_statements(stack, resources), "secretsmanager:GetSecretValue")
    assert [render(r) for r in as_list(reading["Resource"])] == [
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:"
        f"secret:toolgate/tenants/{TENANT}/*"
    ]


@pytest.mark.parametrize(
    "action",
    [
        # Powertools idempotency: read, claim (conditional put), complete, release on failure.
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        # The assistant's and the tool's rows, read by key prefix.
        "dynamodb:Query",
    ],
)
def test_tenant_sessions_reach_only_rows_keyed_by_their_own_tenant(
    stack: ToolgateStack, resources: dict[str, Any], action: str
) -> None:
    (rows,) = _allowing(tenant_statements(stack, resources), action)
    assert rows["Resource"] == {"Fn::GetAtt": [logical_id(stack.table), "Arn"]}
    assert rows["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [TENANT]}}


@pytest.mark.parametrize("action", ["s3:PutObject", "s3:GetObject"])
def test_tenant_sessions_keep_and_page_results_only_under_their_own_artifacts(
    stack: ToolgateStack, resources: dict[str, Any], action: str
) -> None:
    bucket = "${" + logical_id(stack.bucket) + ".Arn}"
    (objects,) = _allowing(tenant_statements(stack, resources), action)
    patterns = {render(r) for r in as_list(objects["Resource"])}
    assert f"{bucket}/artifacts/tenants/{TENANT}/*" in patterns
    assert all(
        pattern.startswith((f"{bucket}/tenants/{TENANT}/", f"{bucket}/artifacts/tenants/{TENANT}/"))
        for pattern in patterns
    )


def test_tenant_sessions_may_tag_only_their_own_kept_results(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    # A tag is what expires an object: no session may put one on specs or another tenant's objects.
    bucket = "${" + logical_id(stack.bucket) + ".Arn}"
    (tagging,) = _allowing(tenant_statements(stack, resources), "s3:PutObjectTagging")
    assert [render(r) for r in as_list(tagging["Resource"])] == [
        f"{bucket}/artifacts/tenants/{TENANT}/results/*"
    ]


def test_kept_results_are_deleted_a_day_after_they_are_written_every_version_included(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    rules = resources[logical_id(stack.bucket)]["Properties"]["LifecycleConfiguration"]["Rules"]
    (results,) = [rule for rule in rules if "TagFilters" in rule]
    assert results["Status"] == "Enabled"
    assert results["TagFilters"] == [{"Key": RESULT_RETENTION_TAG_KEY, "Value": RESULT_RETENTION_TAG_VALUE}]
    assert results["ExpirationInDays"] == 1
    assert results["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


def test_invoke_function_assumes_the_tenant_role_it_is_trusted_by(
    stack: ToolgateStack, invoke: dict[str, Any]
) -> None:
    variables = invoke["Environment"]["Variables"]
    assert variables["TOOLGATE_TENANT_ROLE_ARN"] == {
        "Fn::GetAtt": [logical_id(stack.tenant_access.role), "Arn"]
    }
    assert INVOKE_ENVIRONMENT.items() <= variables.items()


def test_invoke_environment_sets_settings_the_invoke_function_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in INVOKE_ENVIRONMENT.items():
        assert name.removeprefix("TOOLGATE_").lower() in InvokeSettings.model_fields, name
        monkeypatch.setenv(name, value)
    settings = InvokeSettings()
    for name, value in INVOKE_ENVIRONMENT.items():
        assert str(getattr(settings, name.removeprefix("TOOLGATE_").lower())) == value


def test_no_continuation_outlives_the_lifecycle_rule_that_backs_it() -> None:
    """The bucket never deletes a result while its handle may still be presented."""
    longest = RESULT_RETENTION_DAYS * 86_400
    assert InvokeSettings(continuation_ttl_seconds=longest).continuation_ttl_seconds == longest
    with pytest.raises(ValidationError):
        InvokeSettings(continuation_ttl_seconds=longest + 1)


def test_no_function_is_deployed_with_loopback_private_or_plain_http_egress(
    resources: dict[str, Any],
) -> None:
    for function_id, function in of_type(resources, "AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert not [name for name in variables if name.startswith("TOOLGATE_RUNTIME__ALLOW")], function_id


# --- Placement and limits --------------------------------------------------------------------------


def test_functions_run_outside_any_vpc(resources: dict[str, Any]) -> None:
    for function_id, function in of_type(resources, "AWS::Lambda::Function").items():
        assert "VpcConfig" not in function["Properties"], function_id
    # No private network exists for a tool call to reach.
    assert not [resource_id for resource_id, r in resources.items() if r["Type"].startswith("AWS::EC2::")]


def test_invoke_function_finishes_before_api_gateway_gives_up(invoke: dict[str, Any]) -> None:
    assert invoke["Timeout"] == INVOKE_SIZING.timeout.to_seconds()
    # Below 29 s with room for a cold start, which API Gateway's clock counts and Lambda's does not.
    assert invoke["Timeout"] <= API_GATEWAY_TIMEOUT - 2
    # The runtime's own default deadline for a call fits inside the function's time.
    assert RuntimeSettings().default_timeout_seconds < invoke["Timeout"]


def test_invoke_function_reserves_its_concurrency_and_traces_every_call(invoke: dict[str, Any]) -> None:
    assert invoke["ReservedConcurrentExecutions"] == INVOKE_SIZING.reserved_concurrency
    assert invoke["MemorySize"] == INVOKE_SIZING.memory_mb
    assert invoke["TracingConfig"] == {"Mode": "Active"}
    assert invoke["Handler"] == "handler.lambda_handler"


def test_accounts_too_small_to_reserve_concurrency_can_turn_it_off(with_context: dict[str, Any]) -> None:
    functions = of_type(with_context, "AWS::Lambda::Function")
    assert functions
    for function_id, function in functions.items():
        assert "ReservedConcurrentExecutions" not in function["Properties"], function_id


# --- Routes --------------------------------------------------------------------------------------


@dataclass
class ApiResource:
    path_part: str
    children: list[ApiResource] = field(default_factory=list)
    #: HTTP method (or ANY) to the logical id of the function it invokes.
    methods: dict[str, str] = field(default_factory=dict)

    def child_for(self, segment: str) -> ApiResource | None:
        """API Gateway's preference: the literal segment, then a path variable, then a greedy variable."""
        literal = [child for child in self.children if child.path_part == segment]
        greedy = [child for child in self.children if child.path_part.endswith("+}")]
        variable = [
            child for child in self.children if child.path_part.startswith("{") and child not in greedy
        ]
        for candidates in (literal, variable, greedy):
            if candidates:
                return candidates[0]
        return None


def _resource_tree(resources: dict[str, Any]) -> ApiResource:
    root = ApiResource("")
    nodes = {
        key: ApiResource(value["Properties"]["PathPart"])
        for key, value in of_type(resources, "AWS::ApiGateway::Resource").items()
    }
    for key, value in of_type(resources, "AWS::ApiGateway::Resource").items():
        parent = value["Properties"]["ParentId"]
        (nodes[parent["Ref"]] if "Ref" in parent else root).children.append(nodes[key])
    for method in of_type(resources, "AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        resource = properties["ResourceId"]
        node = nodes[resource["Ref"]] if "Ref" in resource else root
        node.methods[properties["HttpMethod"]] = invoked_function(resources, properties["Integration"]["Uri"])
    return root


def route(root: ApiResource, http_method: str, path: str) -> str | None:
    """The function a request reaches, resolved at its most specific resource.

    A request never falls back to a less specific sibling here: whether API Gateway does that when the
    specific resource lacks the method is not something these routes may depend on.
    """
    node = root
    for segment in path.strip("/").split("/"):
        child = node.child_for(segment)
        if child is None:
            return None
        node = child
        if node.path_part.endswith("+}"):
            break
    return node.methods.get(http_method) or node.methods.get("ANY")


@pytest.fixture(scope="module")
def api_tree(resources: dict[str, Any]) -> ApiResource:
    return _resource_tree(resources)


@pytest.mark.parametrize(
    ("http_method", "path", "function"),
    [
        ("POST", "/v1/assistants/support/tools/create_support_case/invoke", "invoke"),
        ("GET", "/v1/continuations/Zm9vYmFy-handle", "invoke"),
        ("GET", "/v1/jobs/job_0123456789abcdefghijABCDEF", "invoke"),
        ("DELETE", "/v1/jobs/job_0123456789abcdefghijABCDEF", "invoke"),
        ("POST", "/v1/callbacks/cb1.acme.job_0123456789abcdefghijABCDEF.1767225600.c2ln", "callback"),
        ("POST", "/v1/assistants/support/mcp", "mcp"),
        ("GET", "/v1/assistants/support/mcp", "mcp"),
        ("DELETE", "/v1/assistants/support/mcp", "mcp"),
        ("GET", "/.well-known/oauth-protected-resource/v1/assistants/support/mcp", "mcp"),
        ("PUT", "/v1/assistants/support/mcp", "api"),
        ("POST", "/v1/assistants/support/mcp/sse", "api"),
        # The management API keeps everything else, under these resources too.
        ("POST", "/v1/assistants", "api"),
        ("GET", "/v1/assistants", "api"),
        ("GET", "/v1/assistants/support", "api"),
        ("PUT", "/v1/assistants/support", "api"),
        ("DELETE", "/v1/assistants/support", "api"),
        ("GET", "/v1/assistants/support/tools", "api"),
        ("GET", "/v1/assistants/support/tools/create_support_case", "api"),
        ("GET", "/v1/assistants/support/tools/create_support_case/invoke", "api"),
        ("POST", "/v1/assistants/support/tools/create_support_case/invoke/again", "api"),
        ("POST", "/v1/assistants/support/tools/create_support_case/schema", "api"),
        ("GET", "/v1/assistants/support/integrations/x/y", "api"),
        ("GET", "/v1/continuations", "api"),
        ("DELETE", "/v1/continuations/Zm9vYmFy-handle", "api"),
        ("GET", "/v1/continuations/Zm9vYmFy-handle/next", "api"),
        ("GET", "/v1/integrations/support-desk/report", "api"),
        ("GET", "/v1/openapi.json", "api"),
        ("GET", "/v1/jobs", "api"),
        ("POST", "/v1/jobs/job_0123456789abcdefghijABCDEF", "api"),
        ("GET", "/v1/jobs/job_0123456789abcdefghijABCDEF/result", "api"),
        ("GET", "/v1/callbacks", "api"),
        ("GET", "/v1/callbacks/cb1.acme.job_0123456789abcdefghijABCDEF.1767225600.c2ln", "api"),
        ("POST", "/v1/callbacks/cb1.acme.job_0123456789abcdefghijABCDEF.1767225600.c2ln/again", "api"),
    ],
)
def test_each_request_reaches_the_function_that_serves_it(
    stack: ToolgateStack, api_tree: ApiResource, http_method: str, path: str, function: str
) -> None:
    functions = {
        "invoke": stack.invoke_function,
        "mcp": stack.mcp_function,
        "api": stack.api_function,
        "callback": stack.callback_function,
    }
    assert route(api_tree, http_method, path) == logical_id(functions[function])


def test_only_the_invoke_and_job_routes_reach_the_invoke_and_callback_functions(
    stack: ToolgateStack, api_tree: ApiResource
) -> None:
    invoke = logical_id(stack.invoke_function)
    callback = logical_id(stack.callback_function)
    reached: set[tuple[str, str, str]] = set()

    def walk(node: ApiResource, path: str) -> None:
        reached.update(
            (target, method, path) for method, target in node.methods.items() if target in {invoke, callback}
        )
        for child in node.children:
            walk(child, f"{path}/{child.path_part}")

    walk(api_tree, "")
    assert reached == {
        (invoke, "POST", "/v1/assistants/{assistant}/tools/{tool}/invoke"),
        (invoke, "GET", "/v1/continuations/{handle}"),
        (invoke, "GET", "/v1/jobs/{job_id}"),
        (invoke, "DELETE", "/v1/jobs/{job_id}"),
        (callback, "POST", "/v1/callbacks/{callback_id}"),
    }


def test_no_resource_has_two_path_variable_children(api_tree: ApiResource) -> None:
    """API Gateway refuses to deploy a resource whose children include two variables (`{a}`, `{proxy+}`)."""
    pending = [api_tree]
    while pending:
        node = pending.pop()
        variables = [child.path_part for child in node.children if child.path_part.startswith("{")]
        assert len(variables) <= 1, (node.path_part, variables)
        pending.extend(node.children)


def test_api_gateway_may_invoke_the_invoke_alias_only_from_this_api(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    permissions = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": logical_id(stack.live_aliases["invoke"])}
    ]
    assert permissions
    for permission in permissions:
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert f"${{{logical_id(stack.api)}}}/" in render(permission["SourceArn"])


# --- Alarms --------------------------------------------------------------------------------------


def _alarm(resources: dict[str, Any], alarm: cdk.aws_cloudwatch.Alarm) -> dict[str, Any]:
    return cast(dict[str, Any], resources[logical_id(alarm)]["Properties"])


_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def evaluate(expression: str, values: dict[str, float]) -> float:
    """CloudWatch metric math of the arithmetic kind, evaluated on one data point per metric."""

    def value(node: ast.expr) -> float:
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values[node.id]
        raise AssertionError(f"unexpected metric math: {ast.dump(node)}")

    return value(ast.parse(expression, mode="eval").body)


def _alarms(stack: ToolgateStack) -> OperationsAlarms:
    assert stack.alarms is not None, "the stack has alarms unless toolgate:alarms is false"
    return stack.alarms


def _notifies_the_alarm_topic(stack: ToolgateStack, alarm: dict[str, Any]) -> None:
    topic = {"Ref": logical_id(_alarms(stack).topic)}
    assert alarm["AlarmActions"] == [topic]
    assert alarm["OKActions"] == [topic]


def _of_invoke_function(stack: ToolgateStack, dimensions: list[dict[str, Any]]) -> None:
    assert dimensions == [{"Name": "FunctionName", "Value": {"Ref": logical_id(stack.invoke_function)}}]


def test_error_rate_alarm_trips_above_five_percent_of_invocations(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    alarm = _alarm(resources, _alarms(stack).invoke_error_rate)
    (expression,) = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["ReturnData"] is True
    inputs = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    by_name = {stat["Metric"]["MetricName"]: metric_id for metric_id, stat in inputs.items()}
    assert set(by_name) == {"Errors", "Invocations"}
    for stat in inputs.values():
        assert stat["Metric"]["Namespace"] == "AWS/Lambda"
        _of_invoke_function(stack, stat["Metric"]["Dimensions"])
        assert stat["Stat"] == "Sum"
        assert stat["Period"] == 300

    def rate(errors: float, invocations: float) -> float:
        return evaluate(
            expression["Expression"], {by_name["Errors"]: errors, by_name["Invocations"]: invocations}
        )

    assert alarm["Threshold"] == INVOKE_ERROR_RATE_PERCENT
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert rate(6, 100) > alarm["Threshold"]
    assert not rate(5, 100) > alarm["Threshold"]
    assert alarm["EvaluationPeriods"] >= alarm["DatapointsToAlarm"] >= 1
    assert alarm["TreatMissingData"] == "notBreaching"
    _notifies_the_alarm_topic(stack, alarm)


def test_any_throttled_invocation_trips_the_throttle_alarm(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    alarm = _alarm(resources, _alarms(stack).invoke_throttles)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", "Throttles", "Sum")
    _of_invoke_function(stack, alarm["Dimensions"])
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["EvaluationPeriods"] == 1
    _notifies_the_alarm_topic(stack, alarm)


def test_one_message_in_the_upload_dead_letter_queue_trips_its_alarm(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    alarm = _alarm(resources, _alarms(stack).upload_dead_letters)
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [logical_id(stack.dead_letter_queue), "QueueName"]}}
    ]
    assert alarm["Statistic"] == "Maximum"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    _notifies_the_alarm_topic(stack, alarm)


def test_alarm_topic_is_encrypted_with_a_rotated_key_only_this_accounts_alarms_may_use(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    topic_id = logical_id(_alarms(stack).topic)
    (key_id,) = of_type(resources, "AWS::KMS::Key")
    assert resources[topic_id]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    own_account = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (cloudwatch_key_use,) = [
        s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert set(as_list(cloudwatch_key_use["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch_key_use["Condition"] == own_account

    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in of_type(resources, "AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )
    (publish,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert as_list(publish["Action"]) == ["sns:Publish"]
    assert publish["Condition"] == own_account


def test_alarm_email_is_subscribed_only_when_given(
    stack: ToolgateStack, resources: dict[str, Any], with_context: dict[str, Any]
) -> None:
    assert not of_type(resources, "AWS::SNS::Subscription")
    (subscription,) = of_type(with_context, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == ALARM_EMAIL
    assert subscription["Properties"]["TopicArn"] == {"Ref": logical_id(_alarms(stack).topic)}


@pytest.mark.parametrize("email", ["ops", "ops@example.com,dev@example.com", "ops @example.com"])
def test_a_malformed_alarm_email_is_refused_at_synth(tmp_path: Path, email: str) -> None:
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Alarms")
    function = lambda_.Function(
        stack,
        "Function",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
    )
    with pytest.raises(AlarmEmailError, match="toolgate:alarmEmail"):
        OperationsAlarms(
            stack,
            "Alarms",
            invoke_function=function,
            upload_dead_letter_queue=sqs.Queue(stack, "DeadLetters"),
            email=email,
        )


def test_without_alarms_nothing_but_storage_is_billed_at_rest(
    tmp_path: Path, resources: dict[str, Any]
) -> None:
    synthesized = synthesize(tmp_path, nag=False, context={"toolgate:alarms": "false"})
    assert synthesized.synth_error is None
    bare = cast(dict[str, Any], Template.from_stack(synthesized.stack).to_json()["Resources"])

    billed_at_rest = ("AWS::CloudWatch::Alarm", "AWS::KMS::Key", "AWS::SNS::Topic")
    assert all(of_type(resources, kind) for kind in billed_at_rest)
    assert not any(of_type(bare, kind) for kind in billed_at_rest)
    assert synthesized.stack.alarms is None
