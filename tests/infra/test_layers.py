"""Layer contents without Docker: the dependency layer's pip build and its cache, and the toolgate layer."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

from infra.app import SKIP_LAYER_BUILD_VARIABLE, prepare_layer_assets
from infra.layers import (
    LAMBDA_PYTHON_VERSION,
    REPO_ROOT,
    LayerBuildError,
    build_dependency_layer,
    dependency_cache_key,
    pip_install_command,
    run_pip,
    runtime_requirements,
    stage_toolgate_layer,
)


class FakePip:
    """Stands in for pip: records each command and installs one module into the --target folder."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str]) -> None:
        self.commands.append(list(command))
        target = Path(command[command.index("--target") + 1])
        (target / "fake_dependency").mkdir(parents=True)
        (target / "fake_dependency" / "__init__.py").write_text("")
        (target / "fake_dependency" / "__pycache__").mkdir()
        (target / "bin").mkdir()
        (target / "bin" / "console-script").write_text("#!/usr/bin/python3.11\n")


def test_runtime_requirements_are_the_projects_own_dependency_list() -> None:
    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        declared = tomllib.load(handle)["project"]["dependencies"]
    assert runtime_requirements() == declared
    assert declared


def test_runtime_requirements_follow_an_edited_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["pydantic==2.14.3", "PyYAML==6.0.3"]\n')
    assert runtime_requirements(pyproject) == ["pydantic==2.14.3", "PyYAML==6.0.3"]


def test_pip_installs_lambda_platform_wheels_only(tmp_path: Path) -> None:
    command = pip_install_command(["pydantic==2.14.3"], tmp_path / "python")
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--only-binary=:all:" in command
    platforms = [command[i + 1] for i, flag in enumerate(command) if flag == "--platform"]
    assert platforms
    assert all(platform.endswith("_aarch64") for platform in platforms)
    assert command[command.index("--python-version") + 1] == LAMBDA_PYTHON_VERSION
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[command.index("--target") + 1] == str(tmp_path / "python")
    assert command[-1] == "pydantic==2.14.3"


def test_cache_key_changes_with_any_pin_but_not_with_order() -> None:
    base = dependency_cache_key(["a==1", "b==2"])
    assert dependency_cache_key(["b==2", "a==1"]) == base
    assert dependency_cache_key(["a==1", "b==3"]) != base
    assert dependency_cache_key(["a==1"]) != base


def test_an_unchanged_dependency_list_is_built_once(tmp_path: Path) -> None:
    pip = FakePip()
    first = build_dependency_layer(["a==1"], tmp_path, runner=pip)
    second = build_dependency_layer(["a==1"], tmp_path, runner=pip)
    assert first == second
    assert len(pip.commands) == 1
    assert (first / "python" / "fake_dependency" / "__init__.py").is_file()
    # Console scripts and the build machine's bytecode do not belong in a Lambda layer.
    assert not (first / "python" / "bin").exists()
    assert not list(first.rglob("__pycache__"))


def test_a_changed_dependency_list_is_rebuilt_and_the_old_build_removed(tmp_path: Path) -> None:
    pip = FakePip()
    old = build_dependency_layer(["a==1"], tmp_path, runner=pip)
    new = build_dependency_layer(["a==2"], tmp_path, runner=pip)
    assert new != old
    assert len(pip.commands) == 2
    assert not old.exists()


def test_a_failed_pip_run_leaves_no_layer_to_reuse(tmp_path: Path) -> None:
    def failing_pip(command: Sequence[str]) -> None:
        target = Path(command[command.index("--target") + 1])
        target.mkdir(parents=True)
        (target / "half_installed").write_text("")
        raise LayerBuildError("no wheel for the platform")

    with pytest.raises(LayerBuildError):
        build_dependency_layer(["a==1"], tmp_path, runner=failing_pip)
    pip = FakePip()
    layer = build_dependency_layer(["a==1"], tmp_path, runner=pip)
    assert len(pip.commands) == 1
    assert not (layer / "python" / "half_installed").exists()


def test_pip_failure_is_reported_with_pips_own_message() -> None:
    command = [sys.executable, "-c", "import sys; sys.stderr.write('No matching distribution'); sys.exit(1)"]
    with pytest.raises(LayerBuildError, match="No matching distribution"):
        run_pip(command)


def test_toolgate_layer_holds_the_package_under_python_without_bytecode(tmp_path: Path) -> None:
    source = tmp_path / "src" / "toolgate"
    (source / "spec" / "__pycache__").mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "spec" / "compiler.py").write_text("")
    (source / "spec" / "__pycache__" / "compiler.cpython-311.pyc").write_bytes(b"")
    layer = stage_toolgate_layer(tmp_path / "build", source)
    assert (layer / "python" / "toolgate" / "spec" / "compiler.py").is_file()
    assert not list(layer.rglob("__pycache__"))
    (source / "spec" / "compiler.py").unlink()
    # Restaged from scratch: a file deleted from the source does not linger in the layer.
    layer = stage_toolgate_layer(tmp_path / "build", source)
    assert not (layer / "python" / "toolgate" / "spec" / "compiler.py").exists()


def test_skipping_the_build_yields_a_placeholder_marked_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SKIP_LAYER_BUILD_VARIABLE, "1")
    assets = prepare_layer_assets(tmp_path)
    assert assets.dependencies_are_placeholder
    assert (assets.dependencies / "python").is_dir()
    assert (assets.toolgate / "python" / "toolgate" / "__init__.py").is_file()
    assert "do not deploy" in capsys.readouterr().err
