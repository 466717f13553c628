"""Fixtures of the infrastructure tests: the stack is synthesized once per test module."""

from __future__ import annotations

import os

import pytest

# The machine's Node.js 20 is past its end of life; jsii says so in a banner on every start.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from synth_helpers import Synthesized, synthesize


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The stack synthesized without cdk-nag, for assertions on the template."""
    return synthesize(tmp_path_factory.mktemp("stack"), nag=False)
