"""Attacks on the gateway that got through (a security review): each test fails while its break is open.

Every test drives a real uvicorn gateway over a local folder (tests/gateway_support.py) the way an
outside agent would: HTTP with a bearer token, or MCP at /mcp.
"""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from datetime import datetime, timezone

import httpx2 as httpx
import pytest
from board_support import fill_board, put_message
from gateway_support import gateway, start_gateway  # noqa: F401
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import spec_from_dict
from collabspace.errors import CollabError, Conflict
from collabspace.remote import RemoteSpace
from collabspace.space import Space


def _spec(**gateway_settings):
    return spec_from_dict({**preset_spec("gsm8k").model_dump(mode="json", exclude_none=True),
                           "gateway": gateway_settings})


def _mcp(url: str, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30, read=60))
    return Client(streamable_http_client(url + "/mcp", http_client=http))


def _text(result) -> str:
    return "\n".join(c.text for c in result.content if hasattr(c, "text"))


def _tar(files: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _chunks(data: bytes, size: int = 65536):
    for i in range(0, len(data), size):
        yield data[i:i + size]


# -- MCP: the file tools -------------------------------------------------------------------------------
def test_mcp_pull_cannot_copy_the_gateways_private_state_into_the_space(gateway):
    """HIGH. The MCP ``pull`` tool reads the store directly (Space.pull), not through Gateway.get, so any
    token holder can pull ``gateway/`` (token records, invites, idempotency outcomes, the audit log) into
    the gateway's MCP folder, then ``push`` it back as a public artifact and read it over /v1/store."""
    a, _ = gateway.join("agent-01"), gateway.join("agent-02")

    async def main():
        async with _mcp(gateway.url, a.client.token) as ca:
            pulled = await ca.call_tool("pull", {"key": "gateway/tokens/agent-02.json", "dest": "tok.json"})
            whole = await ca.call_tool("pull", {"key": "gateway/", "dest": "gw"})
            pushed = await ca.call_tool("push", {"path": "tok.json", "kind": "data", "name": "loot"})
            return pulled, whole, pushed

    pulled, whole, pushed = asyncio.run(main())
    record = gateway.store.get("gateway/tokens/agent-02.json")
    published = [i.key for i in gateway.store.list("artifacts/") if gateway.store.get(i.key) == record]
    assert pulled.is_error and whole.is_error, (_text(pulled), _text(whole))
    assert pushed.is_error and not published, published


def test_mcp_file_folder_is_not_shared_between_agents(gateway):
    """LOW. All MCP callers shared one working folder on the gateway's disk: what one agent pulled there,
    every other agent could push as its own. Now a gateway's MCP has no file tools that touch its disk:
    push and pull are refused (a remote agent's files are on its own machine)."""
    a, b = gateway.join("agent-01"), gateway.join("agent-02")

    async def main():
        async with _mcp(gateway.url, a.client.token) as ca, _mcp(gateway.url, b.client.token) as cb:
            pulled = await ca.call_tool("pull", {"key": "collab.toml", "dest": "left-by-agent-01.toml"})
            pushed = await cb.call_tool("push", {"path": "left-by-agent-01.toml", "kind": "data", "name": "found"})
            return pulled, pushed

    pulled, pushed = asyncio.run(main())
    assert pulled.is_error and pushed.is_error, (_text(pulled), _text(pushed))
    assert "no files to work on" in _text(pulled) and "predictions as text" in _text(pushed)
    assert not list(gateway.store.list("artifacts/data/"))
    assert any(r["action"] == "push" and r["status"] == 403 for r in gateway.audit())


def test_mcp_results_are_stamped_via_gateway(gateway):
    """LOW. The HTTP route forces ``via=gateway`` into a result; MCP ``submit`` does not, so a result sent
    over MCP has no ``via`` stamp, and a caller's ``fields: {"via": "direct"}`` is stored as sent."""
    a = gateway.join("agent-01")

    async def main():
        async with _mcp(gateway.url, a.client.token) as ca:
            one = await ca.call_tool("submit", {"experiment": "e", "score": 0.5, "name": "plain"})
            two = await ca.call_tool("submit", {"experiment": "e", "score": 0.5, "name": "forged",
                                                "fields": {"via": "direct"}})
            return one, two

    one, two = asyncio.run(main())
    assert not one.is_error and not two.is_error, (_text(one), _text(two))
    for name in ("plain", "forged"):
        doc = json.loads(gateway.store.get(f"artifacts/results/{name}_agent-01.json"))
        assert doc.get("via") == "gateway", (name, doc)


# -- MCP: audit gaps -----------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "cs1.agent-01." + "z" * 43])
def test_an_mcp_write_refused_for_its_token_is_audited(gateway, token):
    """MEDIUM. POST /v1/messages without a valid token is audited (401); the same write as an MCP
    tools/call is refused by GatewayTools.__call__ before Gateway.write, and never reaches the log."""
    gateway.join("agent-01")
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "post", "arguments": {"type": "status-update", "body": "unauthenticated"}}}
    with httpx.Client(base_url=gateway.url, timeout=10) as c:
        assert c.post("/mcp", headers=headers, json=call).status_code == 401
    assert [r for r in gateway.audit() if r["status"] == 401], gateway.audit()


