"""The local index and incremental sync: skewed clocks, request counts, pruning, rebuilds, real S3."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

import pytest
from board_support import CountingStore, fill_board, isolated_cache, make_space, minutes, put_message, space  # noqa: F401

from collabspace.local.index import RESCAN_WINDOW, BoardIndex, index_path
from collabspace.space import Space
from collabspace.storage import open_store


def reader(store, clock, agent="reader"):
    return Space(store, agent=agent, clock=clock)


def bodies(result) -> list[str]:
    return [m.body for m in result.messages]


@pytest.mark.parametrize("behind", [timedelta(seconds=1), timedelta(minutes=5), RESCAN_WINDOW])
def test_a_message_from_a_clock_up_to_10_minutes_behind_is_never_missed(space, clock, behind):
    r = reader(space.store, clock)
    for i in range(3):
        put_message(space.store, clock.now, "agent-01", f"m{i}", body=f"on time {i}")
        clock.advance(minutes=2)
    assert bodies(r.read()) == ["on time 0", "on time 1", "on time 2"]
    # Written now, by a machine whose clock is `behind`: its key sorts before keys already seen.
    put_message(space.store, clock.now - behind, "agent-02", "late", body="late")
    put_message(space.store, clock.now, "agent-01", "next", body="next")
    assert bodies(r.read()) == ["late", "next"]
    assert r.read().messages == []


def test_a_writer_ahead_of_time_does_not_push_the_window_past_the_local_clock(space, clock):
    r = reader(space.store, clock)
    put_message(space.store, clock.now + timedelta(hours=1), "agent-09", "future", body="from the future")
    assert bodies(r.read()) == ["from the future"]
    clock.advance(seconds=30)
    put_message(space.store, clock.now, "agent-01", "now", body="on time")
    assert bodies(r.read()) == ["on time"]


def test_a_message_far_behind_is_found_by_a_full_relist(space, clock):
    r = reader(space.store, clock)
    put_message(space.store, clock.now, "agent-01", "a", body="a")
    r.read()
    put_message(space.store, clock.now - timedelta(hours=2), "agent-02", "old", body="two hours late")
    assert r.read().messages == []  # outside the re-scan window: an incremental sync does not list it
    r.doctor_messages()
    assert bodies(r.read()) == ["two hours late"]


@pytest.mark.parametrize("size", [1000, 3000])
def test_request_counts_do_not_grow_with_the_board(memory_url, clock, size):
    s = make_space(memory_url, clock)
    fill_board(s.store, size, end=clock.now - minutes(1))
    counting = CountingStore(s.store)
    r = reader(counting, clock)
    assert len(r.read().messages) == size
    assert counting.counts == {"list": -(-size // 1000), "get": size}
    for i in range(10):
        put_message(s.store, clock.now, f"agent-{i:02d}", "fresh", body=f"fresh {i}")
    counting.reset()
    assert len(r.read().messages) == 10
    assert counting.counts["get"] == 10 and counting.total - 10 <= 3
    counting.reset()
    assert r.read().messages == [] and counting.counts == {"list": 1}


def test_first_read_fetches_in_parallel(memory_url, clock):
    s = make_space(memory_url, clock)
    fill_board(s.store, 200, end=clock.now)
    slow = CountingStore(s.store, latency=0.01)  # one by one this is 2 s of waiting
    start = time.perf_counter()
    assert len(reader(slow, clock).read().messages) == 200
    assert time.perf_counter() - start < 1.0


def test_a_message_deleted_from_the_store_leaves_the_index(space, clock):
    r = reader(space.store, clock)
    key = put_message(space.store, clock.now, "agent-01", "spam", body="spam")
    assert bodies(r.read(all=True)) == ["spam"]
    space.store.delete(key)
    assert r.read(all=True).messages == []


def test_the_index_is_rebuilt_when_deleted_or_from_another_version(space, clock):
    for i in range(3):
        put_message(space.store, clock.now, f"agent-0{i}", "x", body=str(i))
    r = reader(space.store, clock)
    assert len(r.read().messages) == 3
    path = index_path(space.url)
    r.board.index.close()
    path.unlink()
    assert len(reader(space.store, clock).read(all=True).messages) == 3
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 999")
    db.close()
    again = reader(space.store, clock)
    assert again.board.index.count() == 0  # stale: dropped on open
    assert len(again.read(all=True).messages) == 3


def test_one_index_per_space_in_the_cache_folder(isolated_cache, memory_url, clock):
    a = index_path(memory_url)
    assert a.parent.parent == isolated_cache and a == index_path(memory_url) != index_path(memory_url + "x")
    idx = BoardIndex.for_space(memory_url)
    assert idx.path == a and a.exists()
    assert idx._query("PRAGMA journal_mode")[0][0] == "wal"


def test_sync_on_real_s3(s3_bucket, clock):
    url = f"s3://{s3_bucket}/space"
    raw = make_space(url, clock, agent="agent-01").store  # other machines write straight to the bucket
    for i in range(5):
        put_message(raw, clock.now, "agent-01", f"t{i}", body=f"s3 {i}")
        clock.advance(seconds=20)
    counting = CountingStore(open_store(url))
    r = reader(counting, clock)
    assert bodies(r.read()) == [f"s3 {i}" for i in range(5)]
    assert counting.counts == {"list": 1, "get": 5}
    put_message(raw, clock.now - RESCAN_WINDOW, "agent-02", "late", body="late on s3")
    put_message(raw, clock.now, "agent-03", "q", body="new on s3")
    counting.reset()
    assert bodies(r.read()) == ["late on s3", "new on s3"]
    assert counting.counts == {"list": 1, "get": 2}
    assert r.read().messages == []
    assert [m.body for m in r.search("late")] == ["late on s3"]
    mine = r.post("question", "posted through the index", topic="mine")
    counting.reset()
    assert Space(counting, agent="agent-01", clock=clock).read().messages[-1].file == mine.file
    assert counting.counts == {"list": 1}  # this machine's own post is indexed when written: no fetch


def test_posts_on_one_machine_are_shared_through_its_index(space, clock):
    a = space
    b = reader(CountingStore(space.store), clock, agent="agent-02")
    a.post("status-update", "hello")
    assert bodies(b.read()) == ["hello"] and b.store.counts == {"list": 1}
