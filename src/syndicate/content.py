"""Post bodies as feed content: Markdown/HTML rendered, sanitised, absolutised, stripped of site chrome.

``render_body`` is the whole pipeline: Markdown with raw HTML (markdown-it-py), a nesting limit, nh3, then one pass
that makes the result XML-safe, its URLs absolute (urls.py) and drops trailing site navigation (navigation.py).
Summaries of bodies are excerpts.py's.

Everything here is pure (no I/O) and must accept any ``str``: post bodies are untrusted input that ends up inside
feeds read by other people's software, so the output is held to two contracts:

* safe: nh3 (ammonia) removes scripts, event handlers, embedded content and non-http(s)/mailto URLs;
* well-formed: the fragment parses as XML when wrapped in ``<div>`` (void elements self-closed, only XML's five
  entities, no characters XML 1.0 forbids), so it can go into Atom/RSS verbatim or escaped without breaking them.
"""

from __future__ import annotations

import functools
import re

import nh3
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block.html_block import HTML_SEQUENCES

from syndicate.dialects import POSTS, Dialect
from syndicate.markdown import markdown_parser
from syndicate.navigation import VOID_ELEMENTS, finish_fragment

__all__ = [
    "CLEAN_CONTENT_TAGS",
    "PLAIN_TEXT_CONTROLS",
    "clean_plain_text",
    "clean_text",
    "limit_nesting",
    "markdown_parser",
    "render_body",
]

# XML 1.0 §2.2 Char production: everything except #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF.
# Lone surrogates can reach us from `surrogateescape`-decoded input; they are not characters at all.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """Remove characters illegal in XML 1.0 (C0 controls except \\t \\n \\r, U+FFFE/U+FFFF, lone surrogates)."""
    return _XML_ILLEGAL.sub("", text)


# Characters XML allows but a line of plain text (a title, an author, a category, a publication's name) has no use
# for, and that readers, OPML readers and the index page show raw (issue 14):
# - DEL and the C1 controls, U+007F-U+009F: not text (in a post they are mis-decoded Windows-1252 at best);
# - the bidi embeddings, overrides and isolates, U+202A-U+202E and U+2066-U+2069: each opens a scope that reorders
#   the text after it until its closing character or the end of the paragraph, and a title shown in a reader's list
#   or in a <title> has no closing character: an unclosed U+202E reverses the rest of the line (the "Trojan Source"
#   spoofing, CVE-2021-42574). They are removed, not escaped: plain text has no escape a reader would show, and text
#   without them still reads in the right order (the Unicode bidi algorithm orders it from the characters' own
#   directions).
# The marks U+200E, U+200F and U+061C are kept: they are zero-width characters with a direction but no scope (they
# cannot reorder anything beyond the neutral characters next to them), and right-to-left names and titles need them
# to place digits and punctuation correctly; removing them would change how such text reads.
# Post bodies keep all of these: there they sit inside HTML elements that scope them (and a reader renders markup).
PLAIN_TEXT_CONTROLS = "\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_PLAIN_TEXT_ILLEGAL = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{PLAIN_TEXT_CONTROLS}\ud800-\udfff\ufffe\uffff]")


def clean_plain_text(text: str) -> str:
    """``clean_text`` for a plain-text field: also removes DEL, the C1 controls and the bidi embeddings, overrides
    and isolates (see ``PLAIN_TEXT_CONTROLS``). One regex pass, returning ``text`` itself when nothing matches."""
    return _PLAIN_TEXT_ILLEGAL.sub("", text)


# --- rendering ------------------------------------------------------------------------------------------------------

