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
    └── StoreError          the backend failed (network, permissions, configuration)
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
