"""The MCP function: every assistant as an MCP server (Streamable HTTP, JSON answers)."""
