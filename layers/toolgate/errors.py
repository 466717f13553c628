"""The one exception hierarchy: every error has a stable code and a message a person or model can act on."""

from __future__ import annotations

from typing import Any, ClassVar


class ToolgateError(Exception):
    """Base of every error Toolgate raises on purpose."""

    code: ClassVar[str] = "TOOLGATE_ERROR"
    #: HTTP status an API handler maps this error to.
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, pointer: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.pointer is not None:
            body["pointer"] = self.pointer
        if self.details is not None:
            body["details"] = self.details
        return body

    def __str__(self) -> str:
        where = f" (at {self.pointer})" if self.pointer else ""
        return f"{self.message}{where}"


# --- Spec loading and compiling -------------------------------------------------------------


class SpecError(ToolgateError):
    """The spec as a whole cannot be used."""

    code = "SPEC_INVALID"
    http_status = 422


class SpecTooLargeError(SpecError):
    code = "SPEC_TOO_LARGE"
    http_status = 413


class SpecParseError(SpecError):
    code = "SPEC_PARSE_ERROR"


class SpecTooDeepError(SpecError):
    code = "SPEC_TOO_DEEP"


class SpecAliasExpansionError(SpecError):
    code = "SPEC_ALIAS_EXPANSION"


class SpecNotOpenAPIError(SpecError):
    code = "SPEC_NOT_OPENAPI"


class SpecUnsupportedVersionError(SpecError):
    code = "SPEC_UNSUPPORTED_VERSION"


class ExternalRefError(SpecError):
    """A `$ref` points outside the document (http, https, file, data, ...). It is never fetched."""

    code = "SPEC_EXTERNAL_REF"


class BundleError(SpecError):
    """A multi-file spec (folder or zip) cannot be bundled safely."""

    code = "SPEC_BUNDLE_INVALID"


class BundlePathEscapeError(BundleError):
    code = "SPEC_BUNDLE_PATH_ESCAPE"


class UnresolvableRefError(SpecError):
    code = "SPEC_UNRESOLVABLE_REF"


class OperationError(ToolgateError):
    """One operation cannot become a tool; the rest of the spec still compiles."""

    code = "OPERATION_INVALID"
    http_status = 422


class DialectError(ToolgateError):
    code = "DIALECT_UNKNOWN"
    http_status = 400


# --- Tool runtime: arguments and requests ---------------------------------------------------


class ArgumentsInvalidError(ToolgateError):
    """The model's arguments do not match the tool's input schema; `details` lists every problem."""

    code = "ARGUMENTS_INVALID"
    http_status = 400


class ArgumentsTooLargeError(ArgumentsInvalidError):
    """The arguments exceed the configured size or nesting depth; they are not validated further."""

    code = "ARGUMENTS_TOO_LARGE"
    http_status = 413


class ToolSchemaInvalidError(ToolgateError):
    """A tool's input schema cannot be compiled into a validator: the tool is broken, not the call."""

    code = "TOOL_SCHEMA_INVALID"
    http_status = 500


class RequestBuildError(ToolgateError):
    """The arguments cannot be turned into the HTTP request the spec describes."""

    code = "REQUEST_INVALID"
    http_status = 400


class PathValueInvalidError(RequestBuildError):
    """A path value is empty, a dot segment, or holds control characters."""

    code = "PATH_VALUE_INVALID"


class HeaderValueInvalidError(RequestBuildError):
    """A header or cookie name or value would break the HTTP message (CR, LF, NUL, non-ASCII)."""

    code = "HEADER_VALUE_INVALID"


class ReservedHeaderError(RequestBuildError):
    """An argument would set a header the runtime owns: credentials, host, framing."""

    code = "RESERVED_HEADER"


class ReservedParameterError(RequestBuildError):
    """An argument would set a query parameter or cookie that carries the tool's credential."""

    code = "RESERVED_PARAMETER"


class BodyInvalidError(RequestBuildError):
    """The body value cannot be serialized with the operation's media type."""

    code = "BODY_INVALID"


class ServerUrlMissingError(RequestBuildError):
    """Neither the call nor the tool names a server URL to send the request to."""

    code = "SERVER_URL_MISSING"


class ServerUrlInvalidError(RequestBuildError):
    """The server URL is not an absolute http(s) URL, or still holds unresolved `{variables}`."""

    code = "SERVER_URL_INVALID"


