"""The task spec, ``collab.toml``: what the space is for and how it is scored.

Example (abridged)::

    layout = 1
    organizers = ["alice"]

    [task]
    id = "gsm8k"
    title = "GSM8K"
    goal = "Maximize exact-match accuracy on the GSM8K test split."

    [metric]
    name = "accuracy"
    direction = "higher"
    min = 0
    max = 1

    [[constraints.limits]]
    field = "artifact_size_bytes"
    max = 16000000

    [[baselines]]
    name = "Naive baseline"
    score = 1.2244

    [scorer]
    name = "gsm8k"

    [claims]
    default_duration = "4h"
"""

from __future__ import annotations

import math
import tomllib
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ...errors import InvalidInput, InvalidSpec
from ..paths import AGENT_ID_RE, LAYOUT_VERSION, SPEC, slug
from ..timefmt import parse_duration

#: The six message types of the template.
TEMPLATE_TYPES = (
    "status-update",
    "experiment-proposal",
    "results-report",
    "question",
    "claim",
    "build-on",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Task(_Model):
    """What the space works on."""

    id: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=1)
    goal: str = Field(min_length=1)
    about: list[str] = []
    links: list[str] = []

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        if slug(value) != value:
            raise ValueError(f"must be lower-case a-z, 0-9 and '-' (e.g. {slug(value) or 'my-task'!r})")
        return value


class Metric(_Model):
    """The number the leaderboard ranks by, and the range it can take (``min``/``max``, optional)."""

    name: str = Field(min_length=1)
    direction: Literal["higher", "lower"]
    description: str = ""
    min: float | None = None
    max: float | None = None

    @field_validator("min", "max")
    @classmethod
    def _finite_bound(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Metric:
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"the range is empty: min ({self.min:g}) must be below max ({self.max:g})")
        return self

    def better(self, a: float, b: float) -> bool:
        """True if score ``a`` is strictly better than ``b``."""
        return a > b if self.direction == "higher" else a < b

    def range_text(self) -> str | None:
        """``0 to 1``, ``at least 0``, ``at most 100``, or ``None`` when the spec gives no range."""
        if self.min is not None and self.max is not None:
            return f"{self.min:g} to {self.max:g}"
        if self.min is not None:
            return f"at least {self.min:g}"
        if self.max is not None:
            return f"at most {self.max:g}"
        return None

    def out_of_range(self, score: float) -> str | None:
        """Why ``score`` cannot be a value of this metric (``None``: it can)."""
        if (self.min is not None and score < self.min) or (self.max is not None and score > self.max):
            return f"{self.name} {score:g} is outside its range ({self.range_text()})"
        return None


