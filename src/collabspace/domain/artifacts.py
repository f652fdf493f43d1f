"""Artifacts: ``artifacts/{kind}/{name}_{agent}.{ext}`` files and ``.../{name}_{agent}/`` folders.

The agent id at the end of the name is the owner (the template's naming convention),
and a push only ever writes a key whose name ends in the pusher's own id: an extension
that is not a plain one (``evil.py_agent-01``) is kept as part of the name, so that
``evil.py_agent-01`` pushed by agent-02 becomes ``evil.py_agent-01_agent-02``. Another
agent's artifact cannot be overwritten; deleting checks the owner and refuses.
``artifacts/results/`` is ``collab submit``'s alone: a push there is refused.

**Creating a name is create-only.** A push that finds the name free creates it so that
exactly one of several concurrent pushes wins and the others are told (a Conflict with a
hint), unless they hold the very same bytes, which is the same artifact and a success.
One mechanism decides for every shape and size (a small file racing a large one under the
same name included): the name is claimed by its **manifest**, written create-only *before*
any byte of content: ``{folder}/.collab-manifest.json`` or ``{file}.collab-manifest.json``,
which lists every file with its size and SHA-256. (A multipart upload cannot be written
create-only on S3, so the content itself could not decide.) A push that loses the claim, or
that arrives while the winner is still uploading, compares its files with the manifest: the
same content resumes the upload, other content is refused. The winner of a small file then
writes it create-only too, so a writer that claims no manifest (an older version) cannot
slip in. ``--replace`` rewrites the manifest after its uploads. Manifests are not
artifacts: listings and pulls skip them. On the Hub, whose create-only writes are not
atomic, the claim is best-effort.

**Interrupted transfers clean up.** During a push or a pull in the main thread, SIGINT
and SIGTERM stop the transfer at the next chunk; a multipart upload stopped so is
aborted by obstore (nothing stays on the server), and a download's temporary file is
removed. A ``kill -9`` cannot be caught: the next pull removes the ``.part`` files that
dead pulls left beside the files it writes (their names carry the writer's pid).

**Sync is cheap in requests and checks content.** One listing gives each remote file's
size and ETag. A local file is complete when the sizes match and the content matches: on
S3 the ETag is the MD5 (or, for a multipart upload in parts of :attr:`Store.part_size`,
the MD5 of the parts' MD5s), recomputed locally; otherwise the manifest's SHA-256 is
compared; failing both (a small file on a local folder, an object another tool uploaded in
other part sizes), the remote bytes are hashed, which costs no network on a local store.
A local file of the right size whose content does not match is downloaded again
(``repaired``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

from ..errors import AlreadyExists, CollabError, Conflict, InvalidInput, NotFound, StoreError
from ..storage import ObjectInfo, Store, Upload, check_key
from . import paths
from .problems import Problem
from .timefmt import format_duration, parse_duration

CODE_SUFFIXES = frozenset({".py", ".sh", ".ipynb", ".js", ".ts", ".r", ".jl", ".rs", ".go", ".c", ".cpp", ".cu", ".toml", ".yaml", ".yml", ".cfg"})
_DOUBLE = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_EXT = re.compile(r"^\.[A-Za-z0-9]{1,16}$")
_ETAG = re.compile(r'^"?([0-9a-f]{32})(?:-(\d+))?"?$')
_CHUNK = 1 << 20
#: The manifest of a folder artifact (inside it) and the suffix of a large file's (beside it).
MANIFEST = ".collab-manifest.json"
_MANIFEST_MAX = 16 << 20
_SUBMIT_HINT = 'results enter only through validation: collab submit --experiment "..." --predictions FILE (or --score X)'


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
    #: True when this push created the name (it was free, and this push won the create-only write).
    created: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.uploaded or self.deleted)

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key + ("/" if self.folder else ""), "uploaded": self.uploaded, "skipped": self.skipped,
                "deleted": self.deleted, "bytes_sent": self.bytes_sent, "changed": self.changed, "created": self.created}


@dataclass
class PullReport:
    """What a pull did."""

    source: str
    dest: str
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes_received: int = 0
    #: Keys whose local file had the right size but other content, downloaded again.
    repaired: list[str] = field(default_factory=list)
    #: Leftover ``.part`` files of dead pulls that this pull removed.
    cleaned: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "dest": self.dest, "downloaded": self.downloaded, "skipped": self.skipped,
                "bytes_received": self.bytes_received, "repaired": self.repaired, "cleaned": self.cleaned}


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


def check_push_kind(kind: str) -> str:
    """A kind a push may write: any valid kind but ``results``, which only ``collab submit`` writes.

    Raises:
        InvalidInput: an invalid kind, or ``results``.
    """
    check_kind(kind)
    if paths.ARTIFACTS + kind + "/" == paths.RESULTS:
        raise InvalidInput(f"{paths.RESULTS} is written only by collab submit, which validates and scores a result; "
                           "nothing was uploaded", hint=_SUBMIT_HINT)
    return kind


def infer_kind(path: Path) -> str:
    """The folder a local path goes to by default: code to scripts, a folder to checkpoints, else data.

    A JSON file goes to data too: results enter only through ``collab submit``.
    """
    if path.is_dir():
        return "checkpoints"
    return "scripts" if path.suffix.lower() in CODE_SUFFIXES else "data"


def _extension(path: Path) -> str:
    """A file's extension if it is a plain one (``.py``, ``.tar.gz``), else ``""``: ``evil.py_agent-01`` has none,
    so it cannot carry an agent id past the owner's."""
    if not path.is_file():
        return ""
    base = path.name.lower()
    double = next((d for d in _DOUBLE if base.endswith(d)), None)
    if double and len(base) > len(double):
        return path.name[-len(double):]
    return path.suffix if _EXT.match(path.suffix) and len(path.name) > len(path.suffix) else ""


