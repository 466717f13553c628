"""Credentials a tenant binds to a tool, and how the spec's security requirements pick and apply them.

Pure: no I/O. Credentials are parsed from JSON into typed models whose secret fields are `SecretStr`, so
they print as `**********`. `plan_auth` walks the operation's security requirements (OR of AND sets),
picks the first one the bound credential satisfies and says how to apply it: headers, query parameters
and cookies the domain adds itself (`apply_auth`), an OAuth2 token the adapter fetches, a client
certificate the adapter presents.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import quote, urljoin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from toolgate.errors import CredentialInvalidError, CredentialMissingError
from toolgate.runtime.models import HttpRequest
from toolgate.spec.models import CanonicalTool, SecurityScheme, SecuritySchemeType

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Characters left as they are in a cookie value (RFC 6265 cookie-octet, minus `%`); others are escaped.
_COOKIE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"


def _no_control_characters(value: SecretStr) -> SecretStr:
    if _CONTROL.search(value.get_secret_value()):
        raise ValueError("must not contain control characters such as CR, LF or NUL")
    return value


#: A secret sent as (part of) a header value.
HeaderSafeSecret = Annotated[SecretStr, Field(min_length=1), AfterValidator(_no_control_characters)]


class _Credential(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


class BearerCredential(_Credential):
    """A token sent as `Authorization: Bearer <token>`; also fits oauth2 and openIdConnect schemes."""

    type: Literal["bearer"]
    token: HeaderSafeSecret


class ApiKeyCredential(_Credential):
    """An API key placed where the spec's apiKey scheme says (header, query or cookie, by name)."""

    type: Literal["api_key"]
    value: HeaderSafeSecret
    #: The securityScheme this key is for; None fits any apiKey scheme.
    scheme: str | None = None
    #: Placement for specs that declare no apiKey scheme; ignored when the spec declares one.
    location: Literal["header", "query", "cookie"] | None = Field(default=None, alias="in")
    name: str | None = Field(default=None, min_length=1)


class BasicCredential(_Credential):
    """HTTP basic authentication (RFC 7617)."""

    type: Literal["basic"]
    username: str = Field(min_length=1)
    password: SecretStr

    @field_validator("username")
    @classmethod
    def _check_username(cls, value: str) -> str:
        if ":" in value or _CONTROL.search(value):
            raise ValueError("must not contain ':' or control characters")
        return value


class OAuth2ClientCredentials(_Credential):
    """OAuth2 client credentials grant (RFC 6749 section 4.4); the token is fetched and cached."""

    type: Literal["oauth2_client_credentials"]
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = Field(min_length=1)
    #: Overrides the token URL of the spec's oauth2 scheme; required when the spec has none.
    token_url: str | None = None
    #: Requested scopes; when empty, the scopes the operation's requirement lists.
    scopes: list[str] = Field(default_factory=list)
    audience: str | None = None
    #: How the client authenticates to the token endpoint: HTTP basic (the default) or form fields.
    client_auth: Literal["basic", "body"] = "basic"


class MtlsCredential(_Credential):
    """A client certificate and its private key, presented in the TLS handshake."""

    type: Literal["mtls"]
    certificate_pem: str = Field(min_length=1)
    private_key_pem: SecretStr = Field(min_length=1)
    private_key_password: SecretStr | None = None
    #: CA certificates to trust for this server instead of the public bundle.
    ca_pem: str | None = None


SingleCredential = (
    BearerCredential | ApiKeyCredential | BasicCredential | OAuth2ClientCredentials | MtlsCredential
)


class CredentialSet(_Credential):
    """Several credentials keyed by securityScheme name, for requirements that need more than one."""

    type: Literal["set"]
    schemes: dict[str, Annotated[SingleCredential, Field(discriminator="type")]] = Field(min_length=1)


Credential = SingleCredential | CredentialSet


@lru_cache(maxsize=1)
def _credential_adapter() -> TypeAdapter[Credential]:
    return TypeAdapter(Annotated[Credential, Field(discriminator="type")])


def parse_credential(data: str | bytes | Mapping[str, Any]) -> Credential:
    """Parse a credential from JSON text or a mapping. Error messages never quote the values given."""
    try:
        if isinstance(data, str | bytes):
            return _credential_adapter().validate_json(data)
        return _credential_adapter().validate_python(dict(data))
    except ValidationError as error:
        problems = [
            f"{'/'.join(str(part) for part in problem['loc']) or 'credential'}: {problem['msg']}"
            for problem in error.errors(include_input=False, include_url=False)
        ]
        raise CredentialInvalidError(
            "The credential is not valid: " + "; ".join(problems), details=problems
        ) from None


