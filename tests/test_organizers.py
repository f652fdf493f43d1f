"""Issue 13, item 2: organizers at init, a documented way to change them, and reversible (still immutable) verdicts."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime, timedelta, timezone

import pytest

from collabspace import Conflict, Space
from collabspace.domain.results import invalidation
from collabspace.domain.setup.presets import preset_spec


def failed(r) -> tuple[str, str]:
    assert r.code == 1, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), r.err
    return lines[0].removeprefix("error: "), lines[1].removeprefix("hint: ")


def row(board, name):
    return next(r for r in board.rows if r.file.endswith(name))


def test_init_takes_organizers(run_cli, tmp_path):
    r = run_cli("init", tmp_path / "s", "--task", "gsm8k", "--organizer", "lead", "--organizer", "alice,bob")
    assert r.code == 0, r
    assert tomllib.loads((tmp_path / "s" / "collab.toml").read_text())["organizers"] == ["lead", "alice", "bob"]
    assert "Organizers: lead, alice, bob" in r.err
    assert "**Organizers**: `lead`, `alice`, `bob`" in (tmp_path / "s" / "README.md").read_text()
    r = run_cli("init", tmp_path / "t", "--organizer", "Not_An_Id")
    assert r.code == 1 and "invalid agent id 'Not_An_Id'" in r.err and not (tmp_path / "t" / "collab.toml").exists()
    r = run_cli("init", tmp_path / "u")
    assert "No organizers yet" in r.err and "collab organizers add ID" in r.err


def test_organizers_add_and_remove_rewrite_the_spec(run_cli, tmp_path):
    space = tmp_path / "s"
    assert run_cli("init", space).code == 0
    env = {"COLLAB_SPACE": str(space)}
    r = run_cli("organizers", "add", "lead", "--agent", "anyone", env=env)  # none yet: anyone takes the first
    assert r.code == 0 and r.out.strip() == "lead" and "collab.toml rewritten" in r.err
    toml = (space / "collab.toml").read_text()
    message, hint = failed(run_cli("organizers", "add", "mallory", "--agent", "mallory", env=env))
    assert message == "only an organizer (lead) can change the organizers; you are mallory"
    assert "@lead" in hint and (space / "collab.toml").read_text() == toml  # nothing changed
    r = run_cli("organizers", "add", "alice", "--agent", "lead", "--format", "json", env=env)
    assert json.loads(r.out) == {"organizers": ["lead", "alice"], "changed": True}
    assert run_cli("organizers", "add", "alice", "--agent", "lead", env=env).err.strip() == "nothing changed"
    r = run_cli("organizers", "remove", "lead", "--agent", "alice", env=env)
    assert r.code == 0 and r.out.strip() == "alice"
    assert tomllib.loads((space / "collab.toml").read_text())["organizers"] == ["alice"]
    assert "`alice`" in (space / "README.md").read_text() and "`lead`" not in (space / "README.md").read_text()
    assert json.loads(run_cli("organizers", "list", "--format", "json", env=env).out) == {"organizers": ["alice"]}
    # the new organizer is one at once: it may invalidate another agent's result
    s = Space.open(str(space), agent="agent-01")
    x = s.submit("typed", score=0.5, name="x")
    assert Space.open(str(space), agent="alice").invalidate(x.key, "typo in the score").by == "alice"


def test_an_organizer_reverses_a_mistaken_verdict_with_a_later_one(memory_url, clock):
    Space.init(memory_url, preset_spec("gsm8k", organizers=["lead"]), clock=clock)
    owner = Space.open(memory_url, agent="agent-01", clock=clock)
    lead = Space.open(memory_url, agent="lead", clock=clock)
    x = owner.submit("fine", score=0.6, name="x")
    y = owner.submit("built on x", score=0.7, name="y", refs=[x.key])
    first = lead.invalidate(x.key, "looks leaked")
    assert row(owner.leaderboard(), "x_agent-01.json").status == "invalid"
    assert owner.leaderboard().flagged[y.key].root == x.key
    clock.advance(minutes=5)
    with pytest.raises(Conflict, match="only an organizer"):
        owner.invalidate(x.key, "it is mine and fine", reverse=True)  # the owner cannot undo an organizer
    with pytest.raises(Conflict, match="already invalidated by lead: looks leaked") as err:
        lead.invalidate(x.key, "again")
    assert "--reverse" in err.value.hint
    stored = lead.store.get(first.key)
    back = lead.invalidate("x_agent-01", "checked: the mirror is train-only", reverse=True)
    assert back.key == f"verdicts/x_agent-01~lead~{clock.now:%Y%m%d-%H%M%S}.json"
    assert (back.action, back.supersedes) == ("reinstate", first.key)
    assert lead.store.get(first.key) == stored  # verdicts are immutable: the first one is as it was
    board = owner.leaderboard()
    r = row(board, "x_agent-01.json")
    assert (r.status, r.rank is not None, r.reason) == ("self-reported", True, None)
    assert r.reinstated == f"reinstated by lead: checked: the mirror is train-only (supersedes {first.key})"
    assert y.key not in board.flagged
    history = board.to_dict()["verdicts"][x.key]
    assert [(v["action"], v["by"], v["applies"]) for v in history] == [("invalidate", "lead", False),
                                                                       ("reinstate", "lead", True)]
    assert history[1]["reason"] == "checked: the mirror is train-only" and history[1]["supersedes"] == first.key
    assert "reinstated by lead: checked" in owner.cat("LEADERBOARD.md").decode()
    with pytest.raises(Conflict, match="is not invalidated, so there is nothing to reverse"):
        lead.invalidate(x.key, "twice", reverse=True)
    clock.advance(minutes=5)
    again = owner.invalidate(x.key, "found a real leak")  # the latest entitled verdict applies
    assert again.key == "verdicts/x_agent-01~agent-01.json"
    assert row(owner.leaderboard(), "x_agent-01.json").reason == "invalidated by agent-01: found a real leak"


def test_cli_invalidate_reverse_and_json(run_cli, memory_url, clock):
    Space.init(memory_url, preset_spec("gsm8k", organizers=["lead"]))
    Space.open(memory_url, agent="agent-01").submit("fine", score=0.6, name="x")
    env = {"COLLAB_SPACE": memory_url, "COLLAB_AGENT": "lead"}
    r = run_cli("invalidate", "x_agent-01.json", "--reason", "oops", "--format", "json", env=env)
    assert r.code == 0, r
    out = json.loads(r.out)
    assert (out["action"], out["by"], out["reason"], out["flagged"]) == ("invalidate", "lead", "oops", [])
    r = run_cli("invalidate", "x_agent-01.json", "--reverse", "--reason", "my mistake", env=env)
    assert r.code == 0 and r.out.startswith("verdicts/x_agent-01~lead~") and "is reinstated" in r.err
    lb = json.loads(run_cli("leaderboard", "--format", "json", env=env).out)
    [x] = [r for r in lb["rows"] if r["file"].endswith("x_agent-01.json")]
    assert x["status"] == "self-reported" and x["reinstated"].startswith("reinstated by lead: my mistake")
    assert "[reinstated by lead: my mistake" in run_cli("leaderboard", env=env).out
    message, hint = failed(run_cli("invalidate", "x_agent-01.json", "--reverse", "--reason", "r",
                                   "--agent", "agent-01", env=env))
    assert message.startswith("only an organizer (lead) can reverse a verdict")


def test_replay_the_latest_entitled_verdict_applies_and_racing_invalidations_keep_the_first():
    spec = preset_spec("gsm8k", organizers=["lead"])
    t = datetime(2026, 4, 25, 12, tzinfo=timezone.utc)

    def v(key, by, minutes, action=invalidation.INVALIDATE):
        return invalidation.Verdict(key, "artifacts/results/x_a.json", by, key, t + timedelta(minutes=minutes),
                                    action=action)

    first, second = v("verdicts/x_a~a.json", "a", 1), v("verdicts/x_a~lead.json", "lead", 2)
    assert invalidation.standing(spec, "a", [second, first]) is first  # racing: the first stands
    back = v("verdicts/x_a~lead~1.json", "lead", 3, invalidation.REINSTATE)
    assert invalidation.standing(spec, "a", [first, second, back]) is back
    assert not invalidation.is_invalid(back)
    late = v("verdicts/x_a~a~2.json", "a", 4)
    assert invalidation.standing(spec, "a", [late, back, first]) is late
    forged = v("verdicts/x_a~a~3.json", "a", 5, invalidation.REINSTATE)  # the owner cannot reinstate
    assert invalidation.standing(spec, "a", [first, forged]) is first


def test_a_reinstatement_by_someone_not_entitled_reverses_nothing(memory_url, clock):
    Space.init(memory_url, preset_spec("gsm8k", organizers=["lead"]), clock=clock)
    owner = Space.open(memory_url, agent="agent-01", clock=clock)
    x = owner.submit("fine", score=0.6, name="x")
    Space.open(memory_url, agent="lead", clock=clock).invalidate(x.key, "leaked")
    clock.advance(minutes=1)
    key = "verdicts/x_agent-01~agent-01~20260425-143100.json"
    owner.store.put(key, invalidation.verdict_document(x.key, "agent-01", "not leaked", clock(),
                                                       supersedes="verdicts/x_agent-01~lead.json"))
    assert row(owner.leaderboard(), "x_agent-01.json").status == "invalid"
    problems = {p.key: p.reason for p in owner.doctor_results()}
    assert problems[key] == "reinstatement by agent-01, who is not an organizer; ignored, it reverses nothing"
