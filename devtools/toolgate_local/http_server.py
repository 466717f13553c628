"""The local HTTP servers' common base: threaded, and quiet when a client goes away."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any

#: A client that resets or half-closes its connection between requests: the connection ends, nothing failed.
CLIENT_GONE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class LocalHTTPServer(ThreadingHTTPServer):
    """socketserver prints a traceback for any error in a connection's thread, including a keep-alive
    client that drops the connection with a reset while the server waits for its next request line. That
    is how clients end connections, so it is not reported; every other error still is."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], CLIENT_GONE):
            return
        super().handle_error(request, client_address)
