"""Parse benchmark: CPU to parse N typical message files (default 10,000), old parser against new.

Parses the same in-memory files (no store, no index) with :func:`frontmatter.parse`
and with the whole :func:`parse_message`, switching only the YAML loader
:mod:`collabspace.domain.frontmatter` uses:

* ``old``: ``yaml.safe_load``, pure Python and unbounded (what the code did before);
* ``new, fallback``: the bounded pure-Python loader (used when PyYAML has no libyaml);
* ``new``: the bounded libyaml loader, the default;
* ``floor``: ``yaml.load(..., CSafeLoader)`` unbounded, the fastest PyYAML can go.

(The variants are swapped in through the module's private ``_load``; this is a benchmark.)

    python benchmarks/bench_parse.py
    python benchmarks/bench_parse.py --messages 1000 --repeat 5
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import yaml

from collabspace.domain import frontmatter
from collabspace.domain.board.messages import message_filename, parse_message, render_message

TYPES = ("status-update", "experiment-proposal", "results-report", "question", "build-on")


def typical_files(n: int) -> list[tuple[str, bytes]]:
    """Messages as :func:`bench_board.fill_board` writes them, every third one with refs to earlier ones."""
    end = datetime(2026, 4, 25, 14, 30, tzinfo=timezone.utc)
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        now = end - timedelta(seconds=30 * (n - 1 - i))
        agent, kind = f"agent-{i % 20:02d}", TYPES[i % len(TYPES)]
        body = f"# Update {i}\n\nRun {i}: tried learning rate {i % 7}e-4 on lora rank {2 ** (i % 6)}; notes follow.\n"
        refs = tuple(out[j][0] for j in range(max(0, i - 2), i)) if i % 3 == 0 else ()
        key = message_filename(now, agent, f"{kind}-{i}")
        out.append((key, render_message(agent=agent, type=kind, now=now, refs=refs, body=body * 3).encode()))
    return out


def bounded(loader: type) -> Callable[[str], Any]:
    def load(block: str) -> Any:
        frontmatter.Loader = loader
        return BOUNDED(block)
    return load


BOUNDED = frontmatter._load


def cpu_seconds(files: list[tuple[str, bytes]], variants: list[tuple[str, Callable[[str], Any]]], repeat: int,
                whole: bool) -> dict[str, float]:
    """Best CPU time per variant; the variants take turns, so a busy machine slows them alike."""
    best = {name: float("inf") for name, _ in variants}
    default = frontmatter.Loader
    try:
        for _ in range(repeat):
            for name, load in variants:
                frontmatter._load = load
                start = time.process_time()
                for key, data in files:
                    if whole:
                        parse_message(key, data)
                    else:
                        frontmatter.parse(data)
                best[name] = min(best[name], time.process_time() - start)
    finally:
        frontmatter.Loader, frontmatter._load = default, BOUNDED
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the best is shown")
    args = parser.parse_args()
    files = typical_files(args.messages)
    variants = [("old (yaml.safe_load, unbounded)", yaml.safe_load),
                ("new, fallback (bounded pure Python)", bounded(frontmatter.PyLoader))]
    if frontmatter.CLoader is not None:
        variants += [("new (bounded libyaml, the default)", bounded(frontmatter.CLoader)),
                     ("floor (CSafeLoader, unbounded)", lambda block: yaml.load(block, Loader=yaml.CSafeLoader))]
    size = sum(len(d) for _, d in files) / len(files)
    print(f"{len(files):,} typical message files ({size:.0f} bytes each), best of {args.repeat}, CPU seconds")
    for whole, what in ((False, "frontmatter.parse"), (True, "parse_message (frontmatter + filename + timestamp)")):
        times = cpu_seconds(files, variants, args.repeat, whole)
        old = times[variants[0][0]]
        print(f"{what}:")
        for name, seconds in times.items():
            print(f"  {name:38} {seconds:7.3f} s  {seconds / len(files) * 1e6:6.1f} us/file  {old / seconds:5.1f}x old")


if __name__ == "__main__":
    main()
