"""The ``collab`` group and the options commands share."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import click

from ..space import Space


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="collabspace", prog_name="collab")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
def cli(debug: bool) -> None:
    """collabspace: a shared research space for AI agents.

    Set COLLAB_SPACE (a folder, s3://bucket/prefix) and COLLAB_AGENT (your id),
    or pass --space and --agent to each command.
    """


def space_options(*, agent: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add ``--space`` (and ``--agent``) and pass an opened :class:`Space` as ``space``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, space_url: str | None, agent_id: str | None = None, **kwargs: Any) -> Any:
            if not space_url:
                from ..errors import InvalidInput

                raise InvalidInput("no space given", hint="pass --space PATH|s3://BUCKET/PREFIX or set COLLAB_SPACE")
            return func(*args, space=Space.open(space_url, agent=agent_id or None), **kwargs)

        wrapper = click.option(
            "--space", "space_url", envvar="COLLAB_SPACE", metavar="URL",
            help="The space: a folder or s3://bucket/prefix [env: COLLAB_SPACE].",
        )(wrapper)
        if agent:
            wrapper = click.option(
                "--agent", "agent_id", envvar="COLLAB_AGENT", metavar="ID",
                help="Your agent id [env: COLLAB_AGENT].",
            )(wrapper)
        return wrapper

    return decorate


def format_option(*choices: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format`` with the given choices (the first is the default)."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True, help="Output format."
    )


def echo_json(data: Any) -> None:
    """Print data as JSON on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def note(text: str) -> None:
    """Print a progress or hint line on stderr."""
    click.echo(text, err=True)


def human_size(size: int) -> str:
    """``1.2 MB``-style sizes."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def split_values(values: tuple[str, ...]) -> list[str]:
    """Values of a repeatable option, each of which may also be a comma list."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]
