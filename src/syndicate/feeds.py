"""Feed documents: one page of entries rendered as Atom 1.0 (RFC 4287), RSS 2.0 or JSON Feed 1.1.

The feed-level part of Atom and RSS documents is built with feedgen; each entry is serialised once, directly, and
spliced in (``entry_fragment``), byte for byte what feedgen 1.0.0's ``FeedEntry`` and lxml wrote, with two of its
traps worked around on purpose and tests (tests/test_feeds.py) that fail if they come back:

- feedgen 1.0.0 writes entry ``<link>`` elements without ``rel``/``type``/``title`` (upstream issue #135: the loop
  variable is shadowed in ``FeedEntry.atom_entry``), so a ``rel="via"`` link would become a second alternate. The
  alternate link is written as feedgen wrote it (a bare ``href``), and the via link and ``<source>`` after
  feedgen's elements, where our entry extension used to add them.
- ``updated`` defaults to the wall clock; we always set feed and entry dates from post data, so the same posts give
  byte-identical feeds.

RSS dates are written as ``email.utils.format_datetime`` writes them (RFC 822 dates, locale-independent), the
channel's ``lastBuildDate`` too: feedgen's ``formatRFC2822`` switches the process-wide locale and writes a year
before 1000 with fewer than four digits. JSON Feed is written directly (feedgen has no JSON Feed support).

A date whose UTC offset is not a whole number of minutes (a zone's local mean time before it adopted standard time,
e.g. New York's -04:56:02 before 1883) is written in UTC, the same instant: RFC 3339 offsets (Atom, RFC 4287 §3.3;
JSON Feed 1.1) are ±hh:mm and RFC 822 ones ±hhmm, so ``isoformat()``'s -04:56:02 and ``%z``'s -045602 are invalid.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from syndicate import __version__
from syndicate.config import Settings
from syndicate.content import clean_text
from syndicate.documents import FORMATS, Document
from syndicate.groups import FeedInfo
from syndicate.posts import Post, summary_of

ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
DC_NS = "http://purl.org/dc/elements/1.1/"
GENERATOR = "syndicate"
GENERATOR_URI = "https://github.com/syndicate-feeds/syndicate"
# Atom requires feed/updated; a feed without entries gets this fixed instant rather than the build time.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)  # slots: a 100k-post site has ~500k of them while its pages are assembled
class Entry:
    """A post as it appears in one feed document; ``content`` is cleaned HTML, or None for summary-only entries."""

    post: Post
    content: str | None


@dataclass(frozen=True)
class Page:
    """One feed document's worth of entries, newest first, and its place among the feed's pages (RFC 5005)."""

    feed: FeedInfo
    title: str
    entries: tuple[Entry, ...]
    path: str  # output path without the format suffix, e.g. "tags/ai" or "archive/tags/ai/3"
    current: str  # the subscription document's path without suffix
    prev_archive: str | None = None  # next older archive page (path without suffix)
    archive: bool = False
    query: str = ""  # for feeds computed on demand: the canonical query string of their URL, e.g. "tag=a&limit=5"

    @cached_property
    def updated(self) -> datetime | None:
        return max((e.post.updated for e in self.entries), default=None)


def feed_url(settings: Settings, path: str, fmt: str) -> str:
    """Absolute URL of an output document; non-ASCII slugs are percent-encoded (ids and links must be URIs)."""
    return f"{settings.feeds_url}/{quote(path, safe='/')}.{fmt}"


def _self_url(settings: Settings, page: Page, fmt: str) -> str:
    url = feed_url(settings, page.path, fmt)
    return f"{url}?{page.query}" if page.query else url


# An http(s) URL whose host part has nothing urlsplit would remove, lower-case or check (tab, newline, non-ASCII,
# brackets, upper-case scheme): its origin is its start. urlsplit costs ~5 µs an unseen URL, and every post has one.
_PLAIN_ORIGIN = re.compile(r"https?://[!-~]*?(?=[/?#]|\Z)")


def _origin(url: str) -> str:
    plain = _PLAIN_ORIGIN.match(url)
    if plain and "[" not in plain.group() and "]" not in plain.group():
        return plain.group() + "/"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


class _FeedExtension(BaseExtension):  # type: ignore[misc]
    """Feed-level elements feedgen cannot write: RFC 5005 archive links and fh:archive, dc namespace for RSS."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str, str]] = []  # (rel, href, type)
        self.archive = False
        self.plain_description = False  # the channel description is plain text (a title), not configured HTML
        self.last_build_date = ""  # the channel's lastBuildDate as we write it (see _rfc822_date)

    def extend_ns(self) -> dict[str, str]:
        return {"fh": FH_NS, "dc": DC_NS}

    def extend_atom(self, feed: Any) -> Any:
        for rel, href, media_type in self.links:
            etree.SubElement(feed, "link", rel=rel, href=href, type=media_type)
        if self.archive:
            etree.SubElement(feed, f"{{{FH_NS}}}archive")
        return feed

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        description = channel.find("description")
        if self.plain_description and description is not None and description.text:
            # Readers render an RSS description as HTML: a category named "<script>" must stay text.
            description.text = html.escape(description.text, quote=False)
        last_build_date = channel.find("lastBuildDate")
        if last_build_date is not None and self.last_build_date:
            last_build_date.text = self.last_build_date
        for rel, href, media_type in self.links:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", rel=rel, href=href, type=media_type)
        if self.archive:
            etree.SubElement(channel, f"{{{FH_NS}}}archive")
        return feed


