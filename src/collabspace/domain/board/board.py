"""The message board: posting, reading what is new, threads, search, inbox, doctor.

:class:`Board` joins the store (the truth), the local :class:`BoardIndex` (a
cache) and the agents' cursors (state that survives the cache). Every read
syncs the index first with one listing; reads that must be complete (``--all``,
search, threads, doctor) list the whole board.
"""

from __future__ import annotations

import dataclasses

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any

from ...errors import AlreadyExists, InvalidInput, NotFound
from ...storage import Store
from .. import paths
from ...local.cursors import GRACE, Cursor, CursorStore, arrival_text
from ..refs import canonical, is_message, resolve, shown
from ...local.heal import notice
from ...local.index import BoardIndex, SyncResult
from .messages import (
    Message,
    MessageFormatError,
    check_body,
    is_broadcast,
    message_problems,
    message_filename,
    parse_filename,
    parse_message,
    render_message,
    stamp_of,
)
from ..problems import Problem
from ..timefmt import parse_duration, parse_time

#: Same agent, same topic, same second: how many sequence suffixes to try before giving up.
MAX_SEQ = 999
#: The frontmatter field in which a post records the last message its author had been shown.
READ_TO = "read_to"


@dataclass(frozen=True)
class ReadResult:
    """What :meth:`Board.read_new` returned and how much is left.

    ``cursor`` is the file to pass back as ``read --after`` to resume from here
    (the latest arrival returned), on any machine.
    """

    messages: list[Message]
    remaining: int
    advanced: bool
    cursor: str | None = None


@dataclass(frozen=True)
class ThreadItem:
    """One message of a thread and its depth in the tree (0 for a root)."""

    message: Message
    depth: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.message.to_dict(), "depth": self.depth}


