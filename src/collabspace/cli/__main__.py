"""``python -m collabspace.cli``: the same as ``collab``."""

from . import main

main()
