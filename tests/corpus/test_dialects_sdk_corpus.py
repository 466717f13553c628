"""Every real spec in ../shared/corpus, rendered for every model API, is accepted by that API's official SDK
types (openai, anthropic, google-genai, mcp, botocore's Converse validation), and the official MCP client
accepts a result of every tool: a body the runtime vouches for where one is easy to find, else an
off-schema one. Skipped when the corpus is absent; the corpus files are read in place, never copied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from toolgate.dialects import Dialect, render_tools
from toolgate.spec.compiler import compile_path
from toolgate.spec.models import CanonicalTool

from tests.unit.sdk_checks import DEFINITION_CHECKS, mcp_client_refusals, mcp_result, result_shapes

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
MULTIFILE_ROOT = "specs-multifile/digitalocean"
MULTIFILE_ENTRY = "specification/DigitalOcean-public.v2.yaml"
#: JSON bodies tried, in order, for one the runtime finds conforming (no warnings): the vouched case.
CANDIDATE_BODIES: list[object] = [{}, [], 0, True]

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent"),
]


def corpus_specs() -> list[str]:
    if not CORPUS.is_dir():
        return []
    specs = sorted(f"specs/{p.name}" for p in (CORPUS / "specs").glob("*") if p.is_file())
    if (CORPUS / MULTIFILE_ROOT / MULTIFILE_ENTRY).is_file():
        specs.append(MULTIFILE_ROOT)
    return specs


def compiled_tools(spec: str) -> list[CanonicalTool]:
    if spec == MULTIFILE_ROOT:
        return compile_path(CORPUS / MULTIFILE_ROOT, MULTIFILE_ENTRY).tools
    return compile_path(CORPUS / spec).tools


def one_result(tool: CanonicalTool) -> tuple[str, dict[str, object]]:
    """A vouched-for success when a candidate body conforms, else an off-schema success."""
    for body in CANDIDATE_BODIES:
        shapes = result_shapes(tool, body)
        if "warnings" not in shapes["ok-body"]:
            return "ok-body", shapes["ok-body"]
    return "off-schema-body", shapes["off-schema-body"]


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("spec", corpus_specs())
def test_corpus_tools_and_results_are_accepted_by_the_official_sdks(spec: str) -> None:
    tools = compiled_tools(spec)

    for dialect in Dialect:
        rendered = render_tools(tools, dialect)
        try:
            DEFINITION_CHECKS[dialect](rendered.definitions)
        except Exception as refusal:
            pytest.fail(f"{dialect}: {str(refusal)[:2000]}")

    definitions = render_tools(tools, Dialect.MCP).definitions
    results = []
    for index, tool in enumerate(tools):
        shape, envelope = one_result(tool)
        results.append((tool.name, shape, mcp_result(index, tool.name, json.loads(json.dumps(envelope)))))
    assert mcp_client_refusals(definitions, results) == []
