"""Callback ids (`toolgate.service.callback_ids`): signed per tenant, bound to one job and one expiry, and
refused with CALLBACK_INVALID or CALLBACK_EXPIRED without saying which part was wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import pytest
from toolgate.errors import CallbackExpiredError, CallbackInvalidError
from toolgate.service.callback_ids import CALLBACK_ID, CallbackClaim, CallbackSigner
from toolgate.service.jobs.terms import new_job_id

KEY = bytes(range(32))
JOB = "job_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3"
EXPIRES = 1_900_000_000
SIGNER = CallbackSigner(KEY)


def parts(callback_id: str) -> list[str]:
    return callback_id.split(".")


def test_genuine_id_verifies_to_its_claim() -> None:
    callback_id = SIGNER.sign("acme", JOB, EXPIRES)
    assert SIGNER.verify(callback_id, EXPIRES - 1) == CallbackClaim("acme", JOB, EXPIRES)


def test_id_is_url_safe_and_has_the_documented_shape() -> None:
    job_id = new_job_id()
    callback_id = SIGNER.sign("acme-eu-1", job_id, EXPIRES)
    version, tenant, job, expires, signature = parts(callback_id)
    assert (version, tenant, job, expires) == ("cb1", "acme-eu-1", job_id, str(EXPIRES))
    assert CALLBACK_ID.fullmatch(callback_id)
    assert len(signature) == 43
    assert set(callback_id) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def test_signature_is_hmac_sha256_with_a_per_tenant_key() -> None:
    """Pins the wire format: ids issued before a deploy must verify after it."""
    tenant_key = hmac.new(KEY, b"tenant:acme", hashlib.sha256).digest()
    claim = f"cb1.acme.{JOB}.{EXPIRES}"
    digest = hmac.new(tenant_key, claim.encode(), hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert SIGNER.sign("acme", JOB, EXPIRES) == f"{claim}.{expected}"


def test_same_job_and_expiry_sign_differently_per_tenant() -> None:
    assert parts(SIGNER.sign("acme", JOB, EXPIRES))[4] != parts(SIGNER.sign("globex", JOB, EXPIRES))[4]


@pytest.mark.parametrize(
    ("index", "value"),
    [(1, "globex"), (2, "job_" + "Z" * 26), (3, str(EXPIRES + 86_400)), (3, str(EXPIRES - 1))],
    ids=["other-tenant", "other-job", "later-expiry", "earlier-expiry"],
)
def test_id_re_pointed_at_another_tenant_job_or_expiry_is_invalid(index: int, value: str) -> None:
    pieces = parts(SIGNER.sign("acme", JOB, EXPIRES))
    pieces[index] = value
    with pytest.raises(CallbackInvalidError):
        SIGNER.verify(".".join(pieces), EXPIRES - 10)


def test_id_signed_with_another_key_is_invalid() -> None:
    forged = CallbackSigner(b"x" * 32).sign("acme", JOB, EXPIRES)
    with pytest.raises(CallbackInvalidError):
        SIGNER.verify(forged, EXPIRES - 10)


def test_every_single_character_change_of_the_signature_is_invalid() -> None:
    callback_id = SIGNER.sign("acme", JOB, EXPIRES)
    head, signature = callback_id.rsplit(".", 1)
    for position in range(len(signature)):
        replacement = "A" if signature[position] != "A" else "B"
        changed = signature[:position] + replacement + signature[position + 1 :]
        with pytest.raises(CallbackInvalidError):
            SIGNER.verify(f"{head}.{changed}", EXPIRES - 10)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda i: "",
        lambda i: i.replace("cb1.", "cb2.", 1),
        lambda i: i + "\n",
        lambda i: " " + i,
        lambda i: i + "=",
        lambda i: i + ".extra",
        lambda i: i.upper(),
        lambda i: i.rsplit(".", 1)[0],
        lambda i: i.replace("acme", "ACME", 1),
        lambda i: i.replace(".", "/"),
        lambda i: "x" * 10_000,
    ],
    ids=[
        "empty",
        "version",
        "newline",
        "space",
        "padding",
        "extra-part",
        "upper",
        "no-signature",
        "tenant-case",
        "slashes",
        "huge",
    ],
)
def test_malformed_id_is_invalid(mangle: Callable[[str], str]) -> None:
    with pytest.raises(CallbackInvalidError):
        SIGNER.verify(mangle(SIGNER.sign("acme", JOB, EXPIRES)), EXPIRES - 10)


@pytest.mark.parametrize("now", [EXPIRES, EXPIRES + 0.5, EXPIRES + 86_400])
def test_genuine_id_at_or_past_its_expiry_is_expired(now: float) -> None:
    with pytest.raises(CallbackExpiredError):
        SIGNER.verify(SIGNER.sign("acme", JOB, EXPIRES), now)


def test_forged_id_past_its_expiry_is_invalid_not_expired() -> None:
    """The expiry is only read from a genuine id, so a refusal says nothing about a forgery's parts."""
    forged = CallbackSigner(b"x" * 32).sign("acme", JOB, EXPIRES)
    with pytest.raises(CallbackInvalidError):
        SIGNER.verify(forged, EXPIRES + 10)


def test_refusals_do_not_name_the_part_that_was_wrong() -> None:
    pieces = parts(SIGNER.sign("acme", JOB, EXPIRES))
    messages = set()
    for index, value in [(1, "globex"), (2, "job_" + "Z" * 26), (4, "A" * 43)]:
        changed = [*pieces]
        changed[index] = value
        with pytest.raises(CallbackInvalidError) as refused:
            SIGNER.verify(".".join(changed), EXPIRES - 10)
        messages.add(refused.value.message)
    assert len(messages) == 1
    (message,) = messages
    for word in ("tenant", "job", "signature", "expir"):
        assert word not in message.lower()


@pytest.mark.parametrize("key", [b"", b"k" * 31])
def test_signing_key_shorter_than_256_bits_is_refused(key: bytes) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        CallbackSigner(key)


@pytest.mark.parametrize(
    ("tenant", "job"),
    [
        ("ac.me", JOB),
        ("Acme", JOB),
        ("", JOB),
        ("acme", "job_short"),
        ("acme", JOB + ".x"),
        ("acme", "x" * 30),
    ],
)
def test_tenant_or_job_id_that_cannot_be_parsed_back_is_not_signed(tenant: str, job: str) -> None:
    with pytest.raises(ValueError, match="cannot be part of a callback id"):
        SIGNER.sign(tenant, job, EXPIRES)


@pytest.mark.parametrize("expires", [-1, 10**12])
def test_expiry_outside_twelve_digits_is_not_signed(expires: int) -> None:
    with pytest.raises(ValueError, match="cannot be part of a callback id"):
        SIGNER.sign("acme", JOB, expires)
