"""Item-by-item comparison of verified results: where they differ, an oracle and a majority vote.

A verified result has a per-item file next to it (:meth:`~collabspace.scorers.ScoreReport.items_jsonl`):
every item's ``index`` and the ``prediction`` as given. :func:`compare` re-scores each result's
predictions with the space's real scorer, so the per-item verdicts it compares are the scorer's own,
never the file's ``correct`` claims (the leaderboard checks only a file's totals), and it works for any
scorer that writes per-item files. It gives:

* each result's **per-item correctness** (a result page draws it; one result is enough);
* for every pair A, B: the items **B gets right and A misses**, and the reverse, plus how many both
  get right or both miss;
* the **oracle** ensemble: the share of items at least one of the results gets right (an upper bound
  for any way of choosing between them);
* the **majority vote**: per item, the answer (the scorer's ``extracted`` final answer) given by
  most of the results; a tie goes to the answer of the best-scoring result among the tied ones
  (then the order given). The winning predictions are scored by the real scorer, like a submission.

Pure: the caller passes each result's per-item bytes and a ``score`` function (the space's scorer
with its split and data). Nothing is read or written here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInput
from ...scorers import ItemResult, ScoreReport
from .leaderboard import Row, predictions_of, score_text

#: The most results one comparison takes (the pairs grow with the square of it).
MAX_RESULTS = 8


@dataclass(frozen=True)
class Compared:
    """One result of a comparison, with the scorer's verdict on each of its items."""

    row: Row
    report: ScoreReport

    def to_dict(self) -> dict[str, Any]:
        return {**self.row.to_dict(), "key": self.row.file, "correct": self.report.correct, "total": self.report.total}


@dataclass(frozen=True)
class Pair:
    """Two results side by side: ``b_not_a`` are the items B gets right and A misses, ``a_not_b`` the reverse."""

    a: str
    b: str
    b_not_a: list[int]
    a_not_b: list[int]
    both: int
    neither: int

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "b_not_a": self.b_not_a, "a_not_b": self.a_not_b,
                "b_not_a_count": len(self.b_not_a), "a_not_b_count": len(self.a_not_b),
                "both": self.both, "neither": self.neither}


@dataclass(frozen=True)
class Ensemble:
    """An ensemble's score over the items: ``correct`` of ``total``."""

    correct: int
    total: int
    ties: int = 0  # majority vote: items where the top answers tied (settled by the better result)
    scorer: str = ""
    version: str = ""

    @property
    def score(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"correct": self.correct, "total": self.total, "score": self.score,
                               "score_text": score_text(self.score)}
        if self.scorer:
            out.update(ties=self.ties, scorer=self.scorer, version=self.version)
        return out


@dataclass
class Comparison:
    """What :func:`compare` found.

    Attributes:
        results: the results in the order given, each with the scorer's per-item verdicts.
        pairs: every pair (i < j) of them.
        oracle: items at least one result gets right (``None`` for a single result).
        majority: the majority vote scored by the real scorer (``None`` for a single result).
    """

    results: list[Compared]
    pairs: list[Pair] = field(default_factory=list)
    oracle: Ensemble | None = None
    majority: Ensemble | None = None

    @property
    def total(self) -> int:
        return self.results[0].report.total if self.results else 0

    def items(self) -> list[dict[str, Any]]:
        """Per item: the gold answer, and each result's extracted answer and whether it is right."""
        reports = [c.report.items for c in self.results]
        return [{"index": first.index, "gold": first.gold,
                 "answers": [r[i].extracted for r in reports], "correct": [r[i].correct for r in reports]}
                for i, first in enumerate(reports[0])] if reports else []

    def to_dict(self, *, items: bool = True) -> dict[str, Any]:
        """The one JSON shape of a comparison (CLI ``--format json``, ``/api/compare``, MCP)."""
        out: dict[str, Any] = {
            "results": [c.to_dict() for c in self.results], "total": self.total,
            "pairs": [p.to_dict() for p in self.pairs],
            "oracle": self.oracle.to_dict() if self.oracle else None,
            "majority": self.majority.to_dict() if self.majority else None,
        }
        if items:
            out["items"] = self.items()
        return out


