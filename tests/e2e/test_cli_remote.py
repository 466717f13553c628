"""`toolgate upload`, `tools`, `invoke` and `jobs` against the local stack's front door, as a user or an
agent runs them: real HTTP, the real authorizer, handlers and state machine, and the Support Desk target.

The CLI runs in this process (`main([...])`), like the handlers behind the front door, so their metrics
are switched off: Powertools prints them on standard output, which is the CLI's.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import support_desk_tools
from toolgate_cli.client import ToolgateClient, poll
from toolgate_cli.main import main
from toolgate_demo import support_desk_spec
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack

from tests.integration.runtime_servers import Reply, Seen, json_reply, serve

SPEC = support_desk_spec()
TENANT = "acme"
INTEGRATION = "support"
ASSISTANT = "desk"
#: Status polls start at once and do not back off, so exports end in well under a second.
FAST_JOBS = {"TOOLGATE_JOBS_FIRST_POLL_SECONDS": "0", "TOOLGATE_JOBS_POLL_BACKOFF": "1"}
WRONG_KEY = "tg_acme_0123456789abcdef_NotTheSecretNotTheSecretNotTheSecret0"


@pytest.fixture(scope="module")
def stack(stack_template: Path, support_desk: SupportDeskTarget) -> Iterator[LocalStack]:
    environment = {"POWERTOOLS_METRICS_DISABLED": "true", **FAST_JOBS}
    with LocalStack(stack_template, loopback_ports={support_desk.port}, environment=environment) as local:
        yield local


@pytest.fixture(scope="module")
def admin_key(stack: LocalStack, support_desk: SupportDeskTarget) -> str:
    """Tenant acme's admin key, with the Support Desk set up through the Python client."""
    key = stack.bootstrap_tenant(TENANT)
    with ToolgateClient(stack.api_url, key) as client:
        client.ensure_integration(INTEGRATION, assistants=[ASSISTANT], server_url=support_desk.base_url)
        client.upload_spec(INTEGRATION, SPEC.read_bytes(), "yaml")
        client.bind_credential(INTEGRATION, {"type": "bearer", "token": support_desk.token})
    return key


@dataclass
class Run:
    status: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error_codes(self) -> list[str]:
        return [line[6 : line.index("]")] for line in self.err.splitlines() if line.startswith("error[")]


@dataclass
class Cli:
    """`toolgate ...` with an endpoint and key as flags; every run is checked for the key in its output."""

    capsys: pytest.CaptureFixture[str]
    endpoint: str
    key: str

    def __call__(self, *argv: str, key: str | None = None, endpoint: str | None = None) -> Run:
        used_key = key if key is not None else self.key
        try:
            status = main([*argv, "--endpoint", endpoint or self.endpoint, "--api-key", used_key])
        except SystemExit as exit_:
            status = int(exit_.code or 0)
        out, err = self.capsys.readouterr()
        # The handlers share this process and print their metrics (EMF lines) to stdout, as in Lambda;
        # the CLI's JSON is indented, so no line of it starts like one.
        out = "".join(line for line in out.splitlines(keepends=True) if not line.startswith('{"_aws":'))
        secret = used_key.strip()
        assert not secret or (secret not in out and secret not in err), "the API key was printed"
        return Run(status, out, err)


@pytest.fixture
def cli(stack: LocalStack, admin_key: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, stack.api_url, admin_key)


