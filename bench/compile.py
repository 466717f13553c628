"""Benchmark the spec compiler over ../shared/corpus, against openapi-spec-validator and FastMCP.

For every spec it times Toolgate's stages (load, validate, compile, render into every dialect), then
openapi-spec-validator 0.9 alone (jsonschema-rs backend) on the same loaded document, then FastMCP's
OpenAPI-to-MCP-tools conversion. Every measurement runs in a subprocess of its own, so peak RSS is per
spec and no run warms another's caches. FastMCP is never a project dependency: it lives in its own
venv, `bench/.venv-fastmcp`, created on first use.

    python bench/compile.py [--only SUBSTRING] [--skip-fastmcp] [--json FILE]

The figures are wall-clock times; compare ratios, not seconds, between machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "../shared/corpus"
MULTIFILE_FOLDER = "specs-multifile/digitalocean"
MULTIFILE_ENTRY = "specification/DigitalOcean-public.v2.yaml"

FASTMCP_VERSION = "4.1.6"
FASTMCP_VENV = REPO / "bench" / ".venv-fastmcp"
FASTMCP_STAMP = FASTMCP_VENV / f".installed-fastmcp-{FASTMCP_VERSION}"
#: FastMCP 4.1.6 asks for a release of this package newer than some package indexes carry.
RELAXABLE_REQUIREMENT = "certifi"

VALIDATOR_BACKEND = {"OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND": "jsonschema-rs"}

STRIPE_SPEC = "osvbench-stripe-XL.yaml"
GITHUB_SPEC = "osvbench-github-XL.yaml"
#: Specs also timed with nothing but PyYAML's C loader, the floor any YAML ingest stands on.
YAML_BASELINE_SPECS = frozenset({STRIPE_SPEC, GITHUB_SPEC})
STRIPE_SPEEDUP_GOAL = 10.0
GITHUB_INGEST_GOAL = 2.0
PEAK_RSS_GOAL_MIB = 300.0


# --- Children: each prints one JSON line on stdout ------------------------------------------------


class _Stopwatch:
    def __init__(self) -> None:
        self._last = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        elapsed, self._last = now - self._last, now
        return elapsed


def _peak_rss_mib() -> float:
    """This process's peak resident set size (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _refuse_network() -> None:
    """Third-party code must never fetch anything: the corpus holds a remote `$ref` to a public host."""

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise OSError("network access is disabled in the benchmark")

    socket.getaddrinfo = refuse
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]


