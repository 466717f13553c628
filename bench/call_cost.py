"""What one warm tool call costs: the AWS requests it makes, and how long it takes, on the local stack.

The local stack (the synthesized template on moto, the real handlers in this process, the front door on
127.0.0.1) gets one tenant with the Support Desk spec, served by a target on 127.0.0.1 that answers at
once. After warm-up calls, it makes `--calls` REST invokes and `--calls` MCP `tools/call` of
`create_support_case`, one at a time under the tenant's ceilings, and for each kind prints:

- the AWS requests of one call, by service and operation (every botocore call the handlers make; the local
  stack's own SQS polling and the front door's Lambda Invoke are left out: API Gateway does that part);
- the round trip through the front door, p50 and p95: an upper bound on the function's billed duration
  (it includes the front door, the cached authorizer decision and moto's time for each AWS request).

docs/deploy.md#cost-per-million-tool-calls uses these figures.

    python bench/call_cost.py [--calls 100]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from botocore.client import BaseClient
from fairness import CALL, QUIET, Tenant, _port, onboard, percentile, synthesized_template, target
from mcp import ASSISTANT, CALL_RATE, TOOL, mcp_request, raise_limits
from toolgate_local.stack import LocalStack

#: The services whose requests a tool call is billed for; SQS and Lambda are the local machinery's own.
BILLED_SERVICES = {"dynamodb", "secretsmanager", "sts", "s3", "sfn", "stepfunctions"}
WARM_UP_CALLS = 10


class AwsRequests:
    """Counts every botocore API call made in this process while `counting()` is active."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def counting(self) -> Iterator[None]:
        original = BaseClient._make_api_call
        recorder = self

        def counted(client: BaseClient, operation: str, params: Any) -> Any:
            service = client.meta.service_model.service_name
            if service in BILLED_SERVICES:
                with recorder._lock:
                    recorder.counts[(service, operation)] += 1
            return original(client, operation, params)

        BaseClient._make_api_call = counted  # type: ignore[method-assign]
        try:
            yield
        finally:
            BaseClient._make_api_call = original  # type: ignore[method-assign]

    def snapshot(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self.counts)


def measure(
    name: str, call: Callable[[], requests.Response], ok: Callable[[requests.Response], bool], calls: int
) -> tuple[list[float], Counter[tuple[str, str]]]:
    recorder = AwsRequests()
    durations: list[float] = []
    with recorder.counting():
        for index in range(calls + WARM_UP_CALLS):
            before = recorder.snapshot()
            started = time.perf_counter()
            answer = call()
            elapsed = (time.perf_counter() - started) * 1000
            assert ok(answer), f"{name}: {answer.status_code} {answer.text[:300]}"
            if index == WARM_UP_CALLS:
                per_call = recorder.snapshot() - before
            if index >= WARM_UP_CALLS:
                durations.append(elapsed)
            time.sleep(max(0.0, 1 / CALL_RATE - (time.perf_counter() - started)))
    return durations, per_call


def report(name: str, durations: list[float], per_call: Counter[tuple[str, str]]) -> None:
    print(f"\n{name}: {len(durations)} warm calls")
    print(
        f"  round trip p50 {statistics.median(durations):.1f} ms   p95 {percentile(durations, 0.95):.1f} ms"
    )
    print(f"  AWS requests of one warm call ({sum(per_call.values())}):")
    for (service, operation), count in sorted(per_call.items()):
        print(f"    {service:16s} {operation:24s} {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="warm calls of each kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        template = synthesized_template(Path(workdir), {})
        with (
            target(0.0) as url,
            LocalStack(template, loopback_ports={_port(url)}, environment=QUIET) as stack,
        ):
            tenant: Tenant = onboard(stack, "bench", url)
            raise_limits(tenant)
            rest = measure(
                "REST invoke",
                tenant.invoke,
                lambda answer: answer.status_code == 200 and answer.json().get("ok") is True,
                args.calls,
            )
            mcp = measure(
                "MCP tools/call",
                lambda: mcp_request(
                    tenant, ASSISTANT, "tools/call", {"name": TOOL, "arguments": CALL["arguments"]}
                ),
                lambda answer: answer.status_code == 200 and answer.json()["result"]["isError"] is False,
                args.calls,
            )
    report("REST invoke", *rest)
    report("MCP tools/call", *mcp)


if __name__ == "__main__":
    main()