def test_an_mcp_post_over_the_body_cap_is_audited(tmp_path):
    """MEDIUM. GatewaySpace.post checks the body cap before Gateway.write, so an oversize post over MCP is
    refused with no audit record (over HTTP the same refusal is audited as 413)."""
    gw = start_gateway(str(tmp_path / "space"), spec=_spec(max_body_bytes=1000))
    try:
        a = gw.join("agent-01")

        async def main():
            async with _mcp(gw.url, a.client.token) as ca:
                return await ca.call_tool("post", {"type": "status-update", "body": "x" * 2000})

        result = asyncio.run(main())
        assert result.is_error and "cap" in _text(result)
        assert [r for r in gw.audit() if r["status"] == 413 and r["agent"] == "agent-01"], gw.audit()
    finally:
        gw.server.stop()


# -- body caps -----------------------------------------------------------------------------------------
def test_a_chunked_json_body_over_the_cap_is_413_and_audited(gateway):
    """MEDIUM. With Content-Length the cap answers 413 (and audits it); sent chunked (no Content-Length),
    BodyCap's _Oversize is swallowed by FastAPI's body parser: 400 {"detail": ...}, not the error shape,
    and nothing in the audit log."""
    a = gateway.join("agent-01")
    big = b'{"type":"status-update","body":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    with gateway.http(a.client.token) as c:
        r = c.post("/v1/messages", content=_chunks(big), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, (r.status_code, r.text[:200])
    assert r.json()["kind"] == "TooLarge"
    assert sum(x["status"] == 413 for x in gateway.audit()) == 1


def test_a_chunked_push_over_the_cap_is_413_not_500(tmp_path):
    """MEDIUM. A chunked artifact upload over max_artifact_bytes: the endpoint's stream raises _Oversize
    through Starlette's error middleware, which answers 500 first; BodyCap's 413 then fails to send."""
    gw = start_gateway(str(tmp_path / "space"), spec=_spec(max_artifact_bytes=1_000_000,
                                                           upload_bytes_per_day=1_000_000))
    try:
        a = gw.join("agent-01")
        with gw.http(a.client.token) as c:
            r = c.post("/v1/artifacts", content=_chunks(b"\0" * 3_000_000), params={"kind": "data"})
        assert r.status_code == 413, (r.status_code, r.text[:200])
        assert r.json()["kind"] == "TooLarge"
    finally:
        gw.server.stop()


def test_a_compressed_tar_cannot_store_more_than_the_caps(tmp_path):
    """HIGH. The upload limit and the body cap count the *compressed* tar, and the per-file check lets a
    folder of many files each just under max_artifact_bytes through: a 9 KB gzip tar stores 9 MB, over
    both max_artifact_bytes (1 MB) and upload_bytes_per_day (2 MB). The same bomb fills the gateway's
    temporary disk before any limit is taken."""
    gw = start_gateway(str(tmp_path / "space"), spec=_spec(max_artifact_bytes=1_000_000,
                                                           upload_bytes_per_day=2_000_000))
    try:
        a = gw.join("agent-01")
        files = {f"bomb/f{i}.bin": b"\0" * 900_000 for i in range(10)}
        bomb = _tar(files, mode="w:gz")
        assert len(bomb) < 100_000
        with gw.http(a.client.token) as c:
            r = c.post("/v1/artifacts", content=bomb, params={"kind": "data", "name": "bomb"})
            assert r.status_code == 400 and "uncompressed tar" in r.json()["error"], r.text  # never unpacked
            plain = c.post("/v1/artifacts", content=_tar(files), params={"kind": "data", "name": "bomb"})
            assert plain.status_code == 413, plain.text  # 9 MB of files over the day's 2 MB
        stored = sum(i.size for i in gw.store.list("artifacts/data/"))
        assert stored == 0
    finally:
        gw.server.stop()


# -- identity and invites ------------------------------------------------------------------------------
def test_an_invitee_cannot_take_an_organizers_id(tmp_path):
    """HIGH (when collab.toml names an organizer who has no gateway token yet, e.g. `collab init
    --organizer org-1`). Organizer powers come from collab.toml's list, never from the token's role, and
    an invite lets anyone bind a listed id: the invitee then quarantines and invalidates others' work."""
    gw = start_gateway(str(tmp_path / "space"), spec=preset_spec("gsm8k", organizers=["org-1"]))
    try:
        b = gw.join("agent-02")
        m = b.post("status-update", "my work", topic="mine")
        b.submit("e", score=0.7, name="good")
        try:
            evil = gw.join("org-1")
        except CollabError:
            evil = None  # refused: the fix
        if evil is not None:
            with gw.http(evil.client.token) as c:
                q = c.post("/v1/quarantine", json={"key": m.key, "reason": "mine now"})
                v = c.post("/v1/verdicts", json={"result": "good_agent-02.json", "reason": "mine now"})
            assert q.status_code in (403, 409) and v.status_code in (403, 409), (q.text, v.text)
        assert gw.store.exists(m.key)
        assert not list(gw.store.list("verdicts/"))
    finally:
        gw.server.stop()


def test_an_invitee_cannot_take_a_persons_id(gateway):
    """LOW-MEDIUM. ``human-NAME`` ids are a person's, issued by the operator (--human), but an invite binds
    one as an agent: the invitee posts on the board as "human-alice", and the operator's
    `collab gateway token SPACE human-alice --human` is then refused (id taken)."""
    with pytest.raises(CollabError):
        gateway.join("human-alice")
    assert not gateway.store.exists("gateway/tokens/human-alice.json")


def test_a_refused_join_does_not_spend_the_invite(gateway):
    """MEDIUM (availability). Invites.spend runs before Tokens.bind: a join refused because the id is taken
    (or the token does not name the id) still takes a use, so a one-use invite is gone and the newcomer
    cannot retry with another id; a shared invite is burnt by joins that fail."""
    gateway.join("agent-01")
    code = gateway.invite(uses=1)
    with pytest.raises(Conflict, match="taken"):
        RemoteSpace(gateway.url, agent="agent-01").join(invite=code)
    RemoteSpace(gateway.url, agent="agent-05").join(invite=code)  # Forbidden: the invite is used up
    assert gateway.store.exists("agents/agent-05.md")


# -- limits --------------------------------------------------------------------------------------------
def test_a_rate_limited_write_leaves_nothing_in_the_store(tmp_path):
    """LOW-MEDIUM. The Idempotency-Key record is written before the rate limit is taken, and a 429 is not
    an outcome: an agent over its limit still makes the gateway write one object per request (a new key
    each time), forever, under gateway/requests/ (records are never removed)."""
    gw = start_gateway(str(tmp_path / "space"), spec=_spec(posts_per_minute=1))
    try:
        a = gw.join("agent-01")
        with gw.http(a.client.token) as c:
            codes = [c.post("/v1/messages", json={"type": "status-update", "body": f"p{i}", "topic": f"t{i}"},
                            headers={"Idempotency-Key": f"key-{i}"}).status_code for i in range(10)]
        assert codes == [200] + [429] * 9
        records = list(gw.store.list("gateway/requests/agent-01/"))
        assert len(records) <= 2, len(records)  # the join's and the accepted post's: none for a 429
    finally:
        gw.server.stop()


# -- the smaller findings of the review, each now a guard --------------------------------------------------
def test_unknown_routes_answer_json_and_writes_to_them_are_audited(gateway):
    gateway.join("agent-01")
    with gateway.http(gateway.tokens["agent-01"]) as c:
        r = c.put("/v1/messages", json={"type": "status-update", "body": "x"})
        assert r.status_code == 404 and set(r.json()) >= {"error", "hint", "kind"}
        assert c.get("/v1/nothing-here").json()["kind"] == "NotFound"
    assert any(rec["action"].startswith("put /v1/messages") for rec in gateway.audit())


def test_failed_sign_ins_are_audited(gateway):
    with gateway.http() as c:
        assert c.post("/v1/session", json={"token": "cs1.agent-01." + "g" * 43}).status_code == 401
    assert [r["action"] for r in gateway.audit() if r["status"] == 401] == ["signin"]


def test_store_answers_hide_the_store_and_are_never_sniffed(gateway):
    gateway.join("agent-01")
    with gateway.http(gateway.tokens["agent-01"]) as c:
        missing = c.get("/v1/store/message_board/nothing.md")
        assert missing.status_code == 404 and str(gateway.store.url) not in missing.text
        r = c.get("/v1/store/collab.toml")
        assert r.headers["x-content-type-options"] == "nosniff" and "sandbox" in r.headers["content-security-policy"]


def test_quarantined_bytes_are_not_served_but_their_record_is(gateway):
    a = gateway.join("agent-01")
    leak = a.post("status-update", "the private key is ...", topic="leak")
    org = gateway.issue("org-1", "organizer")
    with gateway.http(org) as c:
        assert c.post("/v1/quarantine", json={"key": leak.key, "reason": "leaks a secret"}).status_code == 200
    with gateway.http(a.client.token) as c:
        assert c.get(f"/v1/store/quarantine/{leak.key}").status_code == 403
        record = c.get(f"/v1/store/quarantine/{leak.key}.why.json")
        assert record.status_code == 200 and record.json()["reason"] == "leaks a secret"
        listed = [o["key"] for o in c.get("/v1/store", params={"prefix": "quarantine/"}).json()["objects"]]
        assert listed == [f"quarantine/{leak.key}.why.json"]


def test_made_up_token_ids_cost_no_store_request_each(tmp_path):
    from collabspace.gateway.server import GatewayServer
    from collabspace.storage.counting import CountingStore

    from collabspace.space import Space

    store = CountingStore(Space.init(str(tmp_path / "space"), preset_spec("gsm8k")).store)
    server = GatewayServer(store, audit_flush=0).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            c.get("/v1/me", headers={"Authorization": "Bearer cs1.warm-up." + "w" * 43})
            store.reset()
            for i in range(50):
                token = f"cs1.made-up-{i}." + "m" * 43
                assert c.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert store.counts["get"] == 0 and store.counts["list"] <= 3, dict(store.counts)
    finally:
        server.stop()


# -- round 2 of the review ------------------------------------------------------------------------------
def test_quarantined_bytes_of_a_file_named_why_json_are_not_served(gateway, tmp_path):
    """``private()`` serves every ``quarantine/...`` key that ends in ``.why.json`` (meant for the records):
    an artifact folder holding ``answers.why.json``, once quarantined, is served to every reader."""
    a = gateway.join("agent-01")
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "answers.why.json").write_text('{"test_answers": [18, 3, 70000]}')
    a.push(str(folder), kind="data")
    key = "artifacts/data/notes_agent-01/answers.why.json"
    org = gateway.issue("org-1", "organizer")
    with gateway.http(org) as c:
        assert c.post("/v1/quarantine", json={"key": key, "reason": "leaks the test answers"}).status_code == 200
    with gateway.http(a.client.token) as c:
        r = c.get(f"/v1/store/quarantine/{key}")
        assert r.status_code == 403, r.text


