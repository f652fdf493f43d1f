"""The Hugging Face bucket store, against a fake HfApi that keeps the real signatures."""

from __future__ import annotations

import inspect
import os
import uuid
from datetime import datetime, timedelta, timezone

import huggingface_hub
import pytest
from fake_hub import MODELLED_ON, TREE_PAGE_SIZE, FakeHfApi

from collabspace import NotFound, Space, StoreError
from collabspace.domain.setup.presets import preset_spec
from collabspace.storage import hf as hf_module
from collabspace.storage import open_store
from collabspace.storage.hf import HFBucketStore, parse_hf_url

FAKED = [name for name, value in vars(FakeHfApi).items() if callable(value) and not name.startswith("_")
         and name not in ("fail_next",)]


@pytest.mark.parametrize("name", FAKED)
def test_fake_keeps_the_real_signatures(name):
    real = inspect.signature(getattr(huggingface_hub.HfApi, name))
    fake = inspect.signature(getattr(FakeHfApi, name))
    assert list(real.parameters) == list(fake.parameters), name
    for pname, param in real.parameters.items():
        assert param.kind == fake.parameters[pname].kind, (name, pname)
        assert param.default == fake.parameters[pname].default, (name, pname)


@pytest.fixture
def hub():
    api = FakeHfApi()
    api.create_bucket("alice/gsm8k-collab")
    return api


def store_on(api, prefix="", sleeps=None):
    return HFBucketStore("alice/gsm8k-collab", prefix, api=api,
                         sleep=(sleeps.append if sleeps is not None else (lambda s: None)))


def test_parse_hf_url():
    assert parse_hf_url("hf://buckets/alice/b") == ("alice/b", "")
    assert parse_hf_url("hf://buckets/alice/b/spaces/one/") == ("alice/b", "spaces/one")


def test_open_store_builds_an_hf_store():
    store = open_store("hf://buckets/alice/gsm8k-collab/sub")
    assert isinstance(store, HFBucketStore) and store.url == "hf://buckets/alice/gsm8k-collab/sub"
    assert isinstance(store.api, huggingface_hub.HfApi)


@pytest.mark.parametrize("method,status", [("list_bucket_tree", 429), ("get_bucket_paths_info", 429),
                                           ("batch_bucket_files", 503), ("download_bucket_files", 500)])
def test_calls_the_library_retries_itself_are_made_once(hub, method, status):
    """huggingface_hub retries these (http_backoff per page, hf_xet per CAS request): an error that reaches
    the store has used up the library's retries, so retrying it here would only multiply them."""
    sleeps: list[float] = []
    store = store_on(hub, sleeps=sleeps)
    store.put("a.txt", b"x")
    hub.calls.clear()
    hub.fail_next(method, status, times=10)
    call = {"list_bucket_tree": lambda: list(store.list("")), "get_bucket_paths_info": lambda: store.head("a.txt"),
            "batch_bucket_files": lambda: store.put("b.txt", b"y"), "download_bucket_files": lambda: store.get("a.txt")}
    with pytest.raises(StoreError) as err:
        call[method]()
    assert hub.calls.count(method) == 1 and sleeps == []
    assert "retried by huggingface_hub" in err.value.message
    if status == 429:
        assert "rate-limiting" in err.value.message and "1,000 API calls" in err.value.hint
        assert store.rate_limited == 1
    else:
        assert "5xx" in err.value.hint and store.rate_limited == 0


def test_rate_limits_from_the_xet_cas_path_are_counted(hub):
    store = store_on(hub)
    store.put("a.txt", b"x")
    hub.fail_next("download_bucket_files", 429, xet=True)  # hf_xet words it; there is no HTTP response
    with pytest.raises(StoreError) as err:
        store.get("a.txt")
    assert "rate-limiting download_bucket_files" in err.value.message and "1,000 API calls" in err.value.hint
    assert store.rate_limited == 1
    hub.fail_next("batch_bucket_files", 429, xet=True)
    with pytest.raises(StoreError):
        store.put("b.txt", b"y")
    assert store.rate_limited == 2 and store.get("a.txt") == b"x"


