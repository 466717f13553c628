"""Upload-time checks of servers and OAuth2 token URLs: what the egress guard would refuse on every call
is refused when the spec is compiled for upload, with a code per reason, under the deployment's switches."""

from __future__ import annotations

from typing import Any

import pytest
from spec_builders import OK
from toolgate.adapters.egress import EgressGuard
from toolgate.errors import EgressDeniedError, UrlRefusedError
from toolgate.runtime.transport import Deadline, EgressPolicy
from toolgate.spec.compiler import compile_document
from toolgate.spec.models import CompiledSpec, Finding
from toolgate.spec.reachability import DestinationPolicy, check_destinations, check_token_url

STRICT = DestinationPolicy()
LOOPBACK = DestinationPolicy(allow_loopback=True)
PRIVATE = DestinationPolicy(allow_private=True)


def compiled_with(server: str, **scheme: Any) -> CompiledSpec:
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": server}],
        "paths": {"/p": {"get": {"operationId": "p", "responses": OK}}},
    }
    if scheme:
        document["components"] = {"securitySchemes": {"oauth": scheme}}
        document["security"] = [{"oauth": []}]
    return compile_document(document)


def check(compiled: CompiledSpec, policy: DestinationPolicy = STRICT, **kwargs: Any) -> list[Finding]:
    """The findings of checking every tool of `compiled`; fails when a tool was left out."""
    checked = check_destinations(compiled.tools, compiled.servers, policy, **kwargs)
    assert checked.tools == compiled.tools
    return checked.findings


HOSTILE_SERVERS = {
    "https://admin:hunter2@api.example.com/v1": "URL_USERINFO_REFUSED",
    "https://token@api.example.com/v1": "URL_USERINFO_REFUSED",
    "ftp://api.example.com/": "URL_SCHEME_REFUSED",
    "file:///etc/passwd": "URL_SCHEME_REFUSED",
    "gopher://api.example.com/": "URL_SCHEME_REFUSED",
    "http://127.0.0.1/": "URL_IP_LITERAL_REFUSED",
    "http://2130706433/": "URL_IP_LITERAL_REFUSED",
    "http://0x7f000001/": "URL_IP_LITERAL_REFUSED",
    "http://0x7f.1/": "URL_IP_LITERAL_REFUSED",
    "http://0177.0.0.1/": "URL_IP_LITERAL_REFUSED",
    "http://017700000001/": "URL_IP_LITERAL_REFUSED",
    "http://127.1/": "URL_IP_LITERAL_REFUSED",
    "http://[::1]/": "URL_IP_LITERAL_REFUSED",
    "http://[::ffff:127.0.0.1]/": "URL_IP_LITERAL_REFUSED",
    "http://[::ffff:169.254.169.254]/": "URL_IP_LITERAL_REFUSED",
    "http://169.254.169.254/latest/meta-data/": "URL_IP_LITERAL_REFUSED",
    "http://10.0.0.7/": "URL_IP_LITERAL_REFUSED",
    "http://[fd00:ec2::254]/": "URL_IP_LITERAL_REFUSED",
    "http://0.0.0.0/": "URL_IP_LITERAL_REFUSED",
    "http://localhost:8080/": "URL_INTERNAL_HOST_REFUSED",
    "http://api.localhost/": "URL_INTERNAL_HOST_REFUSED",
    "http://backend/": "URL_INTERNAL_HOST_REFUSED",
    "http://metadata.google.internal/computeMetadata/v1/": "URL_INTERNAL_HOST_REFUSED",
    "https://ip-10-0-0-1.ec2.internal/": "URL_INTERNAL_HOST_REFUSED",
    "http://printer.local/": "URL_INTERNAL_HOST_REFUSED",
    "https://{tenant}.example.com/": "SERVER_VARIABLE_UNDEFINED",
    "https://api.exa mple.com/": "URL_INVALID",
}


