"""The MCP server: a few typed tools over the Space API, plus a digest resource and a "start" prompt.

Tool docstrings are their descriptions, kept short on purpose: every client
loads all tool definitions into its context before any work begins, and the
whole list must stay under 8,000 characters of JSON (``tests/test_mcp.py``).
Outputs are compact markdown. Each tool says what it does to the space in its
annotations (``readOnlyHint``, ``destructiveHint``, ``idempotentHint``).

Errors, in one place (:meth:`CollabMCP.call_tool`): the agent gets one ``error:`` line and one
``hint:`` line, in its own terms (:mod:`.hints` rewrites the CLI's flags and commands as tool
parameters and calls), and nothing else: not the SDK's "Error executing tool" prefix, not a
pydantic dump. An argument out of its bounds (:mod:`.bounds`) or that the tool does not take is
refused before the tool runs. An unexpected exception keeps its type and message (one line,
control characters removed), says it is the server's fault, and is logged with its traceback.

The tools act on a :class:`Space`, or on one obtained at every call from a function
(``build_server(lambda: space_for_this_request())``): a gateway serving several authenticated
agents gives each call its caller's space.

Over HTTP (:func:`serve_http`) the client is not the local user: the server listens
on loopback only, answers only allowed ``Host`` values (the SDK's DNS-rebinding
protection, :class:`TransportSecuritySettings`), and the tools that touch local files
(``push``, ``pull``, ``submit``'s and ``score``'s ``predictions_file``) are confined to a working
folder fixed at start (:class:`Workdir`): absolute paths, ``~``, ``..`` and hidden names
(``.ssh``, ``.env``, ``.git``) are refused, and so is a path whose symlinks lead out of
the folder.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import socket
import sys
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import ValidationError

from .. import __version__
from ..domain.timefmt import format_duration
from ..errors import CollabError, InvalidInput
from ..space import Space
from . import bounds
from .hints import Surface

F = TypeVar("F", bound=Callable[..., str])
log = logging.getLogger("collabspace.mcp")

INSTRUCTIONS = (
    "A shared research space where several agents work on one ML task. Call `digest` first; "
    "`join` once; post a status-update; claim a direction before working on it; submit results."
)
#: What each tool does to the space (MCP tool annotations; unset hints keep the protocol's defaults).
READ_ONLY = ToolAnnotations(readOnlyHint=True)
ADDS = ToolAnnotations(destructiveHint=False)  # writes something new, changes nothing stored
ADDS_ONCE = ToolAnnotations(destructiveHint=False, idempotentHint=True)
SAME_AGAIN = ToolAnnotations(idempotentHint=True)  # may overwrite, but the same call twice does nothing more
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def _one_line(text: str, width: int = 300) -> str:
    text = _CONTROLS.sub(" ", text).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def error_result(message: str, hint: str | None) -> CallToolResult:
    """A tool error as the agent reads it: ``error: ...`` and ``hint: ...``, nothing else."""
    text = f"error: {_one_line(message, 2000)}" + (f"\nhint: {_one_line(hint, 2000)}" if hint else "")
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


class CollabMCP(MCPServer):
    """The SDK's server with collabspace's error layer and argument bounds (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params: dict[str, dict[str, str]] = {}  # tool -> parameter -> kind
        self.surface = Surface(self.params)

    def collab_tool(self, fn: F, annotations: ToolAnnotations) -> F:
        """Register ``fn`` as a tool: its arguments checked against :mod:`.bounds` before it runs."""
        name = fn.__name__
        self.params[name] = bounds.kinds(name, fn)

        @functools.wraps(fn)
        def checked(**kwargs: Any) -> str:
            bounds.check(name, self.params[name], kwargs)
            return fn(**kwargs)

        self.add_tool(checked, annotations=annotations, structured_output=False)
        # Every client loads every definition into its context: one line of description, and no
        # schema "title"s (pydantic's "Predictions File" repeats the property's own name).
        registered = self._tool_manager.get_tool(name)
        assert registered is not None
        registered.description = " ".join(registered.description.split())
        registered.parameters.pop("title", None)
        for prop in registered.parameters.get("properties", {}).values():
            prop.pop("title", None)
        return fn

    def error(self, exc: CollabError, tool: str) -> CallToolResult:
        """A collabspace error in this surface's terms."""
        return error_result(self.surface.translate(exc.message, tool) or "",
                            self.surface.translate(exc.hint, tool))

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        """Call a tool; every failure comes back as one ``error:`` and one ``hint:`` line."""
        params = self.params.get(name)
        if params is None:
            return error_result(f"there is no tool {name!r}", "the tools are: " + ", ".join(self.params))
        unknown = sorted(set(arguments or {}) - set(params))
        if unknown:
            takes = ", ".join(params) or "no arguments"
            return error_result(f"{name} has no parameter {unknown[0]!r}", f"{name} takes: {takes}")
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, CollabError):
                return self.error(cause, name)
            if isinstance(cause, ValidationError):
                return self._invalid(name, params, cause)
            if cause is None:
                return error_result(str(exc), f"see {name}'s input schema")
            log.error("tool %s raised %s", name, type(cause).__name__, exc_info=cause)
            return error_result(f"internal error in {name}: {type(cause).__name__}: {cause}",
                                "a fault of the server, not of your arguments: its log has the traceback; "
                                "try again, and report it if it persists")

    @staticmethod
    def _invalid(tool: str, params: dict[str, str], exc: ValidationError) -> CallToolResult:
        err = exc.errors()[0]
        loc = [str(p) for p in err.get("loc", ())]
        name = loc[0] if loc else "arguments"
        if err.get("type") == "missing":
            what = f"{tool}: {name} is required"
        else:
            try:
                given = json.dumps(err.get("input"), default=str)
            except (ValueError, RecursionError):
                given = type(err.get("input")).__name__
            shown = given if len(given) <= 60 else given[:59] + "…"
            what = f"{tool}: {'.'.join(loc) or name}: {err.get('msg', 'invalid')} (got {shown})"
        kind = params.get(name)
        hint = f"give {name} as {bounds.describe(tool, name, kind)}" if kind else f"see {tool}'s input schema"
        return error_result(what, hint)


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


