"""`collab serve` in real headless Chromium: a real uvicorn server on 127.0.0.1 in a thread.

One browser for the module; the GSM8K space is built once (through the Space API,
on a local folder) and served by one server. Screenshots go to
``test-output/dashboard/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from browser_support import browser  # noqa: F401  -- the fixture
from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space
from collabspace.web.app import BackgroundServer
from dashboard_support import XSS_BODY, Clock, gold_predictions, gsm8k_collab

pytestmark = pytest.mark.slow  # real browsers or real processes: CI runs them, the quick lane skips them

OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "dashboard"
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("dash-cache")


@pytest.fixture(autouse=True)
def _shared_cache(cache_dir, monkeypatch):
    """One index cache for the module's server and the CLI posting to it (as on one machine)."""
    monkeypatch.setenv("COLLAB_CACHE_DIR", str(cache_dir))


@pytest.fixture(scope="module")
def collab(tmp_path_factory, cache_dir):
    """(server, space folder, notable names) for the GSM8K collaboration."""
    mp = pytest.MonkeyPatch()
    mp.setenv("COLLAB_CACHE_DIR", str(cache_dir))
    root = tmp_path_factory.mktemp("dash") / "gsm8k"
    clock = Clock()
    names = gsm8k_collab(str(root), clock)
    server = BackgroundServer(Space.open(str(root), clock=clock)).start()
    yield server, root, names
    server.stop()
    mp.undo()


def open_page(browser, url: str, viewport=LAPTOP):
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: errors.append(f"off-server request {r.url}")
            if not r.url.startswith(url.split("/", 3)[0] + "//" + url.split("/", 3)[2]) else None)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=10_000)
    return page, errors, dialogs


def shot(page, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / name), full_page=False)


def test_board_loads_as_a_chat(browser, collab):
    server, _, names = collab
    page, errors, _ = open_page(browser, server.url + "/")
    items = page.locator("#messages li.msg")
    assert items.count() == 11
    files = items.evaluate_all("els => els.map(e => e.dataset.file)")
    assert files == sorted(files)  # newest at the bottom
    box = page.locator("#chat-box")
    assert box.evaluate("b => b.scrollHeight - b.scrollTop - b.clientHeight") < 5  # scrolled to the newest
    shot(page, "board-laptop.png")
    # type badges, the quoted reply with a link to the thread, mentions from @ and from refs
    question = page.locator(f"[id='m-{names['question']}']")
    assert question.locator(".badge.type").inner_text() == "question"
    quote = question.locator("a.quote")
    assert "@agent-02" in quote.inner_text() and quote.get_attribute("href") == f"/thread/{names['proposal']}"
    assert question.locator(".md a.mention").inner_text() == "@agent-02"
    assert "@agent-02" in question.locator(".foot").inner_text()
    # the long proposal is collapsed to its first paragraph (heading kept), and expands
    proposal = page.locator(f"[id='m-{names['proposal']}']")
    assert "Proposal: 8-shot" in proposal.locator(".md").inner_text()
    assert "max 512 new tokens" not in proposal.locator(".md").inner_text()
    proposal.locator("button.more").click()
    assert "max 512 new tokens" in proposal.locator(".md").inner_text()
    proposal.locator("button.more").click()
    # stats and the sidebar
    assert page.locator("#stat-messages").inner_text() == "11"
    assert page.locator("#stat-agents").inner_text() == "4"
    assert page.locator("#stat-threads").inner_text() == "2"  # plan <- reports; proposal <- question, answer, report
    assert page.locator("#stat-best").inner_text() == "0.022745"  # the best verified result
    assert "program of thought" in page.locator("#side-claims").inner_text()
    # filter by agent, then a thread, then search
    page.select_option("#f-agent", "agent-02")
    page.wait_for_function("() => document.querySelectorAll('#messages li.msg').length === 4")
    assert set(page.locator("#messages .meta .who").all_inner_texts()) == {"agent-02"}
    assert "agent=agent-02" in page.url
    page.goto(server.url + f"/thread/{names['proposal']}")
    page.wait_for_selector("body[data-ready='1'] #messages li.msg.focus")
    assert page.locator("#messages li.msg").count() == 4  # proposal, question, answer, CoT report
    shot(page, "thread-laptop.png")
    page.goto(server.url + "/search?q=sandbox")
    page.wait_for_selector("#messages li.msg")
    assert page.locator("#messages li.msg").count() == 1
    assert errors == []
    page.close()


def test_board_on_a_phone(browser, collab):
    server, _, _ = collab
    page, errors, _ = open_page(browser, server.url + "/", PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "board-phone.png")
    page.goto(server.url + "/leaderboard")
    page.wait_for_selector("body[data-ready='1'] #lb-body tr")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "leaderboard-phone.png")
    assert errors == []
    page.close()


def _chart(page) -> dict:
    return page.evaluate("""() => {
        const c = Chart.getChart(document.getElementById('chart'));
        const sets = c.data.datasets;
        return {
            results: sets.filter(d => d.kind === 'results').reduce((n, d) => n + d.data.length, 0),
            best: (sets.find(d => d.kind === 'best') || {data: []}).data.map(p => p.y),
            baselines: sets.filter(d => d.kind === 'baseline').map(d => d.data[0].y),
        };
    }""")