# --- Tool runtime: execution ----------------------------------------------------------------


class ToolRuntimeError(ToolgateError):
    """A tool call could not be carried out against its target API."""

    code = "TOOL_RUNTIME_ERROR"
    http_status = 502


class ToolInternalError(ToolRuntimeError):
    """An unexpected fault inside Toolgate; the message never carries the original exception text."""

    code = "TOOL_INTERNAL_ERROR"
    http_status = 500


class CredentialMissingError(ToolRuntimeError):
    """No bound credential satisfies the operation's security requirements; the message names the schemes."""

    code = "CREDENTIAL_MISSING"
    http_status = 401


class CredentialInvalidError(ToolRuntimeError):
    """The bound credential is malformed or cannot be used as given (bad JSON, bad PEM, no token URL)."""

    code = "CREDENTIAL_INVALID"
    http_status = 400


class OAuthTokenError(ToolRuntimeError):
    """The OAuth2 token endpoint refused the client credentials or answered something unusable."""

    code = "OAUTH_TOKEN_FAILED"


class EgressDeniedError(ToolRuntimeError):
    """The egress guard refused the destination: scheme, host, or an address that is not public."""

    code = "EGRESS_DENIED"
    http_status = 403


class UpstreamUnreachableError(ToolRuntimeError):
    """The host name did not resolve or no connection could be made; nothing was sent."""

    code = "UPSTREAM_UNREACHABLE"


class UpstreamTlsError(ToolRuntimeError):
    """The TLS handshake failed: certificate verification, or the server refused the client certificate."""

    code = "UPSTREAM_TLS_FAILED"


class UpstreamTimeoutError(ToolRuntimeError):
    """The call's deadline passed before an answer; the request was idempotent or never sent."""

    code = "UPSTREAM_TIMEOUT"
    http_status = 504


class UpstreamOutcomeUnknownError(ToolRuntimeError):
    """A non-retryable request went out and no complete answer came back: it may have taken effect."""

    code = "UPSTREAM_OUTCOME_UNKNOWN"
    http_status = 504


class UpstreamProtocolError(ToolRuntimeError):
    """The server's answer was not valid HTTP, or the connection broke while reading it."""

    code = "UPSTREAM_PROTOCOL_ERROR"


class ResponseTooLargeError(ToolRuntimeError):
    """The decoded response body passed `RuntimeSettings.max_response_bytes`; reading stopped there."""

    code = "RESPONSE_TOO_LARGE"


class UpstreamHttpError(ToolRuntimeError):
    """The API answered with a 4xx or 5xx status; the envelope carries its body."""

    code = "UPSTREAM_HTTP_ERROR"


class UpstreamRedirectError(ToolRuntimeError):
    """The API answered with a redirect; redirects are never followed, the Location is reported instead."""

    code = "UPSTREAM_REDIRECT"


class ToolNotFoundError(ToolRuntimeError):
    """No tool of the compiled spec has the requested name or operationId."""

    code = "TOOL_NOT_FOUND"
    http_status = 404


# --- Tool runtime: hardening of the invoke path (issue 11, runtime slice) -----------------------


class CircuitOpenError(ToolRuntimeError):
    """Calls to this tenant's target origin are paused after failures in a row; nothing was sent.
    `details.retry_after` says in how many seconds to try again."""

    code = "CIRCUIT_OPEN"
    http_status = 503


# --- Service: tenants, the store and the management API ------------------------------------


class ServiceError(ToolgateError):
    """A request to the management API or an upload cannot be served as asked."""

    code = "SERVICE_ERROR"
    http_status = 400


class UnauthenticatedError(ServiceError):
    """The request carries no verified tenant context (the authorizer did not run or gave none)."""

    code = "UNAUTHENTICATED"
    http_status = 401


class TenantEnvironmentMismatchError(ServiceError):
    """In Lambda's tenant isolation mode, the environment runs for another tenant than the caller's: the
    API's `X-Amz-Tenant-Id` mapping is wrong, and the event is refused before anything runs."""

    code = "TENANT_ENVIRONMENT_MISMATCH"
    http_status = 500


class ApiKeyInvalidError(UnauthenticatedError):
    """The API key is malformed, unknown, revoked or does not match; which one is never said."""

    code = "API_KEY_INVALID"


