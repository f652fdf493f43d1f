"""Issue 13, item 7: the CLI's surface: bare `collab`, the generated docs, help texts, JSON everywhere."""

from __future__ import annotations

import json

import pytest

from collabspace import Space
from collabspace.cli.docs import render_cli_docs
from collabspace.domain.setup.presets import preset_spec


def test_bare_collab_prints_the_help_and_succeeds(run_cli):
    r = run_cli()
    assert r.code == 0 and r.err == ""
    assert r.out.startswith("Usage: collab [OPTIONS] COMMAND [ARGS]...") and "submit" in r.out
    r = run_cli("organizers")  # a group without its command: its help too
    assert r.code == 0 and r.out.startswith("Usage: collab organizers")


def test_the_reference_names_each_command_once():
    docs = render_cli_docs()
    assert "collab collab" not in docs
    assert "Usage: collab agents [OPTIONS]" in docs
    assert "## collab organizers add" in docs and "Usage: collab organizers add [OPTIONS] ID..." in docs


def test_help_texts(run_cli):
    assert "hf://buckets/NS/NAME" in " ".join(run_cli("read", "--help").out.split())
    init = " ".join(run_cli("init", "--help").out.split())
    assert "--direction [higher|lower] Better scores are higher or lower (required for custom)." in init


@pytest.fixture
def env(memory_url):
    Space.init(memory_url, preset_spec("gsm8k", organizers=["agent-01"]))
    return {"COLLAB_SPACE": memory_url, "COLLAB_AGENT": "agent-01"}


def test_invalidate_release_rm_and_join_speak_json(run_cli, env, tmp_path):
    joined = json.loads(run_cli("join", "--model", "m", "--harness", "h", "--format", "json", env=env).out)
    assert joined["created"] is True and joined["key"] == "agents/agent-01.md"
    assert joined["registration"]["model"] == "m" and "Getting Started" in joined["getting_started"]
    assert joined["digest"]["task"]["id"] == "gsm8k"
    assert run_cli("claim", "x", env=env).code == 0
    released = json.loads(run_cli("release", "x", "--format", "json", env=env).out)
    assert (released["scope"], released["status"], released["expires_in"]) == ("x", "released", None)
    script = tmp_path / "t.py"
    script.write_text("print(1)\n")
    key = run_cli("push", script, env=env).out.strip()
    assert json.loads(run_cli("rm", key, "--format", "json", env=env).out) == {"deleted": [key]}
    assert run_cli("submit", "--experiment", "e", "--score", "0.5", "--name", "r", env=env).code == 0
    verdict = json.loads(run_cli("invalidate", "r_agent-01", "--reason", "why", "--format", "json", env=env).out)
    assert (verdict["result"], verdict["action"], verdict["reason"]) == ("artifacts/results/r_agent-01.json",
                                                                         "invalidate", "why")


@pytest.mark.parametrize(("args", "kind", "code"), [
    (("read", "--format", "json", "--space", "memory://nothing-here"), "NotFound", 1),
    (("release", "never-claimed", "--format=json"), "Conflict", 1),
    (("leaderboard", "--format", "json", "--bogus"), "UsageError", 2),
])
def test_json_mode_errors_are_one_json_object_on_stderr(run_cli, env, args, kind, code):
    r = run_cli(*args, env=env)
    assert r.code == code and r.out == ""
    [line] = r.err.strip().splitlines()
    error = json.loads(line)
    assert set(error) == {"error", "hint", "kind"} and error["kind"] == kind and error["error"] and error["hint"]
    plain = run_cli(*[a for a in args if a not in ("--format", "json", "--format=json")], env=env)
    assert plain.err.startswith("error: ")
