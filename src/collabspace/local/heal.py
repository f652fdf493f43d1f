"""How machine-local files heal: one policy for the caches, another for state, one line said about each.

* A **cache** (the board index, the object cache) that cannot be used (not a database,
  truncated, zeroed, malformed) is deleted and rebuilt from the store; one that cannot
  be written (a read-only or full folder) is replaced by one in memory, so every command
  still works, only slower.
* **State** (the cursors) is never deleted: an unreadable file is kept aside under a new
  name (``...unreadable-YYYYMMDD-HHMMSS``), and a fresh one is started; an unwritable one is
  copied into memory, so reads still work but are not remembered.

Each event is said once per process, as one line, through the ``collabspace`` logger
(:func:`notice`): the CLI prints it on stderr (a process without logging set up prints it
there too, through Python's last-resort handler); a server's logging shows it in its log.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger("collabspace.local")
_said: set[str] = set()
_said_lock = threading.Lock()

#: Errors that mean the file is not a usable database (as opposed to a busy or unwritable one).
Corrupt = sqlite3.DatabaseError
#: Errors that mean the file or its folder cannot be written (read-only, full, busy beyond the timeout).
Unwritable = (sqlite3.OperationalError, OSError)


def notice(text: str, *, once: str | None = None) -> None:
    """Say ``text`` once per process (``notice: ...`` for a repair, ``warning: ...`` for a degraded mode);
    with ``once``, only the first text said under that key."""
    key = once or text
    with _said_lock:
        if key in _said:
            return
        _said.add(key)
    log.warning(text)


def reason(exc: BaseException) -> str:
    """A short reason for an error, in one line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def is_corrupt(exc: BaseException) -> bool:
    """True when an SQLite error says the file itself is unusable (rebuild it), not that it is busy or
    cannot be written (keep it)."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError) or (
        isinstance(exc, sqlite3.OperationalError) and "malformed" in str(exc))


def unwritable_warning(path: Path, what: str, exc: BaseException) -> str:
    """The one line said when a cache cannot be written: about its folder, so that the caches of one
    folder (the index, the object cache) say it once between them."""
    del what  # every cache of the folder says the same line
    return (f"warning: the cache folder {path.parent} cannot be written ({reason(exc)}); working without a "
            "cache, in memory (slower): free the disk or fix the folder's permissions")


def sidecars(path: Path) -> list[Path]:
    """The database file and its WAL files."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
            path.with_name(path.name + "-journal")]


def open_cache(path: Path, open_: Callable[[Path], object], *, what: str) -> object:
    """``open_(path)``, healing the file as a cache: rebuilt when unusable, in memory when unwritable."""
    try:
        return open_(path)
    except BaseException as exc:  # noqa: BLE001 -- sorted below; anything else is re-raised
        if not isinstance(exc, (sqlite3.Error, OSError)):
            raise
        first = exc
    if not is_corrupt(first):
        notice(unwritable_warning(path, what, first), once=f"unwritable:{path.parent}")
        return open_(Path(":memory:"))
    try:
        for stale in sidecars(path):
            stale.unlink(missing_ok=True)
        opened = open_(path)
    except (sqlite3.Error, OSError) as exc:
        notice(unwritable_warning(path, what, exc), once=f"unwritable:{path.parent}")
        return open_(Path(":memory:"))
    notice(f"notice: the {what} at {path} could not be read ({reason(first)}); rebuilt it from the store")
    return opened


def keep_aside(path: Path) -> Path:
    """Rename an unreadable state file (and its WAL files) out of the way; returns the new name."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.unreadable-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.unreadable-{stamp}-{n}")
    for src in sidecars(path):
        if src.exists():
            src.rename(aside.with_name(aside.name + src.name[len(path.name):]))
    return aside