def test_upload_then_tools_then_invoke_reaches_the_support_desk_with_the_bound_credential(
    cli: Cli, support_desk: SupportDeskTarget, tmp_path: Path
) -> None:
    credential = tmp_path / "credential.json"
    credential.write_text(json.dumps({"type": "bearer", "token": support_desk.token}))

    uploaded = cli(
        "upload",
        "desk-cli",
        str(SPEC),
        "--assistant",
        "cli-bot",
        "--server-url",
        support_desk.base_url,
        "--credential-file",
        str(credential),
    )
    listed = cli("tools", "cli-bot", "--format", "anthropic")
    arguments = {"customer_id": "cust-cli", "summary": "Screen flickers", "priority": "low"}
    invoked = cli("invoke", "cli-bot", "create_support_case", "--args", json.dumps(arguments))

    assert uploaded.status == 0, uploaded.err
    view = uploaded.json
    assert (view["id"], view["status"]) == ("desk-cli", "ready")
    assert view["ready"]["tool_count"] == len(support_desk_tools())
    assert view["settings"]["assistants"] == ["cli-bot"]
    assert view["credential"]["bound"] is True and view["credential"]["type"] == "bearer"
    assert "integration desk-cli: ready" in uploaded.err and "findings:" in uploaded.err
    assert support_desk.token not in uploaded.out + uploaded.err

    assert listed.status == 0, listed.err
    assert {tool["name"] for tool in listed.json["tools"]} >= support_desk_tools()
    assert listed.json["format"] == "anthropic"

    assert invoked.status == 0, invoked.err
    (case,) = [case for case in support_desk.cases if case["customer_id"] == "cust-cli"]
    assert invoked.json["ok"] is True
    assert invoked.json["body"] == {"case_id": case["case_id"], "status": "open"}
    assert support_desk.requests[-1].authorized is True


def test_upload_again_joins_another_assistant_and_keeps_the_server_url(
    cli: Cli, support_desk: SupportDeskTarget
) -> None:
    first = cli(
        "upload", "desk-twice", str(SPEC), "--assistant", "one", "--server-url", support_desk.base_url
    )
    second = cli("upload", "desk-twice", str(SPEC), "--assistant", "two")

    assert (first.status, second.status) == (0, 0), first.err + second.err
    assert second.json["settings"]["assistants"] == ["one", "two"]
    assert second.json["settings"]["server_url"] == support_desk.base_url
    assert second.json["ready"]["number"] > first.json["ready"]["number"]
    assert cli("tools", "two").status == 0


def test_spec_that_is_not_openapi_fails_with_its_code_and_the_ready_version_stays(
    cli: Cli, stack: LocalStack, tmp_path: Path
) -> None:
    not_openapi = tmp_path / "openapi.json"
    not_openapi.write_text(json.dumps({"hello": "world"}))
    assert cli("upload", "desk-kept", str(SPEC)).status == 0

    failed = cli("upload", "desk-kept", str(not_openapi))

    assert failed.status == 2
    assert failed.error_codes == ["SPEC_NOT_OPENAPI"]
    assert failed.out == ""
    with ToolgateClient(stack.api_url, cli.key) as client:
        status = client.integration_status("desk-kept")
    assert status["ready_version"] == 1
    assert status["last_upload"]["error"]["code"] == "SPEC_NOT_OPENAPI"


def test_upload_through_a_presigned_s3_url_waits_for_the_upload_function(cli: Cli) -> None:
    uploaded = cli("upload", "desk-s3", str(SPEC), "--assistant", "s3-bot", "--via-s3")

    assert uploaded.status == 0, uploaded.err
    assert uploaded.json["status"] == "ready"
    assert uploaded.json["last_upload"]["source"]["kind"] == "s3"
    assert uploaded.json["ready"]["tool_count"] == len(support_desk_tools())


def _rename_overlay(folder: Path, old: str, new: str, name: str = "names.overlay.yaml") -> Path:
    path = folder / name
    actions = [{"target": f"$.paths.*[?@.operationId == '{old}']", "update": {"operationId": new}}]
    path.write_text(
        json.dumps({"overlay": "1.1.0", "info": {"title": name, "version": "1"}, "actions": actions})
    )
    return path


@pytest.mark.parametrize("route", [[], ["--via-s3"]], ids=["api", "s3"])
def test_upload_with_overlays_applies_them_in_order_and_records_their_digests(
    cli: Cli, tmp_path: Path, route: list[str]
) -> None:
    first = _rename_overlay(tmp_path, "listSupportCases", "find_cases", "first.yaml")
    second = _rename_overlay(tmp_path, "find_cases", "search_cases", "second.yaml")
    integration = f"desk-overlay-{len(route)}"

    uploaded = cli(
        "upload",
        integration,
        str(SPEC),
        "--assistant",
        f"{integration}-bot",
        "--overlay",
        str(first),
        "--overlay",
        str(second),
        *route,
    )

    assert uploaded.status == 0, uploaded.err
    ready = uploaded.json["ready"]
    assert [overlay["name"] for overlay in ready["overlays"]] == [
        "overlays/01-first.overlay.yaml",
        "overlays/02-second.overlay.yaml",
    ]
    assert all(len(overlay["sha256"]) == 64 for overlay in ready["overlays"])
    listed = cli("tools", f"{integration}-bot", "--format", "anthropic")
    names = {tool["name"] for tool in listed.json["tools"]}
    assert "search_cases" in names and "find_cases" not in names and "list_support_cases" not in names


