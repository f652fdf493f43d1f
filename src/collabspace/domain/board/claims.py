"""Claims on directions of work, and their expiry.

A claim is a ``claim`` message with ``scope`` and ``expires`` in its
frontmatter; a release is a ``claim`` message with ``scope`` and
``released: true``. Nothing is ever cleaned up: the state is computed at read
time by replaying the scope's claim messages in the order they reached the store:

* the earliest live claim on a scope holds it; later live claims by other
  agents are *contested* (posted with ``--force``, or lost a race);
* a claim by an agent that already has a live claim on the scope renews it:
  its expiry becomes the renewal's, earlier or later (what the renewal message says);
* a claim ends when its expiry passes or its agent releases it.

Time comes from the store, never from a writer's clock: order and expiry go by *arrival*
(the store's modification time: the server's clock on S3 and the Hub, the file's mtime
in a folder), and a claim's length (``expires`` minus its own filename stamp, both written
by one clock) runs from its arrival. A clock hours ahead cannot expire the holder early;
one minutes behind cannot jump the queue. Within one tick of the store's clock (a second
on S3) the store cannot order two claims: the key decides, the same way on every machine.

A claim's ``expires`` is a time (``2026-04-25 18:30 UTC``, to the second when it is not on a
minute) or, in a hand-written claim, a duration (``2h``), counted from the claim's arrival. A
claim message without a ``scope``, or with an ``expires`` that is neither, is reported by
``collab doctor`` (:func:`claim_problems`).

Scopes are compared by their slug, so ``LoRA sweep`` and ``lora-sweep`` are one scope.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...errors import Conflict, InvalidInput, StoreError
from .. import paths
from .board import Board
from .messages import Message
from ..problems import Problem
from ..timefmt import UTC, exact_time, format_duration, frontmatter_time, parse_duration, parse_time

ACTIVE, CONTESTED, EXPIRED, RELEASED = "active", "contested", "expired", "released"
#: The longest a claim may be asked for (``--for``); a longer one in a hand-written file is cut to it.
MAX_CLAIM = timedelta(days=30)
#: Pauses between the reads that decide a claim's outcome after it is posted (a read is idempotent).
DECIDE_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)


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
            "expires": exact_time(self.expires),
            "age": format_duration(now - self.since),
            "expires_in": format_duration(self.expires - now) if self.ended is None and self.expires > now else None,
            "ended": exact_time(self.ended) if self.ended else None,
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


def claim_length(m: Message, default: timedelta) -> tuple[timedelta, str | None]:
    """How long a claim message asks for, and why its ``expires`` could not be read (``None``: it could).

    ``expires`` as a time counts from the message's filename stamp (both the writer's clock); as a
    duration (``2h``, ``90m``), from its arrival; missing or unreadable, ``default``.
    """
    value = m.extra.get("expires")
    if value in (None, ""):
        return default, None
    written = parse_time(value)
    if written is not None:
        return written - m.stamp, None
    if isinstance(value, str):
        try:
            return parse_duration(value, maximum=MAX_CLAIM * 100), None
        except InvalidInput:
            pass
    shown = str(value)[:60]
    return default, (f"expires {shown!r} is neither a time (2026-04-25 18:30 UTC) nor a duration (4h): "
                     f"read as the default {format_duration(default)}")


def claim_problems(messages: list[Message], default: timedelta) -> list[Problem]:
    """Claim messages readers cannot use as written, for ``collab doctor``: no ``scope`` (the claim is
    ignored: nobody can tell what it claims), or an ``expires`` that is neither a time nor a duration."""
    out = []
    for m in messages:
        if m.type != "claim":
            continue
        scope = m.extra.get("scope")
        if not isinstance(scope, str) or not scope_slug(scope):
            out.append(Problem(m.key, "a claim without a scope: every reader ignores it; write the direction in "
                                      "the frontmatter (scope: lora sweep), or use collab claim SCOPE"))
        elif not _is_release(m) and (why := claim_length(m, default)[1]):
            out.append(Problem(m.key, why))
    return out


def claim_states(messages: list[Message], *, now: datetime, default_duration: timedelta,
                 times: dict[str, datetime] | None = None,
                 order: Callable[[Message], Any] | None = None) -> list[Claim]:
    """Replay claim messages, in the order they reached the store, into claims with their status at ``now``.

    Time comes from the store, never from a writer's clock:

    * the order is the messages' *arrival* (the store's modification time, see
      :attr:`Message.arrival`), then their key; a message without one (not yet listed) sorts by its stamp;
    * a claim's length is its ``expires`` minus its filename stamp (both on the writer's clock, so
      the writer's skew cancels), or its ``expires`` when that is a duration, counted from its arrival,
      and at most :data:`MAX_CLAIM`; without a readable ``expires`` it lasts ``default_duration``;
    * a renewal (a live claim's agent claims again) sets the expiry to the renewal's;
    * ``times`` places each message on the reader's clock (its arrival there; see
      :meth:`ClaimBook.states`), so ``now``, ``since``, ``expires`` and ``ended`` are all reader's-clock
      times. Without ``times``, a message's arrival is taken as is, else its stamp;
    * ``order`` replaces the sort key (the caller knows which arrivals are only provisional).

    Claim messages without a ``scope`` (the template's free-form claims) are ignored (and reported, see
    :func:`claim_problems`).
    """
    live: dict[str, list[Claim]] = {}
    ended: list[Claim] = []

    def expire(slug: str, at: datetime) -> None:
        for c in [c for c in live.get(slug, []) if c.expires <= at]:
            c.status, c.ended = EXPIRED, c.expires
            live[slug].remove(c)
            ended.append(c)

    def when(m: Message) -> datetime:
        if times is not None and m.key in times:
            return times[m.key]
        return _arrival(m) or m.stamp

    def arrival_order(m: Message) -> tuple[str, str]:
        return (m.arrival or _arrival_text(m.stamp), m.key)

    for m in sorted(messages, key=order or arrival_order):
        scope = m.extra.get("scope")
        if m.type != "claim" or not isinstance(scope, str) or not scope_slug(scope):
            continue
        slug = scope_slug(scope)
        at = when(m)
        expire(slug, at)
        claims = live.setdefault(slug, [])
        mine = next((c for c in claims if c.agent == m.agent), None)
        if _is_release(m):
            if mine is not None:
                mine.status, mine.ended = RELEASED, at
                claims.remove(mine)
                ended.append(mine)
            continue
        length, _ = claim_length(m, default_duration)
        expires = at + min(max(length, timedelta(0)), MAX_CLAIM)
        if mine is not None:
            mine.expires = expires  # what the renewal says, shorter or longer
            mine.renewals += 1
            mine.files.append(m.file)
            continue
        note = str(m.extra.get("note") or "")
        claims.append(Claim(scope=" ".join(scope.split()), agent=m.agent, file=m.file, since=at,
                            expires=expires, note=note, files=[m.file]))
        expire(slug, at)
    for slug in list(live):
        expire(slug, now)
        for i, c in enumerate(live[slug]):
            c.status = ACTIVE if i == 0 else CONTESTED
    current = [c for claims in live.values() for c in claims]
    return sorted(current, key=lambda c: (c.slug, c.status != ACTIVE, c.file)) + sorted(ended, key=lambda c: c.file)


def _arrival(m: Message) -> datetime | None:
    if not m.arrival:
        return None
    try:
        return datetime.strptime(m.arrival, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _to_second(dt: datetime) -> datetime:
    """The nearest whole second."""
    return (dt + timedelta(microseconds=500_000)).replace(microsecond=0)


def _arrival_text(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def holder(claims: list[Claim], scope: str) -> Claim | None:
    """The active claim on ``scope``, if any."""
    slug = scope_slug(scope)
    return next((c for c in claims if c.slug == slug and c.status == ACTIVE), None)


def _ceil_second(dt: datetime) -> datetime:
    """Expiries are written to the second: round up so a claim never ends before it was asked to."""
    base = dt.replace(microsecond=0)
    return base if base == dt else base + timedelta(seconds=1)


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
        """Every claim, current ones first (active before contested), then ended ones.

        Ordered and timed by the store's arrival times (see :func:`claim_states`), put on this
        machine's clock: a message this machine posted is placed when it wrote it; any other at its
        arrival less the offset of this machine's clock from the store's (measured by its own posts,
        see :meth:`~collabspace.local.index.BoardIndex.clock_offset`). A writer's clock, however
        wrong, decides nothing.
        """
        if sync:
            self.board.sync()
        index = self.board.index
        now = self.board.clock()
        messages = index.of_type("claim")
        offset = index.clock_offset(now)
        times = index.local_times(m.key for m in messages)
        for m in messages:
            if m.key not in times and (arrived := _arrival(m)) is not None:
                times[m.key] = _to_second(arrived - offset)  # an estimate: to the second, as stamps are
        # A post of ours not yet listed arrived after everything a listing has shown: whatever the
        # estimate of its arrival says, it sorts after them until the store gives its own time.
        provisional = index.provisional_keys()
        settled = max((m.arrival for m in messages if m.key not in provisional and m.arrival), default="")

        def order(m: Message) -> tuple[str, int, str]:
            arrival = m.arrival or _arrival_text(m.stamp)
            return (max(arrival, settled), 1, m.key) if m.key in provisional else (arrival, 0, m.key)

        return claim_states(messages, now=now, default_duration=self.default, times=times, order=order)

    def claim(self, agent: str, scope: str, *, duration: str | None = None, note: str = "",
              force: bool = False) -> ClaimResult:
        """Claim ``scope`` for ``duration`` (default from the spec), or renew one's own claim.

        Raises:
            InvalidInput: an empty scope or a bad duration.
            Conflict: someone else holds the scope (unless ``force``), or won a race for it just now
                (then this claim is withdrawn).
        """
        scope = check_scope(scope)
        length = parse_duration(duration, maximum=MAX_CLAIM, what="a claim",
                                hint="claim for at most 30d, and renew it (claim again) while you work on it") \
            if duration else self.default
        held = holder(self.states(), scope)
        if held is not None and held.agent != agent and not force:
            raise Conflict(
                f"{scope!r} is claimed by {held.agent} until {exact_time(held.expires)}",
                hint=f"pick another direction, ask @{held.agent} (collab post --type question), or post anyway with --force",
            )
        renewed = held is not None and held.agent == agent
        message = self._post(agent, scope, note, expires=_ceil_second(self.board.clock() + length))
        states = self._decided(scope, message)
        now_held = holder(states, scope)
        mine = next(c for c in states if c.slug == scope_slug(scope) and c.agent == agent and c.ended is None)
        if now_held is not None and now_held.agent != agent and not force and held is None:
            # Lost a race: someone's claim sorts first. Withdraw ours so the state stays simple.
            try:
                self._post(agent, scope, "", release=True)
                withdrawn = "your claim was withdrawn"
            except StoreError:
                withdrawn = f"withdrawing your claim failed, so it shows as contested (collab release {scope!r})"
            raise Conflict(
                f"{now_held.agent} claimed {scope!r} first (until {exact_time(now_held.expires)}); {withdrawn}",
                hint="pick another direction, or ask them: collab post --type question --body '@"
                + now_held.agent + " ...'",
            )
        return ClaimResult(claim=mine, message=message, renewed=renewed, contested=mine.status == CONTESTED)

    def _decided(self, scope: str, message: Message) -> list[Claim]:
        """The claims once ours is stored, from a full listing: the store decides who holds the scope.

        On the whole board, because a claim that arrived just before ours under an old stamp (a clock
        behind) is below an incremental listing's watermark, yet it arrived first. The claim is stored
        by now, so a failed read must not make it look failed (the user would claim again): the read is
        idempotent and made again, and if the store cannot be read at all the error says the claim is
        posted and how to see who holds it.
        """
        for delay in (*DECIDE_RETRY_DELAYS, None):
            try:
                self.board.sync(full=True)
                return self.states(sync=False)
            except StoreError as exc:
                if delay is None:
                    raise StoreError(
                        f"your claim on {scope!r} is posted ({message.file}), but the store could not be read to "
                        f"tell whether you hold it: {exc.message}",
                        hint="see who holds it with: collab claims (claiming again would renew it)") from None
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

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
            body = f"Claiming **{scope}** until {exact_time(expires)}." + (f"\n\n{note}" if note else "")
            extra = {"scope": scope, "expires": exact_time(expires), "note": note or None}
        topic = ("release-" if release else "claim-") + scope_slug(scope)
        return self.board.post(agent=agent, type="claim", topic=topic[:60], body=body, types=self.types, extra=extra)
