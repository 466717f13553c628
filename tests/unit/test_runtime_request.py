"""Request building: OpenAPI 3 styles on the wire, percent-encoding, bodies, and what arguments may not do.

Golden values are the OpenAPI 3.1.1 style examples table (color = "blue", ["blue", "black", "brown"],
{"R": 100, "G": 200, "B": 150}), with `|`, `[` and `]` percent-encoded as that table writes them.
"""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
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
from toolgate.runtime.models import HttpRequest
from toolgate.runtime.request import build_request
from toolgate.spec.models import (
    ArgumentBinding,
    ArgumentLocation,
    BodyEncoding,
    CanonicalTool,
    RequestBody,
    SecurityScheme,
    SecuritySchemeType,
)
from urllib3.util import parse_url

BASE = "https://api.example.com"
STRING = "blue"
ARRAY = ["blue", "black", "brown"]
OBJECT = {"R": 100, "G": 200, "B": 150}


def make_tool(
    bindings: list[ArgumentBinding],
    *,
    path: str = "/items",
    method: str = "get",
    body: RequestBody | None = None,
    server_url: str | None = BASE,
    **fields: Any,
) -> CanonicalTool:
    return CanonicalTool(
        name="call_it",
        description="A tool.",
        method=method,
        path=path,
        pointer="/paths/~1items/get",
        server_url=server_url,
        input_schema={"type": "object"},
        bindings=bindings,
        body=body,
        **fields,
    )


def bind(
    location: ArgumentLocation, name: str = "color", argument: str | None = None, **options: Any
) -> ArgumentBinding:
    return ArgumentBinding(argument=argument or name, location=location, name=name, **options)


def path_tool(**options: Any) -> CanonicalTool:
    return make_tool([bind(ArgumentLocation.PATH, **options)], path="/items/{color}")


def query_of(request: HttpRequest) -> str:
    return urlsplit(request.url).query


def cookie_of(**options: Any) -> Any:
    def build(value: Any) -> str:
        tool = make_tool([bind(ArgumentLocation.COOKIE, **options)])
        return build_request(tool, {"color": value}).headers["Cookie"]

    return build


# --- Path styles ---------------------------------------------------------------------------------

PATH_TABLE = [
    ("simple", False, STRING, "blue"),
    ("simple", False, ARRAY, "blue,black,brown"),
    ("simple", False, OBJECT, "R,100,G,200,B,150"),
    ("simple", True, STRING, "blue"),
    ("simple", True, ARRAY, "blue,black,brown"),
    ("simple", True, OBJECT, "R=100,G=200,B=150"),
    ("label", False, STRING, ".blue"),
    ("label", False, ARRAY, ".blue,black,brown"),
    ("label", False, OBJECT, ".R,100,G,200,B,150"),
    ("label", True, STRING, ".blue"),
    ("label", True, ARRAY, ".blue.black.brown"),
    ("label", True, OBJECT, ".R=100.G=200.B=150"),
    ("matrix", False, STRING, ";color=blue"),
    ("matrix", False, ARRAY, ";color=blue,black,brown"),
    ("matrix", False, OBJECT, ";color=R,100,G,200,B,150"),
    ("matrix", True, STRING, ";color=blue"),
    ("matrix", True, ARRAY, ";color=blue;color=black;color=brown"),
    ("matrix", True, OBJECT, ";R=100;G=200;B=150"),
]


@pytest.mark.parametrize(("style", "explode", "value", "expected"), PATH_TABLE)
def test_path_style_matches_the_openapi_table(style: str, explode: bool, value: Any, expected: str) -> None:
    request = build_request(path_tool(style=style, explode=explode), {"color": value})
    assert request.url == f"{BASE}/items/{expected}"


