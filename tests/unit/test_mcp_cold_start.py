"""What the MCP function's cold start may import beyond REST invoke's: its own modules and the SDK's
version-free types, nothing else (docs/mcp.md, "The function that serves MCP"). A new import here is a
cold-start cost every MCP client pays; widen the allowance only with its measured price in the docs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

ALLOWED = {
    "functions.mcp",
    "functions.mcp.handler",
    "toolgate.mcp",
    "toolgate.mcp.server",
    "toolgate.mcp.tasks",
    "toolgate.mcp.tools",
    "toolgate.service.catalog",
    # The MCP server's settings, a module of their own that REST invoke does not load.
    "toolgate.settings.mcp",
    # What REST invoke no longer loads (issue 16): `tools/list` renders with the MCP dialect, and MCP tasks
    # read jobs.
    "toolgate.dialects.render",
    "toolgate.service.jobs.queries",
    "toolgate.service.jobs.views",
    # The SDK's version-free models (mcp-types), and what they import.
    "mcp_types",
    "mcp_types._types",
    "mcp_types.jsonrpc",
    "mcp_types.version",
    "pydantic.alias_generators",
    "pydantic.networks",
    # Loaded by pydantic's first schema build: the SDK's models, now that invoke's own build on first use.
    "pydantic.plugin._loader",
}


def test_the_mcp_handler_cold_start_imports_nothing_beyond_invoke_but_its_modules_and_the_sdks_types() -> (
    None
):
    script = (
        "import json, sys\n"
        "import functions.invoke.handler\n"
        "before = set(sys.modules)\n"
        "import functions.mcp.handler\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    added = set(json.loads(completed.stdout))
    assert added - ALLOWED == set()
    # The per-revision models (`mcp_types.methods` and `mcp_types._v*`) above all: ~200 ms.
    assert not {name for name in added if name.startswith(("mcp_types.methods", "mcp_types._v"))}
