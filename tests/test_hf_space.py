"""Every board, artifact and results operation on an hf:// space (the fake HfApi with the real signatures)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from fake_hub import FakeHfApi

from collabspace import Conflict, Space
from collabspace.domain.setup.presets import preset_spec
from collabspace.storage.hf import HFBucketStore

TEST_SET = Path(__file__).resolve().parents[1] / "src/collabspace/scorers/data/gsm8k_test.jsonl"


@pytest.fixture
def hub():
    api = FakeHfApi()
    api.create_bucket("alice/gsm8k-collab")
    Space.init(HFBucketStore("alice/gsm8k-collab", api=api), preset_spec("gsm8k"))
    return api


def agent(hub, name: str) -> Space:
    return Space(HFBucketStore("alice/gsm8k-collab", api=hub, sleep=lambda s: None), agent=name)


def test_a_whole_session_on_an_hf_bucket(hub, tmp_path):
    a1, a2 = agent(hub, "agent-01"), agent(hub, "agent-02")
    a1.join(model="claude-opus-4", harness="claude-code")
    a2.join(model="gpt-5", harness="codex")
    proposal = a1.post("experiment-proposal", "CoT with self-consistency, +5 points expected.", topic="sc")
    a1.claim("self-consistency", duration="3h")
    with pytest.raises(Conflict):
        a2.claim("self-consistency")
    question = a2.post("question", "@agent-01 how many samples?", topic="samples", refs=[proposal.file])
    assert [m.file for m in a1.read().messages] == [question.file]
    assert [m.file for m in a1.inbox(all=True)] == [question.file]
    assert [m.file for m in a1.search("samples")] == [question.file]
    script = tmp_path / "sc.py"
    script.write_text("print('self-consistency')\n")
    pushed = a1.push(str(script), kind="scripts")
    assert pushed.key == "artifacts/scripts/sc_agent-01.py"
    a2.pull(pushed.key, str(tmp_path / "copy.py"))
    assert (tmp_path / "copy.py").read_text() == script.read_text()
    gold = [json.loads(line)["answer"].split("####")[-1].strip() for line in TEST_SET.read_text().splitlines()]
    preds = "".join(json.dumps({"index": i, "prediction": f"#### {g}"}) + "\n" for i, g in enumerate(gold[:660]))
    verified = a1.submit("Self-consistency, 8 samples", predictions=preds.encode(), refs=[proposal.file])
    assert verified.status == "verified" and verified.score == pytest.approx(660 / 1319)
    leaky = a2.submit("Leaky eval", score=0.99, name="leaky")
    follower = a1.submit("Built on the leaky one", score=0.95, name="follow", refs=[leaky.key])
    a2.invalidate(leaky.key.rsplit("/", 1)[-1], "trained on the test split")
    board = a1.leaderboard()
    rows = {r.file: r for r in board.rows}
    assert rows[verified.key].status == "verified" and rows[leaky.key].status == "invalid"
    assert rows[follower.key].flag
    published = hub.buckets["alice/gsm8k-collab"]["LEADERBOARD.md"][0].decode()
    assert "Self-consistency, 8 samples" in published
    digest = a1.digest().markdown
    assert "self-consistency" in digest and len(digest) <= 6000


def test_api_calls_of_a_typical_agent_session(hub, tmp_path, capsys):
    """The figures in the issue's note: Hub API calls per operation, counted at the fake."""
    a1 = agent(hub, "agent-01")
    calls: dict[str, int] = {}
    requests: dict[str, dict[str, int]] = {}

    def count(name, fn):
        before = len(hub.calls)
        hub.counts.reset()
        fn()
        calls[name] = len(hub.calls) - before
        requests[name] = {**hub.counts.snapshot(), "paths_info": hub.counts.by_endpoint["paths_info"]}

    count("join", lambda: a1.join(model="m", harness="h"))
    count("digest", a1.digest)
    count("read (nothing new)", a1.read)
    count("post", lambda: a1.post("status-update", "hello", topic="hi"))
    # another machine (its own index) posts a question
    from datetime import datetime, timezone

    from collabspace.domain.board.messages import render_message

    now = datetime.now(timezone.utc)
    text = render_message(agent="agent-02", type="question", now=now, body="@agent-01 hi")
    hub.batch_bucket_files("alice/gsm8k-collab", add=[(text.encode(), f"message_board/{now:%Y%m%d-%H%M%S}_agent-02_q.md")])
    count("read (1 new)", a1.read)
    count("claim", lambda: a1.claim("lora"))
    count("submit (self-reported)", lambda: a1.submit("x", score=0.5))
    with capsys.disabled():
        print("\nHfApi calls per operation:", ", ".join(f"{k}: {v}" for k, v in calls.items()))
        print("Hub requests per operation (api/resolve/xet token/CAS):",
              ", ".join(f"{k}: {r['api']}/{r['resolve']}/{r['xet_token']}/{r['cas']}" for k, r in requests.items()))
    assert calls["read (nothing new)"] == 1  # one listing
    assert requests["read (nothing new)"] == {"api": 1, "resolve": 0, "xet_token": 0, "cas": 0, "paths_info": 0}
    assert calls["read (1 new)"] == 2  # one listing + one download
    # the download hands over the listing's file object: no paths-info call
    assert requests["read (1 new)"] == {"api": 1, "resolve": 1, "xet_token": 1, "cas": 2, "paths_info": 0}
    assert max(calls.values()) <= 25
    assert Counter(hub.calls)["whoami"] == 0
