"""The management REST API (API Gateway REST, Lambda proxy). Each route reads the request, makes one call
to `ManagementService`, and returns its result; errors become `{"error": {"code", "message"}}`.

The tenant comes only from the authorizer's context (`requestContext.authorizer`), and every route first
reads the caller's key row again: API Gateway's cached Allow outlives a revocation.
"""

from __future__ import annotations

import gc

# Cold start: no collection pass while the modules load; `resume_after_init()` ends the handler.
gc.disable()

from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as NoRouteError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from toolgate.adapters.aws.telemetry import logger, metrics, record_ingest, tracer
from toolgate.edge import body_bytes, error_body, error_headers, refused, unexpected
from toolgate.errors import (
    ApiRequestInvalidError,
    MediaTypeUnsupportedError,
    RouteNotFoundError,
    ToolgateError,
    UnauthenticatedError,
)
from toolgate.gc_pause import resume_after_init
from toolgate.service.api_keys import require_live_key
from toolgate.service.bodies import parse_json_body
from toolgate.service.limits import TenantLimits
from toolgate.service.management import ManagementService
from toolgate.service.models import IntegrationSettings
from toolgate.service.tenancy import TenantContext, tenant_context_from_event
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
from toolgate.settings import get_limit_settings, get_search_settings, get_service_settings
from toolgate.wiring import Wiring

API_TITLE = "Toolgate management API"
API_VERSION = "1"
#: The listed assistant's tool definitions in tokens, in the listing's format (also its `token_count`).
TOOL_TOKENS_HEADER = "X-Toolgate-Tool-Tokens"
_CALLER = "caller"

app = APIGatewayRestResolver(enable_validation=True, debug=False, json_body_deserializer=parse_json_body)
wiring = Wiring()


def _caller() -> TenantContext:
    """The verified caller, whose key is still unrevoked now (not only when the authorizer ran)."""
    caller = app.context.get(_CALLER)
    if not isinstance(caller, TenantContext):
        raise UnauthenticatedError("The request was not authenticated: no authorizer context.")
    require_live_key(wiring.resources.for_tenant(caller.tenant_id).store, caller)
    return caller


def _service() -> ManagementService:
    caller = _caller()
    return ManagementService(
        caller,
        wiring.resources.for_tenant(caller.tenant_id),
        get_service_settings(),
        ingest_observer=record_ingest,
        limit_settings=get_limit_settings(),
        catalogs=wiring.catalogs,
        searcher=wiring.searcher,
        search_settings=get_search_settings(),
    )


def _body_bytes() -> bytes:
    return body_bytes(app.current_event.raw_event, undecodable=_not_base64)


def _not_base64() -> ApiRequestInvalidError:
    return ApiRequestInvalidError("The body is not valid base64; nothing was done.")


# --- API keys ---------------------------------------------------------------------------------


@app.post("/v1/api-keys", status_code=201, tags=["api-keys"], summary="Create an API key (shown once)")
def create_api_key(body: Annotated[ApiKeyCreate, Body()]) -> IssuedKeyView:
    return _service().create_api_key(body)


@app.get("/v1/api-keys", tags=["api-keys"], summary="List API keys (never their values)")
def list_api_keys() -> ApiKeyList:
    return _service().list_api_keys()


@app.delete("/v1/api-keys/<key_id>", tags=["api-keys"], summary="Revoke an API key")
def revoke_api_key(key_id: str) -> ApiKeyView:
    return _service().revoke_api_key(key_id)


# --- Integrations -----------------------------------------------------------------------------


@app.post("/v1/integrations", status_code=201, tags=["integrations"], summary="Create an integration")
def create_integration(body: Annotated[IntegrationCreate, Body()]) -> IntegrationView:
    return _service().create_integration(body)


@app.get("/v1/integrations", tags=["integrations"], summary="List integrations")
def list_integrations() -> IntegrationList:
    return _service().list_integrations()


@app.get("/v1/integrations/<integration_id>", tags=["integrations"], summary="Read an integration")
def get_integration(integration_id: str) -> IntegrationView:
    return _service().get_integration(integration_id)


