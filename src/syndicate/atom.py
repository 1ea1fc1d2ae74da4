"""Atom 1.0 (RFC 4287) documents: the head from feedgen (``_feedgen``), each entry written once and spliced in.

The entry is byte for byte what feedgen 1.0.0's ``FeedEntry`` and lxml wrote, with one of its traps worked around on
purpose and a test (tests/test_feeds.py) that fails if it comes back: feedgen 1.0.0 writes entry ``<link>`` elements
without ``rel``/``type``/``title`` (upstream issue #135: the loop variable is shadowed in ``FeedEntry.atom_entry``),
so a ``rel="via"`` link would become a second alternate. The alternate link is written as feedgen wrote it (a bare
``href``), and the via link and ``<source>`` after feedgen's elements, where our entry extension used to add them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from syndicate._feedgen import splice, write_head
from syndicate._xml import (
    check_entry,
    escape_attribute,
    escape_name,
    escape_name_attribute,
    escape_text,
    media_image,
)
from syndicate.config import Settings
from syndicate.dates import format_rfc3339
from syndicate.posts import Post, feed_summary, summary_of
from syndicate.terms import slugify

if TYPE_CHECKING:
    from syndicate.feeds import Page

MEDIA_TYPE = "application/atom+xml; charset=utf-8"

# An http(s) URL whose host part has nothing urlsplit would remove, lower-case or check (tab, newline, non-ASCII,
# brackets, upper-case scheme): its origin is its start. urlsplit is slow for an unseen URL (docs/benchmarks.md), and
# every republished post has one.
_PLAIN_ORIGIN = re.compile(r"https?://[!-~]*?(?=[/?#]|\Z)")


def _origin(url: str) -> str:
    plain = _PLAIN_ORIGIN.match(url)
    if plain and "[" not in plain.group() and "]" not in plain.group():
        return plain.group() + "/"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


@lru_cache(maxsize=1024)
def _source_id(site: str, name: str) -> bytes:
    """An id for a publication known by its name alone: a name-based UUID (RFC 9562 §5.5) of the site and the
    name's slug, so every post of one publication on one site gives the same id, and no other publication or site
    does. A URN is an IRI, which RFC 4287 §4.2.6 asks of an id; we know no address of the publication's own."""
    return b"urn:uuid:%s" % str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/#source={slugify(name)}")).encode("ascii")


def _source(post: Post) -> bytes:
    """RFC 4287 §4.2.11 atom:source: what we know of the feed the entry was copied from, with the id, title and
    updated the W3C validator asks of it (MissingSourceElement). The id is the origin of the original article's URL
    (the publication's site), else ``_source_id``; the title its name, else that site's host; updated the post's
    date: the publication's metadata is given as it was when the post was republished, and we know no later time."""
    origin = _origin(post.source_url) if post.source_url else None
    parts = [
        b"<source><id>%s</id>" % (escape_name(origin) if origin else _source_id(post.site, post.source_name or ""))
    ]
    title = post.source_name or urlsplit(origin or "").hostname or ""
    parts.append(b"<title>%s</title>" % escape_name(title))
    parts.append(b"<updated>%s</updated>" % format_rfc3339(post.date).encode("ascii"))
    if origin:
        parts.append(b'<link rel="alternate" href="%s" type="text/html"/>' % escape_name_attribute(origin))
    parts.append(b"</source>")
    return b"".join(parts)


@lru_cache(maxsize=1024)
def _categories(categories: tuple[str, ...], tags: tuple[str, ...]) -> bytes:
    return b"".join(map(_category, dict.fromkeys((*categories, *tags))))


# Most posts have a combination of terms of their own, each term shared by many: each term's element is made once.
@lru_cache(maxsize=4096)
def _category(name: str) -> bytes:
    return b'<category term="%s"/>' % escape_attribute(name)


def write_entry(post: Post, content: str | None, *, whole_summary: bool = False) -> bytes:
    """The post's ``<entry>``; ``content`` None: a summary-only entry. ValueError for a post that cannot be written.
    ``whole_summary``: the summary as the post has it (jekyll-feed's documents), not cut to ``feed_summary``'s."""
    if not (post.url and post.title):
        raise ValueError("an Atom entry needs an id and a title")
    if post.date.tzinfo is None or post.updated.tzinfo is None:
        raise ValueError("entry dates need a time zone")
    parts = [
        b"<entry%s><id>%s</id><title>%s</title><updated>%s</updated>"
        % (
            b' xml:lang="%s"' % escape_attribute(post.lang) if post.lang else b"",
            escape_text(post.id),
            escape_text(post.title),
            format_rfc3339(post.updated).encode("ascii"),
        )
    ]
    if post.author:
        contact = b"<email>%s</email>" % escape_text(post.author_email) if post.author_email else b""
        if post.author_uri:
            contact += b"<uri>%s</uri>" % escape_text(post.author_uri)
        parts.append(b"<author><name>%s</name>%s</author>" % (escape_name(post.author), contact))
    if content:
        parts += (b'<content type="html">', escape_text(content), b"</content>")
    elif content is not None:
        parts.append(b'<content type="html"/>')
    # The alternate link only, a bare href as feedgen writes it (its issue #135 drops every other attribute).
    parts.append(b'<link href="%s"/>' % escape_attribute(post.url))
    summary = (summary_of(post) if whole_summary else feed_summary(post)) or (post.title if content is None else "")
    if summary:
        parts += (b"<summary>", escape_text(summary), b"</summary>")
    parts.append(_categories(post.categories, post.tags))
    if post.image:
        parts.append(media_image(post.image))
    parts.append(b"<published>%s</published>" % format_rfc3339(post.date).encode("ascii"))
    if post.source_url:
        title = b' title="%s"' % escape_name_attribute(post.source_name) if post.source_name else b""
        parts.append(b'<link rel="via" href="%s" type="text/html"%s/>' % (escape_attribute(post.source_url), title))
    if post.source_name or post.source_url:
        parts.append(_source(post))
    parts.append(b"</entry>")
    return check_entry(b"".join(parts))


def write_document(settings: Settings, page: Page, entries: Sequence[bytes]) -> bytes:
    """The page's Atom feed document, its entries' bytes (``write_entry``'s) spliced in, in order."""
    return splice(write_head(settings, page, "atom", MEDIA_TYPE), b"</feed>", entries)
