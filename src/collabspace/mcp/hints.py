"""Errors in the MCP caller's terms: the CLI's flags and commands, rewritten as tool calls.

Errors are raised once, deep in the domain, with a hint in the CLI's words (``post anyway with
--force``, ``collab submit --score X``): the CLI is the surface most users meet, and a domain function
does not know who called it. An agent holding only MCP tools has no flags, so this module rewrites an
error's message and hint for the MCP surface, mechanically, from one table (:class:`Surface`):

* ``collab CMD ARGS`` of a command that is a tool becomes a call: ``collab claim "lora sweep" --for 4h``
  -> ``claim(scope="lora sweep", duration="4h")``; positional arguments take the tool's parameter
  names (:data:`COMMANDS`), flags their parameter (:data:`ALIASES`, else ``--foo-bar`` -> ``foo_bar``);
* a flag outside a command becomes its parameter, read against the command just named, else the
  tool that failed, else any tool that has it: ``--force`` -> ``force=true``, ``--name x`` ->
  ``name="x"``, ``--reason is empty`` -> ``reason is empty``;
* a command with no tool (``collab doctor``), or an option of the server itself (``--agent``), is
  kept verbatim, in backticks and marked ``(CLI)``: something to run in a shell, not a parameter;
* a few phrases with no mechanical equivalent (stdin) have their own wording (:data:`PHRASES`).

So a hint needs no second, MCP-specific text at its raise site, and a new hint is translated
without anyone remembering to. ``tests/test_mcp_errors.py`` runs every hint written in the source
through :func:`Surface.translate` and checks no flag or ``collab`` command is left unmarked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

#: CLI command -> (tool, the tool parameters its positional arguments fill; ``None``: not a parameter).
COMMANDS: dict[str, tuple[str, tuple[str | None, ...]]] = {
    "digest": ("digest", ()), "join": ("join", ()), "read": ("read", ()), "post": ("post", ()),
    "show": ("read", ("thread",)), "search": ("search", ("query",)), "claim": ("claim", ("scope",)),
    "release": ("release", ("scope",)), "claims": ("claims", ()), "submit": ("submit", ()),
    "leaderboard": ("leaderboard", ()), "artifacts": ("artifacts", ()), "push": ("push", ("path",)),
    "pull": ("pull", ("key", "dest")), "inbox": ("inbox", ()), "score": ("score", (None, "predictions_file")),
    "invalidate": ("invalidate", ("result",)), "compare": ("compare", ("results", "results", "results")),
}
#: CLI commands with no tool: kept verbatim, marked (CLI). ``tests/test_mcp_errors.py`` checks that these and
#: :data:`COMMANDS` are every command of the CLI.
CLI_ONLY = frozenset({"init", "agents", "ls", "cat", "rm", "doctor", "quarantine", "serve", "mcp", "demo",
                      "export-space", "export-gateway", "gateway", "watch", "organizers"})
#: CLI flags whose tool parameter is not the flag's own name, per tool.
ALIASES: dict[str, dict[str, str]] = {
    "post": {"body-file": "body"},
    "read": {"from": "author", "thread": "thread"},
    "artifacts": {"from": "author", "agent": "author"},
    "claim": {"for": "duration"},
    "submit": {"predictions": "predictions_file", "field": "fields", "artifacts": "artifacts"},
    "score": {"predictions": "predictions_file"},
    "inbox": {"ack": "ack", "ack-all": "ack_all"},
}
#: Options of the server process, not of any tool: the agent, the space, the working folder.
SERVER_OPTIONS = frozenset({"agent", "space", "root"})
#: Whole phrases of CLI hints with no mechanical equivalent on this surface.
PHRASES: dict[str, str] = {
    "pass --body TEXT, --body-file FILE or pipe it on stdin": "give the message text as body",
    "rerun with --debug for the traceback, and report it": "the server's log has the traceback; report it",
}
#: Words that end a flag's value in prose ("choose a --name and an extension").
_PROSE = frozenset(
    "a an and as at by cannot for from gets get if in instead is it its must of on only or the then to "
    "when with you your that this which".split()
)
_TOKEN = re.compile(r"\"[^\"]*\"|'[^']*'|\S+")
_FLAG = re.compile(r"^--([a-z][a-z0-9-]*)(=.*)?$")
_TRAIL = ".,;:)"
_SAME_OBJECT = re.compile(r"\b(\w+)=\{([^{}]*)\}\s+\1=\{([^{}]*)\}")


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    end: int

    @classmethod
    def of(cls, m: re.Match[str]) -> _Tok:
        """A token without its opening parenthesis or backtick (``(collab`` -> ``collab``: the ``(`` stays text)."""
        lead = len(m.group()) - len(m.group().lstrip("(`"))
        return cls(m.group()[lead:], m.start() + lead, m.end())

    @property
    def core(self) -> str:
        """The token without trailing punctuation (``question),`` -> ``question``)."""
        return self.text.rstrip(_TRAIL) if not self.text.startswith(("'", '"')) else self.text

    @property
    def tail(self) -> str:
        return self.text[len(self.core):]


class Surface:
    """The MCP tools' parameters, and the rewriting of CLI words into them.

    Args:
        params: tool -> parameter -> kind (``bool``, ``int``, ``float``, ``str``, ``list``, ``dict``).
    """

    def __init__(self, params: Mapping[str, Mapping[str, str]]) -> None:
        self.params = params  # the server's own table, which grows as tools are registered

    # -- the parts -----------------------------------------------------------------------------
    def _param(self, flag: str, tools: list[str]) -> tuple[str, str] | None:
        """(tool, parameter) that ``--flag`` means, looking in ``tools`` first, then in every tool."""
        for tool in [*tools, *self.params]:
            if tool not in self.params:
                continue
            name = ALIASES.get(tool, {}).get(flag, flag.replace("-", "_"))
            if name in self.params[tool]:
                return tool, name
        return None

    @staticmethod
    def _is_value(tok: _Tok | None, kind: str) -> bool:
        if tok is None or tok.text.startswith("--") or tok.text in ("&&", "||", "|"):
            return False
        core = tok.core
        if not core or core.startswith("(") or not (core[0] in "'\"" or any(c.isalnum() for c in core)):
            return False  # "/" in "--space / COLLAB_SPACE" is no value
        if kind in ("int", "float"):
            return bool(re.fullmatch(r"[-+]?[\d.,_]+|[A-Z][A-Z_]*", core))
        return core.startswith(("'", '"')) or core.lower() not in _PROSE

    @staticmethod
    def _literal(value: str, kind: str) -> str:
        text = value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value
        if kind in ("int", "float") and (re.fullmatch(r"[-+]?[\d.]+", text) or re.fullmatch(r"[A-Z][A-Z_]*", text)):
            return text
        if kind == "list":
            return json.dumps([text], ensure_ascii=False)
        if kind == "dict":
            k, sep, v = text.partition("=")
            if re.fullmatch(r"[A-Z][A-Z_]*", v):  # a placeholder: N, VALUE
                return "{" + json.dumps(k) + ": " + v + "}"
            try:
                parsed = json.loads(v) if sep else None
            except ValueError:
                parsed = v
            return "{" + json.dumps(k) + ": " + json.dumps(parsed, ensure_ascii=False) + "}"
        return json.dumps(text, ensure_ascii=False)

    # -- rewriting ---------------------------------------------------------------------------------
    def commands(self, text: str) -> str:
        """``text`` (a digest, say: mostly the space's own content) with only the CLI commands it suggests
        rewritten: a ``collab ...`` at the end of a line after "with: " or "more: ", and ``(collab doctor)``.
        Flags elsewhere in it are left alone: they may be quoted from a message."""
        def one(m: re.Match[str]) -> str:
            return m.group(1) + (self.translate(m.group(2), "digest") or "")
        text = re.sub(r"(?m)^(.*?(?:with|more): )(collab [^\n]*)$", one, text)
        return re.sub(r"\((collab doctor)\)", lambda m: "(" + (self.translate(m.group(1), "digest") or "") + ")", text)

    def translate(self, text: str | None, tool: str) -> str | None:
        """``text`` (a message or hint written for the CLI) in this surface's terms, for a call of ``tool``."""
        if not text:
            return text
        for cli, mcp in PHRASES.items():
            text = text.replace(cli, mcp)
        toks = [t for t in (_Tok.of(m) for m in _TOKEN.finditer(text)) if t.text]
        out: list[str] = []
        pos = 0
        context: list[str] = [tool]
        i = 0
        while i < len(toks):
            tok = toks[i]
            if text.count("`", 0, tok.start) % 2:  # inside a `code span` of the source: already a command
                i += 1
                continue
            if tok.core == "collab" and i + 1 < len(toks) and (toks[i + 1].core in COMMANDS
                                                                 or toks[i + 1].core in CLI_ONLY):
                out.append(text[pos:tok.start])
                rendered, i, used = self._command(toks, i, text)
                out.append(rendered)
                if used:
                    context = [used, tool]
                pos = toks[i - 1].end
                continue
            flag = _FLAG.match(tok.core)
            if flag:
                out.append(text[pos:tok.start])
                rendered, i = self._flag(toks, i, context)
                out.append(rendered)
                pos = toks[i - 1].end
                continue
            if tok.text == "&&":
                out.append(text[pos:tok.start] + "then")
                pos = tok.end
            i += 1
        out.append(text[pos:])
        joined = "".join(out)
        while True:  # "--field a=1 --field b=2": one object, fields={"a": 1, "b": 2}
            merged = _SAME_OBJECT.sub(r"\1={\2, \3}", joined)
            if merged == joined:
                return joined
            joined = merged

    def _flag(self, toks: list[_Tok], i: int, context: list[str]) -> tuple[str, int]:
        """A flag outside a command (and its value, if one follows): its parameter, or a marked CLI option."""
        tok = toks[i]
        m = _FLAG.match(tok.core)
        assert m is not None
        name, inline = m.group(1), m.group(2)
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if name in SERVER_OPTIONS:
            value = ""
            if inline:
                value = inline
            elif self._is_value(nxt, "str") and not tok.tail and nxt is not None:
                value, i = " " + nxt.core, i + 1
                tok = toks[i]
            return f"`collab mcp --{name}{value}` (CLI, where the server is started){tok.tail}", i + 1
        found = self._param(name, context)
        if found is None:
            if not inline and not tok.tail and self._is_value(nxt, "str") and nxt is not None:
                return f"`--{name} {nxt.core}` (CLI){nxt.tail}", i + 2
            return f"`--{name}{inline or ''}` (CLI){tok.tail}", i + 1
        _, param = found
        kind = self.params[found[0]][param]
        if kind == "bool":
            return f"{param}=true{tok.tail}", i + 1
        if inline:
            return f"{param}={self._literal(inline[1:], kind)}{tok.tail}", i + 1
        if not tok.tail and self._is_value(nxt, kind) and nxt is not None:
            return f"{param}={self._literal(nxt.core, kind)}{nxt.tail}", i + 2
        return f"{param}{tok.tail}", i + 1

    def _command(self, toks: list[_Tok], i: int, text: str) -> tuple[str, int, str | None]:
        """``collab CMD ARGS...`` from token ``i``: a tool call, or the command verbatim marked (CLI)."""
        name = toks[i + 1].core
        spec = COMMANDS.get(name)
        tool = spec[0] if spec and spec[0] in self.params else None
        positional = list(spec[1]) if spec else []
        args: list[str] = []
        lists: dict[str, list[str]] = {}
        j = i + 2
        ended = toks[i + 1].tail  # "collab claims)" ends at once
        while j < len(toks) and not ended:
            tok = toks[j]
            flag = _FLAG.match(tok.core)
            if flag:
                fname, inline = flag.group(1), flag.group(2)
                found = self._param(fname, [tool]) if tool else None
                kind = self.params[tool][found[1]] if tool and found and found[0] == tool else "str"
                nxt = toks[j + 1] if j + 1 < len(toks) else None
                value = None
                if inline:
                    value, step = inline[1:], 1
                elif kind != "bool" and not tok.tail and self._is_value(nxt, kind) and nxt is not None:
                    value, step = nxt.core, 2
                    tok = nxt
                else:
                    step = 1
                if tool and found and found[0] == tool:
                    param = found[1]
                    if kind == "bool":
                        args.append(f"{param}=true")
                    elif kind == "list" and value is not None:
                        lists.setdefault(param, []).append(value)
                    else:
                        args.append(f"{param}={self._literal(value, kind) if value is not None else '...'}")
                elif tool:
                    tool = None  # a flag the tool does not take: show the command as it is
                j += step
                ended = tok.tail
                continue
            if (positional or spec is None) and self._is_value(tok, "str"):
                if spec is None:  # a command with no tool: shown as it is, arguments and all
                    j += 1
                    ended = tok.tail
                    continue
                param = positional.pop(0)
                if param is not None and tool:
                    kind = self.params[tool].get(param, "str")
                    if kind == "list":
                        lists.setdefault(param, []).append(tok.core)
                    else:
                        args.append(f"{param}={self._literal(tok.core, kind)}")
                j += 1
                ended = tok.tail
                continue
            break
        last = toks[j - 1]
        if tool is None:
            return f"`{text[toks[i].start:last.start + len(last.core)]}` (CLI){last.tail}", j, None
        for param, values in lists.items():
            args.append(f"{param}={json.dumps(values, ensure_ascii=False)}")
        return f"{tool}({', '.join(args)}){last.tail}", j, tool
