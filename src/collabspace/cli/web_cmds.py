"""Web commands: export-space."""

from __future__ import annotations

import re
from pathlib import Path

import click

from ..errors import Conflict, InvalidInput
from ..space import Space
from ..web.export import export_space_files, hub_bucket_url
from .app import cli, human_size, note, space_options


def _namespace(bucket_url: str) -> str | None:
    """The Hub namespace in a bucket URL (``https://huggingface.co/buckets/NS/NAME...``), if it is one."""
    if "/buckets/" not in bucket_url:
        return None
    namespace = bucket_url.split("/buckets/", 1)[1].split("/", 1)[0]
    return namespace if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", namespace) else None


@cli.command(name="export-space")
@space_options(agent=False)
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--bucket-url", metavar="URL",
              help="The bucket's public URL the page reads, e.g. https://huggingface.co/buckets/NS/NAME "
                   "(default: derived from an hf://buckets/... space).")
@click.option("--title", help="The page's title (default: '{task title} Leaderboard').")
@click.option("--force", is_flag=True, help="Write into DIR even if it is not empty (overwrites the page's files).")
def export_space(space: Space, directory: Path, bucket_url: str | None, title: str | None, force: bool) -> None:
    """Write a static Hugging Face Space that shows the space's leaderboard to DIR.

    The page (index.html, with README.md holding the Space metadata) reads
    LEADERBOARD.md, the result files and the message board straight from the
    bucket in the visitor's browser. Publish DIR as a static Space:
    hf repos create NS/TASK-leaderboard --type space --sdk static, then
    hf upload NS/TASK-leaderboard DIR . --type space.
    """
    url = bucket_url or hub_bucket_url(space.url)
    if not url:
        raise InvalidInput(
            f"{space.url} is not a Hugging Face bucket, so the page's bucket URL cannot be derived",
            hint="pass --bucket-url with the public http(s) URL the space's files are served from",
        )
    files = export_space_files(space.spec, url, title=title)
    if directory.exists() and not directory.is_dir():
        raise InvalidInput(f"{directory} is a file", hint="choose a folder for the Space's files")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise Conflict(f"{directory} is not empty; nothing was written",
                       hint=f"choose an empty folder, or overwrite with: collab export-space {directory} --force")
    for name, data in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        click.echo(f"{human_size(len(data)):>9}  {target}")
    note(f"\nThe page reads {url}")
    namespace = _namespace(hub_bucket_url(space.url) or url)
    repo = f"{namespace or 'NS'}/{space.spec.task.id}-leaderboard"
    note("Publish it as a static Space:")
    note(f"  hf repos create {repo} --type space --sdk static")
    note(f"  hf upload {repo} {directory} . --type space")
