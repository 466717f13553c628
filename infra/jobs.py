"""Async jobs: the Standard state machine that runs a long tool call, and the callback signing key.

An async tool call starts one execution (`name` = the job id). Poll-style jobs submit, then wait and poll
until the job is final; callback-style jobs hand the target a signed callback URL and wait for it. Every
task invokes the `jobs` function; the job row it keeps in the table is the record, the execution only
sequences the work. See docs/async.md for the transitions each path costs.

Execution logs carry state names and timings only (`include_execution_data=False`): arguments, results
and task tokens never reach them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from aws_cdk import Acknowledgment, Aws, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct, IConstruct

#: The waiting callback task reads its heartbeat and timeout from the execution's input, which the invoke
#: function writes from the job (`toolgate.service.jobs.records.execution_input`): an operation's opt-in
#: `heartbeatSeconds`, and the callback URL's lifetime (`JobSettings.callback_ttl_seconds`, at most a day).
CALLBACK_HEARTBEAT_PATH = "$.heartbeat_seconds"
CALLBACK_TIMEOUT_PATH = "$.timeout_seconds"
#: Backstop for the whole execution: the longest callback wait plus room for the tasks and retries around
#: it. Poll-style jobs end much sooner: the poll task enforces the job's own time limit (JobSettings).
MACHINE_TIMEOUT = Duration.hours(26)

STATE_MACHINE_ARN_VARIABLE = "TOOLGATE_JOBS_STATE_MACHINE_ARN"
CALLBACK_BASE_URL_VARIABLE = "TOOLGATE_CALLBACK_BASE_URL"
SIGNING_SECRET_ARN_VARIABLE = "TOOLGATE_CALLBACK_SIGNING_SECRET_ARN"  # noqa: S105 - a variable name

EVENT_SOURCE = "toolgate.jobs"
COMPLETED_DETAIL_TYPE = "Toolgate Job Completed"

#: Lambda's own failures to run the function: it did not run, so any task may retry them. A function
#: error or a client-side timeout (the function may have run) is not among them.
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
#: A poll is a GET of the job's status: retrying it after the function failed is safe.
POLL_RETRY_ERRORS = ["StoreUnavailableError", "States.TaskFailed"]
RETRY_INTERVAL = Duration.seconds(2)
RETRY_ATTEMPTS = 3
RETRY_BACKOFF = 2

#: The signing key's length in characters ([A-Za-z0-9], about 381 bits); its UTF-8 bytes are the key.
SIGNING_KEY_CHARS = 64


def callback_base_url(api: apigw.IRestApi, stage_name: str) -> str:
    """The API's stage URL, built from the API's id alone.

    `api.url` names the stage, which follows the deployment and so every method. The job methods name
    the invoke function, which names the state machine, which names the jobs function that gets this
    URL: a dependency cycle.
    """
    return f"https://{api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{stage_name}"


def _acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def _retry(task: sfn.TaskStateBase, errors: list[str]) -> None:
    task.add_retry(
        errors=errors, interval=RETRY_INTERVAL, max_attempts=RETRY_ATTEMPTS, backoff_rate=RETRY_BACKOFF
    )


def _role_of(function: lambda_.IFunction) -> iam.IRole:
    role = function.role
    if role is None:
        raise ValueError(f"{function.node.path} has no execution role")
    return role


class AsyncJobs(Construct):
    """The jobs state machine, its logs, the callback signing key, and what the three functions may do.

    - `invoke` starts executions, and describes and stops them (job status, cancel);
    - `jobs` runs every task, reads the signing key, and completes its own callback task on a failure
      before the target accepted the job;
    - `callback` reads the signing key and completes or extends the waiting callback task.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        jobs_function: lambda_.Function,
        jobs_entry: lambda_.IFunction,
        callback_function: lambda_.Function,
        invoke_functions: Sequence[lambda_.Function],
    ) -> None:
        """`jobs_entry` is what the tasks invoke: the jobs function's `live` alias (`ToolgateStack`)."""
        super().__init__(scope, construct_id)
        self.signing_key = self._signing_key()
        self.log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            # Step Functions delivers to `/aws/vendedlogs/` groups without growing the account's single
            # CloudWatch Logs resource policy. The name is fixed, so the group goes with the stack.
            log_group_name=f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-jobs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="Toolgate async jobs: submit then poll, or wait for a signed callback.",
            definition_body=sfn.DefinitionBody.from_chainable(self._definition(jobs_entry)),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=MACHINE_TIMEOUT,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            tracing_enabled=True,
        )
        # CDK orders the machine after its role with DependsOn, which the role's GetAtt already implies.
        cast(sfn.CfnStateMachine, self.state_machine.node.default_child).add_metadata(
            "cfn-lint", {"config": {"ignore_checks": ["W3005"]}}
        )

        for function in (jobs_function, callback_function):
            self._read_signing_key(function)
        for invoke_function in invoke_functions:
            self.state_machine.grant_start_execution(invoke_function)
            _role_of(invoke_function).add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadAndStopJobExecutions",
                    actions=["states:DescribeExecution", "states:StopExecution"],
                    resources=[self.execution_arns],
                )
            )
            invoke_function.add_environment(STATE_MACHINE_ARN_VARIABLE, self.state_machine.state_machine_arn)
        _role_of(callback_function).add_to_principal_policy(
            iam.PolicyStatement(
                sid="CompleteWaitingCallbacks",
                actions=["states:SendTaskSuccess", "states:SendTaskHeartbeat"],
                resources=[self.state_machine.state_machine_arn],
            )
        )
        # Not on the jobs role's default policy: the function waits for that policy, and the state
        # machine, named here, waits for the function (its tasks name it). A policy of its own breaks
        # the cycle.
        iam.Policy(
            self,
            "JobsTaskTokenPolicy",
            roles=[_role_of(jobs_function)],
            statements=[
                iam.PolicyStatement(
                    sid="FailOwnCallbackTask",
                    actions=["states:SendTaskSuccess"],
                    resources=[self.state_machine.state_machine_arn],
                )
            ],
        )
        self._acknowledge_reviewed_findings(invoke_functions)

    @property
    def execution_arns(self) -> str:
        """Every execution of the state machine (their names are job ids)."""
        return (
            f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:execution:"
            f"{self.state_machine.state_machine_name}:*"
        )

    def _signing_key(self) -> secretsmanager.Secret:
        key = secretsmanager.Secret(
            self,
            "CallbackSigningKey",
            description="Toolgate: master key of the HMAC that signs async-job callback URLs.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=SIGNING_KEY_CHARS, exclude_punctuation=True, include_space=False
            ),
        )
        _acknowledge(
            key,
            "AwsSolutions-SMG4",
            "Not rotated automatically: a new key invalidates every callback URL a target still holds, "
            "failing its job. Rotate it when no callback job is waiting (docs/deploy.md, Async jobs).",
        )
        return key

    def _read_signing_key(self, function: lambda_.Function) -> None:
        _role_of(function).add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadCallbackSigningKey",
                actions=["secretsmanager:GetSecretValue"],
                resources=[self.signing_key.secret_arn],
            )
        )
        function.add_environment(SIGNING_SECRET_ARN_VARIABLE, self.signing_key.secret_arn)

    # --- The definition ------------------------------------------------------------------------

    def _definition(self, jobs_function: lambda_.IFunction) -> sfn.IChainable:
        job = {
            "tenant_id": sfn.JsonPath.string_at("$.tenant_id"),
            "job_id": sfn.JsonPath.string_at("$.job_id"),
        }
        status_outcome = {
            "state": sfn.JsonPath.string_at("$.Payload.state"),
            "wait_seconds": sfn.JsonPath.number_at("$.Payload.wait_seconds"),
        }

        submit = tasks.LambdaInvoke(
            self,
            "Submit",
            lambda_function=jobs_function,
            payload=sfn.TaskInput.from_object({"action": "submit", **job}),
            payload_response_only=False,
            retry_on_service_exceptions=False,
            result_selector=status_outcome,
            result_path="$.outcome",
        )
        # Only Lambda's own failures: a submit that ran may have created the job at the target.
        _retry(submit, LAMBDA_SERVICE_ERRORS)

        poll = tasks.LambdaInvoke(
            self,
            "Poll",
            lambda_function=jobs_function,
            payload=sfn.TaskInput.from_object({"action": "poll", **job}),
            payload_response_only=False,
            retry_on_service_exceptions=False,
            result_selector=status_outcome,
            result_path="$.outcome",
        )
        _retry(poll, LAMBDA_SERVICE_ERRORS)
        _retry(poll, POLL_RETRY_ERRORS)

        await_callback = tasks.LambdaInvoke(
            self,
            "AwaitCallback",
            lambda_function=jobs_function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {"action": "await_callback", **job, "task_token": sfn.JsonPath.task_token}
            ),
            retry_on_service_exceptions=False,
            # From the input, so that one machine serves operations with and without a heartbeat.
            heartbeat_timeout=sfn.Timeout.at(CALLBACK_HEARTBEAT_PATH),
            task_timeout=sfn.Timeout.at(CALLBACK_TIMEOUT_PATH),
            # The output is what SendTaskSuccess sent: {"state": "succeeded" | "failed"}.
            result_path="$.outcome",
        )
        _retry(await_callback, LAMBDA_SERVICE_ERRORS)

        record_failure = tasks.LambdaInvoke(
            self,
            "RecordFailure",
            lambda_function=jobs_function,
            payload=sfn.TaskInput.from_object(
                {"action": "fail", **job, "error": sfn.JsonPath.object_at("$.error")}
            ),
            payload_response_only=False,
            retry_on_service_exceptions=False,
            result_selector={"state": sfn.JsonPath.string_at("$.Payload.state")},
            result_path="$.outcome",
        )
        # Recording a failure is idempotent: the row ends failed with the same code however often.
        _retry(record_failure, ["States.ALL"])

        emit_completed = tasks.EventBridgePutEvents(
            self,
            "EmitCompleted",
            entries=[
                tasks.EventBridgePutEventsEntry(
                    source=EVENT_SOURCE,
                    detail_type=COMPLETED_DETAIL_TYPE,
                    detail=sfn.TaskInput.from_object(
                        {**job, "state": sfn.JsonPath.string_at("$.outcome.state")}
                    ),
                    event_bus=events.EventBus.from_event_bus_name(self, "DefaultBus", "default"),
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        _retry(emit_completed, ["States.ALL"])

        job_succeeded = sfn.Succeed(self, "JobSucceeded")
        job_failed = sfn.Fail(
            self,
            "JobFailed",
            error="Toolgate.JobFailed",
            cause="The job did not succeed; its record (GET /v1/jobs/{job_id}) holds the error code.",
        )
        finished = (
            sfn.Choice(self, "Finished?")
            .when(sfn.Condition.string_equals("$.outcome.state", "succeeded"), job_succeeded)
            .otherwise(job_failed)
        )
        running = (
            sfn.Choice(self, "Running?")
            .when(
                sfn.Condition.string_equals("$.outcome.state", "running"),
                sfn.Wait(
                    self,
                    "WaitForStatus",
                    time=sfn.WaitTime.seconds_path("$.outcome.wait_seconds"),
                ).next(poll),
            )
            .otherwise(emit_completed)
        )

        for task in (submit, poll, await_callback):
            task.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")
        submit.next(running)
        poll.next(running)
        await_callback.next(emit_completed)
        record_failure.add_catch(job_failed, errors=["States.ALL"], result_path="$.error")
        record_failure.next(running)
        # The job row is already final: a lost event must not fail the execution.
        emit_completed.add_catch(finished, errors=["States.ALL"], result_path="$.error")
        emit_completed.next(finished)

        return (
            sfn.Choice(self, "Pattern")
            .when(sfn.Condition.string_equals("$.pattern", "callback"), await_callback)
            .otherwise(submit)
        )

    # --- Reviewed cdk-nag findings ---------------------------------------------------------------

    def _acknowledge_reviewed_findings(self, invoke_functions: Sequence[lambda_.IFunction]) -> None:
        stack = Stack.of(self)
        machine_role_policy = self.state_machine.role.node.find_child("DefaultPolicy")
        _acknowledge(
            machine_role_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions' log delivery actions (logs:CreateLogDelivery and the rest) and X-Ray's "
            "PutTraceSegments support no resource-level permissions.",
        )
        machine_id = stack.resolve(
            stack.get_logical_id(cast(sfn.CfnStateMachine, self.state_machine.node.default_child))
        )
        for invoke_function in invoke_functions:
            _acknowledge(
                _role_of(invoke_function).node.find_child("DefaultPolicy"),
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                f"execution:<{machine_id}.Name>:*]",
                "Executions are named by job ids made at run time; the pattern holds the executions of "
                "the jobs state machine only, for DescribeExecution and StopExecution (cancel).",
            )
