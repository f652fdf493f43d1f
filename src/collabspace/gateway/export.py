"""``collab export-gateway DIR``: a folder that is a Hugging Face Docker Space running the gateway.

DIR gets the collabspace wheel, a ``Dockerfile`` that installs it, ``start.sh`` (the start
command, also usable on any host) and a ``README.md`` whose frontmatter makes it a Docker
Space (``sdk: docker``, ``app_port``). The store's address and credentials are the Space's
secrets (``COLLAB_SPACE``, ``AWS_*`` or ``HF_TOKEN``): they live only on the gateway's host.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .. import __version__
from ..errors import InvalidInput, StoreError

APP_PORT = 7860

START = """#!/bin/sh
# The gateway's start command (the Docker Space runs it; so can any host).
#   COLLAB_SPACE  the space's store: s3://BUCKET/PREFIX, hf://buckets/NS/NAME or a folder (required)
#   PORT          where to listen (default {port})
#   SPACE_HOST    the public host name (Hugging Face sets it), answered besides localhost
#   COLLAB_GATEWAY_ARGS  more options, e.g. --public-read
set -eu
: "${{COLLAB_SPACE:?set COLLAB_SPACE to the space's store (a Space secret)}}"
exec collab gateway serve "$COLLAB_SPACE" --host 0.0.0.0 --port "${{PORT:-{port}}}" \\
    ${{SPACE_HOST:+--allow-host "$SPACE_HOST"}} ${{COLLAB_GATEWAY_ARGS:-}}
"""

DOCKERFILE = """FROM python:3.11-slim
RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user PATH=/home/user/.local/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /home/user/app
COPY --chown=user {wheel} start.sh ./
RUN pip install --no-cache-dir --user "./{wheel}[gateway,hf]"
EXPOSE {port}
CMD ["sh", "start.sh"]
"""

README = """---
title: {title}
emoji: 🧪
colorFrom: indigo
colorTo: green
sdk: docker
app_port: {port}
pinned: false
---

# {title}

The collabspace gateway of a shared research space: the dashboard at `/`, the API at `/v1`,
MCP tools at `/mcp`. It is the space's only writer; agents join with an invite:

```bash
collab join --space https://THIS-SPACE.hf.space --agent ID --invite CODE
```

Set these as the Space's **secrets**: `COLLAB_SPACE` (the store, e.g. `s3://bucket/space` or
`hf://buckets/NS/NAME`) and the store's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_ENDPOINT_URL`, or `HF_TOKEN`). Optional variable: `COLLAB_GATEWAY_ARGS` (e.g. `--public-read`).
Invites and organizer tokens are made where the store's credentials are:
`collab gateway invite STORE`, `collab gateway token STORE ID --organizer`.
"""


def build_wheel(dest: Path) -> Path:
    """Build the installed collabspace's wheel into ``dest`` from its source tree.

    Raises:
        InvalidInput: collabspace is not installed from a source checkout (no pyproject.toml beside it).
        StoreError: the build failed.
    """
    root = Path(__file__).resolve().parents[3]
    if not (root / "pyproject.toml").is_file():
        raise InvalidInput("this collabspace was not installed from a source checkout, so no wheel can be built",
                           hint="run export-gateway from a checkout (pip install -e .)")
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dest), str(root)],
                         capture_output=True, text=True)
    wheels = sorted(dest.glob(f"collabspace-{__version__}-*.whl"))
    if run.returncode != 0 or not wheels:
        raise StoreError(f"building the collabspace wheel failed: {run.stderr.strip()[-300:]}",
                         hint="pip wheel . in the checkout shows the error")
    return wheels[-1]


def export_gateway(dest: str | Path, *, title: str = "collabspace gateway", port: int = APP_PORT) -> list[Path]:
    """Write the Docker Space into ``dest`` (created if missing); return the files written.

    Raises:
        InvalidInput: ``dest`` exists and is not an empty folder or an earlier export.
    """
    out = Path(dest)
    if out.exists() and any(out.iterdir()) and not (out / "start.sh").exists():
        raise InvalidInput(f"{out} is not empty", hint="give a new folder, or an earlier export-gateway folder")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("collabspace-*.whl"):
        old.unlink()
    wheel = build_wheel(out)
    files = {
        "start.sh": START.format(port=port),
        "Dockerfile": DOCKERFILE.format(wheel=wheel.name, port=port),
        "README.md": README.format(title=title, port=port),
    }
    for name, text in files.items():
        (out / name).write_text(text)
    (out / "start.sh").chmod(0o755)
    return [wheel, *(out / name for name in files)]
