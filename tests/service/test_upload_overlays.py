"""Overlays at upload: in the API's zip, beside an S3 upload and inside an S3 zip. An invalid overlay refuses
the upload and the previous version stays live; the ready version records the spec's and each overlay's
SHA-256, and a settings change compiles again with the same overlays."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import yaml
from service_world import Service
from toolgate_cli.remote import with_overlays
from toolgate_demo import support_desk_spec

SPEC_KEY = "tenants/acme/integrations/support/openapi.yaml"
OVERLAY_KEY = "tenants/acme/integrations/support/openapi.overlay.yaml"
SETTINGS_KEY = "tenants/acme/integrations/support/toolgate.json"
RENAME = yaml.safe_dump(
    {
        "overlay": "1.1.0",
        "info": {"title": "agent names", "version": "1"},
        "actions": [
            {
                "target": "$.paths.*[?@.operationId == 'listSupportCases']",
                "update": {"operationId": "find_cases"},
            }
        ],
    }
).encode()
BROKEN = b"overlay: 1.1.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: not-a-jsonpath\n"


def _integration(service: Service) -> dict[str, Any]:
    response = service.api("GET", "/v1/integrations/support")
    assert response.status == 200, response.body
    return response.body  # type: ignore[no-any-return]


def _tool_names(service: Service) -> set[str]:
    return {str(item["name"]) for item in service.table_items() if str(item["sk"]).startswith("TOOL#")}


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_api_zip_upload_applies_its_overlay_and_records_the_digests(service: Service) -> None:
    spec = support_desk_spec().read_bytes()
    body = _zip({"openapi.yaml": spec, "overlays/01-names.overlay.yaml": RENAME})
    response = service.api(
        "PUT", "/v1/integrations/support", body=body, headers={"content-type": "application/zip"}
    )
    assert response.status == 200, response.body
    ready = response.body["ready"]
    assert "find_cases" in _tool_names(service)
    assert "list_support_cases" not in _tool_names(service)
    assert ready["spec_sha256"] == hashlib.sha256(body).hexdigest()
    assert ready["overlays"] == [
        {"name": "overlays/01-names.overlay.yaml", "sha256": hashlib.sha256(RENAME).hexdigest(), "key": None}
    ]


def test_s3_overlay_beside_the_spec_is_applied_kept_and_reapplied_on_a_settings_change(
    service: Service,
) -> None:
    service.s3.put_object(Bucket="toolgate-test-specs", Key=OVERLAY_KEY, Body=RENAME)
    service.upload(SPEC_KEY, support_desk_spec().read_bytes())
    ready = _integration(service)["ready"]
    assert "find_cases" in _tool_names(service)
    (recorded,) = ready["overlays"]
    assert recorded["name"] == "openapi.overlay.yaml"
    assert recorded["sha256"] == hashlib.sha256(RENAME).hexdigest()
    assert service.s3.get_object(Bucket="toolgate-test-specs", Key=recorded["key"])["Body"].read() == RENAME

    service.upload(SETTINGS_KEY, json.dumps({"exclude": ["create_*"]}).encode())
    after = _integration(service)["ready"]
    assert after["number"] == 2
    assert "find_cases" in _tool_names(service), "the settings recompile keeps the overlay"
    assert after["overlays"][0]["sha256"] == recorded["sha256"]


def test_s3_zip_with_an_overlay_inside_is_applied(service: Service) -> None:
    body = _zip({"openapi.yaml": support_desk_spec().read_bytes(), "names.overlay.yaml": RENAME})
    service.upload("tenants/acme/integrations/support/openapi.zip", body)
    assert _integration(service)["status"] == "ready"
    assert "find_cases" in _tool_names(service)


def test_invalid_overlay_refuses_the_upload_and_the_previous_version_stays_live(service: Service) -> None:
    service.upload(SPEC_KEY, support_desk_spec().read_bytes())
    before = _integration(service)["ready"]
    tools_before = _tool_names(service)
    service.s3.put_object(Bucket="toolgate-test-specs", Key=OVERLAY_KEY, Body=BROKEN)
    service.upload(SPEC_KEY, support_desk_spec().read_bytes())
    integration = _integration(service)
    assert integration["status"] == "failed"
    assert integration["last_upload"]["error"]["code"] == "OVERLAY_INVALID"
    assert integration["last_upload"]["error"]["pointer"] == "/actions/0/target"
    assert "openapi.overlay.yaml" in integration["last_upload"]["error"]["message"]
    assert integration["ready"] == before
    assert _tool_names(service) == tools_before


def test_invalid_overlay_in_an_api_zip_answers_overlay_invalid_with_its_pointer(service: Service) -> None:
    body = _zip({"openapi.yaml": support_desk_spec().read_bytes(), "bad.overlay.yaml": BROKEN})
    response = service.api(
        "PUT", "/v1/integrations/support", body=body, headers={"content-type": "application/zip"}
    )
    assert response.status == 422, response.body
    assert response.body["error"]["code"] == "OVERLAY_INVALID"
    assert response.body["error"]["pointer"] == "/actions/0/target"
    assert _tool_names(service) == set()


def test_cli_upload_zip_of_a_spec_and_two_overlays_applies_them_in_order(service: Service) -> None:
    second = yaml.safe_dump(
        {
            "overlay": "1.1.0",
            "info": {"title": "second", "version": "1"},
            "actions": [
                {"target": "$.paths.*[?@.operationId == 'find_cases']", "update": {"operationId": "search"}}
            ],
        }
    ).encode()
    body = with_overlays(
        support_desk_spec().read_bytes(), "yaml", [("names.yaml", RENAME), ("more.yaml", second)]
    )
    response = service.api(
        "PUT", "/v1/integrations/support", body=body, headers={"content-type": "application/zip"}
    )
    assert response.status == 200, response.body
    assert "search" in _tool_names(service) and "find_cases" not in _tool_names(service)
    assert [overlay["name"] for overlay in response.body["ready"]["overlays"]] == [
        "overlays/01-names.overlay.yaml",
        "overlays/02-more.overlay.yaml",
    ]