#: The table's first column (`undefined` in 3.1.1, `empty` before it) for the empty string, which is
#: what RFC 6570 expands it to (`X{.empty}` is `X.`, `{;empty}` is `;empty`). Simple's cell is an empty
#: segment, which can name another resource: refused instead (see the test below).
EMPTY_PATH_TABLE = [
    ("label", False, "."),
    ("label", True, "."),
    ("matrix", False, ";color"),
    ("matrix", True, ";color"),
]


@pytest.mark.parametrize(("style", "explode", "expected"), EMPTY_PATH_TABLE)
def test_an_empty_label_or_matrix_value_is_written_as_the_openapi_table_says(
    style: str, explode: bool, expected: str
) -> None:
    tool = make_tool(
        [bind(ArgumentLocation.PATH, style=style, explode=explode)], path="/items/palette{color}"
    )
    assert build_request(tool, {"color": ""}).url == f"{BASE}/items/palette{expected}"


@pytest.mark.parametrize("explode", [False, True])
def test_an_empty_simple_path_value_is_refused_as_it_would_leave_an_empty_segment(explode: bool) -> None:
    with pytest.raises(PathValueInvalidError, match="must not be empty"):
        build_request(path_tool(style="simple", explode=explode), {"color": ""})


def test_an_empty_label_value_alone_in_a_segment_cannot_form_a_dot_segment() -> None:
    # `.` alone is the segment `/items/.`, which a server or proxy normalizes to `/items/`.
    with pytest.raises(PathValueInvalidError, match="dot segment"):
        build_request(path_tool(style="label"), {"color": ""})


def test_an_empty_matrix_value_alone_in_a_segment_keeps_its_name() -> None:
    assert build_request(path_tool(style="matrix"), {"color": ""}).url == f"{BASE}/items/;color"


def test_path_style_defaults_to_simple_without_explode() -> None:
    request = build_request(path_tool(), {"color": OBJECT})
    assert request.url == f"{BASE}/items/R,100,G,200,B,150"


def test_path_template_inside_a_segment() -> None:
    tool = make_tool(
        [bind(ArgumentLocation.PATH, "name"), bind(ArgumentLocation.PATH, "ext")], path="/files/{name}.{ext}"
    )
    assert build_request(tool, {"name": "report", "ext": "pdf"}).url == f"{BASE}/files/report.pdf"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("a b", "a%20b"),
        ("a/b", "a%2Fb"),
        ("what?", "what%3F"),
        ("#1", "%231"),
        ("100%", "100%25"),
        ("café ☕", "caf%C3%A9%20%E2%98%95"),
        ("a,b;c=d", "a%2Cb%3Bc%3Dd"),
        ("safe-._~", "safe-._~"),
        ("%2e%2e", "%252e%252e"),
    ],
)
def test_path_values_are_percent_encoded(value: str, encoded: str) -> None:
    request = build_request(path_tool(), {"color": value})
    assert request.url == f"{BASE}/items/{encoded}"
    assert unquote(urlsplit(request.url).path.rsplit("/", 1)[1]) == value


def test_delimiters_inside_path_values_are_encoded_apart_from_structure() -> None:
    request = build_request(path_tool(style="simple"), {"color": ["a,b", "c"]})
    assert request.url == f"{BASE}/items/a%2Cb,c"


def test_allow_reserved_keeps_slashes_in_a_path_value_but_never_query_or_fragment() -> None:
    request = build_request(path_tool(allow_reserved=True), {"color": "a/b:c?d#e"})
    assert request.url == f"{BASE}/items/a/b:c%3Fd%23e"


@pytest.mark.parametrize("value", [".", "..", "", [], {}])
def test_dot_segments_and_empty_path_values_are_refused(value: Any) -> None:
    with pytest.raises(PathValueInvalidError) as caught:
        build_request(path_tool(), {"color": value})
    assert caught.value.code == "PATH_VALUE_INVALID"
    assert caught.value.http_status == 400
    assert caught.value.pointer == "/color"


