"""Spec ingestion, shared by S3 uploads and the API: load, compile, lint, store, as one version.

Writes go in an order that keeps readers safe: the new revision's tool items first, then a conditional
update of the integration item to point at them, then removal of the replaced revision's items. A reader
always sees one complete revision; a failed upload only records why it failed, and the previous ready
version stays in service.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from toolgate.errors import ConflictError, IntegrationNoToolsError, ToolgateError, ToolTooLargeError
from toolgate.service.layout import artifact_prefix, compare_sequencers
from toolgate.service.models import (
    AssistantRecord,
    IntegrationRecord,
    IntegrationSettings,
    IntegrationStatus,
    ReadyVersion,
    ReportSummary,
    SourceDigest,
    StoredTool,
    UploadAttempt,
    UploadError,
    UploadSource,
    utc_now,
)
from toolgate.service.ports import ObjectStore, TenantResources, TenantStore
from toolgate.settings import ServiceSettings, get_catalog_settings, get_settings
from toolgate.spec.models import CanonicalTool, CompiledSpec, Finding, Severity

if TYPE_CHECKING:
    from toolgate.runtime.credentials import Credential
    from toolgate.service.footprint import UploadFootprint
    from toolgate.spec.fix_overlay import FixSuggestion
    from toolgate.spec.overlay import Overlay
    from toolgate.spec.reachability import CheckedTools

_ZIP_MAGIC = b"PK\x03\x04"
_MAX_ERROR_MESSAGE = 2000
_LINK_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class SpecUpload:
    integration_id: str
    data: bytes
    #: The uploaded file's name (`openapi.yaml`, `openapi.zip`, ...); it names the stored copy.
    filename: str
    source: UploadSource
    #: None keeps the integration's stored settings.
    settings: IntegrationSettings | None = None
    #: Overlay files (name, bytes) applied after a zip's own overlays, in order.
    overlays: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    status: Literal["ready", "failed", "skipped"]
    integration: IntegrationRecord | None
    error: ToolgateError | None = None
    #: Why nothing changed: a "duplicate" or "stale" S3 event, settings with "no_spec" yet to apply them
    #: to, or an "object_gone" before it could be read.
    skipped_reason: str | None = None
    compile_seconds: float = 0.0

    @property
    def tool_count(self) -> int:
        ready = self.integration.ready if self.integration else None
        return ready.tool_count if ready and self.status == "ready" else 0


def ingest_spec(resources: TenantResources, upload: SpecUpload, config: ServiceSettings) -> IngestOutcome:
    """Compile `upload` and make it the integration's ready version, or record why it failed.

    Raises ConflictError when the integration changed meanwhile (nothing of this upload stays); typed
    spec errors are recorded on the integration and returned in the outcome, not raised.
    """
    current = resources.store.get_integration(upload.integration_id)
    skipped = skip_reason(current, upload.source)
    if skipped is not None:
        return IngestOutcome(status="skipped", integration=current, skipped_reason=skipped)

    settings = upload.settings if upload.settings is not None else _stored_settings(current)
    started = time.perf_counter()
    try:
        compiled, lint_findings, applied, suggestion = compile_upload(upload)
        tools = [_targeted(tool, settings) for tool in compiled.tools if settings.selects(tool)]
        if not tools:
            raise IntegrationNoToolsError(_no_tools_message(compiled))
        checked = check_destinations(tools, compiled.servers, settings)
        tools = checked.tools
        unset = _unset_parameters(tools, settings)
        compiled = compiled.model_copy(update={"findings": [*compiled.findings, *checked.findings, *unset]})
        tool_texts = _tool_texts(tools, config)
        tool_tokens = _token_counts(tools)
    except ToolgateError as error:
        elapsed = time.perf_counter() - started
        failed = record_failure(resources, upload.integration_id, upload.source, error, current=current)
        return IngestOutcome(status="failed", integration=failed, error=error, compile_seconds=elapsed)
    elapsed = time.perf_counter() - started

    ready = _store_version(
        resources,
        upload,
        current=current,
        settings=settings,
        compiled=compiled,
        lint_findings=lint_findings,
        tools=tools,
        tool_texts=tool_texts,
        tool_tokens=tool_tokens,
        applied=applied,
        config=config,
        suggestion=suggestion,
    )
    return IngestOutcome(status="ready", integration=ready, compile_seconds=elapsed)


def compile_upload(
    upload: SpecUpload,
) -> tuple[CompiledSpec, list[Finding], list[SourceDigest], FixSuggestion]:
    """The compiled spec, its lint findings, the overlays applied (name and SHA-256, in order) and the
    overlay suggested to fix what a machine can; typed SpecError for anything unusable, OVERLAY_INVALID
    for an overlay."""
    # Imported here: the compiler is the heaviest import, and most API routes never need it.
    from toolgate.spec.compiler import compile_document, parse_spec, read_spec  # noqa: PLC0415
    from toolgate.spec.fix_overlay import suggest_fixes  # noqa: PLC0415
    from toolgate.spec.lint import lint_spec  # noqa: PLC0415

    overlays = _load_overlays(upload.overlays)
    if upload.filename.endswith(".zip") or upload.data.startswith(_ZIP_MAGIC):
        with tempfile.TemporaryDirectory(prefix="toolgate-spec-") as folder:
            archive = Path(folder) / "openapi.zip"
            archive.write_bytes(upload.data)
            spec = read_spec(archive, overlays=overlays)
    else:
        spec = parse_spec(upload.data, name=upload.filename, overlays=overlays)
    compiled = compile_document(spec)
    applied = [SourceDigest(name=overlay.name, sha256=overlay.sha256) for overlay in spec.overlays]
    suggestion = suggest_fixes(spec.document, compiled)
    return compiled, lint_spec(spec.document, compiled), applied, suggestion


def _load_overlays(files: Sequence[tuple[str, bytes]]) -> list[Overlay]:
    if not files:
        return []
    from toolgate.spec.overlay import load_overlay  # noqa: PLC0415 - only uploads with overlays need it

    return [load_overlay(data, name=name) for name, data in files]


def stored_upload(
    resources: TenantResources,
    integration_id: str,
    ready: ReadyVersion,
    source: UploadSource,
    settings: IntegrationSettings,
) -> SpecUpload:
    """The ready version's spec and the overlays uploaded beside it, to compile again with new settings."""
    return SpecUpload(
        integration_id=integration_id,
        data=resources.objects.get(ready.spec_key),
        filename=PurePosixPath(ready.spec_key).name,
        source=source,
        settings=settings,
        overlays=tuple(
            (overlay.name, resources.objects.get(overlay.key)) for overlay in ready.overlays if overlay.key
        ),
    )


