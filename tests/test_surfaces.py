"""One space, every surface: the same rank, status, flag, score text and headline everywhere.

The space holds one result of each kind (verified, self-reported, out of a limit,
invalidated by its owner, flagged through a message, two tied scores submitted
seconds apart) and the spec's baseline. Each surface is read the way its users
read it: ``collab leaderboard`` (JSON and human), ``/api/leaderboard`` and
``/api/stats``, the MCP ``leaderboard`` tool, ``LEADERBOARD.md``, its twin
``leaderboard.json``, the digest, and in Chromium the exported Space page and
the dashboard.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from browser_support import HubBucketServer, StaticServer, browser  # noqa: F401  -- browser is a fixture
from collabspace.domain import paths
from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import Constraints, Limit
from collabspace.space import Space

TEST_SET = Path(__file__).resolve().parents[1] / "src/collabspace/scorers/data/gsm8k_test.jsonl"
T0 = datetime(2026, 4, 25, 14, 30, tzinfo=timezone.utc)
SPEC = preset_spec("gsm8k").model_copy(update={"constraints": Constraints(limits=[Limit(field="tokens", max=1000)])})
TOKENS = ["tokens=100"]  # a result must give every field a limit needs

# file name -> (rank, status, flagged, score text, verified); in table order
EXPECTED = {
    "selfrep_agent-02.json": (1, "self-reported", False, "0.848", False),
    "zzz-tie_agent-06.json": (2, "self-reported", False, "0.5", False),  # submitted 30 s before its twin
    "aaa-tie_agent-06.json": (3, "self-reported", False, "0.5", False),
    "builds-on_agent-05.json": (4, "verified", True, "0.37908", False),  # 500/1319, flagged: never a ✓
    "gold-400_agent-01.json": (5, "verified", False, "0.30326", True),  # 400/1319: the headline
    "baseline": (None, "baseline", False, "0.0227", False),
    "too-big_agent-03.json": (None, "invalid", False, "0.9", False),  # tokens over the limit
    "leaky_agent-04.json": (None, "invalid", False, "0.7", False),  # invalidated by its owner
}
HEADLINE = ("gold-400_agent-01.json", "0.30326", "verified")


def gold(n: int) -> bytes:
    answers = [json.loads(line)["answer"] for line in TEST_SET.read_text().splitlines()]
    return "\n".join(json.dumps({"index": i, "prediction": a}) for i, a in enumerate(answers[:n])).encode()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: int, seconds: int = 0) -> Clock:
        self.now = T0 + timedelta(minutes=minutes, seconds=seconds)
        return self


def build(root: Path) -> None:
    clock = Clock()
    Space.init(str(root), SPEC, clock=clock)
    agent = {f"agent-0{i}": Space.open(str(root), agent=f"agent-0{i}", clock=clock) for i in range(1, 7)}
    agent["agent-01"].submit("Gold answers for 400 items", predictions=gold(400), name="gold-400", fields=TOKENS)
    clock.at(1)
    agent["agent-02"].submit("Qwen2.5-Math-1.5B, 0-shot CoT", score=0.848, name="selfrep", fields=TOKENS)
    clock.at(2)
    agent["agent-03"].submit("A model too big for the limit", score=0.9, name="too-big", fields=["tokens=5000"])
    clock.at(3)
    leaky = agent["agent-04"].submit("Trained on the test split", score=0.7, name="leaky", fields=TOKENS)
    clock.at(4)
    agent["agent-04"].invalidate(leaky.key, "trained on the test split")
    clock.at(5)
    note = paths.message_key("20260425-143500", "agent-05", "idea")
    agent["agent-05"].store.put(note, (
        "---\nagent: agent-05\ntype: build-on\ntimestamp: 2026-04-25 14:35 UTC\n"
        f"refs: {leaky.key}\n---\n\nI start from the leaky run's prompts.\n").encode())
    clock.at(6)
    agent["agent-05"].submit("Prompts from the leaky run", predictions=gold(500), name="builds-on",
                             refs=[note.rsplit("/", 1)[-1]], fields=TOKENS)
    clock.at(8, 10)
    agent["agent-06"].submit("Tie, submitted first", score=0.5, name="zzz-tie", fields=TOKENS)
    clock.at(8, 40)
    agent["agent-06"].submit("Tie, submitted 30 s later", score=0.5, name="aaa-tie", fields=TOKENS)


@pytest.fixture(scope="module")
def space_dir(tmp_path_factory) -> Path:
    mp = pytest.MonkeyPatch()
    mp.setenv("COLLAB_CACHE_DIR", str(tmp_path_factory.mktemp("surfaces-cache")))
    root = tmp_path_factory.mktemp("surfaces") / "space"
    build(root)
    yield root
    mp.undo()


def name(file: str) -> str:
    return file.rsplit("/", 1)[-1] if file else "baseline"


def from_rows(rows: list[dict]) -> dict[str, tuple]:
    """What a JSON surface says about each row, in its order."""
    return {name(r["file"]): (r["rank"], r["status"], bool(r["flag"]), r["score_text"], r["verified"]) for r in rows}


def assert_same(got: dict[str, tuple], surface: str) -> None:
    assert list(got.items()) == list(EXPECTED.items()), surface


def markdown_rows(md: str) -> dict[str, tuple]:
    section = md.split("## All results\n", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in [line for line in section.splitlines() if line.startswith("|")][2:]:
        rank, _agent, score, _exp, _model, status, _date, link = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        file = re.search(r"\[([^\]]+)\]", link)
        word = status.split(":")[0].split(" ")[0]
        out[file.group(1) if file else "baseline"] = (
            None if rank == "-" else int(rank), word, "⚠" in status, score.strip("~"),
            word == "verified" and "⚠" not in status)
    return out


def dashboard_client(url: str):
    from starlette.testclient import TestClient

    from collabspace.web.app import create_app
    from collabspace.web.live import LiveSpace

    space = Space.open(url)
    return TestClient(create_app(space, live=LiveSpace(space, interval=0)))


def test_the_dashboards_best_is_the_best_verified_result(space_dir):
    """The BEST card used to show the self-reported 0.848, ranked first, while the best verified is 0.30326."""
    best = dashboard_client(str(space_dir)).get("/api/stats").json()["best"]
    assert (name(best["file"]), best["status"], best["score"]) == ("gold-400_agent-01.json", "verified", 400 / 1319)


def test_every_surface_shows_the_same_leaderboard(space_dir, run_cli, monkeypatch):
    monkeypatch.setenv("COLLAB_CACHE_DIR", str(space_dir.parent / "reader-cache"))
    url = str(space_dir)

    # the CLI, as JSON: the reference every other surface is compared with
    res = run_cli("leaderboard", "--space", url, "--format", "json")
    assert res.code == 0, res
    cli = json.loads(res.out)
    assert_same(from_rows(cli["rows"]), "collab leaderboard --format json")
    assert (name(cli["headline"]["file"]), cli["headline"]["score_text"], cli["headline"]["status"]) == HEADLINE

    # the CLI for people: the same texts, the headline first
    human = run_cli("leaderboard", "--space", url).out.splitlines()
    assert human[0] == "best accuracy: 0.30326 by agent-01, verified (Gold answers for 400 items)"
    shown = [line.split()[:4] for line in human[2:]]
    assert [(s[0], s[2]) for s in shown] == [("-" if e[0] is None else str(e[0]), e[3]) for e in EXPECTED.values()]

    # LEADERBOARD.md and its twin, as regenerated by the last submit
    md = (space_dir / paths.LEADERBOARD).read_text()
    assert_same(markdown_rows(md), "LEADERBOARD.md")
    assert "Best: **0.30326** by agent-01, verified (Gold answers for 400 items)." in md
    twin = json.loads((space_dir / paths.LEADERBOARD_JSON).read_text())
    assert twin["rows"] == cli["rows"] and twin["headline"] == cli["headline"] and twin["tracks"] == cli["tracks"]

    # the dashboard's JSON
    client = dashboard_client(url)
    api = client.get("/api/leaderboard").json()
    assert_same(from_rows(api["rows"]), "/api/leaderboard")
    assert api["headline"] == cli["headline"] and api["tracks"] == cli["tracks"]
    best = client.get("/api/stats").json()["best"]
    assert (name(best["file"]), best["score_text"], best["status"]) == HEADLINE  # not the self-reported 0.848
    line = api["tracks"][0]["best_line"]  # in submission order: 0.30326, then 0.848; nothing after it is better
    assert [(name(p["file"]), p["score_text"]) for p in line] == [("gold-400_agent-01.json", "0.30326"),
                                                                   ("selfrep_agent-02.json", "0.848")]

    # MCP, in process
    from mcp import Client

    from collabspace.mcp.server import build_server

    async def tool(**args):
        async with Client(build_server(Space.open(url, agent="agent-01"))) as mcp:
            result = await mcp.call_tool("leaderboard", args)
            return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")

    as_json = json.loads(asyncio.run(tool(limit=0, format="json")))
    assert_same(from_rows(as_json["rows"]), "MCP leaderboard (json)")
    assert as_json["headline"] == cli["headline"]
    table = asyncio.run(tool(limit=0))
    assert table.startswith("best: 0.30326 by agent-01, verified")
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in table.splitlines() if line.startswith("| ")][1:]
    assert [(c[0], c[2], c[3].split(":")[0].split(" ")[0], "⚠" in c[3]) for c in cells] == [
        ("-" if e[0] is None else str(e[0]), e[3], e[1], e[2]) for e in EXPECTED.values()]

    # the digest: the same ranks and texts, the flag named
    top = Space.open(url, agent="agent-01").digest().markdown.split("## Best results\n", 1)[1].split("\n\n")[0]
    assert top.splitlines() == [
        "**Best verified**: 0.30326 agent-01: Gold answers for 400 items (self-reported results rank above it)",
        "1. 0.848 agent-02: Qwen2.5-Math-1.5B, 0-shot CoT (self-reported)",
        "2. 0.5 agent-06: Tie, submitted first (self-reported)",
        "3. 0.5 agent-06: Tie, submitted 30 s later (self-reported)",
        "4. 0.37908 agent-05: Prompts from the leaky run (verified; ⚠ builds on invalid leaky_agent-04.json "
        "(via 20260425-143500_agent-05_idea.md))",
        "5. 0.30326 agent-01: Gold answers for 400 items (verified)",
    ]


def page_rows(page) -> dict[str, tuple]:
    """The exported page's table as a visitor sees it."""
    rows = page.eval_on_selector_all("#rows tr", """rows => rows.map(r => ({
        rank: r.querySelector('td.rank').innerText.trim(), score: r.querySelector('td.score').innerText.trim(),
        mark: r.querySelector('td.status-cell .mark').innerText.trim(),
        word: r.querySelector('td.status-cell .word').innerText.trim(),
        file: (r.querySelector('td.exp a.text') || {}).title || ''}))""")
    return {name(r["file"]): (int(r["rank"]) if r["rank"].isdigit() else None, r["word"].split(",")[0], r["mark"] == "⚠",
                              r["score"], r["mark"] == "✓") for r in rows}


