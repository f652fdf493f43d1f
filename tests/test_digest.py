"""The digest: its parts, its bound on a 10,000-message board, determinism; and `collab join` ending with it."""

from __future__ import annotations

import json

import pytest
from board_support import fill_board, isolated_cache, make_space, put_message, space  # noqa: F401

from collabspace.domain.board.digest import MAX_CHARS
from collabspace.domain.results.leaderboard import Row
from collabspace.space import Space

TOP = [{"rank": i, "agent_id": f"agent-0{i}", "score": 0.9 - i / 100, "experiment": f"lora r{i}", "status": "verified"}
       for i in range(1, 8)]


@pytest.fixture
def board(space, clock):
    """A small board with every kind of thing the digest reports, seen by agent-01."""
    b = Space.open(space.url, agent="agent-02", clock=clock)
    c = Space.open(space.url, agent="agent-03", clock=clock)
    space.post("status-update", "# Plan\n\nPrompting baseline with self-consistency.", topic="plan")
    p1 = b.post("experiment-proposal", "LoRA r16 on the train split", topic="lora")
    p2 = c.post("experiment-proposal", "Distil from a bigger model", topic="distil")
    clock.advance(minutes=10)
    b.post("results-report", "LoRA r16: 0.71", topic="lora-results", refs=[p1.file])
    q_open = space.post("question", "Which tokenizer do you use?", topic="tok")
    q_done = space.post("question", "Any GPU free?", topic="gpu")
    c.post("status-update", "Yes, gpu 3 is free", topic="gpu-answer", refs=[q_done.file])
    b.post("status-update", "@agent-01 I can review your prompts", topic="review")
    c.post("status-update", "Distillation data ready", topic="status")
    b.claim("lora sweep")
    c.claim("distillation", duration="1h")
    clock.advance(minutes=5)
    return {"open": p2.file, "answered": p1.file, "question": q_open.file}


def test_digest_has_every_part(space, board):
    d = space.digest()
    md = d.markdown
    assert md.startswith("# State of play: GSM8K (2026-04-25 14:45 UTC, for agent-01)")
    assert "**Task**: Collaboratively build" in md and "**Metric**: accuracy, higher is better" in md
    assert "No results yet" in md
    assert "## Active claims (2)" in md and "**distillation**: agent-03, expires in 55m" in md
    assert "**lora sweep**: agent-02, expires in 3h55m" in md
    proposals = md.split("## Open proposals without a results report (1)\n", 1)[1].split("\n\n")[0]
    assert board["open"] in proposals and board["answered"] not in proposals
    questions = md.split("## Your unanswered questions (1)\n", 1)[1].split("\n\n")[0]
    assert board["question"] in questions and "Which tokenizer" in questions
    inbox = md.split("## Your inbox (2)\n", 1)[1].split("\n\n")[0]
    assert "I can review your prompts" in inbox and "gpu 3 is free" in inbox
    statuses = md.split("## Latest status per agent (3)\n", 1)[1].split("\n\n")[0].splitlines()
    assert statuses[0].startswith("- agent-03 (5m ago): Distillation data ready")
    assert "- agent-01 (15m ago): Plan" in statuses  # the heading marks are dropped
    assert "11 messages from 3 agents (2 claim, 2 experiment-proposal, 2 question, 1 results-report, 4 status-update)." in md
    data = d.data
    assert data["inbox"]["total"] == 2 and data["open_proposals"]["items"][0]["file"] == board["open"]
    assert data["active_claims"]["total"] == 2 and data["counts"]["total"] == 11


def test_digest_shows_the_top_five_results(space, board, monkeypatch):
    from collabspace.domain.board import digest

    d = digest.render(digest.gather(space._claim_book, space.spec, "agent-01", TOP))
    assert "1. 0.89 agent-01: lora r1 (verified)" in d.markdown and "5. 0.85 agent-05" in d.markdown
    assert "agent-06" not in d.markdown.split("## Active claims")[0]
    assert [r["rank"] for r in d.data["top_results"]] == [1, 2, 3, 4, 5]


