"""Cold start of each function against the floor of its own dependencies, in one run (issue 16).

For each handler under functions/ it times fresh interpreters, interleaved with every other variant so
load on the machine hits them alike:

- the **handler**: `import functions.<name>.handler` (what Lambda's init does) and the modules its first
  request imports (the handler's `FIRST_REQUEST_MODULES`, which its SnapStart hook imports before the
  snapshot), then the function's floor statement. What the handler already loaded costs nothing there;
  what it defers to its first request is counted, so moving an import out of a module body cannot
  flatter the figure;
- its **floor**: the third-party imports the function cannot avoid, derived per function below with the
  reason for each, and the Powertools objects built as `toolgate.adapters.aws.telemetry` builds them
  (the Tracer loads botocore's X-Ray service model);
- **ours**: the floor run first, untimed, then the handler's import and its first request's modules
  timed in the same interpreter: our modules' import work above the floor, measured directly. The
  target is judged on it. The handler-minus-floor difference subtracts two medians of 400 to 650 ms that
  move by tens of ms with the machine, and its handler side pays for floor work twice: the floor's
  `boto3.client('dynamodb')` makes boto3's default session, whose model loader is not the one our
  sessions share, about 80 ms after the handler.

Each sample reports the wall time of its statements (`time.perf_counter`; `--clock cpu`: the process's CPU
time, `time.process_time`, steadier on a crowded machine) and the process's peak RSS
(`ru_maxrss`) at the end. The report gives medians per function, the difference and ratio to the floor,
the direct measure of our modules (median, interquartile range, and its share of the floor's median,
which moves less with the machine's speed than milliseconds do), and issue 16's targets, judged on that
direct measure: the request path at most 50 ms above its floor, upload and API at most 150 ms.

    python bench/cold_start.py [--runs 7] [--only invoke,mcp]

with the repository's PYTHONPATH (layers, cli, devtools, the root). Wall clock on a shared machine:
state the load average with the figures.

The handlers stop the garbage collector for their init (`toolgate.gc_pause`), the floor does not: that
saving is real (Lambda's init runs the handler's module), but part of it is on the floor's own imports.
`--no-gc` runs both sides without the collector, so the difference is our modules' own import work.

Like for like: the floor's packages load their bytecode from site-packages, so the script first writes the
bytecode of functions/ and layers/toolgate beside them (`compileall`, which `PYTHONDONTWRITEBYTECODE` does
not stop). Without that, every handler sample would also compile our sources, a cost the floor never pays.
`--source` skips it, to see that cost. `bench/mcp_cold_start.py` samples through `probe` below.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Runs `{setup}` untimed, then `{statement}`, in a fresh interpreter; prints the statement's time in ms, by
#: `{clock}` (`perf_counter`, wall, or `process_time`, the process's CPU), and the peak RSS in KiB (Linux).
PROBE = (
    "{setup}; import time; started = time.{clock}(); {statement}; elapsed = time.{clock}() - started; "
    "import json, resource; "
    "print(json.dumps([elapsed * 1000, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))"
)
CLOCKS = {"wall": "perf_counter", "cpu": "process_time"}
REPO_ROOT = Path(__file__).resolve().parents[1]
REQUEST_PATH_TARGET_MS = 50.0
UPLOAD_API_TARGET_MS = 150.0


@dataclass(frozen=True)
class Sample:
    ms: float
    rss_kib: int


@dataclass(frozen=True)
class Need:
    """One dependency a function cannot avoid: the statement that loads it, and why it is unavoidable."""

    statement: str
    reason: str


@dataclass(frozen=True)
class Function:
    name: str
    target_ms: float
    floor: tuple[Need, ...]

    @property
    def floor_statement(self) -> str:
        return "; ".join(need.statement for need in self.floor)

    @property
    def handler_statement(self) -> str:
        return f"{self.import_statement}; {self.floor_statement}"

    @property
    def import_statement(self) -> str:
        return handler_import(self.name)


def handler_import(name: str) -> str:
    """The statement that imports a handler, then what its first request imports (`FIRST_REQUEST_MODULES`)."""
    return (
        f"import importlib, functions.{name}.handler as handler; "
        "[importlib.import_module(name) for name in getattr(handler, 'FIRST_REQUEST_MODULES', ())]"
    )


BOTO3 = Need(
    "import boto3; boto3.client('dynamodb')",
    "every request reads or writes DynamoDB through a boto3 client (plus S3, Secrets Manager or Step "
    "Functions); creating the first client loads botocore's session, endpoint rules and service model",
)
PYDANTIC = Need(
    "import pydantic; pydantic.create_model('Floor', value=(int, ...)).model_validate({'value': 1})",
    "settings and service records are pydantic models: `import pydantic` is lazy, and the first model "
    "class loads pydantic's model machinery (pydantic.main, the schema builder, pydantic-core), which "
    "every pydantic user pays",
)
LOGGER_TRACER = Need(
    "from aws_lambda_powertools import Logger, Tracer; Logger(service='toolgate'); "
    "Tracer(service='toolgate', patch_modules=['botocore'])",
    "Powertools Logger and Tracer (botocore patched, X-Ray model loaded), as telemetry.py builds them",
)
METRICS = Need(
    "from aws_lambda_powertools import Metrics; Metrics(service='toolgate', namespace='Toolgate')",
    "the function publishes Powertools metrics",
)
RESOLVER = Need(
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver; "
    "APIGatewayRestResolver(enable_validation=True)",
    "every route is served and validated by Powertools' REST resolver",
)
BATCH = Need(
    "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType; "
    "BatchProcessor(event_type=EventType.SQS)",
    "S3 notices arrive in SQS batches, handled by Powertools' batch processor",
)
COMPILER = Need(
    "import yaml, openapi_spec_validator, jsonschema_rs",
    "every upload compiles a spec: YAML parsing, OpenAPI validation, JSON Schema checks",
)
ARGUMENTS = Need("import jsonschema_rs", "every tool call checks arguments and results against JSON Schema")
HTTP = Need(
    "import urllib3, certifi", "every tool call goes to the tenant's API over urllib3 (TLS via certifi)"
)
CONDITIONS = Need(
    "import boto3.dynamodb.conditions",
    "reading the tenant's rows builds DynamoDB key and filter conditions with boto3's own helpers",
)
SECRETS = Need(
    "from aws_lambda_powertools.utilities.parameters import SecretsProvider",
    "every tool call reads its credential through Powertools' SecretsProvider (its per-tenant cache)",
)
MCP_TYPES = Need("import mcp_types", "every MCP message is validated with the SDK's version-free models")

COMMON = (BOTO3, PYDANTIC, LOGGER_TRACER)
FUNCTIONS = (
    Function("api", UPLOAD_API_TARGET_MS, (*COMMON, METRICS, RESOLVER)),
    Function("authorizer", REQUEST_PATH_TARGET_MS, (*COMMON, CONDITIONS)),
    Function("upload", UPLOAD_API_TARGET_MS, (*COMMON, METRICS, BATCH, COMPILER)),
    Function("invoke", REQUEST_PATH_TARGET_MS, (*COMMON, METRICS, CONDITIONS, SECRETS, ARGUMENTS, HTTP)),
    Function("jobs", REQUEST_PATH_TARGET_MS, (*COMMON, CONDITIONS, SECRETS, ARGUMENTS, HTTP)),
    Function("callback", REQUEST_PATH_TARGET_MS, (*COMMON, METRICS, CONDITIONS)),
    Function(
        "mcp", REQUEST_PATH_TARGET_MS, (*COMMON, METRICS, CONDITIONS, SECRETS, ARGUMENTS, HTTP, MCP_TYPES)
    ),
)


#: `--no-gc`: both sides without the cyclic garbage collector, so the difference is our modules' own import
#: work, without the collection passes their allocations trigger (which the handlers avoid by pausing it).
NO_GC = "import gc; gc.disable(); "


def probe(statement: str, clock: str = "wall", *, collect: bool = True, setup: str = "pass") -> Sample:
    """Run `setup` untimed, then `statement` timed by `clock`, in a fresh interpreter (this one's executable
    and environment); without the garbage collector unless `collect`."""
    setup = setup if collect else NO_GC + setup
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(setup=setup, statement=statement, clock=CLOCKS[clock])],
        capture_output=True,
        text=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", **os.environ},
        check=True,
    )
    ms, rss_kib = json.loads(completed.stdout.strip().splitlines()[-1])
    return Sample(float(ms), int(rss_kib))


def compile_sources() -> None:
    """Write the bytecode of the handlers and the toolgate package beside their sources."""
    for tree in (REPO_ROOT / "functions", REPO_ROOT / "layers" / "toolgate"):
        if not compileall.compile_dir(tree, quiet=1):
            raise SystemExit(f"could not compile {tree}")


@dataclass(frozen=True)
class Samples:
    """One function's samples: its handler and floor, the floor alone, and ours (the floor run untimed)."""

    handler: list[Sample]
    floor: list[Sample]
    ours: list[Sample]


