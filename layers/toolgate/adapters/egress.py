"""The egress guard: every outbound request (tool calls, OAuth token URLs, status polls) passes here.

It parses the URL, refuses what a policy does not allow (scheme, user info, hosts off the tenant's
allowlist, ambiguous numeric hosts), resolves the name within the call's deadline, and refuses the
destination unless every address it resolves to is allowed. The caller connects to the returned
address, the one that was checked, so a second DNS answer (rebinding) is never used.

`ipaddress.is_global` alone is not enough: on Python 3.11 it calls `::127.0.0.1`, `fec0::1`,
`64:ff9b::7f00:1` and multicast addresses global. Embedded IPv4 addresses (IPv4-mapped and
IPv4-compatible IPv6) are decoded and checked as IPv4; translation prefixes (NAT64, 6to4) are refused.

requests-hardened 1.3.0 was evaluated first. It pins the address the same way, but its filter lets
`::127.0.0.1` and `fec0::/10` through, it takes neither a host allowlist nor another classifier, and
it resolves inside requests' pool-key hook with no deadline; so the guard is Toolgate's own.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit

from toolgate.errors import EgressDeniedError, UpstreamTimeoutError, UpstreamUnreachableError
from toolgate.runtime.transport import Deadline, EgressPolicy

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Resolves (host, port) to IP address strings, in preference order.
Resolver = Callable[[str, int], list[str]]


class AddressClass(StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"
    #: RFC 1918, shared address space (100.64/10) and IPv6 unique-local (fc00::/7).
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    #: Cloud instance metadata and credential endpoints; never reachable, whatever the policy.
    METADATA = "cloud metadata"
    UNSPECIFIED = "unspecified"
    MULTICAST = "multicast"
    #: IPv6 prefixes that carry traffic to IPv4 space through a gateway: NAT64, 6to4.
    TRANSLATED = "IPv4 translation"
    #: Everything else that is not globally routable: documentation, benchmarking, reserved, ...
    RESERVED = "special-purpose"


_METADATA = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, Azure, GCP, OpenStack instance metadata
        "169.254.170.2",  # ECS task credentials
        "169.254.170.23",  # EKS pod identity agent
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "fd00:ec2::23",  # EKS pod identity agent over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
    )
)
_PRIVATE = tuple(
    ipaddress.ip_network(network)
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_TRANSLATED = tuple(
    ipaddress.ip_network(network) for network in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16")
)
#: Special-purpose ranges, listed so the result does not depend on the `ipaddress` version's tables.
_RESERVED = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "::/8",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fec0::/10",
    )
)


def classify_address(address: IPAddress) -> AddressClass:
    """What kind of destination `address` is; only PUBLIC is reachable by default."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or _ipv4_compatible(address)
        if embedded is not None:
            return classify_address(embedded)
        if any(address in network for network in _TRANSLATED):
            return AddressClass.TRANSLATED
    if address in _METADATA:
        return AddressClass.METADATA
    if address.is_unspecified:
        return AddressClass.UNSPECIFIED
    if address.is_loopback:
        return AddressClass.LOOPBACK
    if address.is_link_local:
        return AddressClass.LINK_LOCAL
    if address.is_multicast:
        return AddressClass.MULTICAST
    if any(address in network for network in _PRIVATE):
        return AddressClass.PRIVATE
    if address.is_reserved or not address.is_global or any(address in network for network in _RESERVED):
        return AddressClass.RESERVED
    return AddressClass.PUBLIC


