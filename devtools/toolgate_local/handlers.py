"""Which handler module runs each Lambda function of the template, and loading it in this process.

A function `{Title}Function` of the stack (`aws:cdk:path` `{Stack}/{Title}Function/Resource`) runs
`functions/{title}/` with the template's `Handler` (`handler.lambda_handler`). The asset `cdk synth` copied
for the function is compared with the source: if it is a copy of *another* function's handler, the mapping
is refused; if it matches no source, the source changed since the synth, which the startup output says.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from toolgate.errors import LocalHandlerMissingError
from toolgate.wiring import Wiring

from toolgate_local.lambda_routing import FunctionThrottledError, Handler

_FUNCTION_CONSTRUCT = re.compile(r"(?P<title>[A-Z][A-Za-z0-9]*)Function")
#: CDK's logical id of a top-level construct: its id and an 8-digit hash.
_LOGICAL_ID = re.compile(r"(?P<construct>.+)[0-9A-F]{8}")
_PYTHON_RUNTIME = "python"
#: Lambda keeps at most 2,500 tenant-isolated environments, busy or idle, per 1,000 of concurrency.
ISOLATED_ENVIRONMENTS_PER_CONCURRENCY = 2.5


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

    With `tenant_isolation` (Lambda's tenant isolation mode), an environment serves one tenant only
    (`context.tenant_id`): a tenant's event never runs in an environment that served another, and one
    that finds none of its own idle starts a new one. Events at once are still bounded by the reserved
    concurrency; environments, busy or idle, by Lambda's 2,500 per 1,000 of concurrency, past which the
    least recently used idle one is reclaimed. Lambda ends a reclaimed environment's process; here its
    module is forgotten and what its `wiring` made is released (the HTTP transport's pools closed).
    """

    def __init__(
        self, source: HandlerSource, namespace: str, concurrency: int, *, tenant_isolation: bool = False
    ) -> None:
        if concurrency < 1:
            raise ValueError("a function runs at least one environment")
        self.source = source
        self.concurrency = concurrency
        self.tenant_isolation = tenant_isolation
        per_concurrency = ISOLATED_ENVIRONMENTS_PER_CONCURRENCY if tenant_isolation else 1
        self.max_environments = math.ceil(concurrency * per_concurrency)
        self._namespace = namespace
        self._lock = threading.Lock()
        #: Idle environments by the tenant they serve (None: shared, or not yet used), oldest first.
        self._idle: dict[str | None, list[_Environment]] = {}
        self._busy = 0
        self._used = 0
        self._all: list[_Environment] = []
        #: Names of the module copies, for `unload`.
        self.modules: list[str] = []
        #: Events run so far: what reached the function.
        self.events = 0
        # The first environment starts at once, so that a handler that cannot load stops the stack.
        self._started = 1
        self._idle[None] = [self._load()]

    def __call__(self, event: Any, context: Any) -> Any:
        tenant = self._tenant_of(context)
        environment = self._take(tenant)
        with self._lock:
            self.events += 1
        environment.tenants.add(tenant)
        try:
            return environment.handler(event, context)
        finally:
            with self._lock:
                self._busy -= 1
                self._used += 1
                environment.last_used = self._used
                self._idle.setdefault(tenant, []).append(environment)

    def tenants_served(self) -> list[frozenset[str | None]]:
        """The tenants each environment started so far has served (None: events with no tenant)."""
        with self._lock:
            return [frozenset(environment.tenants) for environment in self._all]

    def _tenant_of(self, context: Any) -> str | None:
        if not self.tenant_isolation:
            return None
        tenant = getattr(context, "tenant_id", None)
        if not isinstance(tenant, str) or not tenant:
            raise RuntimeError(f"{self.source.name} is tenant-isolated, and this event names no tenant")
        return tenant

    def _take(self, tenant: str | None) -> _Environment:
        with self._lock:
            if self._busy >= self.concurrency:
                raise FunctionThrottledError(
                    f"{self.concurrency} events of {self.source.name} already run, its reserved concurrency"
                )
            own = self._idle.get(tenant)
            fresh = self._idle.get(None) if tenant is not None else None
            if own:
                self._busy += 1
                return own.pop()
            if fresh:  # an environment that has served no event yet belongs to no tenant
                self._busy += 1
                return fresh.pop()
            reclaimed = self._reclaim_idle() if self._started >= self.max_environments else None
            self._started += 1
            self._busy += 1
        if reclaimed is not None:
            reclaimed.release()
        try:
            return self._load()
        except BaseException:
            with self._lock:
                self._started -= 1
                self._busy -= 1
            raise

    def _reclaim_idle(self) -> _Environment:
        """Unload the least recently used idle environment (called with the lock held); the caller releases
        it once the lock is free."""
        pools = [pool for pool in self._idle.values() if pool]
        if not pools:
            raise FunctionThrottledError(f"every execution environment of {self.source.name} is busy")
        oldest_pool = min(pools, key=lambda pool: pool[0].last_used)
        environment = oldest_pool.pop(0)
        self._started -= 1
        sys.modules.pop(environment.module_name, None)
        self.modules.remove(environment.module_name)
        self._all.remove(environment)
        return environment

    def _load(self) -> _Environment:
        handler, module = load_handler(self.source, f"{self._namespace}_{uuid.uuid4().hex[:8]}")
        environment = _Environment(handler, module)
        with self._lock:
            self.modules.append(module.__name__)
            self._all.append(environment)
        return environment


@dataclass(eq=False)
class _Environment:
    handler: Handler
    module: ModuleType
    #: The tenants whose events it ran.
    tenants: set[str | None] = field(default_factory=set)
    #: When it last finished an event (a count of events finished by the function's environments).
    last_used: int = 0

    @property
    def module_name(self) -> str:
        return self.module.__name__

    def release(self) -> None:
        """Release what the handler module's adapters hold, as the end of Lambda's process would."""
        wiring = getattr(self.module, "wiring", None)
        if isinstance(wiring, Wiring):
            wiring.clear()


def unload(module_names: Iterable[str]) -> None:
    """Forget modules `load_handler` imported."""
    for name in module_names:
        sys.modules.pop(name, None)
