"""The egress guard: every outbound request (tool calls, OAuth token URLs, status polls) passes here.

It parses the URL, refuses what a policy does not allow (scheme, user info, hosts off the tenant's
allowlist, ambiguous numeric hosts), resolves the name within the call's deadline, and refuses the
destination unless every address it resolves to is allowed. The caller connects to the returned
address, the one that was checked, so a second DNS answer (rebinding) is never used.

Parsing and address classes are `toolgate.destinations`' (pure, shared with the upload-time checks);
its refusals are reported here as EGRESS_DENIED.

requests-hardened 1.3.0 was evaluated first. It pins the address the same way, but its filter lets
`::127.0.0.1` and `fec0::/10` through, it takes neither a host allowlist nor another classifier, and
it resolves inside requests' pool-key hook with no deadline; so the guard is Toolgate's own.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import NamedTuple

from toolgate.destinations import (
    AddressClass,
    class_allowed,
    classify_address,
    classify_text,
    ip_literal,
    split_url,
)
from toolgate.errors import (
    EgressDeniedError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
    UrlRefusedError,
)
from toolgate.runtime.transport import Deadline, EgressPolicy

__all__ = ["AddressClass", "Destination", "EgressGuard", "Resolver", "address_allowed", "classify_address"]

#: Resolves (host, port) to IP address strings, in preference order.
Resolver = Callable[[str, int], list[str]]


def address_allowed(address_class: AddressClass, port: int, policy: EgressPolicy) -> bool:
    """Whether a destination of this class on this port is reachable under `policy`."""
    return class_allowed(
        address_class,
        port,
        allow_loopback=policy.allow_loopback,
        loopback_ports=policy.loopback_ports,
        allow_private=policy.allow_private,
    )


class Destination(NamedTuple):
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
        try:
            parts = split_url(url)
            literal = ip_literal(parts.host)
        except UrlRefusedError as refused:
            raise EgressDeniedError(refused.message, details=refused.details) from None
        scheme, host, port, target = parts.scheme, parts.host, parts.port, parts.target
        if policy.allowed_hosts is not None and not _host_listed(host, policy.allowed_hosts):
            raise EgressDeniedError(
                f"The host '{host}' is not on this tenant's list of allowed hosts.", details={"host": host}
            )
        addresses = [str(literal)] if literal is not None else self._resolve(host, port, deadline)
        chosen: str | None = None
        chosen_class = AddressClass.PUBLIC
        for address in addresses:
            address_class = classify_text(address)
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
            or (address_class is AddressClass.LOOPBACK and classify_text(denied) is address_class)
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
