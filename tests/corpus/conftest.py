"""Keeps each spec's tests together, so the spec is compiled once (`corpus_specs.compiled`), and sums the
compile counts corpus tests record (per spec, on any xdist worker) into one summary."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from corpus_specs import spec_key

COUNTS_PROPERTY = "compile_counts"


class CompileCounts:
    def __init__(self) -> None:
        self.specs = 0
        self.tools = 0
        self.failed = 0
        self.findings: Counter[str] = Counter()

    def add(self, counts: dict[str, Any]) -> None:
        self.specs += 1
        self.tools += counts["tools"]
        self.failed += counts["failed"]
        self.findings.update(counts["findings"])


_counts = CompileCounts()

HERE = Path(__file__).parent
#: The parameters by which corpus tests name their spec.
SPEC_PARAMETERS = ("spec", "filename")
#: The search tests share module fixtures (compiled specs, their indexes): one worker builds them once.
SEARCH_GROUP = "corpus-search"


def _group(item: pytest.Item) -> str | None:
    if item.path.parent != HERE:
        return None
    params = item.callspec.params if isinstance(item, pytest.Function) and hasattr(item, "callspec") else {}
    for name in SPEC_PARAMETERS:
        spec = params.get(name)
        if isinstance(spec, str):
            return f"corpus:{spec_key(spec)}"
    return SEARCH_GROUP if item.path.name == "test_search_corpus.py" else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One spec's tests form one xdist group (`--dist loadgroup` runs a group on one worker, in a row) and,
    without xdist, run next to each other: either way `corpus_specs.compiled` compiles the spec once."""
    first_of_group: dict[str, int] = {}
    order: dict[pytest.Item, int] = {}
    for position, item in enumerate(items):
        group = _group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
        order[item] = position if group is None else first_of_group.setdefault(group, position)
    items.sort(key=order.__getitem__)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == COUNTS_PROPERTY and isinstance(value, dict):
            _counts.add(value)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _counts.specs:
        return
    terminalreporter.section("corpus compile counts")
    terminalreporter.write_line(
        f"{_counts.specs} specs, {_counts.tools} tools, {_counts.failed} failed operations"
    )
    for code, count in sorted(_counts.findings.items()):
        terminalreporter.write_line(f"  {code}: {count}")
