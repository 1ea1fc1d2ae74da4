"""RSS 2.0 documents: the channel from feedgen (``_feedgen``), each item written once, directly, and spliced in.

The item is byte for byte what feedgen 1.0.0's ``FeedEntry`` and lxml wrote, but for its dates: RSS dates are written
as ``email.utils.format_datetime`` writes them (``dates.format_rfc822``: RFC 822 dates, locale-independent), the
channel's ``lastBuildDate`` too, where feedgen's ``formatRFC2822`` switches the process-wide locale and writes a year
before 1000 with fewer than four digits.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from syndicate._feedgen import splice, write_head
from syndicate._xml import check_entry, escape_attribute, escape_name, escape_text, media_image
from syndicate.config import Settings
from syndicate.dates import format_rfc822
from syndicate.posts import Post, feed_summary

if TYPE_CHECKING:
    from syndicate.feeds import Page

MEDIA_TYPE = "application/rss+xml; charset=utf-8"


@lru_cache(maxsize=1024)
def _categories(categories: tuple[str, ...], tags: tuple[str, ...]) -> bytes:
    return b"".join(map(_category, dict.fromkeys((*categories, *tags))))


# Most posts have a combination of terms of their own, each term shared by many: each term's element is made once.
@lru_cache(maxsize=4096)
def _category(name: str) -> bytes:
    return b"<category>%s</category>" % escape_text(name)


def write_entry(post: Post, content: str | None) -> bytes:
    """An RSS item using the content: and dc: prefixes, which the channel's root element declares; ``content`` None:
    a summary-only item. ValueError for a post that cannot be written."""
    if post.updated.tzinfo is None:
        raise ValueError("entry dates need a time zone")
    # The description is the summary, else the title for summary-only entries, else the content.
    encoded: str | None = None
    summary = feed_summary(post)
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
        parts.append(b"<title>%s</title>" % escape_text(post.title))
    url = escape_text(post.url)
    if url:
        parts.append(b"<link>%s</link>" % url)
    parts += (b"<description>", escape_text(description), b"</description>")
    if encoded is not None:
        parts += (b"<content:encoded>", escape_text(encoded), b"</content:encoded>")
    if post.entry_id:  # a Jekyll site's post: its id (jekyll-feed's), which is not the link
        parts.append(b'<guid isPermaLink="false">%s</guid>' % escape_text(post.id))
    elif url:
        parts.append(b'<guid isPermaLink="true">%s</guid>' % url)
    parts.append(_categories(post.categories, post.tags))
    if post.image:
        parts.append(media_image(post.image))
    # Written by us, not feedgen, whose formatRFC2822 switches the process-wide locale.
    parts.append(b"<pubDate>%s</pubDate>" % format_rfc822(post.date))
    if post.author:
        parts.append(b"<dc:creator>%s</dc:creator>" % escape_name(post.author))
    if post.source_url:
        # RSS 2.0 <source url="…">: the channel the item came from; the url attribute is required.
        name = escape_text(post.source_name or post.source_url)
        parts.append(b'<source url="%s">%s</source>' % (escape_attribute(post.source_url), name))
    elif post.source_name:
        # No address for <source url="…">, which RSS 2.0 requires: Dublin Core's source ("a related resource from
        # which the described resource is derived", DCMI Metadata Terms), free text in the dc: namespace the
        # channel declares, carries the name (feedparser: entry.dc_source).
        parts.append(b"<dc:source>%s</dc:source>" % escape_name(post.source_name))
    parts.append(b"</item>")
    return check_entry(b"".join(parts))


def write_document(settings: Settings, page: Page, entries: Sequence[bytes]) -> bytes:
    """The page's RSS document, its items' bytes (``write_entry``'s) spliced into the channel, in order."""
    return splice(write_head(settings, page, "rss", MEDIA_TYPE), b"</channel>", entries)