@pytest.mark.slow
def test_the_exported_page_and_the_dashboard_show_it_too(space_dir, browser, tmp_path):
    from collabspace.web.app import BackgroundServer
    from collabspace.web.export import export_space_files

    hub = HubBucketServer(space_dir, "ns/surfaces")
    site = tmp_path / "site"
    for file, data in export_space_files(SPEC, hub.bucket_url).items():
        (site / file).parent.mkdir(parents=True, exist_ok=True)
        (site / file).write_bytes(data)
    static = StaticServer(site)
    dashboard = BackgroundServer(Space.open(str(space_dir))).start()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(static.origin + "/")
        page.wait_for_function("window.__collab && window.__collab.refreshes >= 1", timeout=15000)
        state = page.evaluate("window.__collab")
        assert state["mode"] == "live" and not errors, (state.get("error"), errors)
        assert_same(page_rows(page), "the exported page")
        assert [(name(r["file"]), r["rank"], r["status"], bool(r["flag"]), r["score_text"], r["verified"])
                for r in state["rows"]] == [(k, *v) for k, v in EXPECTED.items()]
        assert page.locator("#stat-best").inner_text() == "0.30326"
        assert page.locator("#stat-best-note").inner_text() == "agent-01 · verified"
        assert [b["score"] for b in state["best"]] == [400 / 1319, 0.848]
        # no result file was read one by one: the page draws leaderboard.json
        assert not [r for r in hub.requests if "/resolve/artifacts/" in r]

        page.goto(dashboard.url + "/")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_function("document.getElementById('stat-best').textContent !== '–'")
        assert page.locator("#stat-best").inner_text() == "0.30326"
        assert page.locator("#stat-best-note").inner_text() == "agent-01 · verified"
        side = page.eval_on_selector_all("#side-top li", "items => items.map(li => [li.querySelector('.score').innerText,"
                                                         " li.querySelector('strong').innerText, !!li.querySelector('.tick')])")
        ranked = [(v[3], k.split("_")[1].removesuffix(".json"), v[4]) for k, v in EXPECTED.items() if v[0]]
        assert [tuple(s) for s in side] == ranked  # ✓ on the verified result only, not on the flagged one
        page.goto(dashboard.url + "/leaderboard?show=invalid")  # every row, as on the other surfaces
        page.wait_for_selector("body[data-ready='1'] #lb-body tr")
        scores = page.eval_on_selector_all("#lb-body tr td.score", "tds => tds.map(td => td.innerText.trim())")
        assert scores == [v[3] for v in EXPECTED.values()]
        assert not errors, errors
    finally:
        context.close()
        dashboard.stop()
        static.close()
        hub.close()
