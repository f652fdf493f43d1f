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

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ..domain.timefmt import UTC
from .sqlite import open_db, transaction
from .dirs import state_file
from .heal import is_corrupt, keep_aside, notice, reason

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

    Cursors are state, not a cache: an unreadable file is never deleted but kept aside
    (renamed ``...unreadable-YYYYMMDD-HHMMSS``) and a fresh one started; a file that cannot be
    written is copied into memory, so reads work but are not remembered. Either is said once,
    in a line (:func:`~collabspace.local.heal.notice`).
    """

    def __init__(self, url: str) -> None:
        self.path = state_file(url, "cursors")
        self._lock = threading.Lock()
        try:
            self._db = _connect(self.path)
        except sqlite3.Error as exc:
            if is_corrupt(exc):
                self._db = self._set_aside(exc)
            else:
                self._db = self._in_memory(exc)
        except OSError as exc:
            self._db = self._in_memory(exc)

    def _set_aside(self, exc: BaseException) -> sqlite3.Connection:
        try:
            aside = keep_aside(self.path)
            db = _connect(self.path)
        except (sqlite3.Error, OSError) as again:
            return self._in_memory(again)
        notice(f"warning: the read cursors at {self.path} could not be read ({reason(exc)}); kept that file as "
               f"{aside.name} and started new ones: your next read resumes from your latest post")
        return db

    def _in_memory(self, exc: BaseException) -> sqlite3.Connection:
        """A copy of the cursors in memory (empty if even reading fails): reads work, nothing is remembered."""
        db = _connect(Path(":memory:"))
        try:
            if self.path.exists():
                source = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
                try:
                    source.backup(db)
                finally:
                    source.close()
                db.executescript(_SCHEMA)
        except sqlite3.Error:
            db = _connect(Path(":memory:"))
        notice(f"warning: the read cursors at {self.path} cannot be written ({reason(exc)}); reading without "
               "saving them, so what you read now is shown again next time: free the disk or fix the "
               "folder's permissions")
        return db

    def _transact(self, work: Callable[[sqlite3.Connection], None]) -> None:
        """Run ``work`` in one write transaction; if the file fails (busy beyond the timeout, read-only,
        full), go on with a copy in memory and run it there: the read that asked still works."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    with transaction(self._db) as db:
                        work(db)
                    return
                except sqlite3.Error as exc:
                    if attempt == 2:
                        raise
                    self._db = self._moved_to_memory(exc)

    def _moved_to_memory(self, exc: BaseException) -> sqlite3.Connection:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        return self._in_memory(exc)

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
        self._transact(lambda db: db.execute("INSERT OR IGNORE INTO cursors VALUES (?, ?)", (agent, after)))

    def advance(self, agent: str, delivered: Iterable[tuple[str, str]]) -> None:
        """Mark ``(key, arrival)`` pairs as shown; never moves back."""
        delivered = list(delivered)
        if not delivered:
            return

        def work(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR IGNORE INTO cursors VALUES (?, NULL)", (agent,))
            db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", [(agent, k, a) for k, a in delivered])
            (after,) = db.execute("SELECT after FROM cursors WHERE agent = ?", (agent,)).fetchone()
            (top,) = db.execute("SELECT max(arrival) FROM seen WHERE agent = ?", (agent,)).fetchone()
            floor = arrival_text(datetime.strptime(top, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) - GRACE)
            if after is None or floor > after:
                db.execute("UPDATE cursors SET after = ? WHERE agent = ?", (floor, agent))
                db.execute("DELETE FROM seen WHERE agent = ? AND arrival <= ?", (agent, floor))

        self._transact(work)

    def latest(self, agent: str) -> str | None:
        """The key of the latest arrival the agent has been shown (what its next post records as ``read_to``)."""
        with self._lock:
            row = self._db.execute("SELECT key FROM seen WHERE agent = ? ORDER BY arrival DESC, key DESC LIMIT 1",
                                   (agent,)).fetchone()
        return row[0] if row else None

    def ack(self, agent: str, files: Iterable[str]) -> None:
        """Acknowledge inbox items: they leave the agent's inbox."""
        rows = [(agent, f) for f in files]
        self._transact(lambda db: db.executemany("INSERT OR IGNORE INTO acks VALUES (?, ?)", rows))

    def acked(self, agent: str) -> set[str]:
        """The files the agent has acknowledged."""
        with self._lock:
            return {f for (f,) in self._db.execute("SELECT file FROM acks WHERE agent = ?", (agent,))}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _connect(path: Path) -> sqlite3.Connection:
    db = open_db(path)
    try:
        db.executescript(_SCHEMA)
        check = db.execute("PRAGMA quick_check").fetchone()  # small: the whole file is checked
        if check and check[0] != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({check[0]})")
    except BaseException:
        db.close()
        raise
    return db
