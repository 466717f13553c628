"""The corpus's specs, and each one compiled once per test process however many test files check it.

Compiling a big corpus spec takes seconds and five test files check every spec, so `compiled(spec)` keeps
the last few results and hands each caller its own deep copy: a test may mutate what it gets without
another test ever seeing it. `tests/corpus/conftest.py` puts all of one spec's tests in one xdist group
(`--dist loadgroup`) and next to each other in the run, so the spec is compiled once per run, not per file.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

from toolgate.spec.compiler import SpecDocument, compile_document, read_spec
from toolgate.spec.models import CanonicalTool, CompiledSpec

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
#: The one multi-file spec: a folder, compiled from its entry document.
MULTIFILE_ROOT = "specs-multifile/digitalocean"
MULTIFILE_ENTRY = "specification/DigitalOcean-public.v2.yaml"
#: Compiled specs kept per process; one spec's tests run next to each other, so a few suffice.
CACHED_SPECS = 2


def corpus_specs() -> list[str]:
    """Every spec, relative to the corpus: `specs/<file>`, then the multi-file folder."""
    if not CORPUS.is_dir():
        return []
    specs = sorted(f"specs/{p.name}" for p in (CORPUS / "specs").glob("*") if p.is_file())
    if (CORPUS / MULTIFILE_ROOT / MULTIFILE_ENTRY).is_file():
        specs.append(MULTIFILE_ROOT)
    return specs


def spec_key(spec: str) -> str:
    """The spec a test parameter names, as `corpus_specs` lists it (a bare file name is under specs/)."""
    if spec.startswith(f"{MULTIFILE_ROOT}/"):
        return MULTIFILE_ROOT
    return spec if "/" in spec else f"specs/{spec}"


def compiled(spec: str) -> tuple[SpecDocument, CompiledSpec]:
    """The spec as read (validated, converted) and compiled, exactly as `compile_path` does it; a copy."""
    return copy.deepcopy(_compiled(spec_key(spec)))


def compiled_spec(spec: str) -> CompiledSpec:
    return copy.deepcopy(_compiled(spec_key(spec))[1])


def compiled_tools(spec: str) -> list[CanonicalTool]:
    return copy.deepcopy(_compiled(spec_key(spec))[1].tools)


@lru_cache(maxsize=CACHED_SPECS)
def _compiled(key: str) -> tuple[SpecDocument, CompiledSpec]:
    if key == MULTIFILE_ROOT:
        document = read_spec(CORPUS / MULTIFILE_ROOT, entry=MULTIFILE_ENTRY)
    else:
        document = read_spec(CORPUS / key)
    return document, compile_document(document)
