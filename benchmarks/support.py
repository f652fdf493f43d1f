"""What the benchmarks share: a real S3 server (moto) on 127.0.0.1, the fake Hub, fresh machine-local
folders per "new agent", a movable clock, CPU/wall timing and table printing."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto_server(*buckets: str) -> Iterator[str]:
    """Start moto's S3 server in its own process (so it does not share our GIL, nor count in our CPU),
    create ``buckets``, point the AWS variables at it, and yield its endpoint."""
    import boto3

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from moto.server import main; main(sys.argv[1:])",
         "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_REGION="us-east-1")
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        for bucket in buckets:
            for _ in range(100):
                try:
                    client.create_bucket(Bucket=bucket)
                    break
                except Exception:  # noqa: BLE001 -- the server is still starting
                    time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait()


_MADE: list[str] = []


@atexit.register
def _remove_made() -> None:
    for folder in _MADE:
        shutil.rmtree(folder, ignore_errors=True)


def fresh_agent_dirs() -> None:
    """Point the caches (``COLLAB_CACHE_DIR``) and the state (``COLLAB_STATE_DIR``: cursors) at empty
    folders: the next Space opened is a new agent on a new machine. Never the user's own folders;
    these are removed when the benchmark exits."""
    for var, prefix in (("COLLAB_CACHE_DIR", "collab-bench-cache-"), ("COLLAB_STATE_DIR", "collab-bench-state-")):
        os.environ[var] = tempfile.mkdtemp(prefix=prefix)
        _MADE.append(os.environ[var])


def fake_hub(bucket: str = "bench/space") -> tuple[Any, Any]:
    """A :class:`FakeHfApi` (tests/fake_hub.py, which counts API calls, resolves, xet tokens and CAS
    fetches as the real client would make them) with one bucket, and an ``HFBucketStore`` on it."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from fake_hub import FakeHfApi

    from collabspace.storage.hf import HFBucketStore

    api = FakeHfApi()
    api.create_bucket(bucket)
    api.counts.reset()
    return api, HFBucketStore(bucket, "", api=api)


def hub_counts(api: Any) -> str:
    """A fake Hub's counts since its last reset, as ``api N, resolve N, xet N, cas N``."""
    snap = api.counts.snapshot()
    return f"api {snap['api']:,}, resolve {snap['resolve']:,}, xet {snap['xet_token']:,}, cas {snap['cas']:,}"


class Clock:
    """A UTC clock for a Space (``Space(store, clock=...)``): the real time plus a shift, which the
    benchmark moves (to make the 5-minute reconcile due, or to put the board at a time of day)."""

    def __init__(self, shift: timedelta = timedelta(0)) -> None:
        self.shift = shift

    def __call__(self) -> datetime:
        from collabspace.domain.timefmt import utcnow

        return utcnow() + self.shift

    @classmethod
    def at(cls, hhmm: str) -> Clock:
        """A clock that reads ``HH:MM`` UTC of yesterday now (and runs on from there)."""
        from collabspace.domain.timefmt import utcnow

        now = utcnow()
        hours, minutes = (int(x) for x in hhmm.split(":"))
        target = (now - timedelta(days=1)).replace(hour=hours, minute=minutes, second=0, microsecond=0)
        return cls(target - now)


@dataclass
class Timing:
    cpu: float  # time.process_time: this process, all threads (a server in another process is not in it)
    wall: float
    result: Any = None


def timed(fn: Callable[[], Any]) -> Timing:
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return Timing(time.process_time() - cpu, time.perf_counter() - wall, result)


def sizes(text: str) -> list[int]:
    """``"10000,30k"`` -> ``[10000, 30000]``."""
    out = []
    for part in filter(None, (p.strip().lower().replace("_", "") for p in text.split(","))):
        out.append(int(float(part[:-1]) * 1000) if part.endswith("k") else int(part))
    return out


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a markdown table (flushed: a long run shows its tables as they come)."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    sys.stdout.flush()


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
