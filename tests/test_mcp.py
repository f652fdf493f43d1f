"""The MCP server through a real MCP client, over stdio, against the real `collab mcp` process."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from collabspace import Space
from collabspace.domain.setup.presets import preset_spec

TEST_SET = Path(__file__).resolve().parents[1] / "src/collabspace/scorers/data/gsm8k_test.jsonl"
BUDGET = 8_000  # characters of tools/list JSON, about 2,000 tokens
EXPECTED_TOOLS = {"digest", "join", "read", "post", "search", "inbox", "claim", "release", "claims", "submit",
                  "score", "leaderboard", "invalidate", "compare", "artifacts", "push", "pull"}


@pytest.fixture
def space_url(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("COLLAB_CACHE_DIR", str(tmp_path / "cache"))
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    return url


def server(space_url: str, agent: str, cache: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG", "PYTHON"))}
    env["COLLAB_CACHE_DIR"] = cache
    env["COLLAB_STATE_DIR"] = cache + "-state"
    return StdioServerParameters(command=sys.executable,
                                 args=["-m", "collabspace", "mcp", "--space", space_url, "--agent", agent], env=env)


def text(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def call(client, name: str, **args):
    return await client.call_tool(name, args)


def run(coro):
    return asyncio.run(coro)


def test_tool_definitions_fit_the_budget(space_url, tmp_path):
    async def main():
        async with Client(server(space_url, "agent-01", str(tmp_path / "cache"))) as client:
            return await client.list_tools()

    listed = run(main())
    assert {t.name for t in listed.tools} == EXPECTED_TOOLS
    wire = json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools])
    print(f"tools/list: {len(listed.tools)} tools, {len(wire)} characters of JSON")
    assert len(wire) <= BUDGET, len(wire)
    for tool in listed.tools:
        assert tool.description and len(tool.description) < 300, tool.name


def test_an_agent_with_only_mcp_tools_does_the_whole_job(space_url, tmp_path):
    cache = str(tmp_path / "cache")
    other = Space.open(space_url, agent="agent-02")
    other.join(model="gpt-5", harness="codex")
    held = other.claim("lora sweep", duration="2h")
    question = other.post("question", "@agent-01 which prompt format do you use?", topic="prompt")
    gold = [json.loads(line)["answer"].split("####")[-1].strip() for line in TEST_SET.read_text().splitlines()]
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text("".join(json.dumps({"index": i, "prediction": f"Let me think... The answer is {g}."}) + "\n"
                                   for i, g in enumerate(gold[:400])))
    script = tmp_path / "train.py"
    script.write_text("print('train')\n")

    async def main():
        async with Client(server(space_url, "agent-01", cache)) as client:
            out = {}
            out["join"] = text(await call(client, "join", model="claude-opus-4", harness="claude-code"))
            out["read"] = text(await call(client, "read"))
            out["read_again"] = text(await call(client, "read"))
            out["post"] = text(await call(client, "post", type="status-update", body="Hi, I take CoT prompting.",
                                          topic="hello", refs=[question.file]))
            for t in ("experiment-proposal", "results-report", "question", "build-on"):
                r = await call(client, "post", type=t, body=f"A {t} message.", topic=t)
                assert not r.is_error, text(r)
            out["bad_type"] = await call(client, "post", type="gossip", body="x")
            out["conflict"] = await call(client, "claim", scope="LoRA sweep")
            out["claim"] = text(await call(client, "claim", scope="cot prompting", duration="3h"))
            out["claims"] = text(await call(client, "claims"))
            out["push"] = text(await call(client, "push", path=str(script), kind="scripts"))
            out["artifacts"] = text(await call(client, "artifacts"))
            out["pull"] = text(await call(client, "pull", key="artifacts/scripts/train_agent-01.py",
                                          dest=str(tmp_path / "pulled.py")))
            out["submit"] = text(await call(client, "submit", experiment="CoT, greedy",
                                            predictions_file=str(predictions), refs=[question.file]))
            out["leaderboard"] = text(await call(client, "leaderboard"))
            out["search"] = text(await call(client, "search", query="prompt format"))
            out["digest"] = text(await call(client, "digest"))
            out["release"] = text(await call(client, "release", scope="cot prompting"))
            return out

    out = run(main())
    assert "joined as agent-01" in out["join"] and "GSM8K" in out["join"]
    assert question.file in out["read"] and "which prompt format" in out["read"]
    assert out["read_again"] == "no new messages"
    posted = out["post"].removeprefix("posted ")
    assert (Path(space_url) / "message_board" / posted).read_text().startswith("---\nagent: agent-01\ntype: status-update")
    assert out["bad_type"].is_error and "hint:" in text(out["bad_type"]) and "status-update" in text(out["bad_type"])
    conflict = text(out["conflict"])
    assert out["conflict"].is_error and "agent-02" in conflict and "hint:" in conflict
    assert held.claim.agent == "agent-02"
    assert "claimed 'cot prompting'" in out["claim"] and "| cot prompting | agent-01 | active |" in out["claims"]
    assert (tmp_path / "pulled.py").read_text() == "print('train')\n"
    assert "artifacts/scripts/train_agent-01.py" in out["artifacts"]
    assert "verified" in out["submit"] and "0.303" in out["submit"]  # 400 of 1,319 right
    assert "| 1 | agent-01 | 0.30326 | verified | CoT, greedy |" in out["leaderboard"]
    assert question.file in out["search"]
    assert "cot prompting" in out["digest"]
    assert out["release"] == "released 'cot prompting'"
    # what the agent did is what every other tool sees
    rows = Space.open(space_url).leaderboard().rows
    assert [(r.agent_id, r.status) for r in rows if r.status != "baseline"] == [("agent-01", "verified")]


def test_server_refuses_to_start_without_an_agent(space_url, tmp_path):
    import subprocess

    out = subprocess.run([sys.executable, "-m", "collabspace", "mcp", "--space", space_url], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLLAB_AGENT": ""}, stdin=subprocess.DEVNULL)
    assert out.returncode == 1 and out.stderr.startswith("error: no agent id given")


def test_a_bad_destination_is_a_tool_error_with_a_hint(space_url, tmp_path):
    Space.open(space_url, agent="agent-01").push(str(Path(__file__)), kind="scripts", name="t")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    async def main():
        async with Client(server(space_url, "agent-01", str(tmp_path / "cache"))) as client:
            return await call(client, "pull", key="artifacts/scripts/t_agent-01.py", dest=str(blocker / "sub" / "x.py"))

    result = run(main())
    assert result.is_error and "cannot write to" in text(result) and "hint:" in text(result)


def test_streamable_http_on_loopback(space_url, tmp_path):
    import socket
    import subprocess
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "COLLAB_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "collabspace", "mcp", "--space", space_url, "--agent", "agent-01",
                             "--http", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=tmp_path)
    try:
        # it says where it listens, first thing (issue 13 item 8: before, it printed nothing)
        import select

        ready, _, _ = select.select([proc.stderr], [], [], 30)
        announced = proc.stderr.readline().decode() if ready else ""
        assert f"on http://127.0.0.1:{port}/mcp as agent-01" in announced, announced
        assert "GSM8K" in announced and str(tmp_path) in announced
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)

        async def main():
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                names = {t.name for t in (await client.list_tools()).tools}
                posted = text(await call(client, "post", type="status-update", body="over HTTP", topic="http"))
                return names, posted

        names, posted = run(main())
        assert names == EXPECTED_TOOLS
        # the port is now taken: a second server says so in one error line, before announcing anything
        second = subprocess.run([sys.executable, "-m", "collabspace", "mcp", "--space", space_url, "--agent",
                                 "agent-02", "--http", str(port)], env=env, capture_output=True, text=True,
                                timeout=60, stdin=subprocess.DEVNULL, cwd=tmp_path)
        assert second.returncode == 1 and second.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
        assert second.stderr.splitlines()[1].startswith("hint: the port is taken")
        assert posted.startswith("posted ") and "_agent-01_http.md" in posted
        assert (Path(space_url) / "message_board" / posted.removeprefix("posted ")).exists()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
