"""Invalidation: immutable verdicts, and what they taint.

A verdict (``verdicts/{name}_{agent}~{by}.json``) says a result is invalid, who
said so and why. There is one key per result *and author*, so a verdict written
by someone with no right to it (anyone can write the bucket) takes no key that
an entitled verdict needs: it is ignored, reported, and blocks nothing. The old
layout, one ``verdicts/{name}_{agent}.json`` per result with its author only in
the file, is still read. As everywhere, the agent in a key is the author: a ``by``
field naming someone else is reported, never credited.

Verdicts stay immutable; a mistaken one is reversed by a *later* verdict: an
organizer's ``action: reinstate`` (``collab invalidate --reverse``), which names the
verdict it ``supersedes``, under ``verdicts/{name}_{agent}~{by}~{stamp}.json``. An
invalidation of a reinstated result names, in the same way, the reinstatement it
``supersedes``. So a result's verdicts form a chain, each naming the one before it.

Readers replay a result's entitled verdicts (:func:`standing`) in chain order
(:func:`in_order`): a verdict that names another among them is replayed after it,
whatever either clock said (an organizer whose clock is behind, two verdicts in one
second, a verdict dated in the future); otherwise by stamp, then key. A verdict that
names the one it supersedes applies only if that one is what currently applies (and
it changes something); a verdict that names none (the first invalidation, one that
raced it, or one by an older writer) applies when it changes something. So of two
invalidations that raced, the first stands, and a reinstatement always reverses the
verdict it names. Invalidating takes the owner or an organizer; reinstating, an
organizer.

A ``verdicts/`` key with ``~`` in its name that does not parse as
``{name}_{agent}~{by}[~{stamp}].json`` is unusable (doctor says why): it is never
read as the old layout, whose author only the file names.

Work built on an invalid result is *flagged*: every result or message that
refs it, directly or through a chain of refs, however deep. :func:`propagate`
is a pure function over a ``{key: refs}`` graph, so it is tested without a store
and the graph can later come from the board index instead of a listing.
"""

from __future__ import annotations

import heapq
import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ...errors import AlreadyExists, CollabError, Conflict, InvalidInput, NotFound
from ...storage import Store
from .. import paths, safejson
from ..refs import canonical
from .results import parse_result
from ..setup.spec import Spec
from ..timefmt import file_stamp, iso, parse_time

_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)

INVALIDATE, REINSTATE = "invalidate", "reinstate"


@dataclass(frozen=True)
class Verdict:
    """A recorded verdict on one result: an invalidation, or a reinstatement that reverses one."""

    key: str
    result: str
    by: str
    reason: str
    timestamp: datetime | None
    #: Why the file disagrees with its key (another ``by`` or ``result`` than the key's), else ``None``.
    problem: str | None = None
    #: :data:`INVALIDATE` or :data:`REINSTATE`.
    action: str = INVALIDATE
    #: The verdict a reinstatement reverses (its key), as it says.
    supersedes: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "result": self.result,
            "action": self.action,
            "by": self.by,
            "reason": self.reason,
            "timestamp": iso(self.timestamp) if self.timestamp else None,
            "supersedes": self.supersedes,
        }

    def describe(self) -> str:
        """``invalidated by alice: why`` / ``reinstated by alice: why``."""
        return f"{'reinstated' if self.action == REINSTATE else 'invalidated'} by {self.by}: {self.reason}"


def verdict_document(result: str, by: str, reason: str, now: datetime, *, supersedes: str | None = None,
                     action: str | None = None) -> bytes:
    """The JSON bytes of a new verdict: an invalidation, or with ``supersedes`` a reinstatement.

    ``action`` (default: a reinstatement when ``supersedes`` is given, else an invalidation) lets an
    invalidation name the reinstatement it supersedes.
    """
    action = action or (REINSTATE if supersedes is not None else INVALIDATE)
    if action == INVALIDATE:
        doc: dict[str, Any] = {"result": result, "verdict": "invalid", "by": by, "reason": reason,
                               "timestamp": iso(now)}
        if supersedes is not None:
            doc = {"result": result, "verdict": "invalid", "action": INVALIDATE, "supersedes": supersedes,
                   "by": by, "reason": reason, "timestamp": iso(now)}
    else:
        doc = {"result": result, "verdict": "valid", "action": REINSTATE, "supersedes": supersedes, "by": by,
               "reason": reason, "timestamp": iso(now)}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def _action(obj: dict[str, Any], key: str) -> str:
    action = obj.get("action")
    if action in (None, "", INVALIDATE, "invalid"):
        return REINSTATE if obj.get("verdict") in ("valid", "reinstated") and action in (None, "") else INVALIDATE
    if action in (REINSTATE, "reinstated", "reverse"):
        return REINSTATE
    raise InvalidInput(f"{key}: unknown verdict action {str(action)[:40]!r} (invalidate or reinstate)")