@app.put(
    "/v1/integrations/<integration_id>",
    tags=["integrations"],
    summary="Upload a spec in the body, up to API Gateway's payload limit",
    description="The body is the spec itself: OpenAPI or Swagger 2.0 as YAML or JSON text, or a zip "
    "(`Content-Type: application/zip`) holding one root `openapi.yaml|json` and any OpenAPI Overlays as "
    "`*.overlay.yaml|json` members, applied in the order of their paths. The integration is created if "
    "needed. A spec that cannot be used answers with its typed error and is recorded on the integration; "
    "a previous ready version stays in service. Larger specs: POST .../upload-url.",
)
def upload_spec(integration_id: str) -> IntegrationView:
    return _service().upload_spec(
        integration_id, _body_bytes(), app.current_event.headers.get("content-type")
    )


@app.delete("/v1/integrations/<integration_id>", tags=["integrations"], summary="Delete an integration")
def delete_integration(integration_id: str) -> Response[None]:
    _service().delete_integration(integration_id)
    return Response(status_code=204)


@app.get("/v1/integrations/<integration_id>/status", tags=["integrations"], summary="Upload status")
def integration_status(integration_id: str) -> IntegrationStatusView:
    return _service().integration_status(integration_id)


@app.get(
    "/v1/integrations/<integration_id>/report", tags=["integrations"], summary="Validation and lint report"
)
def integration_report(integration_id: str) -> IntegrationReport:
    return _service().integration_report(integration_id)


@app.put("/v1/integrations/<integration_id>/settings", tags=["integrations"], summary="Replace the settings")
def update_settings(integration_id: str, settings: Annotated[IntegrationSettings, Body()]) -> IntegrationView:
    return _service().update_settings(integration_id, settings)


@app.post(
    "/v1/integrations/<integration_id>/upload-url",
    tags=["integrations"],
    summary="A presigned S3 URL to PUT a large spec to",
)
def create_upload_url(
    integration_id: str, upload_format: Annotated[UploadFormat, Query(alias="format")] = "yaml"
) -> UploadUrl:
    return _service().create_upload_url(integration_id, upload_format)


@app.put(
    "/v1/integrations/<integration_id>/credential",
    tags=["credentials"],
    summary="Bind the integration's credential (write-only: it is never shown again)",
)
def bind_credential(integration_id: str, credential: Annotated[dict[str, Any], Body()]) -> CredentialView:
    return _service().bind_credential(integration_id, credential)


@app.get(
    "/v1/integrations/<integration_id>/credential", tags=["credentials"], summary="Credential binding state"
)
def get_credential(integration_id: str) -> CredentialView:
    return _service().get_credential(integration_id)


# --- Assistants -------------------------------------------------------------------------------


@app.post("/v1/assistants", status_code=201, tags=["assistants"], summary="Create an assistant")
def create_assistant(body: Annotated[AssistantCreate, Body()]) -> AssistantView:
    return _service().create_assistant(body)


@app.get("/v1/assistants", tags=["assistants"], summary="List assistants")
def list_assistants() -> AssistantList:
    return _service().list_assistants()


@app.get("/v1/assistants/<assistant_id>", tags=["assistants"], summary="Read an assistant")
def get_assistant(assistant_id: str) -> AssistantView:
    return _service().get_assistant(assistant_id)


@app.put("/v1/assistants/<assistant_id>", tags=["assistants"], summary="Update an assistant")
def update_assistant(assistant_id: str, body: Annotated[AssistantUpdate, Body()]) -> AssistantView:
    return _service().update_assistant(assistant_id, body)


@app.delete("/v1/assistants/<assistant_id>", tags=["assistants"], summary="Delete an assistant")
def delete_assistant(assistant_id: str) -> Response[None]:
    _service().delete_assistant(assistant_id)
    return Response(status_code=204)


