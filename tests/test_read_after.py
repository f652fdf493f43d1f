"""``read --after FILE`` (and the gateway's long-poll) on stores that time arrivals to the second."""

from __future__ import annotations

import os

from board_support import isolated_cache, make_space, put_message  # noqa: F401

from collabspace.domain.timefmt import utcnow


def test_a_message_arriving_in_the_cursors_own_second_is_after_it(tmp_path, clock):
    space = make_space(str(tmp_path / "space"), clock, agent="reader")
    now = utcnow().replace(microsecond=0)
    same = now.timestamp()  # a store that times arrivals to the second gives both the same time
    first = put_message(space.store, now, "agent-01", "first")
    os.utime(tmp_path / "space" / first, (same, same))
    space.read(all=True)  # the reader has indexed the first
    second = put_message(space.store, now, "agent-01", "second")  # same second, later in it
    os.utime(tmp_path / "space" / second, (same, same))
    space.read(all=True)
    got = space.read(after=first.rsplit("/", 1)[-1], peek=True)
    assert [m.key for m in got.messages] == [second]


def test_after_the_cursor_is_in_arrival_then_key_order_without_repeats(tmp_path, clock):
    space = make_space(str(tmp_path / "space"), clock, agent="reader")
    now = utcnow().replace(microsecond=0)
    same = now.timestamp()
    keys = []
    for topic in ("a", "b", "c"):
        keys.append(put_message(space.store, now, "agent-01", topic))
        os.utime(tmp_path / "space" / keys[-1], (same, same))
    space.read(all=True)
    name = lambda k: k.rsplit("/", 1)[-1]  # noqa: E731
    assert [m.key for m in space.read(after=name(keys[0]), peek=True).messages] == keys[1:]
    assert [m.key for m in space.read(after=name(keys[1]), peek=True).messages] == keys[2:]
    assert space.read(after=name(keys[2]), peek=True).messages == []
