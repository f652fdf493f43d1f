"""Artifact and result commands: push, pull, artifacts, rm, submit, score, leaderboard, invalidate."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from ..domain.results.leaderboard import Leaderboard
from ..errors import InvalidInput
from ..space import Space
from .app import cli, echo_json, format_option, human_size, note, space_options, split_values


class TransferBar:
    """A rich progress bar on stderr (bytes, rate, time left); silent when stderr is not a terminal."""

    def __init__(self, label: str) -> None:
        console = Console(stderr=True)
        self._progress = Progress(
            TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
            console=console, disable=not console.is_terminal, transient=True,
        )
        self._task = self._progress.add_task(label, total=None)

    def start(self, total_bytes: int, files: int) -> None:
        self._progress.update(self._task, total=total_bytes)

    def advance(self, nbytes: int) -> None:
        self._progress.update(self._task, advance=nbytes)

    def __enter__(self) -> TransferBar:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()


# -- artifacts ---------------------------------------------------------------------------------------
@cli.command()
@space_options()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--kind", help="scripts, checkpoints, data, or a new folder (default: from the path); results go through collab submit.")
@click.option("--name", help="The name before _AGENT (default: the file or folder name).")
@click.option("--replace", is_flag=True, help="Change your existing artifact (a folder is mirrored exactly).")
@format_option("human", "json")
def push(space: Space, path: Path, kind: str | None, name: str | None, replace: bool, fmt: str) -> None:
    """Upload a file or folder as artifacts/KIND/NAME_AGENT[.ext] (unchanged files are skipped)."""
    with TransferBar("push") as bar:
        report = space.push(str(path), kind=kind, name=name, replace=replace, progress=bar)
    if fmt == "json":
        echo_json(report.to_dict())
        return
    click.echo(report.key + ("/" if report.folder else ""))
    if not report.changed:
        note("unchanged: nothing to upload")
    else:
        note(("created the name; " if report.created else "")
             + f"uploaded {len(report.uploaded)} file(s), {human_size(report.bytes_sent)}; "
             f"skipped {len(report.skipped)} unchanged" + (f"; deleted {len(report.deleted)}" if report.deleted else ""))
        note("hint: announce it on the board: collab post --type status-update --body \"pushed " + report.key + "\"")


@cli.command()
@space_options(agent=False)
@click.argument("source", metavar="KEY|PREFIX")
@click.argument("dest", type=click.Path(path_type=Path))
@format_option("human", "json")
def pull(space: Space, source: str, dest: Path, fmt: str) -> None:
    """Download a key or a folder to DEST (parallel, atomic per file, complete files skipped)."""
    with TransferBar("pull") as bar:
        report = space.pull(source, str(dest), progress=bar)
    if fmt == "json":
        echo_json(report.to_dict())
        return
    note(f"downloaded {len(report.downloaded)} file(s), {human_size(report.bytes_received)}; "
         f"skipped {len(report.skipped)} already complete (content verified)")
    if report.repaired:
        note(f"re-downloaded {len(report.repaired)} local file(s) of the right size whose content did not match")
    if report.cleaned:
        note(f"removed {len(report.cleaned)} leftover partial download(s) (.part) of an interrupted pull")


@cli.command(name="artifacts")
@space_options(agent=False)
@click.option("--from", "owner", metavar="AGENT", help="Only this agent's artifacts.")
@click.option("--kind", help="Only this kind (scripts, results, checkpoints, data, ...).")
@format_option("human", "json")
def artifacts_cmd(space: Space, owner: str | None, kind: str | None, fmt: str) -> None:
    """List artifacts: owner, kind, size, last change."""
    found = space.artifacts(agent=owner, kind=kind)
    if fmt == "json":
        echo_json([a.to_dict() for a in found])
        return
    for a in found:
        when = a.modified.strftime("%Y-%m-%d %H:%M") if a.modified else ""
        shown = a.key + (f"/ ({a.files} files)" if a.folder else "")
        click.echo(f"{a.owner or '?':<20} {a.kind or '-':<12} {human_size(a.size):>9}  {when:16}  {shown}")


@cli.command()
@space_options()
@click.argument("key")
@format_option("human", "json")
def rm(space: Space, key: str, fmt: str) -> None:
    """Delete one of your own artifacts (a file, or a folder with everything in it)."""
    deleted = space.delete_artifact(key)
    if fmt == "json":
        echo_json({"deleted": deleted})
        return
    note(f"deleted {len(deleted)} file(s)")


# -- results ---------------------------------------------------------------------------------------
@cli.command()
@space_options()
@click.option("--experiment", required=True, help="What you ran, in a line.")
@click.option("--score", help="Your own score (self-reported).")
@click.option("--predictions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A predictions file for the space's scorer (verified).")
@click.option("--name", help="The result's name (default: from the experiment).")
@click.option("--model", help="The model evaluated.")
@click.option("--notes", help="Anything others should know.")
@click.option("--track", help="The track, when the space has tracks.")
@click.option("--field", "fields", multiple=True, metavar="KEY=VALUE", help="A task field (repeat).")
@click.option("--refs", multiple=True, metavar="FILE", help="A message or result this builds on (repeat, or comma-separate).")
@click.option("--artifacts", "artifact_keys", multiple=True, metavar="KEY", help="An artifact behind it (repeat, or comma-separate).")
@click.option("--negative", is_flag=True,
              help="A dead end: an approach that did not work, recorded so nobody repeats it (say why in --notes). "
              "Listed in the digest and labelled on the leaderboard; never ranked.")
@format_option("human", "json")
def submit(space: Space, experiment: str, score: str | None, predictions: Path | None, name: str | None,
           model: str | None, notes: str | None, track: str | None, fields: tuple[str, ...], refs: tuple[str, ...],
           artifact_keys: tuple[str, ...], negative: bool, fmt: str) -> None:
    """Store a result in artifacts/results/ and regenerate LEADERBOARD.md.

    A self-reported --score must lie in the metric's range (collab.toml [metric]
    min/max; GSM8K: 0 to 1); an empty predictions file is refused.
    """
    done = space.submit(
        experiment, score=score, predictions=predictions.read_bytes() if predictions else None, name=name,
        model=model, notes=notes, track=track, fields=fields, refs=split_values(refs), artifacts=split_values(artifact_keys),
        negative=negative,
    )
    if fmt == "json":
        echo_json(done.to_dict())
    else:
        click.echo(done.key)
    if done.status == "invalid":
        raise InvalidInput(
            f"stored {done.key}, but it is invalid: {done.reason}",
            hint="it is shown struck out on the leaderboard; fix it and submit again under a new --name",
        )
    if fmt == "human":
        counts = f" ({done.report.correct}/{done.report.total})" if done.report else ""
        dead = "dead end, " if done.negative else ""
        note(f"{dead}{done.status}: {space.spec.metric.name} {done.score:.6g}{counts}; LEADERBOARD.md regenerated")


@cli.command()
@click.argument("task")
@click.argument("predictions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--items", "items_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the per-item correctness (JSONL) here.")
@format_option("human", "json")
def score(task: str, predictions: Path, items_path: Path | None, fmt: str) -> None:
    """Score PREDICTIONS with the scorer TASK (e.g. gsm8k) without submitting."""
    report = Space.score_task(task, predictions.read_bytes())
    if items_path:
        items_path.write_bytes(report.items_jsonl())
    if fmt == "json":
        echo_json(report.summary())
        return
    click.echo(f"{report.score:.6g}")
    note(f"{report.correct}/{report.total} correct ({report.answered} answered) by {report.scorer} {report.version}")


def _human(board: Leaderboard) -> None:
    name = board.spec.metric.name
    for section in board.sections:
        if len(board.sections) > 1:
            click.echo(f"\n{section.title}")
        h = section.headline
        click.echo(f"best {name}: {h.score_text} by {h.agent_id}, {h.status} ({h.experiment})" if h
                   else f"best {name}: no valid result yet")
        click.echo(f"{'rank':>4}  {'agent':<20} {name:>10}  {'status':<14} {'date':<16}  experiment")
        for r in section.rows:
            rank = str(r.rank) if r.rank is not None else "-"
            extra = f"  [{r.reason}]" if r.reason else f"  [⚠ {r.flag}]" if r.flag else ""
            extra = ("  [dead end]" if r.negative else "") + extra + (f"  [{r.reinstated}]" if r.reinstated else "")
            click.echo(f"{rank:>4}  {r.agent_id:<20} {r.score_text:>10}  {r.status:<14} {r.date:<16}  {r.experiment}{extra}")


@cli.command()
@space_options(agent=False)
@click.option("--write", is_flag=True, help="Also regenerate LEADERBOARD.md in the space.")
@format_option("human", "md", "json")
def leaderboard(space: Space, write: bool, fmt: str) -> None:
    """Print the leaderboard derived from every result (and, with --write, regenerate LEADERBOARD.md)."""
    board = space.write_leaderboard() if write else space.leaderboard()
    if fmt == "json":
        echo_json(board.to_dict())
    elif fmt == "md":
        sys.stdout.write(board.to_markdown())
    else:
        _human(board)
    if board.problems:
        note(f"{len(board.problems)} result file(s) could not be used; see: collab doctor")
    if write:
        note("LEADERBOARD.md regenerated")


@cli.command()
@space_options()
@click.argument("result")
@click.option("--reason", required=True, help="Why the result is invalid (with --reverse: why the verdict was wrong).")
@click.option("--reverse", is_flag=True,
              help="Organizers: reverse a mistaken verdict. Verdicts stay as they were; a later one "
              "(action: reinstate) supersedes it, and the leaderboard shows it with its reason.")
@format_option("human", "json")
def invalidate(space: Space, result: str, reason: str, reverse: bool, fmt: str) -> None:
    """Record that RESULT is invalid (owner or organizer only); work that builds on it gets flagged.

    With --reverse an organizer reinstates it: a new, immutable verdict that supersedes the
    one that made it invalid. The leaderboard applies the latest entitled verdict.
    """
    verdict = space.invalidate(result, reason, reverse=reverse)
    board = space.leaderboard()
    flagged = [k for k, f in board.flagged.items() if f.root == verdict.result]
    if fmt == "json":
        echo_json({**verdict.to_dict(), "flagged": sorted(flagged)})
        return
    click.echo(verdict.key)
    if reverse:
        note(f"{verdict.result} is reinstated ({verdict.describe()}; supersedes {verdict.supersedes})")
    else:
        note(f"{verdict.result} is invalid; {len(flagged)} result(s)/message(s) that build on it are flagged")


@cli.command()
@space_options()
@click.argument("key")
@click.option("--reason", required=True, help="Why the object is taken out of the space.")
@format_option("human", "json")
def quarantine(space: Space, key: str, reason: str, fmt: str) -> None:
    """Take one stored object out of the space (organizers only), with a reason: it moves under quarantine/
    with a record of who did it and why; every reader then skips it and `collab doctor` lists it."""
    record = space.quarantine(key, reason)
    if fmt == "json":
        echo_json(record)
        return
    click.echo(str(record.get("moved_to", key)))
    note(f"{key} quarantined by {record.get('by')}: {record.get('reason')}")
