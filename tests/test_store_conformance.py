"""One conformance suite, run against every store: memory, local folder, real S3 on loopback."""

from __future__ import annotations

import multiprocessing as mp
import threading
import uuid

import pytest

from collabspace.errors import AlreadyExists, CollabError, InvalidInput, NotFound, StoreError
from collabspace.storage import Store, open_store

from fake_hub import FakeHfApi

ATOMIC = ["memory", "local", "s3"]


def _make_store(kind: str, request, tmp_path) -> Store:
    if kind == "memory":
        return open_store(f"memory://conf-{uuid.uuid4().hex}")
    if kind == "local":
        return open_store(str(tmp_path / "space"), create=True)
    if kind == "hf":
        from collabspace.storage.hf import HFBucketStore

        api = FakeHfApi()
        api.create_bucket("alice/conformance")
        return HFBucketStore("alice/conformance", "some/prefix", api=api, sleep=lambda s: None)
    return open_store(f"s3://{request.getfixturevalue('s3_bucket')}/some/prefix")


@pytest.fixture(params=ATOMIC + ["hf"])
def store(request, tmp_path) -> Store:
    """Every store; the Hugging Face one runs on a fake HfApi with the real signatures."""
    return _make_store(request.param, request, tmp_path)


@pytest.fixture(params=ATOMIC)
def atomic_store(request, tmp_path) -> Store:
    """Stores whose create-only write is atomic (the Hub's native API has no conditional write)."""
    return _make_store(request.param, request, tmp_path)


def test_read_your_write(store):
    store.put("a/b.txt", b"hello")
    assert store.get("a/b.txt") == b"hello"
    store.put("a/b.txt", b"again")  # overwrite put
    assert store.get("a/b.txt") == b"again"
    info = store.head("a/b.txt")
    assert info.key == "a/b.txt" and info.size == 5
    assert store.exists("a/b.txt") and not store.exists("a/c.txt")


def test_create_only_refuses_existing_key_and_keeps_content(store):
    store.put("msg.md", b"first", create_only=True)
    with pytest.raises(AlreadyExists) as err:
        store.put("msg.md", b"second", create_only=True)
    assert "msg.md" in err.value.message and err.value.hint
    assert store.get("msg.md") == b"first"


def test_get_start_reads_the_first_bytes_in_one_request(store):
    store.put("a/long.txt", b"0123456789" * 1000)
    store.put("a/short.txt", b"abc")
    store.put("a/empty.txt", b"")
    assert store.get_start("a/long.txt", 15) == b"012345678901234"
    assert store.get_start("a/short.txt", 4096) == b"abc"
    assert store.get_start("a/empty.txt", 10) == b""
    with pytest.raises(NotFound):
        store.get_start("a/missing.txt", 10)


def test_missing_key_is_not_found(store):
    with pytest.raises(NotFound):
        store.get("nope/missing.md")
    with pytest.raises(NotFound):
        store.head("nope/missing.md")
    with pytest.raises(NotFound):
        store.delete("nope/missing.md")


def test_delete(store):
    store.put("x/y", b"1")
    store.delete("x/y")
    assert not store.exists("x/y")


def test_list_prefix_and_start_after_in_order(store):
    keys = [f"board/2026042{d}-1200{s:02d}_a.md" for d in (5, 3, 4) for s in (9, 1, 5)]
    for k in keys:
        store.put(k, b"m")
    store.put("other/file.txt", b"o")
    store.put("boardx.txt", b"not under board/")
    listed = [i.key for i in store.list("board/")]
    assert listed == sorted(keys)
    after = sorted(keys)[3]
    assert [i.key for i in store.list("board/", start_after=after)] == sorted(keys)[4:]
    # a string prefix that is not a whole folder
    assert [i.key for i in store.list("board/20260424")] == sorted(k for k in keys if "20260424" in k)
    everything = [i.key for i in store.list("")]
    assert everything == sorted(everything) and len(everything) == len(keys) + 2
    assert all(i.size == 1 for i in store.list("board/"))


def test_list_of_missing_prefix_is_empty(store):
    assert list(store.list("no/such/folder/")) == []


@pytest.mark.parametrize(
    "bad",
    ["", "../etc/passwd", "a/../b", "/abs", "a//b", "a\\b", "nul\x00byte", "trailing/", "./a", "a/./b"],
)
def test_bad_keys_refused_before_the_store(store, bad):
    for call in (
        lambda: store.get(bad),
        lambda: store.put(bad, b"x"),
        lambda: store.put(bad, b"x", create_only=True),
        lambda: store.head(bad),
        lambda: store.delete(bad),
    ):
        with pytest.raises(InvalidInput) as err:
            call()
        assert err.value.hint and "\n" not in err.value.message
    assert list(store.list("")) == []  # nothing reached the store


def test_stores_declare_atomic_create(store):
    # the HF native API cannot do it; the product relies on unique keys there (see storage/hf.py)
    assert store.atomic_create is (not type(store).__name__.startswith("HF"))


def test_twenty_threads_race_to_create_one_key(atomic_store):
    store = atomic_store
    payloads = {i: (f"writer-{i}:".encode() + bytes([i]) * 200_000) for i in range(20)}
    barrier = threading.Barrier(20)
    outcomes: dict[int, str] = {}

    def writer(i: int) -> None:
        barrier.wait()
        try:
            store.put("race/key.bin", payloads[i], create_only=True)
            outcomes[i] = "won"
        except AlreadyExists:
            outcomes[i] = "lost"
        except Exception as exc:  # pragma: no cover - a failure shows up in the assert
            outcomes[i] = f"error {exc!r}"

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, o in outcomes.items() if o == "won"]
    assert len(winners) == 1, outcomes
    assert sorted(outcomes.values()).count("lost") == 19
    assert store.get("race/key.bin") == payloads[winners[0]]


