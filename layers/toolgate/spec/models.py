"""The canonical tool: one per OpenAPI operation, independent of any model API."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

JsonSchema = dict[str, Any]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Finding(BaseModel):
    """A validation, repair, lint or loss note with a stable code and a JSON-pointer location."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    code: str
    severity: Severity
    message: str
    pointer: str = ""


class ArgumentLocation(StrEnum):
    PATH = "path"
    QUERY = "query"
    HEADER = "header"
    COOKIE = "cookie"
    BODY_FIELD = "body_field"
    BODY = "body"


#: Locations a callback URL can be given in.
CALLBACK_LOCATIONS = frozenset({ArgumentLocation.HEADER.value, ArgumentLocation.QUERY.value})


class ArgumentBinding(BaseModel):
    """Where one tool argument goes in the HTTP request, reversibly."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    argument: str
    location: ArgumentLocation
    #: The HTTP name: parameter name or body field name; empty for a whole body.
    name: str
    required: bool = False
    style: str | None = None
    explode: bool | None = None
    allow_reserved: bool = False
    #: Set when a parameter is described with `content` instead of `schema` (serialize with that media type).
    content_type: str | None = None


class BodyEncoding(BaseModel):
    """Per-field encoding of a form-urlencoded or multipart body (OpenAPI Encoding Object)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    content_type: str | None = None
    style: str | None = None
    explode: bool | None = None
    allow_reserved: bool = False


class RequestBody(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    media_type: str
    required: bool = False
    #: True when the body's object properties are top-level arguments (BODY_FIELD bindings).
    flattened: bool = False
    encoding: dict[str, BodyEncoding] = Field(default_factory=dict)


class SecuritySchemeType(StrEnum):
    API_KEY = "apiKey"
    HTTP = "http"
    OAUTH2 = "oauth2"
    OPENID_CONNECT = "openIdConnect"
    MUTUAL_TLS = "mutualTLS"


class SecurityScheme(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    type: SecuritySchemeType
    #: For http: "bearer", "basic", ...
    scheme: str | None = None
    bearer_format: str | None = None
    #: For apiKey: "header", "query" or "cookie", and the parameter name.
    location: str | None = None
    parameter_name: str | None = None
    #: For oauth2 client credentials.
    token_url: str | None = None
    #: Flows offered by an oauth2 scheme ("clientCredentials", "authorizationCode", ...).
    flows: list[str] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)
    open_id_connect_url: str | None = None


class Annotations(BaseModel):
    """MCP-style behaviour hints, derived from the method and overridable with `x-` extensions."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    title: str | None = None
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True


class AsyncKind(StrEnum):
    CALLBACK_PARAMETER = "callback_parameter"
    ACCEPTED_LOCATION = "accepted_location"
    EXTENSION = "extension"


class AsyncPattern(BaseModel):
    """How a long-running operation reports its result."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: AsyncKind
    #: For callbacks: the argument-free parameter the platform fills with its callback URL.
    callback_parameter: str | None = None
    callback_location: str | None = None
    #: Names of OpenAPI `callbacks` entries, when present.
    callbacks: list[str] = Field(default_factory=list)
    #: For 202 responses: the header that carries the status URL.
    status_header: str | None = None
    #: From `x-toolgate-async`: status operation or path, the status field pointer, terminal values.
    status_operation: str | None = None
    status_path: str | None = None
    status_pointer: str | None = None
    success_values: list[str] = Field(default_factory=list)
    failure_values: list[str] = Field(default_factory=list)
    result_pointer: str | None = None
    #: From `x-toolgate-async`: a callback operation's opt-in heartbeat, the longest it may stay silent.
    heartbeat_seconds: int | None = Field(default=None, gt=0)


class HiddenArgument(BaseModel):
    """An argument the admin fills (`x-toolgate: {hidden: true, value | from}`); the model never sees it.

    Its binding stays in `CanonicalTool.bindings`, so it is sent exactly as the spec's style says.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    argument: str
    #: The parameter's own schema, with the `$defs` it needs: the value is checked against it per call.
    value_schema: JsonSchema
    required: bool = False
    #: A fixed value, or the name of an integration parameter setting that holds it.
    value: Any = None
    setting: str | None = None


class ResponseSelection(BaseModel):
    """`x-toolgate.response.select`: the parts of a JSON response the model sees."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    #: JSON Pointers (`/items`) or RFC 9535 JSONPath queries (`$.items[*].id`), in the order given.
    expressions: list[str]


class CanonicalTool(BaseModel):
    """One operation as a tool: what the model sees, and how to turn its arguments back into HTTP."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    name: str
    description: str
    operation_id: str | None = None
    method: str
    path: str
    #: JSON pointer to the operation in the (bundled, converted) spec.
    pointer: str
    server_url: str | None = None
    input_schema: JsonSchema
    output_schema: JsonSchema | None = None
    bindings: list[ArgumentBinding] = Field(default_factory=list)
    body: RequestBody | None = None
    #: Alternatives (OR) of requirement sets (AND): [{"scheme": [scopes]}]. Empty means no auth.
    security: list[dict[str, list[str]]] = Field(default_factory=list)
    security_schemes: dict[str, SecurityScheme] = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=Annotations)
    async_pattern: AsyncPattern | None = None
    #: A header the spec declares for idempotency keys; the runtime generates its value.
    idempotency_header: str | None = None
    tags: list[str] = Field(default_factory=list)
    deprecated: bool = False
    #: Arguments filled by the admin (fixed or from an integration setting), absent from `input_schema`.
    hidden: list[HiddenArgument] = Field(default_factory=list)
    #: The response parts the model sees; `output_schema` is already trimmed to match.
    response_select: ResponseSelection | None = None
    findings: list[Finding] = Field(default_factory=list)


class CompiledSpec(BaseModel):
    """Everything one spec yields: its tools and an honest report of what was repaired or dropped."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    title: str
    version: str
    #: The OpenAPI version of the document as given ("2.0", "3.0.3", "3.1.0").
    source_openapi: str
    servers: list[str] = Field(default_factory=list)
    tools: list[CanonicalTool] = Field(default_factory=list)
    #: Spec-level findings (validation, repairs, conversion) and per-operation failures.
    findings: list[Finding] = Field(default_factory=list)
    #: Operations that could not become tools, as pointers.
    failed_operations: list[str] = Field(default_factory=list)
