"""S3 uploads: ObjectCreated notices (S3 event notifications or EventBridge events, via SQS) to ingests.

Delivery is at least once and unordered. The `sequencer` of each applied event is kept per object key,
so a repeated event is a no-op and an older one never replaces a newer result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from pydantic import ValidationError

from toolgate.errors import (
    IntegrationSettingsInvalidError,
    OverlayInvalidError,
    SpecTooLargeError,
    ToolgateError,
)
from toolgate.service.ingest import (
    IngestOutcome,
    SpecUpload,
    ingest_spec,
    record_failure,
    skip_reason,
    stored_upload,
)
from toolgate.service.layout import (
    OVERLAY_FILENAMES,
    SETTINGS_FILENAME,
    UploadKey,
    parse_upload_key,
    upload_key,
)
from toolgate.service.models import IntegrationSettings, UploadSource
from toolgate.service.ports import ResourceProvider, TenantResources
from toolgate.settings import ServiceSettings, get_settings

_MAX_SETTINGS_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ObjectCreated:
    bucket: str
    key: str
    size: int | None
    version_id: str | None
    sequencer: str | None


def object_created_notices(message_body: str) -> list[ObjectCreated]:
    """The ObjectCreated notices in one SQS message body; S3's test event and other events give none."""
    payload = json.loads(message_body)
    if not isinstance(payload, Mapping):
        return []
    if payload.get("detail-type") == "Object Created":
        return [_from_eventbridge(payload.get("detail"))]
    notices = []
    for record in payload.get("Records") or []:
        if isinstance(record, Mapping) and str(record.get("eventName", "")).startswith("ObjectCreated:"):
            notices.append(_from_notification(record.get("s3")))
    return notices


def process_object_created(
    provider: ResourceProvider, notice: ObjectCreated, config: ServiceSettings
) -> IngestOutcome | None:
    """Ingest the spec (or the settings) an ObjectCreated notice names; None for objects that are not
    uploads to the service's bucket."""
    location = parse_upload_key(notice.key)
    if location is None or notice.bucket != config.bucket_name:
        return None
    resources = provider.for_tenant(location.tenant_id)
    source = UploadSource(kind="s3", key=notice.key, version_id=notice.version_id, sequencer=notice.sequencer)
    if location.is_settings:
        return _reapply_settings(resources, location, source, config)
    current = resources.store.get_integration(location.integration_id)
    skipped = skip_reason(current, source)
    if skipped is not None:
        return IngestOutcome(status="skipped", integration=current, skipped_reason=skipped)
    try:
        data = _read_spec(resources, notice)
        settings = read_settings(resources, location)
        overlays = read_overlays(resources, location)
    except ToolgateError as error:
        failed = record_failure(resources, location.integration_id, source, error, current=current)
        return IngestOutcome(status="failed", integration=failed, error=error)
    if data is None:
        return IngestOutcome(status="skipped", integration=current, skipped_reason="object_gone")
    upload = SpecUpload(
        integration_id=location.integration_id,
        data=data,
        filename=location.filename,
        source=source,
        settings=settings,
        overlays=overlays,
    )
    return ingest_spec(resources, upload, config)


def read_overlays(resources: TenantResources, location: UploadKey) -> tuple[tuple[str, bytes], ...]:
    """`openapi.overlay.yaml` (or `.yml`, `.json`) beside an upload: none, or exactly one."""
    limit = get_settings().compile.max_spec_bytes
    found = []
    for name in OVERLAY_FILENAMES:
        data = resources.objects.read_upload(
            upload_key(location.tenant_id, location.integration_id, name), None, limit
        )
        if data is not None:
            found.append((name, data))
    if len(found) > 1:
        raise OverlayInvalidError(
            f"{' and '.join(name for name, _ in found)} are both beside the spec; keep one overlay file "
            "(put several overlays in a zip upload, where they apply in the order of their paths)"
        )
    return tuple(found)


def read_settings(resources: TenantResources, location: UploadKey) -> IntegrationSettings | None:
    """`toolgate.json` beside an upload, None when there is none; SETTINGS_INVALID when it is unusable."""
    key = upload_key(location.tenant_id, location.integration_id, SETTINGS_FILENAME)
    data = resources.objects.read_upload(key, None, _MAX_SETTINGS_BYTES)
    if data is None:
        return None
    try:
        return IntegrationSettings.model_validate_json(data)
    except ValidationError as error:
        problems = [
            f"{'/'.join(str(part) for part in problem['loc']) or 'settings'}: {problem['msg']}"
            for problem in error.errors(include_input=False, include_url=False)
        ]
        raise IntegrationSettingsInvalidError(
            f"{SETTINGS_FILENAME} is not valid: " + "; ".join(problems[:20]), details=problems
        ) from None


def _reapply_settings(
    resources: TenantResources, location: UploadKey, source: UploadSource, config: ServiceSettings
) -> IngestOutcome:
    """A new `toolgate.json`: compile the ready version's spec again with it (nothing to do before one)."""
    current = resources.store.get_integration(location.integration_id)
    if current is None or current.ready is None:
        return IngestOutcome(status="skipped", integration=current, skipped_reason="no_spec")
    skipped = skip_reason(current, source)
    if skipped is not None:
        return IngestOutcome(status="skipped", integration=current, skipped_reason=skipped)
    try:
        settings = read_settings(resources, location)
    except IntegrationSettingsInvalidError as error:
        failed = record_failure(resources, location.integration_id, source, error, current=current)
        return IngestOutcome(status="failed", integration=failed, error=error)
    upload = stored_upload(
        resources, location.integration_id, current.ready, source, settings or IntegrationSettings()
    )
    return ingest_spec(resources, upload, config)


def _read_spec(resources: TenantResources, notice: ObjectCreated) -> bytes | None:
    limits = get_settings().compile
    limit = limits.max_bundle_bytes if notice.key.endswith(".zip") else limits.max_spec_bytes
    if notice.size is not None and notice.size > limit:
        raise SpecTooLargeError(f"the uploaded spec is {notice.size:,} bytes; the limit is {limit:,} bytes")
    return resources.objects.read_upload(notice.key, notice.version_id, limit)


def _from_notification(s3: Any) -> ObjectCreated:
    s3 = s3 if isinstance(s3, Mapping) else {}
    bucket = s3.get("bucket") or {}
    obj = s3.get("object") or {}
    return ObjectCreated(
        bucket=str(bucket.get("name", "")),
        # Keys in S3 event notifications are URL-encoded, with spaces as '+'.
        key=unquote_plus(str(obj.get("key", ""))),
        size=_int_or_none(obj.get("size")),
        version_id=obj.get("versionId") or None,
        sequencer=obj.get("sequencer") or None,
    )


def _from_eventbridge(detail: Any) -> ObjectCreated:
    detail = detail if isinstance(detail, Mapping) else {}
    bucket = detail.get("bucket") or {}
    obj = detail.get("object") or {}
    return ObjectCreated(
        bucket=str(bucket.get("name", "")),
        key=str(obj.get("key", "")),
        size=_int_or_none(obj.get("size")),
        version_id=obj.get("version-id") or None,
        sequencer=obj.get("sequencer") or None,
    )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
