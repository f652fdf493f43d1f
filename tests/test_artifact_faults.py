"""Artifacts under faults: same-name races, killed pushes and pulls, corrupted local copies, names and kinds
that would claim what is not the pusher's (issue 11, break 7 and two items of break 11).

Races and kills run in real processes against the real S3 server of ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collabspace.domain import artifacts as artifact_files
from collabspace.domain.setup.presets import preset_spec
from collabspace.errors import Conflict, InvalidInput, NotFound
from collabspace.space import Space
from collabspace.storage import ObjectInfo, Store, open_store

PART = 5 * 1024 * 1024  # S3's smallest part: multipart uploads with few bytes


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )


def _wait_for(proc: subprocess.Popen[str], line: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = proc.stdout.readline()
        if got.strip() == line:
            return
        if not got and proc.poll() is not None:
            raise AssertionError(f"child exited {proc.returncode} before {line!r}: {proc.stderr.read()}")
    raise AssertionError(f"no {line!r} within {timeout}s")


def _s3_space(bucket: str) -> Space:
    url = f"s3://{bucket}/space"
    Space.init(url, preset_spec("gsm8k"))
    return Space.open(url, agent="agent-01")


def _uploads(endpoint: str, bucket: str) -> list[dict]:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").list_multipart_uploads(
        Bucket=bucket).get("Uploads", [])


# -- 1. one winner for a new name --------------------------------------------------------------------
_RACER = """
    import json, sys, time
    from pathlib import Path
    from collabspace.domain import artifacts
    from collabspace.errors import CollabError
    from collabspace.storage import ObjectInfo, Store, open_store

    url, tag, shape, rounds, tmp = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
    store = open_store(url)
    store.part_size = %d
    sources = []
    for i in range(rounds):
        if shape == "folder":
            src = tmp / f"{tag}-{i}" / f"race{i}"
            src.mkdir(parents=True)
            (src / "a.txt").write_text(f"{tag} a {i}")
            (src / "b.txt").write_text(f"{tag} b {i}")
        else:
            src = tmp / f"{tag}-{i}" / f"race{i}.bin"
            src.parent.mkdir(parents=True)
            size = store.part_size + 1000 if shape == "big" else 20
            src.write_bytes((f"{tag}-{i}-".encode() * size)[:size])
        sources.append(src)
    print("ready", flush=True)
    t0 = float(sys.stdin.readline())
    for i, src in enumerate(sources):
        while time.time() < t0 + i * 0.5:
            time.sleep(0.0005)
        try:
            r = artifacts.push(store, "agent-01", src, kind="data")
            out = {"ok": True, "key": r.key, "uploaded": r.uploaded}
        except CollabError as exc:
            out = {"ok": False, "error": type(exc).__name__, "message": exc.message, "hint": exc.hint}
        print(json.dumps(out), flush=True)
