"""What the service stores: tenants, API keys, integrations and their tools, assistants.

Records carry a `version` that every write increments; writes are conditional on the version read
(optimistic locking). Timestamps are UTC. No record ever holds a credential value.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

from datetime import UTC, datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from toolgate.service.tenancy import RESOURCE_ID_PATTERN, Role
from toolgate.spec.models import CanonicalTool, Finding
from toolgate.spec.naming import SETTING_NAME

ResourceId = Annotated[str, StringConstraints(pattern=RESOURCE_ID_PATTERN)]
#: A glob (`fnmatch`, case-sensitive) matched against a tool's name and its operationId.
ToolPattern = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ParameterName = Annotated[str, StringConstraints(pattern=SETTING_NAME.pattern)]
#: A hidden parameter's value: a string, an integer or a boolean, checked against the parameter's schema.
ParameterValue = Annotated[str, StringConstraints(max_length=2048)] | bool | int


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class TenantRecord(_Record):
    tenant_id: str
    created_at: datetime


class ApiKeyRecord(_Record):
    key_id: str
    #: SHA-256 hex of the whole key; the key itself is never stored.
    key_hash: str = Field(repr=False)
    role: Role
    principal: str
    created_at: datetime
    revoked: bool = False
    revoked_at: datetime | None = None
    version: int = 1


class IntegrationStatus(StrEnum):
    #: Created, no spec uploaded yet.
    PENDING = "pending"
    #: The last upload succeeded; its tools are in service.
    READY = "ready"
    #: The last upload failed; a previous ready version, if any, stays in service.
    FAILED = "failed"


class IntegrationSettings(BaseModel):
    """An integration's settings: `toolgate.json` beside an S3 upload, or the body of the settings route."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    #: Assistants this integration joins (created when missing).
    assistants: list[ResourceId] = Field(default_factory=list, max_length=100)
    #: The credential the tools use: `toolgate/tenants/{tenant}/{credential}` in Secrets Manager.
    #: Defaults to the integration's own id; naming another integration shares its credential.
    credential: ResourceId | None = None
    #: Replaces the spec's `servers` as every tool's target.
    server_url: str | None = Field(default=None, max_length=2048)
    #: Keep each call's arguments in its audit record (off: arguments are never stored).
    audit_arguments: bool = False
    #: Only tools matching one of these patterns (tool name or operationId); empty keeps all.
    include: list[ToolPattern] = Field(default_factory=list, max_length=500)
    #: Tools matching one of these patterns are left out, after `include`.
    exclude: list[ToolPattern] = Field(default_factory=list, max_length=500)
    #: Values of hidden parameters declared `x-toolgate: {hidden: true, from: NAME}`, by NAME. Not
    #: secret: stored and shown as they are (a secret belongs in the credential).
    parameters: dict[ParameterName, ParameterValue] = Field(default_factory=dict, max_length=100)

    @field_validator("server_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http or https URL")
        if any(ord(char) < 0x21 for char in value):
            raise ValueError("must not contain spaces or control characters")
        return value

    def selects(self, tool: CanonicalTool) -> bool:
        names = [tool.name] + ([tool.operation_id] if tool.operation_id else [])

        def matches(patterns: list[str]) -> bool:
            return any(fnmatchcase(name, pattern) for pattern in patterns for name in names)

        return (not self.include or matches(self.include)) and not matches(self.exclude)


class UploadSource(BaseModel):
    """Where an upload came from: an S3 object (with its event's ordering data) or an API request."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: Literal["s3", "api", "settings"]
    key: str | None = None
    version_id: str | None = None
    sequencer: str | None = None


class UploadError(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    code: str
    message: str
    #: Where in the upload the problem is, when the error says (an overlay's `/actions/2/target`).
    pointer: str | None = None


class UploadAttempt(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    status: Literal["ready", "failed"]
    at: datetime
    source: UploadSource
    error: UploadError | None = None


class ReportSummary(BaseModel):
    """Counts of the validation and lint report, with its first errors and warnings."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    errors: int = 0
    warnings: int = 0
    info: int = 0
    failed_operations: int = 0
    top_findings: list[Finding] = Field(default_factory=list)


class SourceDigest(BaseModel):
    """One input of a version (the spec or an overlay) and its SHA-256, so the version can be rebuilt."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    sha256: str
    #: Where a copy is kept in the artifacts prefix; None for an overlay inside the uploaded zip.
    key: str | None = None


class ReadyVersion(BaseModel):
    """The version in service: its tools are the items of `revision`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    #: 1, 2, 3, ... one per successful upload.
    number: int
    #: Unique per upload attempt; names the tool items and the artifact folder.
    revision: str
    title: str
    api_version: str
    source_openapi: str
    tool_count: int
    server_url: str | None = None
    #: The uploaded spec as received, and the full report, in the artifacts prefix.
    spec_key: str
    report_key: str
    source: UploadSource
    ready_at: datetime
    summary: ReportSummary = Field(default_factory=ReportSummary)
    #: The SHA-256 of the uploaded spec (the zip, for a zip upload).
    spec_sha256: str | None = None
    #: The overlays applied, in order: the zip's own, then those uploaded beside the spec.
    overlays: list[SourceDigest] = Field(default_factory=list)
    #: Tokens of the version's tools together, by dialect name (the report has each tool's and each
    #: assistant's).
    tokens: dict[str, int] = Field(default_factory=dict)
    #: The upload report's token warnings: over the budget or a dialect's tool cap, with the fix.
    token_warnings: list[Finding] = Field(default_factory=list)


class CredentialBinding(BaseModel):
    """That a credential is bound, and of which type; the value lives only in Secrets Manager."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    type: str
    updated_at: datetime


class IntegrationRecord(_Record):
    integration_id: str
    version: int = 1
    status: IntegrationStatus = IntegrationStatus.PENDING
    settings: IntegrationSettings = Field(default_factory=IntegrationSettings)
    ready: ReadyVersion | None = None
    last_upload: UploadAttempt | None = None
    credential: CredentialBinding | None = None
    #: S3 `sequencer` of the last event applied per object key: older or equal events change nothing.
    sequencers: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime

    @property
    def credential_slot(self) -> str:
        """The credential's name under the tenant's secret prefix."""
        return self.settings.credential or self.integration_id


class StoredTool(_Record):
    """One tool of one revision: the fields listing needs, and the canonical JSON or a pointer to it."""

    integration_id: str
    revision: str
    name: str
    description: str
    method: str
    path: str
    read_only: bool = False
    destructive: bool = False
    deprecated: bool = False
    #: The canonical tool as JSON when it fits in the item; otherwise `tool_key` names it in S3.
    tool_json: str | None = None
    tool_key: str | None = None
    #: Tokens of the tool's definition in each dialect (`toolgate.dialects.tokens`), by dialect name.
    tokens: dict[str, int] = Field(default_factory=dict)


class AssistantRecord(_Record):
    assistant_id: str
    version: int = 1
    name: str = ""
    description: str = ""
    #: Integrations whose tools the assistant may use.
    integrations: list[str] = Field(default_factory=list)
    #: The toolset (`toolgate.service.toolsets`): globs of tool names and operationIds, and OpenAPI
    #: tags; both None allow every tool of those integrations.
    tools: list[str] | None = None
    tags: list[str] | None = None
    #: Only the tools the compiler marks read-only.
    read_only: bool = False
    #: Globs of tool names and operationIds left out, whatever else matched.
    exclude: list[str] = Field(default_factory=list)
    #: Tools listed beside `toolgate_search_tools` when the listing is a search (`toolgate.service.search`).
    pinned: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
