"""Issue 11, breaks 9 and 10 (properties 8 and 9): no user data templated into HTML or JS, and the
dashboard answers only its own Host names and listens on loopback only.

- A task goal containing ``{{TITLE}}`` and a title containing ``"`` broke the dashboard's embedded
  config (the shell did ``replace("{{CONFIG}}")`` then ``replace("{{TITLE}}")``, which also hit the goal
  inside the config), and every page rendered empty.
- A title containing ``/*@SCRIPT@*/`` moved the exported page's script into ``<title>``.
- The dashboard answered any ``Host``: a DNS-rebinding page (evil.example resolving to 127.0.0.1)
  could read a private board. ``--host 0.0.0.0`` exposed it with no authentication.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest
from starlette.testclient import TestClient

from browser_support import HubBucketServer, StaticServer, browser  # noqa: F401  -- browser is a fixture
from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import spec_from_dict
from collabspace.space import Space
from collabspace.web.app import BackgroundServer, create_app
from collabspace.web.export import export_space_files

#: Every slot spelling of both templates, quotes, a script end, an entity, a JS line terminator.
HOSTILE_TITLE = ('Evil "quoted" {{TITLE}} {{CONFIG}} /*@SCRIPT@*/ /*@STYLE@*/ /*@CONFIG@*/ @TITLE@ '
                 "@BUCKET_PAGE@ </title></script><script>alert(1)</script> &amp; \u2028 $& $1 \\1 ' end")
HOSTILE_GOAL = 'Solve {{TITLE}} and "{{CONFIG}}" then /*@SCRIPT@*/ </script><img src=x onerror=alert(2)> $&'


def _spec(title: str = HOSTILE_TITLE, goal: str = HOSTILE_GOAL):
    data = preset_spec("gsm8k").model_dump(mode="json", exclude_none=True)
    data["task"]["title"], data["task"]["goal"] = title, goal
    return spec_from_dict(data)


@pytest.fixture
def hostile_space(tmp_path) -> Space:
    url = str(tmp_path / "space")
    Space.init(url, _spec())
    space = Space.open(url, agent="agent-01")
    space.post("status-update", "hello from a hostile space", topic="hello")
    space.submit("baseline run", score=0.5)
    return Space.open(url)


def _config_block(page: str) -> dict:
    blocks = re.findall(r'<script type="application/json" id="config">(.*?)</script>', page, re.S)
    assert len(blocks) == 1, page[:2000]
    return json.loads(blocks[0])


# -- break 9: templating -----------------------------------------------------------------------------
def test_dashboard_config_survives_a_hostile_title_and_goal(hostile_space):
    client = TestClient(create_app(hostile_space))
    page = client.get("/").text
    config = _config_block(page)
    assert config["title"] == HOSTILE_TITLE and config["goal"] == HOSTILE_GOAL
    # the page's own markup is intact: one data block and two script tags, no element from the spec
    assert page.count("<script") == 3 and page.count("</script>") == 3 and "<img" not in page
    escaped = html.escape(HOSTILE_TITLE)
    assert re.search(r"<title>(.*?)</title>", page, re.S).group(1) == f"{escaped} · collabspace"
    assert re.search(r'<h1 id="title">(.*?)</h1>', page, re.S).group(1) == escaped


def test_exported_page_keeps_its_script_with_a_hostile_title():
    files = export_space_files(_spec(), "https://huggingface.co/buckets/a/b", title=HOSTILE_TITLE)
    page = files["index.html"].decode()
    head_title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "<" not in head_title and "const TITLE" not in head_title and "(function" not in head_title
    assert head_title.startswith("Evil &quot;quoted&quot; {{TITLE}} {{CONFIG}} /*@SCRIPT@*/")
    # exactly one inline script (the page's), after the chart library, holding the config constants
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1 and "const TITLE = " in scripts[0] and "(function ()" in scripts[0]
    assert page.count("</script>") == 2
    assert "<style>\n/*@STYLE@*/" not in page and "/*@CONFIG@*/\n" not in scripts[0]


def test_fill_template_is_one_pass_and_strict():
    from collabspace.web.export import fill_template

    assert fill_template("a {{X}} b {{Y}}", {"X": "{{Y}}", "Y": "/*@X@*/"}) == "a {{Y}} b /*@X@*/"
    with pytest.raises(ValueError):
        fill_template("{{X}} {{Y}}", {"X": "1"})
    with pytest.raises(ValueError):
        fill_template("{{X}}", {"X": "1", "Z": "2"})


def _open(browser, url: str):
    page = browser.new_page()
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    return page, errors, dialogs


def test_dashboard_pages_render_in_chromium_with_hostile_title_and_goal(browser, hostile_space):
    with BackgroundServer(hostile_space) as server:
        for path, ready in (("/", "#messages li.msg"), ("/leaderboard", "#lb-body tr"),
                            ("/claims", "body[data-ready='1']"), ("/agents", "body[data-ready='1']")):
            page, errors, dialogs = _open(browser, server.url + path)
            page.wait_for_selector("body[data-ready='1']", timeout=15_000)
            page.wait_for_selector(ready, timeout=15_000)
            assert page.locator("#title").text_content() == HOSTILE_TITLE
            assert HOSTILE_GOAL in page.locator("#sub").text_content()
            assert page.title().startswith("Evil \"quoted\" {{TITLE}}")
            assert errors == [] and dialogs == [], (path, errors, dialogs)
            if path == "/":
                assert "hello from a hostile space" in page.locator("#messages").inner_text()
            page.close()


def test_exported_page_renders_in_chromium_with_a_hostile_title(browser, tmp_path):
    root = tmp_path / "bucket"
    Space.init(str(root), _spec())
    Space.open(str(root), agent="agent-01").submit("baseline run", score=0.5)
    hub = HubBucketServer(root, "ns/hostile")
    site = tmp_path / "site"
    try:
        for name, data in export_space_files(_spec(), hub.bucket_url, title=HOSTILE_TITLE).items():
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_bytes(data)
        static = StaticServer(site)
        try:
            page, errors, dialogs = _open(browser, static.origin + "/index.html")
            page.wait_for_function("window.__collab && window.__collab.refreshes >= 1", timeout=15_000)
            assert page.title() == HOSTILE_TITLE
            assert page.locator("#title").text_content() == HOSTILE_TITLE
            assert "baseline run" in page.locator("#rows").inner_text()
            assert errors == [] and dialogs == [], (errors, dialogs)
        finally:
            static.close()
    finally:
        hub.close()


# -- break 10: Host header and binding -----------------------------------------------------------------
def _get(port: int, path: str, host: str | None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        try:
            return resp.status, json.loads(body)
        except ValueError:
            return resp.status, {"raw": body[:200].decode("utf-8", "replace")}
    finally:
        conn.close()


REBINDING_HOSTS = ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil.example:{port}",
                   "evil.example@127.0.0.1:{port}", "127.0.0.1:{port}@evil.example", "[::2]:{port}", "0.0.0.0:{port}",
                   "127.0.0.1:{port}:{port}", "127.0.0.1 evil", "", "127.0.0.1:x"]


def test_dashboard_refuses_foreign_host_headers(hostile_space):
    with BackgroundServer(hostile_space) as server:
        port = int(server.url.rsplit(":", 1)[1])
        for good in ("127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "localhost", "[::1]:{port}",
                     "127.0.0.1"):
            status, _ = _get(port, "/api/stats", good.format(port=port))
            assert status == 200, good
        for bad in REBINDING_HOSTS:
            for path in ("/api/board", "/", "/static/dashboard/dashboard.js", "/api/nothing"):
                status, body = _get(port, path, bad.format(port=port))
                assert status == 421, (bad, path, status)
                assert body.get("kind") == "MisdirectedRequest" and body.get("hint"), body
        status, body = _get(port, "/api/board", None)  # no Host at all
        assert status in (400, 421), status


def test_allow_host_adds_names(hostile_space):
    with BackgroundServer(hostile_space, allow_hosts=["dash.lan", "proxy.lan:8443"]) as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert _get(port, "/api/stats", f"dash.lan:{port}")[0] == 200
        assert _get(port, "/api/stats", "dash.lan")[0] == 200
        assert _get(port, "/api/stats", "proxy.lan:8443")[0] == 200
        assert _get(port, "/api/stats", f"proxy.lan:{port}")[0] == 421  # a port given is that port only
        assert _get(port, "/api/stats", "evil.example")[0] == 421


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_background_server_refuses_a_non_loopback_bind(hostile_space, host):
    from collabspace.errors import InvalidInput

    with pytest.raises(InvalidInput, match="no authentication"):
        BackgroundServer(hostile_space, host=host)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_collab_serve_refuses_0_0_0_0_with_one_error_and_a_hint(hostile_space):
    for host in ("0.0.0.0", "::", "10.1.2.3"):
        out = subprocess.run([sys.executable, "-m", "collabspace", "serve", hostile_space.url, "--host", host,
                              "--port", str(_free_port())], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        lines = out.stderr.splitlines()
        assert out.returncode == 1, out.stderr
        assert len(lines) == 2 and lines[0].startswith("error: refusing to listen on") and lines[1].startswith("hint:")
    bad = subprocess.run([sys.executable, "-m", "collabspace", "serve", hostile_space.url, "--allow-host", "a/b"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert bad.returncode == 1 and bad.stderr.startswith("error: not a host name")


def test_collab_serve_process_checks_host(hostile_space):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "collabspace", "serve", hostile_space.url, "--port", str(port),
                             "--allow-host", "board.lan"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ}, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.1)
        assert _get(port, "/api/stats", f"127.0.0.1:{port}")[0] == 200
        assert _get(port, "/api/stats", f"board.lan:{port}")[0] == 200
        status, body = _get(port, "/api/board", f"rebind.evil.example:{port}")
        assert status == 421 and body["kind"] == "MisdirectedRequest"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert b"\x1b" not in proc.stderr.read()  # the hostile title is printed without controls

