"""Every object in the store is seen by every reader, whatever the stamp in its name.

The measured break: once a reader had synced, a message whose filename stamp was more
than ten minutes older than the reader's watermark was never indexed (read, read --all,
inbox --all, search, the dashboard), while a fresh cache saw it. Each case below is a
late file as real agents make them; two readers with separate caches, one synced before
the late files land, check every surface.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from board_support import make_space, put_message

from collabspace.domain.timefmt import utcnow
from collabspace.local.index import RECONCILE
from collabspace.space import Space
from collabspace.web.api import board as api_board
from collabspace.web.live import LiveSpace
from conftest import FixedClock

#: How far behind the arrival the late file's name is, as agents really do it.
LATE = {
    "local time UTC-5 instead of UTC": timedelta(hours=5),
    "a 15-minute slow upload": timedelta(minutes=15),
    "10 min 10 s behind": timedelta(minutes=10, seconds=10),
    "11 min behind": timedelta(minutes=11),
    "30 min behind": timedelta(minutes=30),
    "a board copied in, two days old": timedelta(days=2),
}


def open_reader(url, clock, agent, tmp_path, monkeypatch, name):
    """A Space with its own cache and state folders (another machine)."""
    monkeypatch.setenv("COLLAB_CACHE_DIR", str(tmp_path / name / "cache"))
    monkeypatch.setenv("COLLAB_STATE_DIR", str(tmp_path / name / "state"))
    space = Space.open(url, agent=agent, clock=clock)
    space.board.index, space.board.cursors  # noqa: B018 -- opened now, under this machine's folders
    return space


@pytest.fixture
def now_clock():
    return FixedClock(utcnow())


@pytest.mark.parametrize("lag", LATE.values(), ids=LATE.keys())
def test_a_late_file_reaches_every_surface_of_a_reader_that_had_already_synced(
        memory_url, now_clock, tmp_path, monkeypatch, lag):
    clock = now_clock
    make_space(memory_url, clock, agent="agent-01")
    writer = open_reader(memory_url, clock, "agent-01", tmp_path, monkeypatch, "writer")
    old = open_reader(memory_url, clock, "reader", tmp_path, monkeypatch, "old")
    for i in range(3):
        writer.post("status-update", f"on time {i}", topic=f"t{i}")
        clock.advance(seconds=30)
    assert [m.body for m in old.read().messages] == ["on time 0", "on time 1", "on time 2"]
    live = LiveSpace(old)
    live.refresh()

    # the late files: written now, named `lag` behind (one of them @-mentions the reader)
    late = [put_message(writer.store, clock.now - lag - timedelta(seconds=i), "agent-02", f"late{i}",
                        body=f"late {i} about quantization, @reader") for i in range(2)]
    fresh = open_reader(memory_url, clock, "reader", tmp_path, monkeypatch, "fresh")

    # at once: every complete surface sees them, on both machines
    for space in (old, fresh):
        assert {m.key for m in space.read(all=True).messages} >= set(late)
        assert {m.key for m in space.search("quantization")} == set(late)
        assert {m.key for m in space.inbox(all=True)} == set(late)
    # a plain read sees them within the reconcile bound, once, in board order
    clock.advance(seconds=RECONCILE.total_seconds())
    got = old.read()
    assert [m.key for m in got.messages] == sorted(late)
    assert old.read().messages == []
    # the dashboard's board too
    live.refresh(force=True)
    assert {m["key"] for m in api_board(live)["messages"]} >= set(late)


def test_clocks_within_ten_minutes_lose_nothing(memory_url, tmp_path, monkeypatch):
    """Reader +8 min, agent A +10 min, writer B -5 min: B's message used to be lost."""
    real = utcnow()
    make_space(memory_url, FixedClock(real), agent="agent-01")
    reader_clock = FixedClock(real + timedelta(minutes=8))
    a = open_reader(memory_url, FixedClock(real + timedelta(minutes=10)), "agent-a", tmp_path, monkeypatch, "a")
    reader = open_reader(memory_url, reader_clock, "reader", tmp_path, monkeypatch, "r")
    a.post("status-update", "from A", topic="a")
    assert [m.body for m in reader.read().messages] == ["from A"]
    b = open_reader(memory_url, FixedClock(real - timedelta(minutes=5)), "agent-b", tmp_path, monkeypatch, "b")
    b.post("status-update", "from B", topic="b")
    assert "from B" in [m.body for m in reader.read(all=True).messages]
    reader_clock.advance(seconds=RECONCILE.total_seconds())
    assert [m.body for m in reader.read().messages] == ["from B"]


