"""Invalidation: immutable verdicts, and what they taint.

A verdict (``verdicts/{name}_{agent}.json``) says a result is invalid, who said
so and why. It is written create-only by the result's owner or an organizer;
one written by anyone else is ignored and reported.

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
from datetime import datetime
from typing import Any

from ...errors import AlreadyExists, Conflict, InvalidInput, NotFound
from ...storage import Store
from .. import paths, safejson
from ..refs import canonical
from .results import parse_result
from ..setup.spec import Spec
from ..timefmt import iso, parse_time


@dataclass(frozen=True)
class Verdict:
    """A recorded invalidation of one result."""

    key: str
    result: str
    by: str
    reason: str
    timestamp: datetime | None

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
    return Verdict(key, obj["result"], obj["by"], obj["reason"], parse_time(obj.get("timestamp")))


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

    Raises:
        InvalidInput: an empty reason.
        NotFound: no such result.
        Conflict: ``agent`` is neither the result's owner nor an organizer, or the result is
            already invalidated (the first verdict stands).
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
    if agent != found.owner and agent not in spec.organizers:
        who = ", ".join(spec.organizers) or "none listed"
        raise Conflict(
            f"only {found.owner} (the owner) or an organizer ({who}) can invalidate {key}; you are {agent}",
            hint=f"post your evidence on the board instead: collab post --type question --refs {key} --body TEXT",
        )
    verdict_key = paths.verdict_key(key)
    try:
        store.put(verdict_key, verdict_document(key, agent, reason, now), create_only=True)
    except AlreadyExists:
        earlier = parse_verdict(verdict_key, store.get(verdict_key))
        raise Conflict(f"{key} was already invalidated by {earlier.by}: {earlier.reason}",
                       hint="verdicts are immutable; the first one stands") from None
    return parse_verdict(verdict_key, store.get(verdict_key))
