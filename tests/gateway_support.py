"""A real gateway on 127.0.0.1 over a real store, and its agents, for the gateway tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx2 as httpx
import pytest

from collabspace.domain.setup.presets import preset_spec
from collabspace.gateway.identity import Invites, Tokens, new_token
from collabspace.gateway.server import GatewayServer
from collabspace.remote import RemoteSpace
from collabspace.space import Space
from collabspace.storage import Store


@dataclass
class LiveGateway:
    """A started gateway, with what the tests need to act on it."""

    server: GatewayServer
    store: Store
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def invite(self, uses: int = 1, expires: str | None = "7d") -> str:
        return Invites(self.store).create(uses=uses, expires=expires)

    def join(self, agent: str, **reg) -> RemoteSpace:
        """``agent`` joined with a fresh invite (the token is kept in the test's config folder)."""
        space = RemoteSpace(self.url, agent=agent)
        space.join(invite=self.invite(), **reg)
        self.tokens[agent] = space.client.token
        return space

    def issue(self, agent: str, role: str) -> str:
        """An operator-issued token (organizer or human)."""
        token = new_token(agent)
        # the server's own token book, as if the operator's `collab gateway token` had run a second ago
        # (another process's bind reaches a replica at its next listing, within a second)
        self.server.gateway.tokens.bind(agent, token, role=role)
        if role == "organizer":
            space = Space(self.store)
            space.set_organizers([*space.spec.organizers, agent])
        self.tokens[agent] = token
        return token

    def http(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def audit(self) -> list[dict]:
        from collabspace.gateway.audit import read_audit

        self.server.gateway.audit.flush()
        return list(read_audit(self.store))


def start_gateway(url: str, *, spec=None, **kw) -> LiveGateway:
    space = Space.init(url, spec or preset_spec("gsm8k"))
    server = GatewayServer(space.store, audit_flush=0, ttl=kw.pop("ttl", 1.0), **kw).start()
    return LiveGateway(server=server, store=space.store)


@pytest.fixture
def gateway(tmp_path):
    gw = start_gateway(str(tmp_path / "space"))
    yield gw
    gw.server.stop()


#: The agent ids the behaviour suites act as; in gateway mode each gets a token up front.
SUITE_AGENTS = [f"agent-{i:02d}" for i in range(10)]


def serve_folder(path, *, ttl: float = 0.0) -> LiveGateway:
    """A gateway over the space already in ``path``, with tokens for :data:`SUITE_AGENTS` saved in the
    test's config folder (as ``collab join --invite`` would), so the same CLI calls work in both modes."""
    from collabspace.local import tokens as token_file
    from collabspace.storage import open_store

    store = open_store(str(path))
    gw = LiveGateway(server=GatewayServer(store, audit_flush=0, ttl=ttl).start(), store=store)
    for agent in SUITE_AGENTS:
        token = new_token(agent)
        gw.server.gateway.tokens.bind(agent, token)
        token_file.save(gw.url, agent, token)
        gw.tokens[agent] = token
    return gw
