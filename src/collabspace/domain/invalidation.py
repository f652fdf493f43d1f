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
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import AlreadyExists, CollabError, Conflict, InvalidInput, NotFound
from ..storage import Store
from . import frontmatter, paths, safejson
from .results import parse_result
from .spec import Spec
from .timefmt import iso, parse_time


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


def normalize_refs(value: Any) -> list[str]:
    """``refs`` as agents write them: a string, a comma list, a YAML list, or nothing."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [str(value).strip()]


def _aliases(key: str) -> list[str]:
    base = key.rsplit("/", 1)[-1]
    out = [key, base]
    for ext in (".json", ".md"):
        if base.endswith(ext):
            out.append(base[: -len(ext)])
    return out


def resolver(keys: Iterable[str]) -> dict[str, str]:
    """A lookup from every way a ref may name a node (full key, file name, name without extension) to its key."""
    table: dict[str, str] = {}
    for key in keys:
        for alias in _aliases(key):
            table.setdefault(alias, key)
    return table


def resolve(ref: str, table: Mapping[str, str]) -> str | None:
    """The node a ref points at, or ``None``; a result's per-item file stands for the result."""
    ref = ref.strip().strip("`'\"<>").removeprefix("./")
    if "://" in ref:  # hf://buckets/ns/name/message_board/x.md -> the key inside the space
        for marker in (paths.BOARD, paths.ARTIFACTS):
            if marker in ref:
                ref = ref[ref.index(marker) :]
                break
    ref = ref.replace(".items.jsonl", ".json")
    return table.get(ref) or table.get(ref.rsplit("/", 1)[-1])


def propagate(graph: Mapping[str, Iterable[str]], invalid: Iterable[str]) -> dict[str, Flag]:
    """Flag every node that refs an invalid node, directly or transitively.

    Args:
        graph: node key -> the refs it makes (raw; resolved with :func:`resolve`).
        invalid: the keys of invalid nodes (the roots; they are not flagged themselves).

    Returns:
        flagged node key -> :class:`Flag` with its nearest invalid root (fewest hops).
    """
    table = resolver(graph)
    children: dict[str, list[str]] = {}
    for node, refs in graph.items():
        for ref in refs:
            target = resolve(ref, table)
            if target is not None and target != node:
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


# Messages are immutable, so their refs are read once per process.
_REFS: dict[tuple[str, str], list[str]] = {}
_REFS_LOCK = threading.Lock()


def message_refs(store: Store, *, workers: int = 16) -> dict[str, list[str]]:
    """Every message's refs, from the board listing: ``{message key: [ref, ...]}``.

    This is the one place the invalidation graph reads the board; a message
    whose frontmatter cannot be parsed simply contributes no refs.
    """
    keys = [i.key for i in store.list(paths.BOARD) if i.key.endswith(".md") and i.key != paths.BOARD_README]

    def read(key: str) -> list[str]:
        token = (store.url, key)
        with _REFS_LOCK:
            if token in _REFS:
                return _REFS[token]
        try:
            meta, _ = frontmatter.parse(store.get(key))
            refs = normalize_refs(meta.get("refs"))
        except CollabError:
            refs = []
        with _REFS_LOCK:
            _REFS[token] = refs
        return refs

    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=min(workers, len(keys))) as pool:
        return dict(zip(keys, pool.map(read, keys), strict=True))


# Verdicts are immutable: a parsed copy stays good while the listing shows the same etag and size.
_VERDICTS: dict[tuple[str, str], tuple[Any, int, Verdict | str]] = {}


def read_verdicts(store: Store) -> tuple[list[Verdict], list[tuple[str, str]]]:
    """Every verdict in the space, and ``(key, problem)`` for the files that are not one."""
    verdicts: list[Verdict] = []
    problems: list[tuple[str, str]] = []
    for info in store.list(paths.VERDICTS):
        token = (store.url, info.key)
        hit = _VERDICTS.get(token)
        if hit and info.etag is not None and hit[:2] == (info.etag, info.size):
            item = hit[2]
        else:
            try:
                item = parse_verdict(info.key, store.get(info.key))
            except CollabError as exc:
                item = exc.message.removeprefix(f"{info.key}: ")
            _VERDICTS[token] = (info.etag, info.size, item)
        if isinstance(item, Verdict):
            verdicts.append(item)
        else:
            problems.append((info.key, item))
    return verdicts, problems


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
    key = result if result.startswith(paths.RESULTS) else paths.RESULTS + result.rsplit("/", 1)[-1]
    key = key if key.endswith(".json") else key + ".json"
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
