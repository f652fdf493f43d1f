"""``read --after FILE`` (and the gateway's long-poll) on stores that time arrivals to the second."""

from __future__ import annotations

import os

from board_support import isolated_cache, make_space, put_message  # noqa: F401

from datetime import timedelta

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


# -- found by a review: same-second arrivals with an earlier key, and late listings --------------------
def test_read_after_delivers_a_message_that_lands_in_the_cursors_second_with_an_earlier_key(tmp_path, clock):
    """Stores time arrivals to the second (S3, the Hub). The cursor C was read; then M lands in the same
    second, its key sorting before C's (another agent, same filename second). ``--after C`` excludes every
    same-second key <= C's as already shown, so M is never delivered to a cursor-following reader."""
    space = make_space(str(tmp_path / "space"), clock, agent="reader")
    now = utcnow().replace(microsecond=0)
    same = now.timestamp()
    c = put_message(space.store, now, "agent-02", "first-landed")
    os.utime(tmp_path / "space" / c, (same, same))
    got = space.read(peek=True)
    assert [m.key for m in got.messages] == [c]
    m = put_message(space.store, now, "agent-01", "landed-second")  # later in the same second, smaller key
    os.utime(tmp_path / "space" / m, (same, same))
    assert [x.key for x in space.read(after=got.cursor, peek=True).messages] == [m]


def test_read_after_delivers_a_message_indexed_after_the_cursor_that_arrived_before_it(tmp_path, clock):
    """A message that arrived before the cursor's but is listed only later (an old filename stamp below the
    watermark, found by the next full listing; a slow upload) is never delivered after the cursor: ``--after``
    has none of the plain cursor's grace (local/cursors.py GRACE), while a plain read delivers it."""
    space = make_space(str(tmp_path / "space"), clock, agent="reader")
    now = utcnow().replace(microsecond=0)
    c = put_message(space.store, now, "agent-02", "cursor")
    os.utime(tmp_path / "space" / c, (now.timestamp(), now.timestamp()))
    got = space.read(peek=True)
    late = put_message(space.store, now - timedelta(minutes=10), "agent-03", "behind")  # listed only now
    os.utime(tmp_path / "space" / late, (now.timestamp() - 5, now.timestamp() - 5))
    assert late in [x.key for x in space.read(peek=True).messages]  # a plain read has it
    assert [x.key for x in space.read(after=got.cursor, peek=True).messages] == [late]
