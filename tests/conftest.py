"""Marks every test with its suite, the directory it lives in (`pytest -m unit` runs exactly tests/unit).

The suites and what each may touch are in tests/README.md; each is a marker in pyproject.toml, so a test
in a directory that is not a registered suite fails under `--strict-markers`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        parts = item.path.relative_to(TESTS).parts
        if len(parts) < 2:
            raise pytest.UsageError(f"{item.nodeid}: a test lives in its suite's directory under tests/")
        item.add_marker(parts[0])
