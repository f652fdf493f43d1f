"""The local board index: a SQLite cache of one space's messages.

One database per space in the user's cache folder (``COLLAB_CACHE_DIR``
overrides it), holding messages, refs, ``@`` mentions, a full-text index
(FTS5), unreadable files, and read cursors. The store is the truth; the index
can be deleted at any time and is rebuilt by the next sync.

Sync is one listing after a watermark: the newest message key seen, moved back
by :data:`RESCAN_WINDOW` (computed from the filename time, and never later than
the local clock), so a message written by an agent whose clock is up to ten
minutes behind is still listed. Keys already indexed are skipped, and every
message gets an arrival number (``seq``) when first indexed; cursors count
arrivals, not keys, so a late message is returned once, after the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..storage import ObjectInfo, Store
from . import paths
from .messages import (
    Message,
    MessageFormatError,
    is_message_key,
    mentions,
    parse_message,
    stamp_of,
)
from .problems import Problem
from .timefmt import UTC, file_stamp

SCHEMA_VERSION = 1
RESCAN_WINDOW = timedelta(minutes=10)
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
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_type ON messages (type, key);
CREATE INDEX IF NOT EXISTS messages_agent ON messages (agent, key);
CREATE TABLE IF NOT EXISTS refs (src INTEGER NOT NULL, dst TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS refs_dst ON refs (dst);
CREATE INDEX IF NOT EXISTS refs_src ON refs (src);
CREATE TABLE IF NOT EXISTS mentions (src INTEGER NOT NULL, agent TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS mentions_agent ON mentions (agent);
CREATE TABLE IF NOT EXISTS problems (key TEXT PRIMARY KEY, size INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5 (topic, body, tokenize = 'unicode61');
"""
_TABLES = ("meta", "messages", "refs", "mentions", "problems", "cursors", "fts")
_COLUMNS = "m.seq, m.key, m.agent, m.type, m.stamp, m.time, m.topic, m.refs, m.extra, m.body"


