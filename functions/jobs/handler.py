"""The jobs state machine's task function (infra/jobs.py). Each task sends
`{"action", "tenant_id", "job_id", ...}`; the tenant is the one the invoke function wrote into the
execution's input from the caller's verified identity, and every row is reached with that tenant's
scoped session.

- `submit` and `poll` answer `{"state", "wait_seconds"}` for the state machine's choice and wait;
- `await_callback` (a `.waitForTaskToken` task) issues the callback URL and makes the call; the task ends
  when the callback, or this function's own failure report, sends the token back;
- `fail` records the error the state machine caught.

A store or AWS error is raised, as a function error named after its class, for the state machine's Retry
and Catch. Nothing about the call's arguments or result is logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from toolgate.adapters.aws.invoke import AwsInvokeProvider
from toolgate.adapters.aws.jobs import SigningKey, StepFunctionsTaskTokens, job_resources
from toolgate.adapters.aws.session import new_session
from toolgate.adapters.aws.telemetry import logger, tracer
from toolgate.adapters.http import HttpTransport
from toolgate.service.callback_ids import CallbackSigner
from toolgate.service.jobs import JobRunner, is_job_id
from toolgate.service.tenancy import is_tenant_id
from toolgate.settings import (
    get_callback_settings,
    get_invoke_settings,
    get_job_settings,
    get_service_settings,
    get_settings,
)


class TaskInputError(ValueError):
    """The task's input is not one the jobs state machine sends."""


@cache
def _provider() -> AwsInvokeProvider:
    return AwsInvokeProvider(get_service_settings(), get_invoke_settings(), jobs=get_job_settings())


@cache
def _transport() -> HttpTransport:
    return HttpTransport(get_settings().runtime)


@cache
def _callbacks() -> tuple[str, CallbackSigner, StepFunctionsTaskTokens]:
    settings = get_callback_settings()
    session = new_session()
    key = SigningKey(session.client("secretsmanager"), settings.signing_secret_arn)
    return (
        settings.base_url,
        CallbackSigner(key.value()),
        StepFunctionsTaskTokens(session.client("stepfunctions")),
    )


def _runner(tenant_id: str, context: LambdaContext, *, with_callbacks: bool) -> JobRunner:
    base_url, signer, tokens = _callbacks() if with_callbacks else (None, None, None)
    return JobRunner(
        job_resources(_provider().for_tenant(tenant_id)),
        get_job_settings(),
        runtime=get_settings().runtime,
        transport=_transport(),
        task_budget=lambda: context.get_remaining_time_in_millis() / 1000,
        callback_base_url=base_url,
        signer=signer,
        tokens=tokens,
    )


def run_task(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    action, tenant_id, job_id = event.get("action"), event.get("tenant_id"), event.get("job_id")
    if not isinstance(tenant_id, str) or not is_tenant_id(tenant_id):
        raise TaskInputError("the task input has no valid tenant_id")
    if not isinstance(job_id, str) or not is_job_id(job_id):
        raise TaskInputError("the task input has no valid job_id")
    logger.append_keys(tenant_id=tenant_id, job_id=job_id, action=action)
    runner = _runner(tenant_id, context, with_callbacks=action == "await_callback")
    if action == "submit":
        return runner.submit(job_id).to_dict()
    if action == "poll":
        return runner.poll(job_id).to_dict()
    if action == "await_callback":
        token = event.get("task_token")
        if not isinstance(token, str) or not token:
            raise TaskInputError("await_callback needs the task token")
        runner.await_callback(job_id, token)
        return {}
    if action == "fail":
        caught = event.get("error")
        name = caught.get("Error") if isinstance(caught, Mapping) else None
        return runner.fail(job_id, name if isinstance(name, str) else "unknown").to_dict()
    raise TaskInputError(f"unknown action {str(action)[:40]!r}")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = run_task(event, context)
    logger.info("job task done", extra={"state": outcome.get("state")})
    return outcome
