"""The lint's fix overlay on every real spec of the corpus: it applies cleanly, the spec validates as
before, no finding appears, and exactly the findings it claims to fix are gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_specs import compiled as compiled_corpus_spec
from toolgate.spec.compiler import SpecDocument, compile_document, parse_spec
from toolgate.spec.fix_overlay import suggest_fixes
from toolgate.spec.lint import LintLimits, lint_spec
from toolgate.spec.models import CompiledSpec, Severity
from toolgate.spec.overlay import load_overlay

CORPUS = Path(__file__).resolve().parents[2] / "../shared/corpus"
SPECS = sorted(path.name for path in (CORPUS / "specs").glob("*")) if CORPUS.is_dir() else []
#: Every finding listed, so that a fixed one cannot make room for one the cap hid.
UNCAPPED = LintLimits(max_findings_per_rule=1_000_000)
BIG_BYTES = 2_000_000

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent"),
]


#: Validation stopped at its time or findings budget: which findings it reached can differ between runs.
PARTIAL = {"SPEC_FINDINGS_OMITTED", "SPEC_VALIDATION_PARTIAL"}


def _findings(
    spec: SpecDocument, compiled: CompiledSpec
) -> tuple[set[tuple[str, str]], set[tuple[str, str]], bool]:
    """(lint findings, validation and compiler problems) as (code, pointer), and whether validation
    stopped short."""
    lint = {(f.code, f.pointer) for f in lint_spec(spec.document, compiled, limits=UNCAPPED)}
    problems = {
        (f.code, f.pointer)
        for f in compiled.findings
        if f.severity != Severity.INFO and not f.code.startswith("OVERLAY_")
    }
    return lint, problems, any(f.code in PARTIAL for f in compiled.findings)


@pytest.mark.parametrize(
    "filename",
    [
        pytest.param(name, marks=pytest.mark.slow)
        if (CORPUS / "specs" / name).stat().st_size > BIG_BYTES
        else name
        for name in SPECS
    ],
)
def test_fix_overlay_clears_exactly_its_findings_on_a_real_spec(filename: str) -> None:
    spec, compiled = compiled_corpus_spec(filename)
    suggestion = suggest_fixes(spec.document, compiled)
    lint_before, problems_before, partial_before = _findings(spec, compiled)
    if not suggestion.actions:
        assert not suggestion.cleared
        return
    overlay = load_overlay(suggestion.to_yaml(compiled.title).encode(), name="fixes.overlay.yaml")
    fixed = parse_spec((CORPUS / "specs" / filename).read_bytes(), name=filename, overlays=[overlay])
    assert not [f for f in fixed.findings if f.code == "OVERLAY_TARGET_UNMATCHED"]
    lint_after, problems_after, partial_after = _findings(fixed, compile_document(fixed))
    print(f"{filename}: {len(suggestion.actions)} fixes clear {len(suggestion.cleared)} findings")
    if not (partial_before or partial_after):
        assert problems_after <= problems_before, sorted(problems_after - problems_before)[:10]
    assert lint_after <= lint_before, sorted(lint_after - lint_before)[:10]
    assert lint_before - lint_after == suggestion.cleared, sorted(
        (lint_before - lint_after) ^ suggestion.cleared
    )[:10]
