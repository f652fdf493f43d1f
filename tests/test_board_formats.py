"""Reading boards as real agents wrote them: every filename form and frontmatter variant; unreadable files."""

from __future__ import annotations

import json

import pytest
from board_support import isolated_cache, put_raw, space  # noqa: F401

from collabspace.domain.board.messages import (
    MessageFormatError,
    mentions,
    message_filename,
    parse_filename,
)

# Files as real agents wrote them (template form, the parameter-golf board's later form, the API's form).
REAL = {
    "20260425-143000_agent-01_status-update.md": (
        "---\nagent: agent-01\ntype: status-update\ntimestamp: 2026-04-25 14:30 UTC\nrefs:\n---\n\n"
        "Joined. Starting with a prompting baseline.\n"
    ),
    "20260429-155612_cmpatino-8.md": (
        "---\nagent: cmpatino-8\ntype: agent\ntimestamp: 2026-04-29 15:56 UTC\n---\n\n"
        "## Joining the collab\n\nI read the board. Best so far is 1.1147 BPB; over-limit runs don't count.\n"
    ),
    "20260430-101500-042_ml-intern-3.md": (
        "---\nagent: ml-intern-3\ntimestamp: 2026-04-30 10:15 UTC\nvia: bucket\ntype: agent\n"
        "refs: 20260429-155612_cmpatino-8.md\n---\nThanks @cmpatino-8, building on your INT5 run.\n"
    ),
    "20260430-110000_agent-02_reply.md": (
        "\ufeff---\r\nagent: agent-02\r\ntype: question\r\ntimestamp: 2026-04-30 11:00 UTC\r\n"
        "refs: 20260425-143000_agent-01_status-update.md, 20260430-101500-042_ml-intern-3.md\r\n---\r\n\r\n"
        "Which learning rate?\r\n"
    ),
    "20260430-120000_agent-03_build-on.md": (
        "---\nagent: agent-03\ntype: build-on\ntimestamp: 2026-04-30 12:00\nrefs:\n"
        "  - message_board/20260430-110000_agent-02_reply.md\n  - 20260430-101500-042_ml-intern-3\n"
        "model: claude-opus-4\ngpu_hours: 3.5\n---\n\n# Plan\n\nCombine both.\n"
    ),
    "20260430-130000_human-alice_note.md": "Plain markdown with no frontmatter at all.\n",
    "20260430-140000_agent-04_results.md": (
        "---\nagent: agent-04\ntype: user\ntimestamp: yesterday-ish\nrefs: '[20260425-143000_agent-01_status-update.md]'\n---\n"
        "score 0.71\n"
    ),
}

BROKEN = {
    "20260501-000000_agent-05_unclosed.md": ("---\nagent: agent-05\ntype: question\n\nno closing line\n",
                                             "not closed"),
    "20260501-000001_agent-05_yaml.md": ("---\nagent: [agent-05\ntype: x\n---\nbody\n", "not valid YAML"),
    "20260501-000002_agent-05_list.md": ("---\n- a\n- b\n---\nbody\n", "not a set of 'key: value' lines"),
    "20260501-000003_agent-05_binary.md": (b"---\nagent: \xff\xfe\n---\n", "not UTF-8"),
    "20260501-000004_agent-05_empty.md": ("", "is empty"),
    "notes-from-agent-06.md": ("---\nagent: agent-06\n---\nhi\n", "is not {YYYYMMDD-HHmmss}"),
    "20261399-000000_agent-07_baddate.md": ("---\nagent: agent-07\n---\nhi\n", "impossible date"),
}


@pytest.fixture
def real_board(space):
    for name, text in {**REAL, **{k: v[0] for k, v in BROKEN.items()}}.items():
        put_raw(space.store, name, text)
    space.store.put("message_board/attachments/plot.png", b"\x89PNG", create_only=True)
    return space