@pytest.mark.parametrize(("server", "code"), HOSTILE_SERVERS.items(), ids=list(HOSTILE_SERVERS))
def test_server_that_can_never_be_called_is_refused_at_upload_with_its_reason(server: str, code: str) -> None:
    with pytest.raises(UrlRefusedError) as caught:
        check(compiled_with(server))

    assert caught.value.code == code
    assert "hunter2" not in caught.value.message
    assert "admin" not in caught.value.message
    assert "server" in caught.value.message


ALWAYS_REFUSED_BY_THE_GUARD = [
    server
    for server, code in HOSTILE_SERVERS.items()
    if code in {"URL_USERINFO_REFUSED", "URL_SCHEME_REFUSED", "URL_IP_LITERAL_REFUSED"}
]


@pytest.mark.parametrize("server", ALWAYS_REFUSED_BY_THE_GUARD)
def test_upload_refuses_exactly_what_the_call_time_guard_refuses_without_dns(server: str) -> None:
    guard = EgressGuard(resolver=lambda host, port: ["93.184.216.34"])
    with pytest.raises(EgressDeniedError):
        guard.check(server, EgressPolicy(), Deadline.after(5))


def test_loopback_servers_pass_only_where_the_deployment_allows_loopback() -> None:
    for server in ("http://127.0.0.1:8080/api", "http://localhost:8080/api", "http://[::1]:9000/"):
        assert check(compiled_with(server), LOOPBACK) == []
        assert check(compiled_with(server), PRIVATE) == []
    with pytest.raises(UrlRefusedError):
        check(compiled_with("http://10.0.0.7/"), LOOPBACK)


def test_loopback_server_on_a_port_the_deployment_did_not_name_is_refused_at_upload() -> None:
    named = DestinationPolicy(loopback_ports=frozenset({8080}))
    for server in ("http://127.0.0.1:8080/api", "http://localhost:8080/api", "http://[::1]:8080/"):
        assert check(compiled_with(server), named) == []
    for server, code in (
        ("http://127.0.0.1:5050/", "URL_IP_LITERAL_REFUSED"),
        ("http://localhost:3000/", "URL_INTERNAL_HOST_REFUSED"),
        ("http://127.0.0.1/", "URL_IP_LITERAL_REFUSED"),
    ):
        with pytest.raises(UrlRefusedError) as refused:
            check(compiled_with(server), named)
        assert refused.value.code == code
    with pytest.raises(UrlRefusedError):
        check(compiled_with("http://10.0.0.7:8080/"), named)


def test_private_servers_and_internal_names_pass_only_where_the_deployment_allows_private() -> None:
    for server in ("http://10.0.0.7/", "https://billing.internal/", "http://backend:8080/"):
        assert check(compiled_with(server), PRIVATE) == []


@pytest.mark.parametrize("policy", [STRICT, LOOPBACK, PRIVATE])
def test_cloud_metadata_and_ambiguous_numbers_are_refused_under_every_policy(
    policy: DestinationPolicy,
) -> None:
    for server in ("http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://2130706433/"):
        with pytest.raises(UrlRefusedError):
            check(compiled_with(server), policy)


def test_public_servers_pass_and_plain_http_is_a_warning_not_a_refusal() -> None:
    assert check(compiled_with("https://api.example.com/v1")) == []
    assert check(compiled_with("https://93.184.216.34/v1")) == []

    warnings = check(compiled_with("http://api.example.com/v1"))

    assert [(finding.code, finding.severity.value) for finding in warnings] == [
        ("DESTINATION_PLAIN_HTTP", "warning")
    ]
    assert check(compiled_with("http://api.example.com/v1"), DestinationPolicy(allow_http=True)) == []