def test_label_style_dot_value_cannot_form_a_dot_segment() -> None:
    with pytest.raises(PathValueInvalidError, match="dot segment"):
        build_request(path_tool(style="label"), {"color": "."})


def test_dot_segments_smuggled_through_allow_reserved_are_refused() -> None:
    with pytest.raises(PathValueInvalidError, match="dot segment"):
        build_request(path_tool(allow_reserved=True), {"color": "x/../../admin"})


@pytest.mark.parametrize("value", ["a\r\nb", "a\nb", "a\x00b", "a\tb", ["ok", "bad\r"]])
def test_control_characters_in_path_values_are_refused(value: Any) -> None:
    with pytest.raises(PathValueInvalidError):
        build_request(path_tool(), {"color": value})


def test_missing_path_value_is_refused() -> None:
    with pytest.raises(PathValueInvalidError, match="needs a value for 'color'"):
        build_request(path_tool(), {})


@pytest.mark.parametrize(
    "value", ["@evil.example", "//evil.example/x", "http://evil.example/", "\\\\evil.example", ":8080"]
)
def test_arguments_never_change_the_host(value: str) -> None:
    for tool in (path_tool(), path_tool(allow_reserved=True)):
        url = build_request(tool, {"color": value}).url
        assert urlsplit(url).netloc == "api.example.com"
        assert parse_url(url).host == "api.example.com"


# --- Query styles --------------------------------------------------------------------------------

QUERY_TABLE = [
    ("form", False, "", "color="),
    ("form", False, STRING, "color=blue"),
    ("form", False, ARRAY, "color=blue,black,brown"),
    ("form", False, OBJECT, "color=R,100,G,200,B,150"),
    ("form", True, "", "color="),
    ("form", True, STRING, "color=blue"),
    ("form", True, ARRAY, "color=blue&color=black&color=brown"),
    ("form", True, OBJECT, "R=100&G=200&B=150"),
    ("spaceDelimited", False, ARRAY, "color=blue%20black%20brown"),
    ("spaceDelimited", False, OBJECT, "color=R%20100%20G%20200%20B%20150"),
    ("pipeDelimited", False, ARRAY, "color=blue%7Cblack%7Cbrown"),
    ("pipeDelimited", False, OBJECT, "color=R%7C100%7CG%7C200%7CB%7C150"),
    ("deepObject", True, OBJECT, "color%5BR%5D=100&color%5BG%5D=200&color%5BB%5D=150"),
]


@pytest.mark.parametrize(("style", "explode", "value", "expected"), QUERY_TABLE)
def test_query_style_matches_the_openapi_table(style: str, explode: bool, value: Any, expected: str) -> None:
    tool = make_tool([bind(ArgumentLocation.QUERY, style=style, explode=explode)])
    request = build_request(tool, {"color": value})
    assert request.url == f"{BASE}/items?{expected}"
    # urllib3 sends the URL exactly as built.
    assert parse_url(request.url).url == request.url


# Combinations the specification leaves undefined; the choices are documented in serialization.py.
UNDEFINED_QUERY = [
    ("spaceDelimited", True, ARRAY, "color=blue&color=black&color=brown"),
    ("pipeDelimited", True, OBJECT, "R=100&G=200&B=150"),
    ("pipeDelimited", False, STRING, "color=blue"),
    ("deepObject", True, ARRAY, "color=blue&color=black&color=brown"),
    (
        "deepObject",
        True,
        {"RGB": OBJECT},
        "color%5BRGB%5D%5BR%5D=100&color%5BRGB%5D%5BG%5D=200&color%5BRGB%5D%5BB%5D=150",
    ),
    ("form", True, [], ""),
    ("form", True, ["blue", None, "", False, 0], "color=blue&color=&color=false&color=0"),
]