def test_digest_ranks_submitted_results(space, board, clock):
    space.submit("prompting baseline", score=0.61)
    Space.open(space.url, agent="agent-02", clock=clock).submit("lora r16", score=0.71)
    md = space.digest().markdown
    best = md.split("## Best results\n", 1)[1].split("\n\n")[0].splitlines()
    assert best == ["1. 0.71 agent-02: lora r16 (self-reported)", "2. 0.61 agent-01: prompting baseline (self-reported)"]


def test_digest_without_an_agent_leaves_out_the_personal_parts(space, board, clock):
    md = Space.open(space.url, clock=clock).digest().markdown
    assert "for agent-01" not in md and "## Your inbox" not in md and "## Open proposals" in md


def test_digest_is_deterministic(space, board, clock):
    first = space.digest()
    again = Space.open(space.url, agent="agent-01", clock=clock).digest()
    assert first.markdown == again.markdown and first.to_json() == again.to_json()


def test_digest_stays_under_its_bound_on_a_10000_message_board(memory_url, clock):
    long_goal = "Maximize accuracy. " * 200
    s = make_space(memory_url, clock, agent="agent-99",
                   task={"id": "gsm8k", "title": "GSM8K " * 20, "goal": long_goal})
    fill_board(s.store, 10_000, end=clock.now, agents=61)
    for i in range(40):
        put_message(s.store, clock.now, f"agent-{i:02d}", f"claim-{i}", type="claim", body="mine",
                    scope=f"direction number {i} " + "x" * 150)
        put_message(s.store, clock.now, f"agent-{i:02d}", f"ask-{i}", type="question",
                    body=f"@agent-99 question {i} " + "why " * 100)
    for i in range(30):
        put_message(s.store, clock.now, "agent-99", f"mine-{i}", type="question", body="unanswered " * 50)
    d = s.digest()
    assert len(d.markdown) <= MAX_CHARS and len(d.to_json()) <= MAX_CHARS
    for part in ("## Best results", "## Active claims (40)", "## Open proposals without a results report (",
                 "## Your unanswered questions (30)", "## Your inbox (40)", "## Latest status per agent (61)",
                 "10,110 messages from 62 agents"):
        assert part in d.markdown, part
    assert "more: collab claims" in d.markdown and "more agents: collab read" in d.markdown
    assert json.loads(d.to_json())["counts"]["total"] == 10_110


def test_join_ends_with_the_digest(run_cli, tmp_path, clock):
    space = tmp_path / "sp"
    make_space(str(space), clock)
    r = run_cli("join", "--space", space, "--agent", "agent-07", "--model", "m", "--harness", "h")
    assert r.code == 0, r
    assert "# State of play: GSM8K" in r.out and "for agent-07" in r.out
    assert r.out.index("# State of play") > r.out.index("Getting") if "Getting" in r.out else True


def test_digest_shows_invalid_work_and_what_builds_on_it(tmp_path):
    from collabspace import Space
    from collabspace.domain.setup.presets import preset_spec

    url = str(tmp_path / "s")
    Space.init(url, preset_spec("gsm8k"))
    a1, a2 = Space.open(url, agent="agent-01"), Space.open(url, agent="agent-02")
    leaky = a1.submit("Leaky eval", score=0.9, name="leaky")
    follower = a2.submit("Built on leaky", score=0.95, name="follow", refs=[leaky.key])
    note = a2.post("build-on", "Extending the leaky result.", topic="extend", refs=["leaky_agent-01.json"])
    a1.invalidate("leaky_agent-01.json", "trained on the test split")
    digest = a2.digest()
    md = digest.markdown
    assert "## Invalid work and what builds on it (3)" in md
    assert "- ~~leaky_agent-01.json~~ invalid: " in md and "trained on the test split" in md
    assert f"- ⚠ {follower.key.rsplit('/', 1)[-1]}: builds on invalid leaky_agent-01.json" in md
    assert f"- ⚠ {note.file}: builds on invalid leaky_agent-01.json" in md
    assert "(self-reported; ⚠ builds on invalid leaky_agent-01.json)" in md  # the flagged top result
    items = digest.data["invalid_and_flagged"]["items"]
    assert [i["status"] for i in items] == ["invalid", "flagged", "flagged"]
    assert digest.data["top_results"][0]["flag"] == "builds on invalid leaky_agent-01.json"