class TenantForbiddenError(ServiceError):
    """The tenant may not touch this resource; AWS refused it to the tenant-scoped session."""

    code = "TENANT_FORBIDDEN"
    http_status = 403


class RoleForbiddenError(ServiceError):
    """The caller's role (`agent` or `admin`) does not allow this operation."""

    code = "ROLE_FORBIDDEN"
    http_status = 403


class NotFoundError(ServiceError):
    """No such integration, assistant or API key for this tenant."""

    code = "NOT_FOUND"
    http_status = 404


class RouteNotFoundError(NotFoundError):
    code = "ROUTE_NOT_FOUND"


class ApiRequestInvalidError(ServiceError):
    """The request's path, query or body does not match the route; `details` lists each problem."""

    code = "API_REQUEST_INVALID"
    http_status = 422


class ConflictError(ServiceError):
    """The item changed since it was read (optimistic lock on its version); read it again and retry."""

    code = "CONFLICT"
    http_status = 409


class AlreadyExistsError(ConflictError):
    code = "ALREADY_EXISTS"


class IntegrationFailedError(ServiceError):
    """The spec was read but cannot become a usable integration; the previous ready version stays."""

    code = "INTEGRATION_FAILED"
    http_status = 422


class IntegrationNoToolsError(IntegrationFailedError):
    """No operation became a tool, or the include/exclude filters left none."""

    code = "INTEGRATION_NO_TOOLS"


class IntegrationSettingsInvalidError(IntegrationFailedError):
    """`toolgate.json` (or the settings in a request) is not valid."""

    code = "SETTINGS_INVALID"


class ToolNameConflictError(ServiceError):
    """Two integrations of one assistant define a tool with the same name; model APIs need unique names."""

    code = "TOOL_NAME_CONFLICT"
    http_status = 409


class StoreUnavailableError(ServiceError):
    """AWS throttled or failed the call; retrying later is safe."""

    code = "STORE_UNAVAILABLE"
    http_status = 503


class InternalServiceError(ServiceError):
    """An unexpected fault; the message carries a correlation id, never the original exception text."""

    code = "INTERNAL_ERROR"
    http_status = 500


# --- Invoke: tool calls through the service ---------------------------------------------------


class ToolNotAvailableError(ServiceError):
    """The assistant may not use this tool: the same answer whether the tool exists elsewhere or nowhere."""

    code = "TOOL_NOT_AVAILABLE"
    http_status = 403


class CallInvalidError(ServiceError):
    """The body is neither `{"arguments": {...}}` nor a tool call object of a supported model API."""

    code = "CALL_INVALID"
    http_status = 400


class CallToolMismatchError(CallInvalidError):
    """The model-native call names a different tool than the URL."""

    code = "CALL_TOOL_MISMATCH"


class IdempotencyKeyInvalidError(ServiceError):
    """The `Idempotency-Key` header is empty, too long, or holds characters other than printable ASCII."""

    code = "IDEMPOTENCY_KEY_INVALID"
    http_status = 400


class IdempotencyKeyReusedError(ServiceError):
    """The `Idempotency-Key` was already used for a call with other arguments; use a new key."""

    code = "IDEMPOTENCY_KEY_REUSED"
    http_status = 422


class IdempotencyInProgressError(ServiceError):
    """A call with this `Idempotency-Key` is still running; retry once it has finished."""

    code = "IDEMPOTENCY_IN_PROGRESS"
    http_status = 409


class ContinuationNotFoundError(NotFoundError):
    """No continuation with this handle for the caller's tenant (never issued, expired or removed)."""

    code = "CONTINUATION_NOT_FOUND"


class ContinuationPageInvalidError(ServiceError):
    """The page number is not one of the continuation's pages."""

    code = "CONTINUATION_PAGE_INVALID"
    http_status = 400


# --- Jobs: long-running operations and their callbacks -------------------------------------------


class JobError(ServiceError):
    """A long-running operation could not be started, followed or read."""

    code = "JOB_ERROR"
    http_status = 409


class JobsUnavailableError(JobError):
    code = "JOBS_UNAVAILABLE"
    http_status = 503


class JobNotFoundError(NotFoundError):
    code = "JOB_NOT_FOUND"


class JobNotRunningError(JobError):
    code = "JOB_NOT_RUNNING"


