"""Two gateway processes over one real S3 server (moto), 8 client processes split across them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import spec_from_dict
from collabspace.gateway.identity import Tokens, new_token
from collabspace.remote import RemoteSpace
from collabspace.space import Space

pytestmark = pytest.mark.slow

_POSTER = """
import sys
from collabspace.remote import RemoteSpace
url, token, tag = sys.argv[1:4]
space = RemoteSpace(url, token=token)
for i in range(50):
    space.post("status-update", f"{tag}-{i}", topic="load")
"""

_SUBMITTER = """
import sys
from collabspace.remote import RemoteSpace
url, token, name = sys.argv[1:4]
RemoteSpace(url, token=token).submit("replica run", score=0.5, name=name)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "gateway exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the gateway did not start")


def test_two_replicas_over_one_bucket(s3_bucket, tmp_path):
    url = f"s3://{s3_bucket}/challenge"
    spec = spec_from_dict({**preset_spec("gsm8k").model_dump(mode="json", exclude_none=True),
                           "gateway": {"posts_per_minute": 1000, "submits_per_hour": 1000}})
    space = Space.init(url, spec)
    tokens = {}
    for i in range(8):
        agent = f"agent-{i:02d}"
        tokens[agent] = new_token(agent)
        Tokens(space.store).bind(agent, tokens[agent])
    env = {**os.environ, "COLLAB_CACHE_DIR": str(tmp_path / "gw-cache"), "COLLAB_STATE_DIR": str(tmp_path / "gw-state")}
    ports = [_free_port(), _free_port()]
    gateways = [subprocess.Popen([sys.executable, "-m", "collabspace.cli", "gateway", "serve", url, "--port", str(p),
                                  "--ttl", "2"], env={**env, "COLLAB_CACHE_DIR": str(tmp_path / f"gw{p}")},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for p in ports]
    try:
        for port, proc in zip(ports, gateways):
            _wait_up(port, proc)
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        clients = []
        for i, agent in enumerate(tokens):
            cenv = {**env, "COLLAB_CACHE_DIR": str(tmp_path / f"c{i}"), "COLLAB_STATE_DIR": str(tmp_path / f"s{i}")}
            clients.append(subprocess.Popen([sys.executable, "-c", _POSTER, urls[i % 2], tokens[agent], agent],
                                            env=cenv, stderr=subprocess.PIPE, text=True))
        errors = [p.communicate(timeout=600)[1] for p in clients]
        assert [p.returncode for p in clients] == [0] * 8, errors

        stored = [i.key for i in space.store.list("message_board/") if "_load" in i.key]
        bodies = sorted(space.store.get(k).decode().rsplit("\n", 2)[-2].strip() for k in stored)
        assert len(stored) == 400
        assert bodies == sorted(f"agent-{i:02d}-{n}" for i in range(8) for n in range(50))
        time.sleep(2.5)  # one TTL: both replicas see everything
        for gw_url in urls:
            reader = RemoteSpace(gw_url, token=tokens["agent-00"])
            seen = [m for m in reader.read(all=True).messages if m.topic == "load"]
            assert len(seen) == 400 and len({m.key for m in seen}) == 400

        subs = [subprocess.Popen([sys.executable, "-c", _SUBMITTER, urls[n % 2], tokens[f"agent-{n % 8:02d}"],
                                  f"run-{n}"], env={**env, "COLLAB_CACHE_DIR": str(tmp_path / f"sub{n}")},
                                 stderr=subprocess.PIPE, text=True) for n in range(16)]
        errors = [p.communicate(timeout=600)[1] for p in subs]
        assert [p.returncode for p in subs] == [0] * 16, errors
        time.sleep(2.5)
        for gw_url in urls:
            rows = [r for r in RemoteSpace(gw_url, token=tokens["agent-01"]).leaderboard().rows
                    if r.experiment == "replica run"]
            assert len(rows) == 16
        published = space.store.get("LEADERBOARD.md").decode()
        assert all(f"run-{n}_agent-" in published for n in range(16))
    finally:
        for proc in gateways:
            proc.terminate()
            proc.wait(timeout=30)