def parse_verdict(key: str, data: bytes) -> Verdict:
    """Read a verdict file.

    Raises:
        InvalidInput: not a JSON object with ``result``, ``by`` and ``reason``, or beyond :mod:`safejson`'s bounds.
    """
    obj = safejson.loads(data, what=key)
    if not isinstance(obj, dict) or not all(isinstance(obj.get(f), str) and obj[f] for f in ("result", "by", "reason")):
        raise InvalidInput(f"{key}: a verdict needs the text fields result, by and reason")
    result, by, when = obj["result"], obj["by"], parse_time(obj.get("timestamp"))
    action = _action(obj, key)
    supersedes = obj.get("supersedes")
    supersedes = str(supersedes)[:1024] if isinstance(supersedes, str) and supersedes else None
    named = key_parts(key)  # raises for a key that is neither layout
    if named is None:  # the old layout: the file is the only word on who wrote it
        return Verdict(key, result, by, obj["reason"], when, action=action, supersedes=supersedes)
    target, author = named
    wrong = []
    if by != author:
        wrong.append(f"says it is by {by}, but its key says {author}")
    if canonical(result) != target:
        wrong.append(f"names the result {result}, but its key names {target}")
    return Verdict(key, target, author, obj["reason"], when,
                   problem="; ".join(wrong) + f": read as {author}'s verdict on {target}" if wrong else None,
                   action=action, supersedes=supersedes)


def key_parts(key: str) -> tuple[str, str] | None:
    """(result key, author) of a ``verdicts/{name}_{agent}~{by}[~{stamp}].json`` key; ``None`` for the old
    layout (a name without ``~``).

    Raises:
        InvalidInput: a name with ``~`` that is not the new layout (``x~mallory~zzz``, ``x~Not An Id``,
            ``~lead``): unusable, never read as the old layout (whose ``by`` field would be believed).
    """
    base = key.rsplit("/", 1)[-1]
    stem = base.removesuffix(".json")
    if "~" not in stem:
        return None
    parts = stem.split("~")
    if len(parts) == 3 and paths.VERDICT_STAMP.match(parts[2]):
        parts = parts[:2]
    if len(parts) != 2 or not parts[0] or not paths.AGENT_ID_RE.match(parts[1]):
        shown = base if len(base) <= 120 else base[:119] + "…"
        raise InvalidInput(f"{key}: the verdict's name {shown!r} has '~' but is not "
                           "{name}_{agent}~{by}[~{YYYYMMDD-HHmmss}].json, so its author is unknown: unusable, it "
                           "blocks nothing (its by field is not believed)")
    return paths.RESULTS + parts[0] + ".json", parts[1]


def entitled(spec: Spec, owner: str, by: str, action: str = INVALIDATE) -> bool:
    """Whether ``by`` may give this verdict on a result of ``owner``'s: the owner or an organizer may
    invalidate it; only an organizer may reinstate it."""
    return by in spec.organizers or (by == owner and action == INVALIDATE)


def standing(spec: Spec, owner: str, verdicts: Iterable[Verdict]) -> Verdict | None:
    """The verdict that applies to a result (``None``: none does; the result is valid).

    The entitled verdicts are replayed in chain order (:func:`in_order`). A verdict that names the
    one it ``supersedes`` (among them) applies only when that one is what applies at that point, and
    it changes something: a reinstatement reverses the invalidation it names, an invalidation the
    reinstatement it names. A verdict that names none applies when it changes something: an
    invalidation makes a valid result invalid, a reinstatement an invalid one valid; any other (a second
    invalidation that raced the first) changes nothing. The result is invalid when the verdict returned
    is an invalidation; a reinstatement returned says why it is valid again.
    """
    replay = in_order(v for v in verdicts if entitled(spec, owner, v.by, v.action))
    present = {v.key: v for v in replay}
    current: Verdict | None = None
    for v in replay:
        changes = (v.action == INVALIDATE) != is_invalid(current)
        target = _superseded(v, present)
        if changes and (target is None or target is current):
            current = v
    return current


