"""The demo space: a scripted collaboration whose results are real, and ``collab demo DIR``."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import types
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

from collabspace.demo import SELF_REPORTED_SCORE, build_demo
from collabspace.scorers import get_scorer
from collabspace.space import Space

NOW = datetime(2026, 4, 25, 18, 0, 17, tzinfo=UTC)
TEST_SPLIT = files("collabspace.scorers").joinpath("data/gsm8k_test.jsonl")


@pytest.fixture(scope="module")
def demo_space(tmp_path_factory) -> Space:
    """The demo, built once in a folder with a fixed clock (and its own index cache)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLLAB_CACHE_DIR", str(tmp_path_factory.mktemp("demo-cache")))
        return build_demo(str(tmp_path_factory.mktemp("demo") / "space"), clock=lambda: NOW)


@pytest.fixture
def space(demo_space) -> Space:
    """The demo space opened afresh (the test's own index cache)."""
    return Space.open(demo_space.url, clock=lambda: NOW)


def rows(space: Space) -> dict[str, dict]:
    return {r.file.rsplit("/", 1)[-1]: r.to_dict() for r in space.leaderboard().rows if r.file}


# -- independent re-computation of the number baselines -------------------------------------------------
def questions() -> list[str]:
    return [json.loads(line)["question"] for line in TEST_SPLIT.read_text().splitlines() if line.strip()]


def values(question: str) -> list[Decimal]:
    out = []
    for token in re.findall(r"\d[\d,]*(?:\.\d+)?", question):
        out.append(Decimal(token.rstrip(",").replace(",", "")))
    return out


PICKS = {
    "last-number_opus-lead.json": lambda v: v[-1],
    "first-number_codex-7.json": lambda v: v[0],
    "largest-number_codex-7.json": max,
    "sum-of-numbers_codex-7.json": sum,
}


def rescore(pick) -> tuple[int, float]:
    lines = []
    for i, q in enumerate(questions()):
        v = values(q)
        lines.append(json.dumps({"index": i, "prediction": f"#### {pick(v)}" if v else None}))
    report = get_scorer("gsm8k").score("\n".join(lines).encode())
    return report.correct, report.score


@pytest.mark.parametrize("name", sorted(PICKS))
def test_verified_baselines_score_what_the_real_scorer_gives(space, name):
    row = rows(space)[name]
    correct, score = rescore(PICKS[name])
    assert row["status"] == "verified" and row["flag"] is None
    assert row["score"] == score
    assert row["detail"] == f"gsm8k 1.0, {correct}/1319"


def test_last_number_reproduces_the_preset_baseline(space):
    row = rows(space)["last-number_opus-lead.json"]
    baseline = space.spec.baselines[0]
    assert baseline.name == "Last number in the question"
    assert row["score"] == 30 / 1319 and round(row["score"], 4) == baseline.score == 0.0227


def test_pushed_scripts_reproduce_the_scored_predictions(space, tmp_path):
    """Each agent's script, run on its own, prints exactly the predictions its result was scored on."""
    runs = {
        "last-number_opus-lead.py": {"last-number_opus-lead": []},
        "number-picking_codex-7.py": {"first-number_codex-7": ["first"], "largest-number_codex-7": ["largest"],
                                      "sum-of-numbers_codex-7": ["sum"]},
        "rule-solver_ml-intern-1.py": {"rule-solver_ml-intern-1": []},
    }
    test_split = tmp_path / "gsm8k_test.jsonl"
    test_split.write_bytes(TEST_SPLIT.read_bytes())
    for script, results in runs.items():
        path = tmp_path / script
        path.write_bytes(space.cat(f"artifacts/scripts/{script}"))
        for result, args in results.items():
            out = subprocess.run([sys.executable, str(path), str(test_split), *args], capture_output=True,
                                 text=True, check=True).stdout
            printed = [json.loads(line)["prediction"] for line in out.splitlines()]
            items = [json.loads(line) for line in space.cat(f"artifacts/results/{result}.items.jsonl").splitlines()]
            assert printed == [i["prediction"] for i in items], (script, result)
            report = get_scorer("gsm8k").score(out.encode())
            assert rows(space)[f"{result}.json"]["score"] == report.score
            doc = json.loads(space.cat(f"artifacts/results/{result}.json"))
            assert doc["artifacts"] == [f"artifacts/scripts/{script}"]