def _ipv4_compatible(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside a deprecated IPv4-compatible address (`::a.b.c.d`), except `::` and `::1`."""
    value = int(address)
    if value >> 32 == 0 and value > 1:
        return ipaddress.IPv4Address(value)
    return None


@lru_cache(maxsize=4096)
def _classify_text(address: str) -> AddressClass:
    return classify_address(ipaddress.ip_address(address))


def address_allowed(address_class: AddressClass, port: int, policy: EgressPolicy) -> bool:
    """Whether a destination of this class on this port is reachable under `policy`."""
    if address_class is AddressClass.PUBLIC:
        return True
    if address_class is AddressClass.LOOPBACK:
        return policy.allow_loopback or policy.allow_private or port in policy.loopback_ports
    if address_class is AddressClass.PRIVATE:
        return policy.allow_private
    return False


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a checked request goes: the URL's host for Host, SNI and certificates; the address to dial."""

    scheme: str
    host: str
    port: int
    #: The checked IP address the connection must use.
    address: str
    #: Origin-form request target: path and query.
    target: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.scheme == "https" else 80
        return host if self.port == default_port else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        """Scheme, host and port: what a circuit breaker is kept for."""
        return f"{self.scheme}://{self.host_header}"

    @property
    def label(self) -> str:
        """For messages and logs: scheme, host and path, never the query."""
        return f"{self.scheme}://{self.host_header}{self.target.split('?', 1)[0]}"


_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")


class EgressGuard:
    """Checks destinations against an EgressPolicy and pins each to a checked address.

    `resolver` defaults to the system's getaddrinfo, run on a small thread pool so a slow DNS answer
    cannot outlive the call's deadline.
    """

    def __init__(self, resolver: Resolver | None = None) -> None:
        self._resolver = resolver or _system_resolver
        self._executor: ThreadPoolExecutor | None = None
        self._denied_endpoints = _runtime_api_endpoints()

    def check(self, url: str, policy: EgressPolicy, deadline: Deadline) -> Destination:
        """Parse, check and resolve `url`, or raise EgressDeniedError (or an upstream error: no such host)."""
        scheme, host, port, target = _split(url)
        literal = _ip_literal(host)
        if policy.allowed_hosts is not None and not _host_listed(host, policy.allowed_hosts):
            raise EgressDeniedError(
                f"The host '{host}' is not on this tenant's list of allowed hosts.", details={"host": host}
            )
        addresses = [str(literal)] if literal is not None else self._resolve(host, port, deadline)
        chosen: str | None = None
        chosen_class = AddressClass.PUBLIC
        for address in addresses:
            address_class = _classify_text(address)
            if not address_allowed(address_class, port, policy):
                shown = f"'{host}' resolves to {address}" if literal is None else f"'{host}'"
                if address_class is AddressClass.LOOPBACK and policy.loopback_ports:
                    raise EgressDeniedError(
                        f"The destination {shown}, port {port}, is not a loopback port tools may reach: "
                        "only the ports this deployment names are allowed.",
                        details={"host": host, "address": address, "port": port, "class": "loopback"},
                    )
                raise EgressDeniedError(
                    f"The destination {shown} is a {address_class.value} address, which tools may not reach.",
                    details={"host": host, "address": address, "class": address_class.value},
                )
            if chosen is None:
                chosen, chosen_class = address, address_class
        if chosen is None:
            raise UpstreamUnreachableError(f"The host '{host}' has no addresses.")
        if _is_runtime_api(chosen, chosen_class, port, self._denied_endpoints):
            raise EgressDeniedError(f"The destination '{host}:{port}' is the Lambda runtime API.")
        if scheme == "http" and not (policy.allow_http or chosen_class is not AddressClass.PUBLIC):
            raise EgressDeniedError(
                f"Plain http to '{host}' is refused: only https reaches public hosts unless http is "
                "explicitly allowed.",
                details={"host": host},
            )
        return Destination(scheme=scheme, host=host, port=port, address=chosen, target=target)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _resolve(self, host: str, port: int, deadline: Deadline) -> list[str]:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise UpstreamTimeoutError(f"The deadline passed before '{host}' could be resolved.")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="toolgate-dns")
        future = self._executor.submit(self._resolver, host, port)
        try:
            addresses = future.result(timeout=remaining)
        except FutureTimeoutError:
            raise UpstreamTimeoutError(f"Resolving '{host}' did not finish within the deadline.") from None
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise UpstreamUnreachableError(f"The host '{host}' does not resolve: {reason}.") from None
        # IPv4 first: IPv6 egress is often unavailable (Lambda outside a dual-stack VPC).
        return sorted(addresses, key=lambda address: ":" in address)


def _system_resolver(host: str, port: int) -> list[str]:
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers if answer[0] in _INET_FAMILIES))


_INET_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _split(url: str) -> tuple[str, str, int, str]:
    """Scheme, host (lower case, no brackets, IDNA-encoded), port and request target of `url`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise EgressDeniedError(f"The URL cannot be parsed safely: {error}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise EgressDeniedError(f"Only http and https URLs are allowed, not '{scheme or 'none'}'.")
    if "@" in parts.netloc:
        raise EgressDeniedError("URLs with user information ('user@host') are refused.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise EgressDeniedError("The URL has no host.")
    host = _ascii_host(host)
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), target


def _ascii_host(host: str) -> str:
    if ":" in host:
        return host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise EgressDeniedError("The host name is not a valid internationalized domain name.") from None
    labels = host.split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise EgressDeniedError(f"The host '{host}' is not a valid host name.")
    return host


def _ip_literal(host: str) -> IPAddress | None:
    """The address when `host` is an IP literal. Numeric forms other than dotted-quad are refused.

    `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` all mean 127.0.0.1 to some parsers and
    something else (or nothing) to others; a host whose last label is a number must be a plain
    dotted-quad, as the WHATWG URL standard's IPv4 parser would otherwise reinterpret it.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        if ":" in host:
            raise EgressDeniedError(f"The host '[{host}]' is not a valid IPv6 address.") from None
    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise EgressDeniedError(
            f"The host '{host}' is an ambiguous numeric address; write IPv4 addresses as four decimal "
            "numbers (a.b.c.d).",
            details={"host": host},
        )
    return None


def _host_listed(host: str, allowed: frozenset[str]) -> bool:
    if host in allowed:
        return True
    return any(pattern.startswith("*.") and host.endswith(pattern[1:]) for pattern in allowed)


def _is_runtime_api(
    address: str, address_class: AddressClass, port: int, endpoints: frozenset[tuple[str, int]]
) -> bool:
    """True for the runtime API's address and port, and for its port on any loopback address."""
    return any(
        port == denied_port
        and (
            address == denied
            or (address_class is AddressClass.LOOPBACK and _classify_text(denied) is address_class)
        )
        for denied, denied_port in endpoints
    )


def _runtime_api_endpoints() -> frozenset[tuple[str, int]]:
    """The Lambda runtime API (`AWS_LAMBDA_RUNTIME_API`, e.g. 127.0.0.1:9001): refused even with loopback."""
    endpoint = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
    host, _, port = endpoint.rpartition(":")
    try:
        return frozenset({(str(ipaddress.ip_address(host.strip("[]"))), int(port))})
    except ValueError:
        return frozenset()
