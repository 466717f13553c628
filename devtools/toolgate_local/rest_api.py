"""The template's REST API as API Gateway serves it: resources, methods, authorizers, stages, routing,
usage plans (their throttles) and gateway responses.

Routing follows API Gateway's REST rules: under each resource a literal path part beats `{var}`, which
beats `{proxy+}`, and a request that went down a specific resource does not fall back to a less specific
sibling; then the method, then `ANY`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolgate.errors import LocalTemplateError

from toolgate_local.intrinsics import Resolver
from toolgate_local.template import Template

#: API Gateway's longest integration timeout for a REST API (the default).
DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000
DEFAULT_AUTHORIZER_TTL_SECONDS = 300
_GREEDY = re.compile(r"\{(?P<name>[^{}+]+)\+\}")
_VARIABLE = re.compile(r"\{(?P<name>[^{}+]+)\}")
_FUNCTION_URI = re.compile(r"functions/(?P<arn>arn:[^/]+)/invocations$")
_HEADER_SOURCE = "method.request.header."
#: The integration request parameter that names the tenant of an event to Lambda's tenant isolation mode.
TENANT_ID_PARAMETER = "integration.request.header.X-Amz-Tenant-Id"
#: The sources of that parameter the front door serves: an authorizer context value, or a static 'value'.
_AUTHORIZER_CONTEXT_SOURCE = "context.authorizer."


@dataclass(frozen=True)
class ApiResource:
    resource_id: str
    #: The resource path as API Gateway reports it: `/v1/{proxy+}`.
    path: str
    path_part: str


@dataclass(frozen=True)
class ApiMethod:
    http_method: str
    authorization_type: str
    authorizer_id: str | None
    #: The function of an `AWS_PROXY` Lambda integration; None for integrations not served locally.
    function_arn: str | None
    timeout_seconds: float
    #: The method needs a usage key in a usage plan of its stage (`ApiKeyRequired`).
    api_key_required: bool = False
    #: Where the integration takes the event's tenant id for Lambda (`X-Amz-Tenant-Id`): the key of the
    #: authorizer's context, or the static value; None when it names no tenant.
    tenant_id: TenantIdSource | None = None


@dataclass(frozen=True)
class TenantIdSource:
    authorizer_key: str | None = None
    static: str | None = None

    def value(self, authorizer_context: Mapping[str, Any] | None) -> str | None:
        if self.static is not None:
            return self.static
        value = (authorizer_context or {}).get(self.authorizer_key or "")
        return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class TokenAuthorizer:
    authorizer_id: str
    function_arn: str
    header: str
    validation: re.Pattern[str] | None
    ttl_seconds: int


@dataclass(frozen=True)
class UsagePlan:
    """A usage plan's throttle (a token bucket per API key) and the stages it applies to."""

    plan_id: str
    rate_per_second: float
    burst: int
    stages: frozenset[str]


