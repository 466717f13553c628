"""Upload-time checks of the URLs compiled tools will call: servers and OAuth2 token URLs.

A URL the call-time egress guard would refuse whatever DNS answers (another scheme, user information,
an IP literal or an internal name the deployment's policy does not allow, an unfilled server variable)
refuses the upload, so no integration is ready with tools that can never be called. Names are not
resolved here; the egress guard checks their addresses on every call.

Server variables are never tool arguments: the compiler fills each with its default, and the URL that
results is what is checked and called, so a caller cannot steer the host. Plain http to a public host is
the tenant's choice: it is accepted with a warning, and the egress guard sends it only where the
deployment allows http.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from toolgate.destinations import AddressClass, check_static, classify_address, ip_literal, name_class
from toolgate.errors import ServerVariableUndefinedError, UrlRefusedError, UrlUserinfoRefusedError
from toolgate.settings import RuntimeSettings
from toolgate.spec.models import CanonicalTool, Finding, Severity

_SERVER_VARIABLE = re.compile(r"\{([^{}]+)\}")
_SET_SERVER_URL = "set `server_url` in the integration's settings to the API's public https URL"
_FIX_TOKEN_URL = "give the token endpoint's public https URL in the spec's tokenUrl (or the credential)"
_SERVER = "server"
_TOKEN_URL = "oauth2 token URL"


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """The deployment's egress switches that decide, without DNS, whether a URL can ever be called."""

    allow_loopback: bool = False
    allow_private: bool = False
    allow_http: bool = False

    @classmethod
    def from_settings(cls, settings: RuntimeSettings) -> DestinationPolicy:
        return cls(settings.allow_loopback, settings.allow_private, settings.allow_http)


def check_destinations(
    tools: Sequence[CanonicalTool],
    declared_servers: Sequence[str],
    policy: DestinationPolicy,
    *,
    server_setting: str | None = None,
) -> list[Finding]:
    """Refuse (UrlRefusedError) the first URL in `tools` that can never be called; warnings for the rest.

    `tools` carry their effective server (the `server_setting` override already applied). Every one of
    `declared_servers` (the spec's, kept in the report) is refused when it holds user information.
    """
    for index, server in enumerate(declared_servers):
        if "@" in (_netloc(server) or ""):
            raise UrlUserinfoRefusedError(
                f"The spec's server {index + 1} ({safe_label(server)}) holds user information "
                "('user:password@'); credentials belong in the integration's bound credential.",
                pointer=f"/servers/{index}",
            )
    warnings: dict[str, Finding] = {}
    checked: set[str] = set()
    if server_setting is not None:
        where = f"The integration's server_url setting ({safe_label(server_setting)})"
        _check(server_setting, where, _SERVER, policy, warnings, pointer="")
        checked.add(server_setting)
    for tool, url, where, kind in _destinations(tools):
        if url not in checked:
            checked.add(url)
            _check(url, where, kind, policy, warnings, pointer=tool.pointer)
    return list(warnings.values())


def check_token_url(url: str, policy: DestinationPolicy, *, where: str) -> None:
    """Refuse an absolute OAuth2 token URL that can never be called (a relative one joins the server)."""
    if urlsplit(url).scheme:
        _check(url, where, _TOKEN_URL, policy, {}, pointer="")


def safe_label(url: str) -> str:
    """`url` for messages: scheme, host, port and path; never user information, query or fragment."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an unparseable URL"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}{parts.path}"[:200] if parts.scheme else parts.path[:200]


def _destinations(tools: Sequence[CanonicalTool]) -> Iterator[tuple[CanonicalTool, str, str, str]]:
    """(tool, absolute URL, where it comes from, kind) for each tool's server and OAuth2 token URLs."""
    for tool in tools:
        server = tool.server_url
        if server is not None and urlsplit(server).scheme:
            yield tool, server, f"The server of tool '{tool.name}' ({safe_label(server)})", _SERVER
        for name, scheme in tool.security_schemes.items():
            if scheme.token_url is None:
                continue
            token_url = urljoin(server, scheme.token_url) if server else scheme.token_url
            if urlsplit(token_url).scheme:
                where = f"The OAuth2 token URL of security scheme '{name}' ({safe_label(token_url)})"
                yield tool, token_url, where, _TOKEN_URL


def _check(
    url: str,
    where: str,
    kind: str,
    policy: DestinationPolicy,
    warnings: dict[str, Finding],
    *,
    pointer: str,
) -> None:
    variables = _SERVER_VARIABLE.findall(url) if kind == _SERVER else []
    if variables:
        raise ServerVariableUndefinedError(
            f"{where} still holds the server variable(s) {', '.join(variables)}, which have no default; "
            f"give each a default in the spec, or {_SET_SERVER_URL}.",
            pointer=pointer or None,
            details={"kind": kind},
        )
    try:
        parts = check_static(url, allow_loopback=policy.allow_loopback, allow_private=policy.allow_private)
    except UrlRefusedError as refused:
        hint = _SET_SERVER_URL if kind == _SERVER else _FIX_TOKEN_URL
        raise type(refused)(
            f"{where} can never be called: {refused.message} To use this API, {hint}.",
            pointer=pointer or None,
            details={**(refused.details or {}), "kind": kind},
        ) from None
    if parts.scheme == "http" and not policy.allow_http and _is_public(parts.host):
        warnings.setdefault(
            parts.host,
            Finding(
                code="DESTINATION_PLAIN_HTTP",
                severity=Severity.WARNING,
                message=f"{where} uses plain http; this deployment sends tool calls to public hosts "
                "over https only, so calls will be refused until it is an https URL.",
                pointer=pointer,
            ),
        )


def _is_public(host: str) -> bool:
    """Whether a host that passed `check_static` is public (not admitted only as loopback or private)."""
    literal = ip_literal(host)
    if literal is not None:
        return classify_address(literal) is AddressClass.PUBLIC
    return name_class(host) is None


def _netloc(url: str) -> str | None:
    try:
        return urlsplit(url).netloc
    except ValueError:
        return None
