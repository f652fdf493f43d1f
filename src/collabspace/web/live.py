"""The dashboard's view of a space, kept fresh cheaply.

Many browser tabs poll the JSON API every two seconds; the store must not be
listed per request. :class:`LiveSpace` holds the latest snapshot of the space's
read model (:meth:`Space.refresh <collabspace.space.Space.refresh>`: one listing
per prefix) that requests read without waiting; under ``collab serve`` a
background thread (:meth:`LiveSpace.start`) refreshes it every ``interval``
seconds (:func:`default_interval`: 1 s on a local folder, 10 s on S3 and the
Hub, where requests are billed). Without one, a request refreshes it when it is
older than that.

What the pages derive from messages (rendered HTML, reply counts, threads, last
seen) is rebuilt only when the board's version changed, and cached per message,
since messages are immutable. Claims are recomputed at each refresh (they expire
with time) from the board index, without a request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..domain.setup.agents import Registration
from ..domain.board.claims import Claim
from ..domain.results.compare import Comparison
from ..domain.results.leaderboard import Leaderboard
from ..domain.board.messages import Message
from ..space import Space
from .render import Rendered, render_body

#: The longest a poll waits before a local folder is looked at again.
REFRESH_SECONDS = 1.0
#: The same on stores that bill requests (S3, the Hub).
REMOTE_REFRESH_SECONDS = 10.0
#: Comparisons (result pages) kept per results version.
COMPARISONS = 32


def default_interval(url: str) -> float:
    """How often the dashboard looks at the store by default: every second on a local folder or in
    memory, every :data:`REMOTE_REFRESH_SECONDS` on S3 and the Hub."""
    return REMOTE_REFRESH_SECONDS if url.startswith(("s3://", "hf://")) else REFRESH_SECONDS


@dataclass
class BoardState:
    """Every message in board order, with what the pages derive from them."""

    messages: list[Message] = field(default_factory=list)
    by_key: dict[str, Message] = field(default_factory=dict)
    replies: dict[str, list[str]] = field(default_factory=dict)  # key -> keys of the messages that ref it
    threads: int = 0
    last_seen: dict[str, Message] = field(default_factory=dict)
    posts: dict[str, int] = field(default_factory=dict)
    version: str = "0"

    @classmethod
    def build(cls, messages: list[Message], version: str) -> BoardState:
        state = cls(messages=messages, by_key={m.key: m for m in messages}, version=version)
        for m in messages:
            for ref in m.refs:
                if ref in state.by_key and ref != m.key:
                    state.replies.setdefault(ref, []).append(m.key)
            state.posts[m.agent] = state.posts.get(m.agent, 0) + 1
            if m.agent not in state.last_seen or m.key > state.last_seen[m.agent].key:
                state.last_seen[m.agent] = m
        # a thread: a message others answer that answers nothing on the board itself
        state.threads = sum(
            1 for k in state.replies if not any(r in state.by_key and r != k for r in state.by_key[k].refs)
        )
        return state


@dataclass
class ResultsState:
    """The leaderboard and a version that changes when it does."""

    leaderboard: Leaderboard | None = None
    version: str = "0"


class LiveSpace:
    """A :class:`Space` as the dashboard sees it, refreshed at most every ``interval`` seconds.

    Args:
        space: the space (opened without an agent: the dashboard only reads).
        interval: the refresh interval in seconds.
        monotonic: the clock for the interval (tests pass their own).
    """

    def __init__(self, space: Space, *, interval: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.space = space
        self.interval = default_interval(space.url) if interval is None else interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._rendered: dict[str, Rendered] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.board = BoardState()
        self.results = ResultsState()
        self.claims: list[Claim] = []
        self.registrations: list[Registration] = []
        self.error: Exception | None = None
        self._compared: dict[tuple[str, tuple[str, ...]], Comparison] = {}

    def ensure(self) -> None:
        """Make sure there is a snapshot: with a background thread running, return at once; else refresh if due."""
        if self._thread is not None and self._checked > float("-inf"):
            if self.error is not None:
                raise self.error
            return
        self.refresh()

    def refresh(self, *, force: bool = False) -> None:
        """Look at the store again (one listing per prefix) if the last look is older than the interval
        (or ``force``)."""
        with self._lock:
            if not force and self._monotonic() - self._checked < self.interval:
                return
            snap = self.space.refresh()
            if snap.board_version != self.board.version:
                self.board = BoardState.build(self.space.messages(), snap.board_version)
            if snap.leaderboard is not self.results.leaderboard:  # the read model keeps it while nothing changed
                self.results = ResultsState(snap.leaderboard, str(int(self.results.version) + 1))
            self.claims = self.space.claims(all=True, sync=False)
            self.registrations = snap.registrations
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

    def comparison(self, results: list[str]) -> Comparison:
        """:meth:`Space.compare` of ``results``, kept while the results do not change (re-scoring each
        per-item file costs tens of milliseconds; a page polls)."""
        key = (self.results.version, tuple(results))
        found = self._compared.get(key)
        if found is None:
            found = self.space.compare(results)
            if len(self._compared) >= COMPARISONS:
                self._compared.clear()
            self._compared[key] = found
        return found

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
