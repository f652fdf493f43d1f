"""The gateway's HTTP service (FastAPI, on the Starlette the dashboard already uses).

``/v1`` is the versioned JSON API (self-described at ``GET /v1``, OpenAPI at
``/v1/openapi.json``), ``/mcp`` the MCP tools over streamable HTTP, ``/`` the dashboard.
Routes parse, call :class:`~collabspace.gateway.service.Gateway` once, and answer; an
error is always ``{"error", "hint", "kind"}`` with the status of its kind (401, 403, 404,
409, 413, 429 + ``Retry-After``...), the shape the client turns back into the same error.

FastAPI was chosen over plain Starlette for typed request models and the OpenAPI document
it derives from them; it adds no server of its own (uvicorn serves it, as the dashboard).
"""

from __future__ import annotations

import asyncio
import json
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from ..domain import paths
from ..domain.artifacts import file_sha256
from ..domain.board.messages import Message
from ..errors import CollabError, Forbidden, InvalidInput, NotFound, TooLarge, http_status
from ..storage.base import content_type
from ..web.app import HostGuard, create_app
from .service import Call, Gateway, client_writable, private

SESSION_COOKIE = "collab_token"
#: Stored bytes are anyone's writing: never sniffed, never run as a page of this origin.
STORE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"}
#: The most files one push may hold.
MAX_PUSH_FILES = 10_000
COMPOSE_CSP = ("default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Request bodies larger than this are refused before they are read (artifacts and results have their own).
JSON_CAP = 1024 * 1024
RESULTS_CAP = 64 * 1024 * 1024


class JoinIn(BaseModel):
    agent: str = Field(max_length=40)
    invite: str = Field(max_length=200)
    token: str = Field(max_length=200, description="the token the client chose (new_token); stored only as a hash")
    model: str | None = Field(None, max_length=200)
    harness: str | None = Field(None, max_length=200)
    tools: list[str] | None = Field(None, max_length=50)
    bio: str = Field("", max_length=4000)


class RegisterIn(BaseModel):
    agent: str | None = Field(None, max_length=40)
    model: str | None = Field(None, max_length=200)
    harness: str | None = Field(None, max_length=200)
    tools: list[str] | None = Field(None, max_length=50)
    bio: str = Field("", max_length=4000)


class PostIn(BaseModel):
    agent: str | None = Field(None, max_length=40, description="must be the token's agent, if given")
    type: str = Field(max_length=60)
    body: str
    topic: str | None = Field(None, max_length=200)
    refs: list[str] = Field(default_factory=list, max_length=100)
    read_to: str | None = Field(None, max_length=300, description="the last message the author was shown")
    broadcast: bool = Field(False, description="organizers: into every agent's inbox")


class ClaimIn(BaseModel):
    agent: str | None = Field(None, max_length=40)
    scope: str = Field(max_length=200)
    duration: str | None = Field(None, max_length=40)
    note: str = Field("", max_length=4000)
    force: bool = False


class ReleaseIn(BaseModel):
    agent: str | None = Field(None, max_length=40)
    scope: str = Field(max_length=200)


class SubmitIn(BaseModel):
    agent: str | None = Field(None, max_length=40)
    experiment: str = Field(max_length=2000)
    score: float | str | None = None
    predictions: str | None = Field(None, description="the predictions file's text (scored on the server)")
    name: str | None = Field(None, max_length=200)
    model: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=8000)
    track: str | None = Field(None, max_length=100)
    fields: list[str] = Field(default_factory=list, max_length=100)
    refs: list[str] = Field(default_factory=list, max_length=100)
    artifacts: list[str] = Field(default_factory=list, max_length=100)
    negative: bool = Field(False, description="a dead end: recorded, never ranked best")


class VerdictIn(BaseModel):
    agent: str | None = Field(None, max_length=40)
    result: str = Field(max_length=300)
    reason: str = Field(max_length=2000)
    reverse: bool = Field(False, description="organizers: reinstate the result (a later verdict supersedes)")


class QuarantineIn(BaseModel):
    agent: str | None = Field(None, max_length=40)
    key: str = Field(max_length=1024)
    reason: str = Field(max_length=2000)


class SessionIn(BaseModel):
    token: str = Field(max_length=200)


def _call(request: Request, agent: str | None = None) -> Call:
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    token = token or request.cookies.get(SESSION_COOKIE)
    return Call(token=token, client=request.client.host if request.client else None,
                idempotency_key=request.headers.get("idempotency-key"), agent=agent)


