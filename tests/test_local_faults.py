"""The local cache heals itself (issue 11, break 4 / property 3).

A corrupt, truncated or zeroed index or object cache, a damaged cached object, or a cache folder
that cannot be written (not a folder, full) used to make every ``read``, ``digest`` and
``leaderboard`` exit 70. Now each command works and says so in exactly one line on stderr. The
cursors are state, not cache: an unreadable cursor file is kept aside (renamed), never deleted.
And a post whose store write succeeded is never reported as failed because of the local index.
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from collabspace.domain.setup.presets import preset_spec
from collabspace.local.dirs import cache_file, state_file
from collabspace.space import Space

pytestmark = pytest.mark.slow  # real browsers or real processes: CI runs them, the quick lane skips them

COMMANDS = (["read", "--all", "--limit", "5"], ["digest"], ["leaderboard"])


@pytest.fixture
def env(tmp_path):
    """A folder space with a message and a result, read once (so every local file exists)."""
    url = str(tmp_path / "space")
    env = {**os.environ, "COLLAB_CACHE_DIR": str(tmp_path / "cache"), "COLLAB_STATE_DIR": str(tmp_path / "state"),
           "COLLAB_SPACE": url, "COLLAB_AGENT": "agent-01"}
    env.pop("COLLAB_DEBUG", None)
    Space.init(url, preset_spec("gsm8k"))
    other = Space.open(url, agent="agent-02")
    other.post("status-update", "hello from agent-02", topic="hi")
    other.submit("baseline", score=0.5, name="base")
    for args in (["read"], ["leaderboard"], ["digest"]):
        assert collab(env, *args).returncode == 0
    return env


def collab(env: dict[str, str], *args: str, limit_file_size: int | None = None) -> subprocess.CompletedProcess:
    """Run the real ``collab`` in its own process."""
    def limits() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    return subprocess.run([sys.executable, "-m", "collabspace", *args], env=env, capture_output=True, text=True,
                          timeout=120, preexec_fn=limits if limit_file_size else None)


def local(env: dict[str, str], kind: str) -> Path:
    os.environ["COLLAB_CACHE_DIR"], os.environ["COLLAB_STATE_DIR"] = env["COLLAB_CACHE_DIR"], env["COLLAB_STATE_DIR"]
    return (state_file if kind == "cursors" else cache_file)(env["COLLAB_SPACE"], kind)


def wipe_sidecars(path: Path) -> None:
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "garbage":
        path.write_bytes(b"this is not a database " * 200)
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif how == "zeroed":
        path.write_bytes(bytes(len(data)))
    wipe_sidecars(path)


def checkpoint(path: Path) -> None:
    """Fold the WAL into the file, so that damaging the file damages what the next process reads."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def stderr_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def works_saying_one_line(env, result, word: str) -> str:
    assert result.returncode == 0, result.stderr
    said = [line for line in stderr_lines(result) if line.startswith(("notice:", "warning:", "error:"))]
    assert len(said) == 1 and said[0].startswith(word), result.stderr
    return said[0]


@pytest.mark.parametrize("kind", ["board", "objects"])
@pytest.mark.parametrize("how", ["garbage", "truncated", "zeroed"])
def test_a_damaged_cache_is_rebuilt_with_one_line_of_notice(env, kind, how):
    path = local(env, kind)
    checkpoint(path)
    damage(path, how)
    results = [collab(env, *args) for args in COMMANDS]
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    said = [line for r in results for line in stderr_lines(r) if line.startswith(("notice:", "warning:", "error:"))]
    if kind == "objects" and how == "truncated":  # SQLite may still read what is left: then nothing to say
        assert len(said) <= 1
    else:
        assert len(said) == 1 and said[0].startswith("notice:") and "rebuilt" in said[0] and str(path) in said[0]
    assert "hello from agent-02" in results[0].stdout and "baseline" in results[2].stdout


def test_a_damaged_object_in_the_cache_is_fetched_again(env):
    path = local(env, "objects")
    db = sqlite3.connect(path)
    [(key, data)] = db.execute("SELECT key, data FROM blobs WHERE key LIKE '%base_agent-02.json'").fetchall()
    db.execute("UPDATE blobs SET data = ? WHERE key = ?", (bytes(len(data)), key))  # same size, zeroed
    db.commit()
    db.close()
    result = collab(env, "leaderboard")
    works_saying_one_line(env, result, "notice:")
    assert "baseline" in result.stdout and "damaged" in result.stderr
    assert collab(env, "leaderboard").stderr.strip() == ""


