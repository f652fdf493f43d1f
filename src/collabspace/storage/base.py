"""The store protocol: six primitives every backend provides.

A backend subclasses :class:`Store` and implements the ``_get``, ``_put``,
``_list``, ``_head`` and ``_delete`` primitives. The public methods validate keys
*before* anything reaches the backend, and each backend translates its own
exceptions into :mod:`collabspace.errors` so that no backend exception escapes
this package.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import InvalidInput

# The strictest store's rules (Hugging Face buckets), applied everywhere.
_BAD_SEGMENTS = {"", ".", ".."}
_BAD_CHARS = re.compile(r"[\\\x00-\x1f\x7f]")
MAX_KEY_BYTES = 1024


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing or a head returns for one object."""

    key: str
    size: int
    last_modified: datetime | None = None
    etag: str | None = None


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid object key, else raise :class:`InvalidInput`.

    Refused: empty keys, a leading or trailing ``/``, ``//``, ``.`` or ``..``
    segments, backslashes, NUL and other control characters, keys over 1 KiB.
    """
    if not isinstance(key, str) or not key:
        raise InvalidInput("empty object key", hint="give a path such as message_board/README.md")
    problem = None
    if key.startswith("/"):
        problem = "starts with '/'"
    elif key.endswith("/"):
        problem = "ends with '/'"
    elif "//" in key:
        problem = "contains '//'"
    elif _BAD_CHARS.search(key):
        problem = "contains a backslash or a control character"
    elif any(seg in _BAD_SEGMENTS for seg in key.split("/")):
        problem = "contains a '.' or '..' segment"
    elif len(key.encode()) > MAX_KEY_BYTES:
        problem = f"is longer than {MAX_KEY_BYTES} bytes"
    if problem:
        raise InvalidInput(
            f"invalid object key {key!r}: it {problem}",
            hint="keys are relative paths like artifacts/scripts/train_agent-01.py",
        )
    return key


def check_prefix(prefix: str) -> str:
    """Validate a listing prefix: empty, or a key optionally ending in '/'."""
    if prefix:
        check_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


class Store:
    """Base class of every store: validation here, primitives in the backend.

    Attributes:
        url: the address the store was opened with (``/path``, ``s3://b/p``, ``memory://``).
    """

    url: str = ""
    #: True when ``put(..., create_only=True)`` is atomic against concurrent writers.
    atomic_create: bool = True
    #: True when the backend lists from ``start_after`` itself (S3's StartAfter); False when a listing
    #: returns the whole prefix and ``start_after`` is applied afterwards (the Hub), so that a reader
    #: should narrow the prefix instead.
    native_start_after: bool = True

    # -- public API -----------------------------------------------------------------
    def get(self, key: str) -> bytes:
        """Return the bytes stored at ``key``. Raises NotFound."""
        return self._get(check_key(key))

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        """Store ``data`` at ``key``.

        With ``create_only`` the write succeeds only if the key does not exist;
        otherwise it raises AlreadyExists and the stored content is unchanged.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be bytes")
        self._put(check_key(key), bytes(data), create_only)

    def get_many(self, keys: Sequence[str], *, workers: int = 32) -> dict[str, bytes | None]:
        """The bytes of several keys, ``None`` where a key is missing.

        Fetched in parallel by default; backends with a batch download (the Hub)
        fetch them in one request.
        """
        keys = [check_key(k) for k in keys]
        return self._get_many(keys, workers) if keys else {}

    def put_many(self, items: dict[str, bytes]) -> None:
        """Overwrite-put several objects; backends with a batch API send them in one request."""
        for key in items:
            check_key(key)
        for key, data in items.items():
            self._put(key, bytes(data), False)

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Yield the objects under ``prefix`` in key order, those after ``start_after`` only."""
        check_prefix(prefix)
        if start_after is not None:
            check_key(start_after)
        return self._list(prefix, start_after)

    def head(self, key: str) -> ObjectInfo:
        """Return the metadata of ``key``. Raises NotFound."""
        return self._head(check_key(key))

    def exists(self, key: str) -> bool:
        """True if ``key`` exists."""
        from ..errors import NotFound

        try:
            self.head(key)
        except NotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        """Delete ``key``. Raises NotFound if it does not exist."""
        self._delete(check_key(key))

    # -- large files (artifacts) ---------------------------------------------------------
    #: Part size of multipart uploads; a file larger than this is streamed in parts of this size.
    part_size: int = 8 * 1024 * 1024

    def put_file(self, key: str, path: str | Path, *, progress: Callable[[int], None] | None = None) -> None:
        """Upload the local file ``path`` to ``key`` (overwriting), without reading it all into memory.

        Files over :attr:`part_size` go as a multipart upload in parts of exactly
        that size, so an S3 ETag can be recomputed locally. ``progress`` is called
        with each number of bytes handed to the backend.
        """
        self._put_file(check_key(key), Path(path), progress)

    def put_files(self, items: Sequence[tuple[str, str | Path]], *,
                  progress: Callable[[int], None] | None = None, workers: int = 8) -> None:
        """Upload several local files (``(key, path)`` pairs), overwriting: in parallel by default,
        in one request on backends with a batch API (the Hub)."""
        pairs = [(check_key(key), Path(path)) for key, path in items]
        if pairs:
            self._put_files(pairs, progress, workers)

    def iter_get(self, key: str) -> Iterator[bytes]:
        """Yield the bytes of ``key`` in chunks (bytes-like), for downloads of any size. Raises NotFound."""
        return self._iter_get(check_key(key))

    def close(self) -> None:
        """Release resources (connections); the default does nothing."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- backend primitives -----------------------------------------------------------
    def _get(self, key: str) -> bytes:
        raise NotImplementedError

    def _put(self, key: str, data: bytes, create_only: bool) -> None:
        raise NotImplementedError

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        raise NotImplementedError

    def _head(self, key: str) -> ObjectInfo:
        raise NotImplementedError

    def _delete(self, key: str) -> None:
        raise NotImplementedError

    def _get_many(self, keys: list[str], workers: int) -> dict[str, bytes | None]:
        from ..errors import NotFound

        def one(key: str) -> tuple[str, bytes | None]:
            try:
                return key, self._get(key)
            except NotFound:
                return key, None

        if len(keys) == 1:
            return dict([one(keys[0])])
        with ThreadPoolExecutor(max_workers=min(workers, len(keys))) as pool:
            return dict(pool.map(one, keys))

    def _put_file(self, key: str, path: Path, progress: Callable[[int], None] | None) -> None:
        data = path.read_bytes()
        self._put(key, data, False)
        if progress:
            progress(len(data))

    def _put_files(self, pairs: list[tuple[str, Path]], progress: Callable[[int], None] | None, workers: int) -> None:
        if len(pairs) == 1:
            self._put_file(*pairs[0], progress)
            return
        with ThreadPoolExecutor(max_workers=min(workers, len(pairs))) as pool:
            list(pool.map(lambda pair: self._put_file(pair[0], pair[1], progress), pairs))

    def _iter_get(self, key: str) -> Iterator[bytes]:
        yield self._get(key)
