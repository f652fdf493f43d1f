"""A fake ``HfApi`` for tests: files in memory, the real method signatures.

Every public method here must have exactly the signature of the installed
``huggingface_hub.HfApi`` method of the same name (``test_hf_store`` checks it),
so a signature change upstream breaks the tests instead of production.
Failures are injected with :meth:`FakeHfApi.fail_next`.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import httpx2
from huggingface_hub import BucketFile, BucketFolder
from huggingface_hub.errors import BucketNotFoundError, EntryNotFoundError, HfHubHTTPError


def _response(status: int, url: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, headers=headers or {}, request=httpx2.Request("GET", url))


class FakeCollection:
    """What ``create_collection`` returns: the fields collabspace reads."""

    def __init__(self, slug: str, title: str) -> None:
        self.slug, self.title, self.items = slug, title, []


class FakeHfApi:
    """In-memory Hub: buckets of files, with call counting and failure injection."""

    endpoint = "https://huggingface.co"

    def __init__(self, user: str = "alice", orgs: tuple[str, ...] = ("ml-agent-explorers",)) -> None:
        self.user = user
        self.orgs = orgs
        self.buckets: dict[str, dict[str, tuple[bytes, datetime]]] = {}
        self.calls: list[str] = []
        self.repos: dict[str, dict[str, Any]] = {}
        self.collections: dict[str, FakeCollection] = {}
        self._failures: list[tuple[str, int, dict[str, str]]] = []
        self._lock = threading.RLock()

    # -- test controls -------------------------------------------------------------------
    def fail_next(self, method: str, status: int = 429, *, retry_after: str | None = "1", times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail with HTTP ``status``."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self._failures.extend([(method, status, headers)] * times)

    def _enter(self, method: str, url: str) -> None:
        with self._lock:
            self.calls.append(method)
            for i, (name, status, headers) in enumerate(self._failures):
                if name == method:
                    del self._failures[i]
                    raise HfHubHTTPError(f"{status} Client Error for url: {url}",
                                         response=_response(status, url, headers))

    def _bucket(self, bucket_id: str) -> dict[str, tuple[bytes, datetime]]:
        if bucket_id not in self.buckets:
            url = f"{self.endpoint}/api/buckets/{bucket_id}"
            raise BucketNotFoundError(f"404 Client Error. Bucket Not Found for url: {url}",
                                      response=_response(404, url))
        return self.buckets[bucket_id]

    @staticmethod
    def _file(path: str, data: bytes, when: datetime) -> BucketFile:
        stamp = when.isoformat().replace("+00:00", "Z")
        return BucketFile(type="file", path=path, size=len(data), xetHash=hashlib.sha256(data).hexdigest(),
                          mtime=stamp, uploadedAt=stamp)

    # -- the HfApi surface (real signatures) -------------------------------------------------
    def whoami(self, token: bool | str | None = None, *, cache: bool = False) -> dict:
        self._enter("whoami", f"{self.endpoint}/api/whoami-v2")
        return {"name": self.user, "type": "user", "orgs": [{"name": o} for o in self.orgs]}

    def create_bucket(self, bucket_id: str, *, private: bool | None = None,
                      visibility: Literal["public", "private"] | None = None, resource_group_id: str | None = None,
                      region: Any = None, exist_ok: bool = False, token: bool | str | None = None) -> Any:
        self._enter("create_bucket", f"{self.endpoint}/api/buckets/{bucket_id}")
        with self._lock:
            if bucket_id in self.buckets and not exist_ok:
                url = f"{self.endpoint}/api/buckets/{bucket_id}"
                raise HfHubHTTPError("409 Client Error: Conflict, bucket already exists",
                                     response=_response(409, url))
            self.buckets.setdefault(bucket_id, {})
        return f"{self.endpoint}/buckets/{bucket_id}"

    def list_bucket_tree(self, bucket_id: str, prefix: str | None = None, *, recursive: bool | None = None,
                         token: str | bool | None = None) -> Iterable[BucketFile | BucketFolder]:
        self._enter("list_bucket_tree", f"{self.endpoint}/api/buckets/{bucket_id}/tree")
        with self._lock:
            files = dict(self._bucket(bucket_id))
        base = (prefix.strip("/") + "/") if prefix else ""
        out: list[BucketFile | BucketFolder] = []
        folders: set[str] = set()
        for path, (data, when) in sorted(files.items()):
            if not path.startswith(base):
                continue
            rest = path[len(base):]
            if not recursive and "/" in rest:
                folders.add(base + rest.split("/", 1)[0])
                continue
            out.append(self._file(path, data, when))
        out.extend(BucketFolder(type="directory", path=f) for f in sorted(folders))
        return iter(out)

    def get_bucket_paths_info(self, bucket_id: str, paths: Iterable[str], *,
                              token: str | bool | None = None) -> Iterable[BucketFile]:
        self._enter("get_bucket_paths_info", f"{self.endpoint}/api/buckets/{bucket_id}/paths-info")
        with self._lock:
            files = self._bucket(bucket_id)
            return iter([self._file(p, *files[p]) for p in paths if p in files])

    def batch_bucket_files(self, bucket_id: str, *, add: list[tuple[str | Path | bytes, str]] | None = None,
                           copy: list[tuple[str, str, str, str]] | None = None, delete: list[str] | None = None,
                           token: str | bool | None = None):
        self._enter("batch_bucket_files", f"{self.endpoint}/api/buckets/{bucket_id}/batch")
        with self._lock:
            files = self._bucket(bucket_id)
            now = datetime.now(timezone.utc)
            for source, path in add or []:
                data = source if isinstance(source, bytes) else Path(source).read_bytes()
                files[path] = (data, now)
            for path in delete or []:
                files.pop(path, None)

    def download_bucket_files(self, bucket_id: str, files: list[tuple[str | BucketFile, str | Path]], *,
                              raise_on_missing_files: bool = False, token: str | bool | None = None) -> None:
        self._enter("download_bucket_files", f"{self.endpoint}/buckets/{bucket_id}/resolve")
        with self._lock:
            stored = dict(self._bucket(bucket_id))
        for source, dest in files:
            path = source if isinstance(source, str) else source.path
            if path not in stored:
                if raise_on_missing_files:
                    raise EntryNotFoundError(f"File {path} not found in bucket {bucket_id}")
                continue
            Path(dest).parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(str(dest) + ".part")
            tmp.write_bytes(stored[path][0])
            shutil.move(tmp, dest)

    # -- Spaces and Collections --------------------------------------------------------

    def bucket_info(self, bucket_id: str, *, token: bool | str | None = None) -> Any:
        self._enter("bucket_info", f"{self.endpoint}/api/buckets/{bucket_id}")
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
        slug = f"{namespace}/{title.lower().replace(' ', '-')}-0123456789abcdef"
        with self._lock:
            if slug in self.collections and not exists_ok:
                raise HfHubHTTPError("409 Client Error: collection exists",
                                     response=_response(409, f"{self.endpoint}/api/collections"))
            return self.collections.setdefault(slug, FakeCollection(slug, title))

    def add_collection_item(self, collection_slug: str, item_id: str, item_type: Any, *, note: str | None = None,
                            exists_ok: bool = False, token: bool | str | None = None) -> Any:
        self._enter("add_collection_item", f"{self.endpoint}/api/collections/{collection_slug}/items")
        with self._lock:
            collection = self.collections[collection_slug]
            if (item_id, item_type) not in collection.items:
                collection.items.append((item_id, item_type))
            return collection
