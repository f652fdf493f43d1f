"""Bounded JSON: the one way to read JSON that another agent may have written.

Python's ``json.loads`` has no limits of its own: deep nesting raises
RecursionError, a 5,000-digit integer raises ValueError (the interpreter's
int-digits limit), ``1e400`` becomes ``inf`` and ``NaN`` is accepted. Here each
of those is refused with one :class:`~collabspace.errors.InvalidInput` line:

- at most :data:`MAX_SIZE` bytes and :data:`MAX_DEPTH` levels of ``[`` / ``{``;
- integers of at most :data:`MAX_DIGITS` digits (so every integer converts to a finite float);
- floats that are finite, and none of the ``NaN`` / ``Infinity`` constants.

A caller that must go on past a bad number (a scorer, which scores a NaN
prediction as wrong) asks for it as :class:`BadNumber` text instead.
Text that is not JSON at all raises :class:`NotJSON`, a subclass, so that a
caller that also accepts plain text (``--field x=text``) can tell the two apart.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from ..errors import InvalidInput

MAX_SIZE = 1 << 20
MAX_DEPTH = 64
MAX_DIGITS = 100

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class NotJSON(InvalidInput):
    """The text is not JSON (a syntax error), as opposed to JSON that breaks a bound."""


class BadNumber(str):
    """A number kept as its JSON text (``keep_bad_numbers``): NaN, infinite, or too many digits."""


class _Refused(Exception):
    """Raised from inside the decoder's hooks; becomes InvalidInput."""


def _depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings (0 when obviously shallow)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _hooks(keep: bool) -> dict[str, Any]:
    def bad(token: str, why: str) -> BadNumber:
        if keep:
            return BadNumber(token)
        raise _Refused(why)

    def parse_int(token: str) -> int | BadNumber:
        if len(token.lstrip("-")) > MAX_DIGITS:
            return bad(token, f"an integer of more than {MAX_DIGITS} digits")
        return int(token)

    def parse_float(token: str) -> float | BadNumber:
        value = float(token)
        if not math.isfinite(value):
            return bad(token, f"a number too large to be finite ({token[:20]}{'...' if len(token) > 20 else ''})")
        return value

    def parse_constant(token: str) -> BadNumber:
        return bad(token, f"{token}, which is not a number JSON allows")

    return {"parse_int": parse_int, "parse_float": parse_float, "parse_constant": parse_constant}


_STRICT, _KEEP = _hooks(False), _hooks(True)


def loads(data: str | bytes, *, what: str, keep_bad_numbers: bool = False, max_size: int = MAX_SIZE) -> Any:
    """Parse JSON within the bounds above.

    Args:
        data: the text, or its UTF-8 bytes (a BOM is allowed).
        what: names the input in messages (a key, ``--field x``, ``predictions, line 3``).
        keep_bad_numbers: return a bad number as :class:`BadNumber` text instead of refusing it.
        max_size: the largest input accepted (a pack of many files is allowed more).

    Raises:
        NotJSON: not UTF-8, or not JSON.
        InvalidInput: too large, nested too deeply, an overlong integer, an overflowing float, NaN or Infinity.
    """
    if len(data) > max_size:
        raise InvalidInput(f"{what}: larger than {max_size:,} bytes")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise NotJSON(f"{what}: not valid JSON (not UTF-8 text)") from None
    if _depth(data) > MAX_DEPTH:
        raise InvalidInput(f"{what}: nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(data, **(_KEEP if keep_bad_numbers else _STRICT))
    except json.JSONDecodeError as exc:
        raise NotJSON(f"{what}: not valid JSON ({exc.msg} at character {exc.pos})") from None
    except _Refused as exc:
        raise InvalidInput(f"{what}: holds {exc}") from None