def _process_writer(url: str, i: int, start, results) -> None:
    store = open_store(url)
    payload = f"proc-{i}:".encode() + bytes([i + 1]) * 500_000
    start.wait()
    try:
        store.put("race/proc.bin", payload, create_only=True)
        results.put((i, "won"))
    except AlreadyExists:
        results.put((i, "lost"))
    except Exception as exc:  # pragma: no cover
        results.put((i, f"error {exc!r}"))


@pytest.fixture(params=["local", "s3"])
def shared_store_url(request, tmp_path) -> str:
    """Stores that several processes can share (a memory store lives in one process)."""
    if request.param == "local":
        return str(tmp_path / "space")
    return f"s3://{request.getfixturevalue('s3_bucket')}/p"


def test_four_processes_race_to_create_one_key(shared_store_url):
    store_url = shared_store_url
    store = open_store(store_url, create=True)
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=_process_writer, args=(store_url, i, start, results)) for i in range(4)]
    for p in procs:
        p.start()
    import time

    time.sleep(1.5)  # let the spawned interpreters import and reach the start line
    start.set()
    outcomes = dict(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    winners = [i for i, o in outcomes.items() if o == "won"]
    assert len(winners) == 1, outcomes
    assert list(outcomes.values()).count("lost") == 3
    assert store.get("race/proc.bin") == f"proc-{winners[0]}:".encode() + bytes([winners[0] + 1]) * 500_000


def test_backend_errors_are_translated(s3_server, monkeypatch):
    missing_bucket = open_store("s3://no-such-bucket-here/p")
    with pytest.raises(CollabError) as err:
        missing_bucket.put("k", b"1")
    assert not type(err.value).__module__.startswith("obstore")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("COLLAB_S3_MAX_RETRIES", "0")
    dead = open_store("s3://bucket/p")
    for call in (lambda: dead.get("k"), lambda: dead.put("k", b"1", create_only=True), lambda: list(dead.list(""))):
        with pytest.raises(StoreError) as err:
            call()
        assert err.value.hint and "\n" not in err.value.message


def test_local_store_refuses_a_file_and_a_missing_folder(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InvalidInput):
        open_store(str(tmp_path / "f.txt"))
    with pytest.raises(NotFound) as err:
        open_store(str(tmp_path / "nowhere"))
    assert "collab init" in err.value.hint
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("url", ["ftp://x/y", "s3://", "hf://buckets/only-namespace", "hf://models/a/b", ""])
def test_bad_addresses(url):
    with pytest.raises(InvalidInput) as err:
        open_store(url)
    assert err.value.hint


def test_hugging_face_s3_endpoint_settings(monkeypatch):
    """The Hub's S3 gateway wants path-style requests and us-east-1; obstore sends no CRC checksums."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://s3.hf.co")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "HFAKexample")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    store = open_store("s3://gsm8k-collab/space")
    config = store._inner.config
    assert config["endpoint"] == "https://s3.hf.co" and config["region"] == "us-east-1"
    assert config["virtual_hosted_style_request"] == "false"
    assert "checksum_algorithm" not in config
    assert store._inner.prefix == "space"


def test_get_many_and_put_many(store):
    store.put_many({f"batch/{i:03d}.md": f"m{i}".encode() for i in range(25)})
    keys = [f"batch/{i:03d}.md" for i in range(25)] + ["batch/missing.md"]
    got = store.get_many(keys)
    assert got == {**{f"batch/{i:03d}.md": f"m{i}".encode() for i in range(25)}, "batch/missing.md": None}
    assert store.get_many([]) == {}
    with pytest.raises(InvalidInput):
        store.get_many(["ok.md", "../bad"])
    with pytest.raises(InvalidInput):
        store.put_many({"ok.md": b"1", "a//b": b"2"})
    assert not store.exists("ok.md")  # every key is checked before anything is written


def test_hf_batch_reads_are_one_call():
    from collabspace.storage.hf import HFBucketStore

    api = FakeHfApi()
    api.create_bucket("alice/b")
    store = HFBucketStore("alice/b", api=api)
    store.put_many({f"m/{i}.md": b"x" for i in range(300)})
    api.calls.clear()
    assert len(store.get_many([f"m/{i}.md" for i in range(300)])) == 300
    assert api.calls == ["download_bucket_files"]


def test_put_files(store, tmp_path):
    paths = []
    for i in range(5):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(bytes([i]) * (1000 + i))
        paths.append((f"files/f{i}.bin", path))
    sent: list[int] = []
    store.put_files(paths, progress=sent.append)
    assert sum(sent) == sum(1000 + i for i in range(5))
    assert all(store.get(key) == path.read_bytes() for key, path in paths)
    with pytest.raises(InvalidInput):
        store.put_files([("files/ok.bin", paths[0][1]), ("../bad", paths[0][1])])
    assert not store.exists("files/ok.bin")


def test_hf_folder_upload_is_one_call(tmp_path):
    from collabspace.storage.hf import HFBucketStore

    api = FakeHfApi()
    api.create_bucket("alice/b")
    store = HFBucketStore("alice/b", api=api)
    for i in range(20):
        (tmp_path / f"{i}.bin").write_bytes(b"x" * i)
    api.calls.clear()
    store.put_files([(f"ckpt/{i}.bin", tmp_path / f"{i}.bin") for i in range(20)])
    assert api.calls == ["batch_bucket_files"] and len(list(store.list("ckpt/"))) == 20