def _generator(settings: Settings, page: Page, fmt: str, updated: datetime | None = None) -> FeedGenerator:
    """The feed-level part of a document (everything but the entries); ``updated`` stands in for the page's."""
    fg = FeedGenerator()
    ext = _FeedExtension()
    fg.register_extension("syndicate", lambda: ext)
    self_url = _self_url(settings, page, fmt)
    current_url = feed_url(settings, page.current, fmt)
    media_type = FORMATS[fmt].split(";")[0]
    # The feed's identity is its subscription URL, the same for every page of it (RFC 5005 paged feeds); a query
    # feed is a feed of its own, identified by its URL.
    fg.id(_self_url(settings, page, "atom") if page.query else feed_url(settings, page.current, "atom"))
    fg.title(page.title)
    when = _as_written(updated or page.updated or EMPTY_FEED_UPDATED)
    fg.updated(when)  # feedgen writes Atom's as when.isoformat()
    ext.last_build_date = _rfc822_date(when).decode("ascii")
    fg.link(href=self_url, rel="self", type=media_type)
    fg.link(href=settings.site_url + "/", rel="alternate", type="text/html")
    fg.author({"name": settings.author or settings.title})
    fg.generator(GENERATOR, version=__version__, uri=GENERATOR_URI)
    fg.description(settings.description or page.title)
    ext.plain_description = not settings.description
    fg.language(settings.language)
    fg.ttl(settings.ttl)
    if settings.hub:
        fg.link(href=settings.hub, rel="hub")
    if page.archive:
        ext.archive = True
        ext.links.append(("current", current_url, media_type))
    if page.prev_archive:
        ext.links.append(("prev-archive", feed_url(settings, page.prev_archive, fmt), media_type))
    return fg


# Entries are written directly rather than through feedgen's FeedEntry and lxml, which cost 100-180 µs an entry, one
# of a cold build's largest costs. The bytes are exactly those feedgen 1.0.0 + lxml wrote, element order included
# (feedgen's own elements, then the ones our entry extension added); tests/test_feeds.py checks that against
# FeedEntry for random posts. Escaping is libxml2's: in text &, <, > and CR (a parser would turn a raw CR into LF); in
# attributes also ", and TAB, LF and CR as character references (a parser would turn them into spaces). Non-ASCII is
# written as UTF-8. The work is done on UTF-8 bytes, where replacing is several times faster than in Chinese text.

_XML_BYTES = bytes(b for b in range(256) if b >= 0x20 or b in b"\t\n\r")  # all but the C0 controls XML forbids
_NOT_XML = "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"  # lxml's
_DAYS = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")
_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")


def _checked(entry: bytes) -> bytes:
    """The entry, refused if lxml refused one of its strings for a control character other than TAB, LF and CR (not
    XML 1.0 characters, §2.2). Escaping adds none, so checking the finished entry checks every string in it."""
    if entry.translate(None, _XML_BYTES):
        raise ValueError(_NOT_XML)
    return entry


