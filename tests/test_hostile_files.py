"""Hostile files: no file another agent writes can break anyone's read (issue 11, break 1).

Each file is refused by its parser quickly, as the project's InvalidInput (a
FrontmatterError for markdown), and the space around it keeps working: the
leaderboard reports it among its problems and still ranks the good results,
and the board and the agent list still show the good entries.
"""

from __future__ import annotations

import json
import time

import pytest

from collabspace.domain.setup import agents
from collabspace.domain import frontmatter, safejson
from collabspace.domain.results import invalidation, results
from collabspace.domain.board import messages
from collabspace.domain.frontmatter import FrontmatterError
from collabspace.errors import InvalidInput
from collabspace.space import Space

LOADERS = [pytest.param(frontmatter.PyLoader, id="pure-python")]
if frontmatter.CLoader is not None:
    LOADERS.insert(0, pytest.param(frontmatter.CLoader, id="libyaml"))


@pytest.fixture(params=LOADERS)
def loader(request, monkeypatch):
    """Run the test once with libyaml's parser and once with the pure-Python fallback."""
    monkeypatch.setattr(frontmatter, "Loader", request.param)
    return request.param


def nested_header(depth: int = 20_000) -> str:
    return "---\nagent: agent-09\ntype: status-update\nrefs: " + "[" * depth + "]" * depth + "\n---\n\nhi\n"


