"""Advisory, offline validation of an OpenAPI document with openapi-spec-validator on jsonschema-rs.

Every problem becomes a WARNING finding with a JSON-pointer location; nothing here raises for a spec
defect, the compiler decides what is fatal. Three passes:

1. The OpenAPI meta-schema (openapi-spec-validator's bundled schemas for 2.0, 3.0, 3.1 and 3.2) runs
   on jsonschema-rs, always. For 3.1 and 3.2 the Schema Objects are also checked against the OpenAPI
   JSON Schema dialect, as the official `schema-base` variant does. Milliseconds, even on GitHub.
2. Cheap semantic checks, always: duplicate operationIds, parameters and tags, and path parameters
   that are undeclared or unused.
3. openapi-spec-validator's keyword walk (defaults against their schemas, required properties that
   are never defined) extended to examples. It is the slow part (seconds on large specs), so it runs
   within the time budget and reports SPEC_VALIDATION_PARTIAL when it is cut short. Like the
   library, it walks path items and component schemas (not webhooks or unreferenced parameters).

Nothing is ever fetched: non-local `$ref`s are reported and removed from a copy-on-write view of the
document before any validator sees it, and the resolver refuses every retrieval besides.
"""

from __future__ import annotations

import bisect
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any, NoReturn, cast
from urllib.parse import unquote

import jsonschema_rs
from jsonschema.exceptions import ValidationError, best_match
from jsonschema_path import SchemaPath
from openapi_schema_validator import OAS31_BASE_DIALECT_ID, OAS32_BASE_DIALECT_ID
from openapi_schema_validator._specifications import REGISTRY as OPENAPI_SCHEMA_REGISTRY
from openapi_spec_validator.schemas import schema_v2, schema_v30, schema_v31, schema_v32
from openapi_spec_validator.validation import (
    OpenAPIV2SpecValidator,
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
    OpenAPIV32SpecValidator,
    keywords,
)
from openapi_spec_validator.validation.exceptions import ExtraParametersError, OpenAPIValidationError
from openapi_spec_validator.validation.registries import KeywordValidatorRegistry

from toolgate.errors import ExternalRefError, ToolgateError
from toolgate.spec.models import Finding, Severity
from toolgate.spec.refs import RefResolver, is_local_ref, pointer_join, reference_of


class ValidationCode(StrEnum):
    VALIDATION = "SPEC_VALIDATION"
    EXTERNAL_REF = "SPEC_EXTERNAL_REF"
    UNRESOLVABLE_REF = "SPEC_UNRESOLVABLE_REF"
    DUPLICATE_OPERATION_ID = "SPEC_DUPLICATE_OPERATION_ID"
    DUPLICATE_PARAMETER = "SPEC_DUPLICATE_PARAMETER"
    DUPLICATE_TAG = "SPEC_DUPLICATE_TAG"
    UNDECLARED_PATH_PARAMETER = "SPEC_UNDECLARED_PATH_PARAMETER"
    UNUSED_PATH_PARAMETER = "SPEC_UNUSED_PATH_PARAMETER"
    UNDEFINED_REQUIRED_PROPERTY = "SPEC_UNDEFINED_REQUIRED_PROPERTY"
    EXAMPLE_MISMATCH = "SPEC_EXAMPLE_MISMATCH"
    DEFAULT_MISMATCH = "SPEC_DEFAULT_MISMATCH"
    #: The validator itself failed on part of the document; that part is unchecked.
    VALIDATOR_FAILURE = "SPEC_VALIDATOR_FAILURE"
    VALIDATION_SKIPPED = "SPEC_VALIDATION_SKIPPED"
    VALIDATION_PARTIAL = "SPEC_VALIDATION_PARTIAL"
    FINDINGS_OMITTED = "SPEC_FINDINGS_OMITTED"


def validate_document(
    document: Mapping[str, Any],
    openapi_version: str,
    *,
    time_budget_seconds: float | None = None,
    max_findings: int = 200,
) -> list[Finding]:
    """Validate `document` offline and return warnings (plus info notes on coverage), never raising.

    `time_budget_seconds` bounds the whole call as far as it can: the meta-schema pass and the cheap
    checks always run; the keyword walk stops at the deadline (None: no deadline). At most
    `max_findings` findings are listed, followed by one saying how many were left out.
    """
    deadline = None if time_budget_seconds is None else time.monotonic() + time_budget_seconds
    family = _family_of(openapi_version)
    if family is None:
        return [
            _warning(
                ValidationCode.VALIDATION_SKIPPED,
                f"OpenAPI version {openapi_version!r} is not one this validator knows (2.0, 3.0, 3.1, 3.2)",
            )
        ]
    root = document if isinstance(document, dict) else dict(document)
    scan = _scan_refs(root)
    if scan.cycle is not None:
        return [
            _warning(
                ValidationCode.VALIDATOR_FAILURE,
                "the document contains itself (a recursive YAML alias); it was not validated",
                scan.cycle,
            )
        ]
    view = _without_refs(root, [tokens for tokens, _ in scan.removed])
    report = _Report(max_findings)
    for finding in scan.findings:
        report.add(finding)
    removed_pointers = [pointer for _, pointer in scan.removed]
    meta_pointers = _run_phase(
        report, "meta-schema", lambda: _meta_schema_pass(view, family, removed_pointers)
    )
    _run_phase(report, "semantic", lambda: _semantic_checks(view, family))
    _run_phase(report, "keyword walk", lambda: _keyword_walk(view, family, meta_pointers, deadline))
    return report.findings()


