"""The `toolgate` command line: compile and lint specs, and try a tool against a live API."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from toolgate.errors import ToolgateError
from toolgate.spec.models import CompiledSpec, Finding, Severity

if TYPE_CHECKING:
    from toolgate.spec.compiler import SpecDocument

CANONICAL = "canonical"
USAGE_ERROR = "USAGE"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ToolgateError as exc:
        print(f"error[{exc.code}]: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error[IO_ERROR]: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


class _Parser(argparse.ArgumentParser):
    """Reports usage mistakes as `error[USAGE]: message` like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error[{USAGE_ERROR}]: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    from toolgate.dialects import Dialect

    from toolgate_cli.admin import add_admin_parser
    from toolgate_cli.call import add_call_parser
    from toolgate_cli.local import add_local_parser
    from toolgate_cli.mcp_config import add_mcp_config_parser
    from toolgate_cli.remote import add_remote_parsers

    parser: argparse.ArgumentParser = _Parser(prog="toolgate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    compile_parser = commands.add_parser("compile", help="write the tool definitions of a spec as JSON")
    _add_spec_arguments(compile_parser)
    compile_parser.add_argument(
        "--format",
        choices=[CANONICAL, *(d.value for d in Dialect)],
        default=CANONICAL,
        help="tool format: the canonical model or a model API's own (default: canonical)",
    )
    compile_parser.add_argument("--out", type=Path, help="write to this file instead of standard output")
    compile_parser.add_argument("--verbose", action="store_true", help="also list informational findings")
    compile_parser.set_defaults(run=run_compile)

    lint_parser = commands.add_parser("lint", help="print agent-readiness findings for a spec")
    _add_spec_arguments(lint_parser)
    lint_parser.add_argument(
        "--fix-overlay",
        type=Path,
        metavar="OUT",
        help="write an OpenAPI Overlay that fixes what a machine can (apply it with --overlay OUT); "
        "what needs a person is listed on stderr and atop the file",
    )
    lint_parser.set_defaults(run=run_lint)

    add_call_parser(commands)
    add_admin_parser(commands)
    add_local_parser(commands)
    add_remote_parsers(commands)
    add_mcp_config_parser(commands)
    return parser


def _add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="an OpenAPI file (JSON or YAML), a folder or a zip")
    parser.add_argument("--entry", help="the root file of a folder or zip spec, relative to it")
    parser.add_argument(
        "--overlay",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="an OpenAPI Overlay (1.0 or 1.1) to apply first; repeat it to apply several, in order",
    )


def read_spec_with_overlays(args: argparse.Namespace) -> SpecDocument:
    """The spec named on the command line, with its `--overlay` files applied in order."""
    from toolgate.spec.compiler import read_spec
    from toolgate.spec.overlay import load_overlay

    overlays = [load_overlay(path.read_bytes(), name=path.name) for path in args.overlay]
    return read_spec(args.spec, entry=args.entry, overlays=overlays)


def run_compile(args: argparse.Namespace) -> int:
    from toolgate.spec.compiler import compile_document

    compiled = compile_document(read_spec_with_overlays(args))
    _report(compiled.findings, verbose=args.verbose)
    definitions = render(compiled, args.format)
    if compiled.tools:
        print(token_footprint(compiled, args.format), file=sys.stderr)
    text = json.dumps(definitions, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if compiled.failed_operations and not compiled.tools:
        print(
            "error[SPEC_NO_TOOLS]: no operation could become a tool (see the errors above)", file=sys.stderr
        )
        return 1
    return 0


def render(compiled: CompiledSpec, format_name: str) -> list[dict[str, Any]]:
    """The tools of a compiled spec in one format, reporting dialect losses on stderr."""
    from toolgate.dialects import Dialect, render_tools

    if format_name == CANONICAL:
        return [tool.model_dump(mode="json", exclude_defaults=True) for tool in compiled.tools]
    rendered = render_tools(compiled.tools, Dialect(format_name))
    losses = [finding for findings in rendered.losses.values() for finding in findings]
    _report([*losses, *rendered.violations])
    return rendered.definitions


def token_footprint(compiled: CompiledSpec, format_name: str) -> str:
    """What the tools cost per model request: in `format_name`, or in every format for the canonical one,
    with warnings past the token budget or a format's tool cap."""
    from toolgate.dialects import Dialect, render_tools
    from toolgate.dialects.tokens import EXACT_DIALECTS, definitions_tokens, footprint_warnings
    from toolgate.settings import get_catalog_settings

    dialects = list(Dialect) if format_name == CANONICAL else [Dialect(format_name)]
    tokens = {
        dialect.value: sum(definitions_tokens(render_tools(compiled.tools, dialect).definitions, dialect))
        for dialect in dialects
    }
    counts = ", ".join(
        f"{name} {'' if Dialect(name) in EXACT_DIALECTS else '~'}{count:,}" for name, count in tokens.items()
    )
    lines = [f"tokens: {len(compiled.tools)} tools cost {counts} per request (~: approximate)"]
    budget = get_catalog_settings().token_budget
    lines.extend(
        f"warning[{finding.code}]: {finding.message}"
        for finding in footprint_warnings("This spec", len(compiled.tools), tokens, budget)
    )
    return "\n".join(lines)


def run_lint(args: argparse.Namespace) -> int:
    from toolgate.spec.compiler import compile_document
    from toolgate.spec.lint import format_findings, lint_spec

    spec = read_spec_with_overlays(args)
    compiled = compile_document(spec)
    overlay_findings = [
        f for f in spec.findings if f.code.startswith("OVERLAY_") and f.severity != Severity.INFO
    ]
    findings = [*overlay_findings, *lint_spec(spec.document, compiled)]
    if findings:
        print(format_findings(findings))
    counts = {severity: sum(f.severity == severity for f in findings) for severity in Severity}
    print(
        f"{len(compiled.tools)} tools; {counts[Severity.WARNING]} warnings, {counts[Severity.INFO]} notes",
        file=sys.stderr,
    )
    if args.fix_overlay is not None:
        write_fix_overlay(spec, compiled, args)
    return 0


def write_fix_overlay(spec: SpecDocument, compiled: CompiledSpec, args: argparse.Namespace) -> None:
    """Write the suggested fix overlay to `--fix-overlay` and list what needs a person on stderr."""
    from toolgate.spec.fix_overlay import suggest_fixes

    out: Path = args.fix_overlay
    suggestion = suggest_fixes(spec.document, compiled)
    out.write_text(suggestion.to_yaml(compiled.title), encoding="utf-8")
    for item in suggestion.manual:
        print(f"needs a person: {item.line()}", file=sys.stderr)
    print(
        f"{out}: {len(suggestion.actions)} fixes for {len(suggestion.cleared)} findings; "
        f"{len(suggestion.manual)} need a person.",
        file=sys.stderr,
    )
    if suggestion.actions:
        overlays = "".join(f" --overlay {path}" for path in [*args.overlay, out])
        print(f"apply it: toolgate lint {args.spec}{overlays}", file=sys.stderr)


def _report(findings: Sequence[Finding], *, verbose: bool = False) -> None:
    """Warnings and errors on stderr, one per line; informational findings only as a count unless verbose."""
    from toolgate.spec.lint import format_findings

    shown = [f for f in findings if verbose or f.severity != Severity.INFO]
    if shown:
        print(format_findings(shown), file=sys.stderr)
    notes = len(findings) - len(shown)
    if notes:
        print(
            f"note: {notes} informational findings (repairs and choices); --verbose lists them",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
