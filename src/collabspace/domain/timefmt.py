"""Time formats of the protocol, and durations.

* message filenames: ``YYYYMMDD-HHmmss`` (UTC)
* frontmatter ``timestamp``: ``YYYY-MM-DD HH:mm UTC`` (a claim's ``expires`` adds ``:ss`` when not on a minute)
* result JSON ``timestamp``: ISO 8601 with ``Z``
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from ..errors import InvalidInput

UTC = timezone.utc


def utcnow() -> datetime:
    """The current time, UTC, to the microsecond."""
    return datetime.now(UTC)


def file_stamp(dt: datetime) -> str:
    """``20260425-143000``: the sortable stamp that starts a message filename."""
    return dt.astimezone(UTC).strftime("%Y%m%d-%H%M%S")


def frontmatter_time(dt: datetime) -> str:
    """``2026-04-25 14:30 UTC``: the template's frontmatter timestamp."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def exact_time(dt: datetime) -> str:
    """:func:`frontmatter_time`, with the seconds when the time is not on a whole minute
    (``2026-04-25 14:30:05 UTC``): claim expiries, which may be seconds away."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt.second == 0 else dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(dt: datetime) -> str:
    """``2026-04-25T14:30:00Z``: the results JSON timestamp."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_TS_FORMATS = (
    "%Y-%m-%d %H:%M UTC",
    "%Y-%m-%d %H:%M:%S UTC",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y%m%d-%H%M%S",
    "%Y-%m-%d",
)


def parse_time(value: object) -> datetime | None:
    """Parse any timestamp form agents write, as UTC; ``None`` if it is not one (or not representable in UTC)."""
    found = _parse_time(value)
    if found is None:
        return None
    try:
        return found.astimezone(UTC)
    except (OverflowError, ValueError):  # 0001-01-01 at +14:00, 9999-12-31 at -12:00
        return None


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or len(value) > _MAX_TIME_CHARS:
        return None
    text = value.strip()
    if text.endswith(" UTC"):  # the template's own form, by far the most common: no strptime
        text = text[:-4]
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except ValueError:
        pass
    for fmt in _TS_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: The longest duration any option takes (``--since``, the spec's durations); claims have their own bound.
MAX_DURATION = timedelta(days=3660)
#: A duration or timestamp longer than this is refused before it is parsed.
_MAX_DURATION_CHARS = 40
_MAX_TIME_CHARS = 64


def parse_duration(text: str, *, maximum: timedelta = MAX_DURATION, what: str = "any duration",
                   hint: str | None = None) -> timedelta:
    """Parse ``90s``, ``30m``, ``4h``, ``1d``, ``1h30m`` into a timedelta.

    Args:
        maximum: the longest accepted (default :data:`MAX_DURATION`, about ten years).
        what: what the duration is for, in the error message (``a claim``).
        hint: the hint of a too-long duration.

    Raises:
        InvalidInput: not a duration, not positive, or longer than ``maximum`` (never OverflowError).
    """
    raw = str(text).strip().lower().replace(" ", "")
    shown = raw if len(raw) <= _MAX_DURATION_CHARS else raw[:_MAX_DURATION_CHARS] + "..."
    parts = _DURATION_RE.findall(raw) if len(raw) <= _MAX_DURATION_CHARS * 4 else []
    if not raw or "".join(n + u for n, u in parts) != raw:
        raise InvalidInput(f"invalid duration {shown!r}", hint="write it like 30m, 4h, 1d or 1h30m")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)  # float("1" + 400 zeros) is inf, never an error
    if seconds <= 0:
        raise InvalidInput(f"duration {shown!r} must be positive", hint="write it like 30m, 4h or 1d")
    if not seconds <= maximum.total_seconds():  # inf and nan included
        raise InvalidInput(
            f"duration {shown!r} is too long ({what}: at most {format_duration(maximum)})",
            hint=hint or f"give at most {format_duration(maximum)}, e.g. 4h or 7d",
        )
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """A short human form: ``3h12m``, ``45m``, ``2d4h``."""
    seconds = int(abs(delta.total_seconds()))
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"