def test_calls_the_library_makes_once_retry_429s_and_5xx_with_jitter(hub):
    from collabspace.storage.hf import MAX_RETRIES, HubAdmin

    sleeps: list[float] = []
    admin = HubAdmin(hub, sleep=sleeps.append, jitter=lambda: 0.25)
    hub.fail_next("whoami", 429, retry_after="7")
    hub.fail_next("bucket_info", 503, retry_after=None, times=2)
    assert admin.whoami()[0] == "alice" and admin.bucket_exists("alice/gsm8k-collab")
    assert sleeps == [7.0, 0.75, 1.5]  # the server's Retry-After; else 1 s, 2 s, ... times 0.5-1.5 (here 0.75)
    hub.fail_next("create_bucket", 502, retry_after=None, times=MAX_RETRIES + 1)
    with pytest.raises(StoreError) as err:
        admin.create_bucket("alice/new", private=False, exist_ok=False)
    assert "retried here" in err.value.message and hub.calls.count("create_bucket") == 1 + MAX_RETRIES + 1


@pytest.mark.parametrize("status,needle", [(401, "hf auth login"), (403, "HF_TOKEN"), (500, "retry")])
def test_http_errors_are_translated(hub, status, needle):
    store = store_on(hub)
    hub.fail_next("batch_bucket_files", status)
    with pytest.raises(StoreError) as err:
        store.put("a.txt", b"x")
    assert needle in err.value.hint
    assert not store.exists("a.txt")


def test_missing_bucket(hub):
    store = HFBucketStore("alice/nope", api=hub)
    with pytest.raises(NotFound) as err:
        store.get("README.md")
    assert "bucket alice/nope not found" in err.value.message and "collab init" in err.value.hint


def test_put_many_is_one_call(hub):
    store = store_on(hub)
    hub.calls.clear()
    store.put_many({f"f{i}.txt": b"x" for i in range(50)})
    assert hub.calls == ["batch_bucket_files"]
    assert len(list(store.list(""))) == 50


def test_a_space_on_an_hf_bucket(hub):
    store = store_on(hub, "spaces/gsm8k")
    hub.calls.clear()
    Space.init(store, preset_spec("gsm8k"))
    # list (emptiness) + head and write of collab.toml + read-back + one batch for the rest
    assert hub.calls == ["list_bucket_tree", "get_bucket_paths_info", "batch_bucket_files",
                         "download_bucket_files", "batch_bucket_files"]
    agent = Space(store, agent="agent-01")
    agent.join(model="m", harness="codex")
    keys = [i.key for i in agent.ls()]
    assert keys == ["LEADERBOARD.md", "README.md", "agents/agent-01.md", "artifacts/README.md", "collab.toml",
                    "leaderboard.json", "message_board/README.md"]
    assert all(k.startswith("spaces/gsm8k/") for k in hub.buckets["alice/gsm8k-collab"])
    readme = agent.cat("README.md").decode()
    assert "hf buckets cp ./train_lora.py hf://buckets/alice/gsm8k-collab/spaces/gsm8k/artifacts/scripts/" in \
        agent.cat("artifacts/README.md").decode()
    assert "hf buckets list alice/gsm8k-collab/spaces/gsm8k -R" in readme


# -- request cost: the fake's request model, and what the store's operations cost -----------------------------
NOTHING = {"api": 0, "resolve": 0, "xet_token": 0, "cas": 0}


def test_the_fake_follows_the_installed_clients_request_model():
    """A tripwire on upgrades: the client code the fake's request model mirrors (see tests/fake_hub.py)."""
    from huggingface_hub import hf_api, hf_file_system

    assert huggingface_hub.__version__ == MODELLED_ON, "re-read the client code fake_hub.py cites, then update it"
    assert hf_api._BUCKET_PATHS_INFO_BATCH_SIZE == 1000 and hf_api._BUCKET_BATCH_ADD_CHUNK_SIZE == 1000
    download = inspect.getsource(huggingface_hub.HfApi.download_bucket_files)
    # paths-info only for string paths; one resolve HEAD of the first file; a download group with a token route
    assert "str_paths = [path for path, _ in files if not isinstance(path, BucketFile)]" in download
    assert download.count("self.get_bucket_paths_info(") == 1
    assert download.count("self.get_bucket_file_metadata(") == 1
    assert "token_refresh_url=metadata.xet_file_data.refresh_route" in download
    listing = inspect.getsource(huggingface_hub.HfApi.list_bucket_tree)
    assert 'encoded_prefix = "/" + quote(prefix, safe="")' in listing and "paginate(" in listing
    # the client's own word on the server's matching: the raw string, not a folder
    assert "The server matches `prefix` lexically" in inspect.getsource(hf_file_system)


