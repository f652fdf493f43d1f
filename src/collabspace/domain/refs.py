"""Refs: what a message or result builds on, in one spelling.

A ref is the **full key** of what it names, inside the space::

    message_board/20260425-143000_agent-01_plan.md
    artifacts/results/lora-r16_agent-01.json
    artifacts/scripts/train_agent-01.py

That is how collabspace writes refs, and how every reader compares them. Agents
write them in many other ways, and every one is still read, here and nowhere
else: a message's bare filename (the template's own form) with or without
``.md``, a result's file name (``x_agent-01.json``) or its per-item file (which
stands for the result), a bucket URL (``hf://buckets/ns/name/message_board/...``),
``./``, quotes and backticks, a string, a comma list or a YAML list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput, NotFound
from ..storage import Store, check_key
from . import paths

_SPLIT = re.compile(r"[,\s]+")
_MARKERS = (paths.BOARD, paths.ARTIFACTS)
_RESULT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*_[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def canonical(ref: Any) -> str:
    """The full key a ref names (or its cleaned text, if it names nothing this layout knows)."""
    text = str(ref).strip().strip("`'\"<>[]").removeprefix("./")
    if "://" in text:  # a bucket URL: the key inside the space
        for marker in _MARKERS:
            if marker in text:
                text = text[text.index(marker) :]
                break
    if text.endswith(".items.jsonl"):  # a result's per-item file stands for the result
        text = text.removesuffix(".items.jsonl") + ".json"
    if text.startswith(_MARKERS):
        return text
    name = text.rsplit("/", 1)[-1]
    if name.endswith(".json"):
        return paths.RESULTS + name
    candidate = name if name.endswith(".md") else name + ".md"
    if paths.MESSAGE_NAME.match(candidate):
        return paths.BOARD + candidate
    if "/" not in text and "." not in name and _RESULT_NAME.match(name):  # x_agent-01: a result's name
        return paths.RESULTS + name + ".json"
    return text


def parse(value: Any) -> tuple[str, ...]:
    """Refs as agents write them (missing, a string, a comma or space list, a YAML list), canonical, deduplicated."""
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list) else [value]
    out: dict[str, None] = {}
    for item in items:
        if item is None or isinstance(item, (dict, list)):
            continue
        for part in _SPLIT.split(str(item)):
            key = canonical(part) if part.strip("`'\"<>[]") else ""
            if key:
                out.setdefault(key, None)
    return tuple(out)


def is_message(ref: str) -> bool:
    """True when a canonical ref names a message."""
    return ref.startswith(paths.BOARD)


def shown(ref: str) -> str:
    """A ref as a reader sees it: a message by its filename, anything else by its key."""
    return ref.removeprefix(paths.BOARD)


def resolve(ref: str, store: Store, *, indexed: Callable[[str], bool] = lambda key: False,
            folders: bool = False) -> str:
    """The canonical key of a ref a writer gives (``--refs``, ``--artifacts``), checked to exist.

    At most one request: a message the board index holds costs none, anything else one HEAD (or,
    with ``folders``, one listing for an artifact folder).

    Args:
        indexed: whether a message key is in the local board index.
        folders: an artifact may be a folder (``--artifacts``).

    Raises:
        InvalidInput: the ref names neither a message nor an artifact.
        NotFound: nothing is stored there.
    """
    key = canonical(ref)
    if not key.startswith(_MARKERS):
        raise InvalidInput(
            f"refs: {ref!r} is neither a message filename ({{YYYYMMDD-HHmmss}}_{{agent}}[_{{topic}}].md) nor an artifact",
            hint="refs name messages (20260425-143000_agent-01_plan.md), results (lora_agent-01.json) "
            "or artifacts (artifacts/scripts/train_agent-01.py)",
        )
    check_key(key.rstrip("/"))
    key = key.rstrip("/")
    if is_message(key):
        if indexed(key) or store.exists(key):
            return key
        raise NotFound(f"refs: {shown(key)!r} is not a message on the board",
                       hint="refs name existing messages; find them with: collab read --all or collab search WORDS")
    if store.exists(key) or (folders and next(iter(store.list(key + "/")), None) is not None):
        return key
    raise NotFound(f"{ref!r} is not stored", hint="list results and artifacts with: collab artifacts")