def test_a_quarantined_message_is_not_served_inside_a_pack(s3_bucket):
    """On S3 a reader packs the board (a tail pack from 100 files). Quarantining a message moves the file
    but leaves its bytes in the pack, which ``/v1/store/packs/...`` serves to every reader."""
    url = f"s3://{s3_bucket}/space"
    gw = start_gateway(url)
    try:
        end = datetime(2026, 4, 25, 12, tzinfo=timezone.utc)
        fill_board(gw.store, 150, end=end)
        leak = put_message(gw.store, end, "agent-03", "leak", body="SECRET-TEST-ANSWERS 18 3 70000")
        Space.open(url, agent="reader").read(all=True)  # any reader with the bucket's credentials packs
        org = gw.issue("org-1", "organizer")
        with gw.http(org) as c:
            assert c.post("/v1/quarantine", json={"key": leak, "reason": "leaks the answers"}).status_code == 200
        a = gw.join("agent-01")
        with gw.http(a.client.token) as c:
            assert c.get(f"/v1/store/quarantine/{leak}").status_code == 403
            served = [o["key"] for o in c.get("/v1/store", params={"prefix": ""}).json()["objects"]]
            leaked = [k for k in served if "SECRET-TEST-ANSWERS" in c.get(f"/v1/store/{k}").text]
        assert leaked == []
    finally:
        gw.server.stop()
