"""The corpus's Swagger 2.0 documents convert to OpenAPI 3.0.3 without losing operations or references."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from toolgate.errors import ToolgateError
from toolgate.spec.loader import load_document
from toolgate.spec.refs import RefResolver, iter_refs
from toolgate.spec.swagger2 import convert_swagger2

CORPUS = Path(__file__).resolve().parents[2] / "../shared/corpus"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}
SWAGGER2_PREFIXES = ("#/definitions/", "#/parameters/", "#/responses/")

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent"),
]


def swagger2_manifest() -> dict[str, int]:
    """File name to declared operation count, for every Swagger 2.0 spec in the manifest."""
    manifest = CORPUS / "manifest.tsv"
    if not manifest.is_file():
        return {}
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {
            row["filename"]: int(row["operations"]) for row in rows if row["openapi_version"] == "swagger-2.0"
        }


SPECS = swagger2_manifest()


def operation_count(document: dict[str, Any]) -> int:
    return sum(
        1
        for item in document.get("paths", {}).values()
        if isinstance(item, dict)
        for method, operation in item.items()
        if method in METHODS and isinstance(operation, dict)
    )


def test_the_corpus_has_the_five_swagger2_specs() -> None:
    assert len(SPECS) == 5


@pytest.mark.parametrize("name", sorted(SPECS))
def test_swagger2_spec_converts_with_every_operation_and_every_ref_resolving(name: str) -> None:
    document = load_document((CORPUS / "specs" / name).read_bytes(), name=name)

    converted, findings = convert_swagger2(document)

    assert converted["openapi"] == "3.0.3"
    assert operation_count(converted) == operation_count(document) == SPECS[name]
    resolver = RefResolver(converted)
    unresolved: list[tuple[str, str]] = []
    refs = 0
    for pointer, ref in iter_refs(converted):
        refs += 1
        assert not ref.startswith(SWAGGER2_PREFIXES), f"{ref} at {pointer} was not rewritten"
        try:
            resolver.resolve(ref, at=pointer)
        except ToolgateError:
            unresolved.append((pointer, ref))
    assert unresolved == []
    for item in converted["paths"].values():
        for method, operation in item.items():
            if method in METHODS:
                locations = {parameter.get("in") for parameter in operation.get("parameters", [])}
                assert not locations & {"body", "formData"}
    print(f"{name}: {SPECS[name]} operations, {refs} refs, {len(findings)} findings")
