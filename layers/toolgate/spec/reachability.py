"""Upload-time checks of the URLs compiled tools will call: servers and OAuth2 token URLs.

A URL the call-time egress guard would refuse whatever DNS answers (another scheme, user information,
an IP literal or an internal name the deployment's policy does not allow, an unfilled server variable)
leaves its tools out of the upload, and refuses the upload when that leaves no tool, so no integration
is ready with tools that can never be called. Names are not resolved here; the egress guard checks
their addresses on every call.

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
_FIX_OAUTH_URL = "give the token endpoint's public https URL in the spec's tokenUrl (or the credential)"
_SERVER = "server"
_OAUTH_URL = "oauth2 token URL"


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """The deployment's egress switches that decide, without DNS, whether a URL can ever be called."""

    allow_loopback: bool = False
    allow_private: bool = False
    allow_http: bool = False
    #: Loopback ports reachable although `allow_loopback` is off (the local stack names its targets' ports).
    loopback_ports: frozenset[int] = frozenset()

    @classmethod
    def from_settings(cls, settings: RuntimeSettings) -> DestinationPolicy:
        return cls(
            settings.allow_loopback,
            settings.allow_private,
            settings.allow_http,
            frozenset(settings.allowed_loopback_ports),
        )


@dataclass(frozen=True, slots=True)
class CheckedTools:
    """The tools whose every destination can be called, and findings for those left out or to fix."""

    tools: list[CanonicalTool]
    findings: list[Finding]


def check_destinations(
    tools: Sequence[CanonicalTool],
    declared_servers: Sequence[str],
    policy: DestinationPolicy,
    *,
    server_setting: str | None = None,
) -> CheckedTools:
    """Leave out each tool with a server or OAuth2 token URL that can never be called (an ERROR finding
    with the refusal's code); raise that refusal (UrlRefusedError) when no tool is left.

    `tools` carry their effective server (the `server_setting` override already applied), which is
    checked first and raises on its own. Any of `declared_servers` (the spec's, kept in the report)
    with user information raises too: a credential in a URL is never stored.
    """
    for index, server in enumerate(declared_servers):
        if "@" in (_netloc(server) or ""):
            raise UrlUserinfoRefusedError(
                f"The spec's server {index + 1} ({safe_label(server)}) holds user information "
                "('user:password@'); credentials belong in the integration's bound credential.",
                pointer=f"/servers/{index}",
            )
    warnings: dict[str, Finding] = {}
    if server_setting is not None:
        where = f"The integration's server_url setting ({safe_label(server_setting)})"
        _check(server_setting, where, _SERVER, policy, warnings, pointer="")
    verdicts: dict[str, UrlRefusedError | None] = {}
    kept: list[CanonicalTool] = []
    left_out: list[Finding] = []
    first_refusal: UrlRefusedError | None = None
    for tool in tools:
        refusal: UrlRefusedError | None = None
        for url, where, kind in _destinations(tool):
            if url not in verdicts:
                try:
                    _check(url, where, kind, policy, warnings, pointer=tool.pointer)
                    verdicts[url] = None
                except UrlRefusedError as refused:
                    verdicts[url] = refused
            refusal = refusal or verdicts[url]
        if refusal is None:
            kept.append(tool)
            continue
        first_refusal = first_refusal or refusal
        left_out.append(
            Finding(
                code=refusal.code,
                severity=Severity.ERROR,
                message=f"Tool '{tool.name}' was left out: {refusal.message}",
                pointer=tool.pointer,
            )
        )
    if first_refusal is not None and not kept:
        raise first_refusal
    return CheckedTools(tools=kept, findings=[*left_out, *warnings.values()])


def check_token_url(url: str, policy: DestinationPolicy, *, where: str) -> None:
    """Refuse an absolute OAuth2 token URL that can never be called (a relative one joins the server)."""
    if urlsplit(url).scheme:
        _check(url, where, _OAUTH_URL, policy, {}, pointer="")


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


def _destinations(tool: CanonicalTool) -> Iterator[tuple[str, str, str]]:
    """(absolute URL, where it comes from, kind) for the tool's server and OAuth2 token URLs."""
    server = tool.server_url
    if server is not None and urlsplit(server).scheme:
        yield server, f"The server {safe_label(server)}", _SERVER
    for name, scheme in tool.security_schemes.items():
        if scheme.token_url is None:
            continue
        token_url = urljoin(server, scheme.token_url) if server else scheme.token_url
        if urlsplit(token_url).scheme:
            yield (
                token_url,
                f"The OAuth2 token URL of security scheme '{name}' ({safe_label(token_url)})",
                _OAUTH_URL,
            )


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
        parts = check_static(
            url,
            allow_loopback=policy.allow_loopback,
            loopback_ports=policy.loopback_ports,
            allow_private=policy.allow_private,
        )
    except UrlRefusedError as refused:
        hint = _SET_SERVER_URL if kind == _SERVER else _FIX_OAUTH_URL
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
