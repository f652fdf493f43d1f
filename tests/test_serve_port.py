"""Issue 13, item 5: a port in use is one error and a hint; re-running the demo serves it; demo-space/ is ignored."""

from __future__ import annotations

import socket
import sys
import types
from pathlib import Path

import pytest

from collabspace import Space
from collabspace.domain.setup.presets import preset_spec


def failed(r) -> tuple[str, str]:
    assert r.code == 1, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), r.err
    return lines[0].removeprefix("error: "), lines[1].removeprefix("hint: ")


@pytest.fixture
def busy_port():
    """A port something listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def fake_dashboard(monkeypatch):
    """The dashboard's serve, recorded instead of run."""
    calls = []
    fake = types.ModuleType("collabspace.web.app")
    fake.serve = lambda space, host, port, *, open_browser=False: calls.append((space, host, port))
    monkeypatch.setitem(sys.modules, "collabspace.web.app", fake)
    return calls


def test_serve_on_a_port_in_use_is_one_error_and_a_hint(run_cli, tmp_path, busy_port):
    Space.init(str(tmp_path / "s"), preset_spec("gsm8k"))
    message, hint = failed(run_cli("serve", tmp_path / "s", "--port", busy_port))
    assert message == f"port {busy_port} on 127.0.0.1 is in use (another dashboard or program listens there)"
    assert hint == f"stop it, or pick another port: collab serve {tmp_path / 's'} --port {busy_port + 1}"
    assert "Errno" not in message


def test_demo_on_a_port_in_use_builds_nothing(run_cli, tmp_path, busy_port):
    message, hint = failed(run_cli("demo", tmp_path / "d", "--port", busy_port))
    assert f"port {busy_port} on 127.0.0.1 is in use" in message and f"collab demo {tmp_path / 'd'}" in hint
    assert not (tmp_path / "d").exists()


def test_re_running_the_demo_serves_the_space_already_there(run_cli, tmp_path, fake_dashboard):
    Space.init(str(tmp_path / "d"), preset_spec("gsm8k"))
    before = sorted(p.name for p in (tmp_path / "d").rglob("*"))
    r = run_cli("demo", tmp_path / "d", "--port", "0")
    assert r.code == 0, r
    assert fake_dashboard == [(str((tmp_path / "d").resolve()), "127.0.0.1", 0)]
    assert "already holds a collab space" in r.err and f"collab serve {tmp_path / 'd'}" in r.err
    assert sorted(p.name for p in (tmp_path / "d").rglob("*")) == before  # nothing built over it
    message, hint = failed(run_cli("demo", tmp_path / "d", "--no-serve"))
    assert "already holds a collab space" in message and hint.startswith(f"serve it: collab serve {tmp_path / 'd'}")


def test_demo_space_is_git_ignored():
    ignored = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert "demo-space/" in ignored
