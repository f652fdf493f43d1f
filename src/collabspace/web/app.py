"""The live dashboard (``collab serve``): a Starlette app over one :class:`~collabspace.space.Space`.

Pages and their JSON twins (the same data the page shows)::

    /  or /board          /api/board?agent=&type=&before=&limit=   the newest 200 messages; "load older" pages back
    /thread/{file}        /api/thread/{file}                       a message, what it answers, what answers it
    /search?q=WORDS       /api/search?q=WORDS                      full-text search of the board
    /leaderboard          /api/leaderboard                         every row, each result's time, best-so-far lines
    /claims               /api/claims                              live claims with time left, recently ended ones
    /agents               /api/agents                              registrations, last seen, posts and results
                          /api/stats                               the header: agents, messages, threads, best

Every page is one HTML shell (``static/dashboard/``) whose script renders the
view from the JSON and polls ``/api/stats`` every two seconds (``ETag`` /
``304``), fetching the board or the leaderboard again only when their version
moved. Errors are JSON ``{error, hint, kind}`` (``CollabError.to_dict()``).
Message bodies are rendered to safe HTML on the server (:mod:`.render`); the
pages also send a Content-Security-Policy that allows scripts from this server only.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import threading
import webbrowser
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import CollabError, Conflict, InvalidInput, NotFound
from ..space import Space
from . import api
from .live import LiveSpace

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_STATUS = {NotFound: 404, InvalidInput: 400, Conflict: 409}
PAGES = ("/", "/board", "/leaderboard", "/claims", "/agents", "/search", "/thread/{file:path}")


def _status(exc: CollabError) -> int:
    return next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 500)


def _json(request: Request, data: Any) -> Response:
    """JSON with an ETag; ``304`` when the client already has it."""
    body = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, got {value!r}", hint=f"e.g. ?{name}=200") from None


def _shell(space: Space) -> str:
    spec = space.spec
    config = {"title": spec.task.title, "task": spec.task.id, "goal": spec.task.goal, "metric": spec.metric.name,
              "direction": spec.metric.direction, "url": space.url, "types": list(spec.message_types)}
    page = resources.files("collabspace.web").joinpath("static/dashboard/index.html").read_text("utf-8")
    safe = json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = spec.task.title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return page.replace("{{CONFIG}}", safe).replace("{{TITLE}}", title)


def create_app(space: Space | str, *, live: LiveSpace | None = None) -> Starlette:
    """The dashboard app for a space (an opened :class:`Space` or an address)."""
    space = Space.open(space) if isinstance(space, str) else space
    live = live or LiveSpace(space)

    def endpoint(build: Any) -> Any:
        def handler(request: Request) -> Response:
            live.ensure()
            return _json(request, build(request))
        return handler

    def page(request: Request) -> Response:
        return HTMLResponse(_shell(space), headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                                                    "X-Content-Type-Options": "nosniff"})

    q = lambda r, name: r.query_params.get(name) or None  # noqa: E731
    routes = [
        Route("/api/board", endpoint(lambda r: api.board(live, type=q(r, "type"), agent=q(r, "agent"),
                                                         before=q(r, "before"), limit=_int(r, "limit")))),
        Route("/api/thread/{file:path}", endpoint(lambda r: api.thread(live, r.path_params["file"]))),
        Route("/api/search", endpoint(lambda r: api.search(live, r.query_params.get("q", ""),
                                                           limit=_int(r, "limit") or 50))),
        Route("/api/leaderboard", endpoint(lambda r: api.leaderboard(live))),
        Route("/api/claims", endpoint(lambda r: api.claims(live))),
        Route("/api/agents", endpoint(lambda r: api.agents(live))),
        Route("/api/stats", endpoint(lambda r: api.stats(live))),
        Route("/api/version", endpoint(lambda r: live.version)),
        *(Route(path, page) for path in PAGES),
        Mount("/static", StaticFiles(packages=[("collabspace.web", "static")]), name="static"),
    ]

    async def collab_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CollabError)
        return JSONResponse(exc.to_dict(), status_code=_status(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/api/") or exc.status_code != 404:
            kind = "NotFound" if exc.status_code == 404 else "HTTPError"
            return JSONResponse({"error": exc.detail, "hint": "the API is listed at /api/board, /api/leaderboard, "
                                 "/api/claims, /api/agents, /api/stats, /api/thread/FILE, /api/search?q=", "kind": kind},
                                status_code=exc.status_code)
        return HTMLResponse("<!doctype html><title>Not found</title><p>Not found. <a href='/'>Back to the board</a></p>",
                            status_code=404)

    async def internal_error(request: Request, exc: Exception) -> Response:
        print(f"collab serve: internal error on {request.url.path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return JSONResponse({"error": f"internal error: {type(exc).__name__}", "hint": "see the server's log",
                             "kind": "InternalError"}, status_code=500)

    app = Starlette(routes=routes, middleware=[Middleware(GZipMiddleware, minimum_size=1024)],
                    exception_handlers={CollabError: collab_error, HTTPException: http_error, Exception: internal_error})
    app.state.live = live
    app.state.space = space
    return app


class BackgroundServer:
    """The dashboard served by uvicorn in a daemon thread (tests, ``collab demo``, benchmarks).

    Args:
        space: the space or its address.
        host, port: where to listen; port 0 picks a free one (see :attr:`url`).
        warm: read the board and the results before accepting requests.
    """

    def __init__(self, space: Space | str, host: str = "127.0.0.1", port: int = 0, *, warm: bool = True) -> None:
        import uvicorn

        self.app = create_app(space)
        self.live: LiveSpace = self.app.state.live
        if warm:
            self.live.refresh(force=True)
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> BackgroundServer:
        self.live.start()
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.live.stop()
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(space: Space | str, host: str = "127.0.0.1", port: int = 8000, *, open_browser: bool = False,
          refresh: float | None = None) -> None:
    """Serve the dashboard until interrupted (Ctrl-C).

    Args:
        space: an opened :class:`Space` or an address.
        host, port: where to listen (127.0.0.1:8000 by default: this machine only).
        open_browser: open the dashboard in the default browser once it is up.
        refresh: seconds between looks at the store (default: 1 on a folder, 10 on S3 and the Hub).

    Raises:
        NotFound: there is no space at the address.
        StoreError: the store cannot be read.
    """
    import uvicorn

    space = Space.open(space) if isinstance(space, str) else space
    print(f"Reading {space.url} ...", file=sys.stderr)
    app = create_app(space, live=LiveSpace(space, interval=refresh))
    app.state.live.refresh(force=True)
    app.state.live.start()
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    board = app.state.live.board
    print(f"Dashboard for {space.spec.task.title} ({len(board.messages)} messages) on {url}  (Ctrl-C to stop)",
          file=sys.stderr)
    if open_browser:
        threading.Timer(0.8, webbrowser.open, [url]).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="off")
