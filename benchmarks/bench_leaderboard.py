"""Leaderboard benchmark: the cold leaderboard of N results (default 10,000), on a local folder and on S3.

For each backend (a local folder, and S3 on moto's server on 127.0.0.1, in its own
process) it stores N self-reported result files (every seventh with a ref to the one
before), then measures requests (counted by :class:`CountingStore`: a listing is one
request per 1,000 keys), CPU seconds (``time.process_time``, this process only) and
wall seconds of ``Space(...).leaderboard()``:

* a new machine, the first ever (fresh cache and state folders; no packs yet: on S3
  it writes them);
* a new machine, the next one (S3: reads the small packs, writes large ones);
* a new machine, the third (S3: reads the large packs);
* a new process on a machine that has read it (the local object cache holds every
  result, keyed by etag and size; only the listings go to the store);
* the same process again (the read model reuses what it parsed);
* ``submit`` (which regenerates ``LEADERBOARD.md`` and ``leaderboard.json``) and a
  ``write_leaderboard()`` after it, in that warm process;
* last, a new machine after ``--tail`` (500) more results arrived, fewer than a pack
  holds (a space rarely holds a multiple of 1,000 results);

beside the baseline: list ``artifacts/results/`` and GET every result one by one
(what a template-only agent does). Target: at most N/1000 + 10 requests once packs exist.

    python benchmarks/bench_leaderboard.py
    python benchmarks/bench_leaderboard.py --results 2000 --backends local
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from support import fresh_agent_dirs, log, moto_server, table, timed

from collabspace.domain import paths
from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space
from collabspace.storage import Store, open_store
from collabspace.storage.counting import CountingStore


def seed(store: Store, n: int, *, name: str = "run") -> None:
    """``n`` result files (``{name}{i}_{agent}.json``) written straight to the store, 16 at a time."""
    rng = random.Random(4)
    scores = [round(rng.random(), 4) for _ in range(n)]

    def one(i: int) -> None:
        agent = f"agent-{i % 40:02d}"
        doc: dict[str, Any] = {
            "agent_id": agent, "timestamp": f"2026-04-{1 + i % 28:02d}T12:{i % 60:02d}:{i // 60 % 60:02d}Z",
            "experiment": f"run {i}", "model": "qwen2.5-7b", "score": scores[i], "test_samples": 1319,
            "notes": "seeded", "status": "self-reported"}
        if i > 0 and i % 7 == 0:
            doc["refs"] = [f"{paths.RESULTS}{name}{i - 1}_agent-{(i - 1) % 40:02d}.json"]
        store.put(f"{paths.RESULTS}{name}{i}_{agent}.json", json.dumps(doc).encode())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(n)))


def baseline(store: Store) -> int:
    """The template's way: list the results, GET and parse each one."""
    n = 0
    for info in store.list(paths.RESULTS):
        if info.key.endswith(".json"):
            json.loads(store.get(info.key))
            n += 1
    return n


def requests(store: CountingStore) -> str:
    parts = ", ".join(f"{k} {v:,}" for k, v in sorted(store.counts.items()))
    return f"**{store.total:,}** ({parts})" if parts else "**0**"


def packs_held(store: Store) -> str:
    by_size: dict[str, int] = {}
    for info in store.list(paths.pack_prefix(paths.RESULTS)):
        count = info.key.removesuffix(".json").split("~")[-2] if info.key.count("~") == 3 else "?"
        by_size[count] = by_size.get(count, 0) + 1
    return ", ".join(f"{v} x {k}" for k, v in sorted(by_size.items())) or "none"


def run(name: str, url: str, n: int, tail: int) -> list[list[Any]]:
    Space.init(url, preset_spec("gsm8k"))
    raw = open_store(url)
    t = timed(lambda: seed(raw, n))
    log(f"[{name}] seeded {n:,} results in {t.wall:.1f} s")
    rows: list[list[Any]] = []

    def measure(label: str, space: Space, fn: Any, counting: CountingStore) -> Any:
        counting.reset()
        t = timed(fn)
        rows.append([label, requests(counting), f"{t.cpu:.2f}", f"{t.wall:.2f}", packs_held(raw)])
        log(f"[{name}] {label}: {counting.total:,} requests, {t.wall:.2f} s")
        return t.result

    counting = CountingStore(raw)
    measure("baseline: list + one GET per result", Space(counting), lambda: baseline(counting), counting)
    for label in ("new machine, first ever (no packs yet)", "new machine, next (packs)",
                  "new machine, third (packs)"):
        fresh_agent_dirs()
        counting = CountingStore(raw)
        space = Space(counting, agent="agent-99")
        lb = measure(label, space, space.leaderboard, counting)
    space = Space(counting, agent="agent-99")
    measure("new process, same machine (local caches warm)", space, space.leaderboard, counting)
    measure("same process again", space, space.leaderboard, counting)
    measure("submit + regenerate (one more result)", space, lambda: space.submit("one more", score=0.5), counting)
    measure("write_leaderboard() again (nothing new)", space, space.write_leaderboard, counting)
    if tail:  # fewer than a pack holds: no pack has them
        seed(raw, tail, name="tail")
        fresh_agent_dirs()
        counting = CountingStore(raw)
        space = Space(counting, agent="agent-99")
        lb = measure(f"new machine after {tail:,} more results (not yet a full pack)", space, space.leaderboard,
                     counting)
    size = len(raw.get(paths.LEADERBOARD))
    rows.append([f"{len(lb.rows):,} rows; LEADERBOARD.md {size / 1e6:.1f} MB, leaderboard.json {len(raw.get(paths.LEADERBOARD_JSON)) / 1e6:.1f} MB",
                 "", "", "", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--backends", default="local,s3")
    parser.add_argument("--tail", type=int, default=500,
                        help="last, a new machine after this many more results (default 500; 0: no)")
    args = parser.parse_args()
    fresh_agent_dirs()  # never the user's cache or state
    backends = args.backends.split(",")
    out: dict[str, list[list[Any]]] = {}
    if "local" in backends:
        folder = tempfile.mkdtemp(prefix="bench-leaderboard-")
        try:
            out["a local folder"] = run("local", folder + "/space", args.results, args.tail)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if "s3" in backends:
        with moto_server("bench-leaderboard"):
            out["S3 (moto)"] = run("s3", "s3://bench-leaderboard/space", args.results, args.tail)
    for where, rows in out.items():
        table(f"The leaderboard of {args.results:,} results, {where} (target once packs exist: "
              f"{args.results // 1000 + 10:,} requests)",
              ["scenario", "requests", "CPU s", "wall s", "result packs after"], rows)


if __name__ == "__main__":
    main()
