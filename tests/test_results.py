"""Results: submit (self-reported and verified), refusals that store nothing, hand-written files, doctor."""

from __future__ import annotations

import json

import pytest

from collabspace.domain import paths
from collabspace.domain.setup.presets import preset_spec
from collabspace.errors import AlreadyExists, InvalidInput, NotFound
from collabspace.scorers.gsm8k import GSM8KScorer
from collabspace.space import Space

ITEMS, _ = GSM8KScorer().reference()


def snapshot(space: Space) -> dict[str, bytes]:
    return {i.key: space.store.get(i.key) for i in space.store.list("")}


def predictions(correct: int, wrong: int = 0) -> bytes:
    rows = [{"index": i, "prediction": f"So the answer is {ITEMS[i]['answer'].rsplit('####', 1)[1].strip()}."}
            for i in range(correct)]
    rows += [{"index": correct + i, "prediction": "The answer is -1."} for i in range(wrong)]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def stored(space: Space, key: str) -> dict:
    return json.loads(space.store.get(key))


def test_self_reported_result_has_the_template_fields(gsm8k_space):
    done = gsm8k_space.submit(
        "LoRA r=16, CoT", score="0.72", model="Qwen/Qwen2.5-7B", notes="greedy",
        fields=["test_samples=1319", "lr=0.0002", "optimizer=adamw"],
    )
    assert done.key == "artifacts/results/lora-r-16-cot_agent-01.json"
    assert done.status == "self-reported"
    assert stored(gsm8k_space, done.key) == {
        "agent_id": "agent-01", "timestamp": "2026-04-25T14:30:00Z", "experiment": "LoRA r=16, CoT",
        "model": "Qwen/Qwen2.5-7B", "score": 0.72, "test_samples": 1319, "notes": "greedy", "lr": 0.0002,
        "optimizer": "adamw", "status": "self-reported",
    }
    rows = gsm8k_space.leaderboard().top()
    assert [(r.rank, r.agent_id, r.score, r.status) for r in rows] == [(1, "agent-01", 0.72, "self-reported")]
    assert "| 1 | agent-01 | 0.72 | LoRA r=16, CoT |" in gsm8k_space.cat(paths.LEADERBOARD).decode()


def test_verified_result_records_the_scorer_and_a_per_item_file(gsm8k_space):
    done = gsm8k_space.submit("8-shot CoT", predictions=predictions(10, 5), name="cot8")
    doc = stored(gsm8k_space, done.key)
    assert doc["status"] == "verified" and doc["score"] == 10 / 1319 and doc["test_samples"] == 1319
    assert doc["verification"]["scorer"] == "gsm8k" and doc["verification"]["version"] == "1.0"
    assert (doc["verification"]["correct"], doc["verification"]["total"]) == (10, 1319)
    items = gsm8k_space.cat("artifacts/results/cot8_agent-01.items.jsonl").decode().splitlines()
    assert len(items) == 1319 and json.loads(items[0])["correct"] and not json.loads(items[12])["correct"]
    row = gsm8k_space.leaderboard().top()[0]
    assert row.status == "verified" and row.detail == "gsm8k 1.0, 10/1319"


