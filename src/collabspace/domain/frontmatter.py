"""Markdown with YAML frontmatter: the format of messages and registrations.

Reading is tolerant (BOM, CRLF, no frontmatter at all, odd YAML scalars);
writing is plain and stable (keys in the given order, block style).

Reading is also bounded, because any agent may write any file: the block is at
most :data:`MAX_SIZE` characters, nests at most :data:`MAX_DEPTH` levels, uses
no aliases (the protocol never needs them, and they make "billion laughs"
bombs), holds no number of more than :data:`MAX_DIGITS` characters, and only
plain values (text, numbers, booleans, lists, mappings; dates become text).
Anything else is a :class:`FrontmatterError`. libyaml parses and composes when
installed (several times faster); the pure-Python parser is the fallback, with
the same rules and the same output.

Reading is also cheap, because a new reader parses every header of the board: the
simplest form (``key: text`` lines and lists of text, what ``collab post`` writes)
is read without YAML, and other headers are built from the composed nodes without
PyYAML's constructor wherever they hold only text, lists and mappings. Both give
exactly what PyYAML gives (tests/test_frontmatter_fast.py compares them).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.error import MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import InvalidInput

MAX_SIZE = 64 * 1024  # characters
MAX_DEPTH = 32
MAX_DIGITS = 100
_HINT = "check the header's syntax"


class FrontmatterError(InvalidInput):
    """The frontmatter block cannot be parsed, or breaks a bound."""


def _too_deep() -> FrontmatterError:
    return FrontmatterError(f"frontmatter nests deeper than {MAX_DEPTH} levels", hint=_HINT)


def _bounded_int(loader: SafeConstructor, node: ScalarNode) -> int:
    if len(node.value) > MAX_DIGITS:  # int() of 5,000 digits raises ValueError; 1:2:3:... is slow
        raise FrontmatterError(f"frontmatter has a number of more than {MAX_DIGITS} digits", hint=_HINT)
    return loader.construct_yaml_int(node)


def _lenient_timestamp(loader: SafeConstructor, node: ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, AttributeError):  # looks like a date but is none (2026-13-45): keep the text
        return node.value


_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
#: YAML's implicit resolvers by a plain scalar's first character, the wildcard ones appended (see :func:`_resolve`).
_IMPLICIT: dict[str, tuple[tuple[str, Any], ...]] = {
    first: tuple(found) + tuple(yaml.resolver.Resolver.yaml_implicit_resolvers.get(None, []))
    for first, found in yaml.resolver.Resolver.yaml_implicit_resolvers.items() if first is not None}
_WILDCARD = tuple(yaml.resolver.Resolver.yaml_implicit_resolvers.get(None, []))


#: Tags of short plain scalars already resolved (keys, agent ids, types repeat in every header); bounded.
_RESOLVED: dict[str, str] = {}
_RESOLVED_MAX, _RESOLVED_CHARS = 4096, 40


def _resolve(self: Any, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
    """PyYAML's ``BaseResolver.resolve`` for a loader without path resolvers (ours have none), without
    its per-call list building, and remembering short plain scalars: the composer calls it for every node,
    and a plain scalar's tag depends on its text alone."""
    if kind is ScalarNode:
        if not implicit[0]:
            return _STR
        tag = _RESOLVED.get(value)
        if tag is None:
            tag = next((t for t, regexp in _IMPLICIT.get(value[:1], _WILDCARD) if regexp.match(value)), _STR)
            if len(value) <= _RESOLVED_CHARS and len(_RESOLVED) < _RESOLVED_MAX:
                _RESOLVED[value] = tag
        return tag
    return _MAP if kind is MappingNode else _SEQ


class PyLoader(yaml.SafeLoader):
    """The pure-Python parser. Its composer recurses, so it counts the depth as it goes."""

    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _too_deep()
        node = super().compose_node(parent, index)
        self.depth -= 1
        return node


CLoader: type | None = None
if hasattr(yaml, "CSafeLoader"):
    class CLoader(yaml.CSafeLoader):  # type: ignore[no-redef]
        """libyaml's parser and composer (libyaml itself refuses nesting beyond 1,000 levels)."""