""" % PART


@pytest.mark.slow
@pytest.mark.parametrize(("shape", "rounds"), [("file", 8), ("folder", 4), ("big", 3)])
def test_same_new_name_from_two_processes_has_one_winner(s3_bucket, tmp_path, shape, rounds):
    """Two processes of one agent push different content under the same new name at the same instant:
    exactly one is told "uploaded", the other gets a Conflict with a hint, and the store holds the winner's bytes."""
    me = _s3_space(s3_bucket)
    procs = {tag: _python(_RACER, me.url, tag, shape, str(rounds), str(tmp_path)) for tag in ("p", "q")}
    for proc in procs.values():
        _wait_for(proc, "ready")
    t0 = time.time() + 0.5
    for proc in procs.values():
        proc.stdin.write(f"{t0}\n")
        proc.stdin.flush()
    outcomes = {}
    for tag, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        outcomes[tag] = [json.loads(line) for line in out.splitlines()]
    both_told_uploaded = 0
    for i in range(rounds):
        p, q = outcomes["p"][i], outcomes["q"][i]
        both_told_uploaded += p["ok"] and q["ok"]
        assert [p["ok"], q["ok"]].count(True) == 1, (i, p, q)
        winner, loser = ("p", q) if p["ok"] else ("q", p)
        assert loser["error"] == "Conflict" and "--name" in loser["hint"], loser
        src = tmp_path / f"{winner}-{i}" / (f"race{i}" if shape == "folder" else f"race{i}.bin")
        key = outcomes[winner][i]["key"]
        if shape == "folder":
            assert me.store.get(f"{key}/a.txt") == (src / "a.txt").read_bytes()
            assert me.store.get(f"{key}/b.txt") == (src / "b.txt").read_bytes()
        else:
            assert me.store.get(key) == src.read_bytes()
    assert both_told_uploaded == 0
    assert _uploads(os.environ["AWS_ENDPOINT_URL"], s3_bucket) == []


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_small_and_a_large_file_racing_for_one_new_name_have_one_winner(request, tmp_path, backend):
    """A small file (one request) and a large one (a multipart upload) pushed under the same new name at the same
    instant, from two processes: small files used to be claimed by their content and large ones by a manifest, so
    both could pass. Now the manifest claims every name: one is told "uploaded", the other gets a Conflict, and the
    store holds the winner's bytes, described by its manifest."""
    if backend == "s3":
        me = _s3_space(request.getfixturevalue("s3_bucket"))
    else:
        Space.init(str(tmp_path / "space"), preset_spec("gsm8k"))
        me = Space.open(str(tmp_path / "space"), agent="agent-01")
    rounds = 4
    shapes = {"p": "file", "q": "big"}
    procs = {tag: _python(_RACER, me.url, tag, shape, str(rounds), str(tmp_path)) for tag, shape in shapes.items()}
    for proc in procs.values():
        _wait_for(proc, "ready")
    t0 = time.time() + 0.5
    for proc in procs.values():
        proc.stdin.write(f"{t0}\n")
        proc.stdin.flush()
    outcomes = {}
    for tag, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        outcomes[tag] = [json.loads(line) for line in out.splitlines()]
    for i in range(rounds):
        p, q = outcomes["p"][i], outcomes["q"][i]
        assert [p["ok"], q["ok"]].count(True) == 1, (i, p, q)
        winner, loser = ("p", q) if p["ok"] else ("q", p)
        assert loser["error"] == "Conflict" and "--name" in loser["hint"], loser
        src = tmp_path / f"{winner}-{i}" / f"race{i}.bin"
        key = outcomes[winner][i]["key"]
        assert me.store.get(key) == src.read_bytes()
        manifest = artifact_files.read_manifest(me.store, key, False)
        assert manifest["files"][key]["size"] == src.stat().st_size
    if backend == "s3":
        assert _uploads(os.environ["AWS_ENDPOINT_URL"], me.store.s3.bucket) == []


class StaleLook(Store):
    """A real store whose existence checks answer as they did a moment ago: the name looked free, and another
    process (or our own write whose response was lost) created it since."""

    def __init__(self, inner: Store) -> None:
        self.inner, self.url, self.part_size = inner, inner.url, inner.part_size

    def _head(self, key: str) -> ObjectInfo:
        raise NotFound(f"{key!r} not found")

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        return iter([])

    def _get(self, key: str) -> bytes:
        return self.inner._get(key)

    def _put(self, key: str, data: bytes, create_only: bool) -> None:
        self.inner._put(key, data, create_only)

    def _put_file(self, key, path, progress) -> None:
        self.inner._put_file(key, path, progress)

    def _iter_get(self, key: str) -> Iterator[bytes]:
        return self.inner._iter_get(key)


@pytest.mark.parametrize("shape", ["file", "folder"])
def test_a_create_lost_to_the_same_bytes_is_a_success_and_to_other_bytes_a_conflict(local_space_pair, tmp_path, shape):
    me, _ = local_space_pair
    src = tmp_path / ("ck" if shape == "folder" else "a.py")
    if shape == "folder":
        src.mkdir()
        (src / "w.bin").write_bytes(b"one")
    else:
        src.write_text("x = 1\n")
    first = me.push(str(src))
    assert first.created and first.changed
    stale = StaleLook(me.store)
    artifact_files.push(stale, "agent-01", src)  # the same bytes: the same artifact, a success
    if shape == "folder":
        (src / "w.bin").write_bytes(b"two")
    else:
        src.write_text("x = 2\n")
    with pytest.raises(Conflict) as err:
        artifact_files.push(stale, "agent-01", src, replace=True)  # a new name is create-only, even with --replace
    assert "is being created by another push with other content" in err.value.message and "--name" in err.value.hint
    key = first.key + ("/w.bin" if shape == "folder" else "")
    assert me.store.get(key) == (b"one" if shape == "folder" else b"x = 1\n")


@pytest.fixture
def local_space_pair(tmp_path) -> tuple[Space, Space]:
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    return Space.open(url, agent="agent-01"), Space.open(url, agent="agent-02")


