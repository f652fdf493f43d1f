"""Issue 13 items 8 and 14, for MCP: the new tools, their annotations, prompts and resources, and a Space
obtained per call. Through the real MCP SDK client, in process.

Before: no ``inbox``, ``score``, ``invalidate`` or ``compare`` tool; ``submit`` could not carry ``track`` or
task fields (so a Parameter Golf result could not give ``artifact_size_bytes``, and a missing limited field
passed unchecked); ``read`` filtered authors with ``agent`` where the CLI says ``--from``; no annotations;
the server advertised empty prompt and resource lists; ``build_server`` took one fixed Space.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from mcp import Client

from collabspace import Space
from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import Track
from collabspace.mcp.server import build_server
from dashboard_support import gold_predictions

PG_FIELDS = {"artifact_size_bytes": 15_000_000, "train_time_seconds": 590}


def text(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def calls(server, *steps):
    async def main():
        async with Client(server) as client:
            return [await client.call_tool(name, args) for name, args in steps]
    return asyncio.run(main())


@pytest.fixture(params=["direct", "gateway"])
def gsm8k(request, memory_url, tmp_path) -> str:
    """A GSM8K space's address: in memory, or a gateway over a local folder (the same tools, the same
    answers; agents agent-00..agent-09 hold tokens)."""
    if request.param == "direct":
        Space.init(memory_url, preset_spec("gsm8k"))
        return memory_url
    from gateway_support import serve_folder

    Space.init(str(tmp_path / "space"), preset_spec("gsm8k"))
    gw = serve_folder(tmp_path / "space")
    request.addfinalizer(gw.server.stop)
    return gw.url


def test_read_filters_authors_with_author_like_the_clis_from(gsm8k):
    for agent in ("agent-02", "agent-03"):
        Space.open(gsm8k, agent=agent).post("status-update", f"hello from {agent}", topic="hi")
    me = Space.open(gsm8k, agent="agent-01")
    mine, board, artifacts = calls(build_server(me), ("read", {"author": "agent-02", "peek": True}),
                                   ("read", {"all": True, "author": "agent-03"}), ("artifacts", {"author": "agent-02"}))
    assert "hello from agent-02" in text(mine) and "agent-03" not in text(mine)
    assert "hello from agent-03" in text(board) and "hello from agent-02" not in text(board)
    assert text(artifacts) == "no artifacts"


def test_inbox_tool_shows_and_acknowledges(gsm8k):
    me = Space.open(gsm8k, agent="agent-01")
    mine = me.post("question", "Which prompt do you use?", topic="prompt")
    other = Space.open(gsm8k, agent="agent-02")
    reply = other.post("build-on", "The 8-shot one.", topic="prompt", refs=[mine.file])
    mention = other.post("status-update", "@agent-01 see my results", topic="results")
    shown, acked, empty, again = calls(build_server(me), ("inbox", {}), ("inbox", {"ack": [reply.file]}),
                                       ("inbox", {"ack_all": True}), ("inbox", {}))
    assert reply.file in text(shown) and mention.file in text(shown)
    assert text(acked) == "acknowledged 1 message"
    assert text(empty) == "acknowledged 1 message"
    assert text(again) == "inbox empty"


def test_score_tool_scores_without_submitting(gsm8k, tmp_path):
    preds = tmp_path / "preds.jsonl"
    preds.write_bytes(gold_predictions(200))
    me = Space.open(gsm8k, agent="agent-01")
    (scored,) = calls(build_server(me, root=tmp_path), ("score", {"predictions_file": "preds.jsonl"}))
    assert text(scored) == "score 0.15163: 200/1319 correct (200 answered) by gsm8k 1.0; not submitted"
    assert [r for r in me.leaderboard().rows if r.status != "baseline"] == []


def test_invalidate_tool_flags_what_builds_on_it(gsm8k):
    me = Space.open(gsm8k, agent="agent-01")
    bad = me.submit("leaky prompt", score=0.9, name="leaky")
    me.submit("builds on it", score=0.91, name="child", refs=[bad.key])
    done, again = calls(build_server(me), ("invalidate", {"result": "leaky_agent-01", "reason": "saw the test set"}),
                        ("invalidate", {"result": "leaky_agent-01", "reason": "twice"}))
    assert text(done).startswith(f"{bad.key} is invalid") and "1 result(s)/message(s) building on it flagged" in text(done)
    assert again.is_error and text(again).startswith(f"error: {bad.key} was already invalidated by agent-01")
    rows = {r.file: r for r in me.leaderboard().rows}
    assert rows[bad.key].status == "invalid" and rows["artifacts/results/child_agent-01.json"].flag


def test_submit_carries_track_and_fields_and_refuses_a_missing_limited_field(memory_url, tmp_path):
    spec = preset_spec("parameter-golf")
    spec = spec.model_copy(update={"tracks": [Track(id="10min"), Track(id="unlimited")]})
    Space.init(memory_url, spec)
    me = Space.open(memory_url, agent="agent-01")
    ok, over, missing, track = calls(
        build_server(me),
        ("submit", {"experiment": "int6 quant", "score": 1.15, "track": "10min", "fields": PG_FIELDS}),
        ("submit", {"experiment": "too big", "score": 1.10, "track": "10min",
                    "fields": {**PG_FIELDS, "artifact_size_bytes": 17_000_000}}),
        ("submit", {"experiment": "no size given", "score": 1.05, "track": "10min",
                    "fields": {"train_time_seconds": 590}}),
        ("submit", {"experiment": "no track", "score": 1.2, "fields": PG_FIELDS}),
    )
    assert text(ok) == "stored artifacts/results/int6-quant_agent-01.json: self-reported, score 1.15"
    doc = json.loads(me.cat("artifacts/results/int6-quant_agent-01.json"))
    assert (doc["track"], doc["artifact_size_bytes"], doc["train_time_seconds"]) == ("10min", 15_000_000, 590)
    assert "invalid: artifact_size_bytes = 17,000,000 exceeds the limit of 16,000,000" in text(over)
    assert missing.is_error
    assert text(missing).splitlines() == [
        "error: this space limits artifact_size_bytes ([[constraints.limits]] in collab.toml), and the result does "
        "not give it; nothing was stored",
        'hint: give it: fields={"artifact_size_bytes": N}']
    assert track.is_error and 'track="10min"' in text(track)
    keys = {r.file for r in me.leaderboard().rows if r.file}
    assert keys == {"artifacts/results/int6-quant_agent-01.json", "artifacts/results/too-big_agent-01.json"}


def test_the_cli_refuses_a_missing_limited_field_too(memory_url, run_cli):
    """The refusal lives in the domain (results.submit), so every surface has it."""
    Space.init(memory_url, preset_spec("parameter-golf"))
    r = run_cli("submit", "--space", memory_url, "--agent", "agent-01", "--experiment", "x", "--score", "1.1",
                "--field", "artifact_size_bytes=100")
    assert r.code == 1 and r.err.splitlines() == [
        "error: this space limits train_time_seconds ([[constraints.limits]] in collab.toml), and the result does not "
        "give it; nothing was stored", "hint: give it: --field train_time_seconds=N"]
    assert not list(Space.open(memory_url).store.list("artifacts/results/"))


def test_compare_tool(gsm8k, tmp_path):
    me = Space.open(gsm8k, agent="agent-01")
    me.submit("first 100", predictions=gold_predictions(100), name="a")
    me.submit("first 300", predictions=gold_predictions(300), name="b")
    me.submit("self-reported", score=0.5, name="c")
    shown, refused = calls(build_server(me), ("compare", {"results": ["a_agent-01", "b_agent-01.json"]}),
                           ("compare", {"results": ["a_agent-01", "c_agent-01"]}))
    out = text(shown)
    assert "artifacts/results/b_agent-01.json right, artifacts/results/a_agent-01.json wrong: 200 items (100, 101," in out
    assert "artifacts/results/a_agent-01.json right, artifacts/results/b_agent-01.json wrong: 0 items (none)" in out
    assert "oracle (at least one right): 300/1319" in out and "majority vote, scored by gsm8k: 300/1319" in out
    assert refused.is_error and "c_agent-01.json is not verified" in text(refused)


def test_annotations_say_what_each_tool_does(gsm8k):
    async def main():
        async with Client(build_server(Space.open(gsm8k, agent="agent-01"))) as client:
            return {t.name: t.annotations for t in (await client.list_tools()).tools}

    notes = asyncio.run(main())
    assert all(a is not None for a in notes.values())
    read_only = {n for n, a in notes.items() if a.read_only_hint}
    assert read_only == {"digest", "read", "search", "inbox", "claims", "score", "leaderboard", "compare", "artifacts"}
    for name in ("post", "claim", "release", "submit", "join"):
        assert notes[name].destructive_hint is False, name
    assert notes["join"].idempotent_hint and notes["push"].idempotent_hint and notes["pull"].idempotent_hint
    assert notes["invalidate"].destructive_hint is True and notes["invalidate"].idempotent_hint is False


def test_a_real_prompt_and_resource_are_advertised(gsm8k):
    me = Space.open(gsm8k, agent="agent-01")
    me.claim("cot prompting", duration="2h")

    async def main():
        async with Client(build_server(me)) as client:
            prompts = (await client.list_prompts()).prompts
            resources = (await client.list_resources()).resources
            digest = await client.read_resource("collab://digest")
            start = await client.get_prompt("start", {})
            return prompts, resources, digest, start

    prompts, resources, digest, start = asyncio.run(main())
    assert [p.name for p in prompts] == ["start"] and prompts[0].description
    assert [(str(r.uri), r.mime_type) for r in resources] == [("collab://digest", "text/markdown")]
    body = digest.contents[0].text
    assert body.startswith("# State of play: GSM8K") and "cot prompting" in body
    assert "collab post --type" not in body and 'post(type="status-update", topic="plan")' in body
    said = start.messages[0].content.text
    assert "You are agent-01" in said and "# State of play: GSM8K" in said and "`claim`" in said


def test_the_space_can_be_obtained_per_call(gsm8k):
    """The gateway's seam: a function gives each call its caller's Space (here: whoever `who` names)."""
    spaces = {a: Space.open(gsm8k, agent=a) for a in ("agent-01", "agent-02")}
    who = ["agent-01"]
    asked: list[str] = []

    def current() -> Space:
        asked.append(who[0])
        return spaces[who[0]]

    server = build_server(current)

    async def main():
        async with Client(server) as client:
            first = await client.call_tool("post", {"type": "status-update", "body": "one", "topic": "a"})
            who[0] = "agent-02"
            second = await client.call_tool("post", {"type": "status-update", "body": "two", "topic": "b"})
            digest = await client.read_resource("collab://digest")
            return text(first), text(second), digest.contents[0].text

    first, second, digest = asyncio.run(main())
    assert "_agent-01_a.md" in first and "_agent-02_b.md" in second
    assert "for agent-02" in digest
    assert asked == ["agent-01", "agent-02", "agent-02"]
    authors = sorted(m.agent for m in Space.open(gsm8k, agent="agent-03").board.read())  # a reader with a token
    assert authors == ["agent-01", "agent-02"]


def test_the_stdio_server_still_takes_a_plain_space(gsm8k, tmp_path):
    """``collab mcp`` (stdio) and ``serve_http`` pass a Space, not a function: both kinds work."""
    server = build_server(Space.open(gsm8k, agent="agent-01"), root=Path(tmp_path))
    (result,) = calls(server, ("claims", {}))
    assert text(result) == "no active claims"


def test_prompt_and_resource_errors_are_the_error_lines(memory_url):
    """No space at the address: the resource read fails with the error's two lines, the prompt says them."""
    async def main():
        async with Client(build_server(Space.open(memory_url, agent="agent-01"))) as client:
            prompt = await client.get_prompt("start", {})
            try:
                await client.read_resource("collab://digest")
            except Exception as exc:  # noqa: BLE001 -- the SDK raises the protocol error it received
                return prompt, str(exc)
            return prompt, None

    prompt, resource = asyncio.run(main())
    said = prompt.messages[0].content.text
    assert said.startswith(f"error: no collab space at {memory_url}") and "\nhint: " in said
    assert resource is not None and resource.startswith(f"error: no collab space at {memory_url}")