@pytest.mark.parametrize(("style", "explode", "value", "expected"), UNDEFINED_QUERY)
def test_query_combinations_the_spec_leaves_open(
    style: str, explode: bool, value: Any, expected: str
) -> None:
    tool = make_tool([bind(ArgumentLocation.QUERY, style=style, explode=explode)])
    assert query_of(build_request(tool, {"color": value})) == expected


def test_query_defaults_to_exploded_form() -> None:
    tool = make_tool([bind(ArgumentLocation.QUERY)])
    assert query_of(build_request(tool, {"color": ARRAY})) == "color=blue&color=black&color=brown"


def test_query_values_and_names_are_percent_encoded() -> None:
    tool = make_tool([bind(ArgumentLocation.QUERY, "q"), bind(ArgumentLocation.QUERY, "sort by", "sort")])
    request = build_request(tool, {"q": "a b&c=d+e#f%/?\r\nü", "sort": "x"})
    assert query_of(request) == "q=a%20b%26c%3Dd%2Be%23f%25%2F%3F%0D%0A%C3%BC&sort%20by=x"
    assert dict(parse_qsl(query_of(request))) == {"q": "a b&c=d+e#f%/?\r\nü", "sort by": "x"}


def test_allow_reserved_query_keeps_reserved_characters_but_not_separators() -> None:
    tool = make_tool([bind(ArgumentLocation.QUERY, "next", allow_reserved=True)])
    request = build_request(tool, {"next": "https://x.example/a:b?c=d&e#f"})
    assert query_of(request) == "next=https://x.example/a:b?c%3Dd%26e%23f"
    assert dict(parse_qsl(query_of(request))) == {"next": "https://x.example/a:b?c=d&e#f"}


def test_query_values_render_numbers_and_booleans_as_json_literals() -> None:
    tool = make_tool([bind(ArgumentLocation.QUERY, "n"), bind(ArgumentLocation.QUERY, "flag")])
    assert query_of(build_request(tool, {"n": 2.5, "flag": True})) == "n=2.5&flag=true"


def test_content_parameter_is_serialized_as_json() -> None:
    tool = make_tool([bind(ArgumentLocation.QUERY, "filter", content_type="application/json")])
    request = build_request(tool, {"filter": {"status": "open", "ids": [1, 2]}})
    assert query_of(request) == "filter=%7B%22status%22%3A%22open%22%2C%22ids%22%3A%5B1%2C2%5D%7D"
    assert json.loads(dict(parse_qsl(query_of(request)))["filter"]) == {"status": "open", "ids": [1, 2]}


def test_absent_and_none_optional_arguments_are_omitted() -> None:
    tool = make_tool(
        [
            bind(ArgumentLocation.QUERY, "a"),
            bind(ArgumentLocation.QUERY, "b"),
            bind(ArgumentLocation.HEADER, "X-C"),
        ]
    )
    request = build_request(tool, {"a": None})
    assert request.url == f"{BASE}/items"
    assert request.headers == {}


def test_unknown_style_for_a_location_is_refused() -> None:
    tool = make_tool([bind(ArgumentLocation.QUERY, style="matrix")])
    with pytest.raises(RequestBuildError, match="style 'matrix'"):
        build_request(tool, {"color": "blue"})


# --- Headers and cookies -----------------------------------------------------------------------

HEADER_TABLE = [
    (False, STRING, "blue"),
    (False, ARRAY, "blue,black,brown"),
    (False, OBJECT, "R,100,G,200,B,150"),
    (True, STRING, "blue"),
    (True, ARRAY, "blue,black,brown"),
    (True, OBJECT, "R=100,G=200,B=150"),
]


@pytest.mark.parametrize(("explode", "value", "expected"), HEADER_TABLE)
def test_header_simple_style(explode: bool, value: Any, expected: str) -> None:
    tool = make_tool([bind(ArgumentLocation.HEADER, "X-Color", "color", explode=explode)])
    assert build_request(tool, {"color": value}).headers == {"X-Color": expected}