class JobFailedError(JobError):
    """The target API reported that the operation failed."""

    code = "JOB_FAILED"


class JobTimedOutError(JobError):
    code = "JOB_TIMED_OUT"
    http_status = 504


class JobStatusUrlRefusedError(JobError):
    """The status URL the target gave leaves the integration's own origin."""

    code = "JOB_STATUS_URL_REFUSED"
    http_status = 502


class JobStatusUnreadableError(JobError):
    """The status endpoint's answer says neither running, done nor failed."""

    code = "JOB_STATUS_UNREADABLE"
    http_status = 502


class JobCancelledError(JobError):
    code = "JOB_CANCELLED"


class CallbackError(ServiceError):
    """A callback to `/v1/callbacks/{id}` that is refused; nothing was changed."""

    code = "CALLBACK_REFUSED"
    http_status = 403


class CallbackInvalidError(CallbackError):
    code = "CALLBACK_INVALID"


class CallbackExpiredError(CallbackError):
    code = "CALLBACK_EXPIRED"
    http_status = 410


class CallbackAlreadyUsedError(CallbackError):
    code = "CALLBACK_ALREADY_USED"
    http_status = 409


class CallbackTooLargeError(CallbackError):
    code = "CALLBACK_TOO_LARGE"
    http_status = 413


# --- Hardening (issue 11, keys slice): revocation and hostile request bodies ---------------------


class ApiKeyRevokedError(UnauthenticatedError):
    """The key was revoked after API Gateway cached the authorizer's Allow; the function's own read of the
    key refuses it. Only the key's holder sees this, so it may say why."""

    code = "API_KEY_REVOKED"


class RequestBodyTooDeepError(ServiceError):
    """A JSON request body nests deeper than the API reads; nothing was done."""

    code = "REQUEST_BODY_TOO_DEEP"


class MediaTypeUnsupportedError(ServiceError):
    """The body's Content-Type is not one the route reads (its JSON routes take `application/json`)."""

    code = "MEDIA_TYPE_UNSUPPORTED"
    http_status = 415


# --- Fairness: per-tenant limits on tool calls (issue 11, "one tenant must not starve the others") ------


class TenantLimitError(ServiceError):
    """The tenant is over one of its limits; nothing was called. `retry_after_seconds` is the advice the
    answer's `Retry-After` header carries."""

    code = "TENANT_LIMITED"
    http_status = 429

    def __init__(self, message: str, *, retry_after_seconds: int, details: Any = None) -> None:
        super().__init__(message, details={"retry_after_seconds": retry_after_seconds, **(details or {})})
        self.retry_after_seconds = retry_after_seconds


class RateLimitedError(TenantLimitError):
    code = "RATE_LIMITED"


class ConcurrencyLimitedError(TenantLimitError):
    code = "CONCURRENCY_LIMITED"


# --- Fairness follow-up: the deployment's ceilings on tenant limits (issue 11, ceil slice) --------------


class LimitAboveCeilingError(ServiceError):
    """A tenant's admin asked for limits above the ceilings the deployment's operator set; `details` names
    each limit, its ceiling and the setting that changes it. Nothing was stored."""

    code = "LIMIT_ABOVE_CEILING"
    http_status = 422


# --- Fairness: the per-tenant throttle in front of Lambda (issue 11, fair2 slice) -------------------


class UsageKeyError(ServiceError):
    """A tenant's API Gateway usage key (what the gateway throttles it by) cannot be set up."""

    code = "USAGE_KEY_FAILED"
    http_status = 502


class UsageKeyMissingError(ServiceError):
    """The tenant has no usage key in the deployment's usage plan, so API Gateway refuses its requests.
    API Gateway answers this itself (the INVALID_API_KEY gateway response); the class names its code."""

    code = "USAGE_KEY_MISSING"
    http_status = 403


# --- Local stack (`toolgate local`) ----------------------------------------------------------------


class LocalStackError(ToolgateError):
    """The local stack cannot start as asked."""

    code = "LOCAL_STACK_ERROR"


class LocalTemplateMissingError(LocalStackError):
    """No synthesized CloudFormation template where one was expected."""

    code = "LOCAL_TEMPLATE_MISSING"


class LocalTemplateError(LocalStackError):
    """The template uses something the local stack cannot resolve or build."""

    code = "LOCAL_TEMPLATE_INVALID"