def check_destinations(
    tools: Sequence[CanonicalTool], declared_servers: Sequence[str], settings: IntegrationSettings
) -> CheckedTools:
    """The tools whose servers and OAuth2 token URLs can be called under this deployment's egress
    policy; UrlRefusedError when none can (`toolgate.spec.reachability`)."""
    from toolgate.spec import reachability  # noqa: PLC0415 - only uploads need it

    policy = reachability.DestinationPolicy.from_settings(get_settings().runtime)
    return reachability.check_destinations(
        tools, declared_servers, policy, server_setting=settings.server_url
    )


def check_server_setting(settings: IntegrationSettings) -> None:
    """Refuse a `server_url` setting that can never be called, before it is stored."""
    if settings.server_url is not None:
        check_destinations([], [], settings)


def check_credential_token_urls(credential: Credential) -> None:
    """Refuse a credential whose own OAuth2 `token_url` can never be called, before it is stored."""
    from toolgate.runtime.credentials import CredentialSet, OAuth2ClientCredentials  # noqa: PLC0415
    from toolgate.spec import reachability  # noqa: PLC0415

    policy = reachability.DestinationPolicy.from_settings(get_settings().runtime)
    members = credential.schemes.items() if isinstance(credential, CredentialSet) else [("", credential)]
    for scheme, member in members:
        if isinstance(member, OAuth2ClientCredentials) and member.token_url is not None:
            where = "The credential's token_url" + (f" (for scheme '{scheme}')" if scheme else "")
            reachability.check_token_url(member.token_url, policy, where=where)


def _tool_texts(tools: Sequence[CanonicalTool], config: ServiceSettings) -> list[str]:
    """Each tool's stored JSON; TOOL_TOO_LARGE before anything is stored when one is over the limit."""
    texts = [tool.model_dump_json(exclude_defaults=True) for tool in tools]
    for tool, text in zip(tools, texts, strict=True):
        size = len(text.encode("utf-8"))
        if size > config.max_tool_bytes:
            raise ToolTooLargeError(
                f"Tool '{tool.name}' compiles to {size:,} bytes; a stored tool may have at most "
                f"{config.max_tool_bytes:,}. Its path, security scopes, tags or server URL are too long; "
                "shorten them, or leave the operation out with the `exclude` setting.",
                details={"tool": tool.name, "bytes": size},
            )
    return texts


