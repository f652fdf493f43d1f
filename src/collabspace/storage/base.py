"""The store protocol: six primitives every backend provides.

A backend subclasses :class:`Store` and implements the ``_get``, ``_put``,
``_list``, ``_head`` and ``_delete`` primitives. The public methods validate keys
*before* anything reaches the backend, and each backend translates its own
exceptions into :mod:`collabspace.errors` so that no backend exception escapes
this package.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ..errors import AlreadyExists, InvalidInput, NotFound, StoreError

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


@dataclass(frozen=True)
class Upload:
    """An incomplete multipart upload (or, on a folder, the staging file of an unfinished write)."""

    key: str
    #: The store's own id of the upload, given back to :meth:`Store.abort_upload`.
    upload_id: str
    initiated: datetime | None
    #: How long ago it started, by the store's clock (the server's on S3, this machine's for a folder).
    age: timedelta | None


#: Content types ``mimetypes`` does not know (or knows otherwise), for the files a space holds.
_CONTENT_TYPES = {".md": "text/markdown", ".json": "application/json", ".jsonl": "application/jsonl",
                  ".toml": "application/toml", ".py": "text/x-python", ".txt": "text/plain"}


def content_type(key: str) -> str:
    """The Content-Type an object is stored with, guessed from its name as ``aws s3 cp`` guesses it
    (``mimetypes``), with the space's own formats first; ``application/octet-stream`` when unknown."""
    import mimetypes

    name = key.rsplit("/", 1)[-1].lower()
    suffix = name[name.rfind("."):] if "." in name else ""
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def key_problem(key: str) -> str | None:
    """Why ``key`` breaks our key rules (``"contains '//'"``...), or ``None`` if it is a valid key."""
    if not isinstance(key, str) or not key:
        return "is empty"
    try:
        size = len(key.encode())
    except UnicodeEncodeError:  # a local file name that is not UTF-8 (surrogate-escaped)
        return "is not valid UTF-8"
    if key.startswith("/"):
        return "starts with '/'"
    if key.endswith("/"):
        return "ends with '/'"
    if "//" in key:
        return "contains '//'"
    if _BAD_CHARS.search(key):
        return "contains a backslash or a control character"
    if any(seg in _BAD_SEGMENTS for seg in key.split("/")):
        return "contains a '.' or '..' segment"
    if size > MAX_KEY_BYTES:
        return f"is longer than {MAX_KEY_BYTES} bytes"
    return None


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid object key, else raise :class:`InvalidInput`.

    Refused: empty keys, a leading or trailing ``/``, ``//``, ``.`` or ``..``
    segments, backslashes, NUL and other control characters, keys over 1 KiB.
    """
    if not isinstance(key, str) or not key:
        raise InvalidInput("empty object key", hint="give a path such as message_board/README.md")
    problem = key_problem(key)
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


_ODD_LOCK = threading.Lock()


class Store:
    """Base class of every store: validation here, primitives in the backend.

    Odd keys: a key the store holds but our key rules refuse (``a//b``, ``a/../b``, a backslash,
    a control character, a file name that is not UTF-8; written by another tool, e.g.
    ``aws s3 cp dir//``) never makes a listing fail. :meth:`list` skips it and the store
    remembers it with the reason; :meth:`odd_keys` returns them, for ``collab doctor`` to report.

    Create-only writes are idempotent: ``put(key, data, create_only=True)`` whose answer was
    lost (the backend retried and got "already exists", or failed with a store error although
    the write landed) reads the key back, and the same bytes count as success.

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

    def get_start(self, key: str, size: int) -> bytes:
        """The first ``size`` bytes of ``key`` (all of it when shorter), in one request: a ranged GET
        where the backend has one. Raises NotFound."""
        return self._get_start(check_key(key), size)

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        """Store ``data`` at ``key``.

        With ``create_only`` the write succeeds only if the key does not exist;
        otherwise it raises AlreadyExists and the stored content is unchanged.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be bytes")
        if create_only:
            self._put_create(check_key(key), bytes(data))
        else:
            self._put(check_key(key), bytes(data), False)

    def _put_create(self, key: str, data: bytes) -> None:
        """A create-only put that recognises its own earlier write (same bytes) as a success.

        A create-only PUT whose response is lost and that the client retries gets "already
        exists" about its own object; one whose retries run out reports a store error although
        the object may be stored. Either way the key is read back: our bytes there mean the
        write is ours and succeeded; other bytes mean the key is someone else's (AlreadyExists);
        nothing there after a store error means the write did not land (the error stands).
        """
        try:
            self._put(key, data, True)
            return
        except AlreadyExists:
            if self._stored_bytes(key, attempts=3) == data:
                return
            raise
        except StoreError as failure:
            try:
                stored = self._stored_bytes(key, attempts=3)
            except StoreError:
                raise failure from None
            if stored == data:
                return
            if stored is not None:
                raise AlreadyExists(
                    f"{key!r} already exists in {self.url}",
                    hint="stored objects are immutable here; write under a new name",
                ) from None
            raise

    def _stored_bytes(self, key: str, *, attempts: int) -> bytes | None:
        """The bytes at ``key`` (None if missing), asked up to ``attempts`` times on store errors."""
        for attempt in range(attempts):
            try:
                return self._get(key)
            except NotFound:
                return None
            except StoreError:
                if attempt == attempts - 1:
                    raise
        return None  # pragma: no cover - attempts >= 1

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
        """Yield the objects under ``prefix`` in key order, those after ``start_after`` only.

        A listed key our key rules refuse is skipped, never fatal, and recorded: see :meth:`odd_keys`.
        """
        check_prefix(prefix)
        if start_after is not None:
            check_key(start_after)
        return self._screened(self._list(prefix, start_after))

    def _screened(self, infos: Iterator[ObjectInfo]) -> Iterator[ObjectInfo]:
        """The listed objects whose keys obey our key rules; the others are remembered as odd."""
        for info in infos:
            problem = key_problem(info.key)
            if problem is None:
                yield info
            else:
                self._note_odd(info.key, problem)

    def _note_odd(self, key: str, reason: str) -> None:
        with _ODD_LOCK:
            self.__dict__.setdefault("_odd_seen", {})[key] = reason

    def odd_keys(self, prefix: str | None = None) -> list[tuple[str, str]]:
        """Keys under ``prefix`` that the store holds but our key rules refuse, as ``(key, reason)``.

        With ``prefix=None``: those seen by the listings this store object has made so far (no
        request). With a prefix (``""``: the whole space): list it now, then return those under it.
        A reason reads after the key: ``"contains '//'"``, ``"contains a '.' or '..' segment"``...
        """
        if prefix is not None:
            for _ in self.list(prefix):
                pass
        with _ODD_LOCK:
            seen = dict(self.__dict__.get("_odd_seen", {}))
        return sorted((k, r) for k, r in seen.items() if prefix is None or k.startswith(prefix))

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

    # -- unfinished uploads ----------------------------------------------------------------
    def stale_uploads(self, prefix: str = "", *, older_than: timedelta = timedelta(0)) -> list[Upload]:
        """Incomplete multipart uploads under ``prefix`` that started at least ``older_than`` ago, in key order.

        A push that is killed outright (``kill -9``, a lost machine) cannot abort its uploads; their
        parts stay on the server, billed, until someone aborts them (:meth:`abort_upload`). Stores
        without multipart uploads have none (the default). Raises StoreError.
        """
        check_prefix(prefix)
        return sorted(self._stale_uploads(prefix, older_than), key=lambda u: (u.key, u.upload_id))

    def abort_upload(self, key: str, upload_id: str) -> bool:
        """Abort the incomplete upload ``upload_id`` of ``key`` (one of :meth:`stale_uploads`); its parts are
        deleted. Returns False if it was gone already (aborted or completed meanwhile). Raises StoreError."""
        return self._abort_upload(check_key(key), upload_id)

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

    def _get_start(self, key: str, size: int) -> bytes:
        return self._get(key)[:size]

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

    def _stale_uploads(self, prefix: str, older_than: timedelta) -> list[Upload]:
        return []

    def _abort_upload(self, key: str, upload_id: str) -> bool:
        return False
