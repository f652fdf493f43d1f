"""Claims on directions of work, and their expiry.

A claim is a ``claim`` message with ``scope`` and ``expires`` in its
frontmatter; a release is a ``claim`` message with ``scope`` and
``released: true``. Nothing is ever cleaned up: the state is computed at read
time by replaying the scope's claim messages in board (filename) order:

* the earliest live claim on a scope holds it; later live claims by other
  agents are *contested* (posted with ``--force``, or lost a race);
* a claim by an agent that already has a live claim on the scope renews it
  (its expiry moves to the later one);
* a claim ends when its expiry passes or its agent releases it.

Scopes are compared by their slug, so ``LoRA sweep`` and ``lora-sweep`` are one scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...errors import Conflict, InvalidInput
from .. import paths
from .board import Board
from .messages import Message
from ..timefmt import format_duration, frontmatter_time, parse_duration, parse_time

ACTIVE, CONTESTED, EXPIRED, RELEASED = "active", "contested", "expired", "released"


@dataclass
class Claim:
    """One agent's claim on a scope, from its first claim message to its end."""

    scope: str
    agent: str
    file: str
    since: datetime
    expires: datetime
    note: str = ""
    status: str = ACTIVE
    renewals: int = 0
    ended: datetime | None = None
    files: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return scope_slug(self.scope)

    def to_dict(self, now: datetime) -> dict[str, Any]:
        """The JSON shape, with ``age`` and ``expires_in`` relative to ``now``."""
        return {
            "scope": self.scope,
            "agent": self.agent,
            "status": self.status,
            "since": frontmatter_time(self.since),
            "expires": frontmatter_time(self.expires),
            "age": format_duration(now - self.since),
            "expires_in": format_duration(self.expires - now) if self.expires > now else None,
            "ended": frontmatter_time(self.ended) if self.ended else None,
            "renewals": self.renewals,
            "file": self.file,
            "files": self.files,
            "note": self.note,
        }


def scope_slug(scope: str) -> str:
    """The form scopes are compared in."""
    return paths.slug(scope, max_len=80)


def check_scope(scope: str) -> str:
    """Return the scope stripped, or refuse one without letters or digits.

    Raises:
        InvalidInput: the scope is empty once slugged.
    """
    text = " ".join(str(scope).split())
    if not scope_slug(text):
        raise InvalidInput(f"claim scope {scope!r} has no letters or digits", hint='e.g. collab claim "lora sweep"')
    if len(text) > 200:
        raise InvalidInput("a claim scope is at most 200 characters", hint="name the direction in a few words")
    return text


def _is_release(m: Message) -> bool:
    value = m.extra.get("released")
    return value is True or str(value).strip().lower() in ("true", "yes", "1")


def claim_states(messages: list[Message], *, now: datetime, default_duration: timedelta) -> list[Claim]:
    """Replay claim messages (board order) into claims with their status at ``now``.

    Claim messages without a ``scope`` (the template's free-form claims) are
    ignored; a claim without ``expires`` lasts ``default_duration``.
    """
    live: dict[str, list[Claim]] = {}
    ended: list[Claim] = []

    def expire(slug: str, at: datetime) -> None:
        for c in [c for c in live.get(slug, []) if c.expires <= at]:
            c.status, c.ended = EXPIRED, c.expires
            live[slug].remove(c)
            ended.append(c)

    for m in sorted(messages, key=lambda m: m.key):
        scope = m.extra.get("scope")
        if m.type != "claim" or not isinstance(scope, str) or not scope_slug(scope):
            continue
        slug = scope_slug(scope)
        expire(slug, m.stamp)
        claims = live.setdefault(slug, [])
        mine = next((c for c in claims if c.agent == m.agent), None)
        if _is_release(m):
            if mine is not None:
                mine.status, mine.ended = RELEASED, m.stamp
                claims.remove(mine)
                ended.append(mine)
            continue
        expires = parse_time(m.extra.get("expires")) or (m.stamp + default_duration)
        if mine is not None:
            mine.expires = max(mine.expires, expires)
            mine.renewals += 1
            mine.files.append(m.file)
            continue
        note = str(m.extra.get("note") or "")
        claims.append(Claim(scope=" ".join(scope.split()), agent=m.agent, file=m.file, since=m.stamp,
                            expires=expires, note=note, files=[m.file]))
        expire(slug, m.stamp)
    for slug in list(live):
        expire(slug, now)
        for i, c in enumerate(live[slug]):
            c.status = ACTIVE if i == 0 else CONTESTED
    current = [c for claims in live.values() for c in claims]
    return sorted(current, key=lambda c: (c.slug, c.status != ACTIVE, c.file)) + sorted(ended, key=lambda c: c.file)


