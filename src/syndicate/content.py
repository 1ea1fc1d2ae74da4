"""Post bodies as feed content: Markdown/HTML rendered, sanitised, absolutised, stripped of site chrome.

Everything here is pure (no I/O) and must accept any ``str``: post bodies are untrusted input that ends up inside
feeds read by other people's software, so the output is held to two contracts:

* safe: nh3 (ammonia) removes scripts, event handlers, embedded content and non-http(s)/mailto URLs;
* well-formed: the fragment parses as XML when wrapped in ``<div>`` (void elements self-closed, only XML's five
  entities, no characters XML 1.0 forbids), so it can go into Atom/RSS verbatim or escaped without breaking them.
"""

from __future__ import annotations

import functools
import html
import re
from urllib.parse import urljoin, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_block.html_block import HTML_SEQUENCES

__all__ = ["CLEAN_CONTENT_TAGS", "clean_text", "limit_nesting", "markdown_parser", "render_body"]

# XML 1.0 §2.2 Char production: everything except #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF.
# Lone surrogates can reach us from `surrogateescape`-decoded input; they are not characters at all.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """Remove characters illegal in XML 1.0 (C0 controls except \\t \\n \\r, U+FFFE/U+FFFF, lone surrogates)."""
    return _XML_ILLEGAL.sub("", text)


# --- rendering ------------------------------------------------------------------------------------------------------

_TAGS = frozenset(
    {
        "a", "abbr", "acronym", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite", "code", "col",
        "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby",
        "s", "samp", "small", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
        "th", "thead", "time", "tr", "tt", "u", "ul", "var", "wbr",
    }
)  # fmt: skip
# Elements whose *content* is not article text either: code, embedded documents, form widgets.
CLEAN_CONTENT_TAGS = frozenset(
    {
        "script", "style", "iframe", "object", "embed", "noscript", "noembed", "noframes", "template", "textarea",
        "select", "title", "xmp", "svg", "math", "frameset", "applet",
    }
)  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "p": {"class"},
    "div": {"class"},
    "span": {"class"},
    "pre": {"class"},
    "code": {"class"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "time": {"datetime"},
    "abbr": {"title"},
}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# HTML void elements: serialised self-closed so XML parsers accept them.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})


class _Markdown(MarkdownIt):
    """CommonMark with raw HTML: posts are "HTML inside a Markdown file".

    No linkify: bare text URLs stay text, only explicit <http://…> autolinks become links (CommonMark §6.5).
    Link normalisation (URL parsing, IDNA, percent-encoding) is the costliest step of rendering a republished
    article, and the site-navigation links it is spent on repeat from post to post, so short URLs are memoised.
    """

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": True, "linkify": False})
        self._normalised_links = functools.lru_cache(maxsize=1024)(super().normalizeLink)

    def normalizeLink(self, url: str) -> str:
        if len(url) > _MAX_MEMOISED_URL:
            return super().normalizeLink(url)
        return self._normalised_links(url)


# Bounds the memo at about 1024 × 2 kB × 4 (the URL and its percent-encoded form), whatever the input.
_MAX_MEMOISED_URL = 2_000


@functools.lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    """The Markdown parser, built once on first use; excerpts.py parses the start of posts with it too."""
    return _Markdown()


_NEWLINES = re.compile(r"\r\n?")
_BLANK_LINES = re.compile(r"(?:[ \t]*\n)*")
_BLOCK_END = re.compile(r"\n[ \t]*(?:\n|\Z)")