def test_leaderboard_chart_and_table(browser, collab):
    server, _, _ = collab
    page, errors, _ = open_page(browser, server.url + "/leaderboard?show=invalid")
    chart = _chart(page)
    assert chart["results"] == 5  # one point per result, the invalid one included
    assert chart["best"] == sorted(chart["best"]) and chart["best"][-1] == 0.4125  # higher is better
    assert len(chart["baselines"]) == 1
    rows = page.locator("#lb-body tr")
    assert rows.count() == 6  # 5 results + the baseline
    invalid = page.locator("#lb-body tr.st-invalid")
    assert "sandbox could read the answer key" in invalid.inner_text()
    assert invalid.locator("td.score").evaluate("e => getComputedStyle(e).textDecorationLine") == "line-through"
    assert "builds on invalid" in page.locator("#lb-body tr.flagged").inner_text()
    assert page.locator("#lb-body tr.st-verified .badge").inner_text() == "verified"
    shot(page, "leaderboard-laptop.png")
    page.goto(server.url + "/claims")
    page.wait_for_selector("body[data-ready='1'] #claims-body tr")
    assert page.locator("#claims-body tr.st-active").count() == 1
    assert page.locator("#claims-body tr.st-expired").count() == 2
    assert page.locator("#claims-body tr.st-expired td").first.evaluate("e => getComputedStyle(e).color") == "rgb(152, 162, 179)"
    shot(page, "claims-laptop.png")
    page.goto(server.url + "/agents")
    page.wait_for_selector("body[data-ready='1'] .agents-grid .agent")
    assert page.locator(".agents-grid .agent").count() == 4
    assert "claude-opus-4" in page.locator(".agents-grid").inner_text()
    shot(page, "agents-laptop.png")
    assert errors == []
    page.close()


def test_lower_is_better_space(browser, tmp_path):
    root = tmp_path / "golf"
    clock = Clock()
    Space.init(str(root), preset_spec("parameter-golf"), clock=clock.at(0))
    for i, (agent, score) in enumerate([("agent-01", 1.21), ("agent-02", 1.25), ("agent-01", 1.18), ("agent-03", 1.19),
                                        ("agent-02", 1.11)]):
        Space.open(str(root), agent=agent, clock=clock.at(10 + 25 * i)).submit(
            f"run {i}", score=score, name=f"run-{i}", fields=["artifact_size_bytes=15000000", "train_time_seconds=500"])
    with BackgroundServer(Space.open(str(root), clock=clock)) as server:
        page, errors, _ = open_page(browser, server.url + "/leaderboard")
        chart = _chart(page)
        assert chart["results"] == 5
        assert chart["best"][:-1] == [1.21, 1.18, 1.11] and chart["best"][-1] == 1.11  # + the line's tail
        assert chart["baselines"] == [1.2244]
        assert page.locator("#lb-body tr").first.locator("td.score").inner_text() == "1.11"
        shot(page, "leaderboard-lower-laptop.png")
        assert errors == []
        page.close()


def test_new_post_and_result_appear_live(browser, collab, run_cli):
    server, root, _ = collab
    page, errors, _ = open_page(browser, server.url + "/")
    before = page.locator("#messages li.msg").count()
    started = time.monotonic()
    r = run_cli("post", "--type", "status-update", "--topic", "live", "--body", "Live from the CLI: **hello** board",
                env={"COLLAB_SPACE": str(root), "COLLAB_AGENT": "agent-02"})
    assert r.code == 0, r
    page.wait_for_selector("#messages li.msg:has-text('Live from the CLI')", timeout=5_000)
    assert time.monotonic() - started < 5
    assert page.locator("#messages li.msg").count() == before + 1
    last = page.locator("#messages li.msg").last
    assert "Live from the CLI" in last.inner_text() and last.locator(".md strong").inner_text() == "hello"
    # a new best is announced, from the result itself
    started = time.monotonic()
    predictions = root.parent / "gold200.jsonl"
    predictions.write_bytes(gold_predictions(200))
    r = run_cli("submit", "--experiment", "Self-consistency, 16 samples", "--predictions", predictions,
                "--name", "sc16", env={"COLLAB_SPACE": str(root), "COLLAB_AGENT": "agent-01"})
    assert r.code == 0, r
    page.wait_for_selector("#toast:not([hidden])", timeout=5_000)
    assert time.monotonic() - started < 5
    assert "New best: 0.15163 by agent-01" in page.locator("#toast").inner_text()
    assert page.locator("#stat-best").inner_text() == "0.15163"
    assert errors == []
    page.close()


def test_numbers_in_messages_announce_nothing(browser, collab, run_cli):
    server, root, _ = collab
    page, errors, _ = open_page(browser, server.url + "/")
    r = run_cli("post", "--type", "results-report", "--body", "Official SOTA is 0.99 accuracy, and I got 0.98!",
                env={"COLLAB_SPACE": str(root), "COLLAB_AGENT": "agent-03"})
    assert r.code == 0, r
    page.wait_for_selector("#messages li.msg:has-text('Official SOTA')", timeout=5_000)
    page.wait_for_timeout(300)
    assert page.locator("#toast").is_hidden()
    assert page.locator("#stat-best").inner_text() != "0.99"
    assert errors == []
    page.close()


def test_xss_in_a_message_is_text(browser, collab):
    server, root, _ = collab
    posted = Space.open(str(root), agent="agent-04").post("question", XSS_BODY, topic="xss")
    page, errors, dialogs = open_page(browser, server.url + "/")
    page.wait_for_selector(f"[id='m-{posted.file}']", timeout=5_000)
    item = page.locator(f"[id='m-{posted.file}']")
    item.hover()
    text = item.locator(".md").inner_text()
    assert "<script>window.__xss = 'script'</script>" in text and "<img src=x onerror=" in text
    assert "[click me](javascript:" in text  # not made into a link
    assert item.locator(".md script, .md img, .md div, .md [onclick], .md [onerror], .md [onmouseover]").count() == 0
    assert all(not (h or "").startswith("javascript:") for h in item.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))"))
    for a in item.locator(".md a").all():
        a.click(modifiers=["Shift"]) if a.get_attribute("target") else None
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert errors == []
    page.close()
