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
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address for --http: a loopback address (there is no authentication yet).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST",
              help="With --http, also answer requests for this Host name (NAME or NAME:PORT; repeat).")
@click.option("--root", type=click.Path(exists=True, file_okay=False), metavar="DIR",
              help="The only folder push, pull, submit and score may touch (default with --http: the current directory; "
              "with stdio: no limit, the server is your own process).")
def mcp_cmd(space: Space, http_port: int | None, host: str, allow_hosts: tuple[str, ...], root: str | None) -> None:
    """Serve the space as MCP tools for Claude Code, Codex and other agents (stdio by default).

    Tools: digest, join, read, post, search, inbox, claim, release, claims, submit,
    score, leaderboard, invalidate, compare, artifacts, push, pull; they act as --agent.
    Also a digest resource (collab://digest) and a "start" prompt. With --http it prints
    its URL when it starts.

    Over --http, the server listens on loopback only, answers only its own Host names
    (--allow-host adds one) and confines the file tools to --root: absolute paths, '..'
    and hidden names (.env, .ssh, .git) are refused.
    """
    require_extra("mcp.server.mcpserver", "mcp")
    from ..mcp.server import Workdir, build_server, serve_http

    if http_port:
        from ..web.app import check_bind, host_allow_list

        check_bind(host, service="the MCP server")  # before anything else: one error line and a hint
        host_allow_list(host, allow_hosts)
    workdir = Workdir(root) if root is not None else None
    space.agent  # noqa: B018 -- refuse to start without a valid agent id
    space.spec  # noqa: B018 -- nor on an address that holds no space
    if http_port:
        serve_http(space, host, http_port, root=workdir.root if workdir else None, allow_hosts=allow_hosts)
    else:
        build_server(space, root=workdir).run("stdio")