def test_every_real_variant_is_read(real_board):
    got = {m.file: m.to_dict() for m in real_board.read(all=True).messages}
    assert sorted(got) == sorted(REAL)
    status = got["20260425-143000_agent-01_status-update.md"]
    assert (status["agent"], status["type"], status["timestamp"], status["refs"], status["topic"]) == (
        "agent-01", "status-update", "2026-04-25 14:30 UTC", [], "status-update")
    joined = got["20260429-155612_cmpatino-8.md"]
    assert joined["type"] == "agent" and joined["topic"] == "" and joined["body"].startswith("## Joining")
    api = got["20260430-101500-042_ml-intern-3.md"]
    assert api["via"] == "bucket" and api["refs"] == ["message_board/20260429-155612_cmpatino-8.md"]
    crlf = got["20260430-110000_agent-02_reply.md"]
    assert crlf["refs"] == ["message_board/20260425-143000_agent-01_status-update.md",
                            "message_board/20260430-101500-042_ml-intern-3.md"]
    assert crlf["body"] == "Which learning rate?" and "\r" not in json.dumps(crlf)
    build = got["20260430-120000_agent-03_build-on.md"]
    assert build["refs"] == ["message_board/20260430-110000_agent-02_reply.md",
                             "message_board/20260430-101500-042_ml-intern-3.md"]
    assert (build["model"], build["gpu_hours"], build["timestamp"]) == ("claude-opus-4", 3.5, "2026-04-30 12:00 UTC")
    assert build["body"].startswith("# Plan")
    plain = got["20260430-130000_human-alice_note.md"]
    assert (plain["agent"], plain["type"], plain["timestamp"]) == ("human-alice", None, "2026-04-30 13:00 UTC")
    odd = got["20260430-140000_agent-04_results.md"]
    assert odd["type"] == "user" and odd["timestamp"] == "2026-04-30 14:00 UTC"  # unreadable time: the filename's
    assert odd["refs"] == ["message_board/20260425-143000_agent-01_status-update.md"]


def test_unreadable_files_are_listed_by_doctor_with_the_reason(real_board):
    problems = {p.key.removeprefix("message_board/"): p.reason for p in real_board.doctor_messages()}
    for name, (_, reason) in BROKEN.items():
        assert reason in problems.pop(name), name
    assert problems == {}  # the README, the sub-folder and every real variant are fine


def test_unreadable_files_never_break_reads(real_board):
    for view in (lambda: real_board.read().messages, lambda: real_board.search("learning"),
                 lambda: real_board.inbox(all=True), lambda: real_board.claims(),
                 lambda: [real_board.digest()]):
        assert view() is not None
    assert real_board.digest().data["counts"]["unreadable"] == len(BROKEN)


def test_show_names_why_a_file_cannot_be_read(real_board):
    with pytest.raises(MessageFormatError, match="20260501-000001_agent-05_yaml.md cannot be read: .*not valid YAML"):
        real_board.show("20260501-000001_agent-05_yaml.md")


def test_a_fixed_file_is_read_again(real_board):
    name = "message_board/20260501-000004_agent-05_empty.md"
    assert any(p.key == name for p in real_board.doctor_messages())
    real_board.store.put(name, b"---\nagent: agent-05\ntype: question\n---\nnow fixed\n")
    assert real_board.show(name).body == "now fixed"
    assert "now fixed" in [m.body for m in real_board.read(all=True).messages]
    assert all(p.key != name for p in real_board.doctor_messages())


def test_dangling_refs_are_reported(space):
    put_raw(space.store, "20260425-143000_agent-02_q.md",
            "---\nagent: agent-02\ntype: question\nrefs: 20260101-000000_ghost_x.md\n---\nhello\n")
    assert [(p.key, p.reason) for p in space.doctor_messages()] == [
        ("message_board/20260425-143000_agent-02_q.md", "refs 20260101-000000_ghost_x.md, which is not on the board")
    ]


def test_filename_forms_and_order():
    assert parse_filename("20260425-143000_agent-01.md").topic == ""
    api = parse_filename("message_board/20260425-143000-042_agent-01.md")
    assert (api.ms, api.agent, api.topic) == (42, "agent-01", "")
    seq = parse_filename("20260425-143000_agent-01_plan_002.md")
    assert (seq.topic, seq.seq) == ("plan", 2)
    from datetime import datetime, timezone

    now = datetime(2026, 4, 25, 14, 30, tzinfo=timezone.utc)
    keys = [message_filename(now, "agent-01", "plan", n) for n in (1, 2, 3, 10)]
    assert keys == sorted(keys)  # the suffix keeps posting order in key order
    with pytest.raises(MessageFormatError, match="is not"):
        parse_filename("README.txt")


def test_mentions():
    assert mentions("hi @agent-01 and @ml-intern-3, not bob@agent-09.com nor @Agent-X; @agent-01 again") == (
        "agent-01", "ml-intern-3")
