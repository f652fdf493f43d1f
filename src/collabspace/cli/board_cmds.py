"""Board commands: post, read, show, search, inbox, claim, claims, release, digest, doctor."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from ..domain.board.board import ThreadItem
from ..domain.board.claims import Claim
from ..domain.board.messages import Message
from ..domain.refs import shown
from ..domain.timefmt import exact_time, format_duration
from ..errors import InvalidInput
from ..space import Space
from .app import cli, echo_json, format_option, note, space_options, split_values

_META_SKIP = ("scope", "expires", "released", "note")


def _read_body(body: str | None, body_file: str | None) -> str:
    if body is not None and body_file is not None:
        raise InvalidInput("give the body once: --body or --body-file", hint="use one of them, or pipe it on stdin")
    if body is not None:
        return body
    if body_file is not None:
        stream = click.open_file(body_file, "rb")
        with stream:
            data = stream.read()
        where = "stdin" if body_file == "-" else body_file
    elif sys.stdin.isatty():
        raise InvalidInput("no message body given", hint="pass --body TEXT, --body-file FILE or pipe it on stdin")
    else:
        data, where = sys.stdin.buffer.read(), "stdin"
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"the body in {where} is not UTF-8 text", hint="save it as UTF-8") from None


def _human(m: Message, indent: str = "") -> str:
    lines = [f"── {m.file}  {m.header()}"]
    if m.refs:
        lines.append("refs: " + ", ".join(shown(r) for r in m.refs))
    if extra := m.extras_line():
        lines.append(extra)
    lines += ["", *m.body.splitlines(), ""]
    return "\n".join(indent + line if line else line for line in lines)


def _emit(messages: list[Message], fmt: str) -> None:
    if fmt == "json":
        echo_json([m.to_dict() for m in messages])
    elif fmt == "md":
        click.echo("\n---\n\n".join(m.to_markdown() for m in messages), nl=False)
    else:
        for m in messages:
            click.echo(_human(m))


def _emit_thread(items: list[ThreadItem], fmt: str) -> None:
    if fmt == "json":
        echo_json([i.to_dict() for i in items])
    elif fmt == "md":
        click.echo("\n".join(i.message.to_markdown(level=min(2 + i.depth, 6)) for i in items), nl=False)
    else:
        for i in items:
            click.echo(_human(i.message, indent="    " * i.depth))


@cli.command()
@space_options()
@click.option("--type", "type_", required=True, metavar="TYPE",
              help="status-update, experiment-proposal, results-report, question, claim, build-on (+ the space's own).")
@click.option("--topic", help="A few words for the filename (slugged; default: the type).")
@click.option("--refs", multiple=True, metavar="FILE", help="A message this one answers (repeat, or comma-separate).")
@click.option("--body", help="The message text (markdown).")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="Read the text from a file ('-' for stdin).")
@click.option("--broadcast", is_flag=True,
              help="Organizers: to everyone; it lands in every agent's inbox (until answered or acknowledged) "
              "and in the digest.")
@format_option("human", "json")
def post(space: Space, type_: str, topic: str | None, refs: tuple[str, ...], body: str | None,
         body_file: str | None, broadcast: bool, fmt: str) -> None:
    """Post a message to the board (the body from --body, --body-file or stdin)."""
    message = space.post(type_, _read_body(body, body_file), topic=topic, refs=split_values(refs), broadcast=broadcast)
    if fmt == "json":
        echo_json(message.to_dict())
    else:
        click.echo(message.file)
        note(f"posted {message.key}")


@cli.command()
@space_options()
@click.option("--all", "all_", is_flag=True, help="The whole board, not only what is new (the cursor stays).")
@click.option("--since", metavar="WHEN", help="Messages since 2h ago, a time, or a message filename.")
@click.option("--type", "type_", metavar="TYPE", help="Only messages of this type.")
@click.option("--from", "author", metavar="AGENT", help="Only messages by this agent.")
@click.option("--limit", type=int, help="New: the earliest N arrivals (the rest stay new). Otherwise: the newest N.")
@click.option("--after", metavar="FILE", help="What arrived after this message (the cursor a JSON read prints), "
              "on any machine; moves no cursor.")
@click.option("--peek", is_flag=True, help="Show what is new without marking it read.")
@click.option("--thread", metavar="FILE", help="The message, what it refs and everything that refs it, as a tree.")
@format_option("human", "md", "json")
def read(space: Space, all_: bool, since: str | None, type_: str | None, author: str | None,
         limit: int | None, after: str | None, peek: bool, thread: str | None, fmt: str) -> None:
    """Show what is new on the board since your last read, and mark it read.

    New means: arrived in the store since you were last shown the board, whatever time its
    filename says. On a machine where you have never read, it resumes from your latest post.
    JSON output is {"messages": [...], "remaining": N, "cursor": FILE}; pass the cursor back
    with --after to resume from there anywhere.
    """
    if thread:
        if all_ or since or type_ or author or limit is not None or after or peek:
            raise InvalidInput("--thread shows one whole thread",
                               hint="drop --all/--since/--type/--from/--limit/--after/--peek")
        _emit_thread(space.thread(thread), fmt)
        return
    if (all_ or since) and (after or peek):
        raise InvalidInput("--after and --peek read what is new; --all and --since read the board",
                           hint="use one or the other")
    result = space.read(all=all_, since=since, type=type_, author=author, limit=limit, after=after, peek=peek)
    if fmt == "json":
        echo_json({"messages": [m.to_dict() for m in result.messages], "remaining": result.remaining,
                   "cursor": result.cursor, "advanced": result.advanced})
    else:
        _emit(result.messages, fmt)
    if not (all_ or since):
        if not result.messages:
            note("no new messages")
        if result.remaining:
            note(f"{result.remaining} more new: run collab read again")
        if type_ or author:
            note("filtered read: messages stay unread for the next plain collab read")
        elif not result.advanced and result.messages:
            note("nothing was marked read (--peek or --after): they stay new for the next plain collab read")


@cli.command()
@space_options(agent=False)
@click.argument("file")
@format_option("human", "md", "json")
def show(space: Space, file: str, fmt: str) -> None:
    """Print one message (FILE: its filename or message_board/ key)."""
    message = space.show(file)
    if fmt == "json":
        echo_json(message.to_dict())
    else:
        _emit([message], fmt)


@cli.command()
@space_options(agent=False)
@click.argument("query")
@click.option("--limit", type=int, default=20, show_default=True, help="At most this many results.")
@format_option("human", "json")
def search(space: Space, query: str, limit: int, fmt: str) -> None:
    """Full-text search of the board (every word must appear), best match first."""
    found = space.search(query, limit=limit)
    if fmt == "json":
        echo_json([m.to_dict() for m in found])
        return
    for m in found:
        click.echo(f"{m.file}  {m.header()}\n    {m.first_line()}")
    if not found:
        note(f"no message matches {query!r}")


@cli.command()
@space_options()
@click.option("--all", "all_", is_flag=True, help="Every message for you, answered, acknowledged or not.")
@click.option("--limit", type=int, help="The newest N.")
@click.option("--ack", "ack", multiple=True, metavar="FILE", help="Acknowledge a message: it leaves your inbox (repeat).")
@click.option("--ack-all", is_flag=True, help="Acknowledge everything in your inbox.")
@format_option("human", "md", "json")
def inbox(space: Space, all_: bool, limit: int | None, ack: tuple[str, ...], ack_all: bool, fmt: str) -> None:
    """Messages that ref one of yours or mention @you, until you answer them (post with --refs) or
    acknowledge them (--ack). Reading the board does not empty it."""
    if ack or ack_all:
        if ack and ack_all:
            raise InvalidInput("--ack names messages, --ack-all takes the whole inbox", hint="use one of them")
        done = space.ack(split_values(ack))
        if fmt == "json":
            echo_json({"acknowledged": done})
        else:
            note(f"acknowledged {len(done)} message{'s' if len(done) != 1 else ''}")
        return
    found = space.inbox(all=all_, limit=limit)
    _emit(found, fmt)
    if not found:
        note("inbox empty")


@cli.command()
@space_options()
@click.argument("scope")
@click.option("--for", "duration", metavar="DURATION", help="How long, e.g. 90m, 4h, 1d (default: the space's).")
@click.option("--note", "note_text", default="", help="A line about the plan.")
@click.option("--force", is_flag=True, help="Post even though someone else holds it (shown as contested).")
@format_option("human", "json")
def claim(space: Space, scope: str, duration: str | None, note_text: str, force: bool, fmt: str) -> None:
    """Claim a direction of work (SCOPE) so others leave it to you; claim again to renew."""
    result = space.claim(scope, duration=duration, note=note_text, force=force)
    c = result.claim
    if fmt == "json":
        echo_json({**c.to_dict(space.clock()), "renewed": result.renewed, "contested": result.contested,
                   "message": result.message.file})
        return
    verb = "renewed" if result.renewed else "claimed"
    left = format_duration(c.expires - space.clock())
    click.echo(f"{verb} {c.scope!r} until {exact_time(c.expires)} ({result.message.file})")
    note(f"it expires in {left} unless you claim it again")
    if result.contested:
        held = next(x for x in space.claims() if x.slug == c.slug and x.status == "active")
        note(f"contested: {held.agent} holds it until {exact_time(held.expires)}")


@cli.command()
@space_options()
@click.argument("scope")
@format_option("human", "json")
def release(space: Space, scope: str, fmt: str) -> None:
    """Release your claim on SCOPE."""
    c = space.release(scope)
    if fmt == "json":
        echo_json(c.to_dict(space.clock()))
        return
    click.echo(f"released {c.scope!r}")


def _claim_row(c: Claim, now: datetime) -> str:
    if c.ended is None:
        when = f"in {format_duration(c.expires - now)} ({exact_time(c.expires)})"
    else:
        when = f"{format_duration(now - c.ended)} ago ({exact_time(c.ended)})"
    return f"{c.scope[:30]:<30} {c.agent:<16} {c.status:<9} {when:<36} {format_duration(now - c.since)}"


@cli.command(name="claims")
@space_options(agent=False)
@click.option("--all", "all_", is_flag=True, help="Also expired and released claims.")
@format_option("human", "json")
def claims_cmd(space: Space, all_: bool, fmt: str) -> None:
    """List active claims (and contested ones); --all adds expired and released ones."""
    found = space.claims(all=all_)
    now = space.clock()
    if fmt == "json":
        echo_json([c.to_dict(now) for c in found])
        return
    if not found:
        note("no active claims")
        return
    click.echo(f"{'SCOPE':<30} {'AGENT':<16} {'STATUS':<9} {'EXPIRES / ENDED':<36} AGE")
    for c in found:
        click.echo(_claim_row(c, now))


@cli.command()
@space_options()
@format_option("md", "json")
def digest(space: Space, fmt: str) -> None:
    """The state of play in one page (at most 6,000 characters)."""
    result = space.digest()
    if fmt == "json":
        click.echo(result.to_json())
    else:
        click.echo(result.markdown, nl=False)


@cli.command()
@space_options(agent=False)
@format_option("human", "json")
@click.option("--abort-uploads", is_flag=True, help="Abort the stale incomplete uploads (killed pushes) first.")
@click.option("--older-than", default="1h", show_default=True, metavar="DURATION",
              help="An incomplete upload older than this is stale.")
def doctor(space: Space, fmt: str, abort_uploads: bool, older_than: str) -> None:
    """Check the space: board files every read skips, refs to missing messages, unusable results,
    verdicts and registrations, agents whose clocks are off, packs that disagree with their files,
    incomplete uploads that killed pushes left (`--abort-uploads` removes them).

    Exits 1 when it finds a problem, so that a script can gate on it.
    """
    for key in space.abort_uploads(older_than) if abort_uploads else []:
        note(f"aborted an incomplete upload of {key}")
    problems = space.doctor(uploads_older_than=older_than)
    if fmt == "json":
        echo_json([p.to_dict() for p in problems])
    else:
        for p in problems:
            click.echo(f"{p.key}: {p.reason}")
        note(f"{len(problems)} problem(s) found" if problems else "no problems found")
    if problems:
        raise SystemExit(1)