# --- Versions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Family:
    name: str
    meta_schema: Mapping[str, Any]
    #: The JSON Schema dialect Schema Objects follow, for 3.1 and later.
    dialect: str | None
    keyword_validators: Mapping[str, type[keywords.KeywordValidator]]
    #: Path Item keys that hold operations.
    operation_methods: tuple[str, ...]
    #: Component schemas walked as units: `components/schemas` or Swagger's `definitions`.
    schemas_location: tuple[str, ...]
    #: 3.1+ schemas carry a JSON Schema `examples` array next to the deprecated `example`.
    schema_examples_array: bool


def _family_of(openapi_version: str) -> _Family | None:
    version = openapi_version.strip()
    if version == "2.0":
        return _FAMILIES["2.0"]
    match = re.match(r"^3\.([0-2])(\.|$|-)", version)
    return _FAMILIES[f"3.{match.group(1)}"] if match else None


# --- Reference scan and the copy-on-write view ---------------------------------------------------

#: A path through the document, as a linked list (parent, key) so each container costs one tuple.
_Link = tuple["_Link", str | int] | None


@dataclass
class _RefScan:
    findings: list[Finding] = field(default_factory=list)
    #: `$ref` holders removed from the view: their path tokens and pointer.
    removed: list[tuple[list[str | int], str]] = field(default_factory=list)
    cycle: str | None = None


def _tokens(link: _Link) -> list[str | int]:
    tokens: list[str | int] = []
    while link is not None:
        link, token = link
        tokens.append(token)
    tokens.reverse()
    return tokens


def _scan_refs(root: dict[str, Any]) -> _RefScan:
    """Find every non-local or unresolvable `$ref` (only a `$ref` whose value is a string counts).

    Shared subtrees (YAML aliases) are visited once per place they appear, so every path to a
    removed ref is known; a container that contains itself is reported instead of looped over.
    """
    scan = _RefScan()
    resolver = RefResolver(root)
    verdicts: dict[str, tuple[ValidationCode, str] | None] = {}
    stack: list[tuple[Any, _Link, bool]] = [(root, None, False)]
    on_path: set[int] = set()
    while stack:
        node, link, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        if id(node) in on_path:
            scan.cycle = pointer_join("", *_tokens(link))
            return scan
        on_path.add(id(node))
        stack.append((node, None, True))
        if isinstance(node, dict):
            ref = reference_of(node)
            if ref is not None:
                if ref not in verdicts:
                    verdicts[ref] = _ref_problem(ref, resolver)
                problem = verdicts[ref]
                if problem is not None:
                    tokens = _tokens(link)
                    pointer = pointer_join("", *tokens)
                    scan.findings.append(_warning(problem[0], problem[1], pointer))
                    scan.removed.append((tokens, pointer))
            children: Any = node.items()
        else:
            children = enumerate(node)
        for key, value in children:
            if isinstance(value, dict | list):
                stack.append((value, (link, key), False))
    return scan


def _ref_problem(ref: str, resolver: RefResolver) -> tuple[ValidationCode, str] | None:
    shown = _concise(repr(ref), 200)
    if not ref:
        return ValidationCode.UNRESOLVABLE_REF, "$ref is empty"
    if not is_local_ref(ref):
        return (
            ValidationCode.EXTERNAL_REF,
            f"$ref {shown} points outside the document; it was not fetched and was ignored",
        )
    if ref != "#" and not ref.startswith("#/"):
        # A 3.1 `$anchor` reference; left to the resolver.
        return None
    try:
        target = resolver.resolve(ref)
        for _ in range(_MAX_REF_HOPS):
            next_ref = reference_of(target)
            if next_ref is None or not is_local_ref(next_ref) or not next_ref.startswith("#/"):
                return None
            target = resolver.resolve(next_ref)
    except ToolgateError:
        return ValidationCode.UNRESOLVABLE_REF, f"$ref {shown} does not resolve within the document"
    return ValidationCode.UNRESOLVABLE_REF, f"$ref {shown} starts a circular chain of references"