COOKIE_TABLE = [
    (False, STRING, "color=blue"),
    (False, ARRAY, "color=blue,black,brown"),
    (False, OBJECT, "color=R,100,G,200,B,150"),
    (True, STRING, "color=blue"),
    (True, ARRAY, "color=blue; color=black; color=brown"),
    (True, OBJECT, "R=100; G=200; B=150"),
]


@pytest.mark.parametrize(("explode", "value", "expected"), COOKIE_TABLE)
def test_cookie_form_style_renders_one_cookie_header(explode: bool, value: Any, expected: str) -> None:
    assert cookie_of(explode=explode)(value) == expected


def test_several_cookies_share_one_header_with_encoded_values() -> None:
    tool = make_tool([bind(ArgumentLocation.COOKIE, "theme"), bind(ArgumentLocation.COOKIE, "lang")])
    request = build_request(tool, {"theme": "dark; admin=1", "lang": "de"})
    assert request.headers == {"Cookie": "theme=dark%3B%20admin%3D1; lang=de"}


@pytest.mark.parametrize(
    "value",
    ["blue\r\nX-Injected: 1", "blue\nInjected: 1", "blue\rx", "a\x00b", "caf\u00e9", "a\x7fb", ["a", "b\n"]],
)
def test_header_values_that_http_cannot_carry_are_refused(value: Any) -> None:
    tool = make_tool([bind(ArgumentLocation.HEADER, "X-Color", "color")])
    with pytest.raises(HeaderValueInvalidError) as caught:
        build_request(tool, {"color": value})
    assert caught.value.code == "HEADER_VALUE_INVALID"
    assert "X-Color" in caught.value.message


@pytest.mark.parametrize("value", ["blue\r\nSet-Cookie: x=1", "a\nb", "a\x00", {"k": "v\r"}])
def test_control_characters_in_cookie_values_are_refused(value: Any) -> None:
    with pytest.raises(HeaderValueInvalidError, match="cookie 'color'"):
        cookie_of()(value)


def test_header_name_from_the_spec_must_be_a_token() -> None:
    tool = make_tool([bind(ArgumentLocation.HEADER, "X-Bad\r\nName", "color")])
    with pytest.raises(HeaderValueInvalidError, match="not a valid HTTP header name"):
        build_request(tool, {"color": "x"})


@pytest.mark.parametrize(
    "header",
    [
        "Authorization",
        "authorization",
        "Proxy-Authorization",
        "Host",
        "Cookie",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "X-API-Key",
        "x-auth-token",
        "Api-Key",
        "X-HTTP-Method-Override",
        "X-Forwarded-Host",
    ],
)
def test_reserved_headers_cannot_be_set_by_arguments(header: str) -> None:
    tool = make_tool([bind(ArgumentLocation.HEADER, header, "value")])
    with pytest.raises(ReservedHeaderError) as caught:
        build_request(tool, {"value": "attacker"})
    assert caught.value.code == "RESERVED_HEADER"
    assert header in caught.value.message


def test_reserved_header_binding_without_a_value_does_not_block_the_call() -> None:
    tool = make_tool(
        [bind(ArgumentLocation.HEADER, "Authorization", "auth"), bind(ArgumentLocation.QUERY, "q")]
    )
    assert build_request(tool, {"q": "x"}).headers == {}


def api_key_tool(location: ArgumentLocation, name: str, scheme_location: str) -> CanonicalTool:
    scheme = SecurityScheme(type=SecuritySchemeType.API_KEY, location=scheme_location, parameter_name=name)
    return make_tool(
        [bind(location, name, "value")], security=[{"key": []}], security_schemes={"key": scheme}
    )


def test_api_key_header_named_by_the_spec_is_reserved() -> None:
    tool = api_key_tool(ArgumentLocation.HEADER, "X-Tenant-Token", "header")
    with pytest.raises(ReservedHeaderError, match="X-Tenant-Token"):
        build_request(tool, {"value": "forged"})


