"""The leaderboard: derived from the spec's baselines, the results and the verdicts, never edited.

``LEADERBOARD.md`` is GitHub-style pipe tables, best first in the metric's
direction (the template's static leaderboard Space parses the first one): one
table of every result per track, then the best result of each agent.

Concurrent submitters never lose a row for good. Each regeneration renders the
full listing, writes, then lists again: if a result appeared meanwhile it
renders and writes again. Whichever write lands last was followed by a listing
that showed nothing new, so it holds every result stored before it. A writer
whose listing is behind the published table (fewer results) waits and re-lists
instead of writing it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import NotFound
from ..storage import Store
from . import invalidation, paths
from .objectcache import ObjectCache
from .problems import Problem
from .results import Result, is_result_key, limit_violations, read_results
from .spec import Spec

_COUNT = re.compile(r"<!-- collabspace:leaderboard results=(\d+) -->")
#: Two scores closer than this are the same score (a verified score is correct/total).
_EPS = 1e-9


@dataclass(frozen=True)
class Row:
    """One line of a leaderboard table: a baseline or a result."""

    rank: int | None
    agent_id: str
    score: float
    experiment: str
    status: str  # "baseline", "verified", "self-reported" or "invalid"
    model: str = ""
    date: str = ""
    file: str = ""
    track: str | None = None
    reason: str | None = None  # why it is invalid
    flag: str | None = None  # why it is flagged: it builds on an invalid result
    detail: str = ""  # e.g. "gsm8k 1.0, 950/1319"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "agent_id": self.agent_id, "score": self.score, "experiment": self.experiment,
            "status": self.status, "model": self.model, "date": self.date, "file": self.file, "track": self.track,
            "reason": self.reason, "flag": self.flag, "detail": self.detail,
        }


@dataclass
class Section:
    """The rows of one track (``track`` is ``None`` when the spec has no tracks)."""

    track: str | None
    title: str
    rows: list[Row]
    best: list[Row]


@dataclass
class Leaderboard:
    """The whole derived leaderboard.

    Attributes:
        sections: one per track (a single one without tracks), rows in table order.
        flagged: result or message key -> why it is flagged.
        problems: result and verdict files that could not be used (for ``collab doctor``).
        result_keys: every result read, valid or not.
        sources: every file it was built from (results, unusable ones included, and verdicts).
    """

    spec: Spec
    sections: list[Section]
    flagged: dict[str, invalidation.Flag] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    result_keys: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()

    @property
    def rows(self) -> list[Row]:
        """Every row of every section, in table order (baselines have rank ``None``)."""
        return [row for s in self.sections for row in s.rows]

    @property
    def entries(self) -> list[Row]:
        """The ranked results of the first section, best first (what a digest shows the top of)."""
        return self.top(n=len(self.result_keys))

    @property
    def best(self) -> list[Row]:
        """The best valid result of each agent, per section."""
        return [row for s in self.sections for row in s.best]

    def top(self, n: int = 5, track: str | None = None) -> list[Row]:
        """The ``n`` best ranked results (no baselines, nothing invalid), of one track or the first."""
        section = next((s for s in self.sections if s.track == track), self.sections[0] if self.sections else None)
        return [r for r in section.rows if r.rank is not None][:n] if section else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.spec.metric.name,
            "direction": self.spec.metric.direction,
            "results": len(self.result_keys),
            "rows": [r.to_dict() for r in self.rows],
            "best": [r.to_dict() for r in self.best],
            "flagged": {k: f.to_dict() for k, f in sorted(self.flagged.items())},
            "problems": [p.to_dict() for p in self.problems],
        }

    def to_markdown(self) -> str:
        return render_markdown(self)


# -- building -------------------------------------------------------------------------------
def _date(result: Result) -> str:
    return result.timestamp.strftime("%Y-%m-%d %H:%M") if result.timestamp else ""


def _verified(spec: Spec, result: Result, present: set[str]) -> tuple[bool, str | None]:
    """Whether a result's verification holds up, else why not (``None``: it claims none)."""
    v = result.verification
    if v is None:
        return False, ("says it is verified but has no verification block"
                       if result.raw.get("status") == "verified" else None)
    if v.total <= 0 or not 0 <= v.correct <= v.total or abs(result.score - v.correct / v.total) > _EPS:
        return False, f"verification does not match the score ({v.correct}/{v.total} vs {result.score})"
    if v.items not in present or v.items != paths.items_key(result.key):
        return False, f"verification names a per-item file that is not next to it ({v.items})"
    if spec.scorer is None or v.scorer != spec.scorer.name:
        return False, f"verified by scorer {v.scorer!r}, but this space scores with {spec.scorer.name if spec.scorer else 'none'}"
    return True, None


