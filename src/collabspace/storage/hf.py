"""Hugging Face bucket store (``hf://buckets/NAMESPACE/NAME[/prefix]``) through ``huggingface_hub``.

The Hub's native bucket API differs from S3 in two ways the rest of the
product must know about (see :attr:`HFBucketStore.atomic_create`):

* **no conditional write**: a create-only put checks that the key is free,
  writes, then reads the object back; a concurrent writer of the *same* key can
  still slip in between. collabspace therefore makes every immutable key unique
  by construction (timestamp + agent id + topic in messages, agent id in
  artifacts and results), so two agents never race for one key; the read-back
  turns the rare same-agent collision into an AlreadyExists instead of a silent loss.
* **no start-after listing**: a listing fetches the tree under the enclosing
  folder (one call, paginated by the client) and filters client-side.

For true create-only semantics on a Hugging Face bucket, use its S3-compatible
endpoint with an ``s3://`` address instead (see the README).

Rate limits: the Hub allows about 1,000 API calls per 5 minutes per user. A 429
is retried after the wait the server asks for (``Retry-After``), and
:meth:`put_many` sends many files in one ``batch_bucket_files`` call.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import AlreadyExists, CollabError, InvalidInput, MissingExtra, NotFound, StoreError
from .base import ObjectInfo, Store, check_key

MAX_RETRIES = 5
MAX_WAIT_SECONDS = 300.0


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


class HFBucketStore(Store):
    """A Hugging Face bucket, or a prefix inside one.

    Args:
        bucket_id: ``namespace/name``.
        prefix: a folder inside the bucket that holds the space (may be empty).
        api: an ``HfApi`` (tests pass a fake with the same signatures).
        sleep: how to wait before retrying a 429 (tests pass a recorder).
    """

    atomic_create = False

    def __init__(self, bucket_id: str, prefix: str = "", *, api: Any = None, sleep: Callable[[float], None] = time.sleep) -> None:
        if api is None:
            hub = _import_hub()
            api = hub.HfApi()
        self.api = api
        self.bucket_id = bucket_id
        self.prefix = prefix.strip("/")
        self.url = f"hf://buckets/{bucket_id}" + (f"/{self.prefix}" if self.prefix else "")
        self.sleep = sleep
        self.calls = 0  # API calls made, for reports and benchmarks
        self._lock = threading.Lock()

    # -- helpers -----------------------------------------------------------------------
    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _rel(self, path: str) -> str:
        return path[len(self.prefix) + 1 :] if self.prefix else path

    def _call(self, key: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``api.method``, retrying 429s, and translate errors."""
        for attempt in range(MAX_RETRIES + 1):
            with self._lock:
                self.calls += 1
            try:
                with _translate(self, key):
                    result = getattr(self.api, method)(*args, **kwargs)
                    # listings are lazy iterators: drain them here so errors surface inside the retry
                    return list(result) if method in ("list_bucket_tree", "get_bucket_paths_info") else result
            except _RateLimited as limited:
                if attempt == MAX_RETRIES:
                    raise StoreError(
                        f"the Hub kept rate-limiting {method} on {self.url}",
                        hint="the Hub allows about 1,000 API calls per 5 minutes per user; wait and retry",
                    ) from limited.__cause__
                self.sleep(limited.wait if limited.wait is not None else min(2.0**attempt, MAX_WAIT_SECONDS))
        raise AssertionError("unreachable")

    # -- primitives -------------------------------------------------------------------------
    def _get(self, key: str) -> bytes:
        return b"".join(self._iter_get(key))

    def _put(self, key: str, data: bytes, create_only: bool) -> None:
        if create_only and self._exists(key):
            raise _already(self, key)
        self._call(key, "batch_bucket_files", self.bucket_id, add=[(data, self._full(key))])
        if create_only and self._get(key) != data:
            # someone wrote the same key between our check and our write; theirs stands
            raise _already(self, key)

    def _get_many(self, keys: list[str], workers: int) -> dict[str, bytes | None]:
        """One ``download_bucket_files`` call for all the keys."""
        with tempfile.TemporaryDirectory(prefix="collab-hf-") as tmp:
            dests = [Path(tmp) / str(i) for i in range(len(keys))]
            self._call(keys[0], "download_bucket_files", self.bucket_id,
                       [(self._full(k), str(d)) for k, d in zip(keys, dests)], raise_on_missing_files=False)
            return {k: (d.read_bytes() if d.exists() else None) for k, d in zip(keys, dests)}

    def _put_file(self, key: str, path: Path, progress: Callable[[int], None] | None) -> None:
        self._put_files([(key, path)], progress, 1)

    def _put_files(self, pairs: list[tuple[str, Path]], progress: Callable[[int], None] | None, workers: int) -> None:
        """One ``batch_bucket_files`` call, uploading from the paths (a checkpoint is never read into memory)."""
        self._call(pairs[0][0], "batch_bucket_files", self.bucket_id,
                   add=[(str(path), self._full(key)) for key, path in pairs])
        if progress:
            for _, path in pairs:
                progress(path.stat().st_size)

    def _iter_get(self, key: str) -> Iterator[bytes]:
        with tempfile.TemporaryDirectory(prefix="collab-hf-") as tmp:
            dest = Path(tmp) / "object"
            self._call(key, "download_bucket_files", self.bucket_id, [(self._full(key), str(dest))],
                       raise_on_missing_files=True)
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
            self._call(next(iter(items)), "batch_bucket_files", self.bucket_id,
                       add=[(data, self._full(key)) for key, data in items.items()])

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        remote = self._full(folder) if folder else (self.prefix or None)
        entries = self._call(prefix or "/", "list_bucket_tree", self.bucket_id, remote, recursive=True)
        infos = []
        for entry in entries:
            if getattr(entry, "type", "file") != "file":
                continue
            if self.prefix and not entry.path.startswith(self.prefix + "/"):
                continue
            key = self._rel(entry.path)
            if key.startswith(prefix) and (start_after is None or key > start_after):
                infos.append(ObjectInfo(key=key, size=entry.size, last_modified=entry.mtime or entry.uploaded_at,
                                        etag=entry.xet_hash))
        infos.sort(key=lambda i: i.key)
        return iter(infos)

    def _head(self, key: str) -> ObjectInfo:
        found = self._call(key, "get_bucket_paths_info", self.bucket_id, [self._full(key)])
        for entry in found:
            if entry.path == self._full(key):
                return ObjectInfo(key=key, size=entry.size, last_modified=entry.mtime or entry.uploaded_at,
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
        self._call(key, "batch_bucket_files", self.bucket_id, delete=[self._full(key)])


class _RateLimited(Exception):
    def __init__(self, wait: float | None) -> None:
        self.wait = wait


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
            raise _RateLimited(_retry_after(exc)) from exc
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

    Uses the same retry-on-429 and error translation as :class:`HFBucketStore`.
    """

    def __init__(self, api: Any = None, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.api = api if api is not None else _import_hub().HfApi()
        self._caller = HFBucketStore("hub/admin", api=self.api, sleep=sleep)

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
