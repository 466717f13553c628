"""`toolgate local up` as a user runs it: the startup report, serving, and a clean stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from synthetic_stack import STAGE, template, write_stack

READY = "Serving; press Ctrl-C to stop."


def _start(tmp_path: Path, *arguments: str) -> tuple[subprocess.Popen[str], list[str]]:
    path, functions = write_stack(tmp_path, template(tmp_path))
    command = [sys.executable, "-m", "toolgate_cli", "local", "up", "--template", str(path)]
    command += ["--functions-dir", str(functions), "--port", "0", "--moto-port", "0", *arguments]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while READY not in lines:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"local up ended early: {process.communicate()[1]}")
        lines.append(line.rstrip("\n"))
        assert time.monotonic() < deadline
    return process, lines


def test_local_up_reports_the_stack_serves_it_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    process, lines = _start(tmp_path)
    try:
        (api_line,) = [line for line in lines if line.startswith("API:")]
        api_url = api_line.split()[-1]
        served = requests.get(f"{api_url}items/special", timeout=10)
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=30)

    assert served.status_code == 200
    assert api_url.endswith(f"/{STAGE}/")
    assert any(line.startswith("  AWS::SQS::Queue") for line in lines)
    assert any(line.startswith("not created locally: AWS::SNS::Topic Alarms (") for line in lines)
    assert any(line.startswith("Egress: loopback targets REFUSED") for line in lines)
    assert any(line.startswith("note: output AlarmTopic has no local value") for line in lines)
    assert any(line.startswith("  export AWS_ENDPOINT_URL=http://127.0.0.1:") for line in lines)
    assert process.returncode == 0
    assert "Traceback" not in errors
    assert errors.rstrip().endswith("Stopped.")


def test_local_up_prints_the_only_loopback_port_tools_may_reach(tmp_path: Path) -> None:
    process, lines = _start(tmp_path, "--allow-loopback-port", "8123", "--env", "EXTRA_SETTING=1")
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)

    (egress,) = [line for line in lines if line.startswith("Egress:")]
    moto_port = next(line for line in lines if line.startswith("moto:")).rsplit(":", 1)[-1]
    assert egress.startswith("Egress: loopback targets ALLOWED only on port(s) 8123 (--allow-loopback-port)")
    assert f"moto's port {moto_port} " in egress
    assert "always" in egress
    assert process.returncode == 0


def test_sigterm_right_after_the_ready_line_always_stops_local_up(tmp_path: Path) -> None:
    # The main thread used to wait in an Event that the handler set: it hung when the signal reached
    # another thread, or arrived while the waiting thread held the event's lock (3 runs in 14).
    for attempt in range(6):
        process, _ = _start(tmp_path / str(attempt))
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)

        assert process.returncode == 0, errors
        assert "Traceback" not in errors
        assert errors.rstrip().endswith("Stopped.")


def test_sigterm_at_any_moment_of_the_startup_stops_local_up(tmp_path: Path) -> None:
    path, functions = write_stack(tmp_path, template(tmp_path))
    command = [sys.executable, "-m", "toolgate_cli", "local", "up", "--template", str(path)]
    command += ["--functions-dir", str(functions), "--port", "0", "--moto-port", "0"]
    # Spread over the startup: interpreter start, imports, moto, provisioning, the handlers, serving.
    for delay in (0.0, 0.3, 0.6, 1.0, 1.5, 2.5):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)

        # Before the command installs its handler, SIGTERM's default action ends the process.
        assert process.returncode in (0, -signal.SIGTERM), errors
        assert "Traceback" not in errors


def test_old_allow_loopback_flag_is_refused_with_the_way_forward(tmp_path: Path) -> None:
    path, functions = write_stack(tmp_path, template(tmp_path))

    completed = subprocess.run(
        [
            *(sys.executable, "-m", "toolgate_cli", "local", "up", "--template", str(path)),
            *("--functions-dir", str(functions), "--allow-loopback"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2
    assert completed.stderr.startswith("error[LOCAL_LOOPBACK_PORT_REFUSED]: --allow-loopback is gone")
    assert "--allow-loopback-port 8080" in completed.stderr


def test_naming_motos_or_the_front_doors_port_for_tools_is_refused(tmp_path: Path) -> None:
    path, functions = write_stack(tmp_path, template(tmp_path))
    base = [sys.executable, "-m", "toolgate_cli", "local", "up", "--template", str(path)]
    base += ["--functions-dir", str(functions)]

    refusals = [
        subprocess.run(
            [*base, *arguments, "--allow-loopback-port", "8123"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for arguments in (["--moto-port", "8123"], ["--port", "8123"])
    ]

    for completed, owner in zip(refusals, ("moto's port", "the front door's port"), strict=True):
        assert completed.returncode == 2
        assert completed.stderr.startswith("error[LOCAL_LOOPBACK_PORT_REFUSED]: Loopback port 8123 is ")
        assert owner in completed.stderr
        assert "Traceback" not in completed.stderr


def test_local_up_refuses_to_override_what_the_stack_owns(tmp_path: Path) -> None:
    path, functions = write_stack(tmp_path, template(tmp_path))

    completed = subprocess.run(
        [
            *(sys.executable, "-m", "toolgate_cli", "local", "up", "--template", str(path)),
            *("--functions-dir", str(functions), "--env", "TOOLGATE_RUNTIME__ALLOW_LOOPBACK=true"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2
    assert completed.stderr.startswith("error[LOCAL_STACK_ERROR]: ")
    assert "TOOLGATE_RUNTIME__ALLOW_LOOPBACK" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_local_up_without_a_synthesized_template_says_how_to_make_one(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "toolgate_cli", "local", "up", "--cdk-out", str(tmp_path / "cdk.out")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2
    assert completed.stderr.startswith("error[LOCAL_TEMPLATE_MISSING]: ")
    assert "make synth" in completed.stderr
