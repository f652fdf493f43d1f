"""A gateway space seen as a store: reads through the gateway's ``/v1/store`` (its cached read view),
writes refused (they go through the gateway's own API, see :mod:`collabspace.remote`).

:class:`GatewayClient` is the one HTTP transport of gateway mode (stdlib ``http.client``,
one kept-alive connection per thread). Every error the gateway answers is
``{"error", "hint", "kind"}`` and is raised here as the same
:class:`~collabspace.errors.CollabError` subclass, so errors read the same in both modes.
A write carries an ``Idempotency-Key`` made once per call and is retried with it after
a lost answer (the gateway returns the first outcome); reads are retried freely.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from ..errors import CollabError, Forbidden, InvalidInput, NotFound, StoreError, from_dict
from .base import ObjectInfo, Store

#: Attempts per request when the connection fails or the gateway answers 502/503/504.
ATTEMPTS = 4
TIMEOUT = 120.0


def is_gateway_url(url: str) -> bool:
    """Whether a space address names a gateway (``http://`` or ``https://``)."""
    return url.startswith(("http://", "https://"))


class GatewayClient:
    """HTTP to one gateway, with the caller's bearer token.

    Args:
        url: ``http(s)://HOST[:PORT]`` (a path prefix is kept, for a gateway behind a proxy path).
        token: the bearer token (``None``: only public reads work).
    """

    def __init__(self, url: str, token: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"not a gateway address: {url!r}", hint="write it as https://HOST[:PORT]")
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.base = parts.path.rstrip("/")
        self.token = token
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port or (443 if self._https else 80)
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._https:
                conn = http.client.HTTPSConnection(self._host, self._port, timeout=TIMEOUT,
                                                   context=ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=TIMEOUT)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small requests go out at once
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def request(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None,
                data: Any = None, headers: dict[str, str] | None = None,
                content_type: str | None = None) -> tuple[int, dict[str, str], bytes]:
        """Send one request (retried on a lost connection or a 502/503/504); return status, headers, body.

        Raises:
            CollabError: the gateway's error, as its own class; StoreError when it cannot be reached.
        """
        target = self.base + path + (("?" + urlencode({k: v for k, v in query.items() if v is not None}))
                                     if query else "")
        hdrs = {"Accept": "application/json", "User-Agent": "collabspace"}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            data = json.dumps(body).encode()
            content_type = "application/json"
        if content_type:
            hdrs["Content-Type"] = content_type
        if method not in ("GET", "HEAD"):
            hdrs["Idempotency-Key"] = str(uuid.uuid4())  # one per call: a retry is the same write
        hdrs.update(headers or {})
        last: Exception | None = None
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(min(4.0, 0.25 * 2 ** attempt) * (0.5 + random.random()))
                if hasattr(data, "seek"):  # a streamed body is sent again from its start
                    data.seek(0)
            try:
                conn = self._connection()
                conn.request(method, target, body=data, headers=hdrs)
                resp = conn.getresponse()
                payload = resp.read()
                status, rheaders = resp.status, {k.lower(): v for k, v in resp.getheaders()}
            except (OSError, http.client.HTTPException, socket.timeout) as exc:
                self._drop()
                last = exc
                continue
            if status in (502, 503, 504) and attempt + 1 < ATTEMPTS:
                last = StoreError(f"the gateway answered HTTP {status}")
                continue
            if status >= 400:
                raise self._error(status, payload)
            return status, rheaders, payload
        raise StoreError(f"cannot reach the gateway at {self.url} ({type(last).__name__}: {last})",
                         hint="check the address, and that `collab gateway serve` runs there")

    def json(self, method: str, path: str, **kw: Any) -> Any:
        _, _, payload = self.request(method, path, **kw)
        return json.loads(payload) if payload else None

    def _error(self, status: int, payload: bytes) -> CollabError:
        try:
            data = json.loads(payload)
        except ValueError:
            data = None
        if isinstance(data, dict) and "error" in data:
            return from_dict(data, status=status)
        return from_dict({"error": f"the gateway at {self.url} answered HTTP {status}",
                          "hint": "is this address a collab gateway? try GET /v1"}, status=status)


class GatewayStore(Store):
    """The read side of a gateway space: listings and objects from the gateway's read view.

    Writes raise :class:`~collabspace.errors.Forbidden`: in gateway mode the gateway composes every
    key itself (:class:`collabspace.remote.RemoteSpace` calls its API instead).
    """

    atomic_create = True
    native_start_after = True

    def __init__(self, client: GatewayClient) -> None:
        self.client = client
        self.url = client.url

    def _key_path(self, key: str) -> str:
        return "/v1/store/" + quote(key, safe="/")

    def _get(self, key: str) -> bytes:
        return self.client.request("GET", self._key_path(key), headers={"Accept": "*/*"})[2]

    def _get_start(self, key: str, size: int) -> bytes:
        return self.client.request("GET", self._key_path(key), headers={"Range": f"bytes=0-{max(size, 1) - 1}",
                                                                        "Accept": "*/*"})[2]

    def _list(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        out = self.client.json("GET", "/v1/store", query={"prefix": prefix, "start_after": start_after})
        for obj in out.get("objects", []):
            modified = obj.get("last_modified")
            yield ObjectInfo(key=obj["key"], size=int(obj["size"]), etag=obj.get("etag"),
                             last_modified=datetime.fromisoformat(modified) if modified else None)

    def _head(self, key: str) -> ObjectInfo:
        for info in self._list(key, None):
            if info.key == key:
                return info
        raise NotFound(f"{key} not found in {self.url}", hint="list keys with: collab ls")

    def _refuse(self, key: str) -> CollabError:
        return Forbidden(f"in gateway mode the gateway writes every key ({key} was not written)",
                         hint="use the space's commands (collab post, submit, push...), not raw writes")

    def _put(self, key: str, data: bytes, create_only: bool) -> None:
        raise self._refuse(key)

    def _delete(self, key: str) -> None:
        raise self._refuse(key)