@dataclass(frozen=True)
class GatewayResponse:
    """An answer API Gateway gives itself, as the template customises it (static templates only)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


#: API Gateway's own answers when the template does not customise them.
DEFAULT_GATEWAY_RESPONSES: Mapping[str, GatewayResponse] = {
    "THROTTLED": GatewayResponse(429, (), b'{"message":"Too Many Requests"}'),
    "INVALID_API_KEY": GatewayResponse(403, (), b'{"message":"Forbidden"}'),
}
_RESPONSE_HEADER = "gatewayresponse.header."


@dataclass(frozen=True)
class RestApiModel:
    api_id: str
    resources: Mapping[str, ApiResource]
    #: Children of each resource id.
    children: Mapping[str, Sequence[ApiResource]]
    root_id: str
    methods: Mapping[tuple[str, str], ApiMethod]
    authorizers: Mapping[str, TokenAuthorizer]
    binary_media_types: tuple[str, ...]
    #: Stage name: its stage variables.
    stages: Mapping[str, Mapping[str, str] | None]
    #: Where methods that require an API key get it: `HEADER` (X-API-Key) or `AUTHORIZER`.
    api_key_source: str = "HEADER"
    usage_plans: tuple[UsagePlan, ...] = ()
    #: Customised gateway responses by type (`THROTTLED`, ...).
    gateway_responses: Mapping[str, GatewayResponse] = field(default_factory=dict)
    #: What the front door does not serve, for the startup output.
    limitations: tuple[str, ...] = ()

    def route(self, segments: Sequence[str]) -> tuple[ApiResource, dict[str, str]] | None:
        """The resource a request path matches, and its path parameters."""
        resource = self.resources[self.root_id]
        parameters: dict[str, str] = {}
        for index, segment in enumerate(segments):
            children = self.children.get(resource.resource_id, ())
            literal = next((child for child in children if child.path_part == segment), None)
            variable = next((child for child in children if _VARIABLE.fullmatch(child.path_part)), None)
            greedy = next((child for child in children if _GREEDY.fullmatch(child.path_part)), None)
            if literal is not None:
                resource = literal
            elif variable is not None:
                resource = variable
                parameters[variable.path_part[1:-1]] = segment
            elif greedy is not None:
                parameters[greedy.path_part[1:-2]] = "/".join(segments[index:])
                return greedy, parameters
            else:
                return None
        return resource, parameters

    def method(self, resource_id: str, http_method: str) -> ApiMethod | None:
        return self.methods.get((resource_id, http_method)) or self.methods.get((resource_id, "ANY"))

    def gateway_response(self, response_type: str) -> GatewayResponse:
        return self.gateway_responses.get(response_type) or DEFAULT_GATEWAY_RESPONSES[response_type]

    def usage_plans_of(self, stage: str) -> dict[str, UsagePlan]:
        """The usage plans that apply to `stage` of this API, by id."""
        return {plan.plan_id: plan for plan in self.usage_plans if stage in plan.stages}

    def is_binary(self, media_type: str | None) -> bool:
        if not media_type:
            return False
        bare = media_type.split(";", 1)[0].strip().lower()
        return any(fnmatch.fnmatchcase(bare, pattern.lower()) for pattern in self.binary_media_types)


def rest_api_model(template: Template, resolver: Resolver) -> RestApiModel | None:
    """The template's REST API as the front door serves it; None when the template has none."""
    apis = template.of_type("AWS::ApiGateway::RestApi")
    if not apis:
        return None
    if len(apis) > 1:
        raise LocalTemplateError(f"The front door serves one REST API; the template has {len(apis)}.")
    (api_logical_id,) = apis
    api_id = resolver.resolve({"Ref": api_logical_id})
    root_id = resolver.resolve({"Fn::GetAtt": [api_logical_id, "RootResourceId"]})
    limitations: list[str] = []

    parents: dict[str, str] = {}
    parts: dict[str, str] = {}
    for logical_id in template.of_type("AWS::ApiGateway::Resource"):
        properties = template.properties(logical_id)
        resource_id = resolver.resolve({"Ref": logical_id})
        parents[resource_id] = resolver.resolve(properties["ParentId"])
        parts[resource_id] = resolver.resolve_string(properties["PathPart"], f"{logical_id} PathPart")
    resources = {root_id: ApiResource(root_id, "/", "")}
    for resource_id, path_part in parts.items():
        resources[resource_id] = ApiResource(
            resource_id, _resource_path(resource_id, parents, parts), path_part
        )
    children: dict[str, list[ApiResource]] = {}
    for resource_id, parent_id in parents.items():
        children.setdefault(parent_id, []).append(resources[resource_id])

    authorizers: dict[str, TokenAuthorizer] = {}
    for logical_id in template.of_type("AWS::ApiGateway::Authorizer"):
        authorizer = _token_authorizer(logical_id, template.properties(logical_id), resolver)
        if isinstance(authorizer, str):
            limitations.append(authorizer)
        else:
            authorizers[authorizer.authorizer_id] = authorizer

    methods: dict[tuple[str, str], ApiMethod] = {}
    for logical_id in template.of_type("AWS::ApiGateway::Method"):
        properties = template.properties(logical_id)
        resource_id = resolver.resolve(properties["ResourceId"])
        http_method = resolver.resolve_string(properties["HttpMethod"], f"{logical_id} HttpMethod").upper()
        integration = properties.get("Integration", {})
        function_arn = None
        if integration.get("Type") == "AWS_PROXY":
            function_arn = _integration_function_arn(
                resolver.resolve_string(integration["Uri"], f"{logical_id} Uri")
            )
        if function_arn is None:
            limitations.append(
                f"{http_method} {resources[resource_id].path}: {integration.get('Type', 'no')} integration "
                "is not served locally (only Lambda proxy integrations are)"
            )
        authorization_type = str(properties.get("AuthorizationType", "NONE"))
        if authorization_type not in {"NONE", "CUSTOM"}:
            limitations.append(
                f"{http_method} {resources[resource_id].path}: {authorization_type} authorization is refused "
                "locally (only NONE and CUSTOM TOKEN authorizers are served)"
            )
        authorizer_id = resolver.resolve(properties["AuthorizerId"]) if "AuthorizerId" in properties else None
        timeout_ms = int(integration.get("TimeoutInMillis", DEFAULT_INTEGRATION_TIMEOUT_MS))
        tenant_id = _tenant_id_source(
            resolver.resolve(integration.get("RequestParameters", {})).get(TENANT_ID_PARAMETER)
        )
        if isinstance(tenant_id, str):
            limitations.append(f"{http_method} {resources[resource_id].path}: {tenant_id}")
            tenant_id = None
        methods[(resource_id, http_method)] = ApiMethod(
            http_method=http_method,
            authorization_type=authorization_type,
            authorizer_id=authorizer_id,
            function_arn=function_arn,
            timeout_seconds=timeout_ms / 1000,
            api_key_required=bool(resolver.resolve(properties.get("ApiKeyRequired", False))),
            tenant_id=tenant_id,
        )

    stages: dict[str, Mapping[str, str] | None] = {}
    for logical_id in template.of_type("AWS::ApiGateway::Stage"):
        properties = template.properties(logical_id)
        variables = resolver.resolve(properties.get("Variables")) if "Variables" in properties else None
        stages[resolver.resolve_string(properties["StageName"], f"{logical_id} StageName")] = variables
    binary = tuple(resolver.resolve(template.properties(api_logical_id).get("BinaryMediaTypes", [])))
    api_key_source = str(
        resolver.resolve(template.properties(api_logical_id).get("ApiKeySourceType", "HEADER"))
    )
    usage_plans = tuple(
        _usage_plan(logical_id, template.properties(logical_id), resolver, api_id)
        for logical_id in template.of_type("AWS::ApiGateway::UsagePlan")
    )
    gateway_responses: dict[str, GatewayResponse] = {}
    for logical_id in template.of_type("AWS::ApiGateway::GatewayResponse"):
        response_type, response = _gateway_response(logical_id, template.properties(logical_id), resolver)
        gateway_responses[response_type] = response
        if "QUOTA" in response_type:
            limitations.append(f"gateway response {response_type}: usage plan quotas are not kept locally")
    return RestApiModel(
        api_id=api_id,
        resources=resources,
        children=children,
        root_id=root_id,
        methods=methods,
        authorizers=authorizers,
        binary_media_types=binary,
        stages=stages,
        api_key_source=api_key_source,
        usage_plans=usage_plans,
        gateway_responses=gateway_responses,
        limitations=tuple(limitations),
    )