# _text and _attr refuse U+FFFE and U+FFFF as lxml does (not XML characters either; far cheaper to find in a str than
# in UTF-8), and a lone surrogate fails to encode, a ValueError as it is with lxml.


def _text(value: str) -> bytes:
    if "\ufffe" in value or "\uffff" in value:
        raise ValueError(_NOT_XML)
    return (
        value.encode("utf-8")
        .replace(b"&", b"&amp;")
        .replace(b"<", b"&lt;")
        .replace(b">", b"&gt;")
        .replace(b"\r", b"&#13;")
    )


def _attr(value: str) -> bytes:
    # Text escaping (which already wrote CR as &#13;), plus what an attribute value also needs.
    return _text(value).replace(b'"', b"&quot;").replace(b"\t", b"&#9;").replace(b"\n", b"&#10;")


# Posts share a few authors, publications (names and sites) and category and tag names, so each is escaped once
# (cached), not once a post.
_name_text = lru_cache(maxsize=4096)(_text)
_name_attr = lru_cache(maxsize=4096)(_attr)


@lru_cache(maxsize=1024)
def _atom_categories(categories: tuple[str, ...], tags: tuple[str, ...]) -> bytes:
    return b"".join(b'<category term="%s"/>' % _attr(name) for name in dict.fromkeys((*categories, *tags)))


@lru_cache(maxsize=1024)
def _rss_categories(categories: tuple[str, ...], tags: tuple[str, ...]) -> bytes:
    return b"".join(b"<category>%s</category>" % _text(name) for name in dict.fromkeys((*categories, *tags)))


def _as_written(when: datetime) -> datetime:
    """``when`` as feeds write it: itself, or in UTC if its offset is not a whole number of minutes (see the top).

    Posts are dated in UTC's range (posts.parse_date), so the conversion cannot overflow for them; for a datetime
    it would, ValueError, as for any other entry that cannot be written.
    """
    offset = when.utcoffset()
    if offset is None or not (offset.seconds % 60 or offset.microseconds):
        return when
    try:
        return when.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"the date {when.isoformat()} is outside the years 1 to 9999 in UTC") from None


def _rfc3339_date(when: datetime) -> str:
    """An Atom or JSON Feed date: ISO 8601 as RFC 3339 restricts it (an offset of hours and minutes)."""
    return _as_written(when).isoformat()


def _rfc822_date(when: datetime) -> bytes:
    """``email.utils.format_datetime(_as_written(when))`` (RFC 822, locale-independent) in a fraction of its time."""
    when = _as_written(when)
    offset = when.utcoffset()
    if offset is None:
        return format_datetime(when).encode("ascii")
    minutes = offset.days * 1440 + offset.seconds // 60
    sign = b"+" if minutes >= 0 else b"-"
    hours, minutes = divmod(abs(minutes), 60)
    return b"%s, %02d %s %04d %02d:%02d:%02d %s%02d%02d" % (
        _DAYS[when.weekday()],
        when.day,
        _MONTHS[when.month - 1],
        when.year,
        when.hour,
        when.minute,
        when.second,
        sign,
        hours,
        minutes,
    )


