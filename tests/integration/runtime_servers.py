"""Real HTTP(S) servers on 127.0.0.1 for the runtime's integration tests, and small tool builders."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from toolgate.spec.models import ArgumentBinding, ArgumentLocation, CanonicalTool, SecurityScheme


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_certificate: dict[str, Any] | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    body: bytes = b"{}"


#: Either a Reply, or a function that writes the raw response itself (for trickling and bombs).
Handler = Callable[[Seen], "Reply | Callable[[BaseHTTPRequestHandler], None]"]


class Server:
    def __init__(self, httpd: ThreadingHTTPServer, scheme: str) -> None:
        self.httpd = httpd
        self.scheme = scheme
        self.seen: list[Seen] = []

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def count(self, path_prefix: str = "") -> int:
        return sum(1 for seen in self.seen if seen.path.startswith(path_prefix))


@contextmanager
def serve(handler: Handler, *, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    """Serve `handler` over HTTP/1.1 on 127.0.0.1, on an ephemeral port, until the block ends."""
    server_ref: list[Server] = []

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            certificate = (
                self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
            )
            seen = Seen(self.command, self.path, dict(self.headers.items()), body, certificate or None)
            server_ref[0].seen.append(seen)
            reply = handler(seen)
            if callable(reply):
                reply(self)
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_PATCH(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def do_HEAD(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    server = Server(httpd, "https" if tls is not None else "http")
    server_ref.append(server)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def json_reply(body: bytes = b'{"ok": true}', status: int = 200, **headers: str) -> Reply:
    return Reply(status=status, headers={"Content-Type": "application/json", **headers}, body=body)


def make_tool(
    server_url: str | None,
    *,
    method: str = "GET",
    path: str = "/items",
    security: list[dict[str, list[str]]] | None = None,
    schemes: dict[str, SecurityScheme] | None = None,
    output_schema: dict[str, Any] | None = None,
    with_query_argument: bool = False,
    idempotency_header: str | None = None,
) -> CanonicalTool:
    """A tool with one optional query argument `q` when asked for, and the given security."""
    properties: dict[str, Any] = {}
    bindings = []
    if with_query_argument:
        properties["q"] = {"type": "string"}
        bindings.append(ArgumentBinding(argument="q", location=ArgumentLocation.QUERY, name="q"))
    return CanonicalTool(
        name=f"{method.lower()}_items",
        description="A test tool.",
        method=method,
        path=path,
        pointer=f"/paths/{path.replace('/', '~1')}/{method.lower()}",
        server_url=server_url,
        input_schema={"type": "object", "properties": properties},
        output_schema=output_schema,
        bindings=bindings,
        security=security or [],
        security_schemes=schemes or {},
        idempotency_header=idempotency_header,
    )
