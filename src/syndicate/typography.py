"""kramdown's typographic conversions on markdown-it's text: smart quotes, dashes, ellipses and guillemets.

kramdown decides each quote from its neighbours alone (no pairing, unlike markdown-it's ``smartquotes``): its span
parser finds the earliest ``[^\\]?["']`` (the character before the quote is part of the match unless another span
parser took it, such as the ``*`` of emphasis) and tries ``SQ_RULES`` in order
(kramdown-2.4.0 lib/kramdown/parser/kramdown/smart_quotes.rb). The rules and the symbols of typographic_symbol.rb are
applied here to each text token with the same scanning, so "It's" and '"*x*"' come out as kramdown's do. Ruby's
``\\w``, ``\\s`` and ``\\d`` are ASCII-only, hence ``re.ASCII``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from syndicate.dialects import Dialect

__all__ = ["typography_rule"]

_PUNCT = r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]"""
_CLOSE = r"[^ \\\t\r\n\[{(-]"
_FLAGS = re.ASCII | re.MULTILINE | re.DOTALL
# (pattern, output): each output item is a group number (its text is kept) or a quote: 0 lsquo, 1 rsquo, 2 ldquo,
# 3 rdquo, or "l"/"r" with the group holding the quote (kramdown's lquote/rquote, ' or " decides which).
_RULES: tuple[tuple[re.Pattern[str], tuple[int | str, ...]], ...] = (
    (re.compile(r"""("|')(?=[_*]{1,2}\S)""", _FLAGS), ("l1",)),
    (re.compile(rf"""("|')(?={_PUNCT}(?!\.\.)\B)""", _FLAGS), ("r1",)),
    (re.compile(r"""(\s?)"'(?=\w)""", _FLAGS), (1, "q2", "q0")),
    (re.compile(r"""(\s?)'"(?=\w)""", _FLAGS), (1, "q0", "q2")),
    (re.compile(r"""(\s?)'(?=\d\ds)""", _FLAGS), (1, "q1")),
    (re.compile(r"""(\s)('|")(?=\w)""", _FLAGS), (1, "l2")),
    (re.compile(rf"""({_CLOSE})('|")""", _FLAGS), (1, "r2")),
    (re.compile(r"""("|')(?=\s|s\b|$)""", _FLAGS), ("r1",)),
    (re.compile(r"""(.?)'""", _FLAGS), (1, "q0")),
    (re.compile(r"""(.?)\"""", _FLAGS), (1, "q2")),
)
_QUOTE_START = re.compile(r"""[^\\]?["']""", re.DOTALL)
_SYMBOL = re.compile(r"---|--|\.\.\.|\\<<|\\>>|<< | >>|<<|>>")
_SYMBOL_NAMES = {"---": "mdash", "--": "ndash", "...": "hellip", "<< ": "laquo_space", " >>": "raquo_space"}
_SYMBOL_NAMES |= {"<<": "laquo", ">>": "raquo"}
# Where either parser may start (smart quotes come first in kramdown's list of span parsers).
_START = re.compile(r"""[^\\]?["']|--|\.\.\.|(?:\\| )?(?:<<|>>)""", re.DOTALL)
_QUICK = re.compile(r"""["']|--|\.\.\.|<<|>>""")


def typography_rule(dialect: Dialect) -> Callable[[StateCore], None]:
    """A markdown-it core rule converting the text of every inline token as kramdown does for ``dialect``."""
    quotes = dialect.smart_quotes
    symbols = dict(dialect.symbols)

    def typography(state: StateCore) -> None:
        for token in state.tokens:
            if token.type == "inline" and token.children and _QUICK.search(token.content):
                _convert_children(token.children, quotes, symbols)

    return typography


def _convert_children(children: list[Token], quotes: tuple[str, ...], symbols: dict[str, str]) -> None:
    for index, child in enumerate(children):
        if child.type != "text" or not _QUICK.search(child.content):
            continue
        before = "\n" if index and children[index - 1].type == "softbreak" else ""
        after = _following(children, index + 1)
        child.content = _convert(child.content, before, after, quotes, symbols)


def _following(children: list[Token], index: int) -> str:
    """The source text after a text token, far enough for the rules' look-ahead (three characters)."""
    context = ""
    while index < len(children) and len(context) < 3:
        context += _context(children[index])
        index += 1
    return context


def _context(token: Token) -> str:
    """The source characters a following token starts with, as kramdown's look-ahead would see them."""
    if token.type in {"softbreak", "hardbreak"}:
        return "\n"
    if token.type == "link_open":
        return "["
    if token.type == "link_close":
        return "]"
    if token.type == "image":
        return "!"
    if token.type == "footnote_ref":
        return "[^"
    if token.type == "text":
        return token.content
    return token.markup or token.content[:1]


def _convert(text: str, before: str, after: str, quotes: tuple[str, ...], symbols: dict[str, str]) -> str:
    """``text`` converted; ``before`` (a line break) and ``after`` are context only. ``before`` is scanned too, since
    kramdown sees the line break as text that may open a match, and is cut from the result (every rule re-emits
    the characters before a quote unchanged)."""
    source = before + text + after
    end = len(before) + len(text)
    position = 0
    pieces: list[str] = []
    while True:
        match = _START.search(source, position, end)
        if match is None:
            break
        pieces.append(source[position : match.start()])
        position = match.start()
        if _QUOTE_START.match(source, position) and (done := _quote(source, position, end, quotes)) is not None:
            converted, position = done
            pieces.append(converted)
            continue
        symbol = _SYMBOL.match(source, position, end)
        if symbol is not None:
            matched = symbol.group()
            name = _SYMBOL_NAMES.get(matched)
            pieces.append(symbols[name] if name else matched[1:] if matched[0] == "\\" else matched)
            position = symbol.end()
            continue
        pieces.append(source[position])
        position += 1
    pieces.append(source[position:end])
    return "".join(pieces)[len(before) :]


def _quote(source: str, position: int, end: int, quotes: tuple[str, ...]) -> tuple[str, int] | None:
    for pattern, output in _RULES:
        match = pattern.match(source, position)
        if match is None or match.end() > end:
            continue
        out: list[str] = []
        for item in output:
            if isinstance(item, int):
                out.append(match.group(item))
            elif item[0] == "q":
                out.append(quotes[int(item[1])])
            else:
                double = match.group(int(item[1])) == '"'
                out.append(quotes[(2 if double else 0) + (0 if item[0] == "l" else 1)])
        return "".join(out), match.end()
    return None
