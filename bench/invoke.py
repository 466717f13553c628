"""Benchmark the in-process overhead of a tool call, the invoke handler, and the invoke path's cold start.

One local HTTP/1.1 keep-alive server on 127.0.0.1 answers a small JSON document. In the same run, with the
two alternating call by call, it times:

- a bare `requests.Session` GET with the same URL and API key header, decoding the JSON body;
- `invoke_tool` of an equivalent tool: argument validation, request building, credential selection, the
  egress guard, the pinned and deadline-bound transport, the result envelope with output validation.

It prints p50 and p99 of both and the p50 ratio (target: at most 1.15).

Then the handler path: API Gateway events through `functions/invoke/handler.py` (`create_support_case` of
the Support Desk spec, against a local target), with AWS served in-process by moto. Each call is split
into the time spent in AWS SDK calls (botocore and moto), in the HTTP call to the target, and the rest:
the handler's own overhead. It runs plain calls, calls with a new `Idempotency-Key` each, and the first
call after the handler's caches are emptied (tenant session, clients, credential: a cold start's first
request, module imports apart).

Then it runs `python -X importtime` several times over the modules a Lambda imports to invoke a tool, and
over the invoke handler module, and prints the best cumulative import time with the largest
contributors. Last, the size of the invoke function's code and of its two layers, unzipped and zipped.

    python bench/invoke.py [--calls N] [--handler-calls N]

Wall-clock figures: compare the ratio, not the microseconds, between machines. moto's time stands in for
DynamoDB, S3, STS and Secrets Manager, which take a few milliseconds a call in a region.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
CASE = json.dumps({"case_id": "case-7", "status": "open"}).encode()
API_KEY = "bench-key-123"
REPO_ROOT = Path(__file__).resolve().parents[1]
HANDLER_MODULE = "functions.invoke.handler"
#: Kept off the invoke path: importing any of them would show in the handler's cold start.
COMPILE_TIME_MODULES = ("openapi_spec_validator", "jsonschema", "toolgate.spec.compiler")
TENANT = "bench"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
SEED_ARGUMENTS = {"customer_id": "cust-42", "summary": "Printer on fire", "priority": "high"}
HANDLER_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "TOOLGATE_TABLE_NAME": "toolgate-bench",
    "TOOLGATE_BUCKET_NAME": "toolgate-bench",
    "TOOLGATE_TENANT_ROLE_ARN": f"arn:aws:iam::{ACCOUNT_ID}:role/toolgate-tenant-access",
    "TOOLGATE_RUNTIME__ALLOW_LOOPBACK": "true",
    "POWERTOOLS_SERVICE_NAME": "toolgate",
    "POWERTOOLS_METRICS_NAMESPACE": "Toolgate",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "LOG_LEVEL": "INFO",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._reply(BODY)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply(CASE)

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

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
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    rows = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|", 2)
        rows.append((int(own), int(cumulative), name.rstrip()))
    return rows


def bench_imports(modules: tuple[str, ...]) -> set[str]:
    """Print the best cumulative import time of `modules`; return every module they import."""
    startup = {name.strip() for _, _, name in _importtime("pass")}
    best: list[tuple[int, int, str]] | None = None
    best_total = 0
    imported: set[str] = set()
    for _ in range(IMPORT_RUNS):
        rows = _importtime("import " + ", ".join(modules))
        imported = {name.strip() for _, _, name in rows}
        # Top-level rows (no indentation) not already loaded at interpreter startup.
        top = [row for row in rows if not row[2].startswith("  ") and row[2].strip() not in startup]
        total = sum(cumulative for _, cumulative, _ in top)
        if best is None or total < best_total:
            best, best_total = top, total
    assert best is not None
    print(f"\nimport time of {', '.join(modules)} (best of {IMPORT_RUNS}, python -X importtime)")
    print(f"cumulative: {best_total / 1000:.1f} ms; largest top-level imports:")
    for _, cumulative, name in sorted(best, reverse=True, key=lambda row: row[1])[:8]:
        print(f"  {cumulative / 1000:7.1f} ms  {name.strip()}")
    return imported


# --- The handler path ---------------------------------------------------------------------------


@dataclass
class _Split:
    """Where one handler call's time went."""

    total: float = 0.0
    aws: float = 0.0
    http: float = 0.0
    aws_calls: int = 0

    @property
    def own(self) -> float:
        return self.total - self.aws - self.http


