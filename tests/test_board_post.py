"""Posting: the file that lands, create-only under races, and a one-line error for every bad input."""

from __future__ import annotations

import threading

import pytest
from board_support import isolated_cache, make_space, put_raw, space  # noqa: F401

from collabspace import AlreadyExists, InvalidInput, NotFound
from collabspace.domain import frontmatter
from collabspace.domain.board.messages import MAX_BODY_BYTES


def test_post_writes_the_template_format(space):
    m = space.post("status-update", "# Plan\n\nPrompting baseline first.\n", topic="My Plan: v1!")
    assert m.key == "message_board/20260425-143000_agent-01_my-plan-v1.md"
    meta, body = frontmatter.parse(space.store.get(m.key))
    assert meta == {"agent": "agent-01", "type": "status-update", "timestamp": "2026-04-25 14:30 UTC"}
    assert body == "# Plan\n\nPrompting baseline first."


def test_topic_defaults_to_the_type_and_refs_are_a_list(space):
    first = space.post("experiment-proposal", "LoRA r16")
    assert first.file == "20260425-143000_agent-01_experiment-proposal.md"
    reply = space.post("question", "how long?", topic="q", refs=[f"message_board/{first.file}"])
    meta, _ = frontmatter.parse(space.store.get(reply.key))
    assert meta["refs"] == [first.key]  # written in the one spelling, the full key


def test_refs_accept_a_name_without_md_and_a_message_not_yet_indexed(space):
    put_raw(space.store, "20260425-142000_agent-02.md", "---\nagent: agent-02\ntype: agent\n---\nhi\n")
    m = space.post("build-on", "extending", refs=["20260425-142000_agent-02"])
    assert m.refs == ("message_board/20260425-142000_agent-02.md",)


def test_same_second_same_topic_posts_all_land_in_order(space):
    bodies = [f"update {i}" for i in range(12)]
    posted = [space.post("status-update", b, topic="plan") for b in bodies]
    keys = [m.key for m in posted]
    assert len(set(keys)) == 12 and keys == sorted(keys)
    assert keys[:3] == [
        "message_board/20260425-143000_agent-01_plan.md",
        "message_board/20260425-143000_agent-01_plan_002.md",
        "message_board/20260425-143000_agent-01_plan_003.md",
    ]
    assert [frontmatter.parse(space.store.get(k))[1] for k in keys] == bodies
    assert [m.body for m in space.read(all=True).messages] == bodies


def test_concurrent_posts_same_agent_same_second_none_lost(memory_url, clock):
    make_space(memory_url, clock)
    from collabspace.space import Space

    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def go(i: int) -> None:
        s = Space.open(memory_url, agent="agent-01", clock=clock)
        barrier.wait()
        try:
            for j in range(5):
                s.post("status-update", f"{i}-{j}", topic="plan")
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    s = Space.open(memory_url, agent="agent-02", clock=clock)
    bodies = sorted(m.body for m in s.read(all=True).messages)
    assert bodies == sorted(f"{i}-{j}" for i in range(8) for j in range(5))


def test_extra_types_from_the_spec(memory_url, clock):
    s = make_space(memory_url, clock, board={"extra_types": ["taskforce-note"]})
    assert s.post("taskforce-note", "hi").type == "taskforce-note"


@pytest.mark.parametrize(("kwargs", "error", "message", "hint"), [
    ({"type": "agent"}, InvalidInput, "unknown message type 'agent'", "use one of: status-update, experiment-proposal"),
    ({"topic": "!!!"}, InvalidInput, "topic '!!!' has no letters or digits", "lora-sweep"),
    ({"body": "  \n "}, InvalidInput, "the message body is empty", "--body-file"),
    ({"body": "x" * (MAX_BODY_BYTES + 1)}, InvalidInput,
     "the message body is 65,537 bytes; the limit is 65,536 bytes (64 KiB)", "collab push"),
    ({"refs": ["20260101-000000_agent-09_gone.md"]}, NotFound,
     "refs: '20260101-000000_agent-09_gone.md' is not a message on the board", "collab read --all"),
    ({"refs": ["../collab.toml"]}, InvalidInput, "refs: '../collab.toml' is neither a message filename",
     "20260425-143000_agent-01_plan.md"),
])
def test_bad_posts_are_refused_and_write_nothing(space, kwargs, error, message, hint):
    args = {"type": "status-update", "body": "hello", "topic": "t", **kwargs}
    with pytest.raises(error) as exc:
        space.post(args.pop("type"), args.pop("body"), **args)
    assert exc.value.message.startswith(message) and "\n" not in exc.value.message
    assert hint in exc.value.hint
    assert [i.key for i in space.store.list("message_board/")] == []


def test_post_needs_an_agent_id(memory_url, clock):
    s = make_space(memory_url, clock, agent=None)
    with pytest.raises(InvalidInput, match="no agent id given"):
        s.post("status-update", "hi")


def test_a_full_second_of_one_topic_is_refused(space, monkeypatch):
    from collabspace.domain.board import board

    monkeypatch.setattr(board, "MAX_SEQ", 3)
    posted = [space.post("status-update", f"x{i}", topic="t") for i in range(3)]
    # the same bytes again is the same post (a retry whose answer was lost), not a fourth one
    assert space.post("status-update", "x0", topic="t").key == posted[0].key
    with pytest.raises(AlreadyExists, match="already posted 3 messages on topic 't' in this second"):
        space.post("status-update", "x3", topic="t")


def test_refs_may_name_results_and_artifacts(space):
    result = space.submit("A baseline", score=0.5, name="base")
    m = space.post("build-on", "Extending it.", topic="ext", refs=["base_agent-01.json", result.key])
    assert m.refs == (result.key,)
    with pytest.raises(NotFound) as err:
        space.post("build-on", "x", topic="x", refs=["nope_agent-01.json"])
    assert "is not stored" in err.value.message and err.value.hint
    with pytest.raises(NotFound):
        space.post("build-on", "x", topic="x", refs=["artifacts/scripts/missing_agent-01.py"])
    assert space.doctor_messages() == []
