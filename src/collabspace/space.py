"""The Space: the one facade every frontend (CLI, web, MCP) calls.

>>> space = Space.init("./gsm8k-space", preset_spec("gsm8k"))   # doctest: +SKIP
>>> space = Space.open("./gsm8k-space", agent="agent-01")        # doctest: +SKIP
>>> space.join(model="claude-opus-4", harness="claude-code")     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from .domain import agents, paths, readmes
from .domain.leaderboard import render_markdown
from .domain.spec import Spec, parse_spec
from .domain.timefmt import utcnow
from .errors import AlreadyExists, Conflict, InvalidInput, NotFound
from .storage import ObjectInfo, Store, open_store


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
        if agent is not None:
            paths.check_agent_id(agent)

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, agent: str | None = None, clock: Callable[[], datetime] = utcnow) -> Space:
        """Open an existing space by address (folder, ``s3://``, ``memory://``).

        Raises:
            InvalidInput: a malformed address or agent id.
            NotFound: nothing is there (checked lazily, when the spec is first read).
        """
        return cls(open_store(url), agent=agent, clock=clock)

    @classmethod
    def init(cls, url: str | Store, spec: Spec, *, clock: Callable[[], datetime] = utcnow) -> Space:
        """Create a space at ``url`` (an address or an opened store) from ``spec``, with its generated files.

        The space must be empty; ``collab.toml`` is written first, create-only, so
        two concurrent inits cannot both succeed.

        Raises:
            Conflict: something is already stored at ``url``; nothing is changed.
        """
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
        store.put_many({k: t.encode() for k, t in space.generated_files().items() if k != paths.SPEC})
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
                hint=f"create one with: collab init {self.url} --task gsm8k",
            ) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{paths.SPEC} is not UTF-8 text", hint="save collab.toml as UTF-8") from None
        return parse_spec(text)

    def generated_files(self) -> dict[str, str]:
        """The derived files for the current spec: key -> text, in writing order."""
        spec = self.spec
        return {
            paths.SPEC: spec.to_toml(),
            paths.README: readmes.space_readme(spec, self.url),
            paths.BOARD_README: readmes.board_readme(spec, self.url),
            paths.ARTIFACTS_README: readmes.artifacts_readme(spec, self.url),
            paths.LEADERBOARD: render_markdown(spec, []),
        }

    def getting_started(self) -> str:
        """The "Getting Started" steps of the space's README, for a joining agent."""
        return readmes.section(readmes.space_readme(self.spec, self.url), "Getting Started")

    # -- agents -----------------------------------------------------------------------------
    def join(
        self,
        *,
        model: str | None = None,
        harness: str | None = None,
        tools: list[str] | None = None,
        bio: str = "",
    ) -> JoinResult:
        """Register the acting agent in ``agents/{agent}.md`` (create-only).

        Returns:
            The registration, and whether it was created (False: the same agent re-joining).

        Raises:
            InvalidInput: no or a malformed agent id.
            Conflict: the id belongs to an agent with another model or harness.
            NotFound: there is no space here.
        """
        agent = self.agent
        self.spec  # noqa: B018 -- refuse to register in a folder that is not a space
        reg, created = agents.register(
            self.store, agent, now=self.clock(), model=model, harness=harness, tools=tools, bio=bio
        )
        return JoinResult(registration=reg, created=created, key=paths.agent_key(agent))

    def agents(self) -> list[agents.Registration]:
        """Every registered agent, in id order."""
        return agents.list_registrations(self.store)

    # -- inspection -------------------------------------------------------------------------
    def ls(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object under ``prefix``, in key order."""
        return list(self.store.list(prefix))

    def cat(self, key: str) -> bytes:
        """The bytes of one object. Raises NotFound."""
        return self.store.get(key)
