"""Hugging Face bucket store (``hf://buckets/NAMESPACE/NAME[/prefix]``) through ``huggingface_hub``.

The Hub's native bucket API differs from S3 in two ways the rest of the
product must know about (see :attr:`HFBucketStore.atomic_create`):

* **no conditional write**: a create-only put checks that the key is free,
  writes, then reads the object back; a concurrent writer of the *same* key can
  still slip in between. collabspace therefore makes every immutable key unique
  by construction (timestamp + agent id + topic in messages, agent id in
  artifacts and results), so two agents never race for one key; the read-back
  turns the rare same-agent collision into an AlreadyExists instead of a silent loss.
* **no start-after listing**: a listing asks ``list_bucket_tree`` for the key
  prefix itself, as the raw string the server matches (``message_board/20261201``
  lists that day only, not the folder), and drops what precedes ``start_after``
  client-side. The tree comes in pages of about 1,000 entries, one API call each,
  so a poll of one hour of the board costs one call whatever the size of the board.

Downloads hand ``download_bucket_files`` the ``BucketFile`` objects of the most
recent listings (see :class:`_Listings`) instead of paths, which saves its
``paths-info`` call (one API call per 1,000 paths); unknown keys go by path.

For true create-only semantics on a Hugging Face bucket, use its S3-compatible
endpoint with an ``s3://`` address instead (see the README). The same goes for a
stored Content-Type: the native API takes none (``batch_bucket_files`` adds
``(source, path)`` pairs only, and the Hub serves a file by its name), while a write
to the same bucket through its S3 endpoint sends one (:func:`~.base.content_type`).

Retries: ``huggingface_hub`` retries the bucket calls itself (``http_backoff`` around
each page of ``list_bucket_tree``, around ``paths-info`` and the batch POST, and
``hf_xet``'s own retries of the CAS/CDN requests of uploads and downloads), so those
are made once here (:data:`LIBRARY_RETRIES`): retrying them again would multiply the
attempts (6 x 6 = 36 tries of one listing). The calls the library makes once (the
set-up's ``whoami``, ``create_bucket``, ``create_repo``, ...) are retried here on a
429 (after the server's ``Retry-After``) and on a 5xx (exponential back-off with
jitter), :data:`MAX_RETRIES` times.

Rate limits: the Hub allows about 1,000 API calls per 5 minutes per user.
:attr:`HFBucketStore.rate_limited` counts the rate-limit errors that reached this
store, whether an HTTP 429 of the API or one that ``hf_xet`` reports from the
Xet/CAS path (a message, not a response); :meth:`put_many` sends many files in one
``batch_bucket_files`` call.
"""

from __future__ import annotations

import contextlib
import random
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import AlreadyExists, CollabError, InvalidInput, MissingExtra, NotFound, StoreError
from .base import ObjectInfo, Store, check_key

MAX_RETRIES = 5
MAX_WAIT_SECONDS = 300.0
#: ``HfApi`` methods that retry on their own in ``huggingface_hub`` 2.4 (``utils/_http.http_backoff``: 429 and
#: 5xx, 5 retries, ``Retry-After`` honoured; ``hf_xet``'s CAS client for the file contents): made once here.
LIBRARY_RETRIES = frozenset({"list_bucket_tree", "get_bucket_paths_info", "batch_bucket_files",
                             "download_bucket_files"})
#: Statuses retried here (for the other methods): rate limits and the server's transient failures.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: How ``hf_xet`` (Rust, no HTTP response object) words a rate limit in its errors.
_XET_RATE_LIMIT = re.compile(r"too many requests|rate[ -]?limit|(?:status|http|error|code)\W{0,12}429\b",
                             re.IGNORECASE)

#: The file objects of at most this many recent listings are remembered for downloads ...
LISTINGS_KEPT = 16
#: ... holding at most this many files in all (a listing alone larger than this is not remembered) ...
LISTED_FILES_KEPT = 100_000
#: ... and used for at most this many seconds after their listing.
LISTING_MAX_AGE = 60.0