def test_upload_with_an_invalid_overlay_exits_2_and_the_ready_version_stays(cli: Cli, tmp_path: Path) -> None:
    assert cli("upload", "desk-bad-overlay", str(SPEC)).status == 0
    broken = tmp_path / "broken.overlay.yaml"
    broken.write_text(
        "overlay: 1.1.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.paths[?@.x ==]\n"
    )

    failed = cli("upload", "desk-bad-overlay", str(SPEC), "--overlay", str(broken))

    assert failed.status == 2
    assert failed.error_codes == ["OVERLAY_INVALID"]
    assert "/actions/0/target" in failed.err
    with ToolgateClient(cli.endpoint, cli.key) as client:
        status = client.integration_status("desk-bad-overlay")
    assert status["ready_version"] == 1
    assert status["last_upload"]["error"]["code"] == "OVERLAY_INVALID"


def test_credential_file_that_is_not_json_is_refused_without_quoting_it(cli: Cli, tmp_path: Path) -> None:
    credential = tmp_path / "credential.json"
    credential.write_text("token: hunter2-very-secret")

    run = cli("upload", "desk-no-cred", str(SPEC), "--credential-file", str(credential))

    assert run.status == 2
    assert run.error_codes == ["CREDENTIAL_INVALID"]
    assert "hunter2" not in run.out + run.err


def test_invoke_with_one_idempotency_key_creates_one_case(cli: Cli, support_desk: SupportDeskTarget) -> None:
    arguments = json.dumps({"customer_id": "cust-once", "summary": "Twice sent", "priority": "high"})
    calls = [
        cli("invoke", ASSISTANT, "create_support_case", "--args", arguments, "--idempotency-key", "once-1")
        for _ in range(2)
    ]

    assert [call.status for call in calls] == [0, 0]
    assert calls[0].json["body"] == calls[1].json["body"]
    assert len([case for case in support_desk.cases if case["customer_id"] == "cust-once"]) == 1


def test_invoke_reads_arguments_from_a_file(
    cli: Cli, support_desk: SupportDeskTarget, tmp_path: Path
) -> None:
    arguments = tmp_path / "arguments.json"
    arguments.write_text(
        json.dumps({"customer_id": "cust-file", "summary": "From a file", "priority": "low"})
    )

    run = cli("invoke", ASSISTANT, "create_support_case", "--args-file", str(arguments))

    assert run.status == 0, run.err
    assert [case["summary"] for case in support_desk.cases if case["customer_id"] == "cust-file"] == [
        "From a file"
    ]


def test_tool_call_that_failed_at_the_api_exits_1_with_the_result(cli: Cli) -> None:
    run = cli("invoke", ASSISTANT, "get_support_case", "--args", '{"case_id": "no-such-case"}')

    assert run.status == 1
    assert run.json["ok"] is False
    assert run.json["status"] == 404
    assert run.error_codes == [run.json["error"]["code"]] == ["UPSTREAM_HTTP_ERROR"]


def test_tool_the_assistant_does_not_have_is_refused_with_an_error_envelope(cli: Cli) -> None:
    run = cli("invoke", ASSISTANT, "drop_all_tables", "--args", "{}")

    assert run.status == 2
    assert run.json == {
        "ok": False,
        "error": {"code": "TOOL_NOT_AVAILABLE", "message": run.json["error"]["message"]},
    }
    assert run.error_codes == ["TOOL_NOT_AVAILABLE"]


def test_arguments_that_are_not_a_json_object_are_refused_before_any_request(cli: Cli) -> None:
    run = cli("invoke", ASSISTANT, "create_support_case", "--args", '["cust-42"]')

    assert run.status == 2
    assert run.json["error"]["code"] == "ARGUMENTS_INVALID"