def _atom_entry(post: Post, content: str | None) -> bytes:
    if not (post.url and post.title):
        raise ValueError("an Atom entry needs an id and a title")
    if post.date.tzinfo is None or post.updated.tzinfo is None:
        raise ValueError("entry dates need a time zone")
    url = _text(post.url)
    parts = [
        b"<entry><id>%s</id><title>%s</title><updated>%s</updated>"
        % (url, _text(post.title), _rfc3339_date(post.updated).encode("ascii"))
    ]
    if post.author:
        parts.append(b"<author><name>%s</name></author>" % _name_text(post.author))
    if content:
        parts += (b'<content type="html">', _text(content), b"</content>")
    elif content is not None:
        parts.append(b'<content type="html"/>')
    # The alternate link only, a bare href as feedgen writes it (its issue #135 drops every other attribute).
    parts.append(b'<link href="%s"/>' % _attr(post.url))
    summary = summary_of(post) or (post.title if content is None else "")
    if summary:
        parts += (b"<summary>", _text(summary), b"</summary>")
    parts.append(_atom_categories(post.categories, post.tags))
    parts.append(b"<published>%s</published>" % _rfc3339_date(post.date).encode("ascii"))
    if post.source_url:
        title = b' title="%s"' % _name_attr(post.source_name) if post.source_name else b""
        parts.append(b'<link rel="via" href="%s" type="text/html"%s/>' % (_attr(post.source_url), title))
    if post.source_name or post.source_url:
        # RFC 4287 §4.2.11: atom:source carries metadata of the feed the entry came from; we know the
        # publication's name and, from the article URL, its site.
        parts.append(b"<source>")
        origin = _origin(post.source_url) if post.source_url else None
        if origin:
            parts.append(b"<id>%s</id>" % _name_text(origin))
        if post.source_name:
            parts.append(b"<title>%s</title>" % _name_text(post.source_name))
        if origin:
            parts.append(b'<link rel="alternate" href="%s" type="text/html"/>' % _name_attr(origin))
        parts.append(b"</source>")
    parts.append(b"</entry>")
    return _checked(b"".join(parts))


def _rss_item(post: Post, content: str | None) -> bytes:
    """An RSS item using the content: and dc: prefixes, which the channel's root element declares."""
    if post.updated.tzinfo is None:
        raise ValueError("entry dates need a time zone")
    # The description is the summary, else the title for summary-only entries, else the content.
    encoded: str | None = None
    summary = summary_of(post)
    if summary:
        description, encoded = summary, content
    elif content is None:
        description = post.title
    else:
        description = content
    if not description and content is None:
        raise ValueError("an RSS item needs a title or a description")
    if description in (summary, post.title):
        # RSS readers treat <description> as HTML; our summary is plain text (entities already decoded), so text
        # like "&lt;img onerror=…&gt;" in an article would become live markup unless escaped here.
        description = html.escape(description, quote=False)
    parts = [b"<item>"]
    if post.title:
        parts.append(b"<title>%s</title>" % _text(post.title))
    url = _text(post.url)
    if url:
        parts.append(b"<link>%s</link>" % url)
    parts += (b"<description>", _text(description), b"</description>")
    if encoded is not None:
        parts += (b"<content:encoded>", _text(encoded), b"</content:encoded>")
    if url:
        parts.append(b'<guid isPermaLink="true">%s</guid>' % url)
    parts.append(_rss_categories(post.categories, post.tags))
    # Written by us, not feedgen, whose formatRFC2822 switches the process-wide locale.
    parts.append(b"<pubDate>%s</pubDate>" % _rfc822_date(post.date))
    if post.author:
        parts.append(b"<dc:creator>%s</dc:creator>" % _name_text(post.author))
    if post.source_url:
        # RSS 2.0 <source url="…">: the channel the item came from; the url attribute is required.
        name = _text(post.source_name or post.source_url)
        parts.append(b'<source url="%s">%s</source>' % (_attr(post.source_url), name))
    parts.append(b"</item>")
    return _checked(b"".join(parts))


def entry_fragment(post: Post, content: str | None, fmt: str) -> bytes:
    """One entry's serialised XML (or JSON object), rendered once and spliced into every page that lists it.

    A post appears in the site-wide feed, its categories' and its tags' feeds and their archive pages; building its
    entry once per format instead of once per page is most of a build's speed. Raises ValueError for a post that
    cannot be written (text with characters XML forbids, an Atom entry without id or title, a date without offset).
    """
    if fmt == "json":
        return _json_item(post, content)
    if fmt == "atom":
        return _atom_entry(post, content)
    return _rss_item(post, content)


# JSON Feed items are written directly too, exactly as ``json.dumps(item, ensure_ascii=False, separators=(",", ":"))``
# wrote the dict they used to be (tests/test_feeds.py checks that for random posts): building the dict and an encoder
# for each item cost three times the writing. The string encoder is the one json.dumps uses for ensure_ascii=False (C).
_json_string: Callable[[str], str] = json.encoder.encode_basestring


