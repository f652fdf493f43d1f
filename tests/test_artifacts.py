"""Artifacts: naming and ownership, sync that skips unchanged files, atomic and resumable pulls."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from collabspace.domain import artifacts as artifact_files
from collabspace.domain.setup.presets import preset_spec
from collabspace.errors import Conflict, InvalidInput, NotFound, StoreError
from collabspace.space import Space
from collabspace.storage import ObjectInfo, Store, open_store


def snapshot(space: Space) -> dict[str, tuple[bytes, str | None]]:
    return {i.key: (space.store.get(i.key), i.etag) for i in space.store.list("")}


@pytest.fixture
def local_space(tmp_path) -> tuple[Space, Space]:
    """A local-folder GSM8K space, opened as agent-01 and as agent-02."""
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    return Space.open(url, agent="agent-01"), Space.open(url, agent="agent-02")


def make_folder(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_file_push_naming_noop_and_replace(local_space, tmp_path):
    me, _ = local_space
    script = tmp_path / "train_lora.py"
    script.write_text("print('v1')\n")
    report = me.push(str(script))
    assert report.key == "artifacts/scripts/train_lora_agent-01.py" and report.uploaded == [report.key]
    before = snapshot(me)
    again = me.push(str(script))
    assert (again.changed, again.skipped, again.bytes_sent) == (False, [report.key], 0)
    assert snapshot(me) == before  # a no-op: not even rewritten
    script.write_text("print('v2')\n")
    with pytest.raises(Conflict) as err:
        me.push(str(script))
    assert err.value.message == "artifacts/scripts/train_lora_agent-01.py already exists with other content; nothing was uploaded"
    assert "--replace" in err.value.hint
    assert snapshot(me) == before
    assert me.push(str(script), replace=True).uploaded == [report.key]
    assert me.cat(report.key) == b"print('v2')\n"


@pytest.mark.parametrize(
    ("filename", "kind", "name", "key"),
    [
        ("eval_baseline_agent-01.json", None, None, "artifacts/data/eval_baseline_agent-01.json"),  # results: submit only
        ("prompts.jsonl", None, None, "artifacts/data/prompts_agent-01.jsonl"),
        ("model.tar.gz", "checkpoints", None, "artifacts/checkpoints/model_agent-01.tar.gz"),
        ("x.py", "data", "My_Name.v2", "artifacts/data/My_Name.v2_agent-01.py"),
        ("notes.txt", "analysis", None, "artifacts/analysis/notes_agent-01.txt"),  # a new folder is fine
    ],
)
def test_default_kinds_and_names(local_space, tmp_path, filename, kind, name, key):
    me, _ = local_space
    (tmp_path / filename).write_text("{}")
    assert me.push(str(tmp_path / filename), kind=kind, name=name).key == key


def test_bad_inputs_change_nothing(local_space, tmp_path):
    me, _ = local_space
    (tmp_path / "f.py").write_text("x")
    (tmp_path / "empty").mkdir()
    before = snapshot(me)
    cases = [
        (dict(path=tmp_path / "f.py", name="../../LEADERBOARD"), InvalidInput, "invalid artifact name '../../LEADERBOARD'"),
        (dict(path=tmp_path / "f.py", name="a/b"), InvalidInput, "invalid artifact name 'a/b'"),
        (dict(path=tmp_path / "f.py", name=""), InvalidInput, "invalid artifact name ''"),
        (dict(path=tmp_path / "f.py", kind="../results"), InvalidInput, "invalid kind '../results'"),
        (dict(path=tmp_path / "f.py", kind="Scripts"), InvalidInput, "invalid kind 'Scripts'"),
        (dict(path=tmp_path / "missing.py"), NotFound, "no file or folder at"),
        (dict(path=tmp_path / "empty"), InvalidInput, "is an empty folder"),
    ]
    for kwargs, error, message in cases:
        path = kwargs.pop("path")
        with pytest.raises(error) as err:
            me.push(str(path), **kwargs)
        assert message in err.value.message and "\n" not in err.value.message
        assert err.value.hint
    assert snapshot(me) == before


def test_another_agents_artifact_cannot_be_deleted_or_overwritten(local_space, tmp_path):
    me, other = local_space
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "a.bin").write_bytes(b"theirs")
    theirs = other.push(str(tmp_path / "w"), name="lora")
    assert theirs.key == "artifacts/checkpoints/lora_agent-02"
    mine_result = me.submit("r", score=0.1)
    before = snapshot(me)
    with pytest.raises(Conflict) as err:
        me.delete_artifact("artifacts/checkpoints/lora_agent-02/a.bin")
    assert err.value.message == (
        "artifacts/checkpoints/lora_agent-02 belongs to agent-02; you are agent-01, and only the owner may change or delete it")
    assert err.value.hint.startswith("push a copy under your own name: collab pull artifacts/checkpoints/lora_agent-02")
    with pytest.raises(Conflict, match="has no agent id in its name"):
        me.delete_artifact("artifacts/README.md")
    with pytest.raises(Conflict, match="is a result, and results are immutable"):
        me.delete_artifact(mine_result.key)
    # pushing the same local folder under the same name as agent-01 makes agent-01's own copy
    assert me.push(str(tmp_path / "w"), name="lora").key == "artifacts/checkpoints/lora_agent-01"
    assert other.cat("artifacts/checkpoints/lora_agent-02/a.bin") == b"theirs"
    assert {k: v for k, v in snapshot(me).items() if "lora_agent-01" not in k} == before
    # a result cannot be written or changed by a push, even with --replace: results enter through submit
    (tmp_path / "r_agent-01.json").write_text('{"agent_id": "agent-01", "experiment": "r", "score": 1.0}')
    with pytest.raises(InvalidInput, match="is written only by collab submit") as err:
        me.push(str(tmp_path / "r_agent-01.json"), kind="results", name="r", replace=True)
    assert "collab submit" in err.value.hint
    assert me.delete_artifact("artifacts/checkpoints/lora_agent-01") == ["artifacts/checkpoints/lora_agent-01/a.bin"]


def test_folder_sync_skips_unchanged_and_replace_mirrors(local_space, tmp_path):
    me, _ = local_space
    folder = make_folder(tmp_path / "ck", {"config.json": b"{}", "w/0.bin": b"0" * 1000, "w/1.bin": b"1" * 1000})
    first = me.push(str(folder), name="run")
    assert first.key == "artifacts/checkpoints/run_agent-01" and len(first.uploaded) == 3
    (folder / "w" / "2.bin").write_bytes(b"2" * 500)  # a new file: added without --replace (an interrupted push resumes)
    added = me.push(str(folder), name="run")
    assert added.uploaded == ["artifacts/checkpoints/run_agent-01/w/2.bin"] and len(added.skipped) == 3
    (folder / "w" / "1.bin").write_bytes(b"X" * 1000)  # same size, other content
    with pytest.raises(Conflict, match="run_agent-01/w/1.bin already exists with other content"):
        me.push(str(folder), name="run")
    (folder / "config.json").unlink()
    mirrored = me.push(str(folder), name="run", replace=True)
    assert mirrored.uploaded == ["artifacts/checkpoints/run_agent-01/w/1.bin"]
    assert mirrored.deleted == ["artifacts/checkpoints/run_agent-01/config.json"]
    assert mirrored.bytes_sent == 1000
    assert sorted(i.key for i in me.store.list("artifacts/checkpoints/run_agent-01/")) == [
        "artifacts/checkpoints/run_agent-01/.collab-manifest.json",  # the claim and checksums (see artifacts.py)
        "artifacts/checkpoints/run_agent-01/w/0.bin", "artifacts/checkpoints/run_agent-01/w/1.bin",
        "artifacts/checkpoints/run_agent-01/w/2.bin"]


def test_listing_owner_kind_size(local_space, tmp_path):
    me, other = local_space
    (tmp_path / "a.py").write_text("abc")
    me.push(str(tmp_path / "a.py"))
    other.push(str(make_folder(tmp_path / "ck", {"x": b"12345", "y/z": b"67"})), name="big")
    other.store.put("artifacts/golf-run_agent-02/train_gpt.py", b"print()")  # Parameter Golf's layout
    listed = {a.key: (a.owner, a.kind, a.size, a.files, a.folder) for a in me.artifacts()}
    assert listed == {
        "artifacts/scripts/a_agent-01.py": ("agent-01", "scripts", 3, 1, False),
        "artifacts/checkpoints/big_agent-02": ("agent-02", "checkpoints", 7, 2, True),
        "artifacts/golf-run_agent-02": ("agent-02", "", 7, 1, True),
    }
    assert [a.key for a in me.artifacts(agent="agent-01")] == ["artifacts/scripts/a_agent-01.py"]
    assert [a.key for a in me.artifacts(kind="checkpoints")] == ["artifacts/checkpoints/big_agent-02"]


def test_pull_file_folder_and_resume(local_space, tmp_path):
    me, _ = local_space
    folder = make_folder(tmp_path / "ck", {f"f{i}.bin": os.urandom(3000 + i) for i in range(6)})
    me.push(str(folder), name="ck")
    out = tmp_path / "out"
    report = me.pull("artifacts/checkpoints/ck_agent-01", str(out))
    assert len(report.downloaded) == 6 and report.bytes_received == sum(3000 + i for i in range(6))
    assert all((out / f"f{i}.bin").read_bytes() == (folder / f"f{i}.bin").read_bytes() for i in range(6))
    (out / "f1.bin").unlink()
    (out / "f2.bin").write_bytes((folder / "f2.bin").read_bytes()[:100])  # a half-written file from elsewhere
    resumed = me.pull("artifacts/checkpoints/ck_agent-01/", str(out))
    assert sorted(resumed.downloaded) == ["artifacts/checkpoints/ck_agent-01/f1.bin", "artifacts/checkpoints/ck_agent-01/f2.bin"]
    assert len(resumed.skipped) == 4
    assert (out / "f2.bin").read_bytes() == (folder / "f2.bin").read_bytes()
    single = me.pull("artifacts/checkpoints/ck_agent-01/f0.bin", str(out) + "/")
    assert single.skipped == ["artifacts/checkpoints/ck_agent-01/f0.bin"]
    me.pull("artifacts/checkpoints/ck_agent-01/f0.bin", str(tmp_path / "renamed.bin"))
    assert (tmp_path / "renamed.bin").read_bytes() == (folder / "f0.bin").read_bytes()
    with pytest.raises(NotFound, match="nothing stored at artifacts/checkpoints/none_agent-01"):
        me.pull("artifacts/checkpoints/none_agent-01", str(out))
    with pytest.raises(InvalidInput, match="invalid object key"):
        me.pull("../etc/passwd", str(out))
    with pytest.raises(InvalidInput, match="is a file; a folder is needed"):
        me.pull("artifacts/checkpoints/ck_agent-01", str(tmp_path / "renamed.bin"))


class DroppingStore(Store):
    """A real local store whose downloads stop after the first chunk, like a dropped connection."""

    def __init__(self, inner: Store, *, short: bool) -> None:
        self.inner, self.short, self.url = inner, short, inner.url

    def _iter_get(self, key: str) -> Iterator[bytes]:
        data = self.inner.get(key)
        yield data[:10]
        if not self.short:
            raise StoreError(f"store error on {key!r}: connection reset")

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        return self.inner.list(prefix, start_after=start_after)

    def _head(self, key: str) -> ObjectInfo:
        return self.inner.head(key)


@pytest.mark.parametrize("short", [True, False])
def test_pull_never_leaves_a_half_written_file(local_space, tmp_path, short):
    me, _ = local_space
    (tmp_path / "w.bin").write_bytes(b"new" * 1000)
    me.push(str(tmp_path / "w.bin"), kind="checkpoints")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "w_agent-01.bin").write_bytes(b"old content")
    broken = DroppingStore(open_store(me.url), short=short)
    with pytest.raises(StoreError) as err:
        artifact_files.pull(broken, "artifacts/checkpoints/w_agent-01.bin", dest)
    if short:
        assert err.value.message.startswith("artifacts/checkpoints/w_agent-01.bin: received 10 bytes, expected 3000")
    assert os.listdir(dest) == ["w_agent-01.bin"]  # no temporary file left behind
    assert (dest / "w_agent-01.bin").read_bytes() == b"old content"


def test_multipart_upload_and_etag_sync_on_s3(s3_bucket, tmp_path):
    url = f"s3://{s3_bucket}/space"
    Space.init(url, preset_spec("gsm8k"))
    me = Space.open(url, agent="agent-01")
    big = os.urandom(me.store.part_size * 2 + 12345)  # three parts
    folder = make_folder(tmp_path / "ck", {"big.bin": big, "small.txt": b"hello"})
    seen: list[int] = []

    class Bar:
        def start(self, total_bytes: int, files: int) -> None:
            seen.append(total_bytes)

        def advance(self, nbytes: int) -> None:
            seen.append(nbytes)

    first = me.push(str(folder), name="ck", progress=Bar())
    assert first.bytes_sent == len(big) + 5 and seen[0] == len(big) + 5 and sum(seen[1:]) == len(big) + 5
    infos = {i.key.rsplit("/", 1)[-1]: i for i in me.store.list("artifacts/checkpoints/ck_agent-01/")}
    assert infos["big.bin"].etag.strip('"').endswith("-3")  # a multipart upload
    # unchanged is decided from the listing's ETags alone, with no download
    assert artifact_files.etag_verdict(infos["big.bin"], folder / "big.bin", me.store.part_size) is True
    assert artifact_files.etag_verdict(infos["small.txt"], folder / "small.txt", me.store.part_size) is True
    assert me.push(str(folder), name="ck").changed is False
    out = tmp_path / "out"
    me.pull("artifacts/checkpoints/ck_agent-01", str(out))
    assert (out / "big.bin").read_bytes() == big


def test_cli_push_pull_artifacts(memory_url, run_cli, tmp_path):
    Space.init(memory_url, preset_spec("gsm8k"))
    env = {"COLLAB_SPACE": memory_url, "COLLAB_AGENT": "agent-01"}
    (tmp_path / "train.py").write_text("print(1)\n")
    res = run_cli("push", tmp_path / "train.py", env=env)
    assert res.code == 0 and res.out.strip() == "artifacts/scripts/train_agent-01.py"
    res = run_cli("push", tmp_path / "train.py", "--format", "json", env=env)
    assert json.loads(res.out)["changed"] is False
    (tmp_path / "train.py").write_text("print(2)\n")
    res = run_cli("push", tmp_path / "train.py", env=env)
    assert res.code == 1 and res.err.splitlines()[0].startswith("error: artifacts/scripts/train_agent-01.py already exists")
    res = run_cli("artifacts", "--format", "json", "--from", "agent-01", env=env)
    assert [a["key"] for a in json.loads(res.out)] == ["artifacts/scripts/train_agent-01.py"]
    res = run_cli("pull", "artifacts/scripts/train_agent-01.py", tmp_path / "got.py", env=env)
    assert res.code == 0 and (tmp_path / "got.py").read_text() == "print(1)\n"
    res = run_cli("rm", "artifacts/scripts/train_agent-01.py", env={**env, "COLLAB_AGENT": "agent-02"})
    assert res.code == 1 and "belongs to agent-01; you are agent-02" in res.err
