"""Lost answers (issue 11, break 3): writes are idempotent under retries.

A TCP proxy (tests/chaos_proxy.py) between obstore and a real S3 server (moto, loopback) lets
every request through and loses some answers, so the server has applied a write whose client
never heard back. A create-only write that finds its own bytes is a success; a result and its
items file are ordered so that nothing burns a name or loses "verified".
"""

from __future__ import annotations

import json
import os
import time
import sys
import traceback
from collections import Counter

import pytest

from chaos_proxy import ChaosProxy
from collabspace.domain import paths
from collabspace.domain.results.results import write_result
from collabspace.domain.setup.presets import preset_spec
from collabspace.errors import AlreadyExists, CollabError, StoreError
from collabspace.scorers.gsm8k import GSM8KScorer
from collabspace.space import Space
from collabspace.storage import open_store
from collabspace.storage.base import Store

ITEMS, _ = GSM8KScorer().reference()


def predictions(correct: int, wrong: int = 0) -> bytes:
    rows = [{"index": i, "prediction": f"So the answer is {ITEMS[i]['answer'].rsplit('####', 1)[1].strip()}."}
            for i in range(correct)]
    rows += [{"index": correct + i, "prediction": "The answer is -1."} for i in range(wrong)]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


@pytest.fixture
def proxy(s3_server):
    host, port = s3_server.removeprefix("http://").split(":")
    with ChaosProxy((host, int(port)), seed=11, truncate=0.0, reset=0.0) as p:
        yield p


def _via(proxy, monkeypatch, retries: int):
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    monkeypatch.setenv("COLLAB_S3_MAX_RETRIES", str(retries))


# -- the store: a create-only put whose answer was lost --------------------------------------------
@pytest.mark.parametrize("retries", [3, 0])  # obstore retries and gets 412 / obstore gives up with an error
@pytest.mark.parametrize("fate", ["reset", "truncate"])
def test_create_only_put_whose_answer_was_lost_is_a_success(s3_bucket, proxy, monkeypatch, retries, fate):
    _via(proxy, monkeypatch, retries)
    store = open_store(f"s3://{s3_bucket}/sp")
    proxy.lose_answer_to(b"PUT /" + s3_bucket.encode() + b"/sp/a/new.md", fate)
    store.put("a/new.md", b"mine", create_only=True)
    assert proxy.stats[fate] == 1
    assert store.get("a/new.md") == b"mine"
    with pytest.raises(AlreadyExists):  # someone else's bytes: still refused, unchanged
        store.put("a/new.md", b"theirs", create_only=True)
    assert store.get("a/new.md") == b"mine"