class BodyCap:
    """Refuse a request body over its route's cap with 413 before reading it (``Content-Length``), or as
    soon as the streamed bytes pass it; the refusal is audited."""

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    def cap(self, path: str) -> int:
        if path.startswith("/v1/artifacts"):
            return int(self.gateway.space.spec.gateway.upload_bytes_per_day) + 1024 * 1024
        if path.startswith("/v1/results"):
            return RESULTS_CAP
        return JSON_CAP

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        cap = self.cap(scope["path"])
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > cap:
            await self._refuse(scope, receive, send, cap)
            return
        if scope["path"].startswith("/v1/artifacts"):  # streamed to disk by its route, which counts it
            await self.app(scope, receive, send)
            return
        # A body of unknown length (chunked) is read here, up to its cap, before any route sees it.
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > cap:
                await self._refuse(scope, receive, send, cap)
                return
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        request = Request(scope)
        exc = self.gateway.refuse(_call(request), scope["path"].removeprefix("/v1/") or "request", None,
                                  TooLarge(f"the request body is over this route's cap of {cap:,} bytes",
                                           hint="send less (push big files as artifacts; the organizer sets "
                                           "[gateway] max_artifact_bytes)"))
        await JSONResponse(exc.to_dict(), status_code=413)(scope, receive, send)


