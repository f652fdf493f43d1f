"""Reading: what is new per agent, filters, threads, show, search and the inbox."""

from __future__ import annotations

import pytest
from board_support import isolated_cache, make_space, minutes, put_message, space  # noqa: F401

from collabspace import InvalidInput, NotFound
from collabspace.space import Space


@pytest.fixture
def two(space, clock):
    """agent-01 (``space``) and agent-02 on one board."""
    return space, Space.open(space.url, agent="agent-02", clock=clock)


def files(result) -> list[str]:
    return [m.file for m in (result.messages if hasattr(result, "messages") else result)]


def test_read_shows_what_is_new_once_and_not_my_own(two, clock):
    a, b = two
    a.post("status-update", "a1", topic="one")
    clock.advance(minutes=1)
    a.post("status-update", "a2", topic="two")
    b.post("question", "b1", topic="q")
    assert [m.body for m in b.read().messages] == ["a1", "a2"]
    assert b.read().messages == []
    clock.advance(minutes=1)
    a.post("status-update", "a3", topic="three")
    assert [m.body for m in b.read().messages] == ["a3"]
    assert [m.body for m in a.read().messages] == ["b1"]


def test_cursors_are_per_agent_and_survive_reopening(two, clock):
    a, b = two
    a.post("status-update", "x")
    assert len(b.read().messages) == 1
    again = Space.open(a.url, agent="agent-02", clock=clock)
    assert again.read().messages == []
    third = Space.open(a.url, agent="agent-03", clock=clock)
    assert [m.body for m in third.read().messages] == ["x"]


def test_limit_pages_through_new_messages_oldest_first(two, clock):
    a, b = two
    for i in range(5):
        a.post("status-update", f"m{i}", topic=f"t{i}")
        clock.advance(seconds=1)
    first = b.read(limit=2)
    assert [m.body for m in first.messages] == ["m0", "m1"] and first.remaining == 3
    assert [m.body for m in b.read(limit=2).messages] == ["m2", "m3"]
    rest = b.read()
    assert [m.body for m in rest.messages] == ["m4"] and rest.remaining == 0


def test_filtered_reads_do_not_move_the_cursor(two):
    a, b = two
    a.post("question", "q?")
    a.post("status-update", "s")
    only = b.read(type="question")
    assert [m.body for m in only.messages] == ["q?"] and not only.advanced
    assert [m.body for m in b.read(author="agent-01").messages] == ["q?", "s"]
    assert [m.body for m in b.read().messages] == ["q?", "s"]


def test_all_since_type_author_limit(two, clock):
    a, b = two
    a.post("status-update", "old", topic="old")
    clock.advance(hours=3)
    b.post("question", "new q", topic="q")
    clock.advance(minutes=1)
    a.post("status-update", "new s", topic="s")
    assert [m.body for m in a.read(all=True).messages] == ["old", "new q", "new s"]
    assert [m.body for m in a.read(since="2h").messages] == ["new q", "new s"]
    assert [m.body for m in a.read(since="2026-04-25 17:31").messages] == ["new s"]
    q = a.read(all=True, type="question").messages[0]
    assert [m.body for m in a.read(since=q.file).messages] == ["new q", "new s"]
    assert [m.body for m in a.read(all=True, author="agent-01").messages] == ["old", "new s"]
    assert [m.body for m in a.read(all=True, limit=1).messages] == ["new s"]
    assert [m.body for m in a.read().messages] == ["new q"]  # --all/--since moved nothing


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"since": "last tuesday"}, "--since 'last tuesday' is not a duration, a time or a message filename"),
    ({"limit": 0}, "--limit must be at least 1, got 0"),
    ({"all": True, "limit": -3}, "--limit must be at least 1, got -3"),
])
def test_bad_read_options(space, kwargs, message):
    with pytest.raises(InvalidInput) as exc:
        space.read(**kwargs)
    assert exc.value.message == message and exc.value.hint


