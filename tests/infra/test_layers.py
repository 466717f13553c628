"""Layer contents without Docker: the dependency layer's pip build and its cache, and the toolgate layer."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from infra.app import SKIP_LAYER_BUILD_VARIABLE, prepare_layer_assets
from infra.layers import (
    LAMBDA_PYTHON_VERSION,
    LOCK_FILE,
    REPO_ROOT,
    SEARCH_LOCK_FILE,
    LayerBuildError,
    build_dependency_layer,
    dependency_cache_key,
    pip_install_command,
    run_pip,
    runtime_requirements,
    stage_toolgate_layer,
)

#: The Lambda Python runtime ships these; everything else the code imports must come from the layer.
LAMBDA_RUNTIME_MODULES = {"boto3", "botocore"}


class _RuntimeImports(ast.NodeVisitor):
    """Top-level names of absolute imports, leaving out those made only for type checking."""

    def __init__(self) -> None:
        self.modules: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            for statement in node.orelse:
                self.visit(statement)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.modules.update(alias.name.partition(".")[0] for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.modules.add(node.module.partition(".")[0])


def _distribution_key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_closure(requirements: Iterable[str]) -> set[str]:
    """The requirements and everything they pull in (their extras aside), as installed here."""
    pending = [re.split(r"[\s\[;=<>!~]", requirement, maxsplit=1)[0] for requirement in requirements]
    seen: set[str] = set()
    while pending:
        name = _distribution_key(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        for requirement in importlib.metadata.requires(name) or []:
            if "extra ==" not in requirement:
                pending.append(re.split(r"[\s\[;=<>!~(]", requirement, maxsplit=1)[0])
    return seen


def test_the_layers_provide_every_module_the_functions_import() -> None:
    collector = _RuntimeImports()
    package = REPO_ROOT / "layers" / "toolgate"
    sources = [*(REPO_ROOT / "functions").rglob("*.py"), *package.rglob("*.py")]
    for source in sources:
        collector.visit(ast.parse(source.read_text(), filename=str(source)))
    third_party = {
        module
        for module in collector.modules
        if module not in sys.stdlib_module_names and module not in {"__future__", "toolgate", "functions"}
    }
    distributions = importlib.metadata.packages_distributions()
    # toolgate.search's runtime ships in the search function's layer (the next tests check it holds them).
    shipped = _installed_closure(runtime_requirements()) | set(_locked_pins(SEARCH_LOCK_FILE))
    missing = {
        module
        for module in third_party - LAMBDA_RUNTIME_MODULES
        if not {_distribution_key(d) for d in distributions.get(module, [module])} & shipped
    }
    assert not missing, f"imported at run time but not in [project].dependencies: {sorted(missing)}"


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


def _lock(folder: Path, text: str) -> Path:
    lock = folder / f"requirements-{dependency_cache_key(text)}.lock"
    lock.write_text(text)
    return lock


def _locked_pins(lock: Path) -> dict[str, tuple[str, int]]:
    """Each package of a lock file: its version and how many hashes it carries."""
    pins: dict[str, tuple[str, int]] = {}
    name = ""
    for line in lock.read_text().splitlines():
        requirement = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if requirement:
            name = _distribution_key(requirement.group(1))
            pins[name] = (requirement.group(2), 0)
        elif "--hash=sha256:" in line and name:
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def test_the_lock_pins_every_runtime_dependency_at_pyprojects_version_with_hashes() -> None:
    pins = _locked_pins(LOCK_FILE)
    for requirement in runtime_requirements():
        name, _, version = re.sub(r"\[.*?\]", "", requirement).partition("==")
        assert pins.get(_distribution_key(name), ("missing", 0))[0] == version, requirement
    assert all(hashes > 0 for _, hashes in pins.values()), "every locked package carries its hashes"
    # The lock closes over everything the runtime dependencies need: nothing is resolved at deploy time.
    assert set(pins) >= {_distribution_key(name) for name in _installed_closure(runtime_requirements())}


def test_pip_installs_lambda_platform_wheels_only(tmp_path: Path) -> None:
    lock = _lock(tmp_path, "pydantic==2.14.3 --hash=sha256:00\n")
    command = pip_install_command(lock, tmp_path / "python")
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--only-binary=:all:" in command
    platforms = [command[i + 1] for i, flag in enumerate(command) if flag == "--platform"]
    assert platforms
    assert all(platform.endswith("_aarch64") for platform in platforms)
    assert command[command.index("--python-version") + 1] == LAMBDA_PYTHON_VERSION
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[command.index("--target") + 1] == str(tmp_path / "python")
    # Exactly the locked bytes: hashes required, nothing resolved beyond the lock.
    assert {"--require-hashes", "--no-deps"} <= set(command)
    assert command[command.index("--requirement") + 1] == str(lock)


def test_cache_key_changes_with_any_pin_but_not_with_order() -> None:
    base = dependency_cache_key("a==1 --hash=sha256:aa\nb==2 --hash=sha256:bb\n")
    assert dependency_cache_key("a==1 --hash=sha256:aa\nb==2 --hash=sha256:bb\n") == base
    assert dependency_cache_key("a==1 --hash=sha256:aa\nb==3 --hash=sha256:bb\n") != base
    # A changed hash (the same version rebuilt) is a different layer too.
    assert dependency_cache_key("a==1 --hash=sha256:ab\nb==2 --hash=sha256:bb\n") != base
    assert dependency_cache_key("a==1 --hash=sha256:aa\n") != base


def test_an_unchanged_dependency_list_is_built_once(tmp_path: Path) -> None:
    pip = FakePip()
    first = build_dependency_layer(_lock(tmp_path, "a==1\n"), tmp_path, runner=pip)
    second = build_dependency_layer(_lock(tmp_path, "a==1\n"), tmp_path, runner=pip)
    assert first == second
    assert len(pip.commands) == 1
    assert (first / "python" / "fake_dependency" / "__init__.py").is_file()
    # Console scripts and the build machine's bytecode do not belong in a Lambda layer.
    assert not (first / "python" / "bin").exists()
    assert not list(first.rglob("__pycache__"))


def test_a_changed_dependency_list_is_rebuilt_and_the_old_build_removed(tmp_path: Path) -> None:
    pip = FakePip()
    old = build_dependency_layer(_lock(tmp_path, "a==1\n"), tmp_path, runner=pip)
    new = build_dependency_layer(_lock(tmp_path, "a==2\n"), tmp_path, runner=pip)
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
        build_dependency_layer(_lock(tmp_path, "a==1\n"), tmp_path, runner=failing_pip)
    pip = FakePip()
    layer = build_dependency_layer(_lock(tmp_path, "a==1\n"), tmp_path, runner=pip)
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


def test_local_only_packages_stay_out_of_the_toolgate_layer(tmp_path: Path) -> None:
    layer = stage_toolgate_layer(tmp_path)

    staged = layer / "python" / "toolgate"
    assert {"runtime", "service", "spec"} <= {path.name for path in staged.iterdir()}
    developer_only = {"moto", "toolgate_cli", "toolgate_local", "toolgate_demo"}
    for source in staged.rglob("*.py"):
        collector = _RuntimeImports()
        collector.visit(ast.parse(source.read_text(), filename=str(source)))
        assert collector.modules.isdisjoint(developer_only), source


# --- The search function's layer (issue 15, slice wire) --------------------------------------------

_SEARCH_IMPORTS = """
import os, sys
os.environ.update({"TOOLGATE_TABLE_NAME": "t", "TOOLGATE_BUCKET_NAME": "b", "TOOLGATE_TENANT_ROLE_ARN": "r",
                   "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"})
