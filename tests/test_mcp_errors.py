"""Issue 13 item 8 and issue 11 property 5, for MCP: errors in the caller's terms, and every argument bounded.

Through the real MCP SDK client, in process (the SDK's memory transport) against :func:`build_server`.

Before: hints named CLI flags an MCP agent does not have ("post anyway with --force"), every error read
"Error executing tool claim: error: ...", an unexpected exception reached the agent as only "Error executing
tool claim", and ``limit=100000`` was silently clamped.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
from pathlib import Path

import pytest
from mcp import Client

import collabspace
from collabspace import Space
from collabspace.domain.setup.presets import preset_spec
from collabspace.mcp.hints import CLI_ONLY, COMMANDS
from collabspace.mcp.server import build_server

SRC = Path(collabspace.__file__).parent


def text(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def calls(server, *steps):
    """Run (tool, arguments) calls through a real client; return the results."""
    async def main():
        async with Client(server) as client:
            return [await client.call_tool(name, args) for name, args in steps]
    return asyncio.run(main())


def one_error(result) -> tuple[str, str]:
    """The error's two lines (and that there are exactly these two, in this form)."""
    assert result.is_error, text(result)
    lines = text(result).splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), lines
    assert "Error executing tool" not in text(result) and "error: error:" not in text(result)
    return lines[0].removeprefix("error: "), lines[1].removeprefix("hint: ")


@pytest.fixture
def space(memory_url) -> Space:
    Space.init(memory_url, preset_spec("gsm8k"))
    return Space.open(memory_url, agent="agent-01")


def stored(space: Space) -> list[str]:
    return sorted(i.key for i in space.store.list(""))


# -- hints in the tools' own terms -------------------------------------------------------------------------
def test_hints_name_tool_parameters_not_cli_flags(space, tmp_path):
    other = Space.open(space.url, agent="agent-02")
    other.claim("lora sweep", duration="2h")
    other.join(model="gpt-5")
    big = tmp_path / "big.txt"
    big.write_text("x")
    held, empty, name, missing, reason, kind = calls(
        build_server(space),
        ("claim", {"scope": "LoRA sweep"}),
        ("post", {"type": "status-update", "body": "   "}),
        ("submit", {"experiment": "x", "score": 0.5, "name": "bad/name"}),
        ("submit", {"experiment": "x"}),
        ("invalidate", {"result": "nothing_agent-01.json", "reason": " "}),
        ("push", {"path": str(big), "kind": "results"}),
    )
    message, hint = one_error(held)
    assert "agent-02" in message
    assert hint == ('pick another direction, ask @agent-02 (post(type="question")), or post anyway with force=true')
    assert one_error(empty)[1] == "give the message text as body"
    assert one_error(name)[1] == 'try name="bad-name"'
    assert one_error(missing) == ("give score or predictions_file", "predictions_file is scored here and verified")
    assert one_error(reason) == ("reason is empty", 'say why, e.g. reason="trained on the test split"')
    assert one_error(kind)[1].startswith('results enter only through validation: submit(experiment="...", '
                                         'predictions_file="FILE") (or score=X)')
    for result in (held, empty, name, missing, reason, kind):
        assert "--" not in text(result) and "collab " not in text(result), text(result)


