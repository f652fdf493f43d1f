"""Text from the store never drives the reader's terminal (issue 11, break 9 / property 8).

Anyone who can write the store writes message bodies, topics, notes, names. Printed raw, an ESC
sequence in them retitles the window (OSC 0), plants a hyperlink (OSC 8), clears the screen (CSI 2J),
or hides a line behind a carriage return. Every human output of the CLI strips them (tab and newline
stay); JSON output stays exact JSON, with the same characters escaped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from collabspace.cli import cli
from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space
from collabspace.storage import open_store

pytestmark = pytest.mark.slow  # real browsers or real processes: CI runs them, the quick lane skips them

OSC_TITLE = "\x1b]0;owned by agent-02\x07"
OSC_LINK = "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
HOSTILE = (f"before{OSC_TITLE} plain\n{OSC_LINK}\n\x1b[2J\x1b[31mred\x1b[0m\ttab\n"
           "hidden\rshown\n\x9b2J\x9d0;c1 title\x9c\x07\x08\x00\x7f\x85 end")
#: What survives: every printable character, tabs and newlines.
SURVIVES = ["before", " plain", "click me", "red\ttab", "hidden", "shown", " end"]


def _bad(text: str) -> list[str]:
    return sorted({c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f})


@pytest.fixture
def space_url(tmp_path) -> str:
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    return url


def _collab(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "collabspace", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLLAB_AGENT": "agent-01", **(env or {})}, stdin=subprocess.DEVNULL)


def _hand_written(url: str, body: str, *, agent: str = "agent-02", topic: str = "note", **extra: str) -> str:
    """A message put straight into the store (what `hf buckets cp` or a raw PUT can write)."""
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    name = f"message_board/{when:%Y%m%d-%H%M%S}_{agent}_{topic}.md"
    front = "".join(f"{k}: {json.dumps(v)}\n" for k, v in extra.items())
    text = f"---\nagent: {agent}\ntype: status-update\ntimestamp: {when:%Y-%m-%dT%H:%M:%SZ}\n{front}---\n\n{body}\n"
    open_store(url).put(name, text.encode(), create_only=True)
    return name


def test_terminal_text_strips_sequences_and_controls():
    from collabspace.cli.app import terminal_text

    out = terminal_text(HOSTILE)
    assert _bad(out) == [] and "\x1b" not in out and "hiddenshown" in out
    for part in SURVIVES:
        assert part in out, (part, out)
    assert "owned by" not in out and "evil.example" not in out and "c1 title" not in out  # payloads go too
    assert terminal_text("plain ünïcödé 中文 — fine\n\ttab") == "plain ünïcödé 中文 — fine\n\ttab"
    # an unterminated string sequence ends at the line's end: it cannot swallow the rest of a listing
    assert terminal_text("row 1 \x1b]0;no end\nrow 2\nrow 3") == "row 1 \nrow 2\nrow 3"


def test_collab_read_prints_no_escape_sequences(space_url):
    """`collab read` printed an OSC sequence in a body raw (break 9); now every human format strips it."""
    name = _hand_written(space_url, HOSTILE)
    base = ["--space", space_url]
    for args in (["read", "--all"], ["read", "--peek"], ["read", "--all", "--format", "md"],
                 ["show", name.removeprefix("message_board/")], ["search", "plain"], ["inbox"], ["digest"]):
        out = _collab(*args, *base)
        assert out.returncode == 0, (args, out.stderr)
        assert _bad(out.stdout) == [] and _bad(out.stderr) == [], (args, _bad(out.stdout), _bad(out.stderr))
        if args[0] in ("read", "show"):
            for part in SURVIVES:
                assert part in out.stdout, (args, part, out.stdout)


def test_json_output_stays_exact_and_terminal_safe(space_url):
    _hand_written(space_url, HOSTILE)
    out = _collab("read", "--all", "--format", "json", "--space", space_url)
    assert out.returncode == 0, out.stderr
    assert _bad(out.stdout) == []  # C0 escaped by JSON itself, DEL and C1 as \u007f, \u0085...
    [message] = json.loads(out.stdout)["messages"]
    assert OSC_TITLE in message["body"] and "\x9b2J" in message["body"]  # the value itself is exact


def test_stored_names_and_notes_in_other_listings(space_url):
    """Fields other than the body (topic, claim note and scope, experiment names) go through the same filter."""
    space = Space.open(space_url, agent="agent-02")
    space.claim("lora\x1b]0;x\x07 sweep", duration="2h", note="mine \x1b[8mhidden\x1b[0m note")
    space.submit("exp \x1b]0;title\x07 one", score=0.5)
    base = ["--space", space_url]
    for args in (["claims"], ["claims", "--all"], ["leaderboard"], ["leaderboard", "--format", "md"],
                 ["read", "--all"], ["digest"], ["agents"]):
        out = _collab(*args, *base)
        assert _bad(out.stdout) == [] and _bad(out.stderr) == [], (args, out.stdout, out.stderr)


def test_in_process_runner_output_is_clean_and_stdout_restored(space_url):
    _hand_written(space_url, HOSTILE)
    before = sys.stdout
    result = CliRunner().invoke(cli, ["read", "--all", "--space", space_url, "--agent", "agent-01"])
    assert result.exit_code == 0, result.output
    assert _bad(result.output) == [] and "click me" in result.output
    assert sys.stdout is before


def test_error_lines_carry_no_escape_sequences(tmp_path):
    """`error:` and `hint:` lines can quote stored or given text (a key, an address): filtered the same way."""
    out = _collab("read", "--all", "--space", str(tmp_path / "no-space\x1b]0;owned\x07\x1b[2J"))
    assert out.returncode == 1 and out.stderr.startswith("error: ")
    assert _bad(out.stderr) == [] and "no-space" in out.stderr


def test_binary_output_stays_byte_exact(space_url, tmp_path):
    """`collab cat` writes the stored bytes as they are (a file, not text for a terminal): not filtered."""
    data = bytes(range(256)) * 4 + b"\x1b]0;title\x07"
    blob = tmp_path / "blob.dat"
    blob.write_bytes(data)
    Space.open(space_url, agent="agent-01").push(str(blob), kind="data")
    out = subprocess.run([sys.executable, "-m", "collabspace", "cat", "artifacts/data/blob_agent-01.dat",
                          "--space", space_url], capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data
