"""The static leaderboard page for a Hugging Face Space (``collab export-space``).

:func:`export_space_files` returns the Space's files: ``README.md`` (the Space
metadata, ``sdk: static``), a self-contained ``index.html``, and the vendored
chart library. The page runs in the visitor's browser and reads the space
straight from the bucket's public URL, the way the Hub serves a bucket::

    {hub}/buckets/NS/NAME/resolve/{prefix/}PATH            a file
    {hub}/api/buckets/NS/NAME/tree/{prefix/}DIR?recursive=true
                                                           a listing: a JSON array of
                                                           {type, path, size, xetHash, mtime, uploadedAt},
                                                           further pages in the Link header

The page draws the space's ``leaderboard.json`` (written by collabspace next to
``LEADERBOARD.md``, see :mod:`collabspace.domain.results.leaderboard`) as it is: ranks,
statuses, flags, score texts, the headline and the best-so-far line. It never ranks
or judges results itself. Without a ``leaderboard.json`` (a space of an older
version) or without access, it shows the spec's baselines under a banner.

The page's settings are constants at the top of its script (``BUCKET_URL``,
``TREE_URL``, ``LEADERBOARD_URL``, ``METRIC_NAME``, ``METRIC_DIRECTION``,
``FALLBACK_LEADERBOARD``, ...), filled in here from the spec; ``?bucket=URL`` overrides
the bucket for one visit (``?leaderboard=URL``: just the ``leaderboard.json``).
"""

from __future__ import annotations

import html
import json
import os
import re
from importlib import resources
from typing import Any

import yaml

from ..domain import paths
from ..domain.results.leaderboard import build, score_text
from ..domain.setup.spec import Spec
from ..errors import InvalidInput

#: The Hugging Face Hub, unless ``HF_ENDPOINT`` says otherwise.
DEFAULT_HUB = "https://huggingface.co"
#: Files of the Space besides README.md and index.html: name in the Space -> file in ``static/``.
VENDORED = {
    "vendor/chart.umd.min.js": "vendor/chart.umd.min.js",
    "vendor/chart.js-LICENSE.md": "vendor/chart.js-LICENSE.md",
}
#: How often the page re-reads the bucket.
REFRESH_SECONDS = 60
#: The Hub's limit on ``short_description``.
SHORT_DESCRIPTION_MAX = 60

_HUB_BUCKET = re.compile(r"^(?P<hub>https?://.+?)/buckets/(?P<ns>[^/?#]+)/(?P<name>[^/?#]+)(?:/(?P<prefix>[^?#]*))?$")


