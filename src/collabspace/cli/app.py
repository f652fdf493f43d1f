"""The ``collab`` group and the options commands share."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from ..space import Space


#: The largest count any option takes (``--limit`` and the like): more than any board holds.
MAX_COUNT = 1_000_000


class _BoundedInt(click.ParamType):
    """An integer option with a bound, so that no count reaches SQLite or a loop unbounded."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.INT.convert(value, param, ctx) if not isinstance(value, int) else value
        if abs(number) > MAX_COUNT:
            self.fail(f"{number if abs(number) < 10**12 else 'a number this large'} is over the limit of "
                      f"{MAX_COUNT:,}", param, ctx)
        return number


class BoundedGroup(click.Group):
    """The ``collab`` group: every plain integer option of every command is bounded by :data:`MAX_COUNT`
    (ranges declared with ``click.IntRange`` keep their own bounds)."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        for param in cmd.params:
            if isinstance(param, click.Option) and param.type is click.INT:
                param.type = _BoundedInt()
        super().add_command(cmd, name)


class _CleanErrors(BoundedGroup):
    """An error's message and hint (which may quote stored text: a claim's note, a key) leave the ``collab``
    group with their control sequences removed, like every other output (see :func:`terminal_text`)."""

    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import CollabError

        try:
            return super().invoke(ctx)
        except CollabError as exc:
            exc.message = terminal_text(exc.message)
            exc.hint = terminal_text(exc.hint) if exc.hint else exc.hint
            exc.args = (exc.message, *exc.args[1:])
            raise


@click.group(cls=_CleanErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="collabspace", prog_name="collab")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
def cli(debug: bool) -> None:
    """collabspace: a shared research space for AI agents.

    Set COLLAB_SPACE (a folder, s3://bucket/prefix or hf://buckets/NS/NAME) and
    COLLAB_AGENT (your id), or pass --space and --agent to each command.
    """
    click.get_current_context().with_resource(_clean_stdout())


# -- terminal output ---------------------------------------------------------------------------------
# Text from the store (message bodies, names, notes, experiment names...) is written by anyone who can
# write the store. Printed raw, an escape sequence in it drives the reader's terminal: it can retitle the
# window, hide or rewrite lines, plant hyperlinks, or (on some terminals) answer back. Every human output
# therefore goes through terminal_text(); JSON output escapes the same characters as \uXXXX.

#: ESC sequences (7-bit and their 8-bit C1 forms): string sequences (OSC, DCS, SOS, PM, APC) up to their
#: terminator (BEL or ST), or the end of the line when unterminated (so that one bad field cannot swallow
#: the rest of a listing), CSI sequences, and two-character ESC sequences.
_ESCAPES = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"  # OSC/DCS/SOS/PM/APC ... ST
    r"|(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"  # CSI params intermediates final
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"  # ESC (intermediates) final: charset switches, RIS, DECSC...
)
#: What is left after the sequences: every C0 control but tab and newline, DEL, and the C1 controls.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_text(text: str) -> str:
    """``text`` safe to print on a terminal: ESC sequences and C0/C1 control characters removed.

    Tab and newline stay; a carriage return goes (it would let a line overwrite what precedes it).
    Every printer of the CLI uses this: :func:`echo`, :func:`note` and, through the ``collab``
    group, everything written to stdout as text (JSON is already free of them, see :func:`echo_json`).
    """
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


class _CleanText:
    """A text stream that passes everything written to it through :func:`terminal_text`.

    Binary writes (``.buffer``, used for ``collab pull -`` and the MCP stdio transport) go through untouched.
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def write(self, text: Any) -> int:
        if not isinstance(text, str):  # click probes text streams with write(b""): let the real stream refuse
            return self._raw.write(text)
        self._raw.write(terminal_text(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


@contextmanager
def _clean_stdout() -> Iterator[None]:
    """Sanitise everything a command prints to stdout as text, for the length of the command."""
    raw = sys.stdout
    if raw is None or isinstance(raw, _CleanText):
        yield
        return
    sys.stdout = _CleanText(raw)  # type: ignore[assignment]
    try:
        yield
    finally:
        if isinstance(sys.stdout, _CleanText) and sys.stdout._raw is raw:
            sys.stdout = raw


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print human text (stdout, or stderr with ``err``), control sequences removed."""
    click.echo(terminal_text(text), err=err, nl=nl)


def check_local_space(address: str) -> None:
    """Refuse a folder address that holds no space, naming the absolute path tried.

    A relative ``COLLAB_SPACE=./space`` is resolved against the current directory, so after a ``cd`` it
    names another folder: the hint then says so, and never invites ``collab init`` there (which would make
    a second, empty space). Other addresses are checked by the space itself when first read.

    Raises:
        NotFound: the folder does not exist, or holds no ``collab.toml``.
    """
    from pathlib import Path

    from ..domain.paths import SPEC
    from ..errors import NotFound

    if "://" in address and not address.startswith("file://"):
        return
    given = address.removeprefix("file://")
    path = Path(given).expanduser()
    full = path.resolve()
    if (full / SPEC).is_file():
        return
    why = "no such folder" if not full.exists() else f"no {SPEC}" if full.is_dir() else "a file, not a folder"
    if not path.is_absolute() and not given.startswith("~"):
        hint = (f"the space address {given!r} (--space / COLLAB_SPACE) is relative to the current directory "
                f"({Path.cwd()}): cd back to where it was made, or set COLLAB_SPACE to its absolute path")
    else:
        hint = (f"check the address (--space / COLLAB_SPACE) for a typo; only to start a new, empty space there: "
                f"collab init {full} --task gsm8k")
    raise NotFound(f"no collab space at {full} ({why})", hint=hint)


def space_options(*, agent: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add ``--space`` (and ``--agent``) and pass an opened :class:`Space` as ``space``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, space_url: str | None, agent_id: str | None = None, **kwargs: Any) -> Any:
            if not space_url:
                from ..errors import InvalidInput

                raise InvalidInput("no space given", hint="pass --space PATH|s3://BUCKET/PREFIX|hf://buckets/NS/NAME "
                                   "or set COLLAB_SPACE")
            check_local_space(space_url)
            return func(*args, space=Space.open(space_url, agent=agent_id or None), **kwargs)

        wrapper = click.option(
            "--space", "space_url", envvar="COLLAB_SPACE", metavar="URL",
            help="The space: a folder, s3://bucket/prefix or hf://buckets/NS/NAME[/prefix] [env: COLLAB_SPACE].",
        )(wrapper)
        if agent:
            wrapper = click.option(
                "--agent", "agent_id", envvar="COLLAB_AGENT", metavar="ID",
                help="Your agent id [env: COLLAB_AGENT].",
            )(wrapper)
        return wrapper

    return decorate


def format_option(*choices: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format`` with the given choices (the first is the default)."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True, help="Output format."
    )


#: Characters JSON may carry raw that a terminal would act on: DEL and C1 (JSON escapes C0 itself).
_JSON_RAW = re.compile(r"[\x7f-\x9f]")


def json_text(data: Any, **kwargs: Any) -> str:
    """JSON text (UTF-8, unescaped) with DEL and the C1 controls written as ``\\uXXXX``: the same JSON
    value, safe on a terminal. They can only occur inside strings, where the escape means the same."""
    text = json.dumps(data, ensure_ascii=False, default=str, **kwargs)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def echo_json(data: Any) -> None:
    """Print data as JSON on stdout."""
    click.echo(json_text(data, indent=2))


def note(text: str) -> None:
    """Print a progress or hint line on stderr."""
    click.echo(terminal_text(text), err=True)


def human_size(size: int) -> str:
    """``1.2 MB``-style sizes."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def split_values(values: tuple[str, ...]) -> list[str]:
    """Values of a repeatable option, each of which may also be a comma list."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]