def cache_dir() -> Path:
    """Where indexes live: ``$COLLAB_CACHE_DIR`` or the platform's user cache folder."""
    override = os.environ.get("COLLAB_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("collabspace"))


def cache_file(url: str, kind: str) -> Path:
    """A local cache file of the space at ``url`` (the S3 endpoint is part of an s3:// space's identity)."""
    identity = url
    if url.startswith("s3://"):
        identity += "|" + (os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "")
    digest = hashlib.sha256(identity.encode()).hexdigest()[:20]
    return cache_dir() / "index" / f"{kind}-{digest}.sqlite3"


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


def _row_message(row: sqlite3.Row | tuple[Any, ...]) -> Message:
    _seq, key, agent, kind, stamp, time, topic, refs, extra, body = row
    return Message(
        key=key,
        agent=agent,
        type=kind,
        stamp=datetime.fromisoformat(stamp),
        time=datetime.fromisoformat(time),
        topic=topic,
        refs=tuple(json.loads(refs)),
        body=body,
        extra=json.loads(extra),
    )


class BoardIndex:
    """The SQLite index of one space's board; safe to share between processes (WAL, busy timeout).

    Args:
        path: the database file; created (with its folder) if missing.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 60000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._write():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                # An index from another version is a stale cache: drop it, the next sync rebuilds it.
                for table in _TABLES:
                    self._db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @classmethod
    def for_space(cls, url: str) -> BoardIndex:
        """Open (creating if needed) the index of the space at ``url``."""
        return cls(index_path(url))

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

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

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

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
        return paths.BOARD + file_stamp(min(stamp, now) - RESCAN_WINDOW)

    def sync(self, store: Store, *, now: datetime, full: bool = False) -> SyncResult:
        """Bring the index up to date with the store's board.

        One listing (after the watermark, or of the whole board when ``full`` or
        when the index is empty), then a parallel fetch of the keys not yet
        indexed. Indexed keys inside the listed range that the store no longer
        has are dropped.

        Raises:
            StoreError: the store failed; what was fetched before is kept.
        """
        after = None if full else self.start_after(now)
        bound = after or ""
        # Snapshot before listing: a key indexed later (by a post) is not wrongly pruned.
        known = {r[0] for r in self._query("SELECT key FROM messages WHERE key > ?", (bound,))}
        bad = {r[0]: r[1] for r in self._query("SELECT key, size FROM problems WHERE key > ?", (bound,))}
        listed = [i for i in store.list(paths.BOARD, start_after=after) if is_message_key(i.key)]
        todo = [i for i in listed if i.key not in known and bad.get(i.key) != i.size]
        keys = {i.key for i in listed}
        gone = sorted((known | set(bad)) - keys)
        added = problems = 0
        for start in range(0, len(todo), _BATCH):
            infos = todo[start : start + _BATCH]
            fetched = store.get_many([i.key for i in infos], workers=FETCH_THREADS)
            a, p = self._store_batch([(i, _parse(i, fetched[i.key])) for i in infos])
            added, problems = added + a, problems + p
        newest = next((k for k in sorted(keys, reverse=True) if stamp_of(k) is not None), None)
        with self._write() as db:
            if gone:
                self._drop(db, gone)
            last = self._meta("last_key")
            if newest and (last is None or newest > last):
                db.execute("INSERT OR REPLACE INTO meta VALUES ('last_key', ?)", (newest,))
        return SyncResult(listed=len(listed), fetched=len(todo), added=added, problems=problems, pruned=len(gone))

    def _store_batch(self, batch: list[tuple[ObjectInfo, Message | str | None]]) -> tuple[int, int]:
        added = problems = 0
        with self._write() as db:
            for info, got in batch:
                if got is None:
                    continue
                if isinstance(got, str):
                    db.execute("INSERT OR REPLACE INTO problems VALUES (?, ?, ?)", (info.key, info.size, got))
                    problems += 1
                else:
                    db.execute("DELETE FROM problems WHERE key = ?", (info.key,))
                    added += self._insert(db, got)
        return added, problems

    def add(self, message: Message) -> None:
        """Index a message this process just wrote (no fetch needed)."""
        with self._write() as db:
            self._insert(db, message)

    @staticmethod
    def _insert(db: sqlite3.Connection, m: Message) -> int:
        cur = db.execute(
            "INSERT OR IGNORE INTO messages (key, file, agent, type, stamp, time, topic, refs, extra, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.key, m.file, m.agent, m.type, m.stamp.isoformat(), m.time.isoformat(), m.topic,
                json.dumps(list(m.refs)), json.dumps(m.extra, default=str, ensure_ascii=False), m.body,
            ),
        )
        if cur.rowcount != 1:
            return 0
        seq = cur.lastrowid
        db.executemany("INSERT INTO refs VALUES (?, ?)", [(seq, r) for r in m.refs])
        db.executemany("INSERT INTO mentions VALUES (?, ?)", [(seq, a) for a in mentions(m.body)])
        db.execute("INSERT INTO fts (rowid, topic, body) VALUES (?, ?, ?)", (seq, m.topic, m.body))
        return 1

    @staticmethod
    def _drop(db: sqlite3.Connection, keys: list[str]) -> None:
        for key in keys:
            row = db.execute("SELECT seq FROM messages WHERE key = ?", (key,)).fetchone()
            if row:
                for table, column in (("refs", "src"), ("mentions", "src"), ("fts", "rowid"), ("messages", "seq")):
                    db.execute(f"DELETE FROM {table} WHERE {column} = ?", (row[0],))
            db.execute("DELETE FROM problems WHERE key = ?", (key,))

    # -- cursors ------------------------------------------------------------------------
    def cursor(self, name: str) -> int:
        """The arrival number a cursor has reached (0: nothing read)."""
        row = self._query("SELECT seq FROM cursors WHERE name = ?", (name,))
        return int(row[0][0]) if row else 0

    def advance(self, name: str, seq: int) -> None:
        """Move a cursor forward to ``seq`` (never back)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO cursors VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)",
                (name, seq),
            )

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
            params.append(limit)
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
        if given.get("after_seq") is not None:
            clauses.append("m.seq > ?")
            params.append(given["after_seq"])
        if given.get("not_agent"):
            clauses.append("m.agent != ?")
            params.append(given["not_agent"])
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def unread(
        self, reader: str, *, after_seq: int, type: str | None = None, agent: str | None = None, limit: int | None = None
    ) -> tuple[list[Message], int, int]:
        """Messages by others that arrived after ``after_seq``, oldest arrivals first.

        Returns:
            (up to ``limit`` messages in board order, the last arrival number returned, how many more are unread).
        """
        where, params = self._filters(type=type, agent=agent, after_seq=after_seq, not_agent=reader)
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM messages m {where} ORDER BY m.seq", params).fetchall()
        shown = rows if limit is None else rows[:limit]
        last = shown[-1][0] if shown else after_seq
        messages = sorted((_row_message(r) for r in shown), key=lambda m: m.key)
        return messages, last, len(rows) - len(shown)

    def last_seq(self) -> int:
        """The newest arrival number in the index."""
        return int(self._query("SELECT coalesce(max(seq), 0) FROM messages")[0][0])

    def referrers(self, file: str) -> list[Message]:
        """Messages whose refs name ``file``, in board order."""
        return self._messages(
            f"SELECT {_COLUMNS} FROM refs r JOIN messages m ON m.seq = r.src WHERE r.dst = ? ORDER BY m.key", (file,)
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
        return self._messages(
            f"SELECT {_COLUMNS} FROM fts JOIN messages m ON m.seq = fts.rowid WHERE fts MATCH ?"
            " ORDER BY bm25(fts), m.key DESC LIMIT ?",
            (match, limit),
        )

    def addressed_to(self, agent: str, *, after_seq: int = 0, limit: int | None = None) -> list[Message]:
        """Messages by others that ref one of ``agent``'s messages or mention ``@agent``, in board order."""
        sql = (
            f"SELECT {_COLUMNS} FROM messages m WHERE m.agent != ?1 AND m.seq > ?2 AND ("
            " m.seq IN (SELECT r.src FROM refs r JOIN messages d ON d.file = r.dst WHERE d.agent = ?1)"
            " OR m.seq IN (SELECT src FROM mentions WHERE agent = ?1)) ORDER BY m.key DESC"
        )
        params: list[Any] = [agent, after_seq]
        if limit is not None:
            sql += " LIMIT ?3"
            params.append(limit)
        return self._messages(sql, params)[::-1]

    def max_seq_of(self, messages: list[Message]) -> int:
        """The newest arrival number among ``messages`` (0 if none)."""
        if not messages:
            return 0
        marks = ",".join("?" * len(messages))
        return int(self._query(f"SELECT max(seq) FROM messages WHERE key IN ({marks})", [m.key for m in messages])[0][0])

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
            f" WHERE r.dst = m.file {'AND a.agent != m.agent' if others_only else ''} {answer})"
        )
        params: list[Any] = [type] + ([agent] if agent else []) + ([answer_type] if answer_type else [])
        total = int(self._query(f"SELECT count(*) FROM messages m WHERE {cond}", params)[0][0])
        rows = self._messages(f"SELECT {_COLUMNS} FROM messages m WHERE {cond} ORDER BY m.key DESC LIMIT ?",
                              [*params, limit])
        return rows[::-1], total

    def latest_per_agent(self, type: str) -> list[Message]:
        """Each agent's newest message of ``type``, newest first."""
        return self._messages(
            f"SELECT {_COLUMNS} FROM messages m JOIN (SELECT max(key) AS k FROM messages WHERE type = ?"
            " GROUP BY agent) t ON m.key = t.k ORDER BY m.key DESC",
            (type,),
        )

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
        """(message key, ref) pairs whose ref names no message on the board."""
        return [
            (k, d)
            for k, d in self._query(
                "SELECT m.key, r.dst FROM refs r JOIN messages m ON m.seq = r.src"
                " WHERE r.dst NOT IN (SELECT file FROM messages) ORDER BY m.key, r.dst"
            )
        ]


def _parse(info: ObjectInfo, data: bytes | None) -> Message | str | None:
    """A fetched file as a Message, the reason it is unreadable, or None if it vanished."""
    if data is None:
        return None
    try:
        return parse_message(info.key, data)
    except MessageFormatError as exc:
        return exc.message
