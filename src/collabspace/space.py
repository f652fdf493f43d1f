"""The Space: the one facade every frontend (CLI, web, MCP) calls.

>>> space = Space.init("./gsm8k-space", preset_spec("gsm8k"))   # doctest: +SKIP
>>> space = Space.open("./gsm8k-space", agent="agent-01")        # doctest: +SKIP
>>> space.join(model="claude-opus-4", harness="claude-code")     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from .domain.setup import agents, readmes
from .domain import paths
from .domain import artifacts as artifact_files
from .domain.results import compare as comparing
from .domain.results import invalidation
from .domain import packs
from .domain.results import leaderboard as standings
from .domain.results import results as result_files
from .domain.board.board import Board, ReadResult, ThreadItem
from .domain.board.claims import Claim, ClaimBook, ClaimResult
from .domain.board.digest import Digest
from .domain.board.digest import gather as gather_digest
from .domain.board.digest import render as render_digest
from .domain.board.digest import warnings_of
from .domain.problems import Problem
from .domain.board.claims import claim_problems
from .domain.board.messages import BROADCAST, Message, broadcast_problems
from .domain.setup.spec import Spec, parse_spec
from .domain.timefmt import utcnow
from .readmodel import ReadModel, Snapshot
from .errors import AlreadyExists, CollabError, Conflict, InvalidInput, NotFound, StoreError
from .local.heal import notice
from .local.heal import reason as error_reason
from .scorers import ScoreReport, get_scorer
from .storage import ObjectInfo, Store, open_store
from .storage.gateway import is_gateway_url


@dataclass(frozen=True)
class WatchItem:
    """A message :meth:`Space.watch` delivers, and whether it is in the agent's inbox."""

    message: Message
    inbox: bool


@dataclass(frozen=True)
class JoinResult:
    """What :meth:`Space.join` did."""

    registration: agents.Registration
    created: bool
    key: str


