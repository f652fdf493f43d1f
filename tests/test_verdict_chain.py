"""The mechanisms behind the round-2 fixes: verdicts replayed by their ``supersedes`` chain, unusable
verdict keys, dead ends that stay dead ends, limited fields a result omits, and bad numbers kept
through the per-item file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from collabspace import Space
from collabspace.domain.results import invalidation
from collabspace.domain.results.leaderboard import predictions_of
from collabspace.domain.setup.presets import preset_spec
from collabspace.errors import InvalidInput
from collabspace.scorers import get_scorer

T = datetime(2026, 4, 25, 12, tzinfo=timezone.utc)
SPEC = preset_spec("gsm8k", organizers=["lead", "amy"])


def v(key, by, minutes, action=invalidation.INVALIDATE, supersedes=None):
    return invalidation.Verdict(key, "artifacts/results/x_a.json", by, key, T + timedelta(minutes=minutes),
                                action=action, supersedes=supersedes)


def test_each_verdict_is_replayed_after_the_one_it_supersedes_whatever_the_clocks():
    first = v("verdicts/x_a~lead.json", "lead", 60 * 24 * 365)  # dated a year ahead
    back = v("verdicts/x_a~amy.json", "amy", 0, invalidation.REINSTATE, first.key)
    again = v("verdicts/x_a~a.json", "a", -5, supersedes=back.key)  # names the reinstatement
    assert invalidation.in_order([again, back, first]) == [first, back, again]
    assert invalidation.standing(SPEC, "a", [back, first]) is back
    assert invalidation.standing(SPEC, "a", [again, back, first]) is again
    # a file name is enough to name it
    back2 = v("verdicts/x_a~amy~20260425-120000.json", "amy", -10, invalidation.REINSTATE, "x_a~a.json")
    assert invalidation.standing(SPEC, "a", [again, back2, back, first]) is back2


def test_a_verdict_that_names_one_that_is_not_standing_changes_nothing():
    first, racer = v("verdicts/x_a~lead.json", "lead", 1), v("verdicts/x_a~a.json", "a", 2)
    stale = v("verdicts/x_a~amy.json", "amy", 3, invalidation.REINSTATE, racer.key)  # the racer never applied
    assert invalidation.standing(SPEC, "a", [first, racer, stale]) is first
    back = v("verdicts/x_a~lead~1.json", "lead", 4, invalidation.REINSTATE, first.key)
    late_stale = v("verdicts/x_a~amy~1.json", "amy", 5, invalidation.REINSTATE, first.key)  # a second reversal
    assert invalidation.standing(SPEC, "a", [first, back, late_stale]) is back


def test_a_circle_of_supersedes_applies_nothing_and_is_listed():
    a = v("verdicts/x_a~lead.json", "lead", 1, supersedes="verdicts/x_a~amy.json")
    b = v("verdicts/x_a~amy.json", "amy", 2, invalidation.REINSTATE, a.key)
    assert invalidation.standing(SPEC, "a", [a, b]) is None
    assert set(invalidation.in_order([a, b])) == {a, b}
    self_named = v("verdicts/x_a~a.json", "a", 1, supersedes="verdicts/x_a~a.json")  # names itself: no name
    assert invalidation.standing(SPEC, "a", [self_named]) is self_named


def test_an_invalidation_after_a_reinstatement_names_it(memory_url, clock):
    Space.init(memory_url, SPEC, clock=clock)
    owner = Space.open(memory_url, agent="agent-01", clock=clock)
    x = owner.submit("fine", score=0.6, name="x")
    first = Space.open(memory_url, agent="lead", clock=lambda: clock() + timedelta(days=3)).invalidate(x.key, "leak")
    back = Space.open(memory_url, agent="amy", clock=clock).invalidate(x.key, "no leak", reverse=True)
    clock.advance(seconds=1)
    again = owner.invalidate(x.key, "found a real leak")
    assert (again.action, again.supersedes, back.supersedes) == ("invalidate", back.key, first.key)
    assert next(r for r in owner.leaderboard().rows if r.file == x.key).reason == \
        "invalidated by agent-01: found a real leak"


@pytest.mark.parametrize("name", ["x_a~mallory~zzz", "x_a~Not_An_Id", "~lead", "x_a~lead~2026", "x_a~~lead",
                                  "x_a~a~b~20260425-120000"])
def test_a_verdict_key_with_tildes_that_do_not_parse_is_unusable(name):
    doc = json.dumps({"result": "artifacts/results/x_a.json", "by": "lead", "reason": "r"}).encode()
    with pytest.raises(InvalidInput, match="its author is unknown"):
        invalidation.parse_verdict(f"verdicts/{name}.json", doc)
    assert invalidation.parse_verdict("verdicts/x_a.json", doc).by == "lead"  # the old layout is still read


def test_a_dead_end_keeps_negative_when_marked_invalid_and_need_not_give_limited_fields(memory_url, clock):
    Space.init(memory_url, preset_spec("parameter-golf"), clock=clock)
    a = Space.open(memory_url, agent="agent-01", clock=clock)
    over = a.submit("too big", score=1.0, name="over", negative=True,
                    fields=["artifact_size_bytes=17000000", "train_time_seconds=500"])
    stored = json.loads(a.cat(over.key))
    assert (stored["status"], stored["negative"], over.status) == ("invalid", True, "invalid")
    bare = a.submit("no sizes", score=1.1, name="bare", negative=True)
    assert bare.status == "self-reported"
    rows = {r.file: r for r in a.leaderboard().rows}
    assert (rows[over.key].negative, rows[over.key].status, rows[over.key].rank) == (True, "invalid", None)
    assert (rows[bare.key].negative, rows[bare.key].status) == (True, "self-reported")


def test_a_hand_written_result_without_a_limited_field_is_invalid_with_the_reason(memory_url, clock):
    Space.init(memory_url, preset_spec("parameter-golf"), clock=clock)
    a = Space.open(memory_url, agent="agent-01", clock=clock)
    key = "artifacts/results/sly_agent-02.json"
    a.store.put(key, json.dumps({"agent_id": "agent-02", "experiment": "e", "score": 0.5,
                                 "train_time_seconds": 500}).encode())
    r = next(r for r in a.leaderboard().rows if r.file == key)
    assert (r.status, r.rank, r.reason) == ("invalid", None, "artifact_size_bytes is not given, and this space limits it")


@pytest.mark.parametrize("token", [b"NaN", b"-Infinity", b"1e400", b"-1E400", b"4" + b"0" * 200])
def test_a_bad_number_prediction_stays_unusable_when_the_items_file_is_rescored(token):
    scorer = get_scorer("gsm8k")
    report = scorer.score(b'{"index": 141, "prediction": %s}\n{"index": 0, "prediction": "#### 18"}\n' % token)
    assert (report.correct, report.unusable) == (1, 1)
    items = report.items_jsonl()
    line = json.loads(items.decode().splitlines()[141])
    assert (line["prediction"], line["bad_number"]) == (token.decode(), True)
    again = scorer.score(predictions_of(items, what="items"))
    assert (again.correct, again.unusable, again.items_jsonl()) == (1, 1, items)


def test_a_bad_number_mark_on_text_that_is_no_bad_number_is_refused():
    items = b'{"index": 141, "prediction": "400, \\"x\\": 1", "bad_number": true}\n'
    with pytest.raises(InvalidInput, match="not a bad number's text"):
        predictions_of(items, what="items")