def is_invalid(verdict: Verdict | None) -> bool:
    """Whether a :func:`standing` verdict leaves its result invalid."""
    return verdict is not None and verdict.action == INVALIDATE


def _superseded(v: Verdict, present: Mapping[str, Verdict]) -> Verdict | None:
    """The verdict among ``present`` that ``v`` says it supersedes (by key or file name), else ``None``."""
    name = v.supersedes
    if not name:
        return None
    found = present.get(name) or present.get(paths.VERDICTS + name)
    return found if found is not None and found.key != v.key else None


def _stamp_order(v: Verdict) -> tuple[datetime, str]:
    return (v.timestamp or _EARLIEST, v.key)


def in_order(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """Verdicts in the order they are replayed: a verdict that names another of them as the one it
    ``supersedes`` comes after it, whatever their clocks said; otherwise by stamp (undated first), then
    key. Verdicts whose ``supersedes`` names go round in a circle (only hand-written ones can) come last,
    where :func:`standing` lets none of them apply. Linear in the number of verdicts (plus a sort).
    """
    ordered = sorted(verdicts, key=_stamp_order)
    present: dict[str, Verdict] = {}
    for v in ordered:
        present.setdefault(v.key, v)
    waiting: dict[str, list[int]] = {}
    ready: list[tuple[datetime, str, int]] = []
    for i, v in enumerate(ordered):
        target = _superseded(v, present)
        if target is not None:
            waiting.setdefault(target.key, []).append(i)
        else:
            ready.append((*_stamp_order(v), i))
    heapq.heapify(ready)
    out: list[Verdict] = []
    done: set[int] = set()
    while ready:
        *_, i = heapq.heappop(ready)
        done.add(i)
        out.append(ordered[i])
        for j in waiting.pop(ordered[i].key, ()):
            heapq.heappush(ready, (*_stamp_order(ordered[j]), j))
    out += [v for i, v in enumerate(ordered) if i not in done]  # a circle of supersedes: never applies
    return out


def verdicts_of(store: Store, result: str) -> list[Verdict]:
    """Every readable verdict on ``result`` (a canonical key), both layouts, in one listing."""
    stem = paths.verdict_key(result).removesuffix(".json")
    out = []
    for info in store.list(stem):
        if info.key != stem + ".json" and not info.key.startswith(stem + "~"):
            continue
        try:
            v = parse_verdict(info.key, store.get(info.key))
        except (CollabError, ValueError, RecursionError, MemoryError):
            continue  # unusable: doctor reports it; it blocks nothing
        if canonical(v.result) == result:
            out.append(v)
    return out


@dataclass(frozen=True)
class Flag:
    """Why a result or message is flagged: it builds on the invalid ``root`` through ``via``."""

    root: str
    via: str
    depth: int

    def reason(self) -> str:
        root = self.root.rsplit("/", 1)[-1]
        if self.depth == 1:
            return f"builds on invalid {root}"
        return f"builds on invalid {root} (via {self.via.rsplit('/', 1)[-1]})"

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "via": self.via, "depth": self.depth, "reason": self.reason()}


def propagate(graph: Mapping[str, Iterable[str]], invalid: Iterable[str]) -> dict[str, Flag]:
    """Flag every node that refs an invalid node, directly or transitively.

    Args:
        graph: node key -> the refs it makes (canonical keys, :mod:`.refs`; a ref to no node is ignored).
        invalid: the keys of invalid nodes (the roots; they are not flagged themselves).

    Returns:
        flagged node key -> :class:`Flag` with its nearest invalid root (fewest hops).
    """
    children: dict[str, list[str]] = {}
    for node, made in graph.items():
        for target in made:
            if target in graph and target != node:
                children.setdefault(target, []).append(node)
    roots = [k for k in invalid if k in graph]
    flags: dict[str, Flag] = {}
    queue: deque[tuple[str, str, int]] = deque((r, r, 0) for r in sorted(roots))
    done = set(roots)
    while queue:
        node, root, depth = queue.popleft()
        for child in sorted(children.get(node, ())):
            if child in done:
                continue
            done.add(child)
            flags[child] = Flag(root=root, via=node, depth=depth + 1)
            queue.append((child, root, depth + 1))
    return flags