def alias_bomb() -> str:
    """The 9-level "billion laughs": 9**9 strings from a 1 KB header."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "---\nagent: agent-09\ntype: status-update\n" + "\n".join(lines) + "\n---\n\nlol\n"


HEADERS = {"nested-20000": nested_header(), "alias-bomb": alias_bomb()}


def result_json(**extra) -> str:
    doc = {"agent_id": "agent-09", "experiment": "poison", "score": 0.5}
    doc.update(extra)
    return json.dumps(doc)


RESULTS = {
    # a score of 1 followed by 400 zeros, as an integer
    "huge-score": result_json(score=0).replace('"score": 0', '"score": 1' + "0" * 400),
    "5000-digits": result_json(seed=0).replace('"seed": 0', '"seed": 1' + "0" * 4999),
    "correct-1e400": result_json(status="verified", verification={
        "scorer": "gsm8k", "version": "1.0", "correct": 0, "total": 1319,
        "items": "artifacts/results/correct-1e400_agent-09.items.jsonl"}).replace('"correct": 0', '"correct": 1e400'),
    "nested-100000": result_json(cfg=0).replace('"cfg": 0', '"cfg": ' + "[" * 100_000 + "]" * 100_000),
}
VERDICT = json.dumps({"result": "artifacts/results/better_agent-02.json", "by": "agent-02", "reason": "r",
                      "n": 0}).replace('"n": 0', '"n": 1' + "0" * 4999)


def quickly(fn, *args):
    """Call ``fn``, which must refuse its input with InvalidInput within a second; return the error."""
    start = time.perf_counter()
    with pytest.raises(InvalidInput) as err:
        fn(*args)
    assert time.perf_counter() - start < 1.0
    assert "\n" not in err.value.message
    return err.value


# -- the parsers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", HEADERS)
def test_a_hostile_header_is_refused_at_once(loader, name):
    err = quickly(frontmatter.parse, HEADERS[name].encode())
    assert isinstance(err, FrontmatterError)
    quickly(messages.parse_message, f"message_board/20260425-150000_agent-09_{name}.md", HEADERS[name].encode())
    err = quickly(agents.parse_registration, "agents/agent-09.md", HEADERS[name].encode())
    assert isinstance(err, FrontmatterError)


@pytest.mark.parametrize(("text", "reason"), [
    ("a: &x [1, 2]\nb: *x", "uses YAML aliases"),
    ("a: &x 1\nb: [*x]", "uses YAML aliases"),
    ("a: " + "{b: " * 40 + "1" + "}" * 40, "nests deeper than 32 levels"),
    ("a:\n" + "".join(" " * i + "- \n" for i in range(1, 40)), "nests deeper than 32 levels"),
    ("a: 1" + "0" * 5000, "more than 100 digits"),
    ("a: 0x" + "f" * 5000, "more than 100 digits"),
    ("a: .nan", "not finite"),
    ("a: !!binary aGVsbG8=", "unsupported YAML type (bytes)"),
    ("a: !!set {x}", "unsupported YAML type (set)"),
    ("a: !!int abc", "not valid YAML"),
    ("a: " + "x" * 70_000, "larger than 64 KiB"),
])
def test_header_bounds(loader, text, reason):
    err = quickly(frontmatter.parse, f"---\n{text}\n---\nbody\n")
    assert isinstance(err, FrontmatterError) and reason in err.message and err.hint


def test_normal_headers_read_the_same_with_either_loader(loader):
    text = ("---\nagent: agent-03\ntype: build-on\ntimestamp: 2026-04-30 12:00:05\nrefs:\n"
            "  - message_board/20260430-110000_agent-02_reply.md\n  - 20260430-101500-042_ml-intern-3\n"
            "joined: 2026-04-30\nwhen: 2026-04-25T14:30:00Z\ngpu_hours: 3.5\nn: 12\nok: true\nnone:\n"
            "odd: 2026-13-45\nnested: {a: [1, {b: c}]}\n---\n\n# Plan\n")
    meta, body = frontmatter.parse(text)
    assert meta == {
        "agent": "agent-03", "type": "build-on", "timestamp": "2026-04-30 12:00:05",
        "refs": ["message_board/20260430-110000_agent-02_reply.md", "20260430-101500-042_ml-intern-3"],
        "joined": "2026-04-30", "when": "2026-04-25 14:30:00+00:00", "gpu_hours": 3.5, "n": 12, "ok": True,
        "none": None, "odd": "2026-13-45", "nested": {"a": [1, {"b": "c"}]},
    }
    assert body == "# Plan"


def test_libyaml_is_the_default_when_installed():
    assert frontmatter.Loader is (frontmatter.CLoader or frontmatter.PyLoader)


@pytest.mark.parametrize("name", RESULTS)
def test_a_hostile_result_is_refused_at_once(name):
    quickly(results.parse_result, f"artifacts/results/{name}_agent-09.json", RESULTS[name].encode())


def test_a_hostile_verdict_is_refused_at_once():
    err = quickly(invalidation.parse_verdict, "verdicts/better_agent-02.json", VERDICT.encode())
    assert "more than 100 digits" in err.message


@pytest.mark.parametrize(("value", "reason"), [
    ("[" * 50_000 + "]" * 50_000, "nested deeper than 64 levels"),
    ("1" + "0" * 5000, "more than 100 digits"),
    ("1e400", "too large to be finite"),
])
def test_a_hostile_field_is_refused(value, reason):
    err = quickly(results.parse_field, f"x={value}")
    assert err.message.startswith("--field x: ") and reason in err.message and err.hint


def test_safejson_bounds():
    assert safejson.loads(b'\xef\xbb\xbf{"a": [1, -2.5e3, "[[[[", true]}', what="x") == {"a": [1, -2500.0, "[[[[", True]}
    assert safejson.loads("[" * 64 + "]" * 64, what="x") is not None
    assert safejson.loads('["' + "[" * 10_000 + '"]', what="x") == ["[" * 10_000]  # brackets inside text
    assert safejson.loads("1" * 100, what="x") == int("1" * 100)
    for bad in ("[" * 65 + "]" * 65, "1" * 101, "-" + "1" * 101, "1e309", "NaN", "Infinity", '"x"' + " " * (1 << 20)):
        with pytest.raises(InvalidInput):
            safejson.loads(bad, what="x")
    with pytest.raises(safejson.NotJSON, match=r"^x: not valid JSON \("):
        safejson.loads("{nope", what="x")
    # --field tells JSON that breaks a bound (refused) from text that is no JSON (kept as text)
    assert results.parse_field("note=[unclosed") == ("note", "[unclosed")
    assert results.parse_field('cfg={"a": [1, 2.5, null]}') == ("cfg", {"a": [1, 2.5, None]})
    with pytest.raises(InvalidInput, match="NaN"):
        results.parse_field("x=NaN")
    kept = safejson.loads('[NaN, 1e400, 1' + "0" * 200 + ', 2]', what="x", keep_bad_numbers=True)
    assert kept == ["NaN", "1e400", "1" + "0" * 200, 2] and all(isinstance(v, safejson.BadNumber) for v in kept[:3])


def test_a_verification_that_is_not_whole_numbers_is_no_verification():
    doc = json.loads(result_json(verification={"scorer": "gsm8k", "version": "1.0", "correct": 1e300,
                                               "total": 1319, "items": "x.items.jsonl"}))
    assert results.parse_result("artifacts/results/v_agent-09.json", json.dumps(doc).encode()).verification is None


# -- the space around them ------------------------------------------------------------------------
@pytest.fixture
def poisoned(memory_url, clock, loader):
    """A GSM8K space with good messages, registrations and results, and every hostile file beside them
    (read with each YAML loader in turn)."""
    from collabspace.domain.setup.presets import preset_spec

    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    space = Space.open(memory_url, agent="agent-01", clock=clock)
    space.join(model="m1")
    space.post("status-update", "good one")
    space.submit("good", score=0.7)
    other = Space.open(memory_url, agent="agent-02", clock=clock)
    other.join(model="m2")
    other.post("status-update", "good two")
    other.submit("better", score=0.8)
    store = space.store
    for i, text in enumerate(HEADERS.values()):
        store.put(f"message_board/20260425-1431{i:02d}_agent-09_poison.md", text.encode())
    store.put("agents/agent-09.md", HEADERS["nested-20000"].encode())
    store.put("agents/agent-10.md", HEADERS["alias-bomb"].encode())
    for name, text in RESULTS.items():
        store.put(f"artifacts/results/{name}_agent-09.json", text.encode())
    store.put("verdicts/better_agent-02.json", VERDICT.encode())  # would invalidate agent-02's result
    return Space.open(memory_url, agent="agent-03", clock=clock)


def test_the_leaderboard_reports_the_hostile_files_and_ranks_the_good_ones(poisoned):
    start = time.perf_counter()
    board = poisoned.leaderboard()
    assert time.perf_counter() - start < 5.0
    assert [(r.agent_id, r.score) for r in board.top()] == [("agent-02", 0.8), ("agent-01", 0.7)]
    problems = {p.key: p.reason for p in board.problems}
    assert {f"artifacts/results/{name}_agent-09.json" for name in RESULTS} <= problems.keys()
    # each with the parser's own one-line reason, not a generic "cannot be read"
    reasons = {name: problems[f"artifacts/results/{name}_agent-09.json"] for name in RESULTS}
    assert reasons == {"huge-score": "holds an integer of more than 100 digits",
                       "5000-digits": "holds an integer of more than 100 digits",
                       "correct-1e400": "holds a number too large to be finite (1e400)",
                       "nested-100000": "nested deeper than 64 levels"}
    assert "more than 100 digits" in problems["verdicts/better_agent-02.json"]


def test_a_submit_beside_hostile_files_reaches_the_leaderboard(poisoned):
    poisoned.submit("third", score=0.75)
    assert "third_agent-03" in poisoned.cat("LEADERBOARD.md").decode()


def test_the_board_and_the_agents_still_read(poisoned):
    start = time.perf_counter()
    bodies = [m.body for m in poisoned.read(all=True).messages]
    assert time.perf_counter() - start < 5.0
    assert sorted(b for b in bodies if b.startswith("good")) == ["good one", "good two"]
    assert not any("lol" in b or b == "hi" for b in bodies)
    assert [r.agent for r in poisoned.agents()] == ["agent-01", "agent-02"]
    reported = {p.key: p.reason for p in poisoned.doctor_messages()}
    assert "nest" in reported["message_board/20260425-143100_agent-09_poison.md"]  # libyaml: nesting depth
    assert "aliases" in reported["message_board/20260425-143101_agent-09_poison.md"]


@pytest.mark.parametrize("text", [
    "a = " + "[" * 5000 + "]" * 5000,
    "a = " + "{b = " * 3000 + "1" + "}" * 3000,
    "a = 1" + "0" * 5000,
    "huge",
])
def test_a_hostile_collab_toml_is_refused(text):
    from collabspace.domain.setup.presets import preset_spec
    from collabspace.domain.setup.spec import parse_spec

    if text == "huge":  # a valid spec with 300 KB of comment after it
        text = preset_spec("gsm8k").to_toml() + "\n#" + "x" * 300_000 + "\n"
    quickly(parse_spec, text)
