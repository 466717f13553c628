"""The whole service on one machine: moto's server, the real handlers in this process, and a front door.

```python
with LocalStack(Path("cdk.out/Toolgate.template.json")) as stack:
    key = stack.bootstrap_tenant("acme")
    requests.get(stack.api_url + "integrations", headers={"Authorization": f"Bearer {key}"})
```

moto's state, the routing of Lambda invocations and the handlers' settings (environment variables) are
per process, so one local stack runs per process at a time.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Collection, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import requests
import toolgate
import toolgate.settings
from moto.core.config import default_user_config
from moto.moto_server import werkzeug_app as moto_app
from moto.server import ThreadedMotoServer
from toolgate.adapters.aws.dynamodb import DynamoTenantStore
from toolgate.adapters.aws.usage_keys import ApiGatewayUsageKeys
from toolgate.errors import (
    LocalEnvironmentConflictError,
    LocalLoopbackPortError,
    LocalStackBusyError,
    LocalStackError,
)
from toolgate.service import api_keys

from toolgate_local.atomic_items import atomic_item_writes
from toolgate_local.front_door import FrontDoor, FrontDoorServer
from toolgate_local.handlers import ExecutionEnvironments, unload
from toolgate_local.intrinsics import PseudoParameters, UnresolvedReferenceError
from toolgate_local.lambda_routing import Handler, routed_invocations
from toolgate_local.moto_callbacks import early_task_results_seen
from toolgate_local.provision import LocalFunction, Provisioned, Provisioner, ResourceReport
from toolgate_local.rest_api import rest_api_model
from toolgate_local.sqs_poller import SqsPoller
from toolgate_local.template import Template

#: moto's default account: what it assigns to requests signed with any made-up credentials.
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
FAKE_ACCESS_KEY_ID = "testing"
FAKE_SECRET_ACCESS_KEY = "testing"  # noqa: S105 - moto accepts any credentials
#: Every loopback port: pinned off, so that tools never reach moto or the front door.
ALLOW_LOOPBACK_VARIABLE = "TOOLGATE_RUNTIME__ALLOW_LOOPBACK"
#: The loopback ports tools may reach: those the user named.
LOOPBACK_PORTS_VARIABLE = "TOOLGATE_RUNTIME__ALLOWED_LOOPBACK_PORTS"
#: `allow_private` admits loopback too, so the local stack pins it off as well.
ALLOW_PRIVATE_VARIABLE = "TOOLGATE_RUNTIME__ALLOW_PRIVATE"
REPOSITORY_ROOT = Path(toolgate.__file__).resolve().parents[2]
#: The stack's output naming the usage plan tenants' API Gateway usage keys go in.
USAGE_PLAN_OUTPUT = "TenantUsagePlanId"
#: Events a function without reserved concurrency runs at once (a new account's whole Lambda quota is 10).
UNRESERVED_CONCURRENCY = 10
#: Variables only the stack sets: where AWS is, its credentials, and the egress policy.
_OWNED_VARIABLES = frozenset(
    {
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "MOTO_PORT",
        ALLOW_LOOPBACK_VARIABLE,
        LOOPBACK_PORTS_VARIABLE,
        ALLOW_PRIVATE_VARIABLE,
    }
)

_process_slot = threading.Lock()


@dataclass(frozen=True)
class OutputValue:
    name: str
    value: str | None
    #: Why the output has no local value.
    missing: str | None = None


class LocalStack:
    """The service from its synthesized template, on moto, with the real handlers and an HTTP front door.

    Egress to loopback addresses (tools calling services on this machine) is refused, as in the deployed
    stack, except to the ports in `loopback_ports`. moto's and the front door's ports are refused even
    when named: through them a tool would read and write every tenant's data. `environment` adds
    variables for the handlers over the template's (faster job polling, say); the startup report lists
    what it replaced.
    """

    def __init__(
        self,
        template_path: Path | str,
        *,
        loopback_ports: Collection[int] = (),
        host: str = "127.0.0.1",
        api_port: int = 0,
        moto_port: int = 0,
        functions_dir: Path | None = None,
        region: str = DEFAULT_REGION,
        stack_name: str | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        owned = sorted(set(environment or {}) & _OWNED_VARIABLES)
        if owned:
            raise LocalStackError(
                f"The local stack sets {', '.join(owned)} itself (use loopback_ports for the egress policy)."
            )
        self.loopback_ports = _checked_loopback_ports(loopback_ports, api_port=api_port, moto_port=moto_port)
        self.template_path = Path(template_path)
        self.extra_environment = dict(environment or {})
        self.host = host
        self.region = region
        self.functions_dir = functions_dir or REPOSITORY_ROOT / "functions"
        self._api_port = api_port
        self._moto_port = moto_port
        self._stack_name = stack_name
        self._cleanup: ExitStack | None = None
        self._moto: ThreadedMotoServer | None = None
        self._front_door: FrontDoorServer | None = None
        self._provisioned: Provisioned | None = None
        self.template: Template | None = None
        #: What the stack put in this process's environment (the handlers read their settings there).
        self.environment: dict[str, str] = {}
        self.outputs: dict[str, OutputValue] = {}
        self.limitations: list[str] = []
        self._handlers: dict[str, Handler] = {}
        #: What serves the REST API; None until started, or when the template has none.
        self.front_door: FrontDoor | None = None

    # --- Lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        if not _process_slot.acquire(blocking=False):
            raise LocalStackBusyError("A local stack already runs in this process; stop it first.")
        cleanup = ExitStack()
        cleanup.callback(_process_slot.release)
        self._cleanup = cleanup
        try:
            self._start(cleanup)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving, restore the environment and moto's settings; safe to call more than once."""
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup.close()

    def _start(self, cleanup: ExitStack) -> None:
        self.environment, self.outputs, self.limitations = {}, {}, []
        template = Template.load(self.template_path, stack_name=self._stack_name)
        self.template = template
        pseudo = PseudoParameters(account_id=ACCOUNT_ID, region=self.region, stack_name=template.stack_name)

        werkzeug = logging.getLogger("werkzeug")
        cleanup.callback(werkzeug.setLevel, werkzeug.level)
        werkzeug.setLevel(logging.WARNING)
        if self._moto_port:
            # moto binds in its own thread, and a failed bind there would leave start() waiting forever.
            _require_free_port(self._moto_port)
        # moto answers CORS preflights from any origin by default: any web page could then read the
        # local secrets. Its app reads this switch when the server builds it.
        moto_switches = vars(moto_app)
        cleanup.callback(
            moto_switches.__setitem__, "DISABLE_GLOBAL_CORS", moto_switches["DISABLE_GLOBAL_CORS"]
        )
        moto_switches["DISABLE_GLOBAL_CORS"] = True
        cleanup.enter_context(atomic_item_writes())
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self._moto_port, verbose=False)
        self._moto.start()
        cleanup.callback(self._moto.stop)
        self._reset_moto()
        cleanup.callback(self._reset_moto)
        previous = dict(default_user_config.get("stepfunctions", {"execute_state_machine": False}))
        self._configure_moto({"stepfunctions": {"execute_state_machine": True}})
        cleanup.callback(self._configure_moto, {"stepfunctions": previous})

        self._front_door = FrontDoorServer(self.host, self._api_port)
        cleanup.callback(self._front_door.server_close)
        # A port picked by the system (0) may be one the user named for a service not yet started.
        _checked_loopback_ports(self.loopback_ports, api_port=self.api_port, moto_port=self.moto_port)

        provisioner = Provisioner(
            template,
            self.boto3_session(),
            endpoint_url=self.moto_url,
            pseudo=pseudo,
            functions_dir=self.functions_dir,
            api_base_url=self.api_base_url,
        )
        self._provisioned = provisioned = provisioner.run()
        self.outputs = self._resolve_outputs(template, provisioner)

        self._apply_environment(self._environment(provisioned.functions.values()), cleanup)
        _clear_settings_caches()
        cleanup.callback(_clear_settings_caches)

        handlers = self._load_handlers(provisioned.functions.values(), cleanup)
        self._handlers = handlers
        isolated = frozenset(
            function.function_name for function in provisioned.functions.values() if function.tenant_isolation
        )
        cleanup.enter_context(routed_invocations(handlers, tenant_isolated=isolated))
        cleanup.enter_context(early_task_results_seen())

        api = rest_api_model(template, provisioned.resolver)
        if api is not None:
            self.limitations.extend(api.limitations)
            door = FrontDoor(api, session=self.boto3_session(), endpoint_url=self.moto_url, pseudo=pseudo)
            self.front_door = door
            self._front_door.start(door)
            cleanup.callback(self._front_door.stop_serving)
        for source in provisioned.event_sources:
            session = self.boto3_session()
            poller = SqsPoller(
                source,
                sqs=session.client("sqs", endpoint_url=self.moto_url),
                lambda_client=session.client("lambda", endpoint_url=self.moto_url),
                region=self.region,
            )
            poller.start()
            cleanup.callback(poller.stop)

    def _reset_moto(self) -> None:
        requests.post(f"{self.moto_url}/moto-api/reset", timeout=10).raise_for_status()

    def _configure_moto(self, config: Mapping[str, Any]) -> None:
        # moto's documented switch for server mode: POST /moto-api/config.
        requests.post(f"{self.moto_url}/moto-api/config", json=config, timeout=10).raise_for_status()

    # --- Environment and handlers -------------------------------------------------------------------

    def _environment(self, functions: Iterable[LocalFunction]) -> dict[str, str]:
        merged: dict[str, str] = {}
        owners: dict[str, str] = {}
        conflicts: list[str] = []
        for function in functions:
            for name, value in function.environment.items():
                if name in merged and merged[name] != value:
                    conflicts.append(
                        f"{name} ({owners[name]}: {merged[name]!r}, {function.logical_id}: {value!r})"
                    )
                merged.setdefault(name, value)
                owners.setdefault(name, function.logical_id)
        if conflicts:
            raise LocalEnvironmentConflictError(
                "The functions run in one process and share one environment, but they set these variables "
                "to different values: " + "; ".join(conflicts),
                details={"conflicts": conflicts},
            )
        local = {**self.extra_environment, **self._local_environment()}
        for name in sorted(merged.keys() & local.keys()):
            if merged[name] != local[name]:
                self.limitations.append(
                    f"{name}: the template's {merged[name]!r} is replaced by {local[name]!r}"
                )
        return {**merged, **local}

    def _local_environment(self) -> dict[str, str]:
        return {
            **self.client_environment(),
            "AWS_REGION": self.region,
            # moto's Step Functions service integrations call moto at localhost:$MOTO_PORT.
            "MOTO_PORT": str(self.moto_port),
            "POWERTOOLS_TRACE_DISABLED": "true",
            ALLOW_LOOPBACK_VARIABLE: "false",
            LOOPBACK_PORTS_VARIABLE: json.dumps(sorted(self.loopback_ports)),
            ALLOW_PRIVATE_VARIABLE: "false",
        }

    def _apply_environment(self, environment: Mapping[str, str], cleanup: ExitStack) -> None:
        # A session token or profile of the caller's own would be sent along with the fake keys.
        removed = [
            name for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE") if name in os.environ
        ]
        previous = {name: os.environ.get(name) for name in [*environment, *removed]}
        cleanup.callback(_restore_environment, previous)
        for name in removed:
            del os.environ[name]
        os.environ.update(environment)
        self.environment = dict(environment)

    def _load_handlers(self, functions: Iterable[LocalFunction], cleanup: ExitStack) -> dict[str, Handler]:
        namespace = f"_toolgate_local_{uuid.uuid4().hex[:8]}"
        handlers: dict[str, Handler] = {}
        for function in functions:
            concurrency = function.reserved_concurrency or UNRESERVED_CONCURRENCY
            environments = ExecutionEnvironments(
                function.handler, namespace, concurrency, tenant_isolation=function.tenant_isolation
            )
            cleanup.callback(unload, environments.modules)
            handlers[function.function_name] = environments
        return handlers

    def _resolve_outputs(self, template: Template, provisioner: Provisioner) -> dict[str, OutputValue]:
        outputs: dict[str, OutputValue] = {}
        for name, output in template.outputs.items():
            try:
                value = provisioner.result.resolver.resolve_string(output.get("Value"), f"output {name}")
            except UnresolvedReferenceError as error:
                outputs[name] = OutputValue(name, None, missing=error.message)
                continue
            outputs[name] = OutputValue(name, provisioner.rewrite_api_urls(value))
        return outputs

    # --- What callers use ---------------------------------------------------------------------------

    @property
    def moto_port(self) -> int:
        if self._moto is None:
            raise RuntimeError("the local stack is not started")
        return int(self._moto.get_host_and_port()[1])

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def api_port(self) -> int:
        if self._front_door is None:
            raise RuntimeError("the local stack is not started")
        return self._front_door.port

    @property
    def api_base_url(self) -> str:
        """The front door's root: API Gateway's `https://{api}.execute-api.{region}.amazonaws.com`."""
        host = "127.0.0.1" if self.host in {"0.0.0.0", ""} else self.host  # noqa: S104 - a wildcard bind
        return f"http://{host}:{self.api_port}"

    @property
    def api_url(self) -> str:
        """The template's `ApiUrl` output served locally (`.../prod/v1/`), else the first stage's root."""
        output = self.outputs.get("ApiUrl")
        if output is not None and output.value is not None:
            return output.value
        stages = [
            report.detail for report in self.reports if report.resource_type == "AWS::ApiGateway::Stage"
        ]
        return stages[0] if stages else f"{self.api_base_url}/"

    @property
    def reports(self) -> list[ResourceReport]:
        return list(self._provisioned.reports) if self._provisioned else []

    @property
    def functions(self) -> dict[str, LocalFunction]:
        return dict(self._provisioned.functions) if self._provisioned else {}

    def output(self, name: str) -> str:
        value = self.outputs.get(name)
        if value is None or value.value is None:
            reason = value.missing if value else "the template has no such output"
            raise KeyError(f"Output {name} has no local value: {reason}")
        return value.value

    @property
    def table_name(self) -> str:
        return self.output("TableName")

    @property
    def bucket_name(self) -> str:
        return self.output("BucketName")

    @property
    def state_machine_arns(self) -> dict[str, str]:
        return {
            report.logical_id: report.detail
            for report in self.reports
            if report.resource_type == "AWS::StepFunctions::StateMachine" and report.status == "created"
        }

    def physical_id(self, logical_id: str) -> str:
        for report in self.reports:
            if report.logical_id == logical_id and report.status != "not created":
                return report.detail
        raise KeyError(f"{logical_id} is not created locally")

    def client_environment(self) -> dict[str, str]:
        """What boto3 or the AWS CLI need in their environment to talk to this stack's moto."""
        return {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": self.region,
        }

    def boto3_session(self) -> boto3.Session:
        """A session with the stack's fake credentials and region.

        Its clients reach moto through `AWS_ENDPOINT_URL`, which the stack sets in this process while it
        runs; pass `endpoint_url=stack.moto_url` to a client to be explicit.
        """
        return boto3.Session(
            aws_access_key_id=FAKE_ACCESS_KEY_ID,
            aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
            region_name=self.region,
        )

    def invocations(self, logical_id: str) -> int:
        """Events the function has run so far."""
        handler = self._handlers[self.functions[logical_id].function_name]
        return handler.events if isinstance(handler, ExecutionEnvironments) else 0

    def tenants_served(self, logical_id: str) -> list[frozenset[str | None]]:
        """The tenants each execution environment of the function has served so far."""
        handler = self._handlers[self.functions[logical_id].function_name]
        return handler.tenants_served() if isinstance(handler, ExecutionEnvironments) else []

    def bootstrap_tenant(self, tenant_id: str, principal: str = "bootstrap-admin") -> str:
        """Create a tenant and return its first admin key, as `toolgate admin bootstrap-tenant` does: its
        usage key goes in the template's usage plan (moto's API Gateway), its rows in the table."""
        session = self.boto3_session()
        table = session.resource("dynamodb", endpoint_url=self.moto_url).Table(self.table_name)
        usage_keys = ApiGatewayUsageKeys(
            session.client("apigateway", endpoint_url=self.moto_url), self.output(USAGE_PLAN_OUTPUT)
        )
        store = DynamoTenantStore(table, tenant_id)
        return api_keys.bootstrap_tenant(store, principal, usage_keys, self.table_name).key


def _checked_loopback_ports(ports: Collection[int], *, api_port: int, moto_port: int) -> frozenset[int]:
    """The named loopback ports, unless one is not a port or is the stack's own (0: not yet known)."""
    for port in ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65_535:
            raise LocalLoopbackPortError(f"{port!r} is not a TCP port (1-65535).", details={"port": port})
    own = {moto_port: "moto's port", api_port: "the front door's port"}
    for port in sorted(set(ports)):
        if port in own and port != 0:
            raise LocalLoopbackPortError(
                f"Loopback port {port} is {own[port]}: tools that reach it read and write every tenant's "
                "data, so it is never allowed. Name the ports of your own services only.",
                details={"port": port},
            )
    return frozenset(ports)


def _require_free_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise LocalStackError(f"moto cannot listen on 127.0.0.1:{port}: {error.strerror}.") from None


def _restore_environment(previous: Mapping[str, str | None]) -> None:
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _clear_settings_caches() -> None:
    """Forget settings read from the environment, so the next read sees the current one."""
    for value in vars(toolgate.settings).values():
        cache_clear = getattr(value, "cache_clear", None)
        if callable(cache_clear):
            cache_clear()
