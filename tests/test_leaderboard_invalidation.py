"""Invalidation: who may, the immutable verdict, and flags that follow refs through results and messages."""

from __future__ import annotations

import pytest

from collabspace.domain import paths
from collabspace.domain.results.invalidation import propagate
from collabspace.domain.refs import parse as parse_refs
from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import spec_from_dict
from collabspace.errors import Conflict, InvalidInput, NotFound
from collabspace.space import Space


def test_propagate_is_transitive_nearest_root_and_cycle_safe():
    graph = {
        "artifacts/results/a_agent-01.json": [],
        "artifacts/results/b_agent-02.json": ["a_agent-01.json"],  # file name
        "message_board/20260425-150000_agent-03_idea.md": ["artifacts/results/b_agent-02.json"],  # full key
        "artifacts/results/c_agent-03.json": ["20260425-150000_agent-03_idea"],  # no extension
        "artifacts/results/d_agent-04.json": ["artifacts/results/c_agent-03.items.jsonl", "e_agent-05.json"],
        "artifacts/results/e_agent-05.json": ["d_agent-04"],  # a cycle d <-> e
        "artifacts/results/clean_agent-06.json": ["nothing-here.md"],
    }
    flags = propagate({k: list(parse_refs(v)) for k, v in graph.items()}, ["artifacts/results/a_agent-01.json"])
    assert {k: (f.depth, f.via.rsplit("/", 1)[-1]) for k, f in flags.items()} == {
        "artifacts/results/b_agent-02.json": (1, "a_agent-01.json"),
        "message_board/20260425-150000_agent-03_idea.md": (2, "b_agent-02.json"),
        "artifacts/results/c_agent-03.json": (3, "20260425-150000_agent-03_idea.md"),
        "artifacts/results/d_agent-04.json": (4, "c_agent-03.json"),
        "artifacts/results/e_agent-05.json": (5, "d_agent-04.json"),
    }
    assert all(f.root == "artifacts/results/a_agent-01.json" for f in flags.values())
    assert flags["artifacts/results/b_agent-02.json"].reason() == "builds on invalid a_agent-01.json"
    assert propagate(graph, []) == {}


def message(agent: str, refs: str) -> bytes:
    return f"---\nagent: {agent}\ntype: build-on\ntimestamp: 2026-04-25 15:00 UTC\nrefs: {refs}\n---\n\nBuilding on it.\n".encode()


def test_a_chain_three_results_deep_is_flagged(memory_url, clock):
    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    a1, a2, a3, a4 = (Space.open(memory_url, agent=f"agent-0{i}", clock=clock) for i in range(1, 5))
    root = a1.submit("trained on test", score=0.95, name="leaky")
    first = a2.submit("copy of leaky", score=0.94, refs=["leaky_agent-01.json"])
    a3.store.put("message_board/20260425-150000_agent-03_plan.md", message("agent-03", f"[{first.key}]"))
    second = a3.submit("tweak", score=0.93, refs=["20260425-150000_agent-03_plan.md"])
    third = a4.submit("tweak of tweak", score=0.92, refs=[second.key])
    a4.store.put("message_board/20260425-160000_agent-04_note.md", message("agent-04", third.key.rsplit("/", 1)[-1]))
    honest = a4.submit("independent", score=0.5)

    verdict = a1.invalidate("leaky_agent-01", "trained on the test split")
    assert verdict.key == "verdicts/leaky_agent-01~agent-01.json"  # a verdict names its author
    assert (verdict.by, verdict.result, verdict.reason) == ("agent-01", root.key, "trained on the test split")

    board = a1.leaderboard()
    assert [r.file for r in board.top()] == [first.key, second.key, third.key, honest.key]
    flags = {r.file: r.flag for r in board.rows if r.flag}
    assert flags == {
        first.key: "builds on invalid leaky_agent-01.json",
        second.key: "builds on invalid leaky_agent-01.json (via 20260425-150000_agent-03_plan.md)",
        third.key: "builds on invalid leaky_agent-01.json (via tweak_agent-03.json)",
    }
    assert board.flagged["message_board/20260425-160000_agent-04_note.md"].depth == 5
    invalid = [r for r in board.rows if r.status == "invalid"]
    assert [(r.file, r.rank, r.reason) for r in invalid] == [
        (root.key, None, "invalidated by agent-01: trained on the test split")]
    md = a1.cat(paths.LEADERBOARD).decode()
    assert "| - | ~~agent-01~~ | ~~0.95~~ | ~~trained on test~~ |" in md
    assert "invalid: invalidated by agent-01: trained on the test split" in md
    assert "⚠ builds on invalid leaky_agent-01.json (via tweak_agent-03.json)" in md
    assert "[20260425-160000_agent-04_note.md](message_board/20260425-160000_agent-04_note.md)" in md
    best = table_rows_agents(md)
    assert best == ["agent-02", "agent-03", "agent-04"]  # agent-01 has nothing valid left


def table_rows_agents(md: str) -> list[str]:
    section = md.split("## Best per agent\n", 1)[1].split("\n\n#", 1)[0]
    return [line.split("|")[2].strip() for line in section.strip().splitlines()[2:]]


