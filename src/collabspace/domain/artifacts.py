"""Artifacts: ``artifacts/{kind}/{name}_{agent}.{ext}`` files and ``.../{name}_{agent}/`` folders.

The agent id in the name is the owner (the template's naming convention).
Pushing writes only under the acting agent's own names, so another agent's
artifact cannot be overwritten; deleting checks the owner and refuses.

Sync is cheap in requests: one listing gives each remote file's size and
ETag. A file is unchanged when the sizes match and the content matches: on S3
the ETag is the MD5 (or, for a multipart upload in parts of
:attr:`Store.part_size`, the MD5 of the parts' MD5s), which is recomputed
locally; on stores without content ETags (a local folder, memory) the remote
bytes are hashed, which costs no network.
"""

from __future__ import annotations

import contextlib

import hashlib
import math
import os
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ..errors import Conflict, InvalidInput, NotFound, StoreError
from ..storage import ObjectInfo, Store, check_key
from . import paths

CODE_SUFFIXES = frozenset({".py", ".sh", ".ipynb", ".js", ".ts", ".r", ".jl", ".rs", ".go", ".c", ".cpp", ".cu", ".toml", ".yaml", ".yml", ".cfg"})
_DOUBLE = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ETAG = re.compile(r'^"?([0-9a-f]{32})(?:-(\d+))?"?$')
_CHUNK = 1 << 20


class Progress(Protocol):
    """What transfers report to (the CLI draws a bar); every method may be a no-op."""

    def start(self, total_bytes: int, files: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...


class _Quiet:
    def start(self, total_bytes: int, files: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass


@dataclass(frozen=True)
class Artifact:
    """One artifact: a file, or a folder summed up."""

    key: str
    kind: str
    owner: str | None
    size: int
    files: int
    modified: datetime | None
    folder: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key + ("/" if self.folder else ""), "kind": self.kind, "owner": self.owner, "size": self.size,
            "files": self.files, "modified": self.modified.isoformat() if self.modified else None, "folder": self.folder,
        }


@dataclass
class PushReport:
    """What a push did."""

    key: str
    folder: bool
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    bytes_sent: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.uploaded or self.deleted)

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key + ("/" if self.folder else ""), "uploaded": self.uploaded, "skipped": self.skipped,
                "deleted": self.deleted, "bytes_sent": self.bytes_sent, "changed": self.changed}


@dataclass
class PullReport:
    """What a pull did."""

    source: str
    dest: str
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes_received: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "dest": self.dest, "downloaded": self.downloaded, "skipped": self.skipped,
                "bytes_received": self.bytes_received}


# -- names and owners --------------------------------------------------------------------------
def name_owner(name: str) -> str | None:
    """The agent id at the end of an artifact's file or folder name (``train_lora_agent-01.py`` -> ``agent-01``)."""
    if "_" not in name:
        return None
    candidate = name.rsplit("_", 1)[1].split(".", 1)[0]
    return candidate if paths.AGENT_ID_RE.match(candidate) else None


def locate(key: str) -> tuple[str, str, bool]:
    """For any key under ``artifacts/``: (the artifact's key, its kind, whether it is a folder).

    Handles ``artifacts/{kind}/{name}_{agent}.ext``, ``artifacts/{kind}/{name}_{agent}/...`` and
    the Parameter Golf layout ``artifacts/{name}_{agent}/...`` (kind ``""``).
    """
    parts = key[len(paths.ARTIFACTS) :].split("/") if key.startswith(paths.ARTIFACTS) else []
    if not parts or not parts[0]:
        raise InvalidInput(f"{key!r} is not under {paths.ARTIFACTS}", hint="artifact keys look like artifacts/scripts/x_agent-01.py")
    if len(parts) == 1:
        return key, "", False
    if "_" in parts[0] and name_owner(parts[0]):  # kinds are slugs, never with '_'
        return paths.ARTIFACTS + parts[0], "", True
    if len(parts) == 2:
        return key, parts[0], False
    return paths.ARTIFACTS + parts[0] + "/" + parts[1], parts[0], True


def check_kind(kind: str) -> str:
    """An artifact folder: one of the template's or a new one of ``a-z0-9-``.

    Raises:
        InvalidInput: anything else (slashes, dots, upper case).
    """
    if not kind or paths.slug(kind) != kind:
        raise InvalidInput(
            f"invalid kind {kind!r}: use {', '.join(paths.ARTIFACT_KINDS)} or a new folder name of a-z, 0-9 and '-'",
            hint="e.g. --kind checkpoints",
        )
    return kind


def check_name(name: str) -> str:
    """An artifact name: letters, digits, ``.``, ``_``, ``-``; no slashes or ``..``.

    Raises:
        InvalidInput: anything else.
    """
    if not _NAME.match(name) or ".." in name or name.endswith("."):
        raise InvalidInput(
            f"invalid artifact name {name!r}: use 1-100 of letters, digits, '.', '_' and '-', starting with a letter or digit",
            hint=f"try --name {paths.slug(name) or 'my-artifact'}",
        )
    return name