def test_every_agent_pushed_a_script(space):
    owners = {a.owner for a in space.artifacts(kind="scripts")}
    assert owners == {a.agent for a in space.agents()} == {"opus-lead", "codex-7", "ml-intern-1", "gemini-scout"}
    assert len({(a.model, a.harness) for a in space.agents()}) == 4


def test_leaked_result_is_struck_out_and_its_follower_flagged(space):
    board = space.leaderboard()
    found = rows(space)
    leaked, follower = found["retrieval-cache_gemini-scout.json"], found["retrieval-fallback_codex-7.json"]
    assert leaked["status"] == "invalid" and leaked["rank"] is None
    assert leaked["reason"].startswith("invalidated by opus-lead: leaked answers")
    assert "opus-lead" in space.spec.organizers
    assert follower["status"] == "verified" and follower["rank"] is not None
    assert follower["flag"] == "builds on invalid retrieval-cache_gemini-scout.json"
    assert set(board.flagged) == {"artifacts/results/retrieval-fallback_codex-7.json"}
    markdown = space.cat("LEADERBOARD.md").decode()
    assert "~~gemini-scout~~" in markdown and "invalid: invalidated by opus-lead: leaked answers" in markdown
    assert "⚠ builds on invalid retrieval-cache_gemini-scout.json" in markdown
    # the leak is real: every answered item is right, and the answered items are the test questions
    items_file = space.cat("artifacts/results/retrieval-cache_gemini-scout.items.jsonl")
    items = [json.loads(line) for line in items_file.splitlines()]
    answered = [i for i in items if i["prediction"] is not None]
    assert all(i["correct"] for i in answered) and 0 < len(answered) < 1319
    assert leaked["score"] == len(answered) / 1319


def test_self_reported_result_says_it_is_scripted(space):
    row = rows(space)["qwen-math-1.5b-cot_ml-intern-1.json"]
    assert row["status"] == "self-reported" and row["score"] == SELF_REPORTED_SCORE
    doc = json.loads(space.cat("artifacts/results/qwen-math-1.5b-cot_ml-intern-1.json"))
    assert "scripted" in doc["notes"] and "verification" not in doc


def test_every_message_type_refs_and_mentions(space):
    messages = space.read(all=True).messages
    assert {m.type for m in messages} == set(space.spec.message_types)
    assert len(messages) >= 25 and len({m.agent for m in messages}) == 4
    assert sum(bool(m.refs) for m in messages) >= 15
    assert sum("@" in m.body for m in messages) >= 8
    kickoff = next(m for m in messages if m.file.endswith("_opus-lead_kickoff.md"))
    assert len(space.thread(kickoff.file)) > 5
    inbox = Space.open(space.url, agent="opus-lead", clock=lambda: NOW).inbox(all=True)
    assert {m.agent for m in inbox} >= {"ml-intern-1", "gemini-scout", "codex-7"}
    reports = [m for m in messages if m.type == "results-report"]
    assert all("artifacts/results/" in m.body for m in reports)
    keys = {i.key for i in space.ls()}
    for m in reports:
        for key in re.findall(r"`(artifacts/[^`]+)`", m.body):
            assert key in keys, (m.file, key)


def test_times_are_spread_over_hours_and_in_the_past(space):
    stamps = sorted(m.stamp for m in space.read(all=True).messages)
    assert stamps[-1] < NOW and NOW - stamps[-1] < timedelta(minutes=10)
    assert stamps[-1] - stamps[0] > timedelta(hours=5)
    dated = [r.timestamp for r in space.results()]
    assert all(stamps[0] < t < NOW for t in dated)


def test_claims_are_active_contested_expired_and_released(space):
    claims = {(c.scope, c.agent): c.status for c in space.claims(all=True)}
    assert claims[("reproduce preset baseline", "opus-lead")] == "released"
    assert claims[("number-picking heuristics", "codex-7")] == "expired"
    assert claims[("retrieval from worked solutions", "gemini-scout")] == "expired"
    assert claims[("rule-based arithmetic solver", "ml-intern-1")] == "active"
    assert claims[("rule-based arithmetic solver", "codex-7")] == "contested"
    assert claims[("few-shot prompting with a small model", "opus-lead")] == "active"
    assert claims[("retrieval from train-split solutions", "gemini-scout")] == "active"