def parse_hf_url(url: str) -> tuple[str, str]:
    """``hf://buckets/ns/name/a/b`` -> (``ns/name``, ``a/b``)."""
    rest = url.removeprefix("hf://").strip("/")
    if not rest.startswith("buckets/"):
        raise InvalidInput(
            f"not a bucket address: {url!r}", hint="write it as hf://buckets/NAMESPACE/NAME[/prefix]"
        )
    parts = rest.removeprefix("buckets/").split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise InvalidInput(f"no namespace/name in {url!r}", hint="write it as hf://buckets/NAMESPACE/NAME[/prefix]")
    prefix = "/".join(parts[2:])
    if prefix:
        check_key(prefix)
    return f"{parts[0]}/{parts[1]}", prefix


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc: BaseException) -> float | None:
    """The wait a 429 asks for, in seconds (``Retry-After``), if it says."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", {}) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return min(float(value), MAX_WAIT_SECONDS)
    except (TypeError, ValueError):
        return None


class _Listings:
    """The ``BucketFile`` objects the most recent listings returned, for downloads; thread-safe.

    A path's object is the one the *newest* remembered listing whose raw prefix
    covers the path returned for exactly that path; if that listing did not
    return the path, or is older than :data:`LISTING_MAX_AGE`, the path is
    unknown and is downloaded by path. The store forgets a path after writing or
    deleting it (so it reads its own writes), and a listing that overlapped such
    a write is not remembered. Another writer's overwrite after a listing is read
    as that listing saw it (the object names the content by its xet hash).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._by_prefix: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._writes = 0

    def generation(self) -> int:
        """Taken before a listing; hand it back to :meth:`remember`."""
        with self._lock:
            return self._writes

    def remember(self, remote_prefix: str, files: dict[str, Any], generation: int) -> None:
        with self._lock:
            self._by_prefix.pop(remote_prefix, None)
            if generation != self._writes:
                return  # a write of ours overlapped the listing: it may hold the old object
            self._by_prefix[remote_prefix] = (self._clock(), files)
            total = sum(len(f) for _, f in self._by_prefix.values())
            while self._by_prefix and (len(self._by_prefix) > LISTINGS_KEPT or total > LISTED_FILES_KEPT):
                _, (_, dropped) = self._by_prefix.popitem(last=False)
                total -= len(dropped)

    def lookup(self, path: str) -> Any:
        """The listed object of ``path``, or None."""
        now = self._clock()
        with self._lock:
            for prefix, (when, files) in reversed(self._by_prefix.items()):
                if path.startswith(prefix):
                    found = files.get(path) if now - when <= LISTING_MAX_AGE else None
                    return found if found is not None and found.path == path else None
        return None

    def forget(self, paths: list[str]) -> None:
        """Drop ``paths`` (written or deleted by us) from every remembered listing."""
        with self._lock:
            self._writes += 1
            for _, files in self._by_prefix.values():
                for path in paths:
                    files.pop(path, None)


