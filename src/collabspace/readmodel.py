"""The read model: the one way a space is read, for every surface.

:meth:`ReadModel.refresh` looks at the store once, through this machine's caches,
and returns a :class:`Snapshot`; every read of the CLI, the dashboard, MCP and
the regenerated ``LEADERBOARD.md`` is a function of a snapshot. A refresh makes at
most one listing per prefix:

* ``message_board/``: the board index's sync (incremental, or the whole board
  when :mod:`~collabspace.local.index` says a full listing is due);
* ``artifacts/results/`` and ``verdicts/``: results and verdicts are immutable,
  so an object whose etag and size are unchanged is never fetched again (the
  machine-local :class:`~collabspace.local.objectcache.ObjectCache`) nor parsed
  again (this process's memo);
* ``agents/``: registrations, fetched only when their listing changed, and listed
  at most every :data:`AGENTS_SECONDS` unless asked.

The snapshot carries the leaderboard too, built once from it
(:func:`collabspace.domain.results.leaderboard.build`), and a ``version`` that changes
when anything in it does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from .domain.setup import agents as registrations
from .domain.results import invalidation
from .domain import paths
from .domain.results import leaderboard as standings
from .domain.board.board import Board
from .domain.packs import Packs
from .domain.problems import Problem
from .domain.results.results import Result, is_result_key, parse_result
from .domain.setup.spec import Spec
from .errors import CollabError, NotFound
from .local.objectcache import ObjectCache
from .storage import ObjectInfo, Store

#: How much of LEADERBOARD.md / leaderboard.json a reader reads to learn its results count (near the top).
_COUNT_BYTES = 16384
#: How often the registrations are listed when nothing asks for them.
AGENTS_SECONDS = 15.0


@dataclass(frozen=True)
class Snapshot:
    """The space as one refresh saw it.

    Attributes:
        board_version: changes whenever a message is indexed or dropped.
        results: every usable result, in key order.
        verdicts: every readable verdict.
        registrations: every readable registration, in id order.
        problems: result, verdict and registration files that cannot be used, with the reason.
        present: every key under ``artifacts/results/`` (per-item files included).
        leaderboard: the leaderboard derived from all of it.
        version: changes when anything above does.
    """

    board_version: str
    results: list[Result]
    verdicts: list[invalidation.Verdict]
    registrations: list[registrations.Registration]
    problems: list[Problem]
    present: frozenset[str]
    leaderboard: standings.Leaderboard
    version: str
    listings: dict[str, tuple[tuple[str, int, str | None], ...]] = field(default_factory=dict, repr=False)

    @property
    def sources(self) -> frozenset[str]:
        """Every result and verdict key the leaderboard was built from."""
        return self.leaderboard.sources


class ReadModel:
    """Reads one space for every surface, through this machine's caches.

    Args:
        store: the space's store.
        spec: returns the space's spec (read once by the caller).
        clock: the current UTC time.
        board: the board (its index and cursors); by default one for ``store``.
    """

    def __init__(self, store: Store, *, spec: Callable[[], Spec], clock: Callable[[], datetime],
                 board: Board | None = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self._spec = spec
        self.board = board or Board(store, clock=clock)
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self._memo: dict[tuple[str, str | None, int], Any] = {}
        self._agents_at = float("-inf")
        self._last: Snapshot | None = None
        self._infos: dict[str, list[ObjectInfo]] = {}
        self._agents_listing: tuple[tuple[str, int, str | None], ...] = ()
        self._registrations_list: list[registrations.Registration] = []
        self._registration_problems: list[Problem] = []

    @cached_property
    def objects(self) -> ObjectCache:
        """This machine's cache of immutable objects (results, verdicts, registrations)."""
        return ObjectCache(self.store.url)

    @property
    def last(self) -> Snapshot | None:
        """The latest snapshot, if any refresh has run."""
        return self._last

    def refresh(self, *, full: bool = False, board: bool = True, agents: bool | None = None) -> Snapshot:
        """Look at the store once and return what it holds now.

        Args:
            full: list the whole board (a complete read) instead of what is due.
            board: sync the board (False: the caller synced it just now).
            agents: re-list the registrations (None: when :data:`AGENTS_SECONDS` have passed,
                or an agent posts who is not registered).

        Raises:
            StoreError: the store failed (the previous snapshot is kept).
        """
        with self._lock:
            if board:
                self.board.sync(full=full)
            if agents is None and self._agents_listing:  # an agent posts who is not registered: look now
                known = {r.agent for r in self._registrations_list}
                agents = True if any(a not in known for a in self.board.index.authors()) else None
            listings = {prefix: self._listing(prefix) for prefix in (paths.RESULTS, paths.VERDICTS)}
            results, problems = self._results()
            verdicts, verdict_problems = self._verdicts()
            regs = self.registrations(force=agents)
            listings[paths.AGENTS] = self._agents_listing
            board_version = self.board.index.version()
            spec = self._spec()
            old = self._last
            if old is not None and old.listings == listings and old.board_version == board_version:
                return old
            present = frozenset(key for key, _, _ in listings[paths.RESULTS])
            if old is not None and old.listings.get(paths.RESULTS) == listings[paths.RESULTS] and \
                    old.listings.get(paths.VERDICTS) == listings[paths.VERDICTS] and \
                    not _watches_board(old.leaderboard):
                lb = old.leaderboard  # the board changed, but nothing is invalid that a message could build on
            else:
                lb = standings.build(spec, results, present=set(present), verdicts=verdicts,
                                     messages=self.board.index.refs_by_key,
                                     problems=problems + verdict_problems, fetch=self._fetch)
                lb.sources = frozenset({k for k in present if is_result_key(k)} | {
                    k for k, _, _ in listings[paths.VERDICTS]})
            snap = Snapshot(
                board_version=board_version, results=results, verdicts=verdicts, registrations=regs,
                problems=problems + verdict_problems + self._registration_problems, present=present,
                leaderboard=lb, version=f"{board_version}|{hash(tuple(listings.items())) & 0xFFFFFFFF:08x}",
                listings=listings,
            )
            self._last = snap
            return snap

    # -- the published leaderboard ----------------------------------------------------------
    def published_behind(self, snap: Snapshot) -> bool:
        """Whether ``LEADERBOARD.md`` or ``leaderboard.json`` was built from fewer results than ``snap``
        lists (a submit killed between its result and the regeneration), or is missing. A file without
        our count (hand-made) is not ours to overwrite here: ``collab doctor`` reports it.

        Cheap: checked once per results listing (by the caller), and only the first few KiB of each
        file are read. A count ahead of the listing (someone writing right now) is never "behind".
        """
        listed = len(snap.leaderboard.result_keys)
        for key, count in ((paths.LEADERBOARD, standings.published_count),
                           (paths.LEADERBOARD_JSON, lambda _store, text: standings._twin_count(text))):
            text = self._published(key)
            if text is None:
                if listed:
                    return True
                continue
            found = count(self.store, text)
            if found is not None and found < listed:
                return True
        return False

    def _published(self, key: str) -> str | None:
        """The start of a published file, where its results count is (one small ranged GET; the files
        hold every row, megabytes on a big board), or ``None`` when it is missing."""
        try:
            return self.store.get_start(key, _COUNT_BYTES).decode("utf-8", "replace")
        except NotFound:
            return None

    # -- the parts -----------------------------------------------------------------------
    def _fetch(self, keys: list[str]) -> dict[str, bytes | None]:
        """Bytes the leaderboard needs to believe a verification (items files, the scorer's data), through
        the object cache: items files are immutable, so each costs one GET per machine. Store errors
        propagate: a network blip must not publish honest results as "not reproducible"."""
        infos = {i.key: i for i in self._infos[paths.RESULTS]}
        todo = [infos[k] for k in keys if k in infos and infos[k].size <= standings.MAX_ITEMS_BYTES]
        out: dict[str, bytes | None] = dict(self.objects.fetch(self.store, todo)) if todo else {}
        for key in keys:
            if key not in infos:  # the scorer's data lives outside results/
                try:
                    out[key] = self.store.get(key)
                except NotFound:
                    out[key] = None
        return out

    def _listing(self, prefix: str) -> tuple[tuple[str, int, str | None], ...]:
        infos = list(self.store.list(prefix))
        self._infos[prefix] = infos
        return tuple((i.key, i.size, i.etag) for i in infos)

    def _parsed(self, infos: list[ObjectInfo], parse: Callable[[ObjectInfo, bytes], Any], *,
                packs: Packs | None = None) -> list[Any]:
        """Each object parsed (or a :class:`Problem` saying why it cannot be), fetched through the object
        cache; an object whose etag and size this process has parsed before is not looked at again."""
        out: dict[str, Any] = {}
        todo = []
        for info in infos:
            hit = self._memo.get((info.key, info.etag, info.size)) if info.etag is not None else None
            if hit is None:
                todo.append(info)
            else:
                out[info.key] = hit
        get = None
        if packs is not None:
            listing = {i.key: i for i in self._infos[packs.prefix]}

            def get(missing: list[ObjectInfo]) -> dict[str, bytes | None]:
                return packs.fetch(missing, listing, get=self.store.get_many)
        data = self.objects.fetch(self.store, todo, get=get) if todo else {}
        for info in todo:
            out[info.key] = item = _parse_one(info, data.get(info.key), parse)
            if info.etag is not None:
                self._memo[(info.key, info.etag, info.size)] = item
        return [out[i.key] for i in infos]

    def _results(self) -> tuple[list[Result], list[Problem]]:
        infos = [i for i in self._infos[paths.RESULTS] if is_result_key(i.key)]
        items = self._parsed(infos, lambda i, raw: parse_result(i.key, raw, modified=i.last_modified),
                             packs=Packs(self.store, paths.RESULTS))
        return [r for r in items if isinstance(r, Result)], [p for p in items if isinstance(p, Problem)]

    def _verdicts(self) -> tuple[list[invalidation.Verdict], list[Problem]]:
        items = self._parsed(self._infos[paths.VERDICTS], lambda i, raw: invalidation.parse_verdict(i.key, raw))
        return ([v for v in items if isinstance(v, invalidation.Verdict)],
                [p for p in items if isinstance(p, Problem)])

    def registrations(self, *, force: bool | None = True) -> list[registrations.Registration]:
        """Every readable registration, in id order: re-listed when ``force`` (None: when
        :data:`AGENTS_SECONDS` have passed), re-read only when the listing changed."""
        now = self._monotonic()
        due = force if force is not None else now - self._agents_at >= AGENTS_SECONDS
        if not due:
            return self._registrations_list
        self._agents_at = now
        listing = self._listing(paths.AGENTS)
        if listing == self._agents_listing and self._registrations_list:
            return self._registrations_list
        infos = [i for i in self._infos[paths.AGENTS] if _is_registration(i.key)]
        items = self._parsed(infos, lambda i, raw: registrations.parse_registration(i.key, raw))
        self._agents_listing = listing
        self._registrations_list = sorted((r for r in items if isinstance(r, registrations.Registration)),
                                          key=lambda r: r.agent)
        self._registration_problems = [p for p in items if isinstance(p, Problem)]
        return self._registrations_list


def _parse_one(info: ObjectInfo, raw: bytes | None, parse: Callable[[ObjectInfo, bytes], Any]) -> Any:
    if raw is None:
        return Problem(info.key, "disappeared while being read")
    try:
        return parse(info, raw)
    except CollabError as exc:
        return Problem(info.key, exc.message.removeprefix(f"{info.key}: "))
    except (ValueError, RecursionError, MemoryError) as exc:  # a hostile file is skipped, never fatal
        return Problem(info.key, f"cannot be read ({type(exc).__name__})")


def _is_registration(key: str) -> bool:
    return key.endswith(".md") and not key.endswith("/README.md")


def _watches_board(lb: standings.Leaderboard) -> bool:
    """Whether a new message could change the leaderboard (it may build on an invalid result)."""
    return bool(lb.flagged) or any(r.status == "invalid" for r in lb.rows)
