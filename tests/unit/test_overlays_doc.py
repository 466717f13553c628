"""docs/overlays.md's recipes, read from the page itself: each overlay there is compiled against the page's
own spec with the page's own `toolgate compile` command, and what the page says the model sees (the tool,
the request sent, the trimmed body) is checked against what Toolgate does. A page that lies fails here."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from toolgate.dialects import as_dialect, render_tools
from toolgate.dialects.base import Dialect
from toolgate.runtime.invoke import invoke_tool
from toolgate.runtime.transport import HttpResponse, OutboundCall
from toolgate.spec.compiler import compile_document, parse_spec
from toolgate.spec.models import CanonicalTool
from toolgate.spec.overlay import load_overlay
from toolgate_cli.main import main

PAGE = Path(__file__).resolve().parents[2] / "docs" / "overlays.md"
SPEC_NAME = "vaults.yaml"
#: A fenced block: its language, an optional label after it (```json tool), and its text.
FENCE = re.compile(r"^```(\w*)(?: (\w+))?\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    language: str
    label: str
    text: str


def sections() -> dict[str, list[Block]]:
    """The page's `## ` sections by heading, each with its fenced blocks in order."""
    found: dict[str, list[Block]] = {}
    for part in re.split(r"^## ", PAGE.read_text(), flags=re.MULTILINE)[1:]:
        heading, _, body = part.partition("\n")
        found[heading] = [Block(m[1], m[2] or "", m[3]) for m in FENCE.finditer(body)]
    return found


def section(starts_with: str) -> list[Block]:
    (blocks,) = [blocks for heading, blocks in sections().items() if heading.startswith(starts_with)]
    return blocks


def labelled(blocks: list[Block], label: str) -> Block:
    (block,) = [block for block in blocks if block.label == label]
    return block


def spec_text() -> str:
    (block,) = [block for block in section("The spec the recipes use") if block.language == "yaml"]
    return block.text


def overlay_of(blocks: list[Block]) -> tuple[str, str]:
    """The recipe's overlay and the file name its commands give it."""
    (block,) = [block for block in blocks if block.language == "yaml"]
    assert "overlay" in yaml.safe_load(block.text)
    (compile_line,) = [line for line in commands(blocks) if line[:2] == ["toolgate", "compile"]]
    return block.text, compile_line[compile_line.index("--overlay") + 1]


def commands(blocks: list[Block]) -> list[list[str]]:
    return [shlex.split(line) for b in blocks if b.language == "sh" for line in b.text.splitlines() if line]


def compiled_tool(overlay_text: str) -> CanonicalTool:
    overlay = load_overlay(overlay_text.encode(), name="recipe.overlay.yaml")
    compiled = compile_document(parse_spec(spec_text().encode(), name=SPEC_NAME, overlays=[overlay]))
    assert compiled.failed_operations == []
    (tool,) = compiled.tools
    return tool


def run_documented_compile(
    blocks: list[Block], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Run the recipe's `toolgate compile` line as written, in a folder holding the page's files."""
    overlay_text, overlay_file = overlay_of(blocks)
    (tmp_path / SPEC_NAME).write_text(spec_text())
    (tmp_path / overlay_file).write_text(overlay_text)
    monkeypatch.chdir(tmp_path)
    (line,) = [line for line in commands(blocks) if line[:2] == ["toolgate", "compile"]]
    assert main(line[1:]) == 0
    (tool,) = json.loads(capsys.readouterr().out)
    assert isinstance(tool, dict)
    return tool


def assert_shows(documented: dict[str, Any], rendered: dict[str, Any]) -> None:
    """Every key the page shows has exactly the value Toolgate renders."""
    assert documented, "the page shows no tool"
    for key, value in documented.items():
        assert rendered[key] == value, key


class AnsweringTransport:
    """Records the request and answers 200 with `body`; the runtime's own transport seam, no network."""

    def __init__(self, body: Any) -> None:
        self.body = json.dumps(body).encode()
        self.calls: list[OutboundCall] = []

    def send(self, call: OutboundCall) -> HttpResponse:
        self.calls.append(call)
        return HttpResponse(
            status=200, reason="OK", headers={"content-type": "application/json"}, body=self.body
        )


def test_overlays_doc_recipe_hides_and_fixes_api_version_as_it_claims(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = section("Recipe 1")
    rendered = run_documented_compile(blocks, tmp_path, capsys, monkeypatch)
    assert_shows(json.loads(labelled(blocks, "tool").text), rendered)

    tool = compiled_tool(overlay_of(blocks)[0])
    for dialect in Dialect:  # "in any format"
        text = json.dumps(render_tools([tool], as_dialect(dialect.value)).definitions)
        assert "api-version" not in text and "subscriptionId" not in text, dialect
        assert "2023-07-01" not in text, dialect

    settings = json.loads(labelled(blocks, "settings").text)
    method, url = labelled(blocks, "request").text.split()
    transport = AnsweringTransport({"value": []})
    result = invoke_tool(tool, {"top": 5}, transport=transport, parameters=settings["parameters"])
    assert result.ok, result.to_dict()
    (call,) = transport.calls
    assert (call.request.method, call.request.url) == (method, url)

    refused = invoke_tool(
        tool, {"api-version": "2099-01-01"}, transport=transport, parameters=settings["parameters"]
    )
    assert refused.error is not None and refused.error.code == "ARGUMENT_HIDDEN"
    assert len(transport.calls) == 1


def test_overlays_doc_recipe_renames_and_redescribes_the_tool_as_it_claims(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = section("Recipe 2")
    documented = json.loads(labelled(blocks, "tool").text)
    assert_shows(documented, run_documented_compile(blocks, tmp_path, capsys, monkeypatch))

    tool = compiled_tool(overlay_of(blocks)[0])
    for dialect in Dialect:  # "every format shows the new name and description"
        text = json.dumps(render_tools([tool], as_dialect(dialect.value)).definitions)
        assert documented["name"] in text and json.dumps(documented["description"])[1:-1] in text, dialect
        assert "vaults_list_by_subscription" not in text and "The List operation" not in text, dialect


def test_overlays_doc_recipe_trims_the_list_response_and_its_schema_as_it_claims(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = section("Recipe 3")
    rendered = run_documented_compile(blocks, tmp_path, capsys, monkeypatch)
    assert_shows(json.loads(labelled(blocks, "tool").text), rendered)

    tool = compiled_tool(overlay_of(blocks)[0])
    answer = json.loads(labelled(blocks, "response").text)
    result = invoke_tool(
        tool, {"subscriptionId": "s", "api-version": "2023-07-01"}, transport=AnsweringTransport(answer)
    )
    envelope = result.to_dict()
    assert envelope["trimmed"] is True
    assert envelope["body"] == json.loads(labelled(blocks, "model").text)
    assert result.full_body == answer


def test_overlays_doc_recipes_compose_in_the_order_given() -> None:
    overlays = [
        load_overlay(overlay_of(section(f"Recipe {n}"))[0].encode(), name=f"{n}.overlay.yaml")
        for n in (1, 2, 3)
    ]
    compiled = compile_document(parse_spec(spec_text().encode(), name=SPEC_NAME, overlays=overlays))
    (tool,) = compiled.tools
    assert tool.name == "list_key_vaults"
    assert set(tool.input_schema["properties"]) == {"top"}
    assert tool.output_schema == json.loads(labelled(section("Recipe 3"), "tool").text)["output_schema"]
    assert "OVERLAY_TARGET_UNMATCHED" not in {finding.code for finding in compiled.findings}
