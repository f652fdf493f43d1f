"""The leaderboard: derived from the spec's baselines, the results and the verdicts, never edited.

This module is the only place a leaderboard is computed. Every surface (the CLI,
the dashboard and its JSON, MCP, the digest, ``LEADERBOARD.md``, its twin
``leaderboard.json`` and the exported Space page) shows what it decided:

* **rank**: best first in the metric's direction; ties by exact submission time
  (the result's full ``timestamp``, else the store's modification time), earliest
  first, then by key; baselines are unranked reference rows;
* **status**: ``baseline``, ``verified``, ``self-reported`` or ``invalid``, and the
  **flag** of a result that builds on an invalid one. A **dead end** (a result with
  ``negative: true`` or ``status: negative``: an approach that did not work) keeps its
  status, is labelled ``negative``, and is never ranked: it is listed after the ranked
  rows, never the headline, never anyone's best, never on the best-so-far line. It is a
  dead end whatever the file's ``status`` says (``submit`` keeps ``negative: true`` on
  one it marks ``invalid`` for a limit), so raising the limit never ranks it. A result
  that does not give a field a spec limit bounds is invalid, like one over it. A result whose
  invalidation an organizer reversed carries the reinstatement (``reinstated``), and
  ``verdicts`` holds each result's verdict history, saying which one applies.
  :attr:`Row.verified` (verified and not flagged) is the only thing that earns a ✓.
  "Verified" is never taken from the file: the reader re-scores the per-item file with
  the space's scorer (:func:`reproduce`,
  the bytes through the caller's ``fetch``); a result that claims it and is not reproduced
  ranks as self-reported with the detail :data:`NOT_REPRODUCIBLE`;
* **author**: the agent in a result's file name, whatever its ``agent_id`` says (a mismatch
  is a problem); the verdict that counts is the one :func:`~.invalidation.standing` picks
  from the entitled ones, replayed in chain order (each after the verdict it ``supersedes``);
* **hand-added rows**: :func:`hand_added_rows` finds rows of a published table that match
  no result (doctor reports them, with the ``collab submit`` that records them);
* the **headline** of each section: the best verified result when the space has a
  scorer, else (or while nothing is verified) the best unflagged result;
* each section's **best-so-far line** (for charts), in submission-time order;
* :func:`score_text`: the one precision rule for displaying a score. JSON carries
  the full float ``score`` beside it.

``LEADERBOARD.md`` is GitHub-style pipe tables, best first (the template's static
leaderboard Space parses the first one): one table of every result per track, then
the best result of each agent. ``leaderboard.json`` is :meth:`Leaderboard.to_dict`,
drawn as it is by the exported page.

Concurrent submitters never lose a row for good. Each regeneration renders the
full listing, writes, then lists again: if a result appeared meanwhile it
renders and writes again. Whichever write of a file lands last was followed by a
listing that showed nothing new, so it holds every result stored before it. A
writer whose listing is behind the published table or twin (fewer results) waits
and re-lists instead of writing.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from ...errors import CollabError, InvalidInput, NotFound
from ...scorers import bad_number_token, get_scorer, read_jsonl, sha256
from ...storage import Store
from . import invalidation
from .. import paths
from ..problems import Problem
from ..refs import canonical
from .results import Result, limit_violations
from ..setup.spec import Spec

_COUNT = re.compile(r"<!-- collabspace:leaderboard results=(\d+) -->")
_TWIN_COUNT = re.compile(r'^ "results": (\d+),$', re.MULTILINE)  # Leaderboard.to_json's top-level key
#: Two scores closer than this are the same score (a verified score is correct/total).
_EPS = 1e-9
#: Significant digits of a displayed score, on every surface and for every metric.
SCORE_DIGITS = 5
_NEVER = datetime.max.replace(tzinfo=timezone.utc)


def score_text(score: float) -> str:
    """A score as every surface displays it: :data:`SCORE_DIGITS` significant digits, no exponent.

    ``30/1319`` -> ``0.022745``, ``0.4125`` -> ``0.4125``, ``1.2244`` -> ``1.2244``, ``15900000`` -> ``15900000``.
    """
    if not math.isfinite(score) or score == 0:
        return "0" if score == 0 else str(score)
    decimals = max(0, SCORE_DIGITS - 1 - math.floor(math.log10(abs(score))))
    text = f"{score:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Row:
    """One line of a leaderboard table: a baseline or a result."""

    rank: int | None
    agent_id: str
    score: float
    experiment: str
    status: str  # "baseline", "verified", "self-reported" or "invalid"
    model: str = ""
    date: str = ""  # the submission time to the minute, for tables
    time: str | None = None  # the exact submission time (ISO 8601, UTC): ties and charts
    file: str = ""
    track: str | None = None
    reason: str | None = None  # why it is invalid
    flag: str | None = None  # why it is flagged: it builds on an invalid result
    detail: str = ""  # e.g. "gsm8k 1.0, 950/1319"; a baseline's notes
    negative: bool = False  # a dead end: shown and labelled, never ranked
    reinstated: str | None = None  # an organizer reversed its invalidation: who, why, and which verdict
    notes: str = ""  # a dead end's notes (why it did not work), for the digest; empty on other rows

    @property
    def verified(self) -> bool:
        """Verified and not flagged: the only rows shown with a ✓ or counted as verified."""
        return self.status == "verified" and not self.flag

    @property
    def score_text(self) -> str:
        """The score as every surface displays it (:func:`score_text`)."""
        return score_text(self.score)

    def to_dict(self) -> dict[str, Any]:
        """The one JSON shape of a row: CLI ``--format json``, ``/api/*``, MCP and ``leaderboard.json``."""
        return {
            "rank": self.rank, "agent_id": self.agent_id, "score": self.score, "score_text": self.score_text,
            "experiment": self.experiment, "status": self.status, "verified": self.verified, "flag": self.flag,
            "reason": self.reason, "model": self.model, "date": self.date, "time": self.time, "file": self.file,
            "track": self.track, "detail": self.detail, "negative": self.negative, "reinstated": self.reinstated,
            "notes": self.notes,
        }


@dataclass
class Section:
    """The rows of one track (``track`` is ``None`` when the spec has no tracks).

    Attributes:
        rows: the table: ranked results and baselines, then the invalid results.
        best: the best valid result of each agent.
        headline: the section's "best" (see the module docstring), ``None`` while there is none.
        best_line: the best-so-far line: every ranked result that beat all earlier ones, in
            submission-time order, as ``{time, score, score_text, agent_id, file, experiment}``.
        verified_line: the same line over the verified results only (a verified-only chart).
    """

    track: str | None
    title: str
    rows: list[Row]
    best: list[Row]
    headline: Row | None = None
    best_line: list[dict[str, Any]] = field(default_factory=list)
    verified_line: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.track, "title": self.title, "headline": self.headline.to_dict() if self.headline else None,
                "best_line": self.best_line, "verified_line": self.verified_line}


@dataclass
class Leaderboard:
    """The whole derived leaderboard.

    Attributes:
        sections: one per track (a single one without tracks), rows in table order.
        flagged: result or message key -> why it is flagged.
        problems: result and verdict files that could not be used (for ``collab doctor``).
        result_keys: every result read, valid or not.
        sources: every file it was built from (results, unusable ones included, and verdicts).
        verdicts: result key -> its entitled verdicts in order (``Verdict.to_dict()`` plus ``applies``).
    """

    spec: Spec
    sections: list[Section]
    flagged: dict[str, invalidation.Flag] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    result_keys: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    verdicts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

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

    @property
    def headline(self) -> Row | None:
        """The headline of the first section: what a one-number "best" shows."""
        return self.sections[0].headline if self.sections else None

    def dead_ends(self) -> list[Row]:
        """Every dead end (``negative``) that is not invalid, newest first (undated last)."""
        rows = [r for r in self.rows if r.negative and r.status != "invalid"]
        return sorted(rows, key=lambda r: (r.time is not None, r.time or "", r.file), reverse=True)

    def top(self, n: int = 5, track: str | None = None) -> list[Row]:
        """The ``n`` best ranked results (no baselines, nothing invalid), of one track or the first."""
        section = next((s for s in self.sections if s.track == track), self.sections[0] if self.sections else None)
        return [r for r in section.rows if r.rank is not None][:n] if section else []

    def to_dict(self) -> dict[str, Any]:
        """Everything a surface draws, already decided; ``leaderboard.json`` is exactly this.

        ``tracks`` has one entry per section (``id`` is ``None`` without tracks) with its
        title, headline and best-so-far line; its rows are the ``rows`` whose ``track`` is that id.
        """
        return {
            "title": self.spec.task.title,
            "metric": self.spec.metric.name,
            "direction": self.spec.metric.direction,
            "scorer": self.spec.scorer.name if self.spec.scorer else None,
            "results": len(self.result_keys),
            "headline": self.headline.to_dict() if self.headline else None,
            "tracks": [s.to_dict() for s in self.sections],
            "rows": [r.to_dict() for r in self.rows],
            "best": [r.to_dict() for r in self.best],
            "flagged": {k: f.to_dict() for k, f in sorted(self.flagged.items())},
            "verdicts": {k: v for k, v in sorted(self.verdicts.items())},
            "problems": [p.to_dict() for p in self.problems],
        }

    def to_json(self) -> str:
        """The text of ``leaderboard.json``."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n"

    def to_markdown(self) -> str:
        return render_markdown(self)


# -- building -------------------------------------------------------------------------------
def _date(result: Result) -> str:
    return result.timestamp.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if result.timestamp else ""


def _time(result: Result) -> str | None:
    return result.timestamp.astimezone(timezone.utc).isoformat() if result.timestamp else None


def _when(row: Row) -> datetime:
    """The exact submission time (undated rows last)."""
    return datetime.fromisoformat(row.time) if row.time else _NEVER


def _verified(spec: Spec, result: Result, present: set[str]) -> tuple[bool, str | None]:
    """Whether a result's verification is worth re-scoring, else why not (``None``: it claims none).

    These checks cost nothing; a claim that passes them is believed only once :func:`reproduce` agrees.
    """
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


#: What a result shows (its row's ``detail``) when it claims "verified" but the reader cannot reproduce it.
NOT_REPRODUCIBLE = "claims verified, not reproducible"
#: Re-scorings already done in this process: (scorer, split, items digest, data digest) -> counts or why not.
_RESCORED: dict[tuple[str, str, str, str | None], tuple[int, int, str] | str] = {}
_RESCORED_MAX = 4096
#: A per-item file larger than this is not re-scored (GSM8K's are about 0.5 MB); a reader's fetch
#: should not even read one whose listed size is larger.
MAX_ITEMS_BYTES = 64 << 20


def predictions_of(items: bytes, *, what: str) -> bytes:
    """The predictions a per-item file was scored from, as a predictions file the scorer reads again.

    A per-item file (:meth:`~collabspace.scorers.ScoreReport.items_jsonl`) holds every item's ``index``
    and the ``prediction`` as given, beside the verdict on it; only those two are used (and
    ``bad_number``), so the file's own ``correct`` / ``extracted`` claims count for nothing. A prediction
    marked ``bad_number: true`` (a JSON number that is none: NaN, ``1e400``) is given back as that
    number, so the scorer scores it as unusable again, never as the text ``"1e400"`` (the answer 400);
    the mark can only make an item wrong.

    Raises:
        InvalidInput: a line that is not such an object (or beyond :mod:`safejson`'s bounds), or a
            ``bad_number`` prediction that is not a bad number's text.
    """
    out = []
    for line, obj in read_jsonl(items, what=what, keep_bad_numbers=True):
        index, prediction = obj.get("index"), obj.get("prediction")
        if isinstance(index, bool) or not isinstance(index, int):
            raise InvalidInput(f"{what}, line {line}: no item index")
        if prediction is None:
            continue
        if isinstance(prediction, bool) or not isinstance(prediction, (str, int, float)):
            raise InvalidInput(f"{what}, line {line}: the prediction is not text")
        if obj.get("bad_number") is True:
            token = bad_number_token(prediction) if isinstance(prediction, str) else None
            if token is None:
                raise InvalidInput(f"{what}, line {line}: bad_number, but the prediction is not a bad number's text")
            out.append(f'{{"index": {index}, "prediction": {token}}}\n')
            continue
        out.append(json.dumps({"index": index, "prediction": prediction}, ensure_ascii=False) + "\n")
    return "".join(out).encode()


def reproduce(spec: Spec, result: Result, items: bytes | None, data: bytes | None = None) -> str | None:
    """Re-score ``result``'s per-item file with the space's scorer: ``None`` if it gives the claimed
    counts, else why not. Pure (the scorer is), and remembered by the bytes' digest.

    Args:
        items: the per-item file's bytes (``None``: it could not be read).
        data: the spec's ``scorer.data`` bytes, when it names reference data in the space.
    """
    v = result.verification
    scorer = spec.scorer
    if v is None or scorer is None:
        return "nothing to re-score"
    if items is None:
        return f"its per-item file {v.items} could not be read"
    if len(items) > MAX_ITEMS_BYTES:
        return f"its per-item file is over {MAX_ITEMS_BYTES >> 20} MiB"
    if scorer.data and data is None:
        return f"the space's reference data {scorer.data} could not be read"
    memo = (scorer.name, scorer.split, sha256(items), sha256(data) if data is not None else None)
    got = _RESCORED.get(memo)
    if got is None:
        try:
            report = get_scorer(scorer.name).score(predictions_of(items, what=v.items), split=scorer.split, data=data)
            got = (report.correct, report.total, report.data_sha256)
        except CollabError as exc:
            got = f"its per-item file cannot be re-scored: {exc.message}"
        except (ValueError, RecursionError, MemoryError) as exc:
            got = f"its per-item file cannot be re-scored ({type(exc).__name__})"
        if len(_RESCORED) >= _RESCORED_MAX:
            _RESCORED.clear()
        _RESCORED[memo] = got
    if isinstance(got, str):
        return got
    correct, total, digest = got
    if (correct, total) != (v.correct, v.total):
        return f"re-scoring its per-item file with {scorer.name} gives {correct}/{total}, not the {v.correct}/{v.total} it claims"
    if v.data_sha256 and v.data_sha256 != digest:
        return "it was scored against other reference data than this space's"
    return None


def build(
    spec: Spec,
    results: list[Result],
    *,
    present: set[str],
    verdicts: list[invalidation.Verdict] = (),  # type: ignore[assignment]
    messages: Callable[[], dict[str, list[str]]] | None = None,
    problems: list[Problem] | None = None,
    fetch: Callable[[list[str]], Mapping[str, bytes | None]] | None = None,
) -> Leaderboard:
    """Rank ``results`` under ``spec``.

    A result is **verified** only when this reader reproduces it: its per-item file, re-scored with the
    space's scorer (:func:`reproduce`), gives the counts it claims. One that claims it and is not
    reproduced ranks as self-reported, with the detail :data:`NOT_REPRODUCIBLE` and a problem saying why.
    The agent in a result's file name is its author (:func:`~.results.parse_result`); a file whose
    ``agent_id`` says otherwise is reported. The entitled verdicts of a result are replayed
    (:func:`~.invalidation.standing`) in chain order (each after the verdict it supersedes, whatever the
    clocks); any other blocks nothing.

    Args:
        present: every key of the results folder (to check per-item files exist).
        verdicts: the space's verdicts; one by neither the owner nor an organizer is ignored and reported.
        fetch: the caller's way to read objects: keys -> bytes (``None`` for one that cannot be read).
            Called at most once, with the per-item files of the results that claim "verified" (plus
            the spec's ``scorer.data`` key when it has one): one GET each, none when cached. Without it
            nothing is reproduced, so nothing ranks as verified.
        messages: returns message key -> refs, for flagging messages that build on invalid
            results; called only when something is invalid (reading the board costs requests).
        problems: problems found while reading, carried into the leaderboard.
    """
    problems = list(problems or [])
    by_key = {r.key: r for r in results}
    invalid: dict[str, str] = {}
    on: dict[str, list[invalidation.Verdict]] = {}
    for v in sorted(verdicts, key=lambda v: v.key):
        target = by_key.get(canonical(v.result))
        if v.problem:
            problems.append(Problem(v.key, v.problem))
        if target is None:
            problems.append(Problem(v.key, f"verdict on {v.result}, which is not a result here"))
        elif not invalidation.entitled(spec, target.owner, v.by, v.action):
            if v.action == invalidation.REINSTATE:
                problems.append(Problem(v.key, f"reinstatement by {v.by}, who is not an organizer; ignored, it "
                                               "reverses nothing"))
            else:
                problems.append(Problem(v.key, f"verdict by {v.by}, who is neither the owner ({target.owner}) nor "
                                               "an organizer; ignored, it blocks nothing"))
        else:
            on.setdefault(target.key, []).append(v)
    reinstated: dict[str, str] = {}
    history: dict[str, list[dict[str, Any]]] = {}
    for key, found in on.items():
        applies = invalidation.standing(spec, by_key[key].owner, found)
        history[key] = [{**v.to_dict(), "applies": v is applies} for v in invalidation.in_order(found)]
        if invalidation.is_invalid(applies):
            assert applies is not None
            invalid[key] = applies.describe()
        elif applies is not None:
            reinstated[key] = applies.describe() + (f" (supersedes {applies.supersedes})" if applies.supersedes else "")
    for r in results:
        broken = limit_violations(spec, r)
        if broken and r.key not in invalid:
            invalid[r.key] = "; ".join(broken)
    graph: dict[str, list[str]] = {r.key: r.refs + r.artifacts for r in results}
    if invalid and messages is not None:
        graph.update(messages())
    flagged = invalidation.propagate(graph, invalid) if invalid else {}

    checked = {r.key: _verified(spec, r, present) for r in results}
    wanted = [r.verification.items for r in results if checked[r.key][0] and r.verification]
    got: Mapping[str, bytes | None] = {}
    if wanted and fetch is not None:
        got = fetch(wanted + ([spec.scorer.data] if spec.scorer and spec.scorer.data else []))
    track_ids = [t.id for t in spec.tracks]
    groups: dict[str | None, list[Row]] = {t: [] for t in track_ids} if track_ids else {None: []}
    for r in results:
        ok, why = checked[r.key]
        if ok and r.verification:
            why = ("no reader's fetch was given to re-score its per-item file" if fetch is None else
                   reproduce(spec, r, got.get(r.verification.items),
                             got.get(spec.scorer.data) if spec.scorer and spec.scorer.data else None))
            ok = why is None
            if why:
                why = f"{NOT_REPRODUCIBLE}: {why}"
        if why:
            problems.append(Problem(r.key, why))
        if r.claimed_agent:
            problems.append(Problem(r.key, f"agent_id says {r.claimed_agent!r}, but the file name says {r.agent_id}: "
                                           f"credited to {r.agent_id}, never to {r.claimed_agent}"))
        track = r.track if track_ids else None
        if track_ids and track not in groups:
            problems.append(Problem(r.key, f"track {r.track!r} is not one of the spec's ({', '.join(track_ids)})"))
            track = "(none)"
            groups.setdefault(track, [])
        v = r.verification
        groups[track].append(Row(
            rank=None, agent_id=r.agent_id, score=r.score, experiment=r.experiment,
            status="invalid" if r.key in invalid else "verified" if ok else "self-reported",
            model=r.model, date=_date(r), time=_time(r), file=r.key, track=track, reason=invalid.get(r.key),
            flag=flagged[r.key].reason() if r.key in flagged else None, negative=r.negative,
            reinstated=reinstated.get(r.key), notes=r.notes[:500] if r.negative else "",
            detail=f"{v.scorer} {v.version}, {v.correct}/{v.total}" if ok and v else
            NOT_REPRODUCIBLE if r.claims_verified else "",
        ))
    sections = []
    for track, rows in groups.items():
        title = "All results" if track is None else f"Track `{track}`" if track != "(none)" else "Results without a known track"
        sections.append(_section(spec, track, title, rows))
    return Leaderboard(spec, sections, flagged, problems, frozenset(by_key), verdicts=history)


def _section(spec: Spec, track: str | None, title: str, rows: list[Row]) -> Section:
    sign = -1 if spec.metric.direction == "higher" else 1

    def order(row: Row) -> tuple[float, bool, datetime, str]:
        # best first; at equal scores a baseline, then the earliest submission, then the key
        return (sign * row.score, row.status != "baseline", _when(row), row.file)

    baselines = [
        Row(rank=None, agent_id="baseline", score=b.score, experiment=b.name, status="baseline", detail=b.notes,
            track=track)
        for b in spec.baselines
        if b.track is None or b.track == track
    ]
    ranked: list[Row] = []
    rank = 0
    for row in sorted([r for r in rows if r.status != "invalid" and not r.negative] + baselines, key=order):
        if row.status != "baseline":
            rank += 1
            row = replace(row, rank=rank)
        ranked.append(row)
    dead_ends = sorted((r for r in rows if r.status != "invalid" and r.negative), key=order)
    invalid = sorted((r for r in rows if r.status == "invalid"), key=order)
    best: list[Row] = []
    seen: set[str] = set()
    for row in ranked:
        if row.rank is not None and row.agent_id not in seen:
            seen.add(row.agent_id)
            best.append(replace(row, rank=len(best) + 1))
    return Section(track, title, ranked + dead_ends + invalid, best, _headline(spec, ranked), _best_line(spec, ranked),
                   _best_line(spec, [r for r in ranked if r.verified]))


def _headline(spec: Spec, ranked: list[Row]) -> Row | None:
    """The best verified result when the space has a scorer, else the best unflagged one.

    A self-reported result is never the headline while a verified one exists; a flagged one never is.
    """
    credible = [r for r in ranked if r.rank is not None and not r.flag]
    verified = [r for r in credible if r.verified] if spec.scorer else []
    return (verified or credible or [None])[0]


def _best_line(spec: Spec, ranked: list[Row]) -> list[dict[str, Any]]:
    """Every ranked result that beat all earlier ones, in exact submission-time order."""
    line: list[dict[str, Any]] = []
    for r in sorted((r for r in ranked if r.rank is not None and r.time), key=lambda r: (_when(r), r.file)):
        if not line or spec.metric.better(r.score, line[-1]["score"]):
            line.append({"time": r.time, "score": r.score, "score_text": r.score_text, "agent_id": r.agent_id,
                         "file": r.file, "experiment": r.experiment})
    return line


# -- rendering -------------------------------------------------------------------------------
def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _strike(text: str) -> str:
    return f"~~{text}~~" if text else ""


def _status(row: Row) -> str:
    if row.status == "invalid":
        return f"invalid: {_cell(row.reason or '')}"
    text = f"{row.status} ({_cell(row.detail)})" if row.detail else row.status
    if row.negative:
        text = f"dead end, {text}"
    if row.reinstated:
        text += f"; {_cell(row.reinstated)}"
    return f"{text} ⚠ {row.flag}" if row.flag else text


def _table(spec: Spec, rows: list[Row], *, best: bool = False) -> list[str]:
    lines = [
        f"| rank | agent | {_cell(spec.metric.name)} | experiment | model | status | date | result |",
        "|---:|---|---:|---|---|---|---|---|",
    ]
    for r in rows:
        link = f"[{r.file.rsplit('/', 1)[-1]}]({r.file})" if r.file else ""
        cells = [_cell(r.agent_id), r.score_text, _cell(r.experiment), _cell(r.model)]
        if r.status == "invalid":
            cells = [_strike(c) for c in cells]
        rank = str(r.rank) if r.rank is not None else "-"
        lines.append(f"| {rank} | {' | '.join(cells)} | {_status(r)} | {r.date} | {link} |")
    if best and len(rows) == 0:
        lines.append("| | no valid results yet | | | | | | |")
    return lines


def _headline_line(row: Row | None) -> str:
    if row is None:
        return "Best: no valid result yet."
    return f"Best: **{row.score_text}** by {_cell(row.agent_id)}, {row.status} ({_cell(row.experiment)})."


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
        "Status: **verified** = scored by collabspace from the predictions, and reproduced by re-scoring the "
        "per-item file next to the result when this table was built; **self-reported** = the agent's own number "
        "(\"claims verified, not reproducible\": it says verified, but re-scoring does not give its numbers); "
        "~~struck out~~ = invalid, with the reason; "
        "⚠ = builds on an invalid result; **dead end** = an approach that did not work, recorded so that nobody "
        "repeats it, never ranked. Baseline rows are reference points, not ranked. \"Best\" is the best "
        "verified result when the space has a scorer. Ties: the earlier submission first. The same data as JSON: "
        f"`{paths.LEADERBOARD_JSON}`.",
        "",
        f"<!-- collabspace:leaderboard results={len(board.result_keys)} -->",
    ]
    for section in board.sections:
        out += ["", f"## {section.title}", "", _headline_line(section.headline), ""]
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


# -- rows added by hand ------------------------------------------------------------------------------
_LINK = re.compile(r"\]\((" + re.escape(paths.RESULTS) + r"[^)\s]+)\)")
_SEPARATOR = re.compile(r"^[\s:|-]+$")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def hand_added_rows(text: str | None, board: Leaderboard) -> list[Problem]:
    """Rows of a published ``LEADERBOARD.md`` that match no result file (the template's habit of adding
    a row by hand): the next regeneration drops them. One problem per row, naming it and the
    ``collab submit`` command that records it properly.

    A row matches when it links a result that is stored (every row collabspace renders does), or is
    one of the spec's baselines, or is the empty table's placeholder.
    """
    if not text:
        return []
    baselines = {b.name for b in board.spec.baselines}
    metric = board.spec.metric.name.lower()
    out: list[Problem] = []
    lines = [line.strip() for line in text.splitlines()]
    header: list[str] = []
    for i, line in enumerate(lines):
        if not (line.startswith("|") and line.endswith("|") and len(line) > 1):
            header = []
            continue
        if _SEPARATOR.match(line):
            continue
        if i + 1 < len(lines) and _SEPARATOR.match(lines[i + 1]) and lines[i + 1].startswith("|"):
            header = [c.lower().strip("* ") for c in _cells(line)]
            continue
        cells = _cells(line)
        link = _LINK.search(line)
        if link and link.group(1) in board.result_keys:
            continue
        field = dict(zip(header, cells))
        agent = field.get("agent") or field.get("agent_id") or field.get("agent id") or ""
        if agent == "baseline" and field.get("experiment", "") in baselines or "no valid results yet" in line:
            continue
        score = next((m.group(0) for m in [_NUMBER.search(field.get(metric) or field.get("score") or "")] if m), "SCORE")
        experiment = (field.get("experiment") or "WHAT YOU RAN").replace('"', "'")
        model = field.get("model", "").replace('"', "'")
        who = agent if paths.AGENT_ID_RE.match(agent) else "AGENT"
        command = (f'collab submit --agent {who} --experiment "{experiment}" --score {score}'
                   + (f' --model "{model}"' if model else ""))
        shown = line if len(line) <= 200 else line[:199] + "…"
        why = f"links {link.group(1)}, which is not a stored result" if link else "matches no result file"
        out.append(Problem(paths.LEADERBOARD, f"row {shown} {why}, so the next regeneration drops it; "
                                              f"to record it, its agent runs: {command}"))
    return out


def published_problems(store: Store, board: Leaderboard) -> list[Problem]:
    """:func:`hand_added_rows` of the stored ``LEADERBOARD.md`` (one GET): for ``collab doctor``."""
    return hand_added_rows(_published(store), board)


# -- regenerating ---------------------------------------------------------------------------------
def _published(store: Store, key: str = paths.LEADERBOARD) -> str | None:
    try:
        return store.get(key).decode("utf-8", "replace")
    except NotFound:
        return None


def published_count(store: Store, text: str | None = None) -> int | None:
    """How many results the stored ``LEADERBOARD.md`` (or ``text``) was built from (``None``: none, or not ours)."""
    text = _published(store) if text is None else text
    m = _COUNT.search(text) if text else None
    return int(m.group(1)) if m else None


def _twin_count(text: str | None) -> int | None:
    """How many results a ``leaderboard.json`` text was built from (``None``: none, or not ours).

    Read from its top-level ``"results"`` line, without parsing the whole file (it holds every row).
    """
    m = _TWIN_COUNT.search(text) if text else None
    return int(m.group(1)) if m else None


def regenerate(store: Store, load: Callable[[], Leaderboard], *, attempts: int = 10,
               stale_retries: int = 3) -> Leaderboard:
    """Rewrite ``LEADERBOARD.md`` and ``leaderboard.json`` until a listing after the writes shows nothing new.

    Args:
        store: where the two files are written.
        load: builds the leaderboard from a fresh look at the store (the read model's refresh).

    The twin is written first, the table second, each only if it changed. The table's results count is
    the marker people and older writers go by, so it is published only once the twin it describes is in
    place: if a writer stops between the two writes, the table still differs from what the next writer
    renders and both are written again. A writer whose listing has fewer results than either published
    file waits and re-lists instead of writing.

    Returns:
        The leaderboard as last written; when the table it replaced held rows added by hand (which
        match no result, so they are not in the new one), with a problem per dropped row
        (:func:`hand_added_rows`) added to its ``problems``, for the caller to say so.
    """
    board = load()
    dropped: list[Problem] = []
    stale = 0
    for _ in range(attempts):
        table, twin = _published(store), _published(store, paths.LEADERBOARD_JSON)
        counts = [c for c in (published_count(store, table or ""), _twin_count(twin)) if c is not None]
        if counts and max(counts) > len(board.result_keys) and stale < stale_retries:
            # Our listing is behind what someone already wrote: never replace it with a smaller one.
            stale += 1
            time.sleep(0.05 * stale)
            board = load()
            continue
        markdown = board.to_markdown()
        if table is not None and table != markdown:
            dropped = dropped or [replace(p, reason="dropped: " + p.reason) for p in hand_added_rows(table, board)]
        wrote = False
        for key, current, text in ((paths.LEADERBOARD_JSON, twin, board.to_json()),
                                   (paths.LEADERBOARD, table, markdown)):
            if current != text:
                store.put(key, text.encode())
                wrote = True
        if not wrote:  # both already say exactly this: a result that lands later is its own writer's to add
            break
        again = load()
        if again.sources <= board.sources:
            break
        board = again
    return replace(board, problems=board.problems + dropped) if dropped else board
