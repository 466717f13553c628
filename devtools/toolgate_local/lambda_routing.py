"""Run the Lambda functions moto knows with Toolgate's real handlers, in this process.

moto runs Lambda code only in Docker; without it, an invocation echoes its payload. Step Functions tasks,
SQS event source mappings and `lambda:Invoke` all end in `LambdaFunction._invoke_lambda`, so replacing
that one method routes every invocation, whatever started it, to the handler registered for the
function's name. moto is pinned exactly (pyproject.toml) and `tests/service/test_lambda_routing.py`
fails if the method's shape changes.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.exceptions import JsonRESTError

Handler = Callable[[Any, Any], Any]

#: What moto's `_invoke_lambda` returns: the result as text, whether the function failed, its logs.
Invocation = tuple[str, bool, str]

#: The parameters `_invoke_lambda` has in the pinned moto; routing refuses to patch anything else.
EXPECTED_PARAMETERS = ("self", "event")
#: Those of `LambdaFunction.invoke`, the `lambda:Invoke` API's path, which alone sees the request headers.
EXPECTED_INVOKE_PARAMETERS = ("self", "body", "request_headers", "response_headers")
#: The header of Lambda's Invoke that names the tenant of an event (tenant isolation mode).
TENANT_ID_HEADER = "X-Amz-Tenant-Id"


@dataclass
class LocalLambdaContext:
    """The parts of a Lambda context the handlers and Powertools read."""

    function_name: str
    function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    #: The tenant a tenant-isolated function's event was invoked for (`context.tenant_id` on Lambda).
    tenant_id: str | None = None
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return self.function_arn

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


class UnroutedFunctionError(RuntimeError):
    """A function was invoked that no handler is registered for."""


class FunctionThrottledError(RuntimeError):
    """The function runs as many events at once as its concurrency allows; Lambda answers such an
    invocation with 429 TooManyRequestsException, and so does moto here."""


class _TooManyRequestsError(JsonRESTError):
    code = 429


class _InvalidParameterValueError(JsonRESTError):
    code = 400


def check_hook() -> None:
    """Raise when moto's `_invoke_lambda` or `invoke` is not the method this module was written against."""
    for name, expected in (("_invoke_lambda", EXPECTED_PARAMETERS), ("invoke", EXPECTED_INVOKE_PARAMETERS)):
        original = getattr(LambdaFunction, name, None)
        if original is None or not callable(original):
            raise RuntimeError(f"moto.awslambda.models.LambdaFunction.{name} is gone: re-check the pin")
        parameters = tuple(inspect.signature(original).parameters)
        if parameters != expected:
            raise RuntimeError(
                f"moto's LambdaFunction.{name} takes {parameters}, not {expected}: re-check the moto pin "
                "and toolgate_local.lambda_routing"
            )


@contextmanager
def routed_invocations(
    handlers: Mapping[str, Handler], tenant_isolated: frozenset[str] = frozenset()
) -> Iterator[None]:
    """While inside, an invocation of moto function `name` runs `handlers[name](event, context)`.

    A handler's exception becomes a function error (`errorType` is the exception's class name), which
    is what Step Functions' Retry and Catch match on; `FunctionThrottledError` becomes Lambda's own 429
    TooManyRequestsException instead. Nested use is refused.

    The functions named in `tenant_isolated` are in Lambda's tenant isolation mode: as on Lambda, their
    events must name a tenant (`X-Amz-Tenant-Id` on Invoke), which `context.tenant_id` then carries,
    and every other function's events must not (400 InvalidParameterValueException).
    """
    check_hook()
    if _state.active:
        raise RuntimeError("Lambda invocations are already routed")
    original = LambdaFunction._invoke_lambda
    original_api = LambdaFunction.invoke

    def invoke(function: LambdaFunction, event: Any = None) -> Invocation:
        handler = handlers.get(function.function_name)
        if handler is None:
            raise UnroutedFunctionError(f"no local handler for Lambda function {function.function_name!r}")
        tenant_id = getattr(_state.invoking, "tenant_id", None)
        if (tenant_id is not None) != (function.function_name in tenant_isolated):
            raise _InvalidParameterValueError(
                "InvalidParameterValueException",
                "Tenant ID configuration not specified or passed to a function when tenant isolation is "
                "not enabled.",
            )
        return _run(handler, function, event, tenant_id)

    def invoke_api(function: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> Any:
        # Only this path has the request's headers; Step Functions and SQS invoke `_invoke_lambda` directly.
        _state.invoking.tenant_id = request_headers.get(TENANT_ID_HEADER) or None
        try:
            return original_api(function, body, request_headers, response_headers)
        finally:
            _state.invoking.tenant_id = None

    LambdaFunction._invoke_lambda = invoke  # type: ignore[method-assign,assignment]
    LambdaFunction.invoke = invoke_api  # type: ignore[method-assign,assignment]
    _state.active = True
    try:
        yield
    finally:
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]
        LambdaFunction.invoke = original_api  # type: ignore[method-assign]
        _state.active = False


def _run(handler: Handler, function: LambdaFunction, event: Any, tenant_id: str | None = None) -> Invocation:
    payload = json.loads(event) if isinstance(event, str | bytes) and event else (event or {})
    context = LocalLambdaContext(
        function_name=function.function_name,
        function_arn=function.function_arn,
        memory_limit_in_mb=int(function.memory_size),
        timeout_seconds=float(function.timeout),
        tenant_id=tenant_id,
    )
    try:
        result = handler(payload, context)
    except FunctionThrottledError:
        raise _TooManyRequestsError("TooManyRequestsException", "Rate Exceeded.") from None
    except Exception as error:
        failure = {
            "errorType": type(error).__name__,
            "errorMessage": str(error),
            "stackTrace": traceback.format_exception_only(error),
        }
        return json.dumps(failure), True, ""
    return json.dumps(result), False, ""


class _RoutingState:
    active = False
    #: The tenant id of the `lambda:Invoke` request each moto server thread is running.
    invoking = threading.local()


_state = _RoutingState()