def test_api_key_query_parameter_is_reserved() -> None:
    tool = api_key_tool(ArgumentLocation.QUERY, "api_key", "query")
    with pytest.raises(ReservedParameterError, match="api_key") as caught:
        build_request(tool, {"value": "forged"})
    assert caught.value.code == "RESERVED_PARAMETER"


def test_api_key_cookie_is_reserved() -> None:
    tool = api_key_tool(ArgumentLocation.COOKIE, "session", "cookie")
    with pytest.raises(ReservedParameterError, match="session"):
        build_request(tool, {"value": "forged"})


# --- Server URL ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "path", "expected"),
    [
        ("https://api.example.com", "/items", "https://api.example.com/items"),
        ("https://api.example.com/", "/items", "https://api.example.com/items"),
        ("https://api.example.com/v1", "/items", "https://api.example.com/v1/items"),
        ("https://api.example.com/v1/", "/items", "https://api.example.com/v1/items"),
        ("https://api.example.com/v1//", "/items/", "https://api.example.com/v1/items/"),
        ("http://127.0.0.1:8080/api", "/", "http://127.0.0.1:8080/api/"),
        ("https://[::1]:8443", "/items", "https://[::1]:8443/items"),
    ],
)
def test_server_url_and_operation_path_are_joined(server: str, path: str, expected: str) -> None:
    tool = make_tool([], path=path, server_url=server)
    assert build_request(tool, {}).url == expected


def test_server_url_argument_overrides_the_tools_own() -> None:
    tool = make_tool([], server_url="https://spec.example.com/v1")
    assert build_request(tool, {}, server_url="https://tenant.example.com/api").url == (
        "https://tenant.example.com/api/items"
    )


def test_server_url_query_is_kept_before_the_arguments() -> None:
    tool = make_tool([bind(ArgumentLocation.QUERY, "q")], server_url="https://api.example.com/v1?version=2")
    assert build_request(tool, {"q": "x"}).url == "https://api.example.com/v1/items?version=2&q=x"


def test_missing_server_url_is_a_typed_error() -> None:
    with pytest.raises(ServerUrlMissingError) as caught:
        build_request(make_tool([], server_url=None), {})
    assert caught.value.code == "SERVER_URL_MISSING"
    assert isinstance(caught.value, RequestBuildError)


@pytest.mark.parametrize(
    ("server", "match"),
    [
        ("https://{region}.api.example.com/{version}", "region, version"),
        ("/v1", "absolute"),
        ("ftp://files.example.com", "absolute"),
        ("https://", "absolute"),
        ("https://user:secret@api.example.com", "credentials"),
        ("https://api.example.com/#frag", "fragment"),
    ],
)
def test_unusable_server_urls_are_refused(server: str, match: str) -> None:
    with pytest.raises(ServerUrlInvalidError, match=match) as caught:
        build_request(make_tool([], server_url=server), {})
    assert "secret" not in caught.value.message


# --- Bodies ----------------------------------------------------------------------------------------


def body_tool(media_type: str, bindings: list[ArgumentBinding], **body: Any) -> CanonicalTool:
    return make_tool(bindings, method="post", body=RequestBody(media_type=media_type, **body))


def field(name: str) -> ArgumentBinding:
    return bind(ArgumentLocation.BODY_FIELD, name)


def test_flattened_json_body_collects_body_fields() -> None:
    tool = body_tool(
        "application/json",
        [field("title"), field("tags"), field("note"), bind(ArgumentLocation.QUERY, "q")],
        flattened=True,
    )
    request = build_request(tool, {"title": "Grüße", "tags": ["a"], "note": None, "q": "1"})
    assert request.headers == {"Content-Type": "application/json"}
    assert request.body is not None
    assert json.loads(request.body) == {"title": "Grüße", "tags": ["a"]}
    assert "Grüße".encode() in request.body
    assert request.url == f"{BASE}/items?q=1"