def _usage_plan(logical_id: str, properties: Mapping[str, Any], resolver: Resolver, api_id: str) -> UsagePlan:
    throttle = resolver.resolve(properties.get("Throttle", {}))
    stages = frozenset(
        str(stage["Stage"])
        for stage in resolver.resolve(properties.get("ApiStages", []))
        if stage.get("ApiId") == api_id
    )
    if "RateLimit" not in throttle or "BurstLimit" not in throttle:
        raise LocalTemplateError(
            f"{logical_id}: the front door keeps usage plan throttles only; this plan has no RateLimit and "
            "BurstLimit."
        )
    return UsagePlan(
        plan_id=resolver.resolve({"Ref": logical_id}),
        rate_per_second=float(throttle["RateLimit"]),
        burst=int(throttle["BurstLimit"]),
        stages=stages,
    )


def _gateway_response(
    logical_id: str, properties: Mapping[str, Any], resolver: Resolver
) -> tuple[str, GatewayResponse]:
    response_type = resolver.resolve_string(properties["ResponseType"], f"{logical_id} ResponseType")
    default = DEFAULT_GATEWAY_RESPONSES.get(response_type)
    status = properties.get("StatusCode") or (default.status if default else 500)
    headers: list[tuple[str, str]] = []
    for name, value in resolver.resolve(properties.get("ResponseParameters", {})).items():
        literal = str(value)
        if not (name.startswith(_RESPONSE_HEADER) and literal.startswith("'") and literal.endswith("'")):
            raise LocalTemplateError(
                f"{logical_id}: the front door serves static gateway response headers only, not {name}."
            )
        headers.append((name.removeprefix(_RESPONSE_HEADER), literal[1:-1]))
    templates = resolver.resolve(properties.get("ResponseTemplates", {}))
    body = templates.get("application/json")
    if body is None:
        return response_type, GatewayResponse(
            int(status), tuple(headers), default.body if default else b'{"message":null}'
        )
    if "$" in body or "#" in body:
        raise LocalTemplateError(
            f"{logical_id}: the front door serves static application/json gateway response templates only."
        )
    return response_type, GatewayResponse(int(status), tuple(headers), str(body).encode("utf-8"))


