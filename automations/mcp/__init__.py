"""The MCP server at /mcp/ (issue 15, part 4): recruiters draft, confirm, list, pause and
resume automations from Claude Desktop or Claude Code with their API token.

`server` holds the tools and the JSON-RPC dispatch (no HTTP in it); `transport` is the Django
view speaking MCP's Streamable HTTP in stateless JSON-response mode. Both use the official
SDK's wire types (`mcp.types`), so what goes on the wire is the SDK's own shapes."""
