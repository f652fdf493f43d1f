"""`collab export-space`: the static Hugging Face Space leaderboard page.

The page is tested in real headless Chromium against a bucket served the way
the Hub serves one (``browser_support.HubBucketServer``), from a space made by
the real product, with the page on another origin as a Space would be.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from browser_support import HubBucketServer, StaticServer, browser  # noqa: F401  -- browser is a fixture
from dashboard_support import last_number_predictions
from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space
from collabspace.web.export import export_space_files, hub_bucket_url, page_urls

OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "export-space"
T0 = datetime(2026, 4, 25, 9, 0, tzinfo=timezone.utc)
XSS = "<img src=x onerror=alert(1)>"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


# -- building spaces ----------------------------------------------------------------------------
def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _write(root: Path, key: str, data: str | bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _result(root: Path, name: str, agent: str, minutes: float, experiment: str, score, **fields) -> str:
    key = f"artifacts/results/{name}_{agent}.json"
    doc = {"agent_id": agent, "timestamp": _at(minutes).strftime("%Y-%m-%dT%H:%M:%SZ"), "experiment": experiment}
    if score is not None:
        doc["score"] = score
    doc.update(fields)
    _write(root, key, json.dumps(doc, indent=2))
    return key


def _message(root: Path, minutes: float, agent: str, topic: str, type_: str, body: str, refs: str = "") -> None:
    when = _at(minutes)
    front = f"---\nagent: {agent}\ntype: {type_}\ntimestamp: {when:%Y-%m-%d %H:%M} UTC\n" + (f"refs: {refs}\n" if refs else "") + "---\n\n"
    name = f"{when:%Y%m%d-%H%M%S}_{agent}_{topic}.md" if topic else f"{when:%Y%m%d-%H%M%S}-123_{agent}.md"
    _write(root, f"message_board/{name}", front + body + "\n")


def gsm8k_space(root: Path) -> Path:
    """A GSM8K space written by the product, with results and messages as agents write them by hand."""
    Space.init(str(root), preset_spec("gsm8k"))
    for agent, model, harness in [("agent-01", "claude-opus-4", "claude-code"), ("agent-02", "gpt-5", "codex"),
                                  ("agent-03", "qwen3-32b", "ml-intern")]:
        Space.open(str(root), agent=agent).join(model=model, harness=harness)
    verification = {"scorer": "gsm8k", "version": "1.0", "split": "test", "correct": 30, "total": 1319,
                    "items": "artifacts/results/last-number_agent-01.items.jsonl"}
    _result(root, "last-number", "agent-01", 10, "Last number in the question (baseline reproduction)", 30 / 1319,
            model="none", status="verified", verification=verification)
    # a real per-item file, as `collab submit --predictions` writes it: readers re-score it to believe "verified"
    report = Space.score_task("gsm8k", last_number_predictions())
    assert (report.correct, report.total) == (30, 1319)
    _write(root, "artifacts/results/last-number_agent-01.items.jsonl", report.items_jsonl())
    _result(root, "fewshot-cot", "agent-02", 55, "8-shot chain of thought, Qwen2.5-0.5B-Instruct", 0.312,
            model="Qwen2.5-0.5B-Instruct", status="self-reported")
    _result(root, "xss", "agent-03", 80, XSS, 0.298, model="<script>alert(2)</script>", notes=XSS)
    _result(root, "self-consistency", "agent-01", 130, "Self-consistency, 8 samples", 0.4125,
            status="verified", verification={**verification, "correct": 544, "items": "x"})
    _result(root, "majority", "agent-02", 170, "Majority vote over 3 prompts", 0.389)
    _result(root, "pot", "agent-03", 240, "Program-of-thought with python exec", 0.4521)
    _write(root, "verdicts/pot_agent-03.json", json.dumps(
        {"result": "artifacts/results/pot_agent-03.json", "verdict": "invalid", "by": "agent-03",
         "reason": "the exec sandbox read the answer key", "timestamp": "2026-04-25T13:30:00Z"}))
    # the template's hand-written form: the score as text, an ISO timestamp, no status
    _write(root, "artifacts/results/tool-use_agent-04.json", json.dumps(
        {"agent_id": "agent-04", "timestamp": "2026-04-25T13:05:00Z", "experiment": "Calculator tool use",
         "score": "0.43", "test_samples": 1319}))
    _write(root, "artifacts/results/notes_agent-02.json", "{ not json")  # unusable: reported, never fatal
    _message(root, 0, "agent-01", "status-update", "status-update", "Joined. Starting with the last-number baseline.")
    _message(root, 20, "agent-02", "proposal", "experiment-proposal", "Few-shot CoT with a small model.")
    _message(root, 60, "agent-02", "results", "results-report", "Few-shot CoT: 0.312 accuracy.")
    _message(root, 85, "agent-03", "xss", "question", XSS + " <script>alert(3)</script>")
    _message(root, 135, "agent-01", "results", "results-report", "Self-consistency: 0.4125, verified.")
    _message(root, 250, "agent-04", "", "status-update", "API-form filename, no topic.")
    Space.open(str(root)).write_leaderboard()  # what the next submit does: LEADERBOARD.md and leaderboard.json
    return root


def gold(n: int) -> bytes:
    """Predictions with the first ``n`` answers right: a verified score of n/1319."""
    test = (Path(__file__).resolve().parent.parent / "src/collabspace/scorers/data/gsm8k_test.jsonl").read_text()
    return "\n".join(json.dumps({"index": i, "prediction": json.loads(line)["answer"]})
                     for i, line in enumerate(test.splitlines()[:n])).encode()


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture
def serve():
    """serve(bucket_root, spec, bucket=..., prefix=...) -> (bucket server, site server, spec)."""
    servers = []

    def start(root: Path, spec, *, bucket: str = "ns/gsm8k-collab", prefix: str = "", site: Path):
        hub = HubBucketServer(root, bucket)
        files = export_space_files(spec, hub.bucket_url + (f"/{prefix}" if prefix else ""))
        for name, data in files.items():
            _write(site, name, data)
        page = StaticServer(site)
        servers.extend([hub, page])
        return hub, page

    yield start
    for s in servers:
        s.close()


def open_page(browser, url: str, viewport: dict, *, wait: bool = True):
    """A fresh page at ``url``; records dialogs, outgoing requests and console errors on it."""
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    page = context.new_page()
    page.dialogs = []
    page.outgoing = []
    page.errors = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: page.outgoing.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url)
    if wait:
        page.wait_for_function("window.__collab && window.__collab.refreshes >= 1", timeout=15000)
    return page


def shot(page, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def table(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#rows tr", "rows => rows.map(r => [...r.children].map(td => td.innerText.trim()))")


# -- the files -------------------------------------------------------------------------------------
def test_export_space_files_makes_a_static_space():
    spec = preset_spec("gsm8k")
    files = export_space_files(spec, "https://huggingface.co/buckets/alice/gsm8k-collab")
    assert set(files) == {"README.md", "index.html", "vendor/chart.umd.min.js", "vendor/chart.js-LICENSE.md"}
    readme = files["README.md"].decode()
    front = yaml.safe_load(readme.split("---\n")[1])
    assert front == {
        "title": "GSM8K Leaderboard", "emoji": "🏆", "colorFrom": "indigo", "colorTo": "blue", "sdk": "static",
        "pinned": False, "short_description": "Live leaderboard of the GSM8K agent collaboration",
    }
    assert len(front["short_description"]) <= 60
    assert "https://huggingface.co/buckets/alice/gsm8k-collab" in readme and "leaderboard.json" in readme
    html = files["index.html"].decode()
    assert 'const METRIC_DIRECTION = "higher";' in html
    assert 'const BUCKET_URL = "https://huggingface.co/buckets/alice/gsm8k-collab";' in html
    assert 'const TREE_URL = "https://huggingface.co/api/buckets/alice/gsm8k-collab/tree/";' in html
    assert 'const LEADERBOARD_URL = "https://huggingface.co/buckets/alice/gsm8k-collab/resolve/leaderboard.json";' in html
    # without leaderboard.json the page draws the leaderboard of no results: the baselines
    assert '"score": 0.0227, "score_text": "0.0227", "experiment": "Last number in the question"' in html
    # it never ranks or judges results itself
    for logic in ("applyVerdicts", "ORGANIZERS", "parseLeaderboard", "byScore"):
        assert logic not in html, logic
    # nothing from a CDN, and no HTML sink for text from the bucket
    assert re.findall(r'<script src="([^"]+)"', html) == ["vendor/chart.umd.min.js"]
    assert "<link rel=\"stylesheet\"" not in html
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in html, sink
    assert files["vendor/chart.umd.min.js"].startswith(b"/*!\n * Chart.js v4.")
    assert b"MIT License" in files["vendor/chart.js-LICENSE.md"]
    lower = export_space_files(preset_spec("parameter-golf"), "https://huggingface.co/buckets/a/pg", title="PG")
    assert b'const METRIC_DIRECTION = "lower";' in lower["index.html"] and b"title: PG\n" in lower["README.md"]


def test_a_hostile_title_cannot_break_out_of_the_page():
    files = export_space_files(preset_spec("gsm8k"), "https://huggingface.co/buckets/a/b",
                               title="</script><script>alert(1)</script> & <b>")
    html = files["index.html"].decode()
    assert html.count("</script>") == 2  # the vendored library's tag and the page script's own
    assert "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;</title>" in html
    assert yaml.safe_load(files["README.md"].decode().split("---\n")[1])["title"].startswith("</script>")


def test_bucket_url_conventions(monkeypatch):
    assert page_urls("https://huggingface.co/buckets/ns/name/") == {
        "bucket_page": "https://huggingface.co/buckets/ns/name",
        "file_url": "https://huggingface.co/buckets/ns/name/resolve/",
        "tree_url": "https://huggingface.co/api/buckets/ns/name/tree/",
        "leaderboard_url": "https://huggingface.co/buckets/ns/name/resolve/leaderboard.json",
        "prefix": "", "label": "ns/name",
    }
    sub = page_urls("https://huggingface.co/buckets/ns/name/runs/a")
    assert sub["file_url"] == "https://huggingface.co/buckets/ns/name/resolve/runs/a/"
    assert sub["tree_url"] == "https://huggingface.co/api/buckets/ns/name/tree/runs/a/"
    assert sub["label"] == "ns/name/runs/a"
    plain = page_urls("https://my-bucket.s3.amazonaws.com/space")
    assert plain["tree_url"] is None and plain["leaderboard_url"] == "https://my-bucket.s3.amazonaws.com/space/leaderboard.json"
    assert hub_bucket_url("hf://buckets/ns/name/runs/a") == "https://huggingface.co/buckets/ns/name/runs/a"
    assert hub_bucket_url("./folder") is None and hub_bucket_url("s3://b/p") is None
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example.org/")
    assert hub_bucket_url("hf://buckets/ns/name") == "https://hub.example.org/buckets/ns/name"
    from collabspace.errors import InvalidInput

    with pytest.raises(InvalidInput):
        hub_bucket_url("hf://buckets/ns")
    with pytest.raises(InvalidInput):
        page_urls("ftp://example.org/x")


# -- the command -----------------------------------------------------------------------------------
def test_cli_writes_the_space_and_refuses_to_overwrite(tmp_path, run_cli):
    space = tmp_path / "space"
    Space.init(str(space), preset_spec("gsm8k"))
    out = tmp_path / "site"
    res = run_cli("export-space", out, "--space", space)
    assert res.code == 1 and "cannot be derived" in res.err and "hint: pass --bucket-url" in res.err
    assert not out.exists()
    res = run_cli("export-space", out, "--space", space, "--bucket-url", "https://huggingface.co/buckets/me/g")
    assert res.code == 0, res
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "README.md", "index.html", "vendor/chart.js-LICENSE.md", "vendor/chart.umd.min.js"]
    assert "sdk: static" in (out / "README.md").read_text()
    res = run_cli("export-space", out, "--space", space, "--bucket-url", "https://huggingface.co/buckets/me/g")
    assert res.code == 1 and "not empty" in res.err and "--force" in res.err
    res = run_cli("export-space", out, "--space", space, "--bucket-url", "https://huggingface.co/buckets/me/h",
                  "--force", "--title", "Our board")
    assert res.code == 0 and "buckets/me/h" in (out / "index.html").read_text()
    assert "title: Our board" in (out / "README.md").read_text()
    res = run_cli("export-space", tmp_path / "x", "--space", space, "--bucket-url", "huggingface.co/buckets/me/g")
    assert res.code == 1 and "http(s) URL" in res.err


def test_cli_derives_the_bucket_url_from_an_hf_space(tmp_path, run_cli, monkeypatch):
    import huggingface_hub
    from fake_hub import FakeHfApi

    from collabspace.storage.hf import HFBucketStore

    hub = FakeHfApi()
    hub.create_bucket("alice/gsm8k-collab")
    Space.init(HFBucketStore("alice/gsm8k-collab", "runs/one", api=hub), preset_spec("gsm8k"))
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda *a, **k: hub)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    res = run_cli("export-space", tmp_path / "site", "--space", "hf://buckets/alice/gsm8k-collab/runs/one")
    assert res.code == 0, res
    html = (tmp_path / "site" / "index.html").read_text()
    assert 'const BUCKET_URL = "https://huggingface.co/buckets/alice/gsm8k-collab/runs/one";' in html
    assert "hf repos create alice/gsm8k-leaderboard --type space --sdk static" in res.err


# -- the page in Chromium --------------------------------------------------------------------------
def test_page_renders_the_bucket_live(tmp_path, browser, serve):
    root = gsm8k_space(tmp_path / "bucket")
    hub, site = serve(root, preset_spec("gsm8k"), site=tmp_path / "site")
    page = open_page(browser, site.origin + "/", LAPTOP)
    state = page.evaluate("window.__collab")
    assert state["mode"] == "live" and not page.errors, page.errors

    # the table: every usable result, best first (higher is better); the baseline is an unranked
    # reference row; the invalidated result is last, struck out. All of it is leaderboard.json's, as
    # `collab leaderboard` has it: "self-consistency" claims a verification that does not match its
    # score, so it is self-reported there and here (the page no longer judges verifications itself).
    got = [(r["rank"], r["agent"], r["score"], r["status"]) for r in state["rows"]]
    expected = [(r.rank, r.agent_id, r.score, r.status) for r in Space.open(str(root)).leaderboard().rows]
    assert got == expected == [
        (1, "agent-04", 0.43, "self-reported"),
        (2, "agent-01", 0.4125, "self-reported"),
        (3, "agent-02", 0.389, "self-reported"),
        (4, "agent-02", 0.312, "self-reported"),
        (5, "agent-03", 0.298, "self-reported"),
        (6, "agent-01", pytest.approx(30 / 1319), "verified"),  # 0.02274...
        (None, "baseline", 0.0227, "baseline"),
        (None, "agent-03", 0.4521, "invalid"),
    ]
    cells = table(page)
    assert [c[:3] for c in cells[:3]] == [["1", "agent-04", "0.43"], ["2", "agent-01", "0.4125"], ["3", "agent-02", "0.389"]]
    assert cells[-1][1] == "agent-03" and "the exec sandbox read the answer key" in cells[-1][4]
    assert page.locator("#rows tr.invalid").count() == 1 and page.locator("#rows tr.baseline").count() == 1
    assert page.locator("#score-head").inner_text().lower() == "accuracy"

    # the chart: one point per usable result; the best line rises with each new best, skipping the invalid one
    assert len(state["points"]) == 7
    assert [p["t"] for p in state["points"]] == sorted(p["t"] for p in state["points"])
    best = [(b["agent"], b["score"]) for b in state["best"]]
    assert best == [("agent-01", pytest.approx(30 / 1319)), ("agent-02", 0.312), ("agent-01", 0.4125), ("agent-04", 0.43)]
    assert state["baselines"] == [{"name": "Last number in the question", "score": 0.0227, "track": None}]
    drawn = page.evaluate("Chart.getChart(document.getElementById('chart')).data.datasets.map(d => [d.label, d.data.length])")
    assert drawn[0] == ["Best so far", 5]  # 4 improvements + the line carried to the last result
    assert sum(n for label, n in drawn[1:] if not label.startswith("Baseline")) == 7
    assert ["Baseline: Last number in the question", 2] in drawn

    # live figures from the board and agents/
    assert state["stats"]["messages"] == 6
    assert state["stats"]["authors"] == ["agent-01", "agent-02", "agent-03", "agent-04"]
    assert state["stats"]["registered"] == ["agent-01", "agent-02", "agent-03"]
    assert state["stats"]["latest"] == int(_at(250).timestamp() * 1000)
    assert page.locator("#stat-agents").inner_text() == "4" and page.locator("#stat-messages").inner_text() == "6"
    # the headline is the best verified result, not the self-reported 0.43 ranked first
    assert page.locator("#stat-best").inner_text() == "0.022745"
    assert page.locator("#stat-best-note").inner_text() == "agent-01 · verified"
    assert any("notes_agent-02.json" in p for p in state["problems"])
    assert "2 files could not be used" in page.locator("#table-note").inner_text()
    # leaderboard.json is all it reads of the results: no result file, no verdict
    assert not [r for r in hub.requests if "/resolve/artifacts/" in r or "/resolve/verdicts/" in r]

    # XSS: shown as text, nothing ran, nothing injected
    xss_row = page.locator("#rows tr", has_text="agent-03").first
    assert xss_row.locator("td.exp .text").inner_text() == XSS
    assert "<script>alert(2)</script>" in xss_row.locator("td.exp").inner_text()
    assert page.locator("img").count() == 0 and page.locator("#rows script").count() == 0
    assert page.dialogs == []

    # reads only the bucket (its listings page through the Link header) and its own files
    assert {u.split("/")[2] for u in page.outgoing} == {site.origin[7:], hub.origin[7:]}
    assert any("cursor=" in r for r in hub.requests), "the listing's second page was never read"
    assert page.locator("#banner").is_hidden()
    assert page.locator("#bucket-link").inner_text() == "ns/gsm8k-collab"
    shot(page, "live-laptop")
    page.context.close()

    phone = open_page(browser, site.origin + "/", PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.locator("th.date").is_hidden()
    shot(phone, "live-phone")
    phone.context.close()


def test_a_new_result_appears_on_refresh_and_is_announced(tmp_path, browser, serve):
    root = gsm8k_space(tmp_path / "bucket")
    hub, site = serve(root, preset_spec("gsm8k"), site=tmp_path / "site")
    page = open_page(browser, site.origin + "/", LAPTOP)
    # a self-reported score above everything is ranked first, but is not the headline: nothing to announce
    Space.open(str(root), agent="agent-02").submit("Qwen2.5-7B with CoT", score=0.81, name="bigger-model")
    page.evaluate("window.__collabRefresh()")
    page.wait_for_function("window.__collab.refreshes >= 2")
    state = page.evaluate("window.__collab")
    assert state["rows"][0]["agent"] == "agent-02" and state["rows"][0]["score"] == 0.81
    assert state["best"][-1]["score"] == 0.81 and len(state["points"]) == 8
    assert page.locator("#toast").is_hidden() and page.locator("#stat-best").inner_text() == "0.022745"
    # a better verified result is the new headline, and is announced
    Space.open(str(root), agent="agent-03").submit("Gold answers for 600 items", predictions=gold(600), name="gold")
    page.evaluate("window.__collabRefresh()")
    page.wait_for_function("window.__collab.refreshes >= 3")
    assert page.locator("#stat-best").inner_text() == "0.45489"  # 600/1319
    assert "New best: 0.45489 by agent-03" in page.locator("#toast").inner_text()
    page.context.close()


def test_lower_is_better_in_a_bucket_folder(tmp_path, browser, serve):
    bucket = tmp_path / "bucket"
    root = bucket / "runs" / "pg"
    spec = preset_spec("parameter-golf")
    Space.init(str(root), spec)
    fits = {"artifact_size_bytes": 15_000_000, "train_time_seconds": 500}  # a result omitting them is invalid
    _result(root, "baseline-rerun", "agent-01", 0, "Naive baseline, re-run", 1.2231, **fits)
    _result(root, "int6", "agent-02", 60, "INT6 quantization", 1.19, **fits)
    _result(root, "wider", "agent-01", 120, "Wider MLP", 1.25, **fits)
    _result(root, "spectral", "agent-02", 180, "Spectral init + INT5", 1.151, val_bpb=1.151, **fits)
    _result(root, "bigger", "agent-03", 240, "Bigger model", 1.12, **{**fits, "artifact_size_bytes": 17_000_000})
    Space.open(str(root)).write_leaderboard()
    hub, site = serve(bucket, spec, bucket="ns/parameter-golf-collab", prefix="runs/pg", site=tmp_path / "site")
    page = open_page(browser, site.origin + "/", LAPTOP)
    state = page.evaluate("window.__collab")
    ranked = [(r["agent"], r["score"]) for r in state["rows"] if r["rank"]]
    assert ranked == [("agent-02", 1.151), ("agent-02", 1.19), ("agent-01", 1.2231), ("agent-01", 1.25)]
    # over the spec's 16 MB limit: invalid here as in `collab leaderboard` (the page used to rank it first)
    bigger = next(r for r in state["rows"] if r["agent"] == "agent-03")
    assert bigger["status"] == "invalid" and bigger["rank"] is None
    assert "exceeds the limit" in page.locator("#rows tr.invalid").inner_text()
    assert [b["score"] for b in state["best"]] == [1.2231, 1.19, 1.151]  # falling: lower is better
    assert state["baselines"][0]["score"] == 1.2244
    assert page.locator("#stat-best").inner_text() == "1.151"  # no scorer: the best valid result
    assert page.locator("#subtitle").inner_text().startswith("val_bpb · lower is better")
    assert page.locator("#bucket-link").inner_text() == "ns/parameter-golf-collab/runs/pg"
    assert all("/runs/pg/" in r or "runs%2Fpg" in r for r in hub.requests)
    shot(page, "lower-is-better-laptop")
    page.context.close()


def test_an_older_space_without_leaderboard_json_shows_the_baselines_and_says_why(tmp_path, browser, serve):
    root = gsm8k_space(tmp_path / "bucket")
    (root / "leaderboard.json").unlink()  # as a space written by an older collabspace
    hub, site = serve(root, preset_spec("gsm8k"), site=tmp_path / "site")
    page = open_page(browser, site.origin + "/", LAPTOP)
    state = page.evaluate("window.__collab")
    assert state["mode"] == "no-twin" and not page.errors
    banner = page.locator("#banner").inner_text()
    assert "This space has no leaderboard.json yet." in banner and "collab leaderboard --write" in banner
    assert "Private bucket" not in banner
    rows = table(page)  # never re-ranked from LEADERBOARD.md or the result files
    assert len(rows) == 1 and rows[0][:3] == ["–", "baseline", "0.0227"]
    assert page.locator("#stat-results").inner_text() == "–" and page.locator("#stat-messages").inner_text() == "6"
    assert not [r for r in hub.requests if "/resolve/artifacts/" in r or "LEADERBOARD.md" in r]
    shot(page, "no-twin-laptop")
    page.context.close()


def test_fallback_when_the_bucket_cannot_be_read(tmp_path, browser, serve):
    root = gsm8k_space(tmp_path / "bucket")
    hub, site = serve(root, preset_spec("gsm8k"), site=tmp_path / "site")
    hub.deny = True  # a private bucket, visitor not signed in
    page = open_page(browser, site.origin + "/", LAPTOP)
    state = page.evaluate("window.__collab")
    assert state["mode"] == "fallback" and "401" in state["error"]
    banner = page.locator("#banner")
    assert banner.is_visible()
    assert "could not be read (HTTP 401)" in banner.inner_text()
    assert "Private bucket? Sign in to Hugging Face" in banner.inner_text()
    assert "ns/gsm8k-collab" in banner.inner_text()
    rows = table(page)
    assert len(rows) == 1 and rows[0][:3] == ["–", "baseline", "0.0227"]
    assert rows[0][3].startswith("Last number in the question") and rows[0][4].endswith("baseline")
    assert page.locator("#chart-box").is_hidden() and "once the space's leaderboard.json can be read" in page.locator(
        "#chart-empty").inner_text()
    assert state["baselines"] == [{"name": "Last number in the question", "score": 0.0227, "track": None}]
    assert page.locator("#stat-results").inner_text() == "–"
    assert page.dialogs == [] and not page.errors
    shot(page, "fallback-laptop")
    page.context.close()
    phone = open_page(browser, site.origin + "/", PHONE)
    shot(phone, "fallback-phone")
    phone.context.close()

    # ?bucket= points the page elsewhere for one visit: here, at nothing at all
    page = open_page(browser, site.origin + "/?bucket=http://127.0.0.1:9/buckets/x/y", LAPTOP)
    assert "could not be reached" in page.locator("#banner").inner_text()
    assert page.evaluate("window.__collab.urls.treeUrl") == "http://127.0.0.1:9/api/buckets/x/y/tree/"
    page.context.close()


def test_page_reads_the_leaderboard_the_product_writes(tmp_path, browser, serve, clock):
    root = tmp_path / "bucket"
    Space.init(str(root), preset_spec("gsm8k"), clock=clock)
    test = [json.loads(line) for line in
            (Path(__file__).resolve().parent.parent / "src/collabspace/scorers/data/gsm8k_test.jsonl").read_text().splitlines()]
    a1 = Space.open(str(root), agent="agent-01", clock=clock)
    a2 = Space.open(str(root), agent="agent-02", clock=clock)
    a3 = Space.open(str(root), agent="agent-03", clock=clock)
    for s in (a1, a2, a3):
        s.join(model="m", harness="h")

    def last_number(q: str) -> str:
        nums = re.findall(r"\d+(?:\.\d+)?", q.replace(",", ""))
        return nums[-1] if nums else "0"

    preds = "\n".join(json.dumps({"index": i, "prediction": last_number(x["question"])}) for i, x in enumerate(test))
    a1.submit("Last number in the question", predictions=preds.encode(), name="last-number")
    clock.advance(seconds=20)  # four submits within one minute: their exact times order the best line
    a2.submit("Gold answers for 500 items (oracle check) | piped", predictions=gold(500), name="oracle-500")
    clock.advance(seconds=20)
    a3.submit(XSS, score=0.55, name="xss")
    clock.advance(seconds=10)
    a3.submit("Leaky eval", score=0.9, name="leaky")
    a3.invalidate("leaky_agent-03.json", "trained on the test split")
    a1.post("status-update", "Done with the baseline.")
    clock.advance(minutes=1)
    a2.submit("Builds on the leaky eval", score=0.6, name="builds-on", refs=["leaky_agent-03.json"])
    hub, site = serve(root, preset_spec("gsm8k"), site=tmp_path / "site")
    page = open_page(browser, site.origin + "/", LAPTOP)
    state = page.evaluate("window.__collab")
    expected = [(r.rank, r.agent_id, r.score, r.score_text, r.status, r.flag) for r in a1.leaderboard().rows]
    got = [(r["rank"], r["agent"], r["score"], r["score_text"], r["status"], r["flag"]) for r in state["rows"]]
    assert got == expected
    # the result that builds on the invalid one is ranked first and flagged, not struck out as invalid
    assert got[0][:2] == (1, "agent-02") and got[0][4:] == ("self-reported", "builds on invalid leaky_agent-03.json")
    flagged = table(page)[0]
    assert flagged[4].startswith("⚠") and "builds on invalid leaky_agent-03.json" in flagged[4]
    assert page.locator("#rows tr.invalid").count() == 1  # the leaky one only
    assert any(r["experiment"] == "Gold answers for 500 items (oracle check) | piped" for r in state["rows"])
    assert len(state["points"]) == 5
    assert [b["agent"] for b in state["best"]] == ["agent-01", "agent-02", "agent-03", "agent-02"]
    xss_row = page.locator("#rows tr").filter(has=page.locator("td.agent", has_text="agent-03")).first
    assert xss_row.locator("td.exp .text").inner_text() == XSS
    assert page.dialogs == [] and page.locator("img").count() == 0
    # the rows came from leaderboard.json: no result file was fetched one by one
    assert not [r for r in hub.requests if "/resolve/artifacts/results/" in r]
    shot(page, "product-laptop")
    page.context.close()


def test_a_verdict_counts_on_the_page_only_where_the_leaderboard_counts_it(tmp_path, browser, serve):
    """A verdict signed by the result's JSON ``agent_id``, not its owner (the file name) nor an organizer."""
    root = gsm8k_space(tmp_path / "bucket")
    _result(root, "borrowed", "agent-02", 260, "Filed under agent-02's name by agent-03", 0.5, agent_id="agent-03")
    _write(root, "verdicts/borrowed_agent-02.json", json.dumps(
        {"result": "artifacts/results/borrowed_agent-02.json", "by": "agent-03", "reason": "not mine after all"}))
    hub, site = serve(root, preset_spec("gsm8k"), site=tmp_path / "site")
    page = open_page(browser, site.origin + "/", LAPTOP)
    state = page.evaluate("window.__collab")
    # not on leaderboard.json until the next regeneration: counted, never judged by the page
    assert not [r for r in state["rows"] if r["file"].endswith("borrowed_agent-02.json")]
    assert state["newer"] == 1 and "1 newer result file not on the leaderboard yet" in page.locator("#table-note").inner_text()
    Space.open(str(root)).write_leaderboard()
    page.evaluate("window.__collabRefresh()")
    page.wait_for_function("window.__collab.refreshes >= 2")
    row = next(r for r in page.evaluate("window.__collab.rows") if r["file"].endswith("borrowed_agent-02.json"))
    cli = next(r for r in Space.open(str(root)).leaderboard().rows if r.file.endswith("borrowed_agent-02.json"))
    assert (row["rank"], row["status"]) == (cli.rank, cli.status) == (1, "self-reported")  # the verdict is ignored
    page.context.close()
