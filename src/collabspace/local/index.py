"""The local board index: a SQLite cache of one space's messages.

One database per space in the cache folder (``COLLAB_CACHE_DIR`` overrides it),
holding messages, refs, ``@`` mentions, a full-text index (FTS5) and the files
that cannot be read. The store is the truth; the index is only a cache: deleted,
corrupt, unwritable or of another schema, it is rebuilt (or kept in memory)
by the next sync, and no cursor is lost with it (cursors are state, in
:mod:`.cursors`).

**Completeness.** A filename's stamp is the writer's clock and may be anything
(local time instead of UTC, a skewed clock, a board copied from elsewhere), so it
cannot decide what a reader lists. A sync is one of two listings:

* *incremental*: after a watermark (the newest stamp seen, never later than the
  local clock, moved back by :data:`RESCAN_WINDOW`), which finds everything
  written with a roughly right clock in one request;
* *full*: the whole board, whenever the index is empty, when asked (``read --all``,
  ``search``, ``doctor``), and at least every :data:`RECONCILE` otherwise.

So every stored message is indexed by the next full read, and by a plain read
at most :data:`RECONCILE` after it lands, whatever its name says. Each message
keeps its *arrival*: the store's modification time (the server's clock), which
cursors compare, so a late message is delivered once as new, in board order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..domain import paths
from ..domain.board.messages import (
    Message,
    MessageFormatError,
    is_broadcast,
    is_message_key,
    mentions,
    parse_message,
    stamp_of,
)
from ..domain.packs import Packs
from ..domain.problems import Problem
from ..domain.timefmt import UTC, file_stamp
from ..errors import InvalidInput
from ..storage import ObjectInfo, Store
from .cursors import Cursor, arrival_text
from .sqlite import open_db, transaction
from .dirs import cache_file
from .heal import is_corrupt, notice, open_cache, reason, sidecars, unwritable_warning

SCHEMA_VERSION = 5  # 3: refs as full keys; 4: the author is the filename's agent (cursors live elsewhere);
#                    5: each message's sync generation (``--after`` cursors) and broadcast flag
RESCAN_WINDOW = timedelta(minutes=10)
#: The longest a plain read goes without a full listing of the board.
RECONCILE = timedelta(minutes=5)
FETCH_THREADS = 32
_BATCH = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    file TEXT NOT NULL UNIQUE,
    agent TEXT NOT NULL,
    type TEXT,
    stamp TEXT NOT NULL,
    time TEXT NOT NULL,
    topic TEXT NOT NULL,
    refs TEXT NOT NULL,
    extra TEXT NOT NULL,
    body TEXT NOT NULL,
    arrival TEXT NOT NULL,
    provisional INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0,
    broadcast INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_type ON messages (type, key);
CREATE INDEX IF NOT EXISTS messages_agent ON messages (agent, key);
CREATE INDEX IF NOT EXISTS messages_arrival ON messages (arrival);
CREATE TABLE IF NOT EXISTS refs (src INTEGER NOT NULL, dst TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS refs_dst ON refs (dst);
CREATE INDEX IF NOT EXISTS refs_src ON refs (src);
CREATE TABLE IF NOT EXISTS mentions (src INTEGER NOT NULL, agent TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS mentions_agent ON mentions (agent);
CREATE TABLE IF NOT EXISTS problems (key TEXT PRIMARY KEY, size INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posted (key TEXT PRIMARY KEY, local TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5 (topic, body, tokenize = 'unicode61');
"""
_TABLES = ("meta", "messages", "refs", "mentions", "problems", "posted", "cursors", "fts")  # cursors: schema 1
_COLUMNS = "m.seq, m.key, m.agent, m.type, m.stamp, m.time, m.topic, m.refs, m.extra, m.body, m.arrival"


def index_path(url: str) -> Path:
    """The board index file of the space at ``url``."""
    return cache_file(url, "board")


@dataclass(frozen=True)
class SyncResult:
    """What one sync did."""

    listed: int
    fetched: int
    added: int
    problems: int
    pruned: int
    full: bool = False