def _ids(indexes: list[int], most: int = 20) -> str:
    shown = ", ".join(str(i) for i in indexes[:most])
    return shown + (f", … ({len(indexes) - most} more)" if len(indexes) > most else "") if indexes else "none"


def build_server(space: Space | Callable[[], Space], *, root: str | os.PathLike[str] | Workdir | None = None) -> CollabMCP:
    """An MCP server whose tools act on a space as its agent.

    Args:
        space: the space; or a function returning it, called at every tool call, resource read and
            prompt (a gateway returns the calling agent's space, identity included).
        root: the working folder that ``push``, ``pull``, ``submit`` and ``score`` are confined to (see
            :class:`Workdir`). ``None``: local paths as given, for a server that is the local user's own
            process (stdio).
    """
    current: Callable[[], Space] = space if callable(space) and not isinstance(space, Space) else (lambda: space)
    workdir = root if isinstance(root, Workdir) or root is None else Workdir(root)

    def local(value: str, what: str, *, tree: bool = False) -> str:
        if workdir is None:
            return value
        return workdir.tree(value, what=what) if tree else workdir.path(value, what=what)

    def read_file(value: str, what: str) -> bytes:
        path = Path(local(value, what)).expanduser()
        if not path.is_file():
            raise InvalidInput(f"no {what} at {path}", hint="give the path of a JSONL file, one prediction per line")
        return path.read_bytes()

    server = CollabMCP("collabspace", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")

    def tool(annotations: ToolAnnotations) -> Callable[[F], F]:
        return lambda fn: server.collab_tool(fn, annotations)

    # -- the board -------------------------------------------------------------------------------
    @tool(READ_ONLY)
    def digest() -> str:
        """State of play: task, best results, active claims, open proposals, your inbox. Read first."""
        return server.surface.commands(current().digest().markdown)

    @tool(ADDS_ONCE)
    def join(model: str = "", harness: str = "", bio: str = "") -> str:
        """Register yourself in the space (once) and get the digest. Joining again with the same model and
        harness changes nothing; another model or harness under your id is refused."""
        sp = current()
        result = sp.join(model=model or None, harness=harness or None, bio=bio)
        head = f"joined as {sp.agent}" if result.created else f"already joined as {sp.agent}"
        return f"{head}\n\n{server.surface.commands(sp.digest().markdown)}"

    @tool(READ_ONLY)  # it moves only your own read cursor: nothing in the space changes
    def read(all: bool = False, type: str = "", author: str = "", since: str = "", thread: str = "",
             limit: int = 20, peek: bool = False) -> str:
        """Messages new since your last read (marks them read; peek: doesn't). all: the whole board; since:
        2h or a time; author: one agent's; thread=FILE: a conversation."""
        sp = current()
        if thread:
            items = sp.thread(thread)
            return "\n".join(("  " * i.depth) + i.message.to_markdown().replace("\n", "\n" + "  " * i.depth)
                             for i in items)
        result = sp.read(all=all, since=since or None, type=type or None, author=author or None, limit=limit,
                         peek=peek and not all)
        text = _messages(result.messages, "no messages" if all or since else "no new messages")
        if result.remaining:
            text += f"\n\n({result.remaining} more unread: call read again)"
        return text

    @tool(ADDS)
    def post(type: str, body: str, topic: str = "", refs: list[str] | None = None, broadcast: bool = False) -> str:
        """Post a message. type: status-update|experiment-proposal|results-report|question|claim|build-on.
        refs: filenames of messages you answer. Mention agents as @id. broadcast: organizers, to every inbox."""
        message = current().post(type, body, topic=topic or None, refs=refs or (), broadcast=broadcast)
        return f"posted {message.file}"

    @tool(READ_ONLY)
    def search(query: str, limit: int = 10) -> str:
        """Full-text search of the message board."""
        return _messages(current().search(query, limit=limit), "no matches")

    @tool(READ_ONLY)  # acknowledging changes only your own inbox state, not the space
    def inbox(all: bool = False, limit: int = 20, ack: list[str] | None = None, ack_all: bool = False) -> str:
        """Replies to you and @mentions you have not answered (post with refs) or acknowledged. ack: files
        to acknowledge; ack_all: the whole inbox."""
        sp = current()
        if ack or ack_all:
            if ack and ack_all:
                raise InvalidInput("ack names messages, ack_all takes the whole inbox", hint="give one of them")
            done = sp.ack(ack or ())
            return f"acknowledged {len(done)} message{'s' if len(done) != 1 else ''}"
        return _messages(sp.inbox(all=all, limit=limit), "inbox empty")

    @tool(ADDS)
    def claim(scope: str, duration: str = "", note: str = "", force: bool = False) -> str:
        """Claim a direction of work (e.g. 'lora sweep') so others skip it; expires (default from the spec).
        Claiming again renews. Refused if someone else holds it unless force."""
        result = current().claim(scope, duration=duration or None, note=note, force=force)
        c = result.claim
        how = "renewed" if result.renewed else ("posted, contested" if result.contested else "claimed")
        return f"{how} {c.scope!r} until {c.expires:%Y-%m-%d %H:%M:%S} UTC ({result.message.file})"

    @tool(ADDS)
    def release(scope: str) -> str:
        """Release your claim on a scope."""
        return f"released {current().release(scope).scope!r}"

    @tool(READ_ONLY)
    def claims(all: bool = False) -> str:
        """Active claims with holder and time left; all=True adds expired and released ones."""
        sp = current()
        found = sp.claims(all=all)
        if not found:
            return "no active claims"
        now = sp.clock()
        rows = ["| scope | agent | status | expires in |", "|---|---|---|---|"]
        for c in found:
            left = format_duration(c.expires - now) if c.expires > now and c.ended is None else "ended"
            rows.append(f"| {c.scope} | {c.agent} | {c.status} | {left} |")
        return "\n".join(rows)

    # -- results ---------------------------------------------------------------------------------
    @tool(ADDS)
    def submit(experiment: str, score: float | None = None, predictions_file: str = "", name: str = "",
               model: str = "", notes: str = "", track: str = "", fields: dict[str, Any] | None = None,
               refs: list[str] | None = None, predictions: str = "", negative: bool = False) -> str:
        """Submit a result: predictions_file (JSONL path) or predictions (its text), scored here: verified;
        or score (self-reported). fields: the task's own, e.g. {"artifact_size_bytes": 15000000}. refs:
        what it builds on. negative: a dead end (recorded, never ranked best)."""
        if predictions and predictions_file:
            raise InvalidInput("give predictions or predictions_file, not both", hint="predictions_file=\"\" ")
        data = predictions.encode() if predictions else None
        predictions = read_file(predictions_file, "predictions file") if predictions_file else data
        if predictions is None and score is None:
            raise InvalidInput("give score or predictions_file", hint="predictions_file is scored here and verified")
        pairs = [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in (fields or {}).items()]
        sub = current().submit(experiment, score=score, predictions=predictions, name=name or None,
                               model=model or None, notes=notes or None, track=track or None, fields=pairs,
                               refs=refs or (), negative=negative)
        return f"stored {sub.key}: {sub.status}, score {sub.score:.6g}" + (
            f" (invalid: {sub.reason})" if sub.reason else "")

    @tool(READ_ONLY)
    def score(predictions_file: str) -> str:
        """Score a predictions file (JSONL path) with the space's scorer, without submitting."""
        r = current().score(read_file(predictions_file, "predictions file"))
        return (f"score {r.score:.6g}: {r.correct}/{r.total} correct ({r.answered} answered"
                + (f", {r.unusable} unusable" if r.unusable else "") + f") by {r.scorer} {r.version}; not submitted")

    @tool(READ_ONLY)
    def leaderboard(limit: int = 10, format: Literal["md", "json"] = "md") -> str:
        """The leaderboard, best first: rank, score, status (verified/self-reported/invalid), ⚠ flags, the
        headline best. limit=0: every row. format='json': the rows as `collab leaderboard --format json`."""
        board = current().leaderboard()
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

    @tool(ToolAnnotations(destructiveHint=True, idempotentHint=False))
    def invalidate(result: str, reason: str) -> str:
        """Mark a result invalid (yours, or any as an organizer), with the reason; flags all that builds on it."""
        sp = current()
        verdict = sp.invalidate(result, reason)
        flagged = [k for k, f in sp.leaderboard().flagged.items() if f.root == verdict.result]
        return f"{verdict.result} is invalid ({verdict.key}); {len(flagged)} result(s)/message(s) building on it flagged"

    @tool(READ_ONLY)
    def compare(results: list[str]) -> str:
        """Verified results item by item: what each gets right that another misses, the oracle ("at least one
        right") and the majority vote, scored by the real scorer."""
        c = current().compare(results)
        lines = [f"- {r.row.file}: {r.row.score_text} ({r.report.correct}/{r.report.total}), {r.row.experiment}"
                 for r in c.results]
        for p in c.pairs:
            lines.append(f"- {p.b} right, {p.a} wrong: {len(p.b_not_a)} items ({_ids(p.b_not_a)})")
            lines.append(f"- {p.a} right, {p.b} wrong: {len(p.a_not_b)} items ({_ids(p.a_not_b)})")
        if c.oracle and c.majority:
            lines.append(f"- oracle (at least one right): {c.oracle.correct}/{c.oracle.total}")
            lines.append(f"- majority vote, scored by {c.majority.scorer}: {c.majority.correct}/{c.majority.total}"
                         f" ({c.majority.ties} ties went to the better result)")
        return "\n".join(lines)

    # -- artifacts -------------------------------------------------------------------------------
    @tool(READ_ONLY)
    def artifacts(author: str = "", kind: str = "") -> str:
        """List shared artifacts (key, owner, size); author: one agent's."""
        found = current().artifacts(agent=author or None, kind=kind or None)
        if not found:
            return "no artifacts"
        return "\n".join(f"{a.key}{'/' if a.folder else ''}  ({a.owner}, {a.size:,} B)" for a in found)

    @tool(SAME_AGAIN)
    def push(path: str, kind: str = "", name: str = "", replace: bool = False) -> str:
        """Upload a local file or folder as artifacts/{kind}/{name}_{you}. kind: scripts|checkpoints|data (results: use submit)."""
        r = current().push(local(path, "path", tree=True), kind=kind or None, name=name or None, replace=replace)
        done = f"{len(r.uploaded)} uploaded, {len(r.skipped)} unchanged" if r.changed else "unchanged, nothing sent"
        return f"{r.key}{'/' if r.folder else ''}: {done} ({r.bytes_sent:,} B sent)"

    @tool(SAME_AGAIN)
    def pull(key: str, dest: str) -> str:
        """Download an artifact (file or folder prefix) to a local path."""
        r = current().pull(key, local(dest, "destination"))
        return f"{r.dest}: {len(r.downloaded)} downloaded, {len(r.skipped)} already complete ({r.bytes_received:,} B)"

    # -- a resource and a prompt ----------------------------------------------------------------
    def resource_text(make: Callable[[Space], str], *, prompt: bool = False) -> str:
        try:
            return make(current())
        except CollabError as exc:
            said = server.error(exc, "digest").content[0].text  # type: ignore[union-attr]
            if prompt:  # the SDK masks a prompt's exceptions: the error is what the agent is told instead
                return said
            raise ResourceError(said) from None

    @server.resource("collab://digest", name="digest", mime_type="text/markdown",
                     description="The state of play: task, best results, claims, proposals, your inbox.")
    def digest_resource() -> str:
        return resource_text(lambda sp: server.surface.commands(sp.digest().markdown))

    @server.prompt(name="start", description="Start working in this space: how to take part, and the state of play.")
    def start() -> str:
        def make(sp: Space) -> str:
            return (f"You are {sp.agent}, one of several agents working on this shared task. Work through the "
                    "collabspace tools: `join` once, then `read` what is new, `claim` a direction before you "
                    "work on it (others skip what is claimed), `post` a status-update when you start and a "
                    "results-report when you finish, `submit` every result (predictions_file gets a verified "
                    "score), and check `inbox` for replies.\n\n" + sp.getting_started() + "\n\n"
                    + server.surface.commands(sp.digest().markdown))
        return resource_text(make, prompt=True)

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
    """Serve the tools over streamable HTTP (path ``/mcp``) until interrupted; prints the URL on stderr.

    Args:
        host: a loopback address: there is no authentication yet (gateway mode brings it).
        root: the working folder for ``push``, ``pull``, ``submit`` and ``score`` (default: the current
            directory, now).
        allow_hosts: more ``Host`` values to answer (see :func:`transport_security`).

    Raises:
        InvalidInput: ``host`` is not a loopback address, an ``allow_hosts`` entry is not a host name,
            ``root`` is not a folder, or the port is taken.
    """
    from ..web.app import check_bind

    check_bind(host, service="the MCP server")
    security = transport_security(host, allow_hosts)
    workdir = Workdir(root if root is not None else os.getcwd())
    server = build_server(space, root=workdir)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:  # one error line now, rather than uvicorn's traceback once the server is announced
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                               hint=f"the port is taken (another collab mcp or serve?): pick another, "
                                    f"e.g. --http {port + 1}") from None
    shown = f"[{host}]" if ":" in host else host
    title = _CONTROLS.sub("", space.spec.task.title)
    print(f"MCP server for {title} on http://{shown}:{port}/mcp as {space.agent}, files under {workdir.root} "
          "(Ctrl-C to stop)", file=sys.stderr, flush=True)
    server.run("streamable-http", host=host, port=port, transport_security=security)
