"""The board commands end to end: output formats, one-line errors, and 8 processes posting at once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
from board_support import isolated_cache, make_space  # noqa: F401


@pytest.fixture(params=["direct", "gateway"])
def cli_space(request, tmp_path, clock, monkeypatch):
    """A local-folder space, used directly or through a gateway over it (the same commands, the same
    answers); COLLAB_SPACE and COLLAB_AGENT set for agent-01. Returns the folder."""
    path = tmp_path / "space"
    make_space(str(path), clock)
    url = str(path)
    if request.param == "gateway":
        from gateway_support import serve_folder

        gw = serve_folder(path)
        request.addfinalizer(gw.server.stop)
        url = gw.url
    monkeypatch.setenv("COLLAB_SPACE", url)
    monkeypatch.setenv("COLLAB_AGENT", "agent-01")
    return path


def ok(r):
    assert r.code == 0, r
    return r


def error(r, code: int = 1) -> tuple[str, str]:
    """The (error, hint) lines of a failed command; nothing else on stderr, nothing on stdout."""
    assert r.code == code, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), r.err
    assert r.out == ""
    return lines[0].removeprefix("error: "), lines[1].removeprefix("hint: ")


def test_post_from_every_source(run_cli, cli_space, tmp_path):
    r = ok(run_cli("post", "--type", "status-update", "--topic", "plan", "--body", "from the flag"))
    first = r.out.strip()
    assert first.endswith("_agent-01_plan.md") and "posted message_board/" in r.err
    body = tmp_path / "b.md"
    body.write_text("\ufeff# From a file\r\n\r\ntext\r\n", encoding="utf-8")
    ok(run_cli("post", "--type", "question", "--topic", "q", "--body-file", body, "--refs", first))
    r = ok(run_cli("post", "--type", "build-on", "--format", "json", stdin="from stdin\n"))
    posted = json.loads(r.out)
    assert posted["body"] == "from stdin" and posted["agent"] == "agent-01"
    r = ok(run_cli("read", "--all", "--format", "json"))
    msgs = {m["topic"]: m for m in json.loads(r.out)["messages"]}
    assert {t: m["body"] for t, m in msgs.items()} == {
        "plan": "from the flag", "q": "# From a file\n\ntext", "build-on": "from stdin"}
    assert msgs["q"]["refs"] == ["message_board/" + first]  # refs in one spelling: the full key
    assert set(msgs["plan"]) >= {"file", "agent", "type", "timestamp", "refs", "body"}


@pytest.mark.parametrize(("args", "stdin", "message", "hint"), [
    (["post", "--type", "agent", "--body", "x"], None, "unknown message type 'agent'", "use one of: status-update"),
    (["post", "--type", "question", "--body", "x", "--body-file", "-"], "y", "give the body once", "stdin"),
    (["post", "--type", "question"], "", "the message body is empty", "--body"),
    (["post", "--type", "question", "--body", "x", "--refs", "20250101-000000_x_y.md"], None,
     "refs: '20250101-000000_x_y.md' is not a message on the board", "collab read --all"),
    (["read", "--thread", "x.md", "--all"], None, "--thread shows one whole thread", "drop --all"),
    (["read", "--since", "yesterday"], None, "--since 'yesterday' is not a duration, a time or a message filename",
     "2h"),
    (["read", "--limit", "0"], None, "--limit must be at least 1, got 0", "--limit 20"),
    (["show", "20250101-000000_agent-01_x.md"], None, "no message '20250101-000000_agent-01_x.md' on the board",
     "collab read --all"),
    (["search", " "], None, "the search query is empty", "collab search"),
    (["claim", "x", "--for", "forever"], None, "invalid duration 'forever'", "4h"),
    (["release", "nothing"], None, "you (agent-01) hold no claim on 'nothing'", "collab claims"),
    (["read", "--agent", "Bad_Id"], None, "invalid agent id 'Bad_Id'", "--agent bad-id"),
])
def test_errors_are_one_line_with_a_hint(run_cli, cli_space, args, stdin, message, hint):
    got_message, got_hint = error(run_cli(*args, stdin=stdin))
    assert got_message.startswith(message) and hint in got_hint


def test_post_from_a_terminal_without_a_body(run_cli, cli_space, monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert error(run_cli("post", "--type", "question"))[0] == "no message body given"


def test_read_formats_and_cursor(run_cli, cli_space):
    ok(run_cli("post", "--type", "experiment-proposal", "--topic", "lora", "--body", "# LoRA\n\nr16"))
    r = ok(run_cli("read", "--agent", "agent-02"))
    assert "── " in r.out and "agent-01 · experiment-proposal · 2026-" in r.out and "# LoRA" in r.out
    r = ok(run_cli("read", "--agent", "agent-02"))
    assert r.out == "" and "no new messages" in r.err
    r = ok(run_cli("read", "--all", "--format", "md"))
    assert r.out.startswith("### ") and "*agent-01 · experiment-proposal · " in r.out
    r = ok(run_cli("read", "--type", "question", "--agent", "agent-03"))
    assert "filtered read" in r.err


def test_thread_show_search_inbox(run_cli, cli_space):
    root = ok(run_cli("post", "--type", "question", "--topic", "tok", "--body", "Which tokenizer?")).out.strip()
    reply = ok(run_cli("post", "--type", "status-update", "--topic", "re", "--refs", root,
                       "--body", "@agent-01 BPE", "--agent", "agent-02")).out.strip()
    r = ok(run_cli("read", "--thread", reply))
    lines = r.out.splitlines()
    assert lines[0].startswith(f"── {root}") and any(line.startswith(f"    ── {reply}") for line in lines)
    assert "    @agent-01 BPE" in lines  # the reply's body is indented under it
    tree = json.loads(ok(run_cli("read", "--thread", root, "--format", "json")).out)
    assert [(t["file"], t["depth"]) for t in tree] == [(root, 0), (reply, 1)]
    assert json.loads(ok(run_cli("show", reply, "--format", "json")).out)["refs"] == ["message_board/" + root]
    assert ok(run_cli("show", f"message_board/{reply}")).out.startswith(f"── {reply}")
    r = ok(run_cli("search", "tokenizer"))
    assert r.out.startswith(root) and "Which tokenizer?" in r.out
    assert "no message matches" in ok(run_cli("search", "zebra")).err
    assert [m["file"] for m in json.loads(ok(run_cli("inbox", "--format", "json")).out)] == [reply]
    assert ok(run_cli("inbox")).out.startswith(f"── {reply}")  # still there: looking consumes nothing
    assert json.loads(ok(run_cli("inbox", "--ack", reply, "--format", "json")).out) == {"acknowledged": [reply]}
    assert "inbox empty" in ok(run_cli("inbox")).err


def test_claims_commands(run_cli, cli_space):
    r = ok(run_cli("claim", "lora sweep", "--for", "2h", "--note", "ranks 4-64"))
    until = re.match(r"claimed 'lora sweep' until (\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)? UTC) \(", r.out)[1]
    msg, hint = error(run_cli("claim", "LoRA sweep", "--agent", "agent-02"))
    assert msg == f"'LoRA sweep' is claimed by agent-01 until {until}" and "--force" in hint
    r = ok(run_cli("claim", "lora sweep", "--force", "--agent", "agent-02"))
    assert f"contested: agent-01 holds it until {until}" in r.err
    r = ok(run_cli("claims"))
    assert r.out.splitlines()[0].split() == ["SCOPE", "AGENT", "STATUS", "EXPIRES", "/", "ENDED", "AGE"]
    assert "agent-01" in r.out.splitlines()[1] and "active" in r.out.splitlines()[1]
    assert "contested" in r.out.splitlines()[2]
    r = ok(run_cli("claim", "lora sweep", "--format", "json"))
    assert json.loads(r.out)["renewed"] is True
    assert ok(run_cli("release", "lora sweep")).out == "released 'lora sweep'\n"
    data = json.loads(ok(run_cli("claims", "--all", "--format", "json")).out)
    assert [(c["agent"], c["status"]) for c in data] == [("agent-02", "active"), ("agent-01", "released")]


def test_digest_and_doctor_commands(run_cli, cli_space):
    ok(run_cli("post", "--type", "status-update", "--body", "hello"))
    (cli_space / "message_board" / "20260425-150000_agent-09_bad.md").write_text("---\nagent: [x\n---\n")
    md = ok(run_cli("digest")).out
    assert md.startswith("# State of play: GSM8K") and "1 unreadable files (collab doctor)" in md
    data = json.loads(ok(run_cli("digest", "--format", "json")).out)
    assert data["counts"]["total"] == 1 and data["agent"] == "agent-01"
    r = run_cli("doctor")
    assert r.code == 1, r  # problems found: a script can gate on it
    assert r.out.startswith("message_board/20260425-150000_agent-09_bad.md: frontmatter is not valid YAML")
    assert "1 problem(s) found" in r.err
    r = run_cli("doctor", "--format", "json")
    assert r.code == 1 and json.loads(r.out)[0]["key"].endswith("_bad.md")
    (cli_space / "message_board" / "20260425-150000_agent-09_bad.md").unlink()
    assert "no problems found" in ok(run_cli("doctor")).err


_POSTER = textwrap.dedent("""
    import sys
    from collabspace.space import Space
    space = Space.open(sys.argv[1], agent=sys.argv[2])
    for i in range(50):
        space.post("status-update", f"{sys.argv[3]}-{i}", topic="burst")
""")


@pytest.mark.slow
def test_eight_processes_posting_50_each_all_land(run_cli, tmp_path, clock, isolated_cache):
    path = tmp_path / "space"
    make_space(str(path), clock)
    env = {**os.environ, "COLLAB_CACHE_DIR": str(isolated_cache)}
    # Two processes per agent id: same agent, same topic, same seconds -> create-only collisions.
    procs = [subprocess.Popen([sys.executable, "-c", _POSTER, str(path), f"agent-0{p % 4}", f"p{p}"], env=env,
                              stderr=subprocess.PIPE, text=True) for p in range(8)]
    errors = [p.communicate(timeout=240)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    files = list((path / "message_board").glob("*.md"))
    assert len(files) == 400
    r = ok(run_cli("read", "--all", "--format", "json", "--space", path))
    msgs = json.loads(r.out)["messages"]
    assert len(msgs) == 400
    assert sorted(m["body"] for m in msgs) == sorted(f"p{p}-{i}" for p in range(8) for i in range(50))
    for p in range(8):  # each process's posts come back in its posting order
        mine = [int(m["body"].split("-")[1]) for m in msgs if m["body"].startswith(f"p{p}-")]
        assert mine == sorted(mine)
