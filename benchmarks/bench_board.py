"""Board benchmark: what reading a big board costs a new agent, and what polling it costs every agent.

Builds boards of N messages (one every 30 s, from 20 agents, as a live board holds
them) in a local-folder space, in an S3 space (moto's server on 127.0.0.1, in its
own process) and on the fake Hub (``tests/fake_hub.py``: it counts the HTTP requests
the real ``huggingface_hub`` client would make, as API calls, resolves, xet tokens
and CAS/CDN fetches), and prints, each beside a floor or baseline measured in the
same run:

* **First full read** (``Space(store, agent="newcomer").read()`` on fresh cache and
  state folders), at ``--messages`` sizes (default 10,000 and 30,000): requests
  (counted exactly, by :class:`CountingStore` or the fake Hub), CPU seconds
  (``time.process_time``: this process, all its threads; moto's server is another
  process) and wall seconds.

  - local folder: beside the **CPU floor** (list the board folder, read every file,
    parse its frontmatter with ``yaml.CSafeLoader``, insert every row in one SQLite
    transaction), best of ``--repeat`` runs each, and their ratio (target <= 2x at
    10,000);
  - S3: the first reader ever (no packs yet; it writes them), the second (reads the
    small packs, writes large ones), the third (reads the large packs), beside the
    template's one-by-one read (list, then N GETs); target: N/1000 + 10 requests
    once packs exist; and a new reader after ``--tail`` (500) more messages arrived,
    fewer than a pack holds (a board is rarely a multiple of 1,000);
  - the Hub: the first read, and the one-by-one read.

* **An incremental read** after 10 new messages, and **digest**: requests.
* **A poll with nothing new** (a second ``read()`` of an agent that has read the
  board) at ``--polls`` sizes (default 1,000, 10,000, 30,000), on S3 (requests;
  target <= 2) and on the fake Hub (API / resolve / xet / CAS; target <= 2 API calls),
  and the poll when the index's 5-minute full reconcile is due (the Space's clock is
  moved on), with the amortized cost of polling every 30 s. On the Hub an
  incremental poll lists one raw prefix per day, so its cost depends on how many
  messages that day holds: it is measured with the board's clock at each
  ``--hub-times`` time of day (default 00:05, 12:00, 23:55 UTC).

Every "new agent" gets empty ``COLLAB_CACHE_DIR`` and ``COLLAB_STATE_DIR`` folders
(never the user's). Filling 30,000 objects into moto takes a few minutes (32
threads); the whole default run takes about 15 minutes on 2 cores.

    python benchmarks/bench_board.py                                   # everything, default sizes
    python benchmarks/bench_board.py --messages 10000 --polls 1000 --backends local
    python benchmarks/bench_board.py --backends s3,hub --messages 30k --polls 30k
    python benchmarks/bench_board.py --latency-ms 20                   # add 20 ms per request (S3 and local)
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from support import Clock, fake_hub, fresh_agent_dirs, hub_counts, log, moto_server, sizes, table, timed

from collabspace.domain import paths
from collabspace.domain.board.messages import message_filename, parse_message, render_message
from collabspace.domain.setup.presets import preset_spec
from collabspace.local import index as board_index
from collabspace.space import Space
from collabspace.storage import Store, open_store
from collabspace.storage.counting import CountingStore

TYPES = ("status-update", "experiment-proposal", "results-report", "question", "build-on")
STEP = timedelta(seconds=30)
#: The index's longest gap between full listings of the board (5 minutes).
RECONCILE: timedelta = getattr(board_index, "RECONCILE", timedelta(minutes=5))
#: Polls per RECONCILE at one poll every 30 s (one of them is the reconcile).
POLLS_PER_RECONCILE = int(RECONCILE / timedelta(seconds=30))
AGENTS_POLLING = 20


# -- building boards ---------------------------------------------------------------------
def board_files(n: int, *, end: datetime, agents: int = 20, step: timedelta = STEP,
                before: int = 0) -> dict[str, bytes]:
    """``n`` messages, one every ``step``, the newest ``before`` steps before ``end``: key -> file bytes."""
    out: dict[str, bytes] = {}
    for i in range(n):
        now = end - step * (before + n - 1 - i)
        agent = f"agent-{i % agents:02d}"
        kind = TYPES[i % len(TYPES)]
        body = f"# Update {i}\n\nRun {i}: tried learning rate {i % 7}e-4 on lora rank {2 ** (i % 6)}; notes follow.\n"
        key = message_filename(now, agent, f"{kind}-{i}")
        out[key] = render_message(agent=agent, type=kind, now=now, body=body * 3).encode()
    return out


def fill_board(store: Store, n: int, *, end: datetime, agents: int = 20, step: timedelta = STEP,
               threads: int = 32, before: int = 0) -> list[str]:
    """Write ``n`` messages straight to the store (create-only, ``threads`` at a time), one every ``step`` up
    to ``end`` (or up to ``before`` steps before it, to grow a board backwards), as a live board holds them."""
    files = board_files(n, end=end, agents=agents, step=step, before=before)

    def one(key: str) -> str:
        store.put(key, files[key], create_only=True)
        return key

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, files))


def template_read(store: Store) -> int:
    """The template's way: list message_board/, then fetch and parse each file, one by one."""
    count = 0
    for info in store.list(paths.BOARD):
        if info.key.endswith(".md") and not info.key.endswith("README.md"):
            parse_message(info.key, store.get(info.key))
            count += 1
    return count