for _cls in (PyLoader, CLoader):
    if _cls is not None:
        _cls.add_constructor("tag:yaml.org,2002:int", _bounded_int)
        _cls.add_constructor("tag:yaml.org,2002:timestamp", _lenient_timestamp)
        assert not _cls.yaml_path_resolvers  # what _resolve assumes
        _cls.resolve = _resolve  # type: ignore[method-assign]
#: The loader :func:`parse` uses: libyaml's when installed, else the pure-Python one.
Loader: type = CLoader or PyLoader


def _check(root: Node) -> None:
    """Refuse aliases (a node reached twice: what a "billion laughs" is made of) and deep nesting, before
    anything is built. It walks level by level, so it needs no recursion of its own."""
    seen: set[int] = set()
    level = [root]
    for _ in range(MAX_DEPTH):
        below: list[Node] = []
        for node in level:
            if id(node) in seen:
                raise FrontmatterError("frontmatter uses YAML aliases (*name)", hint="write the values out")
            seen.add(id(node))
            if isinstance(node, MappingNode):
                for pair in node.value:
                    below += pair
            elif isinstance(node, SequenceNode):
                below += node.value
        if not below:
            return
        level = below
    raise _too_deep()


def _plain(value: Any) -> Any:
    """YAML turns `2026-04-25 14:30` into datetimes; the protocol keeps strings. Only plain values pass."""
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        raise FrontmatterError(f"frontmatter has a number that is not finite ({value})", hint="write it as text")
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise FrontmatterError(f"frontmatter has a value of an unsupported YAML type ({type(value).__name__})",
                           hint="use only text, numbers, true/false, lists and key: value lines")