# -- 2. a killed push aborts its multipart uploads ----------------------------------------------------
_PUSHER = """
    import sys, time
    from pathlib import Path
    from collabspace.domain import artifacts
    from collabspace.storage import ObjectInfo, Store, open_store

    store = open_store(sys.argv[1])
    store.part_size = %d

    class Slow:
        def start(self, total_bytes, files):
            pass

        def advance(self, nbytes):
            print("progress", flush=True)
            time.sleep(0.3)

    artifacts.push(store, "agent-01", Path(sys.argv[2]), kind="checkpoints", name="big", progress=Slow())
    print("done", flush=True)
""" % PART


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "files"), [(signal.SIGTERM, 3), (signal.SIGTERM, 1), (signal.SIGINT, 3)])
def test_killed_push_leaves_no_incomplete_multipart_upload(s3_bucket, tmp_path, signum, files):
    """SIGTERM used to kill the push on the spot, leaving its multipart uploads on the server; now every upload in
    flight (in worker threads, or in the main thread for one file) stops at its next part and is aborted.
    SIGINT already aborted (obstore aborts when the parts iterator raises); kept as a guard."""
    me = _s3_space(s3_bucket)
    me.store.part_size = PART
    folder = tmp_path / "ck"
    folder.mkdir()
    for i in range(files):
        (folder / f"w{i}.bin").write_bytes(os.urandom(PART * 2 + 100))  # three parts each
    proc = _python(_PUSHER, me.url, str(folder if files > 1 else folder / "w0.bin"))
    _wait_for(proc, "progress")
    time.sleep(0.5)
    proc.send_signal(signum)
    proc.communicate(timeout=60)
    assert proc.returncode != 0  # it was interrupted, not finished
    assert _uploads(os.environ["AWS_ENDPOINT_URL"], s3_bucket) == []
    # the interrupted push holds the name (its manifest); pushing the same content again completes it
    if files > 1:
        done = artifact_files.push(me.store, "agent-01", folder, kind="checkpoints", name="big")
        key = done.key
        assert all(me.store.get(f"{key}/w{i}.bin") == (folder / f"w{i}.bin").read_bytes() for i in range(files))
    else:
        done = artifact_files.push(me.store, "agent-01", folder / "w0.bin", kind="checkpoints", name="big")
        assert me.store.get(done.key) == (folder / "w0.bin").read_bytes()


def test_a_dead_pushs_claim_is_told_and_can_be_taken_over_or_removed(local_space_pair, tmp_path):
    """A push killed after its claim: the name is held (not listed, as nothing is in it); other content is refused
    with a hint to --replace; the owner can take it over, or remove the claim with rm."""
    me, _ = local_space_pair
    me.store.put("artifacts/checkpoints/run_agent-01/.collab-manifest.json", json.dumps(
        {"collab_manifest": 1, "written": "2026-12-01T20:00:00+00:00", "files": {
            "artifacts/checkpoints/run_agent-01/w.bin": {"size": 3, "sha256": "0" * 64}}}).encode())
    assert me.artifacts() == []
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"new")
    with pytest.raises(Conflict) as err:
        me.push(str(folder))
    assert "is being created by another push with other content (its manifest was written 2026-12-01" in err.value.message
    assert "--replace" in err.value.hint and "--name" in err.value.hint
    assert me.push(str(folder), replace=True).uploaded == ["artifacts/checkpoints/run_agent-01/w.bin"]
    manifest = artifact_files.read_manifest(me.store, "artifacts/checkpoints/run_agent-01", True)
    assert manifest["files"]["artifacts/checkpoints/run_agent-01/w.bin"]["size"] == 3
    assert me.delete_artifact("artifacts/checkpoints/run_agent-01") == ["artifacts/checkpoints/run_agent-01/w.bin"]
    assert list(me.store.list("artifacts/checkpoints/")) == []
    # a large file's claim beside it goes the same way
    me.store.put("artifacts/data/big_agent-01.bin.collab-manifest.json", b"{}")
    assert me.delete_artifact("artifacts/data/big_agent-01.bin") == ["artifacts/data/big_agent-01.bin.collab-manifest.json"]


# -- 3. a killed pull's .part files are removed -------------------------------------------------------
_PULLER = """
    import sys, time
    from collabspace.domain import artifacts
    from collabspace.storage import ObjectInfo, Store, open_store

    class Slow:
        def start(self, total_bytes, files):
            pass

        def advance(self, nbytes):
            print("progress", flush=True)
            time.sleep(0.2)

    artifacts.pull(open_store(sys.argv[1]), sys.argv[2], sys.argv[3], progress=Slow(), workers=2)
    print("done", flush=True)
"""


