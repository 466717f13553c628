"""Load test of the per-tenant limits on the local stack: one tenant must not starve the others.

The local stack (the synthesized template on moto, the real handlers in this process, the front door
serving requests at once up to each function's reserved concurrency) gets two tenants and two targets
on 127.0.0.1:

- tenant A's target answers after 2 s; tenant B's answers at once;
- B makes 20 calls alone (unloaded), then 20 more while A floods (loaded), in two ways: 40 calls of A's at
  once, B's calls starting as soon as each of A's was refused or reached A's target (the issue's
  scenario); and 40 callers of A's calling back to back for the whole of B's run, waiting out
  `Retry-After` after a 429 as a well-behaved client does;
- for each: B's p50 and p95 unloaded and loaded, the p95 ratio (target: at most 1.5), and A's outcomes:
  ok, 429 (by code), timeouts (504 or a timeout result) and anything else;
- 60 calls of A's at once, more than the invoke function's 50 execution environments;
- the waves of 40 and 60 again with A's limits raised to the most an admin may set, the deployment's
  ceilings (by default half of the invoke function's environments, so A still leaves B the other half);
- the limiter's own cost per call: admitting and releasing one call against the stack's DynamoDB.

A's 429s are told apart by who answered: `(gateway)` is the front door's usage plan throttle (the
THROTTLED gateway response, no function ran), the others the invoke function's own limits.

    python bench/fairness.py [--template cdk.out/Toolgate.template.json] [--b-calls 20] [--a-callers 40]
                             [--rounds 3] [-c toolgate:tenantMaxBurst=10 ...] [--quick]

Each scenario runs `--rounds` times, B unloaded then loaded in turn, and the percentiles are over all
rounds' calls: a busy machine's own noise then weighs on both sides alike.

Without `--template` the stack is synthesized into a temporary folder first (no Docker, no AWS). Wall
clock on a shared machine: the ratio matters more than the milliseconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from toolgate_demo import support_desk_spec  # noqa: E402
from toolgate_local.stack import LocalStack  # noqa: E402

SLOW_TARGET_SECONDS = 2.0
ASSISTANT = "support-bot"
INTEGRATION = "support-desk"
TOOL_PATH = f"assistants/{ASSISTANT}/tools/create_support_case/invoke"
CALL = {"arguments": {"customer_id": "cust-42", "summary": "Printer on fire", "priority": "high"}}
CLIENT_TIMEOUT_SECONDS = 35.0
#: The handlers' INFO logs and metric lines would bury the figures.
QUIET = {"LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}


# --- Targets ---------------------------------------------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def add(self) -> None:
        with self.lock:
            self.value += 1


#: Calls that reached the slow target.
SLOW_CALLS = _Counter()


@contextmanager
def target(delay_seconds: float, counter: _Counter | None = None) -> Iterator[str]:
    """A Support Desk stand-in on 127.0.0.1 that answers every request after `delay_seconds`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if counter is not None:
                counter.add()
            time.sleep(delay_seconds)  # the slow API this benchmark is about
            body = json.dumps({"case_id": "case-1", "status": "open"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


# --- The stack and its tenants -----------------------------------------------------------------------


@dataclass
class Tenant:
    api_url: str
    key: str
    session: requests.Session = field(default_factory=requests.Session)

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return self.session.request(
            method, self.api_url + path, headers=headers, timeout=CLIENT_TIMEOUT_SECONDS, **kwargs
        )

    def invoke(self) -> requests.Response:
        return self.call("POST", TOOL_PATH, json=CALL)


def synthesized_template(workdir: Path, context: dict[str, str]) -> Path:
    import aws_cdk as cdk
    from toolgate_local.template import find_stack_template

    from infra.app import add_toolgate_stack, load_cdk_context
    from infra.layers import placeholder_layer_assets

    assets = placeholder_layer_assets(workdir / "layers")
    app = cdk.App(context={**load_cdk_context(), **context}, outdir=str(workdir / "cdk.out"))
    add_toolgate_stack(app, assets, nag=False)
    app.synth()
    return find_stack_template(workdir / "cdk.out")


def onboard(stack: LocalStack, tenant_id: str, server_url: str) -> Tenant:
    tenant = Tenant(stack.api_url, stack.bootstrap_tenant(tenant_id))
    settings = {"id": INTEGRATION, "settings": {"assistants": [ASSISTANT], "server_url": server_url}}
    assert tenant.call("POST", "integrations", json=settings).status_code == 201
    uploaded = tenant.call(
        "PUT",
        f"integrations/{INTEGRATION}",
        data=support_desk_spec().read_bytes(),
        headers={"Content-Type": "application/yaml"},
    )
    assert uploaded.status_code == 200, uploaded.text
    bound = tenant.call(
        "PUT", f"integrations/{INTEGRATION}/credential", json={"type": "bearer", "token": f"{tenant_id}-t"}
    )
    assert bound.status_code == 200, bound.text
    return tenant


# --- Measuring -------------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def timed_calls(tenant: Tenant, count: int, outcomes: Counter[str] | None = None) -> list[float]:
    """The calls' latencies; each must succeed, unless `outcomes` is given to count them in."""
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        answer = tenant.invoke()
        latencies.append((time.perf_counter() - started) * 1000)
        if outcomes is None:
            assert answer.status_code == 200 and answer.json().get("ok") is True, answer.text
        else:
            outcomes[outcome(answer)] += 1
    return latencies


def outcome(answer: requests.Response | None) -> str:
    if answer is None:
        return "timeout (client)"
    if answer.status_code == 429:
        error = answer.json()["error"]
        # The gateway's envelope is the template's: code and message, no details.
        return f"429 {error['code']}" + ("" if "details" in error else " (gateway)")
    if answer.status_code == 504:
        return "timeout (504)"
    if answer.status_code == 500 and "error" not in answer.json():
        return "500 (function throttled)"
    if answer.status_code == 200:
        error = answer.json().get("error") or {}
        if error.get("code") in {"UPSTREAM_TIMEOUT", "UPSTREAM_OUTCOME_UNKNOWN"}:
            return "timeout (result)"
        return "ok" if answer.json().get("ok") else f"error {error.get('code')}"
    return f"HTTP {answer.status_code}"


def flood(tenant: Tenant, callers: int, stop: threading.Event) -> tuple[Counter[str], Callable[[], None]]:
    """`callers` threads calling back to back until `stop`; their outcomes, and a join."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def caller() -> None:
        session = Tenant(tenant.api_url, tenant.key)
        while not stop.is_set():
            try:
                answer: requests.Response | None = session.invoke()
            except requests.Timeout:
                answer = None
            with lock:
                outcomes[outcome(answer)] += 1
            if answer is not None and answer.status_code == 429:
                stop.wait(float(answer.headers.get("Retry-After", "1")))

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(callers)]
    for thread in threads:
        thread.start()

    def join() -> None:
        for thread in threads:
            thread.join(CLIENT_TIMEOUT_SECONDS + 5)

    return outcomes, join


def wave_run(
    a: Tenant, b: Tenant, *, b_calls: int, a_callers: int
) -> tuple[list[float], Counter[str], Counter[str]]:
    """A's `a_callers` calls at once (one each); B's calls start as soon as every one of A's calls was
    answered or reached A's target, and run while A's admitted calls are held there."""
    outcomes: Counter[str] = Counter()
    settled = threading.Condition()
    answered: list[requests.Response | None] = []

    def caller() -> None:
        try:
            answer: requests.Response | None = Tenant(a.api_url, a.key).invoke()
        except requests.Timeout:
            answer = None
        with settled:
            answered.append(answer)
            outcomes[outcome(answer)] += 1
            settled.notify_all()

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(a_callers)]
    calls_before = SLOW_CALLS.value
    for thread in threads:
        thread.start()
    with settled:
        settled.wait_for(lambda: len(answered) + SLOW_CALLS.value - calls_before >= a_callers, 60)
    b_outcomes: Counter[str] = Counter()
    latencies = timed_calls(b, b_calls, b_outcomes)
    for thread in threads:
        thread.join(CLIENT_TIMEOUT_SECONDS + 5)
    return latencies, outcomes, b_outcomes


def sustained_run(
    a: Tenant, b: Tenant, *, b_calls: int, a_callers: int
) -> tuple[list[float], Counter[str], Counter[str]]:
    """A's callers call back to back (waiting out Retry-After after a 429) for the whole of B's run."""
    stop = threading.Event()
    outcomes, join = flood(a, a_callers, stop)
    stop.wait(SLOW_TARGET_SECONDS)  # let the flood fill A's slots before B starts
    b_outcomes: Counter[str] = Counter()
    try:
        latencies = timed_calls(b, b_calls, b_outcomes)
    finally:
        stop.set()
        join()
    return latencies, outcomes, b_outcomes


Scenario = Callable[..., tuple[list[float], Counter[str], Counter[str]]]


def rounds_of(
    scenario: Scenario, a: Tenant, b: Tenant, *, b_calls: int, a_callers: int, rounds: int
) -> tuple[list[float], list[float], Counter[str], Counter[str]]:
    """B unloaded then loaded, `rounds` times in turn (the machine's own noise spreads over both)."""
    unloaded: list[float] = []
    loaded: list[float] = []
    outcomes: Counter[str] = Counter()
    b_outcomes: Counter[str] = Counter()
    for _ in range(rounds):
        unloaded += timed_calls(b, b_calls)
        latencies, counts, b_counts = scenario(a, b, b_calls=b_calls, a_callers=a_callers)
        loaded += latencies
        outcomes += counts
        b_outcomes += b_counts
    return unloaded, loaded, outcomes, b_outcomes


def limiter_cost(stack: LocalStack, calls: int) -> list[float]:
    """Admitting and releasing one call (two conditional writes) against the stack's DynamoDB."""
    from toolgate.adapters.aws.limits import DynamoLimiterStore
    from toolgate.service.limits import TenantLimiter
    from toolgate.settings import LimitSettings

    table = stack.boto3_session().resource("dynamodb", endpoint_url=stack.moto_url).Table(stack.table_name)
    settings = LimitSettings(requests_per_second=50, burst=100, max_requests_per_second=50, max_burst=100)
    limiter = TenantLimiter(DynamoLimiterStore(table, "bench-limiter"), settings)
    costs = []
    for _ in range(calls):
        started = time.perf_counter()
        with limiter.outbound_call(30.0):
            pass
        costs.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)  # one call per rate interval: measures the steady path, not the refusal
    return costs


def report(
    label: str, unloaded: list[float], loaded: list[float], outcomes: Counter[str], b_outcomes: Counter[str]
) -> None:
    p50, p95 = percentile(unloaded, 0.5), percentile(unloaded, 0.95)
    l50, l95 = percentile(loaded, 0.5), percentile(loaded, 0.95)
    print(f"\n{label}")
    print(f"  B unloaded  p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
    print(f"  B loaded    p50 {l50:7.1f} ms   p95 {l95:7.1f} ms   p95 ratio {l95 / p95:.2f} (target <= 1.5)")
    total = sum(outcomes.values())
    counts = ", ".join(f"{name} {count}" for name, count in outcomes.most_common())
    print(f"  A outcomes ({total} answers): {counts}")
    print("  B outcomes loaded: " + ", ".join(f"{name} {count}" for name, count in b_outcomes.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, help="a synthesized template (default: synthesize now)")
    parser.add_argument("--b-calls", type=int, default=20)
    parser.add_argument("--a-callers", type=int, default=40)
    parser.add_argument("--a-callers-over", type=int, default=60, help="more than the function's 50")
    parser.add_argument("--rounds", type=int, default=3, help="unloaded and loaded runs, in turn")
    parser.add_argument("--limiter-calls", type=int, default=200)
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        help="KEY=VALUE CDK context for the synth (repeatable)",
    )
    parser.add_argument("--quick", action="store_true", help="only the 40-call wave and the sustained flood")
    args = parser.parse_args()
    context = dict(item.split("=", 1) for item in args.context)
    with tempfile.TemporaryDirectory() as workdir:
        template = args.template or synthesized_template(Path(workdir), context)
        with (
            target(SLOW_TARGET_SECONDS, SLOW_CALLS) as slow_url,
            target(0.0) as fast_url,
            LocalStack(
                template, loopback_ports={_port(slow_url), _port(fast_url)}, environment=QUIET
            ) as stack,
        ):
            a = onboard(stack, "tenant-a", slow_url)
            b = onboard(stack, "tenant-b", fast_url)
            defaults = a.call("GET", "limits").json()
            print(f"Context: {context or 'cdk.json only'}; usage plan per tenant: {_plan_throttle(stack)}")
            print(
                f"Defaults: {defaults['requests_per_second']:g} calls/s, burst {defaults['burst']}, "
                f"{defaults['concurrent_calls']} concurrent calls per tenant; invoke function reserved "
                f"concurrency {stack.functions and _invoke_concurrency(stack)}"
            )
            timed_calls(b, 5)  # warm B's execution environment
            calls, callers, over, rounds = args.b_calls, args.a_callers, args.a_callers_over, args.rounds
            report(
                f"A: {callers} calls at once, default limits",
                *rounds_of(wave_run, a, b, b_calls=calls, a_callers=callers, rounds=rounds),
            )
            report(
                f"A: {callers} callers calling back to back (Retry-After honoured), default limits",
                *rounds_of(sustained_run, a, b, b_calls=calls, a_callers=callers, rounds=rounds),
            )
            if args.quick:
                return
            report(
                f"A: {over} calls at once (more than the invoke function's environments), default limits",
                *rounds_of(wave_run, a, b, b_calls=calls, a_callers=over, rounds=rounds),
            )
            assert a.call("PUT", "limits", json=defaults["ceilings"]).status_code == 200
            time.sleep(defaults["applies_within_seconds"] + 1)  # every instance reads A's new limits
            report(
                f"A: {callers} calls at once, A's limits raised to the most an admin may set",
                *rounds_of(wave_run, a, b, b_calls=calls, a_callers=callers, rounds=rounds),
            )
            report(
                f"A: {over} calls at once, A's limits raised to the most an admin may set",
                *rounds_of(wave_run, a, b, b_calls=calls, a_callers=over, rounds=rounds),
            )

            costs = limiter_cost(stack, args.limiter_calls)
            print(
                f"\nLimiter per call (admit + release, 2 conditional UpdateItems on moto over HTTP): "
                f"p50 {percentile(costs, 0.5):.2f} ms, p95 {percentile(costs, 0.95):.2f} ms, "
                f"mean {statistics.fmean(costs):.2f} ms"
            )


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def _plan_throttle(stack: LocalStack) -> str:
    if stack.front_door is None:
        return "none"
    plans = stack.front_door.api.usage_plans
    return ", ".join(f"{plan.rate_per_second:g}/s burst {plan.burst}" for plan in plans) or "none"


def _invoke_concurrency(stack: LocalStack) -> str:
    for function in stack.functions.values():
        if function.handler.name == "invoke":
            return str(function.reserved_concurrency)
    return "?"


if __name__ == "__main__":
    main()
