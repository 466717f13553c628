"""OAuth2 client credentials: the token request, reading the token endpoint's answer, and a token cache.

The HTTP exchange itself goes through the transport, so token URLs pass the same egress guard,
deadline and size cap as tool calls. Tokens are cached per tenant, credential identity, token URL,
scopes and audience until shortly before they expire.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlencode

from toolgate.errors import OAuthTokenError
from toolgate.runtime.credentials import OAuthGrant, credential_fingerprint, oauth_client_basic_token
from toolgate.runtime.models import HttpRequest
from toolgate.runtime.transport import HttpResponse

TokenKey = tuple[str, str, str, tuple[str, ...], str | None]
_ERROR_TEXT_CHARS = 200


def token_key(tenant: str, grant: OAuthGrant) -> TokenKey:
    credential = grant.credential
    return (tenant, credential_fingerprint(credential), grant.token_url, grant.scopes, credential.audience)


def token_request(grant: OAuthGrant) -> HttpRequest:
    """The client-credentials token request (RFC 6749 section 4.4.2). Safe to retry: it changes nothing."""
    credential = grant.credential
    form = {"grant_type": "client_credentials"}
    if grant.scopes:
        form["scope"] = " ".join(grant.scopes)
    if credential.audience:
        form["audience"] = credential.audience
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if credential.client_auth == "basic":
        headers["Authorization"] = f"Basic {oauth_client_basic_token(credential)}"
    else:
        form["client_id"] = credential.client_id
        form["client_secret"] = credential.client_secret.get_secret_value()
    return HttpRequest(
        method="POST", url=grant.token_url, headers=headers, body=urlencode(form).encode(), retryable=True
    )


class IssuedToken(NamedTuple):
    value: str
    #: Lifetime in seconds the endpoint stated, or None.
    expires_in: float | None


def read_token(response: HttpResponse, where: str) -> IssuedToken:
    """The access token in a token endpoint's answer. Raises OAuthTokenError with the endpoint's reason."""
    try:
        payload = json.loads(response.body) if response.body else None
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        payload = {}
    if not 200 <= response.status < 300:
        reason = _text(payload.get("error")) or f"HTTP {response.status}"
        description = _text(payload.get("error_description"))
        detail = f": {description}" if description else ""
        raise OAuthTokenError(
            f"The OAuth2 token endpoint {where} refused the client credentials ({reason}{detail}).",
            details={"status": response.status, "error": reason},
        )
    token = payload.get("access_token")
    if not isinstance(token, str) or not token or not token.isprintable():
        raise OAuthTokenError(f"The OAuth2 token endpoint {where} answered without a usable access_token.")
    token_type = payload.get("token_type", "bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise OAuthTokenError(
            f"The OAuth2 token endpoint {where} issued a '{_text(token_type)}' token; only bearer tokens "
            "are supported."
        )
    expires_in = payload.get("expires_in")
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)
    lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in >= 0 else None
    return IssuedToken(value=token, expires_in=lifetime)


def _text(value: object) -> str:
    return str(value)[:_ERROR_TEXT_CHARS] if value is not None else ""


class TokenCache:
    """Access tokens by TokenKey, each kept until `margin` seconds (or half its life) before expiry."""

    def __init__(
        self,
        *,
        refresh_margin_seconds: float,
        default_lifetime_seconds: float,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._margin = refresh_margin_seconds
        self._default_lifetime = default_lifetime_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._tokens: OrderedDict[TokenKey, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: TokenKey) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
            if entry is None:
                return None
            token, fresh_until = entry
            if self._clock() >= fresh_until:
                del self._tokens[key]
                return None
            self._tokens.move_to_end(key)
            return token

    def put(self, key: TokenKey, token: IssuedToken) -> None:
        lifetime = self._default_lifetime if token.expires_in is None else token.expires_in
        fresh_for = lifetime - min(self._margin, lifetime / 2)
        with self._lock:
            self._tokens[key] = (token.value, self._clock() + fresh_for)
            self._tokens.move_to_end(key)
            while len(self._tokens) > self._max_entries:
                self._tokens.popitem(last=False)

    def discard(self, key: TokenKey, token: str) -> None:
        """Forget `token` (the target refused it), unless another call already replaced it."""
        with self._lock:
            entry = self._tokens.get(key)
            if entry is not None and entry[0] == token:
                del self._tokens[key]
