"""Issue 13 item 14: verified results compared item by item (domain, Space API and ``collab compare``).

Before: nothing compared results below their totals; ``collab compare`` did not exist.
"""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from collabspace import Space
from collabspace.domain import paths
from collabspace.domain.results.compare import MAX_RESULTS, compare
from collabspace.domain.results.leaderboard import Row
from collabspace.domain.setup.presets import preset_spec
from collabspace.errors import InvalidInput, NotFound
from collabspace.scorers import ItemResult, ScoreReport

GOLD = [json.loads(line)["answer"].rsplit("####", 1)[1].strip()
        for line in files("collabspace.scorers").joinpath("data/gsm8k_test.jsonl").read_text("utf-8").splitlines()]


def predictions(right: set[int], wrong: str = "-1") -> bytes:
    """Every item answered: right on ``right``, else ``wrong`` (a shared wrong answer, so votes can agree)."""
    return "".join(json.dumps({"index": i, "prediction": f"so #### {g if i in right else wrong}"}) + "\n"
                   for i, g in enumerate(GOLD)).encode()


@pytest.fixture
def space(memory_url) -> Space:
    Space.init(memory_url, preset_spec("gsm8k"))
    return Space.open(memory_url, agent="agent-01")


def test_two_results_item_by_item(space):
    space.submit("A", predictions=predictions(set(range(0, 100))), name="a")
    space.submit("B", predictions=predictions(set(range(50, 200))), name="b")
    c = space.compare(["a_agent-01", "b_agent-01.json"])
    (pair,) = c.pairs
    assert (pair.a, pair.b) == ("artifacts/results/a_agent-01.json", "artifacts/results/b_agent-01.json")
    assert pair.b_not_a == list(range(100, 200)) and pair.a_not_b == list(range(0, 50))
    assert (pair.both, pair.neither) == (50, 1319 - 200)
    assert (c.oracle.correct, c.oracle.total) == (200, 1319)
    # two voters: agreeing items keep their answer; a disagreement goes to the better result (B)
    assert (c.majority.correct, c.majority.ties) == (150, 150)
    data = c.to_dict()
    assert [r["correct"] for r in data["results"]] == [100, 150]
    assert data["results"][0]["status"] == "verified" and data["results"][0]["score_text"] == "0.075815"
    assert data["items"][0] == {"index": 0, "gold": GOLD[0], "answers": [GOLD[0], "-1"], "correct": [True, False]}
    assert data["oracle"]["score_text"] == "0.15163"


def test_three_results_majority_vote_is_scored_by_the_real_scorer(space):
    space.submit("A", predictions=predictions(set(range(0, 100))), name="a")
    space.submit("B", predictions=predictions(set(range(50, 200))), name="b")
    space.submit("C", predictions=predictions(set(range(150, 250)) | {10}), name="c")
    c = space.compare(["a_agent-01", "b_agent-01", "c_agent-01"])
    assert len(c.pairs) == 3
    assert c.oracle.correct == 250
    # right by majority: 50-99 (A, B), 150-199 (B, C), 10 (A, C); every other item 2 of 3 say "-1"
    assert (c.majority.correct, c.majority.total, c.majority.scorer) == (101, 1319, "gsm8k")


def test_the_scorers_verdicts_count_not_the_files_claims(space):
    """A per-item file whose ``correct`` flags were edited (its predictions, and so its totals, unchanged)
    compares as the scorer sees it."""
    done = space.submit("A", predictions=predictions(set(range(100))), name="a")
    space.submit("B", predictions=predictions(set(range(100))), name="b")
    key = paths.items_key(done.key)
    lines = [json.loads(line) for line in space.cat(key).decode().splitlines()]
    for item in lines[:100]:
        item["correct"] = False
    for item in lines[100:200]:
        item["correct"] = True
    space.store.put(key, "".join(json.dumps(i) + "\n" for i in lines).encode())
    (pair,) = space.compare(["a_agent-01", "b_agent-01"]).pairs
    assert pair.a_not_b == [] and pair.b_not_a == [] and pair.both == 100


