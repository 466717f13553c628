"""`toolgate lint SPEC --fix-overlay OUT`: the file it writes, applied with `--overlay OUT`, clears the
machine-fixable findings; what needs a person is on stderr and atop the file; a bad OUT is a typed error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from toolgate_cli.main import main

OK = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Shelter", "version": "1"},
    "servers": [{"url": "https://api.example.com"}],
    "paths": {
        "/pets/{id}": {
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "Id.",
                }
            ],
            "get": {"summary": "Fetch one pet with its owner and vaccination record", "responses": OK},
            "delete": {"operationId": "deletePet", "responses": OK},
        }
    },
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_lint_fix_overlay_round_trip_leaves_only_what_needs_a_person(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "shelter.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "fixes.overlay.yaml"

    status, before, err = run(capsys, "lint", str(spec), "--fix-overlay", str(out))
    assert status == 0, err
    text = out.read_text()
    assert text.startswith("# Written by `toolgate lint --fix-overlay`: 3 fixes.\n# Needs a person (1):\n")
    assert "LINT_MISSING_DESCRIPTION /paths/~1pets~1{id}/delete: write a description" in text
    assert "needs a person: LINT_MISSING_DESCRIPTION /paths/~1pets~1{id}/delete: write a description" in err
    assert f"apply it: toolgate lint {spec} --overlay {out}" in err
    assert "LINT_MISSING_OPERATION_ID" in before and "LINT_OPERATION_ID_NOT_SNAKE_CASE" in before

    status, after, err = run(capsys, "lint", str(spec), "--overlay", str(out))
    assert status == 0, err
    assert "OVERLAY_" not in after
    remaining = {line.split("]")[0] for line in after.splitlines()}
    assert remaining == {"warning[LINT_MISSING_DESCRIPTION"}
    assert "/paths/~1pets~1{id}/delete" in after


def test_lint_fix_overlay_into_a_missing_folder_is_a_typed_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "shelter.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    status, _, err = run(capsys, "lint", str(spec), "--fix-overlay", str(tmp_path / "absent" / "fixes.yaml"))
    assert status == 2
    assert "error[IO_ERROR]: No such file or directory" in err
    assert "Traceback" not in err
