"""`toolgate compile|lint --overlay FILE` (repeatable, applied in order) and the zip `toolgate upload
--overlay` sends: overlays change what the model sees, and a bad overlay is a typed error, not a traceback."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from toolgate_cli.main import main
from toolgate_cli.remote import with_overlays
from toolgate_demo import support_desk_spec

SPEC = support_desk_spec()


def write_overlay(folder: Path, name: str, actions: list[dict[str, Any]]) -> Path:
    path = folder / name
    path.write_text(
        yaml.safe_dump({"overlay": "1.1.0", "info": {"title": name, "version": "1"}, "actions": actions})
    )
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def rename_list_cases(folder: Path, name: str, new_id: str) -> Path:
    return write_overlay(
        folder,
        name,
        [{"target": "$.paths.*[?@.operationId == 'listSupportCases']", "update": {"operationId": new_id}}],
    )


def test_compile_applies_repeated_overlays_in_command_line_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = rename_list_cases(tmp_path, "first.overlay.yaml", "first_name")
    second = write_overlay(
        tmp_path,
        "second.overlay.yaml",
        [{"target": "$.paths.*[?@.operationId == 'first_name']", "update": {"operationId": "second_name"}}],
    )
    status, out, err = run(capsys, "compile", str(SPEC), "--overlay", str(first), "--overlay", str(second))
    assert status == 0, err
    names = {tool["name"] for tool in json.loads(out)}
    assert "second_name" in names and "first_name" not in names and "list_support_cases" not in names

    status, out, err = run(capsys, "compile", str(SPEC), "--overlay", str(second), "--overlay", str(first))
    assert status == 0, err
    names = {tool["name"] for tool in json.loads(out)}
    assert "first_name" in names and "second_name" not in names
    assert "OVERLAY_TARGET_UNMATCHED" in err


def test_compile_with_an_invalid_overlay_exits_with_overlay_invalid_and_its_pointer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = write_overlay(tmp_path, "bad.overlay.yaml", [{"target": "$.paths[?@.x ==]", "remove": True}])
    status, out, err = run(capsys, "compile", str(SPEC), "--overlay", str(bad))
    assert status == 2 and out == ""
    assert err.startswith("error[OVERLAY_INVALID]: overlay bad.overlay.yaml")
    assert "(at /actions/0/target)" in err
    assert "Traceback" not in err


def test_compile_with_a_missing_overlay_file_is_an_io_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(capsys, "compile", str(SPEC), "--overlay", str(tmp_path / "absent.yaml"))
    assert status == 2 and err.startswith("error[IO_ERROR]")


def test_lint_reports_an_overlay_target_that_matches_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stale = write_overlay(
        tmp_path, "stale.overlay.yaml", [{"target": "$.paths['/gone'].get", "remove": True}]
    )
    status, out, _ = run(capsys, "lint", str(SPEC), "--overlay", str(stale))
    assert status == 0
    assert "OVERLAY_TARGET_UNMATCHED" in out and "stale.overlay.yaml" in out


def test_upload_overlays_travel_with_the_spec_in_one_zip_in_command_line_order() -> None:
    spec = SPEC.read_bytes()
    packed = with_overlays(spec, "yaml", [("b.yaml", b"second"), ("a.overlay.json", b"first")])
    with zipfile.ZipFile(io.BytesIO(packed)) as archive:
        assert archive.read("openapi.yaml") == spec
        overlays = sorted(name for name in archive.namelist() if name != "openapi.yaml")
        assert overlays == ["overlays/01-b.overlay.yaml", "overlays/02-a.overlay.json"]
        assert [archive.read(name) for name in overlays] == [b"second", b"first"]


def test_upload_overlays_are_added_to_a_zip_spec_without_losing_its_files() -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("openapi.yaml", b"openapi: 3.1.0")
        archive.writestr("schemas/pet.yaml", b"type: object")
    packed = with_overlays(inner.getvalue(), "zip", [("fix.overlay.yaml", b"x")])
    with zipfile.ZipFile(io.BytesIO(packed)) as archive:
        assert set(archive.namelist()) == {"openapi.yaml", "schemas/pet.yaml", "overlays/01-fix.overlay.yaml"}