def _tenant_id_source(source: Any) -> TenantIdSource | str | None:
    """The tenant id mapping of an integration, or why the front door cannot serve it."""
    if source is None:
        return None
    text = str(source)
    if text.startswith(_AUTHORIZER_CONTEXT_SOURCE):
        return TenantIdSource(authorizer_key=text.removeprefix(_AUTHORIZER_CONTEXT_SOURCE))
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return TenantIdSource(static=text[1:-1])
    return (
        f"the tenant id is mapped from {text}; only an authorizer context value or a static value is served "
        "locally, so its calls fail as Lambda fails a tenant-isolated call without one"
    )


def _integration_function_arn(uri: str) -> str | None:
    """The Lambda function in an integration URI: `arn:...:lambda:path/.../functions/{arn}/invocations`."""
    match = _FUNCTION_URI.search(uri)
    return match.group("arn") if match else None


def _resource_path(resource_id: str, parents: Mapping[str, str], parts: Mapping[str, str]) -> str:
    path: list[str] = []
    current = resource_id
    while current in parts:
        path.append(parts[current])
        current = parents.get(current, "")
    return "/" + "/".join(reversed(path))


def _token_authorizer(
    logical_id: str, properties: Mapping[str, Any], resolver: Resolver
) -> TokenAuthorizer | str:
    authorizer_id = resolver.resolve({"Ref": logical_id})
    authorizer_type = properties.get("Type", "TOKEN")
    source = str(properties.get("IdentitySource", ""))
    function_arn = _integration_function_arn(
        resolver.resolve_string(properties.get("AuthorizerUri", ""), logical_id)
    )
    if authorizer_type != "TOKEN" or not source.startswith(_HEADER_SOURCE) or function_arn is None:
        return (
            f"authorizer {logical_id} ({authorizer_type}) is not served locally: methods using it are refused"
        )
    expression = properties.get("IdentityValidationExpression")
    return TokenAuthorizer(
        authorizer_id=authorizer_id,
        function_arn=function_arn,
        header=source.removeprefix(_HEADER_SOURCE),
        validation=re.compile(str(expression)) if expression else None,
        ttl_seconds=int(properties.get("AuthorizerResultTtlInSeconds", DEFAULT_AUTHORIZER_TTL_SECONDS)),
    )