def floor_read(board: Path, db_path: Path) -> int:
    """The CPU floor of a first read of a local board: list the folder, read every file, parse its
    frontmatter with libyaml (``yaml.CSafeLoader``), insert every row in one SQLite transaction."""
    names = sorted(e.name for e in os.scandir(board) if e.name.endswith(".md") and e.name != "README.md")
    rows = []
    for name in names:
        _, head, body = (board / name).read_text(encoding="utf-8").split("---\n", 2)
        meta = yaml.load(head, Loader=yaml.CSafeLoader)  # noqa: S506 -- CSafeLoader is the safe loader
        rows.append((name, meta.get("agent"), meta.get("type"), str(meta.get("timestamp")),
                     json.dumps(meta.get("refs") or []), body))
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE messages (key TEXT PRIMARY KEY, agent TEXT, type TEXT, stamp TEXT, refs TEXT, body TEXT)")
    with db:
        db.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.close()
    return len(rows)


def fresh_messages(store: Store, clock: Clock, tag: str, n: int = 10) -> list[str]:
    """``n`` messages from others, stamped now (by ``clock``), written straight to the store
    (in one batch where the store has one: the Hub)."""
    now = clock()
    items = {message_filename(now, f"agent-{i % 20:02d}", f"fresh-{tag}-{i}"):
             render_message(agent=f"agent-{i % 20:02d}", type="status-update", now=now, body=f"fresh {i}").encode()
             for i in range(n)}
    if store.native_start_after:  # S3, a folder: 32 puts at a time
        with ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(lambda kv: store.put(*kv), items.items()))
    else:
        store.put_many(items)
    return list(items)


def delete_all(store: Store, keys: list[str]) -> None:
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(store.delete, keys))


def requests(store: CountingStore) -> str:
    parts = ", ".join(f"{k} {v:,}" for k, v in sorted(store.counts.items()))
    return f"**{store.total:,}** ({parts})" if parts else "**0**"


def packs_held(store: Store) -> str:
    by_size: dict[str, int] = {}
    for info in store.list(paths.PACKS):
        count = info.key.removesuffix(".json").split("~")[-2] if info.key.count("~") == 3 else "?"
        by_size[count] = by_size.get(count, 0) + 1
    return ", ".join(f"{v} x {k}" for k, v in sorted(by_size.items(), key=lambda kv: kv[0])) or "none"