def test_wrong_key_is_refused_as_api_key_invalid_and_never_printed(cli: Cli) -> None:
    runs = [
        cli("tools", ASSISTANT, key=WRONG_KEY),
        cli("invoke", ASSISTANT, "create_support_case", "--args", "{}", key=WRONG_KEY),
        cli("jobs", "get", "job_whatever", key=WRONG_KEY),
    ]

    assert [run.status for run in runs] == [2, 2, 2]
    assert [run.error_codes for run in runs] == [["API_KEY_INVALID"]] * 3
    assert all(WRONG_KEY not in run.out + run.err for run in runs)


def test_agent_key_lists_and_calls_tools_but_cannot_upload(cli: Cli, stack: LocalStack) -> None:
    with ToolgateClient(stack.api_url, cli.key) as client:
        agent_key = client.request("POST", ["api-keys"], {"role": "agent", "principal": "support-bot"})["key"]

    listed = cli("tools", ASSISTANT, "--format", "openai", key=agent_key)
    upload = cli("upload", "agent-upload", str(SPEC), key=agent_key)

    assert listed.status == 0
    assert {tool["function"]["name"] for tool in listed.json["tools"]} >= support_desk_tools()
    assert upload.status == 2
    assert upload.error_codes == ["ROLE_FORBIDDEN"]


def test_unknown_job_is_job_not_found(cli: Cli) -> None:
    run = cli("jobs", "get", "job_NoSuchJobNoSuchJobNoSuch")

    assert run.status == 2
    assert run.error_codes == ["JOB_NOT_FOUND"]
    assert run.out == ""


def test_jobs_wait_follows_an_export_to_its_result(cli: Cli) -> None:
    arguments = json.dumps({"customer_id": "cust-export", "format": "json"})
    started = cli("invoke", ASSISTANT, "start_case_export", "--args", arguments)
    job_id = started.json["job"]["job_id"]

    waited = cli("jobs", "wait", job_id, "--timeout", "30")
    read = cli("jobs", "get", job_id)

    assert started.status == 0 and started.json["status"] == 202
    assert f"jobs wait {job_id}" in started.err
    assert waited.status == 0, waited.err
    assert waited.json["status"] == "succeeded"
    assert waited.json["result"]["download"]["media_type"] == "application/json"
    assert read.json == waited.json


def test_jobs_wait_exits_1_for_a_job_that_failed(cli: Cli) -> None:
    started = cli("invoke", ASSISTANT, "generate_case_report", "--args", '{"customer_id": "nobody"}')

    waited = cli("jobs", "wait", started.json["job"]["job_id"], "--timeout", "30")

    assert waited.status == 1, waited.err
    assert waited.json["status"] == "failed"
    assert waited.error_codes == [waited.json["error"]["code"]]


def test_cancelled_job_cannot_be_cancelled_again(cli: Cli) -> None:
    arguments = json.dumps({"customer_id": "cust-cancel", "format": "csv"})
    job_id = cli("invoke", ASSISTANT, "start_case_export", "--args", arguments).json["job"]["job_id"]

    first = cli("jobs", "cancel", job_id)
    second = cli("jobs", "cancel", job_id)

    assert first.status == 0, first.err
    assert (first.json["status"], first.json["error"]["code"]) == ("cancelled", "JOB_CANCELLED")
    assert second.status == 2
    assert second.error_codes == ["JOB_NOT_RUNNING"]


