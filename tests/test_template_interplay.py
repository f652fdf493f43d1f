"""Issue 13, item 10: the template's files and the agents that follow them by hand."""

from __future__ import annotations

import re

import pytest

from collabspace import Space
from collabspace.domain import paths
from collabspace.domain.board.messages import mentions
from collabspace.domain.setup import readmes
from collabspace.domain.setup.agents import parse_registration
from collabspace.domain.setup.presets import preset_spec


def _rows(markdown: str) -> dict[str, str]:
    """The raw column of a README's command table, by the row's first cell."""
    out = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2].startswith("`"):
            out[cells[0]] = cells[2].strip("`")
    return out


@pytest.mark.parametrize("url", ["/data/space", "s3://bucket/gsm8k", "hf://buckets/alice/gsm8k-collab"])
def test_raw_post_reply_and_claim_each_write_a_new_stamped_key(url):
    spec = preset_spec("gsm8k")
    board = _rows(readmes.board_readme(spec, url))
    space = _rows(readmes.space_readme(spec, url))
    keys = []
    for what in ("Post a message", "Reply to a message", "Claim a direction"):
        command = board[what]
        assert "$(date -u +%Y%m%d-%H%M%S)_agent-01_" in command, command
        keys.append(command.rsplit(" ", 1)[-1])
    assert len(set(keys)) == 3  # following them literally, no command overwrites another's file
    assert space["Post a message"] == board["Post a message"] and space["Claim a direction"] == board["Claim a direction"]
    assert "20260425-143000" in board["Read one message"]  # reading one names an example, which is fine


def test_the_readme_says_what_goes_in_an_agents_file():
    readme = readmes.space_readme(preset_spec("gsm8k"), "/data/space")
    section = readmes.section(readme, "Your registration")
    assert "agents/{agent_id}.md" in section
    example = section.split("```markdown\n", 1)[1].split("```", 1)[0]
    reg = parse_registration("agents/your-id.md", example.encode())
    assert (reg.agent, reg.model, reg.harness, reg.tools) == ("your-id", "claude-opus-4", "claude-code",
                                                              ["bash", "python", "gpu"])
    assert reg.joined is not None and "plan to work on" in reg.bio


def test_objects_on_s3_have_a_content_type(s3_bucket, clock):
    import boto3

    url = f"s3://{s3_bucket}/space"
    Space.init(url, preset_spec("gsm8k"), clock=clock)
    space = Space.open(url, agent="agent-01", clock=clock)
    message = space.post("status-update", "hello", topic="hi")
    result = space.submit("typed", score=0.5, name="r")
    s3 = boto3.client("s3")
    types = {key: s3.head_object(Bucket=s3_bucket, Key=f"space/{key}")["ContentType"]
             for key in (message.key, result.key, paths.SPEC, paths.README, paths.LEADERBOARD_JSON)}
    assert types == {message.key: "text/markdown", result.key: "application/json", paths.SPEC: "application/toml",
                     paths.README: "text/markdown", paths.LEADERBOARD_JSON: "application/json"}


def test_objects_in_memory_have_a_content_type_too(gsm8k_space, tmp_path):
    import obstore

    script = tmp_path / "train.py"
    script.write_text("print(1)\n")
    key = gsm8k_space.push(str(script), kind="scripts").key
    inner = gsm8k_space.store._inner
    assert obstore.get(inner, key).attributes["Content-Type"] == "text/x-python"
    assert obstore.get(inner, paths.LEADERBOARD).attributes["Content-Type"] == "text/markdown"


def test_the_baselines_notes_are_not_its_model(gsm8k_space):
    table = gsm8k_space.write_leaderboard().to_markdown()
    [line] = [line for line in table.splitlines() if "| baseline |" in line][:1]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[3] == "Last number in the question" and cells[4] == ""  # experiment, then an empty model
    assert "baseline (30/1,319: answers with the last number that appears in the question)" in cells[5]
    [row] = [r for r in gsm8k_space.leaderboard().rows if r.status == "baseline"]
    assert row.model == "" and row.detail.startswith("30/1,319")


def test_mentions_are_agent_ids_with_a_letter():
    body = "self-consistency @8 beats greedy; cc @agent-01 and @ml-intern-1, not x@y.com or @-bad or @8-9"
    assert mentions(body) == ("agent-01", "ml-intern-1")
    assert mentions(body, known={"agent-01", "someone"}) == ("agent-01",)


def test_a_number_after_an_at_sign_reaches_no_inbox(memory_url, clock):
    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    poster = Space.open(memory_url, agent="agent-02", clock=clock)
    poster.post("results-report", "self-consistency @8 gives +3 points; @agent-01 have a look", topic="sc")
    assert [m.topic for m in Space.open(memory_url, agent="agent-01", clock=clock).inbox()] == ["sc"]
    assert Space.open(memory_url, agent="8", clock=clock).inbox() == []


def test_export_space_names_the_namespace_it_knows(run_cli, tmp_path):
    Space.init(str(tmp_path / "s"), preset_spec("gsm8k"))
    r = run_cli("export-space", tmp_path / "site", "--space", tmp_path / "s",
                "--bucket-url", "https://huggingface.co/buckets/bob/gsm8k-collab")
    assert r.code == 0, r
    assert "hf repos create bob/gsm8k-leaderboard --type space --sdk static" in r.err
    assert "NS/" not in r.err


def test_the_rollback_hint_uses_hf_repos_delete():
    from fake_hub import FakeHfApi

    from collabspace.errors import CollabError
    from collabspace.hub_setup import create_on_hub, plan_on_hub
    from collabspace.storage.hf import MAX_RETRIES, HubAdmin

    hub = FakeHfApi()
    admin = HubAdmin(hub, sleep=lambda s: None)
    plan = plan_on_hub("hf://", preset_spec("gsm8k"), admin)
    hub.fail_next("create_repo", 500, times=MAX_RETRIES + 1)
    with pytest.raises(CollabError) as err:
        create_on_hub(plan, preset_spec("gsm8k"), admin, page_files={"index.html": b"x"})
    assert re.search(r"`hf repos delete alice/gsm8k-leaderboard --repo-type space`", err.value.hint)
    assert "hf repo delete" not in err.value.hint
