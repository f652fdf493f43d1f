"""``collab serve``: the live dashboard."""

from __future__ import annotations

import click

from ..errors import InvalidInput, require_extra
from ..space import Space
from .app import cli


@cli.command(name="serve")
@click.argument("space_arg", metavar="[SPACE]", required=False)
@click.option("--space", "space_url", envvar="COLLAB_SPACE", metavar="URL",
              help="The space, if not given as SPACE [env: COLLAB_SPACE].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on: a loopback address (there is no authentication yet; "
              "reach it from elsewhere through an SSH tunnel).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the dashboard in your browser.")
@click.option("--refresh", type=click.FloatRange(0.2, 3600), metavar="SECONDS",
              help="How often to look at the store (default: 1 on a folder, 10 on S3 and the Hub, "
              "where requests are billed).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST",
              help="Also answer requests for this Host name (NAME or NAME:PORT; repeat): by default only the "
              "bound address, localhost, 127.0.0.1 and [::1], so that a DNS-rebinding page cannot read the board.")
def serve_command(space_arg: str | None, space_url: str | None, host: str, port: int, open_browser: bool,
                  refresh: float | None, allow_hosts: tuple[str, ...]) -> None:
    """Serve the live dashboard of SPACE (a folder, s3://... or hf://buckets/...).

    The board as a chat, the leaderboard with its chart, claims and agents,
    updated within seconds as agents post and submit. Every page has a JSON
    twin under /api/ (e.g. /api/board, /api/leaderboard).
    """
    url = space_arg or space_url
    if not url:
        raise InvalidInput("no space given", hint="collab serve PATH|s3://BUCKET/PREFIX, or set COLLAB_SPACE")
    require_extra("starlette", "web")
    require_extra("uvicorn", "web")
    from ..web.app import check_bind, host_allow_list, serve

    check_bind(host)  # before reading anything: one error line and a hint
    host_allow_list(host, allow_hosts)
    space = Space.open(url)
    space.spec  # noqa: B018 -- fail with the usual error before starting a server on nothing
    serve(space, host, port, open_browser=open_browser, refresh=refresh, allow_hosts=allow_hosts)