def test_the_fake_counts_requests_like_the_client(hub):
    hub.counts.reset()
    assert list(hub.list_bucket_tree("alice/gsm8k-collab", recursive=True)) == []
    assert hub.counts.snapshot() == {**NOTHING, "api": 1}  # an empty listing is still one GET
    hub.counts.reset()
    hub.batch_bucket_files("alice/gsm8k-collab",
                           add=[(f"{i}".encode(), f"d/{i:04d}.md") for i in range(2500)] + [(b"", "d/empty.md")])
    assert hub.counts.snapshot() == {"api": 3, "resolve": 0, "xet_token": 3, "cas": 6}  # chunks of 1,000
    hub.counts.reset()
    listed = list(hub.list_bucket_tree("alice/gsm8k-collab", "d/", recursive=True))
    assert len(listed) == 2501 and hub.counts.api == 3  # pages of 1,000
    hub.counts.reset()
    assert len(list(hub.get_bucket_paths_info("alice/gsm8k-collab", [f.path for f in listed]))) == 2501
    assert hub.counts.api == 3  # POSTs of 1,000 paths
    hub.counts.reset()
    assert list(hub.get_bucket_paths_info("alice/gsm8k-collab", [])) == [] and hub.counts.api == 0


def test_the_fake_counts_downloads_like_the_client(hub, tmp_path):
    hub.batch_bucket_files("alice/gsm8k-collab", add=[(f"{i}".encode(), f"d/{i:04d}.md") for i in range(1500)]
                           + [(b"", "d/empty.md")])
    listed = {f.path: f for f in hub.list_bucket_tree("alice/gsm8k-collab", "d/", recursive=True)}
    hub.counts.reset()
    hub.download_bucket_files("alice/gsm8k-collab", [(f"d/{i:04d}.md", tmp_path / f"p{i}") for i in range(1500)])
    # 2 paths-info (1,000 + 500 paths), 1 resolve HEAD of the first file, 1 xet read token, ~2 CAS/CDN per file
    assert hub.counts.snapshot() == {"api": 2, "resolve": 1, "xet_token": 1, "cas": 3000}
    hub.counts.reset()
    hub.download_bucket_files("alice/gsm8k-collab", [(listed[f"d/{i:04d}.md"], tmp_path / f"o{i}") for i in range(10)])
    assert hub.counts.snapshot() == {"api": 0, "resolve": 1, "xet_token": 1, "cas": 20}
    assert (tmp_path / "o7").read_bytes() == b"7"
    hub.counts.reset()
    hub.download_bucket_files("alice/gsm8k-collab", [(listed["d/empty.md"], tmp_path / "e")])
    assert hub.counts.snapshot() == NOTHING and (tmp_path / "e").read_bytes() == b""  # empty files: no request
    hub.counts.reset()
    hub.download_bucket_files("alice/gsm8k-collab", [("d/empty.md", tmp_path / "e2"), ("d/gone.md", tmp_path / "g")])
    assert hub.counts.snapshot() == {**NOTHING, "api": 1} and not (tmp_path / "g").exists()
    hub.counts.reset()
    hub.whoami()
    hub.bucket_info("alice/gsm8k-collab")
    assert hub.counts.snapshot() == {**NOTHING, "api": 2}


def _board(days: int, per_day: int) -> dict[str, bytes]:
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    return {f"message_board/{start + timedelta(days=d, seconds=10 * i):%Y%m%d-%H%M%S}_agent-{i % 20:02d}_t.md":
            f"message {d}.{i}".encode() for d in range(days) for i in range(per_day)}


@pytest.fixture(scope="module")
def big_board():
    """30,000 messages over 40 days (750 a day), at the bucket root and under a space prefix."""
    api = FakeHfApi()
    api.create_bucket("alice/gsm8k-collab")
    board = _board(40, 750)
    api.batch_bucket_files("alice/gsm8k-collab", add=[(data, key) for key, data in board.items()])
    api.batch_bucket_files("alice/gsm8k-collab", add=[(data, f"spaces/one/{key}") for key, data in board.items()])
    return api, board


@pytest.mark.parametrize("prefix", ["", "spaces/one"])
def test_a_poll_of_one_day_on_a_30000_message_board_is_one_api_call(big_board, prefix):
    api, board = big_board
    store = store_on(api, prefix)
    day = sorted(k for k in board if k.startswith("message_board/20261201"))
    assert len(board) == 30_000 and 0 < len(day) < TREE_PAGE_SIZE
    api.counts.reset()
    assert [i.key for i in store.list("message_board/20261201")] == day
    assert api.counts.snapshot() == {**NOTHING, "api": 1}
    api.counts.reset()
    assert [i.key for i in store.list("message_board/20261201", start_after=day[-2])] == day[-1:]
    assert api.counts.snapshot() == {**NOTHING, "api": 1}  # start_after is applied client-side: same one call
    api.counts.reset()
    assert list(store.list("message_board/20261231")) == []  # nothing new
    assert api.counts.snapshot() == {**NOTHING, "api": 1}


