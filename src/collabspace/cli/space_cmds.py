"""Space-level commands: init, join, agents, ls, cat."""

from __future__ import annotations

import sys

import click

from ..domain.paths import GENERATED
from ..domain.setup.presets import PRESETS, preset_spec
from ..space import Space
from .app import cli, echo_json, format_option, human_size, note, space_options


@cli.command()
@click.argument("space_url", metavar="SPACE")
@click.option("--task", "task", type=click.Choice(PRESETS), default="gsm8k", show_default=True, help="Task preset.")
@click.option("--id", "task_id", help="Task id (default: from the preset or the title).")
@click.option("--title", help="Task title (required for custom).")
@click.option("--metric", help="Metric name (required for custom).")
@click.option("--direction", type=click.Choice(["higher", "lower"]), help="Better scores are higher or lower (custom).")
@click.option("--goal", help="One paragraph: what to achieve (required for custom).")
@click.option("--yes", "-y", is_flag=True, help="Hub: create without asking.")
@click.option("--dry-run", is_flag=True, help="Show what would be created and touch nothing.")
@click.option("--exist-ok", is_flag=True, help="Hub: use an existing bucket (its space folder must be empty).")
@click.option("--private", is_flag=True, help="Hub: make the bucket, Space and Collection private.")
def init(space_url: str, task: str, task_id: str | None, title: str | None, metric: str | None,
         direction: str | None, goal: str | None, yes: bool, dry_run: bool, exist_ok: bool, private: bool) -> None:
    """Create a space for a task at SPACE (a folder, s3://bucket/prefix or hf://buckets/NS/NAME).

    Writes collab.toml, README.md, message_board/README.md, artifacts/README.md
    and LEADERBOARD.md. Refuses, changing nothing, if SPACE is not empty.

    On the Hugging Face Hub (hf://buckets/NS/NAME, or just hf:// for the
    defaults) it also creates the bucket, a static leaderboard Space and a
    Collection holding both, after showing the names and asking to confirm.
    """
    spec = preset_spec(task, title=title, metric=metric, direction=direction, goal=goal, task_id=task_id)
    if space_url.startswith("hf:"):
        from .hub_cmds import init_on_hub

        init_on_hub(space_url, spec, yes=yes, dry_run=dry_run, exist_ok=exist_ok, private=private)
        return
    if dry_run:
        note(f"dry run: would write to {space_url}:")
        for key in GENERATED:
            note(f"  {key}")
        return
    space = Space.init(space_url, spec)
    click.echo(f"Created the {spec.task.title} space at {space.url}")
    for info in space.ls():
        click.echo(f"  {info.key}")
    note("\nNext, for each agent:")
    note(f"  export COLLAB_SPACE={space.url} COLLAB_AGENT=agent-01")
    note("  collab join --model MODEL --harness HARNESS")


@cli.command()
@space_options()
@click.option("--model", help="The model behind the agent, e.g. claude-opus-4.")
@click.option("--harness", help="The agent harness, e.g. claude-code, codex, ml-intern, human.")
@click.option("--tools", help="Comma-separated tools the agent can use, e.g. bash,python,gpu.")
@click.option("--bio", default="", help="A line or two about the agent.")
def join(space: Space, model: str | None, harness: str | None, tools: str | None, bio: str) -> None:
    """Register as an agent of the space and print how to get started."""
    tool_list = [t.strip() for t in tools.split(",") if t.strip()] if tools else None
    result = space.join(model=model, harness=harness, tools=tool_list, bio=bio)
    if result.created:
        note(f"joined {space.url} as {space.agent} ({result.key})")
    else:
        note(f"already joined as {space.agent}; nothing changed")
    click.echo(space.getting_started())
    click.echo("\n" + space.digest().markdown, nl=False)


@cli.command(name="agents")
@space_options(agent=False)
@format_option("human", "json")
def agents_cmd(space: Space, fmt: str) -> None:
    """List the registered agents."""
    regs = space.agents()
    if fmt == "json":
        echo_json([r.to_dict() for r in regs])
        return
    for r in regs:
        joined = r.to_dict()["joined"] or ""
        click.echo(f"{r.agent:<24} {r.model or '-':<28} {r.harness or '-':<14} {joined}")


@cli.command()
@space_options(agent=False)
@click.argument("prefix", default="")
@format_option("human", "json")
def ls(space: Space, prefix: str, fmt: str) -> None:
    """List the objects in the space (under PREFIX)."""
    infos = space.ls(prefix)
    if fmt == "json":
        echo_json([
            {"key": i.key, "size": i.size, "last_modified": i.last_modified.isoformat() if i.last_modified else None}
            for i in infos
        ])
        return
    for i in infos:
        when = i.last_modified.strftime("%Y-%m-%d %H:%M") if i.last_modified else ""
        click.echo(f"{human_size(i.size):>9}  {when:16}  {i.key}")


@cli.command()
@space_options(agent=False)
@click.argument("key")
def cat(space: Space, key: str) -> None:
    """Print one object of the space to stdout."""
    data = space.cat(key)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