_MAX_REF_HOPS = 64


def _without_refs(root: dict[str, Any], ref_paths: list[list[str | int]]) -> dict[str, Any]:
    """A view of `root` without the `$ref` keys at `ref_paths`, copying only the containers on the way."""
    if not ref_paths:
        return root
    copies: dict[int, Any] = {}

    def copy_of(node: Any) -> Any:
        duplicate = copies.get(id(node))
        if duplicate is None:
            duplicate = dict(node) if isinstance(node, dict) else list(node)
            copies[id(node)] = copies[id(duplicate)] = duplicate
        return duplicate

    view: dict[str, Any] = copy_of(root)
    for tokens in ref_paths:
        container: Any = view
        for token in tokens:
            child = copy_of(container[token])
            container[token] = child
            container = child
        container.pop("$ref", None)
    return view


# --- Pass 1: the meta-schema on jsonschema-rs -----------------------------------------------------


@cache
def _meta_validator(family_name: str) -> jsonschema_rs.Validator:
    """The OpenAPI meta-schema on jsonschema-rs, which openapi-spec-validator's backend wraps.

    Built here rather than through `get_validator_for`, so the backend is jsonschema-rs whatever
    OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND says, no process-wide setting is changed, it runs
    offline, and its errors keep their `oneOf` context.

    For 3.1 and 3.2, Schema Objects are bound to the OpenAPI dialect through the `meta` dynamic
    anchor, as the official `schema-base` schema does; the bundled schema only checks their type.
    """
    family = _FAMILIES[family_name]
    schema = dict(family.meta_schema)
    if family.dialect is None:
        return jsonschema_rs.validator_for(schema, offline=True)
    dialect_resources = [
        (uri, OPENAPI_SCHEMA_REGISTRY.contents(uri))
        for uri in OPENAPI_SCHEMA_REGISTRY
        if uri.startswith("https://spec.openapis.org/")
    ]
    registry = jsonschema_rs.Registry([(schema["$id"], schema), *dialect_resources])
    with_dialect = {
        "$schema": schema["$schema"],
        "$id": f"urn:toolgate:openapi-{family.name}-schema-base",
        "$ref": schema["$id"],
        "$defs": {"schema": {"$dynamicAnchor": "meta", "$ref": family.dialect}},
    }
    return jsonschema_rs.validator_for(with_dialect, registry=registry, offline=True)


def _meta_schema_pass(
    view: dict[str, Any], family: _Family, removed_pointers: list[str]
) -> Iterator[Finding]:
    removed = set(removed_pointers)
    misplaced_ref = (
        f"OpenAPI {family.name} allows no $ref here; its target is not checked against the OpenAPI schema"
    )
    for error in _meta_validator(family.name).iter_errors(view):
        for path, message, instance in _most_specific(error):
            pointer = pointer_join("", *path)
            # A removed ref leaves an object without its `$ref` behind; that ref was already reported.
            if not _is_at_or_under_any(removed, pointer):
                # Multi-file specs often `$ref` whole operations; say so once instead of listing symptoms.
                local_ref = reference_of(instance)
                shown = misplaced_ref if local_ref is not None and is_local_ref(local_ref) else message
                yield _warning(ValidationCode.VALIDATION, shown, pointer)


_JSON = json.JSONDecoder()


def _with_short_instance(message: str) -> str:
    """jsonschema-rs messages open with the offending instance as JSON, which can be a whole object."""
    try:
        _, end = _JSON.raw_decode(message)
    except ValueError:
        return _concise(message)
    return _concise(_concise(message[:end], 80) + message[end:])


def _most_specific(error: jsonschema_rs.ValidationError) -> list[tuple[list[str | int], str, Any]]:
    """Where and what the problem is, and the instance there, descending into `oneOf`/`anyOf` failures.

    The descent follows the branch the instance was evidently meant to match. Branches that fail
    only because the instance is another variant are set aside: the Reference alternative (no
    `$ref`) and variants told apart by a one-value enum or a const (a parameter's `in`, a security
    scheme's `type`). Of the rest, the branch that got deepest wins; a tie lists the alternatives.
    """
    kind = error.kind
    if not isinstance(
        kind, jsonschema_rs.ValidationErrorKind.OneOfNotValid | jsonschema_rs.ValidationErrorKind.AnyOf
    ):
        return [(error.instance_path, _with_short_instance(error.message), error.instance)]
    depth = len(error.instance_path)
    branches = [branch for branch in kind.context if branch]
    plausible = [branch for branch in branches if not _is_other_variant(branch, depth)] or branches
    if not plausible:
        return [(error.instance_path, _with_short_instance(error.message), error.instance)]

    def reach(branch: list[jsonschema_rs.ValidationError]) -> tuple[int, int]:
        return max(len(sub.instance_path) for sub in branch), -len(branch)

    ranked = sorted(plausible, key=reach, reverse=True)
    if len(ranked) > 1 and reach(ranked[0]) == reach(ranked[1]):
        alternatives = dict.fromkeys(_with_short_instance(branch[0].message) for branch in ranked)
        return [(error.instance_path, _concise("; or ".join(alternatives)), error.instance)]
    return [leaf for sub in ranked[0] for leaf in _most_specific(sub)]


