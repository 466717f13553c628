"""The MCP server's transport (Streamable HTTP, JSON answers only) and JSON-RPC framing.

One HTTP request is one JSON-RPC message, served on its own: no session state, no `Mcp-Session-Id`.

- **Revisions.** A request whose `params._meta` carries `io.modelcontextprotocol/protocolVersion` is a
  2026-07-28 request: its `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers must match the body
  (-32020), and an unknown revision is -32022 with the supported list. Any other request is of the
  handshake era: `initialize` negotiates (the client's revision if served, else the newest), and later
  requests name their revision in `MCP-Protocol-Version` (absent: 2025-06-18, the oldest served).
- **Methods** are an explicit table (`Method`): the core's (`toolgate.mcp.tools.CORE_METHODS`) and each
  `Extension`'s. A spec method is served where the SDK's surface map has it at the request's revision,
  and its params are validated with the SDK's version-free request model plus the revision's own
  `_meta` keys; its result is the SDK's version-free result model less the fields the revision's
  schema lacks (`SPEC_REQUESTS`, `wire_result`). This is what `mcp_types.methods` does with its
  per-revision models, without importing them: they cost the cold start ~200 ms
  (tests/unit/test_mcp_wire_shapes.py holds the two to the same answers).
- **Errors.** Typed (`toolgate.errors.McpError`): the JSON-RPC error, with the HTTP status the
  2026-07-28 transport gives it; handshake-era method errors answer 200, as that transport does.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    LOG_LEVEL_META_KEY,
    PROTOCOL_VERSION_META_KEY,
    SERVER_INFO_META_KEY,
    CallToolRequest,
    CallToolResult,
    ClientCapabilities,
    DiscoverRequest,
    DiscoverResult,
    EmptyResult,
    Implementation,
    InitializeRequest,
    InitializeResult,
    ListToolsRequest,
    ListToolsResult,
    LoggingLevel,
    PingRequest,
    ProgressToken,
    UnsupportedProtocolVersionErrorData,
)
from pydantic import BaseModel, TypeAdapter, ValidationError

from toolgate.errors import (
    McpError,
    McpHeaderMismatchError,
    McpInternalError,
    McpInvalidParamsError,
    McpInvalidRequestError,
    McpMethodNotAllowedError,
    McpMethodNotFoundError,
    McpNotAcceptableError,
    McpParseError,
    McpRequestRefusedError,
    McpRequestTooLargeError,
    McpUnsupportedVersionError,
    MediaTypeUnsupportedError,
    ToolgateError,
)
from toolgate.runtime.transport import Deadline
from toolgate.service.catalog import CatalogCache
from toolgate.service.invoke import InvokeService
from toolgate.settings import McpSettings
from toolgate.spec.models import CanonicalTool

logger = logging.getLogger(__name__)

MODERN_REVISION = "2026-07-28"
HANDSHAKE_REVISIONS = ("2025-06-18", "2025-11-25")
SERVED_REVISIONS = (*HANDSHAKE_REVISIONS, MODERN_REVISION)
#: The handshake-era revision of a request that names none (the spec says to assume 2025-03-26, whose
#: wire shapes 2025-06-18 keeps).
DEFAULT_HANDSHAKE_REVISION = HANDSHAKE_REVISIONS[0]
SERVER_INFO = {"name": "toolgate", "version": "1.0"}

_VERSION_HEADER = "mcp-protocol-version"
_METHOD_HEADER = "mcp-method"
_NAME_HEADER = "mcp-name"
#: Methods whose params name their subject, and the param the `Mcp-Name` header repeats.
_NAME_BEARING = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    # The tasks extension (SEP-2663): the task id routes a task's requests.
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}
_ECHO_CHARS = 80


# --- What a method gets, and the table --------------------------------------------------------


class McpContext(NamedTuple):
    """One JSON-RPC request, as its method handler sees it."""

    #: The negotiated revision (for `initialize`: the one answered).
    revision: str
    assistant_id: str
    #: The caller's invoke service: its tenant, key and limits are the caller's, checked already.
    service: InvokeService
    settings: McpSettings
    #: API Gateway's request id: names the audit record of a tool call.
    http_request_id: str
    deadline: Deadline
    idempotency_key: str | None
    #: The JSON-RPC request id.
    request_id: str | int
    #: The server's capabilities at `revision`, core and extensions merged.
    capabilities: Mapping[str, Any]
    #: Per extension, a hook that may add to each listed tool's definition (e.g. `execution`).
    tool_hooks: "Sequence[ToolHook]" = ()
    #: The warm function's catalogs; None: every list reads the catalog.
    catalogs: CatalogCache | None = None

    @property
    def modern(self) -> bool:
        return self.revision == MODERN_REVISION


class ShapedResult(NamedTuple):
    """A result its handler shaped for the revision itself, outside the method's spec result (an
    extension's, e.g. the tasks extension's `CreateTaskResult` answering `tools/call`)."""

    data: Mapping[str, Any]


Handler = Callable[[McpContext, dict[str, Any]], Mapping[str, Any] | BaseModel | ShapedResult]
#: (revision, the canonical tool, its MCP definition) -> the definition to list.
ToolHook = Callable[[str, CanonicalTool, dict[str, Any]], dict[str, Any]]


class Method(NamedTuple):
    handler: Handler
    #: Revisions it is served at; None: wherever the SDK's surface map has the method.
    revisions: frozenset[str] | None = None


#: The default of a mapping field: empty, and shared by every record, so it cannot be changed.
_NOTHING: Mapping[str, Any] = MappingProxyType({})


class Extension(NamedTuple):
    """What a module adds to the core server (e.g. tasks): methods (replacing a core one of the same
    name), capabilities per revision, and a hook on listed tools."""

    methods: Mapping[str, Method] = _NOTHING
    capabilities: Callable[[str], Mapping[str, Any]] | None = None
    tool_hook: ToolHook | None = None


# --- HTTP in and out -----------------------------------------------------------------------------


class HttpRequest(NamedTuple):
    method: str
    #: Every header line as sent; names in any letter case.
    headers: Sequence[tuple[str, str]]
    body: bytes
    assistant_id: str
    http_request_id: str
    deadline: Deadline
    idempotency_key: str | None = None

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]


class HttpReply(NamedTuple):
    status: int
    #: The JSON body; None for an empty answer (202, 405).
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = _NOTHING


class McpServer:
    def __init__(
        self,
        core: Mapping[str, Method],
        core_capabilities: Callable[[str], Mapping[str, Any]],
        extensions: Sequence[Extension] = (),
    ) -> None:
        self._methods = dict(core)
        for extension in extensions:
            self._methods.update(extension.methods)
        self._capability_sources = [core_capabilities] + [
            e.capabilities for e in extensions if e.capabilities is not None
        ]
        self._tool_hooks = tuple(e.tool_hook for e in extensions if e.tool_hook is not None)

    def capabilities(self, revision: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for source in self._capability_sources:
            merged.update(source(revision))
        return merged

    def handle(
        self,
        request: HttpRequest,
        settings: McpSettings,
        service: Callable[[], InvokeService],
        catalogs: CatalogCache | None = None,
    ) -> HttpReply:
        """Answer one HTTP request. `service()` checks the caller's key and gives its invoke service; it
        is called before any message is acted on. Typed non-MCP errors (a revoked key) propagate."""
        if request.method != "POST":
            raise McpMethodNotAllowedError(
                "This MCP server answers POST only, with JSON; it opens no server-sent event stream "
                "and keeps no session to delete.",
            )
        _check_transport_headers(request, settings)
        caller = service()
        message, request_id = None, None
        try:
            message = _message(request.body)
            request_id = message.get("id")
            if "id" not in message:
                return self._notification(request, message)
            _check_envelope(message)
            return self._request(request, message, settings, caller, catalogs)
        except McpError as error:
            modern = (isinstance(message, dict) and _is_modern(message)) or request.header(
                _VERSION_HEADER
            ) == [MODERN_REVISION]
            return _error_reply(error, request_id, modern=modern or _method_errors_keep_status(error))

    # --- Messages ---------------------------------------------------------------------------

    def _notification(self, request: HttpRequest, message: dict[str, Any]) -> HttpReply:
        """Acknowledged and dropped: this server keeps no state a notification could change."""
        if message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
            raise McpInvalidRequestError(
                "The body must be one JSON-RPC 2.0 request or notification object: "
                '{"jsonrpc": "2.0", "method": "..."}.'
            )
        versions = request.header(_VERSION_HEADER)
        if versions and versions[0] not in SERVED_REVISIONS:
            raise _unsupported(versions[0])
        return HttpReply(202)

    def _request(
        self,
        request: HttpRequest,
        message: dict[str, Any],
        settings: McpSettings,
        caller: InvokeService,
        catalogs: CatalogCache | None,
    ) -> HttpReply:
        method_name: str = message["method"]
        params: dict[str, Any] = message.get("params") or {}
        revision = self._revision(request, message)
        method = self._methods.get(method_name)
        if method is None or not _served(method, method_name, revision):
            raise McpMethodNotFoundError(
                f"No method '{method_name[:_ECHO_CHARS]}' at protocol revision {revision}.",
                details={"code": McpMethodNotFoundError.code},
            )
        if method_name in SPEC_REQUESTS:
            validate_params(method_name, revision, params)
        context = McpContext(
            revision=revision,
            assistant_id=request.assistant_id,
            service=caller,
            settings=settings,
            http_request_id=request.http_request_id,
            deadline=request.deadline,
            idempotency_key=request.idempotency_key,
            request_id=message["id"],
            capabilities=self.capabilities(revision),
            tool_hooks=self._tool_hooks,
            catalogs=catalogs,
        )
        try:
            body = wire_result(method_name, revision, method.handler(context, params))
        except McpError:
            raise
        except ToolgateError as error:
            raise McpRequestRefusedError(
                error.message, http_status=error.http_status, details={"code": error.code}
            ) from None
        except Exception as error:
            logger.exception("mcp method failed", extra={"error_type": type(error).__name__})
            raise McpInternalError(
                f"The server failed to answer {method_name}; quote request id {request.http_request_id} "
                "when reporting it.",
                details={"correlation_id": request.http_request_id},
            ) from None
        return HttpReply(200, {"jsonrpc": "2.0", "id": message["id"], "result": body}, _JSON)

    def _revision(self, request: HttpRequest, message: dict[str, Any]) -> str:
        if _is_modern(message):
            return _modern_revision(request, message)
        if message["method"] == "initialize":
            params = message.get("params")
            requested = params.get("protocolVersion") if isinstance(params, dict) else None
            return requested if requested in HANDSHAKE_REVISIONS else HANDSHAKE_REVISIONS[-1]
        versions = request.header(_VERSION_HEADER)
        if not versions:
            return DEFAULT_HANDSHAKE_REVISION
        if versions[0] == MODERN_REVISION:
            raise McpInvalidParamsError(
                f"A {MODERN_REVISION} request carries params._meta with "
                f"'{PROTOCOL_VERSION_META_KEY}' and '{CLIENT_CAPABILITIES_META_KEY}'."
            )
        if len(versions) > 1 or versions[0] not in HANDSHAKE_REVISIONS:
            raise _unsupported(versions[0])
        return versions[0]


_JSON = {"Content-Type": "application/json"}


# --- Transport checks -----------------------------------------------------------------------------


def _check_transport_headers(request: HttpRequest, settings: McpSettings) -> None:
    if len(request.body) > settings.max_request_bytes:
        raise McpRequestTooLargeError(
            f"The request body is {len(request.body)} bytes; this server reads at most "
            f"{settings.max_request_bytes}: send fewer or smaller arguments."
        )
    content_types = request.header("content-type")
    media = content_types[0].split(";", 1)[0].strip().lower() if len(content_types) == 1 else ""
    if media != "application/json":
        raise MediaTypeUnsupportedError(
            "An MCP request is one JSON-RPC message with Content-Type: application/json."
        )
    accepted = {
        part.split(";", 1)[0].strip().lower()
        for value in request.header("accept")
        for part in value.split(",")
    }
    if not accepted & {"application/json", "application/*", "*/*"}:
        raise McpNotAcceptableError(
            "The Accept header must list application/json (Streamable HTTP clients send "
            "'application/json, text/event-stream'); this server answers with JSON only."
        )


def _message(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        raise McpParseError("Parse error: the body is not JSON text, or it nests too deeply.") from None
    if isinstance(message, list):
        raise McpInvalidRequestError(
            "JSON-RPC batches are not accepted (MCP removed them in 2025-06-18): send one message per "
            "request."
        )
    if not isinstance(message, dict):
        raise McpInvalidRequestError("The body must be one JSON-RPC 2.0 request or notification object.")
    return message


def _check_envelope(message: dict[str, Any]) -> None:
    request_id = message.get("id")
    valid_id = isinstance(request_id, str) or (
        isinstance(request_id, int) and not isinstance(request_id, bool)
    )
    params = message.get("params")
    if (
        message.get("jsonrpc") != "2.0"
        or not valid_id
        or not isinstance(message.get("method"), str)
        or not (params is None or isinstance(params, dict))
        or "result" in message
        or "error" in message
    ):
        raise McpInvalidRequestError(
            'A request is {"jsonrpc": "2.0", "id": <string or integer>, "method": "...", "params": {...}}; '
            "clients send no responses to this server."
        )


def _is_modern(message: dict[str, Any]) -> bool:
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and PROTOCOL_VERSION_META_KEY in meta


def _modern_revision(request: HttpRequest, message: dict[str, Any]) -> str:
    """The 2026-07-28 checks, in the SDK's order (`mcp.shared.inbound.classify_inbound_request`): the
    envelope keys, then the headers against the body, then the revision."""
    meta: dict[str, Any] = message["params"]["_meta"]
    if CLIENT_CAPABILITIES_META_KEY not in meta:
        raise McpInvalidParamsError(f"params._meta is missing '{CLIENT_CAPABILITIES_META_KEY}'.")
    for name in (_VERSION_HEADER, _METHOD_HEADER, _NAME_HEADER):
        if len(request.header(name)) > 1:
            raise McpHeaderMismatchError(f"The {name} header appears more than once.")
    revision = meta[PROTOCOL_VERSION_META_KEY]
    versions = request.header(_VERSION_HEADER)
    if not versions or versions[0] != revision:
        raise McpHeaderMismatchError(
            "The MCP-Protocol-Version header must equal the request's params._meta protocol version."
        )
    methods = request.header(_METHOD_HEADER)
    if not methods or methods[0] != message["method"]:
        raise McpHeaderMismatchError("The Mcp-Method header must equal the request's method.")
    name_key = _NAME_BEARING.get(message["method"])
    names = request.header(_NAME_HEADER)
    subject = message["params"].get(name_key) if name_key is not None else None
    if subject is not None and (not names or _decoded(names[0]) != subject):
        raise McpHeaderMismatchError(f"The Mcp-Name header must equal the request's params.{name_key}.")
    if not isinstance(revision, str):
        raise McpInvalidParamsError("The protocol version in params._meta must be a string.")
    if revision != MODERN_REVISION:
        raise _unsupported(revision)
    return revision


def _unsupported(requested: str) -> McpUnsupportedVersionError:
    data = UnsupportedProtocolVersionErrorData(supported=list(SERVED_REVISIONS), requested=requested[:64])
    return McpUnsupportedVersionError(
        f"Protocol revision '{requested[:_ECHO_CHARS]}' is not supported; this server speaks "
        f"{', '.join(SERVED_REVISIONS)}.",
        details=data.model_dump(mode="json"),
    )


def _served(method: Method, name: str, revision: str) -> bool:
    if method.revisions is not None:
        return revision in method.revisions
    spec = SPEC_REQUESTS.get(name)
    return spec is not None and revision in spec.revisions


# --- The spec's methods, per revision ---------------------------------------------------------


class SpecRequest(NamedTuple):
    #: The SDK's version-free request and result models.
    model: type[BaseModel]
    result: type[BaseModel]
    #: The revisions the SDK's surface map (`mcp_types.methods.CLIENT_REQUESTS`) defines it at.
    revisions: frozenset[str]


#: The spec's client requests this server serves.
SPEC_REQUESTS: Mapping[str, SpecRequest] = {
    "initialize": SpecRequest(InitializeRequest, InitializeResult, frozenset(HANDSHAKE_REVISIONS)),
    "ping": SpecRequest(PingRequest, EmptyResult, frozenset(HANDSHAKE_REVISIONS)),
    "server/discover": SpecRequest(DiscoverRequest, DiscoverResult, frozenset({MODERN_REVISION})),
    "tools/list": SpecRequest(ListToolsRequest, ListToolsResult, frozenset(SERVED_REVISIONS)),
    "tools/call": SpecRequest(CallToolRequest, CallToolResult, frozenset(SERVED_REVISIONS)),
}

#: The typed `_meta` keys of a request, per era; the version-free `RequestParamsMeta` leaves them open.
_PROGRESS_TOKEN: dict[str, TypeAdapter[Any]] = {"progressToken": TypeAdapter(ProgressToken | None)}
_META_KEYS: Mapping[bool, Mapping[str, TypeAdapter[Any]]] = {
    False: _PROGRESS_TOKEN,
    True: {
        **_PROGRESS_TOKEN,
        CLIENT_CAPABILITIES_META_KEY: TypeAdapter(ClientCapabilities),
        CLIENT_INFO_META_KEY: TypeAdapter(Implementation | None),
        LOG_LEVEL_META_KEY: TypeAdapter(LoggingLevel | None),
    },
}

#: Result fields a revision's schema lacks that the SDK's version-free models have, per (method,
#: 2026-07-28 or not): the per-revision models drop them. `[]` in a path is each item of a list.
_LACKING: Mapping[tuple[str, bool], tuple[tuple[str, ...], ...]] = {
    ("initialize", False): (("capabilities", "extensions"),),
    ("ping", False): (("resultType",),),
    ("tools/list", False): (("resultType",), ("ttlMs",), ("cacheScope",)),
    ("tools/call", False): (("resultType",),),
    ("server/discover", True): (("capabilities", "tasks"),),
    ("tools/list", True): (("tools", "[]", "execution"),),
}


def validate_params(method: str, revision: str, params: dict[str, Any]) -> None:
    """-32602 unless `params` is valid for `method` at `revision`, as the SDK's parse would find."""
    try:
        SPEC_REQUESTS[method].model.model_validate({"method": method, "params": params}, by_name=False)
    except ValidationError as error:
        raise McpInvalidParamsError(f"Invalid params for {method}: {_validation_summary(error)}.") from None
    meta = params.get("_meta")
    if not isinstance(meta, dict):
        return
    for key, adapter in _META_KEYS[revision == MODERN_REVISION].items():
        if key not in meta:
            continue
        try:
            adapter.validate_python(meta[key], by_name=False)
        except ValidationError as error:
            summary = _validation_summary(error, f"params._meta.{key}")
            raise McpInvalidParamsError(f"Invalid params for {method}: {summary}.") from None


