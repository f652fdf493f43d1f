"""The frontmatter parser's fast path (issue 10, item 8: the CPU of a first read) gives exactly what PyYAML's own
resolver and constructor give, then :func:`frontmatter._plain`, on every header, with both loaders; and for the
usual header it does not run PyYAML's Python constructor at all (what a first read of 10,000 messages spent most
of its parse on)."""

from __future__ import annotations

import random

import pytest
import yaml

from collabspace.domain import frontmatter
from collabspace.domain.board import messages
from collabspace.domain.frontmatter import FrontmatterError

LOADERS = [pytest.param(frontmatter.PyLoader, id="pure-python")]
if frontmatter.CLoader is not None:
    LOADERS.insert(0, pytest.param(frontmatter.CLoader, id="libyaml"))


def _reference_loader(base: type) -> type:
    """``base``'s parser and bounded constructors, with PyYAML's stock resolver."""
    stock = yaml.CSafeLoader if base is frontmatter.CLoader else yaml.SafeLoader

    class Reference(stock):  # type: ignore[misc, valid-type]
        pass

    Reference.add_constructor("tag:yaml.org,2002:int", frontmatter._bounded_int)
    Reference.add_constructor("tag:yaml.org,2002:timestamp", frontmatter._lenient_timestamp)
    return Reference


def _reference(block: str, base: type) -> object:
    loader = _reference_loader(base)(block)
    try:
        node = loader.get_single_node()
        return None if node is None else frontmatter._plain(loader.construct_document(node))
    finally:
        loader.dispose()


def _outcome(fn, *args):
    """What ``parse`` makes of a block: its value, or a refusal (a header with several problems may name
    another one first)."""
    try:
        return ("ok", fn(*args))
    except (FrontmatterError, yaml.YAMLError, ValueError):
        return ("refused", None)


SCALARS = [
    "agent-03", "status-update", "2026-04-25 14:30 UTC", "2026-04-25", "2026-04-25 14:30:00", "2026-04-25T14:30:00Z",
    "2026-13-45", "12", "-7", "+3", "0x1f", "0o17", "017", "1_000", "3.5", "1e3", "-.inf", ".nan", "1:30", "190:20:30",
    "yes", "No", "on", "OFF", "true", "False", "null", "~", "", "'quoted: text'", '"double \\u00e9"', "'12'", "é",
    "hello world", "a # comment", "x: y", "-", "=", "<<", "!!str 12", "!!int 12", "!!float 1", "!!null ''",
    "!!bool yes", "[]", "{}", "[a, 1, true]", "{a: 1, b: [x, 2026-04-25]}", "[[a], {b: c}]", "*", "tag:yaml",
]
KEYS = ["agent", "type", "timestamp", "refs", "n", "1", "true", "null", "'quoted key'", "2026-04-25", "?", "x y",
        "3.5", "~"]


def _header(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(0, 6)):
        key = rng.choice(KEYS)
        shape = rng.random()
        if shape < 0.6:
            lines.append(f"{key}: {rng.choice(SCALARS)}")
        elif shape < 0.8:
            lines.append(f"{key}:")
            lines += [f"  - {rng.choice(SCALARS)}" for _ in range(rng.randint(0, 3))]
        elif shape < 0.9:
            lines.append(f"{key}:")
            lines += [f"  {rng.choice(KEYS)}: {rng.choice(SCALARS)}" for _ in range(rng.randint(1, 3))]
        else:
            lines.append(f"<<: {{{rng.choice(KEYS)}: {rng.choice(SCALARS)}}}")
    return "\n".join(lines)


@pytest.mark.parametrize("base", LOADERS)
def test_the_fast_path_reads_every_header_as_pyyaml_does(base, monkeypatch):
    monkeypatch.setattr(frontmatter, "Loader", base)
    rng = random.Random(20261201)
    blocks = [_header(rng) for _ in range(3000)]
    blocks += [f"k: {s}" for s in SCALARS] + [f"{k}: v" for k in KEYS] + [f"- {s}" for s in SCALARS]
    blocks += ["a: 1\na: 2", "1: a\n'1': b", "[1, 2]", "just text", "a: &x 1", "? [a, b]\n: c"]
    for block in blocks:
        want = _outcome(_reference, block, base)
        got = _outcome(frontmatter._load, block)
        assert got == want, block
        if want[0] == "ok" and isinstance(want[1], dict):
            assert frontmatter.parse(f"---\n{block}\n---\nbody")[0] == want[1], block


_TRICKY = "aZ09 _.,/+()=~:-#'\"[]{}!&*|>%@?\t\\é<"
_KEYS = ["agent", "type", "refs", "a_b", "x1", "_k", "scope", "note", "timestamp", "expires", "released"]
_TRICKY_KEYS = ["yes", "no", "on", "null", "y", "true", "Agent", "a-b", "1", "k k", "<<", "=", "agent"]


