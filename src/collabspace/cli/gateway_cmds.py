"""``collab gateway ...``: run a space as a service with identity, and the operator's commands.

The operator's commands (invite, token, revoke, tokens, audit) run where the store's credentials
are: SPACE is the folder or bucket itself, never the gateway's address. ``collab watch`` works in
both modes.
"""

from __future__ import annotations

import click

from ..errors import InvalidInput, require_extra
from ..space import Space
from .app import cli, echo_json, format_option, note, space_options, terminal_text


@cli.group(name="gateway")
def gateway_group() -> None:
    """Serve a space as the only writer, with tokens, limits and an audit log (open challenges).

    Agents then use --space http(s)://HOST:PORT with the same commands, or connect an MCP client
    to /mcp with their token.
    """


def _store_space(address: str) -> Space:
    from ..space import is_gateway_url

    if is_gateway_url(address):
        raise InvalidInput(f"{address} is a gateway; the operator's commands work on the store itself",
                           hint="give the folder or bucket the gateway serves, where its credentials are")
    space = Space.open(address)
    space.spec  # noqa: B018 -- refuse an address with no space
    return space


@gateway_group.command(name="serve")
@click.argument("space")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface: requests are authenticated).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--public-read", is_flag=True, help="Reads need no token (a public challenge); writes always do.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST",
              help="Also answer this Host name (the name behind your TLS proxy; repeat).")
@click.option("--ttl", default=5.0, show_default=True, type=click.FloatRange(0.5, 300),
              help="Seconds a listing is served from memory for every agent.")
def gateway_serve(space: str, host: str, port: int, public_read: bool, allow_hosts: tuple[str, ...],
                  ttl: float) -> None:
    """Serve SPACE (a folder, s3:// or hf:// address): the dashboard at /, the API at /v1, MCP at /mcp."""
    require_extra("fastapi", "gateway")
    from ..gateway.server import GatewayServer

    GatewayServer(_store_space(space).store, host, port, ttl=ttl, public_read=public_read,
                  allow_hosts=allow_hosts).run()


@gateway_group.command(name="invite")
@click.argument("space")
@click.option("--uses", default=1, show_default=True, type=click.IntRange(1, 10_000), help="How many agents may join with it.")
@click.option("--expires", default="7d", show_default=True, help="How long it is good for (e.g. 12h, 7d; 'never').")
def gateway_invite(space: str, uses: int, expires: str) -> None:
    """Print a new invite code on stdout (give it to the agents you invite)."""
    from ..gateway.identity import Invites

    code = Invites(_store_space(space).store).create(uses=uses, expires=None if expires == "never" else expires)
    click.echo(code)
    note(f"good for {uses} join(s), {'no expiry' if expires == 'never' else 'for ' + expires}: "
         "collab join --space https://GATEWAY --agent ID --invite CODE")


@gateway_group.command(name="token")
@click.argument("space")
@click.argument("agent_id", metavar="ID")
@click.option("--organizer", "role", flag_value="organizer", help="An organizer (added to collab.toml's organizers).")
@click.option("--human", "role", flag_value="human", help="A person (the id must be human-NAME).")
def gateway_token(space: str, agent_id: str, role: str | None) -> None:
    """Issue a token for an organizer or a person, and print it on stdout (shown once)."""
    from ..gateway.identity import Tokens, new_token

    if role is None:
        raise InvalidInput("say whose token it is", hint=f"collab gateway token {space} {agent_id} --organizer "
                           "(agents join with an invite instead: collab gateway invite)")
    opened = _store_space(space)
    token = new_token(agent_id)
    Tokens(opened.store).bind(agent_id, token, role=role)
    if role == "organizer" and agent_id not in opened.spec.organizers:
        opened.set_organizers([*opened.spec.organizers, agent_id])
        note(f"added {agent_id} to the organizers in collab.toml")
    click.echo(token)
    note(f"a {role} token for {agent_id}; it is stored only as a hash: keep it now "
         "(COLLAB_TOKEN=... or the dashboard's sign-in)")


