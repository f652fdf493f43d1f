"""Running a gateway: in the foreground (``collab gateway serve``) or in a thread (tests, benchmarks)."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterable

from ..storage import Store, open_store
from ..web.app import check_bind, host_allow_list
from .app import create_gateway_app
from .service import DEFAULT_TTL, Gateway


class GatewayServer:
    """A gateway served by uvicorn on ``host:port`` (port 0 picks a free one; see :attr:`url`).

    Args:
        store: the space's store, or its address (folder, ``s3://``, ``hf://``).
        ttl: seconds a listing is served from memory for every agent.
        public_read: reads need no token.
        allow_hosts: more ``Host`` values to answer (a proxy's name).
        audit_flush: seconds between audit batches.
    """

    def __init__(self, store: Store | str, host: str = "127.0.0.1", port: int = 0, *, ttl: float = DEFAULT_TTL,
                 public_read: bool = False, allow_hosts: Iterable[str] = (), audit_flush: float = 2.0) -> None:
        import uvicorn

        check_bind(host, service="the gateway", authenticated=True)
        store = open_store(store) if isinstance(store, str) else store
        self.gateway = Gateway(store, ttl=ttl, public_read=public_read, audit_flush=audit_flush)
        self.gateway.space.spec  # noqa: B018 -- refuse an address that holds no space, before listening
        # proto IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted connections (with proto 0 it does not,
        # and every response waits ~40 ms for a delayed ACK between its headers and its body)
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                                  socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as exc:
            from ..errors import InvalidInput

            self.sock.close()
            raise InvalidInput(f"cannot listen on {host}:{port} ({exc.strerror})",
                               hint="choose another --port, or stop what uses it") from None
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.sock.getsockname()[1]}"
        allowed = host_allow_list(host if host not in ("0.0.0.0", "::") else "127.0.0.1", allow_hosts)
        self.app = create_gateway_app(self.gateway, allowed_hosts=allowed)
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self.thread: threading.Thread | None = None

    def start(self) -> GatewayServer:
        """Serve in a daemon thread; return once it accepts connections."""
        self.gateway.live.refresh(force=True)
        self.gateway.start()
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            threading.Event().wait(0.01)
        return self

    def run(self) -> None:
        """Serve in the foreground until interrupted."""
        self.gateway.live.refresh(force=True)
        self.gateway.start()
        title = self.gateway.space.spec.task.title.encode("ascii", "replace").decode()
        print(f"collab gateway for {title!r} on {self.url}  (API {self.url}/v1, MCP {self.url}/mcp; Ctrl-C to stop)",
              file=sys.stderr, flush=True)
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.gateway.stop()
            self.sock.close()

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.gateway.stop()
        self.sock.close()

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
