"""collab init / join / ls / cat: the files that land, the errors bad input gets."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from collabspace import Conflict, InvalidInput, NotFound, Space
from collabspace.domain.setup.presets import preset_spec
from collabspace.storage import open_store

GENERATED = ["LEADERBOARD.md", "README.md", "artifacts/README.md", "collab.toml", "leaderboard.json",
             "message_board/README.md"]


def snapshot(url: str) -> dict[str, bytes]:
    store = open_store(url)
    return {i.key: store.get(i.key) for i in store.list("")}


def test_init_gsm8k_writes_the_template_files(run_cli, tmp_path):
    space = tmp_path / "x"
    r = run_cli("init", space, "--task", "gsm8k")
    assert r.code == 0, r
    files = sorted(str(p.relative_to(space)) for p in space.rglob("*") if p.is_file())
    assert files == GENERATED
    readme = (space / "README.md").read_text()
    assert readme.startswith("# GSM8K Challenge -- Multi-Agent Collaboration Workspace")
    for part in ("## Goal", "## About GSM8K", "1,319 test examples", "**Direction**: Higher is better",
                 "## Environment Layout", "## Getting Started", "## Key Conventions", "## Commands",
                 "collab join", "collab post", f"cat {space}/LEADERBOARD.md"):
        assert part in readme, part
    board = (space / "message_board/README.md").read_text()
    assert "{YYYYMMDD-HHmmss}_{agent_id}_{topic}.md" in board
    for t in ("status-update", "experiment-proposal", "results-report", "question", "claim", "build-on"):
        assert f"**`{t}`**" in board
    for field in ("agent:", "type:", "timestamp:", "refs:"):
        assert field in board
    artifacts = (space / "artifacts/README.md").read_text()
    assert "{descriptive_name}_{agent_id}.{ext}" in artifacts
    schema = json.loads(artifacts.split("```json\n", 1)[1].split("```", 1)[0])
    assert {"agent_id", "experiment", "score"} <= schema.keys()
    spec = tomllib.loads((space / "collab.toml").read_text())
    assert spec["metric"] == {
        "name": "accuracy", "direction": "higher",
        "description": "Exact match accuracy on the final numeric answer of the test split (1,319 examples)",
        "min": 0.0, "max": 1.0,
    }
    board_md = (space / "LEADERBOARD.md").read_text()
    assert "| rank | agent | accuracy |" in board_md and "Last number in the question" in board_md


def test_init_parameter_golf_on_real_s3(run_cli, s3_bucket):
    url = f"s3://{s3_bucket}/pg"
    r = run_cli("init", url, "--task", "parameter-golf")
    assert r.code == 0, r
    files = snapshot(url)
    assert sorted(files) == GENERATED
    readme = files["README.md"].decode()
    assert "Parameter Golf" in readme and "**Direction**: Lower is better" in readme
    assert "`artifact_size_bytes` <= 16,000,000" in readme
    assert f"aws s3 cp ./train_lora.py {url}/artifacts/scripts/train_lora_agent-01.py" in files["artifacts/README.md"].decode()
    assert "1.2244" in files["LEADERBOARD.md"].decode()
    spec = tomllib.loads(files["collab.toml"].decode())
    assert spec["metric"]["direction"] == "lower"
    assert spec["constraints"]["limits"][0] == {"field": "artifact_size_bytes", "max": 16000000.0,
                                                 "description": "code plus compressed weights"}


@pytest.mark.parametrize("direction,order", [("lower", ["b-best", "b-worst"]), ("higher", ["b-worst", "b-best"])])
def test_leaderboard_baselines_sorted_by_direction(memory_url, direction, order):
    from collabspace.domain.setup.spec import spec_from_dict

    spec = spec_from_dict({
        "task": {"id": "t", "title": "T", "goal": "g"},
        "metric": {"name": "loss", "direction": direction},
        "baselines": [{"name": "b-worst", "score": 3.0}, {"name": "b-best", "score": 1.5}],
    })
    md = Space.init(memory_url, spec).cat("LEADERBOARD.md").decode()
    rows = [line for line in md.splitlines() if line.startswith("| - |")]
    assert [r.split("|")[4].strip() for r in rows] == order


def test_custom_task(run_cli, tmp_path):
    r = run_cli("init", tmp_path / "c", "--task", "custom", "--title", "Tiny Shakespeare", "--metric",
                "val_loss", "--direction", "lower", "--goal", "Lowest validation loss.")
    assert r.code == 0, r
    spec = tomllib.loads((tmp_path / "c/collab.toml").read_text())
    assert spec["task"]["id"] == "tiny-shakespeare" and spec["metric"]["direction"] == "lower"


@pytest.mark.parametrize("args,needle", [
    (["--task", "custom", "--title", "X"], "--task custom needs --metric, --direction, --goal"),
    (["--task", "nope"], "Invalid value for '--task'"),
    (["--task", "custom", "--title", "X", "--metric", "m", "--direction", "up", "--goal", "g"], "--direction"),
])
def test_init_bad_options(run_cli, tmp_path, args, needle):
    r = run_cli("init", tmp_path / "y", *args)
    assert r.code != 0
    lines = r.err.strip().splitlines()
    assert lines[0].startswith("error: ") and needle in lines[0]
    assert lines[1].startswith("hint: ") and len(lines) == 2
    assert not (tmp_path / "y").exists()


def test_init_refuses_existing_space_and_changes_nothing(run_cli, tmp_path):
    url = str(tmp_path / "s")
    assert run_cli("init", url, "--task", "gsm8k").code == 0
    before = snapshot(url)
    r = run_cli("init", url, "--task", "parameter-golf")
    assert r.code == 1 and "already holds a collab space" in r.err and "hint:" in r.err
    assert snapshot(url) == before


def test_init_refuses_non_empty_folder(run_cli, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("mine")
    r = run_cli("init", tmp_path / "d", "--task", "gsm8k")
    assert r.code == 1 and "notes.txt" in r.err
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["notes.txt"]


def test_concurrent_inits_one_wins(memory_url):
    import threading

    outcomes = []

    def go(task):
        try:
            Space.init(memory_url, preset_spec(task))
            outcomes.append(task)
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=go, args=(t,)) for t in ["gsm8k", "parameter-golf"] * 5]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("refused") == 9
    winner = next(o for o in outcomes if o != "refused")
    assert Space.open(memory_url).spec.task.id == winner


def test_join_writes_registration(run_cli, tmp_path):
    url = str(tmp_path / "s")
    run_cli("init", url)
    r = run_cli("join", "--space", url, "--agent", "agent-01", "--model", "claude-opus-4",
                "--harness", "claude-code", "--tools", "bash, python", "--bio", "I like LoRA.")
    assert r.code == 0, r
    assert "Getting Started" in r.out
    text = (tmp_path / "s/agents/agent-01.md").read_text()
    assert text.startswith("---\nagent: agent-01\nmodel: claude-opus-4\nharness: claude-code\ntools:\n- bash\n- python\njoined: ")
    assert text.rstrip().endswith("I like LoRA.")
    # the same agent re-joining is a no-op
    r2 = run_cli("join", "--space", url, "--agent", "agent-01", "--model", "claude-opus-4")
    assert r2.code == 0 and "nothing changed" in r2.err
    assert (tmp_path / "s/agents/agent-01.md").read_text() == text
    # another agent taking the id is refused
    r3 = run_cli("join", "--space", url, "--agent", "agent-01", "--model", "gpt-5", "--harness", "codex")
    assert r3.code == 1 and "already registered" in r3.err and "--agent" in r3.err
    assert (tmp_path / "s/agents/agent-01.md").read_text() == text
    listed = run_cli("agents", "--space", url, "--format", "json")
    assert json.loads(listed.out)[0]["model"] == "claude-opus-4"


def test_join_reads_env(run_cli, tmp_path):
    url = str(tmp_path / "s")
    run_cli("init", url)
    r = run_cli("join", env={"COLLAB_SPACE": url, "COLLAB_AGENT": "env-agent"})
    assert r.code == 0, r
    assert (tmp_path / "s/agents/env-agent.md").exists()


@pytest.mark.parametrize("bad", ["Agent01", "agent_01", "a/b", "..", "-a", "a-", "", "x" * 41, "a b", "é"])
def test_bad_agent_ids_refused(run_cli, tmp_path, bad):
    url = str(tmp_path / "s")
    run_cli("init", url)
    r = run_cli("join", "--space", url, "--agent", bad)
    assert r.code == 1, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["LEADERBOARD.md", "README.md", "artifacts",
                                                                  "collab.toml", "leaderboard.json", "message_board"]


def test_join_without_space_or_on_missing_space(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("COLLAB_SPACE", raising=False)
    r = run_cli("join", "--agent", "a1")
    assert r.code == 1 and "no space given" in r.err and "COLLAB_SPACE" in r.err
    r = run_cli("join", "--agent", "a1", "--space", tmp_path / "missing")
    assert r.code == 1 and "collab init" in r.err
    (tmp_path / "empty").mkdir()
    r = run_cli("join", "--agent", "a1", "--space", tmp_path / "empty")
    assert r.code == 1 and "no collab space" in r.err
    assert list((tmp_path / "empty").iterdir()) == []


def test_ls_and_cat(run_cli, tmp_path):
    url = str(tmp_path / "s")
    run_cli("init", url)
    r = run_cli("ls", "--space", url, "--format", "json")
    assert [o["key"] for o in json.loads(r.out)] == GENERATED
    r = run_cli("ls", "message_board/", "--space", url)
    assert r.out.strip().endswith("message_board/README.md") and len(r.out.strip().splitlines()) == 1
    r = run_cli("cat", "collab.toml", "--space", url)
    assert r.code == 0 and 'id = "gsm8k"' in r.out
    r = run_cli("cat", "nope.md", "--space", url)
    assert r.code == 1 and "not found" in r.err and "collab ls" in r.err
    r = run_cli("cat", "../../etc/passwd", "--space", url)
    assert r.code == 1 and "invalid object key" in r.err


def test_invalid_spec_in_space_is_one_line(run_cli, tmp_path):
    url = str(tmp_path / "s")
    run_cli("init", url)
    path = tmp_path / "s/collab.toml"
    path.write_text(path.read_text().replace('direction = "higher"', 'direction = "up"'))
    r = run_cli("join", "--space", url, "--agent", "a1")
    assert r.code == 1
    assert r.err.splitlines()[0] == "error: collab.toml: metric.direction: Input should be 'higher' or 'lower' (got 'up')"


def test_python_m_and_console_script(tmp_path):
    out = subprocess.run([sys.executable, "-m", "collabspace", "init", str(tmp_path / "p")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Created the GSM8K space" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "collabspace", "cat", "x", "--space", str(tmp_path / "p")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and bad.stderr.startswith("error: ")


def test_space_api_errors():
    with pytest.raises(InvalidInput):
        Space.open("memory://api", agent="Not Valid")
    with pytest.raises(NotFound):
        Space.open("memory://api-empty").spec  # noqa: B018


def test_missing_extra_names_what_to_install():
    from collabspace.errors import MissingExtra, require_extra

    with pytest.raises(MissingExtra) as err:
        require_extra("surely_not_installed_module", "web")
    assert err.value.hint == "pip install 'collabspace[web]'"
    assert require_extra("json", "core").dumps([]) == "[]"