def test_server_url_setting_replaces_the_spec_servers_and_is_checked_itself() -> None:
    compiled = compiled_with("http://localhost:3000/")
    tools = [tool.model_copy(update={"server_url": "https://api.example.com"}) for tool in compiled.tools]

    assert check_destinations(tools, [], STRICT, server_setting="https://api.example.com").findings == []
    with pytest.raises(UrlRefusedError) as caught:
        check_destinations([], [], STRICT, server_setting="http://169.254.169.254/")
    assert caught.value.code == "URL_IP_LITERAL_REFUSED"
    assert "server_url setting" in caught.value.message


def test_userinfo_in_any_declared_server_is_refused_even_when_unused() -> None:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com"}, {"url": "https://ops:s3cret@staging.example.com"}],
        "paths": {"/p": {"get": {"operationId": "p", "responses": OK}}},
    }
    compiled = compile_document(document)

    with pytest.raises(UrlRefusedError) as caught:
        check(compiled, server_setting=None)

    assert caught.value.code == "URL_USERINFO_REFUSED"
    assert caught.value.pointer == "/servers/1"
    assert "s3cret" not in caught.value.message


def client_credentials(token_url: str) -> dict[str, Any]:
    return {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {}}}}


@pytest.mark.parametrize(
    ("token_url", "code"),
    [
        ("http://169.254.169.254/latest/api/token", "URL_IP_LITERAL_REFUSED"),
        ("https://user:pw@auth.example.com/token", "URL_USERINFO_REFUSED"),
        ("https://keycloak.internal/token", "URL_INTERNAL_HOST_REFUSED"),
        ("ftp://auth.example.com/token", "URL_SCHEME_REFUSED"),
        ("//127.1/token", "URL_IP_LITERAL_REFUSED"),
    ],
)
def test_oauth_token_url_that_can_never_be_called_is_refused_at_upload(token_url: str, code: str) -> None:
    compiled = compiled_with("https://api.example.com/v1", **client_credentials(token_url))

    with pytest.raises(UrlRefusedError) as caught:
        check(compiled)

    assert caught.value.code == code
    assert "OAuth2 token URL of security scheme 'oauth'" in caught.value.message
    assert "pw@" not in caught.value.message


def test_relative_oauth_token_url_is_checked_against_its_server() -> None:
    assert check(compiled_with("https://api.example.com/v1", **client_credentials("/oauth/token"))) == []
    assert check(compiled_with("http://127.0.0.1:8080/", **client_credentials("/token")), LOOPBACK) == []


@pytest.mark.parametrize(
    "token_url", ["http://[::ffff:10.0.0.1]/token", "https://a:b@auth.example.com/", "http://localhost/t"]
)
def test_credential_token_url_that_can_never_be_called_is_refused(token_url: str) -> None:
    with pytest.raises(UrlRefusedError):
        check_token_url(token_url, STRICT, where="The credential's token_url")
    check_token_url("https://auth.example.com/token", STRICT, where="The credential's token_url")
    check_token_url("/relative/token", STRICT, where="The credential's token_url")


def test_only_the_tools_of_an_operation_server_that_can_never_be_called_are_left_out() -> None:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/good": {"get": {"operationId": "good", "responses": OK}},
            "/agent": {
                "get": {"operationId": "agent", "servers": [{"url": "https://{agent}"}], "responses": OK}
            },
            "/meta": {
                "servers": [{"url": "http://169.254.169.254/latest"}],
                "get": {"operationId": "meta", "responses": OK},
            },
        },
    }
    compiled = compile_document(document)

    checked = check_destinations(compiled.tools, compiled.servers, STRICT)

    assert [tool.name for tool in checked.tools] == ["good"]
    assert [(finding.code, finding.severity.value, finding.pointer) for finding in checked.findings] == [
        ("SERVER_VARIABLE_UNDEFINED", "error", "/paths/~1agent/get"),
        ("URL_IP_LITERAL_REFUSED", "error", "/paths/~1meta/get"),
    ]
    assert checked.findings[1].message.startswith(
        "Tool 'meta' was left out: The server http://169.254.169.254"
    )