def test_digest_is_short_and_tells_of_the_invalidation(space):
    digest = space.digest()
    assert len(digest.markdown) < 6000 and len(digest.to_json()) <= 6000
    assert "Invalidated `artifacts/results/retrieval-cache_gemini-scout.json`: leaked answers" in digest.markdown
    assert "contested by codex-7" in digest.markdown
    assert "## Active claims (3)" in digest.markdown


def test_building_is_deterministic_for_a_clock(tmp_path, demo_space):
    again = build_demo(str(tmp_path / "again"), clock=lambda: NOW)

    def snapshot(s: Space) -> dict[str, str]:
        return {i.key: hashlib.sha256(s.cat(i.key)).hexdigest() for i in s.ls()
                if i.key.startswith(("message_board/2", "artifacts/results/", "verdicts/"))}

    assert snapshot(again) == snapshot(demo_space)


# -- the command -------------------------------------------------------------------------------------------
def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_cli_builds_then_refuses_a_second_time(run_cli, tmp_path):
    target = tmp_path / "demo"
    res = run_cli("demo", target, "--no-serve")
    assert res.code == 0, res
    assert f"Built a demo GSM8K space in {target}" in res.out
    assert "agents:        4: codex-7 (gpt-5-codex, codex)" in res.out
    assert "results:       8: 6 verified, 1 self-reported, 1 invalid" in res.out
    assert "best verified: 0.0227 (30/1319) 'Last number in the question' by opus-lead" in res.out
    assert "invalidated:   retrieval-cache_gemini-scout.json" in res.out and "leaked answers" in res.out
    assert "flagged:       retrieval-fallback_codex-7.json" in res.out
    for command in ("read --all", "leaderboard", "digest"):
        assert f"collab {command} --space {target}" in res.err
    before = tree(target)
    assert "LEADERBOARD.md" in before and len(before) > 40

    board = run_cli("leaderboard", "--space", target, "--format", "json")
    assert board.code == 0 and json.loads(board.out)["flagged"]

    again = run_cli("demo", target, "--no-serve")
    assert again.code == 1
    assert "already holds a collab space" in again.err and again.out == ""
    assert tree(target) == before


def test_cli_refuses_a_folder_with_other_files(run_cli, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    res = run_cli("demo", tmp_path, "--no-serve")
    assert res.code == 1 and "notes.txt" in res.err
    assert tree(tmp_path) == {"notes.txt": b"mine"}


def test_cli_serves_the_built_space(run_cli, tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("collabspace.web.app")
    fake.serve = lambda space, host, port, *, open_browser=False: calls.append((space, host, port, open_browser))
    monkeypatch.setitem(sys.modules, "collabspace.web.app", fake)
    res = run_cli("demo", tmp_path / "d", "--host", "0.0.0.0", "--port", "8123")
    assert res.code == 0, res
    assert calls == [(str(tmp_path / "d"), "0.0.0.0", 8123, False)]


def test_cli_without_the_dashboard_fails_before_building(run_cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "collabspace.web.app", None)  # the import fails
    res = run_cli("demo", tmp_path / "d")
    assert res.code == 1
    assert "error: the live dashboard is not available" in res.err
    assert f"hint: build the demo without it: collab demo {tmp_path / 'd'} --no-serve" in res.err
    assert not (tmp_path / "d").exists()


def test_the_demo_carries_on_live(tmp_path):
    import threading

    from collabspace.demo import continue_live, difference_of_largest, predictions

    url = str(tmp_path / "live")
    build_demo(url)
    written = continue_live(url, stop=threading.Event(), pause=0)
    assert len(written) == 4 and written[1] == "artifacts/results/difference_codex-7.json"
    space = Space.open(url)
    row = next(r for r in space.leaderboard().rows if r.file == written[1])
    expected = space.score(predictions(difference_of_largest, [q["question"] for q in _test_items()]))
    assert row.status == "verified" and row.score == expected.score
    assert [m.file for m in space.read(all=True).messages][-3:] == [written[0], written[2], written[3]]
    stopped = threading.Event()
    stopped.set()
    assert continue_live(url, stop=stopped, pause=0) == []  # a stopped demo writes nothing more


def _test_items():
    from collabspace.scorers import get_scorer

    items, _ = get_scorer("gsm8k").reference("test")
    return items
