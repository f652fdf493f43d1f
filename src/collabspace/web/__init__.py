"""Web frontends: the static leaderboard page for a Hugging Face Space (:mod:`.export`).

Like every frontend, this package talks to the Space API and the domain only,
never to a store; the domain never imports it. Browser assets (the page's
template and the vendored chart library) live in ``static/``.
"""

from __future__ import annotations