def _json_item(post: Post, content: str | None) -> bytes:
    url = _json_string(post.url)
    parts = ['{"id":', url, ',"url":', url, ',"title":', _json_string(post.title)]
    if post.source_url:
        parts += (',"external_url":', _json_string(post.source_url))
    summary = summary_of(post)
    if content is not None:
        parts += (',"content_html":', _json_string(content))
    else:
        parts += (',"content_text":', _json_string(summary or post.title))
    if summary:
        parts += (',"summary":', _json_string(summary))
    # isoformat() is ASCII digits, "-", ":", "+", "." and "T": nothing JSON escapes.
    parts += (',"date_published":"', _rfc3339_date(post.date), '","date_modified":"', _rfc3339_date(post.updated), '"')
    if post.author:
        parts += (',"authors":[{"name":', _json_string(post.author), "}]")
    terms = dict.fromkeys((*post.categories, *post.tags))
    if terms:
        parts += (',"tags":[', ",".join(map(_json_string, terms)), "]")
    if post.source_name or post.source_url:
        name = _json_string(post.source_name) if post.source_name is not None else "null"
        source = _json_string(post.source_url) if post.source_url is not None else "null"
        parts += (',"_source":{"name":', name, ',"url":', source, "}")
    parts.append("}")
    # A lone surrogate fails to encode here (UnicodeEncodeError, a ValueError), as it did after json.dumps.
    return "".join(parts).encode("utf-8")


