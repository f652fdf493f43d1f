"""The bucket layout (v1): every key collabspace reads or writes is built here.

::

    collab.toml                          the task spec
    README.md                            generated from the spec
    LEADERBOARD.md                       generated from the results
    leaderboard.json                     its machine-readable twin, written with it (not by init)
    agents/{agent}.md                    registrations
    message_board/README.md              how to post
    message_board/{stamp}_{agent}_{topic}.md
    artifacts/README.md
    artifacts/{kind}/{name}_{agent}.{ext}  or  artifacts/{kind}/{name}_{agent}/...
    artifacts/results/{name}_{agent}.json
    artifacts/results/{name}_{agent}.items.jsonl   per-item correctness of a scored result
    verdicts/{name}_{agent}~{by}.json    {by}'s invalidation verdict on that result (immutable, one per author)
    verdicts/{name}_{agent}~{by}~{stamp}.json   a later verdict of {by}'s on it (a reinstatement, or again)
    verdicts/{name}_{agent}.json         the old layout: one verdict per result, its author in the file
    quarantine/{key}                     an object an organizer took out of the space (its bytes, as they were)
    quarantine/{key}.why.json            who quarantined it, when and why
    packs/{folder}/{first}~{last}~{n}~{digest}.json   derived bundles of old files (see domain/packs.py)
    gateway/...                          the gateway's private state: token hashes, invites, idempotency
                                         records, the audit log (never served, never client-written)
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import InvalidInput

LAYOUT_VERSION = 1

SPEC = "collab.toml"
README = "README.md"
LEADERBOARD = "LEADERBOARD.md"
LEADERBOARD_JSON = "leaderboard.json"
AGENTS = "agents/"
BOARD = "message_board/"
BOARD_README = BOARD + "README.md"
ARTIFACTS = "artifacts/"
ARTIFACTS_README = ARTIFACTS + "README.md"
ARTIFACT_KINDS = ("scripts", "results", "checkpoints", "data")
RESULTS = ARTIFACTS + "results/"
VERDICTS = "verdicts/"
PACKS = "packs/"
QUARANTINE = "quarantine/"
QUARANTINE_RECORD = ".why.json"

#: The files `collab init` generates, in the order it writes them (the spec first: it is the lock).
GENERATED = (SPEC, README, BOARD_README, ARTIFACTS_README, LEADERBOARD_JSON, LEADERBOARD)

AGENT_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
#: A message's filename: ``{YYYYMMDD-HHmmss}[-{ms}]_{agent}[_{topic}][_{NNN}].md``, as every known writer names it.
MESSAGE_NAME = re.compile(
    r"^(?P<stamp>\d{8}-\d{6})(?:-(?P<ms>\d{1,6}))?"
    r"_(?P<agent>[^_/]+?)(?:_(?P<topic>[^/]*?))??(?:_(?P<seq>\d{3}))?\.md$"
)


def check_agent_id(agent: str | None) -> str:
    """Return ``agent`` if it is a valid agent id, else raise :class:`InvalidInput`.

    Ids are 1-40 characters of ``a-z``, ``0-9`` and ``-``, starting and ending
    with a letter or digit: no ``_`` (it separates filename parts), ``/`` or ``..``.
    """
    if not agent:
        raise InvalidInput("no agent id given", hint="pass --agent ID or set COLLAB_AGENT, e.g. agent-01")
    if not AGENT_ID_RE.match(agent):
        suggestion = slug(agent, max_len=40) or "agent-01"
        raise InvalidInput(
            f"invalid agent id {agent!r}: use 1-40 of a-z, 0-9 and '-', starting and ending with a letter or digit",
            hint=f"try --agent {suggestion}",
        )
    return agent


def slug(text: str, *, max_len: int = 60) -> str:
    """A safe filename part: lower-case ``a-z0-9-``, no leading/trailing dash."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text[:max_len].strip("-")


def agent_key(agent: str) -> str:
    """``agents/{agent}.md``."""
    return f"{AGENTS}{check_agent_id(agent)}.md"


def message_key(stamp: str, agent: str, topic: str) -> str:
    """``message_board/{stamp}_{agent}_{topic}.md`` (topic may be empty)."""
    check_agent_id(agent)
    return f"{BOARD}{stamp}_{agent}_{topic}.md" if topic else f"{BOARD}{stamp}_{agent}.md"


