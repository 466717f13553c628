"""Request and response bodies of the management API. Responses never carry a credential value or a key
hash; a new API key is the one response that shows a key, once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from toolgate.service.limits import LimitCeilings, LimitsRecord, TenantLimits
from toolgate.service.models import (
    ApiKeyRecord,
    AssistantRecord,
    IntegrationRecord,
    IntegrationSettings,
    IntegrationStatus,
    ReadyVersion,
    ResourceId,
    ToolPattern,
    UploadAttempt,
)
from toolgate.service.tenancy import Role
from toolgate.settings import LimitSettings
from toolgate.spec.models import Finding

ToolFormat = Literal["openai", "openai-strict", "openai-responses", "anthropic", "bedrock", "gemini", "mcp"]
UploadFormat = Literal["yaml", "json", "zip"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ApiKeyCreate(_Request):
    role: Role = Role.AGENT
    #: Who or what holds the key (a person, a service); shown in logs and listings.
    principal: str = Field(min_length=1, max_length=200, pattern=r"^[\w.@+:/-]+$")


class IntegrationCreate(_Request):
    id: ResourceId
    settings: IntegrationSettings = Field(default_factory=IntegrationSettings)


class AssistantBody(_Request):
    name: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    integrations: list[ResourceId] = Field(default_factory=list, max_length=100)
    #: The toolset. Globs (`fnmatch`) of tool names and operationIds, and OpenAPI tags: a tool matching
    #: either is in; omit both (null) to allow every tool of the integrations.
    tools: list[ToolPattern] | None = Field(default=None, max_length=1000)
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=100
    )
    #: Only the tools the compiler marks read-only.
    read_only: bool = False
    #: Globs of tool names and operationIds left out, whatever else matched.
    exclude: list[ToolPattern] = Field(default_factory=list, max_length=500)
    #: Tool names always listed beside `toolgate_search_tools` when the listing is a search.
    pinned: list[ToolPattern] = Field(default_factory=list, max_length=20)


class AssistantCreate(AssistantBody):
    id: ResourceId


class AssistantUpdate(AssistantBody):
    """Replaces the assistant's fields. With `expected_version`, only if the assistant is still at it."""

    expected_version: int | None = None


class ApiKeyView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    key_id: str
    role: Role
    principal: str
    created_at: datetime
    revoked: bool
    revoked_at: datetime | None = None

    @classmethod
    def of(cls, record: ApiKeyRecord) -> ApiKeyView:
        return cls.model_validate(record.model_dump(exclude={"key_hash", "version"}))


class IssuedKeyView(BaseModel):
    #: The key, shown this once; only its hash is stored.
    model_config = ConfigDict(defer_build=True)

    key: str
    api_key: ApiKeyView


class ApiKeyList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    api_keys: list[ApiKeyView]


class CredentialState(BaseModel):
    model_config = ConfigDict(defer_build=True)

    type: str | None = None
    bound: bool = False
    updated_at: datetime | None = None


class CredentialView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    credential: CredentialState

    @classmethod
    def of(cls, record: IntegrationRecord) -> CredentialView:
        binding = record.credential
        if binding is None:
            return cls(credential=CredentialState())
        return cls(credential=CredentialState(type=binding.type, bound=True, updated_at=binding.updated_at))


