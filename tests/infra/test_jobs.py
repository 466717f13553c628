"""Async jobs in the synthesized stack: the state machine's definition (read back from the template the way
the local stack and the moto tests read it), its paths and their cost in state transitions, its retries
and catches, its logs, the signing key, who may do what, and the keyless callback route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from annotated_types import Le
from aws_cdk.assertions import Template
from pydantic import BaseModel, ValidationError
from synth_helpers import (
    Synthesized,
    as_list,
    function_role_ids,
    logical_id,
    of_type,
    render,
    role_statements,
)
from toolgate.service.jobs.records import CALLBACK_TASK_GRACE_SECONDS, JobRecord, execution_input
from toolgate.service.jobs.terms import JobPattern, new_job_id
from toolgate.settings import CallbackSettings, InvokeSettings, JobSettings, RuntimeSettings

from infra.asl import DefinitionError, state_machine_definition
from infra.jobs import (
    CALLBACK_BASE_URL_VARIABLE,
    CALLBACK_HEARTBEAT_PATH,
    CALLBACK_TIMEOUT_PATH,
    LAMBDA_SERVICE_ERRORS,
    MACHINE_TIMEOUT,
    SIGNING_SECRET_ARN_VARIABLE,
    STATE_MACHINE_ARN_VARIABLE,
)
from infra.stack import ToolgateStack

JOBS_ARN = "arn:aws:lambda:eu-west-1:210987654321:function:toolgate-jobs"
REGION = "eu-west-1"
ACCOUNT = "210987654321"
LAMBDA_TASKS = {
    "Submit": "submit",
    "Poll": "poll",
    "AwaitCallback": "await_callback",
    "RecordFailure": "fail",
}
#: A task that raised instead of reporting a state, in the outcomes fed to `states_entered`.
RAISES = "raises"
#: Retrying these could run a submit twice: Lambda may have run the function (or the function failed).
NOT_SAFE_TO_RETRY_A_SUBMIT = {
    "States.ALL",
    "States.TaskFailed",
    "States.Timeout",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
}


@pytest.fixture(scope="module")
def asl(template: Template) -> dict[str, Any]:
    substitutions = {"jobs_function_arn": JOBS_ARN, "region": REGION, "account": ACCOUNT}
    return cast(dict[str, Any], json.loads(state_machine_definition(template.to_json(), substitutions)))


@pytest.fixture(scope="module")
def machine(stack: ToolgateStack, resources: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], resources[logical_id(stack.jobs.state_machine)]["Properties"])


def _task_states(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for name, state in asl["States"].items() if state["Type"] == "Task"}


def _retried_errors(state: dict[str, Any]) -> set[str]:
    return {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]}


def _lookup(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for key in path.removeprefix("$.").split("."):
        value = value[key]
    return value


def states_entered(asl: dict[str, Any], pattern: str, outcomes: list[str]) -> list[str]:
    """The states an execution enters (each one a billed transition), retries aside.

    Each task that writes `$.outcome` takes the next of `outcomes`: the state it reports, or `RAISES` to
    fail the task into its catch. Choices are evaluated on the execution's data as Step Functions would.
    """
    data: dict[str, Any] = {"tenant_id": "acme", "job_id": "job_1", "pattern": pattern}
    reports: Iterator[str] = iter(outcomes)
    name = asl["StartAt"]
    entered: list[str] = []
    while True:
        entered.append(name)
        state = asl["States"][name]
        if state["Type"] in {"Succeed", "Fail"}:
            assert next(reports, None) is None, "outcomes left over"
            return entered
        if state["Type"] == "Choice":
            matching = [
                choice["Next"]
                for choice in state["Choices"]
                if set(choice) == {"Variable", "StringEquals", "Next"}
                and _lookup(data, choice["Variable"]) == choice["StringEquals"]
            ]
            name = matching[0] if matching else state["Default"]
            continue
        if state["Type"] == "Task" and state.get("ResultPath") == "$.outcome":
            report = next(reports)
            if report == RAISES:
                (catcher,) = state["Catch"]
                error = {"Error": "Boom", "Cause": "test"}
                if catcher["ResultPath"] == "$":
                    data = error
                else:
                    data[catcher["ResultPath"].removeprefix("$.")] = error
                name = catcher["Next"]
                continue
            data["outcome"] = {"state": report, "wait_seconds": 0}
        name = state["Next"]


# --- The definition --------------------------------------------------------------------------------


def test_definition_has_exactly_the_designed_states(asl: dict[str, Any]) -> None:
    assert asl["StartAt"] == "Pattern"
    assert {name: state["Type"] for name, state in asl["States"].items()} == {
        "Pattern": "Choice",
        "Submit": "Task",
        "Running?": "Choice",
        "WaitForStatus": "Wait",
        "Poll": "Task",
        "AwaitCallback": "Task",
        "RecordFailure": "Task",
        "EmitCompleted": "Task",
        "Finished?": "Choice",
        "JobSucceeded": "Succeed",
        "JobFailed": "Fail",
    }


def test_every_transition_names_a_state_and_every_state_is_reachable(asl: dict[str, Any]) -> None:
    states = asl["States"]
    edges: dict[str, set[str]] = {}
    for name, state in states.items():
        targets = {state[key] for key in ("Next", "Default") if key in state}
        targets |= {choice["Next"] for choice in state.get("Choices", [])}
        targets |= {catcher["Next"] for catcher in state.get("Catch", [])}
        assert targets <= set(states), name
        edges[name] = targets
    reached, pending = set(), [asl["StartAt"]]
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending.extend(edges[name])
    assert reached == set(states)


def test_tasks_invoke_the_jobs_function_with_their_action_and_the_job_only(asl: dict[str, Any]) -> None:
    tasks = _task_states(asl)
    for name, action in LAMBDA_TASKS.items():
        parameters = tasks[name]["Parameters"]
        assert parameters["FunctionName"] == JOBS_ARN, name
        payload = parameters["Payload"]
        assert payload["action"] == action, name
        assert payload["tenant_id.$"] == "$.tenant_id"
        assert payload["job_id.$"] == "$.job_id"
    for name in ("Submit", "Poll", "RecordFailure"):
        assert tasks[name]["Resource"] == "arn:aws:states:::lambda:invoke", name
    assert set(tasks["Submit"]["Parameters"]["Payload"]) == {"action", "tenant_id.$", "job_id.$"}
    assert tasks["RecordFailure"]["Parameters"]["Payload"]["error.$"] == "$.error"


def test_status_tasks_keep_only_state_and_wait_seconds_under_outcome(asl: dict[str, Any]) -> None:
    for name in ("Submit", "Poll"):
        state = asl["States"][name]
        assert state["ResultPath"] == "$.outcome", name
        assert state["ResultSelector"] == {
            "state.$": "$.Payload.state",
            "wait_seconds.$": "$.Payload.wait_seconds",
        }, name
    assert asl["States"]["RecordFailure"]["ResultSelector"] == {"state.$": "$.Payload.state"}
    assert asl["States"]["WaitForStatus"] == {
        "Type": "Wait",
        "SecondsPath": "$.outcome.wait_seconds",
        "Next": "Poll",
    }


def test_poll_job_submits_then_waits_and_polls_until_the_status_is_final(asl: dict[str, Any]) -> None:
    assert states_entered(asl, "poll", ["running", "running", "succeeded"]) == [
        "Pattern",
        "Submit",
        "Running?",
        "WaitForStatus",
        "Poll",
        "Running?",
        "WaitForStatus",
        "Poll",
        "Running?",
        "EmitCompleted",
        "Finished?",
        "JobSucceeded",
    ]


def test_a_target_that_finishes_at_once_is_never_polled(asl: dict[str, Any]) -> None:
    entered = states_entered(asl, "poll", ["succeeded"])
    assert "Poll" not in entered
    assert entered[-1] == "JobSucceeded"


@pytest.mark.parametrize("polls", [0, 1, 5, 63])
def test_poll_jobs_cost_six_transitions_plus_three_per_poll(asl: dict[str, Any], polls: int) -> None:
    """The figures docs/async.md prices: Wait, Poll and the Running? choice per poll."""
    outcomes = ["running"] * polls + ["succeeded"]
    assert len(states_entered(asl, "poll", outcomes)) == 6 + 3 * polls


def test_callback_job_waits_once_and_costs_five_transitions(asl: dict[str, Any]) -> None:
    assert states_entered(asl, "callback", ["succeeded"]) == [
        "Pattern",
        "AwaitCallback",
        "EmitCompleted",
        "Finished?",
        "JobSucceeded",
    ]


@pytest.mark.parametrize(
    ("pattern", "outcomes"),
    [
        ("poll", ["failed"]),
        ("poll", ["running", "failed"]),
        ("callback", ["failed"]),
    ],
)
def test_a_job_that_reports_failure_ends_the_execution_failed_after_its_event(
    asl: dict[str, Any], pattern: str, outcomes: list[str]
) -> None:
    entered = states_entered(asl, pattern, outcomes)
    assert entered[-3:] == ["EmitCompleted", "Finished?", "JobFailed"]
    assert "RecordFailure" not in entered


@pytest.mark.parametrize(
    ("pattern", "outcomes", "failing_task"),
    [
        ("poll", [RAISES, "failed"], "Submit"),
        ("poll", ["running", RAISES, "failed"], "Poll"),
        ("callback", [RAISES, "failed"], "AwaitCallback"),
    ],
)
def test_a_task_that_fails_is_recorded_as_a_failed_job_and_still_emits_its_event(
    asl: dict[str, Any], pattern: str, outcomes: list[str], failing_task: str
) -> None:
    entered = states_entered(asl, pattern, outcomes)
    position = entered.index(failing_task)
    assert entered[position + 1 :] == ["RecordFailure", "Running?", "EmitCompleted", "Finished?", "JobFailed"]


def test_a_failure_that_cannot_be_recorded_fails_the_execution(asl: dict[str, Any]) -> None:
    assert states_entered(asl, "poll", [RAISES, RAISES])[-2:] == ["RecordFailure", "JobFailed"]


def test_a_lost_completion_event_does_not_change_how_the_execution_ends(asl: dict[str, Any]) -> None:
    emit = asl["States"]["EmitCompleted"]
    (catcher,) = emit["Catch"]
    assert catcher["ErrorEquals"] == ["States.ALL"]
    assert catcher["Next"] == "Finished?"
    # The catch keeps the input, so Finished? still reads $.outcome.state.
    assert catcher["ResultPath"] not in {"$", None}
    assert not catcher["ResultPath"].startswith("$.outcome")
    assert emit["ResultPath"] is None


# --- Retries and catches -------------------------------------------------------------------------


def test_every_task_has_a_bounded_retry_and_catches_every_error(asl: dict[str, Any]) -> None:
    for name, state in _task_states(asl).items():
        assert state["Retry"], name
        for retrier in state["Retry"]:
            assert 1 <= retrier["MaxAttempts"] <= 3, name
            assert retrier["IntervalSeconds"] >= 1, name
        assert [catcher["ErrorEquals"] for catcher in state["Catch"]] == [["States.ALL"]], name


def test_submit_is_retried_only_when_lambda_did_not_run_it(asl: dict[str, Any]) -> None:
    retried = _retried_errors(asl["States"]["Submit"])
    assert retried == set(LAMBDA_SERVICE_ERRORS)
    assert not retried & NOT_SAFE_TO_RETRY_A_SUBMIT


def test_callback_task_is_retried_only_when_lambda_did_not_run_it(asl: dict[str, Any]) -> None:
    retried = _retried_errors(asl["States"]["AwaitCallback"])
    assert retried == set(LAMBDA_SERVICE_ERRORS)
    assert not retried & NOT_SAFE_TO_RETRY_A_SUBMIT


def test_a_poll_is_a_read_and_is_retried_when_the_function_failed(asl: dict[str, Any]) -> None:
    retried = _retried_errors(asl["States"]["Poll"])
    assert set(LAMBDA_SERVICE_ERRORS) <= retried
    assert {"StoreUnavailableError", "States.TaskFailed"} <= retried


def test_failures_reach_the_record_with_the_error_under_error(asl: dict[str, Any]) -> None:
    for name in ("Submit", "Poll", "AwaitCallback"):
        (catcher,) = asl["States"][name]["Catch"]
        assert (catcher["Next"], catcher["ResultPath"]) == ("RecordFailure", "$.error"), name
    (catcher,) = asl["States"]["RecordFailure"]["Catch"]
    assert catcher["Next"] == "JobFailed"


# --- The callback task ---------------------------------------------------------------------------


def test_silent_targets_are_cut_off_only_by_a_heartbeat_their_operation_opted_into(
    asl: dict[str, Any],
) -> None:
    """One machine serves both: the waiting task's heartbeat and timeout come from the execution's input,
    never a fixed heartbeat that would cut off every target that sends no progress reports."""
    task = asl["States"]["AwaitCallback"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert (task["HeartbeatSecondsPath"], task["TimeoutSecondsPath"]) == (
        CALLBACK_HEARTBEAT_PATH,
        CALLBACK_TIMEOUT_PATH,
    )
    assert "HeartbeatSeconds" not in task and "TimeoutSeconds" not in task
    assert task["ResultPath"] == "$.outcome"
    assert "ResultSelector" not in task
    silent = execution_input("acme", _callback_job(heartbeat_seconds=None))
    chatty = execution_input("acme", _callback_job(heartbeat_seconds=600))
    lifetime = JobSettings().callback_ttl_seconds
    assert _lookup(silent, CALLBACK_HEARTBEAT_PATH) == lifetime
    assert _lookup(chatty, CALLBACK_HEARTBEAT_PATH) == 600
    for payload in (silent, chatty):
        assert 0 < _lookup(payload, CALLBACK_HEARTBEAT_PATH) < _lookup(payload, CALLBACK_TIMEOUT_PATH)
        assert _lookup(payload, CALLBACK_TIMEOUT_PATH) < asl["TimeoutSeconds"]


def _callback_job(*, heartbeat_seconds: int | None, ttl: int | None = None) -> JobRecord:
    """A callback job as the launcher writes it."""
    lifetime = ttl or JobSettings().callback_ttl_seconds
    now = datetime(2030, 1, 1, tzinfo=UTC)
    return JobRecord(
        job_id=new_job_id(),
        assistant_id="desk",
        tool="generate_case_report",
        integration_id="support",
        revision="rev-1",
        pattern=JobPattern.CALLBACK,
        created_at=now,
        updated_at=now,
        deadline_at=now + timedelta(seconds=lifetime),
        expires_at=now + timedelta(seconds=lifetime + 86_400),
        execution_arn="arn:aws:states:eu-west-1:1:execution:jobs:x",
        heartbeat_seconds=heartbeat_seconds,
    )


def test_the_task_token_is_handed_to_the_jobs_function_only(asl: dict[str, Any]) -> None:
    elsewhere = {name: state for name, state in asl["States"].items() if name != "AwaitCallback"}
    assert "Task.Token" not in json.dumps(elsewhere)
    payload = asl["States"]["AwaitCallback"]["Parameters"]["Payload"]
    assert [key for key, value in payload.items() if "Task.Token" in str(value)] == ["task_token.$"]


@pytest.mark.parametrize("ttl", [60, 3600, 86_400])
def test_callback_task_never_waits_past_its_urls_expiry_by_more_than_the_grace(ttl: int) -> None:
    """The callback URL's lifetime (JobSettings) is the one source of the waiting task's timeout; an
    opt-in heartbeat longer than the URL lives is cut to it."""
    payload = execution_input("acme", _callback_job(heartbeat_seconds=10 * ttl, ttl=ttl))
    assert _lookup(payload, CALLBACK_TIMEOUT_PATH) == ttl + CALLBACK_TASK_GRACE_SECONDS
    assert _lookup(payload, CALLBACK_HEARTBEAT_PATH) == ttl


@pytest.mark.parametrize("field", ["max_job_seconds", "callback_ttl_seconds"])
def test_no_job_may_be_configured_to_outlive_the_machine_timeout(field: str) -> None:
    with pytest.raises(ValidationError):
        JobSettings.model_validate({field: MACHINE_TIMEOUT.to_seconds()})
    longest = _largest_allowed(JobSettings, field)
    assert longest + CALLBACK_TASK_GRACE_SECONDS < MACHINE_TIMEOUT.to_seconds()


def _largest_allowed(settings: type[BaseModel], field: str) -> int:
    (bound,) = [rule.le for rule in settings.model_fields[field].metadata if isinstance(rule, Le)]
    assert isinstance(bound, int)
    return bound


def test_kept_job_results_are_never_deleted_while_the_job_is_still_readable(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    """S3 deletes kept results (tagged) after the lifecycle rule's days; no job retention, nor any
    continuation lifetime, that the settings accept may outlast it."""
    rules = resources[logical_id(stack.bucket)]["Properties"]["LifecycleConfiguration"]["Rules"]
    (kept,) = [rule for rule in rules if "TagFilters" in rule]
    kept_seconds = kept["ExpirationInDays"] * 86_400
    assert kept["NoncurrentVersionExpiration"] == {"NoncurrentDays": kept["ExpirationInDays"]}
    assert _largest_allowed(JobSettings, "retention_seconds") <= kept_seconds
    assert _largest_allowed(InvokeSettings, "continuation_ttl_seconds") <= kept_seconds
    with pytest.raises(ValidationError):
        JobSettings(retention_seconds=kept_seconds + 1)


# --- Completion event ----------------------------------------------------------------------------


def test_completion_event_names_the_job_and_its_state_only_on_the_default_bus(asl: dict[str, Any]) -> None:
    emit = asl["States"]["EmitCompleted"]
    assert emit["Resource"] == "arn:aws:states:::events:putEvents"
    (entry,) = emit["Parameters"]["Entries"]
    assert entry["Source"] == "toolgate.jobs"
    assert entry["DetailType"] == "Toolgate Job Completed"
    assert entry["EventBusName"] == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    assert entry["Detail"] == {
        "tenant_id.$": "$.tenant_id",
        "job_id.$": "$.job_id",
        "state.$": "$.outcome.state",
    }


# --- The state machine resource ------------------------------------------------------------------


def test_machine_is_standard_with_a_backstop_timeout_above_the_callback_timeout(
    machine: dict[str, Any], asl: dict[str, Any]
) -> None:
    # Express workflows cannot wait for a task token, nor run longer than five minutes.
    assert machine["StateMachineType"] == "STANDARD"
    assert asl["TimeoutSeconds"] == MACHINE_TIMEOUT.to_seconds() == 26 * 3600


def test_machine_logs_every_event_but_never_execution_data_and_is_traced(
    stack: ToolgateStack, machine: dict[str, Any], resources: dict[str, Any]
) -> None:
    logging = machine["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    # Inputs, outputs and task tokens stay out of the logs.
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    log_group_id = logical_id(stack.jobs.log_group)
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    log_group = resources[log_group_id]["Properties"]
    assert log_group["LogGroupName"].startswith("/aws/vendedlogs/states/")
    assert log_group["RetentionInDays"] > 0
    assert machine["TracingConfiguration"] == {"Enabled": True}


def test_machine_role_may_invoke_only_the_jobs_alias_and_put_events_on_the_default_bus(
    stack: ToolgateStack, resources: dict[str, Any], machine: dict[str, Any]
) -> None:
    role_id = machine["RoleArn"]["Fn::GetAtt"][0]
    jobs = logical_id(stack.live_aliases["jobs"])
    granted: dict[str, set[str]] = {}
    for statement in role_statements(resources, role_id):
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(render(r) for r in as_list(statement["Resource"]))
    # The jobs function's live alias only, not the function's other versions.
    assert granted.pop("lambda:InvokeFunction") == {f"${{{jobs}}}"}
    assert granted.pop("events:PutEvents") == {
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"
    }
    # What is left is log delivery and X-Ray, which take no resource.
    assert {action.split(":")[0] for action in granted} <= {"logs", "xray"}
    assert all(resources_ == {"*"} for resources_ in granted.values())


# --- Who may do what -----------------------------------------------------------------------------


def _statements_with(resources: dict[str, Any], role_id: str, prefix: str) -> list[dict[str, Any]]:
    return [
        statement
        for statement in role_statements(resources, role_id)
        if any(action.startswith(prefix) for action in as_list(statement["Action"]))
    ]


def test_only_the_jobs_and_callback_roles_may_read_the_signing_key(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    key = {"Ref": logical_id(stack.jobs.signing_key)}

    def reads_key(document: dict[str, Any]) -> bool:
        return any(
            statement["Effect"] == "Allow"
            and {"secretsmanager:GetSecretValue", "secretsmanager:*"} & set(as_list(statement["Action"]))
            and key in as_list(statement["Resource"])
            for statement in document["Statement"]
        )

    readers: set[str] = set()
    for role_id, role in of_type(resources, "AWS::IAM::Role").items():
        if any(reads_key(policy["PolicyDocument"]) for policy in role["Properties"].get("Policies", [])):
            readers.add(role_id)
    for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy_id, policy in of_type(resources, policy_type).items():
            properties = policy["Properties"]
            if reads_key(properties["PolicyDocument"]):
                assert not properties.get("Users") and not properties.get("Groups"), policy_id
                readers |= {role["Ref"] for role in properties.get("Roles", [])}
    function_roles = function_role_ids(stack)
    assert readers == {function_roles["jobs"], function_roles["callback"]}
    # No resource policy on the secret widens that.
    assert not of_type(resources, "AWS::SecretsManager::ResourcePolicy")


def test_signing_key_is_generated_by_cloudformation_outside_the_tenant_secret_path(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    secret = resources[logical_id(stack.jobs.signing_key)]["Properties"]
    # The value never appears in the template; CloudFormation generates it in the account.
    assert "SecretString" not in secret
    generated = secret["GenerateSecretString"]
    assert generated["PasswordLength"] >= 32
    assert generated["ExcludePunctuation"] is True
    # Tenant sessions read `toolgate/tenants/{tenant}/...`; the key must never be named there.
    assert not str(secret.get("Name", "")).startswith("toolgate/tenants")


def test_invoke_role_may_start_and_cancel_jobs_executions_only(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    machine_id = logical_id(stack.jobs.state_machine)
    statements = _statements_with(resources, function_role_ids(stack)["invoke"], "states:")
    granted = {
        action: [render(r) for r in as_list(statement["Resource"])]
        for statement in statements
        for action in as_list(statement["Action"])
    }
    executions = (
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
        f"${{{machine_id}.Name}}:*"
    )
    assert granted == {
        "states:StartExecution": [f"${{{machine_id}}}"],
        "states:DescribeExecution": [executions],
        "states:StopExecution": [executions],
    }


@pytest.mark.parametrize(
    ("function", "actions"),
    [
        ("jobs", {"states:SendTaskSuccess"}),
        ("callback", {"states:SendTaskSuccess", "states:SendTaskHeartbeat"}),
    ],
)
def test_task_token_holders_may_only_answer_tasks_of_the_jobs_machine(
    stack: ToolgateStack, resources: dict[str, Any], function: str, actions: set[str]
) -> None:
    statements = _statements_with(resources, function_role_ids(stack)[function], "states:")
    assert {action for s in statements for action in as_list(s["Action"])} == actions
    for statement in statements:
        assert as_list(statement["Resource"]) == [{"Ref": logical_id(stack.jobs.state_machine)}]


@pytest.mark.parametrize("function", ["api", "authorizer", "upload"])
def test_other_functions_cannot_touch_jobs_executions_or_tasks(
    stack: ToolgateStack, resources: dict[str, Any], function: str
) -> None:
    assert not _statements_with(resources, function_role_ids(stack)[function], "states:")


# --- Functions, environment, outputs -------------------------------------------------------------


@pytest.fixture(scope="module")
def variables(stack: ToolgateStack, resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    functions = {
        "invoke": stack.invoke_function,
        "jobs": stack.jobs_function,
        "callback": stack.callback_function,
    }
    return {
        name: resources[logical_id(function)]["Properties"]["Environment"]["Variables"]
        for name, function in functions.items()
    }


def test_invoke_function_is_told_the_state_machine_it_starts(
    stack: ToolgateStack, variables: dict[str, dict[str, Any]]
) -> None:
    assert variables["invoke"][STATE_MACHINE_ARN_VARIABLE] == {"Ref": logical_id(stack.jobs.state_machine)}
    assert SIGNING_SECRET_ARN_VARIABLE not in variables["invoke"]


@pytest.mark.parametrize("function", ["jobs", "callback"])
def test_callback_functions_get_the_signing_key_and_the_stage_url_built_from_the_api_id(
    stack: ToolgateStack, resources: dict[str, Any], variables: dict[str, dict[str, Any]], function: str
) -> None:
    variables_ = variables[function]
    assert variables_[SIGNING_SECRET_ARN_VARIABLE] == {"Ref": logical_id(stack.jobs.signing_key)}
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    # The API's id and the stage's name, never a reference to the stage or deployment (a cycle).
    assert render(variables_[CALLBACK_BASE_URL_VARIABLE]) == (
        f"https://${{{logical_id(stack.api)}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/"
        f"{stage['Properties']['StageName']}"
    )


@pytest.mark.parametrize(
    ("variable", "settings", "field"),
    [
        (STATE_MACHINE_ARN_VARIABLE, JobSettings, "state_machine_arn"),
        (CALLBACK_BASE_URL_VARIABLE, CallbackSettings, "base_url"),
        (SIGNING_SECRET_ARN_VARIABLE, CallbackSettings, "signing_secret_arn"),
    ],
)
def test_the_stack_sets_the_variables_the_settings_read(
    monkeypatch: pytest.MonkeyPatch, variable: str, settings: type[Any], field: str
) -> None:
    monkeypatch.setenv(CALLBACK_BASE_URL_VARIABLE, "https://abc.execute-api.eu-west-1.amazonaws.com/prod")
    monkeypatch.setenv(SIGNING_SECRET_ARN_VARIABLE, "arn:aws:secretsmanager:eu-west-1:1:secret:k")
    monkeypatch.setenv(variable, "value-from-the-stack")
    assert getattr(settings(), field) == "value-from-the-stack"


def test_jobs_function_outlasts_one_target_call_and_callbacks_answer_within_api_gateway(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    jobs = resources[logical_id(stack.jobs_function)]["Properties"]
    callback = resources[logical_id(stack.callback_function)]["Properties"]
    assert jobs["Timeout"] > RuntimeSettings().default_timeout_seconds + 10
    assert callback["Timeout"] <= 29


def test_state_machine_arn_is_a_stack_output(stack: ToolgateStack, template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    assert outputs["JobsStateMachineArn"]["Value"] == {"Ref": logical_id(stack.jobs.state_machine)}


# --- The callback route --------------------------------------------------------------------------


def test_only_the_callback_and_oauth_discovery_routes_are_keyless(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    api_resources = of_type(resources, "AWS::ApiGateway::Resource")

    def path_of(method: dict[str, Any]) -> str:
        path: list[str] = []
        parent: Any = method["ResourceId"]
        while "Ref" in parent:
            properties = api_resources[parent["Ref"]]["Properties"]
            path.insert(0, properties["PathPart"])
            parent = properties["ParentId"]
        return "/".join(path)

    keyless = {
        path_of(method["Properties"]): method["Properties"]
        for method in of_type(resources, "AWS::ApiGateway::Method").values()
        if method["Properties"]["AuthorizationType"] != "CUSTOM"
    }
    assert set(keyless) == {"v1/callbacks/{callback_id}", ".well-known/{proxy+}"}
    callback, discovery = keyless["v1/callbacks/{callback_id}"], keyless[".well-known/{proxy+}"]
    for method in (callback, discovery):
        assert method["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in method
    assert callback["HttpMethod"] == "POST"
    assert f"${{{logical_id(stack.live_aliases['callback'])}}}" in render(callback["Integration"]["Uri"])
    # OAuth discovery only reads: the MCP function answers it 404 before reading any tenant.
    assert discovery["HttpMethod"] == "GET"
    assert f"${{{logical_id(stack.live_aliases['mcp'])}}}" in render(discovery["Integration"]["Uri"])


def test_api_gateway_may_invoke_the_callback_alias_only_from_this_api(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    function_arn = {"Ref": logical_id(stack.live_aliases["callback"])}
    permissions = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == function_arn
    ]
    assert permissions
    for permission in permissions:
        assert permission["Principal"] == "apigateway.amazonaws.com"
        source = render(permission["SourceArn"])
        assert f"${{{logical_id(stack.api)}}}/" in source
        assert source.endswith("/POST/v1/callbacks/*")


# --- Reading the definition back -----------------------------------------------------------------


def test_definition_read_from_the_cdk_out_file_is_the_one_synthesized(
    synthesized: Synthesized, template: Template
) -> None:
    template_file = synthesized.outdir / f"{synthesized.stack.artifact_id}.template.json"
    substitutions = {"jobs_function_arn": JOBS_ARN}
    from_file = state_machine_definition(json.loads(template_file.read_text()), substitutions)
    assert from_file == state_machine_definition(template.to_json(), substitutions)
    assert "Fn::" not in from_file
    assert '"Ref"' not in from_file


def test_definition_defaults_to_the_aws_partition_us_east_1_and_a_test_account(template: Template) -> None:
    definition = json.loads(state_machine_definition(template.to_json(), {"jobs_function_arn": JOBS_ARN}))
    (entry,) = definition["States"]["EmitCompleted"]["Parameters"]["Entries"]
    assert entry["EventBusName"] == "arn:aws:events:us-east-1:123456789012:event-bus/default"


def test_definition_needs_the_jobs_function_arn(template: Template) -> None:
    with pytest.raises(DefinitionError, match="jobs_function_arn"):
        state_machine_definition(template.to_json(), {"region": REGION})


def test_a_template_without_exactly_one_state_machine_is_refused(template: Template) -> None:
    without = {
        "Resources": {
            k: v for k, v in template.to_json()["Resources"].items() if "StateMachine" not in v["Type"]
        }
    }
    with pytest.raises(DefinitionError, match="found 0"):
        state_machine_definition(without, {"jobs_function_arn": JOBS_ARN})


def test_a_token_without_a_substitution_is_refused_rather_than_left_in(template: Template) -> None:
    copied = json.loads(json.dumps(template.to_json()))
    (machine_,) = [r for r in copied["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    separator, parts = machine_["Properties"]["DefinitionString"]["Fn::Join"]
    machine_["Properties"]["DefinitionString"] = {
        "Fn::Join": [separator, [*parts[:-1], {"Ref": "SomeBucket"}, parts[-1]]]
    }
    with pytest.raises(DefinitionError, match="SomeBucket"):
        state_machine_definition(copied, {"jobs_function_arn": JOBS_ARN})
