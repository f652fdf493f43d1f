"""The MCP tools over streamable HTTP at ``/mcp``, one identity per request.

A remote agent connects with ``Authorization: Bearer TOKEN`` and nothing installed. Each request
is checked here (401 without a valid token) and its identity put in a context variable; the
tools (:func:`collabspace.mcp.server.build_server`, the same tools as ``collab mcp``) get their
Space per call from :func:`GatewayTools.space`, which acts as that identity and sends every write
through :meth:`Gateway.write <collabspace.gateway.service.Gateway.write>` (limits, idempotency,
audit), exactly like the HTTP routes. The transport is stateless (no session to pin to a replica
or to hijack with another token). ``push`` and ``pull`` are refused: a remote agent's files are on its
own machine (``collab push --space URL`` there), and the gateway's disk and private state are not theirs;
``submit`` takes the predictions as text.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import CollabError, Forbidden, http_status
from ..space import Space
from .service import Call, Gateway

_CALL: ContextVar[Call | None] = ContextVar("collab_mcp_call", default=None)


def _no_files() -> Forbidden:
    """A remote agent's files are on its own machine, not on the gateway's disk."""
    return Forbidden("over a gateway's MCP, push and pull have no files to work on: yours are on your machine",
                     hint="move files with the collabspace CLI on your machine (--space URL of this gateway); "
                     "submit takes the predictions as text")


class GatewaySpace(Space):
    """The gateway's Space acting as one caller, every write going through :meth:`Gateway.write`."""

    gateway: Gateway
    call: Call

    def _through(self, action: str, payload: dict[str, Any], run: Any, limit: str | None = None) -> Any:
        box: list[Any] = []

        def wrapped(space: Space) -> tuple[str | None, dict]:
            out = run(space)
            box.append(out)
            return getattr(out, "key", None) or getattr(getattr(out, "message", None), "key", None), {}
        self.gateway.write(self.call, action, payload, wrapped, limit=limit)
        if not box:  # a retried Idempotency-Key: MCP calls carry none, so this does not happen
            raise CollabError("the write was already done", hint="read the board to see it")
        return box[0]

    def post(self, type: str, body: str, **kw: Any) -> Any:
        try:
            self.gateway.check_body(body)
        except CollabError as exc:
            raise self.gateway.refuse(self.call, "post", None, exc) from None
        return self._through("post", {"type": type, "body": body, **{k: str(v) for k, v in kw.items()}},
                             lambda s: Space.post(s, type, body, **kw), "post")

    def claim(self, scope: str, **kw: Any) -> Any:
        return self._through("claim", {"scope": scope, **kw}, lambda s: Space.claim(s, scope, **kw), "post")

    def release(self, scope: str) -> Any:
        return self._through("release", {"scope": scope}, lambda s: Space.release(s, scope), "post")

    def submit(self, experiment: str, **kw: Any) -> Any:
        kw["fields"] = [*(f for f in kw.get("fields") or () if not f.startswith("via=")), "via=gateway"]
        return self._through("submit", {"experiment": experiment, **{k: str(v) for k, v in kw.items()}},
                             lambda s: Space.submit(s, experiment, **kw), "submit")

    def invalidate(self, result: str, reason: str, **kw: Any) -> Any:
        return self._through("invalidate", {"result": result, "reason": reason, **kw},
                             lambda s: Space.invalidate(s, result, reason, **kw), "submit")

    def join(self, **kw: Any) -> Any:
        kw.pop("invite", None)
        return self._through("join", kw, lambda s: Space.join(s, **kw))

    def push(self, path: str, **kw: Any) -> Any:
        raise self.gateway.refuse(self.call, "push", None, _no_files())

    def pull(self, source: str, dest: str, **kw: Any) -> Any:
        raise _no_files()  # a read: nothing to audit, and nothing of the gateway's disk or private state leaks

    def delete_artifact(self, key: str) -> Any:
        return self._through("delete", {"key": key}, lambda s: Space.delete_artifact(s, key))

    def quarantine(self, key: str, reason: str) -> Any:
        return self._through("quarantine", {"key": key, "reason": reason}, lambda s: Space.quarantine(s, key, reason))


class GatewayTools:
    """The MCP app of one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        from ..mcp.server import Workdir, build_server

        self.gateway = gateway
        self._empty = tempfile.TemporaryDirectory(prefix="collab-gw-mcp-")
        self.server = build_server(self.space, root=Workdir(self._empty.name))
        from mcp.server.transport_security import TransportSecuritySettings

        # The gateway's own HostGuard checks Host in front of everything; the SDK's check would refuse
        # the names an operator allowed (--allow-host) that it does not know.
        self.app = self.server.streamable_http_app(
            streamable_http_path="/mcp", stateless_http=True, json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))

    def space(self) -> Space:
        """The Space of the current MCP request's caller."""
        call = _CALL.get()
        if call is None:
            raise CollabError("no caller for this MCP request", hint="send Authorization: Bearer TOKEN")
        ident = self.gateway.identify(call)
        base = self.gateway.acting(ident.agent, role=ident.role)
        acting = GatewaySpace.__new__(GatewaySpace)
        acting.__dict__.update(base.__dict__)
        acting.gateway = self.gateway
        acting.call = Call(token=call.token, client=call.client, agent=ident.agent)
        return acting

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        call = Call(token=token, client=request.client.host if request.client else None)
        try:
            self.gateway.identify(call)
        except CollabError as exc:
            self.gateway.refuse(call, "mcp", None, exc)  # every refused request (the tool is in its body)
            headers = {"WWW-Authenticate": 'Bearer realm="collabspace"'} if http_status(exc) == 401 else None
            await JSONResponse(exc.to_dict(), status_code=http_status(exc), headers=headers)(scope, receive, send)
            return
        reset = _CALL.set(call)
        try:
            await self.app(scope, receive, send)
        finally:
            _CALL.reset(reset)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: ASGIApp | None = None) -> AsyncIterator[None]:
        async with self.server.session_manager.run():
            yield


def mcp_app(gateway: Gateway) -> GatewayTools:
    """The ``/mcp`` app of ``gateway``."""
    return GatewayTools(gateway)