class IntegrationView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    version: int
    status: IntegrationStatus
    settings: IntegrationSettings
    ready: ReadyVersion | None
    last_upload: UploadAttempt | None
    credential: CredentialState
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: IntegrationRecord) -> IntegrationView:
        return cls(
            id=record.integration_id,
            version=record.version,
            status=record.status,
            settings=record.settings,
            ready=record.ready,
            last_upload=record.last_upload,
            credential=CredentialView.of(record).credential,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class IntegrationList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    integrations: list[IntegrationView]


class IntegrationStatusView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    status: IntegrationStatus
    #: The version in service, if any (it stays in service when a later upload fails).
    ready_version: int | None
    last_upload: UploadAttempt | None

    @classmethod
    def of(cls, record: IntegrationRecord) -> IntegrationStatusView:
        return cls(
            id=record.integration_id,
            status=record.status,
            ready_version=record.ready.number if record.ready else None,
            last_upload=record.last_upload,
        )


class IntegrationReport(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    status: IntegrationStatus
    last_upload: UploadAttempt | None
    ready_version: int | None
    #: The full validation and lint report of the ready version; null before the first success.
    report: dict[str, Any] | None


class UploadUrl(BaseModel):
    model_config = ConfigDict(defer_build=True)

    method: Literal["PUT"] = "PUT"
    url: str
    key: str
    expires_at: datetime


class AssistantView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    version: int
    name: str
    description: str
    integrations: list[str]
    tools: list[str] | None
    tags: list[str] | None
    read_only: bool
    exclude: list[str]
    pinned: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: AssistantRecord) -> AssistantView:
        return cls(
            id=record.assistant_id,
            version=record.version,
            name=record.name,
            description=record.description,
            integrations=record.integrations,
            tools=record.tools,
            tags=record.tags,
            read_only=record.read_only,
            exclude=record.exclude,
            pinned=record.pinned,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class AssistantList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    assistants: list[AssistantView]


class UnavailableIntegration(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    #: "missing" when the integration was deleted, otherwise its status (pending, failed).
    status: str


class AssistantTools(BaseModel):
    model_config = ConfigDict(defer_build=True)

    assistant_id: str
    format: ToolFormat
    #: Tool definitions exactly as the model API takes them.
    tools: list[dict[str, Any]]
    #: Per tool: what the format could not express.
    losses: dict[str, list[Finding]] = Field(default_factory=dict)
    #: The format's documented limits the definitions still break.
    violations: list[Finding] = Field(default_factory=list)
    #: Integrations of the assistant without a ready version; their tools are not listed.
    unavailable: list[UnavailableIntegration] = Field(default_factory=list)
    #: The tools this listing holds, in all its pages.
    tool_count: int = 0
    #: Tokens of all the assistant's tool definitions in this format, sent with every model request
    #: (also the `X-Toolgate-Tool-Tokens` header); `token_count_exact` is false for an approximation.
    token_count: int = 0
    token_count_exact: bool = True
    tokenizer: str = ""
    #: Over the tenant's token budget or the format's tool cap, with the fix.
    warnings: list[Finding] = Field(default_factory=list)
    #: Pass it as `cursor` for the next page; null on the last page.
    next_cursor: str | None = None
    #: The listing is the pinned tools and `toolgate_search_tools`, not every tool (docs/search.md).
    search: bool = False
    #: The assistant's tools in all (after its toolset), whatever this answer lists.
    total_tools: int = 0


class LimitsView(BaseModel):
    """The limits in force for the caller's tenant (`GET /v1/limits`)."""

    model_config = ConfigDict(defer_build=True)

    requests_per_second: float
    burst: int
    concurrent_calls: int
    #: `default`: the deployment's; `tenant`: set for this tenant by an admin.
    source: Literal["default", "tenant"]
    version: int | None = None
    updated_at: datetime | None = None
    #: A change reaches every Lambda instance within this many seconds.
    applies_within_seconds: int
    #: The most an admin may set; only the deployment's operator changes them.
    ceilings: LimitCeilings
    #: The tenant's own limits that are above a ceiling the operator lowered since: the ceiling applies.
    clamped: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, record: LimitsRecord | None, settings: LimitSettings) -> LimitsView:
        ceilings = LimitCeilings.of(settings)
        limits = record.limits if record is not None else TenantLimits.defaults(settings)
        return cls(
            **limits.clamped(ceilings).model_dump(),
            source="tenant" if record is not None else "default",
            version=record.version if record is not None else None,
            updated_at=record.updated_at if record is not None else None,
            applies_within_seconds=settings.cache_seconds,
            ceilings=ceilings,
            clamped=limits.above(ceilings),
        )
