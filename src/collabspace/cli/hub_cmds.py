"""``collab init hf://...``: the Hub set-up (bucket, files, leaderboard Space, Collection)."""

from __future__ import annotations

import sys

import click

from ..domain.setup.spec import Spec
from ..errors import InvalidInput
from ..hub_setup import connect, create_on_hub, plan_on_hub
from ..web.export import export_space_files, hub_bucket_url
from .app import note


def init_on_hub(url: str, spec: Spec, *, yes: bool, dry_run: bool, exist_ok: bool, private: bool) -> None:
    """Plan, confirm and run the set-up; print the agent prompt."""
    admin = connect()
    plan = plan_on_hub(url, spec, admin, private=private)
    note("collab init will use these names on the Hugging Face Hub:")
    for line in plan.describe():
        note(f"  {line}")
    if dry_run:
        note("dry run: nothing was created")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("confirmation needed to create resources on the Hub",
                               hint="re-run with --yes (or --dry-run to see the plan only)")
        click.confirm("Create them?", abort=True, err=True)
    page = export_space_files(spec, hub_bucket_url(plan.space_url) or "")
    setup = create_on_hub(plan, spec, admin, page_files=page, exist_ok=exist_ok, progress=note)
    click.echo(f"Created the {spec.task.title} space at {plan.space_url}")
    for item in setup.created:
        click.echo(f"  {item}")
    if setup.space_page:
        click.echo(f"  leaderboard page: {setup.space_page}")
    click.echo("\nPoint an agent at it with:\n")
    click.echo(setup.agent_prompt())
