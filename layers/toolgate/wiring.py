"""The functions' adapters, each made on first use and kept for the life of the Lambda environment: AWS
providers, the HTTP transport (its pools and OAuth2 tokens), the tool cache and the callback signer.

Each handler module makes one `Wiring` when it is imported, so a fresh import (a cold start, or the local
stack's second environment of a function) starts empty. `clear_caches()` forgets what every `Wiring`
made, for tests that change the settings in between.

Adapters are imported where they are first made: each function loads only those it uses (cold start).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple
from weakref import WeakSet

from toolgate import settings
from toolgate.service.api_keys import require_live_key

# Every request of the invoke, jobs, callback and MCP functions reads these (the callback function's from
# its first line, through `callback_receiver`), so they load with this module; the library's, MCP and search
# settings load with the modules that use them (`toolgate.settings`).
from toolgate.settings import (
    get_callback_settings,
    get_invoke_settings,
    get_job_settings,
    get_limit_settings,
    get_service_settings,
)

if TYPE_CHECKING:
    from toolgate.adapters.aws.dynamodb import DynamoApiKeyReader
    from toolgate.adapters.aws.invoke import AwsInvokeProvider
    from toolgate.adapters.aws.jobs import StepFunctionsTaskTokens
    from toolgate.adapters.aws.resources import AwsResourceProvider
    from toolgate.adapters.http import HttpTransport
    from toolgate.service.callback_ids import CallbackSigner
    from toolgate.service.catalog import CatalogCache
    from toolgate.service.invoke import AuditRecord, InvokeService, ToolCache
    from toolgate.service.jobs.callbacks import CallbackReceiver
    from toolgate.service.jobs.records import JobResources
    from toolgate.service.search import ToolSearcher
    from toolgate.service.tenancy import TenantContext

_wirings: WeakSet[Wiring] = WeakSet()


class Callbacks(NamedTuple):
    """What issuing callback URLs takes: their base URL, the signer and the state machine's task tokens."""

    base_url: str
    signer: CallbackSigner
    tokens: StepFunctionsTaskTokens


class Wiring:
    """One Lambda environment's adapters."""

    def __init__(self) -> None:
        _wirings.add(self)

    @cached_property
    def resources(self) -> AwsResourceProvider:
        """Tenants' management resources (the api and upload functions)."""
        from toolgate.adapters.aws.resources import AwsResourceProvider  # noqa: PLC0415

        return AwsResourceProvider(get_service_settings())

    @cached_property
    def invoke_resources(self) -> AwsInvokeProvider:
        """Tenants' resources for tool calls and jobs (the invoke, jobs and callback functions)."""
        from toolgate.adapters.aws.invoke import AwsInvokeProvider  # noqa: PLC0415

        return AwsInvokeProvider(
            get_service_settings(),
            get_invoke_settings(),
            jobs=get_job_settings(),
            limits=get_limit_settings(),
        )

    def job_resources(self, tenant_id: str) -> JobResources:
        from toolgate.adapters.aws.jobs import job_resources  # noqa: PLC0415

        return job_resources(self.invoke_resources.for_tenant(tenant_id))

    def invoke_service(
        self, caller: TenantContext, observer: Callable[[AuditRecord, bool], None]
    ) -> InvokeService:
        """The caller's tool-call service (the invoke and MCP functions), once its key is known to be
        unrevoked now: API Gateway's cached Allow outlives a revocation. `observer` hears of each call."""
        from toolgate.service.invoke import InvokeService  # noqa: PLC0415

        resources = self.invoke_resources.for_tenant(caller.tenant_id)
        require_live_key(resources.tenant.store, caller)
        return InvokeService(
            caller,
            resources,
            get_invoke_settings(),
            runtime=settings.get_settings().runtime,
            transport=self.transport,
            tools=self.tools,
            observer=observer,
            jobs_config=get_job_settings(),
            searcher=self.searcher,
            search_config=settings.get_search_settings(),
        )

    @cached_property
    def transport(self) -> HttpTransport:
        """One per environment: its connection pools and OAuth2 tokens (per tenant and credential) are
        reused."""
        from toolgate.adapters.http import HttpTransport  # noqa: PLC0415

        return HttpTransport(settings.get_settings().runtime)

    @cached_property
    def tools(self) -> ToolCache:
        from toolgate.service.invoke import ToolCache  # noqa: PLC0415

        return ToolCache()

    @cached_property
    def catalogs(self) -> CatalogCache:
        """Assistants' catalogs, for the MCP function's `tools/list` and the API function's tool listing."""
        from toolgate.service.catalog import CatalogCache  # noqa: PLC0415

        return CatalogCache(settings.get_mcp_settings().catalog_cache_entries)

    @cached_property
    def searcher(self) -> ToolSearcher | None:
        """The search function, for the api, invoke and MCP functions; None where the stack set none."""
        function_name = settings.get_search_settings().function_name
        return None if function_name is None else _SearchFunction(function_name)

    @cached_property
    def api_keys(self) -> DynamoApiKeyReader:
        """The authorizer's read-only access to API keys, with the function's own role."""
        from toolgate.adapters.aws.dynamodb import DynamoApiKeyReader  # noqa: PLC0415
        from toolgate.adapters.aws.session import new_session  # noqa: PLC0415

        return DynamoApiKeyReader(new_session().resource("dynamodb").Table(get_service_settings().table_name))

    @cached_property
    def callbacks(self) -> Callbacks:
        """The signing key is read from Secrets Manager once per environment."""
        from toolgate.adapters.aws.jobs import SigningKey, StepFunctionsTaskTokens  # noqa: PLC0415
        from toolgate.adapters.aws.session import new_session  # noqa: PLC0415
        from toolgate.service.callback_ids import CallbackSigner  # noqa: PLC0415

        config = get_callback_settings()
        session = new_session()
        key = SigningKey(session.client("secretsmanager"), config.signing_secret_arn)
        return Callbacks(
            base_url=config.base_url,
            signer=CallbackSigner(key.value()),
            tokens=StepFunctionsTaskTokens(session.client("stepfunctions")),
        )

    @cached_property
    def callback_receiver(self) -> CallbackReceiver:
        from toolgate.service.jobs.callbacks import CallbackReceiver  # noqa: PLC0415

        callbacks = self.callbacks
        return CallbackReceiver(callbacks.signer, self.job_resources, callbacks.tokens, get_job_settings())

    def clear(self) -> None:
        """Forget every adapter made so far; an open transport is closed first."""
        transport = self.__dict__.get("transport")
        if transport is not None:
            transport.close()
        self.__dict__.clear()


def clear_caches() -> None:
    """Forget the adapters of every `Wiring` (every handler module imported in this process)."""
    for wiring in list(_wirings):
        wiring.clear()


class _SearchFunction:
    """The deployed search function, reached on the first search: a request that searches nothing loads
    neither its adapter nor a Lambda client (the Lambda service model)."""

    def __init__(self, function_name: str) -> None:
        self._function_name = function_name

    @cached_property
    def _searcher(self) -> ToolSearcher:
        from toolgate.adapters.aws.search import LambdaToolSearcher  # noqa: PLC0415
        from toolgate.adapters.aws.session import new_session  # noqa: PLC0415

        return LambdaToolSearcher(new_session().client("lambda"), self._function_name)

    def search(self, tenant_id: str, assistant_id: str, query: str, limit: int) -> list[str]:
        return self._searcher.search(tenant_id, assistant_id, query, limit)

    def prepare(self, tenant_id: str, integration_id: str) -> None:
        self._searcher.prepare(tenant_id, integration_id)