def hub_endpoint() -> str:
    """The Hub's base URL: ``HF_ENDPOINT`` if set, else https://huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_HUB).rstrip("/")


def hub_bucket_url(space_url: str, *, endpoint: str | None = None) -> str | None:
    """The public base URL of the Hugging Face bucket behind a space address, or ``None`` if it is not one.

    ``hf://buckets/NS/NAME/some/prefix`` -> ``https://huggingface.co/buckets/NS/NAME/some/prefix``.

    Raises:
        InvalidInput: an ``hf://`` address without a namespace and a name.
    """
    if not space_url.startswith("hf://"):
        return None
    rest = space_url.removeprefix("hf://").strip("/")
    parts = rest.split("/")
    if parts[0] != "buckets" or len(parts) < 3 or not parts[1] or not parts[2]:
        raise InvalidInput(
            f"not a bucket address: {space_url!r}", hint="write it as hf://buckets/NAMESPACE/NAME[/prefix]"
        )
    return f"{(endpoint or hub_endpoint()).rstrip('/')}/{rest}"


def page_urls(bucket_url: str) -> dict[str, Any]:
    """Where the page reads from, derived from the bucket's public URL (the page's script derives the same).

    Returns:
        ``bucket_page`` (for people), ``file_url`` (a file is ``file_url + path``), ``tree_url``
        (a listing is ``tree_url + dir + "?recursive=true"``, or ``None`` for a plain web
        folder that cannot be listed), ``leaderboard_url``, ``prefix`` (the space's folder in the
        bucket, with a trailing ``/``) and ``label`` (``NS/NAME[/prefix]``, for people).

    Raises:
        InvalidInput: not an http(s) URL.
    """
    url = bucket_url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise InvalidInput(
            f"the bucket URL must be an http(s) URL, got {bucket_url!r}",
            hint="e.g. --bucket-url https://huggingface.co/buckets/NAMESPACE/NAME",
        )
    m = _HUB_BUCKET.match(url)
    if m is None:  # a plain web folder (e.g. a public S3 bucket): files only, no listings
        return {"bucket_page": url, "file_url": url + "/", "tree_url": None,
                "leaderboard_url": f"{url}/{paths.LEADERBOARD_JSON}", "prefix": "", "label": url}
    prefix = (m["prefix"] or "").strip("/")
    prefix = prefix + "/" if prefix else ""
    base = f"{m['hub']}/buckets/{m['ns']}/{m['name']}"
    return {
        "bucket_page": base,
        "file_url": f"{base}/resolve/{prefix}",
        "tree_url": f"{m['hub']}/api/buckets/{m['ns']}/{m['name']}/tree/{prefix}",
        "leaderboard_url": f"{base}/resolve/{prefix}{paths.LEADERBOARD_JSON}",
        "prefix": prefix,
        "label": f"{m['ns']}/{m['name']}" + (f"/{prefix.rstrip('/')}" if prefix else ""),
    }


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", *name.split("/")).read_bytes()


def script_json(value: Any) -> str:
    """JSON text that is safe inside an HTML ``<script>`` element (a JS literal or a JSON data block).

    ``<``, ``>`` and ``&`` are written as ``\\u003c``..., so no ``</script>``, ``<!--`` or entity can
    occur in it; U+2028 and U+2029 are escaped too (line terminators in older JavaScript).
    """
    text = json.dumps(value, ensure_ascii=False, indent=None)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text



#: The slots of the static templates: ``{{NAME}}`` (dashboard), ``@NAME@`` and ``/*@NAME@*/`` (the Space page).
SLOT = re.compile(r"\{\{([A-Z][A-Z_]*)\}\}|/\*@([A-Z][A-Z_]*)@\*/|@([A-Z][A-Z_]*)@")


def fill_template(template: str, values: dict[str, str]) -> str:
    """``template`` with every slot replaced by its (already escaped) value, in one pass.

    Only the template is scanned for slots, never a value: text from the spec or the store that looks
    like a slot (``{{TITLE}}``, ``/*@SCRIPT@*/``) stays text. Sequential ``str.replace`` calls would
    re-scan what earlier ones inserted, which is how a title could move the page's script.

    Raises:
        ValueError: the template has a slot without a value, or a value has no slot (a stale template).
    """
    found = {next(g for g in m.groups() if g) for m in SLOT.finditer(template)}
    if found != set(values):
        raise ValueError(f"template slots {sorted(found)} do not match the values {sorted(values)}")
    return SLOT.sub(lambda m: values[next(g for g in m.groups() if g)], template)


def fallback_leaderboard(spec: Spec) -> dict[str, Any]:
    """What the page shows when it cannot read ``leaderboard.json``: the leaderboard of no results (the baselines)."""
    return build(spec, [], present=set()).to_dict()


def page_config(spec: Spec, bucket_url: str, *, title: str | None = None) -> dict[str, Any]:
    """The constants at the top of the page's script, in order."""
    urls = page_urls(bucket_url)
    return {
        "TITLE": title or f"{spec.task.title} Leaderboard",
        "TASK_TITLE": spec.task.title,
        "METRIC_NAME": spec.metric.name,
        "METRIC_DIRECTION": spec.metric.direction,
        "METRIC_DESCRIPTION": spec.metric.description,
        "BUCKET_URL": bucket_url.strip().rstrip("/"),
        "TREE_URL": urls["tree_url"],
        "LEADERBOARD_URL": urls["leaderboard_url"],
        "FALLBACK_LEADERBOARD": fallback_leaderboard(spec),
        "LAYOUT": {
            "leaderboard": paths.LEADERBOARD_JSON,
            "table": paths.LEADERBOARD,
            "results": paths.RESULTS,
            "board": paths.BOARD,
            "agents": paths.AGENTS,
        },
        "REFRESH_SECONDS": REFRESH_SECONDS,
    }


_CONFIG_NOTES = {
    "METRIC_DIRECTION": '"higher" or "lower": which scores are better',
    "BUCKET_URL": "the bucket's public URL (+ the space's folder in it); ?bucket=URL overrides it for one visit",
    "TREE_URL": "listings: TREE_URL + folder + '?recursive=true' (null: no listings, leaderboard.json only)",
    "LEADERBOARD_URL": "the raw leaderboard.json (what the page draws); ?leaderboard=URL overrides it",
    "FALLBACK_LEADERBOARD": "shown when leaderboard.json cannot be read (private bucket, or an older space)",
    "REFRESH_SECONDS": "how often the page re-reads the bucket",
}


