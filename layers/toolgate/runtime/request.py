"""Turn validated tool arguments into the exact HTTP request the OpenAPI operation describes.

Pure: no I/O. The URL authority comes only from the server URL; arguments fill in path values, the
query, headers, cookies and the body, each encoded for its place, and can neither reach another host
nor set a header the runtime owns (credentials, host, framing). Credentials are added by the adapter.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from toolgate.errors import (
    BodyInvalidError,
    HeaderValueInvalidError,
    PathValueInvalidError,
    RequestBuildError,
    ReservedHeaderError,
    ReservedParameterError,
    ServerUrlInvalidError,
    ServerUrlMissingError,
)
from toolgate.runtime import serialization as ser
from toolgate.runtime.models import HttpRequest
from toolgate.spec.models import (
    ArgumentBinding,
    ArgumentLocation,
    CanonicalTool,
    RequestBody,
    SecuritySchemeType,
)

#: Methods that are safe to retry because repeating them has the same effect (RFC 9110 section 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

#: Headers an argument may never set, lower case: credentials, the authority, message framing,
#: hop-by-hop headers, headers proxies use to re-route or re-verb a request, and Content-Type,
#: which belongs to the request body.
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "content-type",
        "x-api-key",
        "x-auth-token",
        "api-key",
        "x-amz-security-token",
        "forwarded",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    }
)

_DEFAULT_STYLES = {
    ArgumentLocation.PATH: "simple",
    ArgumentLocation.QUERY: "form",
    ArgumentLocation.HEADER: "simple",
    ArgumentLocation.COOKIE: "form",
}
_PATH_STYLES = frozenset({"simple", "label", "matrix"})
_QUERY_STYLES = frozenset({"form", "spaceDelimited", "pipeDelimited", "deepObject"})
#: OpenAPI 3.2's `cookie` style is form with `; ` between exploded cookies, which is how form is written.
_COOKIE_STYLES = frozenset({"form", "cookie"})

_TEMPLATE = re.compile(r"\{([^{}]+)\}")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEADER_UNSAFE = re.compile(r"[^\t\x20-\x7e]")


def build_request(
    tool: CanonicalTool,
    arguments: Mapping[str, Any],
    *,
    server_url: str | None = None,
    idempotency_key: str | None = None,
) -> HttpRequest:
    """Build the request for one call of `tool` with validated `arguments`.

    `server_url` (a tenant binding's or the CLI's) overrides the tool's own. When the spec declares an
    idempotency header, it is set to `idempotency_key`, else to the value the arguments gave it, else to
    a fresh UUID, and the request is retryable (every retry of it carries the same key).
    Raises a RequestBuildError subclass, with a stable code, for anything that cannot be sent safely.
    """
    base = _base_url(tool, server_url)
    builder = _RequestParts(tool)
    for binding in tool.bindings:
        value = arguments.get(binding.argument)
        if value is not None:
            builder.add(binding, value)
    path = _expand_path(tool, builder.path_values)
    url = _join_url(base, path, ser.join_pairs(builder.query))

    method = tool.method.upper()
    headers = dict(builder.headers)
    if builder.cookies:
        headers["Cookie"] = "; ".join(builder.cookies)
    body, content_type = _build_body(tool, builder.whole_body, builder.body_fields)
    if content_type is not None:
        headers["Content-Type"] = content_type
    retryable = method in IDEMPOTENT_METHODS
    if tool.idempotency_header:
        given = _pop_header(headers, tool.idempotency_header)
        headers[tool.idempotency_header] = idempotency_key or given or str(uuid.uuid4())
        retryable = True
    return HttpRequest(method=method, url=url, headers=headers, body=body, retryable=retryable)


_ABSENT: Any = object()


def _pop_header(headers: dict[str, str], name: str) -> str | None:
    """Remove a header whatever its case; return its value."""
    for key in list(headers):
        if key.lower() == name.lower():
            return headers.pop(key)
    return None


class _RequestParts:
    """Collects each bound argument into its part of the request, refusing what is unsafe."""

    def __init__(self, tool: CanonicalTool) -> None:
        self.path_values: dict[str, str] = {}
        self.query: list[ser.Pair] = []
        self.headers: dict[str, str] = {}
        self.cookies: list[str] = []
        self.body_fields: dict[str, Any] = {}
        self.whole_body: Any = _ABSENT
        self.reserved_headers = RESERVED_HEADERS | _credential_names(tool, "header", lower=True)
        self.reserved_query = _credential_names(tool, "query")
        self.reserved_cookies = _credential_names(tool, "cookie")

    def add(self, binding: ArgumentBinding, value: Any) -> None:
        location = binding.location
        if location is ArgumentLocation.BODY:
            self.whole_body = value
        elif location is ArgumentLocation.BODY_FIELD:
            self.body_fields[binding.name] = value
        elif location is ArgumentLocation.PATH:
            self.path_values[binding.name] = self._path_value(binding, value)
        elif location is ArgumentLocation.QUERY:
            self.query.extend(self._query_pairs(binding, value))
        elif location is ArgumentLocation.HEADER:
            self.headers[binding.name] = self._header_value(binding, value)
        elif location is ArgumentLocation.COOKIE:
            self.cookies.extend(self._cookie_pairs(binding, value))

    def _path_value(self, binding: ArgumentBinding, value: Any) -> str:
        pointer = f"/{binding.argument}"
        style = "simple" if binding.content_type is not None else _style(binding, _PATH_STYLES)
        # An empty simple value leaves an empty segment, which can name another resource; label and
        # matrix still write their prefix (`.`, `;color`), as the OpenAPI style examples table shows.
        if (value == "" and style == "simple") or (ser.is_container(value) and not value):
            raise PathValueInvalidError(
                f"Argument '{binding.argument}' fills the URL path and must not be empty.", pointer=pointer
            )
        _refuse_control_characters(value, binding, PathValueInvalidError, "the URL path")
        reserved = ser.PATH_RESERVED if binding.allow_reserved else ""
        if binding.content_type is not None:
            return ser.encode(_content_text(value, binding.content_type), reserved)
        return ser.serialize_path(binding.name, value, style, _explode(binding, style), reserved)

    def _query_pairs(self, binding: ArgumentBinding, value: Any) -> list[ser.Pair]:
        if binding.name in self.reserved_query:
            raise ReservedParameterError(
                f"Argument '{binding.argument}' would set the query parameter '{binding.name}', "
                "which carries this tool's credential; the runtime sets it.",
                pointer=f"/{binding.argument}",
            )
        reserved = ser.QUERY_RESERVED if binding.allow_reserved else ""
        if binding.content_type is not None:
            return [
                (ser.encode(binding.name), ser.encode(_content_text(value, binding.content_type), reserved))
            ]
        style = _style(binding, _QUERY_STYLES)
        return ser.serialize_query(binding.name, value, style, _explode(binding, style), reserved)

    def _header_value(self, binding: ArgumentBinding, value: Any) -> str:
        pointer = f"/{binding.argument}"
        name = binding.name
        if not _HEADER_NAME.fullmatch(name):
            raise HeaderValueInvalidError(f"'{name}' is not a valid HTTP header name.", pointer=pointer)
        if name.lower() in self.reserved_headers:
            raise ReservedHeaderError(
                f"Argument '{binding.argument}' would set the header '{name}', which the runtime owns "
                "(credentials, host or message framing); the call is refused.",
                pointer=pointer,
            )
        if binding.content_type is not None:
            text = _content_text(value, binding.content_type)
        else:
            style = _style(binding, frozenset({"simple"}))
            text = ser.serialize_header(value, _explode(binding, style))
        unsafe = _HEADER_UNSAFE.search(text)
        if unsafe:
            raise HeaderValueInvalidError(
                f"Argument '{binding.argument}' goes in the header '{name}', which cannot carry "
                f"{_describe_character(unsafe.group())}. Send printable ASCII only.",
                pointer=pointer,
            )
        return text

    def _cookie_pairs(self, binding: ArgumentBinding, value: Any) -> list[str]:
        pointer = f"/{binding.argument}"
        if binding.name in self.reserved_cookies:
            raise ReservedParameterError(
                f"Argument '{binding.argument}' would set the cookie '{binding.name}', which carries this "
                "tool's credential; the runtime sets it.",
                pointer=pointer,
            )
        _refuse_control_characters(value, binding, HeaderValueInvalidError, f"the cookie '{binding.name}'")
        if binding.content_type is not None:
            return [f"{ser.encode(binding.name)}={ser.encode(_content_text(value, binding.content_type))}"]
        style = _style(binding, _COOKIE_STYLES)
        return ser.serialize_cookie(
            binding.name, value, _explode(binding, "form" if style == "cookie" else style)
        )


def _credential_names(tool: CanonicalTool, location: str, *, lower: bool = False) -> frozenset[str]:
    """Names of the apiKey parameters in `location` that carry this tool's credentials."""
    names = {
        scheme.parameter_name
        for scheme in tool.security_schemes.values()
        if scheme.type is SecuritySchemeType.API_KEY and scheme.location == location and scheme.parameter_name
    }
    return frozenset(name.lower() if lower else name for name in names)


