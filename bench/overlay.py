"""Measure what a 50-action overlay adds to compiling the GitHub spec (issue 14's bound: at most 10%).

    python bench/overlay.py [--spec PATH] [--repeat N]

Each run loads, overlays, validates and compiles the spec in this process, timing the overlay stage
(loading and applying the overlay) apart: on a shared machine the stage's share of the same run is steadier
than a difference of two whole ingests. Two overlays are timed: 50 actions that name operations by path (the
everyday recipe), and 50 that find them with a filter over every path item.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import yaml
from toolgate.spec.compiler import HTTP_METHODS, compile_document, prepare_document
from toolgate.spec.loader import load_document_noting_aliases
from toolgate.spec.overlay import apply_overlays, load_overlay

REPO = Path(__file__).resolve().parents[1]
GITHUB_SPEC = REPO / "../shared/corpus/specs/osvbench-github-XL.yaml"
ACTIONS = 50


def operations(path: Path) -> list[tuple[str, str, str]]:
    document = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    found = []
    for route, item in document["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method) if isinstance(item, dict) else None
            if isinstance(operation, dict) and isinstance(operation.get("operationId"), str):
                found.append((route, method, operation["operationId"]))
    return found


def overlay_bytes(actions: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {"overlay": "1.1.0", "info": {"title": "bench", "version": "1"}, "actions": actions}
    ).encode()


def by_path(chosen: list[tuple[str, str, str]]) -> bytes:
    return overlay_bytes(
        [
            {
                "target": f"$.paths[{json.dumps(route)}].{method}",
                "update": {"description": f"Agent-facing description of {operation_id}.", "x-bench": True},
            }
            for route, method, operation_id in chosen
        ]
    )


def by_filter(chosen: list[tuple[str, str, str]]) -> bytes:
    return overlay_bytes(
        [
            {
                "target": f"$.paths.*[?@.operationId == {json.dumps(operation_id)}]",
                "update": {"description": f"Agent-facing description of {operation_id}."},
            }
            for _, _, operation_id in chosen
        ]
    )


def stage_seconds(data: bytes, overlay: bytes | None) -> tuple[float, float]:
    """(seconds to load, overlay, validate and compile; of which the overlay: loading and applying it)."""
    started = time.perf_counter()
    document, aliased = load_document_noting_aliases(data, name=GITHUB_SPEC.name)
    overlay_started = time.perf_counter()
    if overlay is not None:
        # As the ingest applies them: nodes are copied apart first only if an alias shares one.
        apply_overlays(document, [load_overlay(overlay, name="bench.overlay.json")], may_share_nodes=aliased)
    overlay_seconds = time.perf_counter() - overlay_started
    compiled = compile_document(prepare_document(document, []))
    assert compiled.tools
    return time.perf_counter() - started, overlay_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=GITHUB_SPEC)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = args.spec.read_bytes()
    ops = operations(args.spec)
    step = max(1, len(ops) // ACTIONS)
    chosen = ops[::step][:ACTIONS]
    overlays = {
        "none": None,
        "50 actions by path": by_path(chosen),
        "50 actions by filter": by_filter(chosen),
    }
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for label, overlay in overlays.items():
            total, overlay_seconds = stage_seconds(data, overlay)
            if label not in best or total < best[label][0]:
                best[label] = (total, overlay_seconds)
    plain = best["none"][0]
    print(
        f"{args.spec.name}: {len(ops)} operations; ingest without overlay {plain:.2f} s "
        f"(fastest of {args.repeat})"
    )
    for label in list(overlays)[1:]:
        total, overlay_seconds = best[label]
        print(
            f"  {label}: overlay stage {overlay_seconds:.3f} s = {overlay_seconds / plain * 100:.1f}% of the "
            f"ingest; whole ingest {total:.2f} s"
        )


if __name__ == "__main__":
    main()
