"""Packs on a real S3 server (moto on 127.0.0.1): a first read costs a request per pack, not per file,
and a pack is believed only where it agrees with the listing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from board_support import CountingStore, make_space, put_message

from collabspace.domain import packs, paths
from collabspace.domain.timefmt import utcnow
from collabspace.space import Space
from collabspace.storage import open_store
from conftest import FixedClock

N = 120  # messages; packs of 20 so the test stays small (the product packs 1,000 and 10,000)


@pytest.fixture(autouse=True)
def small_packs(monkeypatch):
    monkeypatch.setattr(packs, "SMALL", 20)
    monkeypatch.setattr(packs, "LARGE", 200)
    monkeypatch.setattr(packs, "MIN_USE", 10)


def fresh_reader(url, clock, tmp_path, monkeypatch, name):
    monkeypatch.setenv("COLLAB_CACHE_DIR", str(tmp_path / name / "cache"))
    monkeypatch.setenv("COLLAB_STATE_DIR", str(tmp_path / name / "state"))
    counting = CountingStore(open_store(url))
    space = Space(counting, agent="reader", clock=clock)
    space.board.index, space.board.cursors  # noqa: B018 -- this machine's folders
    return space, counting


@pytest.fixture
def board(s3_bucket):
    url = f"s3://{s3_bucket}/space"
    writer_clock = FixedClock(utcnow())
    store = make_space(url, writer_clock, agent="agent-01").store
    keys = [put_message(store, writer_clock.now - timedelta(hours=2, seconds=-i), f"agent-0{i % 5}", f"m{i}",
                        body=f"message {i}") for i in range(N)]
    return url, store, keys


def later():
    return FixedClock(utcnow())


def test_the_first_reader_packs_and_the_next_reads_a_request_per_pack(board, tmp_path, monkeypatch):
    url, store, keys = board
    first, counting = fresh_reader(url, later(), tmp_path, monkeypatch, "first")
    assert len(first.read(all=True).messages) == N
    assert counting.counts["get"] == N  # no packs yet: one by one, then it packs them for the next reader
    written = [i.key for i in store.list(paths.pack_prefix(paths.BOARD))]
    assert len(written) == N // packs.SMALL

    second, counting = fresh_reader(url, later(), tmp_path, monkeypatch, "second")
    got = second.read(all=True).messages
    assert [m.key for m in got] == sorted(keys) and got[0].body == "message 0"
    # 1 listing of the board, 1 of the packs, 1 GET per pack (and collab.toml was never needed)
    assert counting.counts == {"list": 2, "get": N // packs.SMALL}
    assert second.doctor_packs() == []


def test_a_late_file_is_fetched_on_its_own_and_the_packs_still_hold(board, tmp_path, monkeypatch):
    url, store, keys = board
    fresh_reader(url, later(), tmp_path, monkeypatch, "packer")[0].read(all=True)
    late = put_message(store, utcnow() - timedelta(days=2), "agent-09", "late", body="copied in late")
    reader, counting = fresh_reader(url, later(), tmp_path, monkeypatch, "r")
    assert late in {m.key for m in reader.read(all=True).messages}
    assert counting.counts == {"list": 2, "get": N // packs.SMALL + 1}


@pytest.mark.parametrize("attack", ["forged text", "changed size", "member deleted", "not a pack"])
def test_a_pack_that_disagrees_is_ignored_and_named_by_doctor(board, tmp_path, monkeypatch, attack):
    url, store, keys = board
    fresh_reader(url, later(), tmp_path, monkeypatch, "packer")[0].read(all=True)
    victim = sorted(i.key for i in store.list(paths.pack_prefix(paths.BOARD)))[0]
    doc = json.loads(store.get(victim))
    entry = doc["entries"][3]
    if attack == "forged text":  # same size and md5 field, other words: only the ETag can tell
        entry["text"] = entry["text"].replace("message", "MESSAGE")
    elif attack == "changed size":
        entry["text"] += "extra"
        entry["size"] += 5
    elif attack == "member deleted":
        store.delete(entry["key"])
    else:
        doc = {"hello": "world"}
    store.put(victim, json.dumps(doc).encode())
    reader, counting = fresh_reader(url, later(), tmp_path, monkeypatch, "r")
    got = {m.key: m.body for m in reader.read(all=True).messages}
    if attack == "member deleted":
        assert entry["key"] not in got
    else:
        assert got[entry["key"]] == "message 3" and "MESSAGE" not in "".join(got.values())
    assert len(got) == N - (attack == "member deleted")
    # every pack was fetched once; the bad one's files came one by one besides; with all 20 in hand the
    # reader packs them again, finds the name taken by the bad pack and reads it back (one GET): the bad
    # pack stays ignored, and doctor names it
    deleted = attack == "member deleted"
    assert counting.counts["get"] == N // packs.SMALL + packs.SMALL - deleted + (not deleted)
    named = [p for p in reader.doctor_packs() if p.key == victim]
    assert len(named) == 1 and named[0].reason.startswith("pack ignored:")


def test_small_packs_read_together_become_a_large_pack(board, tmp_path, monkeypatch):
    monkeypatch.setattr(packs, "LARGE", 3 * packs.SMALL)  # runs of three small packs, to keep the test small
    url, store, keys = board
    fresh_reader(url, later(), tmp_path, monkeypatch, "packer")[0].read(all=True)  # writes 6 small packs
    fresh_reader(url, later(), tmp_path, monkeypatch, "second")[0].read(all=True)  # reads them, writes 2 large
    names = [packs.PackName.parse(i.key, paths.BOARD) for i in store.list(paths.pack_prefix(paths.BOARD))]
    assert sorted(n.count for n in names) == [packs.SMALL] * 6 + [packs.LARGE] * 2
    third, counting = fresh_reader(url, later(), tmp_path, monkeypatch, "third")
    assert len(third.read(all=True).messages) == N
    assert counting.counts == {"list": 2, "get": 2}  # the two large packs, nothing else


def test_results_are_packed_too_and_the_leaderboard_cold_read_is_cheap(s3_bucket, tmp_path, monkeypatch):
    url = f"s3://{s3_bucket}/space"
    clock = FixedClock(utcnow())
    store = make_space(url, clock, agent="agent-01").store
    for i in range(N):
        doc = {"agent_id": f"agent-0{i % 5}", "experiment": f"run {i}", "score": i / N,
               "timestamp": "2026-04-01T12:00:00Z"}
        store.put(f"artifacts/results/run{i}_agent-0{i % 5}.json", json.dumps(doc).encode())
    first, counting = fresh_reader(url, later(), tmp_path, monkeypatch, "first")
    assert len(first.leaderboard().result_keys) == N
    assert len(list(store.list(paths.pack_prefix(paths.RESULTS)))) == N // packs.SMALL
    second, counting = fresh_reader(url, later(), tmp_path, monkeypatch, "second")
    lb = second.leaderboard()
    assert len(lb.result_keys) == N and lb.problems == []
    # board, results, verdicts, packs listings; collab.toml; one GET per pack
    assert counting.counts == {"list": 4, "get": 1 + N // packs.SMALL}


def test_the_newest_files_that_do_not_fill_a_pack_go_into_a_tail_that_grows(board, tmp_path, monkeypatch):
    """A board is rarely a multiple of 1,000: the newest files go into one tail pack, which the next reader
    that fetched more of them rewrites whole, so a first read stays a request per pack."""
    url, store, keys = board
    extra = [put_message(store, utcnow() - timedelta(hours=1, seconds=-i), "agent-07", f"t{i}", body=f"tail {i}")
             for i in range(12)]
    fresh_reader(url, later(), tmp_path, monkeypatch, "packer")[0].read(all=True)  # 6 small packs + a tail of 12
    reader, counting = fresh_reader(url, later(), tmp_path, monkeypatch, "r1")
    assert len(reader.read(all=True).messages) == N + 12
    assert counting.counts == {"list": 2, "get": N // packs.SMALL + 1}
    more = [put_message(store, utcnow() - timedelta(minutes=30, seconds=-i), "agent-08", f"u{i}", body=f"more {i}")
            for i in range(3)]
    reader, counting = fresh_reader(url, later(), tmp_path, monkeypatch, "r2")
    assert len(reader.read(all=True).messages) == N + 15
    assert counting.counts["get"] == N // packs.SMALL + 1 + len(more)  # and it writes a tail of 15
    reader, counting = fresh_reader(url, later(), tmp_path, monkeypatch, "r3")
    got = reader.read(all=True).messages
    assert {m.key for m in got} == set(keys) | set(extra) | set(more)
    assert counting.counts == {"list": 2, "get": N // packs.SMALL + 1}  # the old tail is inside the new one
    assert reader.doctor_packs() == []
