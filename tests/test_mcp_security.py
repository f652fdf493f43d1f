"""Issue 11, break 10 / property 9, for ``collab mcp``: MCP over HTTP is loopback-only, answers only its own
Host names (the SDK's DNS-rebinding protection, on whatever loopback address it is bound to), and its file
tools are confined to a working folder fixed at start.

Before: a client of ``collab mcp --http`` uploaded ``/etc/hostname`` with ``push`` and wrote to an arbitrary
path with ``pull``; with ``--host 0.0.0.0`` (or any address the SDK does not list, e.g. 127.0.0.2) the SDK's
Host check was off.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client

from collabspace import Space
from collabspace.domain.setup.presets import preset_spec

pytestmark = pytest.mark.slow  # real browsers or real processes: CI runs them, the quick lane skips them

SECRET = Path("/etc/hostname") if Path("/etc/hostname").is_file() else Path("/etc/passwd")


@pytest.fixture
def space_url(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("COLLAB_CACHE_DIR", str(tmp_path / "cache"))
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    Space.open(url, agent="agent-02").push(__file__, kind="scripts", name="shared")
    return url


@pytest.fixture
def workdir(tmp_path) -> Path:
    root = tmp_path / "work"
    (root / "sub").mkdir(parents=True)
    (root / "train.py").write_text("print('train')\n")
    (root / "link-out").symlink_to(SECRET)
    (root / "dir-out").symlink_to(SECRET.parent, target_is_directory=True)
    (root / "folder").mkdir()
    (root / "folder" / "ok.txt").write_text("fine\n")
    (root / "leaky").mkdir()
    (root / "leaky" / "ok.txt").write_text("fine\n")
    (root / "leaky" / "secret").symlink_to(SECRET)
    (root / ".env").write_text("TOKEN=secret\n")
    (root / "proj").mkdir()
    (root / "proj" / "main.py").write_text("print(1)\n")
    (root / "proj" / ".git").mkdir()
    (root / "proj" / ".git" / "config").write_text("[core]\n")
    return root


def text(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


ESCAPES = {
    "push": [{"path": str(SECRET)}, {"path": "../outside.txt"}, {"path": "sub/../../outside.txt"},
             {"path": "~/.bashrc"}, {"path": "link-out"}, {"path": "dir-out/" + SECRET.name}, {"path": "leaky"},
             {"path": "dir-out"}, {"path": ""}, {"path": "..\\outside.txt"}, {"path": ".env"},
             {"path": "."}, {"path": "proj"}, {"path": "proj/.git/config"}],
    "pull": [{"key": "artifacts/scripts/shared_agent-02.py", "dest": "/tmp/collab-escape.py"},
             {"key": "artifacts/scripts/shared_agent-02.py", "dest": "../escape.py"},
             {"key": "artifacts/scripts/shared_agent-02.py", "dest": "sub/../../escape.py"},
             {"key": "artifacts/scripts/shared_agent-02.py", "dest": "dir-out/escape.py"},
             {"key": "artifacts/scripts/shared_agent-02.py", "dest": "~/escape.py"},
             {"key": "artifacts/scripts/shared_agent-02.py", "dest": ".bashrc"},
             {"key": "artifacts/scripts/shared_agent-02.py", "dest": "proj/.git/hooks/pre-commit"}],
    "submit": [{"experiment": "x", "predictions_file": str(SECRET)},
               {"experiment": "x", "predictions_file": "../preds.jsonl"},
               {"experiment": "x", "predictions_file": "link-out"}],
}


def test_file_tools_are_confined_to_the_working_folder(space_url, workdir, tmp_path):
    from collabspace.mcp.server import build_server

    space = Space.open(space_url, agent="agent-01")

    async def main():
        out = {}
        async with Client(build_server(space, root=workdir)) as client:
            for tool, calls in ESCAPES.items():
                for args in calls:
                    out[(tool, json.dumps(args))] = await client.call_tool(tool, args)
            out["push ok"] = await client.call_tool("push", {"path": "train.py", "kind": "scripts"})
            out["push folder ok"] = await client.call_tool("push", {"path": "folder", "kind": "data"})
            out["pull ok"] = await client.call_tool("pull", {"key": "artifacts/scripts/shared_agent-02.py",
                                                             "dest": "sub/pulled.py"})
            out["pull dir ok"] = await client.call_tool("pull", {"key": "artifacts/scripts/shared_agent-02.py",
                                                                 "dest": "sub/"})
        return out

    out = asyncio.run(main())
    for (name, result) in out.items():
        if isinstance(name, tuple):
            assert result.is_error, (name, text(result))
            assert "error:" in text(result) and "hint:" in text(result), (name, text(result))
    for name in ("push ok", "push folder ok", "pull ok", "pull dir ok"):
        assert not out[name].is_error, (name, text(out[name]))
    assert (workdir / "sub" / "pulled.py").read_text() == Path(__file__).read_text()
    assert (workdir / "sub" / "shared_agent-02.py").is_file()
    assert not Path("/tmp/collab-escape.py").exists() and not (tmp_path / "escape.py").exists()
    keys = {a.key for a in Space.open(space_url).artifacts()}
    assert "artifacts/scripts/train_agent-01.py" in keys
    assert not any(SECRET.name in k or "link-out" in k or "leaky" in k or "outside" in k for k in keys), keys
    assert [r for r in Space.open(space_url).leaderboard().rows if r.status != "baseline"] == []


def test_workdir_rules():
    from collabspace.errors import InvalidInput
    from collabspace.mcp.server import Workdir

    with pytest.raises(InvalidInput):
        Workdir("/definitely/not/here")
    w = Workdir(Path(__file__).parent)
    assert w.path("test_mcp_security.py", what="path") == __file__
    for bad in ("/etc/passwd", "..", "../x", "a/../../x", "~", "~root/x", "C:\\x", "\\\\server\\share", " ", "a\0b",
                ".ssh/id_rsa", "x/.git/config"):
        with pytest.raises(InvalidInput):
            w.path(bad, what="path")
    with pytest.raises(InvalidInput, match="root"):
        Workdir("/")


# -- over HTTP: real processes -----------------------------------------------------------------------
def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _start(space_url: str, cwd: Path, *args: str, host: str = "127.0.0.1") -> tuple[subprocess.Popen, int]:
    port = _free_port(host)
    env = {**os.environ, "COLLAB_CACHE_DIR": str(cwd.parent / "cache-http")}
    proc = subprocess.Popen([sys.executable, "-m", "collabspace", "mcp", "--space", space_url, "--agent", "agent-01",
                             "--http", str(port), "--host", host, *args], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return proc, port
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the MCP server did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _initialize(addr: str, port: int, host: str | None, origin: str | None = None) -> int:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                       "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                  "clientInfo": {"name": "t", "version": "0"}}}).encode()
    conn = http.client.HTTPConnection(addr, port, timeout=10)
    try:
        conn.putrequest("POST", "/mcp", skip_host=True, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        if origin is not None:
            conn.putheader("Origin", origin)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Accept", "application/json, text/event-stream")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        resp.read(200)
        return resp.status
    finally:
        conn.close()


def test_http_server_checks_host_on_any_loopback_address(space_url, tmp_path):
    """127.0.0.2 is loopback but not in the SDK's own list: before, its Host check was off there."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for addr in ("127.0.0.1", "127.0.0.2"):
        proc, port = _start(space_url, cwd, host=addr)
        try:
            assert _initialize(addr, port, f"{addr}:{port}") == 200
            assert _initialize(addr, port, f"localhost:{port}") == 200
            for bad in ("evil.example", f"evil.example:{port}", f"{addr}.evil.example:{port}", f"0.0.0.0:{port}",
                        f"mcp.lan:{port}"):
                assert _initialize(addr, port, bad) == 421, (addr, bad)
            assert _initialize(addr, port, f"{addr}:{port}", origin="http://evil.example") == 403
        finally:
            _stop(proc)
    proc, port = _start(space_url, cwd, "--allow-host", "mcp.lan")
    try:
        assert _initialize("127.0.0.1", port, f"mcp.lan:{port}") == 200
        assert _initialize("127.0.0.1", port, f"evil.example:{port}") == 421
    finally:
        _stop(proc)


