"""The CLI reference (docs/cli.md), generated from the commands' own help so it cannot drift.

    python -m collabspace.cli.docs > docs/cli.md
"""

from __future__ import annotations

import click

from . import cli

_SETTINGS = {"terminal_width": 100, "max_content_width": 100, "help_option_names": ["-h", "--help"]}


def _sections(command: click.Command, ctx: click.Context) -> list[str]:
    """The ``## collab ...`` section of ``command`` and, for a group, of each of its commands, in name order."""
    out = [f"## {ctx.command_path}", "", "```", command.get_help(ctx), "```", ""]
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                # info_name is the command's own name: the parent context supplies the "collab ..." before it
                out += _sections(sub, click.Context(sub, info_name=name, parent=ctx, **_SETTINGS))
    return out


def render_cli_docs() -> str:
    """Markdown with the ``--help`` of ``collab`` and of every command (and sub-command), in name order."""
    out = ["# `collab` command reference", "", "Generated from the commands' help by "
           "`python -m collabspace.cli.docs > docs/cli.md`; `tests/test_cli_docs.py` keeps it current.", ""]
    root = click.Context(cli, info_name="collab", **_SETTINGS)
    return "\n".join(out + _sections(cli, root))


if __name__ == "__main__":
    click.echo(render_cli_docs(), nl=False)
