"""Results: ``artifacts/results/{name}_{agent}.json``, immutable, written create-only.

The template's schema: ``agent_id``, ``experiment`` and ``score`` are required;
``timestamp`` (ISO 8601 with Z), ``model``, ``test_samples`` and ``notes`` are
recommended; a task adds its own fields (Parameter Golf's ``val_bpb``,
``artifact_size_bytes``, ...). collabspace adds ``track``, ``refs``,
``artifacts`` and, for scores it computed itself, a ``verification`` block
naming the scorer, its version and the per-item correctness file. A result with
``negative: true`` (or, as hand-written ones say it, ``status: negative``) is a
*dead end*: an approach that did not work, kept so that others do not repeat it;
it is shown, labelled, and never ranked. ``submit`` writes both, so that a dead end
whose ``status`` becomes ``invalid`` (over a limit) still says it is one.

A result that does not give a field a spec limit bounds is invalid, like one over
the limit (``submit`` refuses it; a hand-written one is read as invalid): a limit
the result does not speak to would otherwise pass unchecked. A dead end need not
give them (it is never ranked).

Readers are tolerant: a result JSON written by hand is read like ours; one that
cannot be used becomes a :class:`Problem` for ``collab doctor``, never an error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...errors import AlreadyExists, InvalidInput
from ...scorers import ScoreReport, get_scorer
from ...storage import Store
from .. import paths, safejson
from ..artifacts import name_owner
from ..refs import parse as parse_refs
from ..setup.spec import Spec
from ..timefmt import iso, parse_time

REQUIRED = ("agent_id", "experiment", "score")
#: Fields with a meaning of their own; ``--field`` cannot set them.
RESERVED = frozenset(
    {"agent_id", "timestamp", "experiment", "model", "score", "notes", "track", "refs",
     "artifacts", "status", "invalid_reason", "verification", "negative"}
)
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class Verification:
    """How the tool computed a score itself."""

    scorer: str
    version: str
    split: str
    correct: int
    total: int
    items: str
    data_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "scorer": self.scorer, "version": self.version, "split": self.split, "correct": self.correct,
            "total": self.total, "items": self.items, "data_sha256": self.data_sha256,
        }


@dataclass
class Result:
    """One result, as read from its JSON file."""

    key: str
    agent_id: str
    experiment: str
    score: float
    timestamp: datetime | None = None
    model: str = ""
    test_samples: int | None = None
    notes: str = ""
    track: str | None = None
    refs: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    verification: Verification | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    #: The file's own ``agent_id`` when it names someone other than the agent in the file name
    #: (who is the author, and :attr:`agent_id`): a claim, reported and never credited.
    claimed_agent: str | None = None

    @property
    def owner(self) -> str:
        """The agent whose id is in the file name (the ownership rule), else ``agent_id``."""
        return owner_of(self.key) or self.agent_id

    @property
    def negative(self) -> bool:
        """Whether the result records a dead end (``status: negative``, or ``negative: true``)."""
        return self.raw.get("status") == "negative" or self.raw.get("negative") is True

    @property
    def claims_verified(self) -> bool:
        """Whether the file says it is verified (a ``status`` or a ``verification`` block): a claim a
        reader believes only once it has re-scored the per-item file (see the leaderboard)."""
        return self.raw.get("status") == "verified" or self.verification is not None

    def field_value(self, name: str) -> Any:
        """A field of the JSON by name; dots reach into objects (``model_config.n_layers``)."""
        value: Any = self.raw
        for part in name.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value


def owner_of(key: str) -> str | None:
    """The agent id in a result's file name (``artifacts/results/x_agent-01.json`` -> ``agent-01``)."""
    return name_owner(key.rsplit("/", 1)[-1])


def is_result_key(key: str) -> bool:
    """True for ``artifacts/results/X.json`` (a top-level JSON file of the results folder)."""
    return key.startswith(paths.RESULTS) and key.endswith(".json") and "/" not in key[len(paths.RESULTS) :]


