"""The derived leaderboard: ranking, baselines, best per agent, tracks, and concurrent submitters."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collabspace.domain.results import leaderboard as standings
from collabspace.domain import paths
from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import spec_from_dict
from collabspace.errors import InvalidInput
from collabspace.space import Space
from collabspace.storage import ObjectInfo, Store, open_store

#: Parameter Golf refuses a result that does not give its limited fields.
PG = ["artifact_size_bytes=15000000", "train_time_seconds=500"]


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The body rows of the table under ``heading``, as lists of cells."""
    section = markdown.split(heading + "\n", 1)[1].split("\n\n#", 1)[0]
    lines = [line for line in section.strip().splitlines() if line.startswith("|")][2:]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]


def test_lower_is_better_with_baseline_and_best_per_agent(memory_url, clock):
    Space.init(memory_url, preset_spec("parameter-golf"), clock=clock)
    a1 = Space.open(memory_url, agent="agent-01", clock=clock)
    a2 = Space.open(memory_url, agent="agent-02", clock=clock)
    a1.submit("baseline repro", score=1.2300, model="gpt-9L", fields=PG)
    clock.advance(minutes=5)
    a2.submit("spectral init", score=1.1500, fields=PG)
    clock.advance(minutes=5)
    a1.submit("int6 quant", score=1.1200, fields=["artifact_size_bytes=15900000", "train_time_seconds=500"])
    md = a1.cat(paths.LEADERBOARD).decode()
    rows = table_rows(md, "## All results")
    assert [r[:3] for r in rows] == [
        ["1", "agent-01", "1.12"], ["2", "agent-02", "1.15"], ["-", "baseline", "1.2244"], ["3", "agent-01", "1.23"]]
    assert rows[0][7] == "[int6-quant_agent-01.json](artifacts/results/int6-quant_agent-01.json)"
    assert rows[0][6] == "2026-04-25 14:40" and rows[0][5] == "self-reported"
    best = table_rows(md, "## Best per agent")
    assert [r[:4] for r in best] == [["1", "agent-01", "1.12", "int6 quant"], ["2", "agent-02", "1.15", "spectral init"]]
    assert "Metric: **val_bpb** (lower is better)" in md
    assert a1.generated_files()[paths.LEADERBOARD] == md


def test_ties_rank_the_earlier_result_first(gsm8k_space, clock):
    gsm8k_space.submit("later name but first", score=0.5, name="zzz")
    clock.advance(minutes=1)
    gsm8k_space.submit("second", score=0.5, name="aaa")
    assert [r.file for r in gsm8k_space.leaderboard().top()] == [
        "artifacts/results/zzz_agent-01.json", "artifacts/results/aaa_agent-01.json"]


def test_ties_within_one_minute_rank_by_exact_submission_time(gsm8k_space, clock):
    clock.advance(seconds=10)
    gsm8k_space.submit("later name but first", score=0.5, name="zzz")
    clock.advance(seconds=30)  # the same minute: the table's dates cannot tell them apart
    gsm8k_space.submit("second", score=0.5, name="aaa")
    board = gsm8k_space.leaderboard()
    assert [r.file for r in board.top()] == ["artifacts/results/zzz_agent-01.json", "artifacts/results/aaa_agent-01.json"]
    assert [r.time for r in board.top()] == ["2026-04-25T14:30:10+00:00", "2026-04-25T14:30:40+00:00"]
    md = gsm8k_space.cat(paths.LEADERBOARD).decode()
    assert [r[3] for r in table_rows(md, "## All results")][:2] == ["later name but first", "second"]
    assert [p["file"] for p in board.to_dict()["tracks"][0]["best_line"]] == ["artifacts/results/zzz_agent-01.json"]


def gold(n: int) -> bytes:
    """GSM8K predictions with the first ``n`` answers right (a verified score of n/1319)."""
    lines = (Path(__file__).resolve().parents[1] / "src/collabspace/scorers/data/gsm8k_test.jsonl").read_text().splitlines()
    return "\n".join(json.dumps({"index": i, "prediction": json.loads(x)["answer"]}) for i, x in enumerate(lines[:n])).encode()


def test_one_precision_rule_on_every_table(gsm8k_space, clock, run_cli):
    gsm8k_space.submit("100 gold answers", predictions=gold(100), name="gold")  # 100/1319 = 0.0758150...
    gsm8k_space.submit("a long self-reported number", score=0.016679302501895376, name="long")
    texts = ["0.075815", "0.0227", "0.016679"]  # 100 gold answers, the baseline, the long number
    assert [r[2] for r in table_rows(gsm8k_space.cat(paths.LEADERBOARD).decode(), "## All results")] == texts
    human = run_cli("leaderboard", env={"COLLAB_SPACE": gsm8k_space.url}).out
    assert "0.075815" in human and "0.016679 " in human and "0.0166793" not in human
    board = gsm8k_space.leaderboard()
    assert [r.score_text for r in board.rows] == [r["score_text"] for r in board.to_dict()["rows"]] == texts
    assert [standings.score_text(v) for v in (1.2244, 15_900_000, 0.999996, 0.0, -0.25)] == [
        "1.2244", "15900000", "1", "0", "-0.25"]