class Space:
    """A collaboration space on some store.

    Args:
        store: the opened store.
        agent: the acting agent's id (validated when first needed).
        clock: returns the current UTC time; tests pass a fixed clock.
    """

    def __init__(self, store: Store, *, agent: str | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self._agent = agent
        self.clock = clock
        #: Extra frontmatter fields written into this Space's messages (the gateway's ``via: gateway``).
        self.stamp: dict[str, str] = {}
        if agent is not None:
            paths.check_agent_id(agent)

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, agent: str | None = None, clock: Callable[[], datetime] = utcnow) -> Space:
        """Open an existing space by address (folder, ``s3://``, ``hf://``, ``memory://``, or a gateway's
        ``http(s)://`` address: a :class:`~collabspace.remote.RemoteSpace` with the same API).

        Raises:
            InvalidInput: a malformed address or agent id.
            NotFound: nothing is there (checked lazily, when the spec is first read).
        """
        if is_gateway_url(url):
            from .remote import RemoteSpace

            return RemoteSpace(url, agent=agent, clock=clock)
        return cls(open_store(url), agent=agent, clock=clock)

    @classmethod
    def init(cls, url: str | Store, spec: Spec, *, clock: Callable[[], datetime] = utcnow) -> Space:
        """Create a space at ``url`` (an address or an opened store) from ``spec``, with its generated files.

        The space must be empty; ``collab.toml`` is written first, create-only, so
        two concurrent inits cannot both succeed.

        Raises:
            Conflict: something is already stored at ``url``; nothing is changed.
        """
        if isinstance(url, str) and is_gateway_url(url):
            raise InvalidInput(f"{url} is a gateway: spaces are created where their store is",
                               hint="collab init the folder or bucket, then: collab gateway serve SPACE")
        store = url if isinstance(url, Store) else open_store(url, create=True)
        url = store.url
        space = cls(store, clock=clock)
        first = next(iter(store.list("")), None)
        if first is not None:
            what = "a collab space" if store.exists(paths.SPEC) else f"files (e.g. {first.key})"
            raise Conflict(
                f"{store.url} already holds {what}; init changes nothing",
                hint="choose a new path, or use the existing space: collab join --space " + url,
            )
        try:
            store.put(paths.SPEC, spec.to_toml().encode(), create_only=True)
        except AlreadyExists:
            raise Conflict(
                f"{store.url} was initialised by someone else just now",
                hint="use the existing space: collab join --space " + url,
            ) from None
        space.__dict__["spec"] = spec
        # the spec is ours, so the rest cannot clash: one batch (one API call on the Hub)
        store.put_many({k: t.encode() for k, t in space.generated_files(fresh=True).items() if k != paths.SPEC})
        return space

    # -- basic properties -----------------------------------------------------------------
    @property
    def url(self) -> str:
        """The space's address."""
        return self.store.url

    @property
    def agent(self) -> str:
        """The acting agent's id.

        Raises:
            InvalidInput: no agent id was given, or it is malformed.
        """
        return paths.check_agent_id(self._agent)

    @cached_property
    def spec(self) -> Spec:
        """The task spec read from ``collab.toml``.

        Raises:
            NotFound: the address holds no collab space.
            InvalidSpec: ``collab.toml`` is invalid (the error names the field).
        """
        try:
            data = self.store.get(paths.SPEC)
        except NotFound:
            raise NotFound(
                f"no collab space at {self.url} (no {paths.SPEC})",
                hint=f"check the address (--space / COLLAB_SPACE) for a typo; only to start a new, empty space "
                     f"there: collab init {self.url} --task gsm8k",
            ) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{paths.SPEC} is not UTF-8 text", hint="save collab.toml as UTF-8") from None
        return parse_spec(text)

    def generated_files(self, *, fresh: bool = False) -> dict[str, str]:
        """The derived files for the current spec: key -> text, in writing order.

        Args:
            fresh: the space is new, so there are no results to read for ``LEADERBOARD.md``.
        """
        spec = self.spec
        board = standings.build(spec, [], present=set()) if fresh else self.leaderboard()
        return {
            paths.SPEC: spec.to_toml(),
            paths.README: readmes.space_readme(spec, self.url),
            paths.BOARD_README: readmes.board_readme(spec, self.url),
            paths.ARTIFACTS_README: readmes.artifacts_readme(spec, self.url),
            paths.LEADERBOARD_JSON: board.to_json(),
            paths.LEADERBOARD: board.to_markdown(),
        }

    def set_organizers(self, organizers: Sequence[str]) -> Spec:
        """Rewrite ``collab.toml`` with these organizers (direct mode: whoever holds the store's credentials;
        on a gateway, only its operator: ``collab gateway token SPACE ID --organizer``).

        Raises:
            InvalidInput: a malformed agent id.
        """
        for agent in organizers:
            paths.check_agent_id(agent)
        spec = parse_spec(self.spec.model_copy(update={"organizers": list(dict.fromkeys(organizers))}).to_toml())
        self.store.put(paths.SPEC, spec.to_toml().encode())
        self.__dict__["spec"] = spec
        self.__dict__.pop("_claim_book", None)
        return spec

    def getting_started(self) -> str:
        """The "Getting Started" steps of the space's README, for a joining agent."""
        return readmes.section(readmes.space_readme(self.spec, self.url), "Getting Started")

    # -- organizers ----------------------------------------------------------------------------
    def change_organizers(self, *, add: Sequence[str] = (), remove: Sequence[str] = ()) -> list[str]:
        """Add or remove organizers: rewrite ``collab.toml`` (and the README generated from it).

        Direct mode: whoever can write the bucket can edit ``collab.toml`` anyway, so this is the tool's
        way for honest hands. While the spec lists organizers only one of them (the acting agent) may
        change them; a space without any takes its first from anyone. In gateway mode the spec is the
        operator's: the gateway's operator CLI changes it, never an agent.

        Args:
            add: agent ids to make organizers (already listed ones are left as they are).
            remove: agent ids to take off the list.

        Returns:
            The organizers as now written (unchanged when nothing changes; nothing is then written).

        Raises:
            InvalidInput: a malformed agent id, nothing to add or remove, or one id in both.
            Conflict: organizers are listed and the acting agent is not one of them.
            NotFound: there is no space here.
        """
        spec = self.spec
        add = [paths.check_agent_id(a) for a in add]
        remove = [paths.check_agent_id(a) for a in remove]
        if not add and not remove:
            raise InvalidInput("no organizer to add or remove", hint="collab organizers add ID (or remove ID)")
        if set(add) & set(remove):
            raise InvalidInput(f"{sorted(set(add) & set(remove))[0]} is both added and removed",
                               hint="add or remove it, not both")
        if spec.organizers:
            me = self._agent
            if me not in spec.organizers:
                raise Conflict(
                    f"only an organizer ({', '.join(spec.organizers)}) can change the organizers; "
                    f"you are {me or 'not named (--agent)'}",
                    hint=f"ask one of them on the board: collab post --type question --body "
                         f"'@{spec.organizers[0]} please make me an organizer'")
        new = [a for a in spec.organizers if a not in remove] + [a for a in dict.fromkeys(add)
                                                                 if a not in spec.organizers]
        if new == spec.organizers:
            return new
        updated = self.set_organizers(new)
        self.store.put(paths.README, readmes.space_readme(updated, self.url).encode())  # it names the organizers
        return updated.organizers

    # -- agents -----------------------------------------------------------------------------
    def join(
        self,
        *,
        model: str | None = None,
        harness: str | None = None,
        tools: list[str] | None = None,
        bio: str = "",
        invite: str | None = None,
    ) -> JoinResult:
        """Register the acting agent in ``agents/{agent}.md`` (create-only).

        Returns:
            The registration, and whether it was created (False: the same agent re-joining).

        Raises:
            InvalidInput: no or a malformed agent id.
            Conflict: the id belongs to an agent with another model or harness.
            NotFound: there is no space here.
        """
        if invite:
            raise InvalidInput("invites are for gateway spaces (http(s):// addresses)",
                               hint="in a folder or bucket, join without --invite")
        agent = self.agent
        self.spec  # noqa: B018 -- refuse to register in a folder that is not a space
        reg, created = agents.register(
            self.store, agent, now=self.clock(), model=model, harness=harness, tools=tools, bio=bio
        )
        return JoinResult(registration=reg, created=created, key=paths.agent_key(agent))

    def agents(self) -> list[agents.Registration]:
        """Every registered agent, in id order (unreadable registrations: :meth:`doctor_results`)."""
        return self.view.registrations()

    # -- the read model ---------------------------------------------------------------------
    @cached_property
    def view(self) -> ReadModel:
        """The read model every read goes through (one listing per prefix per refresh)."""
        return ReadModel(self.store, spec=lambda: self.spec, clock=self.clock, board=self.board)

    def refresh(self, *, full: bool = False, agents: bool | None = None) -> Snapshot:
        """Look at the store once (one listing per prefix) and return the space as it is now; a
        ``LEADERBOARD.md`` found behind the results is regenerated on the way (:meth:`_repair_leaderboard`).

        Args:
            full: list the whole board, not only what is due.
            agents: re-list registrations (None: every 15 s, or when an unregistered agent posts).

        Returns:
            A :class:`~collabspace.readmodel.Snapshot`: results, verdicts, registrations, the
            leaderboard, problems, and a version that changes when any of them does.
        """
        snap = self.view.refresh(full=full, agents=agents)
        self._repair_leaderboard(snap)
        return snap

    def _repair_leaderboard(self, snap: Snapshot) -> None:
        """Regenerate ``LEADERBOARD.md`` (and its twin) when they are behind the results listing: a submit
        killed between storing its result and regenerating is repaired by the next reader, not by luck.

        Checked once per results listing per process, written only when behind (so a dashboard
        refreshing every few seconds makes no request for it while nothing changes, and readers
        never overwrite a fresher table). A reader that may not write is told once, never failed.
        """
        listing = snap.listings.get(paths.RESULTS)
        if listing is None or listing == self.__dict__.get("_leaderboard_checked"):
            return
        try:
            behind = self.view.published_behind(snap)
        except CollabError as exc:
            notice(f"warning: could not check {paths.LEADERBOARD} against the results ({exc.message})",
                   once="leaderboard-check")
            return
        if behind:
            try:
                self.write_leaderboard()
            except CollabError as exc:
                notice(f"warning: {paths.LEADERBOARD} is behind the results, and this reader cannot rewrite it "
                       f"({exc.message}): run collab leaderboard --write where you can", once="leaderboard-write")
                return
            notice(f"notice: {paths.LEADERBOARD} was behind the results (an interrupted submit?): regenerated it",
                   once="leaderboard-repaired")
        self.__dict__["_leaderboard_checked"] = listing

    def messages(self) -> list[Message]:
        """Every message in board order, as of the last refresh (no request)."""
        return self.board.index.messages()

    # -- inspection -------------------------------------------------------------------------
    def ls(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object under ``prefix``, in key order.

        Raises:
            NotFound: nothing listed and no space here (an empty listing of a typo'd address is not an
                empty space).
        """
        found = list(self.store.list(prefix))
        if not found:
            self._require_space(board=False)
        return found

    def _require_space(self, *, board: bool = True) -> None:
        """Raise the spec's NotFound when there is no space here, for a read that found nothing: "no new
        messages" from a typo'd address would be a lie. A board this machine has indexed messages of is a
        space, so a poll of a real space costs no request for this (with ``board=False``: always ask)."""
        if not board or self.board.index.count() == 0:
            self.spec  # noqa: B018 -- NotFound: no collab space at URL

    def cat(self, key: str) -> bytes:
        """The bytes of one object. Raises NotFound."""
        return self.store.get(key)

    # -- board ------------------------------------------------------------------------------
    # Messages, claims and the digest (issue 3). Reads sync the local index first: one listing.
    @cached_property
    def board(self) -> Board:
        """The message board: the store plus this space's local index."""
        return Board(self.store, clock=self.clock)

    @cached_property
    def _claim_book(self) -> ClaimBook:
        return ClaimBook(self.board, default_duration=self.spec.claims.default_duration, types=self.spec.message_types)

    def post(self, type: str, body: str, *, topic: str | None = None, refs: Sequence[str] = (),
             broadcast: bool = False) -> Message:
        """Post a message as the acting agent (create-only; never overwrites).

        Args:
            type: one of the spec's message types (the template's six plus ``board.extra_types``).
            body: markdown, at most 64 KiB.
            topic: a short topic for the filename, slugged (default: the type).
            refs: messages this one answers, as filenames or ``message_board/`` keys.
            broadcast: an organizer's message to everyone (frontmatter ``broadcast: true``): it lands in
                every agent's inbox (until answered or acknowledged) and in the digest.

        Returns:
            The message as written.

        Raises:
            InvalidInput: no agent id, an unknown type, an empty topic, an empty or oversized body.
            NotFound: a ref names no message, or there is no space here.
            Conflict: ``broadcast`` by an agent that is not an organizer (nothing is posted).
        """
        agent, spec = self.agent, self.spec
        if broadcast and agent not in spec.organizers:
            who = ", ".join(spec.organizers) or "none listed in collab.toml"
            raise Conflict(f"only an organizer ({who}) can broadcast; you are {agent}; nothing was posted",
                           hint="post it without --broadcast, and @mention the agents it is for")
        extra = {**self.stamp, **({BROADCAST: True} if broadcast else {})}
        return self.board.post(agent=agent, type=type, topic=topic, body=body, refs=tuple(refs),
                               types=spec.message_types, extra=extra or None)

    def read(self, *, all: bool = False, since: str | None = None, type: str | None = None,
             author: str | None = None, limit: int | None = None, after: str | None = None,
             peek: bool = False, sync: bool = True) -> ReadResult:
        """What is new for the acting agent since its last read, or (``all``/``since``) the board.

        Args:
            all: every message instead of the new ones; the cursor does not move.
            since: a duration (``2h``), a time or a message filename; the cursor does not move.
            type: only messages of this type.
            author: only messages by this agent.
            limit: new messages: the earliest ``limit`` arrivals (the rest stay new);
                otherwise the newest ``limit``.
            after: a message filename (a ``cursor`` an earlier read returned): what arrived after it,
                on any machine; no cursor moves.
            peek: show what is new without marking it as shown.
            sync: look at the store first (False: new messages as of the last refresh, no request).

        Returns:
            The messages in board order, how many new ones remain, whether the cursor moved (a plain
            read moves it past what it returned; a filtered one, a peek or an ``after`` read does not),
            and the ``cursor`` to pass back as ``after``.

        Raises:
            InvalidInput: no agent id (for new messages), a bad ``since``, ``after`` or ``limit``.
            NotFound: ``after`` names no message.
        """
        if all or since:
            found = self.board.read(since=since, type=type, author=author, limit=limit)
            if not found:
                self._require_space()
            return ReadResult(messages=found, remaining=0, advanced=False)
        result = self.board.read_new(self.agent, type=type, author=author, limit=limit, after=after, peek=peek,
                                     sync=sync)
        if not result.messages:
            self._require_space()
        return result

    def watch(self, *, interval: float | None = None) -> Iterator[WatchItem]:
        """New messages for the acting agent as they arrive, forever (each delivered once: the cursor
        moves as with :meth:`read`), each with whether it is addressed to the agent (its inbox).

        Args:
            interval: seconds between looks at the store while messages arrive (default 1 s on a folder,
                5 s on S3 and the Hub); doubled while nothing arrives, up to 8x.
        """
        base = interval or (5.0 if self.url.startswith(("s3://", "hf://")) else 1.0)
        wait = base
        while True:
            found = self.read()
            if found.messages:
                wait = base
                inbox = {m.key for m in self.board.inbox(self.agent, all=False, sync=False)}
                for m in found.messages:
                    yield WatchItem(m, m.key in inbox)
                continue
            self._wait_for_news(wait)
            wait = min(base * 8, wait * 2)

    def _wait_for_news(self, seconds: float) -> None:
        """Wait until something may have arrived (here: a plain sleep; a gateway pushes)."""
        import time

        time.sleep(seconds)

    def show(self, file: str) -> Message:
        """One message by filename or ``message_board/`` key.

        Raises:
            NotFound: no such message, or no space here.
            InvalidInput: not a message filename, or the file cannot be parsed (the reason is given).
        """
        try:
            return self.board.show(file)
        except NotFound:
            self._require_space()
            raise

    def thread(self, file: str) -> list[ThreadItem]:
        """The message, the messages it refs and every message that refs it, as a tree.

        Returns:
            Items in tree order (depth-first, board order among siblings), each with its depth.

        Raises:
            NotFound: no such message, or no space here.
        """
        try:
            return self.board.thread(file)
        except NotFound:
            self._require_space()
            raise

    def search(self, query: str, *, limit: int = 20) -> list[Message]:
        """Full-text search of the board (every word must match), best match first.

        Raises:
            InvalidInput: an empty query or a bad limit.
            NotFound: no space here.
        """
        found = self.board.search(query, limit=limit)
        if not found:
            self._require_space()  # never "no message matches" where there is no board at all
        return found

    def inbox(self, *, all: bool = False, limit: int | None = None) -> list[Message]:
        """Messages that ref one of the acting agent's messages, mention ``@agent`` or are an organizer's
        broadcast, that it has neither answered (posted a message that refs it) nor acknowledged
        (:meth:`ack`). Reading the board does not empty it.

        Args:
            all: every such message, answered, acknowledged or not.
            limit: the newest ``limit``.

        Returns:
            The messages in board order.

        Raises:
            InvalidInput: no agent id, or a bad limit.
            NotFound: no space here.
        """
        return self.board.inbox(self.agent, all=all, limit=limit, broadcasters=self.spec.organizers)

    def ack(self, files: Sequence[str] = ()) -> list[str]:
        """Acknowledge inbox messages so they leave the acting agent's inbox (none given: all of it).

        Returns:
            The filenames acknowledged.

        Raises:
            NotFound: a file is not a message on the board, or no space here.
        """
        return self.board.ack(self.agent, list(files), broadcasters=self.spec.organizers)

    def claim(self, scope: str, *, duration: str | None = None, note: str = "", force: bool = False) -> ClaimResult:
        """Claim a direction of work, or renew one's own claim on it.

        Args:
            scope: what is claimed, in a few words (compared by slug).
            duration: how long, e.g. ``4h`` (default: the spec's ``claims.default_duration``).
            note: a line posted with the claim.
            force: post even though someone else holds the scope (the claim is then contested).

        Returns:
            The claim, the message posted, and whether it was a renewal or is contested.

        Raises:
            InvalidInput: an empty scope or a bad duration.
            Conflict: another agent holds the scope (the holder and expiry are in the message),
                or won a race for it just now (this claim is then withdrawn).
        """
        return self._claim_book.claim(self.agent, scope, duration=duration, note=note, force=force)

    def release(self, scope: str) -> Claim:
        """Release the acting agent's claim on ``scope``.

        Raises:
            Conflict: the agent holds no live claim on it.
        """
        return self._claim_book.release(self.agent, scope)

    def claims(self, *, all: bool = False, sync: bool = True) -> list[Claim]:
        """Current claims (active ones and the contested claims behind them); with ``all``, ended ones too.

        Args:
            sync: look at the store first (False: as of the last refresh, no request).

        Returns:
            Claims with their status (active, contested, expired, released), computed at the current time.
        """
        states = self._claim_book.states(sync=sync)
        return states if all else [c for c in states if c.ended is None]

    def digest(self) -> Digest:
        """The state of play in at most 6,000 characters (markdown and JSON).

        Task and metric, the top results, active claims, open proposals, the acting
        agent's unanswered questions and inbox (when an agent id is set), each
        agent's latest status, counts. Deterministic for a given board and clock.

        Raises:
            NotFound: there is no space here.
        """
        leaderboard = self.refresh(agents=False).leaderboard  # one listing per prefix
        agent = self.agent if self._agent else None
        headline = leaderboard.headline
        return render_digest(gather_digest(self._claim_book, self.spec, agent, [r.to_dict() for r in leaderboard.top(5)],
                                           warnings_of(leaderboard), headline.to_dict() if headline else None,
                                           dead_ends=[r.to_dict() for r in leaderboard.dead_ends()]))

    def doctor_messages(self) -> list[Problem]:
        """Re-list the whole board; return the files every read skips (with the reason), dangling refs, claims
        readers cannot use as written (no scope, an unreadable ``expires``) and broadcasts by non-organizers."""
        found = self.board.doctor()
        found += claim_problems(self.board.index.of_type("claim"), self._claim_book.default)
        found += broadcast_problems(self.board.index.messages(), self.spec.organizers)
        return found

    def doctor(self, *, uploads_older_than: str = "1h") -> list[Problem]:
        """Everything a reader skips or distrusts, after a full listing of the space, in key order: unreadable
        board files, dangling refs, impersonated authors, unusable results, verdicts and registrations,
        hand-added leaderboard rows, agents whose stamps lag the store's clock, packs that disagree with the
        files they bundle, quarantined objects, keys our key rules refuse, and stale incomplete uploads."""
        odd = [Problem(key, f"a stored key our key rules refuse ({why}); every listing skips it")
               for key, why in self.store.odd_keys("")]
        found = (self.doctor_messages() + self.doctor_clocks() + self.doctor_results() + self.doctor_packs()
                 + self.doctor_quarantine() + odd + self.doctor_uploads(uploads_older_than))
        return sorted(dict.fromkeys(found), key=lambda p: (p.key, p.reason))

    def doctor_uploads(self, older_than: str = "1h") -> list[Problem]:
        """Incomplete multipart uploads (on a folder: unfinished staging files) older than ``older_than`` (``1h``),
        which pushes killed outright left; :meth:`abort_uploads` removes them. Raises InvalidInput (a bad duration)."""
        age = artifact_files.stale_age(older_than)
        try:
            return artifact_files.upload_problems(artifact_files.stale_uploads(self.store, age))
        except StoreError as exc:  # not allowed or not offered by this store: the rest of doctor's report stands
            notice(f"warning: could not list the incomplete uploads ({exc.message})")
            return []

    def abort_uploads(self, older_than: str = "1h") -> list[str]:
        """Abort the incomplete uploads older than ``older_than``; returns their keys. Raises InvalidInput."""
        return [u.key for u in artifact_files.abort_stale_uploads(self.store, artifact_files.stale_age(older_than))]

    def doctor_packs(self) -> list[Problem]:
        """Packs (``packs/``) that disagree with the listing of the files they bundle; they are ignored."""
        if not packs.packable(self.store):
            return []
        out: list[Problem] = []
        for prefix in (paths.BOARD, paths.RESULTS):
            listing = {i.key: i for i in self.store.list(prefix)}
            out += packs.Packs(self.store, prefix).check(listing)
        return out

    def doctor_clocks(self) -> list[Problem]:
        """Agents whose message filename stamps lag the store's arrival time by more than 10 minutes,
        with the likely cause (local time instead of UTC, a skewed clock)."""
        self.board.sync(full=True)
        return self.board.clocks()

    # -- artifacts and results ------------------------------------------------------------------
    def push(
        self,
        path: str,
        *,
        kind: str | None = None,
        name: str | None = None,
        replace: bool = False,
        progress: artifact_files.Progress | None = None,
    ) -> artifact_files.PushReport:
        """Upload a file or folder as the acting agent's artifact ``artifacts/{kind}/{name}_{agent}...``.

        Unchanged files are skipped (size and content); uploads run in parallel, large files in parts.

        Args:
            path: a local file or folder.
            kind: ``scripts``, ``checkpoints``, ``data`` or a new folder (default: from the path); results enter
                only through :meth:`submit`.
            name: the name before ``_{agent}`` (default: the file or folder name).
            replace: allow changing an existing artifact of yours (a folder is then mirrored exactly).
            progress: receives the bytes to send and their progress.

        Returns:
            What was uploaded, skipped and deleted, and the bytes sent.

        Raises:
            NotFound: nothing at ``path``.
            InvalidInput: a bad kind, name or agent id, or an empty folder.
            Conflict: the artifact exists with other content and ``replace`` is not set (nothing is sent).
        """
        return artifact_files.push(self.store, self.agent, path, kind=kind, name=name, replace=replace,
                                   progress=progress)

    def pull(self, source: str, dest: str, *, progress: artifact_files.Progress | None = None) -> artifact_files.PullReport:
        """Download a key, or everything under a prefix, to ``dest``: in parallel, each file written atomically.

        Files already complete at ``dest`` are skipped, so an interrupted pull resumes.

        Args:
            source: a key (``artifacts/scripts/x_agent-01.py``) or a prefix (an artifact folder).
            dest: a local file or folder.
            progress: receives the bytes to receive and their progress.

        Returns:
            What was downloaded and skipped.

        Raises:
            NotFound: nothing stored at ``source``.
            InvalidInput: a bad key, or ``dest`` is a file where a folder is needed.
            StoreError: a download came back short (nothing is left at ``dest``).
        """
        return artifact_files.pull(self.store, source, dest, progress=progress)

    def artifacts(self, *, agent: str | None = None, kind: str | None = None) -> list[artifact_files.Artifact]:
        """The artifacts of the space (folders summed up), optionally of one owner or kind.

        Returns:
            Artifacts with owner, kind, size, file count and last change, in key order.

        Raises:
            NotFound: none, and no space here.
        """
        found = artifact_files.list_artifacts(self.store, agent=agent, kind=kind)
        if not found:
            self._require_space(board=False)
        return found

    def delete_artifact(self, key: str) -> list[str]:
        """Delete one of the acting agent's own artifacts (a file or a folder).

        Returns:
            The keys deleted.

        Raises:
            Conflict: it belongs to another agent, or it is a result (results are immutable).
            NotFound: no such artifact.
        """
        return artifact_files.delete(self.store, self.agent, key)

    @staticmethod
    def score_task(task: str, predictions: bytes) -> ScoreReport:
        """Score predictions with the scorer registered as ``task`` (e.g. ``gsm8k``), without a space.

        Raises:
            NotFound: no such scorer installed.
            InvalidInput: empty or malformed predictions (the message names the line).
        """
        return get_scorer(task).score(result_files.check_predictions(predictions))

    def score(self, predictions: bytes) -> ScoreReport:
        """Score predictions with the space's scorer and data, without submitting.

        Raises:
            InvalidInput: the space has no scorer, or the predictions are malformed.
            NotFound: the scorer is not installed, or the spec's scorer data is not stored.
        """
        scorer = self.spec.scorer
        if scorer is None:
            raise InvalidInput("this space has no scorer", hint="submit self-reported scores with collab submit --score")
        result_files.check_predictions(predictions)
        return get_scorer(scorer.name).score(predictions, split=scorer.split, data=self._scorer_data())

    def _scorer_data(self) -> bytes | None:
        scorer = self.spec.scorer
        return self.store.get(scorer.data) if scorer and scorer.data else None

    def submit(
        self,
        experiment: str,
        *,
        score: float | str | None = None,
        predictions: bytes | None = None,
        name: str | None = None,
        model: str | None = None,
        notes: str | None = None,
        track: str | None = None,
        fields: Sequence[str] = (),
        refs: Sequence[str] = (),
        artifacts: Sequence[str] = (),
        negative: bool = False,
    ) -> result_files.Submission:
        """Store a result (create-only) in ``artifacts/results/`` and regenerate ``LEADERBOARD.md``.

        With ``predictions`` the space's scorer computes the score (**verified**, with a per-item
        file next to the result); with ``score`` it is **self-reported**, and must lie in the metric's
        range (``[metric] min``/``max``). A result over a spec limit is stored but marked invalid, with the
        reason. With ``negative`` it records a dead end: an approach that did not work, listed in the
        digest and labelled on the leaderboard, never ranked.

        Args:
            experiment: what was run (required).
            score: a self-reported score (a finite number).
            predictions: a predictions file's bytes, to be scored here.
            name: the result's name (default: from the experiment); the key is ``{name}_{agent}.json``.
            model, notes, track: the template's fields; ``track`` must be one of the spec's tracks.
            fields: the task's own fields as ``key=value`` (values read as JSON when they are).
            refs: messages or results this builds on.
            artifacts: keys of artifacts behind the result.
            negative: record a dead end (``status: negative``).

        Returns:
            The stored key, status, score and invalid reason, and the score report if scored.

        Raises:
            InvalidInput: a missing or malformed field, a non-finite or out-of-range score, empty or
                malformed predictions.
            NotFound: a ref or artifact that is not stored.
            AlreadyExists: a result of that name exists (nothing is changed).
        """
        submission = result_files.submit(
            self.store, self.spec, self.agent, self.clock(), experiment=experiment, score=score,
            predictions=predictions, name=name, model=model, notes=notes, track=track, fields=fields, refs=refs,
            artifacts=artifacts, scorer_data=self._scorer_data() if predictions is not None else None,
            negative=negative, resolve=self.board.resolve_ref,
        )
        self._publish_after_write()
        return submission

    def _publish_after_write(self) -> None:
        """Regenerate the leaderboard after a stored write; a failure here never makes that write look
        failed (a user would retry it): the next reader that sees the table behind repairs it."""
        try:
            self.write_leaderboard()
        except CollabError as exc:
            notice(f"warning: stored, but LEADERBOARD.md was not regenerated ({error_reason(exc)}); "
                   "the next read repairs it", once="publish-after-write")

    def results(self) -> list[result_files.Result]:
        """Every readable result in ``artifacts/results/``, in key order (unreadable ones: :meth:`doctor_results`)."""
        return self.refresh(agents=False).results

    def leaderboard(self) -> standings.Leaderboard:
        """The leaderboard derived from every result, verdict and the spec's baselines (nothing is written).

        Returns:
            A :class:`~collabspace.domain.results.leaderboard.Leaderboard`: ``rows`` / ``top(5)`` (dicts via
            ``to_dict()`` with rank, agent_id, score, experiment, status, file, flag), ``best``,
            ``flagged`` (results and messages building on invalid results), ``problems``.

        It never writes (the digest, the dashboard and doctor repair a ``LEADERBOARD.md`` left behind, see
        :meth:`refresh`; ``collab leaderboard --write`` regenerates it).
        """
        return self.view.refresh(agents=False).leaderboard

    def compare(self, results: Sequence[str]) -> comparing.Comparison:
        """Compare verified results item by item, re-scoring each per-item file with the space's scorer.

        Args:
            results: result keys or file names (``x_agent-01.json`` or ``x_agent-01``); one gives its
                per-item correctness (a result page), two or more also where they differ, the oracle
                ensemble ("at least one is right") and their majority vote, scored by the real scorer.

        Returns:
            A :class:`~collabspace.domain.results.compare.Comparison` (``to_dict()`` for JSON).

        Raises:
            NotFound: no such result, or its per-item file is gone.
            InvalidInput: a result that is not verified on the leaderboard (self-reported, invalid, or not
                reproducible), none or too many results, the same one twice, results on different splits.
        """
        from .domain.refs import canonical

        names = [str(name).strip() for name in results]
        keys = [canonical(text if text.endswith(".json") else text + ".json") for text in names]
        comparing.check_selection(keys)
        by_file = {r.file: r for r in self.leaderboard().rows if r.file}
        rows = []
        for text, key in zip(names, keys):
            row = by_file.get(key)
            if row is None:
                raise NotFound(f"no result {text!r}", hint="list results with: collab leaderboard")
            if row.status != "verified":
                why = f"{row.status}: {row.reason}" if row.reason else row.detail or row.status
                raise InvalidInput(f"{key} is not verified ({why}), so it has no per-item verdicts to compare",
                                   hint="compare results scored here (submitted with --predictions)")
            rows.append(row)
        wanted = [paths.items_key(r.file) for r in rows]
        got = self.view._fetch(wanted)  # through the object cache: per-item files are immutable
        missing = [k for k in wanted if got.get(k) is None]
        if missing:
            raise NotFound(f"the per-item file {missing[0]} cannot be read", hint="check it with: collab doctor")
        scorer = self.spec.scorer
        assert scorer is not None  # a verified row needs one
        data = self._scorer_data()
        return comparing.compare(rows, [got[k] or b"" for k in wanted],
                                 lambda predictions: get_scorer(scorer.name).score(predictions, split=scorer.split,
                                                                                   data=data))

    def write_leaderboard(self) -> standings.Leaderboard:
        """Regenerate ``LEADERBOARD.md`` from the full listing (repeating while results keep arriving).

        Returns:
            The leaderboard as written.
        """
        self.board.sync()  # once: the refs that flag work built on invalid results
        return standings.regenerate(self.store, lambda: self.view.refresh(board=False, agents=False).leaderboard)

    def invalidate(self, result: str, reason: str, *, reverse: bool = False) -> invalidation.Verdict:
        """Record an immutable verdict that a result is invalid (or, with ``reverse``, that the verdict which
        made it invalid was a mistake), and regenerate the leaderboard.

        Verdicts are never changed: a reversal is a later verdict (``action: reinstate``) that names the one
        it ``supersedes``; the leaderboard replays the entitled verdicts along those ``supersedes`` chains,
        whatever the writers' clocks (:func:`~collabspace.domain.results.invalidation.standing`), and shows the
        reinstatement and its reason.

        Args:
            result: the result's key or file name (``x_agent-01.json`` or ``x_agent-01``).
            reason: why, in a line.
            reverse: reinstate the result (organizers only).

        Returns:
            The verdict as stored.

        Raises:
            InvalidInput: an empty reason.
            NotFound: no such result.
            Conflict: the acting agent is neither the result's owner nor an organizer (reversing: not an
                organizer); invalidating a result that is invalid already (the first verdict stands), or
                reversing one that is not invalid.
        """
        verdict = invalidation.invalidate(self.store, self.spec, self.agent, result, reason, now=self.clock(),
                                          reverse=reverse)
        self._publish_after_write()
        return verdict

    def doctor_results(self) -> list[Problem]:
        """Result and verdict files that cannot be used as they are, with the reason (never fatal).

        Returns:
            One problem per file: malformed JSON, a missing required field, a non-finite score, a
            verification that does not hold up, an unknown track, a verdict by someone not entitled.
        """
        snap = self.refresh(agents=True)
        published = standings.published_problems(self.store, snap.leaderboard)  # hand-added LEADERBOARD.md rows
        return sorted({*snap.leaderboard.problems, *snap.problems, *published}, key=lambda p: (p.key, p.reason))


    # -- quarantine (organizers) ----------------------------------------------------------------
    # A bad object is moved out of the space, not patched: ``quarantine/{key}`` keeps its bytes as
    # they were, ``quarantine/{key}.why.json`` says who moved it, when and why, and the original key
    # is deleted, so every reader (board index, results, verdicts, registrations, packs) skips it
    # without knowing about quarantine. ``collab doctor`` lists the records (:meth:`doctor_quarantine`).
    def quarantine(self, key: str, reason: str) -> dict[str, object]:
        """Take one stored object out of the space, with a reason, as an organizer.

        Idempotent: a retry after a lost response (same bytes already moved) succeeds again.

        Args:
            key: the object's key (a message, a result, a verdict, a registration, any file).
            reason: why, in a line.

        Returns:
            The quarantine record as stored: key, by, reason, timestamp, size, sha256, moved_to.

        Raises:
            InvalidInput: an empty reason, or a key inside ``quarantine/`` or one of the spec's own files.
            Conflict: the acting agent is not an organizer, or another object was quarantined under that key.
            NotFound: nothing is stored at ``key`` (and it was never quarantined).
        """
        import hashlib
        import json

        from .domain.timefmt import iso

        agent = self.agent
        if agent not in self.spec.organizers:
            who = ", ".join(self.spec.organizers) or "none listed in collab.toml"
            raise Conflict(f"only an organizer ({who}) can quarantine; you are {agent}",
                           hint=f"post your evidence instead: collab post --type question --refs {key} --body TEXT")
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("--reason is empty", hint='say why, e.g. --reason "nests 20,000 brackets"')
        if key.startswith(paths.QUARANTINE) or key == paths.SPEC:
            raise InvalidInput(f"{key} cannot be quarantined", hint="name an object of the space, e.g. a message or a result")
        moved, record_key = paths.quarantine_key(key), paths.quarantine_record_key(key)
        try:
            data = self.store.get(key)
        except NotFound:
            try:  # a retry after the move: the record is the answer
                return _quarantine_record(record_key, self.store.get(record_key))
            except (NotFound, InvalidInput):
                raise NotFound(f"nothing stored at {key}", hint=f"list keys with: collab ls {key.rsplit('/', 1)[0]}/") from None
        digest = hashlib.sha256(data).hexdigest()
        record = {"key": key, "by": agent, "reason": reason, "timestamp": iso(self.clock()), "size": len(data),
                  "sha256": digest, "moved_to": moved}
        try:
            self.store.put(moved, data, create_only=True)
        except AlreadyExists:
            if self.store.get(moved) != data:
                raise Conflict(f"{moved} already holds another quarantined object",
                               hint=f"look at it with: collab cat {record_key}") from None
        try:
            self.store.put(record_key, (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode(),
                           create_only=True)
        except AlreadyExists:
            record = _quarantine_record(record_key, self.store.get(record_key))  # ours, retried
        self.store.delete(key)
        if key.startswith((paths.RESULTS, paths.VERDICTS)):
            self.write_leaderboard()
        elif key.startswith(paths.BOARD):
            self.board.sync(full=True)
        return record

    def quarantined(self) -> list[dict[str, object]]:
        """Every quarantine record, in key order (one listing of ``quarantine/``)."""
        out = []
        for info in self.store.list(paths.QUARANTINE):
            if info.key.endswith(paths.QUARANTINE_RECORD):
                try:
                    out.append(_quarantine_record(info.key, self.store.get(info.key)))
                except (InvalidInput, NotFound):
                    out.append({"key": info.key, "by": "?", "reason": "unreadable quarantine record",
                                "timestamp": None})
        return out

    def doctor_quarantine(self) -> list[Problem]:
        """What organizers quarantined, with who and why (for ``collab doctor``)."""
        return [Problem(str(r["key"]), f"quarantined by {r['by']} at {r.get('timestamp') or '?'}: {r['reason']}")
                for r in self.quarantined()]


def _quarantine_record(key: str, data: bytes) -> dict[str, object]:
    """A quarantine record as stored.

    Raises:
        InvalidInput: not a JSON object with the text fields key, by and reason.
    """
    from .domain import safejson

    obj = safejson.loads(data, what=key)
    if not isinstance(obj, dict) or not all(isinstance(obj.get(f), str) and obj[f] for f in ("key", "by", "reason")):
        raise InvalidInput(f"{key}: a quarantine record needs the text fields key, by and reason")
    return obj
