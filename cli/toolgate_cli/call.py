"""`toolgate call SPEC TOOL --args JSON`: try one tool against a live API from a laptop.

Standard output is always one JSON document: the result envelope of the call, or `{"ok": false,
"error": ...}` when the spec, the tool or the credential file cannot be used. The exit status is 0 for
an ok result, 1 for a call that failed, 2 when the call could not be made; on failure the error also goes
to standard error as `error[CODE]: message`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from toolgate.errors import ToolgateError, ToolNotFoundError
from toolgate.spec.models import CanonicalTool, CompiledSpec

_TOOLS_LISTED = 20
IO_ERROR = "IO_ERROR"


def add_call_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "call",
        help="call one tool of a spec against its live API and print the result envelope as JSON",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", type=Path, help="an OpenAPI file (JSON or YAML), a folder or a zip")
    parser.add_argument("tool", help="the tool's name or the operation's operationId")
    parser.add_argument("--args", default="{}", help="the tool's arguments as a JSON object (default: {})")
    parser.add_argument(
        "--credential", type=Path, help='a JSON file holding the credential, e.g. {"type": "bearer", ...}'
    )
    parser.add_argument("--server", help="the server URL to call instead of the spec's")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        type=_parameter,
        help="an integration parameter setting for hidden parameters declared `from: NAME` (repeatable); "
        "VALUE is read as a JSON number or boolean when it is one, else as text",
    )
    parser.add_argument(
        "--allow-private",
        action="store_true",
        help="allow loopback and private-network targets, over http too (cloud metadata stays refused)",
    )
    parser.add_argument("--allow-http", action="store_true", help="allow plain http to public hosts")
    parser.add_argument("--timeout", type=float, help="total seconds for the call, retries included")
    parser.add_argument("--entry", help="the root file of a folder or zip spec, relative to it")
    parser.set_defaults(run=run_call)


def run_call(args: argparse.Namespace) -> int:
    from toolgate.adapters.http import HttpTransport
    from toolgate.runtime.credentials import parse_credential
    from toolgate.runtime.invoke import invoke_tool
    from toolgate.settings import get_settings
    from toolgate.spec.compiler import compile_path

    try:
        tool = find_tool(compile_path(args.spec, entry=args.entry), args.tool)
        credential = parse_credential(args.credential.read_bytes()) if args.credential else None
    except ToolgateError as error:
        _print_failure(error.to_dict())
        return 2
    except OSError as error:
        message = f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
        _print_failure({"code": IO_ERROR, "message": message})
        return 2

    updates: dict[str, Any] = {}
    if args.allow_private:
        updates["allow_private"] = True
    if args.allow_http:
        updates["allow_http"] = True
    if args.timeout is not None:
        updates["default_timeout_seconds"] = args.timeout
    settings = get_settings().runtime.model_copy(update=updates)
    transport = HttpTransport(settings)
    try:
        result = invoke_tool(
            tool,
            args.args,
            transport=transport,
            credential=credential,
            settings=settings,
            server_url=args.server,
            parameters=dict(args.parameter),
        )
    finally:
        transport.close()
    _print(result.to_dict())
    if result.error is not None:
        print(f"error[{result.error.code}]: {result.error.message}", file=sys.stderr)
    return 0 if result.ok else 1


def _parameter(text: str) -> tuple[str, Any]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    try:
        parsed = json.loads(value)
    except ValueError:
        return name, value
    return name, parsed if isinstance(parsed, bool | int | float) else value


def find_tool(compiled: CompiledSpec, name: str) -> CanonicalTool:
    """The tool named `name`, or whose operationId is `name`."""
    for tool in compiled.tools:
        if name in (tool.name, tool.operation_id):
            return tool
    names = [tool.name for tool in compiled.tools]
    listed = ", ".join(names[:_TOOLS_LISTED]) + (", ..." if len(names) > _TOOLS_LISTED else "")
    raise ToolNotFoundError(
        f"The spec has no tool or operationId '{name}'. Its {len(names)} tools: {listed or 'none'}."
    )


def _print_failure(error: dict[str, Any]) -> None:
    """A call that could not be made: the error in an envelope on stdout and as one line on stderr."""
    _print({"ok": False, "error": error})
    print(f"error[{error['code']}]: {error['message']}", file=sys.stderr)


def _print(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