def infer_kind(path: Path) -> str:
    """The folder a local path goes to by default: code to scripts, a folder to checkpoints, JSON to results, else data."""
    if path.is_dir():
        return "checkpoints"
    suffix = path.suffix.lower()
    if suffix in CODE_SUFFIXES:
        return "scripts"
    return "results" if suffix == ".json" else "data"


def split_name(path: Path, agent: str) -> tuple[str, str]:
    """A local file's default (name, extension); a name already ending in ``_{agent}`` loses it."""
    base = path.name
    ext = next((d for d in _DOUBLE if base.lower().endswith(d)), path.suffix if path.is_file() else "")
    stem = base[: len(base) - len(ext)] if ext else base
    stem = stem.removesuffix(f"_{agent}")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "artifact", ext


def check_owner(key: str, agent: str) -> None:
    """Refuse to change an artifact whose name carries another agent's id.

    Raises:
        Conflict: it belongs to someone else (the hint says how to make your own copy).
    """
    root, kind, _ = locate(key)
    owner = name_owner(root.rsplit("/", 1)[-1])
    if owner != agent:
        whose = f"belongs to {owner}" if owner else "has no agent id in its name"
        raise Conflict(
            f"{root} {whose}; you are {agent}, and only the owner may change or delete it",
            hint=f"push a copy under your own name: collab pull {root} ./copy && collab push ./copy --kind {kind or 'data'}",
        )


# -- listing -------------------------------------------------------------------------------------
def list_artifacts(store: Store, *, agent: str | None = None, kind: str | None = None) -> list[Artifact]:
    """Every artifact (folders summed up), in key order, optionally of one owner or kind."""
    groups: dict[str, list[ObjectInfo]] = {}
    meta: dict[str, tuple[str, bool]] = {}
    for info in store.list(paths.ARTIFACTS):
        if info.key == paths.ARTIFACTS_README:
            continue
        root, k, folder = locate(info.key)
        groups.setdefault(root, []).append(info)
        meta[root] = (k, folder)
    out = []
    for root, infos in groups.items():
        k, folder = meta[root]
        owner = name_owner(root.rsplit("/", 1)[-1])
        if (agent and owner != agent) or (kind and k != kind):
            continue
        times = [i.last_modified for i in infos if i.last_modified]
        out.append(Artifact(root, k, owner, sum(i.size for i in infos), len(infos), max(times) if times else None, folder))
    return sorted(out, key=lambda a: a.key)


# -- content comparison ----------------------------------------------------------------------------
def _md5(path: Path, part_size: int | None = None) -> str:
    if part_size is None:
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
    parts = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(part_size):
            parts.update(hashlib.md5(chunk, usedforsecurity=False).digest())
    return parts.hexdigest()


def etag_verdict(info: ObjectInfo, path: Path, part_size: int) -> bool | None:
    """Whether a local file has the remote object's content, judged by its S3 ETag; ``None``: the ETag cannot tell."""
    m = _ETAG.match(info.etag or "")
    if not m:
        return None
    if m.group(2) is None:
        return _md5(path) == m.group(1)
    if int(m.group(2)) == math.ceil(info.size / part_size) and _md5(path, part_size) == m.group(1):
        return True
    return None  # uploaded with other part sizes: compare the bytes


def same_content(store: Store, info: ObjectInfo, path: Path) -> bool:
    """True if the local file at ``path`` holds exactly the remote object's bytes."""
    if path.stat().st_size != info.size:
        return False
    verdict = etag_verdict(info, path, store.part_size)
    if verdict is not None:
        return verdict
    remote = hashlib.sha256()
    for chunk in store.iter_get(info.key):
        remote.update(chunk)
    local = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            local.update(chunk)
    return remote.digest() == local.digest()


