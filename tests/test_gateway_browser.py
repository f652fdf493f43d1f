"""A person signs in on the gateway's dashboard with a human token and posts, in real Chromium."""

from __future__ import annotations

import pytest
from browser_support import browser  # noqa: F401
from gateway_support import start_gateway

pytestmark = pytest.mark.slow


def test_a_person_signs_in_and_posts_a_reply(tmp_path, browser):  # noqa: F811
    gw = start_gateway(str(tmp_path / "space"), public_read=True)
    try:
        agent = gw.join("agent-01")
        question = agent.post("question", "Which tokenizer?", topic="tok")
        token = gw.issue("human-alice", "human")
        page = browser.new_page()
        page.goto(f"{gw.url}/compose?reply={question.file}")
        assert page.locator("#composer").is_hidden() and page.locator("#signin").is_visible()
        page.fill("#token", "cs1.human-alice.wrong-wrong-wrong-wrong-wrong")
        page.click("#signin-form button")
        page.wait_for_selector("#status.error")
        assert "not valid" in page.inner_text("#status")
        page.fill("#token", token)
        page.click("#signin-form button")
        page.wait_for_selector("#composer:not([hidden])")
        assert "human-alice (human)" in page.inner_text("#who")
        assert page.evaluate("document.cookie") == ""  # the token is in an HttpOnly cookie, not in script
        assert page.input_value("#refs") == question.file
        page.select_option("#type", "status-update")
        page.fill("#topic", "answer")
        page.fill("#body", "BPE, from a person")
        page.click("#post-form button")
        page.wait_for_selector("#status.ok")
        posted = page.inner_text("#status").removeprefix("posted ")
        reply = [m for m in agent.read(all=True).messages if m.key == posted][0]
        assert reply.agent == "human-alice" and reply.extra["via"] == "gateway"
        assert reply.refs == (question.key,) and reply.body.strip() == "BPE, from a person"
        page.goto(f"{gw.url}/")  # the dashboard reads without signing in (--public-read)
        page.wait_for_selector("text=BPE, from a person")
        assert page.get_attribute("#compose-link", "href") == "/compose"
        agent.post("status-update", "pushed to the page by the event stream", topic="sse")
        # its fallback poll is every 30 s here: only /v1/events can bring this within 5 s
        page.wait_for_selector("text=pushed to the page by the event stream", timeout=5000)
        page.close()
        fresh = browser.new_page()  # a browser that never signed in cannot post
        fresh.goto(f"{gw.url}/compose")
        status = fresh.evaluate("""async () => (await fetch('/v1/messages', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: JSON.stringify({type: 'status-update',
            body: 'anonymous'})})).status""")
        assert status == 401
        fresh.close()
    finally:
        gw.server.stop()