def test_a_new_agent_on_a_fresh_machine_resumes_where_it_was(memory_url, now_clock, tmp_path, monkeypatch):
    clock = now_clock
    make_space(memory_url, clock, agent="agent-01")
    other = open_reader(memory_url, clock, "agent-02", tmp_path, monkeypatch, "other")
    me = open_reader(memory_url, clock, "agent-01", tmp_path, monkeypatch, "laptop")
    for i in range(5):
        other.post("status-update", f"old {i}", topic=f"o{i}")
    assert len(me.read().messages) == 5
    me.post("status-update", "my progress", topic="mine")  # records what it had read
    other.post("status-update", "new since", topic="n")
    # a job runner, a new container: no cache, no state
    runner = open_reader(memory_url, clock, "agent-01", tmp_path, monkeypatch, "runner")
    got = runner.read(peek=True)
    assert [m.body for m in got.messages] == ["new since"]
    assert [m.body for m in runner.read().messages] == ["new since"]  # peek moved nothing
    assert runner.read().messages == []
    # a cursor passed back explicitly works on any machine
    third = open_reader(memory_url, clock, "agent-01", tmp_path, monkeypatch, "third")
    other.post("status-update", "after the cursor", topic="z")
    assert [m.body for m in third.read(after=got.cursor).messages] == ["after the cursor"]


def test_a_deleted_or_migrated_cache_resets_no_cursor(memory_url, now_clock, tmp_path, monkeypatch):
    clock = now_clock
    make_space(memory_url, clock, agent="agent-01")
    other = open_reader(memory_url, clock, "agent-02", tmp_path, monkeypatch, "other")
    me = open_reader(memory_url, clock, "agent-01", tmp_path, monkeypatch, "m")
    other.post("status-update", "one", topic="a")
    assert [m.body for m in me.read().messages] == ["one"]
    import shutil

    shutil.rmtree(tmp_path / "m" / "cache")
    again = open_reader(memory_url, clock, "agent-01", tmp_path, monkeypatch, "m")
    other.post("status-update", "two", topic="b")
    assert [m.body for m in again.read().messages] == ["two"]


def test_doctor_names_agents_whose_stamps_lag_arrival(memory_url, now_clock, tmp_path, monkeypatch):
    clock = now_clock
    s = make_space(memory_url, clock, agent="agent-01")
    s.post("status-update", "on time", topic="ok")
    put_message(s.store, clock.now - timedelta(hours=5), "agent-est", "local", body="local time")
    put_message(s.store, clock.now - timedelta(minutes=37), "agent-skew", "skew", body="skewed")
    problems = {p.reason.split(":")[0]: p.reason for p in s.doctor_clocks()}
    assert set(problems) == {"agent-est", "agent-skew"}
    assert "local time (UTC-5) instead of UTC" in problems["agent-est"]
    assert "skewed clock" in problems["agent-skew"]


def test_a_cache_of_another_schema_resets_no_cursor(memory_url, now_clock, tmp_path, monkeypatch):
    import sqlite3

    from collabspace.local.index import index_path

    clock = now_clock
    make_space(memory_url, clock, agent="agent-01")
    other = open_reader(memory_url, clock, "agent-02", tmp_path, monkeypatch, "other")
    me = open_reader(memory_url, clock, "agent-01", tmp_path, monkeypatch, "m")
    for i in range(3):
        other.post("status-update", f"old {i}", topic=f"o{i}")
    assert len(me.read().messages) == 3
    me.board.index.close()
    db = sqlite3.connect(index_path(memory_url))
    db.execute("PRAGMA user_version = 1")  # the index of an older version: dropped and rebuilt on open
    db.commit()
    db.close()
    again = open_reader(memory_url, clock, "agent-01", tmp_path, monkeypatch, "m")
    assert again.board.index.count() == 0
    other.post("status-update", "new", topic="n")
    assert [m.body for m in again.read().messages] == ["new"]
