"""Packs: immutable derived bundles of old messages and results, so a first read costs few requests.

A store charges per request, and a board of N messages is N objects: a new
reader's first full read costs N GETs. A pack holds the bytes of many of them
(:data:`SMALL` entries, :data:`LARGE` made from ten small ones, or a *tail* of the
newest files that do not fill a small pack yet), so that read costs the listing
plus one GET per pack::

    packs/{prefix}/{first}~{last}~{count}~{digest}.json
    {"collabspace_pack": 1, "prefix": "{prefix}",
     "entries": [{"key": ..., "size": ..., "md5": ..., "text": ...}, ...]}

The single files stay the truth; a pack is only believed entry by entry against
the listing the reader has just made: every entry's key must be listed with the
same size, and the MD5 of its text must equal both the entry's ``md5`` and the
listing's ETag (S3's ETag of a single-part object *is* its MD5). A pack with
one entry that disagrees (a file deleted or changed since, a forged entry, a
count or digest that does not add up) is ignored whole, and ``collab doctor``
names it. A listed file that no pack holds (a message that arrived late, with an
old name) is simply fetched on its own.

Nobody schedules packing: a reader that has just fetched at least :data:`SMALL`
files that no valid pack holds writes the packs itself, create-only
under a name derived from the members, so two readers doing it at once write the
same key and one of them wins. Stores whose listing gives no content hash (a
local folder, memory, the Hub's xet hashes) neither write nor read packs: there
a pack could not be checked, and a local folder costs no requests anyway.
Template-only agents never look under ``packs/``.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..errors import AlreadyExists, CollabError
from ..storage import ObjectInfo, Store
from . import paths, safejson
from .problems import Problem

FORMAT = 1
SMALL = 1000
LARGE = 10 * SMALL
#: Below this many files to fetch, single GETs are as cheap as looking for packs.
MIN_USE = 100
#: The largest pack read (a LARGE pack of 10,000 messages of a few KiB).
MAX_PACK_BYTES = 256 << 20

_MD5 = re.compile(r'^"?([0-9a-f]{32})"?$')


def content_md5(info: ObjectInfo) -> str | None:
    """The MD5 of an object's content as its listing states it (an S3 single-part ETag), else ``None``."""
    m = _MD5.match((info.etag or "").lower())
    return m.group(1) if m else None


@dataclass(frozen=True)
class PackName:
    """What a pack's key says: its first and last member (relative to the prefix), count and digest."""

    key: str
    first: str
    last: str
    count: int
    digest: str

    @classmethod
    def parse(cls, key: str, prefix: str) -> PackName | None:
        name = key.removeprefix(paths.pack_prefix(prefix))
        parts = name.removesuffix(".json").split("~")
        if key == name or not name.endswith(".json") or len(parts) != 4 or not parts[2].isdigit():
            return None
        return cls(key, parts[0], parts[1], int(parts[2]), parts[3])


def _digest(keys: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def pack_key(prefix: str, keys: list[str]) -> str:
    """The key of the pack of ``keys`` (sorted, all under ``prefix``): the same members, the same key."""
    first, last = (k.removeprefix(prefix) for k in (keys[0], keys[-1]))
    return f"{paths.pack_prefix(prefix)}{first}~{last}~{len(keys)}~{_digest(keys)}.json"


def packable(store: Store) -> bool:
    """Whether packs can be checked on this store: its listings carry content hashes (S3)."""
    return store.url.startswith("s3://")


@dataclass
class Pack:
    """A pack that agrees with the listing: its members' bytes."""

    name: PackName
    data: dict[str, bytes]


def _check(name: PackName, raw: bytes | None, prefix: str, listing: dict[str, ObjectInfo]) -> Pack | str:
    """The pack, or why it disagrees with the listing."""
    if raw is None:
        return "disappeared while being read"
    try:
        doc = safejson.loads(raw, what=name.key, max_size=MAX_PACK_BYTES)
    except CollabError as exc:
        return exc.message.removeprefix(f"{name.key}: ")
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or doc.get("collabspace_pack") != FORMAT or doc.get("prefix") != prefix:
        return "not a collabspace pack of " + prefix
    data: dict[str, bytes] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in ("key", "md5", "text")):
            return "an entry is not {key, size, md5, text}"
        key, text = entry["key"], entry["text"].encode()
        info = listing.get(key)
        if info is None:
            return f"holds {key}, which is not stored"
        if entry.get("size") != info.size or len(text) != info.size:
            return f"holds {key} with another size than the stored file"
        if not (hashlib.md5(text).hexdigest() == entry["md5"] == content_md5(info)):  # noqa: S324 -- S3's ETag
            return f"holds {key} with other content than the stored file"
        data[key] = text
    keys = sorted(data)
    if len(keys) != name.count or len(entries) != name.count or _digest(keys) != name.digest or \
            keys[0].removeprefix(prefix) != name.first or keys[-1].removeprefix(prefix) != name.last:
        return "its entries do not match its name (count, range or digest)"
    return Pack(name, data)