def test_the_headline_is_the_best_verified_result(memory_url, clock):
    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    a1, a2, a3, a4 = (Space.open(memory_url, agent=f"agent-0{i}", clock=clock) for i in range(1, 5))
    a2.submit("self-reported, ranked first", score=0.848, name="selfrep")
    board = a1.leaderboard()
    assert (board.headline.file, board.headline.status) == ("artifacts/results/selfrep_agent-02.json", "self-reported")
    clock.advance(minutes=1)
    a1.submit("100 gold answers", predictions=gold(100), name="gold")
    leaky = a4.submit("leaky", score=0.95, name="leaky")
    a4.invalidate(leaky.key, "trained on the test split")
    a3.submit("200 gold answers on the leaky prompts", predictions=gold(200), name="flagged", refs=[leaky.key])
    board = a1.leaderboard()
    assert [(r.file.rsplit("/", 1)[-1], r.status, r.verified) for r in board.top()] == [
        ("selfrep_agent-02.json", "self-reported", False),
        ("flagged_agent-03.json", "verified", False),  # flagged: never counted as verified
        ("gold_agent-01.json", "verified", True)]
    assert board.headline.file == "artifacts/results/gold_agent-01.json"
    data = board.to_dict()
    assert data["headline"] == board.headline.to_dict() == data["tracks"][0]["headline"]
    assert data["headline"]["score_text"] == "0.075815" and data["headline"]["verified"] is True
    md = a1.cat(paths.LEADERBOARD).decode()
    assert "Best: **0.075815** by agent-01, verified (100 gold answers)." in md
    # without a scorer there is nothing to verify: the best result that builds on nothing invalid
    pg = memory_url + "-pg"
    Space.init(pg, preset_spec("parameter-golf"), clock=clock)
    b = Space.open(pg, agent="agent-01", clock=clock)
    bad = b.submit("over the size limit", score=1.0, name="big", fields=["artifact_size_bytes=20000000", "train_time_seconds=500"])
    b.submit("builds on the big one", score=1.05, name="child", refs=[bad.key], fields=PG)
    b.submit("honest", score=1.2, name="honest", fields=PG)
    assert b.leaderboard().headline.experiment == "honest"


class RecordingStore(Store):
    """A memory store that records the keys written, in order."""

    def __init__(self, inner: Store) -> None:
        self.inner, self.url, self.writes = inner, inner.url, []

    def _get(self, key: str) -> bytes:
        return self.inner.get(key)

    def _put(self, key: str, data: bytes, create_only: bool) -> None:
        self.writes.append(key)
        self.inner.put(key, data, create_only=create_only)

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        return iter(list(self.inner.list(prefix, start_after=start_after)))

    def _head(self, key: str) -> ObjectInfo:
        return self.inner.head(key)

    def _delete(self, key: str) -> None:
        self.inner.delete(key)


def test_the_twin_is_written_first_and_only_when_it_changes(gsm8k_space):
    gsm8k_space.submit("one", score=0.1)
    twin = json.loads(gsm8k_space.cat(paths.LEADERBOARD_JSON))
    board = gsm8k_space.leaderboard()
    assert twin == board.to_dict() and twin["results"] == standings.published_count(gsm8k_space.store) == 1
    assert (twin["title"], twin["metric"], twin["direction"], twin["scorer"]) == ("GSM8K", "accuracy", "higher", "gsm8k")
    assert [p["experiment"] for p in twin["tracks"][0]["best_line"]] == ["one"]
    recording = RecordingStore(open_store(gsm8k_space.url))
    recording.put("artifacts/results/two_agent-02.json", b'{"agent_id": "agent-02", "experiment": "two", "score": 0.2}')
    recording.writes.clear()
    Space(recording).write_leaderboard()
    assert recording.writes == [paths.LEADERBOARD_JSON, paths.LEADERBOARD]
    recording.writes.clear()
    Space(recording).write_leaderboard()
    assert recording.writes == []  # nothing changed, nothing written
    recording.delete(paths.LEADERBOARD_JSON)  # a space of an older version: the table is current, no twin
    Space(recording).write_leaderboard()
    assert recording.writes == [paths.LEADERBOARD_JSON]
    assert json.loads(gsm8k_space.cat(paths.LEADERBOARD_JSON))["results"] == 2


