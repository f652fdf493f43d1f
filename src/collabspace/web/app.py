"""The live dashboard (``collab serve``): a Starlette app over one :class:`~collabspace.space.Space`.

Pages and their JSON twins (the same data the page shows)::

    /  or /board          /api/board?agent=&type=&before=&limit=   the newest 200 messages; "load older" pages back
    /thread/{file}        /api/thread/{file}                       a message, what it answers, what answers it
    /search?q=WORDS       /api/search?q=WORDS                      full-text search of the board
    /leaderboard          /api/leaderboard                         every row, each result's time, best-so-far lines
    /result/{file}        /api/result/{file}                       a verified result's per-item correctness
    /compare?r=A&r=B      /api/compare?r=A&r=B                     verified results item by item, oracle, majority
    /claims               /api/claims                              live claims with time left, recently ended ones
    /agents               /api/agents                              registrations, last seen, posts and results
                          /api/stats                               the header: agents, messages, threads, best

Every page is one HTML shell (``static/dashboard/``) whose script renders the
view from the JSON and polls ``/api/stats`` every two seconds (``ETag`` /
``304``), fetching the board or the leaderboard again only when their version
moved. Errors are JSON ``{error, hint, kind}`` (``CollabError.to_dict()``).
Message bodies are rendered to safe HTML on the server (:mod:`.render`); the
pages also send a Content-Security-Policy that allows scripts from this server only.
No text of the spec or the store is templated into the page's markup or script: the
page's configuration travels as JSON in a ``<script type="application/json">`` data
block, filled in one pass with the (escaped) title (:func:`.export.fill_template`).

Network: the server answers only requests whose ``Host`` is the bound address,
``localhost``, ``127.0.0.1``, ``[::1]`` or one given with ``--allow-host`` (any
other, e.g. a DNS-rebinding page's own name, gets ``421``), and it refuses to
listen on a non-loopback address: there is no authentication yet.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import json
import re
import socket
import sys
import threading
import webbrowser
from importlib import resources
from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import CollabError, Conflict, InvalidInput, NotFound
from ..space import Space
from . import api
from .export import fill_template, script_json
from .live import LiveSpace

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_STATUS = {NotFound: 404, InvalidInput: 400, Conflict: 409}
#: Control characters, taken out of the text this server prints on its terminal (cf. ``cli.app.terminal_text``).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PAGES = ("/", "/board", "/leaderboard", "/claims", "/agents", "/search", "/thread/{file:path}", "/result/{file:path}",
         "/compare")


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


def _shell(space: Space, extra: dict[str, str] | None = None) -> str:
    """The page: the static shell with the config as a JSON data block and the title as HTML text.

    ``extra`` adds to the config (a gateway gives ``events``, its event stream, and ``compose``, its
    composer page)."""
    spec = space.spec
    config = {"title": spec.task.title, "task": spec.task.id, "goal": spec.task.goal, "metric": spec.metric.name,
              "direction": spec.metric.direction, "url": space.url, "types": list(spec.message_types), **(extra or {})}
    page = resources.files("collabspace.web").joinpath("static/dashboard/index.html").read_text("utf-8")
    return fill_template(page, {"CONFIG": script_json(config), "TITLE": html.escape(spec.task.title)})


# -- network --------------------------------------------------------------------------------------------
#: Names that always reach this machine only (RFC 6761 and the loopback addresses).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the server on this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a name: it may resolve to anything
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def check_bind(host: str, *, service: str = "the dashboard", authenticated: bool = False) -> None:
    """Refuse to listen on a non-loopback address unless requests are authenticated.

    Raises:
        InvalidInput: ``host`` is not a loopback address and there is no authentication (there is none yet;
            gateway mode brings it).
    """
    if authenticated or is_loopback(host):
        return
    raise InvalidInput(
        f"refusing to listen on {host}: {service} has no authentication, so anyone who can reach this "
        "machine could use the space",
        hint="listen on 127.0.0.1 (the default) and reach it from elsewhere through an SSH tunnel "
             "(ssh -L PORT:127.0.0.1:PORT THIS-MACHINE); authenticated access comes with gateway mode",
    )


def split_host(value: str) -> tuple[str, int | None] | None:
    """A ``Host`` value (or an ``--allow-host`` entry) as ``(name, port)``; ``None`` if it is malformed.

    Names are lowercased, without a trailing dot; IPv6 addresses without their brackets.
    """
    value = value.strip().lower()
    if value.startswith("["):
        name, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    elif value.count(":") > 1:
        name, port_text = value, None  # a bare IPv6 address (an --allow-host entry, or the bound address)
    else:
        name, _, port_text = value.partition(":") if ":" in value else (value, "", None)
    name = name.rstrip(".")
    if not name or any(c in name for c in "/@\\ ?#%") or (port_text is not None and not port_text.isdigit()):
        return None
    return name, int(port_text) if port_text else None


def host_allow_list(bound: str, extra: Iterable[str] = ()) -> frozenset[tuple[str, int | None]]:
    """What ``Host`` may say: the bound address and the loopback names on any port, plus ``extra``
    (``NAME``: any port; ``NAME:PORT``: that port only).

    Raises:
        InvalidInput: an ``extra`` entry is not a host name, optionally with a port.
    """
    allowed = set()
    for entry in (*LOOPBACK_HOSTS, bound, *extra):
        parsed = split_host(entry)
        if parsed is None:
            raise InvalidInput(f"not a host name: {entry!r}", hint="e.g. --allow-host dashboard.lan or "
                               "--allow-host dashboard.lan:8000")
        allowed.add(parsed)
    return frozenset(allowed)


def host_allowed(value: str | None, allowed: frozenset[tuple[str, int | None]]) -> bool:
    """Whether a request's ``Host`` header is in the allow list (a missing or malformed one is not)."""
    parsed = split_host(value) if value else None
    return parsed is not None and (parsed in allowed or (parsed[0], None) in allowed)


