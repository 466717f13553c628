"""The demo journey, from upload to grounded results, against a running local stack and the Support Desk
target: what `make demo` shows and what the end-to-end tests replay. Every step goes over HTTP to the
stack's front door, or to its S3 through moto, as a user or an agent would; the last step reaches the
assistant as an MCP server with the official MCP SDK client (`toolgate_demo.mcp_step`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from toolgate.errors import NotFoundError, RemoteApiError
from toolgate.service.layout import upload_key
from toolgate_cli.client import ToolgateClient, poll

from toolgate_demo import support_desk_spec
from toolgate_demo.target import SupportDeskTarget

if TYPE_CHECKING:
    from toolgate_demo.mcp_step import McpStepResult

TENANT = "acme"
INTEGRATION = "support"
ASSISTANT = "desk"
CASE = {"customer_id": "cust-42", "summary": "Printer on fire", "priority": "high"}
MCP_CASE = {"customer_id": "cust-42", "summary": "Paper jam after the fire", "priority": "medium"}
EXPORT = {"customer_id": "cust-42", "format": "json"}
#: What an agent asks tool search, in its own words rather than the spec's.
SEARCH_QUERY = "download every ticket of a customer as a file"


class JourneyError(RuntimeError):
    """A step of the journey did not give what it should."""


class Stack(Protocol):
    """What the journey needs of a running stack (`toolgate_local.stack.LocalStack`)."""

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
    #: Tokens the tool definitions add to every model request, as OpenAI's tokenizer counts them.
    openai_tokens: int = 0
    search_hits: list[str] = field(default_factory=list)
    case_result: dict[str, Any] = field(default_factory=dict)
    export_job: dict[str, Any] = field(default_factory=dict)
    report_job: dict[str, Any] = field(default_factory=dict)
    mcp: McpStepResult | None = None


def run_journey(
    stack: Stack, target: SupportDeskTarget, say: Callable[[str], None] = print, timeout: float = 60.0
) -> JourneyResult:
    """Bootstrap a tenant, upload the spec through S3, bind the credential, list the tools, call
    `create_support_case` as a model would, run one export by polling and one report by callback, then
    do it again as an MCP client with an agent key: list, create a case, and export as a task.
    A refusal by the API raises `toolgate.errors.RemoteApiError`; a wrong outcome, JourneyError."""
    say("1. Bootstrap tenant 'acme' and its first admin key")
    result = JourneyResult(api_key=stack.bootstrap_tenant(TENANT))
    api = ToolgateClient(stack.api_url, result.api_key)
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
    status, _ = poll(
        lambda: _status_once_created(api),
        lambda view: view.get("status") in ("ready", "failed"),
        timeout_seconds=timeout,
        first_delay_seconds=0.05,
    )
    if status.get("status") != "ready":
        raise JourneyError(f"the upload failed: {json.dumps(status)[:500]}")
    say(f"   integration '{INTEGRATION}' is ready (version {status.get('ready_version')})")

    say("3. Bind the bearer credential through the API (kept in Secrets Manager, never shown again)")
    api.bind_credential(INTEGRATION, {"type": "bearer", "token": target.token})

    say("4. List the assistant's tools as OpenAI and Anthropic take them, what they cost, and search them")
    openai = api.list_tools(ASSISTANT, "openai")
    anthropic = api.list_tools(ASSISTANT, "anthropic")
    result.tools_openai = [tool["function"]["name"] for tool in openai["tools"]]
    result.tools_anthropic = [tool["name"] for tool in anthropic["tools"]]
    say(f"   openai: {', '.join(result.tools_openai)}")
    say(
        f"   anthropic: {len(result.tools_anthropic)} tools, e.g. "
        f"{json.dumps(anthropic['tools'][0])[:160]}..."
    )
    result.openai_tokens = openai["token_count"]
    say(
        f"   they add {openai['token_count']} tokens to every OpenAI request ({openai['tokenizer']}), "
        f"about {anthropic['token_count']} to every Anthropic one"
    )
    found = api.request(
        "GET",
        ["assistants", ASSISTANT, "tools"],
        query={"format": "openai", "query": SEARCH_QUERY, "limit": "3"},
    )
    result.search_hits = [tool["function"]["name"] for tool in found["tools"]]
    if not result.search_hits:
        raise JourneyError(f"tool search found nothing for {SEARCH_QUERY!r}")
    say(f"   tool search for '{SEARCH_QUERY}': {', '.join(result.search_hits)}")

    say("5. Invoke create_support_case with the tool call an OpenAI model produced")
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "create_support_case", "arguments": json.dumps(CASE)},
    }
    answer = api.invoke_call(ASSISTANT, "create_support_case", call)
    envelope = json.loads(answer["content"])
    if not envelope.get("ok"):
        raise JourneyError(f"create_support_case failed: {json.dumps(envelope)[:500]}")
    result.case_result = envelope
    say(f"   tool message for the model: {json.dumps(answer)[:300]}")
    say(f"   grounded: the API created case {envelope['body']['case_id']}")

    say("6. Export the customer's cases: a long-running operation, polled by the state machine")
    result.export_job = _run_job(api, "start_case_export", EXPORT, timeout)
    say(_job_line(result.export_job))

    say("7. Generate a case report: the target POSTs it to a signed callback URL")
    result.report_job = _run_job(api, "generate_case_report", {"customer_id": CASE["customer_id"]}, timeout)
    say(_job_line(result.report_job))

    # The MCP SDK takes seconds to import; `python -m toolgate_demo --help` does not need it.
    from toolgate_demo.mcp_step import run_mcp_step  # noqa: PLC0415

    mcp_url = f"{stack.api_url}assistants/{ASSISTANT}/mcp"
    say(f"8. The assistant as an MCP server: the official MCP SDK client at {mcp_url}")
    agent_key = api.request("POST", ["api-keys"], {"role": "agent", "principal": "mcp-demo"})["key"]
    say(f"   with a new agent key {agent_key[:16]}... as Authorization: Bearer (protocol 2026-07-28)")
    result.mcp = run_mcp_step(mcp_url, agent_key, MCP_CASE, EXPORT, say=say, timeout=timeout)
    return result


def _job_line(job: Mapping[str, Any]) -> str:
    return f"   job {job['job_id']}: {job['status']}, result {json.dumps(job.get('result'))[:200]}"


def _status_once_created(api: ToolgateClient) -> dict[str, Any]:
    """The integration's status; empty until the upload function has created it."""
    try:
        return api.integration_status(INTEGRATION)
    except RemoteApiError as error:
        if error.api_code != NotFoundError.code:
            raise
        return {}


def _run_job(api: ToolgateClient, tool: str, arguments: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    started = api.invoke(ASSISTANT, tool, arguments)
    if started.get("status") != 202:
        raise JourneyError(f"{tool} did not start a job: {json.dumps(started)[:500]}")
    job_id = started["body"]["job_id"]
    view = api.wait_for_job(job_id, timeout_seconds=timeout, first_delay_seconds=0.05, max_delay_seconds=1.0)
    if view["status"] != "succeeded":
        raise JourneyError(f"job {job_id} ended {view['status']}: {json.dumps(view.get('error'))}")
    return view