def build(
    spec: Spec,
    results: list[Result],
    *,
    present: set[str],
    verdicts: list[invalidation.Verdict] = (),  # type: ignore[assignment]
    messages: Callable[[], dict[str, list[str]]] | None = None,
    problems: list[Problem] | None = None,
) -> Leaderboard:
    """Rank ``results`` under ``spec``.

    Args:
        present: every key of the results folder (to check per-item files exist).
        verdicts: the space's verdicts; one by neither the owner nor an organizer is ignored and reported.
        messages: returns message key -> refs, for flagging messages that build on invalid
            results; called only when something is invalid (reading the board costs requests).
        problems: problems found while reading, carried into the leaderboard.
    """
    problems = list(problems or [])
    by_key = {r.key: r for r in results}
    invalid: dict[str, str] = {}
    for v in sorted(verdicts, key=lambda v: v.key):
        target = by_key.get(v.result) or by_key.get(paths.RESULTS + v.result.rsplit("/", 1)[-1])
        if target is None:
            problems.append(Problem(v.key, f"verdict on {v.result}, which is not a result here"))
        elif v.by != target.owner and v.by not in spec.organizers:
            problems.append(Problem(v.key, f"verdict by {v.by}, who is neither the owner ({target.owner}) nor an organizer; ignored"))
        else:
            invalid.setdefault(target.key, f"invalidated by {v.by}: {v.reason}")
    for r in results:
        broken = limit_violations(spec, r)
        if broken and r.key not in invalid:
            invalid[r.key] = "; ".join(broken)
    graph: dict[str, list[str]] = {r.key: r.refs + r.artifacts for r in results}
    if invalid and messages is not None:
        graph.update(messages())
    flagged = invalidation.propagate(graph, invalid) if invalid else {}

    track_ids = [t.id for t in spec.tracks]
    groups: dict[str | None, list[Row]] = {t: [] for t in track_ids} if track_ids else {None: []}
    for r in results:
        ok, why = _verified(spec, r, present)
        if why:
            problems.append(Problem(r.key, why))
        track = r.track if track_ids else None
        if track_ids and track not in groups:
            problems.append(Problem(r.key, f"track {r.track!r} is not one of the spec's ({', '.join(track_ids)})"))
            track = "(none)"
            groups.setdefault(track, [])
        v = r.verification
        groups[track].append(Row(
            rank=None, agent_id=r.agent_id, score=r.score, experiment=r.experiment,
            status="invalid" if r.key in invalid else "verified" if ok else "self-reported",
            model=r.model, date=_date(r), file=r.key, track=track, reason=invalid.get(r.key),
            flag=flagged[r.key].reason() if r.key in flagged else None,
            detail=f"{v.scorer} {v.version}, {v.correct}/{v.total}" if ok and v else "",
        ))
    sections = []
    for track, rows in groups.items():
        title = "All results" if track is None else f"Track `{track}`" if track != "(none)" else "Results without a known track"
        sections.append(_section(spec, track, title, rows))
    return Leaderboard(spec, sections, flagged, problems, frozenset(by_key))


def _section(spec: Spec, track: str | None, title: str, rows: list[Row]) -> Section:
    sign = -1 if spec.metric.direction == "higher" else 1

    def order(row: Row) -> tuple[float, str, str]:
        return (sign * row.score, row.date, row.file)

    valid = sorted((r for r in rows if r.status != "invalid"), key=order)
    baselines = [
        Row(rank=None, agent_id="baseline", score=b.score, experiment=b.name, status="baseline", model=b.notes, track=track)
        for b in spec.baselines
        if b.track is None or b.track == track
    ]
    merged = sorted(valid + baselines, key=lambda r: (sign * r.score, r.status != "baseline", r.date, r.file))
    ranked: list[Row] = []
    rank = 0
    for row in merged:
        if row.status != "baseline":
            rank += 1
            row = Row(**{**row.__dict__, "rank": rank})
        ranked.append(row)
    invalid = sorted((r for r in rows if r.status == "invalid"), key=order)
    best: list[Row] = []
    seen: set[str] = set()
    for row in ranked:
        if row.rank is not None and row.agent_id not in seen:
            seen.add(row.agent_id)
            best.append(Row(**{**row.__dict__, "rank": len(best) + 1}))
    return Section(track, title, ranked + invalid, best)


# -- rendering -------------------------------------------------------------------------------
def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _strike(text: str) -> str:
    return f"~~{text}~~" if text else ""


def _status(row: Row) -> str:
    if row.status == "invalid":
        return f"invalid: {_cell(row.reason or '')}"
    text = f"{row.status} ({row.detail})" if row.detail else row.status
    return f"{text} ⚠ {row.flag}" if row.flag else text