def _json_head(settings: Settings, page: Page) -> dict[str, Any]:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/); older pages are linked with ``next_url``."""
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": page.title,
        "home_page_url": settings.site_url + "/",
        "feed_url": _self_url(settings, page, "json"),
        "language": settings.language,
        "authors": [{"name": settings.author or settings.title}],
    }
    if settings.description:
        feed["description"] = settings.description
    if page.prev_archive:
        feed["next_url"] = feed_url(settings, page.prev_archive, "json")
    if settings.hub:
        feed["hubs"] = [{"type": "WebSub", "url": settings.hub}]
    return feed


def render_page(settings: Settings, page: Page, fmt: str, fragments: Sequence[bytes] | None = None) -> Document:
    """A feed document: the feed-level head with the entries' fragments spliced in, in order."""
    if fragments is None:
        fragments = [entry_fragment(e.post, e.content, fmt) for e in page.entries]
    if fmt == "json":
        head = json.dumps(_json_head(settings, page), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        body = head[:-1] + b',"items":[' + b",".join(fragments) + b"]}"
    else:
        head = _head(settings, page, fmt)
        cut = head.rindex(b"</feed>" if fmt == "atom" else b"</channel>")
        body = head[:cut] + b"".join(fragments) + head[cut:]
    return Document(path=f"{page.path}.{fmt}", body=body, media_type=FORMATS[fmt], updated=page.updated)


# Atom and RSS heads come from feedgen, at ~110 µs each, and a 10k-post site has ~2,000 of them (mostly archive
# pages). The pages of one feed have heads that differ only in their own URL, the next older page's URL and the
# updated time, so feedgen writes one head per feed, format and kind of page with stand-ins for those three, and each
# page's head is that template with its values put in. The stand-ins are ASCII letters and digits, which
# percent-encoding and XML escaping leave as they are, and the values put in need no escaping either (percent-encoded
# paths, ASCII dates). A template with a stand-in anywhere else (a title that contains one, say), or that does not give
# feedgen's head of the page it was made for, is not used, and that feed's heads come from feedgen.
_SELF = "zq7selfzq7"
_PREV = "zq7prevzq7"
_WHEN = datetime(1903, 4, 5, 6, 7, 8, tzinfo=UTC)
_WHEN_TEXT = {"atom": _WHEN.isoformat(), "rss": "Sun, 05 Apr 1903 06:07:08 +0000"}
_STAND_INS = re.compile("(" + "|".join(map(re.escape, (_SELF, _PREV, *_WHEN_TEXT.values()))) + ")")
_NO_TEMPLATE: tuple[str | bytes, ...] = ()
_templates: dict[tuple[object, ...], tuple[str | bytes, ...]] = {}


def _feedgen_head(settings: Settings, page: Page, fmt: str, updated: datetime | None = None) -> bytes:
    generator = _generator(settings, page, fmt, updated)
    return bytes(generator.atom_str(pretty=False) if fmt == "atom" else generator.rss_str(pretty=False))


def _head(settings: Settings, page: Page, fmt: str) -> bytes:
    updated = _as_written(page.updated or EMPTY_FEED_UPDATED)  # as _generator gives it to feedgen
    if page.query or updated.utcoffset() is None:
        return _feedgen_head(settings, page, fmt)  # query feeds: rare; a date without offset: feedgen refuses it
    key = (
        *(getattr(settings, name) for name in _HEAD_SETTINGS),
        page.title,
        page.current,
        page.archive,
        page.prev_archive is not None,
        fmt,
    )
    template = _templates.get(key)
    if template is None:
        template = _template(settings, page, fmt)
        if len(_templates) >= 4096:  # a long-running server whose feeds came and went
            _templates.clear()
        _templates[key] = template
        if template is not _NO_TEMPLATE:
            reference = _feedgen_head(settings, page, fmt)
            if _fill(template, page, fmt, updated) != reference:
                _templates[key] = _NO_TEMPLATE
            return reference
    if template is _NO_TEMPLATE:
        return _feedgen_head(settings, page, fmt)
    return _fill(template, page, fmt, updated)


# Everything of the settings that _generator writes into a head.
_HEAD_SETTINGS = ("feeds_url", "site_url", "author", "title", "description", "language", "ttl", "hub")


def _template(settings: Settings, page: Page, fmt: str) -> tuple[str | bytes, ...]:
    stand_in = replace(page, path=_SELF, prev_archive=_PREV if page.prev_archive else None, entries=())
    head = _feedgen_head(settings, stand_in, fmt, _WHEN).decode("utf-8")
    # split() gives literal text and stand-ins alternating: literals encoded now, stand-ins kept as their names.
    pieces: list[str | bytes] = [
        piece.encode("utf-8") if n % 2 == 0 else piece for n, piece in enumerate(_STAND_INS.split(head))
    ]
    # Each stand-in where feedgen writes its value, once: a second one came from the title, the settings or the
    # feed's own path, and filling it in would change them.
    expected = sorted([_SELF, _WHEN_TEXT[fmt], *([_PREV] if page.prev_archive else [])])
    if sorted(piece for piece in pieces[1::2] if isinstance(piece, str)) != expected:
        return _NO_TEMPLATE
    return tuple(pieces)


def _fill(template: tuple[str | bytes, ...], page: Page, fmt: str, updated: datetime) -> bytes:
    # Only this format's date, and the older page's URL only where there is one (_template checked which are there).
    values = {
        _SELF: quote(page.path, safe="/").encode("ascii"),
        _WHEN_TEXT[fmt]: _rfc3339_date(updated).encode("ascii") if fmt == "atom" else _rfc822_date(updated),
    }
    if page.prev_archive:
        values[_PREV] = quote(page.prev_archive, safe="/").encode("ascii")
    return b"".join(piece if isinstance(piece, bytes) else values[piece] for piece in template)


def feed_title(settings: Settings, feed: FeedInfo) -> str:
    """The title readers show: the site title, plus the category or tag's display name."""
    if feed.kind == "all":
        return settings.title
    return clean_text(f"{settings.title} · {feed.display}")


def paginate(
    feed: FeedInfo, posts: Sequence[Post], limit: int
) -> tuple[tuple[Post, ...], list[tuple[int, tuple[Post, ...]]]]:
    """Split a feed's posts (newest first) into the subscription page and RFC 5005 archive pages.

    Archive pages are counted from the oldest post in fixed chunks of ``limit``: page 1 holds the oldest posts, and
    a page, once full, never changes as new posts arrive. Only full chunks are archived; the newest (partial) chunk is
    always inside the subscription document, which holds the newest ``limit`` posts. Returns the subscription posts
    and ``[(number, posts newest first), …]``.
    """
    current = tuple(posts[:limit])
    if len(posts) <= limit:
        return current, []
    oldest_first = list(reversed(posts))
    full_pages = len(oldest_first) // limit
    pages = [(n + 1, tuple(reversed(oldest_first[n * limit : (n + 1) * limit]))) for n in range(full_pages)]
    return current, pages
