"""Live tests against the real Hugging Face Hub.

They run only when ``HF_TOKEN`` and ``COLLAB_HF_TEST_NAMESPACE`` (a user or org
the token may create buckets in) are set, and delete what they create. The Hub
cannot be reached from CI here, so they skip there, saying why.
"""

from __future__ import annotations

import os
import uuid

import pytest

from collabspace import AlreadyExists, NotFound, Space
from collabspace.domain.setup.presets import preset_spec

TOKEN = os.environ.get("HF_TOKEN")
NAMESPACE = os.environ.get("COLLAB_HF_TEST_NAMESPACE")

pytestmark = pytest.mark.skipif(
    not (TOKEN and NAMESPACE),
    reason="live Hub tests need HF_TOKEN and COLLAB_HF_TEST_NAMESPACE (the Hub is not reachable from CI)",
)


@pytest.fixture
def live_bucket():
    from huggingface_hub import HfApi

    api = HfApi(token=TOKEN)
    bucket_id = f"{NAMESPACE}/collabspace-test-{uuid.uuid4().hex[:8]}"
    api.create_bucket(bucket_id, private=True)
    yield api, bucket_id
    api.delete_bucket(bucket_id, missing_ok=True)


def test_live_store_basics(live_bucket):
    from collabspace.storage.hf import HFBucketStore

    api, bucket_id = live_bucket
    store = HFBucketStore(bucket_id, "space", api=api)
    store.put("a/b.md", b"hello", create_only=True)
    assert store.get("a/b.md") == b"hello"
    with pytest.raises(AlreadyExists):
        store.put("a/b.md", b"other", create_only=True)
    assert store.get("a/b.md") == b"hello"
    store.put_many({"a/c.md": b"1", "a/d.md": b"2"})
    assert [i.key for i in store.list("a/", start_after="a/b.md")] == ["a/c.md", "a/d.md"]
    store.delete("a/c.md")
    with pytest.raises(NotFound):
        store.get("a/c.md")


def test_live_space(live_bucket):
    from collabspace.storage.hf import HFBucketStore

    api, bucket_id = live_bucket
    store = HFBucketStore(bucket_id, api=api)
    Space.init(store, preset_spec("gsm8k"))
    space = Space(store, agent="live-agent")
    assert space.join(model="m").created
    assert "collab.toml" in [i.key for i in space.ls()]
