"""The demo's MCP step against a real HTTP server on 127.0.0.1 that refuses it: `make demo` must stop with
a line that says what failed, not an SDK traceback, and must not print the key it sent."""

from __future__ import annotations

from toolgate_demo.journey import EXPORT, MCP_CASE, JourneyError
from toolgate_demo.mcp_step import run_mcp_step

from tests.integration.runtime_servers import Reply, Seen, json_reply, serve

AGENT_KEY = "tg_acme_0123456789abcdef_secret-part-of-the-agent-key"


def test_an_mcp_server_refusing_the_key_stops_the_demo_with_a_journey_error_not_a_traceback() -> None:
    def refuse(_: Seen) -> Reply:
        return json_reply(b'{"message": "Unauthorized"}', status=401)

    said: list[str] = []
    with serve(refuse) as server:
        url = f"{server.url}/prod/v1/assistants/desk/mcp"
        try:
            run_mcp_step(url, AGENT_KEY, MCP_CASE, EXPORT, say=said.append, timeout=30)
        except JourneyError as error:
            refused = error
        else:
            raise AssertionError("the step went on past a refused key")

    assert str(refused).startswith(f"the MCP client failed at {url}: ")
    assert refused.__cause__ is None and refused.__suppress_context__
    assert server.seen and server.seen[0].header("Authorization") == f"Bearer {AGENT_KEY}"
    assert all("secret-part" not in text for text in [str(refused), *said])
