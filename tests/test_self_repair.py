"""The leaderboard self-repairs (issue 11, break 8 / property 7).

A submit killed between storing its result and regenerating ``LEADERBOARD.md`` left the result off
the table until another agent happened to submit. Now the next reader that refreshes the space (the
digest, the dashboard's refresh, doctor) sees the table's ``results=N`` marker (or the twin's count)
behind the results listing and regenerates both; a reader writes nothing when they are current.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from collabspace.domain import paths
from collabspace.domain.results import leaderboard as standings
from collabspace.domain.setup.presets import preset_spec
from collabspace.errors import StoreError
from collabspace.space import Space
from collabspace.storage import open_store
from collabspace.storage.counting import CountingStore

KILLED_SUBMIT = textwrap.dedent("""
    import os, signal, sys
    from collabspace.space import Space

    def killed(self):  # the process dies between the result write and the regeneration
        os.kill(os.getpid(), signal.SIGKILL)

    Space.write_leaderboard = killed
    Space.open(sys.argv[1], agent="agent-02").submit("killed mid-submit", score=0.9, name="killed")
""")


@pytest.fixture
def url(tmp_path):
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    Space.open(url, agent="agent-01").submit("first", score=0.4, name="first")
    return url


def killed_submit(url: str) -> None:
    child = subprocess.run([sys.executable, "-c", KILLED_SUBMIT, url], env=os.environ.copy(), capture_output=True,
                           timeout=120)
    assert child.returncode == -9, child.stderr  # SIGKILL
    store = open_store(url)
    assert store.exists("artifacts/results/killed_agent-02.json")
    assert standings.published_count(store) == 1  # the result is stored, the table left behind
    assert "killed mid-submit" not in store.get(paths.LEADERBOARD).decode()


def published(url: str) -> tuple[int | None, str, str]:
    store = open_store(url)
    return (standings.published_count(store), store.get(paths.LEADERBOARD).decode(),
            store.get(paths.LEADERBOARD_JSON).decode())


@pytest.mark.parametrize("read", ["digest", "refresh", "doctor"])
def test_a_killed_submit_is_repaired_by_the_next_read(url, read):
    killed_submit(url)
    reader = Space.open(url)
    {"digest": lambda: Space.open(url, agent="agent-03").digest(), "refresh": reader.refresh,
     "doctor": reader.doctor}[read]()
    count, table, twin = published(url)
    assert count == 2 and "killed mid-submit" in table and "killed mid-submit" in twin


def test_the_cli_digest_repairs_it(url, run_cli):
    killed_submit(url)
    result = run_cli("digest", "--space", url, "--agent", "agent-03")
    assert result.code == 0, result
    assert published(url)[0] == 2


def test_a_twin_left_behind_is_repaired_too(url):
    store = open_store(url)
    old_twin = store.get(paths.LEADERBOARD_JSON)
    Space.open(url, agent="agent-02").submit("second", score=0.5, name="second")
    store.put(paths.LEADERBOARD_JSON, old_twin)  # the table is current, its twin is not
    Space.open(url).refresh()
    assert '"results": 2,' in store.get(paths.LEADERBOARD_JSON).decode()


def test_a_result_written_directly_is_repaired(url):
    """What a killed submit leaves, written by hand: the result file and nothing else."""
    open_store(url).put("artifacts/results/by-hand_agent-05.json",
                        b'{"agent_id": "agent-05", "experiment": "by hand", "score": 0.7}', create_only=True)
    Space.open(url).refresh()
    count, table, _ = published(url)
    assert count == 2 and "by hand" in table


def test_no_write_when_current_and_no_request_while_nothing_changes(url):
    store = CountingStore(open_store(url))
    reader = Space(store)
    reader.spec  # noqa: B018
    reader.refresh()
    assert store.counts["put"] == 0  # current: nothing written
    store.reset()
    for _ in range(5):  # a dashboard refreshing: nothing changed, nothing checked again
        reader.refresh()
    assert store.counts["put"] == 0 and store.counts["head"] == 0 and store.counts["get"] == 0
    open_store(url).put("artifacts/results/by-hand_agent-05.json",
                        b'{"agent_id": "agent-05", "experiment": "by hand", "score": 0.7}', create_only=True)
    reader.refresh()
    assert store.counts["put"] == 2  # the twin and the table, once
    store.reset()
    reader.refresh()
    Space(CountingStore(open_store(url))).refresh()
    assert store.counts["put"] == 0


class ReadOnly(CountingStore):
    def _put(self, key, data, create_only):
        raise StoreError(f"access denied to {key!r}", hint="check your credentials")


def test_a_reader_that_cannot_write_still_reads(url, caplog):
    from collabspace.local import heal

    heal._said.clear()  # each line is said once per process
    killed_submit(url)
    reader = Space(ReadOnly(open_store(url)))
    snap = reader.refresh()
    assert len(snap.leaderboard.result_keys) == 2  # the view is right, the stored file stays behind
    assert [r for r in caplog.records if "cannot rewrite" in r.getMessage()]
    assert published(url)[0] == 1


def test_a_failed_regeneration_never_makes_a_stored_submit_look_failed(memory_url, clock, monkeypatch):
    """A store error while publishing LEADERBOARD.md after the result is stored: the submit succeeds (a user
    would otherwise retry it), and the next reader repairs the table."""
    from collabspace.domain.setup.presets import preset_spec
    from collabspace.errors import StoreError
    from collabspace.space import Space

    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    space = Space.open(memory_url, agent="agent-01", clock=clock)

    def broken(self):
        raise StoreError("connection reset while writing LEADERBOARD.md")

    monkeypatch.setattr(Space, "write_leaderboard", broken)
    done = space.submit("stored anyway", score=0.4)
    assert done.key in {i.key for i in space.store.list("artifacts/results/")}
    monkeypatch.undo()
    reader = Space.open(memory_url, agent="agent-02", clock=clock)
    reader.digest()  # a read that sees the table behind the results repairs it
    assert "stored anyway" in reader.cat("LEADERBOARD.md").decode()
