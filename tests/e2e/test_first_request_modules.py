"""What a request-path function imports on its first request is named in its `FIRST_REQUEST_MODULES`.

`bench/cold_start.py` counts a handler's import plus those modules as the function's cold start, and the
SnapStart hook imports them before the snapshot. A module a first request loads beyond them would be paid
after every cold start yet counted nowhere. Each test runs one real request in a fresh interpreter, against
the local stack's moto and the Support Desk target, after importing the handler and its named modules, and
lists every `toolgate` module the request loaded on top. A synchronous tool call, REST or MCP, also loads
none of the jobs code: that waits for the first job.

The jobs function's first request is a status poll of a running export, and the callback function's a
genuine callback completing a waiting report: this module's target never ends an export and never calls
back by itself, so each job waits for the request under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from e2e_harness import ASSISTANT, Client, create_case_call, ready_support_desk_tenant
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack

REPO_ROOT = Path(__file__).resolve().parents[2]
TENANT = "acme"
#: Long enough for a job to wait on a busy machine.
JOB_WAIT_SECONDS = 60

#: Imports the handler and its named modules, snapshots `sys.modules`, runs one event, and prints the
#: answer, the `toolgate` modules the event loaded, and every module loaded by then.
FIRST_REQUEST = """
import importlib, json, sys
module = importlib.import_module(f"functions.{sys.argv[1]}.handler")
for name in module.FIRST_REQUEST_MODULES:
    importlib.import_module(name)
before = set(sys.modules)

class Context:
    function_name = sys.argv[1]
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{sys.argv[1]}"
    aws_request_id = "first-request"
    tenant_id = None

    def get_remaining_time_in_millis(self):
        return 25_000

answer = module.lambda_handler(json.loads(sys.argv[2]), Context())
loaded = sorted(name for name in set(sys.modules) - before if name.split(".")[0] in ("toolgate", "functions"))
present = sorted(sys.modules)
print(json.dumps({"answer": answer, "loaded": loaded, "present": present}))
"""
#: What only jobs need: their records, the following of long-running operations, and the jobs adapter
#: (with its Step Functions client).
JOBS_CODE = (
    "toolgate.adapters.aws.jobs",
    "toolgate.runtime.async_calls",
    "toolgate.service.jobs.launch",
    "toolgate.service.jobs.queries",
    "toolgate.service.jobs.records",
    "toolgate.service.jobs.views",
)


@pytest.fixture(scope="module")
def support_desk() -> Iterator[SupportDeskTarget]:
    """The demo target, with exports that stay running and reports it never calls back about by itself."""
    with SupportDeskTarget(polls_before_done=10**9, callback_delay=3600) as target:
        yield target


@pytest.fixture(scope="module")
def admin(stack: LocalStack, support_desk: SupportDeskTarget) -> Client:
    return ready_support_desk_tenant(stack, TENANT, support_desk.base_url, support_desk.token)


class FirstRequest(NamedTuple):
    answer: dict[str, Any]
    #: The `toolgate` modules the request loaded beyond the handler's named ones.
    loaded: list[str]
    #: Every module loaded once the request was answered.
    present: list[str]


def first_request(function: str, event: Mapping[str, Any]) -> FirstRequest:
    """Run `event` as `function`'s first request in a fresh interpreter with the stack's environment."""
    paths = [REPO_ROOT / "layers", REPO_ROOT / "cli", REPO_ROOT / "devtools", REPO_ROOT]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(str(path) for path in paths)}
    completed = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST, function, json.dumps(event)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return FirstRequest(result["answer"], result["loaded"], result["present"])


def proxy_event(
    admin: Client, method: str, path: str, parameters: dict[str, str], body: Any
) -> dict[str, Any]:
    """An API Gateway proxy event as the stage sends it once the authorizer allowed `admin`'s key."""
    key_id = admin.key.split("_")[2]
    return {
        "httpMethod": method,
        "path": path,
        "pathParameters": parameters,
        "queryStringParameters": None,
        "headers": {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": "first-request",
            "requestTimeEpoch": int(time.time() * 1000),
            "stage": "prod",
            "authorizer": {
                "tenant_id": TENANT,
                "role": "admin",
                "principal": "bootstrap-admin",
                "key_id": key_id,
            },
        },
    }


