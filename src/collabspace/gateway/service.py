"""The gateway's core, without a web framework: identity, limits, idempotency, audit and the
cached read view, around the one :class:`~collabspace.space.Space` that writes.

Every write goes through :meth:`Gateway.write`::

    token -> Identity            (401 if none, wrong or revoked)
    named agent == the token's?  (403 otherwise: a token acts only as its own agent)
    Idempotency-Key seen?        (the recorded outcome, nothing done again)
    rate limit                   (429 with Retry-After)
    Space call as that agent     (the Space composes every key; the gateway's clock stamps it)
    listing cache invalidated    (write-through: the next read sees it)
    audit record                 (accepted or refused, with the client's address)

The gateway holds nothing but caches: tokens, invites, idempotency records and the audit
log live in the store's private ``gateway/`` part, so replicas over one bucket agree and
any of them may restart.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import json
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain import paths, safejson
from ..domain.timefmt import iso, parse_time, utcnow
from ..errors import AlreadyExists, CollabError, Forbidden, InvalidInput, NotFound, TooLarge, http_status
from ..space import Space
from ..storage import ObjectInfo, Store, check_key
from ..storage.base import check_prefix
from ..web.live import LiveSpace
from .audit import AuditLog
from .identity import Identity, Invites, Tokens
from .limits import Limits

#: The time a write is stamped with: the gateway's clock, or the first attempt's for a retry.
REQUEST_TIME: ContextVar[datetime | None] = ContextVar("collab_request_time", default=None)
#: How long a listing is served from memory (all agents together cost one store listing per window).
DEFAULT_TTL = 5.0
#: Objects under these prefixes never change, so their bytes are kept in memory (bounded).
IMMUTABLE = (paths.BOARD, paths.RESULTS, paths.VERDICTS, paths.PACKS)
CACHE_BYTES = 256 * 1024 * 1024
CACHE_OBJECT_BYTES = 2 * 1024 * 1024


def gateway_clock() -> datetime:
    """The current request's time (see :data:`REQUEST_TIME`), else now."""
    return REQUEST_TIME.get() or utcnow()


def private(key: str, listed: Collection[str] | None = None) -> bool:
    """Whether no client may read ``key``: the gateway's own state; packs (derived bundles that may still
    hold the bytes of an object taken out since, and clients read the files themselves); and the bytes an
    organizer took out of the space (``quarantine/``). A quarantine *record* (``quarantine/{key}.why.json``
    beside the moved ``quarantine/{key}``, which ``listed`` must show) stays readable, for ``collab doctor``:
    a moved file that is itself named ``*.why.json`` has no such neighbour, so it stays hidden."""
    if key.startswith((paths.GATEWAY, paths.PACKS)) or key in (paths.GATEWAY.rstrip("/"), paths.PACKS.rstrip("/")):
        return True
    if not key.startswith(paths.QUARANTINE):
        return False
    if not key.endswith(paths.QUARANTINE_RECORD):
        return True
    return listed is None or key.removesuffix(paths.QUARANTINE_RECORD) not in listed


def client_writable(key: str) -> bool:
    """Whether a client write could ever be aimed at ``key`` (no: derived files, the spec, packs, private state)."""
    return not any(key == d or (d.endswith("/") and key.startswith(d)) for d in paths.DERIVED)