class Packs:
    """The packs of one prefix (``message_board/`` or ``artifacts/results/``) of a store.

    Args:
        store: the space's store.
        prefix: the folder whose files the packs hold.
    """

    def __init__(self, store: Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    def names(self) -> list[PackName]:
        """Every pack of the prefix (one listing); keys that are not pack names are skipped."""
        found = (PackName.parse(i.key, self.prefix) for i in self.store.list(paths.pack_prefix(self.prefix)))
        return [n for n in found if n is not None]

    def read(self, names: list[PackName], listing: dict[str, ObjectInfo]) -> tuple[list[Pack], list[Problem]]:
        """Fetch ``names`` (one GET each) and check them against ``listing``."""
        raw = self.store.get_many([n.key for n in names]) if names else {}
        good: list[Pack] = []
        bad: list[Problem] = []
        for n in names:
            checked = _check(n, raw.get(n.key), self.prefix, listing)
            if isinstance(checked, Pack):
                good.append(checked)
            else:
                bad.append(Problem(n.key, f"pack ignored: {checked}"))
        return good, bad

    def fetch(self, wanted: list[ObjectInfo], listing: dict[str, ObjectInfo], *,
              get: Callable[[list[str]], dict[str, bytes | None]]) -> dict[str, bytes | None]:
        """The bytes of ``wanted`` (``None`` where a file vanished): from the packs that hold them and agree
        with ``listing`` (the full listing of the prefix, just made), the rest through ``get``. Then, if
        enough settled files were fetched one by one, pack them for the next reader."""
        if len(wanted) < MIN_USE or not packable(self.store):
            return get([i.key for i in wanted])
        names = self.names()
        keys = sorted(i.key for i in wanted)
        useful = [n for n in sorted(names, key=lambda n: -n.count) if _overlaps(n, keys, self.prefix)]
        packs, _ = self.read(_cover(useful), listing)
        out: dict[str, bytes | None] = {}
        for pack in packs:
            out.update({k: v for k, v in pack.data.items() if k in listing})
        rest = [k for k in keys if k not in out]
        out.update(get(rest) if rest else {})
        self.write({k: v for k, v in out.items() if v is not None}, listing, packs)
        return {i.key: out.get(i.key) for i in wanted}

    def write(self, have: dict[str, bytes], listing: dict[str, ObjectInfo], packs: list[Pack]) -> list[str]:
        """Pack what ``have`` holds that no full pack does: full small packs of files in key order, one
        *tail* pack of what is left over (when it is at least :data:`MIN_USE` files: it grows with the board,
        each tail holding the one before, until it makes a full pack), and a large pack over each run of small
        ones read just now (ten of them). Create-only; a lost race is fine."""
        covered = {k for p in packs if p.name.count in (SMALL, LARGE) for k in p.data}
        large = [p for p in packs if p.name.count == LARGE]
        in_large = {k for p in large for k in p.data}
        loose = sorted(k for k, v in have.items() if k not in covered and _packable_entry(listing.get(k), v))
        written = []
        for start in range(0, len(loose) - SMALL + 1, SMALL):
            written += self._put(loose[start : start + SMALL], have, listing)
        tail = loose[len(loose) - len(loose) % SMALL :]
        if len(tail) >= MIN_USE and not any(set(p.data) == set(tail) for p in packs):
            written += self._put(tail, have, listing)
        small = sorted((p for p in packs if p.name.count == SMALL and not (set(p.data) & in_large)),
                       key=lambda p: p.name.first)
        per = LARGE // SMALL
        for start in range(0, len(small) - per + 1, per):
            run = small[start : start + per]
            members = sorted(k for p in run for k in p.data)
            if len(members) == LARGE:
                written += self._put(members, {k: v for p in run for k, v in p.data.items()}, listing)
        return written

    def _put(self, keys: list[str], data: dict[str, bytes], listing: dict[str, ObjectInfo]) -> list[str]:
        entries = [{"key": k, "size": listing[k].size, "md5": content_md5(listing[k]), "text": data[k].decode()}
                   for k in keys]
        doc = {"collabspace_pack": FORMAT, "prefix": self.prefix, "entries": entries}
        key = pack_key(self.prefix, keys)
        try:
            self.store.put(key, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(),
                           create_only=True)
        except AlreadyExists:
            return []
        except CollabError:  # a reader that cannot write (read-only credentials) still reads
            return []
        return [key]

    def check(self, listing: dict[str, ObjectInfo]) -> list[Problem]:
        """Every pack that disagrees with ``listing``, with the reason (for ``collab doctor``)."""
        names = self.names()
        _, bad = self.read(names, listing)
        return bad


def _packable_entry(info: ObjectInfo | None, data: bytes) -> bool:
    if info is None or "~" in info.key or content_md5(info) is None or len(data) != info.size:
        return False
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return hashlib.md5(data).hexdigest() == content_md5(info)  # noqa: S324 -- S3's ETag


def _overlaps(name: PackName, keys: list[str], prefix: str) -> bool:
    i = bisect.bisect_left(keys, prefix + name.first)
    return i < len(keys) and keys[i] <= prefix + name.last


def _cover(names: list[PackName]) -> list[PackName]:
    """The packs to read for ``keys``: the largest first, skipping one whose range the chosen ones cover."""
    chosen: list[PackName] = []
    for n in names:
        if not any(c.first <= n.first and n.last <= c.last for c in chosen):
            chosen.append(n)
    return chosen