def _render_markdown(source: str) -> str:
    """``markdown_parser().render(source)``, without parsing the HTML blocks that open the document.

    A republished article is typically one long HTML block (CommonMark §4.6, kinds 6 and 7: a block-level tag or
    a lone complete tag at up to three spaces of indent, ended by a blank line) followed by a few lines of Markdown.
    Such a block renders verbatim and cannot affect what follows (it holds no link reference definitions), so the
    leading ones are copied and only the rest goes through markdown-it.
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
        pieces.append(source[start:end])
        position = end
    pieces.append(str(markdown_parser().render(source[position:])))
    return "".join(pieces)


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
        if name in _VOID or name in _SELF_CLOSING_SIBLINGS:
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


def render_body(body: str, *, page_url: str, site_url: str) -> str:
    """Render a post body (Markdown with raw HTML) to a sanitised, XML-well-formed HTML fragment for feeds.

    Relative and root-relative URLs resolve against ``page_url``; protocol-relative ones (``//host/…``) take the
    scheme of ``site_url``. Trailing site navigation — final blocks that are a line of navigation links and
    separators, like ``[返回…](//host/category/x.html)｜[返回首页](//host/)`` — is dropped, as long as some content
    stays before it; see ``_Links.is_nav`` for what counts. Links to documents and articles, lists, and a final link
    to another host (e.g. the original article) are content and kept.
    """
    rendered = _render_markdown(clean_text(body))
    sanitised = _cleaner().clean(limit_nesting(rendered))
    return clean_text(_finish(sanitised, _Links(page_url=page_url, site_url=site_url)))


# --- URLs -----------------------------------------------------------------------------------------------------------

_URL_STRIP = "".join(chr(c) for c in range(0x21))
_URL_TABS = re.compile("[\t\n\r]")


def _normalise_reference(url: str) -> str:
    # WHATWG URL parsing (what browsers and ammonia do): strip leading/trailing C0 controls and spaces, drop tabs
    # and newlines anywhere, and treat "\" as "/" in http(s) URLs, so "\\evil.example" is protocol-relative.
    url = _URL_TABS.sub("", url.strip(_URL_STRIP))
    if _has_scheme(url):
        return url
    return url.replace("\\", "/")


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _has_scheme(url: str) -> bool:
    return _SCHEME.match(url) is not None


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _absolutise(url: str, *, page_url: str, site_scheme: str) -> str:
    reference = _normalise_reference(url)
    if _has_scheme(reference):
        return reference  # absolute: nh3 already checked the scheme
    try:
        if reference.startswith("//"):
            resolved = f"{site_scheme}:{reference}"
        else:
            resolved = urljoin(page_url, reference)
        scheme = urlsplit(resolved).scheme.lower()
    except ValueError:
        return reference
    # A bad page_url cannot turn a relative link into a script: keep the reference relative instead.
    return resolved if scheme in {"http", "https"} else reference


# --- making nh3's output XML-safe, absolute and free of trailing site chrome ------------------------------------------

# Trailing site chrome, and only that, is removed: the last top-level blocks (a paragraph, a div, or a run of inline
# content outside them) of which each is a line of navigation links — at least one link, every link a navigation
# link, nothing else but the separators and wrapper tags below. Lists are content (a series' other parts, a reading
# list), and so is a block with any other text, image or link; removal stops at the first block from the end that is
# not navigation, and never takes the first block with content. A navigation link points into the site (relative,
# root-relative, protocol-relative or on the site's host) and either says it navigates (its text is 返回…/回到…,
# 首页, 上一篇/下一篇…, back/home/top/index/previous/next…) or goes to the site's home or a section or index page
# (see ``_is_index_path``): never to a document, file or article, which is why a post may end with a link to an
# attached PDF, to earlier parts of a series, or to this week's stories.
#
# Separators a navigation line is allowed besides its links: ASCII/full-width bars, middle dots, bullets, slashes,
# dashes, brackets and whitespace (including nbsp and the ideographic space).
_NAV_SEPARATORS = frozenset(" \t\r\n\u00a0\u3000|｜·•/-–—>»«<[]【】()（）")
# Tags a navigation block may use outside its links (no list elements: lists are content).
_NAV_WRAPPERS = frozenset({"p", "div", "span", "br", "small", "strong", "b", "em", "i"})
# Link texts that say the link navigates, matched whole after the arrows and separators around them are stripped.
# The Chinese words cannot start an article title, so they may be followed by more ("返回右江日报新闻", "上一篇：…");
# the English ones are matched as whole phrases, so "[Home prices rise](…)" is not navigation.
_NAV_TEXT = re.compile(
    r"(?:返回|回到|上一篇|下一篇|上一页|下一页|上一条|下一条).*"
    r"|(?:网站|本站)?(?:首页|主页)|回?顶部"
    r"|(?:back|return|go back)(?: to\b.*)?"
    r"|home|home ?page|front page|main page|top|index"
    r"|(?:previous|prev|next|older|newer)(?: (?:page|post|posts|article|articles|entry|entries|story|stories))?"
    r"(?: ?[:：].*)?",
    re.IGNORECASE | re.DOTALL,
)
_NAV_TEXT_STRIP = "".join(_NAV_SEPARATORS) + "←→↑↓‹›⟵⟶«»:：.。…"
# First path segments of taxonomy pages (Jekyll's /category/x.html, /tags/y/, …): index pages of a term.
_TAXONOMIES = frozenset({"category", "categories", "tag", "tags", "section", "sections", "topic", "topics"})
_INDEX_FILE = re.compile(r"(?:index|default)\.[a-z]{2,5}", re.IGNORECASE)
_PAGE_FILE = re.compile(r"[^.]+\.(?:html?|shtml|php|aspx?)", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    {
        "blockquote", "center", "dd", "details", "div", "dl", "dt", "figure", "figcaption", "h1", "h2", "h3", "h4",
        "h5", "h6", "hr", "li", "ol", "p", "pre", "table", "ul",
    }
)  # fmt: skip
# A tag as html5ever serialises it: lower-case name, each attribute as ` name="value"` with `&`, `"`, `<`, `>` and
# nbsp escaped. Text never holds a raw "<" (it is serialised as "&lt;"), so every "<" outside a value starts a tag.
_SERIALISED_TAG = re.compile(r'<(/?)([a-z][a-z0-9]*)((?: [^\s"\'>/=]+="[^"]*")*)>')
_SERIALISED_ATTRIBUTE = re.compile(r' ([^\s"\'>/=]+)="([^"]*)"')
_URL_ATTRIBUTE = re.compile(r' (?:href|src)="')


class _Block:
    """One top-level node of the fragment (an element, or a run of inline content): where it starts, what it holds."""

    __slots__ = ("content", "inline", "nav_links", "start")

    def __init__(self, start: int, *, inline: bool) -> None:
        self.start = start  # index of its first piece
        self.inline = inline
        self.nav_links = 0  # navigation links back into the site
        self.content = False  # anything that is not navigation: text, other links, other elements

    def is_blank(self) -> bool:
        return not self.content and not self.nav_links


class _OpenLink:
    """The outermost link being read: its target and text decide, at its end tag, whether it is navigation."""

    __slots__ = ("block", "href", "text")

    def __init__(self, block: _Block, href: str | None) -> None:
        self.block = block
        self.href = href
        self.text: list[str] = []


class _Links:
    """Resolves and classifies one page's link targets."""

    def __init__(self, *, page_url: str, site_url: str) -> None:
        self.page_url = page_url
        try:
            scheme = urlsplit(site_url).scheme.lower() or "https"
        except ValueError:
            scheme = "https"
        self.site_scheme = scheme if scheme in {"http", "https"} else "https"
        self.site_host = _host(site_url)

    def absolutise(self, url: str) -> str:
        return _absolutise(url, page_url=self.page_url, site_scheme=self.site_scheme)

    def is_nav(self, href: str | None, text: str) -> bool:
        """Whether a link is site navigation: into the site, and by its text or its target (see the rule above)."""
        if href is None:
            return False
        reference = _normalise_reference(href)
        if reference.startswith("#"):
            return _is_nav_text(text)  # "Back to top": in-page, so only its words can say it navigates
        if _has_scheme(reference):
            if not self.site_host or _host(reference) != self.site_host:
                return False
        # else relative, root-relative or protocol-relative: into the site
        return _is_nav_text(text) or self._is_index(reference)

    def _is_index(self, reference: str) -> bool:
        try:
            if reference.startswith("//") or _has_scheme(reference):
                parts = urlsplit(reference)
            else:
                parts = urlsplit(urljoin(self.page_url, reference))
        except ValueError:
            return False
        return not parts.query and _is_index_path(parts.path)


def _is_nav_text(text: str) -> bool:
    plain = html.unescape(text) if "&" in text else text
    return _NAV_TEXT.fullmatch(" ".join(plain.split()).strip(_NAV_TEXT_STRIP)) is not None


def _is_index_path(path: str) -> bool:
    """Whether a path is the site's home or a section or index page, the targets of navigation links.

    That is ``/`` or ``/index.html``, a one-level directory (``/world/``, ``/world/index.html``), or a taxonomy term's
    page (``/category/local.html``, ``/tags/sport/``). Anything else — a file (``/files/a.pdf``), an article
    (``/2024/03/01/flood-1.html``, ``/world/harbour-reopens/``), a query (``/?p=12``) — may be what a post links to.
    """
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    if not segments:
        return True
    last = segments[-1]
    if not last or _INDEX_FILE.fullmatch(last):
        directory = segments[:-1]
        return len(directory) <= 1 or (len(directory) == 2 and directory[0].lower() in _TAXONOMIES)
    return len(segments) == 2 and segments[0].lower() in _TAXONOMIES and _PAGE_FILE.fullmatch(last) is not None


def _finish(sanitised: str, links: _Links) -> str:
    """Turn nh3's output into the feed fragment, in one pass over its tags.

    nh3 emits well-formed HTML syntax (html5ever's serialiser); XML consumers additionally need void elements
    self-closed (``<br />``) and no entity but XML's five (``&nbsp;`` becomes the character). Links are absolutised on
    the way through, and top-level blocks remember whether they are pure site navigation, so trailing navigation can
    be dropped: it is found from the serialised markup, never by parsing the document again.
    """
    pieces: list[str] = []
    blocks: list[_Block] = []
    depth = 0
    link_depth = 0
    link: _OpenLink | None = None
    last = 0
    for match in _SERIALISED_TAG.finditer(sanitised):
        if match.start() > last:
            _add_text(sanitised[last : match.start()], pieces, blocks, depth=depth, link=link)
        last = match.end()
        closing, tag, attributes = match.groups()
        if closing:
            if tag in _VOID or depth == 0:
                continue
            depth -= 1
            pieces.append(match.group())
            if tag == "a" and link_depth:
                link_depth -= 1
                if link_depth == 0 and link is not None:
                    _end_link(link, links)
                    link = None
            continue
        inline = tag not in _BLOCK_TAGS
        if depth == 0 and not (inline and blocks and blocks[-1].inline):
            blocks.append(_Block(len(pieces), inline=inline))
        block = blocks[-1]
        href: str | None = None
        if attributes and _URL_ATTRIBUTE.search(attributes):
            attributes, href = _absolutise_attributes(attributes, links)
        if tag == "a":
            if link_depth == 0:
                link = _OpenLink(block, href)
            link_depth += 1
        elif link_depth == 0 and tag not in _NAV_WRAPPERS:
            block.content = True
        if tag in _VOID:
            pieces.append(f"<{tag}{attributes} />")
        else:
            pieces.append(f"<{tag}{attributes}>")
            depth += 1
    if last < len(sanitised):
        _add_text(sanitised[last:], pieces, blocks, depth=depth, link=link)
    if link is not None:
        link.block.content = True  # never closed (html5ever closes every link): not known to be navigation
    end = _kept_blocks(blocks)
    kept = "".join(pieces[: blocks[end].start] if end < len(blocks) else pieces)
    return kept.replace("&nbsp;", "\u00a0").strip()


def _end_link(link: _OpenLink, links: _Links) -> None:
    if links.is_nav(link.href, "".join(link.text)):
        link.block.nav_links += 1
    else:
        link.block.content = True


def _add_text(text: str, pieces: list[str], blocks: list[_Block], *, depth: int, link: _OpenLink | None) -> None:
    if "<" in text:
        text = text.replace("<", "&lt;")  # never produced by html5ever; a stray one must not open a tag
    if depth == 0 and not (blocks and blocks[-1].inline):
        blocks.append(_Block(len(pieces), inline=True))
    pieces.append(text)
    if link is not None:
        link.text.append(text)
    elif not blocks[-1].content:
        plain = html.unescape(text) if "&" in text else text
        if not _NAV_SEPARATORS.issuperset(plain):
            blocks[-1].content = True


def _absolutise_attributes(attributes: str, links: _Links) -> tuple[str, str | None]:
    """Attributes with href/src made absolute, and the original href (None if there is none)."""
    rendered: list[str] = []
    href: str | None = None
    for name, value in _SERIALISED_ATTRIBUTE.findall(attributes):
        if name in {"href", "src"}:
            url = html.unescape(value)
            if name == "href":
                href = url
            value = _escape_attribute(links.absolutise(url))
        rendered.append(f' {name}="{value}"')
    return "".join(rendered), href


def _kept_blocks(blocks: list[_Block]) -> int:
    """How many leading blocks to keep: trailing navigation goes, but never the first block with content."""
    end = len(blocks)
    while end > 0:
        block = blocks[end - 1]
        if block.is_blank():
            end -= 1
            continue
        if block.content or not any(not b.is_blank() for b in blocks[: end - 1]):
            break
        end -= 1
    return end


def _escape_attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
