"""`toolgate admin`: bootstrap a tenant's first admin key, issue and revoke keys, against moto."""

from __future__ import annotations

import argparse

import pytest
from service_world import Service
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