def test_refusals_store_nothing(gsm8k_space):
    gsm8k_space.submit("first", score=0.5, name="taken")
    before = snapshot(gsm8k_space)
    bad = [
        (dict(score="nan"), InvalidInput, "score must be a finite number, got 'nan'"),
        (dict(score="inf"), InvalidInput, "score must be a finite number"),
        (dict(score="-Infinity"), InvalidInput, "score must be a finite number"),
        (dict(score="abc"), InvalidInput, "score must be a finite number"),
        (dict(), InvalidInput, "give exactly one of --score"),
        (dict(score=0.1, predictions=predictions(1)), InvalidInput, "give exactly one of --score"),
        (dict(score=0.1, name="taken"), AlreadyExists, "artifacts/results/taken_agent-01.json already exists"),
        (dict(score=0.1, name="../escape"), InvalidInput, "invalid name '../escape'"),
        (dict(score=0.1, name="a/b"), InvalidInput, "invalid name 'a/b'"),
        (dict(score=0.1, fields=["score=1"]), InvalidInput, "--field cannot set 'score'"),
        (dict(score=0.1, fields=["novalue"]), InvalidInput, "invalid --field 'novalue'"),
        (dict(score=0.1, fields=["test_samples=many"]), InvalidInput, "test_samples must be a whole number"),
        (dict(score=0.1, track="limited"), InvalidInput, "this space has no tracks"),
        (dict(score=0.1, refs=["20260101-000000_agent-09_nothing.md"]), NotFound, "refs: '20260101-000000_agent-09_nothing.md' is not a message"),
        (dict(score=0.1, artifacts=["artifacts/checkpoints/none_agent-01"]), NotFound, "'artifacts/checkpoints/none_agent-01' is not stored"),
        (dict(predictions=b'{"index": 5000, "prediction": "1"}\n'), InvalidInput, "predictions, line 1: index 5000"),
    ]
    for kwargs, error, message in bad:
        with pytest.raises(error) as err:
            gsm8k_space.submit("second", **kwargs)
        assert err.value.message.startswith(message), (kwargs, err.value.message)
        assert "\n" not in err.value.message and err.value.hint
    with pytest.raises(InvalidInput, match="--experiment is empty"):
        gsm8k_space.submit("   ", score=0.3)
    assert snapshot(gsm8k_space) == before


def test_refs_and_artifacts_are_resolved_and_stored(gsm8k_space):
    first = gsm8k_space.submit("base", score=0.3, name="base")
    gsm8k_space.store.put("message_board/20260425-143000_agent-02_idea.md", b"---\nagent: agent-02\n---\nidea")
    gsm8k_space.store.put("artifacts/checkpoints/lora_agent-01/w.bin", b"w")
    done = gsm8k_space.submit("better", score=0.4, refs=["base_agent-01.json", "20260425-143000_agent-02_idea"],
                              artifacts=["artifacts/checkpoints/lora_agent-01/"])
    doc = stored(gsm8k_space, done.key)
    assert doc["refs"] == [first.key, "message_board/20260425-143000_agent-02_idea.md"]
    assert doc["artifacts"] == ["artifacts/checkpoints/lora_agent-01"]


def test_limit_violation_is_stored_but_invalid(memory_url, clock, run_cli):
    Space.init(memory_url, preset_spec("parameter-golf"), clock=clock)
    space = Space.open(memory_url, agent="agent-01", clock=clock)
    done = space.submit("big model", score=1.05, fields=["artifact_size_bytes=17000000", "train_time_seconds=500"])
    assert done.status == "invalid"
    assert done.reason == "artifact_size_bytes = 17,000,000 exceeds the limit of 16,000,000"
    assert stored(space, done.key)["invalid_reason"] == done.reason
    board = space.leaderboard()
    assert board.top() == []  # it never ranks, however good the score
    row = board.rows[-1]
    assert (row.status, row.rank, row.reason) == ("invalid", None, done.reason)
    assert "| - | ~~agent-01~~ | ~~1.05~~ | ~~big model~~ |" in space.cat(paths.LEADERBOARD).decode()
    # through the CLI: stored, and the command fails with the reason
    res = run_cli("submit", "--space", memory_url, "--agent", "agent-02", "--experiment", "slow",
                  "--score", "1.1", "--field", "train_time_seconds=900", "--field", "artifact_size_bytes=1000")
    assert res.code == 1
    assert res.err.splitlines()[0] == (
        "error: stored artifacts/results/slow_agent-02.json, but it is invalid: "
        "train_time_seconds = 900 exceeds the limit of 600"
    )
    assert space.store.exists("artifacts/results/slow_agent-02.json")


