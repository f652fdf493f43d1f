"""The CLI reference (docs/cli.md), generated from the commands' own help so it cannot drift.

    python -m collabspace.cli.docs > docs/cli.md
"""

from __future__ import annotations

import click

from . import cli


def render_cli_docs() -> str:
    """Markdown with the ``--help`` of ``collab`` and of every command, in name order."""
    out = ["# `collab` command reference", "", "Generated from the commands' help by "
           "`python -m collabspace.cli.docs > docs/cli.md`; `tests/test_cli_docs.py` keeps it current.", ""]
    settings = {"terminal_width": 100, "max_content_width": 100, "help_option_names": ["-h", "--help"]}
    root = click.Context(cli, info_name="collab", **settings)
    out += ["## collab", "", "```", cli.get_help(root), "```", ""]
    for name in sorted(cli.list_commands(root)):
        command = cli.get_command(root, name)
        ctx = click.Context(command, info_name=f"collab {name}", parent=root, **settings)
        out += [f"## collab {name}", "", "```", command.get_help(ctx), "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    click.echo(render_cli_docs(), nl=False)
