"""The dashboard's view of a space, kept fresh cheaply.

Many browser tabs poll the JSON API every two seconds; the store must not be
listed per request. :class:`LiveSpace` holds a snapshot that requests read
without waiting; under ``collab serve`` a background thread (:meth:`LiveSpace.start`)
refreshes it every :data:`REFRESH_SECONDS` (without one, a request refreshes it
when it is older than that):

* the board: ``space.board.sync()`` (one listing after the index's watermark);
  the messages are re-read from the local index only when its arrival counter or
  size changed (a post by another process on this machine lands in the shared
  index directly, so the sync alone cannot tell);
* the results: one listing of the results and of the verdicts; the leaderboard is
  rebuilt (``space.leaderboard()``, ``space.results()``) only when those listings
  changed, or when the board changed while something is invalid (a new message
  may build on an invalid result and must be flagged);
* the claims, recomputed at each refresh (they expire with time);
* the registrations: every :data:`AGENTS_SECONDS`, or at once when an unknown agent posts.

Everything derived (rendered HTML, reply counts, threads, last seen) is cached
per message, since messages are immutable.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain import paths
from ..domain.agents import Registration
from ..domain.claims import Claim
from ..domain.leaderboard import Leaderboard
from ..domain.messages import Message
from ..space import Space
from .render import Rendered, render_body

#: The longest a poll waits before the board and results are looked at again.
REFRESH_SECONDS = 1.0
#: How often the registrations (``agents/``) are re-read.
AGENTS_SECONDS = 15.0


@dataclass
class BoardState:
    """Every message in board order, with what the pages derive from them."""

    messages: list[Message] = field(default_factory=list)
    by_file: dict[str, Message] = field(default_factory=dict)
    replies: dict[str, list[str]] = field(default_factory=dict)  # file -> files that ref it
    threads: int = 0
    last_seen: dict[str, Message] = field(default_factory=dict)
    posts: dict[str, int] = field(default_factory=dict)
    version: str = "0"

    @classmethod
    def build(cls, messages: list[Message], version: str) -> BoardState:
        state = cls(messages=messages, by_file={m.file: m for m in messages}, version=version)
        for m in messages:
            for ref in m.refs:
                if ref in state.by_file and ref != m.file:
                    state.replies.setdefault(ref, []).append(m.file)
            state.posts[m.agent] = state.posts.get(m.agent, 0) + 1
            if m.agent not in state.last_seen or m.key > state.last_seen[m.agent].key:
                state.last_seen[m.agent] = m
        # a thread: a message others answer that answers nothing on the board itself
        state.threads = sum(
            1 for f in state.replies if not any(r in state.by_file and r != f for r in state.by_file[f].refs)
        )
        return state


@dataclass
class ResultsState:
    """The leaderboard, each result's time, and a version that changes when either does."""

    leaderboard: Leaderboard | None = None
    times: dict[str, datetime] = field(default_factory=dict)
    version: str = "0"
    listing: tuple[tuple[str, int], ...] = ()
    board_version: str = ""


class LiveSpace:
    """A :class:`Space` as the dashboard sees it, refreshed at most every ``interval`` seconds.

    Args:
        space: the space (opened without an agent: the dashboard only reads).
        interval: the refresh interval in seconds.
        monotonic: the clock for the interval (tests pass their own).
    """

    def __init__(self, space: Space, *, interval: float = REFRESH_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.space = space
        self.interval = interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._agents_at = float("-inf")
        self._rendered: dict[str, Rendered] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.board = BoardState()
        self.results = ResultsState()
        self.claims: list[Claim] = []
        self.registrations: list[Registration] = []
        self.error: Exception | None = None

    def ensure(self) -> None:
        """Make sure there is a snapshot: with a background thread running, return at once; else refresh if due."""
        if self._thread is not None and self._checked > float("-inf"):
            if self.error is not None:
                raise self.error
            return
        self.refresh()

    def refresh(self, *, force: bool = False) -> None:
        """Look at the store again if the last look is older than the interval (or ``force``)."""
        with self._lock:
            now = self._monotonic()
            if not force and now - self._checked < self.interval:
                return
            self._refresh_board()
            self._refresh_results()
            self.claims = self.space.claims(all=True)
            known = {r.agent for r in self.registrations}
            if force or now - self._agents_at >= AGENTS_SECONDS or any(a not in known for a in self.board.posts):
                self.registrations = self.space.agents()
                self._agents_at = now
            self._checked = self._monotonic()

    def start(self) -> LiveSpace:
        """Refresh in a daemon thread every ``interval`` seconds, so that no request waits for the store."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="collab-live", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval if self._checked > float("-inf") else 0):
            try:
                self.refresh(force=True)
                self.error = None
            except Exception as exc:  # noqa: BLE001 -- a store hiccup: keep the last snapshot, report it, retry
                self.error = exc

    def _refresh_board(self) -> None:
        board = self.space.board
        board.sync()
        version = f"{board.index.last_seq()}.{board.index.count()}"
        if version != self.board.version:
            self.board = BoardState.build(board.index.messages(), version)

    def _refresh_results(self) -> None:
        listing = tuple((i.key, i.size) for prefix in (paths.RESULTS, paths.VERDICTS) for i in self.space.ls(prefix))
        old = self.results
        watches_board = old.leaderboard is not None and (
            old.leaderboard.flagged or any(r.status == "invalid" for r in old.leaderboard.rows))
        if old.leaderboard is not None and listing == old.listing and (
                not watches_board or old.board_version == self.board.version):
            return
        lb = self.space.leaderboard()
        times = {r.key: r.timestamp for r in self.space.results() if r.timestamp is not None}
        digest = hashlib.sha1(
            json.dumps([lb.to_dict(), sorted((k, t.isoformat()) for k, t in times.items())], default=str).encode()
        ).hexdigest()[:16]
        self.results = ResultsState(lb, times, digest, listing, self.board.version)

    def rendered(self, message: Message) -> Rendered:
        """The message's body as safe HTML (cached: messages never change)."""
        found = self._rendered.get(message.key)
        if found is None:
            found = self._rendered[message.key] = render_body(message.body)
        return found

    @property
    def version(self) -> dict[str, Any]:
        """What changed since a client last looked: the board's and the results' versions."""
        return {"board": self.board.version, "results": self.results.version}
