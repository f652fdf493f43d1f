"""Invalidation: immutable verdicts, and what they taint.

A verdict (``verdicts/{name}_{agent}~{by}.json``) says a result is invalid, who
said so and why. There is one key per result *and author*, so a verdict written
by someone with no right to it (anyone can write the bucket) takes no key that
an entitled verdict needs: it is ignored, reported, and blocks nothing. Readers
read every verdict of a result and take the first entitled one (by its stamp,
then its key); the old layout, one ``verdicts/{name}_{agent}.json`` per result
with its author only in the file, is still read. As everywhere, the agent in a
key is the author: a ``by`` field naming someone else is reported, never credited.

Work built on an invalid result is *flagged*: every result or message that
refs it, directly or through a chain of refs, however deep. :func:`propagate`
is a pure function over a ``{key: refs}`` graph, so it is tested without a store
and the graph can later come from the board index instead of a listing.
"""

from __future__ import annotations

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
from ..timefmt import iso, parse_time

_NEVER = datetime.max.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Verdict:
    """A recorded invalidation of one result."""

    key: str
    result: str
    by: str
    reason: str
    timestamp: datetime | None
    #: Why the file disagrees with its key (another ``by`` or ``result`` than the key's), else ``None``.
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "by": self.by,
            "reason": self.reason,
            "timestamp": iso(self.timestamp) if self.timestamp else None,
        }


def verdict_document(result: str, by: str, reason: str, now: datetime) -> bytes:
    """The JSON bytes of a new verdict."""
    doc = {"result": result, "verdict": "invalid", "by": by, "reason": reason, "timestamp": iso(now)}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def parse_verdict(key: str, data: bytes) -> Verdict:
    """Read a verdict file.

    Raises:
        InvalidInput: not a JSON object with ``result``, ``by`` and ``reason``, or beyond :mod:`safejson`'s bounds.
    """
    obj = safejson.loads(data, what=key)
    if not isinstance(obj, dict) or not all(isinstance(obj.get(f), str) and obj[f] for f in ("result", "by", "reason")):
        raise InvalidInput(f"{key}: a verdict needs the text fields result, by and reason")
    result, by, when = obj["result"], obj["by"], parse_time(obj.get("timestamp"))
    named = key_parts(key)
    if named is None:  # the old layout: the file is the only word on who wrote it
        return Verdict(key, result, by, obj["reason"], when)
    target, author = named
    wrong = []
    if by != author:
        wrong.append(f"says it is by {by}, but its key says {author}")
    if canonical(result) != target:
        wrong.append(f"names the result {result}, but its key names {target}")
    return Verdict(key, target, author, obj["reason"], when,
                   problem="; ".join(wrong) + f": read as {author}'s verdict on {target}" if wrong else None)


def key_parts(key: str) -> tuple[str, str] | None:
    """(result key, author) of a ``verdicts/{name}_{agent}~{by}.json`` key; ``None`` for the old layout."""
    base = key.rsplit("/", 1)[-1]
    stem, sep, author = base.removesuffix(".json").rpartition("~")
    if not sep or not stem or not paths.AGENT_ID_RE.match(author):
        return None
    return paths.RESULTS + stem + ".json", author


def entitled(spec: Spec, owner: str, by: str) -> bool:
    """Whether ``by`` may invalidate a result of ``owner``'s: the owner or an organizer."""
    return by == owner or by in spec.organizers


def first_entitled(spec: Spec, owner: str, verdicts: Iterable[Verdict]) -> Verdict | None:
    """The verdict that stands among a result's verdicts: the first entitled one (stamp, then key)."""
    ok = [v for v in verdicts if entitled(spec, owner, v.by)]
    return min(ok, key=_order) if ok else None


def _order(v: Verdict) -> tuple[datetime, str]:
    return (v.timestamp or _NEVER, v.key)


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


def invalidate(store: Store, spec: Spec, agent: str, result: str, reason: str, *, now: datetime) -> Verdict:
    """Store ``agent``'s immutable verdict that ``result`` is invalid (create-only in ``verdicts/``).

    Args:
        result: the result's key or file name (``x_agent-01.json`` or ``x_agent-01``).
        reason: why, in a line.

    The verdict is stored as ``verdicts/{name}_{agent}~{agent}.json``: a verdict someone else wrote
    (entitled or not) never takes its key. Two entitled verdicts racing are both stored; readers take
    the first (:func:`first_entitled`).

    Raises:
        InvalidInput: an empty reason.
        NotFound: no such result.
        Conflict: ``agent`` is neither the result's owner nor an organizer, or the result is
            already invalidated by an entitled verdict (the first verdict stands).
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
    if not entitled(spec, found.owner, agent):
        who = ", ".join(spec.organizers) or "none listed"
        raise Conflict(
            f"only {found.owner} (the owner) or an organizer ({who}) can invalidate {key}; you are {agent}",
            hint=f"post your evidence on the board instead: collab post --type question --refs {key} --body TEXT",
        )
    earlier = first_entitled(spec, found.owner, verdicts_of(store, key))
    if earlier is not None:
        raise Conflict(f"{key} was already invalidated by {earlier.by}: {earlier.reason}",
                       hint="verdicts are immutable; the first one stands")
    verdict_key = paths.verdict_key(key, agent)
    try:
        store.put(verdict_key, verdict_document(key, agent, reason, now), create_only=True)
    except AlreadyExists:
        mine = parse_verdict(verdict_key, store.get(verdict_key))
        raise Conflict(f"{key} was already invalidated by {mine.by}: {mine.reason}",
                       hint="verdicts are immutable; the first one stands") from None
    return parse_verdict(verdict_key, store.get(verdict_key))
