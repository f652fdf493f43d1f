"""Helpers for browser tests: a bucket served the way the Hugging Face Hub serves one, and Chromium.

:class:`HubBucketServer` serves a local folder (a space written by the real
product) on 127.0.0.1 with the Hub's bucket routes:

    GET /buckets/NS/NAME/resolve/{path}                    the file's bytes
    GET /api/buckets/NS/NAME/tree/{path}?recursive=true    a JSON array of {type, path, size, xetHash,
                                                           mtime, uploadedAt}, paged with a Link header

with CORS headers like a cross-origin API (the page is served from another
origin by :class:`StaticServer`, as a Space is). ``deny`` makes every bucket
route answer 401, as the Hub does for a private bucket to a stranger.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import shutil
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

CHROMIUM = os.environ.get("COLLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install -e '.[test]')"
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set COLLAB_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium (Debian's, driven by Playwright) per test module; fails if it is not installed."""
    why = chromium_missing()
    assert not why, f"{why} (install it: apt-get install -y chromium; .ci/run does)"
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception:
        pw.stop()
        raise
    yield b
    b.close()
    pw.stop()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


class _Server:
    """A threaded HTTP server on 127.0.0.1 and a random port, in a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        bound = type(handler.__name__, (handler,), {"owner": self})  # one handler class per server
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), bound)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    owner: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 -- quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()


class HubBucketServer(_Server):
    """Serve ``root`` as the Hub bucket ``NS/NAME`` (see the module docstring).

    Attributes:
        deny: answer 401 on every bucket route (a private bucket, visitor not signed in).
        page_size: entries per listing page (small, so that tests cross pages).
    """

    def __init__(self, root: Path, bucket: str = "ns/gsm8k-collab", *, page_size: int = 4) -> None:
        self.root = Path(root)
        self.bucket = bucket
        self.deny = False
        self.page_size = page_size
        super().__init__(_BucketHandler)

    @property
    def bucket_url(self) -> str:
        """The bucket's public base URL, as ``collab export-space --bucket-url`` takes it."""
        return f"{self.origin}/buckets/{self.bucket}"

    def entries(self, prefix: str) -> list[dict] | None:
        """The tree listing of ``prefix`` (``None``: nothing there)."""
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return None
        out = []
        for path in sorted(base.rglob("*")) if base.is_dir() else [base]:
            rel = path.relative_to(self.root).as_posix()
            if path.is_dir():
                out.append({"type": "directory", "path": rel, "uploadedAt": _iso(path.stat().st_mtime)})
                continue
            data = path.read_bytes()
            stat = path.stat()
            out.append({
                "type": "file", "path": rel, "size": len(data), "xetHash": hashlib.sha256(data).hexdigest(),
                "mtime": _iso(stat.st_mtime), "uploadedAt": _iso(stat.st_mtime),
            })
        return out


class _BucketHandler(_Handler):
    owner: HubBucketServer

    CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Link"}

    def do_GET(self) -> None:  # noqa: N802
        srv = self.owner
        srv.requests.append(self.path)
        url = urlsplit(self.path)
        resolve = f"/buckets/{srv.bucket}/resolve/"
        tree = f"/api/buckets/{srv.bucket}/tree"
        if not (url.path.startswith(resolve) or url.path.startswith(tree)):
            return self._send(404, b'{"error":"Not Found"}', "application/json", self.CORS)
        if srv.deny:
            return self._send(401, b'{"error":"Invalid credentials in Authorization header"}', "application/json", self.CORS)
        if url.path.startswith(resolve):
            key = unquote(url.path[len(resolve):])
            path = srv.root / key
            if ".." in key.split("/") or not path.is_file():
                return self._send(404, b'{"error":"Entry not found"}', "application/json", self.CORS)
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return self._send(200, path.read_bytes(), ctype, self.CORS)
        prefix = unquote(url.path[len(tree):]).strip("/")
        entries = srv.entries(prefix)
        if entries is None:
            return self._send(404, b'{"error":"Entry not found"}', "application/json", self.CORS)
        query = parse_qs(url.query)
        if query.get("recursive", [""])[0] != "true":
            entries = [e for e in entries if "/" not in e["path"][len(prefix) + 1 if prefix else 0:]]
        start = int(query.get("cursor", ["0"])[0])
        page = entries[start:start + srv.page_size]
        headers = dict(self.CORS)
        if start + srv.page_size < len(entries):
            nxt = f"{srv.origin}{tree}/{quote(prefix)}?recursive={query.get('recursive', ['false'])[0]}&cursor={start + srv.page_size}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        return self._send(200, json.dumps(page).encode(), "application/json", headers)


class StaticServer(_Server):
    """Serve a folder (the exported Space) as a static Space does."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        super().__init__(_StaticHandler)


class _StaticHandler(_Handler):
    owner: StaticServer

    def do_GET(self) -> None:  # noqa: N802
        self.owner.requests.append(self.path)
        rel = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        path = self.owner.root / rel
        if ".." in rel.split("/") or not path.is_file():
            return self._send(404, b"not found", "text/plain")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return self._send(200, path.read_bytes(), ctype)
