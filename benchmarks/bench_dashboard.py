"""Dashboard benchmark: requests per dashboard refresh, and (with --browser) the first render in Chromium.

Builds a GSM8K space with N messages (default 10,000: markdown bodies, refs forming
threads, @mentions, claims), M results (default 2,000, a tenth invalidated by their
owners so that flags propagate) and 12 registered agents, on a local folder and on
S3 (moto's server on 127.0.0.1, in its own process), and measures:

* **requests per dashboard refresh**: what ``LiveSpace(space, interval=0).refresh(force=True)``
  (``collabspace.web.live``, what the dashboard's background loop calls) asks of the
  store, counted by a :class:`CountingStore` under the Space (a listing is one request
  per 1,000 keys): the first refresh of a new machine (the server's start), then idle
  refreshes (right after; once the registrations' 15 s are due; once the board's
  5-minute full reconcile is due, by moving the Space's clock), and refreshes after
  one new result (another agent's ``submit``) and after one new message;
* with ``--browser`` (local folder only; needs Chromium and Playwright): the server's
  start, the JSON the pages load (gzip on the wire and uncompressed), and in headless
  Chromium the time from navigation to a usable page (``body[data-ready]``) for the
  board and the leaderboard, on a fresh page each time.

Fresh ``COLLAB_CACHE_DIR`` and ``COLLAB_STATE_DIR`` folders are used, never the user's.

    python benchmarks/bench_dashboard.py                       # requests, local and s3
    python benchmarks/bench_dashboard.py --browser             # and the Chromium timings
    python benchmarks/bench_dashboard.py --messages 1000 --results 200 --backends local --browser --runs 5
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from support import TESTS, Clock, fresh_agent_dirs, log, moto_server, table, timed

from collabspace import readmodel
from collabspace.domain import paths
from collabspace.domain.board.messages import message_filename, render_message
from collabspace.domain.setup.presets import preset_spec
from collabspace.local import index as board_index
from collabspace.space import Space
from collabspace.storage import Store, open_store
from collabspace.storage.counting import CountingStore
from collabspace.web.live import LiveSpace, default_interval

T0 = datetime(2026, 4, 1, tzinfo=timezone.utc)
AGENTS = [f"agent-{i:02d}" for i in range(1, 13)]
TYPES = ["status-update", "experiment-proposal", "results-report", "question", "build-on", "claim"]
RECONCILE: timedelta = getattr(board_index, "RECONCILE", timedelta(minutes=5))


def body(rng: random.Random, i: int) -> str:
    words = "learning rate sweep prompt chain thought verify scorer sample temperature batch tokens".split()
    para = lambda n: " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."  # noqa: E731
    if i % 5 == 0:  # a long one, collapsed on the page
        return f"## Run {i}\n\n{para(40)} @{rng.choice(AGENTS)}\n\n- {para(8)}\n- {para(8)}\n\n```\npython run.py --seed {i}\n```\n\n{para(30)}"
    return f"{para(rng.randint(8, 30))} **{rng.random():.3f}** on run {i}."


def space_files(messages: int, results: int) -> dict[str, bytes]:
    """The board, the results and the verdicts of the benchmark space: key -> bytes."""
    rng = random.Random(7)
    out: dict[str, bytes] = {}
    keys: list[str] = []
    span = timedelta(days=20)
    for i in range(messages):
        now = T0 + span * i / messages
        agent = rng.choice(AGENTS)
        kind = rng.choice(TYPES)
        refs = tuple(rng.sample(keys[-50:], 1)) if keys and rng.random() < 0.4 else ()
        extra = {"scope": f"direction {i % 40}", "expires": (now + timedelta(hours=4)).strftime("%Y-%m-%d %H:%M UTC")} \
            if kind == "claim" else None
        key = message_filename(now, agent, f"topic-{i}")
        out[key] = render_message(agent=agent, type=kind, now=now, refs=refs, body=body(rng, i), extra=extra).encode()
        keys.append(key)
    best = 0.05
    result_keys = []
    for i in range(results):
        agent = rng.choice(AGENTS)
        when = T0 + span * i / results
        best = min(0.95, best + rng.random() * 0.0008)
        doc = {"agent_id": agent, "experiment": f"experiment {i}: {rng.choice(['cot', 'sc', 'pot', 'tools'])}",
               "score": round(best - rng.random() * 0.2, 4), "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "model": "qwen3-32b", "test_samples": 1319}
        key = f"{paths.RESULTS}run-{i}_{agent}.json"
        out[key] = json.dumps(doc).encode()
        result_keys.append((key, agent))
    for i in range(0, results, max(1, results // 10)):
        key, owner = result_keys[i]
        name = key.rsplit("/", 1)[-1]
        out[paths.VERDICTS + name] = json.dumps({
            "result": key, "verdict": "invalid", "by": owner, "reason": "bench: leaked test data",
            "timestamp": "2026-04-20T00:00:00Z"}).encode()
    return out


def build(url: str, messages: int, results: int) -> Store:
    """Create the space at ``url``, register the agents and write its files (32 at a time)."""
    rng = random.Random(3)
    Space.init(url, preset_spec("gsm8k"))
    for a in AGENTS:
        Space.open(url, agent=a).join(model=rng.choice(["claude-opus-4", "gpt-5", "qwen3-32b"]), harness="bench")
    store = open_store(url)
    files = space_files(messages, results)
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda kv: store.put(kv[0], kv[1]), files.items()))
    return store


@contextlib.contextmanager
def another_machine() -> Iterator[None]:
    """Run the block as an agent on another machine: fresh cache and state folders, then ours again
    (the dashboard's Space opened its own caches at its first refresh)."""
    saved = {k: os.environ.get(k) for k in ("COLLAB_CACHE_DIR", "COLLAB_STATE_DIR")}
    fresh_agent_dirs()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v


def requests(store: CountingStore) -> str:
    parts = ", ".join(f"{k} {v:,}" for k, v in sorted(store.counts.items()))
    return f"**{store.total:,}** ({parts})" if parts else "**0**"


def refresh_requests(name: str, url: str, args: argparse.Namespace) -> list[list[Any]]:
    t = timed(lambda: build(url, args.messages, args.results))
    log(f"[{name}] space built ({args.messages:,} messages, {args.results:,} results) in {t.wall:.1f} s")
    raw = open_store(url)
    fresh_agent_dirs()
    counting = CountingStore(raw)
    clock = Clock()
    live = LiveSpace(Space(counting, clock=clock), interval=0)
    rows: list[list[Any]] = []

    def refresh(label: str) -> None:
        counting.reset()
        t = timed(lambda: live.refresh(force=True))
        rows.append([label, requests(counting), f"{t.wall:.2f}"])
        log(f"[{name}] {label}: {counting.total:,} requests, {t.wall:.2f} s")

    refresh("first refresh, new machine (the server's start)")
    refresh("idle")
    refresh("idle, again")
    time.sleep(readmodel.AGENTS_SECONDS + 0.2)
    refresh(f"idle, {readmodel.AGENTS_SECONDS:g} s later (registrations due)")
    clock.shift += RECONCILE
    refresh(f"idle, board's {RECONCILE.seconds // 60}-min full reconcile due")
    refresh("idle, after that")
    with another_machine():  # its own cache and state folders, and not counted
        Space(raw, agent="agent-03").submit("one more run", score=0.5)
    refresh("after one new result (another agent's submit)")
    refresh("idle, after that")
    with another_machine():
        Space(raw, agent="agent-03").post("status-update", "one more message", topic="bench")
    refresh("after one new message")
    rows.append([f"(background interval by default here: {default_interval(url):g} s; "
                 f"{len(live.board.messages):,} messages, {len(live.results.leaderboard.rows):,} leaderboard rows)",
                 "", ""])
    return rows


def fetch(url: str) -> tuple[int, int]:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req) as resp:  # noqa: S310 -- our own server on 127.0.0.1
        wire = resp.read()
        raw = gzip.decompress(wire) if resp.headers.get("Content-Encoding") == "gzip" else wire
    return len(wire), len(raw)


