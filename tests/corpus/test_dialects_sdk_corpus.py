"""Every real spec in ../shared/corpus, rendered for every model API, is accepted by that API's official SDK
types (openai, anthropic, google-genai, mcp, botocore's Converse validation), and a result of every tool is
one the MCP client accepts: a body the runtime vouches for where one is easy to find, else an off-schema one.
Skipped when the corpus is absent; the corpus files are read in place, never copied.

What is exhaustive and what is sampled, per spec:
- every tool definition, in every format, goes through the SDK's types, and every MCP output schema through
  the metaschema check the MCP client makes of it (once per distinct schema node, see `check_schemas`);
- every tool's result is made by the runtime, formatted as an MCP `tools/call` result, parsed by the SDK's
  `CallToolResult` and checked against the tool's output schema as the MCP client checks it
  (`output_schema_refusals`);
- the official MCP client itself, over an in-process session, lists and calls a sample: the first tool (in
  the spec's order) with a vouched result, the first with an off-schema one, then the first of each distinct
  output schema, up to `CLIENT_SAMPLE` tools. Running the client over every tool made it list them all and
  re-check each output schema against the metaschema, whole: minutes per spec on a loaded machine.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from corpus_specs import CORPUS, compiled_tools, corpus_specs
from toolgate.dialects import Dialect, render_tools
from toolgate.settings import RuntimeSettings
from toolgate.spec.models import CanonicalTool

from tests.unit.sdk_checks import (
    DEFINITION_CHECKS,
    answered,
    mcp_client_refusals,
    mcp_result,
    output_schema_refusals,
)

#: JSON bodies tried, in order, for one the runtime finds conforming (no warnings): the vouched case.
CANDIDATE_BODIES: list[object] = [{}, [], 0, True]
OFF_SCHEMA_BODY = {"unexpected": [1, 2, 3], "case_id": 42}
#: At most this many tools per spec go through the official MCP client's round trip (see the docstring).
CLIENT_SAMPLE = 5

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent"),
]


def one_result(tool: CanonicalTool, settings: RuntimeSettings) -> tuple[str, dict[str, object]]:
    """A vouched-for success when a candidate body conforms, else an off-schema success."""
    for body in CANDIDATE_BODIES:
        envelope = answered(tool, 200, json.dumps(body).encode(), "application/json", settings)
        if "warnings" not in envelope:
            return "ok-body", envelope
    return "off-schema-body", answered(
        tool, 200, json.dumps(OFF_SCHEMA_BODY).encode(), "application/json", settings
    )


def client_sample(definitions: list[dict[str, Any]], shapes: dict[str, str]) -> set[str]:
    """The first tool of each result shape, then of each distinct output schema, in the spec's order."""
    first_of_shape: dict[str, str] = {}
    first_of_schema: dict[str, str] = {}
    for definition in definitions:
        first_of_shape.setdefault(shapes[definition["name"]], definition["name"])
        first_of_schema.setdefault(json.dumps(definition["outputSchema"], sort_keys=True), definition["name"])
    sample = set(first_of_shape.values())
    for name in first_of_schema.values():
        if len(sample) >= CLIENT_SAMPLE:
            break
        sample.add(name)
    return sample


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("spec", corpus_specs())
def test_corpus_tools_and_results_are_accepted_by_the_official_sdks(spec: str) -> None:
    tools = compiled_tools(spec)

    definitions: dict[Dialect, list[dict[str, Any]]] = {}
    for dialect in Dialect:
        definitions[dialect] = render_tools(tools, dialect).definitions
        try:
            DEFINITION_CHECKS[dialect](definitions[dialect])
        except Exception as refusal:
            pytest.fail(f"{dialect}: {str(refusal)[:2000]}")

    settings = RuntimeSettings()
    results = []
    for index, tool in enumerate(tools):
        shape, envelope = one_result(tool, settings)
        results.append((tool.name, shape, mcp_result(index, tool.name, json.loads(json.dumps(envelope)))))
    mcp_definitions = definitions[Dialect.MCP]
    assert output_schema_refusals(mcp_definitions, results) == []
    sample = client_sample(mcp_definitions, {name: shape for name, shape, _ in results})
    listed = [definition for definition in mcp_definitions if definition["name"] in sample]
    assert mcp_client_refusals(listed, [result for result in results if result[0] in sample]) == []