@dataclass
class _Meter:
    """Adds the time of every AWS SDK call and every target HTTP call to the current split."""

    current: _Split = field(default_factory=_Split)

    def timed(self, function: Callable[..., Any], kind: str) -> Callable[..., Any]:
        meter = self

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                if kind == "aws":
                    meter.current.aws += elapsed
                    meter.current.aws_calls += 1
                else:
                    meter.current.http += elapsed

        return wrapper

    def measure(self, call: Callable[[], object]) -> _Split:
        self.current = _Split()
        started = time.perf_counter()
        call()
        self.current.total = time.perf_counter() - started
        return self.current


class _LambdaContext:
    function_name = "toolgate-invoke-bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:toolgate-invoke-bench"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 27_000


def _invoke_event(body: dict[str, Any], headers: dict[str, str], key_id: str) -> dict[str, Any]:
    return {
        "resource": "/v1/assistants/{assistant}/tools/{tool}/invoke",
        "path": "/v1/assistants/desk/tools/create_support_case/invoke",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json", **headers},
        "pathParameters": {"assistant": "desk", "tool": "create_support_case"},
        "queryStringParameters": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "authorizer": {"tenant_id": TENANT, "role": "agent", "principal": "bench", "key_id": key_id},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _create_aws_resources() -> None:
    """The table, bucket and tenant role, as the stack makes them (moto does not check the role's policy)."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=HANDLER_ENVIRONMENT["TOOLGATE_TABLE_NAME"],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=HANDLER_ENVIRONMENT["TOOLGATE_BUCKET_NAME"])
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    boto3.client("iam", region_name=REGION).create_role(
        RoleName="toolgate-tenant-access", AssumeRolePolicyDocument=json.dumps(trust)
    )


def _seed_support_desk(target_url: str) -> str:
    """The Support Desk integration with a bearer token, set up through the management domain; the id of
    the agent key the calls are made with (the handler reads its row on every call)."""
    from toolgate.adapters.aws.resources import AwsResourceProvider
    from toolgate.service.management import ManagementService
    from toolgate.service.models import IntegrationSettings
    from toolgate.service.tenancy import Role, TenantContext
    from toolgate.service.views import ApiKeyCreate, IntegrationCreate
    from toolgate.settings import get_service_settings
    from toolgate_demo import support_desk_spec

    config = get_service_settings()
    admin = TenantContext(tenant_id=TENANT, role=Role.ADMIN, principal="bench")
    management = ManagementService(admin, AwsResourceProvider(config).for_tenant(TENANT), config)
    settings = IntegrationSettings(assistants=["desk"], server_url=f"{target_url}/api")
    management.create_integration(IntegrationCreate(id="support", settings=settings))
    management.upload_spec("support", support_desk_spec().read_bytes(), "application/yaml")
    management.bind_credential("support", {"type": "bearer", "token": "bench-token"})
    return management.create_api_key(ApiKeyCreate(role=Role.AGENT, principal="bench")).api_key.key_id


def _clear_handler_caches() -> None:
    from toolgate.wiring import clear_caches

    clear_caches()


def _print_splits(label: str, splits: list[_Split]) -> None:
    calls = {split.aws_calls for split in splits}
    print(f"{label} ({len(splits)} calls, {'/'.join(map(str, sorted(calls)))} AWS calls each)")
    for part, values in (
        ("total", [split.total for split in splits]),
        ("AWS SDK + moto", [split.aws for split in splits]),
        ("target HTTP call", [split.http for split in splits]),
        ("handler's own", [split.own for split in splits]),
    ):
        p50, p99 = _percentile(values, 0.5), _percentile(values, 0.99)
        print(f"  {part:20}{p50 * 1e3:9.2f}{p99 * 1e3:9.2f}")


def bench_handler(calls: int) -> None:
    """Lambda events through the invoke handler against a local target, AWS served in-process by moto."""
    # The handler and the CDK app's helpers live at the repository root, beside this folder.
    sys.path.insert(0, str(REPO_ROOT))
    os.environ.update(HANDLER_ENVIRONMENT)
    import botocore.client
    from moto import mock_aws
    from toolgate.adapters.http import HttpTransport
    from toolgate.settings import get_invoke_settings, get_service_settings, get_settings

    for settings in (get_settings, get_service_settings, get_invoke_settings):
        settings.cache_clear()

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    meter = _Meter()
    plain = {"arguments": SEED_ARGUMENTS}
    # Logs and metrics (one JSON line each per call) are written, as in Lambda, but to /dev/null.
    with (
        mock_aws(),
        open(os.devnull, "w") as devnull,  # noqa: PTH123
        contextlib.redirect_stdout(devnull),
    ):
        import importlib

        handler = importlib.import_module(HANDLER_MODULE)
        _create_aws_resources()
        key_id = _seed_support_desk(url)
        original_call, original_send = botocore.client.BaseClient._make_api_call, HttpTransport.send
        botocore.client.BaseClient._make_api_call = meter.timed(original_call, "aws")  # type: ignore[method-assign]
        HttpTransport.send = meter.timed(original_send, "http")  # type: ignore[method-assign]
        try:

            def invoke(body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                response = handler.lambda_handler(
                    _invoke_event(body, headers or {}, key_id), _LambdaContext()
                )
                if response["statusCode"] != 200 or '"case_id"' not in response["body"]:
                    raise SystemExit(f"the handler failed: {response}")

            cold: list[_Split] = []
            for _ in range(5):
                _clear_handler_caches()
                cold.append(meter.measure(lambda: invoke(plain)))
            for _ in range(min(200, calls)):
                meter.measure(lambda: invoke(plain))
            warm = [meter.measure(lambda: invoke(plain)) for _ in range(calls)]
            keyed = [
                meter.measure(lambda: invoke(plain, {"Idempotency-Key": str(uuid.uuid4())}))
                for _ in range(calls)
            ]
        finally:
            botocore.client.BaseClient._make_api_call = original_call  # type: ignore[method-assign]
            HttpTransport.send = original_send  # type: ignore[method-assign]
            _clear_handler_caches()
    server.shutdown()

    print("\nhandler path: API Gateway event -> create_support_case -> response, target on 127.0.0.1")
    print(f"{'':22}{'p50 ms':>9}{'p99 ms':>9}")
    _print_splits("warm, plain arguments", warm)
    _print_splits("warm, a new Idempotency-Key each call", keyed)
    _print_splits("first call with empty caches (STS, clients, Secrets Manager read)", cold)


# --- Sizes --------------------------------------------------------------------------------------


def _tree_size(root: Path) -> tuple[int, int]:
    """(bytes unzipped, bytes as a deflated zip) of every file under `root`, bytecode left out."""
    files = [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root))
    return sum(path.stat().st_size for path in files), buffer.tell()


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:7.2f} MiB"


def bench_sizes() -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from infra.layers import (
        DEFAULT_BUILD_ROOT,
        LOCK_FILE,
        dependency_cache_key,
        stage_toolgate_layer,
    )

    print("\nsize of the invoke function (unzipped, zipped)")
    with tempfile.TemporaryDirectory() as folder:
        parts = [
            ("function code (functions/invoke)", REPO_ROOT / "functions" / "invoke"),
            ("toolgate layer (staged now)", stage_toolgate_layer(Path(folder))),
        ]
        dependencies = DEFAULT_BUILD_ROOT / f"dependencies-{dependency_cache_key(LOCK_FILE.read_text())}"
        built = (dependencies / ".complete").is_file()
        if built:
            parts.append((f"dependency layer ({dependencies.relative_to(REPO_ROOT)})", dependencies))
        total = 0
        for label, root in parts:
            unzipped, zipped = _tree_size(root)
            total += unzipped
            print(f"  {label:58}{_mib(unzipped)}{_mib(zipped)}")
    if not built:
        print("  dependency layer: not built for the current requirements (synth the stack to build it)")
        return
    print(f"  {'total unzipped (Lambda allows 250 MiB)':58}{_mib(total)}")
    packages = sorted(
        ((_tree_size(path)[0], path.name) for path in (dependencies / "python").iterdir() if path.is_dir()),
        reverse=True,
    )
    print("  largest packages in the dependency layer:")
    for size, name in packages[:8]:
        print(f"    {name:56}{_mib(size)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000, help="timed calls of each kind (default: 3000)")
    parser.add_argument(
        "--handler-calls", type=int, default=500, help="timed handler calls of each kind (default: 500)"
    )
    args = parser.parse_args()
    bench_calls(args.calls)
    bench_handler(args.handler_calls)
    bench_imports(INVOKE_PATH_MODULES)
    imported = bench_imports((HANDLER_MODULE,))
    heavy = [name for name in COMPILE_TIME_MODULES if name in imported]
    print(f"compile-time modules imported by the handler: {', '.join(heavy) or 'none'}")
    bench_sizes()


if __name__ == "__main__":
    main()
