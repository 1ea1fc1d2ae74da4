"""Feed documents: one page of entries rendered as Atom 1.0 (RFC 4287), RSS 2.0 or JSON Feed 1.1.

Atom and RSS are built with feedgen; two of its traps are worked around here on purpose, with tests
(tests/test_feeds.py) that fail if they come back:

- feedgen 1.0.0 writes entry ``<link>`` elements without ``rel``/``type``/``title`` (upstream issue #135: the loop
  variable is shadowed in ``FeedEntry.atom_entry``), so a ``rel="via"`` link would become a second alternate. We
  give feedgen only the alternate link and write every other entry link, and ``<source>``, in ``_EntryExtension``.
- ``updated`` defaults to the wall clock; we always set feed and entry dates from post data, so the same posts give
  byte-identical feeds.

RSS ``pubDate`` of items is written by us with ``email.utils.format_datetime`` (RFC 822 dates, locale-independent);
feedgen's own ``formatRFC2822`` switches the process-wide locale, so we only let it format the channel's
``lastBuildDate``. JSON Feed is written directly (feedgen has no JSON Feed support).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cached_property
from typing import Any
from urllib.parse import quote, urlsplit

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from syndicate import __version__
from syndicate.config import Settings
from syndicate.content import clean_text
from syndicate.documents import FORMATS, Document, FeedInfo
from syndicate.posts import Post

ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
DC_NS = "http://purl.org/dc/elements/1.1/"
GENERATOR = "syndicate"
GENERATOR_URI = "https://github.com/syndicate-feeds/syndicate"
# Atom requires feed/updated; a feed without entries gets this fixed instant rather than the build time.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
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


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


class _FeedExtension(BaseExtension):  # type: ignore[misc]
    """Feed-level elements feedgen cannot write: RFC 5005 archive links and fh:archive, dc namespace for RSS."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str, str]] = []  # (rel, href, type)
        self.archive = False
        self.plain_description = False  # the channel description is plain text (a title), not configured HTML

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
        for rel, href, media_type in self.links:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", rel=rel, href=href, type=media_type)
        if self.archive:
            etree.SubElement(channel, f"{{{FH_NS}}}archive")
        return feed