def test_endpoint_and_key_come_from_the_environment(
    stack: LocalStack, admin_key: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOLGATE_ENDPOINT", stack.api_url)
    monkeypatch.setenv("TOOLGATE_API_KEY", admin_key)

    status = main(["tools", ASSISTANT, "--format", "mcp"])
    out, err = capsys.readouterr()

    assert status == 0, err
    assert {tool["name"] for tool in json.loads(out)["tools"]} >= support_desk_tools()
    assert admin_key not in out + err


def test_endpoint_without_the_v1_base_is_named_route_not_found(cli: Cli, stack: LocalStack) -> None:
    run = cli("tools", ASSISTANT, endpoint=stack.api_url.removesuffix("v1/"))

    assert run.status == 2
    assert run.error_codes == ["ROUTE_NOT_FOUND"]
    assert "ApiUrl" in run.err


# --- Without the stack ---------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_endpoint_is_api_unreachable_without_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(capsys, f"http://127.0.0.1:{_closed_port()}/prod/v1/", WRONG_KEY)

    run = cli("jobs", "cancel", "job_x")

    assert run.status == 2
    assert run.error_codes == ["API_UNREACHABLE"]
    assert "refused" in run.err


@pytest.mark.parametrize(
    ("endpoint", "key"),
    [
        ("http://toolgate.example.com/prod/v1/", WRONG_KEY),
        ("ftp://127.0.0.1/prod/v1/", WRONG_KEY),
        ("https://admin:s3cr3t-pw@toolgate.example.com/prod/v1/", WRONG_KEY),
        ("https://toolgate.example.com/prod/v1/", WRONG_KEY + "\r\nX-Injected: 1"),
        ("https://toolgate.example.com/prod/v1/", "   "),
    ],
    ids=["plain-http-to-another-host", "not-http", "credentials-in-url", "key-with-newline", "blank-key"],
)
def test_bad_endpoint_or_key_is_refused_before_any_request(
    capsys: pytest.CaptureFixture[str], endpoint: str, key: str
) -> None:
    run = Cli(capsys, endpoint, key)("tools", ASSISTANT)

    assert run.status == 2
    assert run.error_codes == ["CLIENT_CONFIG_INVALID"]
    assert "s3cr3t-pw" not in run.out + run.err


def test_missing_key_names_the_variable_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOOLGATE_API_KEY", raising=False)

    status = main(["jobs", "get", "job_x", "--endpoint", "https://toolgate.example.com/prod/v1/"])

    err = capsys.readouterr().err
    assert status == 2
    assert "error[CLIENT_CONFIG_INVALID]" in err
    assert "TOOLGATE_API_KEY" in err


def test_poll_returns_the_last_value_when_the_time_runs_out() -> None:
    reads = iter(range(100))

    value, done = poll(
        lambda: next(reads), lambda read: read > 1000, timeout_seconds=0.05, first_delay_seconds=0.01
    )

    assert done is False
    assert value >= 1


def test_key_echoed_by_the_server_is_blotted_out_of_the_output(capsys: pytest.CaptureFixture[str]) -> None:
    def echo(seen: Seen) -> Reply:
        said = json.dumps(
            {"error": {"code": "NOT_FOUND", "message": f"You sent {seen.header('Authorization')}"}}
        )
        return json_reply(said.encode(), status=404)

    with serve(echo) as server:
        run = Cli(capsys, f"{server.url}/prod/v1/", WRONG_KEY)("tools", ASSISTANT)

    assert run.status == 2
    assert run.err.startswith("error[NOT_FOUND]: You sent Bearer [api key]")


def test_redirect_is_not_followed_and_the_key_goes_nowhere_else(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(lambda seen: json_reply()) as elsewhere:
        with serve(lambda seen: Reply(status=302, headers={"Location": f"{elsewhere.url}/v1/"})) as api:
            run = Cli(capsys, f"{api.url}/prod/v1/", WRONG_KEY)("tools", ASSISTANT)
        assert elsewhere.seen == []

    assert run.status == 2
    assert run.error_codes == ["API_RESPONSE_INVALID"]


def test_reads_are_retried_on_503_but_tool_calls_are_not(capsys: pytest.CaptureFixture[str]) -> None:
    unavailable = json_reply(b'{"error": {"code": "STORE_UNAVAILABLE", "message": "retry"}}', status=503)

    def flaky(seen: Seen) -> Reply:
        return (
            unavailable if len(server.seen) < 3 else json_reply(b'{"job_id": "job_x", "status": "running"}')
        )

    with serve(flaky) as server:
        cli = Cli(capsys, f"{server.url}/prod/v1/", WRONG_KEY)
        read = cli("jobs", "get", "job_x")
        reads = len(server.seen)
        server.seen.clear()
        called = cli("invoke", ASSISTANT, "create_support_case", "--args", "{}")

    assert (read.status, read.json["job_id"], reads) == (0, "job_x", 3)
    assert (called.status, called.error_codes, len(server.seen)) == (2, ["STORE_UNAVAILABLE"], 1)