def _is_other_variant(branch: list[jsonschema_rs.ValidationError], depth: int) -> bool:
    kinds = jsonschema_rs.ValidationErrorKind
    for sub in branch:
        kind = sub.kind
        if isinstance(kind, kinds.Required) and kind.property == "$ref" and len(sub.instance_path) == depth:
            return True
        if len(sub.instance_path) == depth + 1 and (
            isinstance(kind, kinds.Constant) or (isinstance(kind, kinds.Enum) and len(kind.options) == 1)
        ):
            return True
    return False


def _has_pointer_at_or_under(pointers: list[str], pointer: str) -> bool:
    """Whether a sorted list holds `pointer` or a pointer below it."""
    index = bisect.bisect_left(pointers, pointer)
    while index < len(pointers) and pointers[index].startswith(pointer):
        candidate = pointers[index]
        if len(candidate) == len(pointer) or candidate[len(pointer)] == "/":
            return True
        index += 1
    return False


def _is_at_or_under_any(pointers: set[str], pointer: str) -> bool:
    """Whether `pointer` is one of `pointers` or lies below one of them."""
    while pointer:
        if pointer in pointers:
            return True
        pointer = pointer[: pointer.rfind("/")]
    return False


# --- Pass 2: cheap semantic checks ----------------------------------------------------------------

_TEMPLATE_PARAMETER = re.compile(r"\{([^{}]+)\}")


def _semantic_checks(view: dict[str, Any], family: _Family) -> Iterator[Finding]:
    resolver = RefResolver(view)
    yield from _duplicate_tags(view)
    paths = view.get("paths")
    if not isinstance(paths, dict):
        return
    first_use: dict[str, str] = {}
    for template, raw_item in paths.items():
        item, item_pointer = _deref(resolver, raw_item, pointer_join("", "paths", template))
        if not isinstance(item, dict):
            continue
        in_template = set(_TEMPLATE_PARAMETER.findall(str(template)))
        shared = list(_parameters(resolver, item.get("parameters"), item_pointer + "/parameters"))
        yield from _duplicate_parameters(shared)
        yield from _unused_path_parameters(shared, in_template, str(template))
        for method in family.operation_methods:
            operation, operation_pointer = _deref(
                resolver, item.get(method), pointer_join(item_pointer, method)
            )
            if not isinstance(operation, dict):
                continue
            where = f"{method.upper()} {template}"
            operation_id = operation.get("operationId")
            if isinstance(operation_id, str):
                if operation_id in first_use:
                    yield _warning(
                        ValidationCode.DUPLICATE_OPERATION_ID,
                        f"operationId {operation_id!r} of {where} is already used by "
                        f"{first_use[operation_id]}",
                        operation_pointer + "/operationId",
                    )
                else:
                    first_use[operation_id] = where
            own = list(_parameters(resolver, operation.get("parameters"), operation_pointer + "/parameters"))
            yield from _duplicate_parameters(own)
            yield from _unused_path_parameters(own, in_template, str(template))
            declared = {name for name, location, _ in shared + own if location == "path"}
            for name in sorted(in_template - declared):
                yield _warning(
                    ValidationCode.UNDECLARED_PATH_PARAMETER,
                    f"{where}: path parameter {name!r} is not declared",
                    operation_pointer,
                )


def _deref(resolver: RefResolver, node: Any, pointer: str) -> tuple[Any, str]:
    """Follow local Reference Objects, returning the target and its own pointer."""
    for _ in range(_MAX_REF_HOPS):
        ref = reference_of(node)
        if ref is None or not ref.startswith("#/"):
            return node, pointer
        node, pointer = resolver.resolve(ref), unquote(ref[1:])
    return None, pointer


