"""Fixtures of the end-to-end tests: the real stack's template, synthesized once per test process.

The template is synthesized in-process exactly as `tests/infra` does it (`synth_helpers.synthesize`: the
CDK app with cdk.json's context and an empty placeholder dependency layer, no cdk-nag), into a temporary
cloud assembly. It is therefore always the template of the code under test, never a stale `cdk.out`, and
the tests need neither `npm ci` nor `make synth`. Each test module starts its own local stack on free
ports; one local stack runs per process at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The machine's Node.js 20 is past its end of life; jsii says so in a banner on every start.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack
from toolgate_local.template import find_stack_template


def pytest_configure(config: pytest.Config) -> None:
    # Powertools warns whenever a request records no metric; most API requests record none.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


@pytest.fixture(scope="session")
def stack_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.infra.synth_helpers import synthesize

    synthesized = synthesize(tmp_path_factory.mktemp("synth"), nag=False)
    if synthesized.synth_error is not None:
        raise synthesized.synth_error
    return find_stack_template(synthesized.outdir)


@pytest.fixture(scope="module")
def support_desk() -> Iterator[SupportDeskTarget]:
    """The demo target API on 127.0.0.1, checking the bearer token it was built with."""
    with SupportDeskTarget() as target:
        yield target


@pytest.fixture(scope="module")
def stack(stack_template: Path, support_desk: SupportDeskTarget) -> Iterator[LocalStack]:
    """A local stack per test module, as the demo runs it: loopback allowed to the target's port only. A
    module that needs other settings defines its own `stack`."""
    with LocalStack(stack_template, loopback_ports={support_desk.port}) as local:
        yield local
