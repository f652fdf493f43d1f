"""The MCP server: a few typed tools over the Space API.

Tool docstrings are their descriptions, kept short on purpose: every client
loads all tool definitions into its context before any work begins, and the
whole list must stay under 8,000 characters of JSON (``tests/test_mcp.py``).
Outputs are compact markdown. A :class:`CollabError` comes back as a tool error
with the same message and hint as the CLI; anything else is masked by the SDK.

Over HTTP (:func:`serve_http`) the client is not the local user: the server listens
on loopback only, answers only allowed ``Host`` values (the SDK's DNS-rebinding
protection, :class:`TransportSecuritySettings`), and the tools that touch local files
(``push``, ``pull``, ``submit``'s ``predictions_file``) are confined to a working
folder fixed at start (:class:`Workdir`): absolute paths, ``~``, ``..`` and hidden names
(``.ssh``, ``.env``, ``.git``) are refused, and so is a path whose symlinks lead out of
the folder.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings

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


class Workdir:
    """The one folder the file tools may read and write, fixed when the server starts.

    Args:
        root: the folder (the server's current directory by default in ``collab mcp --http``).

    Raises:
        InvalidInput: ``root`` is not an existing folder.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise InvalidInput(f"the working folder {path} is not a folder", hint="give an existing folder as --root")
        self.root = path.resolve()
        if self.root == Path(self.root.anchor):
            raise InvalidInput("the working folder cannot be the filesystem's root",
                               hint="start the server in a project folder, or give one as --root DIR")

    def _inside(self, path: Path) -> bool:
        return path == self.root or self.root in path.parents

    def path(self, value: str, *, what: str) -> str:
        """``value`` (a path relative to the folder) as a path inside it.

        Raises:
            InvalidInput: an empty, absolute or ``~`` path, a ``..`` part, or one that leads out through a symlink.
        """
        hint = f"give a path relative to the server's working folder {self.root}, without '..'"
        text = value.strip()
        if not text:
            raise InvalidInput(f"no {what} given", hint=hint)
        if "\0" in text:
            raise InvalidInput(f"the {what} contains a NUL character", hint=hint)
        if (PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive
                or text.startswith("~")):
            raise InvalidInput(f"absolute paths are refused: {text!r} (the {what} must be inside the working folder)",
                               hint=hint)
        parts = PurePosixPath(text.replace("\\", "/")).parts
        if ".." in parts:
            raise InvalidInput(f"'..' is refused in the {what}: {text!r}", hint=hint)
        if any(part.startswith(".") for part in parts):
            # .ssh, .aws, .env, .git/hooks, .bashrc: secrets to read or code to plant, never an artifact
            raise InvalidInput(f"hidden files and folders are refused in the {what}: {text!r}",
                               hint="push and pull visible files of the working folder (no name starting with '.')")
        real = (self.root / text).resolve()  # follows the symlinks of the parts that exist
        if not self._inside(real):
            raise InvalidInput(f"the {what} {text!r} leads out of the working folder (through a symlink)", hint=hint)
        return str(real) + ("/" if text.endswith(("/", os.sep)) and real != self.root else "")

    def tree(self, value: str, *, what: str) -> str:
        """Like :meth:`path`, and every file under a folder must pass too: no symlink out, no hidden name."""
        path = self.path(value, what=what)
        if Path(path).is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                for name in (*dirnames, *filenames):
                    full = Path(dirpath) / name
                    if name.startswith("."):
                        raise InvalidInput(
                            f"{full.relative_to(self.root)} in the {what} is hidden (a name starting with '.')",
                            hint="push a folder without hidden files (.env, .git, .ssh...)")
                    if full.is_symlink() and not self._inside(full.resolve()):
                        raise InvalidInput(
                            f"{full.relative_to(self.root)} in the {what} is a symlink out of the working folder",
                            hint="push a folder whose files are all inside the server's working folder")
        return path


def _messages(messages: list[Any], empty: str) -> str:
    if not messages:
        return empty
    return "\n---\n".join(m.to_markdown() for m in messages)


def build_server(space: Space, *, root: str | os.PathLike[str] | Workdir | None = None) -> MCPServer:
    """An MCP server whose tools act on ``space`` as its agent.

    Args:
        root: the working folder that ``push``, ``pull`` and ``submit`` are confined to (see :class:`Workdir`).
            ``None``: local paths as given, for a server that is the local user's own process (stdio).
    """
    workdir = root if isinstance(root, Workdir) or root is None else Workdir(root)

    def local(value: str, what: str, *, tree: bool = False) -> str:
        if workdir is None:
            return value
        return workdir.tree(value, what=what) if tree else workdir.path(value, what=what)

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
            path = Path(local(predictions_file, "predictions file")).expanduser()
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
        """Upload a local file or folder as artifacts/{kind}/{name}_{you}. kind: scripts|checkpoints|data (results: use submit)."""
        r = space.push(local(path, "path", tree=True), kind=kind or None, name=name or None, replace=replace)
        done = f"{len(r.uploaded)} uploaded, {len(r.skipped)} unchanged" if r.changed else "unchanged, nothing sent"
        return f"{r.key}{'/' if r.folder else ''}: {done} ({r.bytes_sent:,} B sent)"

    @tool
    def pull(key: str, dest: str) -> str:
        """Download an artifact (file or folder prefix) to a local path."""
        r = space.pull(key, local(dest, "destination"))
        return f"{r.dest}: {len(r.downloaded)} downloaded, {len(r.skipped)} already complete ({r.bytes_received:,} B)"

    return server


def transport_security(host: str, allow_hosts: Iterable[str] = ()) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding protection for a server bound to ``host``: the ``Host`` (and ``Origin``, when a
    browser sends one) must be the bound address, a loopback name or one of ``allow_hosts`` (``NAME``: any port)."""
    from ..web.app import host_allow_list

    hosts, origins = [], []
    for name, port in sorted(host_allow_list(host, allow_hosts), key=str):
        shown = f"[{name}]" if ":" in name else name
        ports = [f"{shown}", f"{shown}:*"] if port is None else [f"{shown}:{port}"]
        hosts += ports
        origins += [f"{scheme}://{p}" for scheme in ("http", "https") for p in ports]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def serve_http(space: Space, host: str, port: int, *, root: str | os.PathLike[str] | None = None,
               allow_hosts: Iterable[str] = ()) -> None:
    """Serve the tools over streamable HTTP (path ``/mcp``) until interrupted.

    Args:
        host: a loopback address: there is no authentication yet (gateway mode brings it).
        root: the working folder for ``push``, ``pull`` and ``submit`` (default: the current directory, now).
        allow_hosts: more ``Host`` values to answer (see :func:`transport_security`).

    Raises:
        InvalidInput: ``host`` is not a loopback address, an ``allow_hosts`` entry is not a host name, or
            ``root`` is not a folder.
    """
    from ..web.app import check_bind

    check_bind(host, service="the MCP server")
    security = transport_security(host, allow_hosts)
    server = build_server(space, root=Workdir(root if root is not None else os.getcwd()))
    server.run("streamable-http", host=host, port=port, transport_security=security)