TRACKED = {
    "task": {"id": "nanofold", "title": "nanoFold", "goal": "Fold."},
    "metric": {"name": "foldscore", "direction": "higher"},
    "tracks": [{"id": "limited"}, {"id": "unlimited"}],
    "baselines": [{"name": "ref", "score": 0.4, "track": "limited"}, {"name": "any", "score": 0.1}],
}


def test_one_table_per_track(memory_url, clock):
    Space.init(memory_url, spec_from_dict(TRACKED), clock=clock)
    space = Space.open(memory_url, agent="agent-01", clock=clock)
    space.submit("small", score=0.5, track="limited")
    space.submit("big", score=0.7, track="unlimited")
    with pytest.raises(InvalidInput, match="this space ranks by track; pass --track, one of limited, unlimited"):
        space.submit("none", score=0.7)
    with pytest.raises(InvalidInput, match="track 'huge' is not one of limited, unlimited"):
        space.submit("none", score=0.7, track="huge")
    space.store.put("artifacts/results/hand_agent-02.json", b'{"agent_id": "agent-02", "experiment": "h", "score": 0.9}')
    md = space.write_leaderboard().to_markdown()
    assert [r[1:3] for r in table_rows(md, "## Track `limited`")] == [
        ["agent-01", "0.5"], ["baseline", "0.4"], ["baseline", "0.1"]]
    assert [r[1:3] for r in table_rows(md, "## Track `unlimited`")] == [["agent-01", "0.7"], ["baseline", "0.1"]]
    assert [r[1:3] for r in table_rows(md, "## Results without a known track")] == [["agent-02", "0.9"], ["baseline", "0.1"]]
    assert md.count("### Best per agent") == 3
    board = space.leaderboard()
    assert [r.experiment for r in board.top(track="unlimited")] == ["big"]
    assert any("track None is not one of the spec's" in p.reason for p in board.problems)


def test_markdown_cells_are_escaped(gsm8k_space):
    gsm8k_space.submit("a | b\nc", score=0.3, name="pipes")
    rows = table_rows(gsm8k_space.cat(paths.LEADERBOARD).decode(), "## All results")
    assert rows[0][3] == r"a \| b c"


class LaggingStore(Store):
    """A real memory store whose results listing misses the newest result for its first ``lag`` calls.

    This is how an eventually consistent listing (or a slow replica) looks to a regenerating writer.
    """

    def __init__(self, inner: Store, lag: int) -> None:
        self.inner, self.lag, self.url = inner, lag, inner.url
        self.leaderboard_writes: list[str] = []

    def _get(self, key: str) -> bytes:
        return self.inner.get(key)

    def _put(self, key: str, data: bytes, create_only: bool) -> None:
        if key == paths.LEADERBOARD:
            self.leaderboard_writes.append(data.decode())
        self.inner.put(key, data, create_only=create_only)

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        infos = list(self.inner.list(prefix, start_after=start_after))
        if prefix == paths.RESULTS and self.lag > 0:
            self.lag -= 1
            newest = max((i for i in infos if i.key.endswith(".json")), key=lambda i: i.last_modified, default=None)
            infos = [i for i in infos if i is not newest]
        return iter(infos)

    def _head(self, key: str) -> ObjectInfo:
        return self.inner.head(key)

    def _delete(self, key: str) -> None:
        self.inner.delete(key)


def test_a_lagging_listing_never_shrinks_the_published_table(memory_url, clock):
    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    space = Space.open(memory_url, agent="agent-01", clock=clock)
    for i in range(3):
        clock.advance(seconds=1)
        space.submit(f"r{i}", score=0.1 * (i + 1))
    assert standings.published_count(space.store) == 3
    lagging = LaggingStore(open_store(memory_url), lag=2)
    board = Space(lagging, clock=clock).write_leaderboard()
    assert len(board.result_keys) == 3
    assert all("results=3" in text for text in lagging.leaderboard_writes)


def test_a_lagging_listing_never_shrinks_the_published_twin(memory_url, clock):
    """A writer stopped between the twin and the table: the twin alone says 3; a lagging listing says 2."""
    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    space = Space.open(memory_url, agent="agent-01", clock=clock)
    for i in range(3):
        clock.advance(seconds=1)
        space.submit(f"r{i}", score=0.1 * (i + 1))
    space.store.put(paths.LEADERBOARD, standings.build(space.spec, [], present=set()).to_markdown().encode())
    lagging = LaggingStore(open_store(memory_url), lag=2)
    board = Space(lagging, clock=clock).write_leaderboard()
    assert len(board.result_keys) == 3 and all("results=3" in text for text in lagging.leaderboard_writes)
    assert json.loads(space.cat(paths.LEADERBOARD_JSON))["results"] == 3


