"""The gateway: identity, authorization, limits, audit, idempotency, reads and push, over a real
uvicorn server on 127.0.0.1 and a real local-folder store (S3 and replicas: test_gateway_replicas.py)."""

from __future__ import annotations

import json
import os
import stat
import threading
import time

import pytest
from gateway_support import gateway, start_gateway  # noqa: F401

from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import spec_from_dict
from collabspace.errors import Conflict, Forbidden, RateLimited, TooLarge, Unauthorized
from collabspace.remote import RemoteSpace
from collabspace.space import Space

PRIVATE_AND_DERIVED = ["LEADERBOARD.md", "leaderboard.json", "README.md", "collab.toml",
                       "message_board/README.md", "packs/message-board/x.json", "gateway/tokens/agent-01.json",
                       "gateway/audit/x.jsonl", "quarantine/x.md"]


def snapshot(store) -> dict[str, bytes]:
    """Every stored object but the gateway's own bookkeeping (audit, idempotency records)."""
    return {i.key: store.get(i.key) for i in store.list("")
            if not i.key.startswith(("gateway/audit/", "gateway/requests/"))}


# -- identity ----------------------------------------------------------------------------------------
def test_join_binds_the_id_to_its_first_token_for_good(gateway, tmp_path):
    a = gateway.join("agent-01", model="m1")
    token_file = tmp_path / "config" if False else None  # noqa: F841
    from collabspace.local.dirs import config_dir

    path = config_dir() / "tokens.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text())[gateway.url]["agent-01"] == a.client.token
    assert a.agents()[0].agent == "agent-01"
    stored = gateway.store.get("gateway/tokens/agent-01.json").decode()
    assert a.client.token not in stored and a.client.token.split(".")[2] not in stored  # only a hash

    thief = RemoteSpace(gateway.url, agent="agent-01", token="cs1.agent-01." + "x" * 43)
    with pytest.raises(Conflict, match="agent id agent-01 is taken"):
        thief.join(invite=gateway.invite())


def test_invites_are_spent_and_expire(gateway):
    code = gateway.invite(uses=2)
    for agent in ("agent-01", "agent-02"):
        RemoteSpace(gateway.url, agent=agent).join(invite=code)
    with pytest.raises(Forbidden, match="used up"):
        RemoteSpace(gateway.url, agent="agent-03").join(invite=code)
    with pytest.raises(Forbidden, match="not valid"):
        RemoteSpace(gateway.url, agent="agent-04").join(invite=code[:-3] + "abc")
    expired = gateway.invite(expires="1s")
    time.sleep(1.2)
    with pytest.raises(Forbidden, match="expired"):
        RemoteSpace(gateway.url, agent="agent-05").join(invite=expired)
    assert [i.key for i in gateway.store.list("agents/")] == ["agents/agent-01.md", "agents/agent-02.md"]


def test_no_wrong_or_revoked_token_is_401_on_reads_and_writes(gateway):
    a = gateway.join("agent-01")
    a.post("status-update", "hello")
    from collabspace.gateway.identity import Tokens

    revoked = gateway.join("agent-02").client.token
    Tokens(gateway.store).revoke("agent-02")
    time.sleep(5.2)  # the replica's token cache (TOKEN_TTL_SECONDS)
    for token in (None, "nonsense", "cs1.agent-01." + "y" * 43, revoked):
        with gateway.http(token) as c:
            assert c.get("/v1/store", params={"prefix": "message_board/"}).status_code == 401
            assert c.get("/v1/messages").status_code == 401
            assert c.get("/api/board").status_code == 401
            r = c.post("/v1/messages", json={"type": "status-update", "body": "x"})
            assert r.status_code == 401 and set(r.json()) >= {"error", "hint", "kind"}
    assert len(list(gateway.store.list("message_board/"))) == 2  # README + agent-01's post


