"""Every MCP tool argument is bounded: a number has a range, a text a length, a list a count.

A value out of bounds is refused with one ``error:`` line and a ``hint:`` naming the tool's own
parameter and its bounds, before the tool runs (nothing is stored); it is never clamped, so an agent
that asks for 10,000 messages learns that it gets at most 200 instead of silently getting 200.

The bounds of a parameter come from its kind (the tool function's annotation) and, where the
default does not fit, from :data:`TEXT`, :data:`COUNTS` and :data:`ITEMS`. Every whole-number
parameter must have a range in :data:`COUNTS`: :func:`kinds` refuses to register a tool otherwise.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput

#: Longest text of any parameter not named in :data:`TEXT`.
DEFAULT_TEXT = 1_000
#: Longest text per parameter name.
TEXT: dict[str, int] = {"body": 65_536, "bio": 4_000, "notes": 4_000, "experiment": 500, "note": 500,
                        "reason": 500, "query": 500, "scope": 200, "model": 200, "harness": 100, "topic": 100,
                        "name": 100, "duration": 40, "since": 80, "type": 40, "kind": 40, "author": 40,
                        "track": 64, "predictions": 16 * 1024 * 1024}
#: (min, max) of every whole-number parameter, per tool and name.
COUNTS: dict[tuple[str, str], tuple[int, int]] = {
    ("read", "limit"): (1, 200), ("inbox", "limit"): (1, 200), ("search", "limit"): (1, 100),
    ("leaderboard", "limit"): (0, 10_000),
}
#: Most entries of a list or object parameter; each text entry is bounded like a text of its name.
ITEMS: dict[str, int] = {"refs": 50, "ack": 200, "results": 8, "fields": 64}
DEFAULT_ITEMS = 50
#: Longest JSON of one value of an object parameter (``fields``).
FIELD_JSON = 4_000


def kind_of(annotation: Any) -> str:
    """``bool``, ``int``, ``float``, ``str``, ``list``, ``dict`` or ``literal:A|B`` for a parameter's annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return kind_of(args[0])
    if origin is typing.Literal:
        return "literal:" + "|".join(str(a) for a in typing.get_args(annotation))
    if origin in (list, tuple) or annotation in (list, tuple):
        return "list"
    if origin is dict or annotation is dict:
        return "dict"
    for cls, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str")):
        if annotation is cls:
            return name
    raise TypeError(f"unsupported MCP parameter annotation {annotation!r}")


def kinds(tool: str, fn: Callable[..., Any]) -> dict[str, str]:
    """Parameter -> kind of a tool function.

    Raises:
        TypeError: a whole-number parameter without a range in :data:`COUNTS` (a bug of the server).
    """
    hints = typing.get_type_hints(fn)
    out = {name: kind_of(t) for name, t in hints.items() if name != "return"}
    for name, kind in out.items():
        if kind == "int" and (tool, name) not in COUNTS:
            raise TypeError(f"{tool}.{name} is a whole number without a range in mcp.bounds.COUNTS")
    return out


def describe(tool: str, name: str, kind: str) -> str:
    """What a parameter takes, in a few words (for hints)."""
    if kind == "int":
        lo, hi = COUNTS[(tool, name)]
        return f"a whole number from {lo:,} to {hi:,}"
    if kind == "float":
        return "a finite number"
    if kind == "bool":
        return "true or false"
    if kind == "list":
        return f"a list of at most {ITEMS.get(name, DEFAULT_ITEMS)} texts"
    if kind == "dict":
        return f"an object of at most {ITEMS.get(name, DEFAULT_ITEMS)} fields, e.g. {{\"artifact_size_bytes\": 15000000}}"
    if kind.startswith("literal:"):
        return "one of: " + ", ".join(json.dumps(v) for v in kind.removeprefix("literal:").split("|"))
    return f"text of at most {TEXT.get(name, DEFAULT_TEXT):,} characters"


def _refuse(tool: str, name: str, kind: str, why: str) -> InvalidInput:
    return InvalidInput(f"{tool}: {name} {why}", hint=f"give {name} as {describe(tool, name, kind)}")


def _text(tool: str, name: str, value: str, *, limit: int, kind: str = "str") -> None:
    if len(value) > limit:
        raise _refuse(tool, name, kind, f"is {len(value):,} characters long, over the limit of {limit:,}")


def check(tool: str, params: dict[str, str], arguments: dict[str, Any]) -> None:
    """Refuse the first argument out of its bounds (``arguments`` as validated by the tool's schema).

    Raises:
        InvalidInput: one line naming the tool and the parameter; the hint gives its bounds.
    """
    for name, value in arguments.items():
        kind = params.get(name)
        if value is None or kind is None:
            continue
        if kind == "int":
            lo, hi = COUNTS[(tool, name)]
            if not lo <= value <= hi:
                shown = f"{value:,}" if abs(value) < 10**15 else "a number this large"
                raise _refuse(tool, name, kind, f"must be from {lo:,} to {hi:,}, got {shown}")
        elif kind == "float":
            if not math.isfinite(value):
                raise _refuse(tool, name, kind, f"must be a finite number, got {value!r}")
        elif kind == "str":
            _text(tool, name, value, limit=TEXT.get(name, DEFAULT_TEXT))
        elif kind in ("list", "dict"):
            most = ITEMS.get(name, DEFAULT_ITEMS)
            if len(value) > most:
                raise _refuse(tool, name, kind, f"has {len(value):,} entries, over the limit of {most}")
            if kind == "list":
                for entry in value:
                    _text(tool, f"{name} entry", str(entry), limit=DEFAULT_TEXT, kind="list")
            else:
                for key, entry in value.items():
                    _text(tool, f"{name} key", str(key), limit=64, kind="dict")
                    try:
                        size = len(json.dumps(entry))
                    except (ValueError, TypeError, RecursionError):
                        raise _refuse(tool, name, kind, f"{key!r} is not a JSON value") from None
                    if size > FIELD_JSON:
                        raise _refuse(tool, name, kind, f"{key!r} is {size:,} characters of JSON, over {FIELD_JSON:,}")
