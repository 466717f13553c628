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

import gc

# Cold start: no collection pass while the modules load; `resume_after_init()` ends the handler.
gc.disable()

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from toolgate.adapters.aws.snapstart import TENANT_CALL_SERVICES, register_restore_hooks
from toolgate.adapters.aws.telemetry import logger, tracer
from toolgate.gc_pause import resume_after_init
from toolgate.service.jobs.runner import JobRunner
from toolgate.service.jobs.terms import is_job_id
from toolgate.service.tenancy import is_tenant_id
from toolgate.settings import get_job_settings, get_settings
from toolgate.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

wiring = Wiring()
#: What every request imports on first use rather than at init (bench/cold_start.py counts it).
FIRST_REQUEST_MODULES = (
    "toolgate.adapters.aws.invoke",
    "toolgate.adapters.aws.jobs",
    "toolgate.adapters.http",
)
# SnapStart: the snapshot holds what every request needs (those modules, the models, the AWS service
# models); each environment restored from it starts its own adapters and random seed.
register_restore_hooks(modules=FIRST_REQUEST_MODULES, services=TENANT_CALL_SERVICES)


class TaskInputError(ValueError):
    """The task's input is not one the jobs state machine sends."""


def _runner(tenant_id: str, context: LambdaContext, *, with_callbacks: bool) -> JobRunner:
    callbacks = wiring.callbacks if with_callbacks else None
    return JobRunner(
        wiring.job_resources(tenant_id),
        get_job_settings(),
        runtime=get_settings().runtime,
        transport=wiring.transport,
        task_budget=lambda: context.get_remaining_time_in_millis() / 1000,
        callback_base_url=callbacks.base_url if callbacks else None,
        signer=callbacks.signer if callbacks else None,
        tokens=callbacks.tokens if callbacks else None,
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


# Init is done: what it made leaves the collector's generations, and collection resumes.
resume_after_init()