# --- Identity and secrets --------------------------------------------------------------------

#: Fingerprints key in-memory caches only; a per-process key keeps them useless outside this process.
_FINGERPRINT_KEY = secrets.token_bytes(32)


def _revealed(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return {name: _revealed(item) for name, item in value}
    if isinstance(value, dict):
        return {key: _revealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_revealed(item) for item in value]
    return value


def credential_fingerprint(credential: Credential) -> str:
    """A stable identity for cache keys (tokens, TLS sessions) that reveals nothing about the secret."""
    canonical = json.dumps(_revealed(credential), sort_keys=True, separators=(",", ":"))
    return hmac.new(_FINGERPRINT_KEY, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def secret_values(credential: Credential) -> list[str]:
    """Every value of `credential` that must never be shown, including the encodings it is sent in."""
    if isinstance(credential, CredentialSet):
        return [value for member in credential.schemes.values() for value in secret_values(member)]
    if isinstance(credential, BearerCredential):
        return [credential.token.get_secret_value()]
    if isinstance(credential, ApiKeyCredential):
        return [credential.value.get_secret_value()]
    if isinstance(credential, BasicCredential):
        return [credential.password.get_secret_value(), _basic_token(credential)]
    if isinstance(credential, OAuth2ClientCredentials):
        secret = credential.client_secret.get_secret_value()
        return [secret, oauth_client_basic_token(credential)]
    values = [credential.private_key_pem.get_secret_value()]
    if credential.private_key_password is not None:
        values.append(credential.private_key_password.get_secret_value())
    return values


def _basic_token(credential: BasicCredential) -> str:
    pair = f"{credential.username}:{credential.password.get_secret_value()}"
    return base64.b64encode(pair.encode("utf-8")).decode("ascii")


def oauth_client_basic_token(credential: OAuth2ClientCredentials) -> str:
    """The `Authorization: Basic` value for client_secret_basic: both parts form-encoded (RFC 6749 2.3.1)."""
    client_id = quote(credential.client_id, safe="")
    client_secret = quote(credential.client_secret.get_secret_value(), safe="")
    return base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")


# --- Choosing and applying -------------------------------------------------------------------


class OAuthGrant(NamedTuple):
    """A client-credentials token the adapter must fetch (or take from its cache) for this call."""

    scheme: str
    credential: OAuth2ClientCredentials
    token_url: str
    scopes: tuple[str, ...]


class AuthPlan(NamedTuple):
    """How one call authenticates: what the domain adds to the request and what the adapter supplies."""

    #: The security schemes in use, by name ("" for a credential bound to a spec without security).
    schemes: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    oauth: OAuthGrant | None = None
    client_certificate: MtlsCredential | None = None
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # Any log or error that shows the plan names what it sets, never a credential's value.
        def names(pairs: tuple[tuple[str, str], ...]) -> list[str]:
            return [name for name, _ in pairs]

        return (
            f"AuthPlan(schemes={self.schemes!r}, headers={names(self.headers)!r}, "
            f"query={names(self.query)!r}, cookies={names(self.cookies)!r}, oauth={self.oauth is not None}, "
            f"client_certificate={self.client_certificate is not None})"
        )


NO_AUTH = AuthPlan()


def plan_auth(tool: CanonicalTool, credential: Credential | None, *, target_url: str) -> AuthPlan:
    """Choose how to authenticate a call of `tool` with the bound `credential`.

    The first security requirement the credential satisfies wins; an anonymous alternative (`{}`) is
    used only when no other one is satisfied. `target_url` resolves relative OAuth2 token URLs.
    Raises CredentialMissingError, naming the schemes, when no requirement can be met.
    """
    if not tool.security:
        return NO_AUTH if credential is None else _undeclared_plan(credential, target_url)
    anonymous_allowed = any(not requirement for requirement in tool.security)
    if credential is not None:
        for requirement in tool.security:
            bound = _bind(tool, requirement, credential) if requirement else None
            if bound is not None:
                return _plan(bound, target_url)
    if anonymous_allowed:
        return NO_AUTH
    raise _missing(tool, credential)


def apply_auth(request: HttpRequest, plan: AuthPlan) -> HttpRequest:
    """`request` with the plan's headers, query parameters and cookies added (they replace namesakes)."""
    if not (plan.headers or plan.query or plan.cookies):
        return request
    headers = dict(request.headers)
    for name, value in plan.headers:
        _drop_header(headers, name)
        headers[name] = value
    if plan.cookies:
        existing = _drop_header(headers, "Cookie")
        added = "; ".join(f"{name}={quote(value, safe=_COOKIE_SAFE)}" for name, value in plan.cookies)
        headers["Cookie"] = f"{existing}; {added}" if existing else added
    url = request.url
    if plan.query:
        added = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in plan.query)
        url = f"{url}{'&' if '?' in url else '?'}{added}"
    return request._replace(headers=headers, url=url)


def with_bearer_token(request: HttpRequest, token: str) -> HttpRequest:
    headers = dict(request.headers)
    _drop_header(headers, "Authorization")
    headers["Authorization"] = f"Bearer {token}"
    return request._replace(headers=headers)


def _drop_header(headers: dict[str, str], name: str) -> str | None:
    found = None
    for key in [key for key in headers if key.lower() == name.lower()]:
        found = headers.pop(key)
    return found


#: One scheme of a requirement: its name, its definition (None when the spec declares no security),
#: the scopes the requirement lists, and the credential bound to it.
_Binding = tuple[str, SecurityScheme | None, list[str], SingleCredential]


def _bind(
    tool: CanonicalTool, requirement: dict[str, list[str]], credential: Credential
) -> list[_Binding] | None:
    """The credential for each scheme of one AND requirement, or None when it cannot be met."""
    bound: list[_Binding] = []
    for name, scopes in requirement.items():
        scheme = tool.security_schemes.get(name)
        if scheme is None:
            return None
        if isinstance(credential, CredentialSet):
            member = credential.schemes.get(name)
        else:
            member = credential if len(requirement) == 1 else None
        if member is None or not _fits(name, scheme, member):
            return None
        bound.append((name, scheme, scopes, member))
    return bound


def _fits(name: str, scheme: SecurityScheme, credential: SingleCredential) -> bool:
    if scheme.type is SecuritySchemeType.API_KEY:
        return isinstance(credential, ApiKeyCredential) and credential.scheme in (None, name)
    if scheme.type is SecuritySchemeType.HTTP:
        http_scheme = (scheme.scheme or "").lower()
        return (http_scheme == "bearer" and isinstance(credential, BearerCredential)) or (
            http_scheme == "basic" and isinstance(credential, BasicCredential)
        )
    if scheme.type is SecuritySchemeType.OAUTH2:
        return isinstance(credential, BearerCredential | OAuth2ClientCredentials)
    if scheme.type is SecuritySchemeType.OPENID_CONNECT:
        return isinstance(credential, BearerCredential) or (
            isinstance(credential, OAuth2ClientCredentials) and credential.token_url is not None
        )
    return isinstance(credential, MtlsCredential)


def _undeclared_plan(credential: Credential, target_url: str) -> AuthPlan:
    """The spec declares no security: apply each credential by its own type (bearer is the default)."""
    members = credential.schemes.values() if isinstance(credential, CredentialSet) else [credential]
    return _plan([("", None, [], member) for member in members], target_url)


def _plan(bindings: list[_Binding], target_url: str) -> AuthPlan:
    headers: dict[str, str] = {}
    query: list[tuple[str, str]] = []
    cookies: list[tuple[str, str]] = []
    oauth: OAuthGrant | None = None
    certificate: MtlsCredential | None = None
    secret_list: list[str] = []

    def set_header(name: str, value: str, scheme_name: str) -> None:
        if name.lower() in (key.lower() for key in headers):
            raise CredentialInvalidError(
                f"Two credentials of this security requirement both set the '{name}' header "
                f"(the second is for {_scheme_label(scheme_name)}); they cannot be sent together."
            )
        headers[name] = value

    for name, scheme, scopes, credential in bindings:
        secret_list.extend(secret_values(credential))
        if isinstance(credential, BearerCredential):
            set_header("Authorization", f"Bearer {credential.token.get_secret_value()}", name)
        elif isinstance(credential, BasicCredential):
            set_header("Authorization", f"Basic {_basic_token(credential)}", name)
        elif isinstance(credential, ApiKeyCredential):
            location, parameter = _api_key_placement(name, scheme, credential)
            value = credential.value.get_secret_value()
            if location == "header":
                set_header(parameter, value, name)
            elif location == "query":
                query.append((parameter, value))
            else:
                cookies.append((parameter, value))
        elif isinstance(credential, OAuth2ClientCredentials):
            if oauth is not None or "authorization" in (key.lower() for key in headers):
                raise CredentialInvalidError(
                    f"{_scheme_label(name)} needs a bearer token, and this security requirement already "
                    "sends one; combining two token-based schemes is not supported."
                )
            token_url = credential.token_url or (scheme.token_url if scheme is not None else None)
            if not token_url:
                raise CredentialInvalidError(
                    f"No OAuth2 token URL for {_scheme_label(name)}: the spec's scheme declares no "
                    "clientCredentials tokenUrl, so the credential must give `token_url`."
                )
            oauth = OAuthGrant(
                scheme=name,
                credential=credential,
                token_url=urljoin(target_url, token_url),
                scopes=tuple(credential.scopes or scopes),
            )
        else:
            if certificate is not None:
                raise CredentialInvalidError("Only one client certificate can be presented per call.")
            certificate = credential
    return AuthPlan(
        schemes=tuple(binding[0] for binding in bindings),
        headers=tuple(headers.items()),
        query=tuple(query),
        cookies=tuple(cookies),
        oauth=oauth,
        client_certificate=certificate,
        secrets=tuple(secret_list),
    )


def _api_key_placement(
    name: str, scheme: SecurityScheme | None, credential: ApiKeyCredential
) -> tuple[str, str]:
    if scheme is not None:
        location, parameter = scheme.location, scheme.parameter_name
        if location not in ("header", "query", "cookie") or not parameter:
            raise CredentialInvalidError(
                f"The spec's apiKey scheme '{name}' does not say where the key goes "
                "(`in` header, query or cookie, and `name`)."
            )
        return location, parameter
    if credential.location is None or credential.name is None:
        raise CredentialInvalidError(
            "The spec declares no apiKey security scheme, so the api_key credential must say where the key "
            'goes: add "in" ("header", "query" or "cookie") and "name".'
        )
    return credential.location, credential.name


# --- Messages ---------------------------------------------------------------------------------

_CREDENTIAL_HINTS = {
    SecuritySchemeType.API_KEY: '{"type": "api_key", "value": ...}',
    SecuritySchemeType.OAUTH2: '{"type": "oauth2_client_credentials", ...} or {"type": "bearer", ...}',
    SecuritySchemeType.OPENID_CONNECT: '{"type": "bearer", "token": ...}',
    SecuritySchemeType.MUTUAL_TLS: '{"type": "mtls", ...}',
}


def _scheme_label(name: str) -> str:
    return f"security scheme '{name}'" if name else "the bound credential"


def _describe_scheme(name: str, scheme: SecurityScheme | None) -> str:
    if scheme is None:
        return f"'{name}' (not defined in the spec)"
    if scheme.type is SecuritySchemeType.API_KEY:
        return f"'{name}' (API key in {scheme.location or '?'} '{scheme.parameter_name or '?'}')"
    if scheme.type is SecuritySchemeType.HTTP:
        return f"'{name}' (HTTP {scheme.scheme or '?'})"
    if scheme.type is SecuritySchemeType.OAUTH2:
        flows = ", ".join(scheme.flows) or "no flows"
        return f"'{name}' (OAuth2: {flows})"
    if scheme.type is SecuritySchemeType.OPENID_CONNECT:
        return f"'{name}' (OpenID Connect token)"
    return f"'{name}' (client certificate)"


def _hint(scheme: SecurityScheme | None) -> str:
    if scheme is None:
        return ""
    if scheme.type is SecuritySchemeType.HTTP:
        return (
            '{"type": "basic", ...}'
            if (scheme.scheme or "").lower() == "basic"
            else '{"type": "bearer", ...}'
        )
    return _CREDENTIAL_HINTS[scheme.type]


def _missing(tool: CanonicalTool, credential: Credential | None) -> CredentialMissingError:
    alternatives = []
    for requirement in tool.security:
        if requirement:
            schemes = [_describe_scheme(name, tool.security_schemes.get(name)) for name in requirement]
            alternatives.append(" and ".join(schemes))
    needed = " or ".join(alternatives)
    if credential is None:
        given = "No credential is bound."
    elif isinstance(credential, CredentialSet):
        given = f"The bound credential set has schemes {sorted(credential.schemes)}, which meet none of them."
    else:
        given = f"The bound '{credential.type}' credential meets none of them."
    first = tool.security[0]
    hints = [_hint(tool.security_schemes.get(name)) for name in first]
    advice = (
        f" Bind {' plus '.join(hint for hint in hints if hint)}"
        + (" in a credential set keyed by scheme name" if len(first) > 1 else "")
        + "."
    )
    return CredentialMissingError(
        f"Tool '{tool.name}' needs credentials for {needed}. {given}{advice}",
        details={"requirements": [sorted(requirement) for requirement in tool.security if requirement]},
    )
