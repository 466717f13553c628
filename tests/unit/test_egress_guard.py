"""The egress guard's address classification and URL checks. No network: resolvers are stand-ins."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from pydantic import ValidationError
from toolgate.adapters.egress import AddressClass, Destination, EgressGuard, classify_address
from toolgate.errors import EgressDeniedError, UpstreamTimeoutError, UpstreamUnreachableError
from toolgate.runtime.transport import Deadline, EgressPolicy
from toolgate.settings import RuntimeSettings, ToolgateSettings

DEFAULT = EgressPolicy()


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("93.184.215.14", AddressClass.PUBLIC),
        ("2606:4700:4700::1111", AddressClass.PUBLIC),
        ("127.0.0.1", AddressClass.LOOPBACK),
        ("127.255.0.9", AddressClass.LOOPBACK),
        ("::1", AddressClass.LOOPBACK),
        ("10.1.2.3", AddressClass.PRIVATE),
        ("172.31.255.1", AddressClass.PRIVATE),
        ("192.168.0.1", AddressClass.PRIVATE),
        ("100.64.0.1", AddressClass.PRIVATE),
        ("fd12:3456::1", AddressClass.PRIVATE),
        ("169.254.169.254", AddressClass.METADATA),
        ("169.254.170.2", AddressClass.METADATA),
        ("fd00:ec2::254", AddressClass.METADATA),
        ("169.254.1.1", AddressClass.LINK_LOCAL),
        ("fe80::1", AddressClass.LINK_LOCAL),
        ("0.0.0.0", AddressClass.UNSPECIFIED),
        ("::", AddressClass.UNSPECIFIED),
        ("0.1.2.3", AddressClass.RESERVED),
        ("224.0.0.1", AddressClass.MULTICAST),
        ("ff02::1", AddressClass.MULTICAST),
        ("240.0.0.1", AddressClass.RESERVED),
        ("255.255.255.255", AddressClass.RESERVED),
        ("192.0.0.8", AddressClass.RESERVED),
        ("192.0.2.1", AddressClass.RESERVED),
        ("198.18.0.1", AddressClass.RESERVED),
        ("fec0::1", AddressClass.RESERVED),
        ("2001:db8::1", AddressClass.RESERVED),
        ("2001::1", AddressClass.RESERVED),
        ("64:ff9b::7f00:1", AddressClass.TRANSLATED),
        ("64:ff9b::808:808", AddressClass.TRANSLATED),
        ("64:ff9b:1::1", AddressClass.TRANSLATED),
        ("2002:7f00:1::", AddressClass.TRANSLATED),
        # Embedded IPv4 is decoded and classified as IPv4.
        ("::ffff:127.0.0.1", AddressClass.LOOPBACK),
        ("::ffff:169.254.169.254", AddressClass.METADATA),
        ("::ffff:10.0.0.1", AddressClass.PRIVATE),
        ("::ffff:93.184.215.14", AddressClass.PUBLIC),
        ("::127.0.0.1", AddressClass.LOOPBACK),
        ("::10.0.0.1", AddressClass.PRIVATE),
    ],
)
def test_address_classification(address: str, expected: AddressClass) -> None:
    assert classify_address(ipaddress.ip_address(address)) is expected


def test_is_global_alone_would_have_let_these_through() -> None:
    """The reason classification does more than `is_global` on this Python."""
    for address in ("::127.0.0.1", "fec0::1", "64:ff9b::7f00:1", "224.0.0.1"):
        assert classify_address(ipaddress.ip_address(address)) is not AddressClass.PUBLIC


def resolving(*addresses: str) -> Callable[[str, int], list[str]]:
    def resolver(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolver


def never_resolves(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} must be refused before any DNS lookup")


Resolver = Callable[[str, int], list[str]]


def check(url: str, policy: EgressPolicy = DEFAULT, resolver: Resolver = never_resolves) -> Destination:
    return EgressGuard(resolver).check(url, policy, Deadline.after(5))


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/",
        "https://0x7f000001/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://127.0.0.01/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::1]:8443/",
        "https://127.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://api.example.0x10/",
    ],
)
def test_non_public_and_ambiguous_numeric_hosts_are_refused_without_dns(url: str) -> None:
    with pytest.raises(EgressDeniedError):
        check(url)


def test_host_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(EgressDeniedError) as raised:
        check("https://localhost/", resolver=resolving("127.0.0.1", "::1"))
    assert "loopback" in raised.value.message


def test_any_non_public_answer_refuses_the_host() -> None:
    """A name answering with a public and a private address (a rebinding setup) is refused outright."""
    with pytest.raises(EgressDeniedError):
        check("https://api.example.com/", resolver=resolving("93.184.215.14", "10.0.0.5"))


def test_checked_address_is_pinned_and_ipv4_preferred() -> None:
    destination = check(
        "https://API.Example.com./v1/items?x=1", resolver=resolving("2606:4700:4700::1111", "93.184.215.14")
    )
    assert destination.address == "93.184.215.14"
    assert destination.host == "api.example.com"
    assert destination.host_header == "api.example.com"
    assert destination.target == "/v1/items?x=1"
    assert destination.label == "https://api.example.com/v1/items"


def test_loopback_only_when_allowed_and_metadata_never() -> None:
    local = EgressPolicy(allow_loopback=True)
    assert check("http://127.0.0.1:8080/", local).host_header == "127.0.0.1:8080"
    with pytest.raises(EgressDeniedError):
        check("https://10.0.0.1/", local)
    private = EgressPolicy(allow_private=True)
    assert check("https://10.0.0.1/", private).address == "10.0.0.1"
    assert check("https://[::1]/", private).host_header == "[::1]"
    for url in ("https://169.254.169.254/", "https://169.254.1.1/", "https://0.0.0.0/"):
        with pytest.raises(EgressDeniedError):
            check(url, EgressPolicy(allow_loopback=True, allow_private=True, allow_http=True))


def test_loopback_port_not_named_by_local_mode_is_refused_on_every_loopback_form() -> None:
    named = EgressPolicy(loopback_ports=frozenset({8123}))
    assert check("http://127.0.0.1:8123/cases", named).address == "127.0.0.1"
    assert check("http://localhost:8123/", named, resolving("127.0.0.1", "::1")).port == 8123
    for url in (
        "http://127.0.0.1:5050/moto-api/reset",
        "http://127.0.0.2:5050/",
        "http://[::1]:5050/",
        "http://[::ffff:127.0.0.1]:5050/",
        "http://127.0.0.1/",
    ):
        with pytest.raises(EgressDeniedError) as raised:
            check(url, named)
        assert raised.value.details["class"] == "loopback"
        assert "port" in raised.value.message
    with pytest.raises(EgressDeniedError):
        check("http://localhost:5050/", named, resolving("127.0.0.1"))


def test_named_loopback_port_does_not_open_private_or_metadata_addresses() -> None:
    named = EgressPolicy(loopback_ports=frozenset({8123, 80}))
    for url in ("http://10.0.0.1:8123/", "http://169.254.169.254:80/", "http://0.0.0.0:8123/"):
        with pytest.raises(EgressDeniedError):
            check(url, named)


def test_loopback_ports_come_from_runtime_settings_and_refuse_impossible_ports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOOLGATE_RUNTIME__ALLOWED_LOOPBACK_PORTS", "[8123, 9000]")
    settings = ToolgateSettings().runtime
    assert EgressPolicy.from_settings(settings).loopback_ports == frozenset({8123, 9000})
    assert EgressPolicy.from_settings(settings).allow_loopback is False
    with pytest.raises(ValidationError):
        RuntimeSettings(allowed_loopback_ports=frozenset({0}))


def test_lambda_runtime_api_is_refused_even_with_loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    guard = EgressGuard(never_resolves)
    local = EgressPolicy(allow_loopback=True)
    with pytest.raises(EgressDeniedError) as raised:
        guard.check("http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", local, Deadline.after(5))
    assert "runtime API" in raised.value.message
    with pytest.raises(EgressDeniedError):
        guard.check("http://127.0.0.2:9001/", local, Deadline.after(5))
    assert guard.check("http://127.0.0.1:9002/", local, Deadline.after(5)).port == 9002


def test_plain_http_reaches_public_hosts_only_when_allowed() -> None:
    public = resolving("93.184.215.14")
    with pytest.raises(EgressDeniedError) as raised:
        check("http://api.example.com/", resolver=public)
    assert "https" in raised.value.message
    assert check("http://api.example.com/", EgressPolicy(allow_http=True), public).port == 80


@pytest.mark.parametrize(
    "url",
    [
        "ftp://api.example.com/",
        "file:///etc/passwd",
        "https://user:pw@api.example.com/",
        "https://api.example.com@evil.example/",
        "https://evil.example\\@api.example.com/",
        "https:///nohost",
        "https://api.example.com:99999/",
        "https://exa mple.com/",
        "https://[zz::1]/",
    ],
)
def test_malformed_or_confusing_urls_are_refused(url: str) -> None:
    with pytest.raises(EgressDeniedError):
        check(url, resolver=resolving("93.184.215.14"))


def test_allowlist_matches_exact_hosts_and_wildcard_subdomains() -> None:
    policy = EgressPolicy(allowed_hosts=frozenset({"api.example.com", "*.partner.example"}))
    public = resolving("93.184.215.14")
    assert check("https://api.example.com/", policy, public)
    assert check("https://eu.partner.example/", policy, public)
    for url in (
        "https://partner.example/",
        "https://evil-api.example.com/",
        "https://api.example.com.evil.io/",
    ):
        with pytest.raises(EgressDeniedError):
            check(url, policy, public)


def test_internationalized_host_names_are_checked_in_their_ascii_form() -> None:
    allowed = EgressPolicy(allowed_hosts=frozenset({"xn--bcher-kva.example"}))
    destination = check("https://bücher.example/", allowed, resolving("93.184.215.14"))
    assert destination.host == "xn--bcher-kva.example"


def test_resolution_failures_are_upstream_errors_and_respect_the_deadline() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(UpstreamUnreachableError):
        check("https://nowhere.example/", resolver=failing)
    with pytest.raises(UpstreamTimeoutError):
        EgressGuard(resolving("93.184.215.14")).check("https://api.example.com/", DEFAULT, Deadline.after(-1))