# -- authorization -----------------------------------------------------------------------------------
def test_a_token_acts_only_as_its_own_agent_on_every_write_route(gateway, tmp_path):
    a = gateway.join("agent-01")
    gateway.join("agent-02").post("status-update", "I am agent-02", topic="b")
    before = snapshot(gateway.store)
    tok = gateway.tokens["agent-01"]
    routes = [
        ("POST", "/v1/messages", {"json": {"agent": "agent-02", "type": "status-update", "body": "forged"}}),
        ("POST", "/v1/claims", {"json": {"agent": "agent-02", "scope": "lora"}}),
        ("POST", "/v1/claims/release", {"json": {"agent": "agent-02", "scope": "lora"}}),
        ("POST", "/v1/results", {"json": {"agent": "agent-02", "experiment": "x", "score": 0.9}}),
        ("POST", "/v1/verdicts", {"json": {"agent": "agent-02", "result": "x_agent-02.json", "reason": "r"}}),
        ("POST", "/v1/agents", {"json": {"agent": "agent-02", "model": "m"}}),
        ("POST", "/v1/quarantine", {"json": {"agent": "agent-02", "key": "agents/agent-02.md", "reason": "r"}}),
        ("DELETE", "/v1/artifacts/artifacts/scripts/x_agent-02.py", {"params": {"agent": "agent-02"}}),
        ("POST", "/v1/artifacts", {"params": {"agent": "agent-02"}, "content": b""}),
    ]
    with gateway.http(tok) as c:
        for method, path, kw in routes:
            r = c.request(method, path, **kw)
            assert r.status_code == 403, (path, r.text)
            assert "acts as agent-01, not as agent-02" in r.json()["error"]
    assert snapshot(gateway.store) == before
    refused = [r for r in gateway.audit() if r["status"] == 403]
    assert len(refused) == len(routes) and {r["agent"] for r in refused} == {"agent-01"}
    # the client's --agent is checked the same way
    forged = RemoteSpace(gateway.url, agent="agent-02", token=a.client.token)
    with pytest.raises(Forbidden, match="not as agent-02"):
        forged.post("status-update", "forged")


def test_clients_cannot_write_derived_or_private_files(gateway):
    gateway.join("agent-01")
    org = gateway.issue("org-1", "organizer")
    before = snapshot(gateway.store)
    for token in (gateway.tokens["agent-01"], org):
        with gateway.http(token) as c:
            for key in PRIVATE_AND_DERIVED:
                for method in ("PUT", "POST", "DELETE"):
                    r = c.request(method, f"/v1/store/{key}", content=b"# mine")
                    assert r.status_code == 403, (method, key, r.status_code)
            r = c.post("/v1/quarantine", json={"key": "collab.toml", "reason": "take over"})
            assert r.status_code in (400, 403), r.text
            r = c.post("/v1/quarantine", json={"key": "gateway/tokens/agent-01.json", "reason": "x"})
            assert r.status_code in (400, 403), r.text
    assert snapshot(gateway.store) == before
    refused = [r for r in gateway.audit() if r["outcome"] != "ok"]
    assert len(refused) == 2 * (len(PRIVATE_AND_DERIVED) * 3 + 2)


def test_the_token_store_and_audit_log_are_never_served(gateway):
    gateway.join("agent-01")
    with gateway.http(gateway.tokens["agent-01"]) as c:
        for key in ("gateway/tokens/agent-01.json", "gateway/invites", "gateway/audit/x.jsonl"):
            assert c.get(f"/v1/store/{key}").status_code == 403
        assert c.get("/v1/store", params={"prefix": "gateway/"}).status_code == 403
        listed = [o["key"] for o in c.get("/v1/store", params={"prefix": ""}).json()["objects"]]
        assert listed and not any(k.startswith("gateway/") for k in listed)
        assert "gateway/" not in c.get("/v1/openapi.json").text.replace("collabspace gateway", "")


@pytest.mark.parametrize("path, params", [
    ("/v1/store/..%2F..%2Fetc%2Fpasswd", {}),
    ("/v1/store/message_board%2F%2Fx.md", {}),
    ("/v1/store/%2Fetc%2Fpasswd", {}),
    ("/v1/store", {"prefix": "../"}),
    ("/v1/store", {"prefix": "a//b/"}),
    ("/v1/store", {"prefix": "/etc/"}),
])
def test_key_traversal_is_400(gateway, path, params):
    gateway.join("agent-01")
    with gateway.http(gateway.tokens["agent-01"]) as c:
        r = c.get(path, params=params)
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert r.json()["kind"] == "InvalidInput"


