"""`toolgate compile` and `toolgate lint`: JSON on stdout, findings on stderr, `error[CODE]: message` and a
non-zero exit for anything rejected, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from toolgate_cli.main import main
from toolgate_demo import support_desk_spec

SPEC = support_desk_spec()
FORMATS = [
    "canonical",
    "openai",
    "openai-strict",
    "openai-responses",
    "anthropic",
    "bedrock",
    "gemini",
    "mcp",
]
#: Nine levels of nine aliases each: a few hundred bytes that expand to hundreds of millions of strings.
ALIAS_BOMB = b"l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + b"".join(
    f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]\n".encode() for level in range(1, 9)
)
SUPPORT_DESK_TOOLS = {
    "list_support_cases",
    "create_support_case",
    "get_support_case",
    "update_support_case",
    "add_support_case_comment",
    "start_case_export",
    "get_case_export",
    "generate_case_report",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def tool_name(definition: dict[str, Any]) -> str:
    """The tool name wherever a format keeps it."""
    if "toolSpec" in definition:
        return str(definition["toolSpec"]["name"])
    if "function" in definition:
        return str(definition["function"]["name"])
    return str(definition["name"])


@pytest.mark.parametrize("format_name", FORMATS)
def test_compile_writes_a_json_array_of_every_tool_in_each_format(
    capsys: pytest.CaptureFixture[str], format_name: str
) -> None:
    status, out, err = run(capsys, "compile", str(SPEC), "--format", format_name)

    assert status == 0
    definitions = json.loads(out)
    assert isinstance(definitions, list)
    assert {tool_name(definition) for definition in definitions} == SUPPORT_DESK_TOOLS
    assert "Traceback" not in err and "error[" not in err


def test_compile_out_writes_the_file_and_leaves_stdout_empty(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "tools.json"
    status, out, _ = run(capsys, "compile", str(SPEC), "--format", "openai", "--out", str(target))

    assert status == 0 and out == ""
    create = next(d for d in json.loads(target.read_text()) if d["function"]["name"] == "create_support_case")
    assert set(create["function"]["parameters"]["required"]) == {"customer_id", "summary", "priority"}


def test_repaired_spec_exits_zero_with_warnings_on_stderr_and_tools_on_stdout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "undeclared.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "openapi": "3.0.3",
                "info": {"title": "T", "version": "1"},
                "paths": {
                    "/items/{item_id}": {
                        "get": {"operationId": "getItem", "responses": {"200": {"description": "ok"}}}
                    }
                },
            }
        )
    )
    status, out, err = run(capsys, "compile", str(spec))

    assert status == 0
    (tool,) = json.loads(out)
    assert tool["name"] == "get_item" and tool["input_schema"]["required"] == ["item_id"]
    assert err.startswith("warning[") and "item_id" in err


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"swagger": "1.2", "paths": {}}', "SPEC_UNSUPPORTED_VERSION"),
        (ALIAS_BOMB, "SPEC_ALIAS_EXPANSION"),
        (b"- [1, 2", "SPEC_PARSE_ERROR"),
        (b"[" * 50_000 + b"]" * 50_000, "SPEC_TOO_DEEP"),
    ],
    ids=["unsupported-version", "alias-bomb", "unparseable", "deep-nesting"],
)
def test_rejected_spec_exits_non_zero_with_its_code_on_stderr_and_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, code: str
) -> None:
    spec = tmp_path / "hostile.yaml"
    spec.write_bytes(content)

    for command in ("compile", "lint"):
        status, out, err = run(capsys, command, str(spec))
        assert status != 0
        assert out == ""
        assert err.startswith(f"error[{code}]: ") and "Traceback" not in err


def test_missing_spec_file_is_an_io_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run(capsys, "compile", str(tmp_path / "absent.yaml"))

    assert status != 0 and out == ""
    assert err.startswith("error[IO_ERROR]: ") and "absent.yaml" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["compile", str(SPEC), "--format", "openai-ultra"],
        ["compile"],
        ["no-such-command"],
        [],
    ],
    ids=["unknown-format", "missing-spec", "unknown-command", "no-command"],
)
def test_usage_mistakes_are_one_error_line_not_argparse_usage(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    status, out, err = run(capsys, *argv)

    assert status == 2 and out == ""
    assert err.startswith("error[USAGE]: ") and err.count("\n") == 1
    assert "usage:" not in err


def test_unknown_format_error_names_the_known_formats(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "compile", str(SPEC), "--format", "openai-ultra")

    assert all(format_name in err for format_name in FORMATS)


def shop_folder(root: Path) -> Path:
    (root / "schemas").mkdir(parents=True)
    (root / "openapi.yaml").write_text(
        yaml.safe_dump(
            {
                "openapi": "3.0.3",
                "info": {"title": "Shop", "version": "1"},
                "paths": {
                    "/orders": {
                        "post": {
                            "operationId": "createOrder",
                            "requestBody": {
                                "required": True,
                                "content": {"application/json": {"schema": {"$ref": "schemas/order.yaml"}}},
                            },
                            "responses": {"201": {"description": "created"}},
                        }
                    }
                },
            }
        )
    )
    (root / "schemas" / "order.yaml").write_text(
        yaml.safe_dump({"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}})
    )
    return root


def test_folder_spec_needs_an_entry_and_compiles_with_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = shop_folder(tmp_path / "shop")

    status, out, err = run(capsys, "compile", str(folder))
    assert status != 0 and out == "" and err.startswith("error[SPEC_BUNDLE_INVALID]: ")

    status, out, _ = run(capsys, "compile", str(folder), "--entry", "openapi.yaml", "--format", "anthropic")
    assert status == 0
    (tool,) = json.loads(out)
    assert tool["name"] == "create_order" and tool["input_schema"]["properties"]["sku"] == {"type": "string"}


def test_zip_spec_compiles_from_the_command_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = shop_folder(tmp_path / "shop")
    archive = tmp_path / "shop.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in folder.rglob("*.yaml"):
            bundle.write(file, file.relative_to(folder).as_posix())

    status, out, _ = run(capsys, "compile", str(archive))

    assert status == 0
    assert [tool["name"] for tool in json.loads(out)] == ["create_order"]


def test_lint_prints_coded_findings_on_stdout_and_a_summary_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "lint", str(SPEC))

    assert status == 0
    lines = out.splitlines()
    assert lines and all(line.split("[", 1)[0] in {"error", "warning", "info"} for line in lines)
    assert any(line.startswith("warning[LINT_UNDOCUMENTED_ENUM]") for line in lines)
    assert "8 tools;" in err


def test_console_script_runs_compile() -> None:
    script = Path(sys.executable).parent / "toolgate"
    if not script.exists():
        pytest.skip("the toolgate console script is not installed next to this interpreter")

    completed = subprocess.run(
        [str(script), "compile", str(SPEC), "--format", "mcp"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert {tool["name"] for tool in json.loads(completed.stdout)} == SUPPORT_DESK_TOOLS


def test_compile_exits_non_zero_when_no_operation_becomes_a_tool(tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    post:\n      requestBody:\n"
        "        content:\n          application/json:\n            schema: {$ref: 'https://example.com/s.json'}\n"
        "      responses: {'200': {description: ok}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "tools.json"
    assert main(["compile", str(spec), "--out", str(out)]) == 1
    assert out.read_text(encoding="utf-8").strip() == "[]"


def test_compile_reports_what_the_tools_cost_per_request_and_warns_past_the_budget(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.dialects import Dialect, render_tools
    from toolgate.dialects.tokens import definitions_tokens
    from toolgate.settings import get_catalog_settings
    from toolgate.spec.compiler import compile_path

    definitions = render_tools(compile_path(SPEC).tools, Dialect.OPENAI).definitions
    openai_tokens = sum(definitions_tokens(definitions, Dialect.OPENAI))
    status, _, err = run(capsys, "compile", str(SPEC), "--format", "openai")
    assert status == 0
    assert f"tokens: 8 tools cost openai {openai_tokens:,} per request" in err
    assert "warning[" not in err

    monkeypatch.setenv("TOOLGATE_CATALOG_TOKEN_BUDGET", "100")
    get_catalog_settings.cache_clear()
    try:
        status, _, err = run(capsys, "compile", str(SPEC))
    finally:
        get_catalog_settings.cache_clear()
    assert status == 0
    assert all(f" {dialect.value} " in err for dialect in Dialect)
    assert "warning[CATALOG_TOKEN_BUDGET_EXCEEDED]" in err
    assert "toolset" in err
