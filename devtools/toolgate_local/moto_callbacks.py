"""A fix for moto's Step Functions interpreter: a callback task with a heartbeat misses a task result sent
before it started waiting.

The jobs function completes its own callback task (SendTaskSuccess) when the call fails or already
answers with a final status, while Step Functions is still invoking it. AWS takes that result at once.
moto, pinned exactly (pyproject.toml), sets the task's heartbeat up only after the invocation returns and
then waits for the next heartbeat, so a result that arrived earlier is seen only when the heartbeat
expires. While inside `early_task_results_seen`, a heartbeat set up after a result counts that result.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager

from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, HeartbeatEndpoint

#: The parameters `setup_heartbeat_endpoint` has in the pinned moto; anything else is refused.
EXPECTED_PARAMETERS = ("self", "heartbeat_seconds")


def check_hook() -> None:
    """Raise when moto's heartbeat setup is not the method this module was written against."""
    original = getattr(CallbackEndpoint, "setup_heartbeat_endpoint", None)
    if original is None or tuple(inspect.signature(original).parameters) != EXPECTED_PARAMETERS:
        raise RuntimeError(
            "moto's CallbackEndpoint.setup_heartbeat_endpoint changed: re-check the moto pin and "
            "toolgate_local.moto_callbacks"
        )
    if not callable(getattr(CallbackEndpoint, "get_outcome", None)):
        raise RuntimeError(
            "moto's CallbackEndpoint has no get_outcome: re-check toolgate_local.moto_callbacks"
        )


@contextmanager
def early_task_results_seen() -> Iterator[None]:
    check_hook()
    original = CallbackEndpoint.setup_heartbeat_endpoint

    def setup(self: CallbackEndpoint, heartbeat_seconds: int) -> HeartbeatEndpoint:
        heartbeat = original(self, heartbeat_seconds)
        if self.get_outcome() is not None:
            heartbeat.notify()  # type: ignore[no-untyped-call]
        return heartbeat

    CallbackEndpoint.setup_heartbeat_endpoint = setup  # type: ignore[method-assign]
    try:
        yield
    finally:
        CallbackEndpoint.setup_heartbeat_endpoint = original  # type: ignore[method-assign]
