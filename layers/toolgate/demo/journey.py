"""The demo journey, from upload to grounded results, against a running local stack and the Support Desk
target: what `make demo` shows and what the end-to-end tests replay. Every step goes over HTTP to the
stack's front door, or to its S3 through moto, as a user or an agent would."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import urllib3

from toolgate.demo import support_desk_spec
from toolgate.demo.target import SupportDeskTarget
from toolgate.service.layout import upload_key

TENANT = "acme"
INTEGRATION = "support"
ASSISTANT = "desk"
CASE = {"customer_id": "cust-42", "summary": "Printer on fire", "priority": "high"}
_JSON = {"Content-Type": "application/json"}


class JourneyError(RuntimeError):
    """A step of the journey did not give what it should."""


class Stack(Protocol):
    """What the journey needs of a running stack (`toolgate.local.stack.LocalStack`)."""

    @property
    def api_url(self) -> str: ...

    @property
    def moto_url(self) -> str: ...

    @property
    def bucket_name(self) -> str: ...

    def boto3_session(self) -> Any: ...

    def bootstrap_tenant(self, tenant_id: str, principal: str = ...) -> str: ...


@dataclass
class JourneyResult:
    api_key: str
    tools_openai: list[str] = field(default_factory=list)
    tools_anthropic: list[str] = field(default_factory=list)
    case_result: dict[str, Any] = field(default_factory=dict)
    export_job: dict[str, Any] = field(default_factory=dict)
    report_job: dict[str, Any] = field(default_factory=dict)


class Api:
    """The stack's API with one key: JSON in, JSON out."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=60), retries=False)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self._key}", **_JSON}
        data = None if body is None else json.dumps(body).encode()
        response = self._http.request(
            method, f"{self.base_url}/{path.lstrip('/')}", body=data, headers=headers
        )
        text = response.data.decode("utf-8", errors="replace")
        return response.status, json.loads(text) if text else None

    def expect(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got, answer = self.call(method, path, body)
        if got != status:
            raise JourneyError(f"{method} {path} answered {got}: {json.dumps(answer)[:500]}")
        return answer


def run_journey(
    stack: Stack, target: SupportDeskTarget, say: Callable[[str], None] = print, timeout: float = 60.0
) -> JourneyResult:
    """Bootstrap a tenant, upload the spec through S3, bind the credential, list the tools, call
    `create_support_case` as a model would, and run one export by polling and one report by callback."""
    say("1. Bootstrap tenant 'acme' and its first admin key")
    result = JourneyResult(api_key=stack.bootstrap_tenant(TENANT))
    api = Api(stack.api_url, result.api_key)
    say(f"   key {result.api_key[:16]}... (shown once; only its hash is stored)")

    say("2. Upload the Support Desk spec to S3 (PutObject), which triggers the upload function")
    s3 = stack.boto3_session().client("s3", endpoint_url=stack.moto_url)
    settings = {"assistants": [ASSISTANT], "server_url": target.base_url}
    s3.put_object(
        Bucket=stack.bucket_name,
        Key=upload_key(TENANT, INTEGRATION, "toolgate.json"),
        Body=json.dumps(settings).encode(),
    )
    s3.put_object(
        Bucket=stack.bucket_name,
        Key=upload_key(TENANT, INTEGRATION, "openapi.yaml"),
        Body=support_desk_spec().read_bytes(),
    )
    status = _wait(
        lambda: api.call("GET", f"integrations/{INTEGRATION}/status"),
        lambda answer: answer[0] == 200 and answer[1].get("status") in ("ready", "failed"),
        timeout,
        "the integration to be compiled",
    )[1]
    if status.get("status") != "ready":
        raise JourneyError(f"the upload failed: {json.dumps(status)[:500]}")
    say(f"   integration '{INTEGRATION}' is ready (version {status.get('ready_version')})")

    say("3. Bind the bearer credential through the API (kept in Secrets Manager, never shown again)")
    api.expect("PUT", f"integrations/{INTEGRATION}/credential", {"type": "bearer", "token": target.token})

    say("4. List the assistant's tools as OpenAI and Anthropic take them")
    openai = api.expect("GET", f"assistants/{ASSISTANT}/tools?format=openai")
    anthropic = api.expect("GET", f"assistants/{ASSISTANT}/tools?format=anthropic")
    result.tools_openai = [tool["function"]["name"] for tool in openai["tools"]]
    result.tools_anthropic = [tool["name"] for tool in anthropic["tools"]]
    say(f"   openai: {', '.join(result.tools_openai)}")
    say(
        f"   anthropic: {len(result.tools_anthropic)} tools, e.g. "
        f"{json.dumps(anthropic['tools'][0])[:160]}..."
    )

    say("5. Invoke create_support_case with the tool call an OpenAI model produced")
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "create_support_case", "arguments": json.dumps(CASE)},
    }
    answer = api.expect("POST", f"assistants/{ASSISTANT}/tools/create_support_case/invoke", call)
    envelope = json.loads(answer["content"])
    if not envelope.get("ok"):
        raise JourneyError(f"create_support_case failed: {json.dumps(envelope)[:500]}")
    result.case_result = envelope
    say(f"   tool message for the model: {json.dumps(answer)[:300]}")
    say(f"   grounded: the API created case {envelope['body']['case_id']}")

    say("6. Export the customer's cases: a long-running operation, polled by the state machine")
    result.export_job = _run_job(
        api, "start_case_export", {"customer_id": CASE["customer_id"], "format": "json"}, timeout
    )
    say(_job_line(result.export_job))

    say("7. Generate a case report: the target POSTs it to a signed callback URL")
    result.report_job = _run_job(api, "generate_case_report", {"customer_id": CASE["customer_id"]}, timeout)
    say(_job_line(result.report_job))
    return result


def _job_line(job: Mapping[str, Any]) -> str:
    return f"   job {job['job_id']}: {job['status']}, result {json.dumps(job.get('result'))[:200]}"


def _run_job(api: Api, tool: str, arguments: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    started = api.expect(
        "POST", f"assistants/{ASSISTANT}/tools/{tool}/invoke", {"arguments": dict(arguments)}
    )
    if started.get("status") != 202:
        raise JourneyError(f"{tool} did not start a job: {json.dumps(started)[:500]}")
    job_id = started["body"]["job_id"]
    view: dict[str, Any] = _wait(
        lambda: api.expect("GET", f"jobs/{job_id}"),
        lambda job: job.get("status") != "running",
        timeout,
        f"job {job_id}",
    )
    if view["status"] != "succeeded":
        raise JourneyError(f"job {job_id} ended {view['status']}: {json.dumps(view.get('error'))}")
    return view


def _wait(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise JourneyError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