def test_http_push_and_pull_stay_in_the_servers_folder(space_url, tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "train.py").write_text("print('train')\n")
    proc, port = _start(space_url, cwd)
    try:
        async def main():
            out = {}
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                out["secret"] = await client.call_tool("push", {"path": str(SECRET), "kind": "data"})
                out["escape"] = await client.call_tool("pull", {"key": "artifacts/scripts/shared_agent-02.py",
                                                                "dest": str(tmp_path / "written-anywhere.py")})
                out["dotdot"] = await client.call_tool("pull", {"key": "artifacts/scripts/shared_agent-02.py",
                                                                "dest": "../dotdot.py"})
                out["ok push"] = await client.call_tool("push", {"path": "train.py", "kind": "scripts"})
                out["ok pull"] = await client.call_tool("pull", {"key": "artifacts/scripts/shared_agent-02.py",
                                                                 "dest": "got.py"})
            return out

        out = asyncio.run(main())
    finally:
        _stop(proc)
    for name in ("secret", "escape", "dotdot"):
        assert out[name].is_error and "hint:" in text(out[name]), (name, text(out[name]))
    assert "absolute paths are refused" in text(out["secret"]) and "'..'" in text(out["dotdot"])
    assert not (tmp_path / "written-anywhere.py").exists() and not (tmp_path / "dotdot.py").exists()
    assert not out["ok push"].is_error and not out["ok pull"].is_error, (text(out["ok push"]), text(out["ok pull"]))
    assert (cwd / "got.py").is_file()
    assert not any(SECRET.name in a.key for a in Space.open(space_url).artifacts())


def test_http_refuses_a_non_loopback_bind_with_one_error_and_a_hint(space_url, tmp_path):
    for host in ("0.0.0.0", "::", "192.168.7.7", "example.com"):
        out = subprocess.run([sys.executable, "-m", "collabspace", "mcp", "--space", space_url, "--agent", "agent-01",
                              "--http", str(_free_port()), "--host", host], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL, cwd=tmp_path)
        lines = out.stderr.splitlines()
        assert out.returncode == 1, (host, out.stderr)
        assert len(lines) == 2 and lines[0].startswith("error: refusing to listen on") and lines[1].startswith("hint:")


def test_transport_security_uses_the_sdk_settings():
    from mcp.server.transport_security import TransportSecuritySettings

    from collabspace.mcp.server import transport_security

    settings = transport_security("127.0.0.2", ["mcp.lan", "proxy.lan:9000"])
    assert isinstance(settings, TransportSecuritySettings) and settings.enable_dns_rebinding_protection
    assert {"127.0.0.2:*", "localhost:*", "[::1]:*", "127.0.0.1:*", "mcp.lan:*", "proxy.lan:9000"} <= set(
        settings.allowed_hosts)
    assert not any("*" == h or h.startswith("*") for h in settings.allowed_hosts)
