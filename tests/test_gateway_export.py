"""The exported Docker Space: its start command starts the gateway from a fresh virtual environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import venv

import httpx2 as httpx
import pytest

from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space

pytestmark = pytest.mark.slow


def test_exported_space_starts_the_gateway(tmp_path, run_cli):
    dest = tmp_path / "gateway-space"
    r = run_cli("export-gateway", str(dest), "--title", "GSM8K challenge")
    assert r.code == 0, r
    readme = (dest / "README.md").read_text()
    assert "sdk: docker" in readme and "app_port: 7860" in readme and "title: GSM8K challenge" in readme
    wheel = next(dest.glob("collabspace-*.whl"))
    docker = (dest / "Dockerfile").read_text()
    assert f"COPY --chown=user {wheel.name} start.sh" in docker and f'"./{wheel.name}[gateway,hf]"' in docker
    assert 'CMD ["sh", "start.sh"]' in docker

    env_dir = tmp_path / "fresh-venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    install = subprocess.run([str(py), "-m", "pip", "install", "-q", f"{wheel}[gateway]"], capture_output=True,
                             text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]

    Space.init(str(tmp_path / "space"), preset_spec("gsm8k"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}", "HOME": str(tmp_path), "COLLAB_SPACE":
           str(tmp_path / "space"), "PORT": str(port), "SPACE_HOST": "me-gsm8k.hf.space",
           "COLLAB_CACHE_DIR": str(tmp_path / "c"), "COLLAB_STATE_DIR": str(tmp_path / "s")}
    proc = subprocess.Popen(["sh", "start.sh"], cwd=dest, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/v1", headers={"Host": "me-gsm8k.hf.space"}, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["service"] == "collabspace-gateway"
        assert r.json()["space"]["title"] == "GSM8K"
        assert httpx.get(f"http://127.0.0.1:{port}/v1", headers={"Host": "evil.example"}).status_code == 421
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert sys.executable != str(py)
