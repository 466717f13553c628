"""Credential parsing, secret hygiene, and choosing credentials by the spec's security requirements."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from toolgate.errors import CredentialInvalidError, CredentialMissingError
from toolgate.runtime.credentials import (
    ApiKeyCredential,
    BasicCredential,
    BearerCredential,
    CredentialSet,
    MtlsCredential,
    OAuth2ClientCredentials,
    apply_auth,
    credential_fingerprint,
    parse_credential,
    plan_auth,
)
from toolgate.runtime.models import HttpRequest
from toolgate.runtime.redaction import Redactor
from toolgate.spec.models import CanonicalTool, SecurityScheme, SecuritySchemeType

TARGET = "https://api.example.com/v1/items"

API_KEY = SecuritySchemeType.API_KEY
API_KEY_HEADER = SecurityScheme(type=API_KEY, location="header", parameter_name="X-API-Key")
API_KEY_QUERY = SecurityScheme(type=API_KEY, location="query", parameter_name="api_key")
BEARER = SecurityScheme(type=SecuritySchemeType.HTTP, scheme="bearer")
BASIC = SecurityScheme(type=SecuritySchemeType.HTTP, scheme="basic")
OAUTH = SecurityScheme(
    type=SecuritySchemeType.OAUTH2, flows=["clientCredentials"], token_url="/oauth/token", scopes=["read"]
)
MTLS = SecurityScheme(type=SecuritySchemeType.MUTUAL_TLS)
OAUTH_CREDENTIAL = {"type": "oauth2_client_credentials", "client_id": "app", "client_secret": "s"}


def tool(security: list[dict[str, list[str]]], **schemes: SecurityScheme) -> CanonicalTool:
    return CanonicalTool(
        name="list_items",
        description="List items.",
        method="GET",
        path="/items",
        pointer="/paths/~1items/get",
        input_schema={"type": "object"},
        security=security,
        security_schemes=schemes,
    )


# --- Parsing -------------------------------------------------------------------------------------

EXAMPLES: list[dict[str, Any]] = [
    {"type": "bearer", "token": "SECRET-1"},
    {"type": "api_key", "value": "SECRET-1", "scheme": "key"},
    {"type": "basic", "username": "ana", "password": "SECRET-1"},
    {"type": "oauth2_client_credentials", "client_id": "app", "client_secret": "SECRET-1", "scopes": ["a"]},
    {"type": "mtls", "certificate_pem": "CERT", "private_key_pem": "SECRET-1"},
    {"type": "set", "schemes": {"a": {"type": "bearer", "token": "SECRET-1"}}},
]


@pytest.mark.parametrize("data", EXAMPLES, ids=[example["type"] for example in EXAMPLES])
def test_every_credential_type_parses_and_never_prints_its_secret(data: dict[str, Any]) -> None:
    credential = parse_credential(json.dumps(data))
    assert credential.type == data["type"]
    for shown in (repr(credential), str(credential), credential.model_dump_json()):
        assert "SECRET-1" not in shown


def test_parse_errors_never_quote_the_values_given() -> None:
    with pytest.raises(CredentialInvalidError) as raised:
        parse_credential({"type": "bearer", "token": 12345678, "extra": "SECRET-2"})
    assert "SECRET-2" not in str(raised.value) and "12345678" not in str(raised.value)
    assert raised.value.code == "CREDENTIAL_INVALID"


@pytest.mark.parametrize(
    "data",
    [
        {"type": "bearer", "token": "abc\r\nX-Injected: 1"},
        {"type": "api_key", "value": "abc\n"},
        {"type": "basic", "username": "a:b", "password": "p"},
        {"type": "bearer", "token": ""},
        {"type": "set", "schemes": {}},
        {"type": "kerberos"},
        "not json",
    ],
)
def test_credentials_that_would_break_a_header_are_refused(data: dict[str, Any] | str) -> None:
    with pytest.raises(CredentialInvalidError):
        parse_credential(data)


def test_fingerprint_identifies_the_credential_without_revealing_it() -> None:
    one = parse_credential({"type": "bearer", "token": "SECRET-1"})
    same = parse_credential({"type": "bearer", "token": "SECRET-1"})
    other = parse_credential({"type": "bearer", "token": "SECRET-2"})
    assert credential_fingerprint(one) == credential_fingerprint(same)
    assert credential_fingerprint(one) != credential_fingerprint(other)
    assert "SECRET" not in credential_fingerprint(one)


# --- Choosing by security requirements -----------------------------------------------------------


def test_api_key_is_placed_as_the_scheme_names_it() -> None:
    credential = ApiKeyCredential(type="api_key", value="k1")
    plan = plan_auth(tool([{"key": []}], key=API_KEY_HEADER), credential, target_url=TARGET)
    assert plan.headers == (("X-API-Key", "k1"),)
    plan = plan_auth(tool([{"key": []}], key=API_KEY_QUERY), credential, target_url=TARGET)
    assert plan.query == (("api_key", "k1"),) and not plan.headers
    assert "k1" in plan.secrets


def test_first_satisfiable_alternative_wins() -> None:
    alternatives: list[dict[str, list[str]]] = [{"oauth": []}, {"key": []}, {"bearer": []}]
    secured = tool(alternatives, oauth=OAUTH, key=API_KEY_HEADER, bearer=BEARER)
    bearer = parse_credential({"type": "bearer", "token": "t1"})
    # A bearer token also fits an oauth2 scheme (a token obtained elsewhere), which comes first.
    assert plan_auth(secured, bearer, target_url=TARGET).schemes == ("oauth",)
    key = parse_credential({"type": "api_key", "value": "k1"})
    assert plan_auth(secured, key, target_url=TARGET).schemes == ("key",)


def test_api_key_bound_to_a_scheme_name_only_fits_that_scheme() -> None:
    alternatives: list[dict[str, list[str]]] = [{"header_key": []}, {"query_key": []}]
    secured = tool(alternatives, header_key=API_KEY_HEADER, query_key=API_KEY_QUERY)
    credential = parse_credential({"type": "api_key", "value": "k1", "scheme": "query_key"})
    plan = plan_auth(secured, credential, target_url=TARGET)
    assert plan.schemes == ("query_key",) and plan.query == (("api_key", "k1"),)


def test_basic_is_rfc7617() -> None:
    credential = parse_credential({"type": "basic", "username": "ana", "password": "p:w"})
    plan = plan_auth(tool([{"basic": []}], basic=BASIC), credential, target_url=TARGET)
    (name, value), *_ = plan.headers
    assert name == "Authorization" and base64.b64decode(value.removeprefix("Basic ")) == b"ana:p:w"
    assert value.removeprefix("Basic ") in plan.secrets


def test_oauth_grant_resolves_the_spec_token_url_and_takes_the_requirement_scopes() -> None:
    credential = parse_credential(OAUTH_CREDENTIAL)
    plan = plan_auth(tool([{"oauth": ["read", "write"]}], oauth=OAUTH), credential, target_url=TARGET)
    assert plan.oauth is not None
    assert plan.oauth.token_url == "https://api.example.com/oauth/token"
    assert plan.oauth.scopes == ("read", "write")
    assert not plan.headers


def test_oauth_credential_scopes_and_token_url_override_the_spec() -> None:
    credential = OAuth2ClientCredentials(
        type="oauth2_client_credentials",
        client_id="app",
        client_secret="s",
        token_url="https://login.example.com/token",
        scopes=["mine"],
    )
    plan = plan_auth(tool([{"oauth": ["read"]}], oauth=OAUTH), credential, target_url=TARGET)
    assert plan.oauth is not None
    assert plan.oauth.token_url == "https://login.example.com/token" and plan.oauth.scopes == ("mine",)


def test_and_requirement_needs_a_credential_set() -> None:
    secured = tool([{"key": [], "mtls": []}], key=API_KEY_HEADER, mtls=MTLS)
    key = parse_credential({"type": "api_key", "value": "k1"})
    with pytest.raises(CredentialMissingError):
        plan_auth(secured, key, target_url=TARGET)
    both = parse_credential(
        {
            "type": "set",
            "schemes": {
                "key": {"type": "api_key", "value": "k1"},
                "mtls": {"type": "mtls", "certificate_pem": "C", "private_key_pem": "K"},
            },
        }
    )
    assert isinstance(both, CredentialSet)
    plan = plan_auth(secured, both, target_url=TARGET)
    assert plan.headers == (("X-API-Key", "k1"),)
    assert isinstance(plan.client_certificate, MtlsCredential)


def test_missing_credential_names_the_scheme() -> None:
    with pytest.raises(CredentialMissingError) as raised:
        plan_auth(tool([{"key": []}], key=API_KEY_HEADER), None, target_url=TARGET)
    assert raised.value.code == "CREDENTIAL_MISSING"
    assert "'key'" in raised.value.message and "X-API-Key" in raised.value.message


def test_credential_of_the_wrong_type_is_reported_as_missing_for_the_scheme() -> None:
    credential = BasicCredential(type="basic", username="a", password="p")
    with pytest.raises(CredentialMissingError) as raised:
        plan_auth(tool([{"bearer": []}], bearer=BEARER), credential, target_url=TARGET)
    assert "'bearer'" in raised.value.message and "'basic' credential" in raised.value.message


def test_anonymous_alternative_needs_no_credential_but_uses_one_when_bound() -> None:
    optional = tool([{}, {"bearer": []}], bearer=BEARER)
    assert plan_auth(optional, None, target_url=TARGET).schemes == ()
    bearer = BearerCredential(type="bearer", token="t1")
    assert plan_auth(optional, bearer, target_url=TARGET).headers == (("Authorization", "Bearer t1"),)


def test_bearer_is_the_default_when_the_spec_declares_no_security() -> None:
    bearer = parse_credential({"type": "bearer", "token": "t1"})
    assert plan_auth(tool([]), bearer, target_url=TARGET).headers == (("Authorization", "Bearer t1"),)
    assert plan_auth(tool([]), None, target_url=TARGET).headers == ()


def test_api_key_without_a_declared_scheme_must_say_where_it_goes() -> None:
    with pytest.raises(CredentialInvalidError):
        plan_auth(tool([]), parse_credential({"type": "api_key", "value": "k"}), target_url=TARGET)
    placed = parse_credential({"type": "api_key", "value": "k", "in": "query", "name": "key"})
    assert plan_auth(tool([]), placed, target_url=TARGET).query == (("key", "k"),)


def test_oauth_without_any_token_url_is_a_credential_error() -> None:
    no_url = SecurityScheme(type=SecuritySchemeType.OAUTH2, flows=["authorizationCode"])
    credential = parse_credential(OAUTH_CREDENTIAL)
    with pytest.raises(CredentialInvalidError) as raised:
        plan_auth(tool([{"oauth": []}], oauth=no_url), credential, target_url=TARGET)
    assert "token_url" in raised.value.message


# --- Applying --------------------------------------------------------------------------------------


def test_apply_auth_adds_query_cookie_and_replaces_header_namesakes() -> None:
    cookie_key = SecurityScheme(type=SecuritySchemeType.API_KEY, location="cookie", parameter_name="session")
    secured = tool([{"q": [], "c": [], "b": []}], q=API_KEY_QUERY, c=cookie_key, b=BEARER)
    credential = parse_credential(
        {
            "type": "set",
            "schemes": {
                "q": {"type": "api_key", "value": "a&b=c"},
                "c": {"type": "api_key", "value": "s;1"},
                "b": {"type": "bearer", "token": "t1"},
            },
        }
    )
    request = HttpRequest(
        method="GET",
        url=f"{TARGET}?page=2",
        headers={"authorization": "Bearer from-model", "Cookie": "theme=dark"},
    )
    applied = apply_auth(request, plan_auth(secured, credential, target_url=TARGET))
    assert applied.url == f"{TARGET}?page=2&api_key=a%26b%3Dc"
    assert applied.headers == {"Cookie": "theme=dark; session=s%3B1", "Authorization": "Bearer t1"}


def test_redactor_removes_secrets_in_every_encoding() -> None:
    redactor = Redactor(["p/ss word+1"])
    text = "raw p/ss word+1, query p%2Fss%20word%2B1, form p%2Fss+word%2B1, path p/ss%20word+1"
    assert redactor.redact(text) == "raw [REDACTED], query [REDACTED], form [REDACTED], path [REDACTED]"
    redacted = redactor.redact_value({"p/ss word+1": ["x p/ss word+1"], "n": 1})
    assert redacted == {"[REDACTED]": ["x [REDACTED]"], "n": 1}


def test_an_auth_plans_repr_never_shows_a_credential_value() -> None:
    # AuthPlan is a NamedTuple (cheap to define at cold start), whose own repr would list every field:
    # the Authorization header's value and the secrets handed to the redactor among them.
    scheme = SecurityScheme(type=SecuritySchemeType.HTTP, scheme="bearer")
    plan = plan_auth(
        tool([{"b": []}], b=scheme),
        parse_credential({"type": "bearer", "token": "SECRET-1"}),
        target_url="https://x",
    )
    assert plan.secrets == ("SECRET-1",)
    assert dict(plan.headers)["Authorization"] == "Bearer SECRET-1"
    assert "SECRET-1" not in repr(plan)
    assert "secrets" not in repr(plan)
    assert repr(plan).startswith("AuthPlan(schemes=('b',), headers=['Authorization'], ")
