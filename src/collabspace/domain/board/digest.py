"""The digest: the state of play in one page, for an agent that just joined or lost its context.

Deterministic (same board, same clock, same text) and bounded: the markdown
and the JSON are each at most :data:`MAX_CHARS` characters whatever the size
of the board; long sections keep their newest items and say how many more exist.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .claims import ACTIVE, Claim, ClaimBook
from ..results.leaderboard import score_text
from .messages import Message
from ..setup.spec import Spec
from ..timefmt import exact_time, format_duration, frontmatter_time

MAX_CHARS = 6000
#: Items per section before any trimming, in the order trimming gives them up.
_CAPS = {"statuses": 12, "claims": 10, "proposals": 8, "warnings": 6, "dead_ends": 5, "inbox": 5, "questions": 5,
         "results": 5, "broadcasts": 3}
_WIDTH = 150


@dataclass(frozen=True)
class DigestData:
    """Everything the digest shows, already selected (each list newest last unless said otherwise)."""

    spec: Spec
    agent: str | None
    now: datetime
    top_results: list[dict[str, Any]] = field(default_factory=list)  # leaderboard rows (Row.to_dict), best first
    headline: dict[str, Any] | None = None  # the leaderboard's headline row: the best verified where scored
    warnings: list[dict[str, str]] = field(default_factory=list)  # invalid results, then what builds on them
    dead_ends: list[dict[str, Any]] = field(default_factory=list)  # negative results (Row.to_dict), newest first
    broadcasts: list[Message] = field(default_factory=list)  # the organizers' broadcasts, newest last
    broadcasts_total: int = 0
    claims: list[Claim] = field(default_factory=list)
    proposals: list[Message] = field(default_factory=list)
    proposals_total: int = 0
    questions: list[Message] = field(default_factory=list)
    questions_total: int = 0
    inbox: list[Message] = field(default_factory=list)
    inbox_total: int = 0
    statuses: list[Message] = field(default_factory=list)  # newest first, one per agent
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Digest:
    """The rendered digest."""

    markdown: str
    data: dict[str, Any]

    def __str__(self) -> str:
        return self.markdown

    def to_json(self) -> str:
        """The data as compact JSON (what the bound applies to)."""
        return _json(self.data)


def _cut(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _ago(now: datetime, then: datetime) -> str:
    return f"{format_duration(now - then)} ago" if now >= then else "just now"


def _newest(items: list[Any], cap: int) -> list[Any]:
    return items[-cap:] if cap > 0 else []


def _active(d: DigestData) -> list[Claim]:
    """Active claims, newest first."""
    return sorted((c for c in d.claims if c.status == ACTIVE), key=lambda c: (c.since, c.file), reverse=True)


def _contested_by(d: DigestData, claim: Claim) -> list[str]:
    return [c.agent for c in d.claims if c.slug == claim.slug and c.status != ACTIVE and c.ended is None]


def _message_line(m: Message, width: int, now: datetime, *, who: bool = True) -> str:
    head = f"`{m.file}`" + (f" {m.agent}" if who else "") + f", {_ago(now, m.stamp)}"
    return f"- {head}: {_cut(m.first_line(width), width)}"


def _markdown(d: DigestData, caps: dict[str, int], width: int) -> str:
    spec, now = d.spec, d.now
    better = "higher" if spec.metric.direction == "higher" else "lower"
    who = f", for {d.agent}" if d.agent else ""
    out = [
        f"# State of play: {spec.task.title} ({frontmatter_time(now)}{who})",
        "",
        f"**Task**: {_cut(spec.task.goal, 400)}",
        f"**Metric**: {spec.metric.name}, {better} is better"
        + (f" ({_cut(spec.metric.description, 160)})" if spec.metric.description else ""),
    ]
    if d.broadcasts_total:
        out += ["", f"## From the organizers ({d.broadcasts_total})"]
        shown = _newest(d.broadcasts, caps["broadcasts"])
        out += [_message_line(m, width, now) for m in shown]
        if d.broadcasts_total > len(shown):
            out.append(f"- … {d.broadcasts_total - len(shown)} more: collab inbox --all")
    out += ["", "## Best results"]
    top = d.top_results[: caps["results"]]
    if d.headline and (not top or top[0].get("file") != d.headline.get("file")):
        h = d.headline
        out.append(f"**Best {h.get('status', '')}**: {h.get('score_text', h.get('score'))} {h.get('agent_id', '')}: "
                   f"{_cut(h.get('experiment', ''), width // 2)} (self-reported results rank above it)")
    if top:
        for r in top:
            flag = f"; ⚠ {r['flag']}" if r.get("flag") else ""
            shown = score_text(r["score"]) if isinstance(r.get("score"), (int, float)) else r.get("score")
            out.append(f"{r.get('rank', '-')}. {shown} {r.get('agent_id', '')}: "
                       f"{_cut(r.get('experiment', ''), width // 2)} ({r.get('status', '')}{flag})")
    else:
        out.append("No results yet. Submit one with: collab submit")
    if d.warnings:
        out += ["", f"## Invalid work and what builds on it ({len(d.warnings)})"]
        for w in d.warnings[: caps["warnings"]]:
            mark = f"~~{w['file']}~~ invalid" if w["status"] == "invalid" else f"⚠ {w['file']}"
            out.append(f"- {mark}: {_cut(w['reason'], width)}")
        if len(d.warnings) > caps["warnings"]:
            out.append(f"- … {len(d.warnings) - caps['warnings']} more: collab leaderboard")
    if d.dead_ends:
        out += ["", f"## Dead ends: tried, did not work ({len(d.dead_ends)})"]
        for r in d.dead_ends[: caps["dead_ends"]]:
            notes = f" ({_cut(r['notes'], width // 2)})" if r.get("notes") else ""
            out.append(f"- {_score(r)} {r.get('agent_id', '')}: {_cut(r.get('experiment', ''), width // 2)}{notes}")
        if len(d.dead_ends) > caps["dead_ends"]:
            out.append(f"- … {len(d.dead_ends) - caps['dead_ends']} more: collab leaderboard")
    active = _active(d)
    out += ["", f"## Active claims ({len(active)})"]
    for c in active[: caps["claims"]]:
        rivals = _contested_by(d, c)
        contested = f"; contested by {', '.join(rivals)}" if rivals else ""
        out.append(f"- **{_cut(c.scope, 60)}**: {c.agent}, expires in {format_duration(c.expires - now)}{contested}")
    if len(active) > caps["claims"]:
        out.append(f"- … {len(active) - caps['claims']} more: collab claims")
    if not active:
        out.append("None. Claim a direction with: collab claim SCOPE")
    sections = (
        ("proposals", "Open proposals without a results report", d.proposals, d.proposals_total, "collab read --type experiment-proposal --all", True),
        ("questions", "Your unanswered questions", d.questions, d.questions_total, "collab read --type question --all", False),
        ("inbox", "Your inbox", d.inbox, d.inbox_total, "collab inbox", True),
    )
    for name, title, items, total, more, show_agent in sections:
        if name != "proposals" and not d.agent:
            continue
        out += ["", f"## {title} ({total})"]
        shown = _newest(items, caps[name])
        out += [_message_line(m, width, now, who=show_agent) for m in shown]
        if total > len(shown):
            out.append(f"- … {total - len(shown)} more: {more}")
        if not total:
            out.append("None.")
    out += ["", f"## Latest status per agent ({len(d.statuses)})"]
    for m in d.statuses[: caps["statuses"]]:
        out.append(f"- {m.agent} ({_ago(now, m.stamp)}): {_cut(m.first_line(width), width)}")
    if len(d.statuses) > caps["statuses"]:
        out.append(f"- … {len(d.statuses) - caps['statuses']} more agents: collab read --type status-update --all")
    if not d.statuses:
        out.append("None yet. Post one with: collab post --type status-update --topic plan")
    out += ["", "## Counts", _counts_line(d.counts)]
    return "\n".join(out) + "\n"


def _score(row: dict[str, Any]) -> str:
    return score_text(row["score"]) if isinstance(row.get("score"), (int, float)) else str(row.get("score", ""))


def _counts_line(counts: dict[str, int]) -> str:
    kinds = ", ".join(f"{n:,} {t}" for t, n in sorted(counts.items()) if t not in ("total", "agents", "unreadable"))
    line = f"{counts.get('total', 0):,} messages from {counts.get('agents', 0):,} agents"
    line += f" ({_cut(kinds, 400)})" if kinds else ""
    if counts.get("unreadable"):
        line += f"; {counts['unreadable']:,} unreadable files (collab doctor)"
    return line + "."


def _as_dict(d: DigestData, caps: dict[str, int], width: int) -> dict[str, Any]:
    def msg(m: Message) -> dict[str, Any]:
        return m.to_summary(width)

    active = _active(d)
    return {
        "task": {"id": d.spec.task.id, "title": d.spec.task.title, "goal": _cut(d.spec.task.goal, 400)},
        "metric": {"name": d.spec.metric.name, "direction": d.spec.metric.direction},
        "as_of": frontmatter_time(d.now),
        "agent": d.agent,
        "headline": {k: v for k, v in d.headline.items()
                     if k in ("agent_id", "score", "score_text", "experiment", "status", "file")} if d.headline else None,
        "top_results": [
            {**{k: (_cut(v, width // 2) if isinstance(v, str) else v) for k, v in r.items()
                if k in ("rank", "agent_id", "score", "experiment", "status", "flag")},
             **({"score_text": score_text(r["score"])} if isinstance(r.get("score"), (int, float)) else {})}
            for r in d.top_results[: caps["results"]]
        ],
        "invalid_and_flagged": {"total": len(d.warnings),
                                "items": [{**w, "reason": _cut(w["reason"], width)}
                                          for w in d.warnings[: caps["warnings"]]]},
        "dead_ends": {"total": len(d.dead_ends),
                      "items": [{"agent_id": r.get("agent_id"), "score": r.get("score"), "score_text": _score(r),
                                 "experiment": _cut(r.get("experiment", ""), width // 2), "file": r.get("file"),
                                 "notes": _cut(r.get("notes") or "", width // 2)}
                                for r in d.dead_ends[: caps["dead_ends"]]]},
        "broadcasts": {"total": d.broadcasts_total,
                       "items": [msg(m) for m in _newest(d.broadcasts, caps["broadcasts"])]},
        "active_claims": {
            "total": len(active),
            "items": [{"scope": _cut(c.scope, 60), "agent": c.agent, "expires": exact_time(c.expires),
                       "contested_by": _contested_by(d, c)} for c in active[: caps["claims"]]],
        },
        "open_proposals": {"total": d.proposals_total, "items": [msg(m) for m in _newest(d.proposals, caps["proposals"])]},
        "unanswered_questions": {"total": d.questions_total,
                                 "items": [msg(m) for m in _newest(d.questions, caps["questions"])]},
        "inbox": {"total": d.inbox_total, "items": [msg(m) for m in _newest(d.inbox, caps["inbox"])]},
        "latest_status": {"total": len(d.statuses), "items": [msg(m) for m in d.statuses[: caps["statuses"]]]},
        "counts": d.counts,
    }


def _fit(measure: Callable[[dict[str, int], int], int], limit: int) -> tuple[dict[str, int], int]:
    """Caps and line width under which ``measure`` fits ``limit``: drop items from the longest section first,
    then narrow the lines (deterministic)."""
    caps, width = dict(_CAPS), _WIDTH
    while measure(caps, width) > limit:
        name = max(caps, key=lambda n: (caps[n], -list(_CAPS).index(n)))
        if caps[name] > 1:
            caps[name] -= 1
        elif width > 40:
            width -= 10
        else:
            break
    return caps, width


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


def render(d: DigestData, *, limit: int = MAX_CHARS) -> Digest:
    """Render the digest as markdown and as JSON, each within ``limit`` characters."""
    caps, width = _fit(lambda c, w: len(_markdown(d, c, w)), limit)
    markdown = _markdown(d, caps, width)
    if len(markdown) > limit:  # only for absurd specs: a hard cut keeps the promise
        markdown = markdown[: limit - 2] + "…\n"
    caps, width = _fit(lambda c, w: len(_json(_as_dict(d, c, w))), limit)
    return Digest(markdown=markdown, data=_as_dict(d, caps, width))


def warnings_of(leaderboard: Any) -> list[dict[str, str]]:
    """Invalid results (with the reason), then every result and message flagged for building on one."""
    out = [{"file": r.file.rsplit("/", 1)[-1], "status": "invalid", "reason": r.reason or "invalid"}
           for r in leaderboard.rows if r.status == "invalid"]
    out += [{"file": key.rsplit("/", 1)[-1], "status": "flagged", "reason": flag.reason()}
            for key, flag in sorted(leaderboard.flagged.items())]
    return out


def gather(book: ClaimBook, spec: Spec, agent: str | None, top_results: list[dict[str, Any]],
           warnings: list[dict[str, str]] = (),  # type: ignore[assignment]
           headline: dict[str, Any] | None = None,
           dead_ends: list[dict[str, Any]] = ()) -> DigestData:  # type: ignore[assignment]
    """Select what the digest shows from a synced board (a handful of index queries, no store request).

    Args:
        dead_ends: the leaderboard's dead ends (negative results), newest first.
    """
    index = book.board.index
    per_section = max(_CAPS.values())
    proposals, proposals_total = index.unanswered(
        "experiment-proposal", answer_type="results-report", others_only=False, limit=per_section
    )
    questions: list[Message] = []
    questions_total = 0
    inbox: list[Message] = []
    inbox_total = 0
    if agent:
        questions, questions_total = index.unanswered("question", agent=agent, others_only=True, limit=per_section)
        unread = book.board.inbox(agent, sync=False, broadcasters=spec.organizers)
        inbox, inbox_total = unread[-per_section:], len(unread)
    broadcasts = book.board.broadcasts(spec.organizers)
    return DigestData(
        spec=spec,
        agent=agent,
        now=book.board.clock(),
        top_results=list(top_results)[:5],
        headline=headline,
        warnings=list(warnings),
        dead_ends=list(dead_ends),
        broadcasts=broadcasts[-per_section:],
        broadcasts_total=len(broadcasts),
        claims=[c for c in book.states(sync=False) if c.ended is None],
        proposals=proposals,
        proposals_total=proposals_total,
        questions=questions,
        questions_total=questions_total,
        inbox=inbox,
        inbox_total=inbox_total,
        statuses=index.latest_per_agent("status-update"),
        counts=index.counts(),
    )
