"""A fake ``HfApi`` for tests: files in memory, the real method signatures.

Every public method here must have exactly the signature of the installed
``huggingface_hub.HfApi`` method of the same name (``test_hf_store`` checks it),
so a signature change upstream breaks the tests instead of production.
Failures are injected with :meth:`FakeHfApi.fail_next`.

Two records of what a client did:

* ``FakeHfApi.calls``: the ``HfApi`` methods called, in order (one name per call).
* ``FakeHfApi.counts`` (a :class:`HubRequests`): the HTTP requests those calls
  would make on the real Hub, by the Hub's rate-limit bucket: ``api`` (``/api/...``),
  ``resolve`` (``/buckets/.../resolve/...``), ``xet_token`` (the xet read/write token
  route) and ``cas`` (xet CAS and CDN fetches), plus a finer ``by_endpoint``.
  The model follows the installed ``huggingface_hub`` source (version noted in
  :data:`MODELLED_ON`); each method cites the function it mirrors. What happens
  inside ``hf_xet`` (Rust) is an estimate, marked as such.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import httpx2
from huggingface_hub import BucketFile, BucketFolder
from huggingface_hub import hf_api as _hf_api
from huggingface_hub.errors import BucketNotFoundError, EntryNotFoundError, HfHubHTTPError

#: The ``huggingface_hub`` version whose request model this fake follows (re-read the cited code on upgrade).
MODELLED_ON = "2.4.0"

#: Entries per ``/api/buckets/{id}/tree`` page. The client does not choose it: ``list_bucket_tree``
#: follows the server's ``Link: next`` headers (``utils/_pagination.py: paginate``); 1,000 is the
#: page size measured on the Hub, not something the client source states.
TREE_PAGE_SIZE = 1000
#: Paths per ``paths-info`` POST: ``hf_api._BUCKET_PATHS_INFO_BATCH_SIZE`` (1,000 in 2.4.0).
PATHS_INFO_BATCH = getattr(_hf_api, "_BUCKET_PATHS_INFO_BATCH_SIZE", 1000)
#: Operations per ``/batch`` POST: ``hf_api._BUCKET_BATCH_ADD_CHUNK_SIZE`` / ``_BUCKET_BATCH_DELETE_CHUNK_SIZE``.
BATCH_ADD_CHUNK = getattr(_hf_api, "_BUCKET_BATCH_ADD_CHUNK_SIZE", 1000)
BATCH_DELETE_CHUNK = getattr(_hf_api, "_BUCKET_BATCH_DELETE_CHUNK_SIZE", 1000)
#: CAS/CDN requests per downloaded non-empty file (estimate: one reconstruction query to CAS plus one
#: ranged xorb fetch from the CDN; done inside hf_xet, not visible in the Python source).
CAS_PER_DOWNLOADED_FILE = 2
#: Bytes per xorb an upload sends to CAS (estimate of hf_xet's 64 MiB xorbs; plus one shard upload per commit).
XORB_BYTES = 64 * 1024 * 1024


class HubRequests:
    """HTTP requests the real client would have made, by rate-limit bucket; thread-safe.

    Read ``api``, ``resolve``, ``xet_token``, ``cas`` (or :meth:`snapshot`), the finer
    ``by_endpoint`` counter, and start again with :meth:`reset`.
    """

    KINDS = ("api", "resolve", "xet_token", "cas")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_kind: Counter[str] = Counter()
        self.by_endpoint: Counter[str] = Counter()

    def add(self, kind: str, endpoint: str, n: int = 1) -> None:
        assert kind in self.KINDS, kind
        if n:
            with self._lock:
                self.by_kind[kind] += n
                self.by_endpoint[endpoint] += n

    def reset(self) -> None:
        with self._lock:
            self.by_kind.clear()
            self.by_endpoint.clear()

    def snapshot(self) -> dict[str, int]:
        """``{"api": .., "resolve": .., "xet_token": .., "cas": ..}``."""
        with self._lock:
            return {kind: self.by_kind[kind] for kind in self.KINDS}

    @property
    def api(self) -> int:
        return self.by_kind["api"]

    @property
    def resolve(self) -> int:
        return self.by_kind["resolve"]

    @property
    def xet_token(self) -> int:
        return self.by_kind["xet_token"]

    @property
    def cas(self) -> int:
        return self.by_kind["cas"]

    def __repr__(self) -> str:
        return f"HubRequests({self.snapshot()})"


def _response(status: int, url: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, headers=headers or {}, request=httpx2.Request("GET", url))


class FakeCollection:
    """What ``create_collection`` returns: the fields collabspace reads."""

    def __init__(self, slug: str, title: str) -> None:
        self.slug, self.title, self.items = slug, title, []


class FakeHfApi:
    """In-memory Hub: buckets of files, with call and request counting and failure injection.

    ``buckets`` maps a bucket to ``{path: (bytes, uploaded at)}``. File contents are
    also kept by xet hash (the Hub's storage is content-addressed), so a download
    from a :class:`BucketFile` fetches the version that listing saw, as on the Hub.
    """

    endpoint = "https://huggingface.co"

    def __init__(self, user: str = "alice", orgs: tuple[str, ...] = ("ml-agent-explorers",)) -> None:
        self.user = user
        self.orgs = orgs
        self.buckets: dict[str, dict[str, tuple[bytes, datetime]]] = {}
        self.calls: list[str] = []
        self.counts = HubRequests()
        self._blobs: dict[str, bytes] = {}
        self.repos: dict[str, dict[str, Any]] = {}
        self.collections: dict[str, FakeCollection] = {}
        self._failures: list[tuple[str, int, dict[str, str]]] = []
        self._lock = threading.RLock()

    # -- test controls -------------------------------------------------------------------
    def fail_next(self, method: str, status: int = 429, *, retry_after: str | None = "1", times: int = 1,
                  xet: bool = False) -> None:
        """Make the next ``times`` calls of ``method`` fail with HTTP ``status`` (what ``huggingface_hub``
        raises once its own retries are spent); with ``xet``, as ``hf_xet`` reports a failed CAS/CDN
        request: a ``RuntimeError`` that only says the status in words, with no response."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        if xet:
            headers = {"xet": "1"}
        self._failures.extend([(method, status, headers)] * times)

    def _enter(self, method: str, url: str) -> None:
        with self._lock:
            self.calls.append(method)
            for i, (name, status, headers) in enumerate(self._failures):
                if name == method:
                    del self._failures[i]
                    if headers.get("xet"):  # hf_xet's PyRuntimeError, as its CAS client words it
                        self.counts.add("cas", f"{method} (failed)")
                        reason = "Too Many Requests" if status == 429 else "Service Unavailable"
                        raise RuntimeError(f"Data processing error: CAS service error : Reqwest Error: HTTP status "
                                           f"client error ({status} {reason}), domain: https://cas-server.xethub.hf.co")
                    self.counts.add("api", f"{method} (failed)")  # a refused request still counts
                    raise HfHubHTTPError(f"{status} Client Error for url: {url}",
                                         response=_response(status, url, headers))

    def _bucket(self, bucket_id: str) -> dict[str, tuple[bytes, datetime]]:
        if bucket_id not in self.buckets:
            url = f"{self.endpoint}/api/buckets/{bucket_id}"
            raise BucketNotFoundError(f"404 Client Error. Bucket Not Found for url: {url}",
                                      response=_response(404, url))
        return self.buckets[bucket_id]

    @staticmethod
    def _hash(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def _file(cls, path: str, data: bytes, when: datetime) -> BucketFile:
        """A new ``BucketFile``, as the real client builds one per entry of every response."""
        file = BucketFile(type="file", path=path, size=len(data), xetHash=cls._hash(data))
        file.mtime = file.uploaded_at = when  # what parsing the server's ISO stamps gives, without strptime's cost
        return file

    def _blob(self, bucket_id: str, file: BucketFile) -> bytes:
        with self._lock:
            if file.xet_hash in self._blobs:
                return self._blobs[file.xet_hash]
            for data, _ in self._bucket(bucket_id).values():  # written into ``buckets`` directly by a test
                if self._hash(data) == file.xet_hash:
                    return data
        raise HfHubHTTPError(f"404 xet hash {file.xet_hash} unknown", response=_response(404, "https://cas"))

    def _paths_info(self, bucket_id: str, paths: list[str]) -> list[BucketFile]:
        """``HfApi.get_bucket_paths_info``: one ``POST /api/buckets/{id}/paths-info`` per
        ``_BUCKET_PATHS_INFO_BATCH_SIZE`` paths (``chunk_iterable``), none for no paths; missing paths are left out."""
        self.counts.add("api", "paths_info", math.ceil(len(paths) / PATHS_INFO_BATCH))
        with self._lock:
            files = self._bucket(bucket_id)
            return [self._file(p, *files[p]) for p in paths if p in files]

    # -- the HfApi surface (real signatures) -------------------------------------------------
    def whoami(self, token: bool | str | None = None, *, cache: bool = False) -> dict:
        self._enter("whoami", f"{self.endpoint}/api/whoami-v2")
        self.counts.add("api", "whoami")  # HfApi.whoami: one GET /api/whoami-v2
        return {"name": self.user, "type": "user", "orgs": [{"name": o} for o in self.orgs]}

    def create_bucket(self, bucket_id: str, *, private: bool | None = None,
                      visibility: Literal["public", "private"] | None = None, resource_group_id: str | None = None,
                      region: Any = None, exist_ok: bool = False, token: bool | str | None = None) -> Any:
        self._enter("create_bucket", f"{self.endpoint}/api/buckets/{bucket_id}")
        self.counts.add("api", "create_bucket")  # HfApi.create_bucket: one POST
        with self._lock:
            if bucket_id in self.buckets and not exist_ok:
                url = f"{self.endpoint}/api/buckets/{bucket_id}"
                raise HfHubHTTPError("409 Client Error: Conflict, bucket already exists",
                                     response=_response(409, url))
            self.buckets.setdefault(bucket_id, {})
        return f"{self.endpoint}/buckets/{bucket_id}"

    def list_bucket_tree(self, bucket_id: str, prefix: str | None = None, *, recursive: bool | None = None,
                         token: str | bool | None = None) -> Iterable[BucketFile | BucketFolder]:
        """``HfApi.list_bucket_tree``: ``GET /api/buckets/{id}/tree/{quote(prefix, safe="")}`` through
        ``paginate`` (one GET per page of :data:`TREE_PAGE_SIZE` entries; an empty listing is still one GET).

        ``prefix`` is matched as a raw string, not as a folder: the installed client says so in
        ``hf_file_system._list_bucket_tree_with_folders`` ("The server matches `prefix` lexically, so
        listing "logs" also returns "logs_existing/...""), ``cli/_skills._download_skill_files`` and
        ``_buckets._list_remote_files``, which all filter the extra entries out. That is the server's
        behaviour, which the client source can only report; ``test_hf_store`` has a live check.
        Non-recursive listings (unused by collabspace) list the folder ``prefix`` names, with its sub-folders.
        """
        self._enter("list_bucket_tree", f"{self.endpoint}/api/buckets/{bucket_id}/tree")
        with self._lock:
            files = dict(self._bucket(bucket_id))
        out: list[BucketFile | BucketFolder] = []
        if recursive:
            raw = prefix or ""
            out = [self._file(path, data, when) for path, (data, when) in sorted(files.items())
                   if path.startswith(raw)]
        else:
            base = (prefix.strip("/") + "/") if prefix else ""
            folders: set[str] = set()
            for path, (data, when) in sorted(files.items()):
                if not path.startswith(base):
                    continue
                rest = path[len(base):]
                if "/" in rest:
                    folders.add(base + rest.split("/", 1)[0])
                    continue
                out.append(self._file(path, data, when))
            out.extend(BucketFolder(type="directory", path=f) for f in sorted(folders))
        self.counts.add("api", "tree_page", max(1, math.ceil(len(out) / TREE_PAGE_SIZE)))
        return iter(out)

    def get_bucket_paths_info(self, bucket_id: str, paths: Iterable[str], *,
                              token: str | bool | None = None) -> Iterable[BucketFile]:
        self._enter("get_bucket_paths_info", f"{self.endpoint}/api/buckets/{bucket_id}/paths-info")
        return iter(self._paths_info(bucket_id, list(paths)))

    def batch_bucket_files(self, bucket_id: str, *, add: list[tuple[str | Path | bytes, str]] | None = None,
                           copy: list[tuple[str, str, str, str]] | None = None, delete: list[str] | None = None,
                           token: str | bool | None = None):
        """``HfApi.batch_bucket_files``: up to ``_BUCKET_BATCH_ADD_CHUNK_SIZE`` operations in one
        ``_batch_bucket_files`` call, else chunks of copies, then adds, then deletes. Each call that uploads
        opens one xet upload commit (a write token from ``xet_connection_info_refresh_url``; the xorbs and one
        shard go to CAS, an estimate) and sends one ``POST /api/buckets/{id}/batch``; no operations, no request."""
        self._enter("batch_bucket_files", f"{self.endpoint}/api/buckets/{bucket_id}/batch")
        add, copy, delete = add or [], copy or [], delete or []
        contents = [(source if isinstance(source, bytes) else Path(source).read_bytes(), path) for source, path in add]
        if len(add) + len(copy) + len(delete) <= BATCH_ADD_CHUNK:
            chunks = [(contents, len(copy) + len(delete))] if add or copy or delete else []
        else:
            chunks = [([], len(copy[i:i + BATCH_ADD_CHUNK])) for i in range(0, len(copy), BATCH_ADD_CHUNK)]
            chunks += [(contents[i:i + BATCH_ADD_CHUNK], 0) for i in range(0, len(contents), BATCH_ADD_CHUNK)]
            chunks += [([], len(delete[i:i + BATCH_DELETE_CHUNK])) for i in range(0, len(delete), BATCH_DELETE_CHUNK)]
        for uploads, _ in chunks:
            if uploads:
                self.counts.add("xet_token", "xet_write_token")
                size = sum(len(data) for data, _ in uploads)
                self.counts.add("cas", "cas_upload", max(1, math.ceil(size / XORB_BYTES)) + 1)
            self.counts.add("api", "batch")
        with self._lock:
            files = self._bucket(bucket_id)
            now = datetime.now(timezone.utc)
            for data, path in contents:
                files[path] = (data, now)
                self._blobs[self._hash(data)] = data
            for path in delete:
                files.pop(path, None)

    def download_bucket_files(self, bucket_id: str, files: list[tuple[str | BucketFile, str | Path]], *,
                              raise_on_missing_files: bool = False, token: str | bool | None = None) -> None:
        """``HfApi.download_bucket_files``, request by request:

        1. string paths are resolved by ``get_bucket_paths_info`` (1 API call per 1,000 paths);
           :class:`BucketFile` objects from a listing skip this step;
        2. missing paths raise ``EntryNotFoundError`` or are skipped (the real client warns);
        3. empty files are created locally without any request;
        4. if any non-empty file remains: one ``get_bucket_file_metadata`` of the *first* one, a
           ``HEAD /buckets/{id}/resolve/{path}`` (1 resolve; a 404 if that path is gone), whose
           ``refresh_route`` hf_xet then calls for a read token (1 xet token);
        5. hf_xet fetches each file by its xet hash (:data:`CAS_PER_DOWNLOADED_FILE` CAS/CDN requests, estimate),
           so a BucketFile gets the content that listing saw.
        """
        self._enter("download_bucket_files", f"{self.endpoint}/buckets/{bucket_id}/resolve")
        if not files:
            return
        str_paths = [source for source, _ in files if not isinstance(source, BucketFile)]
        by_path: dict[str, BucketFile] = {}
        if str_paths:
            by_path = {info.path: info for info in self._paths_info(bucket_id, str_paths)}
            missing = [p for p in str_paths if p not in by_path]
            if missing and raise_on_missing_files:
                raise EntryNotFoundError(f"{len(missing)} file(s) not found in bucket '{bucket_id}': "
                                         f"{', '.join(missing)}")
        todo: list[tuple[BucketFile, Path]] = []
        for source, dest in files:
            remote = source if isinstance(source, BucketFile) else by_path.get(source)
            if remote is None:
                continue
            dest = Path(dest).absolute()
            if remote.size == 0:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(b"")
            else:
                todo.append((remote, dest))
        if not todo:
            return
        first = todo[0][0].path
        self.counts.add("resolve", "resolve_head")
        with self._lock:
            if first not in self._bucket(bucket_id):
                url = f"{self.endpoint}/buckets/{bucket_id}/resolve/{first}"
                raise HfHubHTTPError(f"404 Client Error: Entry Not Found for url: {url}", response=_response(404, url))
        self.counts.add("xet_token", "xet_read_token")
        for remote, dest in todo:
            self.counts.add("cas", "cas_download", CAS_PER_DOWNLOADED_FILE)
            data = self._blob(bucket_id, remote)
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(str(dest) + ".part")
            tmp.write_bytes(data)
            shutil.move(tmp, dest)

    # -- Spaces and Collections --------------------------------------------------------

    def bucket_info(self, bucket_id: str, *, token: bool | str | None = None) -> Any:
        self._enter("bucket_info", f"{self.endpoint}/api/buckets/{bucket_id}")
        self.counts.add("api", "bucket_info")  # HfApi.bucket_info: one GET /api/buckets/{id}
        files = self._bucket(bucket_id)
        return {"id": bucket_id, "total_files": len(files)}

    def create_repo(self, repo_id: str, *, token: str | bool | None = None, private: bool | None = None,
                    visibility: Any = None, repo_type: str | None = None, exist_ok: bool = False,
                    resource_group_id: str | None = None, region: Any = None, space_sdk: str | None = None,
                    space_hardware: Any = None, space_sleep_time: int | None = None,
                    space_secrets: list[dict[str, str]] | None = None,
                    space_variables: list[dict[str, str]] | None = None, space_volumes: list[Any] | None = None,
                    space_template: str | None = None) -> Any:
        self._enter("create_repo", f"{self.endpoint}/api/repos/create")
        self.counts.add("api", "create_repo")
        with self._lock:
            if repo_id in self.repos and not exist_ok:
                raise HfHubHTTPError("409 Client Error: repo exists",
                                     response=_response(409, f"{self.endpoint}/api/repos/create"))
            self.repos.setdefault(repo_id, {"type": repo_type, "sdk": space_sdk, "private": private, "files": {}})
        return f"{self.endpoint}/spaces/{repo_id}"

    def upload_folder(self, *, repo_id: str, folder_path: str | Path, path_in_repo: str | None = None,
                      commit_message: str | None = None, commit_description: str | None = None,
                      token: str | bool | None = None, repo_type: str | None = None, revision: str | None = None,
                      create_pr: bool | None = None, parent_commit: str | None = None,
                      allow_patterns: list[str] | str | None = None, ignore_patterns: list[str] | str | None = None,
                      delete_patterns: list[str] | str | None = None, run_as_future: bool = False) -> Any:
        self._enter("upload_folder", f"{self.endpoint}/api/{repo_type}s/{repo_id}/commit/main")
        self.counts.add("api", "upload_folder")  # at least one commit POST (preupload and LFS not modelled)
        root = Path(folder_path)
        with self._lock:
            files = self.repos[repo_id]["files"]
            for path in root.rglob("*"):
                if path.is_file():
                    files[str(path.relative_to(root))] = path.read_bytes()
        return "commit"

    def create_collection(self, title: str, *, namespace: str | None = None, description: str | None = None,
                          private: bool = False, resource_group_id: str | None = None, exists_ok: bool = False,
                          token: bool | str | None = None) -> Any:
        self._enter("create_collection", f"{self.endpoint}/api/collections")
        self.counts.add("api", "create_collection")
        slug = f"{namespace}/{title.lower().replace(' ', '-')}-0123456789abcdef"
        with self._lock:
            if slug in self.collections and not exists_ok:
                raise HfHubHTTPError("409 Client Error: collection exists",
                                     response=_response(409, f"{self.endpoint}/api/collections"))
            return self.collections.setdefault(slug, FakeCollection(slug, title))

    def add_collection_item(self, collection_slug: str, item_id: str, item_type: Any, *, note: str | None = None,
                            exists_ok: bool = False, token: bool | str | None = None) -> Any:
        self._enter("add_collection_item", f"{self.endpoint}/api/collections/{collection_slug}/items")
        self.counts.add("api", "add_collection_item")
        with self._lock:
            collection = self.collections[collection_slug]
            if (item_id, item_type) not in collection.items:
                collection.items.append((item_id, item_type))
            return collection
