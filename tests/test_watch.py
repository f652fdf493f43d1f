"""``collab watch``: new messages as they arrive, inbox items marked, in both modes (a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from gateway_support import serve_folder

from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space

pytestmark = pytest.mark.slow


def decode_all(text: str) -> list[dict]:
    out, i, dec = [], 0, json.JSONDecoder()
    text = text.strip()
    while i < len(text):
        obj, i = dec.raw_decode(text, i)
        out.append(obj)
        while i < len(text) and text[i].isspace():
            i += 1
    return out


@pytest.mark.parametrize("mode", ["direct", "gateway"])
def test_watch_prints_new_messages_and_marks_the_inbox(tmp_path, mode):
    folder = tmp_path / "space"
    Space.init(str(folder), preset_spec("gsm8k"))
    gw = serve_folder(folder) if mode == "gateway" else None
    url = gw.url if gw else str(folder)
    try:
        poster = Space.open(url, agent="agent-01")
        poster.post("status-update", "before the watch", topic="old")
        Space.open(url, agent="agent-02").read()  # agent-02 has read it (its cursor is in the state folder)
        env = {**os.environ, "COLLAB_SPACE": url, "COLLAB_AGENT": "agent-02"}
        watcher = subprocess.Popen([sys.executable, "-m", "collabspace.cli", "watch", "--count", "2", "--format", "json",
                                    "--interval", "0.5"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        time.sleep(3)  # the watcher is up, and the old post is not news to agent-02
        t0 = time.monotonic()
        a = poster.post("status-update", "news one", topic="one")
        b = poster.post("question", "@agent-02 can you check?", topic="two")
        out, err = watcher.communicate(timeout=60)
        took = time.monotonic() - t0
        assert watcher.returncode == 0, err
        items = decode_all(out)
        assert [(i["key"], i["inbox"]) for i in items] == [(a.key, False), (b.key, True)]
        assert took < 10
        assert "before the watch" in [m.body.strip() for m in Space.open(url, agent="agent-02").read(all=True).messages]
    finally:
        if gw:
            gw.server.stop()
