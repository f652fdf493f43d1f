"""A claim's outcome under lost answers (issue 11, break 3): once the claim message is stored, a failed read
must not make it look failed, nor hide a lost race.

``claim()`` posts, then decides from a full listing who holds the scope. Through the chaos proxy
(tests/chaos_proxy.py) with ``COLLAB_S3_MAX_RETRIES=1`` the answers to the listings made after the
claim's PUT are lost: the outcome used to be a store error although the claim was stored (and the
user's retry then posted it again).
"""

from __future__ import annotations

import pytest

from chaos_proxy import ChaosProxy
from collabspace.domain import paths
from collabspace.domain.board import claims as claim_logic
from collabspace.domain.setup.presets import preset_spec
from collabspace.errors import Conflict, StoreError
from collabspace.space import Space
from collabspace.storage import open_store


@pytest.fixture
def proxied(s3_server, s3_bucket, monkeypatch):
    """A space on the real S3 server; agent-01 reaches it through a proxy that loses only the answers aimed at."""
    url = f"s3://{s3_bucket}/sp"
    Space.init(url, preset_spec("gsm8k"))
    direct = open_store(url)
    host, port = s3_server.removeprefix("http://").split(":")
    with ChaosProxy((host, int(port)), truncate=0.0, reset=0.0) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        monkeypatch.setenv("COLLAB_S3_MAX_RETRIES", "1")
        space = Space.open(url, agent="agent-01")
        space.read(all=True)
        yield space, proxy, direct, s3_bucket.encode()


def _claims_of(direct, agent: str) -> list[str]:
    return [i.key for i in direct.list(paths.BOARD) if f"_{agent}_claim-" in i.key or f"_{agent}_release-" in i.key]


def _listing(bucket: bytes) -> bytes:
    return b"GET /" + bucket + b"?list-type=2&prefix=sp%2Fmessage_board%2F"


def test_a_claim_whose_deciding_read_loses_its_answers_is_told_it_holds_the_scope(proxied):
    space, proxy, direct, bucket = proxied
    # obstore gives up on a cut-off listing after COLLAB_S3_MAX_RETRIES + 1 attempts: lose three answers
    proxy.lose_answers_after(b"PUT /" + bucket + b"/sp/message_board/", _listing(bucket), 3, "truncate")
    got = space.claim("lora sweep", note="mine")
    assert proxy.stats["truncate"] == 3
    assert got.claim.agent == "agent-01" and got.claim.status == "active" and not got.contested
    assert len(_claims_of(direct, "agent-01")) == 1
    assert [(c.agent, c.status) for c in Space.open(direct.url).claims()] == [("agent-01", "active")]


def test_a_lost_race_is_told_as_lost_although_the_deciding_read_loses_its_answers(proxied):
    """agent-02's claim lands just before agent-01's (a clock a minute behind, so it also sorts first within one
    tick of the store's clock); agent-01's first reads after its post lose their answers. It is told it lost, and
    its claim is withdrawn."""
    space, proxy, direct, bucket = proxied
    stamp = space.clock() - claim_logic.timedelta(minutes=1)
    theirs = (f"{paths.BOARD}{stamp.strftime('%Y%m%d-%H%M%S')}_agent-02_claim-lora-sweep.md")
    rival = ("---\nagent: agent-02\ntype: claim\ntimestamp: " + stamp.strftime("%Y-%m-%d %H:%M UTC")
             + "\nscope: lora sweep\nexpires: " + (stamp + claim_logic.timedelta(hours=4)).strftime("%Y-%m-%d %H:%M UTC")
             + "\n---\n\nClaiming **lora sweep**.\n").encode()
    original = proxy._aim

    def aim(request: bytes):
        if request.startswith(b"PUT /" + bucket + b"/sp/message_board/") and not direct.exists(theirs):
            direct.put(theirs, rival, create_only=True)  # lands before agent-01's PUT reaches the server
        return original(request)

    proxy._aim = aim
    proxy.lose_answers_after(b"PUT /" + bucket + b"/sp/message_board/", _listing(bucket), 3, "truncate")
    with pytest.raises(Conflict) as err:
        space.claim("lora sweep", note="mine")
    assert "agent-02 claimed 'lora sweep' first" in err.value.message
    assert "your claim was withdrawn" in err.value.message
    assert [(c.agent, c.status) for c in Space.open(direct.url).claims()] == [("agent-02", "active")]


def test_a_claim_the_store_cannot_confirm_says_it_is_posted(proxied, monkeypatch):
    """If the store cannot be read at all after the post, the error says the claim is stored and how to see who
    holds it, instead of a bare store error that invites a second claim."""
    space, proxy, direct, bucket = proxied
    monkeypatch.setattr(claim_logic, "DECIDE_RETRY_DELAYS", (0.05, 0.05))
    proxy.lose_answers_after(b"PUT /" + bucket + b"/sp/message_board/", _listing(bucket), 100, "truncate")
    with pytest.raises(StoreError) as err:
        space.claim("lora sweep", note="mine")
    [posted] = _claims_of(direct, "agent-01")
    assert f"your claim on 'lora sweep' is posted ({posted.removeprefix(paths.BOARD)})" in err.value.message
    assert "collab claims" in err.value.hint