import functions.search.handler as handler
import toolgate.adapters.aws.resources, toolgate.search.semantic
handler.indexes
print("\\n".join(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def test_the_search_lock_provides_every_module_the_search_function_imports_and_no_huggingface_hub() -> None:
    import subprocess

    imported = subprocess.run(
        [sys.executable, "-c", _SEARCH_IMPORTS],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={"PYTHONPATH": f"{REPO_ROOT / 'layers'}:{REPO_ROOT}", "PATH": "/usr/bin:/bin"},
    ).stdout.split()
    third_party = {
        name
        for name in imported
        if name not in sys.stdlib_module_names
        and not name.startswith("_")
        and name not in {"toolgate", "functions"}
    }
    distributions = importlib.metadata.packages_distributions()
    pins = _locked_pins(SEARCH_LOCK_FILE)
    missing = {
        module
        for module in third_party
        if not {_distribution_key(d) for d in distributions.get(module, [module])} & set(pins)
    }
    assert third_party >= {"onnxruntime", "numpy", "tokenizers", "pydantic"}
    assert not missing, f"the search function imports these, its layer lacks them: {sorted(missing)}"
    assert "huggingface-hub" not in pins
    assert all(hashes > 0 for _, hashes in pins.values()), "every locked package carries its hashes"


def test_the_search_lock_pins_what_the_runtime_lock_and_the_search_extra_pin_alike() -> None:
    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        extra = tomllib.load(handle)["project"]["optional-dependencies"]["search"]
    search, runtime = _locked_pins(SEARCH_LOCK_FILE), _locked_pins(LOCK_FILE)
    for requirement in extra:
        name, _, version = requirement.partition("==")
        assert search[_distribution_key(name)][0] == version, requirement
    shared = set(search) & set(runtime)
    assert {name: search[name][0] for name in shared} == {name: runtime[name][0] for name in shared}
