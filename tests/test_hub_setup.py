"""collab init on the Hub: bucket, space files, static Space, Collection — against the fake HfApi."""

from __future__ import annotations

import pytest
from fake_hub import FakeHfApi

from collabspace import CollabError, Conflict, InvalidInput, Space
from collabspace.domain.presets import preset_spec
from collabspace.hub_setup import create_on_hub, plan_on_hub
from collabspace.storage.hf import HFBucketStore, HubAdmin

PAGE = {"README.md": b"---\nsdk: static\n---\n", "index.html": b"<html></html>"}


@pytest.fixture
def hub():
    return FakeHfApi(user="alice", orgs=("ml-agent-explorers",))


def admin_on(hub):
    return HubAdmin(hub, sleep=lambda s: None)


def test_plan_defaults_from_whoami(hub):
    plan = plan_on_hub("hf://", preset_spec("gsm8k"), admin_on(hub))
    assert (plan.namespace, plan.bucket_id, plan.space_id) == ("alice", "alice/gsm8k-collab", "alice/gsm8k-leaderboard")
    assert plan.collection_title == "GSM8K - Agent Collaboration"
    assert plan.space_url == "hf://buckets/alice/gsm8k-collab"
    assert hub.calls == ["whoami"]


def test_plan_in_an_org_and_refusal_elsewhere(hub):
    plan = plan_on_hub("hf://buckets/ml-agent-explorers/parameter-golf-collab", preset_spec("parameter-golf"),
                       admin_on(hub))
    assert plan.space_id == "ml-agent-explorers/parameter-golf-leaderboard"
    with pytest.raises(InvalidInput) as err:
        plan_on_hub("hf://buckets/someone-else/x-collab", preset_spec("gsm8k"), admin_on(hub))
    assert "alice, ml-agent-explorers" in err.value.hint


def test_create_everything(hub):
    admin = admin_on(hub)
    spec = preset_spec("gsm8k")
    plan = plan_on_hub("hf://buckets/ml-agent-explorers/gsm8k-collab", spec, admin)
    setup = create_on_hub(plan, spec, admin, page_files=PAGE)
    assert sorted(hub.buckets["ml-agent-explorers/gsm8k-collab"]) == [
        "LEADERBOARD.md", "README.md", "artifacts/README.md", "collab.toml", "message_board/README.md"]
    repo = hub.repos["ml-agent-explorers/gsm8k-leaderboard"]
    assert repo["type"] == "space" and repo["sdk"] == "static" and repo["files"] == PAGE
    (collection,) = hub.collections.values()
    assert collection.title == "GSM8K - Agent Collaboration"
    assert collection.items == [("ml-agent-explorers/gsm8k-collab", "bucket"),
                                ("ml-agent-explorers/gsm8k-leaderboard", "space")]
    assert setup.space_page == "https://huggingface.co/spaces/ml-agent-explorers/gsm8k-leaderboard"
    assert "COLLAB_SPACE=hf://buckets/ml-agent-explorers/gsm8k-collab" in setup.agent_prompt()
    # the space works through the ordinary store
    space = Space(HFBucketStore("ml-agent-explorers/gsm8k-collab", api=hub), agent="agent-01")
    assert space.spec.task.id == "gsm8k"
    space.join(model="m")


def test_existing_bucket_refused_and_unchanged(hub):
    hub.create_bucket("alice/gsm8k-collab")
    hub.batch_bucket_files("alice/gsm8k-collab", add=[(b"mine", "notes.txt")])
    admin = admin_on(hub)
    plan = plan_on_hub("hf://", preset_spec("gsm8k"), admin)
    with pytest.raises(Conflict) as err:
        create_on_hub(plan, preset_spec("gsm8k"), admin, page_files=PAGE)
    assert "--exist-ok" in err.value.hint
    assert list(hub.buckets["alice/gsm8k-collab"]) == ["notes.txt"] and not hub.repos and not hub.collections


def test_failure_half_way_says_what_exists_and_rerun_finishes(hub):
    admin = admin_on(hub)
    spec = preset_spec("gsm8k")
    plan = plan_on_hub("hf://", spec, admin)
    hub.fail_next("create_repo", 500)
    with pytest.raises(CollabError) as err:
        create_on_hub(plan, spec, admin, page_files=PAGE)
    msg = err.value.message
    assert msg.startswith("could not create the leaderboard Space")
    assert "created so far: bucket alice/gsm8k-collab; space files in hf://buckets/alice/gsm8k-collab" in msg
    assert "--exist-ok" in err.value.hint and "hf buckets delete alice/gsm8k-collab" in err.value.hint
    assert not hub.repos and not hub.collections
    # finishing: re-run with exist_ok keeps the files and creates the rest
    setup = create_on_hub(plan, spec, admin, page_files=PAGE, exist_ok=True)
    assert "alice/gsm8k-leaderboard" in hub.repos and len(hub.collections) == 1
    assert setup.collection_slug


def test_rate_limited_setup_still_completes(hub):
    sleeps = []
    admin = HubAdmin(hub, sleep=sleeps.append)
    spec = preset_spec("gsm8k")
    plan = plan_on_hub("hf://", spec, admin)
    hub.fail_next("add_collection_item", 429, retry_after="30")
    create_on_hub(plan, spec, admin, page_files=PAGE)
    assert sleeps == [30.0]
    assert len(next(iter(hub.collections.values())).items) == 2
