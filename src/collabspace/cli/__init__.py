"""The ``collab`` command line: thin commands over the Space API.

Every command module registers its commands on :data:`app.cli`; :func:`main`
is the single place where errors are turned into ``error:`` / ``hint:`` lines.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from ..errors import CollabError
from . import board_cmds, demo_cmds, mcp_cmds, results_cmds, serve_cmds, space_cmds, web_cmds  # noqa: F401  -- register the commands
from .app import cli

__all__ = ["cli", "main"]


def _debug(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("COLLAB_DEBUG", "") not in ("", "0")


def _fail(message: str, hint: str | None, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 1 on a collabspace error, 2 on a usage error."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=args, prog_name="collab", standalone_mode=False)
    except CollabError as exc:
        if _debug(args):
            traceback.print_exc()
        _fail(exc.message, exc.hint, 1)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "collab"
        _fail(exc.format_message().splitlines()[0], f"see: {command} --help", 2)
    except click.ClickException as exc:
        _fail(exc.format_message(), None, exc.exit_code)
    except click.Abort:
        _fail("aborted", None, 130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 -- the one place internal errors are masked
        if _debug(args):
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc}", "rerun with --debug for the traceback, and report it", 70)
    sys.exit(0)
