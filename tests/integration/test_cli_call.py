"""`toolgate call` against a real server on 127.0.0.1, with the Support Desk fixture spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from toolgate_cli.main import main
from toolgate_demo import support_desk_spec

from tests.integration.runtime_servers import Reply, Seen, json_reply, serve

SPEC = support_desk_spec()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    status = main(["call", str(SPEC), *argv])
    return status, json.loads(capsys.readouterr().out)


def test_call_prints_the_envelope_of_a_live_call(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    credential = tmp_path / "credential.json"
    credential.write_text('{"type": "bearer", "token": "cli-token-1"}')

    def cases(seen: Seen) -> Reply:
        return json_reply(json.dumps({"cases": [{"case_id": "c1", "customer_id": "cus_9"}]}).encode())

    with serve(cases) as server:
        status, envelope = run(
            capsys,
            "listSupportCases",
            "--args",
            '{"customer_id": "cus_9", "status": ["open", "pending"]}',
            "--credential",
            str(credential),
            "--server",
            f"{server.url}/api",
            "--allow-private",
        )
        seen = server.seen[0]
    assert status == 0
    assert envelope["ok"] is True and envelope["status"] == 200
    assert envelope["body"] == {"cases": [{"case_id": "c1", "customer_id": "cus_9"}]}
    assert seen.path == "/api/support/cases?customer_id=cus_9&status=open,pending"
    assert seen.header("Authorization") == "Bearer cli-token-1"


def test_call_without_allow_private_refuses_a_local_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    credential = tmp_path / "credential.json"
    credential.write_text('{"type": "bearer", "token": "t"}')
    with serve(lambda _: json_reply()) as server:
        status, envelope = run(
            capsys,
            "getSupportCase",
            "--args",
            '{"case_id": "c1"}',
            "--credential",
            str(credential),
            "--server",
            server.url,
        )
        assert server.count() == 0
    assert status == 1
    assert envelope["error"]["code"] == "EGRESS_DENIED"


def test_call_without_a_credential_names_the_missing_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    status, envelope = run(capsys, "getSupportCase", "--args", '{"case_id": "c1"}', "--allow-private")
    assert status == 1
    error = envelope["error"]
    assert error["code"] == "CREDENTIAL_MISSING" and "bearerAuth" in error["message"]


def test_call_of_an_unknown_tool_lists_the_tools(capsys: pytest.CaptureFixture[str]) -> None:
    status, envelope = run(capsys, "no_such_tool")
    assert status == 2
    error = envelope["error"]
    assert error["code"] == "TOOL_NOT_FOUND" and "getSupportCase" not in error["message"]
    assert "get_support_case" in error["message"]


def test_call_with_a_malformed_credential_file_does_not_echo_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    credential = tmp_path / "credential.json"
    credential.write_text('{"type": "bearer", "tokn": "leaky-value"}')
    status, envelope = run(capsys, "getSupportCase", "--credential", str(credential))
    assert status == 2
    assert envelope["error"]["code"] == "CREDENTIAL_INVALID"
    assert "leaky-value" not in json.dumps(envelope)


def test_call_with_invalid_arguments_lists_the_problems(capsys: pytest.CaptureFixture[str]) -> None:
    status, envelope = run(capsys, "listSupportCases", "--args", '{"limit": 500}', "--allow-private")
    assert status == 1
    error = envelope["error"]
    assert error["code"] == "ARGUMENTS_INVALID"
    assert {problem["path"] for problem in error["details"]} >= {"/limit"}


def run_with_stderr(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    status = main(["call", *argv])
    captured = capsys.readouterr()
    return status, json.loads(captured.out), captured.err


@pytest.mark.parametrize("missing", ["spec", "credential"])
def test_call_with_a_missing_file_is_an_io_error_envelope_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, missing: str
) -> None:
    absent = tmp_path / "absent.json"
    spec = absent if missing == "spec" else SPEC
    status, envelope, err = run_with_stderr(capsys, str(spec), "getSupportCase", "--credential", str(absent))

    assert status == 2
    assert envelope == {
        "ok": False,
        "error": {"code": "IO_ERROR", "message": f"No such file or directory: {absent}"},
    }
    assert err == f"error[IO_ERROR]: No such file or directory: {absent}\n"


@pytest.mark.parametrize(
    ("argv", "status_expected", "code"),
    [
        (["no_such_tool"], 2, "TOOL_NOT_FOUND"),
        (["getSupportCase", "--args", "{case_id: c1"], 1, "ARGUMENTS_INVALID"),
        (["getSupportCase", "--args", "[1, 2]"], 1, "ARGUMENTS_INVALID"),
    ],
    ids=["unknown-tool", "args-not-json", "args-not-an-object"],
)
def test_call_failures_print_the_envelope_and_one_error_line_on_stderr(
    capsys: pytest.CaptureFixture[str], argv: list[str], status_expected: int, code: str
) -> None:
    status, envelope, err = run_with_stderr(capsys, str(SPEC), *argv)

    assert status == status_expected
    assert envelope["ok"] is False and envelope["error"]["code"] == code
    assert err == f"error[{code}]: {envelope['error']['message']}\n"


def test_malformed_credential_file_is_not_echoed_on_stderr_either(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    credential = tmp_path / "credential.json"
    credential.write_text('{"type": "api_key", "valu": "canary-cli-4d1f"}')
    status, envelope, err = run_with_stderr(
        capsys, str(SPEC), "getSupportCase", "--credential", str(credential)
    )

    assert status == 2 and err.startswith("error[CREDENTIAL_INVALID]: ")
    assert "canary-cli-4d1f" not in err + json.dumps(envelope)
