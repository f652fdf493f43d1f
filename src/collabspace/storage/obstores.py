"""Memory, local-directory and S3-compatible stores, all through ``obstore``.

obstore gives atomic create-only writes on all three (hard-link staging on
disk, ``If-None-Match: *`` on S3), which the protocol relies on. Its listing
prefixes work on whole path segments, so string prefixes are emulated here by
listing the enclosing folder and filtering.
"""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import timedelta
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import obstore
import obstore.exceptions as oex
import obstore.store as ost

from ..errors import AlreadyExists, CollabError, InvalidInput, NotFound, StoreError
from .base import ObjectInfo, Store


@contextlib.contextmanager
def _translate(store: Store, key: str) -> Iterator[None]:
    """Turn obstore's exceptions into collabspace errors; nothing else escapes."""
    try:
        yield
    except CollabError:
        raise
    except (oex.NotFoundError, FileNotFoundError) as exc:
        raise NotFound(f"{key!r} not found in {store.url}", hint="list what exists with: collab ls") from exc
    except (oex.AlreadyExistsError, oex.PreconditionError, FileExistsError) as exc:
        raise AlreadyExists(
            f"{key!r} already exists in {store.url}",
            hint="stored objects are immutable here; write under a new name",
        ) from exc
    except (oex.PermissionDeniedError, oex.UnauthenticatedError, PermissionError) as exc:
        raise StoreError(
            f"access denied to {key!r} in {store.url}",
            hint="check your credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, HF_TOKEN) and permissions",
        ) from exc
    except oex.InvalidPathError as exc:
        raise InvalidInput(f"invalid object key {key!r}", hint="keys are relative paths like a/b.txt") from exc
    except (oex.BaseError, OSError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(
            f"store error on {key!r} in {store.url}: {first}",
            hint="check that the store is reachable and configured (collab ls to test)",
        ) from exc


def _info(meta: dict[str, Any]) -> ObjectInfo:
    return ObjectInfo(
        key=meta["path"],
        size=int(meta["size"]),
        last_modified=meta.get("last_modified"),
        etag=meta.get("e_tag"),
    )


class ObjectStore(Store):
    """A :class:`Store` over any obstore backend."""

    #: True when the backend's listing comes back in key order already.
    sorted_listing = True

    def __init__(self, inner: Any, url: str) -> None:
        self._inner = inner
        self.url = url

    def _get(self, key: str) -> bytes:
        with _translate(self, key):
            return bytes(obstore.get(self._inner, key).bytes())

    def _put(self, key: str, data: bytes, create_only: bool) -> None:
        with _translate(self, key):
            obstore.put(self._inner, key, data, mode="create" if create_only else "overwrite")

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        offset = start_after if start_after and start_after >= prefix else None
        with _translate(self, prefix or "/"):
            stream = obstore.list(self._inner, folder or None, offset=offset, chunk_size=1000)
            infos = [
                _info(m)
                for batch in stream
                for m in batch
                if m["path"].startswith(prefix) and (start_after is None or m["path"] > start_after)
            ]
        if not self.sorted_listing:
            infos.sort(key=lambda i: i.key)
        return iter(infos)

    def _head(self, key: str) -> ObjectInfo:
        with _translate(self, key):
            return _info(obstore.head(self._inner, key))

    def _delete(self, key: str) -> None:
        self._head(key)  # obstore deletes missing keys silently; the protocol says NotFound
        with _translate(self, key):
            obstore.delete(self._inner, key)

    def _put_file(self, key: str, path: Path, progress: Callable[[int], None] | None) -> None:
        with _translate(self, key):
            if path.stat().st_size <= self.part_size:
                data = path.read_bytes()
                obstore.put(self._inner, key, data, use_multipart=False)
                if progress:
                    progress(len(data))
                return
            parts = _read_parts(path, self.part_size, progress)
            obstore.put(self._inner, key, parts, use_multipart=True, chunk_size=self.part_size, max_concurrency=4)

    def _iter_get(self, key: str) -> Iterator[bytes]:
        with _translate(self, key):
            yield from obstore.get(self._inner, key).stream(min_chunk_size=1 << 20)


def _read_parts(path: Path, size: int, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(size):
            if progress:
                progress(len(chunk))
            yield chunk


_MEMORY: dict[str, Any] = {}
_MEMORY_LOCK = threading.Lock()


def memory_store(name: str = "") -> ObjectStore:
    """A process-wide named in-memory store (``memory://name``); same name, same data."""
    with _MEMORY_LOCK:
        inner = _MEMORY.setdefault(name, ost.MemoryStore())
    return ObjectStore(inner, f"memory://{name}")


class LocalStore(ObjectStore):
    """A folder on local disk; the embedded default."""

    sorted_listing = False  # directory walks come back in inode order

    def __init__(self, root: str | os.PathLike[str], *, create: bool = False) -> None:
        path = Path(root).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise InvalidInput(f"{path} is a file, not a folder", hint="give a folder path for the space")
        if not path.exists() and not create:
            raise NotFound(f"no space at {path}", hint=f"create one with: collab init {root} --task gsm8k")
        path.mkdir(parents=True, exist_ok=True)
        super().__init__(ost.LocalStore(str(path)), str(path))
        self.root = path

    def _get_many(self, keys: list[str], workers: int) -> dict[str, bytes | None]:
        """One after the other: a local read has no latency to hide, and a thread pool costs more CPU
        than it saves (measured: 10,000 files, 0.9 s of the first read)."""
        out: dict[str, bytes | None] = {}
        for key in keys:
            try:
                out[key] = self._get(key)
            except NotFound:
                out[key] = None
        return out


def s3_store(bucket: str, prefix: str = "", *, url: str) -> ObjectStore:
    """An S3-compatible bucket configured by the standard AWS variables.

    ``AWS_ENDPOINT_URL`` (R2, MinIO, Hugging Face's S3 endpoint, a local server),
    ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``. Plain-HTTP
    endpoints are allowed when the endpoint says ``http://``.
    ``COLLAB_S3_PATH_STYLE=0`` switches to virtual-hosted requests.
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config: dict[str, Any] = {}
    if endpoint:
        config["endpoint"] = endpoint
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    config["region"] = region or "us-east-1"
    config["virtual_hosted_style_request"] = os.environ.get("COLLAB_S3_PATH_STYLE", "1") == "0"
    client_options: dict[str, Any] = {"connect_timeout": "5s", "timeout": "300s"}
    if endpoint and endpoint.startswith("http://"):
        client_options["allow_http"] = True
    store = ObjectStore(None, url)
    with _translate(store, prefix or "/"):
        store._inner = ost.S3Store(
            bucket,
            prefix=prefix or None,
            config=config,
            client_options=client_options,
            retry_config={
                "max_retries": int(os.environ.get("COLLAB_S3_MAX_RETRIES", "4")),
                "retry_timeout": timedelta(seconds=60),
            },
        )
    return store
