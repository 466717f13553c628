"""The upload report carries the lint's suggested fix overlay, bounded in size, with what needs a person
and the command that applies it; uploading the suggestion clears the findings it fixes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from service_world import Service
from toolgate.settings import get_service_settings
from toolgate_cli.remote import with_overlays

OK = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}


def _spec(operations: int) -> bytes:
    paths: dict[str, Any] = {
        f"/shelters/{index}/pets": {
            "get": {"summary": f"Lists the pets of shelter number {index} awaiting adoption", "responses": OK}
        }
        for index in range(operations)
    }
    paths["/orphans"] = {"post": {"operationId": "create_orphan", "responses": OK}}
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Shelter", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
    }
    return yaml.safe_dump(document).encode()


def _put(service: Service, body: bytes, content_type: str = "application/yaml") -> dict[str, Any]:
    response = service.api(
        "PUT", "/v1/integrations/shelter", body=body, headers={"content-type": content_type}
    )
    assert response.status == 200, response.body
    report = service.api("GET", "/v1/integrations/shelter/report")
    assert report.status == 200, report.body
    return report.body["report"]  # type: ignore[no-any-return]


def _lint_codes(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(finding["code"], finding["pointer"]) for finding in report["lint"]}


def test_upload_report_suggests_the_fix_overlay_and_uploading_it_clears_those_findings(
    service: Service,
) -> None:
    spec = _spec(3)
    report = _put(service, spec)
    suggested = report["suggested_overlay"]
    assert suggested["fixes"] == 6 and suggested["clears"] == 6
    assert suggested["needs_a_person"] == [
        {
            "code": "LINT_MISSING_DESCRIPTION",
            "pointer": "/paths/~1orphans/post",
            "reason": "write a description: there is no summary to take it from",
        }
    ]
    assert (
        "toolgate upload shelter" in suggested["apply"]
        and "--overlay fixes.overlay.yaml" in suggested["apply"]
    )
    before = _lint_codes(report)

    overlay = suggested["overlay_yaml"].encode()
    fixed = _put(service, with_overlays(spec, "yaml", [("fixes.overlay.yaml", overlay)]), "application/zip")
    after = _lint_codes(fixed)
    assert before - after == {
        (code, f"/paths/~1shelters~1{index}~1pets/get")
        for index in range(3)
        for code in ("LINT_MISSING_DESCRIPTION", "LINT_MISSING_OPERATION_ID")
    }
    assert after <= before
    assert fixed["suggested_overlay"]["fixes"] == 0 and fixed["suggested_overlay"]["overlay_yaml"] is None


def test_upload_report_leaves_out_an_overlay_larger_than_its_bound_but_still_counts_it(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_service_settings(), "max_suggested_overlay_bytes", 2_000)
    report = _put(service, _spec(40))
    suggested = report["suggested_overlay"]
    assert suggested["fixes"] == 80
    assert suggested["overlay_yaml"] is None
    assert suggested["omitted_because_larger_than_bytes"] == 2_000
    assert "--fix-overlay fixes.overlay.yaml" in suggested["apply"]