class LocalHandlerMissingError(LocalStackError):
    """A Lambda function of the template has no handler module to run in-process."""

    code = "LOCAL_HANDLER_MISSING"


class LocalEnvironmentConflictError(LocalStackError):
    """Two functions set one environment variable to different values; in-process they share one."""

    code = "LOCAL_ENVIRONMENT_CONFLICT"


class LocalStackBusyError(LocalStackError):
    """Another local stack runs in this process (moto's state and the environment are per process)."""

    code = "LOCAL_STACK_BUSY"


# --- Local stack: loopback egress (issue 11, local slice) ----------------------------------------


class LocalLoopbackPortError(LocalStackError):
    """A loopback port the local stack will not let tools reach: its own (moto, the front door), or none."""

    code = "LOCAL_LOOPBACK_PORT_REFUSED"


# --- Remote API client (`toolgate upload|tools|invoke|jobs`, `toolgate_cli.client`) ---------------


class RemoteClientError(ToolgateError):
    """The client could not get an answer from the Toolgate API it was pointed at."""

    code = "REMOTE_CLIENT_ERROR"


class ClientConfigError(RemoteClientError):
    """The endpoint or the API key is missing or malformed (the key is never quoted)."""

    code = "CLIENT_CONFIG_INVALID"
    http_status = 400


class ApiUnreachableError(RemoteClientError):
    """No HTTP answer: the host does not resolve, refuses the connection, times out or breaks TLS."""

    code = "API_UNREACHABLE"
    http_status = 502


class ApiResponseInvalidError(RemoteClientError):
    """An answer that is not the Toolgate API's: not JSON, a redirect, or an unexpected shape."""

    code = "API_RESPONSE_INVALID"
    http_status = 502


class WaitTimedOutError(RemoteClientError):
    """A job or an upload was still running when the client stopped waiting for it."""

    code = "WAIT_TIMED_OUT"
    http_status = 504


class RemoteApiError(RemoteClientError):
    """The API refused the request. `api_code` is the API's own code (`JOB_NOT_FOUND`, ...), or one named
    after API Gateway's own answer (`API_KEY_INVALID` for its 401); `to_dict()` reports it as the code.
    `status` is the HTTP status, None for a refusal recorded rather than answered (a failed S3 upload)."""

    code = "REMOTE_API_ERROR"

    def __init__(
        self,
        message: str,
        *,
        api_code: str,
        status: int | None,
        details: Any = None,
        pointer: str | None = None,
    ) -> None:
        super().__init__(message, details=details, pointer=pointer)
        self.api_code = api_code
        self.status = status

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "code": self.api_code}


# --- Upload-time refusals (issue 11, compiler slice): oversized tools, URLs that can never be called ------


class ToolSchemaTooLargeError(OperationError):
    """A tool's schema stays over the size budget however deeply it is pruned; that operation is skipped."""

    code = "TOOL_SCHEMA_TOO_LARGE"


class ToolTooLargeError(IntegrationFailedError):
    """A compiled tool is larger than a stored tool may be (`ServiceSettings.max_tool_bytes`)."""

    code = "TOOL_TOO_LARGE"
    http_status = 413


class UrlRefusedError(ToolgateError):
    """A server or OAuth2 token URL can never be called under this deployment's egress policy.

    Raised by the pure URL checks (`toolgate.destinations`): at upload and when a credential is bound it
    is the answer; the call-time egress guard reports the same refusal as EGRESS_DENIED.
    """

    code = "URL_REFUSED"
    http_status = 422


class UrlInvalidError(UrlRefusedError):
    """The URL cannot be parsed safely, or its host is not a valid host name."""

    code = "URL_INVALID"


class UrlSchemeRefusedError(UrlRefusedError):
    """A scheme other than http or https."""

    code = "URL_SCHEME_REFUSED"


class UrlUserinfoRefusedError(UrlRefusedError):
    """`user:password@` in the URL: credentials belong in a bound credential, never in a URL."""

    code = "URL_USERINFO_REFUSED"


class UrlIpLiteralRefusedError(UrlRefusedError):
    """An IP literal the policy does not allow, or an ambiguous numeric host (`2130706433`, `127.1`)."""

    code = "URL_IP_LITERAL_REFUSED"