def test_only_verified_results_compare(space):
    space.submit("A", predictions=predictions(set(range(10))), name="a")
    space.submit("self", score=0.9, name="s")
    with pytest.raises(InvalidInput, match=r"s_agent-01.json is not verified \(self-reported\)"):
        space.compare(["a_agent-01", "s_agent-01"])
    space.invalidate("a_agent-01", "leaked")
    with pytest.raises(InvalidInput, match="not verified .invalid: invalidated by agent-01: leaked"):
        space.compare(["a_agent-01"])
    with pytest.raises(NotFound, match="no result 'nope'"):
        space.compare(["nope"])


def test_bad_selections_are_refused(space):
    space.submit("A", predictions=predictions(set(range(10))), name="a")
    with pytest.raises(InvalidInput, match="named twice"):
        space.compare(["a_agent-01", "a_agent-01.json"])
    with pytest.raises(InvalidInput, match="no result to compare"):
        space.compare([])
    with pytest.raises(InvalidInput, match=f"at most {MAX_RESULTS}"):
        compare([_row(f"r{i}") for i in range(MAX_RESULTS + 1)], [b""] * (MAX_RESULTS + 1), _toy)


# -- any scorer that writes per-item files ----------------------------------------------------------------
TOY_GOLD = ["red", "green", "blue", "red"]


def _toy(predictions: bytes) -> ScoreReport:
    """A tiny exact-match scorer over four colours: the comparison knows nothing of GSM8K."""
    given = {json.loads(line)["index"]: json.loads(line)["prediction"] for line in predictions.decode().splitlines()}
    items = [ItemResult(i, given.get(i) == g, g, given.get(i), given.get(i)) for i, g in enumerate(TOY_GOLD)]
    correct = sum(i.correct for i in items)
    return ScoreReport("colours", "0.1", "test", correct / 4, correct, 4, "", items)


def _row(name: str) -> Row:
    return Row(rank=1, agent_id="agent-01", score=0.5, experiment=name, status="verified",
               file=f"artifacts/results/{name}_agent-01.json")


def _items(answers: list[str | None]) -> bytes:
    return "".join(json.dumps({"index": i, "prediction": a, "correct": True}) + "\n"
                   for i, a in enumerate(answers) if a is not None).encode()


def test_any_scorer_with_per_item_files():
    rows = [_row("x"), _row("y"), _row("z")]
    items = [_items(["red", "green", "red", None]), _items(["red", "blue", "blue", "blue"]),
             _items(["blue", "green", "green", "red"])]
    c = compare(rows, items, _toy)
    assert [r.report.correct for r in c.results] == [2, 2, 2]
    assert c.pairs[0].b_not_a == [2] and c.pairs[0].a_not_b == [1]
    assert c.oracle.correct == 4
    # item 0: red (x, y) beats blue; 1: green (x, z); 2: red, blue, green tie -> x's red (x first among equals);
    # 3: blue (y), red (z) tie -> y's blue: right on 0 and 1 only
    assert (c.majority.correct, c.majority.ties, c.majority.scorer) == (2, 2, "colours")


# -- collab compare ----------------------------------------------------------------------------------------
def test_collab_compare(space, run_cli):
    space.submit("first 100", predictions=predictions(set(range(100))), name="a")
    space.submit("first 300", predictions=predictions(set(range(300))), name="b")
    r = run_cli("compare", "a_agent-01", "b_agent-01.json", "--space", space.url)
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[0] == "A  a_agent-01.json  0.075815  100/1319  agent-01: first 100"
    assert lines[2].startswith("B right, A wrong: 200 items: 100, 101, 102,") and lines[2].endswith("(180 more)")
    assert lines[3] == "A right, B wrong: 0 items: none"
    assert "oracle (at least one right): 300/1319 = 0.22745" in r.out
    assert "majority vote, scored by gsm8k 1.0: 300/1319 = 0.22745" in r.out
    r = run_cli("compare", "a_agent-01", "b_agent-01", "--space", space.url, "--format", "json")
    data = json.loads(r.out)
    assert data["pairs"][0]["b_not_a_count"] == 200 and "items" not in data
    one = run_cli("compare", "a_agent-01", "--space", space.url)
    assert one.code == 0 and "wrong: 1219 items: 100, 101" in one.out
    bad = run_cli("compare", "a_agent-01", "missing_agent-09", "--space", space.url)
    assert bad.code == 1 and bad.err.splitlines() == ["error: no result 'missing_agent-09'",
                                                      "hint: list results with: collab leaderboard"]
