"""Synthesize the real stack for tests, and read CloudFormation expressions back as text.

The dependency layer is an empty placeholder here (no PyPI in unit tests); `make synth` builds the real
one. Everything else is the stack exactly as `npx cdk synth` produces it, with cdk.json's feature flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from infra.app import add_toolgate_stack, load_cdk_context
from infra.layers import LayerAssets, placeholder_dependency_layer, stage_toolgate_layer
from infra.stack import ToolgateStack


@dataclass
class Synthesized:
    app: cdk.App
    stack: ToolgateStack
    outdir: Path
    #: The exception synth raised (a validation plugin refusing the app), if any.
    synth_error: Exception | None


def synthesize(workdir: Path, *, nag: bool) -> Synthesized:
    layers_dir = workdir / "layers"
    assets = LayerAssets(
        dependencies=placeholder_dependency_layer(layers_dir),
        toolgate=stage_toolgate_layer(layers_dir),
        dependencies_are_placeholder=True,
    )
    outdir = workdir / "cdk.out"
    app = cdk.App(context=load_cdk_context(), outdir=str(outdir))
    stack = add_toolgate_stack(app, assets, nag=nag)
    try:
        app.synth()
    except RuntimeError as error:
        return Synthesized(app, stack, outdir, error)
    return Synthesized(app, stack, outdir, None)


def render(value: Any) -> str:
    """A CloudFormation string expression as text: `Ref X` becomes `${X}`, `GetAtt X.Arn` `${X.Arn}`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(render(part) for part in parts)
        if function == "Ref":
            return "${" + str(argument) + "}"
        if function == "Fn::GetAtt":
            return "${" + ".".join(argument) + "}"
    raise AssertionError(f"not a string expression: {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
