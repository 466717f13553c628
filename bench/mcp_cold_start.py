"""Cold import of the function that serves MCP, side by side with the invoke handler's, in one run.

Each sample is a fresh interpreter that imports one handler module (what Lambda's init does) and reports
the time; the variants run interleaved, so load on the machine hits them alike, and the report gives
medians and each variant's difference from the invoke handler. Variants:

- `invoke`: `functions.invoke.handler` (REST invoke);
- `mcp`: `functions.mcp.handler` (the MCP function: the invoke path plus `mcp_types` with its
  per-revision models, `mcp_types.methods`);
- `invoke + mcp_types`: the invoke handler plus the SDK's version-free models only (`import mcp_types`),
  the floor of any use of the SDK's types.

Run: `python bench/mcp_cold_start.py [--samples N]` with the repository's PYTHONPATH (layers, functions).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

VARIANTS = {
    "invoke": "import functions.invoke.handler",
    "mcp": "import functions.mcp.handler",
    "invoke + mcp_types": "import functions.invoke.handler, mcp_types",
}
PROBE = (
    "import time; started = time.perf_counter(); {statement}; print((time.perf_counter() - started) * 1000)"
)


def sample(statement: str) -> float:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        capture_output=True,
        text=True,
        env=os.environ,
        check=True,
    )
    return float(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=9)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.samples):
        for name, statement in VARIANTS.items():
            times[name].append(sample(statement))
    base = statistics.median(times["invoke"])
    print(f"cold import, median of {args.samples} interleaved samples (load: {os.getloadavg()[0]:.2f})")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:20s} {median:7.0f} ms  {median - base:+6.0f} ms  x{median / base:.2f}")


if __name__ == "__main__":
    main()
