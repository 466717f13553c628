"""Every real spec in ../shared/corpus gets a token count for every tool in every dialect, as an upload
stores them. Skipped when the corpus is absent."""

from __future__ import annotations

import pytest
from corpus_specs import CORPUS, compiled_tools, corpus_specs
from toolgate.dialects import Dialect
from toolgate.dialects.tokens import rendered_token_counts, tool_token_counts

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent"),
]


@pytest.mark.parametrize("spec", corpus_specs())
def test_every_corpus_tool_is_counted_in_every_dialect(spec: str) -> None:
    tools = compiled_tools(spec)
    counts = tool_token_counts(tools)
    assert len(counts) == len(tools)
    for tool, per_tool in zip(tools, counts, strict=True):
        assert set(per_tool) == {dialect.value for dialect in Dialect}, tool.name
        # A definition holds at least its name and description: never free, never negative.
        assert min(per_tool.values()) > 0, tool.name


@pytest.mark.parametrize("spec", corpus_specs())
def test_fast_counts_equal_rendering_every_dialect_then_counting(spec: str) -> None:
    # Every count for every tool and dialect, not only the totals: no drift hides in a sum.
    tools = compiled_tools(spec)
    assert tool_token_counts(tools) == rendered_token_counts(tools)