def browser(args: argparse.Namespace) -> None:
    """The server's start, the JSON sizes and the time to a usable page in headless Chromium (local folder)."""
    sys.path.insert(0, str(TESTS))
    from browser_support import CHROMIUM, CHROMIUM_ARGS, chromium_missing

    why = chromium_missing()
    if why:
        sys.exit(f"bench_dashboard --browser: {why}")
    from playwright.sync_api import sync_playwright

    from collabspace.web.app import BackgroundServer

    with tempfile.TemporaryDirectory() as tmp:
        fresh_agent_dirs()
        root = str(Path(tmp) / "space")
        t = timed(lambda: build(root, args.messages, args.results))
        print(f"\n### In Chromium, a local folder: {args.messages:,} messages, {args.results:,} results "
              f"(written in {t.wall:.1f} s)\n")
        t = timed(lambda: BackgroundServer(root).start())
        server = t.result
        print(f"server start (index the board, build the leaderboard): {t.wall:.2f} s")
        try:
            print("\nJSON the pages load (gzip on the wire / uncompressed):")
            loads = {"/": ["/api/stats", "/api/board", "/api/claims", "/api/agents", "/api/leaderboard"],
                     "/leaderboard": ["/api/stats", "/api/leaderboard"]}
            sizes = {}
            for api in ["/api/stats", "/api/board", "/api/leaderboard", "/api/claims", "/api/agents"]:
                sizes[api] = fetch(server.url + api)
                print(f"  {api:18} {sizes[api][0] / 1000:8.1f} kB  / {sizes[api][1] / 1000:8.1f} kB")
            for page, apis in loads.items():
                wire = sum(sizes[a][0] for a in apis)
                raw = sum(sizes[a][1] for a in apis)
                print(f"  page {page:13} {wire / 1000:8.1f} kB  / {raw / 1000:8.1f} kB in all")
            with sync_playwright() as pw:
                chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                print(f"\ntime to a usable page in headless Chromium ({args.runs} runs, fresh page each):")
                for path in ["/", "/leaderboard"]:
                    times = []
                    for _ in range(args.runs):
                        page = chromium.new_page(viewport={"width": 1366, "height": 860})
                        start = time.perf_counter()
                        page.goto(server.url + path)
                        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
                        times.append(time.perf_counter() - start)
                        shown = page.locator("#messages li.msg").count() if path == "/" else page.evaluate(
                            "() => Chart.getChart(document.getElementById('chart')).data.datasets"
                            ".filter(d => d.kind === 'results').reduce((n, d) => n + d.data.length, 0)")
                        page.close()
                    what = f"{shown} messages rendered" if path == "/" else f"{shown} chart points"
                    print(f"  {path:13} first {times[0]:.2f} s, median {statistics.median(times):.2f} s, "
                          f"max {max(times):.2f} s ({what}; target <= 1.5 s)")
                chromium.close()
        finally:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--results", type=int, default=2_000)
    ap.add_argument("--backends", default="local,s3", help="where to count refresh requests: local, s3 ('' for none)")
    ap.add_argument("--browser", action="store_true", help="also time the pages in headless Chromium (local folder)")
    ap.add_argument("--runs", type=int, default=3, help="page loads per page in Chromium")
    args = ap.parse_args()
    fresh_agent_dirs()  # never the user's cache or state
    backends = [b for b in args.backends.split(",") if b]
    out: dict[str, list[list[Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="collab-bench-dash-") as tmp:
        if "local" in backends:
            out["a local folder"] = refresh_requests("local", str(Path(tmp) / "space"), args)
        if "s3" in backends:
            with moto_server("bench-dashboard"):
                out["S3 (moto)"] = refresh_requests("s3", "s3://bench-dashboard/space", args)
    for where, rows in out.items():
        table(f"Requests per dashboard refresh, {where}: {args.messages:,} messages, {args.results:,} results",
              ["refresh (LiveSpace.refresh(force=True))", "requests", "wall s"], rows)
    if args.browser:
        browser(args)


if __name__ == "__main__":
    main()