def test_whole_body_binding_sends_its_value_with_a_json_suffix_media_type() -> None:
    tool = body_tool("application/vnd.api+json", [bind(ArgumentLocation.BODY, "", "payload")])
    request = build_request(tool, {"payload": [{"id": 1}, {"id": 2}]})
    assert request.headers["Content-Type"] == "application/vnd.api+json"
    assert request.body == b'[{"id":1},{"id":2}]'


def test_required_flattened_body_without_fields_is_an_empty_object() -> None:
    tool = body_tool("application/json", [field("title")], flattened=True, required=True)
    assert build_request(tool, {}).body == b"{}"


def test_optional_body_without_values_is_not_sent() -> None:
    request = build_request(body_tool("application/json", [field("title")], flattened=True), {})
    assert request.body is None
    assert "Content-Type" not in request.headers


def test_form_urlencoded_body_with_per_field_encoding() -> None:
    encoding = {
        "meta": BodyEncoding(content_type="application/json"),
        "ids": BodyEncoding(style="pipeDelimited", explode=False),
    }
    tool = body_tool(
        "application/x-www-form-urlencoded",
        [field(name) for name in ("name", "tags", "address", "meta", "ids", "skip")],
        flattened=True,
        encoding=encoding,
    )
    arguments = {
        "name": "a b&c=d+é",
        "tags": ["x", "y"],
        "address": {"city": "Köln", "zip": "50667"},
        "meta": {"k": 1},
        "ids": [1, 2],
        "skip": None,
    }
    request = build_request(tool, arguments)
    assert request.headers == {"Content-Type": "application/x-www-form-urlencoded"}
    assert request.body == (
        b"name=a%20b%26c%3Dd%2B%C3%A9&tags=x&tags=y"
        b"&address%5Bcity%5D=K%C3%B6ln&address%5Bzip%5D=50667"
        b"&meta=%7B%22k%22%3A1%7D&ids=1%7C2"
    )
    assert parse_qsl(request.body.decode()) == [
        ("name", "a b&c=d+é"),
        ("tags", "x"),
        ("tags", "y"),
        ("address[city]", "Köln"),
        ("address[zip]", "50667"),
        ("meta", '{"k":1}'),
        ("ids", "1|2"),
    ]


def test_form_body_must_be_an_object() -> None:
    tool = body_tool("application/x-www-form-urlencoded", [bind(ArgumentLocation.BODY, "", "payload")])
    with pytest.raises(BodyInvalidError, match="give an object"):
        build_request(tool, {"payload": ["a", "b"]})


def parse_multipart(request: HttpRequest) -> list[tuple[str, str | None, str, bytes]]:
    """(name, filename, content type, payload) of each part, read back with the stdlib parser."""
    assert request.body is not None
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + request.body, policy=email.policy.HTTP)
    assert message.is_multipart()
    parts = []
    for part in message.iter_parts():
        assert part.get_content_disposition() == "form-data"
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(payload, bytes)
        parts.append((name, part.get_filename(), part.get_content_type(), payload))
    return parts


def test_multipart_body_has_one_part_per_field_with_real_content() -> None:
    encoding = {"avatar": BodyEncoding(content_type="image/png")}
    tool = body_tool(
        "multipart/form-data",
        [field(name) for name in ("title", "count", "meta", "tags", "avatar", "gone")],
        flattened=True,
        encoding=encoding,
    )
    request = build_request(
        tool,
        {
            "title": "Grüße\r\nline two",
            "count": 3,
            "meta": {"a": [1, 2]},
            "tags": ["x", "y"],
            "avatar": "PNG-DATA",
            "gone": None,
        },
    )
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert parse_multipart(request) == [
        ("title", None, "text/plain", "Grüße\r\nline two".encode()),
        ("count", None, "text/plain", b"3"),
        ("meta", None, "application/json", b'{"a":[1,2]}'),
        ("tags", None, "text/plain", b"x"),
        ("tags", None, "text/plain", b"y"),
        ("avatar", "avatar", "image/png", b"PNG-DATA"),
    ]