def _without(data: Any, path: Sequence[str]) -> Any:
    """`data` less the field at `path`, copied along the path (nothing shared is changed)."""
    head, rest = path[0], path[1:]
    if head == "[]":
        return [_without(item, rest) for item in data] if isinstance(data, list) else data
    if not isinstance(data, dict) or head not in data:
        return data
    if not rest:
        return {key: value for key, value in data.items() if key != head}
    return {**data, head: _without(data[head], rest)}


# --- Answers ------------------------------------------------------------------------------------


def wire_result(
    method: str, revision: str, result: Mapping[str, Any] | BaseModel | ShapedResult
) -> dict[str, Any]:
    """The result as sent at `revision`: a spec method's without the fields that revision lacks (as the
    SDK's per-revision model would dump it), unless its handler shaped it (`ShapedResult`); on
    2026-07-28 with `resultType` and the server's `_meta` stamp."""
    spec = SPEC_REQUESTS.get(method)
    if isinstance(result, ShapedResult):
        data = dict(result.data)
    elif isinstance(result, BaseModel):
        data = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    elif spec is not None:
        # A handler's plain answer to a spec method is held to the SDK's result model.
        data = spec.result.model_validate(result, by_name=False).model_dump(
            by_alias=True, mode="json", exclude_none=True
        )
    else:
        data = dict(result)
    if revision == MODERN_REVISION:
        # Required on every 2026-07-28 result; earlier revisions' shapes drop it.
        data.setdefault("resultType", "complete")
    if spec is not None and not isinstance(result, ShapedResult):
        for path in _LACKING.get((method, revision == MODERN_REVISION), ()):
            data = _without(data, path)
    if revision == MODERN_REVISION:
        meta = data.get("_meta")
        data["_meta"] = {**(meta if isinstance(meta, dict) else {}), SERVER_INFO_META_KEY: dict(SERVER_INFO)}
    return data


