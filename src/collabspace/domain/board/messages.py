"""Board messages: the filename forms, tolerant parsing and rendering.

A message is ``message_board/{YYYYMMDD-HHmmss}_{agent}_{topic}.md`` with the
template's frontmatter (``agent``, ``type``, ``timestamp``, ``refs``) and a
markdown body. Real boards also hold ``{ts}_{agent}.md`` (no topic) and
``{ts}-{ms}_{agent}.md`` (the later API's form); all of them are read. When an
agent posts twice in one second on one topic, the second file gets a
``_NNN`` sequence suffix after the topic (``..._plan.md`` < ``..._plan_002.md``
in key order, so filename order stays posting order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...errors import InvalidInput
from .. import frontmatter, paths, refs
from ..problems import Problem
from ..refs import shown
from ..timefmt import UTC, file_stamp, frontmatter_time, parse_time

#: The largest body ``post`` accepts; details belong in artifacts/.
MAX_BODY_BYTES = 64 * 1024

#: ``@id``: a valid agent id (1-40 of a-z, 0-9, '-', a letter or digit at both ends) with at least one letter,
#: so that ``self-consistency @8`` is not a mention of an agent "8".
_MENTION_RE = re.compile(r"(?<![\w@.])@(?=[a-z0-9-]*[a-z])([a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)(?![a-z0-9-])")
#: The frontmatter field of an organizer's broadcast (``collab post --broadcast``): it reaches every inbox.
BROADCAST = "broadcast"
_KNOWN_FIELDS = ("agent", "type", "timestamp", "refs")
#: Kept in ``extra`` (and JSON) but not shown to a reader: bookkeeping of the tool's (see board.READ_TO).
_QUIET_FIELDS = ("read_to",)
#: Set in ``extra`` by :func:`parse_message` when the frontmatter's ``agent`` is not the filename's:
#: the name it claims, shown to readers and reported by :func:`message_problems`, never credited.
CLAIMED_AGENT = "claimed_agent"


class MessageFormatError(InvalidInput):
    """A board file that cannot be read as a message (``collab doctor`` lists them)."""


@dataclass(frozen=True)
class FileName:
    """The parts of a message filename."""

    stamp: datetime
    agent: str
    topic: str
    ms: int | None = None
    seq: int | None = None


def is_message_key(key: str) -> bool:
    """True for a board key that should hold a message (not the README, not a sub-folder, ``.md``)."""
    name = key.removeprefix(paths.BOARD)
    return key.startswith(paths.BOARD) and "/" not in name and name.endswith(".md") and name != "README.md"


def parse_filename(name: str) -> FileName:
    """Split a message filename (bare or a ``message_board/`` key) into its parts.

    Raises:
        MessageFormatError: the name does not follow any known form.
    """
    base = name.rsplit("/", 1)[-1]
    match = paths.MESSAGE_NAME.match(base)
    if not match:
        raise MessageFormatError(
            f"filename {base!r} is not {{YYYYMMDD-HHmmss}}_{{agent}}[_{{topic}}].md",
            hint="post with collab post, which names files for you",
        )
    t = match["stamp"]
    try:  # not strptime, which costs more than the rest of the parse
        stamp = datetime.fromisoformat(f"{t[:8]}T{t[9:]}+00:00")
    except ValueError:  # an impossible date, or digits other than 0-9 (which int() reads)
        try:
            stamp = datetime(int(t[:4]), int(t[4:6]), int(t[6:8]), int(t[9:11]), int(t[11:13]), int(t[13:15]),
                             tzinfo=UTC)
        except ValueError:
            raise MessageFormatError(
                f"filename {base!r} starts with an impossible date", hint="use the UTC time as YYYYMMDD-HHmmss"
            ) from None
    return FileName(
        stamp=stamp,
        agent=match["agent"],
        topic=match["topic"] or "",
        ms=int(match["ms"]) if match["ms"] else None,
        seq=int(match["seq"]) if match["seq"] else None,
    )


def stamp_of(key: str) -> datetime | None:
    """The filename time of a message key, or ``None`` if it has none."""
    try:
        return parse_filename(key).stamp
    except MessageFormatError:
        return None


def message_filename(now: datetime, agent: str, topic: str, seq: int = 1) -> str:
    """The key for a new message; ``seq`` > 1 adds the ``_NNN`` suffix that sorts after the plain form."""
    key = paths.message_key(file_stamp(now), agent, topic)
    return key if seq <= 1 else f"{key.removesuffix('.md')}_{seq:03d}.md"


def mentions(body: str, known: Iterable[str] | None = None) -> tuple[str, ...]:
    """The agent ids mentioned as ``@id`` in a body, in first-seen order.

    A mention is a valid agent id with at least one letter (``@8`` is a number, not an agent). With
    ``known`` (the registered agents, say), only those are returned.
    """
    found = dict.fromkeys(_MENTION_RE.findall(body))
    if known is not None:
        names = set(known)
        return tuple(a for a in found if a in names)
    return tuple(found)


def is_broadcast(m: Message) -> bool:
    """Whether the message says it is a broadcast (only an organizer's counts: see :func:`broadcast_problems`)."""
    value = m.extra.get(BROADCAST)
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes"))


def broadcast_problems(messages: Iterable[Message], organizers: Iterable[str]) -> list[Problem]:
    """Broadcasts by someone who is not an organizer (they reach nobody's inbox), for ``collab doctor``."""
    allowed = set(organizers)
    return [Problem(m.key, f"says it is a broadcast, but {m.agent} is not an organizer: it reaches nobody's inbox")
            for m in messages if is_broadcast(m) and m.agent not in allowed]


@dataclass(frozen=True)
class Message:
    """One message on the board.

    ``time`` is the frontmatter timestamp (the filename's when that is missing or
    unreadable); ``stamp`` is the filename's, which orders the board.
    """

    key: str
    agent: str
    type: str | None
    time: datetime
    stamp: datetime
    topic: str = ""
    refs: tuple[str, ...] = ()
    body: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: When the store received it (its own clock), once a listing has said; ``None`` before.
    arrival: str | None = field(default=None, compare=False)
    #: The bytes as stored, kept only on a message this process just posted (the gateway hands them back).
    stored: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def file(self) -> str:
        """The bare filename, as ``refs`` name it."""
        return self.key.rsplit("/", 1)[-1]

    @property
    def problem(self) -> str | None:
        """Why a reader should distrust this message's authorship (``None``: nothing to say).

        The agent in the filename is the author; a frontmatter ``agent`` naming someone else is only a claim.
        """
        claimed = self.extra.get(CLAIMED_AGENT)
        if claimed in (None, ""):
            return None
        return (f"frontmatter says agent {str(claimed)!r}, but the filename says {self.agent}: "
                f"shown as {self.agent}'s, not {claimed}'s")

    @property
    def timestamp(self) -> str:
        """The template's ``YYYY-MM-DD HH:mm UTC`` form of :attr:`time`."""
        return frontmatter_time(self.time)

    def first_line(self, width: int = 160) -> str:
        """The first non-empty body line without markdown heading marks, cut to ``width``."""
        for line in self.body.splitlines():
            text = line.strip().lstrip("#").strip()
            if text:
                return text if len(text) <= width else text[: width - 1].rstrip() + "…"
        return ""

    def header(self) -> str:
        """``agent · type · timestamp``."""
        return " · ".join([self.agent, self.type or "-", self.timestamp])

    def extras_line(self) -> str:
        """Extra frontmatter fields as ``key: value · ...`` (empty values left out)."""
        shown = {k: v for k, v in self.extra.items() if v not in (None, "", []) and k not in _QUIET_FIELDS}
        return " · ".join(f"{k}: {v}" for k, v in shown.items())

    def to_markdown(self, level: int = 3) -> str:
        """The message as a markdown section: heading, header line, refs, extra fields, body."""
        refs = " · refs: " + ", ".join(f"`{shown(r)}`" for r in self.refs) if self.refs else ""
        extra = f"\n{self.extras_line()}" if self.extras_line() else ""
        return f"{'#' * level} {self.file}\n*{self.header()}*{refs}{extra}\n\n{self.body}\n"

    def to_summary(self, width: int = 160) -> dict[str, Any]:
        """The same shape cut down for a page-sized summary (the digest): who, what, when, and the first line."""
        full = self.to_dict()
        return {**{k: full[k] for k in ("file", "key", "agent", "type", "timestamp")},
                "summary": self.first_line(width)}

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of a message everywhere (CLI, MCP, the dashboard's API, which adds its rendering):
        file, key, agent, type, timestamp, topic, refs, body, arrival, then extra frontmatter fields."""
        out: dict[str, Any] = {
            "file": self.file,
            "key": self.key,
            "agent": self.agent,
            "type": self.type,
            "timestamp": self.timestamp,
            "topic": self.topic,
            "refs": list(self.refs),
            "body": self.body,
            "arrival": self.arrival,
        }
        for name, value in self.extra.items():
            out.setdefault(name, value)
        return out


def parse_message(key: str, data: bytes) -> Message:
    """Read a message as real agents wrote it.

    Tolerates a BOM, CRLF, no frontmatter, ``type: agent`` and unknown types, refs
    in any form, a missing or odd timestamp, and extra fields (kept in ``extra``).

    The author is the agent in the filename, always (anyone can write any frontmatter, but
    only the filename decides whose ``read`` skips it and whose inbox it answers). A
    frontmatter ``agent`` that names someone else is kept as ``extra["claimed_agent"]`` and
    reported (:attr:`Message.problem`), never credited.

    Raises:
        MessageFormatError: the filename, encoding or frontmatter cannot be read, or the file is empty.
    """
    name = parse_filename(key)
    if not data.strip():
        raise MessageFormatError(f"{key} is empty", hint="a message needs frontmatter and a body")
    try:
        meta, body = frontmatter.parse(data)
    except frontmatter.FrontmatterError as exc:
        raise MessageFormatError(exc.message, hint=exc.hint) from None
    agent = meta.get("agent")
    kind = meta.get("type")
    extra = {k: v for k, v in meta.items() if k not in _KNOWN_FIELDS and k != CLAIMED_AGENT}
    claimed = str(agent).strip() if agent not in (None, "") else ""
    if claimed and claimed.casefold() != name.agent.casefold():
        extra[CLAIMED_AGENT] = claimed
    written = meta.get("timestamp")
    if written == _minute_text(key, name.stamp):  # the usual header: the filename's minute, no parsing
        when = name.stamp.replace(second=0)
    else:
        when = parse_time(written) or name.stamp
    return Message(
        key=key,
        agent=name.agent,
        type=str(kind).strip() if kind not in (None, "") else None,
        time=when,
        stamp=name.stamp,
        topic=name.topic,
        refs=refs.parse(meta.get("refs")),
        body=body,
        extra=extra,
    )


def _minute_text(key: str, stamp: datetime) -> str:
    """``YYYY-MM-DD HH:mm UTC`` of a filename stamp (what :func:`frontmatter_time` gives), from the name's own
    digits when they are ASCII (no strftime)."""
    t = key.rsplit("/", 1)[-1][:15]
    if t.isascii() and t[8:9] == "-":
        return f"{t[:4]}-{t[4:6]}-{t[6:8]} {t[9:11]}:{t[11:13]} UTC"
    return frontmatter_time(stamp)


def message_problems(messages: list[Message]) -> list[Problem]:
    """The messages whose authorship a reader should distrust (:attr:`Message.problem`), for ``collab doctor``."""
    return [Problem(m.key, m.problem) for m in messages if m.problem]


def render_message(
    *, agent: str, type: str, now: datetime, refs: tuple[str, ...] = (), body: str, extra: dict[str, Any] | None = None
) -> str:
    """The file text of a new message in the template's format (refs as a YAML list)."""
    meta: dict[str, Any] = {"agent": agent, "type": type, "timestamp": frontmatter_time(now), "refs": list(refs)}
    meta.update(extra or {})
    return frontmatter.dump(meta, body)


def check_body(body: str) -> str:
    """Return ``body`` stripped, or refuse an empty or oversized one.

    Raises:
        InvalidInput: the body is empty or over :data:`MAX_BODY_BYTES`.
    """
    text = body.strip()
    if not text:
        raise InvalidInput("the message body is empty", hint="pass --body TEXT, --body-file FILE or pipe it on stdin")
    size = len(text.encode())
    if size > MAX_BODY_BYTES:
        raise InvalidInput(
            f"the message body is {size:,} bytes; the limit is {MAX_BODY_BYTES:,} bytes (64 KiB)",
            hint="put the details in an artifact (collab push) and link to it from a short message",
        )
    return text