def test_hand_written_results_are_read_and_malformed_ones_reported(gsm8k_space):
    store = gsm8k_space.store
    template = {"agent_id": "agent-03", "timestamp": "2026-04-24T17:30:00Z",
                "experiment": "LoRA fine-tune Qwen2.5-7B, r=16, 3 epochs, CoT", "model": "Qwen/Qwen2.5-7B",
                "score": 0.72, "test_samples": 1319, "notes": "greedy"}
    store.put("artifacts/results/eval_lora_agent-03.json", json.dumps(template).encode())
    store.put("artifacts/results/str_score_agent-04.json", b'{"agent_id": "agent-04", "experiment": "x", "score": "0.5"}')
    store.put("artifacts/results/broken_agent-05.json", b'{"agent_id": "agent-05", "score": 0.9')
    store.put("artifacts/results/noscore_agent-05.json", b'{"agent_id": "agent-05", "experiment": "sweep"}')
    store.put("artifacts/results/nan_agent-05.json", b'{"agent_id": "agent-05", "experiment": "x", "score": NaN}')
    store.put("artifacts/results/list_agent-05.json", b"[1, 2]")
    store.put("artifacts/results/forged_agent-06.json", json.dumps(
        {"agent_id": "agent-06", "experiment": "forged", "score": 1306 / 1319, "status": "verified",
         "verification": {"scorer": "gsm8k", "version": "1.0", "correct": 1306, "total": 1319,
                          "items": "artifacts/results/forged_agent-06.items.jsonl"}}).encode())
    store.put("artifacts/results/sweep_agent-05/run1.json", b"{}")  # inside a folder: not a result
    board = gsm8k_space.write_leaderboard()
    assert [(r.agent_id, r.score, r.status) for r in board.top()] == [
        ("agent-06", 1306 / 1319, "self-reported"), ("agent-03", 0.72, "self-reported"), ("agent-04", 0.5, "self-reported")]
    assert board.top()[1].date == "2026-04-24 17:30"
    problems = {p.key.rsplit("/", 1)[-1]: p.reason for p in gsm8k_space.doctor_results()}
    assert problems.keys() == {"broken_agent-05.json", "noscore_agent-05.json", "nan_agent-05.json",
                               "list_agent-05.json", "forged_agent-06.json"}
    assert problems["noscore_agent-05.json"] == "missing required field score"
    assert problems["nan_agent-05.json"] == "holds NaN, which is not a number JSON allows"
    assert problems["list_agent-05.json"] == "expected a JSON object, got list"
    assert problems["broken_agent-05.json"].startswith("not valid JSON")
    assert "per-item file that is not next to it" in problems["forged_agent-06.json"]
    assert "> 5 files could not be used as they are: run `collab doctor`" in gsm8k_space.cat(paths.LEADERBOARD).decode()


def test_cli_submit_and_leaderboard_json(memory_url, clock, run_cli, tmp_path):
    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    preds = tmp_path / "preds.jsonl"
    preds.write_bytes(predictions(20))
    env = {"COLLAB_SPACE": memory_url, "COLLAB_AGENT": "agent-07"}
    res = run_cli("submit", "--experiment", "cot", "--predictions", preds, "--model", "m", "--format", "json", env=env)
    assert res.code == 0, res
    assert json.loads(res.out) == {"key": "artifacts/results/cot_agent-07.json", "status": "verified",
                                   "score": 20 / 1319, "reason": None, "correct": 20, "total": 1319,
                                   "items": "artifacts/results/cot_agent-07.items.jsonl", "negative": False}
    res = run_cli("submit", "--experiment", "typed", "--score", "0.9", "--refs", "cot_agent-07.json", env=env)
    assert res.code == 0 and "self-reported: accuracy 0.9" in res.err
    res = run_cli("leaderboard", "--format", "json", env=env)
    rows = json.loads(res.out)["rows"]
    assert [(r["rank"], r["agent_id"], r["status"], r["file"]) for r in rows] == [
        (1, "agent-07", "self-reported", "artifacts/results/typed_agent-07.json"),
        (None, "baseline", "baseline", ""),  # 0.0227, between 0.9 and 20/1319
        (2, "agent-07", "verified", "artifacts/results/cot_agent-07.json"),
    ]
    assert {"rank", "agent_id", "score", "experiment", "status", "file"} <= rows[0].keys()
    res = run_cli("submit", "--experiment", "typed", "--score", "0.9", env=env)
    assert res.code == 1 and res.err.startswith("error: artifacts/results/typed_agent-07.json already exists")
    assert "hint: results are immutable; submit under a new --name, e.g. typed-2" in res.err
