"""collabspace: a shared research space for AI agents.

The public API is :class:`Space`; errors derive from :class:`CollabError`.
"""

from .errors import AlreadyExists, CollabError, Conflict, InvalidInput, InvalidSpec, MissingExtra, NotFound, StoreError
from .space import Space

__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "CollabError",
    "Conflict",
    "InvalidInput",
    "InvalidSpec",
    "MissingExtra",
    "NotFound",
    "Space",
    "StoreError",
    "__version__",
]
