"""Helpers shared by the board, index, claims and digest tests."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from collabspace.domain.board.messages import render_message
from collabspace.storage import Store
from collabspace.storage.counting import CountingStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_board import fill_board  # noqa: E402

__all__ = ["CountingStore", "fill_board", "isolated_cache", "put_raw", "put_message"]


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own index cache folder (never the user's)."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("COLLAB_CACHE_DIR", str(cache))
    monkeypatch.setenv("COLLAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    return cache


def put_raw(store: Store, name: str, text: str | bytes) -> str:
    """Write a board file exactly as given (as an agent with only `hf buckets cp` would)."""
    key = name if name.startswith("message_board/") else "message_board/" + name
    store.put(key, text.encode() if isinstance(text, str) else text, create_only=True)
    return key


def put_message(store: Store, when: datetime, agent: str, topic: str, *, type: str = "status-update",
                body: str = "hello", refs: tuple[str, ...] = (), **extra) -> str:
    """Write a well-formed message straight to the store, stamped ``when`` (a clock of the writer's own)."""
    name = f"{when:%Y%m%d-%H%M%S}_{agent}_{topic}.md"
    return put_raw(store, name, render_message(agent=agent, type=type, now=when, refs=refs, body=body, extra=extra))


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def make_space(url: str, clock, agent: str | None = "agent-01", **spec_overrides):
    """A space holding only its collab.toml (what the board needs), opened as ``agent``."""
    from collabspace.domain.setup.presets import preset_spec
    from collabspace.domain.setup.spec import spec_from_dict
    from collabspace.space import Space
    from collabspace.storage import open_store

    spec = preset_spec("gsm8k")
    if spec_overrides:
        spec = spec_from_dict({**spec.model_dump(mode="json", exclude_none=True), **spec_overrides})
    open_store(url, create=True).put("collab.toml", spec.to_toml().encode(), create_only=True)
    return Space.open(url, agent=agent, clock=clock)


@pytest.fixture
def space(memory_url, clock):
    """A GSM8K space in memory, acting as agent-01, with a fixed clock."""
    return make_space(memory_url, clock)
