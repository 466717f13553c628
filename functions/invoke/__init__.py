"""The invoke function: tool calls for agents, and pages of large results."""
