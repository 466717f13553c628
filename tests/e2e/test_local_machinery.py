"""The local stack's machinery on a small hand-written template: API Gateway's routing, authorizer and
proxy events, the SQS poller's batch semantics, Step Functions executions, and what it refuses."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from synthetic_stack import STACK, STAGE, records, template, write_stack
from toolgate.errors import LocalStackBusyError
from toolgate_local.stack import LocalStack

ALLOW = {"Authorization": "Bearer allow-1"}


@pytest.fixture(scope="module")
def record_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("records")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, record_dir: Path) -> Iterator[LocalStack]:
    path, functions = write_stack(tmp_path_factory.mktemp("stack"), template(record_dir))
    with LocalStack(path, functions_dir=functions) as local:
        yield local


def get(stack: LocalStack, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(f"{stack.api_base_url}/{STAGE}/{path}", timeout=10, **kwargs)


def event_of(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()["event"]
    return event


def test_proxy_event_carries_the_request_as_api_gateway_sends_it(stack: LocalStack) -> None:
    response = get(stack, "items/42?x=1&x=2&y=", headers={**ALLOW, "X-Trace": "t-9"})

    event = event_of(response)
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["headers"]["X-Trace"] == "t-9"
    assert event["multiValueHeaders"]["X-Trace"] == ["t-9"]
    assert event["stageVariables"] == {"color": "blue"}
    assert (event["body"], event["isBase64Encoded"]) == (None, False)
    context = event["requestContext"]
    assert context["stage"] == STAGE
    assert context["resourcePath"] == "/items/{id}"
    assert context["path"] == f"/{STAGE}/items/42"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 30
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    assert context["authorizer"]["principalId"] == "user-1"
    assert context["authorizer"]["tenant"] == "t-1"
    assert response.headers["X-Multi"] == "a, b"


def test_function_environment_is_resolved_from_the_template(stack: LocalStack) -> None:
    queue_name = stack.physical_id("Queue").rsplit("/", 1)[-1]

    assert get(stack, "items/special").json()["hint"] == f"{STACK}/{queue_name}"


def test_literal_path_part_beats_a_variable_and_a_greedy_one(stack: LocalStack) -> None:
    assert event_of(get(stack, "items/special"))["resource"] == "/items/special"
    assert event_of(get(stack, "elsewhere/deep/path"))["pathParameters"] == {"proxy": "elsewhere/deep/path"}


def test_no_backtracking_to_a_greedy_sibling_once_a_specific_resource_matched(stack: LocalStack) -> None:
    response = get(stack, "items/42/more", headers=ALLOW)

    assert (response.status_code, response.json()) == (403, {"message": "Missing Authentication Token"})


def test_method_without_a_match_or_any_is_refused(stack: LocalStack) -> None:
    response = requests.delete(f"{stack.api_base_url}/{STAGE}/items/special", timeout=10)

    assert (response.status_code, response.json()) == (403, {"message": "Missing Authentication Token"})


def test_token_failing_the_validation_expression_is_refused_without_invoking_the_authorizer(
    stack: LocalStack, record_dir: Path
) -> None:
    before = len(records(record_dir, "gate"))

    missing = get(stack, "items/1")
    malformed = get(stack, "items/1", headers={"Authorization": "Bearer Allow-1"})

    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    assert (malformed.status_code, malformed.json()) == (401, {"message": "Unauthorized"})
    assert len(records(record_dir, "gate")) == before


def test_authorizer_refusals_become_401_and_explicit_denials_403(stack: LocalStack) -> None:
    unknown = get(stack, "items/1", headers={"Authorization": "Bearer other-1"})
    denied = get(stack, "items/1", headers={"Authorization": "Bearer deny-1"})

    assert (unknown.status_code, unknown.json()) == (401, {"message": "Unauthorized"})
    assert denied.status_code == 403
    assert denied.json() == {
        "message": "User is not authorized to access this resource with an explicit deny"
    }


def test_authorizer_decision_is_cached_per_token(stack: LocalStack, record_dir: Path) -> None:
    get(stack, "items/7", headers=ALLOW)
    before = len(records(record_dir, "gate"))

    second = get(stack, "items/8", headers=ALLOW)

    assert event_of(second)["pathParameters"] == {"id": "8"}
    assert len(records(record_dir, "gate")) == before


def test_authorizer_receives_a_token_event_with_the_method_arn(stack: LocalStack, record_dir: Path) -> None:
    get(stack, "items/3", headers={"Authorization": "Bearer deny-3"})

    (event,) = [
        event for event in records(record_dir, "gate") if event["authorizationToken"] == "Bearer deny-3"
    ]
    assert event["type"] == "TOKEN"
    assert event["methodArn"].startswith(f"arn:aws:execute-api:{stack.region}:")
    assert event["methodArn"].endswith(f"/{STAGE}/GET/items/3")


def test_binary_media_types_arrive_base64_encoded_and_go_back_as_bytes(stack: LocalStack) -> None:
    payload = bytes(range(256))

    response = requests.post(
        f"{stack.api_base_url}/{STAGE}/items",
        data=payload,
        headers={"Content-Type": "application/octet-stream", "Accept": "application/octet-stream"},
        timeout=10,
    )

    assert response.status_code == 201
    assert response.content == payload


def test_function_failures_and_malformed_responses_become_502(stack: LocalStack) -> None:
    failed = get(stack, "items/boom", headers=ALLOW)
    malformed = get(stack, "items/bad", headers=ALLOW)

    assert (failed.status_code, failed.json()) == (502, {"message": "Internal server error"})
    assert (malformed.status_code, malformed.json()) == (502, {"message": "Internal server error"})


def test_queue_batches_honour_batch_size_and_reported_item_failures(
    stack: LocalStack, record_dir: Path
) -> None:
    sqs = stack.boto3_session().client("sqs", endpoint_url=stack.moto_url)
    queue_url = stack.physical_id("Queue")
    dead_letters_url = stack.physical_id("DeadLetters")
    for body in ("ok-1", "fail-1", "ok-2", "ok-3"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    dead = _wait_for_messages(sqs, dead_letters_url)

    batches = records(record_dir, "worker")
    delivered = [body for batch in batches for body in batch]
    assert all(len(batch) <= 2 for batch in batches)
    assert sorted(body for body in delivered if body.startswith("ok")) == ["ok-1", "ok-2", "ok-3"]
    assert delivered.count("fail-1") == 2
    assert [message["Body"] for message in dead] == ["fail-1"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_state_machine_runs_its_lambda_task_with_the_real_handler(stack: LocalStack) -> None:
    sfn = stack.boto3_session().client("stepfunctions", endpoint_url=stack.moto_url)
    (machine,) = stack.state_machine_arns.values()

    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"n": 21}))["executionArn"]

    deadline = time.monotonic() + 10
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"value": 42}


def test_generated_secret_follows_the_template_rules(stack: LocalStack) -> None:
    secrets = stack.boto3_session().client("secretsmanager", endpoint_url=stack.moto_url)

    value = secrets.get_secret_value(SecretId=stack.physical_id("Key"))["SecretString"]

    assert len(value) == 20
    assert value.isalnum()


def test_outputs_point_at_the_front_door_and_unavailable_ones_say_why(stack: LocalStack) -> None:
    assert stack.output("Url") == f"{stack.api_base_url}/{STAGE}/"
    assert stack.outputs["AlarmTopic"].value is None
    assert "AWS::SNS::Topic" in (stack.outputs["AlarmTopic"].missing or "")
    (topic,) = [report for report in stack.reports if report.logical_id == "Alarms"]
    assert topic.status == "not created"


def test_only_one_stack_runs_per_process(stack: LocalStack, tmp_path: Path) -> None:
    path, functions = write_stack(tmp_path, template(tmp_path))

    with pytest.raises(LocalStackBusyError):
        LocalStack(path, functions_dir=functions).start()
    assert get(stack, "items/special").status_code == 200


def _wait_for_messages(sqs: Any, queue_url: str, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)
        if received.get("Messages"):
            return list(received["Messages"])
    raise AssertionError(f"nothing reached {queue_url}")


def test_a_burst_of_callers_is_answered_not_reset_by_the_front_door(stack: LocalStack) -> None:
    """API Gateway answers every caller of a burst, with 429 at worst; the front door must not drop or reset
    any (bench/fairness.py once saw resets from its listen backlog of 5 under 40 back-to-back callers)."""
    callers = 120
    start = threading.Barrier(callers)

    def call(_: int) -> int:
        start.wait(timeout=60)
        return requests.get(f"{stack.api_base_url}/{STAGE}/items/7", headers=ALLOW, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=callers) as pool:
        statuses = list(pool.map(call, range(callers)))

    assert len(statuses) == callers
    assert set(statuses) <= {200, 429, 502}, statuses
