"""How every machine-local file is opened: SQLite in WAL mode, shared by processes, waiting for locks."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: How long a writer waits for another process's lock before giving up.
BUSY_SECONDS = 60


def open_db(path: Path) -> sqlite3.Connection:
    """A connection to ``path`` (created with its folder; ``:memory:`` for one in memory), in autocommit
    mode so that each caller's ``BEGIN IMMEDIATE`` is its transaction, usable from any thread."""
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")
        db.execute("PRAGMA journal_mode = WAL")
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (``BEGIN IMMEDIATE``: the write lock first, so two processes never deadlock
    upgrading), committed on success and rolled back on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
