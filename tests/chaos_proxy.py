"""A TCP proxy on 127.0.0.1 that loses answers: for the fault tests (issue 11, break 3).

Every byte from the client reaches the server untouched, so the server applies every request
it is sent. Faults hit the way back only, after the server has answered:

- ``truncate``: forward part of a response chunk, then reset the connection (the answer is cut);
- ``reset``: reset the connection instead of forwarding a response chunk (no answer at all).

Decisions come from one seeded RNG, so a run is reproducible up to thread scheduling. A test can
also aim: :meth:`ChaosProxy.lose_answer_to` loses the answer to the next request whose bytes
contain a pattern (e.g. ``b"PUT /bucket/sp/message_board/"``), once per call, and
:meth:`ChaosProxy.lose_answers_after` loses the answers to several requests once another has passed.
"""

from __future__ import annotations

import random
import select
import socket
import struct
import threading
from collections import Counter


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0), as a crashed middlebox or a dropped connection looks."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class ChaosProxy:
    """Forward ``127.0.0.1:port`` to ``target``; lose some answers.

    Args:
        target: ``(host, port)`` of the real server (loopback only).
        seed: the RNG seed.
        truncate: probability that a response chunk is cut short and the connection reset.
        reset: probability that the connection is reset instead of forwarding a response chunk.
    """

    def __init__(self, target: tuple[str, int], *, seed: int = 0, truncate: float = 0.15, reset: float = 0.05) -> None:
        if target[0] not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the chaos proxy only forwards to loopback")
        self.target = target
        self.truncate, self.reset = truncate, reset
        self.enabled = True
        self._aimed: list[tuple[bytes, str]] = []
        self._triggers: list[tuple[bytes, bytes, int, str]] = []
        self.stats: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.2)  # so that the accept loop sees the stop flag
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="chaos-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ChaosProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        try:
            self._listener.close()
        except OSError:
            pass
        self._thread.join(timeout=5)

    def lose_answer_to(self, pattern: bytes, fate: str = "reset") -> None:
        """Lose the answer to the next request containing ``pattern`` (``fate``: ``reset`` or ``truncate``)."""
        with self._lock:
            self._aimed.append((pattern, "truncate:0.5" if fate == "truncate" else "reset"))

    def lose_answers_after(self, trigger: bytes, pattern: bytes, count: int, fate: str = "reset") -> None:
        """Once a request containing ``trigger`` has gone through, lose the answers to the next ``count``
        requests containing ``pattern``."""
        with self._lock:
            self._triggers.append((trigger, pattern, count, fate))

    def _aim(self, request: bytes) -> str | None:
        with self._lock:
            for i, (trigger, pattern, count, fate) in enumerate(self._triggers):
                if trigger in request:
                    del self._triggers[i]
                    self._aimed += [(pattern, "truncate:0.5" if fate == "truncate" else "reset")] * count
                    return None
            for i, (pattern, fate) in enumerate(self._aimed):
                if pattern in request:
                    del self._aimed[i]
                    return fate
        return None

    def _roll(self) -> str:
        with self._lock:
            if not self.enabled:
                return "pass"
            x = self._rng.random()
            offset = self._rng.random()
        if x < self.reset:
            return "reset"
        if x < self.reset + self.truncate:
            return f"truncate:{offset}"
        return "pass"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                self.stats["connections"] += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.target, timeout=10)
        except OSError:
            _reset(client)
            return
        server.settimeout(None)
        socks = [client, server]
        aimed: str | None = None
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select(socks, [], [], 0.5)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:  # requests always get through: the server applies them
                        aimed = aimed or self._aim(data)
                        server.sendall(data)
                        continue
                    fate, aimed = (aimed, None) if aimed else (self._roll(), None)
                    if fate == "pass":
                        client.sendall(data)
                        continue
                    with self._lock:
                        self.stats[fate.split(":")[0]] += 1
                    if fate.startswith("truncate"):
                        cut = int(len(data) * float(fate.split(":")[1]))
                        if cut:
                            client.sendall(data[:cut])
                    _reset(client)
                    return
        except OSError:
            return
        finally:
            for sock in (client, server):
                try:
                    sock.close()
                except OSError:
                    pass