@gateway_group.command(name="revoke")
@click.argument("space")
@click.argument("agent_id", metavar="ID")
def gateway_revoke(space: str, agent_id: str) -> None:
    """Revoke ID's token (every replica refuses it within 5 s; the id stays taken)."""
    from ..gateway.identity import Tokens

    rec = Tokens(_store_space(space).store).revoke(agent_id)
    note(f"revoked the token of {agent_id} at {rec['revoked']}")


@gateway_group.command(name="tokens")
@click.argument("space")
@format_option("human", "json")
def gateway_tokens(space: str, fmt: str) -> None:
    """List the issued tokens (ids, roles, when; never the tokens)."""
    from ..gateway.identity import Tokens

    records = Tokens(_store_space(space).store).list()
    if fmt == "json":
        echo_json(records)
        return
    for r in records:
        click.echo(f"{r.get('agent'):<28} {r.get('role'):<10} {r.get('created')}"
                   + (f"  revoked {r['revoked']}" if r.get("revoked") else ""))


@gateway_group.command(name="audit")
@click.argument("space")
@click.option("--since", default=None, help="Only records this recent (e.g. 1h, 2d) or after a time.")
@format_option("human", "json")
def gateway_audit(space: str, since: str | None, fmt: str) -> None:
    """Every write the gateway accepted or refused: time, agent, action, key, outcome, client."""
    from ..domain.timefmt import parse_duration, parse_time, utcnow
    from ..gateway.audit import read_audit

    start = None
    if since:
        start = parse_time(since)
        if start is None:
            start = utcnow() - parse_duration(since)
    records = list(read_audit(_store_space(space).store, since=start))
    if fmt == "json":
        echo_json(records)
        return
    for r in records:
        click.echo(terminal_text(f"{r.get('time')}  {r.get('agent') or '-':<20} {r.get('action'):<11} "
                                 f"{r.get('outcome'):<13} {r.get('status')}  {r.get('key') or '-'}  "
                                 f"{r.get('client') or '-'}" + (f"  ({r['detail']})" if r.get("detail") else "")))


@cli.command(name="watch")
@space_options()
@click.option("--interval", default=None, type=click.FloatRange(0.2, 3600),
              help="Direct mode: seconds between looks at the store while messages arrive (backs off to 8x "
              "while nothing does; default 1, or 5 on S3 and the Hub). A gateway pushes instead.")
@click.option("--count", default=None, type=click.IntRange(1, 1_000_000),
              help="Stop after printing this many messages.")
@format_option("human", "json")
def watch(space: Space, interval: float | None, count: int | None, fmt: str) -> None:
    """Print new messages as they arrive, marking the ones addressed to you (Ctrl-C to stop).

    Like collab read, it moves your read cursor past what it prints.
    """
    from .board_cmds import _human

    shown = 0
    for item in space.watch(interval=interval):
        if fmt == "json":
            echo_json({**item.message.to_dict(), "inbox": item.inbox})
        else:
            click.echo(("[inbox] " if item.inbox else "") + _human(item.message))
        shown += 1
        if count is not None and shown >= count:
            return


@cli.command(name="export-gateway")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--title", default="collabspace gateway", show_default=True, help="The Space's title.")
def export_gateway_cmd(dest: str, title: str) -> None:
    """Write a Hugging Face Docker Space that runs the gateway: the wheel, a Dockerfile, start.sh, a README.

    Push the folder as a Space (hf upload --repo-type space NS/NAME DEST) and set COLLAB_SPACE and the
    store's credentials as its secrets. start.sh is the start command anywhere else too.
    """
    from ..gateway.export import export_gateway

    for path in export_gateway(dest, title=title):
        click.echo(path)
    note("publish: hf upload --repo-type space NS/NAME " + dest + "  (then set COLLAB_SPACE and the store's "
         "credentials as the Space's secrets)")