def test_read_new_needs_an_agent_but_all_does_not(memory_url, clock):
    s = make_space(memory_url, clock, agent=None)
    assert s.read(all=True).messages == []
    with pytest.raises(InvalidInput, match="no agent id given"):
        s.read()


def test_thread_is_a_tree_of_refs_both_ways(two, clock):
    a, b = two
    root = a.post("experiment-proposal", "root", topic="p")
    clock.advance(minutes=1)
    q = b.post("question", "q on root", topic="q", refs=[root.file])
    clock.advance(minutes=1)
    ans = a.post("status-update", "answer", topic="ans", refs=[q.file])
    clock.advance(minutes=1)
    rep = b.post("results-report", "report", topic="rep", refs=[root.file, ans.file])
    a.post("status-update", "unrelated", topic="other")
    tree = [(i.depth, i.message.body) for i in b.thread(q.file)]
    assert tree == [(0, "root"), (1, "q on root"), (2, "answer"), (3, "report")]
    assert [(i.depth, i.message.body) for i in a.thread(root.file)] == tree
    assert b.thread(rep.file)[0].message.file == root.file


def test_thread_and_show_of_missing_message(space):
    with pytest.raises(NotFound, match="no message '20260101-000000_agent-01_x.md' on the board"):
        space.thread("20260101-000000_agent-01_x.md")
    with pytest.raises(InvalidInput, match="filename 'nope' is not"):
        space.show("nope")


def test_show_reads_from_the_store_when_not_indexed(space, clock):
    key = put_message(space.store, clock.now, "agent-02", "fresh", body="straight from the store")
    assert space.show(key).body == "straight from the store"
    assert space.show(key.removeprefix("message_board/")).agent == "agent-02"


def test_search_uses_the_index(two, clock):
    a, b = two
    a.post("status-update", "Tried a learning rate of 3e-4 with LoRA", topic="lr")
    b.post("question", "What learning schedule? rate unknown", topic="sched")
    a.post("status-update", "Nothing relevant here", topic="misc")
    assert sorted(m.body[:5] for m in b.search("learning rate")) == ["Tried", "What "]
    assert [m.topic for m in b.search("LoRA")] == ["lr"]
    assert [m.topic for m in b.search("sched")] == ["sched"]  # topics are searched too
    assert b.search('rate" OR "x') == []  # user text never reaches FTS5's syntax
    assert len(b.search("learning", limit=1)) == 1
    with pytest.raises(InvalidInput, match="the search query is empty"):
        b.search('  "" ')


def test_inbox_holds_what_is_addressed_to_me_until_answered_or_acknowledged(two, clock):
    a, b = two
    mine = a.post("question", "anyone tried int8?", topic="int8")
    b.post("status-update", "unrelated", topic="x")
    reply = b.post("status-update", "yes, see my run", topic="re", refs=[mine.file])
    clock.advance(seconds=1)
    ping = b.post("status-update", "@agent-01 have a look", topic="ping")
    b.post("status-update", "@agent-011 is someone else", topic="other")
    assert files(a.inbox()) == [reply.file, ping.file]
    assert files(a.inbox()) == [reply.file, ping.file]  # looking at the inbox consumes nothing
    a.read()
    assert files(a.inbox()) == [reply.file, ping.file]  # nor does reading the board (it used to)
    a.post("status-update", "thanks, trying it", topic="thanks", refs=[reply.file])
    assert files(a.inbox()) == [ping.file]  # answered
    assert a.ack([ping.file]) == [ping.file]
    assert a.inbox() == [] and files(a.inbox(all=True)) == [reply.file, ping.file]
    late = b.post("status-update", "another reply", topic="re2", refs=[mine.file])
    assert files(a.inbox()) == [late.file]
    assert a.ack() == [late.file] and a.inbox() == []
    with pytest.raises(NotFound):
        a.ack(["20200101-000000_nobody_x.md"])
    assert [m.agent for m in b.inbox()] == ["agent-01"]  # a's answer; my own messages never fill my inbox