def _child_toolgate(path: Path, entry: str | None) -> dict[str, Any]:
    from toolgate.dialects import Dialect, render_tools
    from toolgate.spec.bundle import bundle_path
    from toolgate.spec.compiler import compile_document, prepare_document
    from toolgate.spec.loader import load_document

    clock = _Stopwatch()
    if entry:
        document, findings = bundle_path(path, entry)
    else:
        document, findings = load_document(path.read_bytes(), name=path.name), []
    load = clock.lap()
    spec = prepare_document(document, findings)
    validate = clock.lap()
    compiled = compile_document(spec)
    compile_seconds = clock.lap()
    violations = sum(len(render_tools(compiled.tools, dialect).violations) for dialect in Dialect)
    render = clock.lap()
    return {
        "load": load,
        "validate": validate,
        "compile": compile_seconds,
        "render": render,
        "render_violations": violations,
        "tools": len(compiled.tools),
        "failed_operations": len(compiled.failed_operations),
        "findings": len(compiled.findings),
        "validation_partial": any(f.code == "SPEC_VALIDATION_PARTIAL" for f in compiled.findings),
        "source_openapi": compiled.source_openapi,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _child_validator(path: Path, entry: str | None) -> dict[str, Any]:
    """openapi-spec-validator's full `validate()` on the document Toolgate's load stage produced."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
    from toolgate.spec.bundle import bundle_path
    from toolgate.spec.loader import load_document

    document = bundle_path(path, entry)[0] if entry else load_document(path.read_bytes(), name=path.name)
    _refuse_network()
    clock = _Stopwatch()
    try:
        validate(document)
    except OpenAPIValidationError as exc:
        verdict = f"invalid: {_one_line(exc)}"
    except Exception as exc:  # the validator itself failing is a verdict too
        verdict = f"error: {type(exc).__name__}: {_one_line(exc)}"
    else:
        verdict = "valid"
    return {"seconds": clock.lap(), "verdict": verdict, "peak_rss_mib": _peak_rss_mib()}


def _child_fastmcp(path: Path, entry: str | None) -> dict[str, Any]:
    """FastMCP's conversion as its docs show it: `FastMCP.from_openapi(...)`, then list the tools.

    A multi-file spec gets its entry file alone, as a FastMCP user would pass it.
    """
    import asyncio

    import httpx2  # type: ignore[import-not-found]  # only in the FastMCP venv
    import yaml
    from fastmcp import FastMCP  # type: ignore[import-not-found]

    _refuse_network()
    source = path / entry if entry else path
    clock = _Stopwatch()
    data = source.read_bytes()
    if source.suffix == ".json":
        document = json.loads(data)
    else:  # JSON keys are strings, so unquoted `200:` keys and dates come out as text
        document = json.loads(json.dumps(yaml.load(data, Loader=yaml.CSafeLoader), default=str))
    load = clock.lap()
    try:
        server = FastMCP.from_openapi(
            openapi_spec=document, client=httpx2.AsyncClient(base_url="http://127.0.0.1")
        )
        tools = asyncio.run(server.list_tools())
    except Exception as exc:  # a failure is a result
        return {"load": load, "error": _one_line(exc), "peak_rss_mib": _peak_rss_mib()}
    return {"load": load, "convert": clock.lap(), "tools": len(tools), "peak_rss_mib": _peak_rss_mib()}


def _child_yaml(path: Path, entry: str | None) -> dict[str, Any]:
    """The baseline for ingest: PyYAML's C loader on the raw file, nothing else."""
    import yaml

    clock = _Stopwatch()
    yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
    return {"seconds": clock.lap(), "peak_rss_mib": _peak_rss_mib()}


CHILDREN: dict[str, Callable[[Path, str | None], dict[str, Any]]] = {
    "toolgate": _child_toolgate,
    "validator": _child_validator,
    "fastmcp": _child_fastmcp,
    "yaml": _child_yaml,
}
TOOLGATE_STAGES = ("load", "validate", "compile", "render")
#: The time each kind of run is judged by, where --repeat keeps the fastest of several.
ELAPSED: dict[str, Callable[[dict[str, Any]], float]] = {
    "toolgate": lambda run: sum(run[stage] for stage in TOOLGATE_STAGES),
    "validator": lambda run: float(run["seconds"]),
    "fastmcp": lambda run: float(run["convert"]),
    "yaml": lambda run: float(run["seconds"]),
}


def _run_as_child(kind: str, path: Path, entry: str | None) -> None:
    try:
        result = CHILDREN[kind](path, entry)
    except Exception as exc:  # report, so the parent records it as this spec's failure
        result = {"error": f"{getattr(exc, 'code', type(exc).__name__)}: {_one_line(exc)}"}
    print(json.dumps(result))


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- The parent: runs the children and reports ------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    name: str
    path: Path
    entry: str | None
    size_bytes: int


@dataclass
class SpecResult:
    name: str
    size_bytes: int
    toolgate: dict[str, Any]
    validator: dict[str, Any]
    fastmcp: dict[str, Any] | None
    yaml_baseline: dict[str, Any] | None = None
    total: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if "error" not in self.toolgate:
            self.total = ELAPSED["toolgate"](self.toolgate)

    @property
    def yields_tools(self) -> bool:
        """Compiled, with tools unless the spec has no operations at all (then none is right)."""
        return self.total is not None and (
            self.toolgate["tools"] > 0 or self.toolgate["failed_operations"] == 0
        )

    @property
    def fastmcp_ratio(self) -> float | None:
        """How many times faster our whole ingest is than FastMCP's conversion alone."""
        if self.total is None or not self.fastmcp or "convert" not in self.fastmcp:
            return None
        return float(self.fastmcp["convert"]) / self.total


def corpus_specs(corpus: Path, only: str | None) -> list[Spec]:
    specs = [
        Spec(path.name, path, None, path.stat().st_size)
        for path in sorted((corpus / "specs").iterdir())
        if path.suffix in {".json", ".yaml", ".yml"}
    ]
    folder = corpus / MULTIFILE_FOLDER
    if folder.is_dir():
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.suffix in {".yaml", ".yml", ".json"})
        specs.append(Spec("digitalocean (multi-file)", folder, MULTIFILE_ENTRY, size))
    return [spec for spec in specs if only is None or only.lower() in spec.name.lower()]


def run_child(
    python: Path, kind: str, spec: Spec, timeout: float, *, env: dict[str, str] | None = None, repeat: int = 1
) -> dict[str, Any]:
    """Run one measurement `repeat` times, each in a fresh process, and keep the fastest run.

    The fastest run is the one least disturbed by other load on the machine; a failure is kept as is.
    """
    runs = []
    for _ in range(repeat):
        run = _run_once(python, kind, spec, timeout, env)
        if "error" in run:
            return run
        runs.append(run)
    return min(runs, key=ELAPSED[kind])


