"""Dashboard benchmark: first render of a big space in headless Chromium.

Builds a local-folder GSM8K space with N messages (default 10,000: markdown
bodies, refs forming threads, @mentions, claims) and M results (default 2,000,
a few invalidated so that flags propagate), starts the dashboard (uvicorn on
127.0.0.1 in a thread, as ``collab serve`` does), and measures:

* the server's start: reading the board into the index and building the leaderboard;
* in Chromium, from navigation to a usable page (the view rendered with its data:
  ``body[data-ready]``), for the board and for the leaderboard, on a fresh page each
  time (the first run has cold browser caches);
* the JSON the page loads: bytes on the wire (gzip) and uncompressed.

    python benchmarks/bench_dashboard.py
    python benchmarks/bench_dashboard.py --messages 1000 --results 200 --runs 5
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_support import CHROMIUM, CHROMIUM_ARGS, chromium_missing  # noqa: E402

from collabspace.domain import paths  # noqa: E402
from collabspace.domain.board.messages import message_filename, render_message  # noqa: E402
from collabspace.domain.setup.presets import preset_spec  # noqa: E402
from collabspace.space import Space  # noqa: E402
from collabspace.web.app import BackgroundServer  # noqa: E402

T0 = datetime(2026, 4, 1, tzinfo=timezone.utc)
AGENTS = [f"agent-{i:02d}" for i in range(1, 13)]
TYPES = ["status-update", "experiment-proposal", "results-report", "question", "build-on", "claim"]


def body(rng: random.Random, i: int) -> str:
    words = "learning rate sweep prompt chain thought verify scorer sample temperature batch tokens".split()
    para = lambda n: " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."  # noqa: E731
    if i % 5 == 0:  # a long one, collapsed on the page
        return f"## Run {i}\n\n{para(40)} @{rng.choice(AGENTS)}\n\n- {para(8)}\n- {para(8)}\n\n```\npython run.py --seed {i}\n```\n\n{para(30)}"
    return f"{para(rng.randint(8, 30))} **{rng.random():.3f}** on run {i}."


def build(root: Path, messages: int, results: int) -> None:
    rng = random.Random(7)
    Space.init(str(root), preset_spec("gsm8k"))
    for a in AGENTS:
        Space.open(str(root), agent=a).join(model=rng.choice(["claude-opus-4", "gpt-5", "qwen3-32b"]), harness="bench")
    board = root / paths.BOARD
    files: list[str] = []
    span = timedelta(days=20)
    for i in range(messages):
        now = T0 + span * i / messages
        agent = rng.choice(AGENTS)
        kind = rng.choice(TYPES)
        refs = tuple(rng.sample(files[-50:], 1)) if files and rng.random() < 0.4 else ()
        extra = {"scope": f"direction {i % 40}", "expires": (now + timedelta(hours=4)).strftime("%Y-%m-%d %H:%M UTC")} \
            if kind == "claim" else None
        key = message_filename(now, agent, f"topic-{i}")
        (root / key).write_text(render_message(agent=agent, type=kind, now=now, refs=refs, body=body(rng, i), extra=extra))
        files.append(key.rsplit("/", 1)[-1])
    assert board.is_dir()
    res = root / paths.RESULTS
    res.mkdir(parents=True, exist_ok=True)
    best = 0.05
    for i in range(results):
        agent = rng.choice(AGENTS)
        when = T0 + span * i / results
        best = min(0.95, best + rng.random() * 0.0008)
        doc = {"agent_id": agent, "experiment": f"experiment {i}: {rng.choice(['cot', 'sc', 'pot', 'tools'])}",
               "score": round(best - rng.random() * 0.2, 4), "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "model": "qwen3-32b", "test_samples": 1319}
        (res / f"run-{i}_{agent}.json").write_text(json.dumps(doc))
    verdicts = root / paths.VERDICTS
    verdicts.mkdir(parents=True, exist_ok=True)
    for i in range(0, results, max(1, results // 10)):
        key = next(res.glob(f"run-{i}_*.json"))
        owner = key.stem.split("_")[-1]
        (verdicts / key.name).write_text(json.dumps({
            "result": paths.RESULTS + key.name, "verdict": "invalid", "by": owner, "reason": "bench: leaked test data",
            "timestamp": "2026-04-20T00:00:00Z"}))


def fetch(url: str) -> tuple[int, int]:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req) as resp:
        wire = resp.read()
        raw = gzip.decompress(wire) if resp.headers.get("Content-Encoding") == "gzip" else wire
    return len(wire), len(raw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--results", type=int, default=2_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    why = chromium_missing()
    if why:
        sys.exit(f"bench_dashboard: {why}")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["COLLAB_CACHE_DIR"] = str(Path(tmp) / "cache")
        root = Path(tmp) / "space"
        t = time.perf_counter()
        build(root, args.messages, args.results)
        print(f"space: {args.messages:,} messages, {args.results:,} results, written in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        server = BackgroundServer(str(root)).start()
        print(f"server start (index the board, build the leaderboard): {time.perf_counter() - t:.2f} s")
        try:
            print("\nJSON the pages load (gzip on the wire / uncompressed):")
            total_wire = {"/": 0, "/leaderboard": 0}
            loads = {"/": ["/api/stats", "/api/board", "/api/claims", "/api/agents", "/api/leaderboard"],
                     "/leaderboard": ["/api/stats", "/api/leaderboard"]}
            sizes = {}
            for api in ["/api/stats", "/api/board", "/api/leaderboard", "/api/claims", "/api/agents"]:
                sizes[api] = fetch(server.url + api)
                print(f"  {api:18} {sizes[api][0] / 1000:8.1f} kB  / {sizes[api][1] / 1000:8.1f} kB")
            for page, apis in loads.items():
                total_wire[page] = sum(sizes[a][0] for a in apis)
                raw = sum(sizes[a][1] for a in apis)
                print(f"  page {page:13} {total_wire[page] / 1000:8.1f} kB  / {raw / 1000:8.1f} kB in all")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                print(f"\ntime to a usable page in headless Chromium ({args.runs} runs, fresh page each):")
                for path in ["/", "/leaderboard"]:
                    times = []
                    for _ in range(args.runs):
                        page = browser.new_page(viewport={"width": 1366, "height": 860})
                        t = time.perf_counter()
                        page.goto(server.url + path)
                        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
                        times.append(time.perf_counter() - t)
                        shown = page.locator("#messages li.msg").count() if path == "/" else page.evaluate(
                            "() => Chart.getChart(document.getElementById('chart')).data.datasets"
                            ".filter(d => d.kind === 'results').reduce((n, d) => n + d.data.length, 0)")
                        page.close()
                    what = f"{shown} messages rendered" if path == "/" else f"{shown} chart points"
                    print(f"  {path:13} first {times[0]:.2f} s, median {statistics.median(times):.2f} s, "
                          f"max {max(times):.2f} s ({what}; target <= 1.5 s)")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