class Board:
    """The board of one space.

    Args:
        store: the space's store.
        clock: returns the current UTC time.
        index: the local index; by default the one in the cache folder for ``store.url``.
    """

    def __init__(self, store: Store, *, clock: Callable[[], datetime], index: BoardIndex | None = None) -> None:
        self.store = store
        self.clock = clock
        if index is not None:
            self.__dict__["index"] = index

    @cached_property
    def index(self) -> BoardIndex:
        """The local index (opened on first use)."""
        return BoardIndex.for_space(self.store.url)

    @cached_property
    def cursors(self) -> CursorStore:
        """The agents' read cursors and inbox acknowledgements on this machine."""
        return CursorStore(self.store.url)

    def sync(self, *, full: bool = False) -> SyncResult:
        """Bring the index up to date (one listing plus the fetches of new files)."""
        return self.index.sync(self.store, now=self.clock(), full=full)

    # -- posting ------------------------------------------------------------------------
    def resolve_ref(self, ref: str, *, folders: bool = False) -> str:
        """The canonical key of an existing message, result or artifact that ``ref`` names (see
        :func:`~collabspace.domain.refs.resolve`); a message the index holds costs no request.

        Raises:
            InvalidInput: ``ref`` is neither a message filename nor an artifact.
            NotFound: no such message, result or artifact.
        """
        return resolve(ref, self.store, indexed=lambda key: self.index.get(shown(key)) is not None, folders=folders)

    def post(
        self,
        *,
        agent: str,
        type: str,
        topic: str | None,
        body: str,
        refs: list[str] | tuple[str, ...] = (),
        types: tuple[str, ...],
        extra: dict[str, Any] | None = None,
    ) -> Message:
        """Write a new message create-only and index it.

        Raises:
            InvalidInput: an unknown type, an empty topic, an empty or oversized body, a malformed ref.
            NotFound: a ref names no message.
        """
        paths.check_agent_id(agent)
        if type not in types:
            raise InvalidInput(f"unknown message type {type!r}", hint="use one of: " + ", ".join(types))
        slug = paths.slug(topic if topic is not None else type, max_len=60)
        if not slug:
            raise InvalidInput(f"topic {topic!r} has no letters or digits", hint="give a short topic such as lora-sweep")
        text = check_body(body)
        ref_files = tuple(dict.fromkeys(self.resolve_ref(r) for r in refs))
        seen = self.cursors.latest(agent)
        if seen is not None:  # the cursor travels with the agent's messages (see local.cursors)
            extra = {**(extra or {}), READ_TO: seen.rsplit("/", 1)[-1]}
        now = self.clock()
        data = render_message(agent=agent, type=type, now=now, refs=ref_files, body=text, extra=extra).encode()
        key = self._put_new(now, agent, slug, data)
        # Stored: nothing from here on may make the write look failed (the user's retry would post it twice).
        message = dataclasses.replace(parse_message(key, data), stored=data)
        try:
            self.index.add(message, now=now)  # heals itself and never raises; the guard is for what it cannot foresee
        except Exception as exc:  # noqa: BLE001
            notice(f"warning: {message.file} is posted, but the local board index could not record it "
                   f"({type(exc).__name__}); the next read indexes it from the store")
        return message

    def _put_new(self, now: datetime, agent: str, topic: str, data: bytes) -> str:
        """Store ``data`` create-only under the first free ``_NNN`` slot of this second; return its key.

        Idempotent: the store counts a create-only put that finds our own bytes as a success (a
        retried PUT whose first answer was lost), and a slot of this second already holding our
        bytes (an earlier attempt that was told it failed) is our post, so no ``_002`` copy is made.
        """
        seq = 1
        base = message_filename(now, agent, topic).removesuffix(".md")
        while seq <= MAX_SEQ:
            key = message_filename(now, agent, topic, seq)
            try:
                self.store.put(key, data, create_only=True)
                return key
            except AlreadyExists:
                # One listing finds the last suffix used, instead of probing one by one.
                taken = [i for i in self.store.list(base) if _same_post_slot(i.key, key)]
                for info in taken:
                    if info.size == len(data) and self.store.get(info.key) == data:
                        return info.key  # our own post, stored by an attempt whose answer was lost
                seq = max([seq, *(parse_filename(i.key).seq or 1 for i in taken)]) + 1
        raise AlreadyExists(
            f"{agent} already posted {MAX_SEQ} messages on topic {topic!r} in this second",
            hint="wait a second, or use another topic",
        )

    # -- reading ------------------------------------------------------------------------
    def show(self, ref: str) -> Message:
        """One message by filename or key, from the index or else the store.

        Raises:
            InvalidInput: ``ref`` is not a message filename, or the file cannot be parsed (with the reason).
            NotFound: no such message.
        """
        name = _file(ref)
        parse_filename(name)
        found = self.index.get(name)
        if found is not None:
            return found
        try:
            data = self.store.get(paths.BOARD + name)
        except NotFound:
            raise NotFound(f"no message {name!r} on the board",
                           hint="list messages with: collab read --all --limit 20") from None
        try:
            return parse_message(paths.BOARD + name, data)
        except MessageFormatError as exc:
            raise MessageFormatError(f"{name} cannot be read: {exc.message}", hint=exc.hint) from None

    def read_new(
        self, agent: str, *, type: str | None = None, author: str | None = None, limit: int | None = None,
        after: str | None = None, peek: bool = False, sync: bool = True,
    ) -> ReadResult:
        """What others posted that ``agent`` has not been shown; marks what is returned as shown.

        The cursor is ``agent``'s on this machine; on a machine where it has never
        read, it starts after the agent's own latest post. ``after`` (a message
        filename) reads what arrived after that message instead, and moves no
        cursor; so does ``peek``, and so does a ``type`` or ``author`` filter (what
        it filters out stays new for the next plain read).
        """
        _check_limit(limit)
        if sync:  # False: as of the last sync (the gateway's read view, refreshed in the background)
            self.sync()
        cursor = self._cursor(agent, after)
        messages, remaining = self.index.unread(agent, cursor, type=type, agent=author, limit=limit)
        advance = type is None and author is None and after is None and not peek
        if advance:
            self.cursors.advance(agent, [(m.key, m.arrival) for m in messages if m.arrival])
        latest = max(messages, key=lambda m: (m.arrival or "", m.key), default=None)
        return ReadResult(messages=messages, remaining=remaining, advanced=advance,
                          cursor=latest.file if latest else after)

    def _after_cursor(self, name: str, arrival: str) -> Cursor:
        """What is new after the message ``name``, on any machine: what arrived after it, in (arrival, key)
        order (stores time arrivals to the second, so a message of the cursor's own second with a later key is
        after it), and, within :data:`~collabspace.local.cursors.GRACE` before it, what this machine indexed
        later than it: a message of that second with an earlier key, or one listed only by the next full
        listing (an old stamp, a slow upload). A fresh machine indexes the board in one generation, so it
        repeats nothing; only what it learns later counts as later.
        """
        key = paths.BOARD + name
        generation = self.index.generation_of(name) or 0
        low = arrival_text(datetime.strptime(arrival, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc) - GRACE)
        shown = {k for k, a in self.index.known_by(low, arrival, generation) if a < arrival or k <= key}
        return Cursor(low, frozenset(shown | {key}))

    def _cursor(self, agent: str, after: str | None) -> Cursor:
        if after is not None:
            name = _file(after)
            parse_filename(name)
            arrival = self.index.arrival_of(name)
            if arrival is None:
                raise NotFound(f"--after {name!r} is not a message on the board",
                               hint="pass the cursor a previous read printed, or a filename from collab read --all")
            return self._after_cursor(name, arrival)
        found = self.cursors.get(agent)
        if found is not None:
            return found
        # First read on this machine: resume from what the agent's latest post says it had read.
        mine = self.index.messages(agent=agent, limit=1)
        resume = str(mine[-1].extra.get(READ_TO) or "") if mine else ""
        arrival = self.index.arrival_of(resume) if resume else None
        self.cursors.start(agent, arrival)
        if arrival is not None:
            self.cursors.advance(agent, [(paths.BOARD + resume, arrival)])
        return self.cursors.get(agent) or Cursor(None)

    def read(
        self, *, since: str | None = None, type: str | None = None, author: str | None = None, limit: int | None = None
    ) -> list[Message]:
        """Messages in board order (all, or since a time), newest ``limit``; no cursor moves."""
        _check_limit(limit)
        start = self.parse_since(since) if since else None
        self.sync(full=True)
        return self.index.messages(type=type, agent=author, since=start, limit=limit)

    def parse_since(self, text: str) -> datetime:
        """``2h`` (ago), a timestamp, or a message filename, as a UTC time.

        Raises:
            InvalidInput: none of those.
        """
        try:
            return self.clock() - parse_duration(text)
        except InvalidInput as exc:
            if "too long" in exc.message:  # a duration, but beyond the bound: say so, not "not a duration"
                raise InvalidInput(f"--since {exc.message}", hint="e.g. --since 2h, or --all for the whole board") from None
        when = parse_time(text)
        if when is not None:
            return when
        try:
            return parse_filename(_file(text)).stamp
        except MessageFormatError:
            raise InvalidInput(
                f"--since {text!r} is not a duration, a time or a message filename",
                hint="write it like 2h, '2026-04-25 14:30' or 20260425-143000_agent-01_plan.md",
            ) from None

    def thread(self, ref: str) -> list[ThreadItem]:
        """The message, what it refs (transitively) and everything that refs it, as a tree in board order.

        Raises:
            NotFound: no such message.
        """
        self.sync(full=True)
        root = self.show(ref)
        members: dict[str, Message] = {root.key: root}
        todo = [root]
        while todo:  # up: what it refs
            for key in todo.pop().refs:
                if key not in members and is_message(key) and (parent := self.index.get(shown(key))) is not None:
                    members[key] = parent
                    todo.append(parent)
        todo = [root]
        while todo:  # down: what refs it
            for child in self.index.referrers(todo.pop().key):
                if child.key not in members:
                    members[child.key] = child
                    todo.append(child)
        children: dict[str, list[Message]] = {}
        for m in members.values():
            for parent in m.refs:
                if parent in members and parent != m.key:
                    children.setdefault(parent, []).append(m)
        roots = sorted((m for m in members.values() if not any(r in members for r in m.refs if r != m.key)),
                       key=lambda m: m.key)
        out: list[ThreadItem] = []
        seen: set[str] = set()

        def walk(m: Message, depth: int) -> None:
            if m.key in seen:
                return
            seen.add(m.key)
            out.append(ThreadItem(m, depth))
            for child in sorted(children.get(m.key, []), key=lambda c: c.key):
                walk(child, depth + 1)

        for r in roots or [root]:
            walk(r, 0)
        for m in sorted(members.values(), key=lambda m: m.key):  # a pure cycle has no root
            walk(m, 0)
        return out

    def search(self, query: str, *, limit: int = 20) -> list[Message]:
        """Full-text search over topics and bodies, best match first."""
        _check_limit(limit)
        self.sync(full=True)
        return self.index.search(query, limit=limit)

    def inbox(self, agent: str, *, all: bool = False, limit: int | None = None, sync: bool = True,
              broadcasters: Iterable[str] = ()) -> list[Message]:
        """Messages by others that ref ``agent``'s messages, mention ``@agent`` or are broadcasts by one of
        ``broadcasters`` (the organizers), and that ``agent`` has neither answered (a message of its refs
        them) nor acknowledged (:meth:`ack`); with ``all``, every such message. Reading the board never
        empties the inbox."""
        _check_limit(limit)
        if sync:
            self.sync(full=all)
        found = self.index.addressed_to(agent, unanswered=not all, broadcasters=broadcasters)
        if not all:
            acked = self.cursors.acked(agent)
            found = [m for m in found if m.file not in acked]
        return found[-limit:] if limit else found

    def broadcasts(self, organizers: Iterable[str], *, scan: int = 500) -> list[Message]:
        """The organizers' broadcasts among each one's newest ``scan`` messages, in board order (no request)."""
        found = [m for agent in sorted(set(organizers)) for m in self.index.messages(agent=agent, limit=scan)
                 if is_broadcast(m)]
        return sorted(found, key=lambda m: m.key)

    def ack(self, agent: str, files: list[str], *, broadcasters: Iterable[str] = ()) -> list[str]:
        """Acknowledge inbox messages (they leave ``agent``'s inbox); an empty list acknowledges all of it.

        Raises:
            NotFound: a file is not a message on the board.
        """
        names = [_file(f) for f in files] or [m.file for m in self.inbox(agent, broadcasters=broadcasters)]
        for name in names:
            parse_filename(name)
            if self.index.get(name) is None:
                raise NotFound(f"no message {name!r} on the board", hint="list your inbox with: collab inbox")
        self.cursors.ack(agent, names)
        return names

    def doctor(self) -> list[Problem]:
        """Re-list the whole board and return the files that are skipped, and dangling refs."""
        self.sync(full=True)
        dangling = [
            Problem(key, f"refs {shown(ref)}, which is not on the board" if is_message(ref)
                    else f"refs {ref}, which is not stored")
            for key, ref in self.index.dangling_refs()
            if is_message(ref) or not ref.startswith(paths.ARTIFACTS) or not self.store.exists(ref)
        ]
        impersonated = message_problems(self.index.messages())  # the filename's agent is the author
        return sorted(self.index.problems() + dangling + impersonated, key=lambda p: (p.key, p.reason))

    def clocks(self) -> list[Problem]:
        """Agents whose filename stamps lag (or lead) the store's arrival time by more than :data:`LAG`
        (from the last sync; :meth:`doctor` lists the whole board first)."""
        return clock_problems(self.index.arrivals())


