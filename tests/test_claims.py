"""Claims: holding, conflicts, --force, expiry, release, renewal, and two agents claiming at once."""

from __future__ import annotations

import threading

import pytest
from board_support import isolated_cache, make_space, put_message, space  # noqa: F401

from collabspace import Conflict, InvalidInput
from collabspace.domain import frontmatter
from collabspace.space import Space


@pytest.fixture
def b(space, clock):
    return Space.open(space.url, agent="agent-02", clock=clock)


def current(space) -> list[tuple[str, str, str]]:
    return [(c.scope, c.agent, c.status) for c in space.claims()]


def test_claim_posts_scope_and_expiry(space):
    result = space.claim("LoRA sweep", note="ranks 4-64")
    meta, body = frontmatter.parse(space.store.get(result.message.key))
    assert result.message.key == "message_board/20260425-143000_agent-01_claim-lora-sweep.md"
    assert meta == {"agent": "agent-01", "type": "claim", "timestamp": "2026-04-25 14:30 UTC",
                    "scope": "LoRA sweep", "expires": "2026-04-25 18:30 UTC", "note": "ranks 4-64"}
    assert "until 2026-04-25 18:30 UTC" in body and "ranks 4-64" in body
    [c] = space.claims()
    assert c.to_dict(space.clock())["expires_in"] == "4h" and (c.agent, c.status) == ("agent-01", "active")


def test_claim_held_by_someone_else_is_refused_with_holder_and_expiry(space, b, clock):
    space.claim("lora sweep", duration="2h")
    clock.advance(minutes=5)
    with pytest.raises(Conflict) as exc:
        b.claim("LoRA  Sweep")  # same slug: same scope
    assert exc.value.message == "'LoRA Sweep' is claimed by agent-01 until 2026-04-25 16:30 UTC"
    assert "--force" in exc.value.hint and "@agent-01" in exc.value.hint
    assert len(space.read(all=True, type="claim").messages) == 1


def test_force_posts_a_contested_claim_that_takes_over_on_release(space, b, clock):
    space.claim("lora sweep")
    clock.advance(minutes=1)
    forced = b.claim("lora sweep", force=True)
    assert forced.contested and not forced.renewed
    assert current(space) == [("lora sweep", "agent-01", "active"), ("lora sweep", "agent-02", "contested")]
    clock.advance(minutes=1)
    space.release("lora sweep")
    assert current(space) == [("lora sweep", "agent-02", "active")]


def test_expiry_is_computed_at_read_time(space, b, clock):
    space.claim("distillation", duration="90m")
    clock.advance(minutes=89)
    assert current(b) == [("distillation", "agent-01", "active")]
    clock.advance(minutes=2)  # 90m rounds up to the minute: 16:00; it is 16:01
    assert b.claims() == []
    [old] = b.claims(all=True)
    assert (old.status, old.ended.strftime("%H:%M")) == ("expired", "16:00")
    assert b.claim("distillation").claim.agent == "agent-02"
    assert [(c.agent, c.status) for c in b.claims(all=True)] == [("agent-02", "active"), ("agent-01", "expired")]


def test_renewal_by_the_holder_extends_it(space, b, clock):
    space.claim("int8", duration="1h")
    clock.advance(minutes=50)
    renewed = space.claim("int8", duration="2h")
    assert renewed.renewed and renewed.claim.renewals == 1
    assert renewed.claim.expires.strftime("%H:%M") == "17:20"
    clock.advance(minutes=30)  # past the first expiry, within the renewal
    assert current(b) == [("int8", "agent-01", "active")]
    with pytest.raises(Conflict, match="until 2026-04-25 17:20 UTC"):
        b.claim("int8")


def test_renewal_keeps_the_claim_ahead_of_a_forced_one(space, b, clock):
    space.claim("rlhf", duration="1h")
    clock.advance(minutes=10)
    b.claim("rlhf", force=True, duration="4h")
    clock.advance(minutes=40)
    space.claim("rlhf", duration="1h")  # renewed while still holding
    clock.advance(minutes=30)
    assert current(b) == [("rlhf", "agent-01", "active"), ("rlhf", "agent-02", "contested")]


def test_release(space, b, clock):
    space.claim("data cleaning")
    clock.advance(minutes=3)
    released = space.release("Data Cleaning")
    assert released.status == "released"
    assert b.claims() == [] and [c.status for c in b.claims(all=True)] == ["released"]
    assert b.claim("data cleaning").claim.agent == "agent-02"
    with pytest.raises(Conflict) as exc:
        space.release("data cleaning")
    assert exc.value.message == "you (agent-01) hold no claim on 'data cleaning'" and "collab claims" in exc.value.hint


def test_a_lapsed_claim_reclaimed_goes_to_the_back(space, b, clock):
    space.claim("x", duration="1h")
    clock.advance(minutes=61)
    b.claim("x", duration="4h")
    clock.advance(minutes=1)
    space.claim("x", force=True)
    assert current(b) == [("x", "agent-02", "active"), ("x", "agent-01", "contested")]


def test_hand_written_claims(space, clock):
    put_message(space.store, clock.now, "agent-05", "claim", type="claim", body="I claim tokenizers",
                scope="tokenizers")  # no expires: the spec's default (4h)
    put_message(space.store, clock.now, "agent-06", "claim", type="claim", body="claiming hyperparameter tuning")
    [c] = space.claims()
    assert (c.scope, c.agent, c.expires.strftime("%H:%M")) == ("tokenizers", "agent-05", "18:30")