def _row_message(row: sqlite3.Row | tuple[Any, ...]) -> Message:
    _seq, key, agent, kind, stamp, time, topic, refs, extra, body, _arrival = row
    return Message(
        key=key,
        agent=agent,
        type=kind,
        stamp=datetime.fromisoformat(stamp),
        time=datetime.fromisoformat(time),
        topic=topic,
        refs=tuple(json.loads(refs)) if refs != "[]" else (),
        body=body,
        extra=json.loads(extra) if extra != "{}" else {},
        arrival=_arrival,
    )


class BoardIndex:
    """The SQLite index of one space's board; safe to share between processes (WAL, busy timeout).

    Args:
        path: the database file; created (with its folder) if missing.
    """

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._connect(path)

    def _connect(self, path: Path) -> None:
        db = open_db(path)
        try:
            db.execute("PRAGMA synchronous = NORMAL")
            with transaction(db):
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, SCHEMA_VERSION):
                    # An index from another version is a stale cache: drop it, the next sync rebuilds it.
                    for table in _TABLES:
                        db.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for table in ("meta", "messages", "problems", "posted"):  # a corrupt file fails here, not later
                db.execute(f"SELECT count(*) FROM {table}").fetchone()
        except BaseException:
            db.close()
            raise
        with self._lock:
            self.path = path
            self._db = db

    @classmethod
    def for_space(cls, url: str) -> BoardIndex:
        """Open (creating if needed) the index of the space at ``url``; never fails.

        A cache that cannot be used (corrupt, truncated, zeroed, of an unknown format) is
        deleted and rebuilt; one that cannot be written (a read-only or full folder) is
        replaced by an index in memory, so reads still work. Either is said once, in a line
        (:func:`~collabspace.local.heal.notice`).
        """
        return open_cache(index_path(url), cls, what="board index")  # type: ignore[return-value]

    def _recover(self, exc: BaseException) -> None:
        """After ``exc`` from SQLite mid-use: rebuild the file (unusable) or go on in memory (unwritable)."""
        path = self.path
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            if str(path) == ":memory:":
                self._connect(Path(":memory:"))
                return
            if is_corrupt(exc):
                try:
                    for stale in sidecars(path):
                        stale.unlink(missing_ok=True)
                    self._connect(path)
                    notice(f"notice: the board index at {path} could not be read ({reason(exc)}); "
                           "rebuilt it from the store")
                    return
                except (sqlite3.Error, OSError) as again:
                    exc = again
            notice(unwritable_warning(path, "board index", exc), once=f"unwritable:{path.parent}")
            self._connect(Path(":memory:"))

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, transaction(self._db) as db:
            yield db

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        params = tuple(params)
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                # A page no sync touched (the full-text index, say) is damaged: rebuild the index from
                # the store the last sync read, then answer. Inside a sync, the sync heals itself.
                last = getattr(self, "_last_sync", None)
                if not is_corrupt(exc) or last is None or getattr(self, "_in_sync", False):
                    raise
                self._recover(exc)
                self.sync(last[0], now=last[1], full=True)
                return self._db.execute(sql, params).fetchall()

    def _messages(self, sql: str, params: Iterable[Any] = ()) -> list[Message]:
        return [_row_message(r) for r in self._query(sql, params)]

    # -- sync ---------------------------------------------------------------------------
    def _meta(self, name: str) -> str | None:
        row = self._query("SELECT value FROM meta WHERE name = ?", (name,))
        return row[0][0] if row else None

    def start_after(self, now: datetime) -> str | None:
        """Where the next incremental listing starts: the watermark minus the re-scan window."""
        last = self._meta("last_key")
        stamp = stamp_of(last) if last else None
        if stamp is None:
            return None
        # Never later than this machine's clock, nor than the store's (a clock ahead would skip what
        # writers with a right clock post meanwhile): the offset measured by our posts says where it is.
        return paths.BOARD + file_stamp(min(stamp, now, now + self.clock_offset(now)) - RESCAN_WINDOW)

    def full_due(self, now: datetime) -> bool:
        """True when a plain sync must list the whole board (never listed, or not for :data:`RECONCILE`)."""
        last = self._meta("full_at")
        if last is None:
            return True
        at = datetime.fromisoformat(last)
        return now - at >= RECONCILE or now < at  # a clock set back forces one too

    def sync(self, store: Store, *, now: datetime, full: bool = False) -> SyncResult:
        """Bring the index up to date with the store's board (see :meth:`_sync`); an index that fails
        on the way (corrupt, unwritable, full) is rebuilt or replaced in memory, then synced in full.

        Raises:
            StoreError: the store failed; what was fetched before is kept.
        """
        self._last_sync = (store, now)
        self._in_sync = True
        try:
            try:
                return self._sync(store, now=now, full=full)
            except sqlite3.Error as exc:
                self._recover(exc)
            return self._sync(store, now=now, full=True)
        finally:
            self._in_sync = False

    def _sync(self, store: Store, *, now: datetime, full: bool = False) -> SyncResult:
        """Bring the index up to date with the store's board.

        One listing (incremental after the watermark, or the whole board when
        ``full``, when the index has never listed it, or when the last full
        listing is older than :data:`RECONCILE`), then a parallel fetch of the
        keys not yet indexed. Indexed keys inside the listed range that the
        store no longer has are dropped.

        Raises:
            StoreError: the store failed; what was fetched before is kept.
        """
        full = full or self.full_due(now)
        generation = self._next_generation()  # every message this sync learns shares it
        after = None if full else self.start_after(now)
        bound = after or ""
        # Snapshot before listing: a key indexed later (by a post) is not wrongly pruned.
        known = {r[0]: r[1] for r in self._query("SELECT key, provisional FROM messages WHERE key > ?", (bound,))}
        bad = {r[0]: r[1] for r in self._query("SELECT key, size FROM problems WHERE key > ?", (bound,))}
        listed = [i for i in _list_board(store, after, now) if is_message_key(i.key)]
        todo = [i for i in listed if i.key not in known and bad.get(i.key) != i.size]
        settle = [(_arrival(i, now), i.key) for i in listed if known.get(i.key) and i.last_modified is not None]
        keys = {i.key for i in listed}
        gone = sorted((set(known) | set(bad)) - keys)
        added = problems = 0
        def get(keys: list[str]) -> dict[str, bytes | None]:
            return store.get_many(keys, workers=FETCH_THREADS)

        if full:  # a full listing can check packs: a first read costs a request per pack, not per file
            fetched = Packs(store, paths.BOARD).fetch(todo, {i.key: i for i in listed}, get=get)
        for start in range(0, len(todo), _BATCH):
            infos = todo[start : start + _BATCH]
            batch = fetched if full else get([i.key for i in infos])
            a, p = self._store_batch([(i, _parse(i, batch[i.key])) for i in infos], now, generation)
            added, problems = added + a, problems + p
        newest = next((k for k in sorted(keys, reverse=True) if stamp_of(k) is not None), None)
        with self._write() as db:
            if gone:
                self._drop(db, gone)
            if settle:  # our own posts, indexed before the store told us their arrival
                db.executemany("UPDATE messages SET arrival = ?, provisional = 0 WHERE key = ?", settle)
                self._measure(db, settle)
            newest_arrival = max((i.last_modified for i in listed if i.last_modified is not None), default=None)
            if newest_arrival is not None:  # the store's clock is at least there: a floor for the offset
                floor = (newest_arrival - now).total_seconds()
                old = self._meta("offset_floor")
                if old is None or floor > float(old):
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('offset_floor', ?)", (repr(floor),))
            last = self._meta("last_key")
            if newest and (last is None or newest > last):
                db.execute("INSERT OR REPLACE INTO meta VALUES ('last_key', ?)", (newest,))
            if full:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('full_at', ?)", (now.astimezone(UTC).isoformat(),))
        return SyncResult(listed=len(listed), fetched=len(todo), added=added, problems=problems, pruned=len(gone),
                          full=full)

    def _next_generation(self) -> int:
        """One more than the newest sync generation indexed (a sync, or a post indexed by this process)."""
        return int(self._query("SELECT coalesce(max(generation), 0) FROM messages")[0][0]) + 1

    def _store_batch(self, batch: list[tuple[ObjectInfo, Message | str | None]], now: datetime,
                     generation: int = 0) -> tuple[int, int]:
        bad = [(i.key, i.size, got) for i, got in batch if isinstance(got, str)]
        good = [(got, _arrival(i, now), i.last_modified is None) for i, got in batch if isinstance(got, Message)]
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO problems VALUES (?, ?, ?)", bad)
            if db.execute("SELECT 1 FROM problems LIMIT 1").fetchone():  # a fixed file leaves the list
                db.executemany("DELETE FROM problems WHERE key = ?", [(m.key,) for m, _, _ in good])
            added = self._insert_many(db, good, generation=generation)
        return added, len(bad)

    def add(self, message: Message, *, now: datetime) -> None:
        """Index a message this process just wrote (no fetch needed) at ``now``, this machine's clock.

        Its arrival is provisional (``now`` on the store's clock, by :meth:`clock_offset`, and never
        before an arrival already listed) until a listing gives the store's own time; that time against
        ``now`` measures this machine's clock offset. Never fails: the message is stored, and an index
        that cannot take it is rebuilt or replaced (the next sync indexes it)."""
        for attempt in (1, 2):
            try:
                with self._write() as db:
                    estimate = arrival_text(now + self.clock_offset(now))
                    newest = db.execute("SELECT max(arrival) FROM messages WHERE provisional = 0").fetchone()[0]
                    self._insert(db, message, max(estimate, newest or ""), provisional=True,
                                 generation=self._next_generation())
                    db.execute("INSERT OR REPLACE INTO posted VALUES (?, ?)", (message.key, arrival_text(now)))
                return
            except sqlite3.Error as exc:
                if attempt == 2:
                    notice(f"warning: the board index could not record {message.file} ({reason(exc)}); "
                           "the next read indexes it from the store")
                    return
                self._recover(exc)

    # -- clocks -------------------------------------------------------------------------
    def _measure(self, db: sqlite3.Connection, settled: list[tuple[str, str]]) -> None:
        """Record the clock offset (store minus this machine) that our own posts just settled show."""
        mine = {k: local for k, local in db.execute(
            f"SELECT key, local FROM posted WHERE key IN ({','.join('?' * len(settled))})", [k for _, k in settled])}
        latest = max(((mine[k], a) for a, k in settled if k in mine), default=None)
        if latest is None:
            return
        offset = (_when(latest[1]) - _when(latest[0])).total_seconds()
        db.execute("INSERT OR REPLACE INTO meta VALUES ('offset', ?)", (repr(offset),))
        db.execute("INSERT OR REPLACE INTO meta VALUES ('offset_floor', ?)", (repr(offset),))

    def clock_offset(self, now: datetime) -> timedelta:
        """How far the store's clock is ahead of this machine's (negative: behind), as far as it can tell.

        Measured by this machine's own posts: the arrival the store gave each against this machine's
        clock when it wrote it (the latest measurement counts). Before any, zero, unless a listing proved
        this clock behind (the store had already given an arrival later than it). Add it to this
        machine's time to get the store's; subtract it from an arrival to place it on this machine's clock.
        """
        del now  # the floor is kept relative to the clock at the listing that proved it
        rows = dict(self._query("SELECT name, value FROM meta WHERE name IN ('offset', 'offset_floor')"))
        if "offset" in rows:
            return timedelta(seconds=float(rows["offset"]))
        return timedelta(seconds=max(0.0, float(rows.get("offset_floor", 0.0))))

    def provisional_keys(self) -> set[str]:
        """Messages this machine posted that no listing has shown yet (their arrival is an estimate)."""
        return {k for (k,) in self._query("SELECT key FROM messages WHERE provisional = 1")}

    def local_times(self, keys: Iterable[str]) -> dict[str, datetime]:
        """When this machine wrote each of ``keys`` that it posted, on its own clock."""
        keys = list(keys)
        out: dict[str, datetime] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            out.update({k: _when(v) for k, v in self._query(
                f"SELECT key, local FROM posted WHERE key IN ({','.join('?' * len(part))})", part)})
        return out

    @staticmethod
    def _insert(db: sqlite3.Connection, m: Message, arrival: str, *, provisional: bool, generation: int = 0) -> int:
        return BoardIndex._insert_many(db, [(m, arrival, provisional)], generation=generation)

    @staticmethod
    def _insert_many(db: sqlite3.Connection, items: list[tuple[Message, str, bool]], *, generation: int = 0) -> int:
        """Insert messages not yet indexed, with their refs, mentions and text, in a few statements.

        Runs inside a write transaction, so the arrival numbers it hands out cannot clash with another
        process's; keys another process indexed first are skipped.
        """
        if not items:
            return 0
        keys = [m.key for m, _, _ in items]
        have: set[str] = set()
        empty = db.execute("SELECT 1 FROM messages LIMIT 1").fetchone() is None  # a first read: nothing to skip
        for start in range(0 if not empty else len(keys), len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            have |= {k for (k,) in db.execute(f"SELECT key FROM messages WHERE key IN ({marks})", chunk)}
        fresh = list({m.key: (m, a, p) for m, a, p in items if m.key not in have}.values())
        (top,) = db.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()
        rows, refs, named = [], [], []
        for seq, (m, arrival, provisional) in enumerate(fresh, start=top + 1):
            rows.append((seq, m.key, m.file, m.agent, m.type, m.stamp.isoformat(), m.time.isoformat(), m.topic,
                         json.dumps(list(m.refs)) if m.refs else "[]",
                         json.dumps(m.extra, default=str, ensure_ascii=False) if m.extra else "{}", m.body,
                         arrival, int(provisional), generation, int(is_broadcast(m))))
            refs += [(seq, r) for r in m.refs]
            if "@" in m.body:
                named += [(seq, a) for a in mentions(m.body)]
        db.executemany(
            "INSERT INTO messages (seq, key, file, agent, type, stamp, time, topic, refs, extra, body, arrival,"
            " provisional, generation, broadcast) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO refs VALUES (?, ?)", refs)
        db.executemany("INSERT INTO mentions VALUES (?, ?)", named)
        return len(fresh)  # the full-text index catches up at the next search (_index_text)

    @staticmethod
    def _drop(db: sqlite3.Connection, keys: list[str]) -> None:
        for key in keys:
            row = db.execute("SELECT seq FROM messages WHERE key = ?", (key,)).fetchone()
            if row:
                for table, column in (("refs", "src"), ("mentions", "src"), ("fts", "rowid"), ("messages", "seq")):
                    db.execute(f"DELETE FROM {table} WHERE {column} = ?", (row[0],))
            db.execute("DELETE FROM problems WHERE key = ?", (key,))
            db.execute("DELETE FROM posted WHERE key = ?", (key,))

    # -- queries ------------------------------------------------------------------------
    def get(self, file: str) -> Message | None:
        """The message with this bare filename, if indexed."""
        found = self._messages(f"SELECT {_COLUMNS} FROM messages m WHERE m.file = ?", (file,))
        return found[0] if found else None

    def count(self) -> int:
        """How many messages are indexed."""
        return int(self._query("SELECT count(*) FROM messages")[0][0])

    def messages(
        self,
        *,
        type: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Message]:
        """Messages in board (key) order; with ``limit``, the newest ``limit`` of them."""
        where, params = self._filters(type=type, agent=agent, since=since)
        sql = f"SELECT {_COLUMNS} FROM messages m {where} ORDER BY m.key DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(_sql_limit(limit))
        return self._messages(sql, params)[::-1]

    @staticmethod
    def _filters(**given: Any) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if given.get("type"):
            clauses.append("m.type = ?")
            params.append(given["type"])
        if given.get("agent"):
            clauses.append("m.agent = ?")
            params.append(given["agent"])
        if given.get("since"):
            clauses.append("m.stamp >= ?")
            params.append(given["since"].astimezone(UTC).isoformat(timespec="seconds"))
        if given.get("arrived_after") is not None:
            clauses.append("m.arrival > ?")
            params.append(given["arrived_after"])
        if given.get("not_agent"):
            clauses.append("m.agent != ?")
            params.append(given["not_agent"])
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def unread(
        self, reader: str, cursor: Cursor, *, type: str | None = None, agent: str | None = None, limit: int | None = None
    ) -> tuple[list[Message], int]:
        """Messages by others that are new for ``cursor``, the earliest arrivals first.

        Returns:
            (up to ``limit`` of them, in board order, each with its arrival; how many more are new).
        """
        where, params = self._filters(type=type, agent=agent, not_agent=reader, arrived_after=cursor.after)
        # Without a limit every new message is shown, in board order: no need to sort by arrival first.
        order = "m.key" if limit is None else "m.arrival, m.key"
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM messages m {where} ORDER BY {order}", params).fetchall()
        rows = [r for r in rows if r[1] not in cursor.seen]
        if limit is None:
            return [_row_message(r) for r in rows], 0
        shown = rows[:limit]
        return sorted((_row_message(r) for r in shown), key=lambda m: m.key), len(rows) - len(shown)

    def latest_arrival_of(self, agent: str) -> str | None:
        """When the agent's newest message arrived (where a fresh machine's cursor starts)."""
        row = self._query("SELECT max(arrival) FROM messages WHERE agent = ?", (agent,))
        return row[0][0] if row else None

    def arrival_of(self, file: str) -> str | None:
        """When the message with this filename arrived, if indexed."""
        row = self._query("SELECT arrival FROM messages WHERE file = ?", (file,))
        return row[0][0] if row else None

    def generation_of(self, file: str) -> int | None:
        """The sync generation that indexed the message with this filename, if indexed."""
        row = self._query("SELECT generation FROM messages WHERE file = ?", (file,))
        return row[0][0] if row else None

    def known_by(self, low: str, high: str, generation: int) -> list[tuple[str, str]]:
        """``(key, arrival)`` of the messages that arrived in ``(low, high]`` and were indexed no later than
        ``generation``: what a reader could have been shown by the time it was shown a message of that
        generation."""
        return self._query("SELECT key, arrival FROM messages WHERE arrival > ? AND arrival <= ? AND generation <= ?",
                           (low, high, generation))

    def arrivals(self) -> list[tuple[str, str, str, int]]:
        """``(agent, key, arrival, provisional)`` of every message, for doctor's clock check."""
        return self._query("SELECT agent, key, arrival, provisional FROM messages ORDER BY key")

    def version(self) -> str:
        """A version of the index's content (changes whenever a message is added or dropped)."""
        return "{}.{}".format(*self._query("SELECT coalesce(max(seq), 0), count(*) FROM messages")[0])

    def referrers(self, key: str) -> list[Message]:
        """Messages whose refs name ``file``, in board order."""
        return self._messages(
            f"SELECT {_COLUMNS} FROM refs r JOIN messages m ON m.seq = r.src WHERE r.dst = ? ORDER BY m.key", (key,)
        )

    def search(self, query: str, *, limit: int) -> list[Message]:
        """Messages matching every word of ``query`` (FTS5), best match first.

        Raises:
            InvalidInput: the query has no words.
        """
        words = [w for w in query.split() if w.strip('"')]
        if not words:
            raise InvalidInput("the search query is empty", hint='search for words, e.g. collab search "learning rate"')
        # Each word quoted: user text never reaches FTS5's own query syntax.
        match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        self._index_text()
        return self._messages(
            f"SELECT {_COLUMNS} FROM fts JOIN messages m ON m.seq = fts.rowid WHERE fts MATCH ?"
            " ORDER BY bm25(fts), m.key DESC LIMIT ?",
            (match, _sql_limit(limit)),
        )

    def _index_text(self) -> None:
        """Bring the full-text index up to the messages: done here, at the first search after a sync,
        rather than in every sync (a first read of 10,000 messages spent a third of its indexing on it).
        Arrival numbers only grow, so every message above the mark is new to it."""
        try:
            self._index_text_once()
        except sqlite3.DatabaseError as exc:  # a damaged page: heal as any query does, then index again
            last = getattr(self, "_last_sync", None)
            if not is_corrupt(exc) or last is None:
                raise
            self._recover(exc)
            self.sync(last[0], now=last[1], full=True)
            self._index_text_once()

    def _index_text_once(self) -> None:
        with self._write() as db:
            mark = int((db.execute("SELECT value FROM meta WHERE name = 'fts_seq'").fetchone() or ("0",))[0])
            top = db.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()[0]
            if top > mark:
                db.execute("INSERT INTO fts (rowid, topic, body) SELECT seq, topic, body FROM messages"
                           " WHERE seq > ? AND seq NOT IN (SELECT rowid FROM fts WHERE rowid > ?)", (mark, mark))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('fts_seq', ?)", (str(top),))

    def addressed_to(self, agent: str, *, unanswered: bool = True, limit: int | None = None,
                     broadcasters: Iterable[str] = ()) -> list[Message]:
        """Messages by others that ref one of ``agent``'s messages or mention ``@agent``, or are broadcasts
        (frontmatter ``broadcast: true``) by one of ``broadcasters`` (the organizers), in board order;
        with ``unanswered``, only those no message of ``agent``'s refs."""
        answered = " AND NOT EXISTS (SELECT 1 FROM refs a JOIN messages am ON am.seq = a.src" \
                   " WHERE a.dst = m.key AND am.agent = ?1)" if unanswered else ""
        senders = sorted(set(broadcasters))
        # one rule, messages.is_broadcast, applied when the message was indexed
        broadcast = (f" OR (m.broadcast = 1 AND m.agent IN ({','.join('?' for _ in senders)}))"
                     if senders else "")
        sql = (
            f"SELECT {_COLUMNS} FROM messages m WHERE m.agent != ?1 AND ("
            " m.seq IN (SELECT r.src FROM refs r JOIN messages d ON d.key = r.dst WHERE d.agent = ?1)"
            f" OR m.seq IN (SELECT src FROM mentions WHERE agent = ?1){broadcast}){answered} ORDER BY m.key DESC"
        )
        params: list[Any] = [agent, *senders]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(_sql_limit(limit))
        return self._messages(sql, params)[::-1]

    def of_type(self, type: str) -> list[Message]:
        """Every message of one type, in board order."""
        return self._messages(f"SELECT {_COLUMNS} FROM messages m WHERE m.type = ? ORDER BY m.key", (type,))

    def unanswered(self, type: str, *, agent: str | None = None, answer_type: str | None = None,
                   others_only: bool, limit: int) -> tuple[list[Message], int]:
        """Messages of ``type`` (by ``agent``) that no message (of ``answer_type``; by another agent) refs.

        Returns:
            (the newest ``limit`` of them in board order, how many there are in all).
        """
        answer = "AND a.type = ?" if answer_type else ""
        where = "m.type = ?" + (" AND m.agent = ?" if agent else "")
        cond = (
            f"{where} AND NOT EXISTS (SELECT 1 FROM refs r JOIN messages a ON a.seq = r.src"
            f" WHERE r.dst = m.key {'AND a.agent != m.agent' if others_only else ''} {answer})"
        )
        params: list[Any] = [type] + ([agent] if agent else []) + ([answer_type] if answer_type else [])
        total = int(self._query(f"SELECT count(*) FROM messages m WHERE {cond}", params)[0][0])
        rows = self._messages(f"SELECT {_COLUMNS} FROM messages m WHERE {cond} ORDER BY m.key DESC LIMIT ?",
                              [*params, _sql_limit(limit)])
        return rows[::-1], total

    def latest_per_agent(self, type: str) -> list[Message]:
        """Each agent's newest message of ``type``, newest first."""
        return self._messages(
            f"SELECT {_COLUMNS} FROM messages m JOIN (SELECT max(key) AS k FROM messages WHERE type = ?"
            " GROUP BY agent) t ON m.key = t.k ORDER BY m.key DESC",
            (type,),
        )

    def authors(self) -> set[str]:
        """Every agent that has a message on the board."""
        return {a for (a,) in self._query("SELECT DISTINCT agent FROM messages")}

    def counts(self) -> dict[str, int]:
        """Messages per type (``null`` types as ``(none)``), plus ``total``, ``agents`` and ``unreadable``."""
        out = {str(t or "(none)"): int(n) for t, n in
               self._query("SELECT type, count(*) FROM messages GROUP BY type ORDER BY type")}
        out["total"] = self.count()
        out["agents"] = int(self._query("SELECT count(DISTINCT agent) FROM messages")[0][0])
        out["unreadable"] = int(self._query("SELECT count(*) FROM problems")[0][0])
        return out

    def problems(self) -> list[Problem]:
        """Board files that could not be read, in key order."""
        return [Problem(k, r) for k, r in self._query("SELECT key, reason FROM problems ORDER BY key")]

    def refs_by_key(self) -> dict[str, list[str]]:
        """Every message that refs something: ``{message key: [ref, ...]}``, refs as the board stores them."""
        return {k: json.loads(r) for k, r in self._query("SELECT key, refs FROM messages WHERE refs != '[]'")}

    def dangling_refs(self) -> list[tuple[str, str]]:
        """(message key, ref) pairs whose ref names no message indexed (results and artifacts included)."""
        return [
            (k, d)
            for k, d in self._query(
                "SELECT m.key, r.dst FROM refs r JOIN messages m ON m.seq = r.src"
                " WHERE r.dst NOT IN (SELECT key FROM messages) ORDER BY m.key, r.dst"
            )
        ]


def _when(text: str) -> datetime:
    """An arrival text (see :func:`~collabspace.local.cursors.arrival_text`) as a UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _sql_limit(limit: int) -> int:
    """A LIMIT SQLite can take: a count beyond any board's size means all of it (never OverflowError)."""
    return max(0, min(int(limit), 2**62))


def _list_board(store: Store, after: str | None, now: datetime) -> list[ObjectInfo]:
    """The board after ``after`` (everything when ``None``) in one listing, or, on a store that cannot
    list from a key (the Hub), one listing per hour from the watermark's hour to the current one
    (``message_board/YYYYMMDD-HH``): usually one request, two near the hour, whatever the board's
    size (a request per 1,000 files of that hour). Keys outside those hours (another name form, a stamp
    ahead of this clock) are found by the next full listing, at most :data:`RECONCILE` later."""
    if after is None or store.native_start_after:
        return list(store.list(paths.BOARD, start_after=after))
    stamp = after.removeprefix(paths.BOARD)
    try:
        hour = datetime.strptime(stamp[:11], "%Y%m%d-%H").replace(tzinfo=UTC)
    except ValueError:
        return list(store.list(paths.BOARD, start_after=after))
    if now - hour > timedelta(hours=12):  # a quiet board: one listing of it is cheaper than one per hour
        return list(store.list(paths.BOARD, start_after=after))
    out: list[ObjectInfo] = []
    while hour <= now + RESCAN_WINDOW:  # a writer a few minutes ahead may already stamp the next hour
        out += store.list(paths.BOARD + hour.strftime("%Y%m%d-%H"), start_after=after)
        hour += timedelta(hours=1)
    return out


def _arrival(info: ObjectInfo, now: datetime) -> str:
    """The store's modification time of a listed object (the server's clock), else ``now``, as
    :func:`~collabspace.local.cursors.arrival_text` writes it (through ``isoformat`` where that gives the
    same text: a UTC time of a four-digit year; ``strftime`` costs several times more)."""
    when = info.last_modified or now
    if when.tzinfo is UTC and 1000 <= when.year:
        return when.isoformat(timespec="microseconds")[:-6] + "Z"
    return arrival_text(when)


def _parse(info: ObjectInfo, data: bytes | None) -> Message | str | None:
    """A fetched file as a Message, the reason it is unreadable, or None if it vanished."""
    if data is None:
        return None
    try:
        return parse_message(info.key, data)
    except MessageFormatError as exc:
        return exc.message