def check_score(value: Any) -> float:
    """A score as a finite float.

    Raises:
        InvalidInput: not a number, or NaN / infinite.
    """
    if isinstance(value, bool):
        raise InvalidInput(f"score must be a finite number, got {value!r}", hint="pass e.g. --score 0.72")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"score must be a finite number, got {value!r}", hint="pass e.g. --score 0.72") from None
    if not math.isfinite(number):
        raise InvalidInput(f"score must be a finite number, got {value!r}", hint="pass e.g. --score 0.72")
    return number


def check_in_range(spec: Spec, score: float, *, given: Any = None) -> float:
    """``score`` if the spec's metric can take it, else refuse it with the range in the hint.

    Raises:
        InvalidInput: the score is outside ``[metric] min``/``max``.
    """
    why = spec.metric.out_of_range(score)
    if why is None:
        return score
    metric = spec.metric
    percent = metric.max == 1 and 2 <= score <= 100  # 81 for 81%: say what was meant
    shown = given if given is not None else f"{score:g}"
    raise InvalidInput(
        f"score {shown} is outside the range of {metric.name} ({metric.range_text()}); nothing was stored",
        hint=f"{metric.name} runs {metric.range_text()} (collab.toml [metric] min/max): pass a score in it"
             + (f", e.g. --score {score / 100:g} (a fraction, not a percentage)" if percent else ""),
    )


def check_predictions(data: bytes, *, what: str = "the predictions file") -> bytes:
    """``data`` if it holds anything, else refuse it: an empty file is a mistake, not a score of 0.

    Raises:
        InvalidInput: the file is empty (or only whitespace).
    """
    if not data.strip():
        raise InvalidInput(
            f"{what} is empty: there is nothing to score, and nothing was stored",
            hint="write one JSON object per line, e.g. {\"index\": 0, \"prediction\": \"... #### 18\"}",
        )
    return data


def check_name(name: str) -> str:
    """A result or artifact name: 1-100 of letters, digits, ``.``, ``_``, ``-``, starting with a letter or digit.

    Raises:
        InvalidInput: anything else (slashes, ``..``, spaces, an empty name).
    """
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name or name.endswith("."):
        raise InvalidInput(
            f"invalid name {name!r}: use 1-100 of letters, digits, '.', '_' and '-', starting with a letter or digit",
            hint=f"try --name {paths.slug(str(name)) or 'my-result'}",
        )
    return name