def _run_once(
    python: Path, kind: str, spec: Spec, timeout: float, env: dict[str, str] | None
) -> dict[str, Any]:
    command = [str(python), str(Path(__file__).resolve()), "--child", kind, str(spec.path)]
    if spec.entry:
        command += ["--entry", spec.entry]
    try:
        completed = subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", "timed_out": True}
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        stderr = completed.stderr.strip().splitlines()
        return {"error": f"exit status {completed.returncode}: {stderr[-1] if stderr else 'no output'}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def ensure_fastmcp() -> Path:
    """The benchmark's own FastMCP venv, created and filled on first use; returns its python."""
    python = FASTMCP_VENV / "bin" / "python"
    if FASTMCP_STAMP.exists():
        return python
    print(
        f"Installing fastmcp=={FASTMCP_VERSION} into {FASTMCP_VENV.relative_to(REPO)} (first use)", flush=True
    )
    subprocess.run([sys.executable, "-m", "venv", str(FASTMCP_VENV)], check=True)
    attempt = _pip(python, f"fastmcp=={FASTMCP_VERSION}", check=False)
    if attempt.returncode != 0:
        reason = [line for line in attempt.stderr.splitlines() if line.startswith("ERROR")][-1:]
        print(f"  {reason[0] if reason else 'pip failed'}", flush=True)
        _install_fastmcp_with_relaxed_floor(python)
    FASTMCP_STAMP.touch()
    return python


def _pip(python: Path, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [str(python), "-m", "pip", "install", "--quiet", *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and completed.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed:\n{completed.stderr}")
    return completed


def _install_fastmcp_with_relaxed_floor(python: Path) -> None:
    """Install FastMCP, then its declared requirements with the certifi floor dropped.

    FastMCP 4.1.6 asks for certifi>=2026.10.19, newer than some package indexes carry. certifi is only
    a CA bundle, which an offline conversion never uses; every other requirement is kept as declared.
    """
    from importlib.metadata import distributions

    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    print(f"  installing it with FastMCP's {RELAXABLE_REQUIREMENT} floor relaxed", flush=True)
    _pip(python, "--no-deps", f"fastmcp=={FASTMCP_VERSION}", f"fastmcp-slim=={FASTMCP_VERSION}")
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()

    def requirements_of(name: str) -> list[Requirement]:
        found = next(iter(distributions(name=name, path=[site_packages])))
        return [Requirement(raw) for raw in found.requires or []]

    # fastmcp is fastmcp-slim with some extras; install what those extras (and the core) require.
    extras = next(r.extras for r in requirements_of("fastmcp") if r.name == "fastmcp-slim" and not r.marker)
    wanted: set[str] = set()
    for requirement in requirements_of("fastmcp-slim"):
        marker = requirement.marker
        if marker is not None and not any(marker.evaluate({"extra": extra}) for extra in extras):
            continue
        requirement.marker = None
        if requirement.name == RELAXABLE_REQUIREMENT:
            requirement.specifier = SpecifierSet()
        wanted.add(str(requirement))
    _pip(python, *sorted(wanted))


def fastmcp_version(python: Path) -> str:
    completed = subprocess.run(
        [str(python), "-c", "import fastmcp; print(fastmcp.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout.strip() or "unknown"


# --- Printing ------------------------------------------------------------------------------------------

COLUMNS = (
    ("spec", 34, "<"),
    ("MB", 6, ">"),
    ("load", 6, ">"),
    ("valid.", 6, ">"),
    ("compile", 7, ">"),
    ("render", 6, ">"),
    ("total", 6, ">"),
    ("ops/s", 7, ">"),
    ("RSS", 5, ">"),
    ("tools", 5, ">"),
    ("fail", 4, ">"),
    ("osv", 6, ">"),
    ("osv verdict", 11, "<"),
    ("fastmcp", 7, ">"),
    ("f.RSS", 5, ">"),
    ("f.tools", 7, ">"),
    ("vs fmcp", 7, ">"),
)


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def format_row(cells: list[str]) -> str:
    return "  ".join(
        f"{cell[:width] if align == '<' else cell:{align}{width}}"
        for cell, (_, width, align) in zip(cells, COLUMNS, strict=True)
    )


def result_row(result: SpecResult) -> str:
    ours, osv, fmcp = result.toolgate, result.validator, result.fastmcp
    if result.total is None:
        stages = ["error"] + [""] * 8
    else:
        operations = ours["tools"] + ours["failed_operations"]
        stages = [
            _seconds(ours["load"]),
            _seconds(ours["validate"]) + ("*" if ours["validation_partial"] else ""),
            _seconds(ours["compile"]),
            _seconds(ours["render"]),
            _seconds(result.total),
            f"{operations / result.total:,.0f}" if result.total else "n/a",
            f"{ours['peak_rss_mib']:.0f}",
            str(ours["tools"]),
            str(ours["failed_operations"]),
        ]
    osv_cells = [_seconds(osv.get("seconds")), osv.get("verdict", "error").split(":")[0]]
    if fmcp is None:
        fmcp_cells = ["skipped", "", "", ""]
    elif "convert" in fmcp:
        ratio = result.fastmcp_ratio
        fmcp_cells = [
            _seconds(fmcp["convert"]),
            f"{fmcp['peak_rss_mib']:.0f}",
            str(fmcp["tools"]),
            f"{ratio:.1f}x" if ratio else "n/a",
        ]
    else:
        fmcp_cells = ["timeout" if fmcp.get("timed_out") else "failed", "", "0", ""]
    return format_row([result.name, f"{result.size_bytes / 1e6:.1f}", *stages, *osv_cells, *fmcp_cells])


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    verdict: str  # PASS, FAIL or "n/a"


def evaluate_targets(results: list[SpecResult], fastmcp_skipped: bool) -> list[Target]:
    by_name = {result.name: result for result in results}
    targets: list[Target] = []

    stripe = by_name.get(STRIPE_SPEC)
    stripe_goal = f">= {STRIPE_SPEEDUP_GOAL:.0f}x faster than FastMCP"
    if stripe is None or fastmcp_skipped:
        targets.append(Target("Stripe vs FastMCP", stripe_goal, "not measured in this run", "n/a"))
    elif stripe.fastmcp_ratio is None:
        reason = (stripe.fastmcp or {}).get("error", "Toolgate failed")
        targets.append(Target("Stripe vs FastMCP", stripe_goal, f"no ratio: {reason}", "n/a"))
    else:
        ratio = stripe.fastmcp_ratio
        fastmcp = stripe.fastmcp or {}
        measured = f"{ratio:.1f}x: Toolgate {stripe.total:.2f} s (load {stripe.toolgate['load']:.2f} s"
        if stripe.yaml_baseline and "seconds" in stripe.yaml_baseline:
            measured += f"; PyYAML C loader alone {stripe.yaml_baseline['seconds']:.2f} s"
        measured += f"), FastMCP {fastmcp['convert']:.2f} s on an already loaded dict"
        targets.append(
            Target("Stripe vs FastMCP", stripe_goal, measured, _verdict(ratio >= STRIPE_SPEEDUP_GOAL))
        )

    github = by_name.get(GITHUB_SPEC)
    github_goal = f"< {GITHUB_INGEST_GOAL:.0f}x its YAML load"
    baseline = github.yaml_baseline if github else None
    if github is None or github.total is None or not baseline or "seconds" not in baseline:
        targets.append(Target("GitHub whole ingest", github_goal, "not measured in this run", "n/a"))
    else:
        ratio = github.total / baseline["seconds"]
        measured = f"{ratio:.2f}x (ingest {github.total:.2f} s, PyYAML C loader {baseline['seconds']:.2f} s)"
        targets.append(
            Target("GitHub whole ingest", github_goal, measured, _verdict(ratio < GITHUB_INGEST_GOAL))
        )

    measured_rss = [r for r in results if r.total is not None]
    if measured_rss:
        peak = max(measured_rss, key=lambda r: r.toolgate["peak_rss_mib"])
        over = [r.name for r in measured_rss if r.toolgate["peak_rss_mib"] >= PEAK_RSS_GOAL_MIB]
        measured = f"max {peak.toolgate['peak_rss_mib']:.0f} MiB ({peak.name})"
        if over:
            measured += f"; over: {', '.join(over)}"
        verdict = _verdict(not over and len(measured_rss) == len(results))
        targets.append(Target("Peak RSS, every spec", f"< {PEAK_RSS_GOAL_MIB:.0f} MiB", measured, verdict))

    yielding = sum(r.yields_tools for r in results)
    share = f"{yielding}/{len(results)} ({100 * yielding / max(len(results), 1):.0f}%)"
    if not fastmcp_skipped:
        converted = sum(1 for r in results if r.fastmcp and "convert" in r.fastmcp)
        share += f"; FastMCP {converted}/{len(results)}"
    targets.append(
        Target("Specs yielding tools", "100% of the corpus", share, _verdict(yielding == len(results)))
    )
    return targets


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def print_summary(results: list[SpecResult], targets: list[Target], fastmcp_skipped: bool) -> None:
    measured = [r for r in results if r.total is not None]
    operations = sum(r.toolgate["tools"] + r.toolgate["failed_operations"] for r in measured)
    ours = sum(r.total or 0.0 for r in measured)
    osv = [r.validator for r in results if "seconds" in r.validator]
    rejected = sum(1 for v in osv if v["verdict"] != "valid")
    print()
    rate = operations / ours if ours else 0.0
    print(f"Toolgate: {len(measured)}/{len(results)} specs, {operations:,} operations", end=" ")
    print(f"in {ours:.1f} s ({rate:,.0f} ops/s)")
    print(
        f"openapi-spec-validator alone: {sum(v['seconds'] for v in osv):.1f} s over {len(osv)} specs, "
        f"{rejected} rejected"
    )
    if not fastmcp_skipped:
        converted = [r.fastmcp for r in results if r.fastmcp and "convert" in r.fastmcp]
        failed = [r.name for r in results if r.fastmcp and "convert" not in r.fastmcp]
        seconds = sum(f["convert"] for f in converted)
        print(f"FastMCP: converted {len(converted)}/{len(results)} in {seconds:.1f} s")
        if failed:
            print(f"  failed on: {', '.join(failed)}")
    print()
    print(f"{'target':<22}  {'goal':<30}  {'verdict':<7}  measured")
    for target in targets:
        print(f"{target.name:<22}  {target.goal:<30}  {target.verdict:<7}  {target.measured}")


# --- Main ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", metavar="SUBSTRING", help="run only the specs whose name contains this")
    parser.add_argument("--skip-fastmcp", action="store_true", help="do not install or measure FastMCP")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the results as JSON")
    parser.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="run each measurement N times and keep the fastest"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per Toolgate or validator run")
    parser.add_argument("--fastmcp-timeout", type=float, default=120.0, help="seconds per FastMCP run")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--entry", help=argparse.SUPPRESS)
    parser.add_argument("spec", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        _run_as_child(args.child, args.spec, args.entry)
        return 0

    if not (CORPUS / "specs").is_dir():
        print(
            f"error: the corpus is not at {CORPUS.resolve()}; the benchmark needs ../shared/corpus",
            file=sys.stderr,
        )
        return 2
    specs = corpus_specs(CORPUS, args.only)
    if not specs:
        print(f"error: no spec name contains {args.only!r}", file=sys.stderr)
        return 2
    fastmcp_python = None if args.skip_fastmcp else ensure_fastmcp()
    python = Path(sys.executable)

    print(f"{len(specs)} specs from {CORPUS.resolve()}")
    print(
        f"Python {platform.python_version()} on {os.cpu_count()} cores; fastest of {args.repeat} run(s) each."
    )
    print("Seconds per stage, RSS in MiB.", end=" ")
    print("valid. *: validation stopped at its time budget. osv: openapi-spec-validator alone.")
    print("vs fmcp: FastMCP's conversion (of an already loaded dict) over our whole ingest (from bytes).")
    print(format_row([name for name, _, _ in COLUMNS]))
    results: list[SpecResult] = []
    for spec in specs:
        repeat = args.repeat
        ours = run_child(python, "toolgate", spec, args.timeout, repeat=repeat)
        validator = run_child(python, "validator", spec, args.timeout, env=VALIDATOR_BACKEND, repeat=repeat)
        fastmcp = None
        if fastmcp_python:
            fastmcp = run_child(fastmcp_python, "fastmcp", spec, args.fastmcp_timeout, repeat=repeat)
        baseline = None
        if spec.name in YAML_BASELINE_SPECS:
            baseline = run_child(python, "yaml", spec, args.timeout, repeat=repeat)
        result = SpecResult(spec.name, spec.size_bytes, ours, validator, fastmcp, baseline)
        results.append(result)
        print(result_row(result), flush=True)
        if "error" in ours:
            print(f"    toolgate: {ours['error']}", flush=True)

    targets = evaluate_targets(results, args.skip_fastmcp)
    print_summary(results, targets, args.skip_fastmcp)
    if args.json:
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "repeat": args.repeat,
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cores": os.cpu_count(),
                "fastmcp": fastmcp_version(fastmcp_python) if fastmcp_python else None,
            },
            "specs": [{**asdict(result), "fastmcp_ratio": result.fastmcp_ratio} for result in results],
            "targets": [asdict(target) for target in targets],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