def test_join_says_what_joining_again_does(space):
    space.join(model="claude-opus-4", harness="claude-code")

    async def main():
        async with Client(build_server(space)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            same = await client.call_tool("join", {"model": "claude-opus-4", "harness": "claude-code"})
            other = await client.call_tool("join", {"model": "gpt-5"})
            return tools["join"].description, same, other

    description, same, other = asyncio.run(main())
    assert "no-op" not in description and "refused" in description
    assert not same.is_error and "joined as agent-01" in text(same)
    message, hint = one_error(other)
    assert "already registered with another model 'gpt-5'" in message
    assert hint == "pick another id with `collab mcp --agent` (CLI, where the server is started), e.g. agent-01-2"


def test_unexpected_errors_keep_their_message(space, monkeypatch, caplog):
    """A crash inside a tool reaches the agent as one line with its type and message, said to be the
    server's fault; the traceback goes to the server's log."""
    def broken(*args, **kwargs):
        raise RuntimeError("the index file is locked\x1b[31m by another process")

    monkeypatch.setattr(space, "claims", broken)
    (result,) = calls(build_server(space), ("claims", {}))
    message, hint = one_error(result)
    assert message == "internal error in claims: RuntimeError: the index file is locked [31m by another process"
    assert "server" in hint and "log" in hint
    assert any(r.exc_info and "the index file is locked" in str(r.exc_info[1]) for r in caplog.records)


def test_schema_errors_and_unknown_tools_or_arguments_are_one_error_line(space):
    wrong_type, missing, unknown_arg, unknown_tool, literal = calls(
        build_server(space),
        ("read", {"limit": "many"}),
        ("post", {"type": "question"}),
        ("read", {"agent": "agent-02"}),  # the old name of author
        ("delete_everything", {}),
        ("leaderboard", {"format": "xml"}),
    )
    message, hint = one_error(wrong_type)
    assert message.startswith("read: limit: Input should be a valid integer") and hint == \
        "give limit as a whole number from 1 to 200"
    assert one_error(missing) == ("post: body is required", "give body as text of at most 65,536 characters")
    message, hint = one_error(unknown_arg)
    assert message == "read has no parameter 'agent'" and "author" in hint
    message, hint = one_error(unknown_tool)
    assert "delete_everything" in message and "digest" in hint
    assert one_error(literal)[1] == 'give format as one of: "md", "json"'


# -- every argument bounded ------------------------------------------------------------------------------------
def out_of_bounds(schema: dict, name: str = "") -> list[object]:
    """Values just past anything a parameter can reasonably take, by its JSON type (a text just past its
    advertised length when it is a long one, such as a predictions file's text)."""
    types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
    if "integer" in types:
        return [10**9, -10**9]
    if "array" in types:
        return [["x"] * 1000, ["y" * 5000]]
    if "object" in types:
        return [{f"k{i}": i for i in range(1000)}, {"k": "v" * 10_000}]
    if "string" in types and "enum" not in schema:
        from collabspace.mcp import bounds

        return ["x" * max(70_000, bounds.TEXT.get(name, 0) + 1)]
    return []


def test_every_argument_out_of_bounds_is_refused_and_nothing_changes(space, tmp_path):
    """Black-box, from the advertised schemas: every parameter of every tool has a bound, and a value
    past it is refused with one error line and a hint naming the parameter; nothing is stored."""
    space.post("status-update", "one message", topic="one")
    before = stored(space)
    server = build_server(space, root=tmp_path)

    async def main():
        out = []
        async with Client(server) as client:
            for tool in (await client.list_tools()).tools:
                props = tool.input_schema.get("properties", {})
                required = tool.input_schema.get("required", [])
                base = {name: ("x" if props[name].get("type") == "string" else ["x"]) for name in required}
                for name, schema in props.items():
                    for value in out_of_bounds(schema, name):
                        out.append((tool.name, name, await client.call_tool(tool.name, {**base, name: value})))
        return out

    results = asyncio.run(main())
    assert len({(t, p) for t, p, _ in results}) >= 40  # every text, count, list and object parameter
    for tool, param, result in results:
        message, hint = one_error(result)
        assert param in message and param in hint, (tool, param, message, hint)
    assert stored(space) == before


def test_counts_are_refused_not_clamped(space):
    for i in range(3):
        space.post("status-update", f"message {i}", topic=f"m{i}")
    big, zero, fine, every = calls(build_server(space), ("read", {"all": True, "limit": 100_000}),
                                   ("search", {"query": "message", "limit": 0}),
                                   ("read", {"all": True, "limit": 2}), ("leaderboard", {"limit": 0}))
    assert one_error(big) == ("read: limit must be from 1 to 200, got 100,000",
                              "give limit as a whole number from 1 to 200")
    assert one_error(zero)[0] == "search: limit must be from 1 to 100, got 0"
    assert text(fine).count("### ") == 2
    assert not every.is_error  # 0 is "every row", in range


# -- the translation table, over every hint in the source -------------------------------------------------------
def _strings(node: ast.AST) -> list[str]:
    """The texts an expression can take, with a placeholder for what is computed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        out = [""]
        for part in node.values:  # a computed part: a file name, or an option's name right after "--"
            computed = ["score"] if out[0].endswith("--") else ["x_agent-01.json"]
            pieces = _strings(part) if isinstance(part, ast.Constant) else computed
            out = [a + b for a in out for b in pieces]
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in _strings(node.left) for b in _strings(node.right)]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return ["x_agent-01.json"]


def source_hints() -> list[tuple[str, str]]:
    """(file, hint) for every ``hint=`` written outside the CLI (whose errors never reach MCP)."""
    out = []
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] == "cli":
            continue
        tree = ast.parse(path.read_text())
        consts = {t.id: n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                  for t in n.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "hint":
                value = consts.get(node.value.id, node.value) if isinstance(node.value, ast.Name) else node.value
                out += [(str(path.relative_to(SRC)), h) for h in _strings(value)]
    return out


_CLI_WORDS = re.compile(r"(?<![\w`-])--[a-z][a-z-]*|\bcollab (?:" + "|".join(
    re.escape(c) for c in sorted(set(COMMANDS) | CLI_ONLY, key=len, reverse=True)) + r")\b")


def test_every_hint_in_the_source_speaks_the_mcp_surface(space):
    """No hint written anywhere (domain, storage, space) reaches an MCP agent with a bare CLI flag or command:
    each becomes a parameter or a tool call, or is marked as a CLI command to run in a shell."""
    server = build_server(space)
    hints = source_hints()
    assert len(hints) > 100
    tools = list(server.params)
    bad = []
    for where, hint in hints:
        for tool in tools:
            said = server.surface.translate(hint, tool) or ""
            left = re.sub(r"`[^`]*`", "", said)  # code spans: commands to run in a shell, said so
            if _CLI_WORDS.search(left):
                bad.append((where, tool, hint, said))
    assert bad == []


def test_the_translation_knows_every_cli_command():
    from collabspace.cli import cli

    missing = set(cli.commands) - (set(COMMANDS) | CLI_ONLY)
    assert not missing, f"add {sorted(missing)} to mcp/hints.py: COMMANDS (a tool) or CLI_ONLY"
    assert not (set(COMMANDS) | CLI_ONLY) - set(cli.commands)


@pytest.mark.parametrize(("tool", "cli", "mcp"), [
    ("read", "refs name existing messages; find them with: collab read --all or collab search WORDS",
     'refs name existing messages; find them with: read(all=true) or search(query="WORDS")'),
    ("push", "push a copy under your own name: collab pull artifacts/data/x_agent-02 ./copy && "
             "collab push ./copy --kind data",
     'push a copy under your own name: pull(key="artifacts/data/x_agent-02", dest="./copy") then '
     'push(path="./copy", kind="data")'),
    ("submit", "give it: --field artifact_size_bytes=N --field train_time_seconds=N",
     'give it: fields={"artifact_size_bytes": N, "train_time_seconds": N}'),
    ("artifacts", "list yours with: collab artifacts --agent YOUR_ID", 'list yours with: artifacts(author="YOUR_ID")'),
    ("claim", 'e.g. collab claim "lora sweep" --for 4h', 'e.g. claim(scope="lora sweep", duration="4h")'),
    ("read", "check that the store is reachable (collab ls to test)",
     "check that the store is reachable (`collab ls` (CLI) to test)"),
    ("read", "create one with: collab init /tmp/x --task gsm8k", "create one with: `collab init /tmp/x --task gsm8k` (CLI)"),
    ("push", "choose a --name and an extension, e.g. --name my-file", 'choose a name and an extension, e.g. name="my-file"'),
    ("read", "a collab space needs collab.toml", "a collab space needs collab.toml"),
])
def test_translations(space, tool, cli, mcp):
    assert build_server(space).surface.translate(cli, tool) == mcp


def test_json_of_an_error_is_not_needed_to_read_it(space):
    """The error text is plain lines, not a JSON or pydantic dump."""
    (result,) = calls(build_server(space), ("submit", {"experiment": "x", "fields": {"a": 1}, "score": "high"}))
    message, hint = one_error(result)
    assert "pydantic" not in message and "errors.pydantic.dev" not in message
    with pytest.raises(ValueError):
        json.loads(text(result))
