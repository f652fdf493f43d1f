"""The dashboard's JSON API (``collab serve``), in-process through Starlette's TestClient."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space
from collabspace.web.app import create_app
from collabspace.web.live import LiveSpace
from collabspace.web.render import render_body
from dashboard_support import XSS_BODY, Clock, gold_predictions, gsm8k_collab

#: Parameter Golf refuses a result that does not give its limited fields.
PG_FIELDS = ["artifact_size_bytes=15000000", "train_time_seconds=500"]


@pytest.fixture
def collab(memory_url):
    clock = Clock()
    names = gsm8k_collab(memory_url, clock)
    space = Space.open(memory_url, clock=clock)
    live = LiveSpace(space, interval=0)  # look at the store on every request
    return TestClient(create_app(space, live=live)), Space.open(memory_url, agent="agent-04", clock=clock), names


def test_every_page_has_a_json_twin(collab):
    client, _, names = collab
    for page, api in [("/", "/api/board"), ("/leaderboard", "/api/leaderboard"), ("/claims", "/api/claims"),
                      ("/agents", "/api/agents"), (f"/thread/{names['plan']}", f"/api/thread/{names['plan']}"),
                      ("/search?q=sandbox", "/api/search?q=sandbox")]:
        html = client.get(page)
        assert html.status_code == 200 and "dashboard.js" in html.text
        assert "script-src 'self'" in html.headers["content-security-policy"]
        data = client.get(api)
        assert data.status_code == 200 and data.headers["content-type"] == "application/json", api
    stats = client.get("/api/stats").json()
    assert {k: stats[k] for k in ("agents", "registered", "messages", "threads", "results", "claims")} == {
        "agents": 4, "registered": 4, "messages": 11, "threads": 2, "results": 5, "claims": 1}
    # the headline is the best verified result; the self-reported 0.4125 ranks first but is not it
    assert stats["best"]["status"] == "verified" and stats["best"]["score_text"] == "0.022745"
    assert client.get("/api/leaderboard").json()["rows"][0]["score"] == 0.4125


def test_board_messages(collab):
    client, _, names = collab
    board = client.get("/api/board").json()
    msgs = {m["file"]: m for m in board["messages"]}
    assert list(msgs) == sorted(msgs) and len(msgs) == 11 and board["older"] == 0
    q = msgs[names["question"]]
    assert q["type"] == "question" and q["mentions"] == ["agent-02"]
    assert q["ref_items"] == [{"file": names["proposal"], "key": "message_board/" + names["proposal"],
                               "agent": "agent-02", "type": "experiment-proposal",
                               "excerpt": "Few-shot chain of thought", "missing": False}]
    assert '<a href="/?agent=agent-02" class="mention"' in q["html"]
    assert msgs[names["proposal"]]["replies"] == 2
    # collapsed to the heading and the first paragraph, not just the heading
    proposal = msgs[names["proposal"]]
    assert "Proposal: 8-shot" in proposal["summary_html"] and "max 512" not in proposal["summary_html"]
    assert "max 512" in proposal["html"]
    assert msgs[names["plan"]]["summary_html"] is None  # short: shown whole
    # filters
    by = client.get("/api/board?agent=agent-02").json()["messages"]
    assert {m["agent"] for m in by} == {"agent-02"} and len(by) == 4
    kinds = client.get("/api/board?type=results-report").json()["messages"]
    assert {m["type"] for m in kinds} == {"results-report"} and len(kinds) == 3


def test_board_pages_back(collab):
    client, _, _ = collab
    page = client.get("/api/board?limit=4").json()
    assert len(page["messages"]) == 4 and page["older"] == 7
    older = client.get(f"/api/board?limit=4&before={page['messages'][0]['file']}").json()
    assert older["messages"][-1]["file"] < page["messages"][0]["file"] and older["older"] == 3
    assert client.get("/api/board?limit=0").json()["kind"] == "InvalidInput"
    assert client.get("/api/board?limit=x").status_code == 400


def test_thread_and_search(collab):
    client, _, names = collab
    thread = client.get(f"/api/thread/{names['proposal']}").json()["messages"]
    assert [(m["file"], m["depth"]) for m in thread][:3] == [(names["proposal"], 0), (names["question"], 1),
                                                             (names["answer"], 2)]
    found = client.get("/api/search?q=sandbox answer").json()["messages"]
    assert len(found) == 1 and found[0]["agent"] == "agent-03"


def test_errors_are_json(collab):
    client, _, _ = collab
    for url, status, kind in [("/api/thread/20260425-090000_agent-09_nope.md", 404, "NotFound"),
                              ("/api/thread/not-a-message", 400, "MessageFormatError"),
                              ("/api/search?q=", 400, "InvalidInput"),
                              ("/api/nothing", 404, "NotFound")]:
        r = client.get(url)
        assert r.status_code == status, url
        body = r.json()
        assert set(body) == {"error", "hint", "kind"} and body["kind"] == kind and body["hint"], url


def test_leaderboard(collab):
    client, _, names = collab
    lb = client.get("/api/leaderboard").json()
    assert lb["metric"] == "accuracy" and lb["direction"] == "higher" and lb["results"] == 5
    rows = {r["file"]: r for r in lb["rows"] if r["file"]}
    assert all(r["time"] for r in rows.values())  # every result has its time, for the chart
    assert rows[names["pot"]]["status"] == "invalid" and "answer key" in rows[names["pot"]]["reason"]
    assert rows[names["last_number"]]["status"] == "verified"
    assert rows["artifacts/results/pot-tool_agent-04.json"]["flag"].startswith("builds on invalid")
    assert [r["status"] for r in lb["rows"] if r["status"] == "baseline"] == ["baseline"]
    line = lb["tracks"][0]["best_line"]
    assert [p["score"] for p in line] == [pytest.approx(0.0227, abs=1e-4), 0.312, 0.401, 0.4125]
    assert lb["leader"]["score"] == 0.4125


def test_best_line_follows_a_lower_metric(memory_url):
    clock = Clock()
    Space.init(memory_url, preset_spec("parameter-golf"), clock=clock.at(0))
    for i, score in enumerate([1.21, 1.25, 1.18, 1.30, 1.11]):
        Space.open(memory_url, agent="agent-01", clock=clock.at(10 * i + 5)).submit(f"run {i}", score=score, name=f"r{i}",
                                                                                     fields=PG_FIELDS)
    client = TestClient(create_app(Space.open(memory_url, clock=clock)))
    lb = client.get("/api/leaderboard").json()
    assert lb["direction"] == "lower"
    assert [p["score"] for p in lb["tracks"][0]["best_line"]] == [1.21, 1.18, 1.11]
    assert client.get("/api/stats").json()["best"]["score"] == 1.11


def test_claims_and_agents(collab):
    client, _, _ = collab
    claims = client.get("/api/claims").json()
    assert [(c["scope"], c["status"], c["expires_in"]) for c in claims["claims"]] == [
        ("program of thought", "active", "4h45m")]
    assert [c["status"] for c in claims["ended"]] == ["expired", "expired"]
    agents = {a["agent"]: a for a in client.get("/api/agents").json()["agents"]}
    assert agents["agent-01"]["model"] == "claude-opus-4" and agents["agent-01"]["harness"] == "claude-code"
    assert agents["agent-01"]["last_seen"] == "2026-04-25T11:30:00+00:00" and agents["agent-01"]["messages"] == 4
    assert agents["agent-04"]["last_seen"] is None and agents["agent-04"]["best"] == 0.401


def test_new_posts_and_results_change_the_versions(collab):
    client, agent, _ = collab
    first = client.get("/api/stats")
    etag = first.headers["etag"]
    assert client.get("/api/stats", headers={"If-None-Match": etag}).status_code == 304
    agent.post("status-update", "a new post", topic="new")
    second = client.get("/api/stats", headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.json()["messages"] == 12
    assert second.json()["version"]["board"] != first.json()["version"]["board"]
    assert client.get("/api/board").json()["messages"][-1]["body"] == "a new post"
    agent.submit("Better tool use", score=0.5, name="tools")
    third = client.get("/api/stats").json()
    assert third["version"]["results"] != first.json()["version"]["results"]
    assert third["best"]["file"] == first.json()["best"]["file"]  # a self-reported score is never the headline
    agent.submit("Gold on 200", predictions=gold_predictions(200), name="gold200")
    assert client.get("/api/stats").json()["best"]["score"] == 200 / 1319


def test_a_post_by_another_process_sharing_the_index_is_seen(collab):
    """A post written by another process on this machine lands in the shared index, not via the server's sync."""
    client, _, _ = collab
    app_space = client.app.state.space
    before = client.get("/api/stats").json()["messages"]
    other = Space.open(app_space.url, agent="agent-03", clock=app_space.clock)
    other.board.index  # noqa: B018 -- the same index file as the server's
    other.post("question", "posted elsewhere", topic="elsewhere")
    assert client.get("/api/stats").json()["messages"] == before + 1