def _parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.part"))


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_killed_pull_leaves_no_part_files_after_the_next_pull(local_space_pair, tmp_path, signum):
    me, _ = local_space_pair
    folder = tmp_path / "ck"
    folder.mkdir()
    for i in range(2):
        (folder / f"w{i}.bin").write_bytes(os.urandom(6 << 20))
    me.push(str(folder), name="ck")
    out = tmp_path / "out"
    proc = _python(_PULLER, me.url, "artifacts/checkpoints/ck_agent-01", str(out))
    _wait_for(proc, "progress")
    time.sleep(0.3)
    proc.send_signal(signum)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    if signum == signal.SIGTERM:
        assert _parts(out) == []  # cleaned up on the way out
    else:
        assert _parts(out)  # SIGKILL cannot be caught: the next pull must clean up
    report = me.pull("artifacts/checkpoints/ck_agent-01", str(out))
    assert _parts(out) == []
    assert all((out / f"w{i}.bin").read_bytes() == (folder / f"w{i}.bin").read_bytes() for i in range(2))
    if signum == signal.SIGKILL:
        assert report.cleaned


def test_pull_keeps_another_live_pulls_part_file(local_space_pair, tmp_path):
    """A .part file whose writer is alive (here: this very process, mid-pull elsewhere) is not touched."""
    me, _ = local_space_pair
    (tmp_path / "w.bin").write_bytes(b"w" * 100)
    me.push(str(tmp_path / "w.bin"), kind="data")
    out = tmp_path / "out"
    out.mkdir()
    live = out / f".w_agent-01.bin.{os.getpid()}-deadbeef.part"
    live.write_bytes(b"half")
    dead = out / ".w_agent-01.bin.999999999-deadbeef.part"  # no such process
    dead.write_bytes(b"half")
    legacy = out / ".w_agent-01.bin.0123abcd.part"  # written by a version without pids in the name
    legacy.write_bytes(b"half")
    unrelated = out / ".other.bin.999999999-deadbeef.part"
    unrelated.write_bytes(b"not ours to judge")
    report = me.pull("artifacts/data/w_agent-01.bin", str(out) + "/")
    assert live.exists() and unrelated.exists() and not dead.exists() and not legacy.exists()
    assert sorted(Path(p).name for p in report.cleaned) == sorted([dead.name, legacy.name])


# -- 4. a corrupted local copy of the right size is re-downloaded ---------------------------------------
def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _check_repair(me: Space, key: str, src: Path, out: Path) -> None:
    me.pull(key, str(out))
    got = out / src.name if out.is_dir() else out
    assert got.read_bytes() == src.read_bytes()
    _corrupt(got)
    assert got.stat().st_size == src.stat().st_size
    again = me.pull(key, str(out))
    assert got.read_bytes() == src.read_bytes()
    assert len(again.downloaded) == 1 and again.repaired == again.downloaded
    assert me.pull(key, str(out)).skipped  # intact now: verified, not downloaded


def test_corrupted_local_copy_is_redownloaded_local_store(local_space_pair, tmp_path):
    me, _ = local_space_pair
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "w.bin").write_bytes(os.urandom(5000))
    me.push(str(folder), name="ck")
    _check_repair(me, "artifacts/checkpoints/ck_agent-01", folder / "w.bin", tmp_path / "out")
    (tmp_path / "s.bin").write_bytes(os.urandom(3000))
    key = me.push(str(tmp_path / "s.bin"), kind="data").key
    _check_repair(me, key, tmp_path / "s.bin", tmp_path / "single.bin")


@pytest.mark.slow
@pytest.mark.parametrize("size", [3000, PART * 2 + 7])
def test_corrupted_local_copy_is_redownloaded_s3(s3_bucket, tmp_path, size):
    me = _s3_space(s3_bucket)
    me.store.part_size = PART
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "w.bin").write_bytes(os.urandom(size))
    me.push(str(folder), name="ck")
    _check_repair(me, "artifacts/checkpoints/ck_agent-01", folder / "w.bin", tmp_path / "out")


