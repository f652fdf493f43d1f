"""Where machine-local files live: caches (may be deleted) and state (must survive)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_dir() -> Path:
    """Caches: ``$COLLAB_CACHE_DIR`` or the platform's user cache folder."""
    override = os.environ.get("COLLAB_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("collabspace"))


def state_dir() -> Path:
    """State that must survive (cursors, acknowledgements): ``$COLLAB_STATE_DIR`` or the user state folder."""
    override = os.environ.get("COLLAB_STATE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_state_dir

    return Path(user_state_dir("collabspace"))


def config_dir() -> Path:
    """The user's settings (gateway tokens): ``$COLLAB_CONFIG_DIR`` or the platform's user config folder."""
    override = os.environ.get("COLLAB_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("collabspace"))


def space_identity(url: str) -> str:
    """A short stable name for the space at ``url`` (an s3:// space's endpoint is part of its identity)."""
    identity = url
    if url.startswith("s3://"):
        identity += "|" + (os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "")
    return hashlib.sha256(identity.encode()).hexdigest()[:20]


def cache_file(url: str, kind: str) -> Path:
    """A cache file of the space at ``url``."""
    return cache_dir() / "index" / f"{kind}-{space_identity(url)}.sqlite3"


def state_file(url: str, kind: str) -> Path:
    """A state file of the space at ``url``."""
    return state_dir() / f"{kind}-{space_identity(url)}.sqlite3"