def test_a_create_only_put_that_did_not_land_still_fails(s3_bucket, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("COLLAB_S3_MAX_RETRIES", "0")
    with pytest.raises(StoreError):
        open_store(f"s3://{s3_bucket}/sp").put("a/k", b"x", create_only=True)


class _LosesAnswers(Store):
    """A store whose create-only puts land and then report ``error`` (the answer was lost)."""

    def __init__(self, inner: Store, error: CollabError) -> None:
        self.inner, self.url, self.error, self.lose = inner, inner.url, error, True

    def _put(self, key, data, create_only):
        self.inner.put(key, data, create_only=create_only)
        if create_only and self.lose:
            raise self.error

    def _get(self, key):
        return self.inner.get(key)

    def _list(self, prefix, start_after):
        return self.inner.list(prefix, start_after=start_after)

    def _head(self, key):
        return self.inner.head(key)

    def _delete(self, key):
        self.inner.delete(key)


@pytest.mark.parametrize("error", [AlreadyExists("taken"), StoreError("timed out")])
def test_every_create_only_writer_gets_it_from_the_store(memory_url, error):
    store = _LosesAnswers(open_store(memory_url), error)
    store.put("k", b"v", create_only=True)  # landed, answer lost: ours
    assert store.get("k") == b"v"
    with pytest.raises(AlreadyExists):
        store.put("k", b"other", create_only=True)


# -- posts -------------------------------------------------------------------------------------------
def test_a_post_whose_answer_was_lost_is_stored_once(s3_bucket, proxy, monkeypatch, clock):
    url = f"s3://{s3_bucket}/sp"
    Space.init(url, preset_spec("gsm8k"), clock=clock)
    _via(proxy, monkeypatch, 3)
    space = Space.open(url, agent="agent-01", clock=clock)
    proxy.lose_answer_to(b"PUT /" + s3_bucket.encode() + b"/sp/message_board/")
    message = space.post("status-update", "only once", topic="t")
    assert message.key == "message_board/20260425-143000_agent-01_t.md"
    assert [i.key for i in space.store.list("message_board/2")] == [message.key]


def test_a_post_told_it_failed_is_found_by_the_retry(memory_url, clock):
    """A user retries a post that was stored but reported failed: the same-second slot holding our bytes is ours."""
    Space.init(memory_url, preset_spec("gsm8k"), clock=clock)
    space = Space.open(memory_url, agent="agent-01", clock=clock)
    space.post("status-update", "theirs", topic="t")  # _001 holds other bytes
    store = space.store
    key2 = "message_board/20260425-143000_agent-01_t_002.md"
    first = space.post("status-update", "ours", topic="t")
    assert first.key == key2
    again = space.post("status-update", "ours", topic="t")  # the retry: same bytes, same second
    assert again.key == key2
    assert len([i for i in store.list("message_board/2")]) == 2


# -- results ---------------------------------------------------------------------------------------
def _doc(**kw):
    return {"agent_id": "agent-01", "experiment": "e", "score": 0.5, "timestamp": "2026-04-25T14:30:00Z", **kw}


def test_a_result_whose_answer_was_lost_keeps_its_items_and_verified(s3_bucket, proxy, monkeypatch, clock):
    url = f"s3://{s3_bucket}/sp"
    Space.init(url, preset_spec("gsm8k"), clock=clock)
    _via(proxy, monkeypatch, 3)
    space = Space.open(url, agent="agent-01", clock=clock)
    proxy.lose_answer_to(b"PUT /" + s3_bucket.encode() + b"/sp/artifacts/results/cot_agent-01.json")
    done = space.submit("cot", predictions=predictions(10), name="cot")
    assert done.status == "verified" and proxy.stats["reset"] == 1
    doc = json.loads(space.store.get("artifacts/results/cot_agent-01.json"))
    assert doc["status"] == "verified"
    assert space.store.get("artifacts/results/cot_agent-01.items.jsonl") == done.report.items_jsonl()


def test_an_orphan_items_file_does_not_burn_the_name(memory_url):
    store = open_store(memory_url)
    key = "artifacts/results/run_agent-01.json"
    store.put(paths.items_key(key), b'{"index": 0, "correct": false}\n', create_only=True)  # a crashed attempt
    write_result(store, key, _doc(), b'{"index": 0, "correct": true}\n')
    assert json.loads(store.get(key))["score"] == 0.5
    assert store.get(paths.items_key(key)) == b'{"index": 0, "correct": true}\n'


def test_a_retried_submit_is_a_success_and_completes_its_items(memory_url):
    store = open_store(memory_url)
    key = "artifacts/results/run_agent-01.json"
    items = b'{"index": 0, "correct": true}\n'
    write_result(store, key, _doc(), items)
    write_result(store, key, _doc(), items)  # the same bytes again
    store.delete(paths.items_key(key))  # as if an old writer had lost it
    write_result(store, key, _doc(timestamp="2026-04-25T14:31:07Z"), items)  # a user's retry, a minute later
    assert store.get(paths.items_key(key)) == items
    assert json.loads(store.get(key))["timestamp"] == "2026-04-25T14:30:00Z"


def test_a_real_name_clash_is_refused_and_changes_nothing(memory_url):
    store = open_store(memory_url)
    key = "artifacts/results/run_agent-01.json"
    write_result(store, key, _doc(), b"theirs\n")
    before = {i.key: store.get(i.key) for i in store.list("")}
    for items in (b"mine\n", None):
        with pytest.raises(AlreadyExists, match="run_agent-01.json already exists"):
            write_result(store, key, _doc(score=0.9), items)
    assert {i.key: store.get(i.key) for i in store.list("")} == before


def test_losing_the_result_race_gives_back_the_items_file(memory_url):
    """A racer's result lands between our items write and our result write: its items file is restored."""
    inner = open_store(memory_url)
    key = "artifacts/results/run_agent-01.json"
    inner.put(paths.items_key(key), b"racer\n", create_only=True)  # the racer is between its two writes

    class Racer(_LosesAnswers):
        def _put(self, k, data, create_only):
            if k == key and create_only:  # the racer's result lands first
                self.inner.put(key, json.dumps(_doc(score=0.1)).encode(), create_only=True)
            self.inner.put(k, data, create_only=create_only)

    with pytest.raises(AlreadyExists):
        write_result(Racer(inner, StoreError("unused")), key, _doc(), b"mine\n")
    assert inner.get(paths.items_key(key)) == b"racer\n"
    assert json.loads(inner.get(key))["score"] == 0.1


# -- the chaos run -----------------------------------------------------------------------------------
def _retry(call, attempts: int = 8):
    """Call as a user would: again on an error, up to ``attempts`` times. Returns (value, errors)."""
    errors: list[CollabError] = []
    for _ in range(attempts):
        try:
            return call(), errors
        except CollabError as exc:
            errors.append(exc)
    return None, errors


@pytest.mark.slow
def test_chaos_posts_submits_and_claims(s3_server, s3_bucket, monkeypatch, capsys):
    started = time.monotonic()
    url = f"s3://{s3_bucket}/sp"
    Space.init(url, preset_spec("gsm8k"))
    direct = open_store(url)  # the test's own eyes, not behind the proxy
    host, port = s3_server.removeprefix("http://").split(":")
    figures: Counter[str] = Counter(dict.fromkeys((
        "posts", "post duplicates", "post misreports", "post errors reported", "posts never stored",
        "submits", "submit misreports", "submits told already exists", "submit errors reported",
        "submits never stored", "burned names", "orphan items files", "lost verified",
        "claims", "claim duplicates", "claim misreports", "claim errors reported", "claims never stored"), 0))
    misreported: list[str] = []
    bodies: dict[str, str] = {}

    def board_bodies() -> Counter[str]:
        for info in direct.list(paths.BOARD):
            if info.key not in bodies:
                bodies[info.key] = direct.get(info.key).decode(errors="replace")
        return Counter(b for b in bodies.values())

    def posts_holding(text: str) -> int:
        return sum(n for body, n in board_bodies().items() if text in body)

    with ChaosProxy((host, int(port)), seed=int(os.environ.get("CHAOS_SEED", "20261201")), truncate=0.15,
                    reset=0.05) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        monkeypatch.setenv("COLLAB_S3_MAX_RETRIES", os.environ.get("CHAOS_RETRIES", "2"))
        space = _retry(lambda: Space.open(url, agent="agent-01"))[0]
        assert space is not None

        for i in range(40):
            text = f"chaos post {i:02d}"

            def post(text=text):
                try:
                    return space.post("status-update", text, topic="chaos")
                except CollabError:
                    if posts_holding(text):  # told "failed", but stored: a misreport
                        figures["post misreports"] += 1
                        misreported.append("".join(traceback.format_exception(sys.exception(), chain=False)))
                    raise

            message, errors = _retry(post)
            figures["posts"] += 1
            figures["post errors reported"] += len(errors)
            figures["posts never stored"] += message is None

        expected_items: dict[str, bytes] = {}
        for i in range(10):
            name = f"chaos-{i}"
            key = paths.result_key(name, "agent-01")
            verified = i < 6
            kwargs = dict(predictions=predictions(10 + i, 3)) if verified else dict(score=0.1 * i)

            def submit(name=name, key=key, kwargs=kwargs):
                try:
                    return space.submit(f"chaos run {name}", name=name, **kwargs)
                except AlreadyExists:
                    figures["submits told already exists"] += 1
                    raise
                except CollabError:
                    if direct.exists(key):
                        figures["submit misreports"] += 1
                        misreported.append("".join(traceback.format_exception(sys.exception(), chain=False)))
                    raise

            done, errors = _retry(submit)
            figures["submits"] += 1
            figures["submit errors reported"] += len(errors)
            figures["submits never stored"] += done is None
            if verified:
                report = GSM8KScorer().score(kwargs["predictions"], split=space.spec.scorer.split)
                expected_items[paths.items_key(key)] = report.items_jsonl()

        for i in range(10):
            scope = f"chaos scope {i}"

            def claim(scope=scope):
                try:
                    return space.claim(scope, note=f"note for {scope}")
                except CollabError:
                    if posts_holding(f"note for {scope}"):
                        figures["claim misreports"] += 1
                        misreported.append("".join(traceback.format_exception(sys.exception(), chain=False)))
                    raise

            got, errors = _retry(claim)
            figures["claims"] += 1
            figures["claim errors reported"] += len(errors)
            figures["claims never stored"] += got is None
        faults = dict(proxy.stats)

    counts = board_bodies()
    figures["post duplicates"] = sum(n - 1 for body, n in counts.items() if "chaos post" in body and n > 1)
    figures["claim duplicates"] = sum(max(0, posts_holding(f"note for chaos scope {i}") - 1) for i in range(10))
    results = {i.key for i in direct.list("artifacts/results/")}
    for i in range(10):
        key = paths.result_key(f"chaos-{i}", "agent-01")
        items = paths.items_key(key)
        if key not in results:
            figures["burned names"] += items in results
            continue
        doc = json.loads(direct.get(key))
        if i < 6 and (doc.get("status") != "verified" or direct.get(items) != expected_items.get(items)):
            figures["lost verified"] += 1
    figures["orphan items files"] = sum(1 for k in results if k.endswith(".items.jsonl")
                                        and k.removesuffix(".items.jsonl") + ".json" not in results)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nchaos run ({elapsed:.0f} s; faults injected: {faults}):")
        for name in sorted(figures):
            print(f"  {name}: {figures[name]}")
        for tb in misreported[:4]:
            print("misreported:", tb)
    assert faults.get("reset", 0) + faults.get("truncate", 0) >= 20  # the proxy did lose answers
    assert figures["posts"] == 40 and figures["submits"] == 10 and figures["claims"] == 10
    assert figures["posts never stored"] == figures["submits never stored"] == figures["claims never stored"] == 0
    assert figures["post duplicates"] == 0 and figures["claim duplicates"] == 0
    assert figures["post misreports"] == figures["submit misreports"] == figures["claim misreports"] == 0
    assert figures["submits told already exists"] == 0
    assert figures["burned names"] == 0 and figures["orphan items files"] == 0 and figures["lost verified"] == 0
    assert elapsed < 120
