"""`toolgate admin`: bootstrap a tenant's first admin key, issue and revoke keys, against moto."""

from __future__ import annotations

import argparse

import pytest
from service_world import Service, aws_session
from toolgate_cli.admin import add_admin_parser

from functions.authorizer.handler import UnauthorizedError


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="toolgate")
    add_admin_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["admin", *argv])
    return int(args.run(args))


def test_bootstrap_prints_a_working_admin_key_once(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("bootstrap-tenant", "acme") == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("tg_acme_")
    assert "not shown again" in err and key not in err
    assert service.authorize(key)["context"] == {
        "tenant_id": "acme",
        "role": "admin",
        "principal": "bootstrap-admin",
        "key_id": key.split("_")[2],
    }
    assert key not in str(service.table_items())


def test_bootstrap_of_an_existing_tenant_is_refused(service: Service) -> None:
    _run("bootstrap-tenant", "acme")
    with pytest.raises(Exception, match="already exists") as raised:
        _run("bootstrap-tenant", "acme")
    assert getattr(raised.value, "code", None) == "ALREADY_EXISTS"


def test_create_and_revoke_key(service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    _run("bootstrap-tenant", "acme")
    capsys.readouterr()
    _run("create-key", "acme", "--role", "agent", "--principal", "support-bot")
    key = capsys.readouterr().out.strip()
    assert service.authorize(key)["context"]["role"] == "agent"
    key_id = key.split("_")[2]
    assert _run("revoke-key", "acme", key_id) == 0
    with pytest.raises(UnauthorizedError):
        service.authorize(key)


@pytest.mark.parametrize("tenant", ["ACME", "a_b", "x" * 64])
def test_invalid_tenant_ids_are_refused(
    service: Service, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("bootstrap-tenant", tenant) == 2
    assert "TENANT_ID_INVALID" in capsys.readouterr().err


def test_table_is_required(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TOOLGATE_TABLE_NAME")
    assert _run("bootstrap-tenant", "acme") == 2
    assert "TABLE_MISSING" in capsys.readouterr().err


def test_bootstrap_puts_the_tenant_in_the_usage_plan_the_gateway_throttles_by(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("bootstrap-tenant", "acme") == 0
    key = capsys.readouterr().out.strip()
    assert service.usage_plan_key_values() == [service.authorize(key)["usageIdentifierKey"]]


def test_usage_key_for_an_existing_tenant_is_idempotent(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tenant bootstrapped before the usage plan existed gets its key; running it again adds nothing."""
    assert _run("bootstrap-tenant", "acme") == 0
    key = capsys.readouterr().out.strip()
    assert _run("usage-key", "acme") == 0
    assert _run("usage-key", "acme") == 0
    assert service.usage_plan_key_values() == [service.authorize(key)["usageIdentifierKey"]]
    assert len(service.usage_plan_key_values()) == 1


def test_bootstrap_that_api_gateway_refuses_writes_nothing_and_can_be_run_again(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as closed:  # a port nothing listens on: API Gateway unreachable
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_API_GATEWAY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert _run("bootstrap-tenant", "acme") == 1
    out, err = capsys.readouterr()
    assert out == "" and "error[USAGE_KEY_FAILED]" in err and "Traceback" not in err
    assert service.table_items() == []
    monkeypatch.delenv("AWS_ENDPOINT_URL_API_GATEWAY")
    assert _run("bootstrap-tenant", "acme") == 0


def test_usage_plan_is_required(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TOOLGATE_USAGE_PLAN_ID")
    assert _run("bootstrap-tenant", "acme") == 2
    assert "USAGE_PLAN_MISSING" in capsys.readouterr().err
    assert service.table_items() == []


def _forget_usage_keys(service: Service) -> None:
    """What a deployment upgraded from before the usage plan has: tenants, and no usage keys."""
    client = aws_session().client("apigateway")
    for key in client.get_usage_plan_keys(usagePlanId=service.usage_plan_id)["items"]:
        client.delete_usage_plan_key(usagePlanId=service.usage_plan_id, keyId=key["id"])
        client.delete_api_key(apiKey=key["id"])


def test_tenants_left_without_usage_keys_by_an_upgrade_all_get_theirs_in_one_command(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = {}
    for tenant in ("acme", "globex"):
        assert _run("bootstrap-tenant", tenant) == 0
        keys[tenant] = capsys.readouterr().out.strip()
    _forget_usage_keys(service)
    assert service.usage_plan_key_values() == []

    assert _run("usage-keys") == 0
    out, err = capsys.readouterr()
    assert out == "" and "2 tenants have their usage key, 0 failed." in err
    expected = sorted(service.authorize(key)["usageIdentifierKey"] for key in keys.values())
    assert sorted(service.usage_plan_key_values()) == expected

    assert _run("usage-keys") == 0  # again: nothing added
    assert sorted(service.usage_plan_key_values()) == expected


def test_tenants_beyond_the_first_page_of_the_table_scan_get_their_usage_keys_too(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    """DynamoDB answers a Scan 1 MB at a time: a tenant row past the first page must still be found."""
    keys = {}
    assert _run("bootstrap-tenant", "acme") == 0
    keys["acme"] = capsys.readouterr().out.strip()
    with service.table.batch_writer() as batch:  # 1.2 MB of other rows ahead of acme's tenant row
        for index in range(300):
            batch.put_item(Item={"pk": "acme", "sk": f"FILLER#{index:04d}", "pad": "x" * 4000})
    assert _run("bootstrap-tenant", "globex") == 0
    keys["globex"] = capsys.readouterr().out.strip()
    first_page = service.table.scan(
        FilterExpression="sk = :tenant", ExpressionAttributeValues={":tenant": "TENANT"}
    )
    assert "LastEvaluatedKey" in first_page and len(first_page["Items"]) < 2
    _forget_usage_keys(service)

    assert _run("usage-keys") == 0
    assert "2 tenants have their usage key, 0 failed." in capsys.readouterr().err
    expected = sorted(service.authorize(key)["usageIdentifierKey"] for key in keys.values())
    assert sorted(service.usage_plan_key_values()) == expected


def test_usage_keys_that_api_gateway_refuses_are_named_per_tenant_and_the_command_fails(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    assert _run("bootstrap-tenant", "acme") == 0
    capsys.readouterr()
    with socket.socket() as closed:  # a port nothing listens on: API Gateway unreachable
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_API_GATEWAY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert _run("usage-keys") == 1
    err = capsys.readouterr().err
    assert "error[USAGE_KEY_FAILED] tenant acme:" in err and "Traceback" not in err
    assert "0 tenants have their usage key, 1 failed; run the command again for those." in err


def test_usage_keys_needs_the_usage_plan(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TOOLGATE_USAGE_PLAN_ID")
    assert _run("usage-keys") == 2
    assert "USAGE_PLAN_MISSING" in capsys.readouterr().err
