"""Small real specs from the corpus validate without an exception, and the checks openapi-spec-validator
also makes agree with its verdict in the manifest (valid: none of them fire; invalid: some do)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from toolgate.spec.loader import load_document
from toolgate.spec.validation import ValidationCode, validate_document

CORPUS = Path(__file__).resolve().parents[2] / "../shared/corpus"

#: Below 100 KB, plus the two smallest specs the manifest marks invalid (103 KB and 121 KB).
SPECS = [
    "oai-petstore-expanded.yaml",
    "oai-callback-example.yaml",
    "oai-link-example.yaml",
    "oai-uspto.yaml",
    "oai31-fixture-mega.yaml",
    "oai31-fixture-security-schemes.yaml",
    "zapier-nla.yaml",
    "schemathesis-petstore_v2.yaml",
    "microcks-1.7.yaml",
    "vtex-session-manager.json",
    "soundcloud-openapi.yaml",
    "intellifi-openapi.yaml",
]

#: What openapi-spec-validator 0.9 itself checks. Examples it never checks, and non-local refs it
#: would fetch instead of reporting, so those findings say nothing about its verdict.
LIBRARY_CHECKS = {
    ValidationCode.VALIDATION,
    ValidationCode.DUPLICATE_OPERATION_ID,
    ValidationCode.DUPLICATE_PARAMETER,
    ValidationCode.DUPLICATE_TAG,
    ValidationCode.UNDECLARED_PATH_PARAMETER,
    ValidationCode.UNUSED_PATH_PARAMETER,
    ValidationCode.UNDEFINED_REQUIRED_PROPERTY,
    ValidationCode.DEFAULT_MISMATCH,
}

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent"),
]


def verdicts() -> dict[str, str]:
    manifest = CORPUS / "manifest.tsv"
    if not manifest.is_file():
        return {}
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {row["filename"]: row["openapi_spec_validator_0.9"].split()[0] for row in rows}


@pytest.mark.parametrize("filename", SPECS)
def test_small_corpus_spec_findings_agree_with_the_manifest_verdict(filename: str) -> None:
    path = CORPUS / "specs" / filename
    document = load_document(path.read_bytes(), name=filename)
    version = str(document.get("swagger") or document.get("openapi"))

    findings = validate_document(document, version)

    assert not [f for f in findings if f.code == ValidationCode.VALIDATOR_FAILURE]
    library_findings = [f for f in findings if f.code in LIBRARY_CHECKS]
    expected = verdicts()[filename]
    print(
        f"{filename}: manifest {expected}, {len(findings)} findings, {len(library_findings)} library-checked"
    )
    assert expected in {"valid", "invalid"}
    assert bool(library_findings) == (expected == "invalid"), library_findings