def test_only_the_owner_or_an_organizer_may_invalidate_and_the_first_verdict_stands(memory_url, clock):
    spec = preset_spec("gsm8k").model_copy(update={"organizers": ["alice"]})
    Space.init(memory_url, spec, clock=clock)
    owner = Space.open(memory_url, agent="agent-01", clock=clock)
    done = owner.submit("x", score=0.9)
    before = {i.key: owner.store.get(i.key) for i in owner.store.list("")}
    other = Space.open(memory_url, agent="agent-02", clock=clock)
    with pytest.raises(Conflict) as err:
        other.invalidate(done.key, "looks wrong")
    assert err.value.message == (
        "only agent-01 (the owner) or an organizer (alice) can invalidate artifacts/results/x_agent-01.json; "
        "you are agent-02")
    with pytest.raises(NotFound, match="no result artifacts/results/nope_agent-01.json"):
        other.invalidate("nope_agent-01.json", "r")
    with pytest.raises(InvalidInput, match="--reason is empty"):
        owner.invalidate(done.key, "  ")
    assert {i.key: owner.store.get(i.key) for i in owner.store.list("")} == before
    Space.open(memory_url, agent="alice", clock=clock).invalidate(done.key, "duplicate of another run")
    with pytest.raises(Conflict, match="already invalidated by alice: duplicate of another run"):
        owner.invalidate(done.key, "mine")
    assert owner.leaderboard().rows[-1].reason == "invalidated by alice: duplicate of another run"


def test_a_verdict_written_by_hand_by_someone_else_is_ignored_and_reported(gsm8k_space):
    done = gsm8k_space.submit("x", score=0.9)
    gsm8k_space.store.put("verdicts/x_agent-01.json",
                          b'{"result": "artifacts/results/x_agent-01.json", "by": "agent-09", "reason": "spite"}')
    gsm8k_space.store.put("verdicts/junk.json", b"not json")
    board = gsm8k_space.leaderboard()
    assert board.top()[0].file == done.key and board.top()[0].status == "self-reported"
    reasons = {p.key: p.reason for p in gsm8k_space.doctor_results()}
    assert reasons["verdicts/x_agent-01.json"].startswith("verdict by agent-09, who is neither the owner")
    assert reasons["verdicts/junk.json"].startswith("not valid JSON")


def test_a_flagged_result_keeps_its_status_but_never_counts_as_verified(memory_url, clock):
    from dashboard_support import last_number_predictions

    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    a1, a2 = (Space.open(memory_url, agent=f"agent-0{i}", clock=clock) for i in (1, 2))
    leaky = a1.submit("leaky", score=0.95, name="leaky")
    a1.invalidate(leaky.key, "trained on the test split")
    a2.store.put(paths.message_key("20260425-150000", "agent-02", "plan"), message("agent-02", leaky.key))
    child = a2.submit("scored, on the leaky plan", predictions=last_number_predictions(), name="child",
                      refs=["20260425-150000_agent-02_plan.md"])
    a1.submit("honest, self-reported", score=0.01, name="honest")
    board = a1.leaderboard()
    row = next(r for r in board.rows if r.file == child.key)
    assert (row.rank, row.status, row.verified) == (1, "verified", False)
    assert row.flag == "builds on invalid leaky_agent-01.json (via 20260425-150000_agent-02_plan.md)"
    assert row.to_dict()["verified"] is False and row.to_dict()["status"] == "verified"
    # never the headline: the best credible result is, labelled for what it is
    assert (board.headline.experiment, board.headline.status) == ("honest, self-reported", "self-reported")
    assert "verified (gsm8k 1.0, 30/1319) ⚠ builds on invalid leaky_agent-01.json" in a1.cat(paths.LEADERBOARD).decode()


def test_limit_violations_also_taint_what_builds_on_them(memory_url, clock):
    spec = spec_from_dict({
        "task": {"id": "t", "title": "T", "goal": "g"}, "metric": {"name": "loss", "direction": "lower"},
        "constraints": {"limits": [{"field": "params", "max": 100}]},
    })
    Space.init(memory_url, spec, clock=clock)
    space = Space.open(memory_url, agent="agent-01", clock=clock)
    big = space.submit("big", score=0.1, fields=["params=1000"])
    child = space.submit("child", score=0.2, fields=["params=50"], refs=[big.key])
    row = space.leaderboard().top()[0]
    assert (row.file, row.flag) == (child.key, "builds on invalid big_agent-01.json")


def test_cli_invalidate(memory_url, clock, run_cli):
    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    env = {"COLLAB_SPACE": memory_url, "COLLAB_AGENT": "agent-01"}
    assert run_cli("submit", "--experiment", "x", "--score", "0.9", env=env).code == 0
    assert run_cli("submit", "--experiment", "y", "--score", "0.8", "--refs", "x_agent-01.json", env=env).code == 0
    res = run_cli("invalidate", "x_agent-01.json", "--reason", "bug in eval", env=env)
    assert res.code == 0 and res.out.strip() == "verdicts/x_agent-01~agent-01.json"
    assert "1 result(s)/message(s) that build on it are flagged" in res.err
    res = run_cli("invalidate", "x_agent-01.json", "--reason", "again", env=env)
    assert res.code == 1 and res.err.startswith("error: artifacts/results/x_agent-01.json was already invalidated")
    res = run_cli("invalidate", "x_agent-01.json", "--reason", "again", env={**env, "COLLAB_AGENT": "agent-02"})
    assert res.code == 1 and "error: only agent-01 (the owner)" in res.err
