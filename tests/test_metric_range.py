"""Issue 13, item 1: the metric's range is in the spec; scores outside it, and empty predictions, are refused."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from collabspace import InvalidInput, Space
from collabspace.domain import paths
from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import parse_spec, spec_from_dict
from collabspace.errors import InvalidSpec


def failed(r) -> tuple[str, str]:
    """The error and hint of a failed command: exactly those two lines on stderr, nothing on stdout."""
    assert r.code == 1, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), r.err
    assert r.out == ""
    return lines[0].removeprefix("error: "), lines[1].removeprefix("hint: ")


def test_presets_carry_their_range_and_a_custom_metric_may_give_one():
    gsm8k = preset_spec("gsm8k").metric
    assert (gsm8k.min, gsm8k.max, gsm8k.range_text()) == (0, 1, "0 to 1")
    assert preset_spec("parameter-golf").metric.range_text() == "at least 0"
    custom = preset_spec("custom", title="T", metric="loss", direction="lower", goal="g")
    assert custom.metric.range_text() is None and custom.metric.out_of_range(1e9) is None
    ranged = preset_spec("custom", title="T", metric="f1", direction="higher", goal="g", metric_min=0, metric_max=100)
    assert tomllib.loads(ranged.to_toml())["metric"]["max"] == 100
    assert parse_spec(ranged.to_toml()).metric.out_of_range(101) == "f1 101 is outside its range (0 to 100)"


@pytest.mark.parametrize(("metric", "message"), [
    ({"min": 1, "max": 0}, "the range is empty: min (1) must be below max (0)"),
    ({"min": float("inf")}, "must be a finite number"),
])
def test_a_bad_range_is_refused(metric, message):
    data = {"task": {"id": "t", "title": "T", "goal": "g"}, "metric": {"name": "acc", "direction": "higher", **metric}}
    with pytest.raises(InvalidSpec, match=re.escape(message)):
        spec_from_dict(data)


def test_a_baseline_outside_the_range_is_refused():
    data = {"task": {"id": "t", "title": "T", "goal": "g"}, "metric": {"name": "acc", "direction": "higher", "max": 1},
            "baselines": [{"name": "percent", "score": 81}]}
    with pytest.raises(InvalidSpec, match="baseline 'percent': acc 81 is outside its range"):
        spec_from_dict(data)


@pytest.mark.parametrize(("score", "example"), [("81", ", e.g. --score 0.81 (a fraction, not a percentage)"),
                                                ("-5", "pass a score in it"), ("1.0001", "pass a score in it")])
def test_cli_refuses_a_score_outside_the_range_with_the_range_in_the_hint(run_cli, memory_url, score, example):
    Space.init(memory_url, preset_spec("gsm8k"))
    before = {i.key: Space.open(memory_url).cat(i.key) for i in Space.open(memory_url).ls()}
    r = run_cli("submit", "--experiment", "typed", "--score", score, "--space", memory_url, "--agent", "agent-01")
    message, hint = failed(r)
    assert message == f"score {score} is outside the range of accuracy (0 to 1); nothing was stored"
    assert "accuracy runs 0 to 1" in hint and hint.endswith(example)
    space = Space.open(memory_url)
    assert {i.key: space.cat(i.key) for i in space.ls()} == before  # nothing stored, nothing regenerated


def test_scores_on_the_bounds_are_accepted(gsm8k_space):
    assert gsm8k_space.submit("perfect", score=1, name="one").status == "self-reported"
    assert gsm8k_space.submit("nothing", score="0", name="zero").status == "self-reported"


def test_a_hand_written_result_outside_the_range_is_invalid_never_first(gsm8k_space):
    gsm8k_space.submit("honest", score=0.41, name="honest")
    gsm8k_space.store.put(paths.result_key("percent", "agent-09"), json.dumps(
        {"agent_id": "agent-09", "experiment": "percent by hand", "score": 81}).encode())
    board = gsm8k_space.leaderboard()
    assert board.headline.file == paths.result_key("honest", "agent-01")
    [row] = [r for r in board.rows if r.agent_id == "agent-09"]
    assert (row.status, row.rank, row.reason) == ("invalid", None, "accuracy 81 is outside its range (0 to 1)")


def test_an_empty_predictions_file_is_an_error_not_a_zero(run_cli, memory_url, tmp_path):
    Space.init(memory_url, preset_spec("gsm8k"))
    empty = tmp_path / "preds.jsonl"
    for content in (b"", b"\n  \n"):
        empty.write_bytes(content)
        message, hint = failed(run_cli("submit", "--experiment", "x", "--predictions", empty, "--space", memory_url,
                                       "--agent", "agent-01"))
        assert message == "the predictions file is empty: there is nothing to score, and nothing was stored"
        assert '"prediction"' in hint
        message, _ = failed(run_cli("score", "gsm8k", empty))
        assert message.startswith("the predictions file is empty")
    assert Space.open(memory_url).results() == []
    with pytest.raises(InvalidInput, match="is empty"):
        Space.open(memory_url).score(b"")
