"""The audit log: every write a gateway accepted or refused, append-only in the store.

Object stores cannot append, so records are kept in memory and written as one new
object per batch (``gateway/audit/{stamp}-{replica}-{seq}.jsonl``, create-only) every
:data:`FLUSH_SECONDS` and when the gateway stops. Replicas write their own batches, so
they never contend. A record: ``time`` (the gateway's clock), ``agent`` (or ``null``
when the caller was not identified), ``action``, ``key``, ``outcome`` (``ok`` or the
error kind), ``status`` (HTTP), ``client`` (address) and ``detail``.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from ..domain import paths, safejson
from ..domain.timefmt import file_stamp, iso, parse_time
from ..errors import CollabError, InvalidInput, NotFound
from ..storage import Store

FLUSH_SECONDS = 2.0


class AuditLog:
    """Buffers audit records and writes them in batches.

    Args:
        store: the space's store.
        clock: the gateway's clock.
        flush_seconds: how often a background thread writes the buffer (0: only on :meth:`flush`).
    """

    def __init__(self, store: Store, *, clock: Callable[[], datetime], flush_seconds: float = FLUSH_SECONDS) -> None:
        self.store = store
        self.clock = clock
        self.replica = secrets.token_hex(4)
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.flush_seconds = flush_seconds

    def record(self, *, agent: str | None, action: str, key: str | None, outcome: str, status: int,
               client: str | None, detail: str | None = None) -> None:
        """Add one record (written with the next batch)."""
        rec = {"time": iso(self.clock()), "agent": agent, "action": action, "key": key, "outcome": outcome,
               "status": status, "client": client, "detail": detail}
        with self._lock:
            self._buffer.append(rec)

    def flush(self) -> int:
        """Write the buffered records as one batch; return how many were written. A store failure
        keeps them for the next flush (and says so on stderr), never losing one."""
        with self._lock:
            batch, self._buffer = self._buffer, []
            if not batch:
                return 0
            self._seq += 1
            key = paths.audit_key(file_stamp(self.clock()), self.replica, self._seq)
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch).encode()
        try:
            self.store.put(key, data, create_only=True)
        except CollabError as exc:
            with self._lock:
                self._buffer[:0] = batch
            print(f"collab gateway: the audit batch could not be written ({exc.message}); kept for the next try",
                  file=sys.stderr)
            return 0
        return len(batch)

    def start(self) -> AuditLog:
        """Flush every :attr:`flush_seconds` in a daemon thread."""
        if self.flush_seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="collab-audit", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()


def read_audit(store: Store, *, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every audit record (of every replica) at or after ``since``, oldest first; unreadable batches are
    reported as one record with ``outcome: unreadable``."""
    records: list[dict[str, Any]] = []
    for info in store.list(paths.GATEWAY_AUDIT):
        try:
            lines = store.get(info.key).decode("utf-8", "replace").splitlines()
        except NotFound:
            continue
        for line in lines:
            try:
                rec = safejson.loads(line, what=info.key)
            except InvalidInput:
                rec = None
            if not isinstance(rec, dict):
                rec = {"time": None, "agent": None, "action": "?", "key": info.key, "outcome": "unreadable",
                       "status": None, "client": None, "detail": "a line of this batch is not a JSON object"}
            records.append(rec)
    records.sort(key=lambda r: str(r.get("time") or ""))
    for rec in records:
        at = parse_time(rec.get("time")) if rec.get("time") else None
        if since is None or (at is not None and at >= since):
            yield rec
