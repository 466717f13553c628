"""`ToolgateClient.list_tools` over real HTTP on 127.0.0.1: it follows `next_cursor` through every page of
the tool listing and hands back one answer, and stops on a page that adds nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from toolgate_cli.client import ToolgateClient

#: cursor -> page the fake listing answers (the real one is tested in tests/service/test_big_catalogs.py).
PAGES: dict[str | None, dict[str, Any]] = {
    None: {
        "tools": [{"name": "a"}, {"name": "b"}],
        "losses": {"a": [1]},
        "next_cursor": "c1",
        "token_count": 9,
    },
    "c1": {"tools": [{"name": "c"}], "violations": [{"code": "X"}], "next_cursor": "c2", "token_count": 9},
    "c2": {"tools": [{"name": "d"}], "losses": {"d": [2]}, "next_cursor": None, "token_count": 9},
    "stuck": {"tools": [], "next_cursor": "stuck", "token_count": 0},
}


class _Listing(BaseHTTPRequestHandler):
    requested: list[str | None] = []

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        cursor = query.get("cursor", [None])[0]
        if "stuck" in self.path:
            cursor = "stuck"
        _Listing.requested.append(cursor)
        body = json.dumps({"format": query["format"][0], **PAGES[cursor]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def client() -> Iterator[ToolgateClient]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Listing)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Listing.requested = []
    try:
        yield ToolgateClient(f"http://127.0.0.1:{httpd.server_address[1]}/v1/", "tg_acme_key_secret")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=30)


def test_the_client_reads_every_page_of_a_big_listing_as_one_answer(client: ToolgateClient) -> None:
    listing = client.list_tools("desk", "anthropic")
    assert [tool["name"] for tool in listing["tools"]] == ["a", "b", "c", "d"]
    assert listing["losses"] == {"a": [1], "d": [2]}
    assert listing["violations"] == [{"code": "X"}]
    assert listing["next_cursor"] is None
    assert listing["format"] == "anthropic"
    assert _Listing.requested == [None, "c1", "c2"]


def test_the_client_stops_on_a_page_that_adds_no_tools_instead_of_looping(client: ToolgateClient) -> None:
    first = client.list_tools_page("stuck", "openai", cursor="stuck")
    assert first["next_cursor"] == "stuck"
    listing = client.list_tools("stuck", "openai")
    assert listing["tools"] == []
    assert len(_Listing.requested) == 3
