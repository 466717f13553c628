"""Compile an OpenAPI document into canonical tools, one per operation.

Validation is advisory: defects become findings, and only what makes one operation impossible is
fatal, and only for that operation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolgate.errors import (
    HiddenValueInvalidError,
    RefCycleError,
    SpecNotOpenAPIError,
    SpecTooLargeError,
    SpecUnsupportedVersionError,
    ToolgateError,
    ToolSchemaTooLargeError,
    UnresolvableRefError,
)
from toolgate.gc_pause import gc_paused
from toolgate.settings import CompileLimits, get_settings
from toolgate.spec.bundle import bundle_path, zip_overlay_files
from toolgate.spec.loader import load_document_noting_aliases
from toolgate.spec.models import (
    Annotations,
    ArgumentBinding,
    ArgumentLocation,
    AsyncKind,
    AsyncPattern,
    BodyEncoding,
    CanonicalTool,
    CompiledSpec,
    Finding,
    HiddenArgument,
    JsonSchema,
    RequestBody,
    SecurityScheme,
    SecuritySchemeType,
    Severity,
)
from toolgate.spec.naming import argument_name, base_tool_name, tool_names, with_suffix
from toolgate.spec.refs import RefResolver, pointer_join
from toolgate.spec.schemas import SchemaConverter, SchemaMeasure, SchemaPruner
from toolgate.spec.swagger2 import convert_swagger2
from toolgate.spec.validation import validate_document
from toolgate.spec.x_toolgate import (
    OperationExtension,
    ParameterExtension,
    fixed_value_problem,
    operation_extension,
    parameter_extension,
    selected_output,
)

if TYPE_CHECKING:
    from toolgate.spec.overlay import Overlay

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_IDEMPOTENT = frozenset({"get", "head", "options", "put", "delete", "trace"})
_READ_ONLY = frozenset({"get", "head", "options", "trace"})
_DESTRUCTIVE = frozenset({"delete", "put"})
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_IDEMPOTENCY_HEADERS = frozenset({"idempotency-key", "x-idempotency-key"})
_DEFAULT_STYLE = {"path": "simple", "header": "simple", "query": "form", "cookie": "form"}
_PATH_TEMPLATE = re.compile(r"\{([^{}/]+)\}")
_SERVER_VARIABLE = re.compile(r"\{([^{}]+)\}")
_CALLBACK_EXPRESSION = re.compile(r"\{\$request\.(header|query|path)\.([^}]+)\}|\{\$request\.body#/([^}]+)\}")
_JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json(?:;.*)?$|^\*/\*$|^application/\*$", re.IGNORECASE)
_BODY_PREFERENCE = ("json", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
_PRUNE_DEPTHS = (10, 7, 5, 4, 3, 2, 1)


@dataclass(frozen=True)
class SpecDocument:
    """A loaded spec, as OpenAPI 3.x (Swagger 2.0 is converted), with the findings of getting there."""

    document: dict[str, Any]
    source_openapi: str
    findings: list[Finding] = field(default_factory=list)
    #: The overlays applied to the document, in order (a zip's own overlays first).
    overlays: tuple[Overlay, ...] = ()


def parse_spec(
    data: bytes, *, name: str = "", limits: CompileLimits | None = None, overlays: Sequence[Overlay] = ()
) -> SpecDocument:
    limits = limits or get_settings().compile
    document, aliased = load_document_noting_aliases(data, name=name, limits=limits)
    return _overlaid(document, [], overlays, limits, may_share=aliased)


def read_spec(
    path: Path,
    *,
    entry: str | None = None,
    limits: CompileLimits | None = None,
    overlays: Sequence[Overlay] = (),
) -> SpecDocument:
    """Read a single file, a folder (with `entry`) or a zip archive (with any `*.overlay.yaml|json` in it),
    then apply the overlays."""
    limits = limits or get_settings().compile
    if path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip"):
        document, findings = bundle_path(path, entry, limits)
        if path.is_file():
            overlays = [*_zip_overlays(path, limits), *overlays]
        return _overlaid(document, findings, overlays, limits, may_share=True)
    size = path.stat().st_size
    if size > limits.max_spec_bytes:
        raise SpecTooLargeError(
            f"{path.name} is {size:,} bytes; the limit is {limits.max_spec_bytes:,} bytes"
        )
    return parse_spec(path.read_bytes(), name=path.name, limits=limits, overlays=overlays)


def _zip_overlays(path: Path, limits: CompileLimits) -> list[Overlay]:
    from toolgate.spec.overlay import load_overlay  # noqa: PLC0415 - only specs with overlays need it

    return [load_overlay(data, name=name, limits=limits) for name, data in zip_overlay_files(path, limits)]


def _overlaid(
    document: dict[str, Any],
    findings: list[Finding],
    overlays: Sequence[Overlay],
    limits: CompileLimits,
    *,
    may_share: bool,
) -> SpecDocument:
    """Apply the overlays before anything reads the document (validation, conversion, `x-toolgate`)."""
    if not overlays:
        return prepare_document(document, findings, limits)
    from toolgate.spec.overlay import apply_overlays, check_overlay_count  # noqa: PLC0415

    check_overlay_count(overlays, limits)
    applied = apply_overlays(document, overlays, limits, may_share_nodes=may_share)
    summary = Finding(
        code="OVERLAY_APPLIED",
        severity=Severity.INFO,
        message="applied "
        + ", ".join(f"{overlay.name} (sha256 {overlay.sha256[:12]})" for overlay in overlays),
    )
    spec = prepare_document(document, [*findings, summary, *applied], limits)
    return replace(spec, overlays=tuple(overlays))


def prepare_document(
    document: dict[str, Any], findings: list[Finding], limits: CompileLimits | None = None
) -> SpecDocument:
    """Detect the version, validate (advisory) and convert Swagger 2.0 to OpenAPI 3.0."""
    limits = limits or get_settings().compile

    def validate(version: str) -> list[Finding]:
        return validate_document(
            document,
            version,
            time_budget_seconds=limits.validation_time_budget_seconds,
            max_findings=limits.max_validation_findings,
        )

    swagger = document.get("swagger")
    openapi = document.get("openapi")
    if swagger is not None:
        if str(swagger) != "2.0":
            raise SpecUnsupportedVersionError(f"swagger {swagger!r} is not supported; use 2.0 or OpenAPI 3.x")
        findings = findings + validate("2.0")
        converted, conversion = convert_swagger2(document)
        return SpecDocument(converted, "2.0", findings + conversion)
    if openapi is None:
        raise SpecNotOpenAPIError("the document has neither an `openapi` nor a `swagger` version field")
    version = str(openapi)
    if not re.match(r"^3\.[0-2](\.\d+)?(-[\w.]+)?$", version):
        raise SpecUnsupportedVersionError(f"openapi {version!r} is not supported; use 3.0.x or 3.1.x")
    if not isinstance(document.get("paths", {}), dict):
        raise SpecNotOpenAPIError("`paths` must be a mapping of paths to path items")
    return SpecDocument(document, version, findings + validate(version))


def compile_path(path: Path, entry: str | None = None, overlays: Sequence[Overlay] = ()) -> CompiledSpec:
    return compile_document(read_spec(path, entry=entry, overlays=overlays))


def compile_document(
    spec: SpecDocument | Mapping[str, Any], limits: CompileLimits | None = None
) -> CompiledSpec:
    limits = limits or get_settings().compile
    if not isinstance(spec, SpecDocument):
        spec = prepare_document(dict(spec), [], limits)
    with gc_paused():
        return _Compiler(spec, limits).run()


@dataclass
class _Operation:
    path: str
    method: str
    item: dict[str, Any]
    operation: dict[str, Any]
    pointer: str
    base_name: str
    extension: OperationExtension


class _Compiler:
    def __init__(self, spec: SpecDocument, limits: CompileLimits) -> None:
        self.spec = spec
        self.document = spec.document
        self.limits = limits
        self.resolver = RefResolver(self.document)
        self.converter = SchemaConverter(self.resolver, openapi_31=spec.source_openapi.startswith("3.1"))
        self.measure = SchemaMeasure()
        self.pruner = SchemaPruner()
        self.findings: list[Finding] = list(spec.findings)
        #: Notes already made: spec-level notes are reached once per operation, reported once.
        self._noted: set[Finding] = set()
        self.schemes = self._security_schemes()

    def run(self) -> CompiledSpec:
        operations = self._operations()
        names = tool_names([(op.base_name, f"{op.method} {op.path}", op.extension.name) for op in operations])
        tools: list[CanonicalTool] = []
        failed: list[str] = []
        for op, name in zip(operations, names, strict=True):
            if name is None:
                failed.append(op.pointer)
                self._note(
                    "X_TOOLGATE_NAME_CONFLICT",
                    f"{op.method.upper()} {op.path} was skipped: x-toolgate name {op.extension.name!r} is "
                    "given to more than one operation; give each its own name",
                    f"{op.pointer}/x-toolgate/name",
                    Severity.ERROR,
                )
                continue
            if op.extension.name is None and name != op.base_name:
                self._note(
                    "TOOL_NAME_DEDUPLICATED", f"name {op.base_name!r} was taken; using {name!r}", op.pointer
                )
            try:
                tools.append(self._tool(op, name))
            except (ToolgateError, RecursionError, ValueError, TypeError, KeyError, AttributeError) as exc:
                failed.append(op.pointer)
                code = exc.code if isinstance(exc, ToolgateError) else "OPERATION_COMPILE_FAILED"
                message = (
                    exc.message if isinstance(exc, ToolgateError) else f"{type(exc).__name__}: {exc}"[:300]
                )
                self.findings.append(
                    Finding(
                        code=code,
                        severity=Severity.ERROR,
                        message=f"{op.method.upper()} {op.path} was skipped: {message}",
                        pointer=op.pointer,
                    )
                )
        servers = [url for url, _ in self._servers(self.document.get("servers"), "/servers")]
        if len(servers) > 1:
            self._note("SERVERS_MULTIPLE", f"{len(servers)} servers; tools use the first", "/servers")
        info = _as_dict(self.document.get("info"))
        return CompiledSpec(
            title=str(info.get("title") or "Untitled API"),
            version=str(info.get("version") or ""),
            source_openapi=self.spec.source_openapi,
            servers=servers,
            tools=tools,
            findings=self.findings + self.converter.findings,
            failed_operations=failed,
        )

    # --- operations ---------------------------------------------------------------------------

    def _operations(self) -> list[_Operation]:
        paths = self.document.get("paths") or {}
        operations: list[_Operation] = []
        for path, raw_item in paths.items():
            pointer = pointer_join("/paths", path)
            try:
                item = self.resolver.deref(raw_item, at=pointer)
            except ToolgateError as exc:
                self._note(exc.code, exc.message, pointer, Severity.ERROR)
                continue
            if not isinstance(item, dict):
                continue
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                try:
                    operation = self.resolver.deref(item[method], at=pointer_join(pointer, method))
                except ToolgateError as exc:
                    self._note(exc.code, exc.message, pointer_join(pointer, method), Severity.ERROR)
                    continue
                if not isinstance(operation, dict):
                    continue
                operation_id = operation.get("operationId")
                operation_id = operation_id if isinstance(operation_id, str) else None
                op_pointer = pointer_join(pointer, method)
                extension = operation_extension(operation, op_pointer, self._note)
                if not extension.include:
                    self._note(
                        "X_TOOLGATE_EXCLUDED",
                        f"{method.upper()} {path} is left out (x-toolgate include: false)",
                        op_pointer,
                    )
                    continue
                operations.append(
                    _Operation(
                        path=path,
                        method=method,
                        item=item,
                        operation=operation,
                        pointer=op_pointer,
                        base_name=base_tool_name(operation_id, method, path),
                        extension=extension,
                    )
                )
                if len(operations) > self.limits.max_operations:
                    raise SpecTooLargeError(
                        f"the spec has more than {self.limits.max_operations:,} operations; split it"
                    )
        return operations

    def _tool(self, op: _Operation, name: str) -> CanonicalTool:
        builder = _InputBuilder(self, op)
        builder.add_parameters()
        builder.add_body()
        input_schema = self._finish_schema(builder.schema(), op.pointer, "input")
        output_schema = self._output_schema(op)
        select = op.extension.select
        if select is not None:
            output_schema = selected_output(output_schema, select, op.pointer, self._note)
        security = self._security(op)
        async_pattern = builder.async_pattern()
        if async_pattern is not None:
            builder.note_async(async_pattern)
        operation = op.operation
        return CanonicalTool(
            name=name,
            description=self._description(op),
            operation_id=operation.get("operationId")
            if isinstance(operation.get("operationId"), str)
            else None,
            method=op.method.upper(),
            path=op.path,
            pointer=op.pointer,
            server_url=self._server_url(op),
            input_schema=input_schema,
            output_schema=output_schema,
            bindings=builder.bindings,
            body=builder.body,
            security=security,
            security_schemes={n: s for n, s in self.schemes.items() if any(n in r for r in security)},
            annotations=self._annotations(op),
            async_pattern=async_pattern,
            idempotency_header=builder.idempotency_header,
            tags=[t for t in operation.get("tags", []) if isinstance(t, str)],
            deprecated=operation.get("deprecated") is True,
            hidden=builder.hidden,
            response_select=select,
            findings=builder.findings,
        )

    def _description(self, op: _Operation) -> str:
        text = model_description(op.operation, op.extension.description) or f"{op.method.upper()} {op.path}"
        budget = self.limits.max_description_chars
        return text if len(text) <= budget else text[: budget - 1].rstrip() + "…"

    def _annotations(self, op: _Operation) -> Annotations:
        values: dict[str, Any] = {
            "title": op.operation.get("summary") if isinstance(op.operation.get("summary"), str) else None,
            "read_only": op.method in _READ_ONLY,
            "destructive": op.method in _DESTRUCTIVE,
            "idempotent": op.method in _IDEMPOTENT,
            "open_world": True,
        }
        overrides = op.operation.get("x-toolgate-annotations")
        if isinstance(overrides, dict):
            aliases = {
                "readOnlyHint": "read_only",
                "destructiveHint": "destructive",
                "idempotentHint": "idempotent",
                "openWorldHint": "open_world",
            }
            for key, value in overrides.items():
                field_name = aliases.get(key, key)
                if field_name in values and (isinstance(value, bool) or field_name == "title"):
                    values[field_name] = value
        return Annotations(**values)

    # --- servers and security -----------------------------------------------------------------

    def _servers(self, servers: Any, pointer: str) -> list[tuple[str, bool]]:
        """(URL with variables at their defaults, was it templated) for each server."""
        resolved: list[tuple[str, bool]] = []
        if not isinstance(servers, list):
            return resolved
        for index, server in enumerate(servers):
            if not isinstance(server, dict) or not isinstance(server.get("url"), str):
                continue
            url = server["url"]
            variables = _as_dict(server.get("variables"))

            def substitute(
                match: re.Match[str], variables: dict[str, Any] = variables, at: int = index
            ) -> str:
                variable = variables.get(match.group(1))
                if isinstance(variable, dict) and "default" in variable:
                    return str(variable["default"])
                self._note(
                    "SERVER_VARIABLE_UNDEFINED",
                    f"server variable {match.group(1)!r} has no default",
                    pointer_join(pointer, at),
                )
                return match.group(0)

            resolved.append((_SERVER_VARIABLE.sub(substitute, url), bool(_SERVER_VARIABLE.search(url))))
        return resolved

    def _server_url(self, op: _Operation) -> str | None:
        for holder, pointer in (
            (op.operation, op.pointer),
            (op.item, pointer_join("/paths", op.path)),
            (self.document, ""),
        ):
            servers = self._servers(holder.get("servers"), pointer + "/servers")
            if servers:
                if len(servers) > 1 and holder is not self.document:
                    self._note(
                        "SERVERS_MULTIPLE", f"{len(servers)} servers; using the first", pointer + "/servers"
                    )
                return servers[0][0]
        return None

    def _security_schemes(self) -> dict[str, SecurityScheme]:
        components = self.document.get("components")
        raw = components.get("securitySchemes") if isinstance(components, dict) else None
        schemes: dict[str, SecurityScheme] = {}
        if not isinstance(raw, dict):
            return schemes
        for name, raw_scheme in raw.items():
            pointer = pointer_join("/components/securitySchemes", name)
            try:
                schemes[name] = _security_scheme(self.resolver.deref(raw_scheme, at=pointer))
            except (ToolgateError, ValueError) as exc:
                self._note("SECURITY_SCHEME_INVALID", f"security scheme {name!r} is unusable: {exc}", pointer)
        return schemes

    def _security(self, op: _Operation) -> list[dict[str, list[str]]]:
        raw = op.operation.get("security", self.document.get("security"))
        alternatives: list[dict[str, list[str]]] = []
        if not isinstance(raw, list):
            return alternatives
        for requirement in raw:
            if not isinstance(requirement, dict):
                continue
            unknown = [name for name in requirement if name not in self.schemes]
            if unknown:
                self._note(
                    "SECURITY_SCHEME_UNKNOWN",
                    f"security requirement names undefined scheme(s) {unknown}; that alternative was dropped",
                    op.pointer,
                    Severity.WARNING,
                )
                continue
            alternatives.append(
                {
                    name: [str(s) for s in scopes] if isinstance(scopes, list) else []
                    for name, scopes in requirement.items()
                }
            )
        return alternatives

    # --- schemas ------------------------------------------------------------------------------

    def _output_schema(self, op: _Operation) -> JsonSchema | None:
        responses = op.operation.get("responses")
        if not isinstance(responses, dict):
            return None
        codes = sorted(c for c in responses if c.startswith("2") and c[1:].isdigit())
        codes += [c for c in ("2XX", "2xx") if c in responses]
        for code in codes:
            pointer = pointer_join(op.pointer, "responses", code)
            try:
                response = self.resolver.deref(responses[code], at=pointer)
            except ToolgateError as exc:
                self._note(
                    exc.code, f"{exc.message}; the tool has no output schema", pointer, Severity.WARNING
                )
                return None
            content = response.get("content") if isinstance(response, dict) else None
            if not isinstance(content, dict):
                continue
            for media, media_object in content.items():
                if (
                    _JSON_MEDIA.match(str(media))
                    and isinstance(media_object, dict)
                    and "schema" in media_object
                ):
                    schema = self.converter.convert(
                        media_object["schema"], pointer_join(pointer, "content", media, "schema"), "output"
                    )
                    try:
                        return self._finish_schema(schema, op.pointer, "output")
                    except ToolSchemaTooLargeError as exc:
                        self._note(
                            exc.code,
                            f"{exc.message}; the tool has no output schema",
                            pointer,
                            Severity.WARNING,
                        )
                        return None
        return None

    def _finish_schema(self, schema: JsonSchema, pointer: str, direction: str) -> JsonSchema:
        """Attach the `$defs` the schema needs and prune it to the per-tool size budget."""
        schema = self.converter.with_defs(schema, self.measure)
        size = self.measure.size(schema)
        budget = self.limits.max_tool_schema_bytes
        if size <= budget:
            return schema
        candidates = [d for d in _PRUNE_DEPTHS if self.measure.pruned_size(schema, d) <= budget]
        # What the shallowest cut keeps outside `$defs` (estimated) is already far over the budget:
        # refused on the estimate, so a huge enum is never serialized.
        body = {keyword: value for keyword, value in schema.items() if keyword != "$defs"}
        floor = self.measure.pruned_size(body, _PRUNE_DEPTHS[-1])
        attempts = [*candidates, _PRUNE_DEPTHS[-1]] if floor <= 2 * budget else []
        pruned_size = floor
        for depth in attempts:
            pruned = _without_unused_defs(self.pruner.prune(schema, depth), self.measure)
            pruned_size = len(json.dumps(pruned))
            if pruned_size <= budget:
                break
        else:
            # What pruning keeps (enums, defaults, patterns, names near the top) is too large by itself.
            raise ToolSchemaTooLargeError(
                f"the {direction} schema is about {pruned_size:,} bytes even with nesting cut at "
                f"{_PRUNE_DEPTHS[-1]} level, over the budget of {budget:,} bytes: its top-level values "
                "(enum lists, defaults, patterns or property names) are too large",
                pointer=pointer,
            )
        self._note(
            "TOOL_SCHEMA_PRUNED",
            f"{direction} schema of about {size:,} bytes was pruned to {pruned_size:,} bytes "
            f"(budget {budget:,}; nesting cut at {depth} levels, long nested descriptions shortened)",
            pointer,
            Severity.WARNING,
        )
        return pruned

    def _note(self, code: str, message: str, pointer: str, severity: Severity = Severity.INFO) -> None:
        finding = Finding(code=code, severity=severity, message=message, pointer=pointer)
        if finding not in self._noted:
            self._noted.add(finding)
            self.findings.append(finding)


class _InputBuilder:
    """Collects one operation's arguments into a flat input schema with reversible bindings."""

    def __init__(self, compiler: _Compiler, op: _Operation) -> None:
        self.compiler = compiler
        self.op = op
        self.properties: dict[str, JsonSchema] = {}
        self.required: list[str] = []
        self.bindings: list[ArgumentBinding] = []
        self.body: RequestBody | None = None
        self.findings: list[Finding] = []
        self.idempotency_header: str | None = None
        self.callback: tuple[str, str] | None = None
        self.hidden: list[HiddenArgument] = []
        self.hidden_names: set[str] = set()

    # parameters

    def add_parameters(self) -> None:
        merged: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        path_pointer = pointer_join("/paths", self.op.path)
        for holder, pointer in ((self.op.item, path_pointer), (self.op.operation, self.op.pointer)):
            raw = holder.get("parameters")
            if not isinstance(raw, list):
                continue
            for index, raw_parameter in enumerate(raw):
                at = pointer_join(pointer, "parameters", index)
                try:
                    parameter = self.compiler.resolver.deref(raw_parameter, at=at)
                except RefCycleError:
                    raise
                except UnresolvableRefError as exc:
                    self._parameter_dropped(exc, at)
                    continue
                if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
                    self._note("PARAMETER_INVALID", "a parameter without a name was skipped", at)
                    continue
                merged[(str(parameter.get("in")), parameter["name"])] = (parameter, at)
        declared_path = {name for (location, name) in merged if location == "path"}
        template = _PATH_TEMPLATE.findall(self.op.path)
        for (location, name), (parameter, at) in merged.items():
            if location == "path" and name not in template:
                self._note(
                    "PATH_PARAMETER_UNUSED", f"path parameter {name!r} is not in the path template", at
                )
                continue
            self._add_parameter(location, name, parameter, at)
        for name in template:
            if name not in declared_path:
                self._note(
                    "REPAIRED_UNDECLARED_PATH_PARAMETER",
                    f"path parameter {name!r} was not declared; added as a required string",
                    self.op.pointer,
                )
                self._add_argument(
                    name,
                    {"type": "string"},
                    required=True,
                    location=ArgumentLocation.PATH,
                    http_name=name,
                    style="simple",
                    explode=False,
                )

    def _parameter_dropped(self, error: UnresolvableRefError, at: str) -> None:
        """Degrade, don't drop: the operation becomes a tool without the parameter its `$ref` cannot reach
        (a file left out of the upload, a pointer to nothing). Remote refs and ref cycles still fail it."""
        self._note(
            "SPEC_PARAMETER_DROPPED",
            f"{self.op.method.upper()} {self.op.path}: a parameter was left out because {error.message}. "
            "The tool is made without it (a path parameter named in the template is sent as a required "
            "string). To keep it: apply an overlay that replaces the $ref with the parameter (or a fixed "
            "value), or upload the spec as a folder or zip that includes the file it names",
            at,
            Severity.WARNING,
        )

    def _add_parameter(self, location: str, name: str, parameter: dict[str, Any], at: str) -> None:
        if location not in _DEFAULT_STYLE:
            self._note(
                "PARAMETER_LOCATION_INVALID", f"parameter {name!r} has unknown location {location!r}", at
            )
            return
        lowered = name.lower()
        if location == "header" and lowered in _IGNORED_HEADERS:
            self._note(
                "PARAMETER_IGNORED", f"header parameter {name!r} is set by Toolgate, as OpenAPI requires", at
            )
            return
        if location == "header" and lowered in _IDEMPOTENCY_HEADERS:
            self.idempotency_header = name
            return
        if name == "callbackUrl" or self._is_callback_target(location, name):
            self.callback = (name, location)
            return
        content_type: str | None = None
        schema_source: Any = parameter.get("schema")
        schema_pointer = f"{at}/schema"
        content = parameter.get("content")
        if schema_source is None and isinstance(content, dict) and content:
            content_type, media = next(iter(content.items()))
            schema_source = media.get("schema") if isinstance(media, dict) else None
            schema_pointer = pointer_join(at, "content", content_type, "schema")
        schema = self.compiler.converter.convert(schema_source or {}, schema_pointer, "input")
        if isinstance(parameter.get("description"), str) and "description" not in schema:
            schema = {**schema, "description": parameter["description"]}
        if parameter.get("deprecated") is True:
            schema = {**schema, "deprecated": True}
        explode = parameter.get("explode")
        style = parameter.get("style") or _DEFAULT_STYLE[location]
        extension = parameter_extension(parameter, at, self._note)
        argument = self._add_argument(
            name,
            schema,
            required=location == "path" or parameter.get("required") is True,
            location=ArgumentLocation(location),
            http_name=name,
            style=str(style),
            explode=explode if isinstance(explode, bool) else style == "form",
            allow_reserved=parameter.get("allowReserved") is True,
            content_type=content_type,
            hidden=extension.hidden,
        )
        if extension.hidden:
            self._hide(
                argument, schema, location == "path" or parameter.get("required") is True, extension, at
            )

    def _hide(
        self, argument: str, schema: JsonSchema, required: bool, extension: ParameterExtension, at: str
    ) -> None:
        """Keep the argument out of the input schema, filled by the admin's fixed value or setting."""
        value_schema = self.compiler._finish_schema(schema, at, "input")
        if extension.setting is None:
            problem = fixed_value_problem(value_schema, extension.value)
            if problem is not None:
                raise HiddenValueInvalidError(
                    f"the fixed value of hidden parameter {argument!r} does not match its schema: {problem}",
                    pointer=f"{at}/x-toolgate/value",
                )
        self.hidden.append(
            HiddenArgument(
                argument=argument,
                value_schema=value_schema,
                required=required,
                value=extension.value,
                setting=extension.setting,
            )
        )

    def _is_callback_target(self, location: str, name: str) -> bool:
        return any(target == (location, name) for target in self._callback_targets())

    def _callback_targets(self) -> list[tuple[str, str]]:
        callbacks = self.op.operation.get("callbacks")
        targets: list[tuple[str, str]] = []
        if not isinstance(callbacks, dict):
            return targets
        for callback in callbacks.values():
            if not isinstance(callback, dict):
                continue
            for expression in callback:
                for match in _CALLBACK_EXPRESSION.finditer(str(expression)):
                    if match.group(1):
                        targets.append((match.group(1), match.group(2)))
                    else:
                        targets.append(("body", match.group(3)))
        return targets

    # body

    def add_body(self) -> None:
        raw = self.op.operation.get("requestBody")
        if raw is None:
            return
        at = f"{self.op.pointer}/requestBody"
        request_body = self.compiler.resolver.deref(raw, at=at)
        content = request_body.get("content") if isinstance(request_body, dict) else None
        if not isinstance(content, dict) or not content:
            self._note("REQUEST_BODY_EMPTY", "requestBody has no content; it was ignored", at)
            return
        media_type = _preferred_media_type(list(content))
        media = content[media_type] if isinstance(content[media_type], dict) else {}
        if len(content) > 1:
            self._note(
                "REQUEST_BODY_MEDIA_CHOSEN", f"body sent as {media_type} (of {len(content)} media types)", at
            )
        body_required = request_body.get("required") is True
        schema = self.compiler.converter.convert(
            media.get("schema") or {}, pointer_join(at, "content", media_type, "schema"), "input"
        )
        is_form = media_type.lower().startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
        flatten = _is_flat_object(schema) and (is_form or _JSON_MEDIA.match(media_type) is not None)
        encoding = {
            str(name): BodyEncoding(
                content_type=e.get("contentType"),
                style=e.get("style"),
                explode=e.get("explode") if isinstance(e.get("explode"), bool) else None,
                allow_reserved=e.get("allowReserved") is True,
            )
            for name, e in (media.get("encoding") or {}).items()
            if isinstance(e, dict)
        }
        self.body = RequestBody(
            media_type=media_type, required=body_required, flattened=flatten, encoding=encoding
        )
        callback_fields = {name for location, name in self._callback_targets() if location == "body"}
        if flatten:
            required = set(schema.get("required") or [])
            schema_at = pointer_join(at, "content", media_type, "schema")
            declared = self._declared_properties(media.get("schema"), schema_at)
            for name, prop in schema["properties"].items():
                if name in callback_fields:
                    self.callback = (name, "body")
                    continue
                prop_at = pointer_join(schema_at, "properties", name)
                extension = parameter_extension(declared.get(name, {}), prop_at, self._note)
                argument = self._add_argument(
                    name,
                    prop,
                    required=body_required and name in required,
                    location=ArgumentLocation.BODY_FIELD,
                    http_name=name,
                    hidden=extension.hidden,
                )
                if extension.hidden:
                    self._hide(argument, prop, body_required and name in required, extension, prop_at)
            return
        if isinstance(request_body.get("description"), str) and "description" not in schema:
            schema = {**schema, "description": request_body["description"]}
        self._add_argument(
            "body", schema, required=body_required, location=ArgumentLocation.BODY, http_name=""
        )

    def _declared_properties(self, raw_schema: Any, at: str) -> dict[str, Any]:
        """The body schema's own `properties` as written (with `x-` keys), each `$ref` followed; the
        properties of `allOf` members are not among them."""
        try:
            schema = self.compiler.resolver.deref(raw_schema, at=at)
            properties = schema.get("properties") if isinstance(schema, dict) else None
            if not isinstance(properties, dict):
                return {}
            declared = {
                str(name): self.compiler.resolver.deref(prop, at=pointer_join(at, "properties", name))
                for name, prop in properties.items()
            }
        except ToolgateError:
            return {}
        return {name: prop for name, prop in declared.items() if isinstance(prop, dict)}

    # assembly

    def _add_argument(
        self,
        raw_name: str,
        schema: JsonSchema,
        *,
        required: bool,
        location: ArgumentLocation,
        http_name: str,
        style: str | None = None,
        explode: bool | None = None,
        allow_reserved: bool = False,
        content_type: str | None = None,
        hidden: bool = False,
    ) -> str:
        argument = argument_name(raw_name)
        if argument in self.properties or argument in self.hidden_names:
            suffix = (
                "body" if location in (ArgumentLocation.BODY, ArgumentLocation.BODY_FIELD) else location.value
            )
            taken = argument
            argument = with_suffix(taken, suffix)
            number = 2
            while argument in self.properties or argument in self.hidden_names:
                argument = with_suffix(taken, f"{suffix}_{number}")
                number += 1
            self._note(
                "ARGUMENT_RENAMED",
                f"{location.value} {http_name or raw_name!r} is argument {argument!r} (name clash)",
                self.op.pointer,
            )
        if hidden:
            self.hidden_names.add(argument)
        else:
            self.properties[argument] = schema
            if required:
                self.required.append(argument)
        self.bindings.append(
            ArgumentBinding(
                argument=argument,
                location=location,
                name=http_name,
                required=required,
                style=style,
                explode=explode,
                allow_reserved=allow_reserved,
                content_type=content_type,
            )
        )
        return argument

    def schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "object", "properties": self.properties}
        if self.required:
            schema["required"] = self.required
        schema["additionalProperties"] = False
        return schema

    def async_pattern(self) -> AsyncPattern | None:
        operation = self.op.operation
        callbacks = operation.get("callbacks")
        callback_names = sorted(str(n) for n in callbacks) if isinstance(callbacks, dict) else []
        extension = operation.get("x-toolgate-async")
        if isinstance(extension, dict):
            return AsyncPattern(
                kind=AsyncKind.EXTENSION,
                callback_parameter=self.callback[0] if self.callback else None,
                callback_location=self.callback[1] if self.callback else None,
                callbacks=callback_names,
                status_operation=_text(extension.get("statusOperation")),
                status_path=_text(extension.get("statusPath")),
                status_pointer=_text(extension.get("statusPointer")),
                success_values=[str(v) for v in extension.get("successValues") or []],
                failure_values=[str(v) for v in extension.get("failureValues") or []],
                result_pointer=_text(extension.get("resultPointer")),
                heartbeat_seconds=self._heartbeat_seconds(extension),
            )
        if self.callback or callback_names:
            return AsyncPattern(
                kind=AsyncKind.CALLBACK_PARAMETER,
                callback_parameter=self.callback[0] if self.callback else None,
                callback_location=self.callback[1] if self.callback else None,
                callbacks=callback_names,
            )
        responses = operation.get("responses")
        accepted = responses.get("202") if isinstance(responses, dict) else None
        if accepted is not None:
            accepted = self.compiler.resolver.deref(accepted, at=f"{self.op.pointer}/responses/202")
            headers = accepted.get("headers") if isinstance(accepted, dict) else None
            for header in headers or {}:
                if str(header).lower() in {"location", "operation-location"}:
                    return AsyncPattern(kind=AsyncKind.ACCEPTED_LOCATION, status_header=str(header))
        return None

    def _heartbeat_seconds(self, extension: dict[str, Any]) -> int | None:
        value = extension.get("heartbeatSeconds")
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        self._note(
            "ASYNC_HEARTBEAT_IGNORED",
            f"x-toolgate-async heartbeatSeconds {str(value)[:40]!r} is not a positive integer; the operation "
            "gets no heartbeat",
            f"{self.op.pointer}/x-toolgate-async/heartbeatSeconds",
            Severity.WARNING,
        )
        return None

    def note_async(self, pattern: AsyncPattern) -> None:
        """Report how a long-running operation was recognised."""
        if pattern.kind is AsyncKind.EXTENSION:
            detail = "the x-toolgate-async extension"
        elif pattern.kind is AsyncKind.ACCEPTED_LOCATION:
            detail = f"202 Accepted with the {pattern.status_header} header"
        elif pattern.callback_parameter:
            detail = f"callback URL in {pattern.callback_location} {pattern.callback_parameter!r}"
        else:
            detail = f"OpenAPI callbacks {pattern.callbacks}"
        self._note("ASYNC_DETECTED", f"long-running operation: {detail}", self.op.pointer)

    def _note(self, code: str, message: str, pointer: str, severity: Severity = Severity.INFO) -> None:
        finding = Finding(code=code, severity=severity, message=message, pointer=pointer)
        self.findings.append(finding)
        self.compiler.findings.append(finding)


