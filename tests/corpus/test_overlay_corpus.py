"""Degrade, don't drop, over the real specs: an operation whose parameter `$ref` names a sibling file (the
Azure pattern: `../common-types/...json#/parameters/ApiVersionParameter`) still becomes a tool."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from toolgate.spec.compiler import HTTP_METHODS, compile_document, read_spec
from toolgate.spec.loader import load_document
from toolgate.spec.overlay import apply_overlays, load_overlay
from toolgate.spec.refs import is_local_ref

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
#: A `$ref` whose value names a file before its fragment; a cheap filter before a spec is loaded.
_FILE_REF = re.compile(rb"""\$ref["']?\s*:\s*["']?[^#"'\s]+\.(?:json|ya?ml)#""")

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent"),
]


def sibling_parameter_operations(document: dict[str, Any]) -> list[str]:
    """Pointers of the operations with a parameter that is a `$ref` into another file."""
    found = []
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        shared = _list(item.get("parameters"))
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            own = _list(operation.get("parameters"))
            refs = [p.get("$ref") for p in [*shared, *own] if isinstance(p, dict)]
            if any(isinstance(ref, str) and not is_local_ref(ref) for ref in refs):
                found.append(f"{method.upper()} {path}")
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def specs_with_sibling_file_refs() -> list[Path]:
    folder = CORPUS / "specs"
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_file() and _FILE_REF.search(path.read_bytes()))


@pytest.mark.timeout(300)
def test_operations_whose_parameter_refs_name_a_sibling_file_still_become_tools() -> None:
    checked = 0
    for path in specs_with_sibling_file_refs():
        spec = read_spec(path)
        affected = sibling_parameter_operations(spec.document)
        if not affected:
            continue
        compiled = compile_document(spec)
        skipped = [
            finding.message
            for finding in compiled.findings
            if finding.message.split(" was skipped")[0] in affected
        ]
        assert skipped == [], f"{path.name}: {skipped[:3]}"
        assert "SPEC_PARAMETER_DROPPED" in {finding.code for finding in compiled.findings}
        checked += 1
    if not checked:
        pytest.skip("no corpus spec has an operation whose parameter $ref names a sibling file")


def corpus_files() -> list[str]:
    folder = CORPUS / "specs"
    return sorted(path.name for path in folder.iterdir() if path.is_file()) if folder.is_dir() else []


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", corpus_files())
def test_an_overlay_that_selects_nothing_leaves_every_real_spec_unchanged_within_its_bounds(
    name: str,
) -> None:
    document = load_document((CORPUS / "specs" / name).read_bytes(), name=name)
    before = json.dumps(document, sort_keys=True)
    walk_everything = load_overlay(
        json.dumps(
            {
                "overlay": "1.1.0",
                "info": {"title": "no-op", "version": "1"},
                "actions": [{"target": "$..[?@['x-toolgate-never-present']]", "update": {"x-a": 1}}],
            }
        ).encode(),
        name="noop.overlay.json",
    )
    findings = apply_overlays(document, [walk_everything])
    assert [finding.code for finding in findings] == ["OVERLAY_TARGET_UNMATCHED"]
    assert json.dumps(document, sort_keys=True) == before
