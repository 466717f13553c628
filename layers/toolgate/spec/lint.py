"""Agent-readiness lint: what in a spec makes its tools hard for a model to use, or unimportable elsewhere.

The rules cover watsonx Orchestrate's conditions for OpenAPI tools (JSON in and out, one fixed server URL,
operationId and description on every operation, OpenAPI 3.0) and common tool-design problems. Findings are
advice: lint never stops a spec from compiling. Output stays bounded on huge specs: argument problems are
aggregated per tool, and each rule lists at most `max_findings_per_rule` places, then one summary finding.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from toolgate.dialects.openai import MAX_DESCRIPTION_CHARS
from toolgate.spec.compiler import HTTP_METHODS, model_description
from toolgate.spec.models import CanonicalTool, CompiledSpec, Finding, SecuritySchemeType, Severity
from toolgate.spec.refs import escape_token

__all__ = [
    "LINT_RULES",
    "SNAKE_CASE",
    "LintLimits",
    "LintRule",
    "described_schema",
    "description_problem",
    "format_findings",
    "is_json_media",
    "lint_spec",
    "tool_model_description",
    "undocumented_enums",
]


class LintLimits(BaseModel):
    """Thresholds of the tool-design rules."""

    model_config = ConfigDict(defer_build=True)

    min_description_chars: int = Field(default=20, ge=0)
    #: OpenAI's limit on a tool description, the strictest of the model APIs; the compiler's default cut.
    max_description_chars: int = Field(default=MAX_DESCRIPTION_CHARS, gt=0)
    max_arguments: int = Field(default=20, gt=0)
    #: Nesting of JSON containers in a tool's arguments; the arguments object itself is level 1.
    max_input_depth: int = Field(default=5, gt=0)
    #: OpenAI accepts at most 128 tools per request.
    max_tools: int = Field(default=128, gt=0)
    max_findings_per_rule: int = Field(default=25, gt=0)
    #: Argument names, media types or tools quoted in one message.
    max_names_in_message: int = Field(default=8, gt=0)


@dataclass(frozen=True, slots=True)
class LintRule:
    code: str
    severity: Severity
    title: str
    #: What exactly the rule looks for.
    checks: str
    #: Why it matters for a model or for watsonx Orchestrate.
    rationale: str
    fix: str


def _rules(*rules: LintRule) -> Mapping[str, LintRule]:
    return MappingProxyType({rule.code: rule for rule in rules})


LINT_RULES: Mapping[str, LintRule] = _rules(
    LintRule(
        code="LINT_OPENAPI_VERSION",
        severity=Severity.INFO,
        title="OpenAPI version other than 3.0",
        checks="The document is OpenAPI 3.1 (or later), not 3.0.",
        rationale="watsonx Orchestrate imports only OpenAPI 3.0. Toolgate compiles 3.1 natively.",
        fix="Nothing for Toolgate. For watsonx Orchestrate, publish a 3.0 edition of the document.",
    ),
    LintRule(
        code="LINT_SWAGGER_CONVERTED",
        severity=Severity.WARNING,
        title="Swagger 2.0 document converted",
        checks="The document was Swagger 2.0 and was converted to OpenAPI 3.0 before compiling.",
        rationale="The tools come from an automatic conversion (body and formData parameters, consumes, "
        "host, basePath, schemes) and may differ from what the authors meant. watsonx Orchestrate "
        "refuses 2.0.",
        fix="Publish an OpenAPI 3.0 document; until then, read the conversion report.",
    ),
    LintRule(
        code="LINT_SERVER_COUNT",
        severity=Severity.WARNING,
        title="Not exactly one server URL",
        checks="The top-level `servers` block is missing, empty or has more than one entry.",
        rationale="With no server the runtime has no base URL; with several it must pick one (Toolgate "
        "takes the first). watsonx Orchestrate requires exactly one.",
        fix="Declare exactly one top-level `servers` entry: the URL the tools should call.",
    ),
    LintRule(
        code="LINT_SERVER_TEMPLATED",
        severity=Severity.WARNING,
        title="Server URL with variables",
        checks="A server URL contains `{variables}`.",
        rationale="watsonx Orchestrate refuses parameterised server URLs. Toolgate substitutes each "
        "variable's default, which reaches the wrong host when the default is a placeholder.",
        fix="Write the concrete URL, e.g. `https://acme.example.com/api` instead of "
        "`https://{tenant}.example.com/api`.",
    ),
    LintRule(
        code="LINT_SERVER_RELATIVE",
        severity=Severity.WARNING,
        title="Server URL is not absolute",
        checks="A server URL, with its variables' defaults substituted, has no http(s) scheme and host "
        "(`/api/v1`, `mytoolserver`).",
        rationale="A relative URL is resolved against the document's own address, which an uploaded spec "
        "does not have, so the runtime cannot tell which host to call.",
        fix="Give an absolute `https://host/base-path` URL.",
    ),
    LintRule(
        code="LINT_NON_JSON_REQUEST",
        severity=Severity.WARNING,
        title="Request body is not JSON",
        checks="The request body offers no JSON media type (`application/json`, `*/*+json`, `*/*`).",
        rationale="Models write JSON arguments; form, multipart, XML or binary bodies need conversion or "
        "cannot carry what a model writes (files). watsonx Orchestrate requires JSON.",
        fix="Accept `application/json` (or a `+json` type) as one of the request body's media types.",
    ),
    LintRule(
        code="LINT_NON_JSON_RESPONSE",
        severity=Severity.WARNING,
        title="Success response is not JSON",
        checks="A 2xx response has content but none of its media types is JSON.",
        rationale="The model grounds its answer on the response; CSV, XML, HTML or binary results reach "
        "it as opaque text or not at all. watsonx Orchestrate requires JSON.",
        fix="Return `application/json` from 2xx responses, or offer it alongside the other media types.",
    ),
    LintRule(
        code="LINT_MISSING_OPERATION_ID",
        severity=Severity.WARNING,
        title="Operation without operationId",
        checks="The operation has no (or a blank) `operationId`.",
        rationale="watsonx Orchestrate uses the operationId as the tool name and refuses operations "
        "without one. Toolgate names the tool from method and path, a name that changes with the path.",
        fix="Add a unique snake_case `operationId` that says what the operation does.",
    ),
    LintRule(
        code="LINT_OPERATION_ID_NOT_SNAKE_CASE",
        severity=Severity.INFO,
        title="operationId is not snake_case",
        checks="The `operationId` is not lower snake_case (`createCase`, `repos/get`, `Create-Case`).",
        rationale="watsonx Orchestrate recommends snake_case because the operationId becomes the tool "
        "name the model reads. Toolgate converts tool names to snake_case itself.",
        fix="Rename it, e.g. `createSupportCase` to `create_support_case`.",
    ),
    LintRule(
        code="LINT_MISSING_DESCRIPTION",
        severity=Severity.WARNING,
        title="Operation without description",
        checks="The operation has no `description`, whether or not it has a `summary`.",
        rationale="The description is how a model decides when to use a tool and what it does; a "
        "summary is a title, not an explanation. watsonx Orchestrate requires `description`.",
        fix="Add a `description`: what the operation does, when to use it and what it returns.",
    ),
    LintRule(
        code="LINT_POOR_DESCRIPTION",
        severity=Severity.WARNING,
        title="Description too short or only restates the name",
        checks="The `description` is shorter than `min_description_chars` (20), or all its words come "
        "from the tool name, operationId, method and path (`Create cases.` for `create_case`).",
        rationale="A description that restates the name gives the model nothing to choose between "
        "similar tools with.",
        fix="Explain purpose, effect, important constraints and result in a sentence or two.",
    ),
    LintRule(
        code="LINT_DESCRIPTION_TOO_LONG",
        severity=Severity.WARNING,
        title="Description longer than a model API accepts",
        checks="What the model reads (`x-toolgate.description`, else the summary and description joined) "
        "is longer than `max_description_chars` (1024, OpenAI's limit).",
        rationale="OpenAI refuses longer tool descriptions, so Toolgate cuts the text mid-sentence with an "
        "ellipsis: whatever came last, often constraints or the result, never reaches the model.",
        fix="Set a shorter `x-toolgate.description` (the spec's own text stays for developers), or "
        "shorten the description.",
    ),
    LintRule(
        code="LINT_TOO_MANY_PARAMETERS",
        severity=Severity.WARNING,
        title="Too many arguments",
        checks="The tool has more than `max_arguments` (20) top-level arguments: parameters and flattened "
        "body fields.",
        rationale="Models fill long argument lists poorly and large definitions eat the context window; "
        "tools work best with focused inputs for one task.",
        fix="Split the operation into focused ones, or leave rarely used optional parameters out of the "
        "spec given to the model.",
    ),
    LintRule(
        code="LINT_DEEP_INPUT",
        severity=Severity.WARNING,
        title="Deeply nested arguments",
        checks="The arguments nest more than `max_input_depth` (5) JSON containers deep: objects and "
        "arrays, the arguments object included.",
        rationale="Models get deeply nested argument objects wrong more often, and OpenAI strict mode "
        "refuses schemas nested more than 10 levels.",
        fix="Flatten the request: lift nested fields to the top level, or take identifiers instead of "
        "embedded objects.",
    ),
    LintRule(
        code="LINT_UNDOCUMENTED_ENUM",
        severity=Severity.WARNING,
        title="Enum argument without description",
        checks="An argument or nested property with an `enum` (directly, in `items` or in a nullable "
        "union) or a `oneOf`/`anyOf` of `const`s has no `description` (a union whose every `const` has a "
        "`description` or `title` counts as described). One finding per tool lists them all.",
        rationale="The model sees the allowed values but not what they mean or when to choose each "
        "(is `high` a priority, a tier, a limit?).",
        fix="Describe the argument and, where the values are not self-explanatory, what each one means.",
    ),
    LintRule(
        code="LINT_UNDESCRIBED_PARAMETER",
        severity=Severity.INFO,
        title="Arguments without description",
        checks="Top-level arguments without a `description` (enums excluded: LINT_UNDOCUMENTED_ENUM "
        "covers them). One finding per tool lists them all.",
        rationale="The model must guess an argument's meaning, format and units from its name alone.",
        fix="Add a `description` to each parameter and body property, with formats, units or examples.",
    ),
    LintRule(
        code="LINT_TOO_MANY_TOOLS",
        severity=Severity.WARNING,
        title="More tools than a model accepts",
        checks="The spec yields more than `max_tools` (128) tools.",
        rationale="OpenAI accepts at most 128 tools per request, and tool choice degrades long before that.",
        fix="Split the spec into focused integrations, or offer the model a subset of tools (by tag).",
    ),
    LintRule(
        code="LINT_NO_OUTPUT_SCHEMA",
        severity=Severity.INFO,
        title="No schema for the success response",
        checks="The tool has no output schema: no 2xx response, or a 2xx response without a JSON schema. "
        "Bodiless successes (only 204/205, or HEAD) and non-JSON ones (LINT_NON_JSON_RESPONSE) are "
        "not reported.",
        rationale="The model cannot know in advance what a call returns, so it plans follow-up calls "
        "blind; MCP clients get no outputSchema or structured content.",
        fix="Describe the 2xx response body with an `application/json` schema.",
    ),
    LintRule(
        code="LINT_INTERACTIVE_AUTH",
        severity=Severity.WARNING,
        title="Only interactive authentication",
        checks="Tools whose every security alternative needs openIdConnect or an OAuth 2.0 scheme "
        "offering only authorizationCode, implicit or device flows. One finding per scheme.",
        rationale="These need a person at a browser. The serverless runtime cannot sign in itself: it "
        "can only send a bearer token obtained elsewhere, and calls fail once that token expires.",
        fix="Offer a non-interactive alternative (OAuth 2.0 clientCredentials, an API key, a long-lived "
        "bearer token), or bind a bearer token and renew it before it expires.",
    ),
    LintRule(
        code="LINT_DEPRECATED_OPERATION",
        severity=Severity.WARNING,
        title="Deprecated operation",
        checks="The operation is marked `deprecated: true`.",
        rationale="The model cannot tell a deprecated tool from its replacement and may keep calling an "
        "operation that is about to disappear.",
        fix="Leave deprecated operations out of the spec given to the model, or name the replacement in "
        "the description.",
    ),
    LintRule(
        code="LINT_ASYNC_CALLBACK",
        severity=Severity.WARNING,
        title="Callback declaration watsonx Orchestrate cannot use",
        checks="A `callbackUrl` header parameter without `callbacks`, `callbacks` without it, a header "
        "that looks like it under another name (`callback_url`, `X-Callback-URL`), or callback "
        "requests that are not JSON.",
        rationale="watsonx Orchestrate runs an operation asynchronously only with a header parameter "
        "named exactly `callbackUrl` and `callbacks` whose requests are JSON; anything else runs "
        "synchronously into its 40-second timeout.",
        fix="Declare both the `callbackUrl` header parameter and `callbacks` with an `application/json` "
        "request body, addressed by `{$request.header.callbackUrl}`.",
    ),
    LintRule(
        code="LINT_IBM_EXTENSION",
        severity=Severity.INFO,
        title="x-ibm- extension",
        checks="The document root or an operation carries an `x-ibm-` extension.",
        rationale="watsonx Orchestrate OpenAPI tools ignore the x-ibm- extensions of its older Skills, so "
        "behaviour configured there is lost.",
        fix="Express the behaviour in standard OpenAPI, or remove the extension.",
    ),
)

_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_SUCCESS_STATUS = re.compile(r"^2(?:\d\d|xx)$", re.IGNORECASE)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9]+")
_BODILESS_STATUSES = frozenset({"204", "205"})
_INTERACTIVE_OAUTH_FLOWS = frozenset({"authorizationCode", "implicit", "deviceAuthorization"})
_FILLER_WORDS = frozenset(
    {"a", "an", "the", "by", "of", "for", "to", "in", "on", "with", "and", "or", "this"}
)
_HTTP_METHODS = frozenset(HTTP_METHODS)
_CALLBACK_HEADER = "callbackUrl"
_MAX_REF_HOPS = 32
_QUOTE_CHARS = 60
_ENUM_PREVIEW = 6
_COMBINATORS = ("allOf", "anyOf", "oneOf")


def lint_spec(
    document: Mapping[str, Any], compiled: CompiledSpec, *, limits: LintLimits | None = None
) -> list[Finding]:
    """Agent-readiness findings for a loaded OpenAPI 3.x document and the tools compiled from it."""
    linter = _Linter(document, compiled, limits or LintLimits())
    return linter.run()


def format_findings(findings: Sequence[Finding]) -> str:
    """One line per finding, `severity[CODE] pointer: message`, sorted by severity then pointer."""
    ordered = sorted(findings, key=lambda f: (_SEVERITY_RANK[f.severity], f.pointer, f.code, f.message))
    lines = []
    for finding in ordered:
        where = f" {finding.pointer}" if finding.pointer else ""
        lines.append(f"{finding.severity.value}[{finding.code}]{where}: {_one_line(finding.message)}")
    return "\n".join(lines)


# --- The linter -------------------------------------------------------------------------------------


class _Linter:
    def __init__(self, document: Mapping[str, Any], compiled: CompiledSpec, limits: LintLimits) -> None:
        self.document = document
        self.compiled = compiled
        self.limits = limits
        self.findings: list[Finding] = []
        self.overflow: dict[str, int] = {}
        self.emitted: dict[str, int] = {}

    def run(self) -> list[Finding]:
        self.check_version()
        self.check_servers()
        self.check_extensions(self.document, "")
        self.check_tool_count()
        self.check_security()
        for tool in self.compiled.tools:
            self.check_tool(tool)
        for code, count in self.overflow.items():
            self.findings.append(
                _finding(code, "", f"{count} more findings of this kind are not listed individually.")
            )
        return self.findings

    def emit(self, code: str, pointer: str, message: str) -> None:
        listed = self.emitted.get(code, 0)
        if listed >= self.limits.max_findings_per_rule:
            self.overflow[code] = self.overflow.get(code, 0) + 1
            return
        self.emitted[code] = listed + 1
        self.findings.append(_finding(code, pointer, message))

    # Spec-wide rules

    def check_version(self) -> None:
        version = self.compiled.source_openapi
        if version.startswith("2."):
            self.emit(
                "LINT_SWAGGER_CONVERTED",
                "/openapi",
                f"Swagger {version} was converted to OpenAPI 3.0; check the conversion report. "
                "watsonx Orchestrate imports only OpenAPI 3.0.",
            )
        elif not version.startswith("3.0"):
            self.emit(
                "LINT_OPENAPI_VERSION",
                "/openapi",
                f"OpenAPI {version}: Toolgate compiles it, but watsonx Orchestrate imports only 3.0.",
            )

    def check_servers(self) -> None:
        servers = self.document.get("servers")
        entries = [
            (index, server)
            for index, server in enumerate(servers if isinstance(servers, list) else ())
            if isinstance(server, Mapping) and isinstance(server.get("url"), str)
        ]
        if not entries:
            consequence = (
                "operations declare their own"
                if any(tool.server_url for tool in self.compiled.tools)
                else "the runtime has no base URL to call"
            )
            self.emit(
                "LINT_SERVER_COUNT",
                "/servers" if "servers" in self.document else "",
                f"No top-level server URL ({consequence}); watsonx Orchestrate requires exactly one.",
            )
            return
        if len(entries) > 1:
            self.emit(
                "LINT_SERVER_COUNT",
                "/servers",
                f"{len(entries)} server URLs: Toolgate calls the first ({_quote(entries[0][1].get('url'))}); "
                "watsonx Orchestrate requires exactly one.",
            )
        for index, server in entries:
            self.check_server_url(server, f"/servers/{index}/url")

    def check_server_url(self, server: Mapping[str, Any], pointer: str) -> None:
        url = str(server["url"])
        variables = server.get("variables")
        defaults = {
            name: str(variable.get("default", ""))
            for name, variable in (variables.items() if isinstance(variables, Mapping) else ())
            if isinstance(variable, Mapping)
        }
        if "{" in url:
            self.emit(
                "LINT_SERVER_TEMPLATED",
                pointer,
                f"Server URL {_quote(url)} has variables; Toolgate calls "
                f"{_quote(_substitute(url, defaults))}, watsonx Orchestrate refuses it.",
            )
        resolved = urlsplit(_substitute(url, defaults))
        if resolved.scheme.lower() not in {"http", "https"} or not resolved.netloc:
            self.emit(
                "LINT_SERVER_RELATIVE",
                pointer,
                f"Server URL {_quote(url)} is not an absolute http(s) URL, so the runtime cannot tell "
                "which host to call.",
            )

    def check_extensions(self, node: Mapping[str, Any], pointer: str) -> None:
        for key in node:
            if isinstance(key, str) and key.lower().startswith("x-ibm-"):
                self.emit(
                    "LINT_IBM_EXTENSION",
                    f"{pointer}/{escape_token(key)}",
                    f"{key} is an extension of older watsonx Orchestrate Skills; OpenAPI tools ignore it.",
                )

    def check_tool_count(self) -> None:
        count = len(self.compiled.tools)
        if count > self.limits.max_tools:
            self.emit(
                "LINT_TOO_MANY_TOOLS",
                "/paths",
                f"{count} tools; OpenAI accepts at most {self.limits.max_tools} per request. Split the "
                "spec or offer the model a subset.",
            )

    def check_security(self) -> None:
        stranded: dict[str, list[str]] = {}
        for tool in self.compiled.tools:
            if not tool.security:
                continue
            blockers = [_interactive_schemes(tool, requirement) for requirement in tool.security]
            if all(blockers):
                for scheme in sorted({name for names in blockers for name in names}):
                    stranded.setdefault(scheme, []).append(tool.name)
        for scheme, tools in stranded.items():
            self.emit(
                "LINT_INTERACTIVE_AUTH",
                f"/components/securitySchemes/{escape_token(scheme)}",
                f"Security scheme {_quote(scheme)} needs interactive sign-in, which the runtime cannot "
                "perform (only a bearer token obtained elsewhere works), and it is the only way to "
                f"authenticate for {_count(len(tools), 'tool')}: {self.names(tools)}.",
            )

    # Per-tool rules

    def check_tool(self, tool: CanonicalTool) -> None:
        self.check_inputs(tool)
        if tool.deprecated:
            self.emit("LINT_DEPRECATED_OPERATION", tool.pointer, f"Tool {tool.name} is deprecated.")
        operation = _resolve(self.document, tool.pointer)
        if operation is None:
            return
        self.check_extensions(operation, tool.pointer)
        self.check_operation_id(tool, operation)
        self.check_description(tool, operation)
        self.check_request_media(tool, operation)
        non_json = self.check_response_media(tool, operation)
        if tool.output_schema is None and not non_json:
            self.check_output_schema(tool, operation)
        self.check_callbacks(tool, operation)

    def check_operation_id(self, tool: CanonicalTool, operation: Mapping[str, Any]) -> None:
        operation_id = operation.get("operationId")
        if not isinstance(operation_id, str) or not operation_id.strip():
            self.emit(
                "LINT_MISSING_OPERATION_ID",
                tool.pointer,
                f"No operationId: watsonx Orchestrate refuses the operation, and Toolgate names the tool "
                f"{tool.name} after its method and path.",
            )
        elif not SNAKE_CASE.match(operation_id):
            self.emit(
                "LINT_OPERATION_ID_NOT_SNAKE_CASE",
                tool.pointer,
                f"operationId {_quote(operation_id)} is not snake_case; Toolgate names the tool {tool.name}.",
            )

    def check_description(self, tool: CanonicalTool, operation: Mapping[str, Any]) -> None:
        shown = tool_model_description(operation)
        if len(shown) > self.limits.max_description_chars:
            self.emit(
                "LINT_DESCRIPTION_TOO_LONG",
                tool.pointer,
                f"The model would read {len(shown):,} characters, more than "
                f"{self.limits.max_description_chars:,}; Toolgate cuts the rest of {tool.name}'s "
                "description.",
            )
        description = _text(operation.get("description"))
        if not description:
            summary = _text(operation.get("summary"))
            given = f"only the summary {_quote(summary)}" if summary else "no summary either"
            self.emit(
                "LINT_MISSING_DESCRIPTION",
                tool.pointer,
                f"No description ({given}): the model has little to decide when to use {tool.name}, and "
                "watsonx Orchestrate requires one.",
            )
            return
        problem = description_problem(
            description, tool, _text(operation.get("operationId")), self.limits.min_description_chars
        )
        if problem:
            self.emit("LINT_POOR_DESCRIPTION", tool.pointer, problem)

    def check_inputs(self, tool: CanonicalTool) -> None:
        shape = _InputShape.of(tool.input_schema)
        if len(shape.arguments) > self.limits.max_arguments:
            self.emit(
                "LINT_TOO_MANY_PARAMETERS",
                tool.pointer,
                f"{len(shape.arguments)} arguments ({shape.required} required); models handle more than "
                f"{self.limits.max_arguments} poorly.",
            )
        if shape.depth > self.limits.max_input_depth:
            self.emit(
                "LINT_DEEP_INPUT",
                tool.pointer,
                f"Arguments nest {shape.depth} levels deep (more than {self.limits.max_input_depth}), "
                f"e.g. at {shape.deepest_path}.",
            )
        if shape.undocumented_enums:
            self.emit(
                "LINT_UNDOCUMENTED_ENUM",
                tool.pointer,
                f"Enum arguments without a description: {self.names(shape.undocumented_enums)}.",
            )
        if shape.undescribed:
            self.emit(
                "LINT_UNDESCRIBED_PARAMETER",
                tool.pointer,
                f"Arguments without a description ({len(shape.undescribed)} of {len(shape.arguments)}): "
                f"{self.names(shape.undescribed)}.",
            )

    def check_request_media(self, tool: CanonicalTool, operation: Mapping[str, Any]) -> None:
        body = _deref(self.document, operation.get("requestBody"))
        media_types = _media_types(body)
        if media_types and not any(is_json_media(media) for media in media_types):
            self.emit(
                "LINT_NON_JSON_REQUEST",
                f"{tool.pointer}/requestBody",
                f"The request body is {self.names(media_types)}, not JSON.",
            )

    def check_response_media(self, tool: CanonicalTool, operation: Mapping[str, Any]) -> bool:
        offending = [
            f"{status}: {', '.join(media_types)}"
            for status, response in self.success_responses(operation)
            if (media_types := _media_types(response)) and not any(is_json_media(m) for m in media_types)
        ]
        if offending:
            self.emit(
                "LINT_NON_JSON_RESPONSE",
                f"{tool.pointer}/responses",
                f"Success responses are not JSON: {self.names(offending)}.",
            )
        return bool(offending)

    def check_output_schema(self, tool: CanonicalTool, operation: Mapping[str, Any]) -> None:
        if tool.method.lower() == "head":
            return
        statuses = [status for status, _ in self.success_responses(operation)]
        if statuses and all(status in _BODILESS_STATUSES for status in statuses):
            return
        reason = "its 2xx response has no JSON schema" if statuses else "it declares no 2xx response"
        self.emit(
            "LINT_NO_OUTPUT_SCHEMA",
            f"{tool.pointer}/responses",
            f"The model cannot know what {tool.name} returns: {reason}.",
        )

    def check_callbacks(self, tool: CanonicalTool, operation: Mapping[str, Any]) -> None:
        declared = operation.get("callbacks")
        callbacks: Mapping[str, Any] = declared if isinstance(declared, Mapping) else {}
        has_callbacks = bool(callbacks)
        parameters = [
            (str(parameter.get("in")), name)
            for parameter in self.parameters(tool, operation)
            if isinstance(name := parameter.get("name"), str)
        ]
        has_header = ("header", _CALLBACK_HEADER) in parameters
        lookalikes = [
            f"{location} parameter {name}"
            for location, name in parameters
            if _looks_like_callback(name)
            and (location, name) != ("header", _CALLBACK_HEADER)
            and (location == "header" or has_callbacks)
        ]
        problems: list[str] = []
        if lookalikes:
            problems.append(
                f"the callback URL is taken as {self.names(lookalikes)}; watsonx Orchestrate supports only "
                f"a header parameter named exactly {_CALLBACK_HEADER}"
            )
        if has_header and not has_callbacks:
            problems.append(f"it has a {_CALLBACK_HEADER} header parameter but no callbacks object")
        if has_callbacks and not has_header and not lookalikes:
            problems.append(f"it has callbacks but no {_CALLBACK_HEADER} header parameter")
        if has_callbacks:
            non_json = sorted(
                {
                    media
                    for callback_operation in self.callback_operations(callbacks)
                    for media in _media_types(_deref(self.document, callback_operation.get("requestBody")))
                    if not is_json_media(media)
                }
            )
            if non_json:
                problems.append(f"its callback requests are {self.names(non_json)}, not application/json")
        if problems:
            self.emit(
                "LINT_ASYNC_CALLBACK",
                tool.pointer,
                f"watsonx Orchestrate cannot run {tool.name} asynchronously: {'; '.join(problems)}.",
            )

    # Document access

    def parameters(self, tool: CanonicalTool, operation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The operation's parameters merged over its path item's, with `$ref`s resolved."""
        path_item = _resolve(self.document, tool.pointer.rpartition("/")[0]) or {}
        merged: dict[tuple[Any, Any], Mapping[str, Any]] = {}
        for owner in (path_item, operation):
            declared = owner.get("parameters")
            for entry in declared if isinstance(declared, list) else ():
                parameter = _deref(self.document, entry)
                if parameter is not None:
                    merged[(parameter.get("name"), parameter.get("in"))] = parameter
        return list(merged.values())

    def success_responses(self, operation: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
        responses = operation.get("responses")
        if not isinstance(responses, Mapping):
            return []
        found = []
        for status, entry in responses.items():
            response = _deref(self.document, entry)
            if _SUCCESS_STATUS.match(str(status)) and response is not None:
                found.append((str(status), response))
        return found

    def callback_operations(self, callbacks: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        for entry in callbacks.values():
            callback = _deref(self.document, entry)
            for path_entry in callback.values() if callback is not None else ():
                path_item = _deref(self.document, path_entry)
                for method, operation in path_item.items() if path_item is not None else ():
                    if method in _HTTP_METHODS and isinstance(operation, Mapping):
                        yield operation

    def names(self, names: Sequence[str]) -> str:
        shown = ", ".join(names[: self.limits.max_names_in_message])
        hidden = len(names) - self.limits.max_names_in_message
        return f"{shown} and {hidden} more" if hidden > 0 else shown


def description_problem(
    description: str, tool: CanonicalTool, operation_id: str, min_chars: int
) -> str | None:
    """Why a (non-empty) description is poor (LINT_POOR_DESCRIPTION), or None."""
    if len(description) < min_chars:
        return f"Description {_quote(description)} is shorter than {min_chars} characters."
    label = " ".join((tool.name, tool.method, tool.path, operation_id))
    if _words(description) <= _words(label):
        return f"Description {_quote(description)} only restates the tool's name, method or path."
    return None


def tool_model_description(operation: Mapping[str, Any]) -> str:
    """The description the compiler gives the model for this operation, before it is cut."""
    extension = operation.get("x-toolgate")
    override = _text(extension.get("description")) if isinstance(extension, Mapping) else ""
    return model_description(operation, override or None)


def undocumented_enums(tool: CanonicalTool) -> list[str]:
    """The enum arguments of a tool that LINT_UNDOCUMENTED_ENUM lists (path and values)."""
    return _InputShape.of(tool.input_schema).undocumented_enums


# --- Input schema shape -----------------------------------------------------------------------------


@dataclass
class _InputShape:
    """What the lint needs from a tool's input schema, gathered in one walk."""

    arguments: list[str]
    required: int
    undescribed: list[str]
    #: Path of each enum property without a description, and its values (union members merged).
    enum_values: dict[str, list[str]]
    depth: int
    deepest_path: str

    @classmethod
    def of(cls, schema: Mapping[str, Any]) -> _InputShape:
        properties = schema.get("properties")
        arguments = properties if isinstance(properties, Mapping) else {}
        required = schema.get("required")
        shape = cls(
            arguments=[str(name) for name in arguments],
            required=len(required) if isinstance(required, list) else 0,
            undescribed=[],
            enum_values={},
            depth=0,
            deepest_path="",
        )
        for name, argument in arguments.items():
            if (
                isinstance(argument, Mapping)
                and not _enum_values(argument)
                and not described_schema(argument)
            ):
                shape.undescribed.append(str(name))
        shape.walk(schema)
        return shape

    def walk(self, root: Mapping[str, Any]) -> None:
        """Measure container nesting and find enum properties without a description.

        `$ref`s are not followed: the compiler inlines every non-recursive one, and recursion has no depth.
        """
        queue: deque[tuple[Mapping[str, Any], int, str]] = deque([(root, 0, "")])
        while queue:
            schema, level, path = queue.popleft()
            for keyword in _COMBINATORS:
                for member in _as_list(schema.get(keyword)):
                    if isinstance(member, dict):
                        queue.append((member, level, path))
            nested: list[tuple[dict[str, Any], str]] = []
            properties = schema.get("properties")
            if isinstance(properties, dict):
                for name, child in properties.items():
                    if isinstance(child, dict):
                        child_path = f"{path}.{name}" if path else str(name)
                        nested.append((child, child_path))
                        if not described_schema(child):
                            self.note_enum(child_path, child)
            items = schema.get("items")
            for item in [items, *_as_list(items), *_as_list(schema.get("prefixItems"))]:
                if isinstance(item, dict):
                    nested.append((item, f"{path}[]"))
            additional = schema.get("additionalProperties")
            if isinstance(additional, dict):
                nested.append((additional, f"{path}.*"))
            if nested or isinstance(properties, dict):
                if level + 1 > self.depth:
                    self.depth = level + 1
                    self.deepest_path = path or "the top level"
                queue.extend((child, level + 1, child_path) for child, child_path in nested)

    def note_enum(self, path: str, schema: Mapping[str, Any]) -> None:
        for value in _enum_values(schema):
            known = self.enum_values.setdefault(path, [])
            if value not in known:
                known.append(value)

    @property
    def undocumented_enums(self) -> list[str]:
        """Enum properties without a description; a single value is a constant and needs none."""
        return [
            f"{path} [{'|'.join(values[:_ENUM_PREVIEW])}{'|...' if len(values) > _ENUM_PREVIEW else ''}]"
            for path, values in self.enum_values.items()
            if len(values) > 1
        ]


def _enum_values(schema: Mapping[str, Any]) -> list[str]:
    """Values of an enum on the schema itself, on its items or on union members (as with nullable enums);
    union members that are each one `const` make an enum too."""
    values: list[Any] = []
    members = _union_members(schema)
    for candidate in (schema, schema.get("items"), *members):
        if isinstance(candidate, Mapping):
            values.extend(_as_list(candidate.get("enum")))
    values.extend(member["const"] for member in members if "const" in member)
    return [value if isinstance(value, str) else json.dumps(value) for value in values]


def _union_members(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    members = [*_as_list(schema.get("anyOf")), *_as_list(schema.get("oneOf"))]
    return [member for member in members if isinstance(member, Mapping)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def described_schema(schema: Mapping[str, Any]) -> bool:
    """A description, or union members that are each a `const` with its own description or title."""
    if _text(schema.get("description")):
        return True
    consts = [member for member in _union_members(schema) if "const" in member]
    return len(consts) > 1 and all(
        _text(member.get("description")) or _text(member.get("title")) for member in consts
    )


# --- Security ---------------------------------------------------------------------------------------


def _interactive_schemes(tool: CanonicalTool, requirement: Mapping[str, Any]) -> list[str]:
    """Schemes of one requirement set that need a person to sign in; empty when the set is usable."""
    blocking = []
    for name in requirement:
        scheme = tool.security_schemes.get(name)
        if scheme is None:
            continue
        if scheme.type is SecuritySchemeType.OPENID_CONNECT or (
            scheme.type is SecuritySchemeType.OAUTH2
            and scheme.flows
            and set(scheme.flows) <= _INTERACTIVE_OAUTH_FLOWS
        ):
            blocking.append(name)
    return blocking


# --- Document helpers -------------------------------------------------------------------------------


def _resolve(document: Mapping[str, Any], pointer: str) -> Mapping[str, Any] | None:
    """The object at an RFC 6901 pointer, following local `$ref`s on the way; None if absent."""
    node: Any = document
    for token in pointer.split("/")[1:] if pointer else ():
        node = _deref(document, node)
        if node is None:
            return None
        node = node.get(token.replace("~1", "/").replace("~0", "~"))
    return _deref(document, node)


def _deref(document: Mapping[str, Any], node: Any) -> Mapping[str, Any] | None:
    """Follow local `$ref`s (bundled documents have no others); None for anything not an object."""
    for _ in range(_MAX_REF_HOPS):
        if not isinstance(node, Mapping):
            return None
        reference = node.get("$ref")
        if not isinstance(reference, str):
            return node
        if not reference.startswith("#"):
            return None
        node = _resolve_plain(document, reference[1:])
    return None


def _resolve_plain(document: Mapping[str, Any], pointer: str) -> Any:
    node: Any = document
    for token in pointer.split("/")[1:] if pointer else ():
        if not isinstance(node, Mapping):
            return None
        node = node.get(token.replace("~1", "/").replace("~0", "~"))
    return node


def _media_types(owner: Mapping[str, Any] | None) -> list[str]:
    content = owner.get("content") if owner is not None else None
    return [str(media) for media in content] if isinstance(content, Mapping) else []


def is_json_media(media_type: str) -> bool:
    essence = media_type.split(";", 1)[0].strip().lower()
    if essence in {"*/*", "application/*"}:
        return True
    _, _, subtype = essence.partition("/")
    return subtype == "json" or subtype.endswith("+json")


def _looks_like_callback(header: str) -> bool:
    return re.sub(r"[^a-z]", "", header.lower()).endswith("callbackurl")


def _substitute(url: str, defaults: Mapping[str, str]) -> str:
    return re.sub(r"\{([^}]*)\}", lambda match: defaults.get(match.group(1), match.group(0)), url)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _words(text: str) -> set[str]:
    """Content words, lower-cased and crudely singular, so `Lists users.` matches `list_user`."""
    words = _WORD.findall(_CAMEL_BOUNDARY.sub(" ", text).lower())
    return {word[:-1] if len(word) > 3 and word.endswith("s") else word for word in words} - _FILLER_WORDS


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quote(value: Any) -> str:
    text = _one_line(str(value))
    return f"`{text[:_QUOTE_CHARS]}...`" if len(text) > _QUOTE_CHARS else f"`{text}`"


def _finding(code: str, pointer: str, message: str) -> Finding:
    return Finding(code=code, severity=LINT_RULES[code].severity, message=message, pointer=pointer)