# -- one backend: S3 or a local folder, through a CountingStore ---------------------------
class Counted:
    """The figures of one backend whose requests a :class:`CountingStore` counts (local folder, S3)."""

    def __init__(self, name: str, raw: Store, args: argparse.Namespace, folder: Path | None = None) -> None:
        self.name, self.raw, self.args, self.folder = name, raw, args, folder
        self.latency = args.latency_ms / 1000
        self.first: list[list[Any]] = []
        self.steps: list[list[Any]] = []
        self.polls: list[list[Any]] = []

    def counting(self) -> CountingStore:
        return CountingStore(self.raw, self.latency)

    def run(self) -> None:
        end = Clock()() - timedelta(minutes=1)
        have = 0
        for n in sorted(set(self.args.messages) | set(self.args.polls)):
            t = timed(lambda: fill_board(self.raw, n - have, end=end, before=have))
            log(f"[{self.name}] board grown from {have:,} to {n:,} messages in {t.wall:.1f} s")
            have = n
            if n in self.args.messages:
                self.first_reads(n)
            if n in self.args.polls:
                self.poll(n)

    def first_reads(self, n: int) -> None:
        board = f"{n:,}"
        if self.name == "s3":
            for info in list(self.raw.list(paths.PACKS)):  # the first reader ever finds no packs
                self.raw.delete(info.key)
            readers = ["first reader ever (no packs; writes small ones)", "second reader (small packs; writes large)",
                       "third reader (large packs)"]
            for label in readers:
                fresh_agent_dirs()
                counting = self.counting()
                space = Space(counting, agent="newcomer")
                t = timed(space.read)
                log(f"[s3] {n:,}: {label}: {counting.total:,} requests, {t.wall:.1f} s")
                self.first.append([board, label, f"{len(t.result.messages):,}", requests(counting),
                                   f"{n // 1000 + 10:,}", f"{t.cpu:.2f}", f"{t.wall:.2f}", packs_held(self.raw)])
        else:
            floors, collabs = [], []
            with tempfile.TemporaryDirectory(prefix="collab-bench-floor-") as tmp:
                for r in range(self.args.repeat):
                    floors.append(timed(lambda: floor_read(self.folder / paths.BOARD, Path(tmp) / f"f{r}.sqlite3")))
                    fresh_agent_dirs()
                    counting = self.counting()
                    space = Space(counting, agent="newcomer")
                    t = timed(space.read)
                    collabs.append((t, requests(counting)))
                    log(f"[local] {n:,}: run {r + 1}: floor {floors[-1].cpu:.2f} s CPU, collab {t.cpu:.2f} s CPU")
            floor = min(floors, key=lambda t: t.cpu)
            best, counted = min(collabs, key=lambda c: c[0].cpu)
            runs = lambda ts: " / ".join(f"{t.cpu:.2f}" for t in ts)  # noqa: E731
            self.first.append([board, f"CPU floor (best of {len(floors)})", f"{floor.result:,}", "-", "-",
                               f"{floor.cpu:.2f}", f"{floor.wall:.2f}", f"runs {runs(floors)}"])
            self.first.append([board, f"collab first read (best of {len(collabs)})",
                               f"{len(best.result.messages):,}", counted, "-", f"{best.cpu:.2f}", f"{best.wall:.2f}",
                               f"runs {runs([c[0] for c in collabs])}; **{best.cpu / floor.cpu:.2f}x the floor**"])
        counting = self.counting()
        t = timed(lambda: template_read(counting))
        self.first.append([board, "template one-by-one (list + N GETs)", f"{t.result:,}", requests(counting),
                           "-", f"{t.cpu:.2f}", f"{t.wall:.2f}", ""])
        self.incremental(n, space)
        if self.name == "s3" and self.args.tail:
            self.tail_reader(n)

    def tail_reader(self, n: int) -> None:
        """A new reader once ``--tail`` more messages arrived: fewer than a pack holds, so no pack has them."""
        keys = fresh_messages(self.raw, Clock(), f"tail-{n}", self.args.tail)
        fresh_agent_dirs()
        counting = self.counting()
        t = timed(Space(counting, agent="newcomer").read)
        total = n + self.args.tail
        self.first.append([f"{total:,}", f"new reader after {self.args.tail:,} more messages (not yet a full pack)",
                           f"{len(t.result.messages):,}", requests(counting), f"{total // 1000 + 10:,}",
                           f"{t.cpu:.2f}", f"{t.wall:.2f}", packs_held(self.raw)])
        delete_all(self.raw, keys)  # keep the board at its nominal size

    def incremental(self, n: int, space: Space) -> None:
        """Ten new messages, then the newcomer (who has read the board) reads again; then a digest."""
        keys = fresh_messages(self.raw, Clock(), f"{n}")
        counting = space.store
        assert isinstance(counting, CountingStore)
        counting.reset()
        t = timed(space.read)
        self.steps.append([f"{n:,}", f"incremental read ({len(t.result.messages)} new msgs)", requests(counting),
                           f"{t.wall:.3f}"])
        counting.reset()
        t = timed(lambda: Space(counting, agent="newcomer").digest())
        self.steps.append([f"{n:,}", f"digest ({len(t.result.markdown):,} chars md)", requests(counting),
                           f"{t.wall:.3f}"])
        delete_all(self.raw, keys)  # keep the board at its nominal size

    def poll(self, n: int) -> None:
        fresh_agent_dirs()
        clock = Clock()
        counting = self.counting()
        space = Space(counting, agent="poller", clock=clock)
        space.read()
        steady = []
        for _ in range(3):
            counting.reset()
            space.read()
            steady.append(counting.total)
        counting.reset()
        clock.shift += RECONCILE
        t = timed(space.read)
        reconcile = counting.total
        reconcile_text = requests(counting)
        counting.reset()
        space.read()
        after = counting.total
        per_window = (POLLS_PER_RECONCILE - 1) * max(steady) + reconcile
        self.polls.append([f"{n:,}", " / ".join(map(str, steady)), f"{reconcile_text}, {t.wall:.2f} s", after,
                           f"{per_window:,} ({per_window / POLLS_PER_RECONCILE:.1f} per poll)",
                           f"{per_window * AGENTS_POLLING:,}"])

    def report(self) -> None:
        where = "a local folder" if self.name == "local" else "S3 (moto)"
        latency = f", {self.args.latency_ms:g} ms added per request" if self.latency else ""
        if self.first:
            table(f"First full read, {where}{latency}",
                  ["board", "reader", "msgs", "requests", "target", "CPU s", "wall s", "notes"], self.first)
        if self.steps:
            table(f"After the first read, {where}", ["board", "scenario", "requests", "wall s"], self.steps)
        if self.polls:
            table(f"A poll with nothing new, {where} (requests)",
                  ["board", "3 polls", f"poll when the {RECONCILE.seconds // 60}-min reconcile is due",
                   "next poll", f"per agent per {RECONCILE.seconds // 60} min at 1 poll / 30 s",
                   f"{AGENTS_POLLING} agents per {RECONCILE.seconds // 60} min"], self.polls)


