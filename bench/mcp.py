"""Benchmark the MCP function against issue 13's targets, in one run on the local stack.

The local stack (the synthesized template on moto, the real handlers in this process, the front door on
127.0.0.1) gets one tenant with two integrations: the Support Desk spec, served by a target on 127.0.0.1
that answers at once, and, when ../shared/corpus is present, the GitHub spec (`osvbench-github-XL.yaml`,
1,000+ tools). It times:

1. **tools/call through MCP against REST invoke**: `create_support_case`, same tenant, same target,
   the two alternating call by call (2026-07-28 requests, as the SDK client sends them); p50, p95 and the
   p50 ratio (target: at most 1.10). The tenant's limits are raised to the deployment's ceilings and the
   calls paced under them, so no call is refused.
2. **tools/list of the GitHub spec**: the first page and all pages (`page_size` 100), cold and warm.
   Cold is the first list after the catalog changed: once right after the upload, then after each change
   of the assistant's toolset (an `exclude` that matches nothing: the same tools, a new catalog key).
   Warm is every list after that, from the function's catalog cache.
3. **Cold import** of the MCP handler against the invoke handler's, median of N fresh interpreters
   (`bench/mcp_cold_start.py`).

    python bench/mcp.py [--template cdk.out/Toolgate.template.json] [--calls 200] [--lists 10]
                        [--import-samples 11]

Wall clock on a shared machine: compare the ratios and differences, not the milliseconds. moto stands in
for DynamoDB and S3, which take a few milliseconds a call in a region.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mcp_cold_start
import requests
from fairness import (
    ASSISTANT,
    CALL,
    QUIET,
    REPO_ROOT,
    Tenant,
    _port,
    onboard,
    percentile,
    synthesized_template,
    target,
)
from toolgate_local.stack import LocalStack

RATIO_TARGET = 1.10
MODERN = "2026-07-28"
TOOL = "create_support_case"
GITHUB_SPEC = REPO_ROOT.parent / "shared" / "corpus" / "specs" / "osvbench-github-XL.yaml"
GITHUB_INTEGRATION = "github"
GITHUB_ASSISTANT = "github-bot"
#: Calls per second, under the deployment's ceiling for one tenant (25/s).
CALL_RATE = 15.0
_ids = itertools.count(1)


def mcp_request(tenant: Tenant, assistant: str, method: str, params: dict[str, Any]) -> requests.Response:
    """One 2026-07-28 request, headers and `_meta` as the SDK client sends them."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
    }
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": method,
    }
    if method == "tools/call":
        headers["Mcp-Name"] = params["name"]
    body = {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": {**params, "_meta": meta}}
    return tenant.call("POST", f"assistants/{assistant}/mcp", json=body, headers=headers)


def timed(call: Callable[[], requests.Response], check: Callable[[requests.Response], bool]) -> float:
    started = time.perf_counter()
    answer = call()
    elapsed = (time.perf_counter() - started) * 1000
    assert check(answer), f"{answer.status_code} {answer.text[:300]}"
    return elapsed


# --- 1. tools/call against REST invoke ------------------------------------------------------------


def calls_side_by_side(tenant: Tenant, calls: int) -> tuple[list[float], list[float]]:
    def mcp_call() -> requests.Response:
        return mcp_request(tenant, ASSISTANT, "tools/call", {"name": TOOL, "arguments": CALL["arguments"]})

    def mcp_ok(answer: requests.Response) -> bool:
        return answer.status_code == 200 and answer.json()["result"]["isError"] is False

    def rest_ok(answer: requests.Response) -> bool:
        return answer.status_code == 200 and answer.json().get("ok") is True

    rest: list[float] = []
    mcp: list[float] = []
    interval = 1 / CALL_RATE
    for index in range(calls * 2 + 10):
        started = time.perf_counter()
        # The first 10 warm both paths; then they alternate, which goes first swapping each pair.
        first_mcp = (index // 2) % 2 == 0
        if (index % 2 == 0) == first_mcp:
            sample = timed(mcp_call, mcp_ok)
            if index >= 10:
                mcp.append(sample)
        else:
            sample = timed(tenant.invoke, rest_ok)
            if index >= 10:
                rest.append(sample)
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    return rest, mcp


def raise_limits(tenant: Tenant) -> None:
    limits = tenant.call("GET", "limits").json()
    assert tenant.call("PUT", "limits", json=limits["ceilings"]).status_code == 200
    # Every instance reads the tenant's limits again within this time (docs/service.md).
    time.sleep(limits["applies_within_seconds"] + 1)


# --- 2. tools/list of 1,000+ tools -------------------------------------------------------------------


def upload_github(tenant: Tenant, server_url: str) -> float:
    settings = {
        "id": GITHUB_INTEGRATION,
        "settings": {"assistants": [GITHUB_ASSISTANT], "server_url": server_url},
    }
    assert tenant.call("POST", "integrations", json=settings).status_code == 201
    started = time.perf_counter()
    uploaded = tenant.call(
        "PUT",
        f"integrations/{GITHUB_INTEGRATION}",
        data=GITHUB_SPEC.read_bytes(),
        headers={"Content-Type": "application/yaml"},
    )
    assert uploaded.status_code == 200, uploaded.text[:500]
    return time.perf_counter() - started


def list_pages(tenant: Tenant) -> tuple[float, float, int, int, int]:
    """(first page ms, all pages ms, tools, first page bytes, all pages bytes)."""
    first_ms, first_bytes, names, total_bytes = 0.0, 0, 0, 0
    cursor: str | None = None
    started = time.perf_counter()
    for page_number in range(100):
        answer = mcp_request(tenant, GITHUB_ASSISTANT, "tools/list", {"cursor": cursor} if cursor else {})
        assert answer.status_code == 200, answer.text[:300]
        result = answer.json()["result"]
        if page_number == 0:
            first_ms, first_bytes = (time.perf_counter() - started) * 1000, len(answer.content)
        names += len(result["tools"])
        total_bytes += len(answer.content)
        cursor = result.get("nextCursor")
        if cursor is None:
            break
    return first_ms, (time.perf_counter() - started) * 1000, names, first_bytes, total_bytes


def change_toolset(tenant: Tenant, round_number: int) -> None:
    """A new catalog key, the same tools: an `exclude` that matches no tool."""
    body = {
        "name": GITHUB_ASSISTANT,
        "integrations": [GITHUB_INTEGRATION],
        "exclude": [f"bench-{round_number}-*"],
    }
    assert tenant.call("PUT", f"assistants/{GITHUB_ASSISTANT}", json=body).status_code == 200


def lists(tenant: Tenant, rounds: int) -> None:
    first_after_upload = list_pages(tenant)
    cold: list[tuple[float, float, int, int, int]] = []
    warm: list[tuple[float, float, int, int, int]] = []
    for round_number in range(rounds):
        change_toolset(tenant, round_number)
        cold.append(list_pages(tenant))
        warm.append(list_pages(tenant))
    tools, first_bytes, total_bytes = first_after_upload[2], first_after_upload[3], first_after_upload[4]
    pages = -(-tools // 100)
    print(
        f"\ntools/list of {GITHUB_SPEC.name}: {tools} tools, {pages} pages; "
        f"first page {first_bytes:,} bytes, all pages {total_bytes:,} bytes"
    )
    after_upload_first, after_upload_all = first_after_upload[0], first_after_upload[1]
    print(f"  {'first list after the upload':28s} first page {after_upload_first:7.0f} ms", end="")
    print(f"{'':12s}all pages {after_upload_all:7.0f} ms")
    for name, samples in (("cold (toolset changed)", cold), ("warm (cached catalog)", warm)):
        firsts, alls = [s[0] for s in samples], [s[1] for s in samples]
        first_p50, first_p95 = statistics.median(firsts), percentile(firsts, 0.95)
        all_p50, all_p95 = statistics.median(alls), percentile(alls, 0.95)
        print(
            f"  {name:28s} first page p50 {first_p50:7.0f} ms (p95 {first_p95:5.0f})"
            f"   all pages p50 {all_p50:7.0f} ms (p95 {all_p95:5.0f})   [{len(samples)} rounds]"
        )


# --- The run -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, help="a synthesized template (default: synthesize now)")
    parser.add_argument("--calls", type=int, default=200, help="tool calls of each kind")
    parser.add_argument("--lists", type=int, default=10, help="cold and warm tools/list rounds")
    parser.add_argument("--import-samples", type=int, default=11, help="fresh interpreters per variant")
    args = parser.parse_args()
    print(f"load average at the start: {_load()}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as workdir:
        template = args.template or synthesized_template(Path(workdir), {})
        with (
            target(0.0) as url,
            LocalStack(template, loopback_ports={_port(url)}, environment=QUIET) as stack,
        ):
            tenant = onboard(stack, "bench", url)
            raise_limits(tenant)
            rest, mcp = calls_side_by_side(tenant, args.calls)
            ratio = statistics.median(mcp) / statistics.median(rest)
            print(f"\ntools/call `{TOOL}`, {args.calls} of each, interleaved, {CALL_RATE:g} calls/s:")
            for name, samples in (("REST invoke", rest), ("MCP tools/call", mcp)):
                p50, p95 = statistics.median(samples), percentile(samples, 0.95)
                print(f"  {name:16s} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
            verdict = "PASS" if ratio <= RATIO_TARGET else "MISS"
            print(f"  p50 ratio MCP / REST: {ratio:.3f} (target at most {RATIO_TARGET:.2f}: {verdict})")
            if GITHUB_SPEC.is_file():
                seconds = upload_github(tenant, url)
                print(f"\nGitHub spec uploaded through the API in {seconds:.1f} s")
                lists(tenant, args.lists)
            else:
                print(f"\ntools/list at scale skipped: {GITHUB_SPEC} is absent (../shared/corpus)")
    print(f"\nload average before the imports: {_load()}")
    mcp_cold_start.report(mcp_cold_start.measure(args.import_samples))
    print(f"load average at the end: {_load()}")


def _load() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


if __name__ == "__main__":
    main()