def record_failure(
    resources: TenantResources,
    integration_id: str,
    source: UploadSource,
    error: ToolgateError,
    *,
    current: IntegrationRecord | None,
) -> IntegrationRecord:
    """Record a failed upload on the integration; its ready version and settings stay as they were."""
    now = utc_now()
    attempt = UploadAttempt(
        status="failed",
        at=now,
        source=source,
        error=UploadError(
            code=error.code,
            message=error.message[:_MAX_ERROR_MESSAGE],
            pointer=error.pointer[:_MAX_ERROR_MESSAGE] if error.pointer else None,
        ),
    )
    base = current or IntegrationRecord(
        integration_id=integration_id, created_at=now, updated_at=now, version=0
    )
    failed = base.model_copy(
        update={
            "version": base.version + 1,
            "status": IntegrationStatus.FAILED,
            "last_upload": attempt,
            "sequencers": _with_sequencer(base.sequencers, source),
            "updated_at": now,
        }
    )
    resources.store.save_integration(failed, expected_version=current.version if current else None)
    return failed


def link_assistants(store: TenantStore, integration_id: str, assistant_ids: Sequence[str]) -> None:
    """Add the integration to each assistant, creating missing ones; retried on concurrent changes."""
    for assistant_id in assistant_ids:
        for attempt in range(_LINK_ATTEMPTS):
            assistant = store.get_assistant(assistant_id)
            if assistant is not None and integration_id in assistant.integrations:
                break
            now = utc_now()
            if assistant is None:
                linked = AssistantRecord(
                    assistant_id=assistant_id, integrations=[integration_id], created_at=now, updated_at=now
                )
            else:
                linked = assistant.model_copy(
                    update={
                        "integrations": [*assistant.integrations, integration_id],
                        "version": assistant.version + 1,
                        "updated_at": now,
                    }
                )
            try:
                store.save_assistant(linked, expected_version=assistant.version if assistant else None)
                break
            except ConflictError:
                if attempt == _LINK_ATTEMPTS - 1:
                    raise


def skip_reason(current: IntegrationRecord | None, source: UploadSource) -> str | None:
    """Why an S3 event changes nothing: an event with the same ("duplicate") or a newer ("stale")
    sequencer for its key was already applied. None for anything else."""
    if current is None or source.sequencer is None or source.key is None:
        return None
    seen = current.sequencers.get(source.key)
    if seen is None:
        return None
    order = compare_sequencers(source.sequencer, seen)
    if order == 0:
        return "duplicate"
    return "stale" if order < 0 else None


def _stored_settings(current: IntegrationRecord | None) -> IntegrationSettings:
    return current.settings if current is not None else IntegrationSettings()


def _with_sequencer(sequencers: dict[str, str], source: UploadSource) -> dict[str, str]:
    if source.key is None or source.sequencer is None:
        return sequencers
    return {**sequencers, source.key: source.sequencer}


def _targeted(tool: CanonicalTool, settings: IntegrationSettings) -> CanonicalTool:
    if settings.server_url is None:
        return tool
    return tool.model_copy(update={"server_url": settings.server_url})


def _unset_parameters(tools: Sequence[CanonicalTool], settings: IntegrationSettings) -> list[Finding]:
    """A warning for each required hidden parameter whose `from:` setting is not in `parameters`."""
    return [
        Finding(
            code="PARAMETER_SETTING_UNSET",
            severity=Severity.WARNING,
            message=f"tool '{tool.name}' takes '{hidden.argument}' from the integration parameter setting "
            f"'{hidden.setting}', which is not set: its calls are refused (PARAMETER_SETTING_MISSING) until "
            "it is set in the integration's settings (`parameters`)",
            pointer=tool.pointer,
        )
        for tool in tools
        for hidden in tool.hidden
        if hidden.setting is not None and hidden.required and hidden.setting not in settings.parameters
    ]


def _no_tools_message(compiled: CompiledSpec) -> str:
    if compiled.tools:
        return (
            f"The spec has {len(compiled.tools)} tools, but the include/exclude filters leave none; "
            "check the patterns in the integration's settings (they match tool names and operationIds)."
        )
    failed = len(compiled.failed_operations)
    if not failed:
        return "No tool could be made from the spec: it has no operations."
    problems = [
        f"{finding.pointer}: {finding.message}"
        for finding in compiled.findings
        if finding.severity == Severity.ERROR
    ]
    return f"No tool could be made from the spec: all {failed} operations failed ({'; '.join(problems[:3])})."


