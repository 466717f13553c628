"""Bulk work pauses the cyclic garbage collector and always restores it."""

from __future__ import annotations

import gc

import pytest
from toolgate.gc_pause import gc_paused
from toolgate.spec.loader import load_document


def test_collection_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collection_is_restored_when_loading_fails() -> None:
    with pytest.raises(Exception, match="not valid YAML"):
        load_document(b"a: [1\n")
    assert gc.isenabled()


def test_a_caller_that_disabled_collection_keeps_it_disabled() -> None:
    gc.disable()
    try:
        load_document(b"openapi: 3.0.0\n")
        assert not gc.isenabled()
    finally:
        gc.enable()