def _style(binding: ArgumentBinding, allowed: frozenset[str]) -> str:
    style = binding.style or _DEFAULT_STYLES[binding.location]
    if style not in allowed:
        raise RequestBuildError(
            f"The spec gives parameter '{binding.name}' ({binding.location.value}) the style '{style}'; "
            f"only {', '.join(sorted(allowed))} apply there.",
            pointer=f"/{binding.argument}",
        )
    return style


def _explode(binding: ArgumentBinding, style: str) -> bool:
    return ser.default_explode(style) if binding.explode is None else binding.explode


def _content_text(value: Any, content_type: str) -> str:
    """A parameter described with `content` instead of `schema`: the value in that media type."""
    if _is_json(content_type) or not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _refuse_control_characters(
    value: Any, binding: ArgumentBinding, error: type[RequestBuildError], place: str
) -> None:
    for text in _strings(value):
        found = _CONTROL.search(text)
        if found:
            raise error(
                f"Argument '{binding.argument}' goes in {place}, which cannot carry "
                f"{_describe_character(found.group())}.",
                pointer=f"/{binding.argument}",
            )


def _strings(value: Any) -> list[str]:
    """Every string in a value, keys included, that would be rendered into a request."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [text for key, item in value.items() for text in (key, *_strings(item))]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    return []


def _describe_character(character: str) -> str:
    names = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\x00": "a NUL character"}
    if character in names:
        return names[character]
    if ord(character) < 0x20 or character == "\x7f":
        return f"the control character U+{ord(character):04X}"
    return f"the non-ASCII character U+{ord(character):04X}"


# --- URL ---------------------------------------------------------------------------------------


def _base_url(tool: CanonicalTool, server_url: str | None) -> SplitResult:
    url = server_url or tool.server_url
    if not url:
        raise ServerUrlMissingError(
            f"Tool '{tool.name}' has no server URL: the spec names none, and none was given for this call."
        )
    variables = _TEMPLATE.findall(url)
    if variables:
        raise ServerUrlInvalidError(
            f"Server URL '{url}' still holds the server variables {', '.join(variables)}; "
            "give a URL with every variable filled in."
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerUrlInvalidError(f"Server URL '{url}' is not an absolute http or https URL.")
    if parts.username is not None or parts.password is not None:
        raise ServerUrlInvalidError("The server URL must not carry credentials; give them as a credential.")
    if parts.fragment:
        raise ServerUrlInvalidError(f"Server URL '{url}' must not have a fragment.")
    return parts


def _expand_path(tool: CanonicalTool, values: Mapping[str, str]) -> str:
    def expand(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise PathValueInvalidError(
                f"The path {tool.path} needs a value for '{name}', and none was given.",
                pointer=f"/{_argument_for(tool, name)}",
            )
        return values[name]

    segments = []
    for template in tool.path.split("/"):
        segment = _TEMPLATE.sub(expand, template)
        # An allowReserved value can hold slashes, so one template segment can become several.
        for piece in segment.split("/"):
            if unquote(piece) in (".", ".."):
                names = _TEMPLATE.findall(template)
                raise PathValueInvalidError(
                    f"The path segment '{segment}' holds the dot segment '{piece}', which would make the "
                    "request address another resource; the call is refused.",
                    pointer=f"/{_argument_for(tool, names[0])}" if names else None,
                )
        segments.append(segment)
    path = "/".join(segments)
    return path if path.startswith("/") else "/" + path


def _argument_for(tool: CanonicalTool, path_name: str) -> str:
    for binding in tool.bindings:
        if binding.location is ArgumentLocation.PATH and binding.name == path_name:
            return binding.argument
    return path_name


def _join_url(base: SplitResult, path: str, query: str) -> str:
    full_path = base.path.rstrip("/") + path
    full_query = "&".join(part for part in (base.query, query) if part)
    # The authority is the server URL's, whatever the path holds: every path starts with "/".
    return urlunsplit((base.scheme, base.netloc, full_path, full_query, ""))


# --- Body ----------------------------------------------------------------------------------------


def _build_body(
    tool: CanonicalTool, whole_body: Any, fields: dict[str, Any]
) -> tuple[bytes | None, str | None]:
    spec = tool.body
    if whole_body is not _ABSENT:
        value = whole_body
    elif fields:
        value = fields
    elif spec is not None and spec.required and spec.flattened:
        value = {}
    elif spec is not None and spec.required:
        raise BodyInvalidError(f"Tool '{tool.name}' needs a request body, and none was given.")
    else:
        return None, None
    if spec is None:
        raise BodyInvalidError(f"Tool '{tool.name}' has body arguments but its operation takes no body.")
    return _serialize_body(spec, value)


def _serialize_body(spec: RequestBody, value: Any) -> tuple[bytes, str]:
    media_type = spec.media_type
    essence = _essence(media_type)
    if "*" in essence:
        # A wildcard cannot be sent as Content-Type: JSON for structures, plain text for a string.
        media_type = "application/json" if ser.is_container(value) else "text/plain; charset=utf-8"
        essence = _essence(media_type)
    if _is_json(essence):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), media_type
    if essence == "application/x-www-form-urlencoded":
        return _form_body(spec, _body_object(value, essence)).encode("ascii"), media_type
    if essence == "multipart/form-data":
        return _multipart_body(spec, _body_object(value, essence))
    if isinstance(value, str) or (essence.startswith("text/") and not ser.is_container(value)):
        if essence.startswith("text/") and "charset=" not in media_type.lower():
            media_type = f"{media_type}; charset=utf-8"
        return ser.render_scalar(value).encode(), media_type
    raise BodyInvalidError(
        f"A {_kind(value)} cannot be sent as {essence}; give the body as a string in that format."
    )


def _body_object(value: Any, essence: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BodyInvalidError(f"A {essence} body is a set of fields; give an object, not a {_kind(value)}.")
    return value


def _form_body(spec: RequestBody, fields: Mapping[str, Any]) -> str:
    pairs: list[ser.Pair] = []
    for name, value in fields.items():
        if value is None:
            continue
        encoding = spec.encoding.get(name)
        reserved = ser.QUERY_RESERVED if encoding is not None and encoding.allow_reserved else ""
        if encoding is not None and encoding.content_type is not None and _is_json(encoding.content_type):
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            pairs.append((ser.encode(name), ser.encode(text, reserved)))
        elif encoding is not None and encoding.style is not None:
            explode = ser.default_explode(encoding.style) if encoding.explode is None else encoding.explode
            pairs.extend(_form_field(name, value, encoding.style, explode, reserved))
        else:
            # Without an Encoding Object: objects as deepObject (what form parsers read back as nested
            # fields), arrays and scalars as exploded form.
            style = "deepObject" if isinstance(value, Mapping) else "form"
            pairs.extend(_form_field(name, value, style, True, reserved))
    return ser.join_pairs(pairs)


def _form_field(name: str, value: Any, style: str, explode: bool, reserved: str) -> list[ser.Pair]:
    try:
        return ser.serialize_query(name, value, style, explode, reserved)
    except ValueError as error:
        raise BodyInvalidError(f"Form field '{name}': {error}.") from None


def _multipart_body(spec: RequestBody, fields: Mapping[str, Any]) -> tuple[bytes, str]:
    # The one exception to the dependency rule: urllib3's multipart encoder is a pure function of the
    # fields, and the HTTP adapter's transport, so a tool call loads it anyway. It is imported here so
    # that importing the domain (compiling, previewing a request) does not.
    from urllib3.fields import RequestField  # noqa: PLC0415, TID251
    from urllib3.filepost import encode_multipart_formdata  # noqa: PLC0415, TID251

    parts: list[RequestField] = []
    for name, value in fields.items():
        if value is None:
            continue
        encoding = spec.encoding.get(name)
        declared = encoding.content_type if encoding is not None else None
        items = (
            ser.defined_items(value)
            if isinstance(value, list | tuple) and not _is_json(declared or "")
            else [value]
        )
        for item in items:
            content_type = declared or ("application/json" if ser.is_container(item) else None)
            data = (
                json.dumps(item, ensure_ascii=False, separators=(",", ":"))
                if _is_json(content_type or "") or ser.is_container(item)
                else ser.render_scalar(item)
            )
            # A declared non-text type is a file upload: servers expect a filename with it.
            is_file = (
                content_type is not None
                and not _is_json(content_type)
                and not content_type.startswith("text/")
            )
            part = RequestField(name, data.encode(), filename=name if is_file else None)
            part.make_multipart(content_type=content_type)
            parts.append(part)
    return encode_multipart_formdata(parts)


def _essence(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    essence = _essence(media_type)
    return essence == "application/json" or essence.endswith("+json")


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__