def test_xss_is_rendered_as_text(collab):
    client, agent, _ = collab
    posted = agent.post("question", XSS_BODY, topic="xss")
    msg = next(m for m in client.get("/api/board").json()["messages"] if m["file"] == posted.file)
    html = msg["html"]
    assert "<script" not in html and "<img" not in html and "<div" not in html and "<a href=\"#\"" not in html
    assert "onerror=" not in html.replace("onerror=&quot;", "") or "&lt;img" in html
    assert "&lt;script&gt;" in html and "javascript:" not in html.split("[click me]")[0]
    assert 'href="javascript:' not in html


@pytest.mark.parametrize(("body", "forbidden"), [
    ("[x](javascript:alert(1))", 'href="javascript'),
    ("[x](JAVASCRIPT:alert(1))", 'href="JAVASCRIPT'),
    ("[x](vbscript:msgbox(1))", 'href="vbscript'),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", 'href="data:'),
    ("<iframe src=https://evil.example></iframe>", "<iframe"),
    ("![x](https://tracker.example/p.png)", "<img"),
    ('<svg onload="alert(1)">', "<svg"),
    ("[x](https://ok.example \"t\" onmouseover=alert(1))", "<a"),
])
def test_unsafe_markdown(body, forbidden):
    out = render_body(body).html
    assert forbidden not in out, out
    assert not re.search(r"<[a-z][^>]*\son[a-z]+=", out), out