_TAGS = frozenset(
    {
        "a", "abbr", "acronym", "audio", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite", "code",
        "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2",
        "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "picture", "pre", "q", "rp",
        "rt", "ruby", "s", "samp", "small", "source", "span", "strike", "strong", "sub", "summary", "sup", "table",
        "tbody", "td", "tfoot", "th", "thead", "time", "tr", "track", "tt", "u", "ul", "var", "video", "wbr",
    }
)  # fmt: skip
# Elements whose *content* is not article text either: code, embedded documents, form widgets.
CLEAN_CONTENT_TAGS = frozenset(
    {
        "script", "style", "iframe", "object", "embed", "noscript", "noembed", "noframes", "template", "textarea",
        "select", "title", "xmp", "svg", "math", "frameset", "applet",
    }
)  # fmt: skip
# Attributes any element may keep: ids and classes (kramdown writes them for header ids, footnotes, the table of
# contents and ``{: .class #id}``; a fragment link resolves to the post's page, see urls.py), roles (footnotes'
# doc-noteref/doc-endnote), language and direction, and ``data-*`` (nh3's generic prefix). None holds a URL or code.
_GENERIC_ATTRIBUTES = frozenset({"id", "class", "role", "lang", "dir", "title"})
_ATTRIBUTES = {
    "*": set(_GENERIC_ATTRIBUTES),
    "a": {"href"},
    # srcset is not checked by nh3 (only href/src, and poster): navigation.py checks each candidate's scheme.
    "img": {"src", "srcset", "sizes", "alt", "width", "height", "loading", "decoding"},
    "video": {"src", "poster", "controls", "width", "height", "preload", "loop", "muted", "playsinline"},
    "audio": {"src", "controls", "preload", "loop", "muted"},
    "source": {"src", "srcset", "sizes", "type", "media", "width", "height"},
    "track": {"src", "kind", "srclang", "label", "default"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start", "type", "reversed"},
    "time": {"datetime"},
}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})


_NEWLINES = re.compile(r"\r\n?")
_BLANK_LINES = re.compile(r"(?:[ \t]*\n)*")
_BLOCK_END = re.compile(r"\n[ \t]*(?:\n|\Z)")


def render_markdown(source: str, dialect: Dialect = POSTS) -> str:
    """``markdown_parser(dialect).render(source)``, without parsing the HTML blocks that open the document.

    A republished article is typically one long HTML block (CommonMark §4.6, kinds 6 and 7: a block-level tag or
    a lone complete tag at up to three spaces of indent, ended by a blank line) followed by a few lines of Markdown.
    Such a block renders verbatim and cannot affect what follows (it holds no link reference definitions), so the
    leading ones are copied and only the rest goes through markdown-it. Not in a dialect where ``markdown="1"``
    makes an HTML block's content Markdown, once a block says so.
    """
    if "\r" in source or "\0" in source:
        # markdown-it's own normalisation (CommonMark §2.1 line endings, §2.3 NUL), applied to the copied blocks too.
        source = _NEWLINES.sub("\n", source).replace("\0", "\ufffd")
    pieces: list[str] = []
    position = 0
    while True:
        start = _skip_blank_lines(source, position)
        if not _opens_html_block(source, start):
            break
        end_match = _BLOCK_END.search(source, start)
        end = end_match.start() + 1 if end_match is not None else len(source)
        if dialect.html_markdown and "markdown" in source[start:end]:
            break
        pieces.append(source[start:end])
        position = end
    pieces.append(_render_rest(source[position:], dialect))
    return "".join(pieces)


# What follows a republished article's HTML blocks is often nothing, or the original article's address alone as an
# autolink (``<https://…>``). For those few characters markdown-it costs mostly its fixed cost per document (every
# rule of every plugin runs), so both are written here, exactly as it writes them (tests/test_content.py compares the
# two): an autolink of characters that its link normalisation leaves as they are (no "%", brackets or non-ASCII) in a
# paragraph of its own.
_BLANK = re.compile(r"[ \t\n]*")
# No ":" or "@" before the path: markdown-it's link normalisation (mdurl) takes a host's trailing ":" for an empty port
# and an empty user name before "@" for none, and drops them ("http://a::" becomes "http://a:", "http://@a"
# "http://a"), so an address with either there is left to markdown-it.
_LONE_AUTOLINK = re.compile(
    r"(?:[ \t]*\n)*<(https?://[A-Za-z0-9\-._~!$&'()*+,;=]*(?:[/?#][A-Za-z0-9\-._~/?#@!$&'()*+,;=:]*)?)>\n"
    r"(?:[ \t]*\n)*[ \t]*"
)