def check_selection(keys: Sequence[str]) -> None:
    """Refuse a selection :func:`compare` cannot take, before anything is read.

    Raises:
        InvalidInput: no result, more than :data:`MAX_RESULTS`, or the same result twice.
    """
    if not keys:
        raise InvalidInput("no result to compare", hint="name one verified result (its page) or two or more")
    if len(keys) > MAX_RESULTS:
        raise InvalidInput(f"at most {MAX_RESULTS} results can be compared at once, got {len(keys)}",
                           hint=f"pick the {MAX_RESULTS} you want side by side")
    twice = next((k for k in keys if list(keys).count(k) > 1), None)
    if twice:
        raise InvalidInput(f"{twice} is named twice", hint="name each result once")


def compare(rows: Sequence[Row], items: Sequence[bytes], score: Callable[[bytes], ScoreReport]) -> Comparison:
    """Compare verified results item by item.

    Args:
        rows: the results' leaderboard rows (each verified), in the order to show them.
        items: each result's per-item file, in the same order.
        score: scores a predictions file with the space's scorer (its split and data).

    Returns:
        The per-item verdicts, every pair's differences and, for two or more results, the oracle and
        the majority vote.

    Raises:
        InvalidInput: no result, more than :data:`MAX_RESULTS`, the same result twice, a per-item file
            the scorer cannot read, or results scored on different item sets.
    """
    check_selection([r.file for r in rows])
    compared = []
    for row, data in zip(rows, items, strict=True):
        report = score(predictions_of(data, what=row.file))
        compared.append(Compared(row, report))
    totals = {c.report.total for c in compared}
    if len(totals) > 1:
        raise InvalidInput("these results were scored on different item sets "
                           f"({', '.join(f'{c.row.file}: {c.report.total}' for c in compared)})",
                           hint="compare results scored by the same scorer on the same split")
    out = Comparison(compared)
    if len(compared) < 2:
        return out
    verdicts = [[i.correct for i in c.report.items] for c in compared]
    for a in range(len(compared)):
        for b in range(a + 1, len(compared)):
            va, vb = verdicts[a], verdicts[b]
            out.pairs.append(Pair(
                a=compared[a].row.file, b=compared[b].row.file,
                b_not_a=[i for i, (x, y) in enumerate(zip(va, vb)) if y and not x],
                a_not_b=[i for i, (x, y) in enumerate(zip(va, vb)) if x and not y],
                both=sum(1 for x, y in zip(va, vb) if x and y),
                neither=sum(1 for x, y in zip(va, vb) if not x and not y),
            ))
    total = out.total
    out.oracle = Ensemble(sum(1 for i in range(total) if any(v[i] for v in verdicts)), total)
    out.majority = _majority(compared, score)
    return out


def _majority(compared: list[Compared], score: Callable[[bytes], ScoreReport]) -> Ensemble:
    """Per item the most given extracted answer (ties: the best-scoring result's), re-scored by the scorer."""
    # the tie-break order: the better score first (the metric's direction does not apply: the per-item
    # verdicts are right/wrong, so more right is better), then the order given
    order = sorted(range(len(compared)), key=lambda k: (-compared[k].report.correct, k))
    lines, ties = [], 0
    for index in range(compared[0].report.total):
        votes: dict[str, list[int]] = {}
        for k in order:
            item: ItemResult = compared[k].report.items[index]
            if item.extracted is not None and item.prediction is not None:
                votes.setdefault(item.extracted, []).append(k)
        if not votes:
            continue
        most = max(len(v) for v in votes.values())
        tied = [v for v in votes.values() if len(v) == most]
        ties += len(tied) > 1
        winner = min(tied, key=lambda v: order.index(v[0]))[0]  # the best result among the tied answers
        chosen = compared[winner].report.items[index]
        lines.append(json.dumps({"index": chosen.index, "prediction": chosen.prediction}, ensure_ascii=False) + "\n")
    if not lines:  # no result answered anything: nothing to vote on
        return Ensemble(0, compared[0].report.total, 0, compared[0].report.scorer, compared[0].report.version)
    report = score("".join(lines).encode())
    return Ensemble(report.correct, report.total, ties, report.scorer, report.version)
