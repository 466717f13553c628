"""SnapStart restore hooks: environments restored from one snapshot share no adapters, tokens, pools or
random sequence. The hooks are run as Lambda's runtime runs them, from `snapshot_restore_py`'s registry."""

from __future__ import annotations

import random
import subprocess
import sys

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
