"""The CDK app: `npx cdk synth` runs `python -m infra.app` (see cdk.json).

Context (`-c key=value` or cdk.json):
- `toolgate:stackName` (default `Toolgate`);
- `toolgate:reservedConcurrency` (default `true`): `false` for accounts whose Lambda concurrency quota is
  too small to reserve any (new accounts may start at 10);
- `toolgate:snapStart` (default `true`): `false` publishes the request-path functions' versions and
  aliases without SnapStart (docs/deploy.md#snapstart says what it costs and why it is on);
- `toolgate:tenantIsolation` (default `false`): `true` runs the invoke and MCP functions in Lambda's tenant
  isolation mode: each tenant's tool calls run only in execution environments of its own, named by the
  authorizer's tenant. Those two functions then have no SnapStart, which Lambda refuses with it, and
  switching it replaces them (docs/deploy.md#tenant-isolation);
- `toolgate:alarms` (default `true`): `false` leaves out the CloudWatch alarms and their topic's KMS key,
  the only things billed at rest besides storage;
- `toolgate:embeddings` (default `offline`): `bedrock` runs the search function's semantic stage on
  Bedrock's Titan Text Embeddings V2 and grants it `bedrock:InvokeModel` on that model alone
  (docs/search.md#bedrock-embeddings);
- `toolgate:alarmEmail` (default none): an address subscribed to the alarm topic (SNS mails it a
  confirmation link first);
- `toolgate:tenantMaxRequestsPerSecond`, `toolgate:tenantMaxBurst`, `toolgate:tenantMaxConcurrentCalls`
  (default half of the stage's throttle and of the invoke function's reserved concurrency): the most a
  tenant's admin may set with PUT /v1/limits.

The stack is environment-agnostic (no account or region at synth, no lookups), so synth works offline and
without AWS credentials. Set `TOOLGATE_SKIP_LAYER_BUILD=1` to synth without PyPI: the dependency layers
are then empty placeholders and the synth must not be deployed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.layers import (
    DEFAULT_BUILD_ROOT,
    LOCK_FILE,
    REPO_ROOT,
    SLIM_LOCK_FILE,
    LayerAssets,
    build_dependency_layer,
    build_search_layer,
    bytecode_python,
    check_unzipped_sizes,
    placeholder_layer_assets,
    stage_toolgate_layer,
)
from infra.stack import DEFAULT_TENANT_CEILINGS, TenantCeilingsError, TenantLimitValues, ToolgateStack

DEFAULT_STACK_NAME = "Toolgate"
SKIP_LAYER_BUILD_VARIABLE = "TOOLGATE_SKIP_LAYER_BUILD"


def load_cdk_context(cdk_json: Path = REPO_ROOT / "cdk.json") -> dict[str, Any]:
    """The context (feature flags) cdk.json gives the CLI, for apps built outside it (tests)."""
    context: dict[str, Any] = json.loads(cdk_json.read_text())["context"]
    return context


def prepare_layer_assets(build_root: Path = DEFAULT_BUILD_ROOT) -> LayerAssets:
    """Build (or reuse) both dependency layers and stage the toolgate layer under `build_root`."""
    if os.environ.get(SKIP_LAYER_BUILD_VARIABLE) == "1":
        print(
            f"WARNING: {SKIP_LAYER_BUILD_VARIABLE}=1: the dependency layers are EMPTY placeholders. "
            "This synth is for tests only; do not deploy it.",
            file=sys.stderr,
        )
        return placeholder_layer_assets(build_root)
    python = bytecode_python()
    assets = LayerAssets(
        dependencies=build_dependency_layer(LOCK_FILE, build_root, python=python),
        toolgate=stage_toolgate_layer(build_root, python=python),
        slim_dependencies=build_dependency_layer(
            SLIM_LOCK_FILE, build_root, name="slim-dependencies", python=python
        ),
        search=build_search_layer(build_root=build_root, python=python),
    )
    check_unzipped_sizes(assets)
    return assets


def _context_flag(app: cdk.App, key: str, default: bool) -> bool:
    value = app.node.try_get_context(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in {"false", "0", "no", "off"}


def _tenant_ceilings(app: cdk.App) -> TenantLimitValues:
    def value(key: str, default: float, number: type[float] | type[int]) -> float:
        given = app.node.try_get_context(key)
        if given is None:
            return default
        try:
            return number(str(given).strip())
        except ValueError:
            kind = "a number" if number is float else "a whole number"
            raise TenantCeilingsError(f"{key} must be {kind}, not {given!r}.") from None

    defaults = DEFAULT_TENANT_CEILINGS
    return TenantLimitValues(
        requests_per_second=value("toolgate:tenantMaxRequestsPerSecond", defaults.requests_per_second, float),
        burst=int(value("toolgate:tenantMaxBurst", defaults.burst, int)),
        concurrent_calls=int(value("toolgate:tenantMaxConcurrentCalls", defaults.concurrent_calls, int)),
    )


def add_toolgate_stack(app: cdk.App, layer_assets: LayerAssets, *, nag: bool = True) -> ToolgateStack:
    """Add the stack to `app`, with cdk-nag's AwsSolutions pack as a validation plugin unless `nag` is off."""
    stack = ToolgateStack(
        app,
        str(app.node.try_get_context("toolgate:stackName") or DEFAULT_STACK_NAME),
        layer_assets=layer_assets,
        reserve_concurrency=_context_flag(app, "toolgate:reservedConcurrency", default=True),
        snap_start=_context_flag(app, "toolgate:snapStart", default=True),
        tenant_isolation=_context_flag(app, "toolgate:tenantIsolation", default=False),
        alarms=_context_flag(app, "toolgate:alarms", default=True),
        alarm_email=str(app.node.try_get_context("toolgate:alarmEmail") or "").strip() or None,
        tenant_ceilings=_tenant_ceilings(app),
        embeddings=str(app.node.try_get_context("toolgate:embeddings") or "offline").strip().lower(),
        description="Toolgate: OpenAPI operations as safe, typed LLM tools (management, uploads, invoke)",
    )
    cdk.Tags.of(stack).add("project", "toolgate")
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> None:
    app = cdk.App()
    add_toolgate_stack(app, prepare_layer_assets())
    app.synth()


if __name__ == "__main__":
    main()
