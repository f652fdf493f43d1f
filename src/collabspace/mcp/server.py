"""The MCP server: a few typed tools over the Space API.

Tool docstrings are their descriptions, kept short on purpose: every client
loads all tool definitions into its context before any work begins, and the
whole list must stay under 8,000 characters of JSON (``tests/test_mcp.py``).
Outputs are compact markdown. A :class:`CollabError` comes back as a tool error
with the same message and hint as the CLI; anything else is masked by the SDK.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from .. import __version__
from ..domain.timefmt import format_duration
from ..errors import CollabError, InvalidInput
from ..space import Space

F = TypeVar("F", bound=Callable[..., str])

INSTRUCTIONS = (
    "A shared research space where several agents work on one ML task. Call `digest` first; "
    "`join` once; post a status-update; claim a direction before working on it; submit results."
)


def _tool_errors(fn: F) -> F:
    """Report collabspace errors to the agent the way the CLI does: message, then hint."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        try:
            return fn(*args, **kwargs)
        except CollabError as exc:
            raise ToolError(f"error: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else "")) from exc

    return wrapper  # type: ignore[return-value]


def _messages(messages: list[Any], empty: str) -> str:
    if not messages:
        return empty
    return "\n---\n".join(m.to_markdown() for m in messages)


def build_server(space: Space) -> MCPServer:
    """An MCP server whose tools act on ``space`` as its agent."""
    server = MCPServer("collabspace", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")

    def tool(fn: F) -> F:
        server.add_tool(_tool_errors(fn), structured_output=False)
        return fn

    @tool
    def digest() -> str:
        """State of play: task, best results, active claims, open proposals, your inbox. Read first."""
        return space.digest().markdown

    @tool
    def join(model: str = "", harness: str = "", bio: str = "") -> str:
        """Register yourself in the space (once; re-joining is a no-op). Returns the digest."""
        result = space.join(model=model or None, harness=harness or None, bio=bio)
        head = f"joined as {space.agent}" if result.created else f"already joined as {space.agent}"
        return f"{head}\n\n{space.digest().markdown}"

    @tool
    def read(all: bool = False, type: str = "", agent: str = "", thread: str = "", limit: int = 20,
             peek: bool = False) -> str:
        """Messages new since your last read (marks them read; peek=True: doesn't). all=True: whole board;
        thread=FILE: a conversation."""
        if thread:
            items = space.thread(thread)
            return "\n".join(("  " * i.depth) + i.message.to_markdown().replace("\n", "\n" + "  " * i.depth)
                             for i in items)
        result = space.read(all=all, type=type or None, author=agent or None, limit=limit, peek=peek and not all)
        text = _messages(result.messages, "no new messages" if not all else "no messages")
        if result.remaining:
            text += f"\n\n({result.remaining} more unread: call read again)"
        return text

    @tool
    def post(type: str, body: str, topic: str = "", refs: list[str] | None = None) -> str:
        """Post a message. type: status-update|experiment-proposal|results-report|question|claim|build-on.
        refs: filenames of messages you answer. Mention agents as @id."""
        message = space.post(type, body, topic=topic or None, refs=refs or ())
        return f"posted {message.file}"

    @tool
    def search(query: str, limit: int = 10) -> str:
        """Full-text search of the message board."""
        return _messages(space.search(query, limit=limit), "no matches")

    @tool
    def claim(scope: str, duration: str = "", note: str = "", force: bool = False) -> str:
        """Claim a direction of work (e.g. 'lora sweep') so others skip it; expires (default from the spec).
        Claiming again renews. Refused if someone else holds it unless force."""
        result = space.claim(scope, duration=duration or None, note=note, force=force)
        c = result.claim
        how = "renewed" if result.renewed else ("posted, contested" if result.contested else "claimed")
        return f"{how} {c.scope!r} until {c.expires:%Y-%m-%d %H:%M} UTC ({result.message.file})"

    @tool
    def release(scope: str) -> str:
        """Release your claim on a scope."""
        return f"released {space.release(scope).scope!r}"

    @tool
    def claims(all: bool = False) -> str:
        """Active claims with holder and time left; all=True adds expired and released ones."""
        found = space.claims(all=all)
        if not found:
            return "no active claims"
        now = space.clock()
        rows = ["| scope | agent | status | expires in |", "|---|---|---|---|"]
        for c in found:
            left = format_duration(c.expires - now) if c.expires > now else "ended"
            rows.append(f"| {c.scope} | {c.agent} | {c.status} | {left} |")
        return "\n".join(rows)

    @tool
    def submit(experiment: str, score: float | None = None, predictions_file: str = "", name: str = "",
               model: str = "", notes: str = "", refs: list[str] | None = None) -> str:
        """Submit a result: predictions_file (JSONL path, scored here: verified) or score (self-reported).
        refs: messages/results it builds on."""
        predictions = None
        if predictions_file:
            path = Path(predictions_file).expanduser()
            if not path.is_file():
                raise CollabError(f"no predictions file at {path}", hint="give the path of a JSONL file")
            predictions = path.read_bytes()
        if predictions is None and score is None:
            raise InvalidInput("give score or predictions_file", hint="predictions_file is scored and verified")
        sub = space.submit(experiment, score=score, predictions=predictions, name=name or None,
                           model=model or None, notes=notes or None, refs=refs or ())
        return f"stored {sub.key}: {sub.status}, score {sub.score:.6g}" + (
            f" (invalid: {sub.reason})" if sub.reason else "")

    @tool
    def leaderboard(limit: int = 10, format: str = "md") -> str:
        """The leaderboard, best first: rank, score, status (verified/self-reported/invalid), ⚠ flags, the
        headline best. limit<=0: every row. format='json': the rows as `collab leaderboard --format json`."""
        board = space.leaderboard()
        shown = board.rows[:limit] if limit > 0 else board.rows
        if format == "json":
            return json.dumps({"headline": board.headline.to_dict() if board.headline else None,
                               "rows": [r.to_dict() for r in shown], "more": len(board.rows) - len(shown)})
        h = board.headline
        head = f"best: {h.score_text} by {h.agent_id}, {h.status} ({h.experiment})" if h else "best: no valid result yet"
        rows = [head, "", "| rank | agent | score | status | experiment | file |", "|---|---|---|---|---|---|"]
        for r in shown:
            rank = r.rank if r.rank is not None else "-"
            status = r.status + (f": {r.reason}" if r.reason else "") + (f" ⚠ {r.flag}" if r.flag else "")
            rows.append(f"| {rank} | {r.agent_id} | {r.score_text} | {status} | {r.experiment} | {r.file} |")
        if len(shown) < len(board.rows):
            rows.append(f"\n({len(board.rows) - len(shown)} more rows: call leaderboard with a higher limit)")
        return "\n".join(rows)

    @tool
    def artifacts(agent: str = "", kind: str = "") -> str:
        """List shared artifacts (key, owner, size)."""
        found = space.artifacts(agent=agent or None, kind=kind or None)
        if not found:
            return "no artifacts"
        return "\n".join(f"{a.key}{'/' if a.folder else ''}  ({a.owner}, {a.size:,} B)" for a in found)

    @tool
    def push(path: str, kind: str = "", name: str = "", replace: bool = False) -> str:
        """Upload a local file or folder as artifacts/{kind}/{name}_{you}. kind: scripts|results|checkpoints|data."""
        r = space.push(path, kind=kind or None, name=name or None, replace=replace)
        done = f"{len(r.uploaded)} uploaded, {len(r.skipped)} unchanged" if r.changed else "unchanged, nothing sent"
        return f"{r.key}{'/' if r.folder else ''}: {done} ({r.bytes_sent:,} B sent)"

    @tool
    def pull(key: str, dest: str) -> str:
        """Download an artifact (file or folder prefix) to a local path."""
        r = space.pull(key, dest)
        return f"{r.dest}: {len(r.downloaded)} downloaded, {len(r.skipped)} already complete ({r.bytes_received:,} B)"

    return server
