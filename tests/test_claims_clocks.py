"""Time comes from the store (issue 11, break 5 / property 4): claims are ordered and expired by
arrival time, the store's modification time, never by a writer's clock.

Each agent here is its own machine (its own cache and state folders) with its own clock, the
``clock`` passed to its Space; arrival times come from the real store (memory, or a real S3 server).
Before: a claim from a clock 5 h ahead was told it holds the scope and everyone's replay marked the
real holder's claim (4 h left) as expired; a clock 5 min behind with ``--force`` took the claim and
the real holder showed as contested.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest

from collabspace import Conflict
from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.timefmt import utcnow
from collabspace.space import Space


def skewed(by: timedelta):
    return lambda: utcnow() + by


class Machine:
    """One agent on its own machine: its own clock, cache and state folders."""

    def __init__(self, url: str, agent: str | None, folder, skew: timedelta = timedelta(0)) -> None:
        self.cache, self.state = str(folder / "cache"), str(folder / "state")
        self.skew = skew
        with self:
            self.space = Space.open(url, agent=agent, clock=skewed(skew))
            self.space.board.index  # noqa: B018 -- opened in this machine's folders
            self.space.board.cursors  # noqa: B018

    def __enter__(self) -> Space:
        self._saved = os.environ["COLLAB_CACHE_DIR"], os.environ["COLLAB_STATE_DIR"]
        os.environ["COLLAB_CACHE_DIR"], os.environ["COLLAB_STATE_DIR"] = self.cache, self.state
        return getattr(self, "space", None)

    def __exit__(self, *exc) -> None:
        os.environ["COLLAB_CACHE_DIR"], os.environ["COLLAB_STATE_DIR"] = self._saved

    def claims(self, scope: str) -> list[tuple[str, str]]:
        with self as space:
            return [(c.agent, c.status) for c in space.claims(all=True) if c.scope == scope]

    def current(self, scope: str) -> list[tuple[str, str]]:
        with self as space:
            return [(c.agent, c.status) for c in space.claims() if c.scope == scope]


@pytest.fixture(params=["memory", "s3"])
def url(request, memory_url):
    if request.param == "memory":
        url = memory_url
    else:
        bucket = request.getfixturevalue("s3_bucket")
        url = f"s3://{bucket}/space"
    Space.init(url, preset_spec("gsm8k"))
    return url


def later() -> None:
    """S3 gives arrival times to the second: claims whose order is asserted arrive in different seconds
    (within one second the store cannot order them; ties go by key, the same on every machine)."""
    time.sleep(1.05)


def machines(url, tmp_path, skew: timedelta):
    holder = Machine(url, "agent-01", tmp_path / "holder")
    other = Machine(url, "agent-02", tmp_path / "skewed", skew)
    reader = Machine(url, None, tmp_path / "reader")
    return holder, other, reader


def test_a_claim_from_a_clock_5h_ahead_is_not_told_it_holds_the_scope(url, tmp_path):
    holder, ahead, reader = machines(url, tmp_path, timedelta(hours=5))
    with holder as h:
        h.claim("lora sweep")  # 4 h: on the clock 5 h ahead it looks expired
    with ahead as a, pytest.raises(Conflict) as exc:
        a.claim("lora sweep")
    assert "agent-01" in exc.value.message
    for m in (holder, ahead, reader):  # everyone's replay: the real holder, 4 h left, still holds
        assert m.current("lora sweep") == [("agent-01", "active")], m
    with reader as r:
        [c] = [c for c in r.claims() if c.scope == "lora sweep"]
        assert timedelta(hours=3, minutes=59) < c.expires - utcnow() <= timedelta(hours=4, minutes=1)
        # the stamp far from its arrival is flagged
        assert any("agent-02" in p.reason and "ahead of" in p.reason for p in r.doctor_clocks())


def test_a_claim_from_a_clock_5h_behind_is_refused_and_lasts_from_its_arrival(url, tmp_path):
    holder, behind, reader = machines(url, tmp_path, -timedelta(hours=5))
    with holder as h:
        h.claim("distillation", duration="2h")
    with behind as b, pytest.raises(Conflict) as exc:
        b.claim("distillation")  # old: its stamp, 5 h earlier, sorted first: it held the scope
    assert "agent-01" in exc.value.message
    with behind as b:
        mine = b.claim("tokenizer", duration="1h")  # a free scope: held for 1 h from its arrival
    assert mine.claim.status == "active"
    for m in (holder, behind, reader):
        with m as space:
            space.read(all=True)  # its old stamp is below an incremental listing: found by a full one
        assert m.current("distillation") == [("agent-01", "active")], m
        assert m.current("tokenizer") == [("agent-02", "active")], m  # old: expired at once (stamp + 1 h < now)


def test_a_forced_claim_from_a_clock_5min_behind_does_not_take_the_scope(url, tmp_path):
    holder, behind, reader = machines(url, tmp_path, -timedelta(minutes=5))
    with holder as h:
        h.claim("int8 quantization")
    later()
    with behind as b:
        forced = b.claim("int8 quantization", force=True)
    assert forced.contested
    for m in (holder, behind, reader):
        assert m.current("int8 quantization") == [("agent-01", "active"), ("agent-02", "contested")], m


def test_a_claim_from_a_clock_5min_ahead_does_not_expire_the_holder_early(url, tmp_path):
    holder, ahead, reader = machines(url, tmp_path, timedelta(minutes=5))
    with holder as h:
        h.claim("prompt search", duration="3m")  # 3 to 4 min left: on the clock 5 min ahead, expired
    with ahead as a, pytest.raises(Conflict):
        a.claim("prompt search")
    for m in (holder, ahead, reader):
        assert m.current("prompt search") == [("agent-01", "active")], m


def test_a_forced_claim_from_a_clock_5h_ahead_stays_behind_the_holder(url, tmp_path):
    holder, ahead, reader = machines(url, tmp_path, timedelta(hours=5))
    with holder as h:
        h.claim("cot")
    later()
    with ahead as a:
        assert a.claim("cot", force=True).contested
    for m in (holder, ahead, reader):
        assert m.current("cot") == [("agent-01", "active"), ("agent-02", "contested")], m
    with holder as h:
        h.release("cot")
    for m in (holder, ahead, reader):
        assert m.current("cot") == [("agent-02", "active")], m