class ListingCache:
    """Listings served from memory for ``ttl`` seconds, one store listing per folder per window
    (single-flight: concurrent misses wait for one listing), dropped by the gateway's own writes.

    A listing of ``prefix`` is answered from the full listing of its folder (everything up to
    its last ``/``), so ``start_after`` and sub-prefixes cost nothing more.
    """

    def __init__(self, store: Store, *, ttl: float = DEFAULT_TTL, monotonic: Callable[[], float] = time.monotonic):
        self.store = store
        self.ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._folders: dict[str, tuple[float, list[str], dict[str, ObjectInfo]]] = {}
        self._flights: dict[str, threading.Lock] = {}
        self.listings = 0  # store listings made (for the benchmark)
        self.by_folder: Counter[str] = Counter()

    def list(self, prefix: str, start_after: str | None = None) -> list[ObjectInfo]:
        check_prefix(prefix)
        folder = prefix[: prefix.rfind("/") + 1]
        keys, infos = self._folder(folder)
        lo = bisect.bisect_right(keys, start_after) if start_after and start_after >= prefix else \
            bisect.bisect_left(keys, prefix)
        out = []
        for key in keys[lo:]:
            if not key.startswith(prefix):
                break
            if not private(key, infos):
                out.append(infos[key])
        return out

    def folder_keys(self, key: str) -> dict[str, ObjectInfo]:
        """The cached listing of ``key``'s folder (one store listing per window)."""
        return self._folder(key[: key.rfind("/") + 1])[1]

    def info(self, key: str) -> ObjectInfo | None:
        folder = key[: key.rfind("/") + 1]
        return self._folder(folder)[1].get(key)

    def _folder(self, folder: str) -> tuple[list[str], dict[str, ObjectInfo]]:
        with self._lock:
            hit = self._folders.get(folder)
            if hit is not None and self._monotonic() - hit[0] < self.ttl:
                return hit[1], hit[2]
            flight = self._flights.setdefault(folder, threading.Lock())
        with flight:
            with self._lock:
                hit = self._folders.get(folder)
                if hit is not None and self._monotonic() - hit[0] < self.ttl:
                    return hit[1], hit[2]
            started = self._monotonic()
            infos = {i.key: i for i in self.store.list(folder)}
            self.listings += 1
            self.by_folder[folder] += 1
            keys = sorted(infos)
            with self._lock:
                self._folders[folder] = (started, keys, infos)
            return keys, infos

    def invalidate(self, key: str) -> None:
        """Forget every cached listing that ``key`` (a key just written or deleted) belongs to."""
        with self._lock:
            for folder in [f for f in self._folders if key.startswith(f)]:
                del self._folders[folder]


