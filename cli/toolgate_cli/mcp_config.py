"""`toolgate mcp-config ASSISTANT [--client C]`: the snippet that adds an assistant's MCP endpoint to an MCP
client (Claude Code, Claude Desktop, Cursor, VS Code, or any other).

The snippet holds the endpoint's URL and the `Authorization` header, with the API key left to the client to
read when it runs: from the environment (`TOOLGATE_API_KEY`), a prompt, or a value you paste in. The command
never reads the key and never prints it.

Standard output is the snippet: a shell command for `claude`, JSON for every other client. Standard error
says where it goes. docs/mcp.md has each client's format and its sources.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Callable, Mapping
from typing import Any

from toolgate.errors import AssistantIdInvalidError, ClientConfigError

from toolgate_cli.client import API_KEY_ENV, ENDPOINT_ENV, checked_endpoint

#: VS Code's prompt for the key: it asks once and keeps the answer in its secret storage.
VSCODE_KEY_INPUT = "toolgate-api-key"
#: Claude Desktop runs mcp-remote with this variable set to `Bearer <key>`, from its config's `env`.
DESKTOP_HEADER_ENV = "TOOLGATE_AUTH_HEADER"
DESKTOP_KEY_PLACEHOLDER = "<your Toolgate API key>"
_ID_SHOWN = 80


def add_mcp_config_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    summary = "print the snippet that adds an assistant's MCP endpoint to an MCP client (never the key)"
    parser = subparsers.add_parser(
        "mcp-config",
        help=summary,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("assistant", help="the assistant's id")
    parser.add_argument(
        "--client",
        choices=sorted(SNIPPETS),
        default="generic",
        help="the MCP client to configure (default: %(default)s: the URL, header and key variable)",
    )
    parser.add_argument(
        "--endpoint", help=f"the API's base URL, the stack's ApiUrl output (default: ${ENDPOINT_ENV})"
    )
    parser.set_defaults(run=run_mcp_config)


def run_mcp_config(args: argparse.Namespace) -> int:
    snippet, where = mcp_config(args.assistant, args.client, args.endpoint or os.environ.get(ENDPOINT_ENV))
    sys.stdout.write(snippet + "\n")
    print(where, file=sys.stderr)
    return 0


def mcp_config(assistant: str, client: str, endpoint: str | None) -> tuple[str, str]:
    """The snippet for `client`, and a line telling where it goes."""
    if not endpoint:
        raise ClientConfigError(
            f"No endpoint: give --endpoint or set {ENDPOINT_ENV} to the stack's ApiUrl output "
            "(https://{api}.execute-api.{region}.amazonaws.com/prod/v1/)."
        )
    url = mcp_url(endpoint, assistant)
    return SNIPPETS[client](f"toolgate-{assistant}", url)


def mcp_url(endpoint: str, assistant: str) -> str:
    """The assistant's MCP endpoint under the API's base URL."""
    from toolgate.service.tenancy import is_resource_id

    if not is_resource_id(assistant):
        raise AssistantIdInvalidError(
            f"{assistant[:_ID_SHOWN]!r} is not an assistant id: ids are 1 to 63 lowercase letters, digits "
            "and dashes, starting with a letter or digit (see GET /v1/assistants)."
        )
    return f"{checked_endpoint(endpoint)}assistants/{assistant}/mcp"


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def claude_code(name: str, url: str) -> tuple[str, str]:
    header = f'"Authorization: Bearer ${API_KEY_ENV}"'
    command = f"claude mcp add --transport http {shlex.quote(name)} {shlex.quote(url)} --header {header}"
    return command, (
        f"Run this where {API_KEY_ENV} is set: your shell puts the key in the header, and Claude Code keeps "
        "it in its own config (add --scope user to use the assistant in every project)."
    )


def claude_desktop(name: str, url: str) -> tuple[str, str]:
    server = {
        "command": "npx",
        "args": [
            "-y",
            "mcp-remote",
            url,
            "--transport",
            "http-only",
            "--header",
            f"Authorization:${{{DESKTOP_HEADER_ENV}}}",
        ],
        "env": {DESKTOP_HEADER_ENV: f"Bearer {DESKTOP_KEY_PLACEHOLDER}"},
    }
    return _json({"mcpServers": {name: server}}), (
        "Merge into claude_desktop_config.json (Settings > Developer > Edit Config) and replace "
        f"{DESKTOP_KEY_PLACEHOLDER} with the key: Claude Desktop reads no shell environment, and runs "
        "the mcp-remote bridge (Node.js) to reach a URL with a header."
    )


def cursor(name: str, url: str) -> tuple[str, str]:
    server = {"url": url, "headers": {"Authorization": f"Bearer ${{env:{API_KEY_ENV}}}"}}
    return _json({"mcpServers": {name: server}}), (
        f"Merge into ~/.cursor/mcp.json (or .cursor/mcp.json in a project); Cursor reads {API_KEY_ENV} "
        "from the environment it was started in."
    )


def vscode(name: str, url: str) -> tuple[str, str]:
    document = {
        "inputs": [
            {
                "type": "promptString",
                "id": VSCODE_KEY_INPUT,
                "description": "Toolgate API key (tg_...)",
                "password": True,
            }
        ],
        "servers": {
            name: {
                "type": "http",
                "url": url,
                "headers": {"Authorization": f"Bearer ${{input:{VSCODE_KEY_INPUT}}}"},
            }
        },
    }
    return _json(document), (
        "Merge into .vscode/mcp.json (or MCP: Open User Configuration); VS Code asks for the key once "
        "and keeps it in its secret storage."
    )


def generic(name: str, url: str) -> tuple[str, str]:
    document = {
        "name": name,
        "transport": "streamable-http",
        "url": url,
        "header": "Authorization",
        "value": f"Bearer <the value of ${API_KEY_ENV}>",
        "api_key_env": API_KEY_ENV,
    }
    return _json(document), (
        "Give the client this URL over Streamable HTTP, with the header Authorization: Bearer and the key "
        f"from {API_KEY_ENV}."
    )


SNIPPETS: Mapping[str, Callable[[str, str], tuple[str, str]]] = {
    "claude": claude_code,
    "claude-desktop": claude_desktop,
    "cursor": cursor,
    "vscode": vscode,
    "generic": generic,
}
