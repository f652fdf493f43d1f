"""Markdown with YAML frontmatter: the format of messages and registrations.

Reading is tolerant (BOM, CRLF, no frontmatter at all, odd YAML scalars);
writing is plain and stable (keys in the given order, block style).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import yaml

from ..errors import InvalidInput


class FrontmatterError(InvalidInput):
    """The frontmatter block cannot be parsed."""


def _plain(value: Any) -> Any:
    """YAML turns `2026-04-25 14:30` into datetimes; the protocol keeps strings."""
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def parse(text: str | bytes) -> tuple[dict[str, Any], str]:
    """Split a document into (frontmatter dict, body).

    A document without a leading ``---`` block has empty frontmatter.

    Raises:
        FrontmatterError: the block is not closed, is not YAML, or is not a mapping.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FrontmatterError("not UTF-8 text", hint="save the file as UTF-8") from exc
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.startswith("---\n") and text.strip() != "---":
        return {}, text.strip("\n")
    end = text.find("\n---", 3)
    while end != -1 and text[end + 4 : end + 5] not in ("\n", ""):
        end = text.find("\n---", end + 4)
    if end == -1:
        raise FrontmatterError("frontmatter block is not closed by '---'", hint="end the header with a line '---'")
    block = text[4:end]
    body = text[end + 4 :]
    try:
        meta = yaml.safe_load(block) if block.strip() else {}
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise FrontmatterError(f"frontmatter is not valid YAML: {first}", hint="check the header's syntax") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise FrontmatterError("frontmatter is not a set of 'key: value' lines", hint="check the header's syntax")
    return _plain(meta), body.strip("\n")


def dump(meta: dict[str, Any], body: str) -> str:
    """Render frontmatter and body; ``None`` values and empty lists are left out."""
    clean = {k: v for k, v in meta.items() if v is not None and v != []}
    header = yaml.safe_dump(clean, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    return f"---\n{header}---\n\n{body.strip()}\n"