@pytest.mark.parametrize(("args", "message"), [
    (("  ",), "claim scope '  ' has no letters or digits"),
    (("x", "soon"), "invalid duration 'soon'"),
    (("x", "0h"), "duration '0h' must be positive"),
    (("y" * 201,), "a claim scope is at most 200 characters"),
])
def test_bad_claims(space, args, message):
    with pytest.raises(InvalidInput) as exc:
        space.claim(args[0], duration=args[1] if len(args) > 1 else None)
    assert exc.value.message == message and exc.value.hint


def test_two_agents_claiming_at_the_same_moment(memory_url, clock):
    make_space(memory_url, clock)
    for round in range(10):
        scope = f"race {round}"
        barrier = threading.Barrier(2)
        outcome: dict[str, object] = {}

        def go(agent: str, scope: str = scope, barrier: threading.Barrier = barrier,
               outcome: dict[str, object] = outcome) -> None:
            s = Space.open(memory_url, agent=agent, clock=clock)
            s.board.sync()
            barrier.wait()
            try:
                outcome[agent] = s.claim(scope)
            except Conflict as exc:
                outcome[agent] = exc

        threads = [threading.Thread(target=go, args=(a,)) for a in ("agent-01", "agent-02")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        claims = [c for c in Space.open(memory_url, clock=clock).claims() if c.scope == scope]
        holders = [c.agent for c in claims if c.status == "active"]
        assert len(holders) == 1, claims
        assert not isinstance(outcome[holders[0]], Conflict)  # the holder was told it holds
        loser = next(a for a in outcome if a != holders[0])
        if isinstance(outcome[loser], Conflict):
            assert holders[0] in outcome[loser].message  # told who holds it
            assert all(c.agent != loser for c in claims)  # and its claim withdrawn
        else:  # it decided before the earlier-named claim landed: it is shown as contested
            assert [c.status for c in claims if c.agent == loser] == ["contested"]


# -- issue 13, item 3 ------------------------------------------------------------------------------
def test_a_shorter_renewal_sets_the_expiry_its_message_states(space, clock):
    space.claim("int8", duration="4h")
    clock.advance(minutes=10)
    renewed = space.claim("int8", duration="30m")
    meta, body = frontmatter.parse(space.store.get(renewed.message.key))
    assert meta["expires"] == "2026-04-25 15:10 UTC" and "until 2026-04-25 15:10 UTC" in body
    assert renewed.claim.expires.strftime("%H:%M:%S") == "15:10:00"  # what the message says, not the old 18:30
    [c] = space.claims()
    assert c.to_dict(clock())["expires"] == "2026-04-25 15:10 UTC"


def test_cli_renewal_prints_the_expiry_the_board_message_says(run_cli, tmp_path, clock):
    import re

    make_space(str(tmp_path / "s"), clock)
    env = {"COLLAB_SPACE": str(tmp_path / "s"), "COLLAB_AGENT": "agent-01"}
    assert run_cli("claim", "int8", "--for", "4h", env=env).code == 0
    r = run_cli("claim", "int8", "--for", "30m", env=env)
    printed, file = re.match(r"renewed 'int8' until (.+ UTC) \((.+)\)", r.out).groups()
    body = frontmatter.parse((tmp_path / "s" / "message_board" / file).read_bytes())[1]
    assert f"until {printed}." in body


def test_short_claims_are_shown_to_the_second(space, clock):
    result = space.claim("quick check", duration="3s")
    assert frontmatter.parse(space.store.get(result.message.key))[0]["expires"] == "2026-04-25 14:30:03 UTC"
    [c] = space.claims()
    assert c.to_dict(clock())["expires_in"] == "3s" and c.to_dict(clock())["expires"] == "2026-04-25 14:30:03 UTC"
    clock.advance(seconds=2)
    assert space.claims()[0].to_dict(clock())["expires_in"] == "1s"
    clock.advance(seconds=2)
    assert space.claims() == []


@pytest.mark.parametrize(("expires", "until"), [("2h", "16:30"), ("90m", "16:00"), ("2026-04-25 16:00 UTC", "16:00"),
                                                ("2026-04-25T17:15:00Z", "17:15")])
def test_hand_written_expiries_are_honoured(space, clock, expires, until):
    put_message(space.store, clock.now, "agent-05", "claim", type="claim", body="mine", scope="tokenizers",
                expires=expires)
    [c] = space.claims()
    assert (c.agent, c.expires.strftime("%H:%M")) == ("agent-05", until)


def test_doctor_reports_claims_it_cannot_use_as_written(space, clock):
    no_scope = put_message(space.store, clock.now, "agent-06", "claim", type="claim", body="claiming tuning")
    odd = put_message(space.store, clock.now, "agent-07", "odd", type="claim", body="x", scope="x", expires="soon")
    problems = [(p.key, p.reason) for p in space.doctor()]
    assert any(k == no_scope and r.startswith("a claim without a scope: every reader ignores it") for k, r in problems)
    assert (odd, "expires 'soon' is neither a time (2026-04-25 18:30 UTC) nor a duration (4h): "
                 "read as the default 4h") in problems
    [c] = space.claims()
    assert c.expires.strftime("%H:%M") == "18:30"  # the default


def test_released_claims_show_no_time_left(space, clock):
    space.claim("data cleaning", duration="2h")
    clock.advance(minutes=3)
    released = space.release("data cleaning")
    assert released.to_dict(clock())["expires_in"] is None and released.to_dict(clock())["ended"]
    [c] = space.claims(all=True)
    assert (c.status, c.to_dict(clock())["expires_in"]) == ("released", None)
