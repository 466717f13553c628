"""The token footprint of every spec in ../shared/corpus, per dialect, as Toolgate reports it at upload,
and the fit of the character approximation used for the dialects without an offline tokenizer.

For each spec: its tools, what counting them costs the plain way (`rendered_token_counts`: render every
dialect whole, then count each definition) against the way an upload counts (`tool_token_counts`), in the
same run, as a ratio (each the fastest of --repeat runs, interleaved; the counts must be equal, or the
benchmark stops), and the tokens of all of them in each dialect (`toolgate.dialects.tokens`:
exact o200k_base for OpenAI, the approximation for the others). Then, for every dialect, the exact
o200k_base count of the same text beside the approximation's o200k part (characters /
CHARS_PER_O200K_TOKEN), to state its error: the corpus-wide characters per token, and each spec's
relative error.

    python bench/tokens.py [--only SUBSTRING] [--repeat N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "../shared/corpus"
MULTIFILE_FOLDER = "specs-multifile/digitalocean"
MULTIFILE_ENTRY = "specification/DigitalOcean-public.v2.yaml"


def _specs(only: str | None) -> list[tuple[str, Path, str | None]]:
    specs: list[tuple[str, Path, str | None]] = [
        (path.name, path, None) for path in sorted((CORPUS / "specs").iterdir()) if path.is_file()
    ]
    if (CORPUS / MULTIFILE_FOLDER / MULTIFILE_ENTRY).is_file():
        specs.append(("digitalocean (multi-file)", CORPUS / MULTIFILE_FOLDER, MULTIFILE_ENTRY))
    return [spec for spec in specs if only is None or only in spec[0]]


def measure(name: str, path: Path, entry: str | None, repeat: int) -> dict[str, Any]:
    from toolgate.dialects import Dialect, render_tools
    from toolgate.dialects.tokens import (
        CHARS_PER_O200K_TOKEN,
        definition_text,
        definitions_tokens,
        o200k_encoding,
        rendered_token_counts,
        tool_token_counts,
    )
    from toolgate.spec.compiler import compile_path

    tools = compile_path(path, entry=entry).tools
    o200k_encoding()
    plain, fast = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        expected = rendered_token_counts(tools)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        counts = tool_token_counts(tools)
        fast.append(time.perf_counter() - started)
        if counts != expected:
            raise SystemExit(f"{name}: tool_token_counts differs from rendered_token_counts")
    row: dict[str, Any] = {"spec": name, "tools": len(tools), "tokens": {}, "o200k": {}, "chars": {}}
    row["plain_count_seconds"] = min(plain)
    row["upload_count_seconds"] = min(fast)
    row["speedup"] = min(plain) / min(fast) if min(fast) else 1.0
    started = time.perf_counter()
    for dialect in Dialect:
        definitions = render_tools(tools, dialect).definitions
        texts = [definition_text(definition, dialect) for definition in definitions]
        row["tokens"][dialect.value] = sum(definitions_tokens(definitions, dialect))
        encoded = o200k_encoding().encode_ordinary_batch(texts)
        row["o200k"][dialect.value] = sum(len(tokens) for tokens in encoded)
        row["chars"][dialect.value] = sum(len(text) for text in texts)
    row["seconds"] = time.perf_counter() - started
    row["chars_per_token"] = CHARS_PER_O200K_TOKEN
    return row


def _report(rows: list[dict[str, Any]]) -> None:
    from toolgate.dialects import Dialect
    from toolgate.dialects.tokens import CHARS_PER_O200K_TOKEN, EXACT_DIALECTS

    print("Counting at upload: rendering every dialect then counting (plain) against tool_token_counts:")
    print("| spec | tools | plain | upload | plain / upload |")
    print("|---|---:|---:|---:|---:|")
    for row in sorted(rows, key=lambda row: -row["plain_count_seconds"]):
        print(
            f"| `{row['spec']}` | {row['tools']:,} | {row['plain_count_seconds']:.2f} s | "
            f"{row['upload_count_seconds']:.2f} s | {row['speedup']:.1f}x |"
        )
    plain = sum(row["plain_count_seconds"] for row in rows)
    fast = sum(row["upload_count_seconds"] for row in rows)
    print(f"| **all {len(rows)} specs** | | {plain:.1f} s | {fast:.1f} s | {plain / fast:.1f}x |")
    print()
    names = [dialect.value for dialect in Dialect]
    print("| spec | tools | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for row in rows:
        cells = " | ".join(f"{row['tokens'][name]:,}" for name in names)
        print(f"| `{row['spec']}` | {row['tools']:,} | {cells} |")
    totals = " | ".join(f"**{sum(row['tokens'][name] for row in rows):,}**" for name in names)
    print(f"| **whole corpus ({len(rows)} specs)** | **{sum(row['tools'] for row in rows):,}** | {totals} |")
    print()
    print(f"Character approximation (characters / {CHARS_PER_O200K_TOKEN}) against exact o200k_base:")
    print("| dialect | corpus chars per o200k token | per-spec error: median | min | max |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        if Dialect(name) in EXACT_DIALECTS:
            continue
        chars = sum(row["chars"][name] for row in rows)
        exact = sum(row["o200k"][name] for row in rows)
        errors = [
            (row["chars"][name] / CHARS_PER_O200K_TOKEN) / row["o200k"][name] - 1
            for row in rows
            if row["o200k"][name]
        ]
        print(
            f"| {name} | {chars / exact:.2f} | {statistics.median(errors):+.1%} | {min(errors):+.1%} | "
            f"{max(errors):+.1%} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help="only specs whose name contains this")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each way of counting (default 3)")
    parser.add_argument("--json", type=Path, help="also write every row as JSON to this file")
    args = parser.parse_args()
    if not (CORPUS / "specs").is_dir():
        print(
            f"error: the corpus is not at {CORPUS.resolve()}; the benchmark needs ../shared/corpus",
            file=sys.stderr,
        )
        return 2
    rows = []
    for name, path, entry in _specs(args.only):
        rows.append(measure(name, path, entry, max(1, args.repeat)))
        row = rows[-1]
        print(
            f"{name}: {row['tools']} tools, counted in {row['upload_count_seconds']:.2f} s "
            f"({row['speedup']:.1f}x faster than rendering then counting)",
            file=sys.stderr,
        )
    _report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