# -- 5. names that claim another agent, and results that skip submit -------------------------------------
@pytest.mark.parametrize(
    ("filename", "kwargs"),
    [
        ("evil.py_agent-01", {}),
        ("evil.py_agent-01", {"name": "evil"}),
        ("evil_agent-01", {"folder": True}),
        ("x.tar.gz_agent-01", {}),
        ("evil_agent-01.py", {}),
        ("f.py", {"name": "evil.py_agent-01"}),
        ("f.py", {"name": "x_agent-01", "kind": "data"}),
        ("f.py_agent-01", {"kind": "scripts"}),
    ],
)
def test_a_name_cannot_claim_another_agent(local_space_pair, tmp_path, filename, kwargs):
    _, other = local_space_pair
    path = tmp_path / filename
    if kwargs.pop("folder", False):
        path.mkdir()
        (path / "f.txt").write_text("x")
    else:
        path.write_text("print('pwned')\n")
    report = other.push(str(path), **kwargs)
    assert artifact_files.name_owner(report.key.rsplit("/", 1)[-1]) == "agent-02", report.key
    assert [a.owner for a in other.artifacts()] == ["agent-02"]
    assert other.artifacts(agent="agent-01") == []


def test_cli_push_of_evil_name_is_owned_by_the_pusher(memory_url, run_cli, tmp_path):
    Space.init(memory_url, preset_spec("gsm8k"))
    (tmp_path / "evil.py_agent-01").write_text("print('pwned')\n")
    res = run_cli("push", tmp_path / "evil.py_agent-01", env={"COLLAB_SPACE": memory_url, "COLLAB_AGENT": "agent-02"})
    assert res.code == 0, res
    assert artifact_files.name_owner(res.out.strip().rsplit("/", 1)[-1]) == "agent-02"


@pytest.mark.parametrize(
    ("filename", "kind"),
    [("smear.json", "results"), ("smear.items.jsonl", "results"), ("notes.txt", "results"), ("dir", "results")],
)
def test_results_enter_only_through_submit(local_space_pair, tmp_path, filename, kind):
    me, _ = local_space_pair
    path = tmp_path / filename
    if filename == "dir":
        path.mkdir()
        (path / "r_agent-01.json").write_text("{}")
    else:
        path.write_text('{"agent_id": "agent-01", "experiment": "smear", "score": 0.99}')
    before = sorted(i.key for i in me.store.list(""))
    with pytest.raises(InvalidInput) as err:
        me.push(str(path), kind=kind)
    assert "collab submit" in err.value.hint
    assert sorted(i.key for i in me.store.list("")) == before


def test_a_json_file_goes_to_data_by_default(local_space_pair, tmp_path):
    me, _ = local_space_pair
    (tmp_path / "smear.json").write_text('{"score": 0.99}')
    report = me.push(str(tmp_path / "smear.json"))
    assert report.key == "artifacts/data/smear_agent-01.json"
    assert not any(i.key.startswith("artifacts/results/smear") for i in me.store.list("artifacts/results/"))


def test_cli_push_results_refused_with_submit_hint(memory_url, run_cli, tmp_path):
    Space.init(memory_url, preset_spec("gsm8k"))
    (tmp_path / "smear.json").write_text('{"agent_id": "agent-01", "experiment": "smear", "score": 0.99}')
    res = run_cli("push", tmp_path / "smear.json", "--kind", "results",
                  env={"COLLAB_SPACE": memory_url, "COLLAB_AGENT": "agent-01"})
    assert res.code == 1
    lines = res.err.splitlines()
    assert lines[0].startswith("error: ") and any(line.startswith("hint: ") and "collab submit" in line for line in lines)


def test_cli_pull_says_what_it_repaired_and_cleaned(tmp_path, run_cli):
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    env = {"COLLAB_SPACE": url, "COLLAB_AGENT": "agent-01"}
    (tmp_path / "w.bin").write_bytes(os.urandom(4000))
    assert run_cli("push", tmp_path / "w.bin", "--kind", "data", env=env).code == 0
    out = tmp_path / "out"
    out.mkdir()
    assert run_cli("pull", "artifacts/data/w_agent-01.bin", str(out) + "/", env=env).code == 0
    _corrupt(out / "w_agent-01.bin")
    (out / ".w_agent-01.bin.999999999-0badf00d.part").write_bytes(b"half")
    res = run_cli("pull", "artifacts/data/w_agent-01.bin", str(out) + "/", env=env)
    assert res.code == 0, res
    assert "re-downloaded 1 local file(s) of the right size whose content did not match" in res.err
    assert "removed 1 leftover partial download(s)" in res.err
    assert (out / "w_agent-01.bin").read_bytes() == (tmp_path / "w.bin").read_bytes() and _parts(out) == []
    res = run_cli("pull", "artifacts/data/w_agent-01.bin", str(out) + "/", "--format", "json", env=env)
    assert json.loads(res.out)["skipped"] == ["artifacts/data/w_agent-01.bin"]