#: How far a filename's stamp may lag the store's arrival time before doctor names its agent.
LAG = timedelta(minutes=10)


def clock_problems(arrivals: list[tuple[str, str, str, int]]) -> list[Problem]:
    """Agents whose filename stamps lag (or lead) the store's arrival time by more than :data:`LAG`.

    Args:
        arrivals: ``(agent, key, arrival, provisional)`` per message; provisional arrivals are skipped.

    Returns:
        One problem per such agent, on its latest such message, with the likely cause: a lag of a
        whole number of hours is local time instead of UTC; anything else is a skewed clock or a
        slow upload (or a board copied from elsewhere).
    """
    lags: dict[str, list[tuple[timedelta, str]]] = {}
    for agent, key, arrival, provisional in arrivals:
        stamp = stamp_of(key)
        if provisional or stamp is None:
            continue
        lag = datetime.strptime(arrival, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=stamp.tzinfo) - stamp
        if abs(lag) > LAG:
            lags.setdefault(agent, []).append((lag, key))
    out = []
    for agent, found in sorted(lags.items()):
        found.sort(key=lambda x: x[0])
        lag, _ = found[len(found) // 2]
        hours = round(lag.total_seconds() / 3600)
        if 1 <= abs(hours) <= 14 and abs(lag - timedelta(hours=hours)) <= timedelta(minutes=3):
            cause = f"likely local time (UTC{'-' if hours > 0 else '+'}{abs(hours)}) instead of UTC"
        else:
            cause = "likely a skewed clock, a slow upload, or files copied from elsewhere"
        when = "behind" if lag > timedelta(0) else "ahead of"
        out.append(Problem(max(k for _, k in found), (
            f"{agent}: {len(found)} filename stamp{'s' if len(found) > 1 else ''} {_span(abs(lag))} {when} "
            f"the store's arrival time; {cause}; name files with the UTC time (collab post does)")))
    return out


def _span(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    if minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)} days"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _file(ref: str) -> str:
    """A message's bare filename from any spelling of a ref to it (other refs come back as given)."""
    key = canonical(ref)
    return shown(key) if is_message(key) else str(ref).strip()


def _same_post_slot(key: str, new_key: str) -> bool:
    """True if ``key`` is ``new_key`` or one of its ``_NNN`` variants."""
    try:
        a, b = parse_filename(key), parse_filename(new_key)
    except MessageFormatError:
        return False
    return (a.stamp, a.agent, a.topic, a.ms) == (b.stamp, b.agent, b.topic, b.ms)


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise InvalidInput(f"--limit must be at least 1, got {limit}", hint="e.g. --limit 20")
