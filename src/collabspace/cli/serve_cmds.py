"""``collab serve``: the live dashboard."""

from __future__ import annotations

import errno
import shlex
import socket

import click

from ..errors import Conflict, InvalidInput, require_extra
from ..space import Space
from .app import check_local_space, cli


def check_port(host: str, port: int, *, retry: str) -> None:
    """Refuse, with one error and a hint, a port another program listens on (before the server starts,
    which would otherwise print its own traceback-like ``[Errno 98]`` and exit 3).

    Args:
        retry: the command to suggest with another port, without ``--port``.

    Raises:
        Conflict: the address is in use.
    """
    if port == 0:
        return  # the system picks a free one
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server sets it
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return  # anything else is the server's to report
            raise Conflict(f"port {port} on {host} is in use (another dashboard or program listens there)",
                           hint=f"stop it, or pick another port: {retry} --port {port + 1}") from None


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
    check_local_space(url)
    space = Space.open(url)
    space.spec  # noqa: B018 -- fail with the usual error before starting a server on nothing
    check_port(host, port, retry=f"collab serve {shlex.quote(url)}")
    serve(space, host, port, open_browser=open_browser, refresh=refresh, allow_hosts=allow_hosts)
