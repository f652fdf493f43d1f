"""The one error tree of collabspace.

Every error a user can meet derives from :class:`CollabError`, which carries a
one-line ``message`` and a ``hint`` (usually the command that fixes it). Each
surface renders it once: the CLI as ``error:`` / ``hint:`` lines on stderr, the
web API as JSON, an MCP tool as a tool error.

    CollabError
    ├── InvalidInput        a bad argument, key, id or file given by the user
    │   └── InvalidSpec     collab.toml is wrong (names the field)
    ├── NotFound            the key, message, result or space does not exist
    ├── AlreadyExists       a create-only write lost: the key is taken
    ├── Conflict            the operation clashes with the space's state (a held claim, ownership)
    ├── MissingExtra        an optional dependency is not installed
    ├── StoreError          the backend failed (network, permissions, configuration)
    ├── Unauthorized        a gateway request without a valid token (HTTP 401)
    ├── Forbidden           a token acting beyond its rights: another agent, a derived file (HTTP 403)
    ├── TooLarge            a request over a size cap (HTTP 413)
    └── RateLimited         an agent over a gateway limit; ``retry_after`` seconds (HTTP 429)
"""

from __future__ import annotations


class CollabError(Exception):
    """Base error: a one-line message plus a hint for the user."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, str | None]:
        """The JSON shape every surface uses for an error."""
        return {"error": self.message, "hint": self.hint, "kind": type(self).__name__}


class InvalidInput(CollabError):
    """A bad argument, key, id or file supplied by the user."""


class InvalidSpec(InvalidInput):
    """The task spec (collab.toml) is invalid."""


class NotFound(CollabError):
    """The thing asked for does not exist."""


class AlreadyExists(CollabError):
    """A create-only write found the key already taken."""


class Conflict(CollabError):
    """The operation clashes with the current state of the space."""


class MissingExtra(CollabError):
    """An optional dependency is not installed."""


class StoreError(CollabError):
    """The storage backend failed."""


class Unauthorized(CollabError):
    """A gateway request without a valid token (none, wrong, or revoked)."""


class Forbidden(CollabError):
    """The caller may not do this: act as another agent, write a derived or private file."""


class TooLarge(CollabError):
    """A request over a size cap (a message body, an artifact, a day's uploads)."""


class RateLimited(CollabError):
    """An agent over a gateway rate limit; ``retry_after`` says when to try again (seconds)."""

    def __init__(self, message: str, hint: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, str | None]:
        return {**super().to_dict(), "retry_after": str(self.retry_after)}


#: Each error's HTTP status on the gateway's API, and back (the client raises the same class).
HTTP_STATUS: dict[type[CollabError], int] = {
    InvalidInput: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409, AlreadyExists: 409,
    TooLarge: 413, RateLimited: 429, MissingExtra: 501, StoreError: 502,
}


def http_status(exc: CollabError) -> int:
    """The HTTP status of an error (its class or nearest base in :data:`HTTP_STATUS`)."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]  # type: ignore[index]
    return 400


def from_dict(data: dict[str, object], *, status: int = 400) -> CollabError:
    """The error a ``{"error", "hint", "kind"}`` object describes (the gateway's answer), as its own class."""
    kinds = {cls.__name__: cls for cls in (*HTTP_STATUS, InvalidSpec)}
    cls = kinds.get(str(data.get("kind")))
    if cls is None:
        cls = next((c for c, s in HTTP_STATUS.items() if s == status), StoreError)
    message = str(data.get("error") or f"the gateway answered HTTP {status}")
    hint = data.get("hint")
    hint = str(hint) if hint else None
    if cls is RateLimited:
        return RateLimited(message, hint, retry_after=int(data.get("retry_after") or 1))  # type: ignore[arg-type]
    return cls(message, hint)


def require_extra(module: str, extra: str) -> object:
    """Import an optional dependency or raise :class:`MissingExtra` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(
            f"this needs the optional dependency {module!r}, which is not installed",
            hint=f"pip install 'collabspace[{extra}]'",
        ) from exc