def holder(claims: list[Claim], scope: str) -> Claim | None:
    """The active claim on ``scope``, if any."""
    slug = scope_slug(scope)
    return next((c for c in claims if c.slug == slug and c.status == ACTIVE), None)


def _ceil_minute(dt: datetime) -> datetime:
    """Frontmatter times have minutes only: round up so a claim never ends before it was asked to."""
    base = dt.replace(second=0, microsecond=0)
    return base if base == dt else base + timedelta(minutes=1)


@dataclass(frozen=True)
class ClaimResult:
    """What :func:`claim` did."""

    claim: Claim
    message: Message
    renewed: bool
    contested: bool


class ClaimBook:
    """Claims over a board.

    Args:
        board: the space's board.
        default_duration: the spec's ``claims.default_duration`` (e.g. ``4h``).
        types: the message types the space accepts (``claim`` must be one).
    """

    def __init__(self, board: Board, *, default_duration: str, types: tuple[str, ...]) -> None:
        self.board = board
        self.default = parse_duration(default_duration)
        self.types = types

    def states(self, *, sync: bool = True) -> list[Claim]:
        """Every claim, current ones first (active before contested), then ended ones."""
        if sync:
            self.board.sync()
        return claim_states(self.board.index.of_type("claim"), now=self.board.clock(), default_duration=self.default)

    def claim(self, agent: str, scope: str, *, duration: str | None = None, note: str = "",
              force: bool = False) -> ClaimResult:
        """Claim ``scope`` for ``duration`` (default from the spec), or renew one's own claim.

        Raises:
            InvalidInput: an empty scope or a bad duration.
            Conflict: someone else holds the scope (unless ``force``), or won a race for it just now
                (then this claim is withdrawn).
        """
        scope = check_scope(scope)
        length = parse_duration(duration) if duration else self.default
        held = holder(self.states(), scope)
        if held is not None and held.agent != agent and not force:
            raise Conflict(
                f"{scope!r} is claimed by {held.agent} until {frontmatter_time(held.expires)}",
                hint=f"pick another direction, ask @{held.agent} (collab post --type question), or post anyway with --force",
            )
        renewed = held is not None and held.agent == agent
        message = self._post(agent, scope, note, expires=_ceil_minute(self.board.clock() + length))
        states = self.states()
        now_held = holder(states, scope)
        mine = next(c for c in states if c.slug == scope_slug(scope) and c.agent == agent and c.ended is None)
        if now_held is not None and now_held.agent != agent and not force and held is None:
            # Lost a race: someone's claim sorts first. Withdraw ours so the state stays simple.
            self._post(agent, scope, "", release=True)
            raise Conflict(
                f"{now_held.agent} claimed {scope!r} first (until {frontmatter_time(now_held.expires)}); "
                "your claim was withdrawn",
                hint="pick another direction, or ask them: collab post --type question --body '@"
                + now_held.agent + " ...'",
            )
        return ClaimResult(claim=mine, message=message, renewed=renewed, contested=mine.status == CONTESTED)

    def release(self, agent: str, scope: str) -> Claim:
        """End one's own live claim on ``scope``.

        Raises:
            Conflict: the agent has no live claim on the scope.
        """
        scope = check_scope(scope)
        mine = next((c for c in self.states() if c.slug == scope_slug(scope) and c.agent == agent
                     and c.ended is None), None)
        if mine is None:
            raise Conflict(f"you ({agent}) hold no claim on {scope!r}", hint="see the active claims with: collab claims")
        message = self._post(agent, mine.scope, "", release=True)
        mine.status, mine.ended = RELEASED, message.stamp
        return mine

    def _post(self, agent: str, scope: str, note: str, *, expires: datetime | None = None,
              release: bool = False) -> Message:
        now = self.board.clock()
        if release:
            body = f"Released my claim on **{scope}**."
            extra: dict[str, Any] = {"scope": scope, "released": True, "expires": frontmatter_time(now)}
        else:
            assert expires is not None
            body = f"Claiming **{scope}** until {frontmatter_time(expires)}." + (f"\n\n{note}" if note else "")
            extra = {"scope": scope, "expires": frontmatter_time(expires), "note": note or None}
        topic = ("release-" if release else "claim-") + scope_slug(scope)
        return self.board.post(agent=agent, type="claim", topic=topic[:60], body=body, types=self.types, extra=extra)