def _reason(exc: Exception) -> str:
    """One line: what is wrong and on which line of the file."""
    if isinstance(exc, MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        return exc.problem + (f" (line {mark.line + 2})" if mark is not None else "")
    return str(exc).splitlines()[0]


#: The run of `` -?:`` that starts each line, lines split as ``str.splitlines`` splits them.
_LEADING = re.compile("(?:^|(?<=[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]))[ ?:-]+")


def _plainly_bounded(block: str) -> bool:
    """True when the text alone shows the block has no aliases and cannot nest deeper than the bound:
    no ``*`` or ``&``, and fewer brackets plus indentation than :data:`MAX_DEPTH` levels (every level of
    nesting is a bracket or more indentation). The usual message header; anything else is walked."""
    if "*" in block or "&" in block:
        return False
    indent = max(map(len, _LEADING.findall(block)), default=0)
    return block.count("[") + block.count("{") + indent < MAX_DEPTH


def _value(loader: SafeConstructor, node: Node) -> Any:
    """The plain value of a composed node: what PyYAML's constructor and then :func:`_plain` give, built
    directly for text, lists and mappings with text keys (nearly every header); any other node (numbers,
    booleans, dates, null, merge keys, explicit tags) goes through the constructor and :func:`_plain`.
    Recursion is bounded: the node has been checked to nest at most :data:`MAX_DEPTH` levels."""
    tag = node.tag
    kind = type(node)
    if tag == _STR and kind is ScalarNode:
        return node.value
    if tag == _MAP and kind is MappingNode:
        pairs = node.value
        keys = {key.value for key, _ in pairs if key.tag == _STR and type(key) is ScalarNode}
        if len(keys) != len(pairs):  # a merge key, a number, a key given twice: the constructor's way
            return _plain(loader.construct_object(node, deep=True))
        return {key.value: _value(loader, value) for key, value in pairs}
    if tag == _SEQ and kind is SequenceNode:
        return [_value(loader, item) for item in node.value]
    return _plain(loader.construct_object(node, deep=True))


#: A line of the simplest headers: ``key: value``, ``key:`` (a list follows, or nothing) or ``key: []``.
_SIMPLE_LINE = re.compile(r"([a-z_][a-z0-9_]*):(?: (.*))?")
#: A plain scalar YAML reads as the very text: printable ASCII without indicators (``#``, quotes, ``[``, ``&``,
#: ``*``, ``!``, ``|``, ``>``...), neither starting with ``-``, ``?`` or ``:`` nor holding ``": "``.
_SIMPLE_TEXT = re.compile(r"[A-Za-z0-9_./(][A-Za-z0-9 _.,/+()=~:-]*")


def _simple_text(value: str) -> bool:
    return (_SIMPLE_TEXT.fullmatch(value) is not None and value[-1] not in " :" and ": " not in value
            and _resolve(None, ScalarNode, value, (True, False)) == _STR)


def _simple(block: str) -> dict[str, Any] | None:
    """The value of a header in the simplest form, which every header ``collab post`` writes takes: lines
    ``key: text``, ``key: []`` and ``key:`` followed by ``- text`` items (or by nothing: ``None``), with text
    keys given once and values that YAML reads as the text itself (not a number, a boolean, null or a date,
    which :func:`_simple_text` asks YAML's own resolver). ``None`` for any other header, which YAML reads.
    Nothing here nests or refers, so no bound can be broken; YAML is not needed to read it as YAML would."""
    out: dict[str, Any] = {}
    lines = block.split("\n")
    i, n = 0, len(lines)
    while i < n:
        m = _SIMPLE_LINE.fullmatch(lines[i])
        if m is None:
            return None
        key, value = m.group(1, 2)
        if key in out or _resolve(None, ScalarNode, key, (True, False)) != _STR:
            return None
        i += 1
        if value:
            if value == "[]":
                out[key] = []
            elif _simple_text(value):
                out[key] = value
            else:
                return None
            continue
        if value is not None:  # "key: " with nothing after the space
            return None
        items = []
        while i < n and lines[i].startswith("- "):
            if not _simple_text(lines[i][2:]):
                return None
            items.append(lines[i][2:])
            i += 1
        out[key] = items or None
    return out


def _load(block: str) -> Any:
    """The block's plain value (``None`` for an empty document)."""
    simple = _simple(block)
    if simple is not None:
        return simple
    loader = Loader(block)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if not _plainly_bounded(block):
            _check(node)
        return _value(loader, node)
    finally:
        loader.dispose()


def parse(text: str | bytes) -> tuple[dict[str, Any], str]:
    """Split a document into (frontmatter dict, body).

    A document without a leading ``---`` block has empty frontmatter.

    Raises:
        FrontmatterError: the block is not closed, is not YAML, is not a mapping, or breaks a bound
            (size, depth, anchors and aliases, digits, non-plain values).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")  # a BOM is stripped below (the utf-8-sig codec is pure Python)
        except UnicodeDecodeError as exc:
            raise FrontmatterError("not UTF-8 text", hint="save the file as UTF-8") from exc
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.startswith("---\n") and text.strip() != "---":
        return {}, text.strip("\n")
    end = text.find("\n---", 3)
    while end != -1 and text[end + 4 : end + 5] not in ("\n", ""):
        end = text.find("\n---", end + 4)
    if end == -1:
        raise FrontmatterError("frontmatter block is not closed by '---'", hint="end the header with a line '---'")
    block = text[4:end]
    body = text[end + 4 :]
    if len(block) > MAX_SIZE:
        raise FrontmatterError(f"frontmatter is larger than {MAX_SIZE // 1024} KiB",
                               hint="keep the header short; put long text in the body")
    try:
        meta = _load(block) if block.strip() else {}
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a bad explicit tag (!!int abc)
        raise FrontmatterError(f"frontmatter is not valid YAML: {_reason(exc)}", hint=_HINT) from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise FrontmatterError("frontmatter is not a set of 'key: value' lines", hint=_HINT)
    return meta, body.strip("\n")


def dump(meta: dict[str, Any], body: str) -> str:
    """Render frontmatter and body; ``None`` values and empty lists are left out."""
    clean = {k: v for k, v in meta.items() if v is not None and v != []}
    header = yaml.safe_dump(clean, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    return f"---\n{header}---\n\n{body.strip()}\n"
