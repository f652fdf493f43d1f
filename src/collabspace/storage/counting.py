"""A store wrapper that counts requests and can add latency: for benchmarks and request-count tests."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence

from .base import ObjectInfo, Store, Upload

#: Keys per listing page, as S3 and the Hub page them.
LIST_PAGE = 1000


class CountingStore(Store):
    """A store wrapper that counts requests by kind and can add a fixed latency to each.

    Args:
        inner: the store to wrap.
        latency: seconds slept per request (per listing page).
    """

    def __init__(self, inner: Store, latency: float = 0.0) -> None:
        self.inner = inner
        self.url = inner.url
        self.native_start_after = inner.native_start_after
        self.latency = latency
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _tick(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.counts[kind] += n
        if self.latency:
            time.sleep(self.latency * n)

    @property
    def total(self) -> int:
        """All requests counted so far."""
        return sum(self.counts.values())

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self.counts.clear()

    def _get(self, key: str) -> bytes:
        self._tick("get")
        return self.inner.get(key)

    # The inner store validates every key and screens every listing; doing it again here would count CPU in
    # benchmarks that the stores' users never spend.
    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        return self._list(prefix, start_after)

    def get_many(self, keys: Sequence[str], *, workers: int = 32) -> dict[str, bytes | None]:
        return self._get_many(list(keys), workers) if keys else {}

    def _get_many(self, keys: list[str], workers: int) -> dict[str, bytes | None]:
        """One request per key, fetched the way the inner store fetches many (so a count costs no CPU of its
        own); with a latency, in parallel threads that each sleep it, as a network would."""
        if self.latency:
            return super()._get_many(keys, workers)
        self._tick("get", len(keys))
        return self.inner.get_many(keys, workers=workers)

    def _get_start(self, key: str, size: int) -> bytes:
        self._tick("get")
        return self.inner.get_start(key, size)

    def _put(self, key: str, data: bytes, create_only: bool) -> None:
        self._tick("put")
        self.inner.put(key, data, create_only=create_only)

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        items = list(self.inner.list(prefix, start_after=start_after))
        self._tick("list", max(1, math.ceil(len(items) / LIST_PAGE)))
        return iter(items)

    def _head(self, key: str) -> ObjectInfo:
        self._tick("head")
        return self.inner.head(key)

    def _delete(self, key: str) -> None:
        self._tick("delete")
        self.inner.delete(key)

    def _stale_uploads(self, prefix: str, older_than) -> list[Upload]:
        self._tick("list")
        return self.inner.stale_uploads(prefix, older_than=older_than)

    def _abort_upload(self, key: str, upload_id: str) -> bool:
        self._tick("delete")
        return self.inner.abort_upload(key, upload_id)

    def odd_keys(self, prefix: str | None = None) -> list[tuple[str, str]]:
        """The inner store's odd keys (the listings that find them are the inner store's)."""
        if prefix is not None:
            for _ in self.list(prefix):
                pass
        return [(k, r) for k, r in self.inner.odd_keys() if prefix is None or k.startswith(prefix)]
