"""Callback ids: the opaque, signed, expiring last segment of `POST /v1/callbacks/{callback_id}`.

`cb1.{tenant}.{job}.{expires}.{signature}`: the signature is HMAC-SHA256 over the rest, keyed per tenant
(HMAC of the master key and the tenant id), so an id cannot be re-pointed at another tenant's or job's
row, nor outlive its expiry. That it works once is the job row's business (a conditional update).
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import base64
import hashlib
import hmac
import re
from typing import NamedTuple

from toolgate.errors import CallbackExpiredError, CallbackInvalidError

VERSION = "cb1"
CALLBACK_ID = re.compile(
    r"^cb1\.(?P<tenant>[a-z0-9-]{1,63})\.(?P<job>job_[A-Za-z0-9]{26})\.(?P<expires>[0-9]{1,12})"
    r"\.(?P<signature>[A-Za-z0-9_-]{43})$"
)
#: Shortest master key accepted: 256 bits.
MIN_KEY_BYTES = 32


class CallbackClaim(NamedTuple):
    tenant_id: str
    job_id: str
    #: Unix time after which the id is refused.
    expires_at: int


class CallbackSigner:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < MIN_KEY_BYTES:
            raise ValueError(f"the callback signing key must have at least {MIN_KEY_BYTES} bytes")
        self._master_key = master_key

    def sign(self, tenant_id: str, job_id: str, expires_at: int) -> str:
        claim = f"{VERSION}.{tenant_id}.{job_id}.{expires_at}"
        callback_id = f"{claim}.{self._signature(tenant_id, claim)}"
        if not CALLBACK_ID.fullmatch(callback_id):
            raise ValueError("the tenant or job id cannot be part of a callback id")
        return callback_id

    def verify(self, callback_id: str, now: float) -> CallbackClaim:
        """The claim of a genuine, unexpired id. A forged or malformed id and an expired one are refused
        with different codes; neither says which part was wrong."""
        match = CALLBACK_ID.fullmatch(callback_id)
        if match is None:
            raise _invalid()
        claim = callback_id.rsplit(".", 1)[0]
        expected = self._signature(match["tenant"], claim)
        if not hmac.compare_digest(expected, match["signature"]):
            raise _invalid()
        expires_at = int(match["expires"])
        if expires_at <= now:
            raise CallbackExpiredError(
                "This callback URL has expired; the job it belonged to has timed out and cannot be completed."
            )
        return CallbackClaim(tenant_id=match["tenant"], job_id=match["job"], expires_at=expires_at)

    def _signature(self, tenant_id: str, claim: str) -> str:
        tenant_key = hmac.new(self._master_key, f"tenant:{tenant_id}".encode(), hashlib.sha256).digest()
        digest = hmac.new(tenant_key, claim.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _invalid() -> CallbackInvalidError:
    return CallbackInvalidError("This is not a callback URL Toolgate issued; nothing was changed.")
