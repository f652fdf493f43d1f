"""The same CLI session against a direct space and a gateway space gives the same answers.

One script of commands (board, claims, results, artifacts, errors) runs twice: on a local folder,
and through a gateway over another folder. Every step's exit code, stdout and stderr must match once
the times, the addresses and the gateway's ``via`` stamp are normalised.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from gateway_support import serve_folder

from collabspace.domain.setup.presets import preset_spec
from collabspace.scorers.gsm8k import GSM8KScorer
from collabspace.space import Space

ITEMS, _ = GSM8KScorer().reference()

STEPS: list[tuple[str, ...]] = [
    ("join", "--model", "m1", "--harness", "claude-code"),
    ("join", "--model", "m2"),                                   # another model: refused
    ("post", "--type", "status-update", "--topic", "plan", "--body", "starting"),
    ("post", "--type", "no-such-type", "--body", "x"),
    ("post", "--agent", "agent-02", "--type", "question", "--topic", "q", "--body", "@agent-01 which lr?"),
    ("read", "--format", "json"),
    ("read",),
    ("inbox", "--format", "json"),
    ("search", "lr"),
    ("claim", "lora sweep", "--for", "2h"),
    ("claim", "lora sweep", "--agent", "agent-02"),              # held: refused
    ("claims", "--format", "json"),
    ("release", "lora sweep"),
    ("release", "lora sweep"),                                   # nothing to release
    ("submit", "--experiment", "self reported", "--score", "0.5", "--name", "self"),
    ("submit", "--experiment", "self reported", "--score", "0.5", "--name", "self"),  # taken
    ("submit", "--experiment", "scored", "--predictions", "{preds}", "--name", "cot"),
    ("submit", "--experiment", "bad", "--score", "nan"),
    ("leaderboard", "--format", "json"),
    ("invalidate", "self_agent-01.json", "--reason", "a typo", "--agent", "agent-02"),  # not entitled
    ("invalidate", "self_agent-01.json", "--reason", "a typo"),
    ("leaderboard",),
    ("push", "{script}"),
    ("push", "{script}", "--agent", "agent-02", "--name", "train_agent-01"),  # another's name: refused
    ("artifacts", "--format", "json"),
    ("pull", "artifacts/scripts/train_agent-01.py", "{dest}"),
    ("rm", "artifacts/scripts/train_agent-01.py", "--agent", "agent-02"),    # not yours
    ("rm", "artifacts/scripts/train_agent-01.py"),
    ("agents", "--format", "json"),
    ("digest", "--format", "json"),
    ("show", "20250101-000000_agent-01_x.md"),
    ("read", "--since", "yesterday"),
]

_TIMES = [
    (re.compile(r"\d{8}-\d{6}(-\d+)?"), "STAMP"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|\+00:00| UTC)?"), "TIME"),
    (re.compile(r"\b(\d+(\.\d+)?\s?(ms|min|s|m|h|d))+\b( ago)?"), "DUR"),
    # sizes: a gateway's documents carry its "via": "gateway" stamp too
    (re.compile(r'"(size|age|expires_in|arrival|joined|last_modified|modified|date|time|timestamp|since|expires|ended|'
                r'read_to)": ("[^"]*"|null|\d+)'), r'"\1": X'),
]


def normalise(text: str, addresses: list[str]) -> str:
    for a in addresses:
        text = text.replace(a, "SPACE")
    text = re.sub(r'(,\s*)?"via": "gateway"', "", text).replace("via: gateway", "")
    for pattern, repl in _TIMES:
        text = pattern.sub(repl, text)
    return re.sub(r"[ \t]+\n", "\n", text)


def run_session(run_cli, url: str, tmp, addresses: list[str]) -> list[tuple[int, str, str]]:
    preds = tmp / "preds.jsonl"
    preds.write_text("".join(json.dumps({"index": i, "prediction": "#### " + ITEMS[i]["answer"].rsplit("####")[1]
                                         .strip()}) + "\n" for i in range(20)))
    script = tmp / "train.py"
    script.write_text("print('train')\n")
    out = []
    for step in STEPS:
        if "cot" in step:  # a later second than the first result: ties within a second are ordered by name
            time.sleep(1.1)
        args = [a.format(preds=preds, script=script, dest=tmp / "pulled.py") for a in step]
        r = run_cli(*args, env={"COLLAB_SPACE": url, "COLLAB_AGENT": "agent-01"})
        out.append((r.code, normalise(r.out, addresses + [str(tmp)]), normalise(r.err, addresses + [str(tmp)])))
    return out


@pytest.mark.slow
def test_the_same_session_reads_the_same_in_both_modes(run_cli, tmp_path):
    (tmp_path / "direct").mkdir()
    (tmp_path / "gw").mkdir()
    direct_url = str(tmp_path / "direct" / "space")
    Space.init(direct_url, preset_spec("gsm8k"))
    gw_folder = tmp_path / "gw" / "space"
    Space.init(str(gw_folder), preset_spec("gsm8k"))
    gw = serve_folder(gw_folder)
    try:
        direct = run_session(run_cli, direct_url, tmp_path / "direct", [direct_url])
        gateway = run_session(run_cli, gw.url, tmp_path / "gw", [gw.url, str(gw_folder)])
    finally:
        gw.server.stop()
    for step, d, g in zip(STEPS, direct, gateway):
        assert d == g, f"collab {' '.join(step)}:\n direct  {d}\n gateway {g}"
    codes = [d[0] for d in direct]
    assert codes.count(0) >= 20 and codes.count(1) >= 8  # the session exercises both