def _parameters(resolver: RefResolver, parameters: Any, pointer: str) -> Iterator[tuple[str, str, str]]:
    """(name, in, pointer) of each well-formed parameter in a list."""
    if not isinstance(parameters, list):
        return
    for index, raw in enumerate(parameters):
        parameter, parameter_pointer = _deref(resolver, raw, pointer_join(pointer, index))
        if isinstance(parameter, dict):
            name, location = parameter.get("name"), parameter.get("in")
            if isinstance(name, str) and isinstance(location, str):
                yield name, location, parameter_pointer


def _duplicate_parameters(parameters: list[tuple[str, str, str]]) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for name, location, pointer in parameters:
        if (name, location) in seen:
            yield _warning(
                ValidationCode.DUPLICATE_PARAMETER,
                f"parameter {name!r} in {location} is declared more than once",
                pointer,
            )
        seen.add((name, location))


def _unused_path_parameters(
    parameters: list[tuple[str, str, str]], in_template: set[str], template: str
) -> Iterator[Finding]:
    for name, location, pointer in parameters:
        if location == "path" and name not in in_template:
            yield _warning(
                ValidationCode.UNUSED_PATH_PARAMETER,
                f"path parameter {name!r} does not appear in the path {template!r}",
                pointer,
            )


def _duplicate_tags(view: dict[str, Any]) -> Iterator[Finding]:
    tags = view.get("tags")
    if not isinstance(tags, list):
        return
    seen: set[str] = set()
    for index, tag in enumerate(tags):
        name = tag.get("name") if isinstance(tag, dict) else None
        if isinstance(name, str):
            if name in seen:
                yield _warning(
                    ValidationCode.DUPLICATE_TAG, f"tag {name!r} is declared more than once", f"/tags/{index}"
                )
            seen.add(name)


# --- Pass 3: openapi-spec-validator's keyword walk, within the budget ----------------------------


class _OutOfTimeError(Exception):
    """The time budget ran out in the middle of the keyword walk."""


class _LocatedError(OpenAPIValidationError):
    """A walk error that already knows its finding code and its pointer in the document."""

    def __init__(self, code: ValidationCode, message: str, pointer: str) -> None:
        super().__init__(message)
        self.code = code
        self.pointer = pointer


def _refuse_retrieval(uri: str) -> NoReturn:
    raise ExternalRefError(f"refusing to retrieve {_concise(uri, 200)!r}: validation is offline")


