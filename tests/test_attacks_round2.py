"""Attacks on the features that just landed (broadcasts, verdict reversal, organizers, dead ends, metric
ranges and limits, compare, the gateway's read view, ``read --after``): each test fails while its break is open.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

from board_support import fill_board, isolated_cache, make_space, put_message  # noqa: F401
from gateway_support import gateway, start_gateway  # noqa: F401

from collabspace import Space
from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import spec_from_dict
from collabspace.domain.timefmt import utcnow

T0 = datetime(2026, 4, 25, 14, 0, tzinfo=timezone.utc)


def _row(board, key):
    return next(r for r in board.rows if r.file == key)


# -- broadcasts ------------------------------------------------------------------------------------

# -- verdict reversal ------------------------------------------------------------------------------
def test_a_reversal_by_an_organizer_whose_clock_is_behind_reinstates_the_result(memory_url):
    """Verdicts are replayed by their own ``timestamp`` (the writer's clock): an organizer whose clock is
    minutes behind the one who invalidated writes a reinstatement that sorts *before* the invalidation, so
    it changes nothing, yet ``invalidate --reverse`` reports it as done (and may be repeated forever)."""
    Space.init(memory_url, preset_spec("gsm8k", organizers=["zed", "amy"]), clock=lambda: T0)
    owner = Space.open(memory_url, agent="agent-01", clock=lambda: T0)
    x = owner.submit("fine", score=0.6, name="x")
    zed = Space.open(memory_url, agent="zed", clock=lambda: T0 + timedelta(minutes=10))  # clock ahead
    amy = Space.open(memory_url, agent="amy", clock=lambda: T0 + timedelta(minutes=2))   # later, slower clock
    first = zed.invalidate(x.key, "looks leaked")
    back = amy.invalidate(x.key, "my colleague erred: train-only mirror", reverse=True)
    assert (back.action, back.supersedes) == ("reinstate", first.key)
    r = _row(owner.leaderboard(), x.key)
    assert (r.status, r.reinstated is not None) == ("self-reported", True), (r.status, r.reason)


def test_a_reversal_in_the_same_second_by_another_organizer_reinstates_the_result(memory_url, clock):
    """One clock (as on a gateway): zed invalidates, amy reverses within the same second. Equal timestamps
    fall back to key order, and ``...~amy.json`` sorts before ``...~zed.json``: the reversal is replayed
    first, reinstates a valid result (nothing), and the invalidation then stands."""
    Space.init(memory_url, preset_spec("gsm8k", organizers=["zed", "amy"]), clock=clock)
    owner = Space.open(memory_url, agent="agent-01", clock=clock)
    x = owner.submit("fine", score=0.6, name="x")
    first = Space.open(memory_url, agent="zed", clock=clock).invalidate(x.key, "looks leaked")
    back = Space.open(memory_url, agent="amy", clock=clock).invalidate(x.key, "no it is not", reverse=True)
    assert back.supersedes == first.key
    assert _row(owner.leaderboard(), x.key).status == "self-reported"


def test_a_verdict_whose_key_names_another_author_is_not_credited_to_an_organizer(memory_url, clock):
    """``verdicts/{result}~mallory~zzz.json`` is not the new layout (its third part is no stamp), so it is
    read as the *old* layout and its ``by`` field is believed: mallory's file invalidates as ``lead``, and
    nothing is reported, although "the agent in a key is the author"."""
    Space.init(memory_url, preset_spec("gsm8k", organizers=["lead"]), clock=clock)
    owner = Space.open(memory_url, agent="agent-01", clock=clock)
    x = owner.submit("fine", score=0.6, name="x")
    doc = {"result": x.key, "verdict": "invalid", "by": "lead", "reason": "mallory says so",
           "timestamp": "2026-04-25T14:00:00Z"}
    key = "verdicts/x_agent-01~mallory~zzz.json"
    owner.store.put(key, json.dumps(doc).encode())
    board = owner.leaderboard()
    assert _row(board, x.key).status != "invalid"
    assert any(p.key == key for p in board.problems)


# -- dead ends and limits --------------------------------------------------------------------------
def _golf(memory_url, clock, **limits):
    spec = preset_spec("parameter-golf", organizers=["lead"])
    if limits:
        data = spec.model_dump(mode="json", exclude_none=True)
        data["constraints"]["limits"] = [{**lim, **({"max": limits[lim["field"]]} if lim["field"] in limits else {})}
                                         for lim in data["constraints"]["limits"]]
        spec = spec_from_dict(data)
    return spec


def test_a_dead_end_over_a_limit_stays_a_dead_end_and_never_becomes_the_headline(memory_url, clock):
    """``submit --negative`` of a result over a limit stores ``status: invalid`` in place of ``negative``:
    the file no longer says it is a dead end. It drops out of the dead ends, and once the limit is raised
    (an organizer edits collab.toml) it is ranked, and is the headline of a space without a scorer."""
    Space.init(memory_url, _golf(memory_url, clock), clock=clock)
    a = Space.open(memory_url, agent="agent-01", clock=clock)
    a.submit("honest", score=1.20, name="ok", fields=["artifact_size_bytes=15000000", "train_time_seconds=500"])
    dead = a.submit("huge model, did not fit, do not retry", score=1.05, name="dead", negative=True,
                    fields=["artifact_size_bytes=17000000", "train_time_seconds=500"])
    assert dead.negative
    raised = _golf(memory_url, clock, artifact_size_bytes=20_000_000)
    a.store.put("collab.toml", raised.to_toml().encode())
    board = Space.open(memory_url, agent="agent-01", clock=clock).leaderboard()
    assert _row(board, dead.key).negative
    assert board.headline is not None and board.headline.file != dead.key


def test_a_hand_written_result_that_omits_a_limited_field_is_not_ranked_first(memory_url, clock):
    """``submit`` refuses a Parameter Golf result that does not give ``artifact_size_bytes`` ("a limit the
    result does not speak to would pass unchecked"), but a hand-written one that leaves it out passes every
    reader unchecked: it ranks first and is the headline."""
    Space.init(memory_url, _golf(memory_url, clock), clock=clock)
    a = Space.open(memory_url, agent="agent-01", clock=clock)
    a.submit("honest", score=1.20, name="ok", fields=["artifact_size_bytes=15000000", "train_time_seconds=500"])
    sly = {"agent_id": "mallory", "experiment": "a 200 MB model", "score": 0.90, "timestamp": "2026-04-25T14:00:00Z"}
    key = "artifacts/results/sly_mallory.json"
    a.store.put(key, json.dumps(sly).encode())
    board = a.leaderboard()
    assert board.headline is not None and board.headline.file != key
    assert _row(board, key).rank != 1


# -- verified scores and compare -------------------------------------------------------------------
def test_a_submission_with_an_overflowing_number_prediction_stays_verified(memory_url, clock):
    """A prediction given as the JSON number ``1e400`` is scored as wrong (unusable); the per-item file keeps
    it as the text ``"1e400"``, which the re-scoring reads as the answer 400. Item 141's gold is 400, so
    every reader re-scores 2/1319 against the 1/1319 claimed: an honest ``submit --predictions`` is shown
    as "claims verified, not reproducible" (and ``compare`` refuses it)."""
    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    a = Space.open(memory_url, agent="agent-01", clock=clock)
    s = a.submit("bad number", predictions=b'{"index": 141, "prediction": 1e400}\n'
                                           b'{"index": 0, "prediction": "#### 18"}\n', name="x")
    assert s.status == "verified"
    assert _row(a.leaderboard(), s.key).status == "verified"


# -- the gateway's read view -----------------------------------------------------------------------


# -- read --after (and so the gateway's /v1/messages long-poll and collab watch) -------------------

