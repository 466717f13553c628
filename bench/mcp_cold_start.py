"""Cold import of the function that serves MCP, side by side with the invoke handler's, in one run.

Each sample is a fresh interpreter that imports one handler module (what Lambda's init does) and reports
the time; the variants run interleaved, so load on the machine hits them alike, and the report gives
medians and each variant's difference from the invoke handler. Variants:

- `invoke`: `functions.invoke.handler` (REST invoke);
- `mcp`: `functions.mcp.handler` (the MCP function: the invoke path plus the SDK's version-free models);
- `invoke + mcp_types`: the invoke handler plus the SDK's version-free models only (`import mcp_types`),
  the floor of any use of the SDK's types;
- `invoke + mcp_types.methods`: the same plus the SDK's per-revision models, which the MCP function once
  imported to validate and shape each revision's messages (docs/mcp.md).

Run: `python bench/mcp_cold_start.py [--samples N]` with the repository's PYTHONPATH (layers, functions);
`bench/mcp.py` runs it too. Each sample is `bench/cold_start.py`'s `probe`.
"""

from __future__ import annotations

import argparse
import os
import statistics

from cold_start import probe

VARIANTS = {
    "invoke": "import functions.invoke.handler",
    "mcp": "import functions.mcp.handler",
    "invoke + mcp_types": "import functions.invoke.handler, mcp_types",
    "invoke + mcp_types.methods": "import functions.invoke.handler, mcp_types.methods",
}


def sample(statement: str) -> float:
    return probe(statement).ms


def measure(samples: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(samples):
        for name, statement in VARIANTS.items():
            times[name].append(sample(statement))
    return times


def report(times: dict[str, list[float]]) -> None:
    base = statistics.median(times["invoke"])
    samples = len(times["invoke"])
    print(f"cold import, median of {samples} interleaved samples (load: {os.getloadavg()[0]:.2f})")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:28s} {median:7.0f} ms  {median - base:+6.0f} ms  x{median / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=9)
    args = parser.parse_args()
    report(measure(args.samples))


if __name__ == "__main__":
    main()