def _config_block(config: dict[str, Any]) -> str:
    lines = []
    for name, value in config.items():
        note = _CONFIG_NOTES.get(name)
        if note:
            lines.append(f"// {note}")
        lines.append(f"const {name} = {script_json(value)};")
    return "\n".join(lines)


def _index_html(config: dict[str, Any]) -> str:
    script = fill_template(_static("space/page.js").decode(), {"CONFIG": _config_block(config)})
    return fill_template(_static("space/page.html").decode(), {
        "TITLE": html.escape(config["TITLE"]),
        "BUCKET_PAGE": html.escape(page_urls(config["BUCKET_URL"])["bucket_page"]),
        "STYLE": _static("space/page.css").decode(),
        "SCRIPT": script,
    })


def _short_description(spec: Spec) -> str:
    for text in (f"Live leaderboard of the {spec.task.title} agent collaboration",
                 f"{spec.task.title} agent collaboration leaderboard", "Agent collaboration leaderboard"):
        if len(text) <= SHORT_DESCRIPTION_MAX:
            return text
    return "Agent collaboration leaderboard"


def _readme(spec: Spec, config: dict[str, Any]) -> str:
    urls = page_urls(config["BUCKET_URL"])
    meta = {
        "title": config["TITLE"],
        "emoji": "🏆",
        "colorFrom": "indigo",
        "colorTo": "blue",
        "sdk": "static",
        "pinned": False,
        "short_description": _short_description(spec),
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    arrow = "higher is better" if spec.metric.direction == "higher" else "lower is better"
    baselines = "".join(f"- {b.name}: {score_text(b.score)}" + (f" ({b.notes})" if b.notes else "") + "\n"
                        for b in spec.baselines)
    return (
        f"---\n{front}---\n\n"
        f"# {config['TITLE']}\n\n"
        f"The live leaderboard of the **{spec.task.title}** agent collaboration space: {spec.task.goal}\n\n"
        f"The page reads the space straight from its bucket, [{urls['label']}]({urls['bucket_page']}), in your browser; "
        "there is no server behind it. It shows:\n\n"
        f"- a chart of every result's **{spec.metric.name}** ({arrow}) against time, with the best-so-far line "
        "and the baselines as reference lines;\n"
        f"- the leaderboard from `{paths.LEADERBOARD_JSON}`, the twin of `{paths.LEADERBOARD}` that collabspace "
        "writes at every submit: rank, agent, score, experiment, status (verified, self-reported, invalid, "
        "flagged) and date, exactly as `collab leaderboard` shows them;\n"
        f"- live figures from `{paths.BOARD}`: agents, messages and the latest message.\n\n"
        "It re-reads the bucket every minute. If the bucket is private, sign in to Hugging Face with an account "
        "that can read it; without access (or before the space has a leaderboard.json) the page shows the "
        "reference entries below.\n\n"
        + (f"Reference entries:\n\n{baselines}\n" if baselines else "")
        + "Generated by collabspace with `collab export-space`. "
        "To point the page at another bucket, edit the constants at the top of the script in `index.html` "
        "(`BUCKET_URL`, `TREE_URL`, `LEADERBOARD_URL`), or open it with `?bucket=URL`.\n\n"
        "The chart is drawn with [Chart.js](https://www.chartjs.org/) (MIT licence, `vendor/chart.js-LICENSE.md`).\n"
    )


def export_space_files(spec: Spec, bucket_url: str, *, title: str | None = None) -> dict[str, bytes]:
    """The files of a static Hugging Face Space that shows the space's leaderboard.

    Args:
        spec: the space's task spec (title, metric name and direction, baselines).
        bucket_url: the bucket's public base URL, e.g. ``https://huggingface.co/buckets/NS/NAME``,
            optionally followed by the space's folder in the bucket (``.../NAME/runs/a``). Any other
            http(s) URL is read as a plain web folder (files at ``URL/PATH``, no listings).
        title: the page and Space title (default: ``"{task title} Leaderboard"``).

    Returns:
        Path in the Space -> bytes: ``README.md``, ``index.html`` and the vendored chart library.

    Raises:
        InvalidInput: ``bucket_url`` is not an http(s) URL.
    """
    config = page_config(spec, bucket_url, title=title)
    files = {
        "README.md": _readme(spec, config).encode(),
        "index.html": _index_html(config).encode(),
    }
    files.update({name: _static(src) for name, src in VENDORED.items()})
    return files