def _store_version(
    resources: TenantResources,
    upload: SpecUpload,
    *,
    current: IntegrationRecord | None,
    settings: IntegrationSettings,
    compiled: CompiledSpec,
    lint_findings: list[Finding],
    tools: list[CanonicalTool],
    tool_texts: list[str],
    tool_tokens: list[dict[str, int]],
    applied: list[SourceDigest],
    config: ServiceSettings,
    suggestion: FixSuggestion,
) -> IntegrationRecord:
    from toolgate.service.catalog import FreshTools  # noqa: PLC0415 - the catalog imports this module
    from toolgate.service.footprint import upload_footprint  # noqa: PLC0415

    store, objects = resources.store, resources.objects
    number = (current.ready.number if current and current.ready else 0) + 1
    revision = f"v{number}-{secrets.token_hex(4)}"
    prefix = artifact_prefix(resources.tenant_id, upload.integration_id, revision)
    spec_key = prefix + Path(upload.filename).name
    report_key = prefix + "report.json"
    objects.put(spec_key, upload.data, _content_type(upload.filename))
    footprint = upload_footprint(
        resources,
        upload.integration_id,
        FreshTools(tools=tools, tokens=tool_tokens),
        settings.assistants,
        get_catalog_settings().token_budget,
    )
    report = _report(compiled, lint_findings, tools, _suggested_overlay(suggestion, compiled, upload, config))
    report["token_footprint"] = footprint.model_dump(mode="json")
    objects.put(report_key, json.dumps(report, ensure_ascii=False).encode("utf-8"), "application/json")
    overlays = _stored_overlays(objects, prefix, upload.overlays, applied)
    items = [
        _stored_tool(
            tool,
            text,
            integration_id=upload.integration_id,
            revision=revision,
            prefix=prefix,
            tokens=tokens,
            resources=resources,
            config=config,
        )
        for tool, text, tokens in zip(tools, tool_texts, tool_tokens, strict=True)
    ]
    store.put_tools(items)

    now = utc_now()
    ready = ReadyVersion(
        number=number,
        revision=revision,
        title=compiled.title,
        api_version=compiled.version,
        source_openapi=compiled.source_openapi,
        tool_count=len(tools),
        server_url=settings.server_url or (compiled.servers[0] if compiled.servers else None),
        spec_key=spec_key,
        report_key=report_key,
        source=upload.source,
        ready_at=now,
        summary=_summary(compiled, lint_findings, config.max_item_findings),
        spec_sha256=hashlib.sha256(upload.data).hexdigest(),
        overlays=overlays,
        tokens=footprint.tokens,
        token_warnings=_token_warnings(footprint, config.max_item_findings),
    )
    base = current or IntegrationRecord(
        integration_id=upload.integration_id, created_at=now, updated_at=now, version=0
    )
    record = base.model_copy(
        update={
            "version": base.version + 1,
            "status": IntegrationStatus.READY,
            "settings": settings,
            "ready": ready,
            "last_upload": UploadAttempt(status="ready", at=now, source=upload.source),
            "sequencers": _with_sequencer(base.sequencers, upload.source),
            "updated_at": now,
        }
    )
    try:
        store.save_integration(record, expected_version=current.version if current else None)
    except ConflictError:
        store.delete_tools(upload.integration_id, revision)
        objects.delete_prefix(prefix)
        raise
    if current is not None and current.ready is not None:
        store.delete_tools(upload.integration_id, current.ready.revision)
    link_assistants(store, upload.integration_id, settings.assistants)
    return record


def _stored_overlays(
    objects: ObjectStore, prefix: str, files: Sequence[tuple[str, bytes]], applied: list[SourceDigest]
) -> list[SourceDigest]:
    """Keep a copy of each overlay uploaded beside the spec; a zip's own overlays live in the stored zip."""
    beside = len(applied) - len(files)
    kept = list(applied[:beside])
    for index, ((name, data), digest) in enumerate(zip(files, applied[beside:], strict=True)):
        key = f"{prefix}overlays/{index:02d}-{PurePosixPath(name).name}"
        objects.put(key, data, _content_type(name))
        kept.append(digest.model_copy(update={"key": key}))
    return kept


