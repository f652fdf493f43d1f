"""MCP frontend: the space as a handful of cheap tools (``collab mcp``)."""
