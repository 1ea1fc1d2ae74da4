"""Excerpts: a post's summary when its front matter gives none, the first paragraph of real text as plain text.

Pure and cheap for every post of a large corpus: only a prefix of the body is parsed (with content.py's Markdown
parser and nesting limit), and the common first blocks take fast paths that give exactly what that parse gives.
"""

from __future__ import annotations

import functools
import html
import html.entities
import re
from typing import NamedTuple

import nh3
from markdown_it.token import Token

from syndicate.content import (
    CLEAN_CONTENT_TAGS,
    clean_plain_text,
    clean_text,
    limit_nesting,
    markdown_parser,
    render_markdown,
)
from syndicate.dialects import POSTS, Dialect

__all__ = ["SUMMARY_CHARS", "excerpt_text", "summarize", "truncate"]

SUMMARY_CHARS = 280  # the longest summary syndicate's own documents show

# Parse only a prefix of the body, growing it only when no complete paragraph of text was found: a summary must
# stay cheap for every post of a large corpus, whatever the body's size.
_SUMMARY_WINDOWS = (4_000, 32_000, 256_000)
_SUMMARY_TAGS = frozenset({"a", "p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "pre"})
_SUMMARY_SPLIT = re.compile(r"<(/?)(p|div|br|li|h[1-6]|blockquote|td|pre)>")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "pre"})
_LINK = re.compile(r"<a\b[^>]*>.*?</a>", re.DOTALL)
_ANY_TAG = re.compile(r"<[^>]*>")
_WHITESPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=1)
def _summary_cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(_SUMMARY_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={},
        link_rel=None,
        strip_comments=True,
    )


def summarize(body: str, *, max_chars: int = SUMMARY_CHARS, cleaned: bool = False) -> str:
    """Plain-text summary: the first paragraph of real text in the body, at most ``max_chars`` characters.

    Headings, code and paragraphs made only of links or images are skipped (a link-only paragraph is used only when
    nothing else has text). Tags are stripped, entities unescaped and whitespace collapsed; a longer paragraph is cut
    at a word boundary (or a character boundary for scripts without spaces) and ends with "…".

    ``cleaned=True`` says the body already went through ``clean_text`` (a parsed post's has), so it is not scanned
    for XML-illegal characters again.
    """
    window = _SUMMARY_WINDOWS[0]
    source = body[:window] if cleaned else clean_text(body[:window])
    text = _first_block_text(source, body, truncated=len(body) > window)
    if text:
        return truncate(text, max_chars)
    return _summarize_windows(body, max_chars, cleaned=cleaned)


def _summarize_windows(body: str, max_chars: int, *, cleaned: bool = False) -> str:
    """The general case: parse growing prefixes of the body until a complete paragraph of text is found."""
    fallback = ""
    for window in _SUMMARY_WINDOWS:
        truncated = len(body) > window
        source = body[:window] if cleaned else clean_text(body[:window])
        text, fallback, complete = _first_paragraph(source, truncated=truncated)
        if text and (complete or len(text) > max_chars):
            return truncate(text, max_chars)
        if not truncated:
            break
    return truncate(text or fallback, max_chars)