def test_oversize_requests_are_413(gateway):
    a = gateway.join("agent-01")
    with pytest.raises(TooLarge, match="cap of 65,536 bytes"):
        a.post("status-update", "x" * 70_000)
    with gateway.http(a.client.token) as c:
        r = c.post("/v1/messages", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["kind"] == "TooLarge"
    assert [i.key for i in gateway.store.list("message_board/")] == ["message_board/README.md"]
    assert sum(r["status"] == 413 for r in gateway.audit()) == 2


def test_rate_limits_answer_429_with_retry_after(tmp_path, run_cli):
    spec = spec_from_dict({**preset_spec("gsm8k").model_dump(mode="json", exclude_none=True),
                           "gateway": {"posts_per_minute": 3}})
    gw = start_gateway(str(tmp_path / "space"), spec=spec)
    try:
        a = gw.join("agent-01")
        for i in range(3):
            a.post("status-update", f"post {i}", topic=f"t{i}")
        with pytest.raises(RateLimited, match="limit of 3 posts per minute") as info:
            a.post("status-update", "one too many")
        assert 1 <= info.value.retry_after <= 60
        with gw.http(a.client.token) as c:
            r = c.post("/v1/messages", json={"type": "status-update", "body": "again"})
            assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
        r = run_cli("post", "--space", gw.url, "--agent", "agent-01", "--type", "status-update", "--body", "cli")
        lines = r.err.strip().splitlines()
        assert r.code == 1 and len(lines) == 2 and lines[0].startswith("error: agent-01 is over")
        assert lines[1].startswith("hint: retry in ")
        assert len([i for i in gw.store.list("message_board/") if "agent-01" in i.key]) == 3
    finally:
        gw.server.stop()


def test_host_header_and_cors(gateway):
    gateway.join("agent-01")
    with gateway.http(gateway.tokens["agent-01"]) as c:
        assert c.get("/v1", headers={"Host": "evil.example"}).status_code == 421
        assert c.get("/v1").status_code == 200
        pre = c.options("/v1/messages", headers={"Origin": "https://evil.example",
                                                  "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in pre.headers
        r = c.get("/v1/messages", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


# -- what the gateway writes ------------------------------------------------------------------------
def test_the_gateway_stamps_and_scores_and_ignores_sent_verification(gateway):
    a = gateway.join("agent-01")
    m = a.post("status-update", "hi", topic="x")
    assert m.extra["via"] == "gateway" and m.agent == "agent-01"
    with gateway.http(a.client.token) as c:
        r = c.post("/v1/results", json={"experiment": "forged", "score": 0.99, "name": "forged",
                                        "status": "verified", "verification": {"correct": 1319, "total": 1319}})
        assert r.status_code == 200, r.text
    row = next(r for r in a.leaderboard().rows if r.file.endswith("forged_agent-01.json"))
    assert row.status == "self-reported"
    doc = json.loads(gateway.store.get("artifacts/results/forged_agent-01.json"))
    assert doc["via"] == "gateway" and doc["agent_id"] == "agent-01" and "verification" not in doc


def test_an_idempotency_key_returns_the_first_outcome_and_never_duplicates(gateway):
    a = gateway.join("agent-01")
    with gateway.http(a.client.token) as c:
        body = {"type": "status-update", "body": "once", "topic": "once"}
        first = c.post("/v1/messages", json=body, headers={"Idempotency-Key": "k-1"})
        again = c.post("/v1/messages", json=body, headers={"Idempotency-Key": "k-1"})
        assert first.status_code == again.status_code == 200 and first.json() == again.json()
        other = c.post("/v1/messages", json={**body, "body": "twice"}, headers={"Idempotency-Key": "k-1"})
        assert other.status_code == 400 and "another request" in other.json()["error"]
    assert len([i for i in gateway.store.list("message_board/") if "agent-01" in i.key]) == 1


def test_a_retry_after_a_crash_mid_write_reruns_at_the_first_time(gateway):
    """A reservation without an outcome (the first attempt died after or before storing) reruns at the
    recorded time: the same key and bytes, so the store takes it as the same write."""
    from collabspace.gateway.service import Call, fingerprint

    a = gateway.join("agent-01")
    gw = gateway.server.gateway
    payload = {"type": "status-update", "body": "crash", "topic": "c"}

    def run(space):
        m = space.post("status-update", "crash", topic="c")
        return m.key, {"key": m.key}

    call = Call(token=a.client.token, idempotency_key="k-crash", agent="agent-01")
    first = gw.write(call, "post", payload, run)
    # simulate the lost outcome record: keep the reservation, drop the outcome
    from collabspace.domain import paths
    import hashlib

    rkey = paths.request_key("agent-01", hashlib.sha256(b"k-crash").hexdigest()[:40])
    rec = json.loads(gateway.store.get(rkey))
    gateway.store.put(rkey, json.dumps({**rec, "outcome": None}).encode())
    time.sleep(1.1)
    second = gw.write(call, "post", payload, run)
    assert first == second and rec["fingerprint"] == fingerprint("post", payload)
    assert len([i for i in gateway.store.list("message_board/") if "agent-01" in i.key]) == 1


# -- reads and push -----------------------------------------------------------------------------------
def test_writes_are_visible_at_once_and_polls_share_one_listing(tmp_path):
    gw = start_gateway(str(tmp_path / "space"), ttl=60.0)
    try:
        a, b = gw.join("agent-01"), gw.join("agent-02")
        b.read()
        m = a.post("status-update", "write-through", topic="wt")
        assert [x.key for x in b.read().messages] == [m.key]  # at once, although the TTL is 60 s
        listings = gw.server.gateway.listings.listings
        agents = [gw.join(f"poller-{i}") for i in range(5)]
        for _ in range(4):
            for s in agents:
                s.read()
        assert gw.server.gateway.listings.listings - listings <= 4 + 3  # folders, not agents x polls
    finally:
        gw.server.stop()


def test_long_poll_answers_when_a_message_arrives(gateway):
    a, b = gateway.join("agent-01"), gateway.join("agent-02")
    first = a.post("status-update", "first", topic="one")
    got: dict = {}

    def poll():
        t0 = time.monotonic()
        with gateway.http(b.client.token) as c:
            got["r"] = c.get("/v1/messages", params={"after": first.file, "wait": 20}).json()
        got["t"] = time.monotonic() - t0

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    second = a.post("status-update", "second", topic="two")
    t.join(timeout=25)
    assert [m["key"] for m in got["r"]["messages"]] == [second.key] and got["r"]["cursor"] == second.file
    assert got["t"] < 5


def test_events_stream_new_messages(gateway):
    a, b = gateway.join("agent-01"), gateway.join("agent-02")
    a.post("status-update", "before", topic="zero")
    events: list[str] = []

    def listen():
        with gateway.http(b.client.token) as c, c.stream("GET", "/v1/events") as r:
            for line in r.iter_lines():
                events.append(line)
                if line.startswith("data:") and '"after-stream"' in line:
                    return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    time.sleep(0.7)
    a.post("status-update", "after", topic="after-stream")
    t.join(timeout=20)
    assert any(e == "event: message" for e in events)
    data = [json.loads(e[5:]) for e in events if e.startswith("data:") and "after-stream" in e]
    assert data and data[0]["agent"] == "agent-01"


def test_public_read_needs_no_token_but_writes_do(tmp_path):
    gw = start_gateway(str(tmp_path / "space"), public_read=True)
    try:
        gw.join("agent-01").post("status-update", "public", topic="p")
        anon = RemoteSpace(gw.url)
        assert [m.body.strip() for m in anon.read(all=True).messages] == ["public"]
        with gw.http() as c:
            assert c.get("/api/board").status_code == 200
            assert c.post("/v1/messages", json={"type": "status-update", "body": "x"}).status_code == 401
        with pytest.raises(Unauthorized):
            RemoteSpace(gw.url, agent="agent-09").post("status-update", "x")
    finally:
        gw.server.stop()


def test_the_api_describes_itself(gateway):
    gateway.join("agent-01")
    with gateway.http(gateway.tokens["agent-01"]) as c:
        d = c.get("/v1").json()
        assert d["service"] == "collabspace-gateway" and d["mcp"] == "/mcp"
        assert "POST /v1/messages" in d["routes"] and "GET /v1/events" in d["routes"]
        doc = c.get("/v1/openapi.json").json()
        assert "/v1/messages" in doc["paths"] and "/v1/results" in doc["paths"]
        assert c.get("/v1/me").json() == {"agent": "agent-01", "role": "agent"}


def test_errors_read_the_same_in_both_modes(gateway, tmp_path):
    direct = Space.open(str(tmp_path / "space"), agent="agent-01")
    remote = gateway.join("agent-01")
    for space in (direct, remote):
        with pytest.raises(Exception) as info:
            space.post("no-such-type", "x")
        assert "unknown message type 'no-such-type'" in info.value.message and info.value.hint


def test_organizers_change_only_through_the_operator(gateway, run_cli):
    gateway.join("agent-01")
    before = gateway.store.get("collab.toml")
    r = run_cli("organizers", "add", "agent-01", "--space", gateway.url, "--agent", "agent-01")
    lines = r.err.strip().splitlines()
    assert r.code == 1 and lines[0] == f"error: {gateway.url} is a gateway: its organizers change only through its operator"
    assert "collab gateway token STORE ID --organizer" in lines[1]
    assert gateway.store.get("collab.toml") == before
    r = run_cli("gateway", "token", str(gateway.store.root) if hasattr(gateway.store, "root") else gateway.store.url,
                "org-2", "--organizer")
    assert r.code == 0 and r.out.startswith("cs1.org-2.")
    assert "org-2" in Space(gateway.store).spec.organizers


def test_compare_and_per_item_results_work_through_the_gateway(gateway, tmp_path):
    a = gateway.join("agent-01")
    from collabspace.scorers.gsm8k import GSM8KScorer

    items, _ = GSM8KScorer().reference()
    def preds(n):
        return "".join(json.dumps({"index": i, "prediction": "#### " + items[i]["answer"].rsplit("####")[1].strip()})
                       + "\n" for i in range(n)).encode()
    one = a.submit("ten", predictions=preds(10), name="ten")
    two = a.submit("twenty", predictions=preds(20), name="twenty")
    assert one.status == two.status == "verified"
    cmp = a.compare([one.key, two.key])
    (pair,) = cmp.pairs
    assert pair.b_not_a == list(range(10, 20)) and pair.a_not_b == [] and pair.both == 10
