"""`toolgate mcp-config`: each client's snippet names the assistant's MCP URL and the Authorization header,
leaves the key to the client, is valid JSON where it is JSON, and survives the shell where it is a command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest
from toolgate_cli.main import main

ENDPOINT = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/v1/"
MCP_URL = ENDPOINT + "assistants/desk/mcp"
KEY = "tg_acme_0123456789abcdef_CanaryCanaryCanaryCanaryCanary42"
CLIENTS = ["claude", "claude-desktop", "cursor", "vscode", "generic"]
JSON_CLIENTS = [client for client in CLIENTS if client != "claude"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(["mcp-config", *argv])
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("client", CLIENTS)
def test_mcp_config_never_prints_the_api_key(
    client: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOLGATE_API_KEY", KEY)
    monkeypatch.setenv("TOOLGATE_ENDPOINT", ENDPOINT)
    status, out, err = run(capsys, "desk", "--client", client)
    assert status == 0, err
    assert MCP_URL in out
    assert KEY not in out and KEY not in err
    assert "CanaryCanary" not in out + err


def test_an_api_key_flag_is_refused_rather_than_echoed_into_a_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "desk", "--endpoint", ENDPOINT, "--api-key", KEY)
    assert status == 2
    assert err.startswith("error[USAGE]")
    assert KEY not in out


@pytest.mark.parametrize("client", JSON_CLIENTS)
def test_json_snippets_parse_as_json_with_the_url_and_a_deferred_bearer_header(
    client: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "desk", "--client", client, "--endpoint", ENDPOINT)
    assert status == 0
    snippet = json.loads(out)
    assert MCP_URL in json.dumps(snippet)
    assert "Bearer" in json.dumps(snippet)


def test_cursor_snippet_reads_the_key_from_the_environment_when_cursor_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = run(capsys, "desk", "--client", "cursor", "--endpoint", ENDPOINT)
    server = json.loads(out)["mcpServers"]["toolgate-desk"]
    assert server == {"url": MCP_URL, "headers": {"Authorization": "Bearer ${env:TOOLGATE_API_KEY}"}}


def test_vscode_snippet_prompts_for_the_key_as_a_password_input(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "desk", "--client", "vscode", "--endpoint", ENDPOINT)
    config: dict[str, Any] = json.loads(out)
    (prompt,) = config["inputs"]
    assert prompt["type"] == "promptString" and prompt["password"] is True
    server = config["servers"]["toolgate-desk"]
    assert server["type"] == "http" and server["url"] == MCP_URL
    assert server["headers"] == {"Authorization": f"Bearer ${{input:{prompt['id']}}}"}


def test_claude_desktop_snippet_bridges_with_the_header_from_its_env_block(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = run(capsys, "desk", "--client", "claude-desktop", "--endpoint", ENDPOINT)
    server = json.loads(out)["mcpServers"]["toolgate-desk"]
    assert server["command"] == "npx"
    assert server["args"][:3] == ["-y", "mcp-remote", MCP_URL]
    assert server["args"][-2:] == ["--header", "Authorization:${TOOLGATE_AUTH_HEADER}"]
    assert server["env"] == {"TOOLGATE_AUTH_HEADER": "Bearer <your Toolgate API key>"}


def test_generic_snippet_names_the_url_the_header_and_the_key_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = run(capsys, "desk", "--endpoint", ENDPOINT)
    snippet = json.loads(out)
    assert snippet["url"] == MCP_URL
    assert snippet["transport"] == "streamable-http"
    assert snippet["header"] == "Authorization"
    assert snippet["api_key_env"] == "TOOLGATE_API_KEY"


def shell_arguments(command: str, environment: dict[str, str]) -> list[str]:
    """The arguments bash hands to `claude` when the printed command runs, one per line."""
    stub = 'claude() { printf "%s\\0" "$@"; }\n'
    completed = subprocess.run(
        [shutil.which("bash") or "/bin/bash", "--norc", "--noprofile", "-c", stub + command],
        env=environment,
        capture_output=True,
        check=True,
        timeout=30,
    )
    return completed.stdout.decode().split("\0")[:-1]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to run the printed command")
def test_claude_code_command_survives_the_shell_with_a_hostile_endpoint_and_expands_the_key_only_there(
    capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    marker = tmp_path / "pwned"
    hostile = f"https://example.com/x'$(touch {marker})`touch {marker}`;\"/prod/v1/"
    status, out, err = run(capsys, "desk", "--client", "claude", "--endpoint", hostile)
    assert status == 0, err
    command = out.strip()
    assert KEY not in command
    arguments = shell_arguments(command, {"PATH": os.environ["PATH"], "TOOLGATE_API_KEY": KEY})
    assert not marker.exists(), "the endpoint ran a command in the shell"
    assert arguments == [
        "mcp",
        "add",
        "--transport",
        "http",
        "toolgate-desk",
        hostile + "assistants/desk/mcp",
        "--header",
        f"Authorization: Bearer {KEY}",
    ]


@pytest.mark.parametrize(
    "assistant",
    ["Desk", "desk/../../api-keys", "-desk", "desk\nX-Injected: 1", "d" * 64, "desk'; rm -rf ~", ""],
)
def test_an_assistant_that_is_not_an_id_is_refused_before_any_url_is_built(
    assistant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, assistant, "--endpoint", ENDPOINT)
    assert status == 2
    assert out == ""
    assert err.startswith("error[ASSISTANT_ID_INVALID]:") or err.startswith("error[USAGE]")
    assert "\nX-Injected" not in err


def test_mcp_config_without_an_endpoint_says_where_to_get_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOOLGATE_ENDPOINT", raising=False)
    status, out, err = run(capsys, "desk", "--client", "cursor")
    assert (status, out) == (2, "")
    assert err.startswith("error[CLIENT_CONFIG_INVALID]: No endpoint")


def test_mcp_config_refuses_plain_http_to_another_machine_the_key_would_cross_in_clear(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "desk", "--client", "cursor", "--endpoint", "http://example.com/prod/v1/")
    assert (status, out) == (2, "")
    assert err.startswith("error[CLIENT_CONFIG_INVALID]")


def test_mcp_config_accepts_the_local_stack_over_plain_http(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "desk", "--endpoint", "http://127.0.0.1:3000/prod/v1")
    assert status == 0
    assert json.loads(out)["url"] == "http://127.0.0.1:3000/prod/v1/assistants/desk/mcp"


def test_an_unknown_client_is_a_usage_error_listing_the_clients(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "desk", "--client", "emacs", "--endpoint", ENDPOINT)
    assert (status, out) == (2, "")
    assert err.startswith("error[USAGE]") and "cursor" in err