class HostGuard:
    """ASGI middleware: ``421`` (a JSON error) for a request whose ``Host`` is not allowed.

    A DNS-rebinding page reaches a loopback server under its own name; the browser then sends that
    name as ``Host``, which is how it is told apart from a page of this server.
    """

    def __init__(self, app: ASGIApp, allowed: frozenset[tuple[str, int | None]]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), None)
            if not host_allowed(host, self.allowed):
                shown = (host or "")[:100]
                body = {"error": f"this server does not answer for host {shown!r}" if host else "no Host header",
                        "hint": "open it as http://127.0.0.1:PORT/ or http://localhost:PORT/, or start it with "
                                "--allow-host NAME", "kind": "MisdirectedRequest"}
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await JSONResponse(body, status_code=421)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(space: Space | str, *, live: LiveSpace | None = None,
               allowed_hosts: frozenset[tuple[str, int | None]] | None = None,
               config: dict[str, str] | None = None) -> Starlette:
    """The dashboard app for a space (an opened :class:`Space` or an address).

    Args:
        allowed_hosts: the ``Host`` values to answer (:func:`host_allow_list`); the servers
            (:func:`serve`, :class:`BackgroundServer`) always give it. ``None``: no check, for an
            in-process client only (Starlette's ``TestClient``).
        config: more entries of the page's config block (see :func:`_shell`).
    """
    space = Space.open(space) if isinstance(space, str) else space
    live = live or LiveSpace(space)

    def endpoint(build: Any) -> Any:
        def handler(request: Request) -> Response:
            live.ensure()
            return _json(request, build(request))
        return handler

    def page(request: Request) -> Response:
        return HTMLResponse(_shell(space, config), headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                                                    "X-Content-Type-Options": "nosniff"})

    q = lambda r, name: r.query_params.get(name) or None  # noqa: E731
    routes = [
        Route("/api/board", endpoint(lambda r: api.board(live, type=q(r, "type"), agent=q(r, "agent"),
                                                         before=q(r, "before"), limit=_int(r, "limit")))),
        Route("/api/thread/{file:path}", endpoint(lambda r: api.thread(live, r.path_params["file"]))),
        Route("/api/search", endpoint(lambda r: api.search(live, r.query_params.get("q", ""),
                                                           limit=_int(r, "limit") or 50))),
        Route("/api/leaderboard", endpoint(lambda r: api.leaderboard(live))),
        Route("/api/result/{file:path}", endpoint(lambda r: api.compare(live, [r.path_params["file"]]))),
        Route("/api/compare", endpoint(lambda r: api.compare(live, r.query_params.getlist("r")))),
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
                                 "/api/claims, /api/agents, /api/stats, /api/thread/FILE, /api/search?q=, /api/result/FILE, "
                                 "/api/compare?r=A&r=B", "kind": kind},
                                status_code=exc.status_code)
        return HTMLResponse("<!doctype html><title>Not found</title><p>Not found. <a href='/'>Back to the board</a></p>",
                            status_code=404)

    async def internal_error(request: Request, exc: Exception) -> Response:
        print(_CONTROLS.sub("", f"collab serve: internal error on {request.url.path}: {type(exc).__name__}: {exc}"),
              file=sys.stderr)
        return JSONResponse({"error": f"internal error: {type(exc).__name__}", "hint": "see the server's log",
                             "kind": "InternalError"}, status_code=500)

    middleware = [Middleware(GZipMiddleware, minimum_size=1024)]
    if allowed_hosts is not None:
        middleware.insert(0, Middleware(HostGuard, allowed=allowed_hosts))
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={CollabError: collab_error, HTTPException: http_error, Exception: internal_error})
    app.state.live = live
    app.state.space = space
    return app


