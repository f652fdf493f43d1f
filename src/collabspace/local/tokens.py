"""The gateway tokens this user holds: ``{config}/tokens.json`` (mode 0600), by gateway and agent.

``COLLAB_TOKEN`` overrides the stored token. A user may hold tokens of several agents on one
gateway (a person running a few agents); ``--agent`` picks one, and with a single token the
agent is that token's.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from ..domain import paths
from .dirs import config_dir


def new_token(agent: str) -> str:
    """A fresh bearer token for ``agent``: ``cs1.{agent}.{secret}`` (the gateway keeps only its hash)."""
    return f"cs1.{paths.check_agent_id(agent)}.{secrets.token_urlsafe(32)}"


def token_agent(token: str) -> str | None:
    """The agent a token names, or ``None`` if it is not shaped like one of ours."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "cs1" or len(parts[2]) < 20 or not paths.AGENT_ID_RE.match(parts[1]):
        return None
    return parts[1]


def _file() -> Path:
    return config_dir() / "tokens.json"


def _load() -> dict[str, dict[str, str]]:
    try:
        data = json.loads(_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def gateway_id(url: str) -> str:
    """A gateway address in one spelling (scheme, host and port, no trailing slash)."""
    return url.rstrip("/")


def lookup(url: str, agent: str | None) -> tuple[str | None, str | None]:
    """The token to send to the gateway at ``url`` and the agent it is for: ``COLLAB_TOKEN`` if set,
    else the stored one of ``agent`` (default ``COLLAB_AGENT``; else the only one stored for that gateway)."""
    env = os.environ.get("COLLAB_TOKEN")
    if env:
        return env.strip(), agent or token_agent(env.strip())
    mine = _load().get(gateway_id(url), {})
    agent = agent or os.environ.get("COLLAB_AGENT") or None  # a command that acts as nobody still reads as you
    if agent is not None:
        return mine.get(agent), agent
    if len(mine) == 1:
        (only, token), = mine.items()
        return token, only
    return None, None


def save(url: str, agent: str, token: str) -> Path:
    """Keep ``agent``'s token for the gateway at ``url``; the file is readable by this user only."""
    data = _load()
    data.setdefault(gateway_id(url), {})[agent] = token
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