@pytest.mark.parametrize("prefix", ["", "spaces/one"])
def test_a_cold_full_listing_of_30000_files_is_30_api_calls_and_then_reads_cost_no_api_call(big_board, prefix):
    api, board = big_board
    store = store_on(api, prefix)
    api.counts.reset()
    assert [i.key for i in store.list("message_board/")] == sorted(board)
    assert api.counts.snapshot() == {**NOTHING, "api": 30}
    key = sorted(board)[12_345]
    api.counts.reset()
    assert store.get(key) == board[key]
    assert api.counts.snapshot() == {"api": 0, "resolve": 1, "xet_token": 1, "cas": 2}
    if prefix:
        api.counts.reset()
        assert len(list(store.list(""))) == 30_000  # the whole space: its 30,000 files
        assert api.counts.snapshot() == {**NOTHING, "api": 30}


def test_get_many_of_1000_listed_files_makes_no_paths_info_call(hub):
    store = store_on(hub, "spaces/one")
    items = {f"results/r{i:04d}.json": f'{{"score": {i}}}'.encode() for i in range(1000)}
    store.put_many(items)
    assert len(list(store.list("results/"))) == 1000
    hub.counts.reset()
    assert store.get_many(list(items)) == items
    assert hub.counts.snapshot() == {"api": 0, "resolve": 1, "xet_token": 1, "cas": 2000}
    assert hub.counts.by_endpoint["paths_info"] == 0
    # keys this store has not listed go by path: one paths-info call per 1,000
    hub.counts.reset()
    assert store_on(hub, "spaces/one").get_many(list(items)) == items
    assert hub.counts.snapshot() == {"api": 1, "resolve": 1, "xet_token": 1, "cas": 2000}


def test_downloads_hand_over_the_very_objects_the_listing_returned(hub, monkeypatch):
    store = store_on(hub)
    store.put_many({"a/1.md": b"one", "a/2.md": b"two", "b/1.md": b"b"})
    listed = {f.path: f for f in hub.list_bucket_tree("alice/gsm8k-collab", recursive=True)}
    store.list("a/")
    sent = []
    real = hub.download_bucket_files
    monkeypatch.setattr(hub, "download_bucket_files", lambda b, files, **kw: (sent.extend(files), real(b, files, **kw)))
    assert store.get_many(["a/1.md", "b/1.md", "a/3.md"]) == {"a/1.md": b"one", "b/1.md": b"b", "a/3.md": None}
    sources = [s for s, _ in sent]
    assert sources[1:] == ["b/1.md", "a/3.md"]  # not listed (or not found by the listing): by path
    assert sources[0] is store._listings.lookup("a/1.md") and sources[0] is not listed["a/1.md"]
    # the newest listing covering a key decides: a newer listing of "a/" that lacks a/1.md makes it unknown
    store.list("")
    hub.batch_bucket_files("alice/gsm8k-collab", delete=["a/1.md"])
    store.list("a/")
    assert store._listings.lookup("a/1.md") is None and store._listings.lookup("a/2.md").path == "a/2.md"
    assert store._listings.lookup("b/1.md").path == "b/1.md"  # from the listing of everything


def test_the_store_reads_its_own_writes_after_a_listing(hub):
    store = store_on(hub, "sp")
    store.put_many({"x/a.md": b"1", "x/b.md": b"2", "x/c.md": b"3"})
    list(store.list("x/"))
    store.put("x/a.md", b"1 again")
    store.put_many({"x/b.md": b"2 again"})
    store.delete("x/c.md")
    assert store.get("x/a.md") == b"1 again"
    assert store.get_many(["x/a.md", "x/b.md", "x/c.md"]) == {"x/a.md": b"1 again", "x/b.md": b"2 again",
                                                              "x/c.md": None}
    with pytest.raises(NotFound):
        store.get("x/c.md")
    store.put("x/new.md", b"n", create_only=True)  # the read-back goes by path
    assert store.get("x/new.md") == b"n"