def test_a_tool_calls_first_request_loads_nothing_beyond_the_invoke_functions_named_modules(
    admin: Client,
) -> None:
    path = f"/v1/assistants/{ASSISTANT}/tools/create_support_case/invoke"
    parameters = {"assistant": ASSISTANT, "tool": "create_support_case"}
    answer, loaded, present = first_request(
        "invoke", proxy_event(admin, "POST", path, parameters, create_case_call())
    )
    assert answer["statusCode"] == 200, answer["body"]
    assert json.loads(answer["body"])["ok"] is True
    assert loaded == []
    assert [name for name in JOBS_CODE if name in present] == []


@pytest.mark.parametrize("method", ["tools/list", "tools/call"])
def test_an_mcp_first_request_loads_nothing_beyond_the_mcp_functions_named_modules(
    admin: Client, method: str
) -> None:
    params = {"name": "create_support_case", "arguments": create_case_call()["arguments"]}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params if method == "tools/call" else {}}
    event = proxy_event(admin, "POST", f"/v1/assistants/{ASSISTANT}/mcp", {"assistant": ASSISTANT}, body)
    answer, loaded, present = first_request("mcp", event)
    assert answer["statusCode"] == 200, answer["body"]
    assert "error" not in json.loads(answer["body"]), answer["body"]
    assert loaded == []
    assert [name for name in JOBS_CODE if name in present] == []


def test_an_authorizations_first_request_loads_nothing_beyond_the_authorizers_named_modules(
    admin: Client,
) -> None:
    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api/prod/POST/v1/assistants/a/mcp",
        "headers": {"Authorization": f"Bearer {admin.key}"},
    }
    answer, loaded, _ = first_request("authorizer", event)
    assert answer["context"]["tenant_id"] == TENANT
    assert loaded == []


def started_job(admin: Client, tool: str, arguments: dict[str, Any]) -> str:
    answer = admin.post(f"assistants/{ASSISTANT}/tools/{tool}/invoke", json={"arguments": arguments})
    assert answer.status == 200 and answer.body["status"] == 202, answer.body
    job_id: str = answer.body["body"]["job_id"]
    return job_id


def job_row_once(stack: LocalStack, job_id: str, ready: str) -> dict[str, Any]:
    """The job's row once its field `ready` is set (the state machine's task has done its part)."""
    dynamodb = stack.boto3_session().client("dynamodb", endpoint_url=stack.moto_url)
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while True:
        item = dynamodb.get_item(
            TableName=stack.table_name,
            Key={"pk": {"S": TENANT}, "sk": {"S": f"JOB#{job_id}"}},
            ConsistentRead=True,
        ).get("Item", {})
        if ready in item and item[ready] != {"BOOL": False}:
            return item
        assert time.monotonic() < deadline, f"job {job_id} has no {ready} after {JOB_WAIT_SECONDS} s: {item}"
        time.sleep(0.1)


def test_a_job_tasks_first_request_loads_nothing_beyond_the_jobs_functions_named_modules(
    admin: Client, stack: LocalStack
) -> None:
    job_id = started_job(admin, "start_case_export", {"customer_id": "cust-42", "format": "json"})
    try:
        job_row_once(stack, job_id, "submitted")
        answer, loaded, _ = first_request("jobs", {"action": "poll", "tenant_id": TENANT, "job_id": job_id})
        assert answer["state"] == "running" and answer["wait_seconds"] > 0, answer
        assert loaded == []
    finally:
        assert admin.call("DELETE", f"jobs/{job_id}").status == 200


def test_a_callbacks_first_request_loads_nothing_beyond_the_callback_functions_named_modules(
    admin: Client, stack: LocalStack
) -> None:
    job_id = started_job(admin, "generate_case_report", {"customer_id": "cust-42"})
    callback_id = job_row_once(stack, job_id, "task_token")["callback_id"]["S"]
    result = {"report_id": "RPT-1", "status": "succeeded", "result": {"customer_id": "cust-42"}}
    event = {
        "httpMethod": "POST",
        "path": f"/v1/callbacks/{callback_id}",
        "pathParameters": {"callback_id": callback_id},
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(result),
        "isBase64Encoded": False,
        "requestContext": {"requestId": "first-request", "stage": "prod"},
    }
    answer, loaded, present = first_request("callback", event)
    assert answer["statusCode"] == 200, answer["body"]
    assert json.loads(answer["body"])["status"] == "succeeded"
    assert loaded == []
    # It reads the target's result and checks no schema: the JSON Schema engine is not its floor's.
    assert "jsonschema_rs" not in present
    assert admin.get(f"jobs/{job_id}").body["status"] == "succeeded"
