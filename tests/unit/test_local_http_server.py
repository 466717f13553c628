"""The local stack's and the demo target's HTTP servers: a client that drops its connection prints nothing,
any other error in a connection still prints its traceback."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest
from toolgate_local.http_server import CLIENT_GONE, LocalHTTPServer


@pytest.fixture
def server() -> LocalHTTPServer:
    unbound = LocalHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler, bind_and_activate=False)
    unbound.server_close()  # never bound: only its error handling is exercised
    return unbound


@pytest.mark.parametrize("gone", CLIENT_GONE)
def test_a_client_that_resets_or_drops_its_connection_leaves_no_traceback(
    server: LocalHTTPServer, gone: type[OSError], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise gone(104, "Connection reset by peer")
    except OSError:
        server.handle_error(None, ("127.0.0.1", 56312))
    assert capsys.readouterr().err == ""


def test_any_other_error_in_a_connection_still_prints_its_traceback(
    server: LocalHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise ValueError("a handler bug")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 56312))
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: a handler bug" in err