# Fast paths for the first block of a body, each giving exactly what `_summarize_windows` gives, or None to defer
# to it. Both rely on the first block ending inside the first window: what follows it never changes its text.
#
# 1. The common shape of republished articles, ``<p>plain text</p>`` first: CommonMark makes it the start of an HTML
#    block (§4.6, kind 6: up to three spaces of indent, no blank line before the end tag), and text without "<" and
#    with only well-known character references means the same to html5ever as to ``html.unescape``.
_HTML_SPACE = "[ \t\n]"
_ATTRIBUTE = (
    rf"{_HTML_SPACE}+[A-Za-z_:][-A-Za-z0-9_:.]*(?:{_HTML_SPACE}*={_HTML_SPACE}*"
    r"""(?:"[^"<>]*"|'[^'<>]*'|[^\s"'=<>`]+))?"""
)
_LEADING_P = re.compile(
    rf"(?:[ \t]*\n)*(?P<start> {{0,3}})<[pP](?:{_ATTRIBUTE})*{_HTML_SPACE}*/?>(?P<text>[^<]*)</[pP]>"
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_REFERENCE = re.compile(
    r"&(?:(?P<name>[A-Za-z][A-Za-z0-9]{0,40});|#(?P<dec>[0-9]{1,7});|#[xX](?P<hex>[0-9A-Fa-f]{1,6});)"
)
_AMPERSAND = re.compile("&")
_LINK_ONLY_SEPARATORS = " \t\r\n\u00a0\u3000|｜·•/-–—"
# 2. Otherwise, when the first block is a paragraph or an HTML block that ends at the first blank line, parse only
#    that block instead of the whole window. Blocks that may run past a blank line (lists, fences, indented code,
#    HTML blocks of kinds 1-5) are left to the general case.
_FIRST_LINE = re.compile(r"(?:[ \t]*\n)*(?P<line>[^\n]*)")
_HTML_RAW_BLOCK = re.compile(r" {0,3}<(?:(?:script|pre|style|textarea)(?:[\s>]|$)|!|\?)", re.IGNORECASE)
# A link reference definition anywhere (clean_text may later join "]" and ":") can turn "[x]" into a link.
_REFERENCE_DEFINITION = re.compile("\\][\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]*:")


def _first_block_text(source: str, body: str, *, truncated: bool) -> str | None:
    """The summary text when the first block of ``source`` (the cleaned first window of ``body``) yields it cheaply."""
    if "\r" in source:
        return None  # CommonMark and HTML line-ending normalisation: leave it to the general case
    match = _LEADING_P.match(source)
    if match is not None and _BLANK_LINE.search(source, match.start("start"), match.end()) is None:
        return _plain_paragraph(match.group("text"))
    line = _FIRST_LINE.match(source)
    if line is None or not line.group("line").strip() or _HTML_RAW_BLOCK.match(line.group("line")):
        return None
    blank = _BLANK_LINE.search(source, line.end("line"))
    if blank is None and truncated:
        return None  # the block may go on past the window
    # The block with the line ending of its last line, as the whole window's parse gives it: an HTML block's content
    # keeps its line endings, and html5ever reads "</" at the end of input as text but "</" before a newline as the
    # start of a (bogus) comment.
    prefix = source[: blank.start() + 1 if blank is not None else len(source)]
    tokens = markdown_parser().parse(limit_nesting(prefix))
    if not tokens:
        return None
    if tokens[0].type == "paragraph_open":
        if "[" in prefix and _REFERENCE_DEFINITION.search(body) is not None:
            return None
        index = 1
    elif tokens[0].type == "html_block":
        index = 0
    else:
        return None
    for plain, link_only in _token_texts(tokens, index) or ():
        if plain and not link_only:
            return plain  # link-only pieces before it only matter when no text follows
    return None


def _plain_paragraph(text: str) -> str | None:
    if "&" in text:
        references = _REFERENCE.findall(text)
        if len(references) != len(_AMPERSAND.findall(text)) or not all(map(_is_plain_reference, references)):
            return None
        text = html.unescape(text)
    if not text.strip(_LINK_ONLY_SEPARATORS):
        return None
    return clean_plain_text(_WHITESPACE.sub(" ", text).strip()) or None


def _is_plain_reference(groups: tuple[str, str, str]) -> bool:
    name, decimal, hexadecimal = groups
    if name:
        return f"{name};" in html.entities.html5
    code = int(decimal) if decimal else int(hexadecimal, 16)
    # Printable characters only: html5ever and html.unescape differ on controls and noncharacters.
    return (
        0x20 <= code < 0x7F
        or 0xA0 <= code < 0xD800
        or 0xE000 <= code < 0xFDD0
        or (0xFDF0 <= code <= 0x10FFFF and code & 0xFFFE != 0xFFFE)
    )


def _first_paragraph(source: str, *, truncated: bool) -> tuple[str, str, bool]:
    """(first text paragraph, first link-only paragraph, whether that text paragraph was seen to its end)."""
    tokens = markdown_parser().parse(limit_nesting(source))
    last_line = source.count("\n")
    fallback = ""
    for index, token in enumerate(tokens):
        texts = _token_texts(tokens, index)
        if texts is None:
            continue
        at_end = truncated and _touches_end(token, last_line)
        last_text = max((i for i, (plain, _link_only) in enumerate(texts) if plain), default=-1)
        for i, (plain, link_only) in enumerate(texts):
            if not plain:
                continue
            if link_only:
                fallback = fallback or plain
                continue
            # A block cut by the window may go on: only pieces followed by another one inside it are known complete.
            return plain, fallback, not at_end or (token.type == "html_block" and i < last_text)
    return "", fallback, not truncated


def _token_texts(tokens: list[Token], index: int) -> list[_Piece] | None:
    """Plain text pieces of a paragraph's inline token or an HTML block; None for any other token."""
    token = tokens[index]
    if token.type == "inline" and index and tokens[index - 1].type == "paragraph_open":
        markup = markdown_parser().renderer.render(tokens[index - 1 : index + 2], markdown_parser().options, {})
    elif token.type == "html_block":
        markup = token.content
    else:
        return None
    return [_plain_text(piece) for piece in _pieces(markup)]


def _touches_end(token: Token, last_line: int) -> bool:
    return token.map is None or token.map[1] >= last_line


def _pieces(markup: str) -> list[str]:
    """Split an HTML fragment into paragraph-like pieces, skipping headings and code."""
    cleaned = _summary_cleaner().clean(markup)
    pieces: list[str] = []
    skip = 0
    last = 0
    for match in _SUMMARY_SPLIT.finditer(cleaned):
        if not skip:
            pieces.append(cleaned[last : match.start()])
        last = match.end()
        if match.group(2) in _HEADINGS:
            skip = max(0, skip - 1) if match.group(1) else skip + 1
    if not skip:
        pieces.append(cleaned[last:])
    return pieces


class _Piece(NamedTuple):
    """A paragraph-like piece of a post's start, as a summary candidate."""

    text: str  # tag-free
    link_only: bool  # all of its text sits inside links (navigation, not a summary)


def _plain_text(piece: str) -> _Piece:
    """Tag-free text of an nh3-cleaned piece, and whether all of its text sits inside links."""
    outside_links = _ANY_TAG.sub("", _LINK.sub("", piece))
    plain = _WHITESPACE.sub(" ", html.unescape(_ANY_TAG.sub("", piece))).strip()
    link_only = not html.unescape(outside_links).strip(" \t\r\n\u00a0\u3000|｜·•/-–—")
    return _Piece(clean_plain_text(plain), link_only)


_ELLIPSIS = "…"


def truncate(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters, at a word boundary where there is one near the end, ending
    in an ellipsis; unchanged when it is short enough."""
    if len(text) <= max_chars:
        return text
    if max_chars <= 1:
        return _ELLIPSIS[:max_chars]
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    # Cut at a word boundary when there is one in the last fifth; Chinese and Japanese text has no spaces.
    if space >= (max_chars - 1) * 4 // 5:
        cut = cut[:space]
    return cut.rstrip(" ,;:.，、；：。") + _ELLIPSIS


# Jekyll's excerpt can be a whole long body (no separator in it); a summary of one is cut here.
MAX_EXCERPT = 1500
# The markup read for an excerpt's text: first a prefix that gives MAX_EXCERPT characters of text for most bodies
# (republished articles are text-dense HTML), then a longer one when it did not.
_EXCERPT_WINDOWS = (MAX_EXCERPT * 8 // 5, MAX_EXCERPT * 3)


def _prefix(source: str, size: int, *, last: bool) -> str | None:
    """At most ``size`` characters of ``source``, cut at the last line end in the second half, so that no half of a
    line of Markdown (``[a link](http://exa``) is read as text. Without one: None, to read a longer prefix, or for
    the ``last`` one the prefix cut before a tag or character reference it would split."""
    if len(source) <= size:
        return source
    head = source[:size]
    line_end = head.rfind("\n")
    if line_end >= size // 2:
        return head[:line_end]
    if not last:
        return None
    tag = head.rfind("<")
    if tag > head.rfind(">"):
        head = head[:tag]
    reference = head.rfind("&")
    if reference > head.rfind(";"):
        head = head[:reference]
    return head


def excerpt_text(source: str, dialect: Dialect = POSTS) -> str:
    """A Jekyll excerpt (the body up to the excerpt separator) as jekyll-feed's summary shows it: rendered, tags
    stripped (``strip_html``), whitespace collapsed (``normalize_whitespace``), all of it up to ``MAX_EXCERPT``
    characters rather than only its first paragraph. ``dialect``: the Markdown it is written in (a Jekyll site's
    kramdown makes its quotes and dashes typographic, in the excerpt as in the body)."""
    # Text is shorter than its markup, and the leading HTML blocks of most republished articles are copied without
    # parsing (content.render_markdown): this costs a fraction of a full render of a long excerpt.
    plain = ""
    for window in _EXCERPT_WINDOWS:
        head = _prefix(source, window, last=window == _EXCERPT_WINDOWS[-1])
        if head is None:
            continue
        rendered = render_markdown(limit_nesting(clean_text(head)), dialect)
        text = _ANY_TAG.sub(" ", _summary_cleaner().clean(rendered))
        plain = clean_plain_text(_WHITESPACE.sub(" ", html.unescape(text))).strip()
        # Enough text, or the whole source read: what follows the window would only be cut off.
        if len(plain) > MAX_EXCERPT or len(source) <= window:
            break
    return truncate(plain, MAX_EXCERPT)
