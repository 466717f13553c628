"""What the local stack refuses to start with, and what it leaves behind when it stops."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from synthetic_stack import template, write_stack
from toolgate.errors import (
    LocalEnvironmentConflictError,
    LocalHandlerMissingError,
    LocalLoopbackPortError,
    LocalTemplateError,
)
from toolgate_local.stack import LocalStack

WATCHED = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "RECORD_DIR",
    "TOOLGATE_RUNTIME__ALLOW_LOOPBACK",
    "TOOLGATE_RUNTIME__ALLOWED_LOOPBACK_PORTS",
    "MOTO_PORT",
)


def environment() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in WATCHED}


def test_stopping_restores_the_environment(tmp_path: Path) -> None:
    path, functions = write_stack(tmp_path, template(tmp_path))
    before = environment()

    with LocalStack(path, functions_dir=functions) as local:
        assert os.environ["AWS_ENDPOINT_URL"] == local.moto_url
        assert os.environ["TOOLGATE_RUNTIME__ALLOW_LOOPBACK"] == "false"
        assert os.environ["TOOLGATE_RUNTIME__ALLOWED_LOOPBACK_PORTS"] == "[]"

    assert environment() == before


def test_functions_setting_one_variable_differently_are_refused(tmp_path: Path) -> None:
    document = template(tmp_path)
    document["Resources"]["GateFunction"]["Properties"]["Environment"]["Variables"]["RECORD_DIR"] = (
        "/elsewhere"
    )
    path, functions = write_stack(tmp_path, document)

    before = environment()

    with pytest.raises(LocalEnvironmentConflictError) as refused:
        LocalStack(path, functions_dir=functions).start()

    assert environment() == before

    assert "RECORD_DIR" in str(refused.value)


def test_environment_naming_a_resource_that_is_not_created_is_refused(tmp_path: Path) -> None:
    document = template(tmp_path)
    variables = document["Resources"]["EchoFunction"]["Properties"]["Environment"]["Variables"]
    variables["ALARM_TOPIC"] = {"Ref": "Alarms"}
    path, functions = write_stack(tmp_path, document)

    with pytest.raises(LocalTemplateError) as refused:
        LocalStack(path, functions_dir=functions).start()

    assert "ALARM_TOPIC" in refused.value.message
    assert "AWS::SNS::Topic" in refused.value.message


def test_function_without_a_handler_folder_is_refused(tmp_path: Path) -> None:
    document = template(tmp_path)
    document["Resources"]["EchoFunction"]["Metadata"]["aws:cdk:path"] = "Demo/MissingFunction/Resource"
    path, functions = write_stack(tmp_path, document)

    with pytest.raises(LocalHandlerMissingError) as refused:
        LocalStack(path, functions_dir=functions).start()

    assert "functions/missing/handler.py" in refused.value.message.replace(str(functions.parent) + "/", "")


def test_a_stopped_stack_can_be_followed_by_another(tmp_path: Path) -> None:
    path, functions = write_stack(tmp_path, template(tmp_path))

    with pytest.raises(LocalTemplateError):
        document = template(tmp_path)
        document["Resources"]["EchoFunction"]["Properties"]["Environment"]["Variables"]["X"] = {
            "Ref": "Nothing"
        }
        broken, _ = write_stack(tmp_path / "broken", document)
        LocalStack(broken, functions_dir=functions).start()
    with LocalStack(path, functions_dir=functions) as local:
        assert local.functions.keys() == {"EchoFunction", "GateFunction", "WorkerFunction"}


def test_a_web_page_cannot_reach_the_local_moto_server(stack_template: Path) -> None:
    import socket

    import urllib3

    with LocalStack(stack_template) as stack:
        preflight = urllib3.request(
            "OPTIONS",
            f"{stack.moto_url}/",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, x-amz-target",
            },
        )
        # A negative Content-Length must not make the front door read until the connection ends.
        with socket.create_connection(("127.0.0.1", stack.api_port), timeout=5) as connection:
            connection.sendall(
                b"POST /prod/v1/integrations HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"
            )
            status_line = connection.recv(64).split(b"\r\n", 1)[0]

    assert not any(name.lower().startswith("access-control-allow") for name in preflight.headers)
    assert status_line.split()[1] == b"400", status_line


@pytest.mark.parametrize("port", [0, 65_536, -1, True])
def test_loopback_port_that_is_not_a_port_is_refused(tmp_path: Path, port: int) -> None:
    path, functions = write_stack(tmp_path, template(tmp_path))

    with pytest.raises(LocalLoopbackPortError) as refused:
        LocalStack(path, functions_dir=functions, loopback_ports={port})

    assert "is not a TCP port" in refused.value.message


def test_stack_refuses_to_let_tools_reach_its_own_moto_or_front_door(tmp_path: Path) -> None:
    path, functions = write_stack(tmp_path, template(tmp_path))

    with pytest.raises(LocalLoopbackPortError) as moto:
        LocalStack(path, functions_dir=functions, moto_port=5999, loopback_ports={8080, 5999})
    with pytest.raises(LocalLoopbackPortError) as front_door:
        LocalStack(path, functions_dir=functions, api_port=3999, loopback_ports={3999})

    assert "Loopback port 5999 is moto's port" in moto.value.message
    assert "Loopback port 3999 is the front door's port" in front_door.value.message
