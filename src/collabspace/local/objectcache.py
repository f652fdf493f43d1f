"""A local cache of stored objects, keyed by key, etag and size, beside the board index.

Results and verdicts are immutable, yet every leaderboard build needs all of
them: without a cache each new process (each ``collab submit``, ``digest``,
``join``) fetches every result again. With it, an object is fetched once per
machine; a changed object has another etag or size and is fetched again.
Like the board index, it is only a cache: delete it and it is rebuilt.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence

from ..storage import ObjectInfo, Store
from .dirs import cache_file


class ObjectCache:
    """Objects by ``(key, etag, size)`` in a SQLite file; objects without an etag are not cached."""

    def __init__(self, url: str) -> None:
        path = cache_file(url, "objects")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 60000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, etag TEXT NOT NULL, size INTEGER NOT NULL,"
            " data BLOB NOT NULL)"
        )

    def fetch(self, store: Store, infos: Sequence[ObjectInfo], *, workers: int = 16,
              get: Callable[[list[ObjectInfo]], dict[str, bytes | None]] | None = None) -> dict[str, bytes | None]:
        """The bytes of every listed object (``None`` if it vanished): cached ones from disk, the rest
        through ``get`` (by default ``store.get_many``), then cached."""
        hits: dict[str, bytes] = {}
        with self._lock:
            for info in infos:
                if info.etag is None:
                    continue
                row = self._db.execute("SELECT etag, size, data FROM objects WHERE key = ?", (info.key,)).fetchone()
                if row and row[0] == info.etag and row[1] == info.size:
                    hits[info.key] = bytes(row[2])
        missing = [i for i in infos if i.key not in hits]
        if get is None:
            def get(todo: list[ObjectInfo]) -> dict[str, bytes | None]:
                return store.get_many([i.key for i in todo], workers=workers)
        fetched = get(missing) if missing else {}
        fresh = [(i.key, i.etag, i.size, fetched[i.key]) for i in missing
                 if i.etag is not None and fetched.get(i.key) is not None and len(fetched[i.key]) == i.size]
        if fresh:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?)", fresh)
                self._db.execute("COMMIT")
        return {**fetched, **hits}