class ReadGuard:
    """The dashboard's JSON needs a reader's token (a bearer header or the sign-in cookie) unless the
    gateway serves reads publicly; its pages themselves are only a shell."""

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            try:
                self.gateway.reader(_call(Request(scope)))
            except CollabError as exc:
                await JSONResponse(exc.to_dict(), status_code=http_status(exc))(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_gateway_app(gateway: Gateway, *, allowed_hosts: frozenset[tuple[str, int | None]] | None = None,
                       mcp: bool = True) -> ASGIApp:
    """The gateway as one ASGI app: ``/v1``, ``/mcp`` and the dashboard, behind the ``Host`` allow-list.

    Args:
        allowed_hosts: the ``Host`` values to answer (:func:`~collabspace.web.app.host_allow_list`);
            ``None``: no check (an in-process test client only).
        mcp: serve the MCP tools at ``/mcp``.
    """
    gw = gateway
    api = FastAPI(title="collabspace gateway", version=__version__, openapi_url="/v1/openapi.json",
                  docs_url=None, redoc_url=None)

    @api.exception_handler(CollabError)
    async def collab_error(request: Request, exc: CollabError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
        return JSONResponse(exc.to_dict(), status_code=http_status(exc), headers=headers)

    @api.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "the request"
        err = InvalidInput(f"{where}: {first.get('msg', 'invalid')}", hint="see GET /v1 and /v1/openapi.json")
        if request.method not in ("GET", "HEAD"):
            gw.refuse(_call(request), request.url.path.removeprefix("/v1/"), None, err)
        return JSONResponse(err.to_dict(), status_code=400)

    # -- description and identity -----------------------------------------------------------
    @api.get("/v1", summary="What this gateway serves")
    def describe() -> dict[str, Any]:
        spec = gw.space.spec
        return {
            "service": "collabspace-gateway", "version": __version__, "api": "v1",
            "space": {"title": spec.task.title, "task": spec.task.id, "metric": spec.metric.name},
            "public_read": gw.public_read, "ttl_seconds": gw.ttl, "openapi": "/v1/openapi.json", "mcp": "/mcp",
            "auth": "Authorization: Bearer TOKEN (collab join --space URL --agent ID --invite CODE)",
            "idempotency": "send Idempotency-Key on writes: a retry returns the first outcome",
            "routes": sorted({f"{m} {r.path}" for r in api.routes for m in getattr(r, "methods", ()) or ()
                              if r.path.startswith("/v1") and m != "HEAD"}),
            "limits": spec.gateway.model_dump(),
        }

    @api.get("/v1/me", summary="Who the token is")
    def me(request: Request) -> dict[str, Any]:
        ident = gw.tokens.verify(_call(request).token)
        return {"agent": ident.agent, "role": ident.role}

    @api.post("/v1/session", summary="Sign the dashboard in with a token (sets an HttpOnly cookie)")
    def session(body: SessionIn, request: Request) -> Response:
        try:
            ident = gw.tokens.verify(body.token)
        except CollabError as exc:
            raise gw.refuse(_call(request), "signin", None, exc) from None
        out = JSONResponse({"agent": ident.agent, "role": ident.role})
        out.set_cookie(SESSION_COOKIE, body.token, httponly=True, samesite="strict",
                       secure=request.url.scheme == "https", max_age=30 * 86400)
        return out

    @api.delete("/v1/session", summary="Sign the dashboard out")
    def signout() -> Response:
        out = JSONResponse({"signed_out": True})
        out.delete_cookie(SESSION_COOKIE)
        return out

    @api.post("/v1/join", summary="Join with an invite: binds the agent id to the token the client chose")
    def join(body: JoinIn, request: Request) -> dict[str, Any]:
        call = _call(request)
        try:
            paths.check_agent_id(body.agent)
            if body.agent in gw.space.spec.organizers or body.agent.startswith("human-"):
                raise Forbidden(f"{body.agent} is an organizer's or a person's id: the operator issues its token",
                                hint="join with your own agent id (--agent ID)")
            record = gw.invites.check(body.invite)  # valid, before the id is bound: a refusal spends nothing
            created = gw.tokens.bind(body.agent, body.token, invite=record["id"])
            try:
                gw.invites.spend(body.invite, body.agent)
            except CollabError:
                if created:
                    gw.tokens.unbind(body.agent, body.token)
                raise
        except CollabError as exc:
            raise gw.refuse(call, "join", paths.token_key(body.agent) if paths.AGENT_ID_RE.match(body.agent) else None,
                            exc) from None
        call.token = body.token
        reg = body.model_dump(exclude={"agent", "invite", "token"})
        out = gw.write(call, "join", {"agent": body.agent, **reg}, lambda s: _register(s, reg))
        return {**out, "token_created": created}

    @api.post("/v1/agents", summary="Register (or re-join) the token's agent")
    def register(body: RegisterIn, request: Request) -> dict[str, Any]:
        reg = body.model_dump(exclude={"agent"})
        return gw.write(_call(request, body.agent), "join", reg, lambda s: _register(s, reg))

    # -- the store, read-only -------------------------------------------------------------------
    @api.get("/v1/store", summary="List keys (served from the read view: one store listing per TTL)")
    def store_list(request: Request, prefix: str = Query("", max_length=1024),
                   start_after: str | None = Query(None, max_length=1024)) -> dict[str, Any]:
        gw.reader(_call(request))
        infos = gw.list(prefix, start_after)
        return {"objects": [{"key": i.key, "size": i.size, "etag": i.etag,
                             "last_modified": i.last_modified.isoformat() if i.last_modified else None}
                            for i in infos]}

    @api.get("/v1/store/{key:path}", summary="One object's bytes (Range: bytes=0-N for its start)")
    def store_get(key: str, request: Request) -> Response:
        gw.reader(_call(request))
        first = _range_end(request.headers.get("range"))
        try:
            data = gw.get(key, first=first)
        except NotFound:  # the store's own message names its location (a folder, a bucket): not for clients
            raise NotFound(f"{key} is not stored in this space", hint="list keys with: collab ls") from None
        media = content_type(key) + ("; charset=utf-8" if content_type(key).startswith("text/") else "")
        return Response(data, media_type=media, status_code=206 if first is not None else 200,
                        headers=STORE_HEADERS)

    @api.api_route("/v1/store/{key:path}", methods=["PUT", "POST", "DELETE", "PATCH"], include_in_schema=False)
    def store_write(key: str, request: Request) -> Response:
        what = "derived or private" if not _writable(key) else "stored"
        raise gw.refuse(_call(request), f"{request.method.lower()} store", key, Forbidden(
            f"clients cannot write {key} ({what} files change only through the gateway's own writes)",
            hint="post, submit, push or invalidate instead: see GET /v1"))

    # -- the board -------------------------------------------------------------------------------
    @api.get("/v1/messages", summary="Messages that arrived after a cursor; wait=N long-polls up to N s")
    async def messages(request: Request, after: str | None = Query(None, max_length=300),
                       wait: float = Query(0, ge=0, le=60), limit: int = Query(100, ge=1, le=1000),
                       type: str | None = Query(None, max_length=60),
                       from_agent: str | None = Query(None, alias="from", max_length=40)) -> dict[str, Any]:
        reader = gw.reader(_call(request))
        agent = reader.agent if reader else "anonymous"
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            seen = gw.version
            found = await asyncio.to_thread(_new_messages, gw, agent, after, limit, type, from_agent)
            left = deadline - asyncio.get_running_loop().time()
            if found["messages"] or left <= 0 or await request.is_disconnected():
                return found
            await asyncio.to_thread(gw.wait, seen, min(left, 5.0))

    @api.post("/v1/messages", summary="Post a message as the token's agent")
    def post(body: PostIn, request: Request) -> dict[str, Any]:
        call = _call(request, body.agent)
        try:
            gw.check_body(body.body)
        except CollabError as exc:
            raise gw.refuse(call, "post", None, exc) from None

        def run(space: Any) -> tuple[str, dict]:
            if body.read_to:
                space.stamp = {**space.stamp, "read_to": body.read_to.rsplit("/", 1)[-1]}
            m = space.post(body.type, body.body, topic=body.topic, refs=body.refs, broadcast=body.broadcast)
            return m.key, {"key": m.key, "message": m.to_dict(), "stored": _stored(gw, m)}
        return gw.write(call, "post", body.model_dump(), run, limit="post")

    @api.post("/v1/claims", summary="Claim (or renew) a direction of work")
    def claim(body: ClaimIn, request: Request) -> dict[str, Any]:
        def run(space: Any) -> tuple[str, dict]:
            r = space.claim(body.scope, duration=body.duration, note=body.note, force=body.force)
            return r.message.key, {"key": r.message.key, "renewed": r.renewed, "contested": r.contested,
                                   "stored": _stored(gw, r.message),
                                   "claim": r.claim.to_dict(space.clock())}
        return gw.write(_call(request, body.agent), "claim", body.model_dump(), run, limit="post")

    @api.post("/v1/claims/release", summary="Release the token's agent's claim")
    def release(body: ReleaseIn, request: Request) -> dict[str, Any]:
        def run(space: Any) -> tuple[str | None, dict]:
            c = space.release(body.scope)
            key = paths.BOARD + c.files[-1] if c.files else paths.BOARD
            return key, {"key": key, "claim": c.to_dict(space.clock())}
        return gw.write(_call(request, body.agent), "release", body.model_dump(), run, limit="post")

    # -- results ---------------------------------------------------------------------------------
    @api.post("/v1/results", summary="Submit a result: predictions are scored here; a sent verification is ignored")
    def submit(body: SubmitIn, request: Request) -> dict[str, Any]:
        def run(space: Any) -> tuple[str, dict]:
            sub = space.submit(body.experiment, score=body.score,
                               predictions=body.predictions.encode() if body.predictions is not None else None,
                               name=body.name, model=body.model, notes=body.notes, track=body.track,
                               fields=[*(f for f in body.fields if not f.startswith("via=")), "via=gateway"],
                               refs=body.refs, artifacts=body.artifacts, negative=body.negative)
            return sub.key, sub.to_dict()
        return gw.write(_call(request, body.agent), "submit", body.model_dump(), run, limit="submit")

    @api.post("/v1/verdicts", summary="Invalidate a result (its owner or an organizer)")
    def invalidate(body: VerdictIn, request: Request) -> dict[str, Any]:
        def run(space: Any) -> tuple[str, dict]:
            v = space.invalidate(body.result, body.reason, reverse=body.reverse)
            return getattr(v, "key", None), v.to_dict()
        return gw.write(_call(request, body.agent), "invalidate", body.model_dump(), run, limit="submit")

    @api.get("/v1/leaderboard", summary="The leaderboard (the same rows as LEADERBOARD.md and leaderboard.json)")
    def leaderboard(request: Request) -> Response:
        gw.reader(_call(request))
        gw.live.ensure()
        return Response(gw.live.results.leaderboard.to_json(), media_type="application/json")

    # -- artifacts -------------------------------------------------------------------------------
    @api.post("/v1/artifacts", summary="Push an artifact: the body is a tar of one file or one folder")
    async def push(request: Request, kind: str | None = Query(None, max_length=60),
                   name: str | None = Query(None, max_length=200), replace: bool = False,
                   agent: str | None = Query(None, max_length=40)) -> dict[str, Any]:
        call = _call(request, agent)
        try:
            ident = gw.identify(call)
        except CollabError as exc:
            raise gw.refuse(call, "push", None, exc) from None
        with tempfile.TemporaryDirectory(prefix="collab-gw-push-") as tmp:
            tar_path = Path(tmp) / "upload.tar"
            limits = gw.space.spec.gateway
            cap, total_cap = int(limits.max_artifact_bytes), int(limits.upload_bytes_per_day)
            size = 0
            with tar_path.open("wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > total_cap + 1024 * 1024:  # the tar's headers on top of a day's bytes
                        raise gw.refuse(call, "push", None, TooLarge(
                            f"the upload is over this gateway's cap of {total_cap:,} bytes a day",
                            hint="the organizer sets [gateway] upload_bytes_per_day"))
                    out.write(chunk)
            root = Path(tmp) / "x"
            root.mkdir()
            try:
                top, size = await asyncio.to_thread(_unpack, tar_path, root, cap, total_cap)
            except CollabError as exc:
                raise gw.refuse(call, "push", None, exc) from None

            def run(space: Any) -> tuple[str, dict]:
                rep = space.push(str(top), kind=kind, name=name, replace=replace)
                return rep.key, {"key": rep.key, "folder": rep.folder, "uploaded": rep.uploaded,
                                 "skipped": rep.skipped, "deleted": rep.deleted, "bytes_sent": rep.bytes_sent,
                                 "created": rep.created}
            payload = {"kind": kind, "name": name, "replace": replace, "agent": ident.agent,
                       "sha256": file_sha256(tar_path)}
            return await asyncio.to_thread(gw.write, call, "push", payload, run, limit="upload", amount=max(size, 1))

    @api.delete("/v1/artifacts/{key:path}", summary="Delete one of the token's agent's artifacts")
    def delete_artifact(key: str, request: Request, agent: str | None = Query(None, max_length=40)) -> dict[str, Any]:
        def run(space: Any) -> tuple[str, dict]:
            return key, {"deleted": space.delete_artifact(key)}
        return gw.write(_call(request, agent), "delete", {"key": key}, run)

    @api.post("/v1/quarantine", summary="Take a bad object out of the space (organizers)")
    def quarantine(body: QuarantineIn, request: Request) -> dict[str, Any]:
        def run(space: Any) -> tuple[str, dict]:
            if not _writable(body.key):
                raise Forbidden(f"{body.key} is not an object agents wrote", hint="quarantine a message, result or file")
            return body.key, space.quarantine(body.key, body.reason)
        return gw.write(_call(request, body.agent), "quarantine", body.model_dump(), run)

    # -- events ----------------------------------------------------------------------------------
    @api.get("/v1/events", summary="Server-Sent Events: a 'message' event per new message, 'changed' otherwise")
    async def events(request: Request, after: str | None = Query(None, max_length=300)) -> StreamingResponse:
        reader = gw.reader(_call(request))
        agent = reader.agent if reader else "anonymous"

        async def stream():  # noqa: ANN202
            cursor = after
            if cursor is None:
                latest = await asyncio.to_thread(_new_messages, gw, agent, None, 1, None, None)
                cursor = latest["cursor"]
            yield "retry: 3000\n\n"
            while not await request.is_disconnected():
                seen = gw.version
                found = await asyncio.to_thread(_new_messages, gw, agent, cursor, 100, None, None)
                for m in found["messages"]:
                    yield f"event: message\nid: {m['file']}\ndata: {json.dumps(m, ensure_ascii=False)}\n\n"
                cursor = found["cursor"] or cursor
                changed = await asyncio.to_thread(gw.wait, seen, 15.0)
                if changed == seen:
                    yield ": keep-alive\n\n"
                else:
                    yield f"event: changed\ndata: {json.dumps({'version': changed})}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @api.api_route("/v1/{rest:path}", methods=["GET", "PUT", "POST", "DELETE", "PATCH"], include_in_schema=False)
    def no_route(rest: str, request: Request) -> Response:
        err = NotFound(f"no route {request.method} /v1/{rest}", hint="GET /v1 lists the routes")
        if request.method != "GET":
            gw.refuse(_call(request), f"{request.method.lower()} /v1/{rest}"[:100], None, err)
        raise err

    # -- people: sign in and post ---------------------------------------------------------------
    @api.get("/compose", include_in_schema=False)
    def compose() -> Response:
        page = (Path(__file__).parent / "static" / "compose.html").read_text()
        return Response(page, media_type="text/html", headers={"Content-Security-Policy": COMPOSE_CSP,
                                                               "X-Content-Type-Options": "nosniff"})

    @api.get("/gateway-static/compose.js", include_in_schema=False)
    def compose_js() -> Response:
        return Response((Path(__file__).parent / "static" / "compose.js").read_text(),
                        media_type="text/javascript", headers={"X-Content-Type-Options": "nosniff"})

    # -- assembly --------------------------------------------------------------------------------
    api.mount("/", ReadGuard(create_app(gw.space, live=gw.live,
                                        config={"events": "/v1/events", "compose": "/compose"}), gw))
    app: ASGIApp = api
    if mcp:
        from .mcp import mcp_app

        tools = mcp_app(gw)
        api.router.lifespan_context = tools.lifespan
        app = _Dispatch(api, tools)
    app = BodyCap(app, gw)
    if allowed_hosts is not None:
        app = HostGuard(app, allowed=allowed_hosts)
    return app


class _Dispatch:
    """``/mcp`` to the MCP app (its own path handling), everything else to the API and dashboard."""

    def __init__(self, api: ASGIApp, mcp: ASGIApp) -> None:
        self.api, self.mcp = api, mcp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == "/mcp" or path.startswith("/mcp/")):
            await self.mcp(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def _stored(gw: Gateway, m: Message) -> str:
    """The bytes just written for ``m``, for the client to parse as it parses any message (this saves it
    a listing and a GET through the gateway); read back only if the post was an earlier attempt's."""
    return (m.stored or gw.store.get(m.key)).decode("utf-8")


def _register(space: Any, reg: dict[str, Any]) -> tuple[str, dict]:
    res = space.join(model=reg.get("model"), harness=reg.get("harness"), tools=reg.get("tools"),
                     bio=reg.get("bio") or "")
    return res.key, {"key": res.key, "agent": space.agent, "created": res.created}


def _new_messages(gw: Gateway, agent: str, after: str | None, limit: int, type: str | None,
                  author: str | None) -> dict[str, Any]:
    gw.live.ensure()
    space = gw.acting(agent)
    if after is None:  # the newest, as of the read view (no request)
        msgs: list[Message] = [m for m in space.messages() if (type is None or m.type == type)
                               and (author is None or m.agent == author)][-limit:]
        return {"messages": [m.to_dict() for m in msgs], "cursor": msgs[-1].file if msgs else None, "remaining": 0}
    res = space.read(after=after, peek=True, limit=limit, type=type, author=author, sync=False)
    return {"messages": [m.to_dict() for m in res.messages], "cursor": res.cursor, "remaining": res.remaining}


def _writable(key: str) -> bool:
    return client_writable(key) and not private(key)


def _range_end(value: str | None) -> int | None:
    """``bytes=0-N`` -> N + 1 (the only range the client asks for: the start of a file)."""
    if not value or not value.startswith("bytes=0-"):
        return None
    end = value.removeprefix("bytes=0-")
    if not end.isdigit() or int(end) > 16 * 1024 * 1024:
        raise InvalidInput(f"unsupported Range {value!r}", hint="ask for bytes=0-N (N up to 16 MiB)")
    return int(end) + 1


def _unpack(tar_path: Path, root: Path, cap: int, total_cap: int) -> tuple[Path, int]:
    """Unpack an upload: an uncompressed tar of one top-level file or folder, regular files only, at most
    :data:`MAX_PUSH_FILES`, each under ``cap`` and all under ``total_cap``, inside ``root``. Nothing is written
    before every member has been checked. Returns the top-level path and the files' total size (what the
    daily upload limit counts: a compressed tar could carry far more than it weighs).

    Raises:
        InvalidInput: not an uncompressed tar, links or devices, absolute or ``..`` names, several
            top-level entries, too many files.
        TooLarge: a file over ``cap``, or the files over ``total_cap``.
    """
    try:
        with tarfile.open(tar_path, "r:") as tar:
            members = tar.getmembers()
            tops = {m.name.split("/", 1)[0] for m in members}
            if len(tops) != 1 or not members:
                raise InvalidInput("an upload holds exactly one file or one folder", hint="push one path at a time")
            if len(members) > MAX_PUSH_FILES:
                raise InvalidInput(f"an upload holds at most {MAX_PUSH_FILES:,} files", hint="push a smaller folder")
            total = 0
            for m in members:
                if not (m.isfile() or m.isdir()):
                    raise InvalidInput(f"{m.name} is not a regular file", hint="push regular files and folders only")
                if m.size > cap:
                    raise TooLarge(f"{m.name} is over this gateway's cap of {cap:,} bytes per file",
                                   hint="the organizer sets [gateway] max_artifact_bytes")
                total += m.size
                if total > total_cap:
                    raise TooLarge(f"the upload is over this gateway's cap of {total_cap:,} bytes a day",
                                   hint="the organizer sets [gateway] upload_bytes_per_day")
            tar.extractall(root, filter="data")
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise InvalidInput(f"the upload is not an uncompressed tar ({type(exc).__name__})",
                           hint="use collab push, which packs the path for you") from None
    return root / tops.pop(), total

