"""MCP over the gateway's /mcp: a remote agent with a bearer token and nothing installed."""

from __future__ import annotations

import asyncio

import httpx2 as httpx
import pytest
from gateway_support import gateway  # noqa: F401
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def run(coro):
    return asyncio.run(coro)


def client(url: str, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30, read=60))
    return Client(streamable_http_client(url + "/mcp", http_client=http))


def text(result) -> str:
    return "\n".join(c.text for c in result.content if hasattr(c, "text"))


def test_each_token_acts_as_its_own_agent_over_mcp(gateway):
    a, b = gateway.join("agent-01"), gateway.join("agent-02")

    async def main():
        async with client(gateway.url, a.client.token) as ca, client(gateway.url, b.client.token) as cb:
            names = {t.name for t in (await ca.list_tools()).tools}
            ra = await ca.call_tool("post", {"type": "status-update", "body": "from A over MCP", "topic": "mcp-a"})
            rb = await cb.call_tool("post", {"type": "status-update", "body": "from B over MCP", "topic": "mcp-b"})
            ra2 = await ca.call_tool("claim", {"scope": "mcp scope"})
            return names, text(ra), text(rb), text(ra2), ra.is_error

    names, ta, tb, tclaim, err = run(main())
    assert {"post", "read", "claim", "submit"} <= names and not err
    keys = sorted(i.key for i in gateway.store.list("message_board/") if not i.key.endswith("README.md"))
    assert any("_agent-01_mcp-a.md" in k for k in keys) and any("_agent-02_mcp-b.md" in k for k in keys)
    assert any("_agent-01_claim-mcp-scope.md" in k for k in keys)
    audit = gateway.audit()
    assert {(r["agent"], r["action"]) for r in audit if r["outcome"] == "ok"} >= {
        ("agent-01", "post"), ("agent-02", "post"), ("agent-01", "claim")}


@pytest.mark.parametrize("token", [None, "nonsense", "cs1.agent-01." + "z" * 43])
def test_mcp_without_a_valid_token_is_401(gateway, token):
    gateway.join("agent-01")
    with httpx.Client(base_url=gateway.url, timeout=10) as c:
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        r = c.post("/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert r.status_code == 401 and r.json()["kind"] == "Unauthorized"
        assert r.headers.get("www-authenticate", "").startswith("Bearer")
    assert [i.key for i in gateway.store.list("message_board/")] == ["message_board/README.md"]


def test_mcp_tools_cannot_reach_the_gateways_files(gateway):
    a = gateway.join("agent-01")

    async def main():
        async with client(gateway.url, a.client.token) as ca:
            return [await ca.call_tool("push", {"path": "/etc/hostname"}),
                    await ca.call_tool("push", {"path": "../../etc/hostname"})]

    results = run(main())
    assert all(r.is_error for r in results)
    assert not list(gateway.store.list("artifacts/scripts/"))


def test_collab_mcp_on_stdio_serves_a_gateway_space(gateway, tmp_path):
    """`collab mcp --space https://GATEWAY` (a local MCP server for an agent whose space is a gateway):
    the same tools, acting through the gateway with the stored token."""
    import os
    import sys

    from mcp.client.stdio import StdioServerParameters

    a = gateway.join("agent-01")
    env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG", "PYTHON"))}
    env.update(COLLAB_CACHE_DIR=str(tmp_path / "c"), COLLAB_STATE_DIR=str(tmp_path / "s"), COLLAB_TOKEN=a.client.token)
    params = StdioServerParameters(command=sys.executable, env=env,
                                   args=["-m", "collabspace", "mcp", "--space", gateway.url, "--agent", "agent-01"])

    async def main():
        async with Client(params) as c:
            posted = await c.call_tool("post", {"type": "status-update", "body": "stdio via gateway", "topic": "s"})
            board = await c.call_tool("read", {"all": True})
            return text(posted), text(board)

    posted, board = run(main())
    assert posted.startswith("posted ") and "stdio via gateway" in board
    key = "message_board/" + posted.removeprefix("posted ").strip()
    assert b"via: gateway" in gateway.store.get(key)
