"""Where things live in S3 and Secrets Manager. Every prefix ends in `/`, so `t1` never matches `t10`."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import re
from typing import NamedTuple

SPEC_FILENAMES = ("openapi.yaml", "openapi.yml", "openapi.json", "openapi.zip")
SETTINGS_FILENAME = "toolgate.json"
#: An overlay beside the spec, applied at each spec upload (uploading it alone changes nothing).
OVERLAY_FILENAMES = ("openapi.overlay.yaml", "openapi.overlay.yml", "openapi.overlay.json")
ARTIFACTS_ROOT = "artifacts/"

_UPLOAD_KEY = re.compile(
    r"^tenants/(?P<tenant>[a-z0-9-]{1,63})/integrations/(?P<integration>[a-z0-9][a-z0-9-]{0,62})/"
    r"(?P<filename>openapi\.(?:yaml|yml|json|zip)|toolgate\.json)$"
)


class UploadKey(NamedTuple):
    tenant_id: str
    integration_id: str
    filename: str

    @property
    def is_settings(self) -> bool:
        return self.filename == SETTINGS_FILENAME


def tenant_upload_prefix(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/"


def tenant_artifact_prefix(tenant_id: str) -> str:
    return f"{ARTIFACTS_ROOT}tenants/{tenant_id}/"


def upload_prefix(tenant_id: str, integration_id: str) -> str:
    return f"{tenant_upload_prefix(tenant_id)}integrations/{integration_id}/"


def upload_key(tenant_id: str, integration_id: str, filename: str) -> str:
    return upload_prefix(tenant_id, integration_id) + filename


def artifact_prefix(tenant_id: str, integration_id: str, revision: str | None = None) -> str:
    prefix = f"{tenant_artifact_prefix(tenant_id)}integrations/{integration_id}/"
    return f"{prefix}{revision}/" if revision else prefix


def parse_upload_key(key: str) -> UploadKey | None:
    """The tenant, integration and file an upload key names; None for any other key."""
    match = _UPLOAD_KEY.fullmatch(key)
    if match is None:
        return None
    return UploadKey(match["tenant"], match["integration"], match["filename"])


def secret_name(secret_prefix: str, tenant_id: str, slot: str) -> str:
    return f"{secret_prefix.rstrip('/')}/{tenant_id}/{slot}"


def compare_sequencers(first: str, second: str) -> int:
    """-1, 0 or 1 as S3 event `first` happened before, with, or after `second` (same object key).

    S3's rule: left-pad the shorter hex string with zeros, then compare the strings.
    """
    width = max(len(first), len(second))
    left, right = first.upper().rjust(width, "0"), second.upper().rjust(width, "0")
    return (left > right) - (left < right)
