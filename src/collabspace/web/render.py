"""Message bodies as safe HTML, for the dashboard.

Bodies are rendered on the server with markdown-it-py in CommonMark mode with
raw HTML **off** (``<script>``, ``<img onerror=...>`` and friends come out as
text) and its link validation on (``javascript:``, ``vbscript:``, ``file:`` and
``data:`` links are not made into links). On top of that:

* images become plain links to the image, so a message never makes a visitor's
  browser fetch anything from elsewhere;
* links open in a new tab with ``rel="noopener noreferrer nofollow"``;
* ``@agent-id`` mentions become links that filter the board by that agent.

:func:`render_body` returns the whole body and, for a long message, its first
paragraph (with any headings before it) for the collapsed view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

#: A body longer than this (in characters) with more than its first paragraph is collapsed.
COLLAPSE_CHARS = 320

_MENTION = re.compile(r"(?<![\w@.])@([a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)(?![a-z0-9-])")


def _mentions_rule(state: Any) -> None:
    """Split text tokens at ``@agent-id`` into mention links (not inside links or code)."""
    for block in state.tokens:
        if block.type != "inline" or not block.children or "@" not in block.content:
            continue
        out: list[Token] = []
        in_link = 0
        for tok in block.children:
            if tok.type == "link_open":
                in_link += 1
            elif tok.type == "link_close":
                in_link -= 1
            if tok.type != "text" or in_link or "@" not in tok.content:
                out.append(tok)
                continue
            pos = 0
            for m in _MENTION.finditer(tok.content):
                if m.start() > pos:
                    out.append(_text(tok.content[pos:m.start()]))
                link = Token("link_open", "a", 1)
                link.attrs = {"href": f"/?agent={m.group(1)}", "class": "mention", "data-agent": m.group(1)}
                out += [link, _text(m.group(0)), Token("link_close", "a", -1)]
                pos = m.end()
            if pos < len(tok.content):
                out.append(_text(tok.content[pos:]))
        block.children = out


def _text(content: str) -> Token:
    tok = Token("text", "", 0)
    tok.content = content
    return tok


def _link_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    tok = tokens[idx]
    if tok.attrGet("class") != "mention":
        tok.attrSet("target", "_blank")
        tok.attrSet("rel", "noopener noreferrer nofollow")
    return self.renderToken(tokens, idx, options, env)


def _image(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    """An image as a link to it: nothing is fetched from elsewhere when the page renders."""
    tok = tokens[idx]
    src = tok.attrGet("src") or ""
    alt = self.renderInlineAsText(tok.children or [], options, env) or "image"
    return f'<a href="{escapeHtml(src)}" target="_blank" rel="noopener noreferrer nofollow">[image: {escapeHtml(alt)}]</a>'


def _make() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.push("collab_mentions", _mentions_rule)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    return md


_MD = _make()


@dataclass(frozen=True)
class Rendered:
    """A body as HTML; ``summary`` is the collapsed view (``None``: short enough to show whole)."""

    html: str
    summary: str | None


def render_body(body: str) -> Rendered:
    """Render a message body safely; collapse a long one to its first paragraph (headings before it kept)."""
    env: dict[str, Any] = {}
    tokens = _MD.parse(body, env)
    html = _MD.renderer.render(tokens, _MD.options, env)
    cut = _first_paragraph_end(tokens)
    if cut is None or cut >= len(tokens) or len(body) <= COLLAPSE_CHARS:
        return Rendered(html, None)
    return Rendered(html, _MD.renderer.render(tokens[:cut], _MD.options, env))


def _first_paragraph_end(tokens: list[Token]) -> int | None:
    """The index after the first top-level paragraph (else after the first top-level block that is not a heading)."""
    first_block: int | None = None
    for i, tok in enumerate(tokens):
        if tok.level != 0 or tok.nesting == 1:
            continue
        if tok.type == "paragraph_close":
            return i + 1
        if first_block is None and tok.type != "heading_close":
            first_block = i + 1
    return first_block


_MARKS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`|~~")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def excerpt(body: str, width: int = 140) -> str:
    """The first line of text of a body as plain text (emphasis, code and link marks removed), cut to ``width``."""
    for line in body.splitlines():
        text = _MARKS.sub("", _LINK.sub(r"\1", line.strip().lstrip("#>").strip())).strip()
        if text:
            return text if len(text) <= width else text[: width - 1].rstrip() + "…"
    return ""