def _without_unused_defs(schema: JsonSchema, measure: SchemaMeasure) -> JsonSchema:
    """Drop `$defs` entries that pruning left unreferenced."""
    defs = schema.get("$defs")
    if not isinstance(defs, dict):
        return schema
    body = {k: v for k, v in schema.items() if k != "$defs"}
    needed: set[str] = set()
    pending = list(measure.refs(body))
    while pending:
        name = pending.pop()
        if name in needed or name not in defs:
            continue
        needed.add(name)
        pending.extend(measure.refs(defs[name]))
    if needed:
        body["$defs"] = {name: defs[name] for name in sorted(needed)}
    return body


def model_description(operation: Mapping[str, Any], override: str | None) -> str:
    """What the model reads, before any cut: `x-toolgate.description`, else summary and description."""
    if override:
        return override
    parts = [str(operation[k]).strip() for k in ("summary", "description") if operation.get(k)]
    if len(parts) == 2 and parts[1].startswith(parts[0]):
        parts = parts[1:]
    return "\n\n".join(p for p in parts if p)


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _preferred_media_type(media_types: list[str]) -> str:
    for preference in _BODY_PREFERENCE:
        for media in media_types:
            lowered = media.lower()
            if (
                preference == "json" and _JSON_MEDIA.match(lowered) and "*" not in lowered
            ) or lowered.startswith(preference):
                return media
    return media_types[0]


