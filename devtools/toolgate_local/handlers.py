"""Which handler module runs each Lambda function of the template, and loading it in this process.

A function `{Title}Function` of the stack (`aws:cdk:path` `{Stack}/{Title}Function/Resource`) runs
`functions/{title}/` with the template's `Handler` (`handler.lambda_handler`). The asset `cdk synth` copied
for the function is compared with the source: if it is a copy of *another* function's handler, the mapping
is refused; if it matches no source, the source changed since the synth, which the startup output says.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from toolgate.errors import LocalHandlerMissingError

from toolgate_local.lambda_routing import FunctionThrottledError, Handler

_FUNCTION_CONSTRUCT = re.compile(r"(?P<title>[A-Z][A-Za-z0-9]*)Function")
#: CDK's logical id of a top-level construct: its id and an 8-digit hash.
_LOGICAL_ID = re.compile(r"(?P<construct>.+)[0-9A-F]{8}")
_PYTHON_RUNTIME = "python"


@dataclass(frozen=True)
class HandlerSource:
    logical_id: str
    #: The folder under `functions/`.
    name: str
    path: Path
    attribute: str
    #: Set when the template's copy of the code differs from the source (the template is older).
    note: str | None = None


def handler_source(
    logical_id: str,
    properties: Mapping[str, Any],
    metadata: Mapping[str, Any],
    *,
    functions_dir: Path,
    assets_dir: Path,
) -> HandlerSource:
    """The handler module and function of the Lambda function `logical_id`, or a loud refusal."""
    runtime = str(properties.get("Runtime", ""))
    if not runtime.startswith(_PYTHON_RUNTIME):
        raise LocalHandlerMissingError(
            f"Function {logical_id} runs {runtime or 'a container image'}; only Python handlers run locally."
        )
    name = _function_folder(logical_id, metadata)
    module, _, attribute = str(properties.get("Handler", "")).rpartition(".")
    if not module or not attribute:
        raise LocalHandlerMissingError(f"Function {logical_id} has no Handler of the form module.function.")
    relative = Path(*module.split(".")).with_suffix(".py")
    path = functions_dir / name / relative
    if not path.is_file():
        raise LocalHandlerMissingError(
            f"Function {logical_id} has no handler: {path} does not exist (functions/{{name}}/ is looked "
            f"up from the construct id {name.capitalize()}Function)."
        )
    note = _compare_with_asset(
        logical_id,
        path,
        relative=relative,
        metadata=metadata,
        functions_dir=functions_dir,
        assets_dir=assets_dir,
    )
    return HandlerSource(logical_id=logical_id, name=name, path=path, attribute=attribute, note=note)


def _function_folder(logical_id: str, metadata: Mapping[str, Any]) -> str:
    construct_path = metadata.get("aws:cdk:path")
    if isinstance(construct_path, str) and construct_path.endswith("/Resource"):
        construct_id = construct_path.split("/")[-2]
    else:
        match = _LOGICAL_ID.fullmatch(logical_id)
        construct_id = match.group("construct") if match else logical_id
    function = _FUNCTION_CONSTRUCT.fullmatch(construct_id)
    if function is None:
        raise LocalHandlerMissingError(
            f"Function {logical_id} (construct {construct_id}) is not named {{Title}}Function, so no "
            "functions/{title}/ folder can be told for it."
        )
    return function.group("title").lower()


def _compare_with_asset(
    logical_id: str,
    path: Path,
    *,
    relative: Path,
    metadata: Mapping[str, Any],
    functions_dir: Path,
    assets_dir: Path,
) -> str | None:
    asset = metadata.get("aws:asset:path")
    if not isinstance(asset, str) or not (assets_dir / asset / relative).is_file():
        return None
    packaged = (assets_dir / asset / relative).read_bytes()
    if packaged == path.read_bytes():
        return None
    for other in sorted(functions_dir.glob(f"*/{relative}")):
        if other != path and other.read_bytes() == packaged:
            raise LocalHandlerMissingError(
                f"Function {logical_id} would run {path}, but the template packaged {other} for it: the "
                "construct id and the code disagree."
            )
    return f"{path.relative_to(functions_dir.parent)} changed since the template was synthesized"


def load_handler(source: HandlerSource, namespace: str) -> tuple[Handler, ModuleType]:
    """Import the handler module afresh (its caches start empty) as `{namespace}.{name}`."""
    module_name = f"{namespace}.{source.name}"
    spec = importlib.util.spec_from_file_location(module_name, source.path)
    if spec is None or spec.loader is None:
        raise LocalHandlerMissingError(f"{source.path} cannot be imported.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    handler = getattr(module, source.attribute, None)
    if not callable(handler):
        del sys.modules[module_name]
        raise LocalHandlerMissingError(f"{source.path} has no function {source.attribute}.")
    return handler, module


class ExecutionEnvironments:
    """A function's execution environments, kept as Lambda keeps them.

    Each environment runs one event at a time with its own copy of the handler module: the handlers keep
    per-request state and caches in module globals (the Powertools resolver's current event, clients,
    the tenant's limiter), so two events at once in one module would see each other's. When every
    environment is busy a new one starts (a cold start: the module is imported again), up to the
    function's reserved concurrency; past that, the invocation is throttled (`FunctionThrottledError`).
    """

    def __init__(self, source: HandlerSource, namespace: str, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("a function runs at least one environment")
        self.source = source
        self.concurrency = concurrency
        self._namespace = namespace
        self._lock = threading.Lock()
        self._idle: list[Handler] = []
        #: Names of the module copies, for `unload`.
        self.modules: list[str] = []
        # The first environment starts at once, so that a handler that cannot load stops the stack.
        self._started = 1
        self._idle.append(self._load())
        #: Events run so far: what reached the function.
        self.events = 0

    def __call__(self, event: Any, context: Any) -> Any:
        handler = self._take()
        with self._lock:
            self.events += 1
        try:
            return handler(event, context)
        finally:
            with self._lock:
                self._idle.append(handler)

    def _take(self) -> Handler:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self._started >= self.concurrency:
                raise FunctionThrottledError(
                    f"all {self.concurrency} execution environments of {self.source.name} are busy"
                )
            self._started += 1
        try:
            return self._load()
        except BaseException:
            with self._lock:
                self._started -= 1
            raise

    def _load(self) -> Handler:
        handler, module = load_handler(self.source, f"{self._namespace}_{uuid.uuid4().hex[:8]}")
        with self._lock:
            self.modules.append(module.__name__)
        return handler


def unload(module_names: Iterable[str]) -> None:
    """Forget modules `load_handler` imported."""
    for name in module_names:
        sys.modules.pop(name, None)