class BackgroundServer:
    """The dashboard served by uvicorn in a daemon thread (tests, ``collab demo``, benchmarks).

    Args:
        space: the space or its address.
        host, port: where to listen (a loopback address); port 0 picks a free one (see :attr:`url`).
        warm: read the board and the results before accepting requests.
        allow_hosts: more ``Host`` values to answer (see :func:`host_allow_list`).

    Raises:
        InvalidInput: ``host`` is not a loopback address.
    """

    def __init__(self, space: Space | str, host: str = "127.0.0.1", port: int = 0, *, warm: bool = True,
                 allow_hosts: Iterable[str] = ()) -> None:
        import uvicorn

        check_bind(host)
        self.app = create_app(space, allowed_hosts=host_allow_list(host, allow_hosts))
        self.live: LiveSpace = self.app.state.live
        if warm:
            self.live.refresh(force=True)
        # proto IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted connections (with proto 0 it does not,
        # and every response waits ~40 ms for a delayed ACK between its headers and its body)
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                                  socket.IPPROTO_TCP)
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
          refresh: float | None = None, allow_hosts: Iterable[str] = ()) -> None:
    """Serve the dashboard until interrupted (Ctrl-C).

    Args:
        space: an opened :class:`Space` or an address.
        host, port: where to listen (127.0.0.1:8000 by default: this machine only; a non-loopback
            address is refused, as there is no authentication yet).
        open_browser: open the dashboard in the default browser once it is up.
        refresh: seconds between looks at the store (default: 1 on a folder, 10 on S3 and the Hub).
        allow_hosts: more ``Host`` values to answer besides the bound address and the loopback names
            (``NAME`` or ``NAME:PORT``), e.g. the name of an SSH tunnel's or a proxy's end.

    Raises:
        InvalidInput: ``host`` is not a loopback address, or an ``allow_hosts`` entry is not a host name.
        NotFound: there is no space at the address.
        StoreError: the store cannot be read.
    """
    import uvicorn

    check_bind(host)
    allowed = host_allow_list(host, allow_hosts)
    space = Space.open(space) if isinstance(space, str) else space
    print(f"Reading {space.url} ...", file=sys.stderr)
    app = create_app(space, live=LiveSpace(space, interval=refresh), allowed_hosts=allowed)
    app.state.live.refresh(force=True)
    app.state.live.start()
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    board = app.state.live.board
    title = _CONTROLS.sub("", space.spec.task.title)  # the terminal is no place for the spec's escape sequences
    print(f"Dashboard for {title} ({len(board.messages)} messages) on {url}  (Ctrl-C to stop)", file=sys.stderr)
    if open_browser:
        threading.Timer(0.8, webbrowser.open, [url]).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="off")
