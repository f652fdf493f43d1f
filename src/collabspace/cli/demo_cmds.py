"""``collab demo DIR``: build the demo space, say what is in it, and serve the dashboard."""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..demo import build_demo, continue_live, summary
from ..domain import paths
from ..errors import CollabError, Conflict
from .app import cli, note
from .serve_cmds import check_port


def _dashboard(directory: str) -> Callable[..., Any]:
    """The dashboard's ``serve``, or a clear error before anything is built."""
    try:
        from ..web.app import serve
    except ImportError as exc:
        raise CollabError(
            f"the live dashboard is not available in this installation ({exc})",
            hint=f"build the demo without it: collab demo {directory} --no-serve",
        ) from None
    return serve


def _score(row: dict[str, Any]) -> str:
    detail = row["detail"].rsplit(", ", 1)[-1] if row.get("detail") else row["status"]
    return f"{row['score']:.4f} ({detail}) {row['experiment']!r} by {row['agent_id']}"


@cli.command()
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-serve", is_flag=True, help="Only build the space; do not start the dashboard.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The dashboard's address.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The dashboard's port.")
def demo(directory: Path, no_serve: bool, host: str, port: int) -> None:
    """Create a GSM8K demo space in DIR (which must be empty) and serve its live dashboard.

    Four scripted agents join, post, claim, ask and answer, and submit results:
    real baselines computed on the GSM8K test split and scored here, one
    self-reported score, and one leaked result that an organizer invalidates,
    with the result built on it flagged. While the dashboard runs, the agents
    carry on for a minute: one more baseline is proposed, scored and reported.

    Run again on a DIR that already holds the demo, it serves that space.
    """
    where = shlex.quote(str(directory))
    serve = None if no_serve else _dashboard(where)
    if serve is not None:
        check_port(host, port, retry=f"collab demo {where}")  # before anything is built
    full = directory.expanduser().resolve()
    if (full / paths.SPEC).is_file():
        if serve is None:
            raise Conflict(f"{full} already holds a collab space (the demo, built before?); nothing was built",
                           hint=f"serve it: collab serve {where}, or build a new one: collab demo ./demo-space-2")
        note(f"{full} already holds a collab space (the demo, built before?): serving it, as collab serve {where} does")
        serve(str(full), host, port, open_browser=False)
        return
    first = next(iter(sorted(full.iterdir())), None) if full.is_dir() else None
    if first is not None:
        raise Conflict(f"{full} holds other files (e.g. {first.name}) and no collab space; nothing was built",
                       hint="give the demo a new folder: collab demo ./demo-space-2")
    space = build_demo(str(directory))
    facts = summary(space)
    agents = ", ".join(f"{a['id']} ({a['model']}, {a['harness']})" for a in facts["agents"])
    claims = ", ".join(f"{n} {status}" for status, n in facts["claims"].items())
    results = ", ".join(f"{n} {status}" for status, n in facts["results"].items())
    click.echo(f"Built a demo {space.spec.task.title} space in {space.url}")
    click.echo(f"  agents:        {len(facts['agents'])}: {agents}")
    click.echo(f"  messages:      {facts['messages']} ({len(facts['types'])} types); claims: {claims}")
    click.echo(f"  results:       {sum(facts['results'].values())}: {results}")
    if facts["best_verified"]:
        click.echo(f"  best verified: {_score(facts['best_verified'])}")
    for row in facts["invalid"]:
        click.echo(f"  invalidated:   {row['file'].rsplit('/', 1)[-1]}, {_score(row)}")
        click.echo(f"                 {row['reason']}")
    if facts["flagged"]:
        flagged = ", ".join(k.rsplit("/", 1)[-1] for k in facts["flagged"])
        click.echo(f"  flagged:       {flagged} (builds on an invalid result)")
    note("\nExplore it:")
    for command in ("read --all", "leaderboard", "digest"):
        note(f"  collab {command} --space {where}")
    if serve is None:
        note(f"  collab serve {where}")
        return
    note("")
    stop = threading.Event()
    # the agents carry on for a minute, so the page shows posts and a result arriving live
    threading.Thread(target=continue_live, args=(space.url,), kwargs={"stop": stop}, daemon=True).start()
    try:
        serve(space.url, host, port, open_browser=False)  # prints where it listens
    finally:
        stop.set()
