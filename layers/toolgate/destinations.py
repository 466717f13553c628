"""Where a URL points, without resolving it: pure parsing and classification of hosts and addresses.

Shared by the call-time egress guard (`toolgate.adapters.egress`, which also resolves names and checks
every address) and the upload-time checks (`toolgate.spec.reachability`), so both read a URL the same
way. Refusals raise a UrlRefusedError subclass, one per reason; the egress guard reports them as
EGRESS_DENIED.

`ipaddress.is_global` alone is not enough: on Python 3.11 it calls `::127.0.0.1`, `fec0::1`,
`64:ff9b::7f00:1` and multicast addresses global. Embedded IPv4 addresses (IPv4-mapped and
IPv4-compatible IPv6) are decoded and checked as IPv4; translation prefixes (NAT64, 6to4) are refused.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

from toolgate.errors import (
    UrlInternalHostRefusedError,
    UrlInvalidError,
    UrlIpLiteralRefusedError,
    UrlSchemeRefusedError,
    UrlUserinfoRefusedError,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
#: Names that never reach the public internet: RFC 6761 `localhost`, RFC 6762 `.local` (mDNS) and the
#: `.internal` names of cloud networks (`metadata.google.internal`, `ip-10-0-0-1.ec2.internal`).
_LOOPBACK_SUFFIXES = (".localhost",)
_INTERNAL_SUFFIXES = (".internal", ".local")


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
def classify_text(address: str) -> AddressClass:
    return classify_address(ipaddress.ip_address(address))


def class_allowed(
    address_class: AddressClass,
    port: int,
    *,
    allow_loopback: bool,
    loopback_ports: Collection[int],
    allow_private: bool,
) -> bool:
    """Whether a policy with these switches may reach `address_class` on `port`.

    Private admits loopback too; otherwise loopback is reachable on every port (`allow_loopback`) or only
    on the named `loopback_ports`.
    """
    if address_class is AddressClass.PUBLIC:
        return True
    if address_class is AddressClass.LOOPBACK:
        return allow_loopback or allow_private or port in loopback_ports
    if address_class is AddressClass.PRIVATE:
        return allow_private
    return False


class UrlParts(NamedTuple):
    """A URL as the guard reads it: scheme, host (lower case, no brackets, IDNA-encoded), port, target."""

    scheme: str
    host: str
    port: int
    #: Origin-form request target: path and query.
    target: str


def split_url(url: str) -> UrlParts:
    """Parse `url`, refusing other schemes, user information and hosts that are not valid names."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UrlInvalidError(f"The URL cannot be parsed safely: {error}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlSchemeRefusedError(f"Only http and https URLs are allowed, not '{scheme or 'none'}'.")
    if "@" in parts.netloc:
        raise UrlUserinfoRefusedError("URLs with user information ('user@host') are refused.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlInvalidError("The URL has no host.")
    host = _ascii_host(host)
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return UrlParts(scheme, host, port or (443 if scheme == "https" else 80), target)


def _ascii_host(host: str) -> str:
    if ":" in host:
        return host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UrlInvalidError("The host name is not a valid internationalized domain name.") from None
    labels = host.split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise UrlInvalidError(f"The host '{host}' is not a valid host name.")
    return host


def ip_literal(host: str) -> IPAddress | None:
    """The address when `host` is an IP literal. Numeric forms other than dotted-quad are refused.

    `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` all mean 127.0.0.1 to some parsers and
    something else (or nothing) to others; a host whose last label is a number must be a plain
    dotted-quad, as the WHATWG URL standard's IPv4 parser would otherwise reinterpret it.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        if ":" in host:
            raise UrlInvalidError(f"The host '[{host}]' is not a valid IPv6 address.") from None
    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise UrlIpLiteralRefusedError(
            f"The host '{host}' is an ambiguous numeric address; write IPv4 addresses as four decimal "
            "numbers (a.b.c.d).",
            details={"host": host},
        )
    return None


def name_class(host: str) -> AddressClass | None:
    """LOOPBACK or PRIVATE for names that can only mean this machine or an internal network, else None.

    `host` is a host name as `split_url` returns it (not an IP literal).
    """
    if host == "localhost" or host.endswith(_LOOPBACK_SUFFIXES):
        return AddressClass.LOOPBACK
    if "." not in host or host.endswith(_INTERNAL_SUFFIXES):
        return AddressClass.PRIVATE
    return None


def check_static(
    url: str, *, allow_loopback: bool, loopback_ports: Collection[int], allow_private: bool
) -> UrlParts:
    """Everything about `url` that can be refused without resolving its name, under a policy's switches.

    IP literals are checked by class (a public literal passes); `localhost`, single-label names and
    `.internal`/`.local`/`.localhost` names count as loopback or private. Public names pass: their
    addresses are checked when a call resolves them.
    """
    parts = split_url(url)
    literal = ip_literal(parts.host)
    if literal is not None:
        address_class = classify_address(literal)
        if not class_allowed(
            address_class,
            parts.port,
            allow_loopback=allow_loopback,
            loopback_ports=loopback_ports,
            allow_private=allow_private,
        ):
            raise UrlIpLiteralRefusedError(
                f"The host '{parts.host}' is a {address_class.value} address, which tools may not reach.",
                details={"host": parts.host, "class": address_class.value},
            )
        return parts
    internal = name_class(parts.host)
    if internal is not None and not class_allowed(
        internal,
        parts.port,
        allow_loopback=allow_loopback,
        loopback_ports=loopback_ports,
        allow_private=allow_private,
    ):
        kind = "this machine" if internal is AddressClass.LOOPBACK else "an internal network"
        raise UrlInternalHostRefusedError(
            f"The host '{parts.host}' names {kind}, which tools may not reach; give the API's public "
            "host name.",
            details={"host": parts.host},
        )
    return parts
