"""The HTTP transport: urllib3 behind the egress guard, with a total deadline, capped bodies and retries.

- Every request (tool calls, OAuth token requests) passes `EgressGuard.check` and the connection is
  made to the address it checked (pinned); the Host header, TLS SNI and certificate verification use
  the URL's host name. Pools are keyed by that address and name, so DNS rebinding cannot redirect them.
- The deadline is total: every connect, handshake, send and receive gets the time left as its timeout,
  so a server that trickles bytes cannot stretch a call. Retry pauses count against it too.
- Bodies are streamed and decoded in bounded chunks; reading stops past `max_response_bytes` decoded
  bytes, so a gzip bomb stops at the cap.
- Redirects are never followed, cookies never stored, proxies and `.netrc` never consulted.
- A circuit breaker per tenant and target origin (`toolgate.runtime.breaker`) stops calls to a target
  that keeps failing; retries stop as soon as its circuit opens.
- Client certificates live in one SSLContext per tenant and credential, loaded from an anonymous
  in-memory file (`memfd_create`) where the platform has one, never from a shared path.

urllib3 is used directly rather than through requests: requests would add a cookie jar shared across
calls, environment proxies and `.netrc` credentials, and redirect handling that forwards headers, all of
which this transport must switch off, and its per-call overhead.
"""

from __future__ import annotations

import builtins
import ipaddress
import logging
import os
import random
import re
import socket
import ssl
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import certifi
from urllib3 import HTTPConnectionPool, HTTPHeaderDict, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util import Timeout

from toolgate import __version__
from toolgate.adapters.egress import Destination, EgressGuard, Resolver
from toolgate.adapters.oauth import TokenCache, TokenKey, read_token, token_key, token_request
from toolgate.errors import (
    CircuitOpenError,
    CredentialInvalidError,
    EgressDeniedError,
    OAuthTokenError,
    ResponseTooLargeError,
    ToolRuntimeError,
    UpstreamOutcomeUnknownError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
    UpstreamTlsError,
    UpstreamUnreachableError,
)
from toolgate.runtime.breaker import CircuitBreakers, CircuitKey
from toolgate.runtime.credentials import MtlsCredential, credential_fingerprint, with_bearer_token
from toolgate.runtime.models import HttpRequest
from toolgate.runtime.redaction import CURRENT_REDACTOR
from toolgate.runtime.transport import Deadline, HttpResponse, OutboundCall
from toolgate.settings import RuntimeSettings, get_settings

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

logger = logging.getLogger(__name__)

#: Statuses worth another attempt of a retryable request.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_CHUNK_BYTES = 64 * 1024


# --- Sockets that keep the deadline -----------------------------------------------------------


class _AttemptState:
    """Shared by the sockets of one attempt: its deadline, and whether bytes went out and came back."""

    __slots__ = ("expires_at", "received", "sent")

    def __init__(self, expires_at: float) -> None:
        self.expires_at = expires_at
        self.sent = False
        self.received = False


_ATTEMPT: ContextVar[_AttemptState | None] = ContextVar("toolgate_http_attempt", default=None)


def _arm(sock: socket.socket, *, sending: bool = False) -> _AttemptState | None:
    """Give the next socket operation the time left until the attempt's deadline as its timeout."""
    state = _ATTEMPT.get()
    if state is None:
        return None
    remaining = state.expires_at - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the call's deadline passed")
    sock.settimeout(remaining)
    if sending:
        state.sent = True
    return state


def _note_received(state: _AttemptState | None, amount: int) -> None:
    if state is not None and amount:
        state.received = True


