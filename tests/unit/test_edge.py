"""The handlers' HTTP edge (`toolgate.edge`) and wiring (`toolgate.wiring`), without AWS or a network."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from toolgate.adapters.aws.telemetry import logger
from toolgate.edge import answer, body_bytes, header_values, json_body
from toolgate.errors import CallInvalidError, RateLimitedError, ToolgateError
from toolgate.wiring import Wiring, clear_caches


@dataclass
class LambdaContextStub:
    aws_request_id: str = "lambda-request-1"


CONTEXT = cast(LambdaContext, LambdaContextStub())


@pytest.fixture(autouse=True)
def no_correlation_id() -> Iterator[None]:
    logger.set_correlation_id(None)
    yield
    logger.set_correlation_id(None)


def _fails(error: Exception) -> Any:
    def route() -> dict[str, Any]:
        raise error

    return route


def _error(response: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(response["body"])["error"]
    return error


def test_unexpected_fault_without_an_api_gateway_request_id_is_quoted_with_the_lambda_request_id() -> None:
    response = answer(_fails(RuntimeError("db password is hunter2")), CONTEXT)

    error = _error(response)
    assert (response["statusCode"], error["code"]) == (500, "INTERNAL_ERROR")
    assert error["details"]["correlation_id"] == "lambda-request-1"
    assert "lambda-request-1" in error["message"]
    assert "hunter2" not in response["body"] and "Traceback" not in response["body"]


def test_unexpected_fault_is_quoted_with_api_gateways_request_id_when_the_event_has_one() -> None:
    logger.set_correlation_id("api-gateway-request-9")

    response = answer(_fails(KeyError("x")), CONTEXT)

    assert _error(response)["details"]["correlation_id"] == "api-gateway-request-9"


def test_tenant_over_its_limit_is_told_when_to_retry() -> None:
    over = RateLimitedError("Slow down.", retry_after_seconds=3)

    response = answer(_fails(over), CONTEXT)

    assert response["statusCode"] == 429
    assert response["headers"] == {"Content-Type": "application/json", "Retry-After": "3"}
    assert _error(response)["code"] == "RATE_LIMITED"


def test_only_typed_refusals_reach_the_refusal_hook() -> None:
    seen: list[ToolgateError] = []
    refusal = CallInvalidError("bad call")

    answer(_fails(refusal), CONTEXT, on_refusal=seen.append)
    answer(_fails(RuntimeError("boom")), CONTEXT, on_refusal=seen.append)

    assert seen == [refusal]


def test_undecodable_base64_body_is_refused_with_the_routes_own_error() -> None:
    event = {"body": "not*base64!", "isBase64Encoded": True}

    with pytest.raises(CallInvalidError):
        body_bytes(event, undecodable=lambda: CallInvalidError("not base64"))


def test_body_that_is_not_json_is_refused_and_a_base64_json_body_is_read() -> None:
    encoded = {"body": base64.b64encode(b'{"arguments": {}}').decode(), "isBase64Encoded": True}
    assert json_body(encoded, undecodable=lambda: CallInvalidError("x")) == {"arguments": {}}
    with pytest.raises(CallInvalidError):
        json_body({"body": "{nope"}, undecodable=lambda: CallInvalidError("not JSON"))


def test_every_spelling_of_a_header_is_seen_so_a_duplicate_cannot_hide() -> None:
    event = {"headers": {"Idempotency-Key": "a", "idempotency-key": "b", "Other": "c"}}

    assert header_values(event, "idempotency-key") == ["a", "b"]


def test_each_lambda_environment_keeps_its_own_adapters() -> None:
    first, second = Wiring(), Wiring()

    assert first.tools is first.tools
    assert first.tools is not second.tools


def test_clear_caches_forgets_every_environments_adapters_and_closes_their_transports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from toolgate.adapters.http import HttpTransport

    closed: list[HttpTransport] = []

    def close(transport: HttpTransport) -> None:
        closed.append(transport)

    monkeypatch.setattr(HttpTransport, "close", close)
    first, second = Wiring(), Wiring()
    tools, transport = first.tools, second.transport

    clear_caches()

    assert closed == [transport]
    assert first.tools is not tools
    assert second.transport is not transport


def _loaded_clients(modules: str) -> str:
    code = (
        f"import sys, {modules};"
        "print(sorted(m for m in ('requests', 'boto3', 'botocore', 'urllib3') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_wiring_ports_and_jobs_domain_load_no_aws_sdk_or_http_client() -> None:
    modules = (
        "toolgate.wiring, toolgate.service.ports, toolgate.service.jobs.records,"
        " toolgate.service.jobs.launch, toolgate.service.jobs.queries, toolgate.service.jobs.runner,"
        " toolgate.service.jobs.callbacks"
    )
    assert _loaded_clients(modules) == "[]"


def test_the_edge_loads_no_boto3() -> None:
    # Powertools' Lambda typing and logger load botocore's exceptions; the edge itself reaches no AWS API.
    loaded = _loaded_clients("toolgate.edge")
    assert "'boto3'" not in loaded and "'requests'" not in loaded
