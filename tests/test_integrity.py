"""Integrity any reader can verify (issue 11, break 11 / property 10).

Every test here reproduces one break as measured on the code as it landed:

* a hand-written "verified" result with a made-up verification block and items file ranked #1 as verified;
* the ``agent_id`` inside a result, and the ``agent`` of a message's frontmatter, were credited over the
  agent in the file name;
* a verdict pre-written by someone with no right to it blocked every later valid verdict;
* organizers had no way to take a bad object out of the space, with a record of who and why;
* a row added to ``LEADERBOARD.md`` by hand was dropped at the next regeneration, and doctor said nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collabspace.domain import paths
from collabspace.domain.board.messages import CLAIMED_AGENT, message_problems, parse_message
from collabspace.domain.results import invalidation
from collabspace.domain.results import leaderboard as standings
from collabspace.domain.results.results import parse_result
from collabspace.domain.setup.presets import preset_spec
from collabspace.errors import Conflict, NotFound
from collabspace.space import Space

LINES = (Path(__file__).resolve().parents[1] / "src/collabspace/scorers/data/gsm8k_test.jsonl").read_text().splitlines()


def gold(n: int) -> bytes:
    """GSM8K predictions with the first ``n`` answers right (a verified score of n/1319)."""
    return "\n".join(json.dumps({"index": i, "prediction": json.loads(x)["answer"]})
                     for i, x in enumerate(LINES[:n])).encode()


def reader(space: Space) -> standings.Leaderboard:
    """The leaderboard as a reader builds it: what the read model passes to ``build``, ``fetch`` included."""
    store = space.store
    present = {i.key for i in store.list(paths.RESULTS)}
    snap = space.refresh(agents=False)

    def fetch(keys: list[str]) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for key in keys:
            try:
                out[key] = store.get(key)
            except NotFound:
                out[key] = None
        return out

    return standings.build(space.spec, snap.results, present=present, verdicts=snap.verdicts, fetch=fetch,
                           problems=list(snap.problems))


def row(board: standings.Leaderboard, name: str) -> standings.Row:
    return next(r for r in board.rows if r.file == paths.RESULTS + name)


def forged(store, name: str, agent: str, correct: int, items: bytes, **extra) -> str:
    key = paths.result_key(name, agent)
    doc = {"agent_id": agent, "experiment": "forged", "score": correct / 1319, "status": "verified",
           "verification": {"scorer": "gsm8k", "version": "1.0", "split": "test", "correct": correct,
                            "total": 1319, "items": paths.items_key(key)}, **extra}
    store.put(paths.items_key(key), items)
    store.put(key, json.dumps(doc).encode())
    return key


# -- 1. "verified" is believed only when the reader reproduces it ------------------------------------
def test_a_hand_written_verified_result_with_made_up_items_is_not_believed(gsm8k_space):
    space, store = gsm8k_space, gsm8k_space.store
    space.submit("100 gold answers", predictions=gold(100), name="honest")
    # items that claim every answer is right, with no predictions to re-score
    made_up = "".join(json.dumps({"index": i, "correct": True, "gold": "1", "extracted": "1", "prediction": None}) + "\n"
                      for i in range(1319)).encode()
    forged(store, "nopreds", "agent-06", 1306, made_up)
    # the honest items file, copied, under a claim of 1306 right
    forged(store, "copied", "agent-07", 1306, store.get("artifacts/results/honest_agent-01.items.jsonl"))
    forged(store, "garbage", "agent-08", 1300, b"not json at all\n")
    board = reader(space)
    top = board.top()
    assert top[0].file.endswith("nopreds_agent-06.json") and top[0].status == "self-reported"
    for name in ("nopreds_agent-06.json", "copied_agent-07.json", "garbage_agent-08.json"):
        r = row(board, name)
        assert (r.status, r.verified, r.detail) == ("self-reported", False, standings.NOT_REPRODUCIBLE), name
    honest = row(board, "honest_agent-01.json")
    assert (honest.status, honest.verified, honest.detail) == ("verified", True, "gsm8k 1.0, 100/1319")
    assert board.headline.file == honest.file
    why = {p.key.rsplit("/", 1)[-1]: p.reason for p in board.problems}
    assert why["nopreds_agent-06.json"].startswith("claims verified, not reproducible: re-scoring its per-item file"
                                                   " with gsm8k gives 0/1319, not the 1306/1319 it claims")
    assert "gives 100/1319, not the 1306/1319" in why["copied_agent-07.json"]
    assert why["garbage_agent-08.json"].startswith("claims verified, not reproducible: its per-item file cannot be re-scored")
    md = board.to_markdown()
    assert "self-reported (claims verified, not reproducible)" in md


def test_a_hand_written_result_whose_items_file_really_reproduces_is_verified(gsm8k_space):
    """Verification is about reproducibility, not about who ran the scorer: real predictions re-score."""
    store = gsm8k_space.store
    report = gsm8k_space.score(gold(50))
    forged(store, "byhand", "agent-06", 50, report.items_jsonl())
    r = row(reader(gsm8k_space), "byhand_agent-06.json")
    assert (r.status, r.verified, r.detail) == ("verified", True, "gsm8k 1.0, 50/1319")


def test_without_the_readers_fetch_nothing_is_believed_verified(gsm8k_space):
    gsm8k_space.submit("100 gold answers", predictions=gold(100), name="honest")
    snap = gsm8k_space.refresh(agents=False)
    board = standings.build(gsm8k_space.spec, snap.results, present=set(snap.present))
    r = row(board, "honest_agent-01.json")
    assert (r.status, r.detail) == ("self-reported", standings.NOT_REPRODUCIBLE)


def test_reproducing_costs_one_fetch_per_verified_result_and_is_remembered(gsm8k_space):
    gsm8k_space.submit("gold 10", predictions=gold(10), name="a")
    gsm8k_space.submit("gold 20", predictions=gold(20), name="b")
    gsm8k_space.submit("self", score=0.4, name="c")
    snap = gsm8k_space.refresh(agents=False)
    calls: list[list[str]] = []

    def fetch(keys):
        calls.append(sorted(keys))
        return {k: gsm8k_space.store.get(k) for k in keys}

    for _ in range(2):
        board = standings.build(gsm8k_space.spec, snap.results, present=set(snap.present), fetch=fetch)
        assert [(r.file.rsplit("/", 1)[-1], r.verified) for r in board.top()] == [
            ("c_agent-01.json", False), ("b_agent-01.json", True), ("a_agent-01.json", True)]
    assert calls == [["artifacts/results/a_agent-01.items.jsonl", "artifacts/results/b_agent-01.items.jsonl"]] * 2


# -- 2. the agent in the file name is the author -----------------------------------------------------
def test_the_agent_in_a_result_file_name_is_its_author(gsm8k_space):
    store = gsm8k_space.store
    gsm8k_space.submit("mine", score=0.5, name="mine")
    store.put("artifacts/results/imp_agent-02.json",
              json.dumps({"agent_id": "agent-01", "experiment": "impersonation", "score": 0.9}).encode())
    assert parse_result("artifacts/results/imp_agent-02.json",
                        store.get("artifacts/results/imp_agent-02.json")).claimed_agent == "agent-01"
    board = gsm8k_space.leaderboard()
    assert [(r.agent_id, r.file.rsplit("/", 1)[-1]) for r in board.top()] == [
        ("agent-02", "imp_agent-02.json"), ("agent-01", "mine_agent-01.json")]
    assert {r.agent_id: r.file.rsplit("/", 1)[-1] for r in board.best} == {
        "agent-02": "imp_agent-02.json", "agent-01": "mine_agent-01.json"}
    problems = {p.key: p.reason for p in gsm8k_space.doctor_results()}
    assert problems["artifacts/results/imp_agent-02.json"] == (
        "agent_id says 'agent-01', but the file name says agent-02: credited to agent-02, never to agent-01")


def test_the_agent_in_a_message_file_name_is_its_author(gsm8k_space, clock):
    store = gsm8k_space.store
    key = "message_board/20260425-150000_agent-02_hello.md"
    store.put(key, b"---\nagent: agent-01\ntype: result\ntimestamp: 2026-04-25 15:00 UTC\n---\n\n"
                   b"@agent-01 I am you.\n")
    m = parse_message(key, store.get(key))
    assert (m.agent, m.extra[CLAIMED_AGENT]) == ("agent-02", "agent-01")
    assert m.problem == "frontmatter says agent 'agent-01', but the filename says agent-02: shown as agent-02's, not agent-01's"
    # a frontmatter cannot plant the claim field itself
    planted = parse_message(key, b"---\nagent: agent-02\nclaimed_agent: agent-09\n---\n\nhi\n")
    assert planted.problem is None and CLAIMED_AGENT not in planted.extra
    clock.advance(minutes=1)
    assert [x.key for x in gsm8k_space.read().messages] == [key]  # agent-01's read no longer skips it
    assert [x.agent for x in gsm8k_space.read(all=True).messages] == ["agent-02"]
    assert [x.key for x in gsm8k_space.inbox()] == [key]  # it mentions @agent-01, by someone else
    assert [(p.key, p.reason) for p in message_problems(gsm8k_space.messages())] == [(key, m.problem)]


# -- 3. a verdict from someone not entitled blocks nothing -------------------------------------------
def test_a_pre_written_verdict_by_someone_not_entitled_blocks_nothing(memory_url, clock):
    spec = preset_spec("gsm8k").model_copy(update={"organizers": ["alice"]})
    Space.init(memory_url, spec, clock=clock)
    a1 = Space.open(memory_url, agent="agent-01", clock=clock)
    alice = Space.open(memory_url, agent="alice", clock=clock)
    x = a1.submit("leaky", score=0.9, name="x")
    y = a1.submit("other", score=0.8, name="y")
    # agent-03 squats the old layout's one key per result, and the new one of the organizer's too
    a1.store.put("verdicts/x_agent-01.json", invalidation.verdict_document(x.key, "agent-03", "smear", clock()))
    a1.store.put("verdicts/y_agent-01~agent-03.json", invalidation.verdict_document(y.key, "agent-03", "smear", clock()))
    clock.advance(minutes=1)
    verdict = a1.invalidate("x_agent-01", "trained on the test split")
    assert (verdict.key, verdict.by) == ("verdicts/x_agent-01~agent-01.json", "agent-01")
    assert alice.invalidate(y.key, "duplicate of x").key == "verdicts/y_agent-01~alice.json"
    board = a1.leaderboard()
    assert row(board, "x_agent-01.json").reason == "invalidated by agent-01: trained on the test split"
    assert row(board, "y_agent-01.json").reason == "invalidated by alice: duplicate of x"
    problems = {p.key: p.reason for p in a1.doctor_results()}
    assert problems["verdicts/x_agent-01.json"].startswith("verdict by agent-03, who is neither the owner")
    assert problems["verdicts/y_agent-01~agent-03.json"].endswith("ignored, it blocks nothing")
    # a second entitled verdict is still refused: the first one stands
    with pytest.raises(Conflict, match="already invalidated by agent-01: trained on the test split"):
        alice.invalidate(x.key, "again")
    with pytest.raises(Conflict, match="already invalidated by agent-01"):
        a1.invalidate(x.key, "again")


def test_old_layout_verdicts_are_still_read_and_still_stand(gsm8k_space, clock):
    x = gsm8k_space.submit("leaky", score=0.9, name="x")
    gsm8k_space.store.put("verdicts/x_agent-01.json",
                          invalidation.verdict_document(x.key, "agent-01", "old tool", clock()))
    assert row(gsm8k_space.leaderboard(), "x_agent-01.json").reason == "invalidated by agent-01: old tool"
    with pytest.raises(Conflict, match="already invalidated by agent-01: old tool"):
        gsm8k_space.invalidate(x.key, "again")


def test_the_first_entitled_verdict_stands_and_a_key_names_its_author(memory_url, clock):
    spec = preset_spec("gsm8k").model_copy(update={"organizers": ["alice"]})
    Space.init(memory_url, spec, clock=clock)
    a1 = Space.open(memory_url, agent="agent-01", clock=clock)
    x = a1.submit("leaky", score=0.9, name="x")
    late = clock.now.replace(hour=18)
    # two entitled verdicts that raced: the earlier stamp stands, whatever the key order
    a1.store.put("verdicts/x_agent-01~agent-01.json", invalidation.verdict_document(x.key, "agent-01", "late", late))
    a1.store.put("verdicts/x_agent-01~alice.json", invalidation.verdict_document(x.key, "alice", "early", clock()))
    assert row(a1.leaderboard(), "x_agent-01.json").reason == "invalidated by alice: early"
    # a file whose by field names someone else than its key: the key is the author
    v = invalidation.parse_verdict("verdicts/x_agent-01~agent-07.json",
                                   invalidation.verdict_document(x.key, "alice", "forged", clock()))
    assert (v.by, v.result) == ("agent-07", x.key)
    assert v.problem == f"says it is by alice, but its key says agent-07: read as agent-07's verdict on {x.key}"


# -- 4. quarantine ---------------------------------------------------------------------------------
def test_organizers_quarantine_a_bad_object_with_a_record_of_who_and_why(memory_url, clock):
    spec = preset_spec("gsm8k").model_copy(update={"organizers": ["alice"]})
    Space.init(memory_url, spec, clock=clock)
    a1 = Space.open(memory_url, agent="agent-01", clock=clock)
    alice = Space.open(memory_url, agent="alice", clock=clock)
    a1.submit("fine", score=0.5, name="fine")
    bad = "artifacts/results/smear_agent-09.json"
    a1.store.put(bad, json.dumps({"agent_id": "agent-09", "experiment": "smear", "score": 0.99}).encode())
    msg = "message_board/20260425-150000_agent-09_spam.md"
    a1.store.put(msg, b"---\nagent: agent-09\ntype: result\n---\n\nspam\n")
    assert a1.leaderboard().top()[0].file == bad
    with pytest.raises(Conflict, match="only an organizer"):
        a1.quarantine(bad, "smear")
    record = alice.quarantine(bad, "a smear, never submitted")
    assert {k: record[k] for k in ("key", "by", "reason", "moved_to")} == {
        "key": bad, "by": "alice", "reason": "a smear, never submitted", "moved_to": "quarantine/" + bad}
    assert alice.quarantine(bad, "a smear, never submitted") == record  # a retry is a success
    alice.quarantine(msg, "spam")
    assert not a1.store.exists(bad) and a1.store.exists("quarantine/" + bad)
    assert [r.file for r in a1.leaderboard().top()] == ["artifacts/results/fine_agent-01.json"]
    assert bad not in a1.cat(paths.LEADERBOARD).decode()
    assert msg not in [m.key for m in a1.read(all=True).messages]
    assert [(p.key, p.reason) for p in a1.doctor_quarantine()] == [
        (bad, "quarantined by alice at 2026-04-25T14:30:00Z: a smear, never submitted"),
        (msg, "quarantined by alice at 2026-04-25T14:30:00Z: spam")]


# -- 5. rows added to LEADERBOARD.md by hand --------------------------------------------------------
def test_hand_added_leaderboard_rows_are_reported_with_the_command_that_submits_them(gsm8k_space):
    gsm8k_space.submit("mine", score=0.5, name="mine")
    md = gsm8k_space.cat(paths.LEADERBOARD).decode()
    hand = "| 1 | agent-07 | 0.91 | LoRA r=16, by hand | Qwen2.5-7B | self-reported | 2026-04-24 | |"
    lines = md.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("| 1 | agent-01"))
    fake_link = "| 2 | agent-08 | 0.8 | linked | | verified | | [z_agent-08.json](artifacts/results/z_agent-08.json) |"
    gsm8k_space.store.put(paths.LEADERBOARD, "\n".join(lines[:at] + [hand, fake_link] + lines[at:]).encode())
    board = gsm8k_space.leaderboard()
    found = standings.published_problems(gsm8k_space.store, board)
    assert [(p.key, p.reason) for p in found] == [
        (paths.LEADERBOARD, f"row {hand} matches no result file, so the next regeneration drops it; to record it, "
                            'its agent runs: collab submit --agent agent-07 --experiment "LoRA r=16, by hand" '
                            '--score 0.91 --model "Qwen2.5-7B"'),
        (paths.LEADERBOARD, f"row {fake_link} links artifacts/results/z_agent-08.json, which is not a stored "
                            "result, so the next regeneration drops it; "
                            'to record it, its agent runs: collab submit --agent agent-08 --experiment "linked" --score 0.8')]
    assert standings.hand_added_rows(md, board) == []  # what collabspace renders is all backed by results
    written = gsm8k_space.write_leaderboard()
    assert [p.reason for p in written.problems if p.key == paths.LEADERBOARD] == ["dropped: " + p.reason for p in found]
    assert hand not in gsm8k_space.cat(paths.LEADERBOARD).decode()


# -- end to end, once the read model and doctor are wired (see the integrity report) -----------------


def test_every_surface_believes_only_reproduced_verification(gsm8k_space, run_cli):
    gsm8k_space.submit("100 gold answers", predictions=gold(100), name="honest")
    forged(gsm8k_space.store, "nopreds", "agent-06", 1306, b'{"index": 0, "correct": true, "prediction": null}\n')
    board = gsm8k_space.write_leaderboard()
    assert (row(board, "honest_agent-01.json").verified, row(board, "nopreds_agent-06.json").verified) == (True, False)
    assert "self-reported (claims verified, not reproducible)" in gsm8k_space.cat(paths.LEADERBOARD).decode()


def test_doctor_reports_impersonated_messages_quarantine_and_hand_added_rows(memory_url, clock):
    spec = preset_spec("gsm8k").model_copy(update={"organizers": ["alice"]})
    Space.init(memory_url, spec, clock=clock)
    alice = Space.open(memory_url, agent="alice", clock=clock)
    alice.store.put("message_board/20260425-150000_agent-02_hi.md", b"---\nagent: agent-01\n---\n\nhi\n")
    alice.store.put("artifacts/results/smear_agent-09.json", b'{"agent_id": "agent-09", "experiment": "x", "score": 1}')
    alice.quarantine("artifacts/results/smear_agent-09.json", "smear")
    md = alice.cat(paths.LEADERBOARD).decode() + "\n| 1 | agent-07 | 0.9 | by hand | | | | |\n"
    alice.store.put(paths.LEADERBOARD, md.encode())
    keys = {p.key for p in alice.doctor()}
    assert {"message_board/20260425-150000_agent-02_hi.md", "artifacts/results/smear_agent-09.json",
            paths.LEADERBOARD} <= keys


def test_the_quarantine_command_is_for_organizers_and_leaves_a_record(run_cli, tmp_path):
    from collabspace.domain.setup.spec import spec_from_dict

    spec = preset_spec("gsm8k")
    spec = spec_from_dict({**spec.model_dump(mode="json", exclude_none=True), "organizers": ["org-1"]})
    url = str(tmp_path / "space")
    Space.init(url, spec)
    Space.open(url, agent="agent-02").post("status-update", "spam spam spam", topic="spam")
    [key] = [i.key for i in Space.open(url).ls("message_board/") if i.key.endswith("_spam.md")]
    refused = run_cli("quarantine", key, "--reason", "spam", env={"COLLAB_SPACE": url, "COLLAB_AGENT": "agent-03"})
    assert refused.code == 1 and refused.err.startswith("error: only an organizer") and "hint:" in refused.err
    done = run_cli("quarantine", key, "--reason", "spam", "--format", "json",
                   env={"COLLAB_SPACE": url, "COLLAB_AGENT": "org-1"})
    assert done.code == 0, done
    assert json.loads(done.out)["by"] == "org-1"
    assert key not in {m.key for m in Space.open(url).read(all=True).messages}
