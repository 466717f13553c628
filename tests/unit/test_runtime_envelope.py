"""The result envelope, and invoke_tool's orchestration with a stand-in transport (no network)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from toolgate.errors import UpstreamOutcomeUnknownError
from toolgate.runtime.credentials import parse_credential
from toolgate.runtime.envelope import result_from_response
from toolgate.runtime.invoke import invoke_tool
from toolgate.runtime.redaction import Redactor
from toolgate.runtime.transport import Deadline, HttpResponse, OutboundCall
from toolgate.settings import RuntimeSettings
from toolgate.spec.models import (
    ArgumentBinding,
    ArgumentLocation,
    CanonicalTool,
    SecurityScheme,
    SecuritySchemeType,
)

SETTINGS = RuntimeSettings()


def make_tool(output_schema: dict[str, Any] | None = None, **extra: Any) -> CanonicalTool:
    return CanonicalTool(
        name="get_item",
        description="Get an item.",
        method="GET",
        path="/items/{id}",
        pointer="/paths/~1items~1{id}/get",
        server_url="https://api.example.com",
        input_schema={"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        bindings=[ArgumentBinding(argument="id", location=ArgumentLocation.PATH, name="id", required=True)],
        output_schema=output_schema,
        **extra,
    )


def response(body: bytes, status: int = 200, **headers: str) -> HttpResponse:
    return HttpResponse(
        status=status, reason="", headers={"content-type": "application/json", **headers}, body=body
    )


def envelope(reply: HttpResponse, tool: CanonicalTool | None = None, **settings: Any) -> dict[str, Any]:
    chosen = SETTINGS.model_copy(update=settings)
    return result_from_response(tool or make_tool(), reply, chosen, Redactor(["SECRET-9"])).to_dict()


# --- Envelope ------------------------------------------------------------------------------------


def test_json_body_is_parsed_and_only_useful_headers_are_kept() -> None:
    headers = {"x-internal-trace": "abc", "retry-after": "3", "location": "/items/7"}
    reply = HttpResponse(
        status=200, reason="", headers={"content-type": "application/json", **headers}, body=b'{"id": "7"}'
    )
    assert envelope(reply) == {
        "ok": True,
        "status": 200,
        "headers": {"content-type": "application/json", "location": "/items/7", "retry-after": "3"},
        "body": {"id": "7"},
    }


def test_text_body_uses_its_charset_and_binary_is_summarized() -> None:
    latin = HttpResponse(
        status=200, reason="", headers={"content-type": "text/plain; charset=latin-1"}, body=b"caf\xe9"
    )
    assert envelope(latin)["body"] == "café"
    image = HttpResponse(
        status=200, reason="", headers={"content-type": "image/png"}, body=b"\x89PNG\r\n\x1a\n\xff"
    )
    assert envelope(image)["body"] == "[9 bytes of binary content (image/png) not shown]"


def test_body_over_budget_is_cut_with_marker_and_hint() -> None:
    result = envelope(response(json.dumps({"text": "x" * 500}).encode()), result_body_chars=100)
    assert result["truncated"] is True
    assert result["body"].startswith('{"text":"xxx') and result["body"].endswith("characters not shown]")
    assert "100" in result["hint"]


def test_output_schema_mismatch_is_a_warning_not_a_failure() -> None:
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id", "name"]}
    result = envelope(response(b'{"id": "seven"}'), make_tool(schema))
    assert result["ok"] is True
    assert len(result["warnings"]) == 2
    assert any("/id" in warning for warning in result["warnings"])


def test_unusable_output_schema_is_a_warning_and_never_fetches_refs() -> None:
    schema = {"$ref": "https://schemas.example.com/item.json"}
    result = envelope(response(b'{"id": 1}'), make_tool(schema))
    assert result["ok"] is True
    assert result["warnings"] and "could not be used" in result["warnings"][0]


def test_redirect_and_error_statuses_carry_codes_and_the_body() -> None:
    moved = envelope(response(b"", status=301, location="https://elsewhere.example/x"))
    assert moved["error"]["code"] == "UPSTREAM_REDIRECT" and "elsewhere.example" in moved["error"]["message"]
    missing = envelope(response(b'{"error": "no such item"}', status=404))
    assert missing["ok"] is False and missing["body"] == {"error": "no such item"}
    assert (
        missing["error"]["code"] == "UPSTREAM_HTTP_ERROR" and "404 Not Found" in missing["error"]["message"]
    )


def test_secrets_echoed_by_the_api_are_redacted_everywhere() -> None:
    reply = response(b'{"echo": "key=SECRET-9", "SECRET-9": 1}', location="/x?k=SECRET-9")
    text = json.dumps(envelope(reply))
    assert "SECRET-9" not in text and text.count("[REDACTED]") == 3


def test_json_nested_deeper_than_python_can_walk_is_shown_as_text() -> None:
    deep = b"[" * 5000 + b"]" * 5000
    result = envelope(response(deep), result_body_chars=50)
    assert result["ok"] is True and result["truncated"] is True and result["body"].startswith("[[[[")


# --- invoke_tool with a stand-in transport -------------------------------------------------------


class RecordingTransport:
    def __init__(self, reply: HttpResponse | Exception) -> None:
        self.reply = reply
        self.calls: list[OutboundCall] = []

    def send(self, call: OutboundCall) -> HttpResponse:
        self.calls.append(call)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


def test_invoke_applies_auth_and_passes_tenant_policy_and_the_sooner_deadline() -> None:
    scheme = SecurityScheme(type=SecuritySchemeType.API_KEY, location="header", parameter_name="X-Key")
    tool = make_tool(security=[{"key": []}], security_schemes={"key": scheme})
    transport = RecordingTransport(response(b'{"id": "7"}'))
    before = time.monotonic()
    result = invoke_tool(
        tool,
        '{"id": "7"}',
        transport=transport,
        credential=parse_credential({"type": "api_key", "value": "k-1"}),
        tenant="acme",
        deadline=Deadline.after(3),
        allowed_hosts=["api.example.com"],
    )
    assert result.ok and result.body == {"id": "7"}
    (call,) = transport.calls
    assert call.request.url == "https://api.example.com/items/7"
    assert call.request.headers["X-Key"] == "k-1"
    assert call.tenant == "acme"
    assert call.policy.allowed_hosts == frozenset({"api.example.com"})
    assert before + 2.5 < call.deadline.expires_at <= time.monotonic() + 3


def test_invoke_turns_runtime_errors_into_envelope_errors() -> None:
    transport = RecordingTransport(UpstreamOutcomeUnknownError("sent, no answer"))
    result = invoke_tool(make_tool(), {"id": "7"}, transport=transport)
    assert result.to_dict() == {
        "ok": False,
        "error": {"code": "UPSTREAM_OUTCOME_UNKNOWN", "message": "sent, no answer"},
    }


def test_invoke_never_raises_nor_leaks_a_secret_from_an_unexpected_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    transport = RecordingTransport(RuntimeError("boom with Bearer SECRET-9"))
    credential = parse_credential({"type": "bearer", "token": "SECRET-9"})
    result = invoke_tool(make_tool(), {"id": "7"}, transport=transport, credential=credential)
    assert result.error is not None and result.error.code == "TOOL_INTERNAL_ERROR"
    assert "SECRET-9" not in json.dumps(result.to_dict())
    assert "boom" in caplog.text and "SECRET-9" not in caplog.text


def test_invalid_arguments_never_reach_the_transport() -> None:
    transport = RecordingTransport(response(b"{}"))
    result = invoke_tool(make_tool(), {"id": 7}, transport=transport)
    assert result.error is not None and result.error.code == "ARGUMENTS_INVALID"
    assert transport.calls == []
