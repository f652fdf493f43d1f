"""Artifact transfer benchmark on an S3 space (moto's server on 127.0.0.1).

1. Push then pull a folder of 64 files (512 MiB by default) with ``collab``'s
   Space API, side by side with a plain copy of the same bytes by obstore (the
   client library underneath), with the same number of parallel transfers.
2. Change one 10 MiB file of a pushed folder and push again: bytes sent
   (counted as the bytes read from disk and handed to the client), and time.

    python benchmarks/bench_artifacts.py
    python benchmarks/bench_artifacts.py --files 16 --mib 128
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import obstore
import obstore.store as ost

from support import moto_server

from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space

MiB = 1024 * 1024
WORKERS = 8  # collab's default parallelism, used for the plain copy too


class Counter:
    def __init__(self) -> None:
        self.bytes = 0

    def start(self, total_bytes: int, files: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        self.bytes += nbytes


def make_folder(root: Path, files: int, total_mib: int) -> int:
    root.mkdir(parents=True)
    size = total_mib * MiB // files
    for i in range(files):
        (root / f"shard-{i:03d}.bin").write_bytes(os.urandom(size))
    return size * files


def plain_put(store: ost.S3Store, folder: Path, prefix: str) -> None:
    files = sorted(folder.iterdir())
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda f: obstore.put(store, f"{prefix}/{f.name}", f), files))


def plain_get(store: ost.S3Store, prefix: str, dest: Path) -> None:
    dest.mkdir(parents=True)
    keys = [m["path"] for batch in obstore.list(store, prefix) for m in batch]

    def one(key: str) -> None:
        with open(dest / key.rsplit("/", 1)[-1], "wb") as f:
            for chunk in obstore.get(store, key).stream(min_chunk_size=MiB):
                f.write(chunk)

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, keys))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--mib", type=int, default=512, help="total size of the folder")
    args = parser.parse_args()
    os.environ["COLLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="collab-bench-cache-")  # never the user's cache

    with moto_server("bench-artifacts") as endpoint:
        run(endpoint, args)


def run(endpoint: str, args: argparse.Namespace) -> None:
    raw = ost.S3Store("bench-artifacts", config={"endpoint": endpoint, "region": "us-east-1"},
                      client_options={"allow_http": True})
    work = Path(tempfile.mkdtemp(prefix="bench-artifacts-"))
    try:
        folder = work / "ckpt"
        total = make_folder(folder, args.files, args.mib)
        url = "s3://bench-artifacts/space"
        Space.init(url, preset_spec("gsm8k"))
        space = Space.open(url, agent="agent-01")
        mb = total / 1e6
        print(f"folder: {args.files} files, {total / MiB:.0f} MiB; moto S3 on {endpoint}; {WORKERS} parallel transfers")

        t_plain_put = timed(lambda: plain_put(raw, folder, "plain"))
        t_push = timed(lambda: space.push(str(folder), name="ckpt"))
        t_plain_get = timed(lambda: plain_get(raw, "plain", work / "plain-out"))
        t_pull = timed(lambda: space.pull("artifacts/checkpoints/ckpt_agent-01", str(work / "pull-out")))
        assert all((work / "pull-out" / f.name).stat().st_size == f.stat().st_size for f in folder.iterdir())
        print(f"{'':24}{'seconds':>9}{'MB/s':>9}{'vs plain':>10}")
        print(f"{'plain obstore put':24}{t_plain_put:9.2f}{mb / t_plain_put:9.1f}")
        print(f"{'collab push':24}{t_push:9.2f}{mb / t_push:9.1f}{t_plain_put / t_push:10.0%}")
        print(f"{'plain obstore get':24}{t_plain_get:9.2f}{mb / t_plain_get:9.1f}")
        print(f"{'collab pull':24}{t_pull:9.2f}{mb / t_pull:9.1f}{t_plain_get / t_pull:10.0%}")

        t_noop = timed(lambda: space.push(str(folder), name="ckpt"))
        t_resume = timed(lambda: space.pull("artifacts/checkpoints/ckpt_agent-01", str(work / "pull-out")))
        print(f"unchanged re-push: {t_noop:.2f} s (0 bytes sent); re-pull of a complete folder: {t_resume:.2f} s")

        ten = folder / "weights-10mib.bin"
        ten.write_bytes(os.urandom(10 * MiB))
        space.push(str(folder), name="ckpt")
        with ten.open("r+b") as f:  # change a few bytes in the middle
            f.seek(5 * MiB)
            f.write(b"changed!")
        counter = Counter()
        start = time.perf_counter()
        report = space.push(str(folder), name="ckpt", replace=True, progress=counter)
        seconds = time.perf_counter() - start
        print(f"changed 10 MiB file re-pushed: {counter.bytes / MiB:.2f} MiB sent "
              f"({counter.bytes / (10 * MiB):.2f} x 10 MiB), {len(report.uploaded)} file uploaded, "
              f"{len(report.skipped)} skipped, {seconds:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
