"""Every credential type end to end against real servers on 127.0.0.1, OAuth2 and mTLS included."""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import trustme
from toolgate.adapters.http import HttpTransport
from toolgate.runtime.credentials import parse_credential
from toolgate.runtime.envelope import ToolResult
from toolgate.runtime.invoke import invoke_tool
from toolgate.settings import RuntimeSettings
from toolgate.spec.models import CanonicalTool, SecurityScheme, SecuritySchemeType

from tests.integration.runtime_servers import Reply, Seen, json_reply, make_tool, serve

LOCAL = RuntimeSettings(allow_loopback=True)


@pytest.fixture
def transport() -> Iterator[HttpTransport]:
    transport = HttpTransport(LOCAL)
    yield transport
    transport.close()


def call(
    tool: CanonicalTool, transport: HttpTransport, credential: dict[str, Any], **kwargs: Any
) -> ToolResult:
    return invoke_tool(
        tool, {}, transport=transport, credential=parse_credential(credential), settings=LOCAL, **kwargs
    )


# --- Static credentials --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "where"),
    [("header", "header"), ("query", "query"), ("cookie", "cookie")],
)
def test_api_key_goes_where_the_scheme_says(transport: HttpTransport, location: str, where: str) -> None:
    scheme = SecurityScheme(type=SecuritySchemeType.API_KEY, location=location, parameter_name="X-Key")
    with serve(lambda _: json_reply()) as server:
        tool = make_tool(server.url, security=[{"keyAuth": []}], schemes={"keyAuth": scheme})
        result = call(tool, transport, {"type": "api_key", "value": "k 1/2"})
        seen = server.seen[0]
    assert result.ok
    if where == "header":
        assert seen.header("X-Key") == "k 1/2"
    elif where == "query":
        assert parse_qs(seen.path.split("?", 1)[1]) == {"X-Key": ["k 1/2"]}
    else:
        assert seen.header("Cookie") == "X-Key=k%201/2"


def test_http_bearer_scheme_sends_the_token(transport: HttpTransport) -> None:
    scheme = SecurityScheme(type=SecuritySchemeType.HTTP, scheme="bearer")
    with serve(lambda _: json_reply()) as server:
        tool = make_tool(server.url, security=[{"bearerAuth": []}], schemes={"bearerAuth": scheme})
        assert call(tool, transport, {"type": "bearer", "token": "tok-abc"}).ok
        assert server.seen[0].header("Authorization") == "Bearer tok-abc"


def test_bearer_is_the_default_when_the_spec_declares_no_security(transport: HttpTransport) -> None:
    with serve(lambda _: json_reply()) as server:
        assert call(make_tool(server.url), transport, {"type": "bearer", "token": "tok-abc"}).ok
        assert server.seen[0].header("Authorization") == "Bearer tok-abc"


def test_basic_credentials_are_sent_as_rfc7617(transport: HttpTransport) -> None:
    scheme = SecurityScheme(type=SecuritySchemeType.HTTP, scheme="basic")
    with serve(lambda _: json_reply()) as server:
        tool = make_tool(server.url, security=[{"basicAuth": []}], schemes={"basicAuth": scheme})
        assert call(tool, transport, {"type": "basic", "username": "ana", "password": "pä:ss"}).ok
        header = server.seen[0].header("Authorization") or ""
    assert header.startswith("Basic ")
    assert base64.b64decode(header[6:]).decode() == "ana:pä:ss"


def test_and_requirement_takes_a_credential_set(transport: HttpTransport) -> None:
    schemes = {
        "key": SecurityScheme(type=SecuritySchemeType.API_KEY, location="header", parameter_name="X-Key"),
        "bearer": SecurityScheme(type=SecuritySchemeType.HTTP, scheme="bearer"),
    }
    credential = {
        "type": "set",
        "schemes": {"key": {"type": "api_key", "value": "k1"}, "bearer": {"type": "bearer", "token": "t1"}},
    }
    with serve(lambda _: json_reply()) as server:
        tool = make_tool(server.url, security=[{"key": [], "bearer": []}], schemes=schemes)
        assert call(tool, transport, credential).ok
        seen = server.seen[0]
    assert seen.header("X-Key") == "k1"
    assert seen.header("Authorization") == "Bearer t1"


# --- OAuth2 client credentials -------------------------------------------------------------------


