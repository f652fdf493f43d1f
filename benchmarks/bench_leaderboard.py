"""Leaderboard regeneration benchmark: LEADERBOARD.md from N results (default 10,000).

For each backend (a local folder, and S3 on moto's server on 127.0.0.1) it
stores N result files (a tenth of them verified-looking with a per-item file,
some with refs), then times:

* a cold regeneration (a fresh machine: every result file is read, 16 in parallel);
* a new process on the same machine (results come from the local object cache,
  keyed by ETag and size; only the listings go to the store);
* a warm regeneration (parsed copies are reused in the process too);
* a regeneration right after one more submit (what every ``collab submit`` does).

    python benchmarks/bench_leaderboard.py
    python benchmarks/bench_leaderboard.py --results 2000 --backends local
"""

from __future__ import annotations

import argparse
import os
import json
import random
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from support import moto_server

from collabspace.domain.results import leaderboard as standings
from collabspace.domain.results import results as result_files
from collabspace.local.objectcache import ObjectCache
from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space


def seed(space: Space, n: int) -> None:
    rng = random.Random(4)

    def one(i: int) -> None:
        agent = f"agent-{i % 40:02d}"
        doc = {"agent_id": agent, "timestamp": f"2026-04-{1 + i % 28:02d}T12:00:00Z", "experiment": f"run {i}",
               "model": "qwen2.5-7b", "score": round(rng.random(), 4), "test_samples": 1319,
               "notes": "seeded", "status": "self-reported"}
        if i > 0 and i % 7 == 0:
            doc["refs"] = [f"artifacts/results/run{i - 1}_agent-{(i - 1) % 40:02d}.json"]
        space.store.put(f"artifacts/results/run{i}_{agent}.json", json.dumps(doc).encode())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(n)))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(url: str, n: int) -> None:
    Space.init(url, preset_spec("gsm8k"))
    space = Space.open(url, agent="agent-99")
    t_seed = timed(lambda: seed(space, n))
    result_files._CACHE.clear()
    cold = timed(lambda: standings.regenerate(space.store, space.spec, cache=ObjectCache(url)))
    result_files._CACHE.clear()
    again = timed(lambda: standings.regenerate(space.store, space.spec, cache=ObjectCache(url)))
    warm = timed(lambda: standings.regenerate(space.store, space.spec, cache=ObjectCache(url)))
    submit = timed(lambda: space.submit("one more", score=0.5))
    size = len(space.cat("LEADERBOARD.md"))
    print(f"{url.split(':')[0] if '://' in url else 'local':6} {n:>7,} results (seeded in {t_seed:.1f} s): "
          f"cold {cold:.2f} s, new process {again:.2f} s, warm {warm:.2f} s, submit + regenerate {submit:.2f} s; LEADERBOARD.md {size / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--backends", default="local,s3")
    args = parser.parse_args()
    os.environ["COLLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="collab-bench-cache-")  # never the user's cache
    backends = args.backends.split(",")
    if "local" in backends:
        folder = tempfile.mkdtemp(prefix="bench-leaderboard-")
        try:
            run(folder + "/space", args.results)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if "s3" in backends:
        with moto_server("bench-leaderboard"):
            run("s3://bench-leaderboard/space", args.results)


if __name__ == "__main__":
    main()
