"""The jobs test bench: the state machine the CDK stack synthesizes, executed by moto's Step Functions
interpreter, its tasks run by the real jobs handler (moto's Lambda invocations routed in-process), the
callback route served by the real callback handler on a 127.0.0.1 port, and the Support Desk demo target
as the slow API. Waits are 0 s (`TOOLGATE_JOBS_*` through the state machine's `SecondsPath`)."""

from __future__ import annotations

import io
import json
import os
import secrets
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from invoke_harness import SPEC, clear_invoke_caches, invoke_event
from service_harness import ACCOUNT_ID, REGION, TABLE_NAME, ApiResponse, FakeLambdaContext
from service_world import Service, aws_session
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.lambda_routing import routed_invocations
from toolgate_local.moto_callbacks import early_task_results_seen

from infra.asl import state_machine_definition

JOBS_FUNCTION = "toolgate-jobs"
EVENT_SOURCE = "toolgate.jobs"
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
#: A stop retried every 50 ms while moto starts the execution's worker: up to 30 s on a loaded machine.
_STOP_ATTEMPTS = 600


def synthesized_template(workdir: Path) -> dict[str, Any]:
    """The CDK stack's template, synthesized in this process (placeholder dependency layer)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from tests.infra.synth_helpers import synthesize

    synthesized = synthesize(workdir, nag=False)
    assert synthesized.synth_error is None, synthesized.synth_error
    path = synthesized.outdir / f"{synthesized.stack.artifact_id}.template.json"
    template: dict[str, Any] = json.loads(path.read_text())
    return template


class CallbackFront:
    """`POST /prod/v1/callbacks/{id}` on 127.0.0.1, as API Gateway (no authorizer) would serve it."""

    def __init__(self) -> None:
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                status, answer = front.handle(self.path, body)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.answers: list[tuple[int, dict[str, Any]]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/prod"

    def handle(self, path: str, body: bytes) -> tuple[int, bytes]:
        from functions.callback.handler import lambda_handler

        prefix = "/prod/v1/callbacks/"
        if not path.startswith(prefix):
            return 404, b'{"message":"Not Found"}'
        event = callback_event(path[len(prefix) :], body)
        raw = lambda_handler(event, FakeLambdaContext())
        self.answers.append((raw["statusCode"], json.loads(raw["body"])))
        return raw["statusCode"], raw["body"].encode()

    def __enter__(self) -> CallbackFront:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def callback_event(callback_id: str, body: bytes) -> dict[str, Any]:
    return {
        "resource": "/v1/callbacks/{callback_id}",
        "path": f"/v1/callbacks/{callback_id}",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "pathParameters": {"callback_id": callback_id},
        "requestContext": {"requestId": secrets.token_hex(8), "stage": "prod"},
        "body": body.decode("utf-8", errors="replace"),
        "isBase64Encoded": False,
    }


@dataclass
class Jobs:
    service: Service
    target: SupportDeskTarget
    front: CallbackFront
    state_machine_arn: str
    events_queue_url: str
    responses: list[str] = field(default_factory=list)

    def seed(self, tenant: str = "acme") -> None:
        """The Support Desk integration of `tenant`, served by the demo target, with its bearer token."""
        created = self.service.api(
            "POST",
            "/v1/integrations",
            tenant=tenant,
            body={"id": "support", "settings": {"assistants": ["desk"], "server_url": self.target.base_url}},
        )
        assert created.status == 201, created.body
        uploaded = self.service.api(
            "PUT",
            "/v1/integrations/support",
            tenant=tenant,
            body=SPEC,
            headers={"content-type": "application/yaml"},
        )
        assert uploaded.status == 200, uploaded.body
        bound = self.service.api(
            "PUT",
            "/v1/integrations/support/credential",
            tenant=tenant,
            body={"type": "bearer", "token": self.target.token},
        )
        assert bound.status == 200, bound.body
        case = self.invoke(
            "create_support_case",
            {"customer_id": "cust-42", "summary": "Printer on fire", "priority": "high"},
            tenant=tenant,
        )
        assert case.body["ok"] is True, case.body

    def invoke(self, tool: str, arguments: dict[str, Any], *, tenant: str = "acme") -> ApiResponse:
        from functions.invoke.handler import lambda_handler

        event = invoke_event("desk", tool, tenant=tenant, body={"arguments": arguments})
        return self._answer(lambda_handler(event, FakeLambdaContext()))

    def job(self, job_id: str, *, tenant: str = "acme", method: str = "GET") -> ApiResponse:
        from functions.invoke.handler import lambda_handler

        event = invoke_event("desk", "x", tenant=tenant, body=None)
        event.update(
            httpMethod=method,
            resource="/v1/jobs/{job_id}",
            path=f"/v1/jobs/{job_id}",
            pathParameters={"job_id": job_id},
            body=None,
        )
        return self._answer(lambda_handler(event, FakeLambdaContext()))

    def execution(self, job_id: str) -> dict[str, Any]:
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"
        description: dict[str, Any] = (
            aws_session().client("stepfunctions").describe_execution(executionArn=arn)
        )
        return description

    def wait_for_execution(self, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            description = self.execution(job_id)
            if description["status"] in TERMINAL or time.monotonic() > deadline:
                return description
            time.sleep(0.05)

    def wait_until_submitted(self, job_id: str, *, tenant: str = "acme", timeout: float = 60.0) -> None:
        """Until the state machine's Submit task has run for the job: its execution is then under way in
        moto, which cannot stop an execution whose worker has not started yet."""
        table = aws_session().resource("dynamodb").Table(TABLE_NAME)
        deadline = time.monotonic() + timeout
        while True:
            row = table.get_item(Key={"pk": tenant, "sk": f"JOB#{job_id}"}, ConsistentRead=True).get("Item")
            if (row is not None and row.get("submitted")) or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def history(self, job_id: str) -> list[dict[str, Any]]:
        arn = self.execution(job_id)["executionArn"]
        client = aws_session().client("stepfunctions")
        events: list[dict[str, Any]] = client.get_execution_history(executionArn=arn, maxResults=1000)[
            "events"
        ]
        return events

    def completion_events(self) -> list[dict[str, Any]]:
        sqs = aws_session().client("sqs")
        found: list[dict[str, Any]] = []
        for _ in range(5):
            messages = sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            found.extend(json.loads(message["Body"]) for message in messages)
            if not messages:
                break
        return found

    def _answer(self, raw: dict[str, Any]) -> ApiResponse:
        text = raw.get("body") or ""
        self.responses.append(text)
        return ApiResponse(status=raw["statusCode"], body=json.loads(text) if text else None, raw=raw)


def _clear_job_caches() -> None:
    from toolgate.settings import get_callback_settings, get_job_settings

    clear_invoke_caches()
    get_job_settings.cache_clear()
    get_callback_settings.cache_clear()


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "handler.py", "def lambda_handler(event, context):\n    raise RuntimeError('routed')\n"
        )
    return buffer.getvalue()


@contextmanager
def jobs_world(
    service: Service, monkeypatch: pytest.MonkeyPatch, template: dict[str, Any], **target_options: Any
) -> Iterator[Jobs]:
    from functions.jobs.handler import lambda_handler as jobs_handler

    session = aws_session()
    role = session.client("iam").create_role(RoleName="toolgate-jobs", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    function_arn = session.client("lambda").create_function(
        FunctionName=JOBS_FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="handler.lambda_handler",
        Code={"ZipFile": _dummy_zip()},
        Timeout=60,
    )["FunctionArn"]
    definition = state_machine_definition(
        template, {"jobs_function_arn": function_arn, "region": REGION, "account": ACCOUNT_ID}
    )
    state_machine_arn = session.client("stepfunctions").create_state_machine(
        name="toolgate-jobs", definition=definition, roleArn=role, type="STANDARD"
    )["stateMachineArn"]
    signing_secret = session.client("secretsmanager").create_secret(
        Name="toolgate/service/callback-signing-key", SecretString=secrets.token_urlsafe(48)
    )["ARN"]
    sqs = session.client("sqs")
    queue_url = sqs.create_queue(QueueName="job-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = session.client("events")
    events.put_rule(Name="job-completed", EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    events.put_targets(Rule="job-completed", Targets=[{"Id": "queue", "Arn": queue_arn}])

    with CallbackFront() as front, SupportDeskTarget(**target_options) as target:
        for name, value in {
            "TOOLGATE_RUNTIME__ALLOW_LOOPBACK": "true",
            "TOOLGATE_JOBS_STATE_MACHINE_ARN": state_machine_arn,
            "TOOLGATE_JOBS_FIRST_POLL_SECONDS": "0",
            "TOOLGATE_JOBS_MAX_POLL_INTERVAL_SECONDS": "0",
            "TOOLGATE_CALLBACK_BASE_URL": front.base_url,
            "TOOLGATE_CALLBACK_SIGNING_SECRET_ARN": signing_secret,
        }.items():
            monkeypatch.setenv(name, value)
        _clear_job_caches()
        try:
            with routed_invocations({JOBS_FUNCTION: jobs_handler}), early_task_results_seen():
                try:
                    yield Jobs(service, target, front, state_machine_arn, queue_url)
                finally:
                    _stop_executions(state_machine_arn)
        finally:
            _clear_job_caches()


def _stop_executions(state_machine_arn: str) -> None:
    """Abort what a test left running, so that no execution outlives its moto state."""
    client = aws_session().client("stepfunctions")
    running = client.list_executions(stateMachineArn=state_machine_arn, statusFilter="RUNNING")["executions"]
    for execution in running:
        _stop_when_started(client, execution["executionArn"])


def _stop_when_started(client: Any, execution_arn: str) -> None:
    """moto's StopExecution fails (AttributeError on the worker's missing environment) while the execution's
    worker thread is still starting; the stop is retried until that thread is up."""
    for _ in range(_STOP_ATTEMPTS - 1):
        try:
            client.stop_execution(executionArn=execution_arn)
            return
        except AttributeError:
            time.sleep(0.05)
    client.stop_execution(executionArn=execution_arn)
