"""Fixtures of the infrastructure tests: the stack is synthesized once per test process (it is only read);
each module gets its own copy of the template's resources."""

from __future__ import annotations

import os
from typing import Any, cast

import pytest

# The machine's Node.js 20 is past its end of life; jsii says so in a banner on every start.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template
from synth_helpers import Synthesized, synthesize

from infra.stack import ToolgateStack


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The stack synthesized without cdk-nag, for assertions on the template."""
    return synthesize(tmp_path_factory.mktemp("stack"), nag=False)


@pytest.fixture(scope="session")
def stack(synthesized: Synthesized) -> ToolgateStack:
    return synthesized.stack


@pytest.fixture(scope="session")
def template(stack: ToolgateStack) -> Template:
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def resources(template: Template) -> dict[str, Any]:
    return cast(dict[str, Any], template.to_json()["Resources"])
