"""Cold import of the function that serves MCP, side by side with the invoke handler's, in one run.

Each sample is a fresh interpreter that imports one handler module (what Lambda's init does) and reports
the time; the variants run interleaved, so load on the machine hits them alike, and the report gives
medians and each variant's difference from the invoke handler. Variants:

- `invoke`: `functions.invoke.handler` (REST invoke), with the modules its first request imports
  (`FIRST_REQUEST_MODULES`), as `bench/cold_start.py` counts them, and so for every handler below;
- `mcp`: `functions.mcp.handler` (the MCP function: the invoke path plus the SDK's version-free models);
- `invoke + mcp_types`: the invoke handler plus the SDK's version-free models only (`import mcp_types`),
  the floor of any use of the SDK's types;
- `invoke + mcp_types.methods`: the same plus the SDK's per-revision models, which the MCP function once
  imported to validate and shape each revision's messages (docs/mcp.md).

Two more variants time only the part the target is about, directly: the invoke handler is imported
first, untimed, then `functions.mcp.handler` (or `mcp_types` alone) is timed in the same interpreter. The
difference of two fresh-process medians of 400 to 900 ms moves by tens of ms from run to run; these do
not carry that noise. Issue 13's target (the MCP function's cold import within 30 ms of the invoke
handler's) is judged on the direct one.

Run: `python bench/mcp_cold_start.py [--samples N]` with the repository's PYTHONPATH (layers, functions);
`bench/mcp.py` runs it too. Each sample is `bench/cold_start.py`'s `probe`.
"""

from __future__ import annotations

import argparse
import os
import statistics

from cold_start import handler_import, probe

INVOKE = handler_import("invoke")
TARGET_MS = 30.0
#: Fresh-process variants: the statement timed from the interpreter's start of work.
VARIANTS = {
    "invoke": INVOKE,
    "mcp": handler_import("mcp"),
    "invoke + mcp_types": f"{INVOKE}; import mcp_types",
    "invoke + mcp_types.methods": f"{INVOKE}; import mcp_types.methods",
}
#: Direct variants: the invoke handler imported untimed first, then the statement timed.
ABOVE_INVOKE = {
    "mcp handler above invoke": handler_import("mcp"),
    "mcp_types above invoke": "import mcp_types",
}


def measure(samples: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in (*VARIANTS, *ABOVE_INVOKE)}
    for _ in range(samples):
        for name, statement in VARIANTS.items():
            times[name].append(probe(statement).ms)
        for name, statement in ABOVE_INVOKE.items():
            times[name].append(probe(statement, setup=INVOKE).ms)
    return times


def report(times: dict[str, list[float]]) -> None:
    base = statistics.median(times["invoke"])
    samples = len(times["invoke"])
    print(f"cold import, median of {samples} interleaved samples (load: {os.getloadavg()[0]:.2f})")
    for name in VARIANTS:
        median = statistics.median(times[name])
        print(f"  {name:28s} {median:7.0f} ms  {median - base:+6.0f} ms  x{median / base:.2f}")
    for name in ABOVE_INVOKE:
        lower, median, upper = statistics.quantiles(times[name], n=4)
        print(f"  {name:28s} {median:7.0f} ms  (interquartile {lower:.0f} to {upper:.0f})")
    above = statistics.median(times["mcp handler above invoke"])
    verdict = "PASS" if above <= TARGET_MS else "MISS"
    print(f"  the MCP function's cold import within {TARGET_MS:.0f} ms of the invoke handler's: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=9)
    args = parser.parse_args()
    report(measure(args.samples))


if __name__ == "__main__":
    main()
