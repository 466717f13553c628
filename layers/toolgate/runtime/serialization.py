"""OpenAPI 3 parameter styles (`style`, `explode`, `allowReserved`) with RFC 3986 percent-encoding.

The output is what goes on the wire, and what urllib3 sends unchanged: the OpenAPI 3.1.1 style
examples table, with structural delimiters that are not valid in a query (`|`, `[`, `]`) encoded.
Names and values are encoded before delimiters are added, so a `,` or `&` inside a value cannot be
mistaken for structure. Undefined values (None) inside arrays and objects are skipped, as in RFC 6570.
Where the OpenAPI specification leaves a combination undefined, the choice made is noted inline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import quote

#: Reserved characters `allowReserved` lets through in a path value. `?`, `#`, `[` and `]` never are:
#: they would end the path or are invalid there.
PATH_RESERVED = "!$&'()*+,;=:@/"
#: Reserved characters `allowReserved` lets through in a query value. `&`, `=`, `+` and `#` never are:
#: they would split the query, add parameters, turn into a space or end the URL.
QUERY_RESERVED = "!$'()*,;:@/?"

_SPACE = "%20"
_PIPE = "%7C"

Pair = tuple[str, str]
_Encoder = Callable[[object], str]


def is_container(value: object) -> bool:
    return isinstance(value, Mapping | list | tuple)


def render_scalar(value: object) -> str:
    """Text of one value: strings as is, JSON literals for numbers and booleans, JSON for containers."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode(text: str, reserved: str = "") -> str:
    """Percent-encode UTF-8, keeping RFC 3986 unreserved characters and the given reserved ones."""
    return quote(text, safe=reserved)


def default_explode(style: str) -> bool:
    return style == "form"


def defined_items(value: Sequence[object]) -> list[object]:
    return [item for item in value if item is not None]


def _members(value: Mapping[str, object]) -> list[tuple[str, object]]:
    return [(key, item) for key, item in value.items() if item is not None]


# --- Path: simple, label, matrix -------------------------------------------------------------


def serialize_path(name: str, value: object, style: str, explode: bool, reserved: str = "") -> str:
    """One path template expansion, encoded. `reserved` is PATH_RESERVED when allowReserved is set."""

    def enc(item: object) -> str:
        return encode(render_scalar(item), reserved)

    if style == "simple":
        return _joined(value, enc, separator=",", pair_separator="=" if explode else ",")
    if style == "label":
        separator = "." if explode else ","
        return "." + _joined(value, enc, separator=separator, pair_separator="=" if explode else ",")
    if style == "matrix":
        key = encode(name)
        if isinstance(value, Mapping):
            members = _members(value)
            if explode:
                return "".join(f";{encode(k)}={enc(v)}" for k, v in members)
            return f";{key}=" + ",".join(f"{encode(k)},{enc(v)}" for k, v in members)
        if isinstance(value, list | tuple):
            items = defined_items(value)
            if explode:
                return "".join(f";{key}={enc(item)}" for item in items)
            return f";{key}=" + ",".join(enc(item) for item in items)
        text = enc(value)
        return f";{key}={text}" if text else f";{key}"
    raise ValueError(f"style '{style}' is not a path style (simple, label, matrix)")


def _joined(value: object, enc: _Encoder, *, separator: str, pair_separator: str) -> str:
    if isinstance(value, Mapping):
        return separator.join(f"{encode(k)}{pair_separator}{enc(v)}" for k, v in _members(value))
    if isinstance(value, list | tuple):
        return separator.join(enc(item) for item in defined_items(value))
    return enc(value)


# --- Query (and form-urlencoded fields): form, spaceDelimited, pipeDelimited, deepObject -----


def serialize_query(name: str, value: object, style: str, explode: bool, reserved: str = "") -> list[Pair]:
    """Encoded (name, value) pairs for one query parameter. `reserved` is QUERY_RESERVED or ""."""

    def enc(item: object) -> str:
        return encode(render_scalar(item), reserved)

    key = encode(name)
    if style == "deepObject":
        if isinstance(value, Mapping):
            return _deep_object_pairs(key, value, enc)
        # deepObject is defined for objects only; arrays and scalars are written as exploded form.
        style, explode = "form", True
    if (
        style in ("spaceDelimited", "pipeDelimited")
        and not explode
        and isinstance(value, Mapping | list | tuple)
    ):
        delimiter = _SPACE if style == "spaceDelimited" else _PIPE
        return [(key, _delimited(value, enc, delimiter))]
    if style in ("form", "spaceDelimited", "pipeDelimited"):
        # spaceDelimited and pipeDelimited with explode are undefined; they are written as exploded form.
        return _form_pairs(key, value, explode, enc)
    raise ValueError(
        f"style '{style}' is not a query style (form, spaceDelimited, pipeDelimited, deepObject)"
    )


def _form_pairs(key: str, value: object, explode: bool, enc: _Encoder) -> list[Pair]:
    if isinstance(value, Mapping):
        members = _members(value)
        if not members:
            return []
        if explode:
            return [(encode(k), enc(v)) for k, v in members]
        return [(key, ",".join(f"{encode(k)},{enc(v)}" for k, v in members))]
    if isinstance(value, list | tuple):
        items = defined_items(value)
        if not items:
            return []
        if explode:
            return [(key, enc(item)) for item in items]
        return [(key, ",".join(enc(item) for item in items))]
    return [(key, enc(value))]


def _delimited(value: Mapping[str, object] | Sequence[object], enc: _Encoder, delimiter: str) -> str:
    if isinstance(value, Mapping):
        return delimiter.join(f"{encode(k)}{delimiter}{enc(v)}" for k, v in _members(value))
    return delimiter.join(enc(item) for item in defined_items(value))


def _deep_object_pairs(prefix: str, value: Mapping[str, object], enc: _Encoder) -> list[Pair]:
    # Nested objects continue the bracket path; arrays repeat their key (both undefined by OpenAPI).
    pairs: list[Pair] = []
    for member, item in _members(value):
        key = f"{prefix}%5B{encode(member)}%5D"
        if isinstance(item, Mapping):
            pairs.extend(_deep_object_pairs(key, item, enc))
        elif isinstance(item, list | tuple):
            pairs.extend((key, enc(element)) for element in defined_items(item))
        else:
            pairs.append((key, enc(item)))
    return pairs


def join_pairs(pairs: Sequence[Pair]) -> str:
    return "&".join(f"{key}={value}" for key, value in pairs)


# --- Header: simple; cookie: form ------------------------------------------------------------


def serialize_header(value: object, explode: bool) -> str:
    """A header value in simple style. Not percent-encoded: the caller rejects what HTTP cannot carry."""
    if isinstance(value, Mapping):
        pair_separator = "=" if explode else ","
        return ",".join(f"{k}{pair_separator}{render_scalar(v)}" for k, v in _members(value))
    if isinstance(value, list | tuple):
        return ",".join(render_scalar(item) for item in defined_items(value))
    return render_scalar(value)


def serialize_cookie(name: str, value: object, explode: bool) -> list[str]:
    """`name=value` cookie pairs in form style, values percent-encoded so `;`, `,` and spaces are safe.

    Exploded arrays and objects become one cookie per item, as OpenAPI 3.2's `cookie` style writes them:
    form's `&` separator has no meaning in a Cookie header.
    """
    return [f"{key}={item}" for key, item in _form_pairs(encode(name), value, explode, _encode_scalar)]


def _encode_scalar(item: object) -> str:
    return encode(render_scalar(item))
