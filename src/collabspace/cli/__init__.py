"""The ``collab`` command line: thin commands over the Space API.

Every command module registers its commands on :data:`app.cli`; :func:`main`
is the single place where errors are turned into ``error:`` / ``hint:`` lines,
or, when the command was asked for ``--format json``, into one JSON object
``{"error", "hint", "kind"}`` on stderr.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from ..errors import CollabError
from . import board_cmds, compare_cmds, demo_cmds, gateway_cmds, mcp_cmds, results_cmds, serve_cmds, space_cmds, web_cmds  # noqa: F401  -- register the commands
from .app import cli, json_text, terminal_text

__all__ = ["cli", "main"]


def _debug(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("COLLAB_DEBUG", "") not in ("", "0")


def _json_mode(argv: list[str]) -> bool:
    """Whether the command line asks for ``--format json`` (its errors are then JSON too)."""
    return "--format=json" in argv or any(a == "--format" and b == "json" for a, b in zip(argv, argv[1:]))


def _fail(message: str, hint: str | None, code: int, *, kind: str, as_json: bool) -> None:
    if as_json:
        click.echo(json_text({"error": terminal_text(message), "hint": terminal_text(hint) if hint else None,
                              "kind": kind}), err=True)
        sys.exit(code)
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 1 on a collabspace error, 2 on a usage error."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = _json_mode(args)
    try:
        cli.main(args=args, prog_name="collab", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # a bare `collab` (or `collab gateway`): its help, and success
        click.echo(exc.format_message())
        sys.exit(0)
    except CollabError as exc:
        if _debug(args):
            traceback.print_exc()
        _fail(exc.message, exc.hint, 1, kind=type(exc).__name__, as_json=as_json)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "collab"
        _fail(exc.format_message().splitlines()[0], f"see: {command} --help", 2, kind="UsageError", as_json=as_json)
    except click.ClickException as exc:
        _fail(exc.format_message(), None, exc.exit_code, kind=type(exc).__name__, as_json=as_json)
    except click.Abort:
        _fail("aborted", None, 130, kind="Aborted", as_json=as_json)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 -- the one place internal errors are masked
        if _debug(args):
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc}", "rerun with --debug for the traceback, and report it", 70,
              kind="InternalError", as_json=as_json)
    sys.exit(0)
