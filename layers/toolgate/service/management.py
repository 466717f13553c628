"""The management API's operations, one method per route, for one verified caller.

Every method checks the caller's role first and works only through the caller's tenant resources, so an
id from another tenant is simply not found.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from toolgate.errors import (
    AlreadyExistsError,
    ApiKeyRevokedError,
    ConflictError,
    NotFoundError,
    SearchUnavailableError,
    StoreUnavailableError,
)
from toolgate.service.api_keys import create_api_key, require_live_key, revoke_api_key
from toolgate.service.catalog import CatalogCache, assistant_catalog
from toolgate.service.ingest import (
    IngestOutcome,
    SpecUpload,
    check_credential_token_urls,
    check_server_setting,
    ingest_spec,
    stored_upload,
)
from toolgate.service.layout import artifact_prefix, upload_key
from toolgate.service.limits import LimitCeilings, LimitsRecord, TenantLimits
from toolgate.service.models import (
    AssistantRecord,
    CredentialBinding,
    IntegrationRecord,
    IntegrationSettings,
    UploadSource,
    utc_now,
)
from toolgate.service.ports import LimiterStore, TenantResources
from toolgate.service.search import (
    ToolSearcher,
    assistant_index_prefix,
    checked_limit,
    checked_query,
    listed_tools,
)
from toolgate.service.tenancy import Role, TenantContext, check_resource_id
from toolgate.service.views import (
    ApiKeyCreate,
    ApiKeyList,
    ApiKeyView,
    AssistantCreate,
    AssistantList,
    AssistantTools,
    AssistantUpdate,
    AssistantView,
    CredentialView,
    IntegrationCreate,
    IntegrationList,
    IntegrationReport,
    IntegrationStatusView,
    IntegrationView,
    IssuedKeyView,
    LimitsView,
    ToolFormat,
    UploadFormat,
    UploadUrl,
)
from toolgate.settings import (
    CatalogSettings,
    LimitSettings,
    SearchSettings,
    ServiceSettings,
    get_catalog_settings,
)
from toolgate.spec.models import CanonicalTool

_ZIP_MAGIC = b"PK\x03\x04"


class ManagementService:
    def __init__(
        self,
        context: TenantContext,
        resources: TenantResources,
        config: ServiceSettings,
        *,
        ingest_observer: Callable[[IngestOutcome, str], None] | None = None,
        limit_settings: LimitSettings | None = None,
        catalog_settings: CatalogSettings | None = None,
        catalogs: CatalogCache | None = None,
        searcher: ToolSearcher | None = None,
        search_settings: SearchSettings | None = None,
    ) -> None:
        if resources.tenant_id != context.tenant_id:
            raise ValueError("the resources are not the caller's tenant's")
        self.context = context
        self.resources = resources
        self.store = resources.store
        self.config = config
        #: Told of every ingest (outcome, integration id): the handler's logs and metrics.
        self.ingest_observer = ingest_observer
        self.limit_settings = limit_settings or LimitSettings()
        self.catalog_settings = catalog_settings or get_catalog_settings()
        #: A warm function's catalogs, so the pages of a big listing read the tools once.
        self.catalogs = catalogs
        #: Tool search (`toolgate.service.search`); None: this deployment serves none.
        self.searcher = searcher
        self.search_settings = search_settings or SearchSettings()

    # --- API keys -------------------------------------------------------------------------

    def create_api_key(self, body: ApiKeyCreate) -> IssuedKeyView:
        """Issue a key. It is handed out only if the caller's own key is still unrevoked once the new key
        is stored, so a key listed after a revocation is every key the revoked key ever got out."""
        self.context.require_admin()
        issued = create_api_key(self.store, body.role, body.principal)
        if self.context.key_id is not None:
            try:
                require_live_key(self.store, self.context)
            except ApiKeyRevokedError:
                revoke_api_key(self.store, issued.record.key_id)
                raise
        return IssuedKeyView(key=issued.key, api_key=ApiKeyView.of(issued.record))

    def list_api_keys(self) -> ApiKeyList:
        self.context.require_admin()
        return ApiKeyList(api_keys=[ApiKeyView.of(record) for record in self.store.list_api_keys()])

    def revoke_api_key(self, key_id: str) -> ApiKeyView:
        self.context.require_admin()
        return ApiKeyView.of(revoke_api_key(self.store, key_id))

    # --- Integrations ---------------------------------------------------------------------

    def create_integration(self, body: IntegrationCreate) -> IntegrationView:
        self.context.require_admin()
        check_server_setting(body.settings)
        now = utc_now()
        record = IntegrationRecord(
            integration_id=body.id, settings=body.settings, created_at=now, updated_at=now
        )
        try:
            self.store.save_integration(record, expected_version=None)
        except ConflictError:
            raise AlreadyExistsError(
                f"Integration '{body.id}' already exists; upload a spec with PUT /v1/integrations/{body.id}."
            ) from None
        return IntegrationView.of(record)

    def list_integrations(self) -> IntegrationList:
        self.context.require_admin()
        return IntegrationList(
            integrations=[IntegrationView.of(record) for record in self.store.list_integrations()]
        )

    def get_integration(self, integration_id: str) -> IntegrationView:
        self.context.require_admin()
        return IntegrationView.of(self._integration(integration_id))

    def integration_status(self, integration_id: str) -> IntegrationStatusView:
        self.context.require_admin()
        return IntegrationStatusView.of(self._integration(integration_id))

    def integration_report(self, integration_id: str) -> IntegrationReport:
        self.context.require_admin()
        record = self._integration(integration_id)
        report = None
        if record.ready is not None:
            report = json.loads(self.resources.objects.get(record.ready.report_key))
        return IntegrationReport(
            id=record.integration_id,
            status=record.status,
            last_upload=record.last_upload,
            ready_version=record.ready.number if record.ready else None,
            report=report,
        )

    def upload_spec(self, integration_id: str, data: bytes, content_type: str | None) -> IntegrationView:
        """Compile and store a spec sent in the request body (the same path as an S3 upload)."""
        self.context.require_admin()
        check_resource_id(integration_id, "integration")
        upload = SpecUpload(
            integration_id=integration_id,
            data=data,
            filename=_spec_filename(data, content_type),
            source=UploadSource(kind="api"),
        )
        return self._ingest(upload)

    def update_settings(self, integration_id: str, settings: IntegrationSettings) -> IntegrationView:
        """Replace the settings; a ready integration is compiled again from its stored spec with them."""
        self.context.require_admin()
        record = self._integration(integration_id)
        if record.ready is None:
            check_server_setting(settings)
            now = utc_now()
            updated = record.model_copy(
                update={"settings": settings, "version": record.version + 1, "updated_at": now}
            )
            self.store.save_integration(updated, expected_version=record.version)
            return IntegrationView.of(updated)
        upload = stored_upload(
            self.resources, integration_id, record.ready, UploadSource(kind="settings"), settings
        )
        return self._ingest(upload)

    def delete_integration(self, integration_id: str) -> None:
        """Remove the integration, its tools, its artifacts and its own credential."""
        self.context.require_admin()
        record = self._integration(integration_id)
        self.store.delete_integration(integration_id, expected_version=record.version)
        if record.ready is not None:
            self.store.delete_tools(integration_id, record.ready.revision)
        self.resources.objects.delete_prefix(artifact_prefix(self.context.tenant_id, integration_id))
        if record.credential is not None and record.credential_slot == integration_id:
            self.resources.credentials.delete(integration_id)

    def create_upload_url(self, integration_id: str, upload_format: UploadFormat) -> UploadUrl:
        """A presigned S3 PUT for a spec too large for the API; the upload function compiles it."""
        self.context.require_admin()
        check_resource_id(integration_id, "integration")
        key = upload_key(self.context.tenant_id, integration_id, f"openapi.{upload_format}")
        expires_in = self.config.upload_url_expiry_seconds
        url = self.resources.objects.presign_put(key, expires_in)
        return UploadUrl(url=url, key=key, expires_at=utc_now() + timedelta(seconds=expires_in))

    def bind_credential(self, integration_id: str, credential: Mapping[str, Any]) -> CredentialView:
        """Validate and store the integration's credential; only its type is ever shown again."""
        from toolgate.runtime.credentials import parse_credential  # noqa: PLC0415 - only this route needs it

        self.context.require_admin()
        record = self._integration(integration_id)
        parsed = parse_credential(credential)
        check_credential_token_urls(parsed)
        self.resources.credentials.put(record.credential_slot, json.dumps(dict(credential)))
        now = utc_now()
        updated = record.model_copy(
            update={
                "credential": CredentialBinding(type=parsed.type, updated_at=now),
                "version": record.version + 1,
                "updated_at": now,
            }
        )
        self.store.save_integration(updated, expected_version=record.version)
        return CredentialView.of(updated)

    def get_credential(self, integration_id: str) -> CredentialView:
        self.context.require_admin()
        return CredentialView.of(self._integration(integration_id))

    # --- Assistants -----------------------------------------------------------------------

    def create_assistant(self, body: AssistantCreate) -> AssistantView:
        self.context.require_admin()
        now = utc_now()
        record = AssistantRecord(
            assistant_id=body.id,
            name=body.name,
            description=body.description,
            integrations=list(dict.fromkeys(body.integrations)),
            tools=body.tools,
            tags=body.tags,
            read_only=body.read_only,
            exclude=body.exclude,
            pinned=body.pinned,
            created_at=now,
            updated_at=now,
        )
        try:
            self.store.save_assistant(record, expected_version=None)
        except ConflictError:
            raise AlreadyExistsError(
                f"Assistant '{body.id}' already exists; change it with PUT /v1/assistants/{body.id}."
            ) from None
        return AssistantView.of(record)

    def list_assistants(self) -> AssistantList:
        self.context.require_admin()
        return AssistantList(assistants=[AssistantView.of(record) for record in self.store.list_assistants()])

    def get_assistant(self, assistant_id: str) -> AssistantView:
        self.context.require_admin()
        return AssistantView.of(self._assistant(assistant_id))

    def update_assistant(self, assistant_id: str, body: AssistantUpdate) -> AssistantView:
        self.context.require_admin()
        current = self._assistant(assistant_id)
        if body.expected_version is not None and body.expected_version != current.version:
            raise ConflictError(
                f"Assistant '{assistant_id}' is at version {current.version}, not {body.expected_version}; "
                "read it again and retry."
            )
        updated = current.model_copy(
            update={
                "name": body.name,
                "description": body.description,
                "integrations": list(dict.fromkeys(body.integrations)),
                "tools": body.tools,
                "tags": body.tags,
                "read_only": body.read_only,
                "exclude": body.exclude,
                "pinned": body.pinned,
                "version": current.version + 1,
                "updated_at": utc_now(),
            }
        )
        self.store.save_assistant(updated, expected_version=current.version)
        return AssistantView.of(updated)

    def delete_assistant(self, assistant_id: str) -> None:
        self.context.require_admin()
        current = self._assistant(assistant_id)
        # Indexes first: should the row's delete then fail, a search rebuilds them; the other way round a
        # failed object delete would leave indexes no assistant names.
        self.resources.objects.delete_prefix(assistant_index_prefix(self.context.tenant_id, assistant_id))
        self.store.delete_assistant(assistant_id, expected_version=current.version)

    def list_assistant_tools(
        self,
        assistant_id: str,
        tool_format: ToolFormat,
        cursor: str | None = None,
        limit: int | None = None,
        *,
        search: bool | None = None,
        query: str | None = None,
    ) -> AssistantTools:
        """A page of the assistant's tools rendered for one model API, with what they cost in tokens;
        agents may call this too. With `query`: the `limit` tools best matching it. Over the search
        threshold (or with `search`): the pinned tools and `toolgate_search_tools`
        (`toolgate.service.search`)."""
        from toolgate.service.listing import tools_listing  # noqa: PLC0415 - only this route renders tools

        self.context.require(Role.ADMIN, Role.AGENT)
        assistant = self._assistant(assistant_id)
        if self.catalogs is None:
            catalog = assistant_catalog(self.resources, assistant)
        else:
            catalog = self.catalogs.catalog(self.resources, assistant).catalog
        # --- Tool search (issue 15, slice wire) ---
        listed, searching, total_tools = catalog.tools, False, len(catalog.tools)
        if query is not None:
            listed = self._searched(assistant_id, catalog.tools, query, limit)
            limit = None
        elif self.searcher is not None or search:
            if search and self.searcher is None:
                raise SearchUnavailableError("This deployment serves no tool search; list without search.")
            listed, searching = listed_tools(catalog.tools, assistant, self.search_settings, asked=search)
        if listed is not catalog.tools:
            counts = dict(zip((tool.name for tool in catalog.tools), catalog.tokens, strict=True))
            catalog = catalog._replace(tools=listed, tokens=[counts.get(tool.name, {}) for tool in listed])
        # --- end tool search ---
        listing = tools_listing(
            catalog, assistant_id, tool_format, cursor=cursor, limit=limit, settings=self.catalog_settings
        )
        return listing.model_copy(update={"search": searching, "total_tools": total_tools})

    def _searched(
        self, assistant_id: str, tools: list[CanonicalTool], query: str, limit: int | None
    ) -> list[CanonicalTool]:
        if self.searcher is None:
            raise SearchUnavailableError("This deployment serves no tool search; list without a query.")
        text, count = checked_query(query), checked_limit(limit, self.search_settings)
        by_name = {tool.name: tool for tool in tools}
        names = self.searcher.search(self.context.tenant_id, assistant_id, text, count)
        return [by_name[name] for name in names if name in by_name]

    # --- Limits -------------------------------------------------------------------------------

    def get_limits(self) -> LimitsView:
        """The tenant's limits on tool calls in force (its own within the ceilings, or the deployment's
        defaults), and the ceilings."""
        self.context.require_admin()
        return LimitsView.of(self._limits().read_limits(), self.limit_settings)

    def set_limits(self, limits: TenantLimits) -> LimitsView:
        """Replace the tenant's limits; LimitAboveCeilingError above the deployment's ceilings."""
        self.context.require_admin()
        limits.ensure_within(LimitCeilings.of(self.limit_settings))
        store = self._limits()
        current = store.read_limits()
        record = LimitsRecord(
            limits=limits,
            version=current.version + 1 if current is not None else 1,
            updated_at=utc_now(),
            updated_by=self.context.principal,
        )
        store.save_limits(record, expected_version=current.version if current is not None else None)
        return LimitsView.of(record, self.limit_settings)

    # --- Helpers ----------------------------------------------------------------------------

    def _limits(self) -> LimiterStore:
        if self.resources.limits is None:
            raise StoreUnavailableError("This deployment keeps no per-tenant limits.")
        return self.resources.limits

    def _ingest(self, upload: SpecUpload) -> IntegrationView:
        outcome = ingest_spec(self.resources, upload, self.config)
        if self.ingest_observer is not None:
            self.ingest_observer(outcome, upload.integration_id)
        if self.searcher is not None and outcome.status == "ready":
            self.searcher.prepare(self.context.tenant_id, upload.integration_id)
        if outcome.error is not None:
            raise outcome.error
        if outcome.integration is None:
            raise NotFoundError(f"No integration '{upload.integration_id}'.")
        return IntegrationView.of(outcome.integration)

    def _integration(self, integration_id: str) -> IntegrationRecord:
        record = self.store.get_integration(check_resource_id(integration_id, "integration"))
        if record is None:
            raise NotFoundError(f"No integration '{integration_id}'.")
        return record

    def _assistant(self, assistant_id: str) -> AssistantRecord:
        record = self.store.get_assistant(check_resource_id(assistant_id, "assistant"))
        if record is None:
            raise NotFoundError(f"No assistant '{assistant_id}'.")
        return record


def _spec_filename(data: bytes, content_type: str | None) -> str:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if data.startswith(_ZIP_MAGIC) or media_type in ("application/zip", "application/x-zip-compressed"):
        return "openapi.zip"
    if data.lstrip()[:1] == b"{" or media_type == "application/json":
        return "openapi.json"
    return "openapi.yaml"