class _DeadlineSocket(socket.socket):
    def connect(self, address: Any) -> None:
        _arm(self)
        super().connect(address)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        state = _arm(self)
        data = super().recv(bufsize, flags)
        _note_received(state, len(data))
        return data

    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        state = _arm(self)
        count = super().recv_into(buffer, nbytes, flags)
        _note_received(state, count)
        return count

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        _arm(self, sending=True)
        return super().send(data, flags)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        _arm(self, sending=True)
        super().sendall(data, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """`recv`, `recv_into` go through `read`; `sendall` goes through `send`."""

    def do_handshake(self, block: bool = False) -> None:
        _arm(self)
        super().do_handshake(block)

    def read(self, len: int = 1024, buffer: WriteableBuffer | None = None) -> bytes:
        state = _arm(self)
        data = super().read(len, buffer)
        # With a buffer, `read` returns the count (typeshed says bytes).
        _note_received(state, data if isinstance(data, int) else builtins.len(data))
        return data

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        _arm(self, sending=True)
        return super().send(data, flags)


def _connect_pinned(connection: HTTPConnection) -> socket.socket:
    """Connect to the pool's host, which must be the IP address the egress guard checked."""
    try:
        address = ipaddress.ip_address(connection.host)
    except ValueError:
        raise EgressDeniedError(
            "Refusing to connect to a host name that was not resolved and checked."
        ) from None
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = _DeadlineSocket(family, socket.SOCK_STREAM)
    try:
        for option in connection.socket_options or ():
            sock.setsockopt(*option)
        sock.connect((str(address), connection.port))
    except TimeoutError as error:
        sock.close()
        raise ConnectTimeoutError(connection, f"Connection to {address} timed out.") from error
    except OSError as error:
        sock.close()
        raise NewConnectionError(connection, f"Failed to connect: {error.strerror or error}") from error
    return sock


class _PinnedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_pinned(self)


class _PinnedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_pinned(self)


class _PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


# --- TLS contexts and sessions ----------------------------------------------------------------


def _tls_context(ca_pem: str | None) -> ssl.SSLContext:
    """Certificate and host name verification on; trusts `ca_pem` if given, else certifi's bundle."""
    context = ssl.create_default_context(cafile=None if ca_pem else certifi.where(), cadata=ca_pem)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.sslsocket_class = _DeadlineSSLSocket
    return context


def _client_certificate_context(credential: MtlsCredential, ca_pem: str | None) -> ssl.SSLContext:
    try:
        context = _tls_context(credential.ca_pem or ca_pem)
    except ssl.SSLError:
        raise CredentialInvalidError("The mtls credential's ca_pem is not a valid PEM certificate.") from None
    pem = f"{credential.certificate_pem.strip()}\n{credential.private_key_pem.get_secret_value().strip()}\n"
    password = credential.private_key_password
    with _private_pem_path(pem.encode("utf-8")) as path:
        try:
            # A password is always passed, so OpenSSL never prompts on a terminal for an encrypted key.
            context.load_cert_chain(path, password=password.get_secret_value() if password else "")
        except (ssl.SSLError, ValueError):
            raise CredentialInvalidError(
                "The mtls credential's certificate_pem or private_key_pem cannot be loaded: they must be "
                "PEM, belong together, and an encrypted key needs private_key_password."
            ) from None
    return context


@contextmanager
def _private_pem_path(data: bytes) -> Iterator[str]:
    """A path to `data` that only this process can read, gone when the block ends.

    `ssl` loads client certificates only from files. An anonymous memory file (Linux `memfd_create`)
    never touches a file system; elsewhere a fresh 0700 directory holds a 0600 file, removed at once.
    """
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None and Path("/proc/self/fd").is_dir():
        descriptor = memfd_create("toolgate-client-certificate", os.MFD_CLOEXEC)
        try:
            _write_all(descriptor, data)
            yield f"/proc/self/fd/{descriptor}"
        finally:
            os.close(descriptor)
        return
    directory = Path(tempfile.mkdtemp(prefix="toolgate-certificate-"))
    path = directory / "client.pem"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(descriptor, data)
        finally:
            os.close(descriptor)
        yield str(path)
    finally:
        path.unlink(missing_ok=True)
        directory.rmdir()


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


class _Session:
    """Connection pools sharing one TLS context: one per tenant and client certificate, one for the rest."""

    def __init__(self, context: ssl.SSLContext, max_pools: int) -> None:
        self.manager = PoolManager(num_pools=max_pools, ssl_context=context)
        self.manager.pool_classes_by_scheme = {
            "http": _PinnedHTTPConnectionPool,
            "https": _PinnedHTTPSConnectionPool,
        }

    def pool(self, destination: Destination) -> HTTPConnectionPool:
        if destination.scheme == "https":
            return self.manager.connection_from_host(
                destination.address,
                destination.port,
                "https",
                pool_kwargs={"server_hostname": destination.host},
            )
        return self.manager.connection_from_host(destination.address, destination.port, "http")

    def close(self) -> None:
        self.manager.clear()


# --- The transport ----------------------------------------------------------------------------


class HttpTransport:
    """Sends OutboundCalls. Thread-safe; keep one per process so pools and tokens are reused.

    `resolver` replaces the system resolver (tests). `trusted_ca_pem` replaces the public CA bundle for
    servers with a private CA. `sleep` and `jitter` (a float in [0, 1)) drive retry pauses. `clock` (in
    seconds, monotonic) drives the OAuth2 token cache and the circuit breakers' cool-downs.
    """

    def __init__(
        self,
        settings: RuntimeSettings | None = None,
        *,
        resolver: Resolver | None = None,
        trusted_ca_pem: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings or get_settings().runtime
        self._guard = EgressGuard(resolver)
        self._trusted_ca_pem = trusted_ca_pem
        self._sleep = sleep
        self._jitter = jitter
        self._tokens = TokenCache(
            refresh_margin_seconds=self._settings.oauth_refresh_margin_seconds,
            default_lifetime_seconds=self._settings.oauth_default_token_lifetime_seconds,
            clock=clock,
        )
        self._breakers = CircuitBreakers(
            failure_threshold=self._settings.breaker_failure_threshold,
            cooldown_seconds=self._settings.breaker_cooldown_seconds,
            max_circuits=self._settings.breaker_max_circuits,
            clock=clock,
        )
        self._lock = threading.Lock()
        self._shared_session: _Session | None = None
        self._certificate_sessions: OrderedDict[tuple[str, str], _Session] = OrderedDict()
        self._user_agent = f"toolgate/{__version__}"

    def send(self, call: OutboundCall) -> HttpResponse:
        published = CURRENT_REDACTOR.set(call.redactor)
        try:
            session = self._session_for(call)
            if call.oauth is None:
                return self._exchange(session, call.request, call)
            return self._send_with_token(session, call)
        finally:
            CURRENT_REDACTOR.reset(published)

    def close(self) -> None:
        with self._lock:
            sessions = list(self._certificate_sessions.values())
            if self._shared_session is not None:
                sessions.append(self._shared_session)
            self._certificate_sessions.clear()
            self._shared_session = None
        for session in sessions:
            session.close()
        self._guard.close()

    # --- sessions -----------------------------------------------------------------------------

    def _session_for(self, call: OutboundCall) -> _Session:
        certificate = call.client_certificate
        if certificate is None:
            with self._lock:
                if self._shared_session is None:
                    self._shared_session = _Session(
                        _tls_context(self._trusted_ca_pem), self._settings.max_connection_pools
                    )
                return self._shared_session
        key = (call.tenant, credential_fingerprint(certificate))
        with self._lock:
            session = self._certificate_sessions.get(key)
            if session is not None:
                self._certificate_sessions.move_to_end(key)
                return session
        session = _Session(
            _client_certificate_context(certificate, self._trusted_ca_pem),
            self._settings.max_connection_pools,
        )
        evicted: list[_Session] = []
        with self._lock:
            self._certificate_sessions[key] = session
            while len(self._certificate_sessions) > self._settings.max_client_certificate_sessions:
                evicted.append(self._certificate_sessions.popitem(last=False)[1])
        for old in evicted:
            old.close()
        return session

    # --- OAuth2 -------------------------------------------------------------------------------

    def _send_with_token(self, session: _Session, call: OutboundCall) -> HttpResponse:
        grant = call.oauth
        assert grant is not None
        key = token_key(call.tenant, grant)
        token = self._token(session, call, key)
        response = self._exchange(session, with_bearer_token(call.request, token), call)
        if response.status != 401:
            return response
        # The token may have been revoked or expired early: one refresh, one more try.
        self._tokens.discard(key, token)
        token = self._token(session, call, key)
        again = self._exchange(session, with_bearer_token(call.request, token), call)
        return again._replace(attempts=response.attempts + again.attempts)

    def _token(self, session: _Session, call: OutboundCall, key: TokenKey) -> str:
        token = self._tokens.get(key)
        if token is None:
            grant = call.oauth
            assert grant is not None
            where = _label(grant.token_url)
            try:
                response = self._exchange(session, token_request(grant), call)
            except (EgressDeniedError, UpstreamTimeoutError, CircuitOpenError):
                raise
            except ToolRuntimeError as error:
                raise OAuthTokenError(
                    f"Fetching an OAuth2 token from {where} failed: {error.message}"
                ) from None
            issued = read_token(response, where)
            self._tokens.put(key, issued)
            token = issued.value
        call.redactor.add(token)
        return token

    # --- attempts and retries -----------------------------------------------------------------

    def _exchange(self, session: _Session, request: HttpRequest, call: OutboundCall) -> HttpResponse:
        """Send `request`, retrying a retryable one on connection failures and 429/502/503/504 while its
        target's circuit stays closed."""
        attempt = 0
        while True:
            attempt += 1
            can_retry = request.retryable and attempt <= self._settings.max_retries
            key: CircuitKey | None = None
            try:
                destination = self._destination(request, call)
                key = CircuitKey(call.tenant, destination.origin)
                response = self._guarded_attempt(session, request, call, destination, key)
            except UpstreamUnreachableError:
                if can_retry and not self._circuit_open(key) and self._pause(attempt, None, call.deadline):
                    continue
                raise
            if can_retry and response.status in RETRY_STATUSES and not self._circuit_open(key):
                retry_after = _retry_after_seconds(response.headers.get("retry-after"))
                if self._pause(attempt, retry_after, call.deadline):
                    continue
            return response._replace(attempts=attempt)

    def _circuit_open(self, key: CircuitKey | None) -> bool:
        return key is not None and self._breakers.is_open(key)

    def _destination(self, request: HttpRequest, call: OutboundCall) -> Destination:
        destination = self._guard.check(request.url, call.policy, call.deadline)
        if call.deadline.remaining() <= 0:
            raise UpstreamTimeoutError(f"The deadline passed before {destination.label} could be called.")
        return destination

    def _guarded_attempt(
        self,
        session: _Session,
        request: HttpRequest,
        call: OutboundCall,
        destination: Destination,
        key: CircuitKey,
    ) -> HttpResponse:
        """One attempt through the circuit breaker of the tenant and origin, which learns its outcome."""
        permit = self._breakers.admit(key)
        try:
            response = self._attempt(session, request, call, destination)
        except (
            UpstreamUnreachableError,
            UpstreamTimeoutError,
            UpstreamOutcomeUnknownError,
            UpstreamProtocolError,
        ):
            permit.failed()
            raise
        except BaseException:
            permit.released()
            raise
        permit.answered(response.status)
        return response

    def _pause(self, attempt: int, retry_after: float | None, deadline: Deadline) -> bool:
        """Sleep before the next attempt if that still leaves time for it; say whether it does."""
        if retry_after is None:
            ceiling = self._settings.retry_backoff_base_seconds * 2 ** (attempt - 1)
            delay = self._jitter() * min(self._settings.retry_backoff_max_seconds, ceiling)
        else:
            delay = retry_after
        if delay >= deadline.remaining():
            return False
        self._sleep(delay)
        return True

    def _attempt(
        self, session: _Session, request: HttpRequest, call: OutboundCall, destination: Destination
    ) -> HttpResponse:
        deadline = call.deadline
        # Never zero: urllib3 refuses that; the sockets raise TimeoutError once the deadline has passed.
        remaining = max(deadline.remaining(), 0.001)
        pool = session.pool(destination)
        headers = HTTPHeaderDict({"User-Agent": self._user_agent, "Accept-Encoding": "gzip, deflate"})
        for name, value in request.headers.items():
            headers[name] = value
        headers["Host"] = destination.host_header
        state = _AttemptState(deadline.expires_at)
        active = _ATTEMPT.set(state)
        started = time.monotonic()
        try:
            try:
                raw = pool.urlopen(
                    request.method,
                    destination.target,
                    body=request.body,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=Timeout(connect=remaining, read=remaining),
                    preload_content=False,
                    decode_content=True,
                )
            except (HTTPError, OSError) as error:
                raise _attempt_failure(error, state, request, destination, deadline) from None
            response = self._read(raw, request, destination, deadline)
        finally:
            _ATTEMPT.reset(active)
        logger.debug(
            "%s %s -> %d in %.1f ms",
            request.method,
            destination.label,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        return response

    def _read(
        self, raw: BaseHTTPResponse, request: HttpRequest, destination: Destination, deadline: Deadline
    ) -> HttpResponse:
        limit = self._settings.max_response_bytes
        body = bytearray()
        complete = False
        try:
            for chunk in raw.stream(_CHUNK_BYTES, decode_content=True):
                body += chunk
                if len(body) > limit:
                    raise ResponseTooLargeError(
                        f"The answer from {destination.label} is larger than {limit} bytes once decoded; "
                        "reading stopped there. Ask for less (filters, pagination).",
                        details={"status": raw.status, "limit_bytes": limit},
                    )
            complete = True
        except DecodeError:
            raise UpstreamProtocolError(
                f"The answer from {destination.label} could not be decoded "
                f"(Content-Encoding: {raw.headers.get('content-encoding', 'none')})."
            ) from None
        except (HTTPError, OSError) as error:
            raise _lost(request, destination, deadline, error, received=True) from None
        finally:
            if not complete:
                raw.close()
            raw.release_conn()
        headers = {name.lower(): value for name, value in raw.headers.itermerged()}
        return HttpResponse(status=raw.status, reason=raw.reason or "", headers=headers, body=bytes(body))


def _attempt_failure(
    error: BaseException,
    state: _AttemptState,
    request: HttpRequest,
    destination: Destination,
    deadline: Deadline,
) -> Exception:
    """The error for an attempt that got no answer, by how far it got."""
    if _tls_failure(error) and not state.received:
        if state.sent:
            # TLS 1.3 servers refuse a missing or untrusted client certificate after the client has
            # finished its handshake and sent the request; the server never processed it.
            return UpstreamTlsError(
                f"The TLS session with {destination.label} ended before any answer: {_reason(error)}. A "
                "server that requires a client certificate does this when none, or one it does not trust, "
                "is presented."
            )
        return UpstreamTlsError(f"The TLS handshake with {destination.label} failed: {_reason(error)}.")
    if state.sent:
        return _lost(request, destination, deadline, error, received=state.received)
    if deadline.remaining() <= 0:
        return UpstreamTimeoutError(
            f"No connection to {destination.label} could be made before the deadline."
        )
    return UpstreamUnreachableError(f"No connection to {destination.label} could be made: {_reason(error)}.")


def _lost(
    request: HttpRequest,
    destination: Destination,
    deadline: Deadline,
    error: BaseException,
    *,
    received: bool,
) -> Exception:
    """The error for a request that went out but got no complete answer."""
    timed_out = deadline.remaining() <= 0 or isinstance(error, ReadTimeoutError | TimeoutError)
    what = "no complete answer came before the deadline" if timed_out else "the connection broke"
    if request.retryable and not timed_out and not received:
        # Typically a kept-alive connection the server had closed: as good as a failed connect, retried.
        return UpstreamUnreachableError(
            f"The connection to {destination.label} closed before any answer: {_reason(error)}."
        )
    if not request.retryable:
        return UpstreamOutcomeUnknownError(
            f"The {request.method} request to {destination.label} was sent, but {what}. It may or may not "
            "have taken effect: check its outcome before repeating it."
        )
    if timed_out:
        return UpstreamTimeoutError(f"{destination.label} did not answer completely within the deadline.")
    return UpstreamProtocolError(f"The connection to {destination.label} broke: {_reason(error)}.")


def _tls_failure(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError | SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(error: BaseException) -> str:
    """A short cause from the exception chain, without URLs: an OS error text, else the type name."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"certificate verification failed ({seen.verify_message})"
        if isinstance(seen, ssl.SSLError) and seen.reason:
            return str(seen.reason).lower().replace("_", " ")
        if isinstance(seen, OSError) and seen.strerror:
            return str(seen.strerror)
        seen = seen.__cause__ or seen.__context__
    return type(error).__name__


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime  # noqa: PLC0415 - 15 ms of import, off the cold start

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _label(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


# --- Logs -------------------------------------------------------------------------------------

_QUERY = re.compile(r"(?<=[\w/])\?[^\s\"'<>]+")


class RedactingFilter(logging.Filter):
    """Drops query strings and the current call's secrets from log records, third-party ones included."""

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = CURRENT_REDACTOR.get()
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message = f"{message} ({type(error).__name__}: {error})"
            record.exc_info = None
            record.exc_text = None
        cleaned = _QUERY.sub("?[query omitted]", message)
        if redactor is not None:
            cleaned = redactor.redact(cleaned)
        record.msg = cleaned
        record.args = ()
        return True


_FILTERED_LOGGERS = (
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.response",
    "urllib3.poolmanager",
    "urllib3.util.retry",
    __name__,
    "toolgate.adapters.egress",
    "toolgate.runtime.invoke",
)


def _install_log_filter() -> None:
    for name in _FILTERED_LOGGERS:
        named = logging.getLogger(name)
        if not any(isinstance(existing, RedactingFilter) for existing in named.filters):
            named.addFilter(RedactingFilter())


_install_log_filter()