def invalidate(store: Store, spec: Spec, agent: str, result: str, reason: str, *, now: datetime,
               reverse: bool = False) -> Verdict:
    """Store ``agent``'s immutable verdict that ``result`` is invalid, or (``reverse``) that the verdict
    which made it invalid was a mistake (create-only in ``verdicts/``).

    Args:
        result: the result's key or file name (``x_agent-01.json`` or ``x_agent-01``).
        reason: why, in a line.
        reverse: reinstate the result: a new verdict with ``action: reinstate`` that names the one it
            ``supersedes``; the earlier verdict is kept as it was. Invalidating a reinstated result
            likewise names the reinstatement it supersedes, so readers replay each verdict after the
            one it names, whatever the writers' clocks say.

    The verdict is stored as ``verdicts/{name}_{agent}~{agent}.json``, or, when that key holds an earlier
    verdict of ``agent``'s, ``verdicts/{name}_{agent}~{agent}~{stamp}.json``: a verdict someone else wrote
    (entitled or not) never takes its key. Two entitled invalidations racing are both stored; readers
    replay them (:func:`standing`), so the first stands.

    Raises:
        InvalidInput: an empty reason.
        NotFound: no such result.
        Conflict: ``agent`` is neither the result's owner nor an organizer (for a reinstatement: not an
            organizer), the result is already invalid (invalidating), or it is not (reversing).
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("--reason is empty", hint='say why, e.g. --reason "trained on the test split"')
    key = canonical(result if result.endswith(".json") else result + ".json")
    if not key.startswith(paths.RESULTS):
        raise NotFound(f"no result {result}", hint="name a result, e.g. lora_agent-01.json; list them with: "
                       "collab leaderboard --format json")
    try:
        found = parse_result(key, store.get(key))
    except NotFound:
        raise NotFound(f"no result {key}", hint="list results with: collab leaderboard --format json") from None
    name = key.rsplit("/", 1)[-1]
    who = ", ".join(spec.organizers) or "none listed in collab.toml"
    if reverse and agent not in spec.organizers:
        raise Conflict(
            f"only an organizer ({who}) can reverse a verdict on {key}; you are {agent}",
            hint=f"ask an organizer on the board: collab post --type question --refs {key} --body TEXT",
        )
    if not entitled(spec, found.owner, agent):
        raise Conflict(
            f"only {found.owner} (the owner) or an organizer ({who}) can invalidate {key}; you are {agent}",
            hint=f"post your evidence on the board instead: collab post --type question --refs {key} --body TEXT",
        )
    earlier = verdicts_of(store, key)
    current = standing(spec, found.owner, earlier)
    if reverse and not is_invalid(current):
        raise Conflict(f"{key} is not invalidated, so there is nothing to reverse"
                       + (f" (it was {current.describe()})" if current else ""),
                       hint="see its status with: collab leaderboard --format json")
    if not reverse and is_invalid(current):
        assert current is not None
        raise Conflict(f"{key} was already invalidated by {current.by}: {current.reason}",
                       hint="verdicts are immutable; the first one stands (an organizer can reverse it: "
                            f"collab invalidate {name} --reverse --reason TEXT)")
    # A reinstatement names the invalidation it reverses; an invalidation of a reinstated result names the
    # reinstatement: readers replay each after the verdict it names, whatever the clocks say.
    data = verdict_document(key, agent, reason, now, supersedes=current.key if current else None,
                            action=REINSTATE if reverse else INVALIDATE)
    first = paths.verdict_key(key, agent)
    later = paths.verdict_key(key, agent, stamp=file_stamp(now))
    # The first verdict of an author on a result takes the plain key; a later one (or one whose plain key a
    # file we could not read holds) the stamped key.
    for verdict_key in ([first] if all(v.key != first for v in earlier) else []) + [later]:
        try:
            store.put(verdict_key, data, create_only=True)
        except AlreadyExists:
            if verdict_key == later:
                raise Conflict(f"{agent} wrote another verdict on {key} in this second",
                               hint="verdicts are immutable; see the result's status with: collab leaderboard "
                                    "--format json") from None
            continue
        return parse_verdict(verdict_key, store.get(verdict_key))
    raise AssertionError("unreachable")  # pragma: no cover