class HFBucketStore(Store):
    """A Hugging Face bucket, or a prefix inside one.

    Args:
        bucket_id: ``namespace/name``.
        prefix: a folder inside the bucket that holds the space (may be empty).
        api: an ``HfApi`` (tests pass a fake with the same signatures).
        sleep: how to wait before retrying (tests pass a recorder).
        jitter: a number in [0, 1) per back-off (tests pass a constant): a wait of ``w`` becomes
            ``w * (0.5 + jitter())``, so that clients failing together do not retry together.
    """

    atomic_create = False
    native_start_after = False  # listings take a raw prefix; readers narrow it (the board lists by hour)

    def __init__(self, bucket_id: str, prefix: str = "", *, api: Any = None, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        if api is None:
            hub = _import_hub()
            api = hub.HfApi()
        self.api = api
        self.bucket_id = bucket_id
        self.prefix = prefix.strip("/")
        self.url = f"hf://buckets/{bucket_id}" + (f"/{self.prefix}" if self.prefix else "")
        self.sleep = sleep
        self.jitter = jitter
        self.calls = 0  # HfApi method calls made, for reports and benchmarks
        self.rate_limited = 0  # rate-limit errors that reached this store (API 429s and Xet/CAS ones)
        self._lock = threading.Lock()
        self._listings = _Listings()

    # -- helpers -----------------------------------------------------------------------
    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _rel(self, path: str) -> str:
        return path[len(self.prefix) + 1 :] if self.prefix else path

    def _call(self, key: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``api.method`` and translate errors; retry a 429 or 5xx only where the library does not
        (:data:`LIBRARY_RETRIES`)."""
        attempts = 1 if method in LIBRARY_RETRIES else MAX_RETRIES + 1
        for attempt in range(attempts):
            with self._lock:
                self.calls += 1
            try:
                with _translate(self, key):
                    result = getattr(self.api, method)(*args, **kwargs)
                    # listings are lazy iterators: drain them here so errors surface inside the call
                    return list(result) if method in ("list_bucket_tree", "get_bucket_paths_info") else result
            except _Transient as failure:
                if failure.status == 429:
                    with self._lock:
                        self.rate_limited += 1
                if attempt == attempts - 1:
                    raise failure.give_up(self, key, method, retried=attempts > 1) from failure.__cause__
                wait = failure.wait if failure.wait is not None else \
                    min(2.0**attempt, MAX_WAIT_SECONDS) * (0.5 + self.jitter())
                self.sleep(wait)
        raise AssertionError("unreachable")

    # -- primitives -------------------------------------------------------------------------
    def _get(self, key: str) -> bytes:
        return b"".join(self._iter_get(key))

    def _write(self, keys: list[str], **batch: Any) -> None:
        """One ``batch_bucket_files`` call; the keys' listed objects are forgotten, even if it fails."""
        try:
            self._call(keys[0], "batch_bucket_files", self.bucket_id, **batch)
        finally:
            self._listings.forget([self._full(k) for k in keys])

    def _sources(self, keys: list[str]) -> list[Any]:
        """What to hand ``download_bucket_files`` per key: its listed ``BucketFile``, else its path."""
        return [self._listings.lookup(self._full(k)) or self._full(k) for k in keys]

    def _download(self, keys: list[str], dests: list[Path], *, raise_on_missing_files: bool) -> None:
        """One ``download_bucket_files`` call. Listed objects skip its paths-info call; if one of them
        has gone since its listing (the resolve HEAD of the first file fails), retry them by path."""
        sources = self._sources(keys)
        try:
            self._call(keys[0], "download_bucket_files", self.bucket_id,
                       [(source, str(d)) for source, d in zip(sources, dests)],
                       raise_on_missing_files=raise_on_missing_files)
        except NotFound:
            if all(isinstance(source, str) for source in sources):
                raise
            self._listings.forget([self._full(k) for k in keys])
            for d in dests:
                d.unlink(missing_ok=True)  # empty files are written before the first request
            self._call(keys[0], "download_bucket_files", self.bucket_id,
                       [(self._full(k), str(d)) for k, d in zip(keys, dests)],
                       raise_on_missing_files=raise_on_missing_files)

    def _put(self, key: str, data: bytes, create_only: bool) -> None:
        if create_only and self._exists(key):
            raise _already(self, key)
        self._write([key], add=[(data, self._full(key))])
        if create_only and self._get(key) != data:
            # someone wrote the same key between our check and our write; theirs stands
            raise _already(self, key)

    def _get_many(self, keys: list[str], workers: int) -> dict[str, bytes | None]:
        """One ``download_bucket_files`` call for all the keys."""
        with tempfile.TemporaryDirectory(prefix="collab-hf-") as tmp:
            dests = [Path(tmp) / str(i) for i in range(len(keys))]
            self._download(keys, dests, raise_on_missing_files=False)
            return {k: (d.read_bytes() if d.exists() else None) for k, d in zip(keys, dests)}

    def _put_file(self, key: str, path: Path, progress: Callable[[int], None] | None) -> None:
        self._put_files([(key, path)], progress, 1)

    def _put_files(self, pairs: list[tuple[str, Path]], progress: Callable[[int], None] | None, workers: int) -> None:
        """One ``batch_bucket_files`` call, uploading from the paths (a checkpoint is never read into memory)."""
        self._write([key for key, _ in pairs], add=[(str(path), self._full(key)) for key, path in pairs])
        if progress:
            for _, path in pairs:
                progress(path.stat().st_size)

    def _iter_get(self, key: str) -> Iterator[bytes]:
        with tempfile.TemporaryDirectory(prefix="collab-hf-") as tmp:
            dest = Path(tmp) / "object"
            self._download([key], [dest], raise_on_missing_files=True)
            if not dest.exists():
                raise NotFound(f"{key!r} not found in {self.url}", hint="list what exists with: collab ls")
            with dest.open("rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk

    def put_many(self, items: dict[str, bytes]) -> None:
        """Overwrite-put many objects in one ``batch_bucket_files`` call."""
        for key in items:
            check_key(key)
        if items:
            self._write(list(items), add=[(data, self._full(key)) for key, data in items.items()])

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        """One ``list_bucket_tree`` of the raw prefix (one API call per ~1,000 files under it).

        The server matches ``prefix`` as a raw string, not as a folder (the installed
        ``huggingface_hub`` says so where it filters the extra entries out:
        ``HfFileSystem._list_bucket_tree_with_folders``, ``cli/_skills.py``); the
        listing is recursive because ``recursive=False`` stops at the first level.
        Entries outside the prefix are dropped anyway, should a server return them.
        """
        remote = self._full(prefix) if prefix else (self.prefix + "/" if self.prefix else "")
        generation = self._listings.generation()
        entries = self._call(prefix or "/", "list_bucket_tree", self.bucket_id, remote or None, recursive=True)
        files: dict[str, Any] = {}
        infos = []
        for entry in entries:
            if getattr(entry, "type", "file") != "file" or not entry.path.startswith(remote):
                continue
            files[entry.path] = entry
            key = self._rel(entry.path)
            if start_after is None or key > start_after:
                infos.append(ObjectInfo(key=key, size=entry.size, last_modified=entry.uploaded_at or entry.mtime,
                                        etag=entry.xet_hash))
        self._listings.remember(remote, files, generation)
        infos.sort(key=lambda i: i.key)
        return iter(infos)

    def _head(self, key: str) -> ObjectInfo:
        found = self._call(key, "get_bucket_paths_info", self.bucket_id, [self._full(key)])
        for entry in found:
            if entry.path == self._full(key):
                return ObjectInfo(key=key, size=entry.size, last_modified=entry.uploaded_at or entry.mtime,
                                  etag=entry.xet_hash)
        raise NotFound(f"{key!r} not found in {self.url}", hint="list what exists with: collab ls")

    def _exists(self, key: str) -> bool:
        try:
            self._head(key)
        except NotFound:
            return False
        return True

    def _delete(self, key: str) -> None:
        self._head(key)
        self._write([key], delete=[self._full(key)])


class _Transient(Exception):
    """A failure worth retrying: a rate limit (429, also from hf_xet) or a server error (5xx)."""

    def __init__(self, status: int, wait: float | None, first: str) -> None:
        self.status, self.wait, self.first = status, wait, first

    def give_up(self, store: HFBucketStore, key: str, method: str, *, retried: bool) -> StoreError:
        """The error once the retries (ours, or the library's) are spent."""
        tried = "retried here" if retried else "retried by huggingface_hub"
        if self.status == 429:
            return StoreError(
                f"the Hub kept rate-limiting {method} on {store.url} ({tried})",
                hint="the Hub allows about 1,000 API calls per 5 minutes per user; wait and retry")
        return StoreError(f"Hub error on {key!r} in {store.url}: {self.first} ({tried})",
                          hint="the Hub is failing on its side (HTTP 5xx); check status.huggingface.co, "
                               "then retry")


def _already(store: Store, key: str) -> AlreadyExists:
    return AlreadyExists(
        f"{key!r} already exists in {store.url}", hint="stored objects are immutable here; write under a new name"
    )


def _import_hub() -> Any:
    try:
        import huggingface_hub
    except ImportError as exc:
        raise MissingExtra(
            "Hugging Face bucket spaces need huggingface_hub, which is not installed",
            hint="pip install 'collabspace[hf]'",
        ) from exc
    return huggingface_hub


@contextlib.contextmanager
def _translate(store: HFBucketStore, key: str) -> Iterator[None]:
    try:
        yield
    except CollabError:
        raise
    except Exception as exc:  # noqa: BLE001 -- every Hub exception is translated here
        status = _status(exc)
        name = type(exc).__name__
        first = (str(exc).strip().splitlines() or [name])[0]
        if status == 429:
            raise _Transient(429, _retry_after(exc), first) from exc
        if status is None and not isinstance(exc, FileNotFoundError) and _XET_RATE_LIMIT.search(str(exc)[:2000]):
            raise _Transient(429, None, first) from exc  # hf_xet's words for a CAS/CDN rate limit
        if status in RETRY_STATUSES:
            raise _Transient(status, _retry_after(exc), first) from exc
        if name == "BucketNotFoundError":
            raise NotFound(
                f"bucket {store.bucket_id} not found (or not visible with your token)",
                hint=f"create it with: collab init {store.url} --task gsm8k, or log in: hf auth login",
            ) from exc
        if status == 404 or isinstance(exc, FileNotFoundError) or "EntryNotFound" in name:
            raise NotFound(f"{key!r} not found in {store.url}", hint="list what exists with: collab ls") from exc
        if status in (401, 403):
            raise StoreError(
                f"access denied to {store.url} ({status})",
                hint="log in with `hf auth login` or set HF_TOKEN to a token with write access",
            ) from exc
        raise StoreError(f"Hub error on {key!r} in {store.url}: {first}",
                         hint="check your connection and HF_TOKEN, then retry") from exc


class HubAdmin:
    """The Hub calls that set a space up: identity, bucket, static Space, Collection.

    Uses the same retries (429 and 5xx, for these calls the library makes once) and error translation as
    :class:`HFBucketStore`.
    """

    def __init__(self, api: Any = None, *, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        self.api = api if api is not None else _import_hub().HfApi()
        self._caller = HFBucketStore("hub/admin", api=self.api, sleep=sleep, jitter=jitter)

    @property
    def calls(self) -> int:
        return self._caller.calls

    def _call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._caller._call(what, method, *args, **kwargs)

    def whoami(self) -> tuple[str, list[str]]:
        """(user name, org names) of the token in use."""
        info = self._call("whoami", "whoami")
        return info["name"], [o["name"] for o in info.get("orgs", []) if o.get("name")]

    def bucket_exists(self, bucket_id: str) -> bool:
        try:
            self._call(bucket_id, "bucket_info", bucket_id)
        except NotFound:
            return False
        return True

    def create_bucket(self, bucket_id: str, *, private: bool, exist_ok: bool) -> None:
        self._call(bucket_id, "create_bucket", bucket_id, private=private, exist_ok=exist_ok)

    def create_static_space(self, space_id: str, files: dict[str, bytes], *, private: bool) -> str:
        """Create (or update) a static Space holding ``files``; returns its URL."""
        self._call(space_id, "create_repo", space_id, repo_type="space", space_sdk="static", private=private,
                   exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="collab-space-") as tmp:
            for name, data in files.items():
                path = Path(tmp) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            self._call(space_id, "upload_folder", repo_id=space_id, folder_path=tmp, repo_type="space",
                       commit_message="Leaderboard page generated by collabspace")
        return f"{getattr(self.api, 'endpoint', 'https://huggingface.co')}/spaces/{space_id}"

    def create_collection(self, title: str, namespace: str, *, description: str, items: list[tuple[str, str]],
                          private: bool) -> str:
        """Create (or reuse) a Collection and add ``items`` ((id, type) pairs); returns its slug."""
        collection = self._call(title, "create_collection", title, namespace=namespace, description=description,
                                private=private, exists_ok=True)
        for item_id, item_type in items:
            self._call(item_id, "add_collection_item", collection.slug, item_id, item_type, exists_ok=True)
        return collection.slug
