"""A local cache of stored objects, keyed by key, etag and size, beside the board index.

Results and verdicts are immutable, yet every leaderboard build needs all of
them: without a cache each new process (each ``collab submit``, ``digest``,
``join``) fetches every result again. With it, an object is fetched once per
machine; a changed object has another etag or size and is fetched again.
Like the board index, it is only a cache: delete it and it is rebuilt.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from ..storage import ObjectInfo, Store
from .sqlite import open_db, transaction
from .dirs import cache_file
from .heal import is_corrupt, notice, open_cache, reason, sidecars, unwritable_warning


class ObjectCache:
    """Objects by ``(key, etag, size)`` in a SQLite file; objects without an etag are not cached.

    It never fails a read: an unusable file is rebuilt, an unwritable one replaced by memory
    (said once, in a line), and an object it cannot give back is fetched from the store.
    """

    def __init__(self, url: str) -> None:
        self._lock = threading.Lock()
        self.path = cache_file(url, "objects")
        self._db: sqlite3.Connection = open_cache(self.path, _connect, what="object cache")  # type: ignore[assignment]

    def _recover(self, exc: BaseException) -> None:
        """After ``exc`` from SQLite mid-use: rebuild the file (unusable) or go on in memory (unwritable)."""
        try:
            self._db.close()
        except sqlite3.Error:
            pass
        if is_corrupt(exc) and str(self.path) != ":memory:":
            try:
                for stale in sidecars(self.path):
                    stale.unlink(missing_ok=True)
                self._db = _connect(self.path)
                notice(f"notice: the object cache at {self.path} could not be read ({reason(exc)}); "
                       "rebuilt it from the store")
                return
            except (sqlite3.Error, OSError) as again:
                exc = again
        notice(unwritable_warning(self.path, "object cache", exc), once=f"unwritable:{self.path.parent}")
        self.path = Path(":memory:")
        self._db = _connect(self.path)

    def _cached(self, infos: Sequence[ObjectInfo]) -> dict[str, bytes]:
        hits: dict[str, bytes] = {}
        bad: list[str] = []
        with self._lock:
            try:
                for info in infos:
                    if info.etag is None:
                        continue
                    row = self._db.execute("SELECT etag, size, sha256, data FROM blobs WHERE key = ?",
                                           (info.key,)).fetchone()
                    if not row or row[0] != info.etag or row[1] != info.size:
                        continue
                    data = bytes(row[3])
                    if hashlib.sha256(data).hexdigest() != row[2]:  # a damaged page: fetch it again
                        bad.append(info.key)
                        continue
                    hits[info.key] = data
                if bad:
                    self._db.executemany("DELETE FROM blobs WHERE key = ?", [(k,) for k in bad])
            except sqlite3.Error as exc:
                self._recover(exc)
                return {}
        if bad:
            notice(f"notice: the object cache at {self.path} held {len(bad)} damaged "
                   f"object{'s' if len(bad) > 1 else ''}; fetched again from the store")
        return hits

    def _keep(self, fresh: list[tuple[str, str, int, bytes]]) -> None:
        with self._lock:
            for attempt in (1, 2):
                try:
                    with transaction(self._db) as db:
                        db.executemany("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?, ?)",
                                       [(k, e, n, hashlib.sha256(d).hexdigest(), d) for k, e, n, d in fresh])
                    return
                except sqlite3.Error as exc:
                    if attempt == 2:
                        return  # a cache that cannot keep them: fetched again next time
                    self._recover(exc)

    def fetch(self, store: Store, infos: Sequence[ObjectInfo], *, workers: int = 16,
              get: Callable[[list[ObjectInfo]], dict[str, bytes | None]] | None = None) -> dict[str, bytes | None]:
        """The bytes of every listed object (``None`` if it vanished): cached ones from disk, the rest
        through ``get`` (by default ``store.get_many``), then cached."""
        hits = self._cached(infos)
        missing = [i for i in infos if i.key not in hits]
        if get is None:
            def get(todo: list[ObjectInfo]) -> dict[str, bytes | None]:
                return store.get_many([i.key for i in todo], workers=workers)
        fetched = get(missing) if missing else {}
        fresh = [(i.key, i.etag, i.size, data) for i in missing
                 if i.etag is not None and (data := fetched.get(i.key)) is not None and len(data) == i.size]
        if fresh:
            self._keep(fresh)
        return {**fetched, **hits}


def _connect(path: Path) -> sqlite3.Connection:
    db = open_db(path)
    try:
        db.execute("DROP TABLE IF EXISTS objects")  # the first layout, without a checksum
        db.execute(
            "CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, etag TEXT NOT NULL, size INTEGER NOT NULL,"
            " sha256 TEXT NOT NULL, data BLOB NOT NULL)"
        )
        db.execute("SELECT count(*) FROM blobs").fetchone()  # a corrupt file fails here, not later
    except BaseException:
        db.close()
        raise
    return db
