"""The Hugging Face bucket store, against a fake HfApi that keeps the real signatures."""

from __future__ import annotations

import inspect

import huggingface_hub
import pytest
from fake_hub import FakeHfApi

from collabspace import NotFound, Space, StoreError
from collabspace.domain.presets import preset_spec
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


def test_429_is_retried_after_the_wait_the_server_asks_for(hub):
    sleeps: list[float] = []
    store = store_on(hub, sleeps=sleeps)
    hub.fail_next("batch_bucket_files", 429, retry_after="7", times=2)
    store.put("a.txt", b"x")
    assert sleeps == [7.0, 7.0]
    assert store.get("a.txt") == b"x"
    hub.fail_next("list_bucket_tree", 429, retry_after=None)
    assert [i.key for i in store.list("")] == ["a.txt"]
    assert sleeps[-1] == 1.0  # no Retry-After: exponential back-off from 1 s


def test_persistent_429_gives_up_with_a_clear_error(hub):
    store = store_on(hub)
    hub.fail_next("get_bucket_paths_info", 429, times=10)
    with pytest.raises(StoreError) as err:
        store.head("a.txt")
    assert "rate-limiting" in err.value.message and "1,000 API calls" in err.value.hint


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
                    "message_board/README.md"]
    assert all(k.startswith("spaces/gsm8k/") for k in hub.buckets["alice/gsm8k-collab"])
    readme = agent.cat("README.md").decode()
    assert "hf buckets cp ./train_lora.py hf://buckets/alice/gsm8k-collab/spaces/gsm8k/artifacts/scripts/" in \
        agent.cat("artifacts/README.md").decode()
    assert "hf buckets list alice/gsm8k-collab/spaces/gsm8k -R" in readme
