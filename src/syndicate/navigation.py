"""Trailing site navigation ("[返回首页](/)｜[Home](/)") dropped from a rendered post body.

Republished articles often end in their source site's chrome: back links, home, previous and next. It is found in
the one pass over nh3's output that also finishes the fragment for XML (void elements self-closed, ``&nbsp;`` as the
character) and makes its links absolute (urls.py), so the document is never parsed a second time.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

from syndicate.urls import absolutise, bare_host, has_scheme, normalise_reference

__all__ = ["VOID_ELEMENTS", "finish_fragment"]

# HTML void elements: serialised self-closed so XML parsers accept them.
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)

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
_URL_ATTRIBUTE = re.compile(r' (?:href|src|poster|srcset)="')
_SRCSET_SCHEMES = frozenset({"http", "https"})


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
        self.site_host = bare_host(site_url)

    def absolutise(self, url: str) -> str:
        return absolutise(url, page_url=self.page_url, site_scheme=self.site_scheme)

    def is_nav(self, href: str | None, text: str) -> bool:
        """Whether a link is site navigation: into the site, and by its text or its target (see the rule above)."""
        if href is None:
            return False
        reference = normalise_reference(href)
        if reference.startswith("#"):
            return _is_nav_text(text)  # "Back to top": in-page, so only its words can say it navigates
        if has_scheme(reference):
            if not self.site_host or bare_host(reference) != self.site_host:
                return False
        # else relative, root-relative or protocol-relative: into the site
        return _is_nav_text(text) or self._is_index(reference)

    def _is_index(self, reference: str) -> bool:
        try:
            if reference.startswith("//") or has_scheme(reference):
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


def finish_fragment(sanitised: str, *, page_url: str, site_url: str) -> str:
    """Turn nh3's output into the feed fragment, in one pass over its tags.

    nh3 emits well-formed HTML syntax (html5ever's serialiser); XML consumers additionally need void elements
    self-closed (``<br />``) and no entity but XML's five (``&nbsp;`` becomes the character). Links are absolutised on
    the way through, and top-level blocks remember whether they are pure site navigation, so trailing navigation can
    be dropped: it is found from the serialised markup, never by parsing the document again.
    """
    links = _Links(page_url=page_url, site_url=site_url)
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
            if tag in VOID_ELEMENTS or depth == 0:
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
        if tag in VOID_ELEMENTS:
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
    """Attributes with href/src/poster/srcset made absolute, and the original href (None if there is none).

    nh3 has checked the schemes of href, src and poster, but not srcset's: its candidates are checked here (only
    http(s) images are kept), and an attribute left without any is dropped."""
    rendered: list[str] = []
    href: str | None = None
    for name, value in _SERIALISED_ATTRIBUTE.findall(attributes):
        if name == "srcset":
            value = _escape_attribute(_absolutise_srcset(html.unescape(value), links))
            if not value:
                continue
        elif name in {"href", "src", "poster"}:
            url = html.unescape(value)
            if name == "href":
                href = url
            value = _escape_attribute(links.absolutise(url))
        rendered.append(f' {name}="{value}"')
    return "".join(rendered), href


def _absolutise_srcset(srcset: str, links: _Links) -> str:
    """Each image candidate's URL made absolute (HTML's srcset: a URL, then descriptors up to a comma; a URL may
    itself hold commas but not end in one), keeping only candidates that resolve to http(s)."""
    kept: list[str] = []
    position = 0
    while position < len(srcset):
        match = _SRCSET_CANDIDATE.match(srcset, position)
        if match is None or not match.group(1):
            break
        position = match.end()
        url, descriptors = match.group(1), (match.group(2) or "").strip()
        if url.endswith(","):
            url, descriptors = url.rstrip(","), ""
        resolved = links.absolutise(url)
        if has_scheme(resolved) and urlsplit(resolved).scheme.lower() in _SRCSET_SCHEMES:
            kept.append(f"{resolved} {descriptors}" if descriptors else resolved)
    return ", ".join(kept)


# One srcset candidate after any whitespace and commas: the URL (no whitespace) and descriptors up to the next comma.
_SRCSET_CANDIDATE = re.compile(r"[\s,]*(\S*)(?:\s+([^,]*))?,?")


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