def test_a_stale_write_is_repaired_by_the_next_regeneration(gsm8k_space):
    gsm8k_space.submit("one", score=0.1)
    gsm8k_space.submit("two", score=0.2)
    stale = standings.build(gsm8k_space.spec, gsm8k_space.results()[:1], present=set()).to_markdown()
    gsm8k_space.store.put(paths.LEADERBOARD, stale.encode())  # a slow writer's table lands last
    gsm8k_space.submit("three", score=0.3)
    rows = table_rows(gsm8k_space.cat(paths.LEADERBOARD).decode(), "## All results")
    assert sorted(r[3] for r in rows if r[1] != "baseline") == ["one", "three", "two"]


SUBMITTER = """
import sys, time
from collabspace.cli import main
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
main(sys.argv[2:])
"""


def submit_all_at_once(space_url: str, n: int) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "COLLAB_SPACE": space_url}
    start = time.time() + 2.5  # every process has imported collabspace before this instant
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SUBMITTER, str(start), "submit", "--agent", f"agent-{i:02d}",
             "--experiment", f"run {i}", "--score", str(0.5 + i / 100)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i in range(n)
    ]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=120), *p.communicate()) for p in procs]


def seed(space: Space, n: int) -> None:
    """Earlier results (low scores) make every regeneration slower, widening the window for lost rows.

    With the convergence loop and the stale-table guard removed, 200 of them lose rows
    in about one run in three on this machine.
    """
    for i in range(n):
        doc = f'{{"agent_id": "agent-99", "experiment": "old {i}", "score": 0.001}}'
        space.store.put(f"artifacts/results/old{i}_agent-99.json", doc.encode())


def assert_all_rows(markdown: str, n: int, seeded: int) -> None:
    rows = [r for r in table_rows(markdown, "## All results") if r[1] not in ("baseline", "agent-99")]
    assert sorted(r[1] for r in rows) == [f"agent-{i:02d}" for i in range(n)]
    assert [r[0] for r in rows] == [str(i) for i in range(1, n + 1)]
    assert f"results={n + seeded}" in markdown


@pytest.mark.slow
def test_sixteen_processes_submitting_at_once_on_a_local_folder(tmp_path):
    space_dir = tmp_path / "space"
    seed(Space.init(str(space_dir), preset_spec("gsm8k")), 200)
    done = submit_all_at_once(str(space_dir), 16)
    assert [d.returncode for d in done] == [0] * 16, [d.stderr for d in done if d.returncode]
    assert_all_rows((space_dir / "LEADERBOARD.md").read_text(), 16, 200)


@pytest.mark.slow
def test_sixteen_processes_submitting_at_once_on_s3(s3_bucket):
    url = f"s3://{s3_bucket}/space"
    seed(Space.init(url, preset_spec("gsm8k")), 40)
    done = submit_all_at_once(url, 16)
    assert [d.returncode for d in done] == [0] * 16, [d.stderr for d in done if d.returncode]
    assert_all_rows(Space.open(url).cat(paths.LEADERBOARD).decode(), 16, 40)


def test_a_new_process_does_not_fetch_every_result_again(tmp_path):
    """Results are cached on the machine by etag: a fresh process (cleared in-process cache) fetches only new ones."""
    from collabspace import Space
    from collabspace.domain.setup.presets import preset_spec
    from collabspace.storage import open_store
    from collabspace.storage.counting import CountingStore

    url = str(tmp_path / "s")
    Space.init(url, preset_spec("gsm8k"))
    writer = Space.open(url, agent="agent-01")
    for i in range(12):
        writer.submit(f"run {i}", score=i / 100, name=f"run-{i}")

    def fresh_reader() -> tuple[Space, CountingStore]:
        store = CountingStore(open_store(url))
        space = Space(store)
        space.spec  # noqa: B018 -- read collab.toml before counting
        return space, store

    reader, store = fresh_reader()
    assert len(reader.leaderboard().result_keys) == 12
    reader, store = fresh_reader()
    store.reset()
    assert len(reader.leaderboard().result_keys) == 12
    assert store.counts["get"] == 0  # nothing fetched again
    # another machine (or an agent without the tool) adds a result by hand
    open_store(url).put("artifacts/results/run-12_agent-02.json",
                        b'{"agent_id": "agent-02", "experiment": "by hand", "score": 0.5}', create_only=True)
    reader, store = fresh_reader()
    store.reset()
    assert len(reader.leaderboard().result_keys) == 13
    assert store.counts["get"] == 1  # only the new result
