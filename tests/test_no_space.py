"""Issue 13, item 4: reading where there is no space says so, with the absolute path, and never invites a second space."""

from __future__ import annotations

import pytest

from collabspace import NotFound, Space
from collabspace.domain.setup.presets import preset_spec


def failed(r) -> tuple[str, str]:
    assert r.code == 1, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), r.err
    assert r.out == ""
    return lines[0].removeprefix("error: "), lines[1].removeprefix("hint: ")


READS = [("read",), ("read", "--all"), ("read", "--since", "2h"), ("search", "lora"), ("inbox",), ("claims",),
         ("digest",), ("leaderboard",), ("ls",), ("artifacts",), ("show", "20260425-143000_agent-01_x.md"),
         ("agents",), ("doctor",)]


@pytest.mark.parametrize("command", READS, ids=lambda c: " ".join(c))
def test_reads_of_an_empty_folder_say_there_is_no_space(run_cli, tmp_path, command):
    empty = tmp_path / "empty"
    empty.mkdir()
    message, hint = failed(run_cli(*command, "--space", empty, env={"COLLAB_AGENT": "agent-01"}))
    assert message == f"no collab space at {empty.resolve()} (no collab.toml)"
    assert "no new messages" not in message and "--space / COLLAB_SPACE" in hint


def test_a_missing_folder_names_the_absolute_path(run_cli, tmp_path):
    message, _ = failed(run_cli("read", "--space", tmp_path / "nope", "--agent", "agent-01"))
    assert message == f"no collab space at {(tmp_path / 'nope').resolve()} (no such folder)"


def test_a_relative_space_that_broke_after_cd_never_invites_a_second_space(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli("init", "./space").code == 0
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    env = {"COLLAB_SPACE": "./space", "COLLAB_AGENT": "agent-01"}
    for command in (("read",), ("post", "--type", "status-update", "--body", "hi"), ("join",)):
        message, hint = failed(run_cli(*command, env=env))
        assert message == f"no collab space at {tmp_path / 'work' / 'space'} (no such folder)"
        assert "relative to the current directory" in hint and str(tmp_path / "work") in hint
        assert "collab init" not in hint
    assert not (tmp_path / "work" / "space").exists()  # nothing was made there
    monkeypatch.chdir(tmp_path)
    assert run_cli("read", env=env).code == 0  # back where it was made: it works


def test_a_typo_in_an_s3_prefix_is_no_space_not_an_empty_board(run_cli, s3_bucket):
    Space.init(f"s3://{s3_bucket}/gsm8k", preset_spec("gsm8k"))
    assert run_cli("read", "--space", f"s3://{s3_bucket}/gsm8k", "--agent", "agent-01").code == 0
    message, hint = failed(run_cli("read", "--space", f"s3://{s3_bucket}/gsm8K", "--agent", "agent-01"))
    assert message == f"no collab space at s3://{s3_bucket}/gsm8K (no collab.toml)"
    assert "typo" in hint


def test_the_api_raises_for_every_read_of_no_space(memory_url):
    nothing = Space.open(memory_url, agent="agent-01")
    for read in (nothing.read, lambda: nothing.read(all=True), nothing.inbox, nothing.claims, nothing.ls,
                 nothing.artifacts, lambda: nothing.search("x"), lambda: nothing.show("20260425-143000_a_x.md")):
        with pytest.raises(NotFound, match=f"no collab space at {memory_url}"):
            read()


def test_a_real_space_with_an_empty_board_reads_fine(run_cli, tmp_path):
    assert run_cli("init", tmp_path / "s").code == 0
    r = run_cli("read", "--space", tmp_path / "s", "--agent", "agent-01")
    assert r.code == 0 and "no new messages" in r.err
