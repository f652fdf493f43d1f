"""Issue 13 items 9, 14 and 15 in real headless Chromium, at desktop (1280x800) and phone (390x844) sizes.

Layout facts asserted, with screenshots in ``test-output/dashboard/``: avatar initials, the goal cut at a
word, no "message" in the claims' Note column, agent ids never broken, no sideways overflow, every
leaderboard column in view on a phone; the verified / all / including-invalid filter; a result's page
of per-item correctness, and results compared item by item.

Before: avatars took the last two characters (codex-7 -> "-7", opus-lead -> "AD"); the goal was cut
mid-word by a line clamp; ended claims without a note showed the word "message"; on a phone the
leaderboard hid Model and Date and pushed Status off screen with no cue, and claims broke "codex-/7";
there was no filter, no result page and no comparison.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser_support import browser  # noqa: F401  -- the fixture
from collabspace.space import Space
from collabspace.web.app import BackgroundServer
from dashboard_support import Clock, gold_predictions, gsm8k_collab

pytestmark = pytest.mark.slow  # real browsers: CI runs them, the quick lane skips them

OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "dashboard"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


@pytest.fixture(scope="module")
def collab(tmp_path_factory):
    """(server, folder, names): the GSM8K collaboration plus agents codex-7 and opus-lead, and a second verified result."""
    mp = pytest.MonkeyPatch()
    mp.setenv("COLLAB_CACHE_DIR", str(tmp_path_factory.mktemp("views-cache")))
    root = tmp_path_factory.mktemp("views") / "gsm8k"
    clock = Clock()
    names = gsm8k_collab(str(root), clock)
    for agent, scope in (("codex-7", "beam search decoding"), ("opus-lead", "verifier reranking")):
        sp = Space.open(str(root), agent=agent, clock=clock)
        sp.join(model="gpt-5-codex" if agent == "codex-7" else "claude-opus-4")
        sp.post("status-update", f"{agent} here, taking {scope}.", topic="hello")
        sp.claim(scope, duration="3h")
    names["g300"] = Space.open(str(root), agent="codex-7", clock=clock).submit(
        "Gold answers for the first 300 items", predictions=gold_predictions(300), name="g300",
        model="Qwen2.5-7B-Instruct, a long model name that wraps").key
    server = BackgroundServer(Space.open(str(root), clock=clock)).start()
    yield server, root, names
    server.stop()
    mp.undo()


def open_page(browser, url: str, viewport):
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=10_000)
    return page, errors


def shot(page, name: str, viewport) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}-{'phone' if viewport is PHONE else 'desktop'}.png"), full_page=False)


def no_sideways_overflow(page, viewport) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_avatar_initials(browser, collab):
    server, _, _ = collab
    page, errors = open_page(browser, server.url + "/agents", DESKTOP)
    page.wait_for_selector(".agents-grid .agent")
    cards = page.locator(".agents-grid .agent").evaluate_all(
        "cs => cs.map(c => [c.querySelector('.who').textContent, c.querySelector('.avatar').textContent])")
    assert dict(cards) == {"agent-01": "01", "agent-02": "02", "agent-03": "03", "agent-04": "04",
                           "codex-7": "C7", "opus-lead": "OL"}
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1'] #messages li.msg")
    board = page.locator("#messages li.msg").evaluate_all(
        "ms => ms.map(m => [m.querySelector('.who').textContent, m.querySelector('.avatar').textContent])")
    assert ["codex-7", "C7"] in board and ["opus-lead", "OL"] in board
    shot(page, "avatars", DESKTOP)
    assert errors == []
    page.close()


@pytest.mark.parametrize("viewport", SIZES)
def test_the_goal_is_cut_at_a_word(browser, collab, viewport):
    server, _, _ = collab
    page, errors = open_page(browser, server.url + "/", viewport)
    full = page.evaluate("(() => { const c = JSON.parse(document.getElementById('config').textContent); "
                         "return `${c.goal} · ${c.metric}, higher is better`; })()")
    shown = page.locator("#goal").inner_text()
    assert shown.endswith("…") and shown != full
    kept = shown[:-1]
    assert full.startswith(kept) and full[len(kept)] in " .,", (kept, full)  # a whole word, then the cut
    lines = page.evaluate("(() => { const s = document.getElementById('sub'); "
                          "return Math.round(s.getBoundingClientRect().height / parseFloat(getComputedStyle(s).lineHeight)); })()")
    assert lines <= 2
    shot(page, "goal", viewport)
    page.locator("#goal-more").click()
    assert page.locator("#goal").inner_text() == full and page.locator("#goal-more").inner_text() == "less"
    no_sideways_overflow(page, viewport)
    assert errors == []
    page.close()


@pytest.mark.parametrize("viewport", SIZES)
def test_claims_ids_unbroken_and_no_message_placeholder(browser, collab, viewport):
    server, _, _ = collab
    page, errors = open_page(browser, server.url + "/claims", viewport)
    page.wait_for_selector("#claims-body tr.st-expired")
    assert page.locator("#claims-body tr.st-expired").count() == 2
    notes = page.locator("#claims-body td.note").all_text_contents()
    assert "message" not in notes and set(notes) <= {"", "8-shot prompt variants", "python-exec answers",
                                                     "reproducing it on the test split"}
    assert page.locator("#claims-body tr.st-expired td.left").all_inner_texts()[0].startswith("expired ")
    ids = page.locator("#claims-body td.who a").evaluate_all(
        "as => as.map(a => [a.textContent, a.getClientRects().length])")
    assert ["codex-7", 1] in ids and ["opus-lead", 1] in ids
    assert all(n == 1 for _, n in ids), ids  # one line box each: never "codex-" / "7"
    # the scope links to the claim's message
    assert page.locator("#claims-body td.scope a").first.get_attribute("href").startswith("/thread/")
    no_sideways_overflow(page, viewport)
    shot(page, "claims", viewport)
    assert errors == []
    page.close()


def test_phone_leaderboard_shows_every_column(browser, collab):
    server, _, _ = collab
    page, errors = open_page(browser, server.url + "/leaderboard?show=invalid", PHONE)
    page.wait_for_selector("#lb-body tr")
    no_sideways_overflow(page, PHONE)
    box = page.locator(".table-box").first
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth")  # nothing hidden behind a sideways scroll
    rows = page.locator("#lb-body tr")
    assert rows.count() == 7
    for i in range(rows.count()):
        row = rows.nth(i)
        for cls in ("status", "score", "who", "date", "model"):
            cell = row.locator(f"td.{cls}")
            if not cell.inner_text().strip():
                continue
            assert cell.is_visible(), (i, cls)
            b = cell.bounding_box()
            assert b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"] + 0.5, (i, cls, b)
    g300 = page.locator("#lb-body tr", has_text="first 300 items")
    labels = [g300.locator(f"td.{c}").evaluate("e => [e.dataset.label, getComputedStyle(e, '::before').content]")
              for c in ("model", "date")]
    assert [label for label, _ in labels] == ["Model", "Date (UTC)"] and all(c != "none" for _, c in labels)
    assert g300.locator("td.model").inner_text().startswith("Qwen2.5-7B-Instruct")
    assert g300.locator("td.date").inner_text().startswith("2026-04-25")
    assert g300.locator("td.status .badge").inner_text() == "verified"
    ids = page.locator("#lb-body td.who a").evaluate_all("as => as.map(a => a.getClientRects().length)")
    assert set(ids) == {1}
    shot(page, "leaderboard", PHONE)
    assert errors == []
    page.close()


def _chart(page) -> dict:
    return page.evaluate("""() => {
        const c = Chart.getChart(document.getElementById('chart'));
        const sets = c.data.datasets;
        return {labels: sets.filter(d => d.kind === 'results').map(d => d.label),
                results: sets.filter(d => d.kind === 'results').reduce((n, d) => n + d.data.length, 0),
                best: (sets.find(d => d.kind === 'best') || {data: []}).data.map(p => p.y)};
    }""")


def test_filter_verified_all_including_invalid(browser, collab):
    """One leaderboard, three views: the rows are filtered, never re-ranked (ranks are the leaderboard's)."""
    server, _, names = collab
    page, errors = open_page(browser, server.url + "/leaderboard", DESKTOP)
    page.wait_for_selector("#lb-body tr")

    def table():
        return page.locator("#lb-body tr").evaluate_all(
            "rs => rs.map(r => [r.querySelector('.rank').textContent, r.querySelector('.status .badge').textContent])")

    assert page.locator("#show-pick [aria-pressed='true']").inner_text() == "All"
    everything = table()
    assert ["–", "invalid"] not in everything and len(everything) == 6  # 5 valid results and the baseline
    page.locator("#show-pick [data-show='verified']").click()
    page.wait_for_function("() => location.search === '?show=verified'")
    page.wait_for_selector("#show-pick [data-show='verified'][aria-pressed='true']")
    verified = table()
    assert verified == [["4", "verified"], ["5", "verified"], ["–", "baseline"]]  # the leaderboard's ranks, gaps and all
    chart = _chart(page)
    assert chart["labels"] == ["Verified"] and chart["results"] == 2
    assert chart["best"][:2] == [pytest.approx(30 / 1319), pytest.approx(300 / 1319)]
    shot(page, "filter-verified", DESKTOP)
    page.locator("#show-pick [data-show='invalid']").click()
    page.wait_for_selector("#show-pick [data-show='invalid'][aria-pressed='true']")
    with_invalid = table()
    assert ["–", "invalid"] in with_invalid and len(with_invalid) == 7
    assert "Invalid" in _chart(page)["labels"]
    page.go_back()
    page.wait_for_selector("#show-pick [data-show='verified'][aria-pressed='true']")
    assert errors == []
    page.close()


@pytest.mark.parametrize("viewport", SIZES)
def test_result_page_and_comparison(browser, collab, viewport):
    server, _, names = collab
    page, errors = open_page(browser, server.url + "/leaderboard", viewport)
    page.wait_for_selector("#lb-body tr")
    page.locator("#lb-body tr", has_text="first 300 items").locator("td.score a").click()
    page.wait_for_selector("body[data-ready='1'] #result-grid .it")
    assert page.url.endswith("/result/g300_codex-7.json")
    assert page.locator("#result-grid .it").count() == 1319
    assert page.locator("#result-grid .it.ok").count() == 300
    assert page.locator("#result-grid .it.none").count() == 1019
    assert page.locator("#result-counts").inner_text() == "300 right · 1,019 wrong (1,019 not answered)"
    assert page.locator("#result-wrong tr").count() == 100 and page.locator("#result-more").is_visible()
    assert "Rank" in page.locator("#result-facts").inner_text()
    no_sideways_overflow(page, viewport)
    shot(page, "result", viewport)
    # compare it with the other verified result, from the leaderboard's checkboxes
    page.goto(server.url + "/leaderboard")
    page.wait_for_selector("body[data-ready='1'] #lb-body tr")
    assert page.locator("#compare-go").is_disabled()
    boxes = page.locator("#lb-body td.pick input")
    assert boxes.count() == 2  # only verified rows can be picked
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert page.locator("#compare-go").inner_text() == "Compare selected (2)"
    page.locator("#compare-go").click()
    page.wait_for_selector("body[data-ready='1'] #compare-tiles .tile")
    tiles = dict(page.locator("#compare-tiles .tile").evaluate_all(
        "ts => ts.map(t => [t.querySelector('.label').textContent, t.querySelector('.value').textContent])"))
    api = page.evaluate("async () => (await (await fetch('/api/compare' + location.search)).json())")
    pair = api["pairs"][0]
    letters = {api["results"][0]["file"]: "A", api["results"][1]["file"]: "B"}
    assert tiles[f"{letters[pair['b']]} right, {letters[pair['a']]} wrong"] == f"{pair['b_not_a_count']:,}"
    assert tiles["Oracle: at least one right"] == api["oracle"]["score_text"]
    assert tiles["Majority vote"] == api["majority"]["score_text"]
    differ = sum(1 for it in api["items"] if any(it["correct"]) and not all(it["correct"]))
    assert page.locator("#compare-diff-note").inner_text() == f"{differ:,} of 1,319 items"
    assert page.locator("#compare-diff tr").count() == min(differ, 100)
    assert re.search(r"[✓✗]", page.locator("#compare-diff tr").first.inner_text())
    no_sideways_overflow(page, viewport)
    shot(page, "compare", viewport)
    assert errors == []
    page.close()


def test_a_reinstated_result_says_so_on_the_leaderboard(browser, tmp_path):
    """An organizer's reversal shows on the dashboard with who and why (the leaderboard's own text)."""
    from collabspace.domain.setup.presets import preset_spec

    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k", organizers=["lead"]))
    mine = Space.open(url, agent="agent-01").submit("scored", predictions=gold_predictions(40), name="forty")
    Space.open(url, agent="agent-01").invalidate(mine.key, "I thought it leaked")
    Space.open(url, agent="lead").invalidate(mine.key, "it did not leak: checked the split", reverse=True)
    server = BackgroundServer(Space.open(url)).start()
    try:
        page, errors = open_page(browser, server.url + "/leaderboard", DESKTOP)
        page.wait_for_selector("#lb-body tr .reinstated")
        text = page.inner_text("#lb-body tr .reinstated")
        assert text.startswith("reinstated: ") and "lead" in text and "it did not leak" in text
        assert errors == []
        page.close()
    finally:
        server.stop()