def _stored_tool(
    tool: CanonicalTool,
    text: str,
    *,
    integration_id: str,
    revision: str,
    prefix: str,
    tokens: dict[str, int],
    resources: TenantResources,
    config: ServiceSettings,
) -> StoredTool:
    size = len(text.encode("utf-8"))
    inline = size <= config.max_inline_tool_bytes
    tool_key = None
    if not inline:
        tool_key = f"{prefix}tools/{tool.name}.json"
        resources.objects.put(tool_key, text.encode("utf-8"), "application/json")
    return StoredTool(
        integration_id=integration_id,
        revision=revision,
        name=tool.name,
        description=tool.description[:500],
        method=tool.method,
        path=tool.path,
        read_only=tool.annotations.read_only,
        destructive=tool.annotations.destructive,
        deprecated=tool.deprecated,
        tool_json=text if inline else None,
        tool_key=tool_key,
        tokens=tokens,
    )


def _token_counts(tools: list[CanonicalTool]) -> list[dict[str, int]]:
    from toolgate.dialects.tokens import tool_token_counts  # noqa: PLC0415 - only uploads count tokens

    return tool_token_counts(tools)


def _token_warnings(footprint: UploadFootprint, limit: int) -> list[Finding]:
    """The footprint's warnings, the integration's then each assistant's, at most `limit`."""
    warnings = [*footprint.warnings, *(w for assistant in footprint.assistants for w in assistant.warnings)]
    return warnings[:limit]


def _summary(compiled: CompiledSpec, lint_findings: list[Finding], limit: int) -> ReportSummary:
    findings = [*compiled.findings, *lint_findings]
    counts = {severity: sum(finding.severity == severity for finding in findings) for severity in Severity}
    notable = [finding for finding in findings if finding.severity != Severity.INFO]
    notable.sort(key=lambda finding: finding.severity != Severity.ERROR)
    return ReportSummary(
        errors=counts[Severity.ERROR],
        warnings=counts[Severity.WARNING],
        info=counts[Severity.INFO],
        failed_operations=len(compiled.failed_operations),
        top_findings=notable[:limit],
    )


def _suggested_overlay(
    suggestion: FixSuggestion, compiled: CompiledSpec, upload: SpecUpload, config: ServiceSettings
) -> dict[str, Any]:
    """The fix overlay in the report: its YAML when it fits `max_suggested_overlay_bytes`, what needs a
    person (at most `max_item_findings`), and how to apply it."""
    text = suggestion.to_yaml(compiled.title) if suggestion.actions else None
    fits = text is not None and len(text.encode("utf-8")) <= config.max_suggested_overlay_bytes
    earlier = "".join(f" --overlay {name}" for name, _ in upload.overlays)
    spec = PurePosixPath(upload.filename).name or "SPEC"
    return {
        "fixes": len(suggestion.actions),
        "clears": len(suggestion.cleared),
        "overlay_yaml": text if fits else None,
        "omitted_because_larger_than_bytes": None
        if fits or text is None
        else config.max_suggested_overlay_bytes,
        "needs_a_person": [
            {"code": item.code, "pointer": item.pointer, "reason": item.reason}
            for item in suggestion.manual[: config.max_item_findings]
        ],
        "needs_a_person_total": len(suggestion.manual),
        "apply": None
        if text is None
        else (
            f"save overlay_yaml as fixes.overlay.yaml (or write it with `toolgate lint {spec}{earlier} "
            f"--fix-overlay fixes.overlay.yaml`), then `toolgate upload {upload.integration_id} {spec}"
            f"{earlier} --overlay fixes.overlay.yaml`"
        ),
    }


def _report(
    compiled: CompiledSpec,
    lint_findings: list[Finding],
    tools: list[CanonicalTool],
    suggested_overlay: dict[str, Any],
) -> dict[str, Any]:
    return {
        "title": compiled.title,
        "version": compiled.version,
        "source_openapi": compiled.source_openapi,
        "servers": compiled.servers,
        "tools": [tool.name for tool in tools],
        "compiled_tools": len(compiled.tools),
        "failed_operations": compiled.failed_operations,
        "findings": [finding.model_dump(mode="json") for finding in compiled.findings],
        "lint": [finding.model_dump(mode="json") for finding in lint_findings],
        "suggested_overlay": suggested_overlay,
    }


def _content_type(filename: str) -> str:
    if filename.endswith(".zip"):
        return "application/zip"
    if filename.endswith(".json"):
        return "application/json"
    return "application/yaml"