class _RefuseEveryScheme(Mapping[str, Callable[[str], NoReturn]]):
    """Resolver handlers for every URI scheme, all refusing.

    jsonschema-path falls back to requests/urllib for a scheme it has no handler for, so an empty
    mapping would still fetch; this one claims every scheme.
    """

    def __getitem__(self, scheme: str) -> Callable[[str], NoReturn]:
        return _refuse_retrieval

    def __contains__(self, scheme: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class _WalkState:
    """What the walk's keyword validators share: the deadline, locations and what is already reported."""

    def __init__(
        self, view: dict[str, Any], family: _Family, meta_pointers: list[str], deadline: float | None
    ):
        self.family = family
        self.deadline = deadline
        self._meta_pointers = sorted(meta_pointers)
        self._resolver = RefResolver(view)
        self._located: dict[tuple[Any, ...], tuple[Any, str]] = {(): (view, "")}

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _OutOfTimeError

    def locate(self, parts: tuple[Any, ...]) -> tuple[Any, str]:
        """The node at a walk path and its own pointer (where the `$ref`s on the way lead)."""
        missing: list[tuple[Any, ...]] = []
        prefix = parts
        while prefix not in self._located:
            missing.append(prefix)
            prefix = prefix[:-1]
        node, pointer = self._located[prefix]
        for prefix in reversed(missing):
            key = prefix[-1]
            node, pointer = _deref(self._resolver, node[key], pointer_join(pointer, key))
            self._located[prefix] = node, pointer
        return node, pointer

    def meta_reported_under(self, pointer: str) -> bool:
        return _has_pointer_at_or_under(self._meta_pointers, pointer)


class _WalkRegistry(KeywordValidatorRegistry):
    def __init__(self, keyword_validators: Mapping[str, type[keywords.KeywordValidator]], state: _WalkState):
        super().__init__(keyword_validators)
        self.state = state


def _state(validator: keywords.KeywordValidator) -> _WalkState:
    return cast(_WalkRegistry, validator.registry).state


class _IdSet(set[int]):
    """The walk's dedupe registries are lists searched linearly; a set with `append` is O(1)."""

    append = set.add


class _SchemaWalk(keywords.SchemaValidator):
    """Locates errors, checks examples and the deadline, and trusts pass 1 for the schema meta-check."""

    def __init__(self, registry: KeywordValidatorRegistry) -> None:
        super().__init__(registry)
        self.visited_schema_ids = cast(list[int], _IdSet())
        self.meta_checked_schema_ids = cast(list[int], _IdSet())

    def _validate_schema_meta(self, schema: SchemaPath, schema_value: Any) -> OpenAPIValidationError | None:
        return None

    def __call__(
        self, schema: SchemaPath, require_properties: bool = True, meta_checked: bool = False
    ) -> Iterator[ValidationError]:
        state = _state(self)
        state.check_deadline()
        node, pointer = state.locate(schema.parts)
        if state.meta_reported_under(pointer):
            # Already reported, and values must not be checked against a malformed schema.
            return
        first_visit = id(node) not in cast(_IdSet, self.visited_schema_ids)
        for error in super().__call__(schema, require_properties, meta_checked=True):
            if isinstance(error, _LocatedError):
                yield error
            elif isinstance(error, ExtraParametersError):
                yield _LocatedError(
                    ValidationCode.UNDEFINED_REQUIRED_PROPERTY, error.message, pointer + "/required"
                )
            else:
                yield _LocatedError(ValidationCode.VALIDATION, error.message, pointer)
        if first_visit and isinstance(node, dict):
            checker = cast(_ValueCheck, self.default_validator)
            if node.get("example") is not None:
                yield from checker.check(schema, node["example"], pointer + "/example", "example")
            examples = node.get("examples")
            if state.family.schema_examples_array and isinstance(examples, list):
                for index, example in enumerate(examples):
                    yield from checker.check(
                        schema, example, pointer_join(pointer, "examples", index), "example"
                    )


class _V30SchemaWalk(_SchemaWalk, keywords.OpenAPIV30SchemaValidator):
    pass


class _V31SchemaWalk(_SchemaWalk, keywords.OpenAPIV31SchemaValidator):
    pass


class _V32SchemaWalk(_SchemaWalk, keywords.OpenAPIV32SchemaValidator):
    pass


class _ValueCheck(keywords.ValueValidator):
    """Checks one default or example against its schema: one finding per value, at its best match."""

    def __call__(self, schema: SchemaPath, value: Any) -> Iterator[ValidationError]:
        # The library calls this for `default`, with the schema (or, in 2.0, the parameter) holding it.
        _, pointer = _state(self).locate(schema.parts)
        yield from self.check(schema, value, pointer + "/default", "default")

    def check(self, schema: SchemaPath, value: Any, pointer: str, label: str) -> Iterator[ValidationError]:
        _state(self).check_deadline()
        code = ValidationCode.DEFAULT_MISMATCH if label == "default" else ValidationCode.EXAMPLE_MISMATCH
        try:
            error = best_match(super().__call__(schema, value))
        except Exception as exc:  # a schema the validator cannot apply is a finding, not a crash
            yield _LocatedError(
                ValidationCode.VALIDATOR_FAILURE,
                f"could not check the {label} against its schema: "
                f"{type(exc).__name__}: {_concise(str(exc), 200)}",
                pointer,
            )
            return
        if error is not None:
            yield _LocatedError(
                code,
                f"{label} does not match its schema: {_concise(error.message)}",
                pointer_join(pointer, *error.absolute_path),
            )


class _V30ValueCheck(_ValueCheck, keywords.OpenAPIV30ValueValidator):
    pass


class _V31ValueCheck(_ValueCheck, keywords.OpenAPIV31ValueValidator):
    pass


class _V32ValueCheck(_ValueCheck, keywords.OpenAPIV32ValueValidator):
    pass


def _check_examples_of(validator: keywords.KeywordValidator, holder: SchemaPath) -> Iterator[ValidationError]:
    """Examples of a Media Type or Parameter Object (`example`, or `examples` of Example Objects)."""
    state = _state(validator)
    node, pointer = state.locate(holder.parts)
    if not isinstance(node, dict) or "schema" not in node:
        return
    schema = holder / "schema"
    checker = cast(_ValueCheck, validator.registry["default"])
    if node.get("example") is not None:
        yield from checker.check(schema, node["example"], pointer + "/example", "example")
    examples = node.get("examples")
    if isinstance(examples, dict):
        for name in examples:
            example, example_pointer = state.locate((*holder.parts, "examples", name))
            if isinstance(example, dict) and "value" in example:
                yield from checker.check(schema, example["value"], example_pointer + "/value", "example")


class _MediaTypeWalk(keywords.MediaTypeValidator):
    def __call__(self, mimetype: str, media_type: SchemaPath) -> Iterator[ValidationError]:
        yield from super().__call__(mimetype, media_type)
        yield from _check_examples_of(self, media_type)


class _ParameterWalk(keywords.ParameterValidator):
    def __call__(self, parameter: SchemaPath) -> Iterator[ValidationError]:
        yield from super().__call__(parameter)
        yield from _check_examples_of(self, parameter)
        if "content" in parameter and "content" in self.registry.keyword_validators:
            yield from cast(keywords.ContentValidator, self.registry["content"])(parameter / "content")


class _ParametersWalk(keywords.ParametersValidator):
    """Duplicates are pass 2's job; this only walks each parameter."""

    def __call__(self, parameters: SchemaPath) -> Iterator[ValidationError]:
        for parameter in parameters:
            yield from self.parameter_validator(parameter)


class _OperationWalk(keywords.OperationValidator):
    """operationIds and path parameters are pass 2's job; this walks responses, parameters and the body."""

    def __call__(
        self, url: str, name: str, operation: SchemaPath, path_parameters: SchemaPath | None
    ) -> Iterator[ValidationError]:
        _state(self).check_deadline()
        if "responses" in operation:
            yield from self.responses_validator(operation / "responses")
        if "parameters" in operation:
            yield from self.parameters_validator(operation / "parameters")
        if "requestBody" in operation and "content" in self.registry.keyword_validators:
            body = operation / "requestBody"
            if "content" in body:
                yield from cast(keywords.ContentValidator, self.registry["content"])(body / "content")


def _walk_validators(
    base: Mapping[str, type[keywords.KeywordValidator]],
    schema: type[_SchemaWalk],
    value: type[_ValueCheck],
    *,
    has_content: bool,
) -> dict[str, type[keywords.KeywordValidator]]:
    overrides: dict[str, type[keywords.KeywordValidator]] = {
        "schema": schema,
        "default": value,
        "operation": _OperationWalk,
        "parameters": _ParametersWalk,
    }
    if has_content:
        overrides |= {"mediaType": _MediaTypeWalk, "parameter": _ParameterWalk}
    return {**base, **overrides}


def _keyword_walk(
    view: dict[str, Any], family: _Family, meta_pointers: list[str], deadline: float | None
) -> Iterator[Finding]:
    """Walk path items, then component schemas, one unit at a time, until done or out of time."""
    state = _WalkState(view, family, meta_pointers, deadline)
    registry = _WalkRegistry(family.keyword_validators, state)
    # Keys are split on the separator (default "#", which real keys contain); NUL never occurs in them.
    root = SchemaPath.from_dict(
        view, separator="\0", handlers=_RefuseEveryScheme(), resolved_cache_maxsize=128
    )
    paths = view.get("paths")
    schemas: Any = view
    for key in family.schemas_location:
        schemas = schemas.get(key) if isinstance(schemas, dict) else None
    units: list[tuple[str, str, Callable[[], Iterator[ValidationError]]]] = []
    if isinstance(paths, dict):
        for url in paths:
            unit = _path_unit(registry, root / "paths" / url, str(url))
            units.append(("path items", pointer_join("", "paths", url), unit))
    if isinstance(schemas, dict):
        for name in schemas:
            location = (*family.schemas_location, name)
            units.append(
                ("component schemas", pointer_join("", *location), _schema_unit(registry, root, location))
            )
    done: dict[str, int] = {}
    for index, (kind, pointer, unit) in enumerate(units):
        try:
            state.check_deadline()
            errors = list(unit())
        except _OutOfTimeError:
            yield _partial(units, index, done)
            return
        except Exception as exc:  # the library failing on one unit must not sink the rest
            yield _warning(
                ValidationCode.VALIDATOR_FAILURE,
                f"the validator failed here, so this part is unchecked: {type(exc).__name__}: "
                f"{_concise(str(exc), 200)}",
                pointer,
            )
            continue
        done[kind] = done.get(kind, 0) + 1
        for error in errors:
            if isinstance(error, _LocatedError):
                yield _warning(error.code, _concise(error.message), error.pointer)
            else:
                yield _warning(ValidationCode.VALIDATION, _concise(error.message), pointer)


def _path_unit(
    registry: _WalkRegistry, item: SchemaPath, url: str
) -> Callable[[], Iterator[ValidationError]]:
    return lambda: cast(keywords.PathValidator, registry["path"])(url, item)


def _schema_unit(
    registry: _WalkRegistry, root: SchemaPath, location: tuple[str, ...]
) -> Callable[[], Iterator[ValidationError]]:
    schema = root
    for key in location:
        schema = schema / key
    return lambda: cast(keywords.SchemaValidator, registry["schema"])(schema)


def _partial(units: list[tuple[str, str, Any]], stopped_at: int, done: dict[str, int]) -> Finding:
    totals: dict[str, int] = {}
    for kind, _, _ in units:
        totals[kind] = totals.get(kind, 0) + 1
    coverage = " and ".join(f"{done.get(kind, 0):,} of {total:,} {kind}" for kind, total in totals.items())
    return Finding(
        code=ValidationCode.VALIDATION_PARTIAL,
        severity=Severity.INFO,
        message=(
            f"the time budget ran out: defaults and examples were checked in {coverage}; "
            f"{len(units) - stopped_at:,} parts were not checked"
        ),
    )


# --- Families, findings and the report ------------------------------------------------------------

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")

_FAMILIES: dict[str, _Family] = {
    "2.0": _Family(
        name="2.0",
        meta_schema=schema_v2,
        dialect=None,
        keyword_validators=_walk_validators(
            OpenAPIV2SpecValidator.keyword_validators, _V30SchemaWalk, _V30ValueCheck, has_content=False
        ),
        operation_methods=_METHODS,
        schemas_location=("definitions",),
        schema_examples_array=False,
    ),
    "3.0": _Family(
        name="3.0",
        meta_schema=schema_v30,
        dialect=None,
        keyword_validators=_walk_validators(
            OpenAPIV30SpecValidator.keyword_validators, _V30SchemaWalk, _V30ValueCheck, has_content=True
        ),
        operation_methods=(*_METHODS, "trace"),
        schemas_location=("components", "schemas"),
        schema_examples_array=False,
    ),
    "3.1": _Family(
        name="3.1",
        meta_schema=schema_v31,
        dialect=OAS31_BASE_DIALECT_ID,
        keyword_validators=_walk_validators(
            OpenAPIV31SpecValidator.keyword_validators, _V31SchemaWalk, _V31ValueCheck, has_content=True
        ),
        operation_methods=(*_METHODS, "trace"),
        schemas_location=("components", "schemas"),
        schema_examples_array=True,
    ),
    "3.2": _Family(
        name="3.2",
        meta_schema=schema_v32,
        dialect=OAS32_BASE_DIALECT_ID,
        keyword_validators=_walk_validators(
            OpenAPIV32SpecValidator.keyword_validators, _V32SchemaWalk, _V32ValueCheck, has_content=True
        ),
        operation_methods=(*_METHODS, "trace", "query"),
        schemas_location=("components", "schemas"),
        schema_examples_array=True,
    ),
}


def _warning(code: ValidationCode, message: str, pointer: str = "") -> Finding:
    return Finding(code=code, severity=Severity.WARNING, message=message, pointer=pointer)


def _concise(text: str, limit: int = 300) -> str:
    """Cut the middle out of a long message: validators embed whole instances in them."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 5
    tail = limit - head - 5
    return f"{text[:head]} ... {text[-tail:]}"


class _Report:
    """Findings in order, without repeats, capped; coverage notes always kept.

    One message repeated all over a document (a multi-file spec that `$ref`s every operation) takes at
    most a tenth of the places, so the other problems still get listed.
    """

    def __init__(self, max_findings: int) -> None:
        self._max = max(max_findings, 0)
        self._max_per_message = max(self._max // 10, 1)
        self._kept: list[Finding] = []
        self._notes: list[Finding] = []
        self._seen: set[tuple[str, str, str]] = set()
        self._per_message: Counter[tuple[str, str]] = Counter()
        self._omitted = 0

    def add(self, finding: Finding) -> None:
        if finding.code == ValidationCode.VALIDATION_PARTIAL:
            self._notes.append(finding)
            return
        key = (finding.code, finding.pointer, finding.message)
        if key in self._seen:
            return
        self._seen.add(key)
        self._per_message[finding.code, finding.message] += 1
        if (
            len(self._kept) < self._max
            and self._per_message[finding.code, finding.message] <= self._max_per_message
        ):
            self._kept.append(finding)
        else:
            self._omitted += 1

    def findings(self) -> list[Finding]:
        omitted = []
        if self._omitted:
            omitted.append(
                Finding(
                    code=ValidationCode.FINDINGS_OMITTED,
                    severity=Severity.INFO,
                    message=f"{self._omitted:,} more validation findings were omitted",
                )
            )
        return [*self._kept, *omitted, *self._notes]


def _run_phase(report: _Report, name: str, phase: Callable[[], Iterator[Finding]]) -> list[str]:
    """Run one pass into the report and return the pointers it reported; a failing pass is a finding."""
    pointers: list[str] = []
    try:
        for finding in phase():
            report.add(finding)
            pointers.append(finding.pointer)
    except Exception as exc:  # validation is advisory: a failing pass is reported, not raised
        report.add(
            _warning(
                ValidationCode.VALIDATOR_FAILURE,
                f"the {name} pass failed, so its checks are incomplete: {type(exc).__name__}: "
                f"{_concise(str(exc), 200)}",
            )
        )
    return pointers
