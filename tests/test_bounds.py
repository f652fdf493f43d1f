"""Bounded inputs (issue 11, break 6 / property 5): every duration and count from the CLI or MCP is
bounded and refused with one ``error:`` line and a ``hint:``, never an OverflowError (exit 70)."""

from __future__ import annotations

import pytest

from collabspace import InvalidInput
from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.timefmt import parse_duration, parse_time
from collabspace.space import Space

HUGE_INT = "1" + "0" * 400  # a number float() reads as inf
COUNT = "99999999999999999999"  # over SQLite's 64-bit integers


@pytest.fixture
def folder(tmp_path):
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    Space.open(url, agent="agent-02").post("status-update", "hello", topic="hi")
    return url


def refused(result) -> tuple[str, str]:
    """The one error line and its hint of a refused command."""
    assert result.code in (1, 2), result
    lines = result.err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    hints = [line for line in lines if line.startswith("hint:")]
    assert len(errors) == 1 and len(hints) == 1, result
    assert "internal error" not in errors[0], result
    return errors[0], hints[0]


@pytest.mark.parametrize("args", [
    ["read", "--since", "99999999w"],
    ["read", "--since", "1e400h"],
    ["read", "--since", HUGE_INT + "h"],
    ["read", "--since", "3661d"],
    ["read", "--since", "9" * 5000 + "s"],
    ["claim", "x", "--for", "999999999d"],
    ["claim", "x", "--for", "1e400h"],
    ["claim", "x", "--for", HUGE_INT + "h"],
    ["claim", "x", "--for", "31d"],
    ["read", "--all", "--limit", COUNT],
    ["read", "--limit", COUNT],
    ["read", "--all", "--limit", "-" + COUNT],
    ["search", "hello", "--limit", COUNT],
    ["inbox", "--limit", COUNT],
    ["inbox", "--all", "--limit", "1000001"],
])
def test_unbounded_cli_inputs_are_refused_with_an_error_and_a_hint(run_cli, folder, args):
    refused(run_cli(*args, "--space", folder, "--agent", "agent-01"))


def test_a_too_long_claim_says_how_long_a_claim_may_be(run_cli, folder):
    error, hint = refused(run_cli("claim", "x", "--for", "999999999d", "--space", folder, "--agent", "agent-01"))
    assert error == "error: duration '999999999d' is too long (a claim: at most 30d)"
    assert "renew" in hint


def test_bounded_inputs_still_work(run_cli, folder):
    assert run_cli("read", "--since", "3650d", "--space", folder, "--agent", "agent-01").code == 0
    assert run_cli("read", "--all", "--limit", "1000000", "--space", folder, "--agent", "agent-01").code == 0
    assert run_cli("claim", "x", "--for", "30d", "--space", folder, "--agent", "agent-01").code == 0


def test_counts_through_the_api_never_overflow(folder):
    """MCP passes counts straight to the API: a count beyond any board means all of it."""
    space = Space.open(folder, agent="agent-01")
    assert len(space.read(all=True, limit=10**30).messages) == 1
    assert len(space.read(limit=10**30).messages) == 1
    assert len(space.search("hello", limit=10**30)) == 1
    assert space.inbox(all=True, limit=10**30) == []


@pytest.mark.parametrize("text", ["99999999w", HUGE_INT + "h", "1e400h", "nan", "inf", "9" * 100_000 + "d"])
def test_parse_duration_refuses_instead_of_overflowing(text):
    with pytest.raises(InvalidInput) as exc:
        parse_duration(text)
    assert exc.value.hint and len(exc.value.message) < 200


@pytest.mark.parametrize("text", ["0001-01-01T00:00+14:00", "9999-12-31T23:59-12:00", "x" * 100_000])
def test_parse_time_never_overflows(text):
    assert parse_time(text) is None
