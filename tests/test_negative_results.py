"""Issue 13, item 13: dead ends are results too: recorded, listed in the digest, labelled, never the best."""

from __future__ import annotations

import json

from collabspace import Space
from collabspace.domain import paths
from collabspace.domain.setup.presets import preset_spec


def test_a_dead_end_is_stored_labelled_and_never_ranked(gsm8k_space, clock):
    honest = gsm8k_space.submit("CoT 8-shot", score=0.41, name="cot")
    clock.advance(minutes=1)
    dead = gsm8k_space.submit("LoRA r64 on train", score=0.93, name="lora-r64", negative=True,
                              notes="diverged after 200 steps; the 0.93 is a leaked checkpoint, do not build on it")
    assert dead.negative and dead.status == "self-reported"
    assert json.loads(gsm8k_space.cat(dead.key))["status"] == "negative"
    board = gsm8k_space.leaderboard()
    [row] = [r for r in board.rows if r.file == dead.key]
    assert (row.negative, row.rank, row.status) == (True, None, "self-reported")
    assert board.headline.file == honest.key  # the higher score is a dead end: never the headline
    assert [r.file for r in board.top(5)] == [honest.key] and dead.key not in [r.file for r in board.best]
    assert all(p["file"] != dead.key for p in board.sections[0].best_line)
    assert board.to_dict()["rows"][-1]["negative"] is True  # listed after the ranked rows
    table = gsm8k_space.write_leaderboard().to_markdown()
    assert "dead end, self-reported" in next(line for line in table.splitlines() if "lora-r64" in line)


def test_a_scored_dead_end_keeps_its_verification(gsm8k_space):
    preds = "\n".join(json.dumps({"index": i, "prediction": "#### 0"}) for i in range(1319)).encode()
    dead = gsm8k_space.submit("answer zero", predictions=preds, name="zero", negative=True)
    [row] = [r for r in gsm8k_space.leaderboard().rows if r.file == dead.key]
    assert (row.status, row.negative, row.rank) == ("verified", True, None)
    assert gsm8k_space.leaderboard().headline is None or gsm8k_space.leaderboard().headline.file != dead.key


def test_a_hand_written_negative_result_is_a_dead_end(gsm8k_space):
    key = paths.result_key("bpe", "agent-05")
    gsm8k_space.store.put(key, json.dumps({"agent_id": "agent-05", "experiment": "BPE dropout", "score": 0.5,
                                           "status": "negative", "notes": "no gain"}).encode())
    board = gsm8k_space.leaderboard()
    assert board.headline is None and [r.file for r in board.dead_ends()] == [key]


def test_the_digest_lists_recent_dead_ends(gsm8k_space, clock):
    gsm8k_space.submit("CoT", score=0.4, name="cot")
    for i, what in enumerate(("LoRA r64", "distill from 70B", "temperature 1.5")):
        clock.advance(minutes=1)
        gsm8k_space.submit(what, score=0.1 + i / 10, name=f"dead-{i}", negative=True, notes=f"why {i}")
    digest = gsm8k_space.digest()
    md = digest.markdown
    section = md.split("## Dead ends: tried, did not work (3)", 1)[1].split("##", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("- ")]
    assert lines[0] == "- 0.3 agent-01: temperature 1.5 (why 2)"  # newest first
    assert len(lines) == 3 and "dead-" not in md.split("## Best results", 1)[1].split("##", 1)[0]
    assert [i["experiment"] for i in digest.data["dead_ends"]["items"]] == ["temperature 1.5", "distill from 70B",
                                                                          "LoRA r64"]


def test_cli_submit_negative(run_cli, memory_url):
    Space.init(memory_url, preset_spec("gsm8k"))
    env = {"COLLAB_SPACE": memory_url, "COLLAB_AGENT": "agent-01"}
    r = run_cli("submit", "--experiment", "LoRA r64", "--score", "0.2", "--negative", "--notes", "diverged", env=env)
    assert r.code == 0 and "dead end, self-reported: accuracy 0.2" in r.err
    out = run_cli("leaderboard", env=env).out
    assert "[dead end]" in next(line for line in out.splitlines() if "LoRA r64" in line)
    assert "best accuracy: no valid result yet" in out
    r = run_cli("submit", "--experiment", "x", "--negative", env=env)
    assert r.code == 1 and "a dead end records what it scored too" in r.err