def parse_field(text: str) -> tuple[str, Any]:
    """``key=value`` from ``--field``: the value is read as JSON when it is one (numbers), else kept as text.

    Raises:
        InvalidInput: no ``=``, a bad key, or a key reserved for the template's own fields.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not _FIELD_NAME.match(key):
        raise InvalidInput(f"invalid --field {text!r}: write it as key=value", hint="e.g. --field val_bpb=1.12")
    if key in RESERVED:
        raise InvalidInput(
            f"--field cannot set {key!r}: it has its own option", hint=f"use --{key.replace('_', '-')} instead"
        )
    try:
        return key, safejson.loads(value, what=f"--field {key}")
    except safejson.NotJSON:
        return key, value
    except InvalidInput as exc:
        raise InvalidInput(exc.message, hint="give a finite number of at most 100 digits, or plain text") from None


def _verification(value: Any) -> Verification | None:
    if not isinstance(value, dict) or not all(
        isinstance(value.get(f), int) and not isinstance(value.get(f), bool) for f in ("correct", "total")
    ):
        return None
    try:
        return Verification(
            scorer=str(value["scorer"]), version=str(value["version"]), split=str(value.get("split", "")),
            correct=int(value["correct"]), total=int(value["total"]), items=str(value["items"]),
            data_sha256=str(value.get("data_sha256", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def parse_result(key: str, data: bytes, *, modified: datetime | None = None) -> Result:
    """Read a result JSON, ours or hand-written.

    The agent in the file name is the author: it is :attr:`Result.agent_id` whatever the JSON says; an
    ``agent_id`` field naming someone else is kept as :attr:`Result.claimed_agent` (the leaderboard
    reports it). A file name without an agent id falls back to the field.

    Raises:
        InvalidInput: not JSON or beyond :mod:`safejson`'s bounds, not an object, a required field missing,
            or a score that is not finite.
    """
    obj = safejson.loads(data, what=key)
    if not isinstance(obj, dict):
        raise InvalidInput(f"{key}: expected a JSON object, got {type(obj).__name__}")
    missing = [f for f in REQUIRED if obj.get(f) in (None, "")]
    if missing:
        raise InvalidInput(f"{key}: missing required field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    try:
        score = check_score(obj["score"])
    except InvalidInput as exc:
        raise InvalidInput(f"{key}: {exc.message}") from None
    samples = obj.get("test_samples")
    track = obj.get("track")
    written = str(obj["agent_id"]).strip()
    author = owner_of(key) or written
    return Result(
        key=key,
        agent_id=author,
        claimed_agent=written if written != author else None,
        experiment=str(obj["experiment"]),
        score=score,
        timestamp=parse_time(obj.get("timestamp")) or modified,
        model=str(obj.get("model") or ""),
        test_samples=samples if isinstance(samples, int) and not isinstance(samples, bool) else None,
        notes=str(obj.get("notes") or ""),
        track=str(track) if track not in (None, "") else None,
        refs=list(parse_refs(obj.get("refs"))),
        artifacts=list(parse_refs(obj.get("artifacts"))),
        verification=_verification(obj.get("verification")),
        raw=obj,
    )


def _given(fields: dict[str, Any], name: str) -> bool:
    """Whether ``fields`` (``--field`` values) give ``name``, as a key or a dotted path into an object."""
    if fields.get(name) is not None:
        return True
    value: Any = fields
    for part in name.split("."):
        if not isinstance(value, dict) or value.get(part) is None:
            return False
        value = value[part]
    return True


def limit_violations(spec: Spec, result: Result) -> list[str]:
    """Why ``result`` breaks the spec's machine-checkable limits (empty if it does not): a score outside
    the metric's range, a limited field out of bounds, or (except on a dead end, which is never ranked) a
    limited field it does not give."""
    out = []
    if why := spec.metric.out_of_range(result.score):
        out.append(why)
    for limit in spec.constraints.limits:
        value = result.field_value(limit.field)
        if value is None:
            if not result.negative:
                out.append(f"{limit.field} is not given, and this space limits it")
            continue
        why = limit.violation(value)
        if why:
            out.append(why)
    return out


def result_document(
    *,
    agent: str,
    now: datetime,
    experiment: str,
    score: float,
    model: str | None,
    notes: str | None,
    track: str | None,
    test_samples: int | None,
    refs: list[str],
    artifacts: list[str],
    fields: dict[str, Any],
    verification: Verification | None,
    negative: bool = False,
) -> dict[str, Any]:
    """The JSON object of a new result, in the template's field order (``status: negative`` and
    ``negative: true`` for a dead end, which keeps its verification block when it was scored; ``negative``
    stays when ``status`` is later set to ``invalid``)."""
    doc: dict[str, Any] = {
        "agent_id": agent,
        "timestamp": iso(now),
        "experiment": experiment,
        "model": model or None,
        "score": score,
        "test_samples": test_samples,
        "notes": notes or None,
    }
    doc.update(fields)
    doc.update({"track": track, "refs": refs or None, "artifacts": artifacts or None})
    if verification:
        doc["status"] = "verified"
        doc["verification"] = verification.to_dict()
    else:
        doc["status"] = "self-reported"
    if negative:
        doc["status"] = "negative"
        doc["negative"] = True
    return {k: v for k, v in doc.items() if v is not None}


def write_result(store: Store, key: str, doc: dict[str, Any], items: bytes | None = None) -> None:
    """Write a result create-only, its per-item file first (so a verified result never lacks it).

    Retry-safe, in this order:

    1. The result holds the name. Stored already with our content (a retried or repeated submit:
       the same bytes, or the same document but for its ``timestamp``), this is a success that
       only makes sure the items file is there. Other content is a real name clash:
       AlreadyExists, and nothing is written.
    2. The items file, create-only. An items file with other bytes but no result beside it does
       not hold the name (it is the orphan of a write that crashed or was told it failed), so it
       is overwritten.
    3. The result, create-only; a lost answer to our own PUT counts as success (see
       :meth:`Store.put`). A writer that loses the race leaves the items file as it found it.
       An items file that is ours is never deleted, so neither a crash nor a lost answer can
       burn the name or cost a stored result its "verified".
    4. Once the result is ours, the items file is checked to be ours too, in case a racer
       rewrote it in the meantime.

    Raises:
        AlreadyExists: the name is taken by another result; nothing is changed.
    """
    from ...errors import InvalidInput, NotFound, StoreError

    hint = f"results are immutable; submit under a new --name, e.g. {key.rsplit('/', 1)[-1][:-5].rsplit('_', 1)[0]}-2"
    data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
    items_key = paths.items_key(key)

    def stored(k: str) -> bytes | None:
        try:
            return store.get(k)
        except NotFound:
            return None

    def ours(existing: bytes) -> bool:  # the same bytes, or the same document but for its timestamp
        if existing == data:
            return True
        try:
            theirs = safejson.loads(existing, what=key)
        except InvalidInput:
            return False
        if not isinstance(theirs, dict):
            return False
        return {**theirs, "timestamp": None} == {**doc, "timestamp": None}

    def ensure_items() -> None:  # the result is ours: a failed check must not make it look failed
        if items is None:
            return
        try:
            there = stored(items_key)
        except StoreError:
            there = items if wrote_items else None  # unknown: trust our own write, else write it again
        if there != items:
            store.put(items_key, items)

    def clash() -> AlreadyExists:
        return AlreadyExists(f"{key} already exists", hint=hint)

    wrote_items = False
    existing = stored(key)
    if existing is not None:
        if not ours(existing):
            raise clash()
        ensure_items()  # ours, from an attempt that was told it failed: complete it
        return
    replaced: bytes | None = None
    if items is not None:
        try:
            store.put(items_key, items, create_only=True)
            wrote_items = True
        except AlreadyExists:  # other bytes: an orphan, unless a result appeared meanwhile
            existing = stored(key)
            if existing is not None and not ours(existing):
                raise clash() from None
            replaced = stored(items_key)
            store.put(items_key, items)
            wrote_items = True
    try:
        store.put(key, data, create_only=True)
    except AlreadyExists:
        existing = stored(key)
        if existing is None or not ours(existing):
            if replaced is not None and stored(items_key) == items:
                store.put(items_key, replaced)  # a racer holds the name: give back the file we replaced
            raise clash() from None
    ensure_items()


# -- submitting ------------------------------------------------------------------------------------
@dataclass
class Submission:
    """What :func:`submit` stored."""

    key: str
    status: str  # "verified", "self-reported" or "invalid"
    score: float
    reason: str | None
    document: dict[str, Any]
    report: ScoreReport | None = None
    negative: bool = False  # a dead end: shown and labelled, never ranked

    def to_dict(self) -> dict[str, Any]:
        out = {"key": self.key, "status": self.status, "score": self.score, "reason": self.reason,
               "negative": self.negative}
        if self.report:
            out.update(correct=self.report.correct, total=self.report.total, items=paths.items_key(self.key))
        return out


def _track(spec: Spec, track: str | None) -> str | None:
    known = [t.id for t in spec.tracks]
    if known and track not in known:
        what = f"track {track!r} is not one of" if track else "this space ranks by track; pass --track, one of"
        raise InvalidInput(f"{what} {', '.join(known)}", hint=f"e.g. --track {known[0]}")
    if not known and track:
        raise InvalidInput(f"this space has no tracks (got --track {track})", hint="leave out --track")
    return track


def submit(
    store: Store,
    spec: Spec,
    agent: str,
    now: datetime,
    *,
    experiment: str,
    score: Any = None,
    predictions: bytes | None = None,
    name: str | None = None,
    model: str | None = None,
    notes: str | None = None,
    track: str | None = None,
    fields: Iterable[str] = (),
    refs: Iterable[str] = (),
    artifacts: Iterable[str] = (),
    scorer_data: bytes | None = None,
    negative: bool = False,
    resolve: Callable[..., str],
) -> Submission:
    """Validate and store one result (create-only); score it first when predictions are given.

    Everything is checked before anything is written, so a refused submission stores nothing.
    A result over a spec limit is stored, marked invalid with the reason.

    Args:
        negative: record a dead end (``status: negative``): shown and labelled, never ranked as best.
        resolve: the canonical key of an existing ref (``resolve(ref, folders=True)`` for an artifact).

    Raises:
        InvalidInput: no experiment, both or neither of score and predictions, a score that is not
            finite or outside the metric's range, a bad name, field or track, empty or malformed predictions.
        NotFound: a ref or artifact that is not stored; no scorer for the space's task.
        AlreadyExists: the result's name is taken.
    """
    experiment = (experiment or "").strip()
    if not experiment:
        raise InvalidInput("--experiment is empty", hint='describe what you ran, e.g. --experiment "CoT, 8-shot"')
    if (score is None) == (predictions is None):
        raise InvalidInput("give exactly one of --score (self-reported) or --predictions (scored here)",
                           hint="--predictions FILE gets a verified score when the space has a scorer"
                           + ("; a dead end records what it scored too" if negative else ""))
    name = check_name(name if name is not None else (paths.slug(experiment, max_len=48) or "result"))
    key = paths.result_key(name, agent)
    track = _track(spec, track)
    extra = dict(parse_field(f) for f in fields)
    missing = [lim.field for lim in spec.constraints.limits if not negative and not _given(extra, lim.field)]
    if missing:  # a limit the result does not speak to would pass unchecked
        raise InvalidInput(f"this space limits {', '.join(missing)} ([[constraints.limits]] in collab.toml), and the "
                           "result does not give it; nothing was stored",
                           hint="give it: " + " ".join(f"--field {f}=N" for f in missing))
    samples = extra.pop("test_samples", None)
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 0):
        raise InvalidInput(f"test_samples must be a whole number, got {samples!r}", hint="e.g. --field test_samples=1319")
    ref_keys = list(dict.fromkeys(resolve(r) for r in refs))
    artifact_keys = list(dict.fromkeys(resolve(a, folders=True) for a in artifacts))
    report: ScoreReport | None = None
    verification = None
    if predictions is not None:
        if spec.scorer is None:
            raise InvalidInput("this space has no scorer, so it cannot score predictions",
                               hint="submit a self-reported score with --score X")
        check_predictions(predictions)
        report = get_scorer(spec.scorer.name).score(predictions, split=spec.scorer.split, data=scorer_data)
        value = report.score
        verification = Verification(report.scorer, report.version, report.split, report.correct, report.total,
                                    paths.items_key(key), report.data_sha256)
    else:
        value = check_in_range(spec, check_score(score), given=score)
    doc = result_document(
        agent=agent, now=now, experiment=experiment, score=value, model=model, notes=notes, track=track,
        test_samples=report.total if report else samples, refs=ref_keys,
        artifacts=artifact_keys, fields=extra, verification=verification, negative=negative,
    )
    violations = limit_violations(spec, parse_result(key, json.dumps(doc).encode()))
    if violations:
        doc["status"] = "invalid"
        doc["invalid_reason"] = "; ".join(violations)
    write_result(store, key, doc, report.items_jsonl() if report else None)
    status = doc["status"] if doc["status"] != "negative" else "verified" if verification else "self-reported"
    return Submission(key, status, value, doc.get("invalid_reason"), doc, report, negative=negative)