def _method_errors_keep_status(error: McpError) -> bool:
    """Errors of the message itself keep their HTTP status in every era (the handshake transport answers
    a parse error or a bad revision header with 400); a method's own errors answer 200 there."""
    return not isinstance(error, McpMethodNotFoundError | McpInvalidParamsError)


def _error_reply(error: McpError, request_id: object, *, modern: bool) -> HttpReply:
    data = error.details if isinstance(error.details, dict) else {}
    body = {
        "jsonrpc": "2.0",
        "id": request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None,
        "error": {"code": error.rpc_code, "message": error.message, "data": {"code": error.code, **data}},
    }
    logger.info("mcp request refused", extra={"error_code": error.code})
    status = error.status if isinstance(error, McpRequestRefusedError) else error.http_status
    return HttpReply(status if modern else 200, body, _JSON)


def _validation_summary(error: ValidationError, where: str = "") -> str:
    """Where and why, never the input (it may hold a secret)."""
    parts = []
    for problem in error.errors(include_input=False, include_url=False)[:3]:
        location = ".".join(part for part in (where, *map(str, problem["loc"])) if part)
        parts.append(f"{location or 'params'}: {problem['msg']}")
    return "; ".join(parts)


def refusal_reply(error: ToolgateError) -> HttpReply:
    """A refusal before any JSON-RPC message was read (405, 406, 413, 415, a revoked key), as JSON."""
    headers = {"Allow": "POST"} if isinstance(error, McpMethodNotAllowedError) else {}
    return HttpReply(error.http_status, {"error": error.to_dict()}, {**_JSON, **headers})


_BASE64_SENTINEL = re.compile(r"^=\?base64\?(?P<payload>[A-Za-z0-9+/]*={0,2})\?=$")


def _decoded(value: str) -> str | None:
    """A header value as the client meant it: `=?base64?...?=` wraps one HTTP cannot carry (as the SDK's
    `mcp.shared.inbound.decode_header_value`); a malformed wrapping matches nothing."""
    wrapped = _BASE64_SENTINEL.fullmatch(value)
    if wrapped is None:
        return value
    payload = wrapped.group("payload")
    try:
        decoded = base64.b64decode(payload, validate=True)
        if base64.b64encode(decoded).decode("ascii") != payload:
            return None
        return decoded.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
