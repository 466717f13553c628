"""The front door: an HTTP server that serves the template's REST API the way API Gateway does.

It routes each request (`/{stage}/...`) through the template's REST API (`toolgate_local.rest_api`),
runs the method's TOKEN authorizer (its `IdentityValidationExpression` first, its decision
cached per token for the authorizer's TTL), applies the usage plan's throttle to the method's API key
(the authorizer's `usageIdentifierKey` when the API's key source is AUTHORIZER; over it, or with no key in
a plan, the template's THROTTLED or INVALID_API_KEY gateway response, before any function runs), builds
the Lambda proxy event, invokes the integration's function through moto's Lambda `Invoke` and writes the
proxy response back.

Requests are served at once, each on its own thread, as API Gateway and Lambda serve them: a function
runs as many events at the same time as its reserved concurrency (`toolgate_local.handlers
.ExecutionEnvironments`), and one more is throttled by Lambda, which API Gateway answers with 500.

Answers the front door gives itself are API Gateway's: `{"message": ...}` with API Gateway's status, or the
template's gateway response where it customises one.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from toolgate_local.http_server import LocalHTTPServer
from toolgate_local.intrinsics import PseudoParameters
from toolgate_local.rest_api import ApiMethod, ApiResource, GatewayResponse, RestApiModel
from toolgate_local.usage_plans import UsagePlanThrottle

#: API Gateway refuses larger request bodies with 413.
MAX_BODY_BYTES = 10 * 1024 * 1024
_READ_CHUNK = 64 * 1024

_logger = logging.getLogger("toolgate-local")
#: Lambda's refusals to run an event, which API Gateway answers with 500, and what each one means.
_LAMBDA_REFUSALS = {
    "TooManyRequestsException": "every execution environment is busy",
    "InvalidParameterValueException": "the event's tenant id does not fit the function's tenancy",
}


# --- Requests ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    #: The request target as sent: path and query.
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str


@dataclass(frozen=True)
class OutgoingResponse:
    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class _Authorized:
    context: dict[str, Any]
    #: The authorizer's `usageIdentifierKey`: the API key a usage plan throttles the request by.
    usage_key: str | None = None


@dataclass
class _AuthorizerCache:
    entries: dict[tuple[str, str], tuple[float, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[str, str]) -> dict[str, Any] | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] <= time.monotonic():
                self.entries.pop(key, None)
                return None
            return entry[1]

    def put(self, key: tuple[str, str], ttl_seconds: int, answer: dict[str, Any]) -> None:
        if ttl_seconds > 0:
            with self.lock:
                self.entries[key] = (time.monotonic() + ttl_seconds, answer)


def message(status: int, text: str | None, *, request_id: str | None = None) -> OutgoingResponse:
    """An answer API Gateway gives itself: `{"message": ...}`."""
    headers = [("Content-Type", "application/json")]
    if request_id:
        headers.append(("x-amzn-RequestId", request_id))
    return OutgoingResponse(status, headers, json.dumps({"message": text}).encode("utf-8"))


def gateway_answer(response: GatewayResponse, request_id: str) -> OutgoingResponse:
    """A gateway response of the template (or API Gateway's default for its type)."""
    headers = [("Content-Type", "application/json"), *response.headers, ("x-amzn-RequestId", request_id)]
    return OutgoingResponse(response.status, headers, response.body)


class FrontDoor:
    """Turns requests into API Gateway REST proxy events and calls the functions through moto."""

    def __init__(
        self, api: RestApiModel, *, session: Any, endpoint_url: str, pseudo: PseudoParameters
    ) -> None:
        self.api = api
        self._session = session
        self._endpoint_url = endpoint_url
        self._pseudo = pseudo
        self._clients: dict[float, Any] = {}
        self._clients_lock = threading.Lock()
        self._authorizer_cache = _AuthorizerCache()
        self.usage_plans = UsagePlanThrottle(session.client("apigateway", endpoint_url=endpoint_url))

    def handle(self, request: IncomingRequest) -> OutgoingResponse:
        request_id = str(uuid.uuid4())
        received = time.time()
        split = urlsplit(request.target)
        segments = [unquote(part) for part in split.path.split("/") if part]
        if not segments or segments[0] not in self.api.stages:
            return message(403, "Forbidden", request_id=request_id)
        stage, path_segments = segments[0], segments[1:]
        routed = self.api.route(path_segments)
        method = self.api.method(routed[0].resource_id, request.method) if routed else None
        if routed is None or method is None:
            return message(403, "Missing Authentication Token", request_id=request_id)
        resource, path_parameters = routed
        path = "/" + "/".join(path_segments)
        authorizer_context: dict[str, Any] | None = None
        usage_key: str | None = None
        if method.authorization_type == "CUSTOM":
            decision = self._authorize(method, request, stage=stage, path=path, request_id=request_id)
            if isinstance(decision, OutgoingResponse):
                return decision
            authorizer_context, usage_key = decision.context, decision.usage_key
        elif method.authorization_type != "NONE":
            return message(
                403, f"{method.authorization_type} authorization is not served locally", request_id=request_id
            )
        if method.api_key_required:
            if self.api.api_key_source != "AUTHORIZER":
                usage_key = _last_header(request.headers, "x-api-key")
            refusal = self._throttle(usage_key, stage=stage, request_id=request_id)
            if refusal is not None:
                return refusal
        if method.function_arn is None:
            return message(500, "Internal server error", request_id=request_id)
        tenant_id = method.tenant_id.value(authorizer_context) if method.tenant_id is not None else None
        if method.tenant_id is not None and tenant_id is None:
            # API Gateway sends no X-Amz-Tenant-Id, and Lambda refuses to run a tenant-isolated event.
            _logger.warning("%s %s maps no tenant id for %s", request.method, path, method.function_arn)
            return message(500, "Internal server error", request_id=request_id)
        event = self._event(
            request,
            resource=resource,
            path=path,
            query=split.query,
            stage=stage,
            path_parameters=path_parameters,
            authorizer_context=authorizer_context,
            request_id=request_id,
            received=received,
        )
        return self._integrate(method, event, request, request_id=request_id, tenant_id=tenant_id)

    # --- Usage plans --------------------------------------------------------------------------------

    def _throttle(self, usage_key: str | None, *, stage: str, request_id: str) -> OutgoingResponse | None:
        """API Gateway's answer when the key is in no usage plan of the stage, or over its throttle."""
        plans = self.api.usage_plans_of(stage)
        admitted = self.usage_plans.admit(usage_key, plans, stage) if usage_key and plans else None
        if admitted is None:
            return gateway_answer(self.api.gateway_response("INVALID_API_KEY"), request_id)
        if not admitted:
            return gateway_answer(self.api.gateway_response("THROTTLED"), request_id)
        return None

    # --- Authorizer ---------------------------------------------------------------------------------

    def _authorize(
        self, method: ApiMethod, request: IncomingRequest, *, stage: str, path: str, request_id: str
    ) -> _Authorized | OutgoingResponse:
        authorizer = self.api.authorizers.get(method.authorizer_id or "")
        if authorizer is None:
            return message(500, None, request_id=request_id)
        token = _last_header(request.headers, authorizer.header)
        if not token or (authorizer.validation is not None and not authorizer.validation.fullmatch(token)):
            return message(401, "Unauthorized", request_id=request_id)
        method_arn = (
            f"arn:{self._pseudo.partition}:execute-api:{self._pseudo.region}:{self._pseudo.account_id}:"
            f"{self.api.api_id}/{stage}/{request.method}{path}"
        )
        cache_key = (authorizer.authorizer_id, token)
        started = time.monotonic()
        answer = self._authorizer_cache.get(cache_key)
        if answer is None:
            event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
            failed, payload = self._invoke(authorizer.function_arn, event, timeout_seconds=30.0)
            if failed:
                if isinstance(payload, dict) and payload.get("errorMessage") == "Unauthorized":
                    return message(401, "Unauthorized", request_id=request_id)
                _logger.warning("authorizer %s failed: %s", authorizer.function_arn, payload)
                return message(500, None, request_id=request_id)
            if not isinstance(payload, dict) or not isinstance(payload.get("policyDocument"), dict):
                return message(500, None, request_id=request_id)
            answer = payload
            self._authorizer_cache.put(cache_key, authorizer.ttl_seconds, answer)
        effect = policy_effect(answer["policyDocument"], method_arn)
        if effect == "Deny":
            return message(
                403,
                "User is not authorized to access this resource with an explicit deny",
                request_id=request_id,
            )
        if effect != "Allow":
            return message(403, "User is not authorized to access this resource", request_id=request_id)
        context = dict(answer.get("context") or {})
        context["principalId"] = answer.get("principalId")
        context["integrationLatency"] = int((time.monotonic() - started) * 1000)
        usage_key = answer.get("usageIdentifierKey")
        return _Authorized(context, usage_key if isinstance(usage_key, str) else None)

    # --- Integration --------------------------------------------------------------------------------

    def _event(
        self,
        request: IncomingRequest,
        *,
        resource: ApiResource,
        path: str,
        query: str,
        stage: str,
        path_parameters: Mapping[str, str],
        authorizer_context: dict[str, Any] | None,
        request_id: str,
        received: float,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers:
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        pairs = parse_qsl(query, keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for name, value in pairs:
            multi_query.setdefault(name, []).append(value)
        content_type = _last_header(request.headers, "content-type")
        binary = self.api.is_binary(content_type)
        if not request.body:
            body: str | None = None
        elif binary:
            body = base64.b64encode(request.body).decode("ascii")
        else:
            body = request.body.decode("utf-8", errors="replace")
        host = _last_header(request.headers, "host") or ""
        request_context: dict[str, Any] = {
            "resourceId": resource.resource_id,
            "resourcePath": resource.path,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestTime": datetime.fromtimestamp(received, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": self._pseudo.account_id,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": host.split(".", 1)[0],
            "requestTimeEpoch": int(received * 1000),
            "requestId": request_id,
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": _last_header(request.headers, "user-agent"),
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
            },
            "domainName": host,
            "apiId": self.api.api_id,
        }
        if authorizer_context is not None:
            request_context["authorizer"] = authorizer_context
        return {
            "resource": resource.path,
            "path": path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": dict(path_parameters) or None,
            "stageVariables": self.api.stages.get(stage),
            "requestContext": request_context,
            "body": body,
            "isBase64Encoded": binary and body is not None,
        }

    def _integrate(
        self,
        method: ApiMethod,
        event: dict[str, Any],
        request: IncomingRequest,
        *,
        request_id: str,
        tenant_id: str | None,
    ) -> OutgoingResponse:
        assert method.function_arn is not None
        try:
            failed, payload = self._invoke(
                method.function_arn, event, timeout_seconds=method.timeout_seconds, tenant_id=tenant_id
            )
        except ReadTimeoutError:
            return message(504, "Endpoint request timed out", request_id=request_id)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code not in _LAMBDA_REFUSALS:
                raise
            # A REST API's Lambda proxy integration answers a refused invocation with a plain 500.
            _logger.warning("%s refused the invocation: %s", method.function_arn, _LAMBDA_REFUSALS[code])
            return message(500, "Internal server error", request_id=request_id)
        if failed or not isinstance(payload, dict) or not isinstance(payload.get("statusCode"), int):
            _logger.warning("%s gave no valid proxy response: %s", method.function_arn, payload)
            return message(502, "Internal server error", request_id=request_id)
        headers: list[tuple[str, str]] = []
        multi = payload.get("multiValueHeaders") or {}
        for name, value in (payload.get("headers") or {}).items():
            if name not in multi:
                headers.append((str(name), str(value)))
        for name, values in multi.items():
            headers.extend((str(name), str(value)) for value in values)
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        headers.append(("x-amzn-RequestId", request_id))
        text = payload.get("body") or ""
        body = str(text).encode("utf-8")
        if payload.get("isBase64Encoded"):
            response_type = next((value for name, value in headers if name.lower() == "content-type"), None)
            accept = (_last_header(request.headers, "accept") or "").split(",", 1)[0]
            if self.api.is_binary(accept) or self.api.is_binary(response_type):
                body = base64.b64decode(text)
        return OutgoingResponse(int(payload["statusCode"]), headers, body)

    def _invoke(
        self,
        function_arn: str,
        event: Mapping[str, Any],
        *,
        timeout_seconds: float,
        tenant_id: str | None = None,
    ) -> tuple[bool, Any]:
        tenant = {"TenantId": tenant_id} if tenant_id is not None else {}
        response = self._lambda(timeout_seconds).invoke(
            FunctionName=function_arn, Payload=json.dumps(event), **tenant
        )
        raw = response["Payload"].read()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return bool(response.get("FunctionError")), payload

    def _lambda(self, timeout_seconds: float) -> Any:
        with self._clients_lock:
            if timeout_seconds not in self._clients:
                config = Config(read_timeout=timeout_seconds, retries={"total_max_attempts": 1})
                self._clients[timeout_seconds] = self._session.client(
                    "lambda", endpoint_url=self._endpoint_url, config=config
                )
            return self._clients[timeout_seconds]


def policy_effect(document: Mapping[str, Any], method_arn: str) -> str | None:
    """`Deny` when a statement denies the method, else `Allow` when one allows it, else None."""
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if not any(action in {"*", "execute-api:*", "execute-api:Invoke"} for action in actions):
            continue
        if not any(fnmatch.fnmatchcase(method_arn, pattern) for pattern in resources):
            continue
        if statement.get("Effect") == "Deny":
            return "Deny"
        allowed = allowed or statement.get("Effect") == "Allow"
    return "Allow" if allowed else None


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    return [] if value is None else [str(value)]


def _last_header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    lowered = name.lower()
    found = None
    for header, value in headers:
        if header.lower() == lowered:
            found = value
    return found


# --- HTTP ----------------------------------------------------------------------------------------------


class FrontDoorServer(LocalHTTPServer):
    """Bound at once (so its port is known before the stack is built); serves once `door` is set."""

    #: The listen backlog: socketserver's default of 5 made the kernel reset connections of a burst of
    #: callers (40 at once in bench/fairness.py) that API Gateway would have answered.
    request_queue_size = 1024

    def __init__(self, host: str, port: int) -> None:
        super().__init__((host, port), _RequestHandler)
        self.door: FrontDoor | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self, door: FrontDoor) -> None:
        self.door = door
        self._thread = threading.Thread(target=self.serve_forever, name="toolgate-front-door", daemon=True)
        self._thread.start()

    def stop_serving(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FrontDoorServer

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._write(message(400, "Bad Request"))
            return
        if body is None:
            self.close_connection = True
            self._write(message(413, "Request Too Long"))
            return
        door = self.server.door
        if door is None:
            self._write(message(503, "Service Unavailable"))
            return
        request = IncomingRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        try:
            response = door.handle(request)
        except Exception:
            # API Gateway's own failures look like this; the cause is in the local log, not the answer.
            # Not the path: a callback's path holds its signed id, the callback's only credential.
            _logger.exception("the front door failed on a %s request", self.command)
            response = message(500, "Internal server error")
        self._write(response)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve  # noqa: N815

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is over `MAX_BODY_BYTES` (the rest is read and dropped).

        A malformed length or chunk size raises ValueError.
        """
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not (declared.isascii() and declared.isdigit()):
            raise ValueError("Content-Length is not a non-negative whole number")
        length = int(declared)
        if length > MAX_BODY_BYTES:
            self._discard(length)
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        collected = bytearray()
        too_large = False
        while True:
            size_text = self.rfile.readline().split(b";", 1)[0].strip() or b"0"
            if not all(char in b"0123456789abcdefABCDEF" for char in size_text):
                raise ValueError("a chunk size is not a hexadecimal number")
            size = int(size_text, 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                return None if too_large else bytes(collected)
            if too_large or len(collected) + size > MAX_BODY_BYTES:
                too_large = True
                self._discard(size)
            else:
                collected.extend(self.rfile.read(size))
            self.rfile.readline()

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, _READ_CHUNK))
            if not chunk:
                return
            length -= len(chunk)

    def _write(self, response: OutgoingResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line is left out: a callback's path holds its signed id.
        _logger.info("front door: %s %s request", self.address_string(), self.command)
