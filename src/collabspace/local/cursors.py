"""Read cursors and inbox acknowledgements: state that must survive, kept apart from the caches.

A cursor says which messages an agent has been shown as new. It is expressed in
the store's own terms, never in a cache's: a message's *arrival* is the store's
modification time (the server's clock), so the cursor means the same thing after
the board index is deleted, rebuilt or migrated.

A message is new for an agent when it arrived after the cursor's ``after`` and
is not among the ``seen`` keys. Delivering messages adds them to ``seen`` and
moves ``after`` to :data:`GRACE` before the newest arrival delivered, dropping
what is older. The grace covers a message that arrived a while ago but is only
listed now (an old filename stamp found by the periodic full listing, a slow
upload): it still arrived after ``after``, it is not in ``seen``, so it is new,
delivered once. It must exceed the longest a reader can take to list an arrival
(:data:`~collabspace.local.index.RECONCILE` plus an upload's duration).

The cursor also travels with the agent: each message it posts records the last
message it had been shown (``read_to``), so on a machine where it has never read
(a job runner, a new container) its cursor resumes from its latest post's
``read_to`` instead of delivering the whole board as new.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.timefmt import UTC
from .dirs import state_file

GRACE = timedelta(hours=1)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (agent TEXT PRIMARY KEY, after TEXT);
CREATE TABLE IF NOT EXISTS seen (agent TEXT NOT NULL, key TEXT NOT NULL, arrival TEXT NOT NULL,
                                 PRIMARY KEY (agent, key));
CREATE TABLE IF NOT EXISTS acks (agent TEXT NOT NULL, file TEXT NOT NULL, PRIMARY KEY (agent, file));
"""


def arrival_text(when: datetime) -> str:
    """An arrival time as sortable text (UTC, microseconds)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Cursor:
    """What an agent has been shown: everything that arrived up to ``after``, and the ``seen`` keys."""

    after: str | None
    seen: frozenset[str] = frozenset()

    def is_new(self, key: str, arrival: str) -> bool:
        return (self.after is None or arrival > self.after) and key not in self.seen


class CursorStore:
    """The cursors and acknowledgements of every agent on this machine, for one space (SQLite, WAL).

    Args:
        url: the space's address.
    """

    def __init__(self, url: str) -> None:
        path = state_file(url, "cursors")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 60000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get(self, agent: str) -> Cursor | None:
        """The agent's cursor, or ``None`` if it has never read on this machine."""
        with self._lock:
            row = self._db.execute("SELECT after FROM cursors WHERE agent = ?", (agent,)).fetchone()
            if row is None:
                return None
            seen = {k for (k,) in self._db.execute("SELECT key FROM seen WHERE agent = ?", (agent,))}
        return Cursor(row[0], frozenset(seen))

    def start(self, agent: str, after: str | None) -> None:
        """Create the agent's cursor at ``after`` unless it has one (a first read on this machine)."""
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO cursors VALUES (?, ?)", (agent, after))

    def advance(self, agent: str, delivered: Iterable[tuple[str, str]]) -> None:
        """Mark ``(key, arrival)`` pairs as shown; never moves back."""
        delivered = list(delivered)
        if not delivered:
            return
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO cursors VALUES (?, NULL)", (agent,))
            db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", [(agent, k, a) for k, a in delivered])
            (after,) = db.execute("SELECT after FROM cursors WHERE agent = ?", (agent,)).fetchone()
            (top,) = db.execute("SELECT max(arrival) FROM seen WHERE agent = ?", (agent,)).fetchone()
            floor = arrival_text(datetime.strptime(top, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) - GRACE)
            if after is None or floor > after:
                db.execute("UPDATE cursors SET after = ? WHERE agent = ?", (floor, agent))
                db.execute("DELETE FROM seen WHERE agent = ? AND arrival <= ?", (agent, floor))

    def latest(self, agent: str) -> str | None:
        """The key of the latest arrival the agent has been shown (what its next post records as ``read_to``)."""
        with self._lock:
            row = self._db.execute("SELECT key FROM seen WHERE agent = ? ORDER BY arrival DESC, key DESC LIMIT 1",
                                   (agent,)).fetchone()
        return row[0] if row else None

    def ack(self, agent: str, files: Iterable[str]) -> None:
        """Acknowledge inbox items: they leave the agent's inbox."""
        with self._write() as db:
            db.executemany("INSERT OR IGNORE INTO acks VALUES (?, ?)", [(agent, f) for f in files])

    def acked(self, agent: str) -> set[str]:
        """The files the agent has acknowledged."""
        with self._lock:
            return {f for (f,) in self._db.execute("SELECT file FROM acks WHERE agent = ?", (agent,))}

    def close(self) -> None:
        with self._lock:
            self._db.close()
