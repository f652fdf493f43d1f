"""Scorers: plugins that compute a task's score from predictions.

Every scorer, built-in or not, registers through one entry-point group,
``collabspace.scorers``, naming a :class:`Scorer` subclass::

    [project.entry-points."collabspace.scorers"]
    gsm8k = "collabspace.scorers.gsm8k:GSM8KScorer"

A scorer is pure: it takes the predictions file's bytes (and, optionally, the
reference data the spec points at) and returns a :class:`ScoreReport`. It never
touches a store, so it can be audited and rerun anywhere.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar

from ..domain import safejson
from ..errors import InvalidInput, NotFound

GROUP = "collabspace.scorers"

__all__ = ["GROUP", "ItemResult", "ScoreReport", "Scorer", "available", "bad_number_token", "get_scorer",
           "read_jsonl"]


@dataclass(frozen=True)
class ItemResult:
    """The verdict on one item of the split."""

    index: int
    correct: bool
    gold: str
    extracted: str | None
    prediction: str | None

    def to_dict(self) -> dict[str, Any]:
        """One line of the per-item file. A prediction that was a bad JSON number (NaN, ``1e400``, 5,000
        digits: :class:`~collabspace.domain.safejson.BadNumber`) is kept as its text with ``bad_number:
        true``, so that re-scoring the file reads it as the bad number it was, not as text (``"1e400"``
        reads as the answer 400)."""
        out: dict[str, Any] = {
            "index": self.index,
            "correct": self.correct,
            "gold": self.gold,
            "extracted": self.extracted,
            "prediction": self.prediction,
        }
        if isinstance(self.prediction, safejson.BadNumber):
            out["bad_number"] = True
        return out


@dataclass(frozen=True)
class ScoreReport:
    """What a scorer computed: the score, its counts and every item's verdict."""

    scorer: str
    version: str
    split: str
    score: float
    correct: int
    total: int
    data_sha256: str
    items: list[ItemResult] = field(default_factory=list, repr=False)
    #: Predictions that could be no answer at all: NaN, infinite, or a number too long to read. Scored as wrong.
    unusable: int = 0

    @property
    def answered(self) -> int:
        """How many items had a prediction."""
        return sum(1 for i in self.items if i.prediction is not None)

    def summary(self) -> dict[str, Any]:
        """The JSON shape of ``collab score`` (no per-item list)."""
        return {
            "score": self.score,
            "correct": self.correct,
            "total": self.total,
            "answered": self.answered,
            "unusable": self.unusable,
            "scorer": self.scorer,
            "version": self.version,
            "split": self.split,
            "data_sha256": self.data_sha256,
        }

    def items_jsonl(self) -> bytes:
        """The per-item correctness file, one JSON object per line, in split order."""
        return "".join(json.dumps(i.to_dict(), ensure_ascii=False) + "\n" for i in self.items).encode()


class Scorer:
    """Base class of scorers. Subclasses set ``name`` and ``version`` and implement :meth:`score`."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = ""

    def score(self, predictions: bytes, *, split: str = "test", data: bytes | None = None) -> ScoreReport:
        """Score a predictions file.

        Args:
            predictions: the predictions file's bytes (JSONL for the built-in scorers).
            split: which split of the task's reference data to score against.
            data: reference data that replaces the scorer's own (the spec's ``scorer.data``).

        Raises:
            InvalidInput: the predictions or the data are malformed (the message names the line).
        """
        raise NotImplementedError


def sha256(data: bytes) -> str:
    """Hex digest, recorded with a score so that others can tell which data it used."""
    return hashlib.sha256(data).hexdigest()


def read_jsonl(data: bytes, *, what: str, keep_bad_numbers: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of a JSONL file, each read by :mod:`safejson`.

    Args:
        keep_bad_numbers: NaN, infinite and overlong numbers become :class:`safejson.BadNumber` text
            instead of an error (a scorer scores such a prediction as wrong).

    Raises:
        InvalidInput: a line is not a JSON object, or is beyond safejson's bounds; the message names the line.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not UTF-8 text", hint="save it as UTF-8 JSON Lines") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = safejson.loads(line, what=f"{what}, line {number}", keep_bad_numbers=keep_bad_numbers)
        except InvalidInput as exc:
            raise InvalidInput(
                exc.message, hint='each line must be one JSON object, e.g. {"index": 0, "prediction": "... #### 18"}'
            ) from None
        if not isinstance(obj, dict):
            raise InvalidInput(
                f"{what}, line {number}: expected a JSON object, got {type(obj).__name__}",
                hint='each line must be one JSON object, e.g. {"index": 0, "prediction": "... #### 18"}',
            )
        yield number, obj


def bad_number_token(text: str) -> str | None:
    """``text`` if it is one JSON number token that :mod:`safejson` keeps as a
    :class:`~collabspace.domain.safejson.BadNumber` (``NaN``, ``-Infinity``, ``1e400``, an overlong
    integer), else ``None``: what a per-item file's ``bad_number`` prediction may be written back as."""
    if not isinstance(text, str) or not text or len(text) > safejson.MAX_SIZE:
        return None
    try:
        value = safejson.loads(text, what="a bad number", keep_bad_numbers=True)
    except InvalidInput:
        return None
    return text if isinstance(value, safejson.BadNumber) and value == text else None


@functools.cache
def _registry() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available() -> list[str]:
    """The names of every registered scorer."""
    return sorted(_registry())


def get_scorer(name: str) -> Scorer:
    """Load the scorer registered as ``name``.

    Raises:
        NotFound: no scorer of that name is installed.
    """
    ep = _registry().get(name)
    if ep is None:
        known = ", ".join(available()) or "none"
        raise NotFound(
            f"no scorer named {name!r} is installed (installed: {known})",
            hint=f"install the package that provides it (entry-point group {GROUP!r}), or fix [scorer] name in collab.toml",
        )
    cls = ep.load()
    return cls()
