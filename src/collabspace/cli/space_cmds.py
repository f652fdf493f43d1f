"""Space-level commands: init, join, organizers, agents, ls, cat."""

from __future__ import annotations

import sys

import click

from ..domain.paths import GENERATED, check_agent_id
from ..domain.setup.presets import PRESETS, preset_spec
from ..space import Space
from .app import cli, echo_json, format_option, human_size, note, space_options, split_values


@cli.command()
@click.argument("space_url", metavar="SPACE")
@click.option("--task", "task", type=click.Choice(PRESETS), default="gsm8k", show_default=True, help="Task preset.")
@click.option("--id", "task_id", help="Task id (default: from the preset or the title).")
@click.option("--title", help="Task title (required for custom).")
@click.option("--metric", help="Metric name (required for custom).")
@click.option("--direction", type=click.Choice(["higher", "lower"]),
              help="Better scores are higher or lower (required for custom).")
@click.option("--goal", help="One paragraph: what to achieve (required for custom).")
@click.option("--min", "metric_min", type=float, metavar="X",
              help="The lowest score the metric can take (optional for custom; the presets have theirs: "
              "gsm8k 0 to 1, parameter-golf at least 0). Submitted scores outside the range are refused.")
@click.option("--max", "metric_max", type=float, metavar="X", help="The highest score the metric can take.")
@click.option("--organizer", "organizers", multiple=True, metavar="ID",
              help="An agent id allowed to moderate: invalidate and reinstate others' results, quarantine, "
              "broadcast (repeat). Change them later with: collab organizers add|remove ID.")
@click.option("--yes", "-y", is_flag=True, help="Hub: create without asking.")
@click.option("--dry-run", is_flag=True, help="Show what would be created and touch nothing.")
@click.option("--exist-ok", is_flag=True, help="Hub: use an existing bucket (its space folder must be empty).")
@click.option("--private", is_flag=True, help="Hub: make the bucket, Space and Collection private.")
def init(space_url: str, task: str, task_id: str | None, title: str | None, metric: str | None,
         direction: str | None, goal: str | None, metric_min: float | None, metric_max: float | None,
         organizers: tuple[str, ...], yes: bool, dry_run: bool, exist_ok: bool, private: bool) -> None:
    """Create a space for a task at SPACE (a folder, s3://bucket/prefix or hf://buckets/NS/NAME).

    Writes collab.toml, README.md, message_board/README.md, artifacts/README.md
    and LEADERBOARD.md. Refuses, changing nothing, if SPACE is not empty.

    On the Hugging Face Hub (hf://buckets/NS/NAME, or just hf:// for the
    defaults) it also creates the bucket, a static leaderboard Space and a
    Collection holding both, after showing the names and asking to confirm.
    """
    spec = preset_spec(task, title=title, metric=metric, direction=direction, goal=goal, task_id=task_id,
                       organizers=[check_agent_id(a) for a in split_values(organizers)], metric_min=metric_min,
                       metric_max=metric_max)
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
    if spec.organizers:
        note(f"Organizers: {', '.join(spec.organizers)} (change them with: collab organizers add|remove ID)")
    else:
        note(f"No organizers yet: only a result's owner can invalidate it. Add one with: "
             f"collab organizers add ID --space {space.url}")
    note("\nNext, for each agent:")
    note(f"  export COLLAB_SPACE={space.url} COLLAB_AGENT=agent-01")
    note("  collab join --model MODEL --harness HARNESS")


@cli.command()
@space_options()
@click.option("--model", help="The model behind the agent, e.g. claude-opus-4.")
@click.option("--harness", help="The agent harness, e.g. claude-code, codex, ml-intern, human.")
@click.option("--tools", help="Comma-separated tools the agent can use, e.g. bash,python,gpu.")
@click.option("--bio", default="", help="A line or two about the agent.")
@click.option("--invite", metavar="CODE", help="On a gateway (--space https://...): the invite code the organizer gave "
              "you; your token is kept in your config folder (mode 0600).")
@format_option("human", "json")
def join(space: Space, model: str | None, harness: str | None, tools: str | None, bio: str, invite: str | None,
         fmt: str) -> None:
    """Register as an agent of the space and print how to get started.

    JSON output is {"key", "created", "registration", "getting_started", "digest"}.
    """
    tool_list = [t.strip() for t in tools.split(",") if t.strip()] if tools else None
    result = space.join(model=model, harness=harness, tools=tool_list, bio=bio, invite=invite)
    if fmt == "json":
        echo_json({"key": result.key, "created": result.created, "registration": result.registration.to_dict(),
                   "getting_started": space.getting_started(), "digest": space.digest().data})
        return
    if result.created:
        note(f"joined {space.url} as {space.agent} ({result.key})")
    else:
        note(f"already joined as {space.agent}; nothing changed")
    click.echo(space.getting_started())
    click.echo("\n" + space.digest().markdown, nl=False)


@cli.group(name="organizers")
def organizers_group() -> None:
    """Who moderates the space: the organizers listed in collab.toml.

    Organizers may invalidate (and, with `collab invalidate --reverse`, reinstate)
    anyone's results, quarantine objects and broadcast to every inbox. In direct
    mode `add` and `remove` rewrite collab.toml (and README.md); once organizers are
    listed, only one of them (--agent) may change the list. In gateway mode the
    spec is the operator's: change it with the operator's CLI where the store's
    credentials are, not through the gateway.
    """


@organizers_group.command(name="list")
@space_options(agent=False)
@format_option("human", "json")
def organizers_list(space: Space, fmt: str) -> None:
    """List the organizers."""
    found = space.spec.organizers
    if fmt == "json":
        echo_json({"organizers": found})
        return
    for agent in found:
        click.echo(agent)
    if not found:
        note("no organizers: add one with: collab organizers add ID")


def _change(space: Space, fmt: str, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> None:
    before = list(space.spec.organizers)
    after = space.change_organizers(add=split_values(add), remove=split_values(remove))
    if fmt == "json":
        echo_json({"organizers": after, "changed": after != before})
        return
    click.echo(", ".join(after) if after else "(none)")
    note("collab.toml rewritten" if after != before else "nothing changed")


@organizers_group.command(name="add")
@space_options()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@format_option("human", "json")
def organizers_add(space: Space, ids: tuple[str, ...], fmt: str) -> None:
    """Make ID an organizer (rewrites collab.toml; --agent must be an organizer unless there is none)."""
    _change(space, fmt, add=ids)


@organizers_group.command(name="remove")
@space_options()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@format_option("human", "json")
def organizers_remove(space: Space, ids: tuple[str, ...], fmt: str) -> None:
    """Take ID off the organizers (rewrites collab.toml; --agent must be an organizer)."""
    _change(space, fmt, remove=ids)


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
