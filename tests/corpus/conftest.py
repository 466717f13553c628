"""Sums the compile counts corpus tests record (per spec, on any xdist worker) into one summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

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
