"""collab init on the Hub: bucket, space files, static Space, Collection — against the fake HfApi."""

from __future__ import annotations

import pytest
from fake_hub import FakeHfApi

from collabspace import CollabError, Conflict, InvalidInput, Space
from collabspace.domain.setup.presets import preset_spec
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
        "LEADERBOARD.md", "README.md", "artifacts/README.md", "collab.toml", "leaderboard.json",
        "message_board/README.md"]
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
    hub.fail_next("create_repo", 500, times=6)  # more than the retries (create_repo is not retried by the library)
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


@pytest.fixture
def cli_hub(monkeypatch, hub):
    """Every HfApi() the product makes is the fake."""
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", lambda *a, **k: hub)
    monkeypatch.setattr("collabspace.storage.hf.time.sleep", lambda s: None)
    return hub


def test_cli_init_on_the_hub(run_cli, cli_hub):
    r = run_cli("init", "hf://", "--task", "gsm8k", "--yes")
    assert r.code == 0, r
    assert "bucket:      alice/gsm8k-collab (public)" in r.err
    assert "Space:       alice/gsm8k-leaderboard" in r.err
    assert "Collection:  'GSM8K - Agent Collaboration' in alice" in r.err
    assert "export COLLAB_SPACE=hf://buckets/alice/gsm8k-collab" in r.out
    page = cli_hub.repos["alice/gsm8k-leaderboard"]["files"]
    assert {"README.md", "index.html"} <= set(page)
    assert b"sdk: static" in page["README.md"]
    assert b"https://huggingface.co/buckets/alice/gsm8k-collab" in page["index.html"]
    assert b'"higher"' in page["index.html"]
    assert "collab.toml" in cli_hub.buckets["alice/gsm8k-collab"]


def test_cli_dry_run_touches_nothing(run_cli, cli_hub):
    r = run_cli("init", "hf://buckets/ml-agent-explorers/pg-collab", "--task", "parameter-golf", "--dry-run")
    assert r.code == 0, r
    assert "ml-agent-explorers/parameter-golf-leaderboard" in r.err and "nothing was created" in r.err
    assert cli_hub.calls == ["whoami"] and not cli_hub.buckets and not cli_hub.repos


def test_cli_needs_confirmation_without_a_terminal(run_cli, cli_hub):
    r = run_cli("init", "hf://", "--task", "gsm8k", stdin="")
    assert r.code == 1 and "confirmation needed" in r.err and "--yes" in r.err
    assert not cli_hub.buckets


def test_cli_failure_half_way(run_cli, cli_hub):
    cli_hub.fail_next("create_collection", 403)
    r = run_cli("init", "hf://", "--task", "gsm8k", "--yes")
    assert r.code == 1
    err = r.err.splitlines()
    assert err[-2].startswith("error: could not create the Collection: access denied")
    assert "created so far: bucket alice/gsm8k-collab; space files in hf://buckets/alice/gsm8k-collab; " \
           "Space alice/gsm8k-leaderboard" in err[-2]
    assert err[-1].startswith("hint: fix the cause and re-run `collab init hf://buckets/alice/gsm8k-collab --exist-ok")


def test_local_dry_run(run_cli, tmp_path):
    r = run_cli("init", tmp_path / "d", "--dry-run")
    assert r.code == 0 and "collab.toml" in r.err and not (tmp_path / "d").exists()
