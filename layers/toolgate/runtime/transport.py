"""The boundary between the pure runtime and the HTTP adapter: what is sent, under which rules, and what
comes back. The adapter (`toolgate.adapters.http.HttpTransport`) implements `Transport`."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import time
from collections.abc import Collection, Mapping
from typing import NamedTuple, Protocol

from toolgate.runtime.credentials import MtlsCredential, OAuthGrant
from toolgate.runtime.models import HttpRequest
from toolgate.runtime.redaction import Redactor
from toolgate.settings import RuntimeSettings


class Deadline(NamedTuple):
    """A point on the monotonic clock by which the whole call (every attempt included) must be done."""

    expires_at: float

    @classmethod
    def after(cls, seconds: float) -> "Deadline":
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    def sooner(self, other: "Deadline | None") -> "Deadline":
        return self if other is None or self.expires_at <= other.expires_at else other


class EgressPolicy(NamedTuple):
    """Which destinations one call may reach. Public addresses over https are always candidates."""

    #: Every loopback port (tests); otherwise only `loopback_ports` on loopback addresses.
    allow_loopback: bool = False
    loopback_ports: frozenset[int] = frozenset()
    allow_private: bool = False
    allow_http: bool = False
    #: Host names or `*.suffix` patterns; None allows any public host.
    allowed_hosts: frozenset[str] | None = None

    @classmethod
    def from_settings(
        cls, settings: RuntimeSettings, *, allowed_hosts: Collection[str] | None = None
    ) -> "EgressPolicy":
        """The settings' policy; a tenant's `allowed_hosts` replaces the settings' list."""
        hosts = allowed_hosts if allowed_hosts is not None else settings.allowed_hosts
        return cls(
            allow_loopback=settings.allow_loopback,
            loopback_ports=frozenset(settings.allowed_loopback_ports),
            allow_private=settings.allow_private,
            allow_http=settings.allow_http,
            allowed_hosts=None if hosts is None else frozenset(host.lower().rstrip(".") for host in hosts),
        )


class HttpResponse(NamedTuple):
    """A complete response: status, headers with lower-case names, and the decoded body."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    #: Attempts made, retries included.
    attempts: int = 1


class OutboundCall(NamedTuple):
    """One request to send, with everything the adapter needs to send it safely."""

    request: HttpRequest
    deadline: Deadline
    policy: EgressPolicy
    #: Scopes caches of tokens and client-certificate sessions.
    tenant: str
    #: Collects secrets the adapter learns (OAuth tokens) so nothing shows them.
    redactor: Redactor
    oauth: OAuthGrant | None = None
    client_certificate: MtlsCredential | None = None


class Transport(Protocol):
    def send(self, call: OutboundCall) -> HttpResponse:
        """Send the call's request and read the whole response within its deadline.

        Raises ToolRuntimeError subclasses (EgressDeniedError, UpstreamTimeoutError, ...), never
        library exceptions, and never with a secret in the message.
        """
        ...
