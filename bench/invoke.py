"""Benchmark the in-process overhead of a tool call, and the import time of the invoke path.

One local HTTP/1.1 keep-alive server on 127.0.0.1 answers a small JSON document. In the same run, with the
two alternating call by call, it times:

- a bare `requests.Session` GET with the same URL and API key header, decoding the JSON body;
- `invoke_tool` of an equivalent tool: argument validation, request building, credential selection, the
  egress guard, the pinned and deadline-bound transport, the result envelope with output validation.

It prints p50 and p99 of both and the p50 ratio (target: at most 1.15). Then it runs
`python -X importtime` several times over the modules a Lambda imports to invoke a tool and prints the
best cumulative import time, with the largest contributors.

    python bench/invoke.py [--calls N]

Wall-clock figures: compare the ratio, not the microseconds, between machines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from toolgate.adapters.http import HttpTransport
from toolgate.runtime.credentials import parse_credential
from toolgate.runtime.invoke import invoke_tool
from toolgate.settings import RuntimeSettings
from toolgate.spec.models import (
    ArgumentBinding,
    ArgumentLocation,
    CanonicalTool,
    SecurityScheme,
    SecuritySchemeType,
)

API_KEY_SCHEME = SecuritySchemeType.API_KEY
RATIO_TARGET = 1.15
INVOKE_PATH_MODULES = ("toolgate.runtime.invoke", "toolgate.adapters.http")
IMPORT_RUNS = 5
BODY = json.dumps({"id": "7", "name": "widget", "price": 12.5, "tags": ["a", "b"]}).encode()
API_KEY = "bench-key-123"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _tool(server_url: str) -> CanonicalTool:
    return CanonicalTool(
        name="get_item",
        description="Get one item.",
        method="GET",
        path="/items/{id}",
        pointer="/paths/~1items~1{id}/get",
        server_url=server_url,
        input_schema={
            "type": "object",
            "properties": {"id": {"type": "string"}, "fields": {"type": "string"}},
            "required": ["id"],
        },
        output_schema={
            "type": "object",
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "price": {"type": "number"}},
        },
        bindings=[
            ArgumentBinding(argument="id", location=ArgumentLocation.PATH, name="id", required=True),
            ArgumentBinding(argument="fields", location=ArgumentLocation.QUERY, name="fields"),
        ],
        security=[{"key": []}],
        security_schemes={
            "key": SecurityScheme(
                type=SecuritySchemeType.API_KEY, location="header", parameter_name="X-API-Key"
            )
        },
    )


def _time(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_calls(calls: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    session = requests.Session()
    settings = RuntimeSettings(allow_loopback=True)
    transport = HttpTransport(settings)
    tool = _tool(url)
    credential = parse_credential({"type": "api_key", "value": API_KEY})
    arguments = {"id": "7", "fields": "name"}

    def bare() -> object:
        response = session.get(f"{url}/items/7?fields=name", headers={"X-API-Key": API_KEY}, timeout=25)
        return response.json()

    def toolgate() -> object:
        result = invoke_tool(tool, arguments, transport=transport, credential=credential, settings=settings)
        if not result.ok:
            raise SystemExit(f"the tool call failed: {result.to_dict()}")
        return result

    for _ in range(min(200, calls)):
        bare()
        toolgate()
    bare_times: list[float] = []
    tool_times: list[float] = []
    for index in range(calls):
        # Alternate which goes first so drift and warm caches favour neither.
        if index % 2:
            bare_times.append(_time(bare))
            tool_times.append(_time(toolgate))
        else:
            tool_times.append(_time(toolgate))
            bare_times.append(_time(bare))
    server.shutdown()
    transport.close()

    print(f"small JSON GET over keep-alive to 127.0.0.1, {calls} calls each")
    print(f"{'':22}{'p50 µs':>10}{'p99 µs':>10}{'mean µs':>10}")
    for name, samples in (("requests.Session", bare_times), ("toolgate invoke_tool", tool_times)):
        p50, p99 = _percentile(samples, 0.5), _percentile(samples, 0.99)
        print(f"{name:22}{p50 * 1e6:10.0f}{p99 * 1e6:10.0f}{statistics.fmean(samples) * 1e6:10.0f}")
    ratio = _percentile(tool_times, 0.5) / _percentile(bare_times, 0.5)
    verdict = "meets" if ratio <= RATIO_TARGET else "misses"
    print(f"p50 ratio toolgate / requests: {ratio:.2f} ({verdict} the {RATIO_TARGET:.2f} target)")


def _importtime(statement: str) -> list[tuple[int, int, str]]:
    """(self µs, cumulative µs, indented module name) for every import `statement` makes."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True, check=True
    )
    rows = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|", 2)
        rows.append((int(own), int(cumulative), name.rstrip()))
    return rows


def bench_imports() -> None:
    startup = {name.strip() for _, _, name in _importtime("pass")}
    best: list[tuple[int, int, str]] | None = None
    best_total = 0
    for _ in range(IMPORT_RUNS):
        rows = _importtime("import " + ", ".join(INVOKE_PATH_MODULES))
        # Top-level rows (no indentation) not already loaded at interpreter startup.
        top = [row for row in rows if not row[2].startswith("  ") and row[2].strip() not in startup]
        total = sum(cumulative for _, cumulative, _ in top)
        if best is None or total < best_total:
            best, best_total = top, total
    assert best is not None
    print(f"\nimport time of {', '.join(INVOKE_PATH_MODULES)} (best of {IMPORT_RUNS}, python -X importtime)")
    print(f"cumulative: {best_total / 1000:.1f} ms; largest top-level imports:")
    for _, cumulative, name in sorted(best, reverse=True, key=lambda row: row[1])[:8]:
        print(f"  {cumulative / 1000:7.1f} ms  {name.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000, help="timed calls of each kind (default: 3000)")
    args = parser.parse_args()
    bench_calls(args.calls)
    bench_imports()


if __name__ == "__main__":
    main()