def test_a_cache_folder_that_cannot_be_written_still_lets_every_command_work(env, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    env = {**env, "COLLAB_CACHE_DIR": str(blocked / "cache")}
    for args in [*COMMANDS, ["post", "--type", "status-update", "--body", "still posting"]]:
        line = works_saying_one_line(env, collab(env, *args), "warning:")
        assert "cannot be written" in line and "slower" in line
    assert "still posting" in collab(env, "read", "--all").stdout


def test_a_full_disk_still_lets_every_command_work(env, tmp_path):
    """A full disk: writes past 16 KB fail (RLIMIT_FSIZE), so no cache can be built nor cursor saved.
    Each folder says it in one line (the cache folder; the state folder, whose cursors are state)."""
    env = {**env, "COLLAB_CACHE_DIR": str(tmp_path / "fresh-cache")}
    for args in [*COMMANDS, ["post", "--type", "status-update", "--body", "posted on a full disk"]]:
        result = collab(env, *args, limit_file_size=16_384)
        assert result.returncode == 0, result.stderr
        said = [line for line in stderr_lines(result) if line.startswith(("notice:", "warning:", "error:"))]
        assert 1 <= len(said) <= 2 and all(line.startswith("warning:") for line in said), result.stderr
        assert sum("cache folder" in line for line in said) == 1, result.stderr
    assert "baseline" in collab(env, "leaderboard", limit_file_size=16_384).stdout
    posts = [p for p in (Path(env["COLLAB_SPACE"]) / "message_board").iterdir() if "posted on a full" in p.read_text()]
    assert len(posts) == 1


def test_unreadable_cursors_are_kept_aside_not_deleted(env):
    path = local(env, "cursors")
    checkpoint(path)
    damage(path, "garbage")
    original = path.read_bytes()
    result = collab(env, "read")
    line = works_saying_one_line(env, result, "warning:")
    aside = [p for p in path.parent.iterdir() if p.name.startswith(path.name + ".unreadable-")]
    assert len(aside) == 1 and aside[0].read_bytes() == original and aside[0].name in line
    assert collab(env, "read").stderr.strip() in ("no new messages", "")


def test_a_state_folder_that_cannot_be_written_still_lets_reads_work(env, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    env = {**env, "COLLAB_STATE_DIR": str(blocked / "state")}
    result = collab(env, "read")
    line = works_saying_one_line(env, result, "warning:")
    assert "read cursors" in line and "hello from agent-02" in result.stdout


def test_a_post_stored_is_never_reported_failed_because_of_the_index(run_cli, tmp_path, monkeypatch):
    """The store write succeeded, then the index failed: the post is reported done, and stored once."""
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    from collabspace.local import index as index_module

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(index_module.BoardIndex, "_insert", staticmethod(broken))
    result = run_cli("post", "--type", "status-update", "--body", "exactly once", "--space", url,
                     "--agent", "agent-01")
    assert result.code == 0, result
    monkeypatch.undo()
    stored = [p for p in (Path(url) / "message_board").iterdir() if "exactly once" in p.read_text()]
    assert len(stored) == 1 and stored[0].name in result.out


def test_an_index_corrupted_while_in_use_is_rebuilt_by_the_next_sync(tmp_path):
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    reader = Space.open(url, agent="agent-01")
    Space.open(url, agent="agent-02").post("status-update", "one", topic="a")
    assert [m.body for m in reader.read().messages] == ["one"]
    index = reader.board.index
    checkpoint(index.path)
    damage(index.path, "garbage")  # under an open connection
    Space.open(url, agent="agent-02").post("status-update", "two", topic="b")
    assert [m.body for m in reader.read(all=True).messages] == ["one", "two"]


def test_a_damaged_page_anywhere_in_the_index_is_healed(tmp_path):
    """One page of the index overwritten, wherever it is (messages, refs, the full-text index...):
    reads and searches still give the whole board."""
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    writer = Space.open(url, agent="agent-02")
    for i in range(100):
        writer.post("status-update", f"message {i} about zebra{i} " + "lorem ipsum " * 30, topic=f"t{i}")
    path = Space.open(url, agent="agent-01").board.index.path
    assert len(Space.open(url, agent="agent-01").read(all=True).messages) == 100
    checkpoint(path)
    good = path.read_bytes()
    pages = len(good) // 4096
    for page in range(1, pages, 5):
        damaged = bytearray(good)
        damaged[page * 4096:(page + 1) * 4096] = b"\xff" * 4096
        path.write_bytes(bytes(damaged))
        wipe_sidecars(path)
        reader = Space.open(url, agent="agent-01")
        assert len(reader.read(all=True).messages) == 100, page
        assert [m.body.split()[1] for m in reader.search("zebra77")] == ["77"], page
        reader.board.index.close()
        path.write_bytes(good)
        wipe_sidecars(path)
