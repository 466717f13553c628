"""Swagger 2.0 to OpenAPI 3.0.3, with a report of what was converted, repaired or lost.

The input is read, never changed. The output is built from new containers for everything the
conversion touches and shares unchanged subtrees (examples, enums, schemas without references)
with the input, so callers must treat it as read-only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from toolgate.errors import SpecUnsupportedVersionError
from toolgate.spec.models import Finding, Severity
from toolgate.spec.refs import escape_token, pointer_join

OPENAPI_VERSION = "3.0.3"

_JSON = "application/json"
_FORM_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_FORM_MEDIA_TYPES = (_FORM_URLENCODED, _MULTIPART)

_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch"})
_OPERATION_KEPT = frozenset({"tags", "summary", "description", "externalDocs", "operationId", "deprecated"})
_OPERATION_CONVERTED = frozenset({"consumes", "produces", "schemes", "parameters", "responses", "security"})
_DOCUMENT_CONVERTED = frozenset(
    {"swagger", "info", "externalDocs", "host", "basePath", "schemes", "tags"}
) | {
    *("consumes", "produces", "paths", "definitions", "parameters", "responses"),
    *("securityDefinitions", "security"),
}
_PARAMETER_KEPT = frozenset(
    {"name", "in", "description", "required", "allowEmptyValue", "deprecated", "example"}
)
#: Keywords of a non-body parameter, header or items object that describe its value: they move into `schema`.
_VALUE_KEYWORDS = frozenset({"type", "format", "items", "default", "enum", "pattern", "x-nullable"}) | {
    *("maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "multipleOf"),
    *("maxLength", "minLength", "maxItems", "minItems", "uniqueItems"),
}
#: Schema keywords whose value is a schema, a list of schemas, or a map of names to schemas.
_SUBSCHEMA_KEYWORDS = frozenset({"items", "additionalProperties", "not", "additionalItems"})
_SUBSCHEMA_LIST_KEYWORDS = frozenset({"allOf", "anyOf", "oneOf"})
_SUBSCHEMA_MAP_KEYWORDS = frozenset({"properties", "patternProperties", "definitions"})

_OAUTH2_FLOWS = {
    "implicit": "implicit",
    "password": "password",
    "application": "clientCredentials",
    "accessCode": "authorizationCode",
}
_OAUTH2_FLOW_URLS = {
    "implicit": ("authorizationUrl",),
    "password": ("tokenUrl",),
    "clientCredentials": ("tokenUrl",),
    "authorizationCode": ("authorizationUrl", "tokenUrl"),
}

#: (Swagger 2.0 ref prefix, section of the document, OpenAPI 3.0 ref prefix).
_REF_SECTIONS = (
    ("#/definitions/", "definitions", "#/components/schemas/"),
    ("#/parameters/", "parameters", "#/components/parameters/"),
    ("#/responses/", "responses", "#/components/responses/"),
)
_COMPONENT_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_COMPONENT_NAME_INVALID_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def convert_swagger2(document: Mapping[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    """Convert a loaded Swagger 2.0 document to OpenAPI 3.0.3.

    Returns the converted document and findings whose pointers point into the ORIGINAL document.
    Raises `SpecUnsupportedVersionError` when the document does not declare `swagger: "2.0"`.
    """
    if str(document.get("swagger")) != "2.0":
        raise SpecUnsupportedVersionError(
            "Only Swagger 2.0 documents can be converted; this one declares "
            f"swagger: {document.get('swagger')!r}.",
            pointer="/swagger",
        )
    return _Converter(document).convert()


def _unescape(token: str) -> str:
    return unquote(token).replace("~1", "/").replace("~0", "~")


def _extensions(node: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in node.items() if key.startswith("x-")}


def _media_types(value: Any) -> list[str]:
    """A `consumes`/`produces` list, or an empty list when it is absent or malformed."""
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str) and item]
    return []


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _base_media_type(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


class _Converter:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.findings: list[Finding] = []
        self.global_consumes = _media_types(document.get("consumes"))
        self.global_produces = _media_types(document.get("produces"))
        self.global_parameters = self._section("parameters")
        self.global_responses = self._section("responses")
        self.definitions = self._section("definitions")
        self.security_definitions = self._section("securityDefinitions")
        self.renamed: dict[str, dict[str, str]] = {}
        #: Converted schemas by id() of their source, holding the source so its id is never reused:
        #: shared subtrees (YAML aliases, global body parameters) are converted once and stay shared.
        self.schema_memo: dict[int, tuple[Any, Any]] = {}
        #: The host servers are built on, and their schemes; set by _servers().
        self.host: str | None = None
        self.server_schemes: list[str] = []
        self.body_parameter_count = 0
        self.form_body_count = 0
        self.operation_count = 0

    def _section(self, key: str) -> dict[str, Any]:
        value = self.document.get(key)
        return value if isinstance(value, dict) else {}

    def _report(self, code: str, severity: Severity, message: str, pointer: str) -> None:
        self.findings.append(Finding(code=code, severity=severity, message=message, pointer=pointer))

    # --- The document -----------------------------------------------------------------------

    def convert(self) -> tuple[dict[str, Any], list[Finding]]:
        for _prefix, section, _target in _REF_SECTIONS:
            self.renamed[section] = self._component_names(section, self._section(section))
        self.renamed["securityDefinitions"] = self._component_names(
            "securityDefinitions", self.security_definitions
        )

        converted: dict[str, Any] = {"openapi": OPENAPI_VERSION}
        if "info" in self.document:
            converted["info"] = self.document["info"]
        if "externalDocs" in self.document:
            converted["externalDocs"] = self.document["externalDocs"]
        converted["servers"] = self._servers()
        if "tags" in self.document:
            converted["tags"] = self.document["tags"]
        converted["paths"] = self._paths()
        components = self._components()
        if components:
            converted["components"] = components
        if "security" in self.document:
            converted["security"] = self._security_requirements(self.document["security"])

        for key, value in self.document.items():
            if key.startswith("x-"):
                converted[key] = value
            elif key not in _DOCUMENT_CONVERTED:
                self._dropped(key, "")

        self.findings.insert(0, self._summary(converted))
        return converted, self.findings

    def _summary(self, converted: Mapping[str, Any]) -> Finding:
        schemas = len(converted.get("components", {}).get("schemas", {}))
        message = (
            f"Converted Swagger 2.0 to OpenAPI {OPENAPI_VERSION}: {self.operation_count} operations, "
            f"{schemas} schemas, {self.body_parameter_count} body parameters and "
            f"{self.form_body_count} form bodies became request bodies, "
            f"{len(converted['servers'])} server(s)."
        )
        return Finding(code="SWAGGER2_CONVERTED", severity=Severity.INFO, message=message, pointer="")

    def _dropped(self, key: str, parent_pointer: str) -> None:
        pointer = pointer_join(parent_pointer, key)
        self._report(
            "SWAGGER2_FIELD_DROPPED",
            Severity.WARNING,
            f"'{key}' is not part of Swagger 2.0 here and has no OpenAPI 3.0 equivalent; it was dropped.",
            pointer,
        )

    def _component_names(self, section: str, entries: Mapping[str, Any]) -> dict[str, str]:
        """Renames for component names OpenAPI 3.0 forbids (it allows only `A-Za-z0-9._-`)."""
        taken = {name for name in entries if _COMPONENT_NAME.match(name)}
        renames: dict[str, str] = {}
        for name in entries:
            if name in taken:
                continue
            base = _COMPONENT_NAME_INVALID_CHARS.sub("_", name) or "_"
            candidate, suffix = base, 2
            while candidate in taken:
                candidate, suffix = f"{base}_{suffix}", suffix + 1
            taken.add(candidate)
            renames[name] = candidate
            self._report(
                "SWAGGER2_COMPONENT_RENAMED",
                Severity.INFO,
                f"'{name}' is not a valid OpenAPI 3.0 component name; it was renamed '{candidate}' "
                "and every reference to it rewritten.",
                pointer_join(pointer_join("", section), name),
            )
        return renames

    def _component_name(self, section: str, name: str) -> str:
        return self.renamed[section].get(name, name)

    # --- Servers ----------------------------------------------------------------------------

    def _base_path(self) -> str:
        """basePath with a leading slash and no trailing one ("" for the root)."""
        base_path = self.document.get("basePath")
        base_path = base_path.strip().strip("/") if isinstance(base_path, str) else ""
        return f"/{base_path}" if base_path else ""

    def _servers(self) -> list[dict[str, Any]]:
        host = self.document.get("host")
        base_path = self._base_path()

        if not isinstance(host, str) or not host.strip():
            self._report(
                "SWAGGER2_NO_HOST",
                Severity.WARNING,
                "The document declares no host, so its server URL is the relative "
                f"'{base_path or '/'}'; an absolute base URL must be supplied to call it.",
                "/host",
            )
            return [{"url": base_path or "/"}]

        host = host.strip().rstrip("/")
        if "://" in host:
            self._report(
                "SWAGGER2_HOST_HAS_SCHEME",
                Severity.WARNING,
                f"host '{host}' includes a scheme, which Swagger 2.0 forbids; it was used as the origin.",
                "/host",
            )
            return [{"url": host + base_path}]
        self.host = host
        self.server_schemes = self._schemes(self.document, "")
        return [{"url": f"{scheme}://{host}{base_path}"} for scheme in self.server_schemes]

    def _schemes(self, node: Mapping[str, Any], pointer: str) -> list[str]:
        """The node's schemes, https first; https when none is given."""
        declared = node.get("schemes")
        schemes: list[str] = []
        if isinstance(declared, list):
            for scheme in declared:
                if isinstance(scheme, str) and scheme.lower() not in schemes:
                    schemes.append(scheme.lower())
        if not schemes:
            self._report(
                "SWAGGER2_SCHEME_ASSUMED",
                Severity.INFO,
                "No schemes are declared; https was assumed.",
                pointer_join(pointer, "schemes"),
            )
            return ["https"]
        schemes.sort(key=lambda scheme: scheme != "https")
        if len(schemes) > 1:
            self._report(
                "SWAGGER2_MULTIPLE_SCHEMES",
                Severity.INFO,
                f"Schemes {', '.join(schemes)} became one server each, https first.",
                pointer_join(pointer, "schemes"),
            )
        return schemes

    def _operation_servers(self, operation: Mapping[str, Any], pointer: str) -> list[dict[str, Any]] | None:
        """Servers for an operation whose own `schemes` differ from the document's, when a host is known."""
        declared = operation.get("schemes")
        if self.host is None or not isinstance(declared, list):
            return None
        if {str(scheme).lower() for scheme in declared} == set(self.server_schemes):
            return None
        return [
            {"url": f"{scheme}://{self.host}{self._base_path()}"}
            for scheme in self._schemes(operation, pointer)
        ]

    # --- References -------------------------------------------------------------------------

    def _ref(self, ref: str) -> str:
        for prefix, section, target in _REF_SECTIONS:
            if ref.startswith(prefix):
                rest = ref[len(prefix) :]
                token, separator, tail = rest.partition("/")
                renamed = self.renamed[section].get(_unescape(token))
                if renamed is None:
                    return target + rest
                return target + escape_token(renamed) + separator + tail
        return ref

    def _global_parameter(self, ref: str) -> tuple[str, Any] | None:
        """The name and object of the global parameter a `#/parameters/X` reference points to."""
        if not ref.startswith("#/parameters/"):
            return None
        name = _unescape(ref[len("#/parameters/") :])
        if name not in self.global_parameters:
            return None
        return name, self.global_parameters[name]

    def _security_requirements(self, requirements: Any) -> Any:
        renames = self.renamed["securityDefinitions"]
        if not renames or not isinstance(requirements, list):
            return requirements
        return [
            {renames.get(name, name): scopes for name, scopes in requirement.items()}
            if isinstance(requirement, dict)
            else requirement
            for requirement in requirements
        ]

    # --- Schemas ----------------------------------------------------------------------------

    def _schema(self, schema: Any, pointer: str) -> Any:
        """A Swagger 2.0 schema as an OpenAPI 3.0 schema; the input object itself when nothing changes."""
        if not isinstance(schema, dict):
            return schema
        key_id = id(schema)
        memo = self.schema_memo.get(key_id)
        if memo is not None:
            return memo[1]
        # A placeholder breaks reference cycles in the loaded object graph.
        self.schema_memo[key_id] = (schema, schema)
        converted = self._schema_node(schema, pointer)
        self.schema_memo[key_id] = (schema, converted)
        return converted

    def _schema_node(self, schema: dict[str, Any], pointer: str) -> dict[str, Any]:
        converted: dict[str, Any] = {}
        changed = False
        for key, value in schema.items():
            new_key, new_value = key, value
            if key == "$ref":
                if isinstance(value, str):
                    new_value = self._ref(value)
            elif key in _SUBSCHEMA_MAP_KEYWORDS:
                new_value = self._schema_map(value, pointer_join(pointer, key))
            elif key in _SUBSCHEMA_KEYWORDS:
                if isinstance(value, list):
                    new_value = self._schema_list(value, pointer_join(pointer, key))
                else:
                    new_value = self._schema(value, pointer_join(pointer, key))
            elif key in _SUBSCHEMA_LIST_KEYWORDS:
                new_value = self._schema_list(value, pointer_join(pointer, key))
            elif key == "x-nullable" and isinstance(value, bool):
                new_key, changed = "nullable", True
            elif key == "discriminator" and isinstance(value, str):
                new_value = {"propertyName": value}
            elif key == "type" and (value == "file" or isinstance(value, list)):
                changed = True
                continue
            if new_value is not value:
                changed = True
            converted[new_key] = new_value

        if not changed:
            return schema
        declared_type = schema.get("type")
        if declared_type == "file":
            converted["type"] = "string"
            converted["format"] = "binary"
        elif isinstance(declared_type, list):
            self._type_list(declared_type, converted, pointer_join(pointer, "type"))
        return converted

    def _schema_list(self, schemas: Any, pointer: str) -> Any:
        if not isinstance(schemas, list):
            return schemas
        converted = [
            self._schema(schema, pointer_join(pointer, index)) for index, schema in enumerate(schemas)
        ]
        if all(new is old for new, old in zip(converted, schemas, strict=True)):
            return schemas
        return converted

    def _schema_map(self, schemas: Any, pointer: str) -> Any:
        if not isinstance(schemas, dict):
            return schemas
        converted = {
            name: self._schema(schema, pointer_join(pointer, name)) for name, schema in schemas.items()
        }
        if all(converted[name] is schema for name, schema in schemas.items()):
            return schemas
        return converted

    def _type_list(self, types: list[Any], converted: dict[str, Any], pointer: str) -> None:
        """`type: [X, "null"]` (JSON Schema, not Swagger 2.0) as OpenAPI 3.0 `type`/`nullable`/`anyOf`."""
        names: list[str] = []
        for name in types:
            if isinstance(name, str) and name not in names:
                names.append(name)
        nullable = "null" in names
        concrete = [name for name in names if name != "null"]
        if nullable:
            converted["nullable"] = True
        if len(concrete) == 1:
            converted["type"] = concrete[0]
        elif concrete:
            alternatives = [{"type": name} for name in concrete]
            if "anyOf" in converted:
                converted["allOf"] = [*converted.get("allOf", []), {"anyOf": alternatives}]
            else:
                converted["anyOf"] = alternatives
        self._report(
            "SWAGGER2_TYPE_ARRAY",
            Severity.INFO,
            f"type {types!r} is not valid in Swagger 2.0 or OpenAPI 3.0; it was rewritten with "
            "'nullable' and 'anyOf'.",
            pointer,
        )

    # --- Parameters -------------------------------------------------------------------------

    def _value_schema(self, node: Mapping[str, Any], pointer: str, *, nested: bool = False) -> dict[str, Any]:
        """A new `schema` for a non-body parameter, header or items object, from its value keywords."""
        raw: dict[str, Any] = {}
        for key, value in node.items():
            if key == "items" and isinstance(value, dict):
                raw["items"] = self._value_schema(value, pointer_join(pointer, "items"), nested=True)
            elif key in _VALUE_KEYWORDS or (key == "$ref" and isinstance(value, str)):
                raw[key] = value
        if nested and "collectionFormat" in node:
            self._report(
                "SWAGGER2_NESTED_COLLECTION_FORMAT",
                Severity.WARNING,
                f"collectionFormat {node['collectionFormat']!r} on nested array items has no OpenAPI 3.0 "
                "equivalent; it was dropped.",
                pointer_join(pointer, "collectionFormat"),
            )
        return self._schema_node(raw, pointer)

    def _style(self, location: str, collection_format: Any, pointer: str) -> tuple[str, bool]:
        """OpenAPI 3.0 style and explode for an array parameter's collectionFormat."""
        fmt = collection_format if isinstance(collection_format, str) else "csv"
        comma_style = "form" if location in ("query", "formData") else "simple"
        if fmt == "csv":
            return comma_style, False
        if location in ("query", "formData"):
            if fmt == "multi":
                return "form", True
            if fmt == "ssv":
                return "spaceDelimited", False
            if fmt == "pipes":
                return "pipeDelimited", False
        if fmt == "tsv":
            self._report(
                "SWAGGER2_COLLECTION_FORMAT_TSV",
                Severity.WARNING,
                "collectionFormat 'tsv' (tab-separated) has no OpenAPI 3.0 equivalent; "
                "comma-separated values are used instead.",
                pointer,
            )
        elif fmt == "multi":
            self._report(
                "SWAGGER2_COLLECTION_FORMAT_MULTI",
                Severity.WARNING,
                f"collectionFormat 'multi' is only defined for query and form parameters, not {location}; "
                "comma-separated values are used instead.",
                pointer,
            )
        else:
            self._report(
                "SWAGGER2_COLLECTION_FORMAT_UNSUPPORTED",
                Severity.WARNING,
                f"collectionFormat {fmt!r} has no OpenAPI 3.0 equivalent for {location} parameters; "
                "comma-separated values are used instead.",
                pointer,
            )
        return comma_style, False

    def _parameter(self, parameter: Mapping[str, Any], pointer: str) -> dict[str, Any]:
        """A non-body, non-form parameter as an OpenAPI 3.0 Parameter Object."""
        converted: dict[str, Any] = {}
        for key, value in parameter.items():
            if key in _PARAMETER_KEPT or (key.startswith("x-") and key != "x-nullable"):
                converted[key] = value
            elif key == "schema":
                converted["schema"] = self._schema(value, pointer_join(pointer, "schema"))
            elif key not in _VALUE_KEYWORDS and key != "collectionFormat":
                self._dropped(key, pointer)
        if "schema" not in converted:
            converted["schema"] = self._value_schema(parameter, pointer)
        if parameter.get("type") == "array":
            location = str(parameter.get("in"))
            style, explode = self._style(
                location, parameter.get("collectionFormat"), pointer_join(pointer, "collectionFormat")
            )
            converted["style"] = style
            converted["explode"] = explode
        return converted

    def _resolve(self, parameter: Any) -> tuple[Any, str | None]:
        """A parameter and, when it is a reference to a global parameter, that parameter's pointer."""
        if isinstance(parameter, dict) and isinstance(parameter.get("$ref"), str):
            target = self._global_parameter(parameter["$ref"])
            if target is not None:
                return target[1], pointer_join("/parameters", target[0])
        return parameter, None

    # --- Paths and operations ---------------------------------------------------------------

    def _paths(self) -> dict[str, Any]:
        paths = self.document.get("paths")
        if not isinstance(paths, dict):
            return {}
        converted: dict[str, Any] = {}
        for path, item in paths.items():
            pointer = pointer_join("/paths", path)
            if path.startswith("x-") or not isinstance(item, dict):
                converted[path] = item
            else:
                converted[path] = self._path_item(item, pointer)
        return converted

    def _path_item(self, item: Mapping[str, Any], pointer: str) -> dict[str, Any]:
        shared_parameters = _list(item.get("parameters"))
        # Body and form parameters cannot stay on an OpenAPI 3.0 path item: they go into each operation.
        inherited: list[tuple[Any, str]] = []
        path_parameters: list[Any] = []
        for index, parameter in enumerate(shared_parameters):
            parameter_pointer = pointer_join(pointer_join(pointer, "parameters"), index)
            resolved, _ = self._resolve(parameter)
            if isinstance(resolved, dict) and resolved.get("in") in ("body", "formData"):
                inherited.append((parameter, parameter_pointer))
            else:
                path_parameters.append(self._parameter_entry(parameter, parameter_pointer))

        converted: dict[str, Any] = {}
        for key, value in item.items():
            if key in _METHODS and isinstance(value, dict):
                self.operation_count += 1
                converted[key] = self._operation(value, inherited, pointer_join(pointer, key))
            elif key in _METHODS or key.startswith("x-") or key == "$ref":
                converted[key] = value
            elif key == "parameters":
                if path_parameters:
                    converted["parameters"] = path_parameters
            else:
                self._dropped(key, pointer)
        return converted

    def _parameter_entry(self, parameter: Any, pointer: str) -> Any:
        """A non-body parameter list entry: a rewritten reference or a converted parameter."""
        if not isinstance(parameter, dict):
            return parameter
        ref = parameter.get("$ref")
        if isinstance(ref, str):
            return {"$ref": self._ref(ref)}
        return self._parameter(parameter, pointer)

    def _operation(
        self, operation: Mapping[str, Any], inherited: list[tuple[Any, str]], pointer: str
    ) -> dict[str, Any]:
        converted: dict[str, Any] = {}
        for key, value in operation.items():
            if key in _OPERATION_KEPT or key.startswith("x-"):
                converted[key] = value
            elif key == "security":
                converted[key] = self._security_requirements(value)
            elif key not in _OPERATION_CONVERTED:
                self._dropped(key, pointer)

        consumes = _media_types(operation.get("consumes"))
        consumes_pointer = pointer_join(pointer, "consumes")
        if not consumes:
            consumes, consumes_pointer = self.global_consumes, "/consumes"
        produces = _media_types(operation.get("produces")) or self.global_produces

        parameters: list[Any] = []
        body: tuple[Mapping[str, Any], str] | None = None
        form: dict[str, tuple[Mapping[str, Any], str]] = {}
        own = _list(operation.get("parameters"))
        own_entries = [
            (parameter, pointer_join(pointer_join(pointer, "parameters"), i))
            for i, parameter in enumerate(own)
        ]
        for parameter, parameter_pointer in [*inherited, *own_entries]:
            resolved, global_pointer = self._resolve(parameter)
            location = resolved.get("in") if isinstance(resolved, dict) else None
            if location == "body":
                body = (resolved, global_pointer or parameter_pointer)
            elif location == "formData":
                form[str(resolved.get("name"))] = (resolved, global_pointer or parameter_pointer)
            else:
                parameters.append(self._parameter_entry(parameter, parameter_pointer))
        if parameters:
            converted["parameters"] = parameters

        if body is not None:
            converted["requestBody"] = self._body_request(body[0], consumes, body[1])
            if form:
                self._report(
                    "SWAGGER2_BODY_AND_FORMDATA",
                    Severity.WARNING,
                    "The operation has both a body parameter and form parameters, which Swagger 2.0 "
                    f"forbids; the body was kept and form parameters {sorted(form)} were dropped.",
                    pointer,
                )
        elif form:
            converted["requestBody"] = self._form_request(form, consumes, consumes_pointer)

        responses = operation.get("responses")
        if isinstance(responses, dict):
            converted["responses"] = self._responses(responses, produces, pointer_join(pointer, "responses"))
        servers = self._operation_servers(operation, pointer)
        if servers is not None:
            converted["servers"] = servers
        return converted

    def _body_request(
        self, parameter: Mapping[str, Any], consumes: list[str], pointer: str
    ) -> dict[str, Any]:
        self.body_parameter_count += 1
        schema = self._schema(parameter.get("schema", {}), pointer_join(pointer, "schema"))
        request: dict[str, Any] = {}
        if "description" in parameter:
            request["description"] = parameter["description"]
        request["content"] = {media_type: {"schema": schema} for media_type in consumes or [_JSON]}
        if parameter.get("required") is True:
            request["required"] = True
        if isinstance(parameter.get("name"), str):
            request["x-codegen-request-body-name"] = parameter["name"]
        request.update(_extensions(parameter))
        return request

    def _form_request(
        self, form: Mapping[str, tuple[Mapping[str, Any], str]], consumes: list[str], consumes_pointer: str
    ) -> dict[str, Any]:
        self.form_body_count += 1
        files = [
            (name, parameter_pointer)
            for name, (p, parameter_pointer) in form.items()
            if p.get("type") == "file"
        ]
        declared = [
            media_type for media_type in consumes if _base_media_type(media_type) in _FORM_MEDIA_TYPES
        ]
        dropped = [media_type for media_type in consumes if media_type not in declared]
        multipart_declared = any(_base_media_type(media_type) == _MULTIPART for media_type in declared)

        if files:
            media_types = [next((m for m in declared if _base_media_type(m) == _MULTIPART), _MULTIPART)]
            for name, parameter_pointer in files:
                self._report(
                    "SWAGGER2_FORMDATA_FILE",
                    Severity.INFO if multipart_declared else Severity.WARNING,
                    f"File parameter '{name}' became a binary part of a multipart/form-data body"
                    + ("." if multipart_declared else ", although the operation does not consume it."),
                    parameter_pointer,
                )
        else:
            media_types = declared or [_FORM_URLENCODED]
        if dropped:
            self._report(
                "SWAGGER2_FORMDATA_MEDIA_TYPE_DROPPED",
                Severity.INFO,
                f"Form parameters can only be sent as form data; consumed media types {dropped} were "
                "not offered for this request body.",
                consumes_pointer,
            )

        properties: dict[str, Any] = {}
        required: list[str] = []
        url_encoding: dict[str, Any] = {}
        for name, (parameter, parameter_pointer) in form.items():
            properties[name] = self._form_property(parameter, parameter_pointer)
            if parameter.get("required") is True:
                required.append(name)
            if parameter.get("type") == "array":
                style, explode = self._style(
                    "formData",
                    parameter.get("collectionFormat"),
                    pointer_join(parameter_pointer, "collectionFormat"),
                )
                url_encoding[name] = {"style": style, "explode": explode}
                if parameter.get("collectionFormat", "csv") != "multi" and any(
                    _base_media_type(m) == _MULTIPART for m in media_types
                ):
                    self._report(
                        "SWAGGER2_MULTIPART_COLLECTION_FORMAT",
                        Severity.WARNING,
                        f"multipart/form-data sends the items of '{name}' as repeated parts; its "
                        f"collectionFormat '{parameter.get('collectionFormat', 'csv')}' cannot be kept.",
                        pointer_join(parameter_pointer, "collectionFormat"),
                    )

        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        content: dict[str, Any] = {}
        for media_type in media_types:
            media: dict[str, Any] = {"schema": schema}
            if url_encoding and _base_media_type(media_type) == _FORM_URLENCODED:
                media["encoding"] = url_encoding
            content[media_type] = media
        request: dict[str, Any] = {"content": content}
        if required:
            request["required"] = True
        return request

    def _form_property(self, parameter: Mapping[str, Any], pointer: str) -> dict[str, Any]:
        schema = self._value_schema(parameter, pointer)
        if "description" in parameter and "description" not in schema:
            schema["description"] = parameter["description"]
        schema.update(
            (key, value) for key, value in parameter.items() if key.startswith("x-") and key != "x-nullable"
        )
        if "allowEmptyValue" in parameter:
            self._report(
                "SWAGGER2_FIELD_DROPPED",
                Severity.WARNING,
                "allowEmptyValue has no OpenAPI 3.0 equivalent for form fields; it was dropped.",
                pointer_join(pointer, "allowEmptyValue"),
            )
        return schema

    # --- Responses --------------------------------------------------------------------------

    def _responses(self, responses: Mapping[Any, Any], produces: list[str], pointer: str) -> dict[str, Any]:
        converted: dict[str, Any] = {}
        for code, response in responses.items():
            key = str(code)
            if key.startswith("x-") or not isinstance(response, dict):
                converted[key] = response
            else:
                converted[key] = self._response(response, produces, pointer_join(pointer, key))
        return converted

    def _response(self, response: Mapping[str, Any], produces: list[str], pointer: str) -> dict[str, Any]:
        if isinstance(response.get("$ref"), str):
            return {"$ref": self._ref(response["$ref"])}
        converted: dict[str, Any] = {}
        if isinstance(response.get("description"), str):
            converted["description"] = response["description"]
        else:
            converted["description"] = ""
            self._report(
                "SWAGGER2_RESPONSE_DESCRIPTION_ADDED",
                Severity.INFO,
                "The response has no description, which both versions require; an empty one was added.",
                pointer_join(pointer, "description"),
            )

        content: dict[str, Any] = {}
        if "schema" in response:
            schema = self._schema(response["schema"], pointer_join(pointer, "schema"))
            content = {media_type: {"schema": schema} for media_type in produces or [_JSON]}
        examples = response.get("examples")
        if isinstance(examples, dict):
            for media_type, example in examples.items():
                media = dict(content.get(media_type) or {})
                if "schema" in response and "schema" not in media:
                    media["schema"] = self._schema(response["schema"], pointer_join(pointer, "schema"))
                media["example"] = example
                content[media_type] = media
        if content:
            converted["content"] = content

        headers = response.get("headers")
        if isinstance(headers, dict):
            converted["headers"] = {
                name: self._header(header, pointer_join(pointer_join(pointer, "headers"), name))
                if isinstance(header, dict)
                else header
                for name, header in headers.items()
            }
        converted.update(_extensions(response))
        return converted

    def _header(self, header: Mapping[str, Any], pointer: str) -> dict[str, Any]:
        converted: dict[str, Any] = {}
        if "description" in header:
            converted["description"] = header["description"]
        converted["schema"] = self._value_schema(header, pointer)
        if header.get("type") == "array":
            # Headers only have the comma-separated "simple" style; _style reports any other format.
            converted["style"], converted["explode"] = self._style(
                "header", header.get("collectionFormat"), pointer_join(pointer, "collectionFormat")
            )
        converted.update(
            (key, value) for key, value in header.items() if key.startswith("x-") and key != "x-nullable"
        )
        return converted

    # --- Components -------------------------------------------------------------------------

    def _components(self) -> dict[str, Any]:
        components: dict[str, Any] = {}
        if self.definitions:
            components["schemas"] = {
                self._component_name("definitions", name): self._schema(
                    schema, pointer_join("/definitions", name)
                )
                for name, schema in self.definitions.items()
            }
        parameters = {
            self._component_name("parameters", name): self._parameter(
                parameter, pointer_join("/parameters", name)
            )
            for name, parameter in self.global_parameters.items()
            if isinstance(parameter, dict) and parameter.get("in") not in ("body", "formData")
        }
        if parameters:
            components["parameters"] = parameters
        responses: dict[str, Any] = {}
        for name, response in self.global_responses.items():
            responses[self._component_name("responses", name)] = (
                self._response(response, self.global_produces, pointer_join("/responses", name))
                if isinstance(response, dict)
                else response
            )
        if responses:
            components["responses"] = responses
        schemes = {
            self._component_name("securityDefinitions", name): self._security_scheme(
                scheme, pointer_join("/securityDefinitions", name)
            )
            for name, scheme in self.security_definitions.items()
            if isinstance(scheme, dict)
        }
        schemes = {name: scheme for name, scheme in schemes.items() if scheme is not None}
        if schemes:
            components["securitySchemes"] = schemes
        return components

    def _security_scheme(self, scheme: Mapping[str, Any], pointer: str) -> dict[str, Any] | None:
        kind = scheme.get("type")
        converted: dict[str, Any]
        if kind == "basic":
            converted = {"type": "http", "scheme": "basic"}
        elif kind == "apiKey":
            converted = {"type": "apiKey", "name": scheme.get("name"), "in": scheme.get("in")}
        elif kind == "oauth2":
            converted = {"type": "oauth2", "flows": self._oauth2_flows(scheme, pointer)}
        else:
            self._report(
                "SWAGGER2_SECURITY_SCHEME_UNSUPPORTED",
                Severity.WARNING,
                f"Security scheme type {kind!r} is not a Swagger 2.0 type; the scheme was dropped.",
                pointer_join(pointer, "type"),
            )
            return None
        if "description" in scheme:
            converted["description"] = scheme["description"]
        converted.update(_extensions(scheme))
        return converted

    def _oauth2_flows(self, scheme: Mapping[str, Any], pointer: str) -> dict[str, Any]:
        flow_name = _OAUTH2_FLOWS.get(str(scheme.get("flow")))
        if flow_name is None:
            self._report(
                "SWAGGER2_OAUTH2_FLOW_UNKNOWN",
                Severity.WARNING,
                f"OAuth2 flow {scheme.get('flow')!r} is not a Swagger 2.0 flow; the scheme has no flows.",
                pointer_join(pointer, "flow"),
            )
            return {}
        scopes = scheme.get("scopes")
        flow: dict[str, Any] = {}
        for url_key in _OAUTH2_FLOW_URLS[flow_name]:
            if isinstance(scheme.get(url_key), str):
                flow[url_key] = scheme[url_key]
            else:
                self._report(
                    "SWAGGER2_OAUTH2_URL_MISSING",
                    Severity.WARNING,
                    f"The OAuth2 {scheme.get('flow')} flow needs {url_key}, which is missing.",
                    pointer_join(pointer, url_key),
                )
        flow["scopes"] = scopes if isinstance(scopes, dict) else {}
        return {flow_name: flow}
