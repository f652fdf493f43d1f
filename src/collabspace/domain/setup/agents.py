"""Agent registrations: ``agents/{agent}.md``.

Frontmatter: ``agent``, ``model``, ``harness``, ``tools`` (list), ``joined``
(``YYYY-MM-DD HH:mm UTC``), then a free-form bio. Registrations written by the
template's ``mb.sh`` (``agent_name``, ``agent_model``, ...) are read too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...errors import AlreadyExists, Conflict
from ...storage import Store
from .. import frontmatter, paths
from ..timefmt import frontmatter_time, parse_time


@dataclass
class Registration:
    """One agent's registration."""

    agent: str
    model: str | None = None
    harness: str | None = None
    tools: list[str] = field(default_factory=list)
    joined: datetime | None = None
    bio: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_markdown(self) -> str:
        meta = {
            "agent": self.agent,
            "model": self.model,
            "harness": self.harness,
            "tools": self.tools,
            "joined": frontmatter_time(self.joined) if self.joined else None,
            **self.extra,
        }
        return frontmatter.dump(meta, self.bio)

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "model": self.model,
            "harness": self.harness,
            "tools": self.tools,
            "joined": frontmatter_time(self.joined) if self.joined else None,
            "bio": self.bio,
            **self.extra,
        }


_KNOWN = {"agent", "agent_name", "model", "agent_model", "harness", "agent_harness", "tools", "agent_tools", "joined"}


def _tools(value: Any) -> list[str]:
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list):
        return [str(t) for t in value]
    return []


def parse_registration(key: str, data: bytes) -> Registration:
    """Read a registration; the agent id falls back to the filename."""
    meta, body = frontmatter.parse(data)
    agent = str(meta.get("agent") or meta.get("agent_name") or key.rsplit("/", 1)[-1].removesuffix(".md"))
    model = meta.get("model", meta.get("agent_model"))
    harness = meta.get("harness", meta.get("agent_harness"))
    return Registration(
        agent=agent,
        model=str(model) if model is not None else None,
        harness=str(harness) if harness is not None else None,
        tools=_tools(meta.get("tools", meta.get("agent_tools"))),
        joined=parse_time(meta.get("joined")),
        bio=body,
        extra={k: v for k, v in meta.items() if k not in _KNOWN},
    )


def register(
    store: Store,
    agent: str,
    *,
    now: datetime,
    model: str | None = None,
    harness: str | None = None,
    tools: list[str] | None = None,
    bio: str = "",
) -> tuple[Registration, bool]:
    """Write ``agents/{agent}.md`` create-only.

    Returns:
        The registration in the store and whether this call created it. A
        re-join by the same agent (no model or harness that contradicts the
        stored one) is a no-op.

    Raises:
        Conflict: the id is registered to an agent with another model or harness.
    """
    key = paths.agent_key(agent)
    reg = Registration(agent=agent, model=model, harness=harness, tools=tools or [], joined=now, bio=bio)
    try:
        store.put(key, reg.to_markdown().encode(), create_only=True)
        return reg, True
    except AlreadyExists:
        existing = parse_registration(key, store.get(key))
    clashes = [
        f"{name} {mine!r} (registered: {theirs!r})"
        for name, mine, theirs in (("model", model, existing.model), ("harness", harness, existing.harness))
        if mine is not None and theirs is not None and mine != theirs
    ]
    if clashes:
        raise Conflict(
            f"agent id {agent!r} is already registered with another {', '.join(clashes)}",
            hint="pick another id with --agent, e.g. " + f"{agent}-2"[:40],
        )
    return existing, False
