"""Front matter: a fast path for the small, simple YAML that posts carry in practice.

PyYAML's constructor is pure Python, so even with libyaml a post's five-line front matter costs tens of
microseconds, close to half the time of parsing the post. ``parse_simple`` reads a strict subset of YAML by hand and
returns exactly what the loader returns, or ``None`` when the text is outside the subset (the caller then asks
PyYAML, which is always correct and reports errors). The subset:

- a top-level block mapping: ``key: value`` lines starting at column 0, with keys of word characters, ``.`` and
  ``-`` that resolve to text; a repeated key keeps its last value, as PyYAML's constructor does;
- values: nothing, a one-line plain scalar, a one-line single-quoted scalar, a one-line double-quoted scalar
  without backslash escapes, or a one-line flow sequence (``[a, "b c", 公交]``) of such scalars;
- a key without a value followed by a block sequence of such scalars (``- item`` lines, indented or not);
- blank lines and ``#`` comments (full-line, or after a value behind a space).

Plain scalars are typed with the loader's own implicit resolvers (passed in), so they follow exactly its YAML 1.1
rules; only text, null, booleans, plain decimal integers and timestamps (as ``YamlTimestamp`` text) are built here,
anything else (floats, octal and
sexagesimal ints, merge keys...) falls back. So do anchors, aliases, tags, block scalars, flow mappings, nested or
multi-line values, tabs, and any character YAML forbids or treats as a line break (``\\r``, U+0085, U+2028...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

Resolvers = Mapping[str | None, Sequence[tuple[str, re.Pattern[str]]]]

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
# SafeConstructor.construct_yaml_bool looks the lower-cased text up in this table.
_BOOLS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
# Only the plain decimal spelling is built here; the length bound keeps int() far from Python's digit limit.
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,17}")
# YAML 1.1 printable characters (§5.1), less the ones it treats as line breaks (U+0085, U+2028, U+2029 and \r),
# the byte order mark, and the tab, whose rules on indentation are not worth getting exactly right here.
_UNSUPPORTED_CHAR = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
# libyaml limits a simple key to 1024 characters; real keys are far shorter.
_KEY = re.compile(r"(\w[\w.-]{0,127}):(?= |$)")
_EMPTY_FLOW = re.compile(r"\[ *\]")
# One entry of a flow sequence and the "," or "]" after it. A single-quoted scalar is closed by the first quote not
# doubled; a plain scalar stops before spaces and the separator, and must not hold a character that ends or breaks
# it in flow context (which of ":?" do depends on the YAML version and libyaml release: those fall back).
_FLOW_ITEM = re.compile(r""" *(?:"([^"]*)"|'((?:[^']|'')*)'|([^-?:,\[\]{}#&*!|>'"%@` ][^:?,\[\]{}]*?)) *([,\]])""")
# Characters that cannot start a plain scalar (YAML 1.1 §9.1.3: c-indicator), or that start another kind of node.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")


class YamlTimestamp(str):
    """The text of a plain (unquoted) scalar that YAML resolves as a timestamp, such as ``2021-12-08 12:15:34``.

    It is text, equal to and hashing as the same ``str``, so callers that take dates as text read it as before; the
    type keeps the one fact they cannot see in the text: it was not quoted. Jekyll's YAML loader makes such a value a
    time, and one without an offset is then UTC (YAML 1.1 timestamps), where a quoted one is in the site's time zone
    (``jekylldates``).
    """

    __slots__ = ()


class _NotSimple(Exception):
    """The text is outside the subset: the caller falls back to PyYAML."""


def parse_simple(front: str, resolvers: Resolvers) -> dict[str, Any] | None:
    """The mapping that YAML's loader with implicit ``resolvers`` makes of ``front``, or None if not sure.

    None means "ask PyYAML": the text is outside the subset described in this module's docstring (it may be
    valid YAML, invalid YAML, or an empty document). Never raises.
    """
    if _UNSUPPORTED_CHAR.search(front):
        return None
    try:
        return _parse_mapping(front.split("\n"), resolvers) or None
    except _NotSimple:
        return None


def _parse_mapping(lines: list[str], resolvers: Resolvers) -> dict[str, Any]:
    result: dict[str, Any] = {}
    count = len(lines)
    at = 0
    while at < count:
        line = lines[at]
        at += 1
        match = _KEY.match(line)  # also refuses indented lines: nested or continued values
        if match is None:
            if _is_blank_or_comment(line):
                continue
            raise _NotSimple
        key = match.group(1)
        if (key[0] in resolvers or None in resolvers) and _tag(key, resolvers) != _STR:
            raise _NotSimple  # ``yes:``, ``1:`` or ``null:`` are not text keys
        text = line[match.end() :].lstrip(" ")
        if text and text[0] != "#":
            result[key] = _flow_sequence(text, resolvers) if text[0] == "[" else _scalar(text, resolvers)
            continue
        items, at = _block_sequence(lines, at, resolvers)
        result[key] = _typed("", resolvers) if items is None else items
    return result


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.lstrip(" ")
    return not stripped or stripped[0] == "#"


def _is_entry(line: str, indent: int) -> bool:
    """Whether ``line`` is a block sequence entry (``-`` then a space or nothing) at column ``indent``."""
    return line.startswith("-", indent) and (len(line) == indent + 1 or line[indent + 1] == " ")


def _block_sequence(lines: list[str], at: int, resolvers: Resolvers) -> tuple[list[Any] | None, int]:
    """The block sequence starting at ``lines[at]``, if any (else None), and the index of the line after it."""
    count = len(lines)
    start = at
    while start < count and _is_blank_or_comment(lines[start]):
        start += 1
    if start == count:
        return None, at
    first = lines[start]
    indent = len(first) - len(first.lstrip(" "))
    if not _is_entry(first, indent):
        if indent:
            raise _NotSimple  # a nested mapping or a plain scalar continued on the next line
        return None, at  # the next key
    items: list[Any] = []
    at = start
    while at < count:
        line = lines[at]
        if _is_blank_or_comment(line):
            at += 1
            continue
        if _is_entry(line, indent) and line[:indent] == " " * indent:
            text = line[indent + 1 :].lstrip(" ")
            items.append(_typed("", resolvers) if not text or text[0] == "#" else _scalar(text, resolvers))
            at += 1
            continue
        if line[0] == " ":
            raise _NotSimple  # more or less indented than the entries: nesting, or a YAML error
        break  # back at column 0: the next key
    return items, at


def _scalar(text: str, resolvers: Resolvers) -> Any:
    """A one-line scalar in block context; ``text`` starts with its first character and is not a comment."""
    first = text[0]
    if first == '"' or first == "'":
        value, end = _quoted(text, 0)
        _check_rest(text, end)
        return value
    if first in _INDICATORS:
        raise _NotSimple
    comment = text.find(" #")
    if comment >= 0:
        text = text[:comment]
    text = text.rstrip(" ")
    if ": " in text or text[-1] == ":":
        raise _NotSimple  # a mapping inside the value (or a YAML error)
    return _typed(text, resolvers)


def _flow_sequence(text: str, resolvers: Resolvers) -> list[Any]:
    """A one-line flow sequence of scalars; ``text`` starts with ``[``."""
    empty = _EMPTY_FLOW.match(text)
    if empty is not None:
        _check_rest(text, empty.end())
        return []
    items: list[Any] = []
    at = 1
    while True:
        # An empty entry, a trailing comma, a nested collection or a line break make the match fail.
        item = _FLOW_ITEM.match(text, at)
        if item is None:
            raise _NotSimple
        double, single, plain, separator = item.groups()
        if double is not None:
            if "\\" in double:
                raise _NotSimple  # escape sequences are left to PyYAML
            items.append(double)
        elif single is not None:
            items.append(single.replace("''", "'"))
        elif " #" in plain:
            raise _NotSimple  # a comment: the sequence goes on on the next line
        else:
            items.append(_typed(plain, resolvers))
        at = item.end()
        if separator == "]":
            _check_rest(text, at)
            return items


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The quoted scalar at ``text[start]`` (closed on this line, no escapes) and the index after its closing quote."""
    quote = text[start]
    if quote == '"':
        end = text.find('"', start + 1)
        if end < 0:
            raise _NotSimple  # continued on the next line
        value = text[start + 1 : end]
        if "\\" in value:
            raise _NotSimple  # escape sequences are left to PyYAML
        return value, end + 1
    at = start + 1
    while True:
        end = text.find("'", at)
        if end < 0:
            raise _NotSimple
        if text.startswith("'", end + 1):  # '' is a single quote inside single quotes
            at = end + 2
            continue
        return text[start + 1 : end].replace("''", "'"), end + 1


def _check_rest(text: str, at: int) -> None:
    """After a complete node, the line may hold only spaces and a comment that a space separates from the node."""
    rest = text[at:]
    stripped = rest.lstrip(" ")
    if stripped and (stripped[0] != "#" or len(stripped) == len(rest)):
        raise _NotSimple


def _tag(plain: str, resolvers: Resolvers) -> str:
    """The tag the loader's resolver gives a plain scalar (BaseResolver.resolve: first character, then wildcards)."""
    for tag, regexp in resolvers.get(plain[0] if plain else "", ()):
        if regexp.match(plain):
            return tag
    for tag, regexp in resolvers.get(None, ()):
        if regexp.match(plain):
            return tag
    return _STR


def _typed(plain: str, resolvers: Resolvers) -> Any:
    """A plain scalar's value as SafeConstructor builds it, for the tags handled here."""
    tag = _tag(plain, resolvers)
    if tag == _STR:
        return plain
    if tag == _NULL:
        return None
    if tag == _BOOL and plain.lower() in _BOOLS:
        return _BOOLS[plain.lower()]
    if tag == _INT and _DECIMAL.fullmatch(plain):
        return int(plain)
    if tag == TIMESTAMP:
        return YamlTimestamp(plain)
    raise _NotSimple