@app.get(
    "/v1/assistants/<assistant_id>/tools",
    tags=["assistants"],
    summary="The assistant's tools in a model API's format (agents may call this)",
    description="A page of the tools (`limit`, capped; follow `next_cursor`), with what all of them cost "
    "in tokens in that format (`token_count` and the `X-Toolgate-Tool-Tokens` header) and warnings past "
    "the token budget or the format's tool cap. Over the search threshold (or with `search=true`): the "
    "pinned tools and `toolgate_search_tools`; with `query`: the `limit` tools best matching it.",
)
def list_assistant_tools(
    assistant_id: str,
    tool_format: Annotated[ToolFormat, Query(alias="format")] = "openai",
    *,
    cursor: Annotated[str | None, Query(description="a page's `next_cursor`, as given")] = None,
    limit: Annotated[int | None, Query(ge=1, description="page size, or search results (capped)")] = None,
    # Tool search (issue 15, slice wire): docs/search.md
    search: Annotated[bool | None, Query()] = None,
    query: Annotated[str | None, Query()] = None,
) -> Response[AssistantTools]:
    listing = _service().list_assistant_tools(
        assistant_id, tool_format, cursor, limit, search=search, query=query
    )
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=listing,
        headers={TOOL_TOKENS_HEADER: str(listing.token_count)},
    )


# --- Limits ------------------------------------------------------------------------------------


@app.get("/v1/limits", tags=["limits"], summary="The tenant's limits on tool calls (rate, concurrent calls)")
def get_limits() -> LimitsView:
    return _service().get_limits()


@app.put(
    "/v1/limits",
    tags=["limits"],
    summary="Set the tenant's limits on tool calls",
    description="Tool calls per second, the burst after a quiet spell and outbound calls open at once, each "
    "at most its `ceilings` value (GET shows them). Applied everywhere within `applies_within_seconds`.",
)
def set_limits(limits: Annotated[TenantLimits, Body()]) -> LimitsView:
    return _service().set_limits(limits)


# --- The API's own description ----------------------------------------------------------------


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    _caller()
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_openapi_json())


@cache
def _openapi_json() -> str:
    return app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description="Manage integrations (OpenAPI specs compiled into tools), credentials, assistants and "
        "API keys. Every route needs `Authorization: Bearer <tenant API key>`.",
        security_schemes={"tenantApiKey": HTTPBearer(bearerFormat="tg_{tenant}_{key_id}_{secret}")},
        security=[{"tenantApiKey": []}],
    )


# --- Errors -----------------------------------------------------------------------------------


def _error(error: ToolgateError) -> Response[dict[str, Any]]:
    return Response(
        status_code=error.http_status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(error),
        headers=error_headers(error),
    )


def _handle_toolgate_error(error: ToolgateError) -> Response[dict[str, Any]]:
    return _error(refused(error))


def _handle_invalid_request(error: RequestValidationError) -> Response[dict[str, Any]]:
    problems = [
        {"loc": list(problem.get("loc", ())), "type": problem.get("type"), "message": problem.get("msg")}
        for problem in error.errors()
    ]
    return _handle_toolgate_error(
        ApiRequestInvalidError("The request does not match the route's parameters or body.", details=problems)
    )


def _handle_unsupported_media_type(_: RequestUnsupportedContentType) -> Response[dict[str, Any]]:
    return _handle_toolgate_error(
        MediaTypeUnsupportedError(
            "This route reads a JSON body; send it with Content-Type: application/json. Nothing was done."
        )
    )


def _handle_unknown_route(_: NoRouteError) -> Response[dict[str, Any]]:
    event = app.current_event
    return _error(RouteNotFoundError(f"No route {event.http_method} {event.path}."))


def _handle_unexpected(error: Exception) -> Response[dict[str, Any]]:
    return _error(unexpected(error, app.lambda_context))


app.exception_handler_manager.update_exception_handlers(
    {
        ToolgateError: _handle_toolgate_error,
        RequestValidationError: _handle_invalid_request,
        RequestUnsupportedContentType: _handle_unsupported_media_type,
        NoRouteError: _handle_unknown_route,
        Exception: _handle_unexpected,
    }
)


# --- Entry point ------------------------------------------------------------------------------


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        caller: TenantContext | None = tenant_context_from_event(event)
    except UnauthenticatedError:
        caller = None
    if caller is not None:
        logger.append_keys(tenant_id=caller.tenant_id, principal=caller.principal, role=caller.role.value)
        app.context[_CALLER] = caller
    return app.resolve(event, context)


# Init is done: what it made leaves the collector's generations, and collection resumes.
resume_after_init()