# -- push ------------------------------------------------------------------------------------------
def _local_files(folder: Path) -> list[tuple[str, Path]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fname in sorted(filenames):
            full = Path(dirpath) / fname
            if full.is_file():
                out.append((full.relative_to(folder).as_posix(), full))
    return out


def push(
    store: Store,
    agent: str,
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    name: str | None = None,
    replace: bool = False,
    progress: Progress | None = None,
    workers: int = 8,
) -> PushReport:
    """Upload a file or a folder as the acting agent's artifact.

    Raises:
        NotFound: nothing at ``path``.
        InvalidInput: a bad kind or name, an empty folder, a file name that cannot be a key.
        Conflict: the artifact exists with other content and ``replace`` is not set; nothing is uploaded.
    """
    src = Path(path)
    if not src.exists():
        raise NotFound(f"no file or folder at {src}", hint="check the path")
    kind = check_kind(kind or infer_kind(src))
    default_name, ext = split_name(src, agent)
    name = check_name(name if name is not None else default_name)
    if src.is_dir():
        root = paths.artifact_key(kind, name, agent)
        local = [(f"{root}/{rel}", full) for rel, full in _local_files(src)]
        if not local:
            raise InvalidInput(f"{src} is an empty folder", hint="push a folder with files in it")
        remote = {i.key: i for i in store.list(root + "/")}
    else:
        root = paths.artifact_key(kind, name, agent, ext)
        local = [(root, src)]
        try:
            remote = {root: store.head(root)}
        except NotFound:
            remote = {}
    for key, _ in local:
        check_key(key)
    report = PushReport(key=root, folder=src.is_dir())
    changed: list[tuple[str, Path]] = []
    for key, full in local:
        info = remote.get(key)
        if info is None:
            changed.append((key, full))
        elif same_content(store, info, full):
            report.skipped.append(key)
        elif root.startswith(paths.RESULTS) and root.endswith(".json"):
            raise Conflict(
                f"{key} is a result with other content, and results are immutable; nothing was uploaded",
                hint="push it under a new --name (or submit it with collab submit)",
            )
        elif not replace:
            raise Conflict(
                f"{key} already exists with other content; nothing was uploaded",
                hint="pass --replace to overwrite your own artifact, or push under a new --name",
            )
        else:
            changed.append((key, full))
    extra = sorted(set(remote) - {k for k, _ in local}) if replace and src.is_dir() else []
    bar = progress or _Quiet()
    bar.start(sum(f.stat().st_size for _, f in changed), len(changed))
    store.put_files(changed, progress=bar.advance, workers=workers)
    report.uploaded = [k for k, _ in changed]
    report.bytes_sent = sum(f.stat().st_size for _, f in changed)
    for key in extra:
        store.delete(key)
    report.deleted = extra
    return report


def delete(store: Store, agent: str, key: str) -> list[str]:
    """Delete one of the acting agent's artifacts (a file, or a whole folder); returns the keys deleted.

    Raises:
        NotFound: no such artifact.
        Conflict: it belongs to another agent, or it is a result (results are immutable).
    """
    root, _, _ = locate(key.rstrip("/"))
    check_owner(root, agent)
    if root.startswith(paths.RESULTS):
        raise Conflict(f"{root} is a result, and results are immutable", hint=f"withdraw it with: collab invalidate {root} --reason TEXT")
    keys = [root] if store.exists(root) else [i.key for i in store.list(root + "/")]
    if not keys:
        raise NotFound(f"no artifact {root}", hint="list yours with: collab artifacts --agent YOUR_ID")
    for k in keys:
        store.delete(k)
    return keys


# -- pull -------------------------------------------------------------------------------------------
def _download(store: Store, info: ObjectInfo, dest: Path, advance: Callable[[int], None]) -> None:
    """Write one object to ``dest`` atomically: a temporary file beside it, size checked, then renamed."""
    tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.part"
    try:
        written = 0
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            f = tmp.open("wb")
        except OSError as exc:
            raise InvalidInput(f"cannot write to {dest}: {exc.strerror or exc}",
                               hint="pull into a folder you can write to") from None
        with f:
            for chunk in store.iter_get(info.key):
                f.write(chunk)
                written += len(chunk)
                advance(len(chunk))
        if written != info.size:
            raise StoreError(
                f"{info.key}: received {written} bytes, expected {info.size}; nothing was written to {dest}",
                hint="the object changed or the connection dropped; pull again",
            )
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def pull(store: Store, source: str, dest: str | os.PathLike[str], *, progress: Progress | None = None,
         workers: int = 8) -> PullReport:
    """Download a key, or every key under a prefix, to ``dest``; files already complete are skipped.

    A single key goes to ``dest`` (or into it, if ``dest`` is a folder); a prefix
    goes into the folder ``dest``, keeping the paths below the prefix.

    Raises:
        NotFound: nothing stored at ``source``.
        InvalidInput: ``source`` is not a valid key or prefix, or ``dest`` is a file where a folder is needed.
    """
    source = source.strip()
    check_key(source.rstrip("/"))
    target = Path(dest)
    try:
        single = store.head(source.rstrip("/")) if not source.endswith("/") else None
    except NotFound:
        single = None
    if single is not None:
        out = target / source.rsplit("/", 1)[-1] if target.is_dir() or str(dest).endswith(("/", os.sep)) else target
        plan = [(single, out)]
    else:
        prefix = source.rstrip("/") + "/"
        infos = list(store.list(prefix))
        if not infos:
            raise NotFound(f"nothing stored at {source}", hint="list artifacts with: collab artifacts")
        if target.exists() and not target.is_dir():
            raise InvalidInput(f"{target} is a file; a folder is needed for {prefix}", hint="give a folder as DEST")
        plan = [(i, target / i.key[len(prefix) :]) for i in infos]
    report = PullReport(source=source, dest=str(target))
    todo = []
    for info, out in plan:
        if out.is_file() and out.stat().st_size == info.size and etag_verdict(info, out, store.part_size) is not False:
            report.skipped.append(info.key)
        else:
            todo.append((info, out))
    bar = progress or _Quiet()
    bar.start(sum(i.size for i, _ in todo), len(todo))
    if todo:
        with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            list(pool.map(lambda item: _download(store, item[0], item[1], bar.advance), todo))
    report.downloaded = [i.key for i, _ in todo]
    report.bytes_received = sum(i.size for i, _ in todo)
    return report
