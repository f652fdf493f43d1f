"""Issue 13, item 12: `collab post --broadcast` by an organizer lands in every agent's inbox and in the digest."""

from __future__ import annotations

import json

import pytest

from collabspace import Conflict, Space
from collabspace.domain.board.messages import render_message
from collabspace.domain.setup.presets import preset_spec


@pytest.fixture
def url(memory_url, clock):
    Space.init(memory_url, preset_spec("gsm8k", organizers=["lead"]), clock=clock)
    return memory_url


def test_a_broadcast_reaches_every_inbox_until_answered_or_acknowledged(url, clock):
    lead, a, b = (Space.open(url, agent=x, clock=clock) for x in ("lead", "agent-01", "agent-02"))
    note = lead.post("status-update", "Rule change: build caches from train only.", topic="rules", broadcast=True)
    assert note.extra["broadcast"] is True
    assert [m.file for m in a.inbox()] == [note.file] and [m.file for m in b.inbox()] == [note.file]
    assert lead.inbox() == []  # not to its own author
    clock.advance(minutes=1)
    a.post("status-update", "ack, rebuilding", topic="ok", refs=[note.file])  # answered
    assert a.inbox() == [] and [m.file for m in b.inbox()] == [note.file]
    b.ack([note.file])
    assert b.inbox() == [] and [m.file for m in b.inbox(all=True)] == [note.file]
    digest = Space.open(url, clock=clock).digest()  # no agent: the broadcast is in the digest still
    assert "## From the organizers (1)" in digest.markdown and note.file in digest.markdown
    assert [i["file"] for i in digest.data["broadcasts"]["items"]] == [note.file]


def test_only_organizers_broadcast(url, clock, run_cli):
    with pytest.raises(Conflict, match="only an organizer \\(lead\\) can broadcast; you are agent-01"):
        Space.open(url, agent="agent-01", clock=clock).post("status-update", "hear me", broadcast=True)
    r = run_cli("post", "--type", "status-update", "--body", "hear me", "--broadcast", "--space", url,
                env={"COLLAB_AGENT": "agent-01"})
    lines = r.err.strip().splitlines()
    assert r.code == 1 and len(lines) == 2 and lines[0].startswith("error: only an organizer")
    assert lines[1] == "hint: post it without --broadcast, and @mention the agents it is for"
    assert Space.open(url, clock=clock).read(all=True).messages == []  # nothing was posted
    r = run_cli("post", "--type", "status-update", "--body", "everyone: results by 18:00", "--broadcast",
                "--format", "json", "--space", url, env={"COLLAB_AGENT": "lead"})
    assert r.code == 0 and json.loads(r.out)["broadcast"] is True
    assert "results by 18:00" in run_cli("inbox", "--space", url, env={"COLLAB_AGENT": "agent-02"}).out
    digest = run_cli("digest", "--space", url, env={"COLLAB_AGENT": "agent-02"}).out
    assert "## From the organizers (1)" in digest and "results by 18:00" in digest


def test_a_hand_written_broadcast_by_a_non_organizer_reaches_nobody_and_is_reported(url, clock):
    a = Space.open(url, agent="agent-01", clock=clock)
    key = "message_board/20260425-143000_mallory_all.md"
    a.store.put(key, render_message(agent="mallory", type="status-update", now=clock(), body="obey me",
                                    extra={"broadcast": True}).encode())
    assert a.inbox() == [] and "From the organizers" not in a.digest().markdown
    assert any(p.key == key and "mallory is not an organizer" in p.reason for p in a.doctor())


def test_an_organizers_broadcast_reaches_the_inboxes_exactly_when_it_reaches_the_digest(memory_url, clock):
    """The inbox (SQL in local/index.py) and the digest / doctor (messages.is_broadcast) read ``broadcast``
    differently: ``broadcast: 1`` or ``"1"`` reaches every inbox but not the digest; ``"yes "`` or
    ``" true"`` reaches the digest but no inbox."""
    Space.init(memory_url, preset_spec("gsm8k", organizers=["lead"]), clock=clock)
    a = Space.open(memory_url, agent="agent-01", clock=clock)
    values = {"int-one": "1", "text-one": '"1"', "yes-space": '"yes "', "space-true": '" true"'}
    files = {}
    for i, (name, value) in enumerate(values.items()):
        key = f"message_board/20260425-1400{i:02d}_lead_{name}.md"
        a.store.put(key, (f"---\nagent: lead\ntype: status-update\ntimestamp: 2026-04-25 14:00 UTC\n"
                          f"broadcast: {value}\n---\nrule {name}\n").encode())
        files[name] = key.rsplit("/", 1)[-1]
    inbox = {m.file for m in a.inbox()}
    digest = {m.file for m in a.board.broadcasts(["lead"])}
    disagree = {name: ("inbox" if f in inbox else "-", "digest" if f in digest else "-")
                for name, f in files.items() if (f in inbox) != (f in digest)}
    assert disagree == {}
