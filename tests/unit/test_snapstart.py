"""SnapStart hooks: the snapshot holds what every request needs (modules, built models, AWS service models),
and environments restored from it share no adapters, tokens, pools or random sequence. The hooks are run as
Lambda's runtime runs them, from `snapshot_restore_py`'s registry."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from typing import Any

import pytest
import snapshot_restore_py
from toolgate.adapters.aws.snapstart import register_restore_hooks, reset_after_restore
from toolgate.adapters.http import HttpTransport
from toolgate.wiring import Wiring

REQUEST_PATH_HANDLERS = ("authorizer", "invoke", "mcp", "jobs", "callback")


def _restore() -> None:
    """What Lambda's runtime does after restoring a snapshot: run every registered hook, in order."""
    for hook, args, kwargs in snapshot_restore_py.get_after_restore():
        hook(*args, **kwargs)


@pytest.mark.parametrize("function", REQUEST_PATH_HANDLERS)
def test_each_request_path_handler_registers_the_reset_when_imported(function: str) -> None:
    code = (
        f"import functions.{function}.handler, snapshot_restore_py;"
        "hooks = snapshot_restore_py.get_after_restore();"
        "print([f'{hook.__module__}.{hook.__name__}' for hook, _, _ in hooks])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "['toolgate.adapters.aws.snapstart.reset_after_restore']"


#: Run in a fresh interpreter after `import functions.<name>.handler`: Lambda's runtime running the
#: before-snapshot hooks (last registered first), with botocore unable to read credentials, then what the
#: snapshot would hold.
_SNAPSHOT_PROBE = """
import json, sys
import botocore.credentials, snapshot_restore_py
from pydantic import BaseModel
from toolgate.adapters.aws.session import _shared_loader

def no_credentials(*args, **kwargs):
    raise AssertionError("priming must read no credentials")

botocore.credentials.create_credential_resolver = no_credentials

def toolgate_models():
    return {
        f"{name}.{value.__name__}": value
        for name, module in list(sys.modules.items())
        if module is not None and name.startswith("toolgate.")
        for value in list(vars(module).values())
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == name
    }

unbuilt_before = sorted(name for name, model in toolgate_models().items() if not model.__pydantic_complete__)
modules_before = set(sys.modules)
hooks = snapshot_restore_py.get_before_snapshot()
for hook, args, kwargs in reversed(hooks):
    hook(*args, **kwargs)
print(json.dumps({
    "hooks": [f"{hook.__module__}.{hook.__name__}" for hook, _, _ in hooks],
    "args": [list(map(list, args)) for _, args, _ in hooks],
    "unbuilt_before": unbuilt_before,
    "unbuilt_after": sorted(n for n, model in toolgate_models().items() if not model.__pydantic_complete__),
    "imported": sorted(set(sys.modules) - modules_before),
    "named_and_loaded": [name for _, (names, _), _ in hooks for name in names if name in sys.modules],
    "loaded_models": sorted({key[1] for key in _shared_loader()._cache if key[0] == "load_data_with_path"}),
    "adapters": sorted(vars(sys.modules["functions.HANDLER.handler"].wiring)),
}))
"""


def _snapshot_of(function: str) -> dict[str, Any]:
    code = f"import functions.{function}.handler\n" + _SNAPSHOT_PROBE.replace("HANDLER", function)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    snapshot: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return snapshot


@pytest.mark.parametrize("function", REQUEST_PATH_HANDLERS)
def test_the_snapshot_holds_built_models_and_the_modules_every_request_loads_so_no_restore_pays_again(
    function: str,
) -> None:
    snapshot = _snapshot_of(function)
    assert snapshot["hooks"] == ["toolgate.adapters.aws.snapstart.prime_for_snapshot"]
    modules, services = snapshot["args"][0]
    # The control: the handler defers its models (and these modules) to its first request...
    assert snapshot["unbuilt_before"]
    # ...and the hook does that work before the snapshot, reading no credentials and making no client.
    assert snapshot["unbuilt_after"] == []
    assert modules
    assert snapshot["named_and_loaded"] == modules
    for service in services:
        assert any(
            path.startswith(f"{service}/") and path.endswith("/service-2")
            for path in snapshot["loaded_models"]
        )
    # Nothing the restore hook would drop: no adapter, session or client was made.
    assert snapshot["adapters"] == []


def test_the_invoke_snapshot_holds_its_settings_and_request_models_built() -> None:
    snapshot = _snapshot_of("invoke")
    for model in ("toolgate.settings.calls.InvokeSettings", "toolgate.service.models.IntegrationRecord"):
        assert model in snapshot["unbuilt_before"]
        assert model not in snapshot["unbuilt_after"]
    assert "toolgate.adapters.http" in snapshot["imported"]
    assert "dynamodb/2012-08-10/resources-1" in snapshot["loaded_models"]


def test_a_restored_environment_drops_the_snapshots_pools_tokens_and_caches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[HttpTransport] = []

    def close(transport: HttpTransport) -> None:
        closed.append(transport)

    monkeypatch.setattr(HttpTransport, "close", close)
    assert register_restore_hooks()
    environment = Wiring()
    # Made during init, so captured in the snapshot: pools, OAuth2 tokens and breakers; the tool cache.
    transport, tools = environment.transport, environment.tools

    _restore()

    assert closed == [transport]
    assert environment.transport is not transport
    assert environment.tools is not tools


def test_registering_twice_runs_the_reset_once_per_restore() -> None:
    assert register_restore_hooks()
    assert register_restore_hooks()
    hooks = [hook for hook, _, _ in snapshot_restore_py.get_after_restore()]
    assert hooks.count(reset_after_restore) == 1


def test_environments_restored_from_one_snapshot_draw_different_random_numbers() -> None:
    """Retry jitter comes from `random`: without a reseed, every restored environment would back off in
    step with its siblings."""
    random.seed(1234)
    snapshot = random.getstate()
    draws = []
    for _ in range(2):
        random.setstate(snapshot)  # a new environment, restored from the same memory
        reset_after_restore()
        draws.append([random.random() for _ in range(4)])
    assert draws[0] != draws[1]
    # The control: without the reset, the two environments draw the same numbers.
    random.setstate(snapshot)
    first = [random.random() for _ in range(4)]
    random.setstate(snapshot)
    assert [random.random() for _ in range(4)] == first


def test_without_lambdas_runtime_library_registering_is_a_harmless_no_op(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    assert register_restore_hooks() is False