def test_another_writers_changes_after_a_listing(hub, monkeypatch):
    store = store_on(hub)
    store.put_many({"m/1.md": b"old", "m/2.md": b"two", "m/3.md": b"three"})
    (first, *_) = store.list("m/")
    hub.batch_bucket_files("alice/gsm8k-collab", add=[(b"new content", "m/1.md")], delete=["m/2.md"])
    # an overwrite reads as the listing saw it (the object names its content by hash) ...
    assert store.get("m/1.md") == b"old" and first.size == 3
    # ... a deletion reads as missing: the resolve HEAD of the gone file fails, and the store retries by path
    with pytest.raises(NotFound):
        store.get("m/2.md")
    store.list("m/")
    hub.batch_bucket_files("alice/gsm8k-collab", delete=["m/3.md"])
    assert store.get_many(["m/3.md", "m/1.md"]) == {"m/3.md": None, "m/1.md": b"new content"}
    # and a listing is used for LISTING_MAX_AGE seconds at most
    store.list("m/")
    hub.batch_bucket_files("alice/gsm8k-collab", add=[(b"newer", "m/1.md")])
    clock = store._listings._clock
    monkeypatch.setattr(store._listings, "_clock", lambda: clock() + hf_module.LISTING_MAX_AGE + 1)
    assert store.get("m/1.md") == b"newer"


def test_the_listings_remembered_are_bounded(hub, monkeypatch):
    monkeypatch.setattr(hf_module, "LISTINGS_KEPT", 2)
    monkeypatch.setattr(hf_module, "LISTED_FILES_KEPT", 5)
    store = store_on(hub)
    store.put_many({f"{d}/{i}.md": b"x" for d in "abc" for i in range(2)} | {f"big/{i}.md": b"x" for i in range(6)})
    for prefix in ("a/", "b/", "c/"):
        store.list(prefix)
    assert store._listings.lookup("a/0.md") is None  # the oldest of three listings is dropped
    assert store._listings.lookup("b/0.md") is not None and store._listings.lookup("c/1.md") is not None
    store.list("big/")  # more files than LISTED_FILES_KEPT: not remembered, and the others make way for it
    assert store._listings.lookup("big/0.md") is None and store._listings.lookup("c/1.md") is None


def test_a_listing_that_overlaps_a_write_is_not_remembered(hub, monkeypatch):
    store = store_on(hub)
    store.put("k/a.md", b"old")
    real = hub.list_bucket_tree

    def listing_then_a_write(*args, **kwargs):
        entries = list(real(*args, **kwargs))
        store.put("k/a.md", b"new")  # our own write lands while the listing is in flight
        return iter(entries)

    monkeypatch.setattr(hub, "list_bucket_tree", listing_then_a_write)
    store.list("k/")
    monkeypatch.setattr(hub, "list_bucket_tree", real)
    assert store._listings.lookup("k/a.md") is None and store.get("k/a.md") == b"new"


# -- what only the real Hub can tell (skipped offline) -------------------------------------------------------------
LIVE = pytest.mark.skipif(
    not (os.environ.get("HF_TOKEN") and os.environ.get("COLLAB_HF_TEST_NAMESPACE")),
    reason="needs HF_TOKEN and COLLAB_HF_TEST_NAMESPACE (the Hub is not reachable offline)",
)


@LIVE
def test_live_the_hub_matches_a_listing_prefix_as_a_raw_string():
    api = huggingface_hub.HfApi(token=os.environ["HF_TOKEN"])
    bucket_id = f"{os.environ['COLLAB_HF_TEST_NAMESPACE']}/collabspace-prefix-{uuid.uuid4().hex[:8]}"
    api.create_bucket(bucket_id, private=True)
    try:
        store = HFBucketStore(bucket_id, "sp", api=api)
        store.put_many({"message_board/20261201-1.md": b"1", "message_board/20261201-2.md": b"2",
                        "message_board/20261202-1.md": b"3", "message_board/x/20261201.md": b"4"})
        api.batch_bucket_files(bucket_id, add=[(b"5", "spx/a.md")])
        raw = [f.path for f in api.list_bucket_tree(bucket_id, "sp/message_board/20261201", recursive=True)]
        assert sorted(raw) == ["sp/message_board/20261201-1.md", "sp/message_board/20261201-2.md"]
        assert [i.key for i in store.list("message_board/20261201")] == ["message_board/20261201-1.md",
                                                                         "message_board/20261201-2.md"]
        assert len(list(store.list(""))) == 4  # not spx/a.md
        assert store.get_many(["message_board/20261201-1.md"]) == {"message_board/20261201-1.md": b"1"}
    finally:
        api.delete_bucket(bucket_id, missing_ok=True)