def test_multipart_field_names_cannot_break_the_part_headers() -> None:
    tool = body_tool("multipart/form-data", [bind(ArgumentLocation.BODY, "", "payload")])
    request = build_request(tool, {"payload": {'x"\r\nContent-Type: text/html': "v"}})
    [(name, _, content_type, payload)] = parse_multipart(request)
    assert content_type == "text/plain"
    assert payload == b"v"
    assert "\r" not in name and "\n" not in name


@pytest.mark.parametrize(
    ("media_type", "value", "body", "content_type"),
    [
        ("text/plain", "héllo", "héllo".encode(), "text/plain; charset=utf-8"),
        ("text/plain; charset=utf-8", "x", b"x", "text/plain; charset=utf-8"),
        ("text/csv", 42, b"42", "text/csv; charset=utf-8"),
        ("application/octet-stream", "raw bytes é", "raw bytes é".encode(), "application/octet-stream"),
        ("application/xml", "<a/>", b"<a/>", "application/xml"),
        ("*/*", {"a": 1}, b'{"a":1}', "application/json"),
    ],
)
def test_other_media_types_send_the_value_as_text(
    media_type: str, value: Any, body: bytes, content_type: str
) -> None:
    tool = body_tool(media_type, [bind(ArgumentLocation.BODY, "", "payload")])
    request = build_request(tool, {"payload": value})
    assert request.body == body
    assert request.headers["Content-Type"] == content_type


def test_structured_value_for_a_text_media_type_is_refused() -> None:
    tool = body_tool("application/octet-stream", [bind(ArgumentLocation.BODY, "", "payload")])
    with pytest.raises(BodyInvalidError, match="application/octet-stream"):
        build_request(tool, {"payload": {"a": 1}})


def test_body_arguments_for_an_operation_without_a_body_are_refused() -> None:
    tool = make_tool([field("title")], method="post")
    with pytest.raises(BodyInvalidError, match="takes no body"):
        build_request(tool, {"title": "x"})


# --- Retries and idempotency -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "retryable"),
    [
        ("get", True),
        ("head", True),
        ("options", True),
        ("put", True),
        ("delete", True),
        ("post", False),
        ("patch", False),
    ],
)
def test_idempotent_methods_are_retryable(method: str, retryable: bool) -> None:
    request = build_request(make_tool([], method=method), {})
    assert request.method == method.upper()
    assert request.retryable is retryable


def test_declared_idempotency_header_gets_a_fresh_key_and_makes_post_retryable() -> None:
    tool = make_tool([], method="post", idempotency_header="Idempotency-Key")
    first = build_request(tool, {})
    second = build_request(tool, {})
    assert first.retryable is True
    assert uuid.UUID(first.headers["Idempotency-Key"])
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]


def test_given_idempotency_key_wins_over_the_arguments() -> None:
    tool = make_tool(
        [bind(ArgumentLocation.HEADER, "idempotency-key", "key")],
        method="post",
        idempotency_header="Idempotency-Key",
    )
    assert build_request(tool, {"key": "from-model"}).headers == {"Idempotency-Key": "from-model"}
    assert build_request(tool, {"key": "from-model"}, idempotency_key="k-1").headers == {
        "Idempotency-Key": "k-1"
    }


# --- Import hygiene ----------------------------------------------------------------------------------


def test_request_and_argument_modules_import_neither_requests_nor_boto3_nor_urllib3() -> None:
    code = (
        "import sys, toolgate.runtime.request, toolgate.runtime.arguments, toolgate.runtime.serialization;"
        "print(sorted(m for m in ('requests', 'boto3', 'botocore', 'urllib3') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