class Limit(_Model):
    """A machine-checkable bound on a numeric field of a result."""

    field: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    description: str = ""

    @model_validator(mode="after")
    def _has_bound(self) -> Limit:
        if self.min is None and self.max is None:
            raise ValueError("a limit needs min or max")
        return self

    def violation(self, value: Any) -> str | None:
        """Why ``value`` breaks this limit, or ``None`` if it is within it."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{self.field} must be a finite number, got {value!r}"
        if self.max is not None and value > self.max:
            return f"{self.field} = {value:,} exceeds the limit of {self.max:,.0f}"
        if self.min is not None and value < self.min:
            return f"{self.field} = {value:,} is below the minimum of {self.min:,}"
        return None


class Constraints(_Model):
    """Rules in words, plus limits the tool checks."""

    rules: list[str] = []
    limits: list[Limit] = []


class Track(_Model):
    """A separately ranked track (e.g. nanoFold's ``limited`` / ``unlimited``)."""

    id: str = Field(min_length=1)
    description: str = ""


class Baseline(_Model):
    """A reference score shown as a fixed row on the leaderboard."""

    name: str = Field(min_length=1)
    score: float
    notes: str = ""
    track: str | None = None

    @field_validator("score")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class Scorer(_Model):
    """The plugin that computes scores from predictions, and its data."""

    name: str = Field(min_length=1)
    split: str = "test"
    data: str | None = None


class Claims(_Model):
    """Claim settings."""

    default_duration: str = "4h"

    @field_validator("default_duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        try:
            parse_duration(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
        return value


class Board(_Model):
    """Message board settings."""

    extra_types: list[str] = []

    @field_validator("extra_types")
    @classmethod
    def _slugs(cls, value: list[str]) -> list[str]:
        for item in value:
            if slug(item) != item:
                raise ValueError(f"type {item!r} must be lower-case a-z, 0-9 and '-'")
        return value


class Gateway(_Model):
    """Per-agent limits a gateway enforces (``[gateway]``); direct mode has none."""

    posts_per_minute: int = Field(30, ge=1, le=100_000)
    submits_per_hour: int = Field(20, ge=1, le=100_000)
    upload_bytes_per_day: int = Field(2 * 1024**3, ge=1)
    max_body_bytes: int = Field(64 * 1024, ge=1, le=64 * 1024)
    max_artifact_bytes: int = Field(1024**3, ge=1)


class Spec(_Model):
    """The whole ``collab.toml``.

    ``organizers`` may moderate: invalidate (and reinstate) others' results, quarantine objects,
    broadcast. In direct mode they are changed with ``collab organizers add|remove``, which rewrites
    this file; in gateway mode the operator's CLI does it.
    """

    layout: int = LAYOUT_VERSION
    organizers: list[str] = []
    task: Task
    metric: Metric
    constraints: Constraints = Constraints()
    tracks: list[Track] = []
    baselines: list[Baseline] = []
    scorer: Scorer | None = None
    claims: Claims = Claims()
    board: Board = Board()
    gateway: Gateway = Gateway()

    @field_validator("layout")
    @classmethod
    def _layout(cls, value: int) -> int:
        if value != LAYOUT_VERSION:
            raise ValueError(f"this collabspace reads layout {LAYOUT_VERSION}, not {value}")
        return value

    @field_validator("organizers")
    @classmethod
    def _organizers(cls, value: list[str]) -> list[str]:
        for agent in value:
            if not AGENT_ID_RE.match(agent):
                raise ValueError(f"{agent!r} is not a valid agent id")
        return value

    @model_validator(mode="after")
    def _tracks_known(self) -> Spec:
        known = {t.id for t in self.tracks}
        for b in self.baselines:
            if b.track is not None and b.track not in known:
                raise ValueError(f"baseline {b.name!r} names unknown track {b.track!r}")
            if why := self.metric.out_of_range(b.score):
                raise ValueError(f"baseline {b.name!r}: {why}")
        return self

    @property
    def message_types(self) -> tuple[str, ...]:
        """The template's six types plus the space's own."""
        return TEMPLATE_TYPES + tuple(t for t in self.board.extra_types if t not in TEMPLATE_TYPES)

    def to_toml(self) -> str:
        """Serialize to TOML (omitting empty optional parts)."""
        data = self.model_dump(mode="json", exclude_none=True)
        header = f"# collabspace task spec for {self.task.title!r} (layout {self.layout}).\n"
        return header + tomli_w.dumps(data)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


#: collab.toml is a page of settings; anything much larger is not one.
MAX_SPEC_SIZE = 256 * 1024


def parse_spec(text: str, *, source: str = SPEC) -> Spec:
    """Parse and validate ``collab.toml`` text.

    Raises:
        InvalidSpec: a one-line error naming the field, e.g.
            ``collab.toml: metric.direction: Input should be 'higher' or 'lower'``; also for a file
            that is too large, nested too deeply or holds an overlong integer.
    """
    hint = "fix the syntax; see collab init --help"
    if len(text) > MAX_SPEC_SIZE:
        raise InvalidSpec(f"{source}: larger than {MAX_SPEC_SIZE // 1024} KiB", hint=hint)
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer beyond Python's 4,300-digit limit
        raise InvalidSpec(f"{source}: not valid TOML: {str(exc).splitlines()[0]}", hint=hint) from None
    except RecursionError:  # tomllib recurses once per nested [ or {
        raise InvalidSpec(f"{source}: not valid TOML: nested too deeply", hint=hint) from None
    return spec_from_dict(data, source=source)


def spec_from_dict(data: dict[str, Any], *, source: str = SPEC) -> Spec:
    """Validate a spec given as a dict (see :func:`parse_spec`)."""
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = _field_name(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        got = err.get("input")
        shown = "" if err["type"] in ("missing", "extra_forbidden") or isinstance(got, dict) else f" (got {got!r})"
        raise InvalidSpec(
            f"{source}: {field}: {msg}{shown}",
            hint="fix that field in collab.toml; the layout is described in its header and the README",
        ) from None
