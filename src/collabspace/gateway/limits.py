"""Per-agent rate limits, counted per replica (in memory).

Each limit is a sliding window: ``posts_per_minute`` (messages, claims, releases),
``submits_per_hour`` (results and verdicts) and ``upload_bytes_per_day`` (artifact
bytes). A caller over a limit gets :class:`~collabspace.errors.RateLimited` with the
seconds until the oldest counted event leaves the window (HTTP 429 + ``Retry-After``).

With several replicas behind one address, each counts what it served: an agent may get
up to ``replicas ×`` the limit. That is the documented trade-off for holding no shared
state but the store (a shared counter would cost a request per write).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from ..domain.setup.spec import Gateway as Settings
from ..errors import RateLimited

#: action -> (settings field, window in seconds, what is counted)
WINDOWS: dict[str, tuple[str, float, str]] = {
    "post": ("posts_per_minute", 60.0, "posts"),
    "submit": ("submits_per_hour", 3600.0, "submits"),
    "upload": ("upload_bytes_per_day", 86400.0, "upload bytes"),
}


class Limits:
    """Sliding-window counters per (agent, action).

    Args:
        settings: the spec's ``[gateway]`` table (read again by the caller when the spec changes).
        monotonic: the clock (tests pass their own).
    """

    def __init__(self, settings: Callable[[], Settings], *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._monotonic = monotonic
        self._events: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def take(self, agent: str, action: str, amount: int = 1) -> None:
        """Count ``amount`` of ``action`` for ``agent``, or refuse it.

        Raises:
            RateLimited: the window is full; ``retry_after`` says when there is room.
        """
        field, window, what = WINDOWS[action]
        limit = int(getattr(self._settings(), field))
        now = self._monotonic()
        with self._lock:
            events = self._events.setdefault((agent, action), deque())
            while events and now - events[0][0] >= window:
                events.popleft()
            used = sum(n for _, n in events)
            if used + amount > limit:
                wait = window - (now - events[0][0]) if events else window
                retry = max(1, math.ceil(wait))
                raise RateLimited(
                    f"{agent} is over this gateway's limit of {limit:,} {what} per {_window(window)}",
                    hint=f"retry in {retry} s (the organizer sets [gateway] {field} in collab.toml)",
                    retry_after=retry)
            events.append((now, amount))


def _window(seconds: float) -> str:
    return {60.0: "minute", 3600.0: "hour", 86400.0: "day"}.get(seconds, f"{seconds:g} s")