def split_name(path: Path, agent: str) -> tuple[str, str]:
    """A local file's default (name, extension); a name already ending in ``_{agent}`` loses it."""
    base = path.name
    ext = _extension(path)
    stem = base[: len(base) - len(ext)] if ext else base
    stem = stem.removesuffix(f"_{agent}")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "artifact", ext


def check_pushed_key(root: str, agent: str) -> str:
    """The invariant of every push: the key's name ends in the pusher's id and the key is not a result.

    Raises:
        InvalidInput: the key would be credited to someone else, or land in ``artifacts/results/``.
    """
    if root.startswith(paths.RESULTS):
        raise InvalidInput(f"{root} would be a result; results are written only by collab submit", hint=_SUBMIT_HINT)
    owner = name_owner(root.rsplit("/", 1)[-1])
    if owner != agent:
        raise InvalidInput(
            f"{root} would be credited to {owner or 'nobody'}, not to you ({agent}); nothing was uploaded",
            hint="choose a --name and an extension without '_' in the extension, e.g. --name my-file",
        )
    return root


def is_manifest(key: str) -> bool:
    """True for an artifact's manifest (bookkeeping of push and pull, not content)."""
    return key.endswith(MANIFEST)


def manifest_key(root: str, folder: bool) -> str:
    """Where the manifest of the artifact ``root`` lives: inside a folder, beside a file."""
    return f"{root}/{MANIFEST}" if folder else f"{root}{MANIFEST}"


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
        if info.key == paths.ARTIFACTS_README or is_manifest(info.key):
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