# -- the fake Hub ---------------------------------------------------------------------------
class Hub:
    """The figures on the fake Hub (HFBucketStore over FakeHfApi): a new bucket per board and time of day."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.first: list[list[Any]] = []
        self.steps: list[list[Any]] = []
        self.polls: list[list[Any]] = []

    def run(self) -> None:
        for n in sorted(set(self.args.messages) | set(self.args.polls)):
            for i, hhmm in enumerate(self.args.hub_times):
                if i > 0 and n not in self.args.polls:
                    break
                self.one(n, hhmm, first=(i == 0 and n in self.args.messages), poll=n in self.args.polls)

    def one(self, n: int, hhmm: str, *, first: bool, poll: bool) -> None:
        api, store = fake_hub()
        clock = Clock.at(hhmm)
        Space.init(store, preset_spec("gsm8k"), clock=clock)
        end = clock() - timedelta(minutes=1)
        store.put_many(board_files(n, end=end))
        fresh_agent_dirs()
        space = Space(store, agent="poller", clock=clock)
        api.counts.reset()
        t = timed(space.read)
        log(f"[hub] {n:,} at {hhmm}: first read {hub_counts(api)}, {t.wall:.1f} s")
        board = f"{n:,}"
        if first:
            self.first.append([board, "collab first read", f"{len(t.result.messages):,}", hub_counts(api),
                               f"{t.cpu:.2f}", f"{t.wall:.2f}"])
            api.counts.reset()
            t1 = timed(lambda: template_read(store))
            self.first.append([board, "template one-by-one (list + N downloads)", f"{t1.result:,}", hub_counts(api),
                               f"{t1.cpu:.2f}", f"{t1.wall:.2f}"])
            fresh_messages(store, clock, str(n))  # they stay: the polls below start after them
            api.counts.reset()
            t2 = timed(space.read)
            self.steps.append([board, f"incremental read ({len(t2.result.messages)} new msgs)", hub_counts(api),
                               f"{t2.wall:.3f}"])
            api.counts.reset()
            t3 = timed(lambda: Space(store, agent="poller", clock=clock).digest())
            self.steps.append([board, f"digest ({len(t3.result.markdown):,} chars md)", hub_counts(api),
                               f"{t3.wall:.3f}"])
        if not poll:
            return
        space.read()  # caught up
        steady = []
        for _ in range(3):
            api.counts.reset()
            space.read()
            steady.append(api.counts.snapshot())
        now = clock()
        api.counts.reset()
        clock.shift += RECONCILE
        t4 = timed(space.read)
        reconcile = api.counts.snapshot()
        reconcile_text = hub_counts(api)
        api.counts.reset()
        space.read()
        after = api.counts.snapshot()["api"]
        day = lambda d: sum(1 for k in api.buckets["bench/space"] if k.startswith(paths.BOARD + f"{d:%Y%m%d}"))  # noqa: E731
        worst = max(s["api"] for s in steady)
        per_window = (POLLS_PER_RECONCILE - 1) * worst + reconcile["api"]
        others = {k: max(s[k] for s in steady) for k in ("resolve", "xet_token", "cas")}
        self.polls.append([board, f"{now:%H:%M}", f"{day(now - timedelta(days=1)):,} / {day(now):,}",
                           " / ".join(str(s["api"]) for s in steady),
                           f"{others['resolve']} / {others['xet_token']} / {others['cas']}",
                           f"{reconcile_text}, {t4.wall:.2f} s", after,
                           f"{per_window:,} ({per_window / POLLS_PER_RECONCILE:.1f} per poll)",
                           f"{per_window * AGENTS_POLLING:,}"])

    def report(self) -> None:
        if self.first:
            table("First full read, the fake Hub (HTTP requests the real client would make)",
                  ["board", "reader", "msgs", "requests", "CPU s (fake Hub included)", "wall s"], self.first)
        if self.steps:
            table("After the first read, the fake Hub", ["board", "scenario", "requests", "wall s"], self.steps)
        if self.polls:
            table("A poll with nothing new, the fake Hub (API calls unless named)",
                  ["board", "board clock (UTC)", "msgs stamped yesterday / today", "3 polls: API",
                   "resolve / xet / cas (max)", f"poll when the {RECONCILE.seconds // 60}-min reconcile is due",
                   "next poll: API", f"API per agent per {RECONCILE.seconds // 60} min at 1 poll / 30 s",
                   f"{AGENTS_POLLING} agents per {RECONCILE.seconds // 60} min"], self.polls)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=sizes, default=sizes("10000,30000"),
                        help="board sizes of the first-read figures (default 10000,30000; 0 or '' for none)")
    parser.add_argument("--polls", type=sizes, default=sizes("1000,10000,30000"),
                        help="board sizes of the poll figures (default 1000,10000,30000)")
    parser.add_argument("--backends", default="local,s3,hub", help="comma list of local, s3, hub (default all)")
    parser.add_argument("--hub-times", default="00:05,12:00,23:55", type=lambda s: s.split(","),
                        help="times of day (UTC) of the Hub board's clock for the poll figures")
    parser.add_argument("--tail", type=int, default=500,
                        help="S3: also measure a new reader after this many more messages (default 500; 0: no)")
    parser.add_argument("--repeat", type=int, default=3, help="local first reads (and floors) to take the best of")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency added per request on local and S3")
    args = parser.parse_args(argv)
    args.messages = [n for n in args.messages if n > 0]
    args.polls = [n for n in args.polls if n > 0]
    fresh_agent_dirs()  # never the user's folders, even for the setup
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"local", "s3", "hub"}
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(sorted(unknown))}")
    done: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="collab-bench-") as tmp:
        if "local" in backends:
            url = str(Path(tmp) / "space")
            Space.init(url, preset_spec("gsm8k"))
            local = Counted("local", open_store(url), args, folder=Path(url))
            local.run()
            done.append(local)
        if "s3" in backends:
            with moto_server("bench"):
                url = "s3://bench/space"
                Space.init(url, preset_spec("gsm8k"))
                s3 = Counted("s3", open_store(url), args)
                s3.run()
                done.append(s3)
        if "hub" in backends:
            hub = Hub(args)
            hub.run()
            done.append(hub)
    print(f"\n## Board benchmark ({os.cpu_count()} cores; python {sys.version.split()[0]})")
    for part in done:
        part.report()


if __name__ == "__main__":
    main()
