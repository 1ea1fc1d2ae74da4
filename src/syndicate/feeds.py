"""Feed documents: a page of a feed's entries, rendered in any of the formats (formats.FORMATS).

A feed (the site's, a category's or a tag's) is a subscription document and RFC 5005 archive pages, each a ``Page``.
Each entry is written once per format (``entry_fragment``) and spliced into every page that lists it
(``render_page``); the formats' own modules (atom, rss, jsonfeed) write them. Dates are written as ``dates`` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from syndicate.config import Settings
from syndicate.content import clean_text
from syndicate.documents import Document
from syndicate.formats import FORMATS
from syndicate.groups import FeedInfo
from syndicate.posts import Post, in_full


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


def entry_fragment(post: Post, content: str | None, fmt: str) -> bytes:
    """One entry's serialised XML (or JSON object), rendered once and spliced into every page that lists it.

    A post appears in the site-wide feed, its categories' and its tags' feeds and their archive pages; building its
    entry once per format instead of once per page is most of a build's speed. Raises ValueError for a post that
    cannot be written (text with characters XML forbids, an Atom entry without id or title, a date without offset),
    and formats.UnknownFormat for a format that is not one.
    """
    return FORMATS[fmt].write_entry(in_full(post), content)


def render_page(settings: Settings, page: Page, fmt: str, fragments: Sequence[bytes] | None = None) -> Document:
    """A feed document: the feed-level head with the entries' fragments spliced in, in order (written here when
    ``fragments`` is None). Raises formats.UnknownFormat for a format that is not one."""
    spec = FORMATS[fmt]
    if fragments is None:
        write_entry = spec.write_entry
        fragments = [write_entry(in_full(e.post), e.content) for e in page.entries]
    body = spec.write_document(settings, page, fragments)
    return Document(path=f"{page.path}.{fmt}", body=body, media_type=spec.media_type, updated=page.updated)


def feed_title(settings: Settings, feed: FeedInfo) -> str:
    """The title readers show: the site title, plus the category or tag's display name."""
    if feed.kind == "all":
        return settings.title
    return clean_text(f"{settings.title} · {feed.display}")


def paginate(
    feed: FeedInfo, posts: Sequence[Post], limit: int, first: int = 1
) -> tuple[tuple[Post, ...], list[tuple[int, tuple[Post, ...]]]]:
    """Split a feed's posts (newest first) into the subscription page and RFC 5005 archive pages.

    Archive pages are counted from the oldest post in fixed chunks of ``limit``: page 1 holds the oldest posts, and
    a page, once full, never changes as new posts arrive. Only full chunks are archived; the newest (partial) chunk is
    always inside the subscription document, which holds the newest ``limit`` posts. Returns the subscription posts
    and ``[(number, posts newest first), …]``, from page ``first`` on (the caller has the pages before it).
    """
    current = tuple(posts[:limit])
    if len(posts) <= limit:
        return current, []
    # Page n (from 1) holds the n-th chunk of ``limit`` from the oldest end: a slice of the newest-first sequence
    # taken as it is, with no reversed copy of every post.
    whole = posts if isinstance(posts, tuple) else tuple(posts)
    end = len(whole)
    pages = [(n, whole[end - n * limit : end - (n - 1) * limit]) for n in range(first, end // limit + 1)]
    return current, pages