def _near_simple(rng: random.Random) -> str:
    """Headers at the edge of the simple form: simple lines with a tricky character, space or indent here and there."""
    def text() -> str:
        body = "".join(rng.choice(_TRICKY) if rng.random() < 0.02 else rng.choice("abcdefgh0123456789" * 3 + " ./:-_")
                       for _ in range(rng.randint(0, 12)))
        return rng.choice([""] * 12 + ["-", ":", " ", "?", ".", "~", "2026-04-25 ", "0x", "1e"]) + body

    lines = []
    keys = rng.sample(_KEYS, 5)
    for n in range(rng.randint(1, 5)):
        key = rng.choice(_TRICKY_KEYS) if rng.random() < 0.05 else keys[n]
        shape = rng.random()
        if shape < 0.6:
            lines.append(f"{key}: {text()}")
        elif shape < 0.65:
            lines.append(f"{key}: []" + rng.choice(["", "", " ", "x"]))
        elif shape < 0.9:
            lines.append(f"{key}:" + rng.choice(["", "", "", " "]))
            indent = rng.choice(["", "", "", "", "", "", "  ", " "])
            lines += [f"{indent}- {text()}" for _ in range(rng.randint(0, 3))]
        elif shape < 0.95:
            lines.append(rng.choice(["", "# note", "  continued", "---", "...", "- stray", f"{key}:{text()}"]))
    return "\n".join(lines)


@pytest.mark.parametrize("base", LOADERS)
def test_the_simple_form_reads_as_yaml_does_at_its_edges(base, monkeypatch):
    """:func:`frontmatter._simple` (no YAML at all) takes only what YAML reads as the very text; everything at
    its edges reads the same as through PyYAML, and most of what it takes is taken by it."""
    monkeypatch.setattr(frontmatter, "Loader", base)
    rng = random.Random(7)
    taken = 0
    for _ in range(8000):
        block = _near_simple(rng)
        if not block.strip():
            continue
        want = _outcome(_reference, block, base)
        simple = frontmatter._simple(block)
        if simple is not None:
            taken += 1
            assert ("ok", simple) == want, block
        assert _outcome(frontmatter._load, block) == want, block
    assert taken > 1000


@pytest.mark.parametrize("base", LOADERS)
def test_the_usual_header_is_built_without_pyyamls_constructor(base, monkeypatch):
    monkeypatch.setattr(frontmatter, "Loader", base)
    calls = []
    original = yaml.constructor.BaseConstructor.construct_object
    monkeypatch.setattr(yaml.constructor.BaseConstructor, "construct_object",
                        lambda self, node, deep=False: calls.append(node) or original(self, node, deep))
    text = messages.render_message(agent="agent-01", type="status-update", refs=("message_board/x.md",),
                                   now=messages.parse_filename("20260425-143000_agent-01_t.md").stamp,
                                   body="hello", extra={"scope": "lora sweep", "note": "a b"})
    meta, body = frontmatter.parse(text)
    assert meta == {"agent": "agent-01", "type": "status-update", "timestamp": "2026-04-25 14:30 UTC",
                    "refs": ["message_board/x.md"], "scope": "lora sweep", "note": "a b"}
    assert calls == []
    assert frontmatter.parse("---\nn: 12\nok: yes\n---\n")[0] == {"n": 12, "ok": True}  # the constructor's
    assert len(calls) == 2


def test_the_resolver_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(frontmatter, "_RESOLVED", {})
    for i in range(frontmatter._RESOLVED_MAX + 500):
        frontmatter.parse(f"---\nk{i}: v{i}\n---\n")
    frontmatter.parse("---\nlong: " + "x" * 100 + "\n---\n")
    assert len(frontmatter._RESOLVED) == frontmatter._RESOLVED_MAX
    assert all(len(k) <= frontmatter._RESOLVED_CHARS for k in frontmatter._RESOLVED)
    assert frontmatter.parse("---\nyes: 0x10\n---\n")[0] == {"True": 16}  # still resolved when it is full


def test_a_message_time_from_the_filename_minute_is_the_headers(monkeypatch):
    """The usual header's timestamp is the filename's minute, taken without parsing; any other is parsed."""
    key = "message_board/20260425-143027_agent-01_t.md"
    for header, want in [("2026-04-25 14:30 UTC", "2026-04-25 14:30:00+00:00"),
                         ("2026-04-25 14:31 UTC", "2026-04-25 14:31:00+00:00"),
                         ("2026-04-25 14:30:09", "2026-04-25 14:30:09+00:00"),
                         ("garbage", "2026-04-25 14:30:27+00:00")]:
        m = messages.parse_message(key, f"---\nagent: agent-01\ntimestamp: {header}\n---\nhi\n".encode())
        assert str(m.time) == want and m.time.tzinfo is messages.UTC, header
