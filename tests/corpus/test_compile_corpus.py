"""Every real spec in ../shared/corpus compiles: no crash, no hang, one tool or one reported failure per
operation, valid JSON Schema 2020-12 inputs and outputs, unique names every model API accepts, and
definitions that pass every dialect's limit checks.

Counts per spec are printed (visible with `-s`) and summed in the terminal summary.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable

import jsonschema_rs
import pytest
from corpus_specs import CORPUS, MULTIFILE_ENTRY, MULTIFILE_ROOT, compiled_spec
from toolgate.dialects import Dialect, DialectCode, render_tools
from toolgate.spec.models import CanonicalTool, JsonSchema
from toolgate.spec.naming import TOOL_NAME

#: The multi-file spec as this test names it (and manifest.tsv lists it): its entry document.
MULTIFILE_SPEC = f"{MULTIFILE_ROOT}/{MULTIFILE_ENTRY}"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
#: Property name the terminal summary (tests/corpus/conftest.py) sums across specs and workers.
COUNTS_PROPERTY = "compile_counts"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent"),
]


def declared_operations() -> dict[str, int]:
    """Operation count per spec, keyed like SPECS, from the manifest."""
    manifest = CORPUS / "manifest.tsv"
    if not manifest.is_file():
        return {}
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {
            (row["filename"] if "/" in row["filename"] else f"specs/{row['filename']}"): int(
                row["operations"]
            )
            for row in rows
        }


def corpus_specs() -> list[str]:
    specs = (
        sorted(f"specs/{p.name}" for p in (CORPUS / "specs").glob("*") if p.is_file())
        if CORPUS.is_dir()
        else []
    )
    if (CORPUS / MULTIFILE_SPEC).is_file():
        specs.append(MULTIFILE_SPEC)
    return specs


OPERATIONS = declared_operations()


def schema_problem(schema: JsonSchema) -> str | None:
    """Why `schema` is not usable JSON Schema 2020-12 (meta-schema, or a `$ref` that does not resolve)."""
    if not jsonschema_rs.meta.is_valid({"$schema": DRAFT_2020_12, **schema}):
        return "fails the 2020-12 meta-schema"
    try:
        jsonschema_rs.Draft202012Validator(schema, offline=True)
    except (ValueError, jsonschema_rs.ReferencingError) as exc:
        return f"does not compile: {str(exc)[:200]}"
    return None


@pytest.mark.timeout(180)
@pytest.mark.parametrize("spec", corpus_specs())
def test_corpus_spec_compiles_to_valid_uniquely_named_tools(
    spec: str, record_property: Callable[[str, object], None]
) -> None:
    compiled = compiled_spec(spec)

    findings = Counter(f.code for f in compiled.findings)
    record_property(
        COUNTS_PROPERTY,
        {"tools": len(compiled.tools), "failed": len(compiled.failed_operations), "findings": dict(findings)},
    )
    print(
        f"\n{spec}: {len(compiled.tools)} tools, {len(compiled.failed_operations)} failed operations, "
        f"findings {dict(findings.most_common())}"
    )

    assert spec in OPERATIONS, f"{spec} is missing from manifest.tsv"
    assert len(compiled.tools) + len(compiled.failed_operations) == OPERATIONS[spec]
    if OPERATIONS[spec]:
        assert compiled.tools
    names = [tool.name for tool in compiled.tools]
    assert len(set(names)) == len(names), [n for n, c in Counter(names).items() if c > 1]
    assert [n for n in names if not TOOL_NAME.match(n)] == []
    problems = {
        f"{tool.name} {direction}": problem
        for tool in compiled.tools
        for direction, schema in (("input", tool.input_schema), ("output", tool.output_schema))
        if schema is not None and (problem := schema_problem(schema))
    }
    assert problems == {}
    assert dialect_violations(compiled.tools) == {}


def dialect_violations(tools: list[CanonicalTool]) -> dict[str, list[str]]:
    """Limit checks that fail in each dialect, apart from the per-request tool cap (a spec may exceed it)."""
    failing: dict[str, list[str]] = {}
    for dialect in Dialect:
        rendered = render_tools(tools, dialect)
        assert len(rendered.definitions) == len(tools)
        problems = [
            f"{v.code} {v.pointer}: {v.message[:200]}"
            for v in rendered.violations
            if v.code != DialectCode.TOO_MANY_TOOLS
        ]
        if problems:
            failing[dialect.value] = problems[:5]
    return failing
