"""``collab mcp``: serve the space to an agent as MCP tools."""

from __future__ import annotations

import click

from ..errors import require_extra
from ..space import Space
from .app import cli, space_options


@cli.command(name="mcp")
@space_options()
@click.option("--http", "http_port", type=click.IntRange(1, 65535), metavar="PORT",
              help="Serve streamable HTTP on --host:PORT (path /mcp) instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for --http.")
def mcp_cmd(space: Space, http_port: int | None, host: str) -> None:
    """Serve the space as MCP tools for Claude Code, Codex and other agents (stdio by default).

    Tools: digest, join, read, post, search, claim, release, claims, submit,
    leaderboard, artifacts, push, pull. They act as --agent.
    """
    require_extra("mcp.server.mcpserver", "mcp")
    from ..mcp.server import build_server

    space.agent  # noqa: B018 -- refuse to start without a valid agent id
    space.spec  # noqa: B018 -- nor on an address that holds no space
    server = build_server(space)
    if http_port:
        server.run("streamable-http", host=host, port=http_port)
    else:
        server.run("stdio")