def _is_flat_object(schema: JsonSchema) -> bool:
    return (
        isinstance(schema.get("properties"), dict)
        and bool(schema["properties"])
        and schema.get("type") in (None, "object")
        and not any(k in schema for k in ("oneOf", "anyOf", "allOf", "not", "$ref", "if"))
        and not isinstance(schema.get("additionalProperties"), dict)
    )


def _security_scheme(scheme: Any) -> SecurityScheme:
    if not isinstance(scheme, dict):
        raise ValueError("not an object")
    kind = SecuritySchemeType(str(scheme.get("type")))
    flows = _as_dict(scheme.get("flows"))
    client = _as_dict(flows.get("clientCredentials"))
    scopes = sorted(
        {str(s) for flow in flows.values() if isinstance(flow, dict) for s in (flow.get("scopes") or {})}
    )
    return SecurityScheme(
        type=kind,
        scheme=str(scheme["scheme"]).lower() if scheme.get("scheme") else None,
        bearer_format=_text(scheme.get("bearerFormat")),
        location=_text(scheme.get("in")),
        parameter_name=_text(scheme.get("name")),
        token_url=_text(client.get("tokenUrl")),
        flows=sorted(str(f) for f in flows),
        scopes=scopes,
        open_id_connect_url=_text(scheme.get("openIdConnectUrl")),
    )
