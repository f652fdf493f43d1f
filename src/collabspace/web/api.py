"""The dashboard's JSON: one function per page, returning exactly what the page shows.

Each takes a :class:`~.live.LiveSpace` (already refreshed) and returns plain
JSON-ready data; :mod:`.app` turns it into responses. Messages carry their
frontmatter fields (``Message.to_dict()``) plus the rendered, safe ``html``,
``summary_html`` (the collapsed view of a long message, else ``null``),
``mentions`` (from ``@id`` in the body and from the authors of its ``refs``),
``ref_items`` (the quoted replies) and ``replies`` (how many messages answer it).
"""

from __future__ import annotations

from typing import Any

from ..domain.results.leaderboard import build as build_leaderboard
from ..domain.board.messages import Message, mentions
from ..domain.refs import shown
from ..errors import InvalidInput
from .live import LiveSpace
from .render import excerpt

#: Messages per board page (the newest first; "load older" pages back).
PAGE = 200
#: Ended claims shown under the active ones.
ENDED_CLAIMS = 20


def message(live: LiveSpace, m: Message) -> dict[str, Any]:
    """One message as the board shows it."""
    board = live.board
    rendered = live.rendered(m)
    refs = []
    for ref in m.refs:
        target = board.by_key.get(ref)
        refs.append({"file": shown(ref), "key": ref, "agent": target.agent if target else None,
                     "type": target.type if target else None, "excerpt": excerpt(target.body) if target else "",
                     "missing": target is None})
    who = [r["agent"] for r in refs if r["agent"] and r["agent"] != m.agent] + list(mentions(m.body))
    lb = live.results.leaderboard
    flag = lb.flagged.get(m.key) if lb else None
    return {
        **m.to_dict(),
        "time": m.time.isoformat(),
        "html": rendered.html,
        "summary_html": rendered.summary,
        "mentions": list(dict.fromkeys(who)),
        "ref_items": refs,
        "replies": len(board.replies.get(m.key, [])),
        "flag": flag.reason() if flag else None,
    }


def _page_limit(limit: int | None) -> int:
    if limit is None:
        return PAGE
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be 1 to 1000, got {limit}", hint="e.g. ?limit=200")
    return limit


def board(live: LiveSpace, *, type: str | None = None, agent: str | None = None, before: str | None = None,
          limit: int | None = None) -> dict[str, Any]:
    """The newest ``limit`` messages (optionally of one type or agent, older than ``before``), in board order."""
    limit = _page_limit(limit)
    chosen = [m for m in live.board.messages if (not type or m.type == type) and (not agent or m.agent == agent)]
    if before:
        chosen = [m for m in chosen if m.file < before]
    page = chosen[-limit:]
    return {
        "messages": [message(live, m) for m in page],
        "older": len(chosen) - len(page),
        "total": len(live.board.messages),
        "filters": {"type": type, "agent": agent, "before": before, "limit": limit},
        "types": sorted({m.type for m in live.board.messages if m.type} | set(live.space.spec.message_types)),
        "agents": sorted(set(live.board.posts) | {r.agent for r in live.registrations}),
        "version": live.version,
    }


def thread(live: LiveSpace, file: str) -> dict[str, Any]:
    """A message's thread: what it answers and what answers it, as a tree (``depth``)."""
    items = live.space.thread(file)
    return {"file": file, "messages": [{**message(live, i.message), "depth": i.depth} for i in items]}


def search(live: LiveSpace, query: str, *, limit: int = 50) -> dict[str, Any]:
    """Messages matching every word of ``query``, best first."""
    if not query.strip():
        raise InvalidInput("the search query is empty", hint="search for words, e.g. /api/search?q=learning+rate")
    found = live.space.search(query, limit=limit)
    return {"query": query, "messages": [message(live, m) for m in found]}


def leaderboard(live: LiveSpace) -> dict[str, Any]:
    """The leaderboard as :meth:`Leaderboard.to_dict` gives it (every row, per track the headline and best-so-far line).

    ``leader`` is the rank-1 row of the first track; the headline "best" is ``headline``.
    """
    lb = live.results.leaderboard or build_leaderboard(live.space.spec, [], present=set())
    top = lb.top(1)
    return {**lb.to_dict(), "leader": top[0].to_dict() if top else None, "version": live.version}


def compare(live: LiveSpace, results: list[str]) -> dict[str, Any]:
    """Verified results item by item (:meth:`Space.compare`): one gives a result page (its per-item
    correctness), two or more also where they differ, the oracle and the majority vote.

    Every result row is the leaderboard's own (rank, status, score_text), as on ``/api/leaderboard``.
    """
    if not results:
        raise InvalidInput("no result named", hint="e.g. /api/compare?r=a_agent-01.json&r=b_agent-02.json")
    return {**live.comparison(results).to_dict(), "metric": live.space.spec.metric.name, "version": live.version}


def claims(live: LiveSpace) -> dict[str, Any]:
    """Live claims (active, contested) with time left, then the most recently ended ones."""
    now = live.space.clock()
    found = live.claims
    current = [c.to_dict(now) for c in found if c.ended is None]
    ended = sorted((c for c in found if c.ended is not None), key=lambda c: c.ended or c.since, reverse=True)
    return {"now": now.isoformat(), "claims": current, "ended": [c.to_dict(now) for c in ended[:ENDED_CLAIMS]],
            "ended_total": len(ended)}


def agents(live: LiveSpace) -> dict[str, Any]:
    """Registered agents (model, harness, last seen = their latest message), then agents that post unregistered."""
    lb = live.results.leaderboard
    best = {r.agent_id: r for r in lb.best} if lb else {}
    results: dict[str, int] = {}
    for r in lb.rows if lb else []:
        if r.status != "baseline":
            results[r.agent_id] = results.get(r.agent_id, 0) + 1
    out = []
    names = [r.agent for r in live.registrations]
    regs = {r.agent: r for r in live.registrations}
    for name in names + sorted(set(live.board.posts) - set(names)):
        reg = regs.get(name)
        last = live.board.last_seen.get(name)
        top = best.get(name)
        out.append({
            **(reg.to_dict() if reg else {"agent": name}),
            "registered": reg is not None,
            "last_seen": last.time.isoformat() if last else None,
            "last_message": last.file if last else None,
            "messages": live.board.posts.get(name, 0),
            "results": results.get(name, 0),
            "best": top.score if top else None,
        })
    return {"now": live.space.clock().isoformat(), "agents": out}


def stats(live: LiveSpace) -> dict[str, Any]:
    """The header's numbers: agents, messages, threads, results and the headline "best" (the leaderboard's)."""
    spec = live.space.spec
    lb = live.results.leaderboard
    best = lb.headline if lb else None
    return {
        "title": spec.task.title,
        "task": spec.task.id,
        "metric": spec.metric.name,
        "direction": spec.metric.direction,
        "agents": len(set(live.board.posts) | {r.agent for r in live.registrations}),
        "registered": len(live.registrations),
        "messages": len(live.board.messages),
        "threads": live.board.threads,
        "results": len(lb.result_keys) if lb else 0,
        "best": best.to_dict() if best else None,
        "claims": sum(1 for c in live.claims if c.status == "active" and c.ended is None),
        "version": live.version,
    }
