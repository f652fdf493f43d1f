"""Board benchmark: request counts and wall time of reading a big board.

Builds a board of N messages (default 10,000) in a local-folder space and in an
S3 space (moto's server on 127.0.0.1), then measures, for a new agent:

* the first full read, side by side with the template's way (list the board,
  then fetch each file one by one);
* an incremental read after 10 new messages;
* ``collab digest``: time and size.

Requests are counted at the store layer by :class:`CountingStore` (a listing
counts one request per page of 1,000 keys, as S3 and the Hub page them), and
every scenario runs twice: on the raw store and with a fixed added latency of
20 ms per request (:class:`CountingStore` sleeps in the calling thread, so
parallel fetches overlap their latency as they would on a network).

    python benchmarks/bench_board.py                  # 10,000 messages, local and s3
    python benchmarks/bench_board.py --messages 1000 --backends local
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from support import moto_server

from collabspace.domain.board.messages import message_filename, parse_message, render_message
from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.timefmt import utcnow
from collabspace.space import Space
from collabspace.storage import Store, open_store
from collabspace.storage.counting import CountingStore

TYPES = ("status-update", "experiment-proposal", "results-report", "question", "build-on")


def fill_board(store: Store, n: int, *, end: datetime, agents: int = 20, step: timedelta = timedelta(seconds=30),
               threads: int = 32) -> list[str]:
    """Write ``n`` messages straight to the store, one every ``step`` up to ``end``, as a live board would hold."""

    def one(i: int) -> str:
        now = end - step * (n - 1 - i)
        agent = f"agent-{i % agents:02d}"
        kind = TYPES[i % len(TYPES)]
        body = f"# Update {i}\n\nRun {i}: tried learning rate {i % 7}e-4 on lora rank {2 ** (i % 6)}; notes follow.\n"
        key = message_filename(now, agent, f"{kind}-{i}")
        store.put(key, render_message(agent=agent, type=kind, now=now, body=body * 3).encode(), create_only=True)
        return key

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(n)))


def template_read(store: Store) -> int:
    """The template's way: list message_board/, then fetch and parse each file, one by one."""
    count = 0
    for info in store.list("message_board/"):
        if info.key.endswith(".md") and not info.key.endswith("README.md"):
            parse_message(info.key, store.get(info.key))
            count += 1
    return count


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def fresh_cache() -> None:
    """Point the index at an empty cache folder: the next read is a new agent's first."""
    os.environ["COLLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="collab-bench-cache-")


def bench_backend(name: str, url: str, n: int, latencies: list[float]) -> list[tuple[str, str, str, str]]:
    """Run every scenario on one space; rows of (scenario, latency, requests, seconds)."""
    rows: list[tuple[str, str, str, str]] = []
    raw = open_store(url)
    end = utcnow() - timedelta(minutes=1)
    t, _ = timed(lambda: fill_board(raw, n, end=end))
    print(f"[{name}] wrote {n:,} messages in {t:.1f}s", file=sys.stderr)
    for latency in latencies:
        tag = f"{latency * 1000:.0f} ms"
        counting = CountingStore(raw, latency)
        fresh_cache()
        space = Space(counting, agent="newcomer")
        t, result = timed(lambda: space.read())
        got = len(result.messages)  # type: ignore[attr-defined]
        rows.append((f"first full read ({got:,} msgs), collab", tag, _fmt(counting), f"{t:.2f}"))
        counting.reset()
        t, got = timed(lambda: template_read(counting))
        rows.append((f"first full read ({got:,} msgs), template one-by-one", tag, _fmt(counting), f"{t:.2f}"))
        # Ten new messages from others, stamped now, then the newcomer reads again.
        later = utcnow()
        for i in range(10):
            key = message_filename(later, f"agent-{i:02d}", f"fresh-{latency}-{i}")
            raw.put(key, render_message(agent=f"agent-{i:02d}", type="status-update", now=later,
                                        body=f"fresh {i}").encode(), create_only=True)
        counting.reset()
        t, result = timed(lambda: space.read())
        got = len(result.messages)  # type: ignore[attr-defined]
        rows.append((f"incremental read ({got} new msgs)", tag, _fmt(counting), f"{t:.3f}"))
        counting.reset()
        t, digest = timed(lambda: Space(counting, agent="newcomer").digest())
        size = len(digest.markdown)  # type: ignore[attr-defined]
        rows.append((f"digest ({size:,} chars md, {len(digest.to_json()):,} json)", tag,  # type: ignore[attr-defined]
                     _fmt(counting), f"{t:.3f}"))
    return rows


def _fmt(store: CountingStore) -> str:
    parts = ", ".join(f"{k} {v:,}" for k, v in sorted(store.counts.items()))
    return f"{store.total:,} ({parts})" if parts else "0"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="board size (default 10,000)")
    parser.add_argument("--backends", default="local,s3", help="comma list of local, s3")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added latency per request (default 20)")
    args = parser.parse_args(argv)
    latencies = [0.0, args.latency_ms / 1000]
    results: dict[str, list[tuple[str, str, str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="collab-bench-") as tmp:
        for backend in args.backends.split(","):
            if backend == "local":
                url = str(Path(tmp) / "space")
                Space.init(url, preset_spec("gsm8k"))
                results["local"] = bench_backend("local", url, args.messages, latencies)
            elif backend == "s3":
                results["s3"] = _with_moto(lambda url: bench_backend("s3", url, args.messages, latencies))
            else:
                parser.error(f"unknown backend {backend!r}")
    for backend, rows in results.items():
        print(f"\n## {backend} space, {args.messages:,} messages\n")
        print("| scenario | added latency | requests | seconds |\n|---|---:|---|---:|")
        for row in rows:
            print("| " + " | ".join(row) + " |")


def _with_moto(run: Callable[[str], list[tuple[str, str, str, str]]]) -> list[tuple[str, str, str, str]]:
    """Run against moto's S3 server in its own process (in-process, it would share our GIL)."""
    with moto_server("bench"):
        url = "s3://bench/space"
        Space.init(url, preset_spec("gsm8k"))
        return run(url)


if __name__ == "__main__":
    main()