class UrlInternalHostRefusedError(UrlRefusedError):
    """`localhost`, a single-label name, or a `.internal`, `.local` or `.localhost` name, not allowed."""

    code = "URL_INTERNAL_HOST_REFUSED"


class ServerVariableUndefinedError(UrlRefusedError):
    """A server URL still holds a `{variable}` after the compiler filled in every default."""

    code = "SERVER_VARIABLE_UNDEFINED"


# --- MCP client configuration (issue 13, mcpcli slice: `toolgate mcp-config`) ----------------------------


class AssistantIdInvalidError(ClientConfigError):
    """The assistant given to `toolgate mcp-config` is not an assistant id, so no URL is built for it."""

    code = "ASSISTANT_ID_INVALID"


# --- x-toolgate on operations and parameters, and toolsets (issue 14, x-toolgate slice) --------------


class HiddenValueInvalidError(OperationError):
    """A hidden parameter's fixed value (`x-toolgate.value`) does not match the parameter's schema."""

    code = "X_TOOLGATE_VALUE_INVALID"


class ArgumentHiddenError(ArgumentsInvalidError):
    """The model sent an argument the admin fixed (`x-toolgate.hidden`)."""

    code = "ARGUMENT_HIDDEN"


class ParameterSettingMissingError(RequestBuildError):
    """A hidden parameter takes its value `from` an integration parameter setting that is not set."""

    code = "PARAMETER_SETTING_MISSING"


class ParameterSettingInvalidError(RequestBuildError):
    """An integration parameter setting does not match the schema of the hidden parameter it fills."""

    code = "PARAMETER_SETTING_INVALID"


# --- OpenAPI Overlays at compile and upload (issue 14, overlay slice) ---------------------------------


class OverlayInvalidError(SpecError):
    """An Overlay document is not valid, or one of its actions cannot be applied to the spec.

    `pointer` locates the bad part of the overlay (`/actions/2/target`); the upload is refused as a whole.
    """

    code = "OVERLAY_INVALID"


class RefCycleError(UnresolvableRefError):
    """A chain of `$ref`s that loops (or is too long): a defect of the spec, not a file left out of it."""


# --- MCP server (issue 13, core slice): JSON-RPC errors and the transport's HTTP refusals --------------


class McpError(ServiceError):
    """A JSON-RPC error answer of the MCP server. `rpc_code` is the code on the wire (JSON-RPC's or MCP's),
    `code` Toolgate's stable name for it (in `error.data.code`); `http_status` is the transport's status
    for it on a 2026-07-28 request (handshake-era requests get 200 for a method's own errors)."""

    code = "MCP_ERROR"
    http_status = 400
    rpc_code: ClassVar[int] = -32603


class McpParseError(McpError):
    code = "MCP_PARSE_ERROR"
    rpc_code = -32700


class McpInvalidRequestError(McpError):
    """Not one JSON-RPC 2.0 request or notification object: a batch array, a response, a bad envelope."""

    code = "MCP_INVALID_REQUEST"
    rpc_code = -32600


class McpMethodNotFoundError(McpError):
    code = "MCP_METHOD_NOT_FOUND"
    http_status = 404
    rpc_code = -32601


class McpInvalidParamsError(McpError):
    """The params fail the method's schema at the request's revision, or name a tool the assistant lacks."""

    code = "MCP_INVALID_PARAMS"
    rpc_code = -32602


class McpHeaderMismatchError(McpError):
    """A 2026-07-28 request's `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name` header disagrees with its
    body, or appears twice."""

    code = "MCP_HEADER_MISMATCH"
    rpc_code = -32020


class McpUnsupportedVersionError(McpError):
    """The request's protocol revision is not one this server speaks; `details` lists the ones it does."""

    code = "MCP_UNSUPPORTED_PROTOCOL_VERSION"
    rpc_code = -32022


