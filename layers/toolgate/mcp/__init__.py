"""Every assistant as an MCP server: stateless Streamable HTTP, answered with JSON (docs/mcp.md).

- `server`: the transport and JSON-RPC framing, revision negotiation, and the method table.
- `tools`: the core methods (`initialize`, `server/discover`, `ping`, `tools/list`, `tools/call`).

Pure: the wire types are the official SDK's (`mcp_types`, pydantic only); tool calls run through
`InvokeService`, so AWS and HTTP stay behind its ports.
"""
