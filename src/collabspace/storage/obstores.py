"""Memory, local-directory and S3-compatible stores, all through ``obstore``.

obstore gives atomic create-only writes on all three (hard-link staging on
disk, ``If-None-Match: *`` on S3), which the protocol relies on. Its listing
prefixes work on whole path segments, so string prefixes are emulated here by
listing the enclosing folder and filtering.

obstore refuses a whole listing when one listed key is not a path it can parse
(``a//b``, a ``.`` or ``..`` segment, a control character, a file name that is not
UTF-8). Such a listing is then made again without obstore (a signed
ListObjectsV2 on S3, a directory walk on disk), and the odd keys reach
:meth:`Store.list`, which skips and records them. A memory store cannot hold one.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import obstore
import obstore.exceptions as oex
import obstore.store as ost

from ..errors import AlreadyExists, CollabError, InvalidInput, NotFound, StoreError
from . import s3raw
from .base import ObjectInfo, Store, Upload, content_type


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

    #: How many more times an idempotent request is made when it fails on the way (a response
    #: body cut off, a connection reset while reading): obstore retries failed requests, but not
    #: a response that breaks off after it has begun. 0 on memory and disk.
    transport_retries = 0

    def __init__(self, inner: Any, url: str) -> None:
        self._inner = inner
        self.url = url

    def _again(self, call: Callable[[], Any]) -> Any:
        """``call()``, made again (up to :attr:`transport_retries` times) on a transport failure."""
        for attempt in range(self.transport_retries + 1):
            try:
                return call()
            except (FileNotFoundError, FileExistsError, PermissionError):
                raise
            except (oex.GenericError, OSError, RuntimeError):
                if attempt >= self.transport_retries:
                    raise
                time.sleep(min(2.0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _get(self, key: str) -> bytes:
        with _translate(self, key):
            return self._again(lambda: bytes(obstore.get(self._inner, key).bytes()))

    #: Whether objects are written with a Content-Type (:func:`~.base.content_type`), as ``aws s3 cp`` does, so
    #: that a browser or ``curl`` reading the bucket gets ``text/markdown``, ``application/json``...
    #: A folder has no such attribute (obstore's local store refuses one).
    sets_content_type = True

    def _attributes(self, key: str) -> dict[str, str] | None:
        return {"Content-Type": content_type(key)} if self.sets_content_type else None

    def _put(self, key: str, data: bytes, create_only: bool) -> None:
        attributes = self._attributes(key)
        with _translate(self, key):
            if create_only:  # not made again here: Store.put reads back what a failed create left
                obstore.put(self._inner, key, data, mode="create", attributes=attributes)
            else:
                self._again(lambda: obstore.put(self._inner, key, data, mode="overwrite", attributes=attributes))

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        offset = start_after if start_after and start_after >= prefix else None
        with _translate(self, prefix or "/"):
            try:
                metas = self._again(lambda: [
                    m for batch in obstore.list(self._inner, folder or None, offset=offset, chunk_size=1000)
                    for m in batch])
            except oex.InvalidPathError:
                # One listed key obstore cannot parse fails the whole listing: list without obstore.
                raw = self._raw_list(prefix, start_after)
                if raw is None:
                    raise
                metas = raw
            infos = [
                _info(m)
                for m in metas
                if m["path"].startswith(prefix) and (start_after is None or m["path"] > start_after)
            ]
        if not self.sorted_listing:
            infos.sort(key=lambda i: i.key)
        return iter(infos)

    def _raw_list(self, prefix: str, start_after: str | None) -> list[dict[str, Any]] | None:
        """The objects under ``prefix`` listed without obstore, odd keys included (None: not possible here)."""
        return None

    def _head(self, key: str) -> ObjectInfo:
        with _translate(self, key):
            return _info(self._again(lambda: obstore.head(self._inner, key)))

    def _delete(self, key: str) -> None:
        self._head(key)  # obstore deletes missing keys silently; the protocol says NotFound
        with _translate(self, key):
            self._again(lambda: obstore.delete(self._inner, key))

    def _put_file(self, key: str, path: Path, progress: Callable[[int], None] | None) -> None:
        with _translate(self, key):
            if path.stat().st_size <= self.part_size:
                data = path.read_bytes()
                obstore.put(self._inner, key, data, use_multipart=False, attributes=self._attributes(key))
                if progress:
                    progress(len(data))
                return
            parts = _read_parts(path, self.part_size, progress)
            obstore.put(self._inner, key, parts, use_multipart=True, chunk_size=self.part_size, max_concurrency=4,
                        attributes=self._attributes(key))

    def _iter_get(self, key: str) -> Iterator[bytes]:
        with _translate(self, key):
            yield from obstore.get(self._inner, key).stream(min_chunk_size=1 << 20)

    def _get_start(self, key: str, size: int) -> bytes:
        with _translate(self, key):
            try:
                return bytes(obstore.get_range(self._inner, key, start=0, length=size))
            except Exception as exc:  # noqa: BLE001 -- an empty object has no range to ask for
                if "range" not in str(exc).lower():
                    raise
        return self._get(key)[:size]


def _read_parts(path: Path, size: int, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(size):
            if progress:
                progress(len(chunk))
            yield chunk


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Keys whose local path is the key itself (obstore percent-encodes other characters in file names).
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]+")

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
    sets_content_type = False  # a file has no Content-Type attribute

    def __init__(self, root: str | os.PathLike[str], *, create: bool = False) -> None:
        path = Path(root).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise InvalidInput(f"{path} is a file, not a folder", hint="give a folder path for the space")
        if not path.exists() and not create:
            raise NotFound(f"no space at {path}", hint=f"create one with: collab init {root} --task gsm8k")
        path.mkdir(parents=True, exist_ok=True)
        super().__init__(ost.LocalStore(str(path)), str(path))
        self.root = path

    def _raw_list(self, prefix: str, start_after: str | None) -> list[dict[str, Any]]:
        """A directory walk with the raw file names (obstore's own staging files left out)."""
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        top = self.root / folder if folder else self.root
        out: list[dict[str, Any]] = []
        seen: set[tuple[int, int]] = set()
        for dirpath, dirs, files in os.walk(top, followlinks=True):
            try:
                st = os.stat(dirpath)
            except OSError:
                dirs[:] = []
                continue
            if (st.st_dev, st.st_ino) in seen:  # a symlink loop: walked already
                dirs[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
            rel_dir = os.path.relpath(dirpath, self.root)
            for name in files:
                base, sep, suffix = name.partition("#")
                if sep and suffix and suffix.isdigit():
                    continue  # an upload obstore is staging
                key = name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}"
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                out.append({
                    "path": key, "size": st.st_size,
                    "last_modified": _EPOCH + timedelta(microseconds=st.st_mtime_ns // 1000),
                    # obstore's etag for a local file, so caches keyed by it stay valid
                    "e_tag": f'"{st.st_ino:x}-{st.st_mtime_ns // 1000:x}-{st.st_size:x}"',
                })
        return out

    def _stale_uploads(self, prefix: str, older_than: timedelta) -> list[Upload]:
        """The staging files obstore leaves when a write to a folder dies before its rename (``{file}#{n}``: a
        killed multipart upload, or a killed create-only put), aged by their modification time."""
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        top = self.root / folder if folder else self.root
        now = time.time()
        out: list[Upload] = []
        for dirpath, _dirs, files in os.walk(top):
            rel_dir = os.path.relpath(dirpath, self.root)
            for name in files:
                base, sep, suffix = name.rpartition("#")
                if not sep or not base or not suffix.isdigit():
                    continue
                key = base if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{base}"
                if not key.startswith(prefix):
                    continue
                try:
                    mtime = os.stat(os.path.join(dirpath, name)).st_mtime
                except OSError:
                    continue  # finished meanwhile
                age = timedelta(seconds=max(0.0, now - mtime))
                if age >= older_than:
                    out.append(Upload(key, suffix, datetime.fromtimestamp(mtime, timezone.utc), age))
        return out

    def _abort_upload(self, key: str, upload_id: str) -> bool:
        """Remove the staging file ``{key}#{upload_id}``."""
        if not upload_id.isdigit() or not upload_id.isascii():
            raise InvalidInput(f"invalid upload id {upload_id!r} for a folder store",
                               hint="take the ids from the store's stale_uploads()")
        try:
            (self.root / f"{key}#{upload_id}").unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot remove the unfinished upload {key}#{upload_id} in {self.url}: "
                             f"{exc.strerror or exc}", hint="check the folder's permissions") from None
        return True

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        """obstore's listing, or the same made here (a directory walk costs half as much CPU) when every name
        in the folder is a plain key: see :meth:`_plain_walk`."""
        walked = self._plain_walk(prefix)
        if walked is None:
            return super()._list(prefix, start_after)
        infos = [i for i in walked if i.key.startswith(prefix) and (start_after is None or i.key > start_after)]
        infos.sort(key=lambda i: i.key)
        return iter(infos)

    def _plain_walk(self, prefix: str) -> list[ObjectInfo] | None:
        """The files under ``prefix``'s folder as obstore lists them (same size, time and ETag; its staging
        files left out), or ``None`` when obstore must list them: a name that is not a plain key (obstore
        decodes such names), a symbolic link, anything but files and folders, or any error."""
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        root = str(self.root)
        out: list[ObjectInfo] = []
        todo = [folder]
        try:
            while todo:
                rel = todo.pop()
                with os.scandir(os.path.join(root, rel) if rel else root) as entries:
                    for entry in entries:
                        name = entry.name
                        if not _PLAIN_NAME.fullmatch(name):
                            base, sep, suffix = name.partition("#")
                            if sep and suffix.isascii() and suffix.isdigit():
                                continue  # an upload obstore is staging
                            return None
                        if entry.is_symlink():
                            return None
                        key = f"{rel}/{name}" if rel else name
                        if entry.is_dir():
                            todo.append(key)
                        elif entry.is_file():
                            st = entry.stat()
                            micros = st.st_mtime_ns // 1000
                            out.append(ObjectInfo(key, st.st_size, _EPOCH + timedelta(microseconds=micros),
                                                  f'"{st.st_ino:x}-{micros:x}-{st.st_size:x}"'))
                        else:
                            return None
        except OSError:
            return None
        return out

    def _get_many(self, keys: list[str], workers: int) -> dict[str, bytes | None]:
        """One after the other: a local read has no latency to hide, and a thread pool costs more CPU
        than it saves (measured: 10,000 files, 0.9 s of the first read). A key of plain characters is the
        file's own path, so it is read directly; any other goes through obstore, which encodes it."""
        out: dict[str, bytes | None] = {}
        root = str(self.root) + os.sep
        for key in keys:
            try:
                if _PLAIN_KEY.match(key):
                    try:
                        with open(root + key, "rb") as f:
                            out[key] = f.read()
                    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                        out[key] = None
                else:
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
    try:
        max_retries = max(0, int(os.environ.get("COLLAB_S3_MAX_RETRIES", "4")))
    except ValueError:
        raise InvalidInput(f"COLLAB_S3_MAX_RETRIES must be a whole number, got {os.environ['COLLAB_S3_MAX_RETRIES']!r}",
                           hint="e.g. COLLAB_S3_MAX_RETRIES=4") from None
    if endpoint and endpoint.startswith("http://"):
        client_options["allow_http"] = True
    store = S3ObjectStore(None, url)
    store.transport_retries = max_retries
    store.s3 = s3raw.S3Target(bucket, prefix.strip("/"), endpoint, config["region"],
                              config["virtual_hosted_style_request"])
    with _translate(store, prefix or "/"):
        store._inner = ost.S3Store(
            bucket,
            prefix=prefix or None,
            config=config,
            client_options=client_options,
            retry_config={
                "max_retries": max_retries,
                "retry_timeout": timedelta(seconds=60),
            },
        )
    return store


class S3ObjectStore(ObjectStore):
    """An S3 bucket through obstore, plus the requests obstore lacks (:mod:`.s3raw`): a listing for keys obstore
    refuses to parse, and the listing and abort of incomplete multipart uploads."""

    s3: s3raw.S3Target
    #: Keys per ListObjectsV2 / ListMultipartUploads page (S3's maximum).
    list_page = 1000

    def _raw_list(self, prefix: str, start_after: str | None) -> list[dict[str, Any]]:
        """ListObjectsV2 pages (``encoding-type=url``, so any key survives the XML), keys as stored."""
        root = self.s3.root
        query = {"list-type": "2", "encoding-type": "url", "prefix": root + prefix, "max-keys": str(self.list_page)}
        if start_after is not None:
            query["start-after"] = root + start_after
        what = f"listing {prefix!r}"
        out: list[dict[str, Any]] = []
        while True:
            page = self._bucket_get(query, what)
            for item in page.iter(f"{_S3_NS}Contents"):
                full = urllib.parse.unquote_plus(item.findtext(f"{_S3_NS}Key") or "")
                if not full.startswith(root):
                    continue
                modified = item.findtext(f"{_S3_NS}LastModified")
                out.append({
                    "path": full[len(root):], "size": int(item.findtext(f"{_S3_NS}Size") or 0),
                    "last_modified": _xml_time(modified),
                    "e_tag": item.findtext(f"{_S3_NS}ETag"),
                })
            token = page.findtext(f"{_S3_NS}NextContinuationToken")
            if page.findtext(f"{_S3_NS}IsTruncated") != "true" or not token:
                return out
            query["continuation-token"] = token

    def _bucket_get(self, query: dict[str, str], what: str) -> ET.Element:
        response = s3raw.request(self.s3, "GET", self.s3.path, query, what=what)
        if response.status == 404:
            raise StoreError(f"store error {what} in {self.url}: {s3raw.error_code(response) or '404 Not Found'}",
                             hint="check the bucket name and AWS_ENDPOINT_URL (collab ls to test)")
        return s3raw.parse(response.body, what, self.s3)

    def _stale_uploads(self, prefix: str, older_than: timedelta) -> list[Upload]:
        """ListMultipartUploads pages under the store's prefix; ages by the server's clock (its Date header)."""
        root = self.s3.root
        query = {"uploads": "", "encoding-type": "url", "prefix": root + prefix, "max-uploads": str(self.list_page)}
        what = f"listing the incomplete uploads under {prefix!r}"
        out: list[Upload] = []
        while True:
            response = s3raw.request(self.s3, "GET", self.s3.path, query, what=what)
            if response.status == 404:
                raise StoreError(f"store error {what} in {self.url}: {s3raw.error_code(response) or '404 Not Found'}",
                                 hint="check the bucket name and AWS_ENDPOINT_URL (collab ls to test)")
            page = s3raw.parse(response.body, what, self.s3)
            encoded = page.findtext(f"{_S3_NS}EncodingType") == "url"  # a server may ignore encoding-type
            now = response.date or datetime.now(timezone.utc)
            for item in page.iter(f"{_S3_NS}Upload"):
                full = item.findtext(f"{_S3_NS}Key") or ""
                full = urllib.parse.unquote_plus(full) if encoded else full
                upload_id = item.findtext(f"{_S3_NS}UploadId") or ""
                if not full.startswith(root) or not upload_id:
                    continue
                started = _xml_time(item.findtext(f"{_S3_NS}Initiated"))
                age = now - started if started else None
                if age is None or age >= older_than:
                    out.append(Upload(full[len(root):], upload_id, started, age))
            key_marker = page.findtext(f"{_S3_NS}NextKeyMarker")
            id_marker = page.findtext(f"{_S3_NS}NextUploadIdMarker")
            if page.findtext(f"{_S3_NS}IsTruncated") != "true" or not (key_marker or id_marker):
                return out
            query["key-marker"] = key_marker or ""
            query["upload-id-marker"] = id_marker or ""

    def _abort_upload(self, key: str, upload_id: str) -> bool:
        """AbortMultipartUpload; a 404 (NoSuchUpload: aborted or completed meanwhile) is False."""
        if not upload_id:
            raise InvalidInput("an empty upload id", hint="take the ids from the store's stale_uploads()")
        response = s3raw.request(self.s3, "DELETE", self.s3.object_path(key), {"uploadId": upload_id},
                                 what=f"aborting the upload of {key!r}")
        if response.status == 404:
            if s3raw.error_code(response) == "NoSuchBucket":
                raise StoreError(f"store error aborting the upload of {key!r} in {self.url}: NoSuchBucket",
                                 hint="check the bucket name and AWS_ENDPOINT_URL (collab ls to test)")
            return False
        return True


_S3_NS = s3raw.NS


def _xml_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