class McpRequestRefusedError(McpError):
    """A method refused for a reason of the service's own (an assistant that does not exist, a name clash
    between its integrations): `data.code` is that reason's stable code, the HTTP status its own."""

    code = "MCP_REQUEST_REFUSED"
    #: In JSON-RPC's implementation-defined band (-32000 to -32019), which the SDK leaves free above -32002.
    rpc_code = -32010

    def __init__(self, message: str, *, http_status: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.status = http_status


class McpInternalError(McpError):
    """A fault of the server's own while answering; logged with its traceback, never sent."""

    code = "MCP_INTERNAL_ERROR"
    http_status = 500
    rpc_code = -32603


class McpMethodNotAllowedError(ServiceError):
    """Only POST: the server answers with JSON and opens no server-sent event stream."""

    code = "MCP_METHOD_NOT_ALLOWED"
    http_status = 405


class McpNotAcceptableError(ServiceError):
    """The request's `Accept` header does not list `application/json`, the only answer the server sends."""

    code = "MCP_NOT_ACCEPTABLE"
    http_status = 406


class McpOAuthNotSupportedError(NotFoundError):
    """An OAuth discovery request (`/.well-known/oauth-protected-resource...`): none is published yet."""

    code = "MCP_OAUTH_NOT_SUPPORTED"


class McpRequestTooLargeError(ServiceError):
    code = "MCP_REQUEST_TOO_LARGE"
    http_status = 413


# --- MCP Tasks (issue 13, tasks slice): a task is one of the caller's jobs --------------------------


class McpTaskNotFoundError(McpInvalidParamsError):
    """No task of the caller's tenant and assistant has this id (-32602, as the tasks spec says): another
    tenant's task answers exactly like one that never existed."""

    code = "MCP_TASK_NOT_FOUND"


class McpTaskEndedError(McpInvalidParamsError):
    """`tasks/cancel` (2025-11-25) of a task already completed, failed or cancelled (-32602)."""

    code = "MCP_TASK_ENDED"


class McpTaskStillWorkingError(McpError):
    """`tasks/result` waited as long as one HTTP request may, and the task is still working: nothing is
    wrong with it, ask again. A JSON-RPC error answer, so HTTP 200 as the handshake-era transport gives."""

    code = "MCP_TASK_STILL_WORKING"
    http_status = 200
    #: In JSON-RPC's implementation-defined band, next to MCP_REQUEST_REFUSED's -32010.
    rpc_code = -32011


class McpTaskNotSupportedError(McpMethodNotFoundError):
    """A 2025-11-25 `tools/call` asks for a task, but the tool is not long-running (its `taskSupport` is
    absent): -32601, as the tasks spec says."""

    code = "MCP_TASK_NOT_SUPPORTED"


# --- Tool search (issue 15, rank slice): the search index and its queries ------------------------------


class SearchQueryInvalidError(ServiceError):
    """A search query or limit that cannot be searched: empty, too long, or a limit below 1."""

    code = "SEARCH_QUERY_INVALID"
    http_status = 400


class SearchIndexError(ToolgateError):
    """A stored search index cannot be used: rebuild it from the assistant's stored tools."""

    code = "SEARCH_INDEX_CORRUPT"
    http_status = 500


class SearchIndexVersionError(SearchIndexError):
    """The index was written in a format or with an embedding model this code does not read."""

    code = "SEARCH_INDEX_UNSUPPORTED"


class SearchUnavailableError(ToolgateError):
    """Search cannot run here: the semantic stage's model or runtime is not installed, or the Python's
    SQLite lacks FTS5."""

    code = "SEARCH_UNAVAILABLE"
    http_status = 503


# --- Tool search on Bedrock embeddings (issue 15, slice bedrock) --------------------------------------


class BedrockEmbeddingError(SearchUnavailableError):
    """The semantic stage runs on Bedrock (`TOOLGATE_SEARCH_EMBEDDINGS=bedrock`) and Bedrock did not embed:
    refused (no access to the model), throttled, unreachable, or answered no vector."""

    code = "SEARCH_EMBEDDINGS_UNAVAILABLE"


# --- Catalogs at scale: token footprint and listing pages (issue 15, tokens slice) ----------------


class ListingCursorInvalidError(ServiceError):
    """A tool listing's `cursor` is not one the service gave: pass `next_cursor` back as it is."""

    code = "LISTING_CURSOR_INVALID"
    http_status = 400


class TokenizerUnavailableError(ToolgateError):
    """The shipped o200k_base vocabulary is missing or is not the file OpenAI publishes (its SHA-256
    differs): the deployment's dependency layer is broken; rebuild it from layers/requirements.lock."""

    code = "TOKENIZER_UNAVAILABLE"
    http_status = 500