def measure(
    functions: tuple[Function, ...], runs: int, clock: str = "wall", *, collect: bool = True
) -> dict[str, Samples]:
    """Each function's samples, every variant once per round."""
    samples = {f.name: Samples([], [], []) for f in functions}
    for _ in range(runs):
        for function in functions:
            taken = samples[function.name]
            taken.handler.append(probe(function.handler_statement, clock, collect=collect))
            taken.floor.append(probe(function.floor_statement, clock, collect=collect))
            taken.ours.append(
                probe(function.import_statement, clock, collect=collect, setup=function.floor_statement)
            )
    return samples


def _median_ms(samples: list[Sample]) -> float:
    return statistics.median(sample.ms for sample in samples)


def _median_mib(samples: list[Sample]) -> float:
    return statistics.median(sample.rss_kib for sample in samples) / 1024


def _quartiles_ms(samples: list[Sample]) -> tuple[float, float]:
    lower, _, upper = statistics.quantiles([sample.ms for sample in samples], n=4)
    return lower, upper


def report(functions: tuple[Function, ...], samples: dict[str, Samples], load_before: float) -> None:
    runs = len(next(iter(samples.values())).handler)
    load = f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    print(f"cold start, median of {runs} interleaved fresh interpreters ({load})")
    print("  function   handler   floor    diff  ratio     RSS   floor    ours (IQR)  of floor   target")
    for function in functions:
        taken = samples[function.name]
        handler_ms, floor_ms, ours_ms = (
            _median_ms(taken.handler),
            _median_ms(taken.floor),
            _median_ms(taken.ours),
        )
        lower, upper = _quartiles_ms(taken.ours)
        verdict = "PASS" if ours_ms <= function.target_ms else "MISS"
        print(
            f"  {function.name:10s} {handler_ms:5.0f}ms {floor_ms:5.0f}ms {handler_ms - floor_ms:+5.0f}ms "
            f"x{handler_ms / floor_ms:4.2f} {_median_mib(taken.handler):4.0f}MiB "
            f"{_median_mib(taken.floor):4.0f}MiB "
            f"{ours_ms:5.0f}ms ({lower:3.0f}-{upper:3.0f})  {ours_ms / floor_ms:6.1%}   "
            f"<= {function.target_ms:.0f} ms: {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per variant (median)")
    parser.add_argument("--only", default="", help="comma-separated function names (default: all)")
    parser.add_argument("--floors", action="store_true", help="print each function's floor and exit")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall time, or the process's CPU time (steadier when other work crowds the machine)",
    )
    parser.add_argument(
        "--source", action="store_true", help="do not write our bytecode first (handlers then compile it)"
    )
    parser.add_argument(
        "--no-gc",
        action="store_true",
        help="both sides without the garbage collector: our modules' own import work alone",
    )
    args = parser.parse_args()
    names = {name for name in args.only.split(",") if name}
    unknown = names - {function.name for function in FUNCTIONS}
    if unknown:
        parser.error(f"unknown function(s): {', '.join(sorted(unknown))}")
    chosen = tuple(function for function in FUNCTIONS if not names or function.name in names)
    if args.floors:
        for function in chosen:
            print(f"{function.name}:")
            for need in function.floor:
                print(f"  {need.statement}\n      {need.reason}")
        return
    if not args.source:
        compile_sources()
    sources = "compiled in every handler sample (--source)" if args.source else "bytecode"
    collector = "off on both sides (--no-gc)" if args.no_gc else "on (the handlers pause it for their init)"
    print(f"clock: {args.clock}; our sources: {sources}; garbage collector: {collector}")
    load_before = os.getloadavg()[0]
    report(chosen, measure(chosen, args.runs, args.clock, collect=not args.no_gc), load_before)


if __name__ == "__main__":
    main()
