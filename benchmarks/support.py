"""What the benchmarks share: a real S3 server (moto) on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto_server(*buckets: str) -> Iterator[str]:
    """Start moto's S3 server in its own process (so it does not share our GIL), create ``buckets``,
    point the AWS variables at it, and yield its endpoint."""
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