def artifact_key(kind: str, name: str, agent: str, ext: str = "") -> str:
    """``artifacts/{kind}/{name}_{agent}{ext}`` (``ext`` includes its dot, or is empty for a folder)."""
    check_agent_id(agent)
    return f"{ARTIFACTS}{kind}/{name}_{agent}{ext}"


def result_key(name: str, agent: str) -> str:
    """``artifacts/results/{name}_{agent}.json``."""
    return artifact_key("results", name, agent, ".json")


def items_key(result: str) -> str:
    """The per-item correctness file next to a result: ``....json`` -> ``....items.jsonl``."""
    return result.removesuffix(".json") + ".items.jsonl"


def pack_prefix(prefix: str) -> str:
    """``packs/{folder}/``: where the packs of the files under ``prefix`` (``message_board/``,
    ``artifacts/results/``) live; derived, never the truth (see :mod:`.packs`)."""
    return PACKS + prefix.strip("/").replace("/", "-") + "/"


def verdict_key(result: str, by: str | None = None, stamp: str | None = None) -> str:
    """``verdicts/{name}_{agent}~{by}.json``: ``by``'s verdict on the result ``artifacts/results/{name}_{agent}.json``.

    With ``stamp`` (``YYYYMMDD-HHmmss``), a later verdict of the same author on the same result (one that
    reinstates it, or invalidates it again after a reinstatement): ``verdicts/{name}_{agent}~{by}~{stamp}.json``.
    Without ``by``, the old layout's single key per result, ``verdicts/{name}_{agent}.json`` (still read).
    """
    base = VERDICTS + result.rsplit("/", 1)[-1]
    if by is None:
        return base
    key = f"{base.removesuffix('.json')}~{check_agent_id(by)}"
    if stamp is not None:
        if not VERDICT_STAMP.match(stamp):
            raise InvalidInput(f"invalid verdict stamp {stamp!r}", hint="use the UTC time as YYYYMMDD-HHmmss")
        key += f"~{stamp}"
    return key + ".json"


#: The stamp of a later verdict's key (``verdict_key(..., stamp=...)``).
VERDICT_STAMP = re.compile(r"^\d{8}-\d{6}$")


def quarantine_key(key: str) -> str:
    """``quarantine/{key}``: where an organizer moves a bad object (its bytes kept as evidence)."""
    return QUARANTINE + key


def quarantine_record_key(key: str) -> str:
    """``quarantine/{key}.why.json``: the record of who quarantined ``key``, when and why."""
    return QUARANTINE + key + QUARANTINE_RECORD


# -- the gateway's private part of the space (see collabspace.gateway) ----------------------------
GATEWAY = "gateway/"
GATEWAY_TOKENS = GATEWAY + "tokens/"
GATEWAY_INVITES = GATEWAY + "invites/"
GATEWAY_REQUESTS = GATEWAY + "requests/"
GATEWAY_AUDIT = GATEWAY + "audit/"
#: What no gateway client may write: the generated files, the spec, packs and the gateway's own state.
DERIVED = (*GENERATED, PACKS, GATEWAY, QUARANTINE)


def token_key(agent: str) -> str:
    """``gateway/tokens/{agent}.json``: the hash of the token bound to ``agent``."""
    return f"{GATEWAY_TOKENS}{check_agent_id(agent)}.json"


def invite_key(invite: str) -> str:
    """``gateway/invites/{id}.json``: an invite (its code's hash, uses, expiry)."""
    return f"{GATEWAY_INVITES}{invite}.json"


def invite_use_key(invite: str, n: int) -> str:
    """``gateway/invites/{id}/{n}.json``: the ``n``-th use of an invite (create-only: one agent each)."""
    return f"{GATEWAY_INVITES}{invite}/{n:05d}.json"


def request_key(agent: str, digest: str) -> str:
    """``gateway/requests/{agent}/{digest}.json``: the outcome of a write sent with an Idempotency-Key."""
    return f"{GATEWAY_REQUESTS}{check_agent_id(agent)}/{digest}.json"


def audit_key(stamp: str, replica: str, seq: int) -> str:
    """``gateway/audit/{stamp}-{replica}-{seq}.jsonl``: one batch of audit records."""
    return f"{GATEWAY_AUDIT}{stamp}-{replica}-{seq:06d}.jsonl"
