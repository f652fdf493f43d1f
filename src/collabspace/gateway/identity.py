"""Who is calling: bearer tokens bound to agent ids, and the invites that hand them out.

A token is ``cs1.{agent}.{secret}``: the agent it names is looked up directly, and the
secret's SHA-256 must match the hash stored at ``gateway/tokens/{agent}.json``
(compared in constant time). Only hashes are stored, in the gateway's private part of
the space, which no API route serves and no client can write. The record is written
create-only, so an id is bound to its first token for good; the operator revokes it
(``collab gateway revoke``) by rewriting the record as revoked.

The client chooses its token (32 random bytes, :func:`new_token`) and sends it with the
join: a join retried after a lost answer then finds its own hash and succeeds, instead of
burning the id. An invite (``inv1.{id}.{secret}``) has a number of uses, each taken by
one create-only write (``gateway/invites/{id}/{n}.json``), so two replicas cannot hand
out the same use twice.

Roles: ``agent`` (joined with an invite), ``organizer`` and ``human`` (issued by the
operator; a person's id is ``human-NAME``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass

from ..domain import paths, safejson
from ..domain.timefmt import iso, parse_duration, parse_time
from ..errors import AlreadyExists, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from ..local.tokens import new_token, token_agent
from ..storage import Store

__all__ = ["Identity", "Invites", "Tokens", "new_token", "token_agent"]

ROLES = ("agent", "organizer", "human")
#: How long a replica trusts a token record it read (a revocation reaches every replica within it).
TOKEN_TTL_SECONDS = 5.0


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    """An authenticated caller."""

    agent: str
    role: str

    @property
    def organizer(self) -> bool:
        return self.role == "organizer"


class Tokens:
    """The token records of one space, read through a short per-replica cache.

    Args:
        store: the space's store (the gateway's; clients never see these keys).
        clock: the current UTC time.
    """

    def __init__(self, store: Store, *, clock=None, monotonic=time.monotonic) -> None:  # noqa: ANN001
        from ..domain.timefmt import utcnow

        self.store = store
        self.clock = clock or utcnow
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, dict | None, tuple | None]] = {}
        self._listing: dict[str, tuple] = {}
        self._listed_at = float("-inf")
        self._lock = threading.Lock()
        self._listing_lock = threading.Lock()

    def record(self, agent: str, *, fresh: bool = False) -> dict | None:
        """The stored record of ``agent``'s token, or ``None``.

        Cheap whatever the number of agents: the token folder is listed at most once per
        :data:`TOKEN_TTL_SECONDS`, and a record is fetched again only when its etag changed there
        (a revocation), so a replica notices a revoked token within that window.
        """
        now = self._monotonic()
        key = paths.token_key(agent)
        if fresh or now - self._listed_at >= TOKEN_TTL_SECONDS:
            with self._listing_lock:  # single flight: one listing per window, however many callers
                if fresh or self._monotonic() - self._listed_at >= TOKEN_TTL_SECONDS:
                    listing = {i.key: (i.etag, i.size) for i in self.store.list(paths.GATEWAY_TOKENS)}
                    with self._lock:
                        for name in [a for a, (_, _, tag) in self._cache.items()
                                     if listing.get(paths.token_key(a)) != tag or tag is None]:
                            del self._cache[name]
                        self._listing, self._listed_at = listing, now
        with self._lock:
            hit = self._cache.get(agent)
            listed = key in self._listing
        if hit is not None and not fresh:
            return hit[1]
        if not listed and not fresh:
            # Not in the window's listing: no token (or one bound a moment ago at another replica). One
            # fresh listing per second at most answers that, so made-up ids cost no request each.
            if now - self._listed_at < 1.0:
                return None
            return self.record(agent, fresh=True) if key in self._relist() else None
        try:
            rec = safejson.loads(self.store.get(key), what=key)
            rec = rec if isinstance(rec, dict) else None
        except NotFound:
            rec = None
        with self._lock:
            self._cache[agent] = (now, rec, self._listing.get(key))
        return rec

    def _relist(self) -> dict[str, tuple]:
        with self._listing_lock:
            if self._monotonic() - self._listed_at >= 1.0:
                listing = {i.key: (i.etag, i.size) for i in self.store.list(paths.GATEWAY_TOKENS)}
                with self._lock:
                    self._listing, self._listed_at = listing, self._monotonic()
            return self._listing

    def verify(self, token: str | None) -> Identity:
        """The identity behind a bearer token.

        Raises:
            Unauthorized: no token, a malformed or unknown one, a wrong secret, a revoked token.
        """
        if not token:
            raise Unauthorized("this gateway needs a token", hint="join with an invite: collab join --space URL "
                               "--agent ID --invite CODE (or set COLLAB_TOKEN)")
        agent = token_agent(token)
        rec = self.record(agent) if agent else None
        if rec is None or not hmac.compare_digest(str(rec.get("sha256", "")), _hash(token)):
            raise Unauthorized("the token is not valid for this gateway",
                               hint="check COLLAB_TOKEN, or ask the organizer for an invite")
        if rec.get("revoked"):
            raise Unauthorized(f"the token of {agent} was revoked at {rec['revoked']}",
                               hint="ask the organizer of this space")
        role = rec.get("role") if rec.get("role") in ROLES else "agent"
        return Identity(agent=agent, role=role)  # type: ignore[arg-type]

    def bind(self, agent: str, token: str, *, role: str = "agent", invite: str | None = None) -> bool:
        """Bind ``agent`` to ``token`` for good (create-only).

        Returns:
            True when bound now, False when it already was bound to this very token (a retry).

        Raises:
            InvalidInput: the token does not name ``agent``, or a ``human`` id not ``human-NAME``.
            Conflict: the id is bound to another token.
        """
        if token_agent(token) != paths.check_agent_id(agent):
            raise InvalidInput(f"the token does not name {agent}", hint="let collab make the token (collab join)")
        if role == "human" and not agent.startswith("human-"):
            raise InvalidInput(f"a person's id is human-NAME, not {agent}", hint="e.g. human-alice")
        record = {"agent": agent, "role": role, "sha256": _hash(token), "created": iso(self.clock()),
                  "invite": invite, "revoked": None}
        try:
            self.store.put(paths.token_key(agent), (json.dumps(record, indent=2) + "\n").encode(), create_only=True)
        except AlreadyExists:
            rec = self.record(agent, fresh=True) or {}
            if hmac.compare_digest(str(rec.get("sha256", "")), _hash(token)) and not rec.get("revoked"):
                return False
            raise Conflict(f"the agent id {agent} is taken: it is bound to another token",
                           hint="choose another id with --agent") from None
        with self._lock:
            self._cache.pop(agent, None)
            self._listing[paths.token_key(agent)] = (None, 0)  # known here at once, before the next listing
        return True

    def unbind(self, agent: str, token: str) -> None:
        """Undo :meth:`bind` of this very token (a join whose invite failed after the bind); any other
        record is left alone."""
        rec = self.record(agent, fresh=True) or {}
        if hmac.compare_digest(str(rec.get("sha256", "")), _hash(token)):
            self.store.delete(paths.token_key(agent))
        with self._lock:
            self._cache.pop(agent, None)

    def revoke(self, agent: str) -> dict:
        """Mark ``agent``'s token revoked (the id stays bound: it cannot be joined again).

        Raises:
            NotFound: no token was issued to ``agent``.
        """
        rec = self.record(agent, fresh=True)
        if rec is None:
            raise NotFound(f"no token was issued to {agent}", hint="list them with: collab gateway tokens SPACE")
        if not rec.get("revoked"):
            rec = {**rec, "revoked": iso(self.clock())}
            self.store.put(paths.token_key(agent), (json.dumps(rec, indent=2) + "\n").encode())
        with self._lock:
            self._cache.pop(agent, None)
        return rec

    def list(self) -> list[dict]:
        """Every token record, without the hashes, in id order."""
        out = []
        for info in self.store.list(paths.GATEWAY_TOKENS):
            try:
                rec = safejson.loads(self.store.get(info.key), what=info.key)
            except (NotFound, InvalidInput):
                continue
            if isinstance(rec, dict):
                out.append({k: v for k, v in rec.items() if k != "sha256"})
        return sorted(out, key=lambda r: str(r.get("agent")))


class Invites:
    """Invite codes: ``collab gateway invite`` makes them, ``collab join --invite`` spends a use."""

    def __init__(self, store: Store, *, clock=None) -> None:  # noqa: ANN001
        from ..domain.timefmt import utcnow

        self.store = store
        self.clock = clock or utcnow

    def create(self, *, uses: int = 1, expires: str | None = "7d", by: str = "operator") -> str:
        """A new invite code, good for ``uses`` joins until ``expires`` (a duration) from now.

        Raises:
            InvalidInput: ``uses`` outside 1..10,000, or a bad duration.
        """
        if not 1 <= uses <= 10_000:
            raise InvalidInput(f"--uses {uses} is out of range", hint="give 1 to 10000")
        until = self.clock() + parse_duration(expires) if expires else None
        invite, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
        code = f"inv1.{invite}.{secret}"
        record = {"id": invite, "sha256": _hash(code), "uses": uses, "expires": iso(until) if until else None,
                  "created": iso(self.clock()), "by": by}
        self.store.put(paths.invite_key(invite), (json.dumps(record, indent=2) + "\n").encode(), create_only=True)
        return code

    def check(self, code: str) -> dict:
        """The invite's record, if the code is valid and unexpired (no use is taken).

        Raises:
            Forbidden: an unknown, wrong or expired invite.
        """
        return self._record(code)[1]

    def spend(self, code: str, agent: str) -> str:
        """Take one use of an invite for ``agent``; a retry by the same agent takes none.

        Returns:
            The invite's id.

        Raises:
            Forbidden: an unknown, wrong, expired or used-up invite.
        """
        invite, rec = self._record(code)
        uses = int(rec.get("uses") or 1)
        taken = {info.key for info in self.store.list(paths.invite_key(invite).removesuffix(".json") + "/")}
        body = json.dumps({"agent": agent}).encode()
        for n in range(1, uses + 1):
            key = paths.invite_use_key(invite, n)
            if key in taken:
                try:
                    if self.store.get(key) == body:
                        return invite  # this agent's own earlier join
                except NotFound:
                    pass
                continue
            try:
                self.store.put(key, body, create_only=True)
                return invite
            except AlreadyExists:
                continue
        raise Forbidden(f"the invite is used up ({uses} joins)", hint="ask the organizer for a new invite")

    def _record(self, code: str) -> tuple[str, dict]:
        parts = (code or "").split(".")
        bad = Forbidden("the invite code is not valid for this gateway", hint="ask the organizer for a new invite")
        if len(parts) != 3 or parts[0] != "inv1" or not parts[1].isalnum():
            raise bad
        invite = parts[1]
        try:
            rec = safejson.loads(self.store.get(paths.invite_key(invite)), what="invite")
        except NotFound:
            raise bad from None
        if not isinstance(rec, dict) or not hmac.compare_digest(str(rec.get("sha256", "")), _hash(code)):
            raise bad
        expires = parse_time(rec["expires"]) if rec.get("expires") else None
        if expires is not None and self.clock() >= expires:
            raise Forbidden(f"the invite expired at {rec['expires']}", hint="ask the organizer for a new invite")
        return invite, rec
