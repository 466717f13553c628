"""The hook that runs moto's Lambda invocations with the real handlers (`toolgate_local.lambda_routing`)
must fail loudly, not silently echo payloads, if moto changes underneath it."""

from __future__ import annotations

import io
import json
import re
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from toolgate_local import lambda_routing
from toolgate_local.lambda_routing import check_hook, routed_invocations

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_moto_is_pinned_to_the_version_the_hook_was_written_against() -> None:
    development = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["dev"]
    pins = [re.fullmatch(r"moto\[[^\]]*\]==(.+)", requirement) for requirement in development]
    (pin,) = [match.group(1) for match in pins if match]
    assert moto.__version__ == pin


def test_hook_accepts_the_pinned_moto() -> None:
    check_hook()


def test_hook_refuses_a_changed_invoke_method(monkeypatch: pytest.MonkeyPatch) -> None:
    def changed(self: LambdaFunction, event: Any, context: Any) -> tuple[str, bool, str]:
        raise AssertionError("never called")

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", changed)

    with pytest.raises(RuntimeError, match="re-check"):
        check_hook()
    with pytest.raises(RuntimeError, match="re-check"), routed_invocations({}):
        pass


def test_hook_refuses_a_missing_invoke_method(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(LambdaFunction, "_invoke_lambda")

    with pytest.raises(RuntimeError, match="gone"):
        check_hook()


def _function(name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "")
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name="us-east-1").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.h",
        Code={"ZipFile": buffer.getvalue()},
    )


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("fake_credentials")
def test_invocations_run_the_registered_handler_and_errors_become_function_errors() -> None:
    seen: list[tuple[Any, str]] = []

    def handler(event: Any, context: Any) -> dict[str, Any]:
        seen.append((event, context.function_name))
        if event.get("fail"):
            raise LookupError("asked to fail")
        return {"doubled": event["n"] * 2}

    with mock_aws(), routed_invocations({"doubler": handler}):
        _function("doubler")
        _function("stranger")
        client = boto3.client("lambda", region_name="us-east-1")
        answer = client.invoke(FunctionName="doubler", Payload=json.dumps({"n": 21}))
        failed = client.invoke(FunctionName="doubler", Payload=json.dumps({"fail": True}))
        with pytest.raises(Exception, match="no local handler"):
            client.invoke(FunctionName="stranger", Payload="{}")

    assert json.loads(answer["Payload"].read()) == {"doubled": 42}
    assert failed["FunctionError"] == "Handled"
    assert json.loads(failed["Payload"].read())["errorType"] == "LookupError"
    assert seen[0] == ({"n": 21}, "doubler")
    assert not lambda_routing._state.active


@pytest.mark.usefixtures("fake_credentials")
def test_a_tenant_isolated_function_gets_the_invocations_tenant_and_refuses_events_without_one() -> None:
    """As on Lambda: an isolated function's event must name a tenant (`TenantId`, the `X-Amz-Tenant-Id`
    header), which the handler reads as `context.tenant_id`; any other function's must not."""

    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"tenant": context.tenant_id}

    handlers = {"isolated": handler, "shared": handler}
    with mock_aws(), routed_invocations(handlers, tenant_isolated=frozenset({"isolated"})):
        _function("isolated")
        _function("shared")
        client = boto3.client("lambda", region_name="us-east-1")
        answer = client.invoke(FunctionName="isolated", Payload="{}", TenantId="acme")
        shared = client.invoke(FunctionName="shared", Payload="{}")
        for function, tenant in (("isolated", {}), ("shared", {"TenantId": "acme"})):
            with pytest.raises(client.exceptions.InvalidParameterValueException, match="Tenant ID"):
                client.invoke(FunctionName=function, Payload="{}", **tenant)

    assert json.loads(answer["Payload"].read()) == {"tenant": "acme"}
    assert json.loads(shared["Payload"].read()) == {"tenant": None}