def file_sha256(path: Path) -> str:
    """The SHA-256 of a local file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- interruption --------------------------------------------------------------------------------
class Interrupted(KeyboardInterrupt):
    """A transfer stopped by SIGINT or SIGTERM; raised in every worker at its next chunk."""


@contextlib.contextmanager
def _interruptible() -> Iterator[threading.Event]:
    """While a transfer runs in the main thread, SIGINT and SIGTERM stop it cleanly.

    The handler sets the returned event and raises :class:`Interrupted` in the main thread;
    workers see the event at their next chunk (:func:`_guarded`) and raise too, so that
    obstore aborts their multipart uploads and downloads remove their temporary files.
    Elsewhere (a server's worker thread) signals cannot be caught, and the event only
    reports an exception of the caller.
    """
    stop = threading.Event()
    saved: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        def handler(signum: int, frame: object) -> None:
            stop.set()
            raise Interrupted(f"stopped by signal {signal.Signals(signum).name}")

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError):
                saved[sig] = signal.signal(sig, handler)
    try:
        yield stop
    except BaseException:
        stop.set()
        raise
    finally:
        for sig, old in saved.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, old if old is not None else signal.SIG_DFL)


def _guarded(stop: threading.Event, advance: Callable[[int], None]) -> Callable[[int], None]:
    """``advance`` that raises :class:`Interrupted` once ``stop`` is set (called at every chunk of a transfer)."""

    def guarded(nbytes: int) -> None:
        if stop.is_set():
            raise Interrupted("transfer stopped")
        advance(nbytes)
        if stop.is_set():
            raise Interrupted("transfer stopped")

    return guarded


# -- manifests -----------------------------------------------------------------------------------
def _local_manifest(local: list[tuple[str, Path]]) -> dict[str, dict[str, Any]]:
    return {key: {"size": full.stat().st_size, "sha256": file_sha256(full)} for key, full in local}


def _manifest_bytes(root: str, agent: str, files: dict[str, dict[str, Any]]) -> bytes:
    body = {"collab_manifest": 1, "artifact": root, "agent": agent, "push": uuid.uuid4().hex,
            "written": datetime.now(timezone.utc).isoformat(timespec="seconds"), "files": files}
    return json.dumps(body, indent=1, sort_keys=True).encode()


def read_manifest(store: Store, root: str, folder: bool) -> dict[str, Any] | None:
    """The manifest of the artifact ``root``, or ``None`` if there is none or it is unusable.

    Only entries under ``root`` with an integer size and a hex SHA-256 are kept.
    """
    try:
        raw = store.get(manifest_key(root, folder))
    except NotFound:
        return None
    if len(raw) > _MANIFEST_MAX:
        return None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, dict):
        return None
    good = {}
    for key, entry in files.items():
        inside = key == root if not folder else isinstance(key, str) and key.startswith(root + "/")
        if (inside and isinstance(entry, dict) and type(entry.get("size")) is int
                and isinstance(entry.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])):
            good[key] = {"size": entry["size"], "sha256": entry["sha256"]}
    written = body.get("written")
    return {"files": good, "written": written if isinstance(written, str) else None}


def _lost_race(root: str, written: str | None, replace_helps: bool) -> Conflict:
    when = f" (its manifest was written {written})" if written else ""
    take_over = "if that push died, pass --replace to take the name over; " if replace_helps else ""
    return Conflict(
        f"{root} is being created by another push with other content{when}; nothing was uploaded",
        hint=f"{take_over}pull it to compare once it is complete, or push under a new --name",
    )


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


def _head(store: Store, key: str) -> ObjectInfo | None:
    try:
        return store.head(key)
    except NotFound:
        return None


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
    """Upload a file or a folder as the acting agent's artifact; a new name is created create-only.

    Raises:
        NotFound: nothing at ``path``.
        InvalidInput: a bad kind or name, ``--kind results`` (results go through submit), an empty
            folder, a file name that cannot be a key.
        Conflict: the artifact exists with other content and ``replace`` is not set, or another push
            created the name first with other content; nothing is uploaded.
        Interrupted: SIGINT or SIGTERM; multipart uploads in flight are aborted.
    """
    src = Path(path)
    if not src.exists():
        raise NotFound(f"no file or folder at {src}", hint="check the path")
    kind = check_push_kind(kind or infer_kind(src))
    default_name, ext = split_name(src, agent)
    name = check_name(name if name is not None else default_name)
    folder = src.is_dir()
    root = check_pushed_key(paths.artifact_key(kind, name, agent, "" if folder else ext), agent)
    if folder:
        local = [(f"{root}/{rel}", full) for rel, full in _local_files(src)]
        if not local:
            raise InvalidInput(f"{src} is an empty folder", hint="push a folder with files in it")
        reserved = [full for key, full in local if is_manifest(key)]
        if reserved:
            raise InvalidInput(f"{reserved[0]}: names ending in {MANIFEST} are reserved for the artifact's manifest",
                               hint="rename that file")
    else:
        local = [(root, src)]
    for key, _ in local:
        check_key(key)
    report = PushReport(key=root, folder=folder)
    bar = progress or _Quiet()
    with _interruptible() as stop:
        _push_claimed(store, agent, root, folder, local, replace, report, bar, _guarded(stop, bar.advance), workers)
    return report


def _exists_conflict(key: str) -> Conflict:
    return Conflict(f"{key} already exists with other content; nothing was uploaded",
                    hint="pass --replace to overwrite your own artifact, or push under a new --name")


def _push_claimed(store: Store, agent: str, root: str, folder: bool, local: list[tuple[str, Path]], replace: bool,
                  report: PushReport, bar: Progress, advance: Callable[[int], None], workers: int) -> None:
    """Push a file of any size or a folder; a new name is claimed by writing its manifest create-only.

    What is there (the content, and the manifest: a folder's inside it, a file's beside it) comes from
    one listing of a folder, two HEADs for a file. A name with neither is new, and only the
    create-only manifest decides who gets it, whatever the sizes of the racing pushes.
    """
    mkey = manifest_key(root, folder)
    if folder:
        remote = {i.key: i for i in store.list(root + "/")}
        has_manifest = remote.pop(mkey, None) is not None
    else:
        info = _head(store, root)
        remote = {root: info} if info else {}
        has_manifest = _head(store, mkey) is not None
    manifest = read_manifest(store, root, folder) if has_manifest else None
    mine = _local_manifest(local)
    if not remote and not has_manifest:
        try:
            store.put(mkey, _manifest_bytes(root, agent, mine), create_only=True)
            report.created = True
        except AlreadyExists:
            theirs = read_manifest(store, root, folder)
            if theirs is None or theirs["files"] != mine:
                raise _lost_race(root, theirs and theirs["written"], False) from None
            # the very same content: the same artifact, being uploaded by our other process too
        changed = list(local)
        extra: list[str] = []
    else:
        if manifest is not None and not replace:
            for key, entry in mine.items():
                declared = manifest["files"].get(key)
                if declared is not None and declared != entry and key not in remote:
                    raise _lost_race(root, manifest["written"], True)
        changed = []
        for key, full in local:
            info = remote.get(key)
            if info is None:
                changed.append((key, full))
            elif same_content(store, info, full):
                report.skipped.append(key)
            elif not replace:
                raise _exists_conflict(key)
            else:
                changed.append((key, full))
        extra = sorted(set(remote) - {k for k, _ in local}) if replace and folder else []
    total = sum(mine[k]["size"] for k, _ in changed)
    bar.start(total, len(changed))
    if report.created and not folder and total <= store.part_size:
        # One request, create-only too: a writer that does not claim by manifest (an older version) cannot
        # have written this name since our listing without one of us being told.
        data = local[0][1].read_bytes()
        try:
            store.put(root, data, create_only=True)
        except AlreadyExists:
            with contextlib.suppress(NotFound):
                store.delete(mkey)
            raise _lost_race(root, None, False) from None
        advance(len(data))
    else:
        store.put_files(changed, progress=advance, workers=workers)
    report.uploaded = [k for k, _ in changed]
    report.bytes_sent = total
    for key in extra:
        store.delete(key)
    report.deleted = extra
    if not report.created and report.changed:  # the manifest follows the content (a no-op push writes nothing)
        files = mine if replace or manifest is None else {**manifest["files"], **mine}
        store.put(mkey, _manifest_bytes(root, agent, files))


def delete(store: Store, agent: str, key: str) -> list[str]:
    """Delete one of the acting agent's artifacts (a file, or a whole folder, with its manifest); returns the keys deleted.

    Raises:
        NotFound: no such artifact.
        Conflict: it belongs to another agent, or it is a result (results are immutable).
    """
    root, _, _ = locate(key.rstrip("/"))
    if is_manifest(root) and not root.endswith("/" + MANIFEST):
        root = root[: -len(MANIFEST)]
    check_owner(root, agent)
    if root.startswith(paths.RESULTS):
        raise Conflict(f"{root} is a result, and results are immutable", hint=f"withdraw it with: collab invalidate {root} --reason TEXT")
    if store.exists(root):
        keys = [root]
    else:
        keys = [i.key for i in store.list(root + "/")]
    if not keys and store.exists(manifest_key(root, False)):
        keys = [manifest_key(root, False)]  # a large file's claim whose push never finished
    if not keys:
        raise NotFound(f"no artifact {root}", hint="list yours with: collab artifacts --agent YOUR_ID")
    for k in keys:
        store.delete(k)
    if keys == [root]:
        with contextlib.suppress(NotFound):
            store.delete(manifest_key(root, False))
    content = [k for k in keys if not is_manifest(k)]
    return content or keys


# -- unfinished uploads -------------------------------------------------------------------------------
#: An incomplete upload older than this is stale: no push runs that long between two parts.
STALE_UPLOAD = timedelta(hours=1)


def stale_age(text: str | timedelta) -> timedelta:
    """``--older-than``: a duration (``1h``, ``30m``, ``2d``), at most a year.

    Raises:
        InvalidInput: not a positive duration, or longer than a year.
    """
    if isinstance(text, timedelta):
        return text
    return parse_duration(text, maximum=timedelta(days=365), what="--older-than",
                          hint="e.g. --older-than 1h (an upload older than that is stale)")


def stale_uploads(store: Store, older_than: timedelta = STALE_UPLOAD) -> list[Upload]:
    """The space's incomplete multipart uploads (on a folder: unfinished staging files) older than ``older_than``.

    An interrupted push aborts its own; these are what pushes killed outright (``kill -9``, a lost
    machine) left behind, invisible to listings but stored (and billed) until aborted.
    """
    return store.stale_uploads("", older_than=older_than)


def upload_problems(uploads: list[Upload]) -> list[Problem]:
    """``collab doctor``'s lines for stale uploads."""
    out = []
    for u in uploads:
        age = f"started {format_duration(u.age)} ago" if u.age is not None else "of unknown age"
        out.append(Problem(u.key, f"an incomplete upload {age} (upload {u.upload_id[:16]}), left by a push "
                                  "that died; abort it with: collab doctor --abort-uploads"))
    return out


def abort_stale_uploads(store: Store, older_than: timedelta = STALE_UPLOAD) -> list[Upload]:
    """Abort every stale upload (see :func:`stale_uploads`); returns those aborted (not those gone meanwhile)."""
    return [u for u in stale_uploads(store, older_than) if store.abort_upload(u.key, u.upload_id)]


# -- pull -------------------------------------------------------------------------------------------
_PART_TAIL = re.compile(r"^(?:(\d{1,12})-)?[0-9a-f]{8}\.part$")


def _part_path(dest: Path) -> Path:
    """A download's temporary file beside ``dest``; its name carries this process's pid (see :func:`_clean_parts`)."""
    return dest.parent / f".{dest.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # a pull in another thread of this process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OverflowError, ValueError):
        return False
    except OSError:
        return True  # exists, but not ours to signal
    return True


def _clean_parts(dests: list[Path]) -> list[str]:
    """Remove the ``.part`` files that dead pulls left beside the files about to be written.

    A ``.part`` file is a pull's own when its name is ``.{file}.{pid}-{8 hex}.part`` for a
    file this pull writes; it is removed when no process has that pid (or, written by an
    older version, it has no pid at all). Other files are never touched.
    """
    names: dict[Path, set[str]] = {}
    for d in dests:
        names.setdefault(d.parent, set()).add(d.name)
    removed = []
    for folder, wanted in names.items():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(".part") or not entry.startswith("."):
                continue
            for name in wanted:
                head = f".{name}."
                m = _PART_TAIL.match(entry[len(head):]) if entry.startswith(head) else None
                if m is None or (m.group(1) is not None and _alive(int(m.group(1)))):
                    continue
                with contextlib.suppress(OSError):
                    (folder / entry).unlink()
                    removed.append(str(folder / entry))
                break
    return sorted(removed)


def _download(store: Store, info: ObjectInfo, dest: Path, advance: Callable[[int], None]) -> None:
    """Write one object to ``dest`` atomically: a temporary file beside it, size checked, then renamed."""
    tmp = _part_path(dest)
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


class _Expected:
    """The manifests' word on each key, fetched once per artifact and only when an ETag cannot tell."""

    def __init__(self, store: Store, listed: set[str] | None, prefix: str | None) -> None:
        self.store, self.listed, self.prefix = store, listed, prefix
        self.cache: dict[str, dict[str, Any]] = {}

    def entry(self, key: str) -> dict[str, Any] | None:
        try:
            root, _, folder = locate(key)
        except CollabError:
            return None
        mkey = manifest_key(root, folder)
        if mkey not in self.cache:
            known_absent = self.listed is not None and self.prefix is not None and mkey.startswith(self.prefix) \
                and mkey not in self.listed
            manifest = None if known_absent else read_manifest(self.store, root, folder)
            self.cache[mkey] = manifest["files"] if manifest else {}
        return self.cache[mkey].get(key)


def _verified(store: Store, info: ObjectInfo, path: Path, expected: _Expected) -> bool:
    """Whether the local file (already of the right size) holds the remote object's content.

    The S3 ETag decides when it can; otherwise the manifest's SHA-256; for a file neither
    can vouch for (a single small file on a local folder or in memory, an object written by
    another tool in other part sizes) the remote bytes are hashed, which costs no network
    on a local store."""
    verdict = etag_verdict(info, path, store.part_size)
    if verdict is not None:
        return verdict
    entry = expected.entry(info.key)
    if entry is not None and entry["size"] == info.size:
        return file_sha256(path) == entry["sha256"]
    return same_content(store, info, path)


def pull(store: Store, source: str, dest: str | os.PathLike[str], *, progress: Progress | None = None,
         workers: int = 8) -> PullReport:
    """Download a key, or every key under a prefix, to ``dest``; files already complete and verified are skipped.

    A single key goes to ``dest`` (or into it, if ``dest`` is a folder); a prefix
    goes into the folder ``dest``, keeping the paths below the prefix. Manifests are
    not downloaded. A local file of the right size whose content does not check out
    is downloaded again; leftover ``.part`` files of dead pulls are removed first.

    Raises:
        NotFound: nothing stored at ``source``.
        InvalidInput: ``source`` is not a valid key or prefix, or ``dest`` is a file where a folder is needed.
        Interrupted: SIGINT or SIGTERM; temporary files are removed.
    """
    source = source.strip()
    check_key(source.rstrip("/"))
    target = Path(dest)
    single = _head(store, source.rstrip("/")) if not source.endswith("/") else None
    if single is not None:
        out = target / source.rsplit("/", 1)[-1] if target.is_dir() or str(dest).endswith(("/", os.sep)) else target
        plan = [(single, out)]
        expected = _Expected(store, None, None)
    else:
        prefix = source.rstrip("/") + "/"
        listing = list(store.list(prefix))
        infos = [i for i in listing if not is_manifest(i.key)]
        if not infos:
            raise NotFound(f"nothing stored at {source}", hint="list artifacts with: collab artifacts")
        if target.exists() and not target.is_dir():
            raise InvalidInput(f"{target} is a file; a folder is needed for {prefix}", hint="give a folder as DEST")
        plan = [(i, target / i.key[len(prefix) :]) for i in infos]
        expected = _Expected(store, {i.key for i in listing if is_manifest(i.key)}, prefix)
    report = PullReport(source=source, dest=str(target))
    report.cleaned = _clean_parts([out for _, out in plan])
    todo = []
    for info, out in plan:
        if out.is_file() and out.stat().st_size == info.size:
            if _verified(store, info, out, expected):
                report.skipped.append(info.key)
                continue
            report.repaired.append(info.key)
        todo.append((info, out))
    bar = progress or _Quiet()
    bar.start(sum(i.size for i, _ in todo), len(todo))
    if todo:
        with _interruptible() as stop:
            advance = _guarded(stop, bar.advance)
            with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
                list(pool.map(lambda item: _download(store, item[0], item[1], advance), todo))
    report.downloaded = [i.key for i, _ in todo]
    report.bytes_received = sum(i.size for i, _ in todo)
    return report