def _render_rest(rest: str, dialect: Dialect) -> str:
    """``markdown_parser(dialect).render(rest)``, with the two common cases above written directly (for ``POSTS``)."""
    if dialect == POSTS:
        if _BLANK.fullmatch(rest):
            return ""
        lone = _LONE_AUTOLINK.fullmatch(rest)
        if lone is not None:
            url = escapeHtml(lone.group(1))
            return f'<p><a href="{url}">{url}</a></p>\n'
    return str(markdown_parser(dialect).render(rest))


def _skip_blank_lines(source: str, position: int) -> int:
    match = _BLANK_LINES.match(source, position)
    return match.end() if match is not None else position


def _opens_html_block(source: str, start: int) -> bool:
    """Whether the line at ``start`` opens an HTML block that only a blank line ends (kinds 6 and 7)."""
    indent = 0
    while indent < 4 and source.startswith(" ", start + indent):
        indent += 1
    if indent > 3 or not source.startswith("<", start + indent):
        return False  # four columns of indent (a tab counts as reaching the next stop) make it indented code
    line_end = source.find("\n", start)
    text = source[start + indent : line_end if line_end >= 0 else len(source)]
    # markdown-it tries the kinds in order and the first match decides; kinds 1-5 end on a closing sequence instead.
    for opening, closing, _interrupts in HTML_SEQUENCES:
        if opening.search(text):
            return closing.search("") is not None
    return False


@functools.lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        url_schemes=set(_URL_SCHEMES),
        generic_attribute_prefixes={"data-"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


# html5ever's tree builder does a scope scan per block start tag, so nesting depth costs quadratic time
# (100,000 unclosed <div>s take minutes). Real articles never nest this deep; flatten anything deeper, well below
# libxml2's default limit of 256 levels so consumers parsing the fragment as XHTML accept it.
_MAX_DEPTH = 100
_TAG_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)\b[^<>]*>")
# Start tags the HTML tree builder closes implicitly, so counting them would overstate depth.
_SELF_CLOSING_SIBLINGS = frozenset({"p", "li", "dt", "dd", "tr", "td", "th", "option", "rt", "rp"})


def limit_nesting(markup: str) -> str:
    depth = 0
    dropped = 0
    pieces: list[str] = []
    last = 0
    for match in _TAG_TOKEN.finditer(markup):
        name = match.group(2).lower()
        if name in VOID_ELEMENTS or name in _SELF_CLOSING_SIBLINGS:
            continue
        if not match.group(1):
            if depth >= _MAX_DEPTH:
                dropped += 1
                pieces.append(markup[last : match.start()])
                last = match.end()
            else:
                depth += 1
        elif dropped:
            dropped -= 1
            pieces.append(markup[last : match.start()])
            last = match.end()
        elif depth:
            depth -= 1
    if not pieces:
        return markup
    pieces.append(markup[last:])
    return "".join(pieces)


def render_body(body: str, *, page_url: str, site_url: str, dialect: Dialect = POSTS) -> str:
    """Render a post body (Markdown with raw HTML) to a sanitised, XML-well-formed HTML fragment for feeds.

    Relative and root-relative URLs resolve against ``page_url``; protocol-relative ones (``//host/…``) take the
    scheme of ``site_url``. Trailing site navigation — final blocks that are a line of navigation links and
    separators, like ``[返回…](//host/category/x.html)｜[返回首页](//host/)`` — is dropped, as long as some content
    stays before it; see navigation.py for what counts. Links to documents and articles, lists, and a final link
    to another host (e.g. the original article) are content and kept. ``dialect`` says which Markdown the body is
    (dialects.py: ``POSTS`` for ``--posts`` sites, ``kramdown_dialect(config)`` for a Jekyll site's).
    """
    rendered = render_markdown(clean_text(body), dialect)
    sanitised = _cleaner().clean(limit_nesting(rendered))
    return clean_text(finish_fragment(sanitised, page_url=page_url, site_url=site_url))
