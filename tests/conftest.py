"""Shared fixtures: spaces on memory, a local folder, and a real S3 server on loopback."""

from __future__ import annotations

import itertools
import os
import socket
import uuid
from datetime import datetime, timezone

import pytest

from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space

_counter = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True, scope="session")
def _isolated_session(tmp_path_factory):
    """Session and module fixtures (servers, subprocesses) never touch the user's folders either."""
    os.environ["COLLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("session-cache"))
    os.environ["COLLAB_STATE_DIR"] = str(tmp_path_factory.mktemp("session-state"))
    os.environ["COLLAB_CONFIG_DIR"] = str(tmp_path_factory.mktemp("session-config"))
    os.environ.pop("COLLAB_TOKEN", None)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's board index and cursors out of the user's real cache and state folders."""
    monkeypatch.setenv("COLLAB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("COLLAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("COLLAB_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(scope="session")
def s3_server():
    """A real S3 server (moto's server mode) on 127.0.0.1, for the whole session.

    Sets the standard AWS variables so that ``s3://`` addresses reach it, and
    yields its endpoint URL.
    """
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")}
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1"
    )
    yield endpoint
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def s3_bucket(s3_server):
    """A fresh, empty bucket on the loopback S3 server; yields its name."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def memory_url() -> str:
    """A fresh ``memory://`` space address."""
    return f"memory://test-{next(_counter)}-{uuid.uuid4().hex[:8]}"


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 4, 25, 14, 30, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def gsm8k_space(memory_url, clock) -> Space:
    """An initialised GSM8K space in memory, acting as agent-01, with a fixed clock."""
    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    return Space.open(memory_url, agent="agent-01", clock=clock)


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out[:300]!r}, err={self.err[:300]!r})"


@pytest.fixture
def run_cli(capsysbinary, monkeypatch):
    """Run ``collab ARGS`` in-process through the real entry point; returns code, stdout, stderr."""
    from collabspace.cli import main

    def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> CliResult:
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        if stdin is not None:
            import io
            import sys

            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsysbinary.readouterr()
        return CliResult(code, captured.out.decode(), captured.err.decode())

    return run