class ObjectCache:
    """The bytes of immutable objects, kept in memory by key and etag (least recently used goes first)."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self._items: OrderedDict[tuple[str, str | None], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str, etag: str | None) -> bytes | None:
        with self._lock:
            data = self._items.get((key, etag))
            if data is not None:
                self._items.move_to_end((key, etag))
            return data

    def put(self, key: str, etag: str | None, data: bytes) -> None:
        if len(data) > CACHE_OBJECT_BYTES or not key.startswith(IMMUTABLE):
            return
        with self._lock:
            if (key, etag) in self._items:
                return
            self._items[(key, etag)] = data
            self._size += len(data)
            while self._size > self.limit and self._items:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)


@dataclass
class Call:
    """What a route knows about one request."""

    token: str | None
    client: str | None = None
    idempotency_key: str | None = None
    agent: str | None = None  # the agent the request names, if it names one


@dataclass
class Replays:
    """Outcomes of writes sent with an ``Idempotency-Key``, kept in ``gateway/requests/{agent}/``.

    The first attempt records the request's fingerprint and time before it acts; a retry (a lost
    answer, another replica) with the same key returns the recorded outcome, or, if the first attempt
    never finished, runs again *at the first attempt's time*: every write of collabspace is
    create-only and a function of its input and clock, so the rerun lands on the same keys with the
    same bytes, which the store takes as the same write. Nothing is duplicated, nothing is burned.
    """

    store: Store
    clock: Callable[[], datetime] = utcnow

    def run(self, agent: str, key: str | None, fingerprint: str, execute: Callable[[], dict[str, Any]],
            *, first: Callable[[], None] = lambda: None) -> dict[str, Any]:
        """Run ``execute`` once per key; ``first`` runs before a request's first attempt only (the rate
        limit: a retry is not counted again, and a refused request leaves no record behind)."""
        if not key:
            first()
            token = REQUEST_TIME.set(_whole_ms(self.clock()))
            try:
                return execute()
            finally:
                REQUEST_TIME.reset(token)
        if len(key) > 200:
            raise InvalidInput("the Idempotency-Key header is over 200 characters", hint="send a UUID")
        rkey = paths.request_key(agent, hashlib.sha256(key.encode()).hexdigest()[:40])
        rec = self._read(rkey)
        if rec is None:
            first()
            rec = {"fingerprint": fingerprint, "at": iso(_whole_ms(self.clock())), "outcome": None}
            try:
                self.store.put(rkey, json.dumps(rec).encode(), create_only=True)
            except AlreadyExists:
                rec = self._read(rkey) or rec
        if rec.get("fingerprint") != fingerprint:
            raise InvalidInput("this Idempotency-Key was used for another request",
                               hint="send a new key with each new write")
        outcome = rec.get("outcome")
        if isinstance(outcome, dict):
            if outcome.get("error"):
                raise _error(outcome["error"], int(outcome.get("status") or 400))
            return outcome["body"]
        at = parse_time(rec.get("at")) or _whole_ms(self.clock())
        token = REQUEST_TIME.set(at)
        try:
            body = execute()
        except CollabError as exc:
            status = http_status(exc)
            if 400 <= status < 500 and status != 429:  # a refusal is an outcome; a store failure is not
                self._write(rkey, {**rec, "outcome": {"status": status, "error": exc.to_dict()}})
            raise
        finally:
            REQUEST_TIME.reset(token)
        self._write(rkey, {**rec, "outcome": {"status": 200, "body": body}})
        return body

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            rec = safejson.loads(self.store.get(key), what=key)
        except NotFound:
            return None
        return rec if isinstance(rec, dict) else None

    def _write(self, key: str, rec: dict[str, Any]) -> None:
        try:
            self.store.put(key, json.dumps(rec, default=str).encode())
        except CollabError:
            pass  # the write itself stands; a retry then reruns it, which is the same write


def _whole_ms(dt: datetime) -> datetime:
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def _error(data: dict[str, Any], status: int) -> CollabError:
    from ..errors import from_dict

    return from_dict(data, status=status)


def fingerprint(action: str, payload: Any) -> str:
    """A request's identity for idempotency: the action and its canonical JSON."""
    return hashlib.sha256(json.dumps([action, payload], sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Gateway:
    """One space served as the only writer.

    Args:
        store: the space's store (the gateway is the only one who holds its credentials).
        ttl: seconds a listing is served from memory (the read view's refresh interval too).
        public_read: reads need no token (writes always do).
        audit_flush: seconds between audit batches (0: only when stopped or flushed).
    """

    store: Store
    ttl: float = DEFAULT_TTL
    public_read: bool = False
    audit_flush: float = 2.0
    space: Space = field(init=False)
    tokens: Tokens = field(init=False)
    invites: Invites = field(init=False)
    audit: AuditLog = field(init=False)
    limits: Limits = field(init=False)
    replays: Replays = field(init=False)
    listings: ListingCache = field(init=False)
    objects: ObjectCache = field(init=False)
    live: LiveSpace = field(init=False)

    def __post_init__(self) -> None:
        self.space = Space(self.store, clock=gateway_clock)
        self.space.stamp = {"via": "gateway"}
        self.tokens = Tokens(self.store)
        self.invites = Invites(self.store)
        self.audit = AuditLog(self.store, clock=utcnow, flush_seconds=self.audit_flush)
        self.limits = Limits(lambda: self.space.spec.gateway)
        self.replays = Replays(self.store)
        self.listings = ListingCache(self.store, ttl=self.ttl)
        self.objects = ObjectCache()
        self.live = LiveSpace(self.space, interval=self.ttl)
        self._agent_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._changed = threading.Condition()
        self.version = 0
        self._spec_at = time.monotonic()
        for name in ("spec", "board", "view", "_claim_book"):
            getattr(self.space, name)  # shared by every acting copy (see :meth:`acting`)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> Gateway:
        """Flush the audit log and refresh the read view in the background (every ``ttl``)."""
        self.audit.start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="collab-gateway-view", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if getattr(self, "_thread", None) is not None:
            self._stop.set()
            self._thread.join(timeout=10)
        self.audit.stop()

    def _watch(self) -> None:
        """Refresh the read view every ``ttl``: writes made past the gateway (template-only agents with
        bucket access) reach the dashboard, long-polls and event streams within one window."""
        seen = None
        while True:
            try:
                self.live.refresh(force=True)
                last = self.space.view.last
                now = last.version if last is not None else None
                if seen is not None and now != seen:
                    self.poll_store()
                seen = now
            except CollabError as exc:
                self.live.error = exc
            if self._stop.wait(max(self.ttl, 1.0)):
                return

    # -- identity -----------------------------------------------------------------------
    def identify(self, call: Call) -> Identity:
        """The caller, who may act only as itself.

        Raises:
            Unauthorized: no valid token. Forbidden: the request names another agent.
        """
        ident = self.tokens.verify(call.token)
        if call.agent is not None and call.agent != ident.agent:
            raise Forbidden(f"this token acts as {ident.agent}, not as {call.agent}",
                            hint=f"drop --agent {call.agent}, or use {call.agent}'s own token")
        return ident

    def reader(self, call: Call) -> Identity | None:
        """Check that the caller may read (anyone with --public-read)."""
        if self.public_read and not call.token:
            return None
        return self.tokens.verify(call.token)

    def acting(self, agent: str, *, role: str = "agent") -> Space:
        """The gateway's Space acting as ``agent``: a shallow copy sharing its caches and index.

        Organizer powers (verdicts on others' results, quarantine, broadcasts) need both a listing in
        ``organizers`` and an organizer token: a listed id acting with any other token acts as an agent.
        """
        # an organizer token whose id collab.toml does not list yet: the operator just issued it
        self._fresh_spec(force=role == "organizer" and agent not in self.space.spec.organizers)
        acting = copy.copy(self.space)
        acting._agent = agent
        spec = self.space.spec
        if role != "organizer" and agent in spec.organizers:
            acting.__dict__["spec"] = spec.model_copy(update={"organizers": [o for o in spec.organizers
                                                                             if o != agent]})
        return acting

    def _fresh_spec(self, *, force: bool = False) -> None:
        """Re-read ``collab.toml`` every 15 s (or now): the operator changes organizers and limits there."""
        if not force and time.monotonic() - self._spec_at < 15.0:
            return
        self._spec_at = time.monotonic()
        try:
            data = self.store.get(paths.SPEC)
        except CollabError:
            return
        from ..domain.setup.spec import parse_spec

        try:
            spec = parse_spec(data.decode("utf-8"))
        except (CollabError, UnicodeDecodeError):
            return
        if spec != self.space.spec:
            self.space.__dict__["spec"] = spec
            self.space.__dict__.pop("_claim_book", None)
            self.space._claim_book  # noqa: B018

    # -- writes -------------------------------------------------------------------------
    def write(self, call: Call, action: str, payload: dict[str, Any], run: Callable[[Space], tuple[str | None, dict]],
              *, limit: str | None = None, amount: int = 1) -> dict[str, Any]:
        """Do one write for the caller; see the module docstring for the steps.

        Args:
            action: its name in the audit log (``post``, ``submit``...).
            payload: the request's content (the idempotency fingerprint).
            run: does the write on the acting Space; returns the key written and the answer.
            limit: the rate limit it counts against (``post``, ``submit``, ``upload``), if any.
        """
        ident: Identity | None = None
        key: str | None = None
        try:
            ident = self.tokens.verify(call.token)
            ident = self.identify(call)

            def execute() -> dict[str, Any]:
                nonlocal key
                with self._agent_lock(ident.agent):  # one agent's writes in order; agents in parallel
                    key, body = run(self.acting(ident.agent, role=ident.role))
                self._wrote(key)
                return body

            def take() -> None:
                if limit:
                    self.limits.take(ident.agent, limit, amount)

            body = self.replays.run(ident.agent, call.idempotency_key, fingerprint(action, payload), execute,
                                    first=take)
        except CollabError as exc:
            self.audit.record(agent=ident.agent if ident else None, action=action, key=key, outcome=type(exc).__name__,
                              status=http_status(exc), client=call.client, detail=exc.message[:300])
            raise
        self.audit.record(agent=ident.agent, action=action, key=key or body.get("key"), outcome="ok", status=200,
                          client=call.client)
        return body

    def _agent_lock(self, agent: str) -> threading.Lock:
        with self._locks_lock:
            return self._agent_locks.setdefault(agent, threading.Lock())

    def refuse(self, call: Call, action: str, key: str | None, exc: CollabError) -> CollabError:
        """Record a refused write that never reached :meth:`write` (a route that does not exist for
        clients, a body over its cap) and return the error to raise."""
        agent = None
        try:
            agent = self.tokens.verify(call.token).agent if call.token else None
        except CollabError:
            pass
        self.audit.record(agent=agent, action=action, key=key, outcome=type(exc).__name__, status=http_status(exc),
                          client=call.client, detail=exc.message[:300])
        return exc

    def _wrote(self, key: str | None) -> None:
        """Write-through: the listings a write changed are dropped (the next read lists them once), and
        long-polls and event streams wake. The board index already holds a post (``Board.post``); a
        result or verdict also changed the leaderboard, so the read view is refreshed for it now."""
        touched = [key] if key else []
        if key and key.startswith((paths.RESULTS, paths.VERDICTS, paths.AGENTS, paths.QUARANTINE)):
            touched += [paths.LEADERBOARD, paths.LEADERBOARD_JSON, paths.RESULTS, paths.VERDICTS]
        for k in touched:
            self.listings.invalidate(k)
        if len(touched) > 1 or (key or "").startswith(paths.ARTIFACTS):
            self.live.refresh(force=True)
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    # -- reads --------------------------------------------------------------------------
    def list(self, prefix: str, start_after: str | None = None) -> list[ObjectInfo]:
        if prefix.startswith((paths.GATEWAY, paths.PACKS)) or prefix in (paths.GATEWAY.rstrip("/"),
                                                                           paths.PACKS.rstrip("/")):
            raise Forbidden("the gateway's private state is not served", hint="read the space's own files")
        return self.listings.list(prefix, start_after)

    def get(self, key: str, *, first: int | None = None) -> bytes:
        check_key(key)
        listed = self.listings.folder_keys(key) if key.startswith(paths.QUARANTINE) else None
        if private(key, listed):
            raise Forbidden("the gateway's private state is not served", hint="read the space's own files")
        if first is not None:
            return self.store.get_start(key, first)
        info = self.listings.info(key) if key.startswith(IMMUTABLE) else None
        etag = info.etag if info else None
        if info is not None:
            hit = self.objects.get(key, etag)
            if hit is not None:
                return hit
        data = self.store.get(key)
        if info is not None:
            self.objects.put(key, etag, data)
        return data

    def wait(self, seen: int, timeout: float) -> int:
        """Block until a write or a refresh changed the space after version ``seen`` (or ``timeout``)."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, timeout=timeout)
            return self.version

    def poll_store(self) -> None:
        """Notice writes made past the gateway (template-only agents with bucket access): called by the
        read view's refresh loop, it wakes long-polls and event streams when the snapshot moved."""
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def body_cap(self) -> int:
        return int(self.space.spec.gateway.max_body_bytes)

    def check_body(self, body: str) -> None:
        cap = self.body_cap()
        if len(body.encode()) > cap:
            raise TooLarge(f"the message body is over this gateway's cap of {cap:,} bytes",
                           hint="post a summary and push the rest as an artifact")
