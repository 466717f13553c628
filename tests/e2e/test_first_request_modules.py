"""What a request-path function imports on its first request is named in its `FIRST_REQUEST_MODULES`.

`bench/cold_start.py` counts a handler's import plus those modules as the function's cold start, and the
SnapStart hook imports them before the snapshot. A module a first request loads beyond them would be paid
after every cold start yet counted nowhere. Each test runs one real request in a fresh interpreter, against
the local stack's moto and the Support Desk target, after importing the handler and its named modules, and
lists every `toolgate` module the request loaded on top. A synchronous tool call, REST or MCP, also loads
none of the jobs code: that waits for the first job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from e2e_harness import ASSISTANT, Client, create_case_call, ready_support_desk_tenant
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack

REPO_ROOT = Path(__file__).resolve().parents[2]
TENANT = "acme"

#: Imports the handler and its named modules, snapshots `sys.modules`, runs one event, and prints the
#: answer, the `toolgate` modules the event loaded, and every `toolgate` module loaded by then.
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
present = sorted(name for name in sys.modules if name.startswith("toolgate."))
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
def admin(stack: LocalStack, support_desk: SupportDeskTarget) -> Client:
    return ready_support_desk_tenant(stack, TENANT, support_desk.base_url, support_desk.token)


class FirstRequest(NamedTuple):
    answer: dict[str, Any]
    #: The `toolgate` modules the request loaded beyond the handler's named ones.
    loaded: list[str]
    #: Every `toolgate` module loaded once the request was answered.
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