class _EntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Entry elements written by us: see the module docstring for why."""

    def __init__(self) -> None:
        self.post: Post | None = None

    def extend_atom(self, entry: Any) -> Any:
        # feedgen writes Atom elements without a namespace under a literal xmlns attribute on <feed>; elements
        # added the same way serialise as plain <link>/<source> in the Atom default namespace.
        post = self.post
        assert post is not None
        if post.source_url:
            via = etree.SubElement(entry, "link", rel="via", href=post.source_url, type="text/html")
            if post.source_name:
                via.set("title", post.source_name)
        if post.source_name or post.source_url:
            # RFC 4287 §4.2.11: atom:source carries metadata of the feed the entry came from; we know the
            # publication's name and, from the article URL, its site.
            source = etree.SubElement(entry, "source")
            if post.source_url:
                etree.SubElement(source, "id").text = _origin(post.source_url)
            if post.source_name:
                etree.SubElement(source, "title").text = post.source_name
            if post.source_url:
                etree.SubElement(source, "link", rel="alternate", href=_origin(post.source_url), type="text/html")
        return entry

    def extend_rss(self, item: Any) -> Any:
        post = self.post
        assert post is not None
        etree.SubElement(item, "pubDate").text = format_datetime(post.date)
        # RSS readers treat <description> as HTML; our summary is plain text (entities already decoded), so text
        # like "&lt;img onerror=…&gt;" in an article would become live markup unless escaped here.
        description = item.find("description")
        if description is not None and description.text in (post.summary, post.title):
            description.text = html.escape(description.text, quote=False)
        if post.author:
            etree.SubElement(item, f"{{{DC_NS}}}creator").text = post.author
        if post.source_url:
            # RSS 2.0 <source url="…">: the channel the item came from; the url attribute is required.
            etree.SubElement(item, "source", url=post.source_url).text = post.source_name or post.source_url
        return item


def _generator(settings: Settings, page: Page, fmt: str) -> FeedGenerator:
    """The feed-level part of a document (everything but the entries)."""
    fg = FeedGenerator()
    ext = _FeedExtension()
    fg.register_extension("syndicate", lambda: ext, _EntryExtension)
    self_url = _self_url(settings, page, fmt)
    current_url = feed_url(settings, page.current, fmt)
    media_type = FORMATS[fmt].split(";")[0]
    # The feed's identity is its subscription URL, the same for every page of it (RFC 5005 paged feeds); a query
    # feed is a feed of its own, identified by its URL.
    fg.id(_self_url(settings, page, "atom") if page.query else feed_url(settings, page.current, "atom"))
    fg.title(page.title)
    fg.updated(page.updated or EMPTY_FEED_UPDATED)
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


def _feed_entry(post: Post, content: str | None, fmt: str) -> FeedEntry:
    fe = FeedEntry()
    fe.register_extension("syndicate", _EntryExtension)
    fe.syndicate.post = post
    fe.id(post.url)
    fe.guid(post.url, permalink=True)
    fe.title(post.title)
    fe.link(href=post.url)  # alternate; written correctly by feedgen because it needs no attributes
    if fmt == "atom":
        fe.published(post.date)  # RSS pubDate is written by _EntryExtension (locale-independent)
    fe.updated(post.updated)
    if post.author:
        fe.author({"name": post.author})
    if post.summary:
        fe.summary(post.summary)
    elif content is None:
        fe.summary(post.title)
    if content is not None:
        fe.content(content, type="html")
    for name in dict.fromkeys((*post.categories, *post.tags)):
        fe.category(term=name)
    return fe


# RSS items use the content: and dc: prefixes, which the channel's root element declares; an item is serialised
# inside a root declaring the same prefixes so the fragment carries no declarations of its own.
_RSS_NSMAP = {"content": "http://purl.org/rss/1.0/modules/content/", "dc": DC_NS}


def entry_fragment(post: Post, content: str | None, fmt: str) -> bytes:
    """One entry's serialised XML (or JSON object), rendered once and spliced into every page that lists it.

    A post appears in the site-wide feed, its categories' and its tags' feeds and their archive pages; building its
    entry once per format instead of once per page is most of a build's speed.
    """
    if fmt == "json":
        return json.dumps(_json_item(post, content), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    fe = _feed_entry(post, content, fmt)
    if fmt == "atom":
        return bytes(etree.tostring(fe.atom_entry(), encoding="UTF-8", xml_declaration=False))
    root = etree.Element("rss", nsmap=_RSS_NSMAP)
    root.append(fe.rss_entry())
    data = bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=False))
    return data[data.index(b"<item") : data.rindex(b"</rss>")]


def _json_item(post: Post, content: str | None) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": post.url, "url": post.url, "title": post.title}
    if post.source_url:
        obj["external_url"] = post.source_url
    if content is not None:
        obj["content_html"] = content
    else:
        obj["content_text"] = post.summary or post.title
    if post.summary:
        obj["summary"] = post.summary
    obj["date_published"] = post.date.isoformat()
    obj["date_modified"] = post.updated.isoformat()
    if post.author:
        obj["authors"] = [{"name": post.author}]
    terms = list(dict.fromkeys((*post.categories, *post.tags)))
    if terms:
        obj["tags"] = terms
    if post.source_name or post.source_url:
        obj["_source"] = {"name": post.source_name, "url": post.source_url}
    return obj


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
    """A feed document: the feed-level head from feedgen with the entries' fragments spliced in, in order."""
    if fragments is None:
        fragments = [entry_fragment(e.post, e.content, fmt) for e in page.entries]
    if fmt == "json":
        head = json.dumps(_json_head(settings, page), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        body = head[:-1] + b',"items":[' + b",".join(fragments) + b"]}"
    elif fmt == "atom":
        head = bytes(_generator(settings, page, fmt).atom_str(pretty=False))
        cut = head.rindex(b"</feed>")
        body = head[:cut] + b"".join(fragments) + head[cut:]
    else:
        head = bytes(_generator(settings, page, fmt).rss_str(pretty=False))
        cut = head.rindex(b"</channel>")
        body = head[:cut] + b"".join(fragments) + head[cut:]
    return Document(path=f"{page.path}.{fmt}", body=body, media_type=FORMATS[fmt], updated=page.updated)


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