class TokenServer:
    """Issues tok-1, tok-2, ... and records each token request's form and Authorization header."""

    def __init__(self, expires_in: int = 3600, refuse: bool = False) -> None:
        self.expires_in = expires_in
        self.refuse = refuse
        self.requests: list[tuple[dict[str, list[str]], str | None]] = []

    def __call__(self, seen: Seen) -> Reply:
        self.requests.append((parse_qs(seen.body.decode()), seen.header("Authorization")))
        if self.refuse:
            body = {"error": "invalid_client", "error_description": "unknown client"}
            return json_reply(json.dumps(body).encode(), status=401)
        token = {
            "access_token": f"tok-{len(self.requests)}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        return json_reply(json.dumps(token).encode())


def accepting(*tokens: str) -> Callable[[Seen], Reply]:
    def handler(seen: Seen) -> Reply:
        if seen.header("Authorization") in {f"Bearer {token}" for token in tokens}:
            return json_reply()
        return json_reply(b'{"error": "invalid_token"}', status=401)

    return handler


def oauth_tool(server_url: str, token_url: str, scopes: list[str] | None = None) -> CanonicalTool:
    scheme = SecurityScheme(
        type=SecuritySchemeType.OAUTH2,
        flows=["clientCredentials"],
        token_url=token_url,
        scopes=["read:items"],
    )
    return make_tool(server_url, security=[{"oauth": scopes or []}], schemes={"oauth": scheme})


OAUTH_CREDENTIAL = {"type": "oauth2_client_credentials", "client_id": "app", "client_secret": "shh-123"}


def test_oauth_token_is_fetched_once_and_reused(transport: HttpTransport) -> None:
    tokens = TokenServer()
    with serve(tokens) as auth, serve(accepting("tok-1")) as api:
        tool = oauth_tool(api.url, f"{auth.url}/token", scopes=["read:items"])
        first = call(tool, transport, OAUTH_CREDENTIAL)
        second = call(tool, transport, OAUTH_CREDENTIAL)
    assert first.ok and second.ok
    assert len(tokens.requests) == 1
    form, authorization = tokens.requests[0]
    assert form == {"grant_type": ["client_credentials"], "scope": ["read:items"]}
    assert authorization == "Basic " + base64.b64encode(b"app:shh-123").decode()


def test_oauth_refreshes_once_on_401(transport: HttpTransport) -> None:
    tokens = TokenServer()
    with serve(tokens) as auth, serve(accepting("tok-1")) as api:
        tool = oauth_tool(api.url, f"{auth.url}/token")
        assert call(tool, transport, OAUTH_CREDENTIAL).ok
    # The API now only accepts a newer token: the cached tok-1 gets a 401, and one refresh fixes it.
    with serve(accepting("tok-2")) as api:
        tool = oauth_tool(api.url, f"{auth.url}/token")
        result = call(tool, transport, OAUTH_CREDENTIAL)
        assert [seen.header("Authorization") for seen in api.seen] == ["Bearer tok-1", "Bearer tok-2"]
    assert result.ok
    assert len(tokens.requests) == 2


def test_oauth_refresh_happens_only_once(transport: HttpTransport) -> None:
    tokens = TokenServer()
    with serve(tokens) as auth, serve(accepting()) as api:
        result = call(oauth_tool(api.url, f"{auth.url}/token"), transport, OAUTH_CREDENTIAL)
        assert api.count() == 2
    assert result.status == 401
    assert len(tokens.requests) == 2


def test_oauth_token_is_refetched_after_it_expires() -> None:
    now = [1000.0]
    transport = HttpTransport(LOCAL, clock=lambda: now[0])
    tokens = TokenServer(expires_in=60)
    with serve(tokens) as auth, serve(accepting("tok-1", "tok-2")) as api:
        tool = oauth_tool(api.url, f"{auth.url}/token")
        assert call(tool, transport, OAUTH_CREDENTIAL).ok
        now[0] += 29  # 60 s of life less the 30 s refresh margin: still fresh
        assert call(tool, transport, OAUTH_CREDENTIAL).ok
        assert len(tokens.requests) == 1
        now[0] += 1
        assert call(tool, transport, OAUTH_CREDENTIAL).ok
    transport.close()
    assert len(tokens.requests) == 2
    assert [seen.header("Authorization") for seen in api.seen] == ["Bearer tok-1"] * 2 + ["Bearer tok-2"]


def test_oauth_client_secret_can_go_in_the_form_and_token_url_in_the_credential(
    transport: HttpTransport,
) -> None:
    tokens = TokenServer()
    with serve(tokens) as auth, serve(accepting("tok-1")) as api:
        tool = oauth_tool(api.url, "https://unused.example.com/token")
        credential = {
            **OAUTH_CREDENTIAL,
            "token_url": f"{auth.url}/token",
            "client_auth": "body",
            "audience": "api",
        }
        assert call(tool, transport, credential).ok
    form, authorization = tokens.requests[0]
    assert authorization is None
    assert (
        form["client_id"] == ["app"] and form["client_secret"] == ["shh-123"] and form["audience"] == ["api"]
    )


def test_oauth_refusal_is_a_clear_error_without_the_secret(transport: HttpTransport) -> None:
    with serve(TokenServer(refuse=True)) as auth, serve(accepting()) as api:
        result = call(oauth_tool(api.url, f"{auth.url}/token"), transport, OAUTH_CREDENTIAL)
        assert api.count() == 0
    assert result.error is not None and result.error.code == "OAUTH_TOKEN_FAILED"
    assert "invalid_client" in result.error.message
    assert "shh-123" not in json.dumps(result.to_dict())


def test_oauth_token_url_passes_the_egress_guard() -> None:
    transport = HttpTransport(LOCAL, resolver=lambda host, port: ["127.0.0.1"])
    tokens = TokenServer()
    with serve(tokens) as auth, serve(accepting("tok-1")) as api:
        tool = oauth_tool(
            f"http://api.example.test:{api.port}", f"http://auth.example.test:{auth.port}/token"
        )
        refused = call(tool, transport, OAUTH_CREDENTIAL, allowed_hosts=["api.example.test"])
        assert not tokens.requests and api.count() == 0
        allowed = call(tool, transport, OAUTH_CREDENTIAL, allowed_hosts=["*.example.test"])
    assert refused.error is not None and refused.error.code == "EGRESS_DENIED"
    assert "auth.example.test" in refused.error.message
    assert allowed.ok


# --- TLS and client certificates -----------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server_context(ca: trustme.CA, *, require_client_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.example.test").configure_cert(context)
    if require_client_certificate:
        context.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(context)
    return context


def mtls_credential(ca: trustme.CA, identity: str) -> dict[str, Any]:
    issued = ca.issue_cert(identity)
    return {
        "type": "mtls",
        "certificate_pem": issued.cert_chain_pems[0].bytes().decode(),
        "private_key_pem": issued.private_key_pem.bytes().decode(),
        "ca_pem": ca.cert_pem.bytes().decode(),
    }


def subject_alt_name(seen: Seen) -> str:
    assert seen.client_certificate is not None
    return str(seen.client_certificate["subjectAltName"][0][1])


def test_tls_verifies_the_url_host_while_connecting_to_the_pinned_address(ca: trustme.CA) -> None:
    transport = HttpTransport(
        LOCAL, resolver=lambda host, port: ["127.0.0.1"], trusted_ca_pem=ca.cert_pem.bytes().decode()
    )
    with serve(
        lambda _: json_reply(), tls=tls_server_context(ca, require_client_certificate=False)
    ) as server:
        by_name = invoke_tool(
            make_tool(f"https://api.example.test:{server.port}"), {}, transport=transport, settings=LOCAL
        )
        by_address = invoke_tool(make_tool(server.url), {}, transport=transport, settings=LOCAL)
    assert by_name.ok
    assert by_address.error is not None and by_address.error.code == "UPSTREAM_TLS_FAILED"
    assert "certificate" in by_address.error.message


def test_mtls_presents_each_tenants_own_certificate(ca: trustme.CA) -> None:
    transport = HttpTransport(LOCAL, resolver=lambda host, port: ["127.0.0.1"])
    scheme = SecurityScheme(type=SecuritySchemeType.MUTUAL_TLS)
    with serve(lambda _: json_reply(), tls=tls_server_context(ca, require_client_certificate=True)) as server:
        tool = make_tool(
            f"https://api.example.test:{server.port}", security=[{"mtls": []}], schemes={"mtls": scheme}
        )
        for tenant in ("tenant-a", "tenant-b", "tenant-a"):
            credential = parse_credential(mtls_credential(ca, f"{tenant}.example.test"))
            result = invoke_tool(
                tool, {}, transport=transport, credential=credential, settings=LOCAL, tenant=tenant
            )
            assert result.ok, result.to_dict()
        names = [subject_alt_name(seen) for seen in server.seen]
    assert names == ["tenant-a.example.test", "tenant-b.example.test", "tenant-a.example.test"]


def test_server_requiring_a_client_certificate_refuses_a_call_without_one(ca: trustme.CA) -> None:
    transport = HttpTransport(
        LOCAL, resolver=lambda host, port: ["127.0.0.1"], trusted_ca_pem=ca.cert_pem.bytes().decode()
    )
    with serve(lambda _: json_reply(), tls=tls_server_context(ca, require_client_certificate=True)) as server:
        tool = make_tool(f"https://api.example.test:{server.port}")
        result = invoke_tool(tool, {}, transport=transport, settings=LOCAL)
        assert server.count() == 0
        post = invoke_tool(make_tool(tool.server_url, method="POST"), {}, transport=transport, settings=LOCAL)
    # TLS 1.3 servers refuse the certificate after the client sent its request, which they never read:
    # a TLS failure, not an unknown outcome, even for a POST.
    for failed in (result, post):
        assert failed.error is not None and failed.error.code == "UPSTREAM_TLS_FAILED"
        assert "client certificate" in failed.error.message


def test_client_key_is_never_left_on_disk_without_memfd(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "memfd_create", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", tempfile.mkdtemp(prefix="toolgate-test-"))
    transport = HttpTransport(LOCAL, resolver=lambda host, port: ["127.0.0.1"])
    scheme = SecurityScheme(type=SecuritySchemeType.MUTUAL_TLS)
    with serve(lambda _: json_reply(), tls=tls_server_context(ca, require_client_certificate=True)) as server:
        tool = make_tool(
            f"https://api.example.test:{server.port}", security=[{"mtls": []}], schemes={"mtls": scheme}
        )
        credential = parse_credential(mtls_credential(ca, "tenant-c.example.test"))
        assert invoke_tool(tool, {}, transport=transport, credential=credential, settings=LOCAL).ok
    assert list(Path(tempfile.gettempdir()).iterdir()) == []


def test_unloadable_client_certificate_is_a_credential_error(ca: trustme.CA) -> None:
    transport = HttpTransport(LOCAL)
    scheme = SecurityScheme(type=SecuritySchemeType.MUTUAL_TLS)
    credential = {
        **mtls_credential(ca, "x.example.test"),
        "private_key_pem": "-----BEGIN PRIVATE KEY-----\nnope\n",
    }
    with serve(lambda _: json_reply()) as server:
        tool = make_tool(server.url, security=[{"mtls": []}], schemes={"mtls": scheme})
        result = call(tool, transport, credential)
        assert server.count() == 0
    assert result.error is not None and result.error.code == "CREDENTIAL_INVALID"
    assert "nope" not in json.dumps(result.to_dict())


# --- Rebinding: a 401 reads the credential again -------------------------------------------------

BASIC_SCHEME = SecurityScheme(type=SecuritySchemeType.HTTP, scheme="basic")
BEARER_SCHEME = SecurityScheme(type=SecuritySchemeType.HTTP, scheme="bearer")
KEY_SCHEME = SecurityScheme(type=SecuritySchemeType.API_KEY, location="header", parameter_name="X-Key")
#: Per static type: its scheme, the credential before and after a rebind, and what the API accepts.
REBINDS: dict[str, tuple[SecurityScheme, dict[str, Any], dict[str, Any], Callable[[Seen], bool]]] = {
    "bearer": (
        BEARER_SCHEME,
        {"type": "bearer", "token": "old-1"},
        {"type": "bearer", "token": "new-1"},
        lambda seen: seen.header("Authorization") == "Bearer new-1",
    ),
    "api_key": (
        KEY_SCHEME,
        {"type": "api_key", "value": "old-2"},
        {"type": "api_key", "value": "new-2"},
        lambda seen: seen.header("X-Key") == "new-2",
    ),
    "basic": (
        BASIC_SCHEME,
        {"type": "basic", "username": "ana", "password": "old-3"},
        {"type": "basic", "username": "ana", "password": "new-3"},
        lambda seen: seen.header("Authorization") == "Basic " + base64.b64encode(b"ana:new-3").decode(),
    ),
}


def only(accepts: Callable[[Seen], bool]) -> Callable[[Seen], Reply]:
    return lambda seen: json_reply() if accepts(seen) else json_reply(b'{"error": "revoked"}', status=401)


class Refetch:
    """The credential store, read afresh: counts its reads."""

    def __init__(self, credential: dict[str, Any]) -> None:
        self.credential = credential
        self.reads = 0

    def __call__(self) -> Any:
        self.reads += 1
        return parse_credential(self.credential)


@pytest.mark.parametrize("kind", sorted(REBINDS))
def test_a_revoked_static_credential_is_read_again_on_401_and_the_rebound_one_is_sent(
    transport: HttpTransport, kind: str
) -> None:
    scheme, old, new, accepts = REBINDS[kind]
    refetch = Refetch(new)
    with serve(only(accepts)) as server:
        tool = make_tool(server.url, method="POST", security=[{"auth": []}], schemes={"auth": scheme})
        result = call(tool, transport, old, refetch_credential=refetch)
        seen = list(server.seen)
    assert result.ok, result.to_dict()
    assert [accepts(request) for request in seen] == [False, True]
    assert refetch.reads == 1


def test_a_401_with_an_unchanged_credential_is_not_sent_again(transport: HttpTransport) -> None:
    refetch = Refetch({"type": "bearer", "token": "old-1"})
    with serve(only(lambda _: False)) as server:
        tool = make_tool(server.url, security=[{"auth": []}], schemes={"auth": BEARER_SCHEME})
        result = call(tool, transport, {"type": "bearer", "token": "old-1"}, refetch_credential=refetch)
        assert server.count() == 1
    assert result.status == 401 and refetch.reads == 1


def test_a_rebound_credential_that_is_refused_too_is_sent_only_once(transport: HttpTransport) -> None:
    refetch = Refetch({"type": "bearer", "token": "new-1"})
    with serve(only(lambda _: False)) as server:
        tool = make_tool(server.url, security=[{"auth": []}], schemes={"auth": BEARER_SCHEME})
        result = call(tool, transport, {"type": "bearer", "token": "old-1"}, refetch_credential=refetch)
        assert server.count() == 2
    assert result.status == 401 and refetch.reads == 1
    assert "old-1" not in json.dumps(result.to_dict()) and "new-1" not in json.dumps(result.to_dict())


def test_a_rotated_oauth_client_secret_is_read_again_on_401(transport: HttpTransport) -> None:
    def issue(seen: Seen) -> Reply:
        client = base64.b64decode((seen.header("Authorization") or "Basic ")[6:]).decode()
        token = {"access_token": f"tok-for-{client.split(':')[1]}", "token_type": "Bearer"}
        return json_reply(json.dumps(token).encode())

    refetch = Refetch({**OAUTH_CREDENTIAL, "client_secret": "rotated-9"})
    with serve(issue) as auth, serve(accepting("tok-for-rotated-9")) as api:
        result = call(
            oauth_tool(api.url, f"{auth.url}/token"), transport, OAUTH_CREDENTIAL, refetch_credential=refetch
        )
        sent = [seen.header("Authorization") for seen in api.seen]
    assert result.ok, result.to_dict()
    # The transport's own refresh first (the same client secret, the same refusal), then the rotated one.
    assert sent == ["Bearer tok-for-shh-123", "Bearer tok-for-shh-123", "Bearer tok-for-rotated-9"]
    assert refetch.reads == 1


def test_a_replaced_client_certificate_is_read_again_on_401(ca: trustme.CA) -> None:
    transport = HttpTransport(LOCAL, resolver=lambda host, port: ["127.0.0.1"])
    scheme = SecurityScheme(type=SecuritySchemeType.MUTUAL_TLS)
    refetch = Refetch(mtls_credential(ca, "new.example.test"))
    accepts = only(lambda seen: subject_alt_name(seen) == "new.example.test")
    with serve(accepts, tls=tls_server_context(ca, require_client_certificate=True)) as server:
        tool = make_tool(
            f"https://api.example.test:{server.port}", security=[{"mtls": []}], schemes={"mtls": scheme}
        )
        result = call(tool, transport, mtls_credential(ca, "old.example.test"), refetch_credential=refetch)
        names = [subject_alt_name(seen) for seen in server.seen]
    transport.close()
    assert result.ok, result.to_dict()
    assert names == ["old.example.test", "new.example.test"]