def test_links_open_safely_and_collapse_keeps_headings():
    out = render_body("[site](https://example.com) and @agent-01").html
    assert 'rel="noopener noreferrer nofollow"' in out and 'target="_blank"' in out
    assert 'class="mention"' in out
    long = "## Heading\n\n" + "first paragraph " * 30 + "\n\n" + "second " * 30
    r = render_body(long)
    assert r.summary is not None and "<h2>Heading</h2>" in r.summary and "first paragraph" in r.summary
    assert "second" not in r.summary


def test_serve_command_needs_a_space(run_cli, monkeypatch):
    monkeypatch.delenv("COLLAB_SPACE", raising=False)
    r = run_cli("serve")
    assert r.code == 1 and "error: no space given" in r.err and "hint:" in r.err
    r = run_cli("serve", "memory://nothing-here")
    assert r.code == 1 and "no collab space" in r.err


def test_serve_command_serves(tmp_path, monkeypatch):
    """The real command in a subprocess, on a free port: the page and the API answer."""
    import json
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    Space.init(str(tmp_path / "sp"), preset_spec("gsm8k"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "collabspace", "serve", str(tmp_path / "sp"), "--port", str(port)],
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=2) as resp:
                    stats = json.loads(resp.read())
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() is not None else "timeout"
                time.sleep(0.1)
        assert stats["title"] == "GSM8K" and stats["messages"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert f"http://127.0.0.1:{port}/" in proc.stderr.read()


# -- issue 13 items 14 and 15: result pages, comparisons, the verified-only line ----------------------------------
def test_result_and_compare_api(collab):
    client, agent, names = collab
    agent.submit("300 gold answers", predictions=gold_predictions(300), name="g300")
    for page in ("/result/last-number_agent-01.json", "/compare?r=a&r=b"):
        assert client.get(page).status_code == 200
    one = client.get("/api/result/last-number_agent-01.json").json()
    assert [r["file"] for r in one["results"]] == [names["last_number"]]
    assert one["results"][0]["status"] == "verified" and one["results"][0]["correct"] == 30
    assert len(one["items"]) == 1319 and sum(i["correct"][0] for i in one["items"]) == 30
    assert one["pairs"] == [] and one["oracle"] is None and one["metric"] == "accuracy"
    both = client.get("/api/compare?r=last-number_agent-01.json&r=g300_agent-04").json()
    assert both["oracle"]["correct"] == len({i["index"] for i in both["items"] if any(i["correct"])})
    assert both["pairs"][0]["b_not_a_count"] + both["pairs"][0]["both"] == 300
    # a row is the leaderboard's own, rank and all
    ranks = {r["file"]: r["rank"] for r in client.get("/api/leaderboard").json()["rows"]}
    assert [r["rank"] for r in both["results"]] == [ranks[names["last_number"]], ranks["artifacts/results/g300_agent-04.json"]]


def test_result_and_compare_api_errors(collab):
    client, _, names = collab
    for url, status, kind in [("/api/result/fewshot-cot_agent-02.json", 400, "InvalidInput"),  # self-reported
                              ("/api/result/nothing_agent-09.json", 404, "NotFound"),
                              ("/api/compare", 400, "InvalidInput"),
                              ("/api/compare?r=last-number_agent-01&r=last-number_agent-01.json", 400, "InvalidInput")]:
        r = client.get(url)
        assert r.status_code == status and r.json()["kind"] == kind and r.json()["hint"], (url, r.json())


def test_verified_best_line_comes_from_the_leaderboard(collab):
    client, agent, _ = collab
    agent.submit("300 gold answers", predictions=gold_predictions(300), name="g300")
    track = client.get("/api/leaderboard").json()["tracks"][0]
    assert [p["score"] for p in track["verified_line"]] == [pytest.approx(30 / 1319), pytest.approx(300 / 1319)]
    assert [p["score"] for p in track["best_line"]][-1] == 0.4125  # self-reported results are on the other line