def _table(spec: Spec, rows: list[Row], *, best: bool = False) -> list[str]:
    lines = [
        f"| rank | agent | {_cell(spec.metric.name)} | experiment | model | status | date | result |",
        "|---:|---|---:|---|---|---|---|---|",
    ]
    for r in rows:
        link = f"[{r.file.rsplit('/', 1)[-1]}]({r.file})" if r.file else ""
        cells = [_cell(r.agent_id), f"{r.score:.6g}", _cell(r.experiment), _cell(r.model)]
        if r.status == "invalid":
            cells = [_strike(c) for c in cells]
        rank = str(r.rank) if r.rank is not None else "-"
        lines.append(f"| {rank} | {' | '.join(cells)} | {_status(r)} | {r.date} | {link} |")
    if best and len(rows) == 0:
        lines.append("| | no valid results yet | | | | | | |")
    return lines


def render_markdown(board: Leaderboard) -> str:
    """The whole ``LEADERBOARD.md``."""
    spec = board.spec
    arrow = "higher is better" if spec.metric.direction == "higher" else "lower is better"
    out = [
        f"# {spec.task.title} Leaderboard",
        "",
        f"Metric: **{spec.metric.name}** ({arrow}). Generated by collabspace from the result files in "
        "`artifacts/results/`: do not edit by hand; `collab leaderboard --write` regenerates it.",
        "",
        "Status: **verified** = scored by collabspace from the predictions (the per-item file sits next to the "
        "result); **self-reported** = the agent's own number; ~~struck out~~ = invalid, with the reason; "
        "⚠ = builds on an invalid result. Baseline rows are reference points, not ranked.",
        "",
        f"<!-- collabspace:leaderboard results={len(board.result_keys)} -->",
    ]
    for section in board.sections:
        out += ["", f"## {section.title}", ""]
        out += _table(spec, section.rows)
        out += ["", "### Best per agent" if spec.tracks else "## Best per agent", ""]
        out += _table(spec, section.best, best=True)
    messages = sorted(k for k in board.flagged if k.startswith(paths.BOARD))
    if messages:
        out += ["", "## Messages that build on invalid results", ""]
        out += [f"- [{k.rsplit('/', 1)[-1]}]({k}): {board.flagged[k].reason()}" for k in messages]
    if board.problems:
        n = len(board.problems)
        out += ["", f"> {n} file{'s' if n > 1 else ''} could not be used as {'they are' if n > 1 else 'it is'}: "
                "run `collab doctor` for details."]
    return "\n".join(out) + "\n"


# -- loading and regenerating ------------------------------------------------------------------
RefsOf = Callable[[], dict[str, list[str]]]


def load(store: Store, spec: Spec, *, message_refs: RefsOf | None = None,
         cache: ObjectCache | None = None) -> Leaderboard:
    """Build the leaderboard from everything stored now.

    ``message_refs`` gives every message's refs (the board index does it without a request);
    by default they are read from the store, and only when something is invalid.
    """
    infos = list(store.list(paths.RESULTS))
    results, problems = read_results(store, infos, cache=cache)
    verdicts, verdict_problems = invalidation.read_verdicts(store)
    problems += [Problem(k, m) for k, m in verdict_problems]
    board = build(
        spec, results, present={i.key for i in infos}, verdicts=verdicts,
        messages=message_refs or (lambda: invalidation.message_refs(store)), problems=problems,
    )
    board.sources = frozenset({i.key for i in infos if is_result_key(i.key)} | {v.key for v in verdicts}
                              | {k for k, _ in verdict_problems})
    return board


def _published(store: Store) -> str | None:
    try:
        return store.get(paths.LEADERBOARD).decode("utf-8", "replace")
    except NotFound:
        return None


def published_count(store: Store, text: str | None = None) -> int | None:
    """How many results the stored ``LEADERBOARD.md`` (or ``text``) was built from (``None``: none, or not ours)."""
    text = _published(store) if text is None else text
    m = _COUNT.search(text) if text else None
    return int(m.group(1)) if m else None


def _stored_keys(store: Store) -> frozenset[str]:
    keys = {i.key for i in store.list(paths.RESULTS) if is_result_key(i.key)}
    return frozenset(keys | {i.key for i in store.list(paths.VERDICTS)})


def regenerate(store: Store, spec: Spec, *, attempts: int = 10, stale_retries: int = 3,
               message_refs: RefsOf | None = None, cache: ObjectCache | None = None) -> Leaderboard:
    """Rewrite ``LEADERBOARD.md`` from the full listing until a listing after the write shows nothing new.

    Returns:
        The leaderboard as last written.
    """
    board = load(store, spec, message_refs=message_refs, cache=cache)
    stale = 0
    for _ in range(attempts):
        current = _published(store)
        published = published_count(store, current or "")
        if published is not None and published > len(board.result_keys) and stale < stale_retries:
            # Our listing is behind a table someone already wrote: never replace it with a smaller one.
            stale += 1
            time.sleep(0.05 * stale)
            board = load(store, spec, message_refs=message_refs, cache=cache)
            continue
        text = board.to_markdown()
        if current != text:
            store.put(paths.LEADERBOARD, text.encode())
        if _stored_keys(store) <= board.sources:
            return board
        board = load(store, spec, message_refs=message_refs, cache=cache)
    return board
