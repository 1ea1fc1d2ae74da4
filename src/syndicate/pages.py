"""The index page (``/``, ``/feeds/``, and the file ``index.html`` of the output): the site's front door for people.

It shows the site's title and description, the site-wide feed's addresses to copy, the latest headlines, and every
feed by kind (groups.FEED_KINDS, so a new kind is listed without a change here) with its display name, post count,
page, formats and addresses, in the site's language (labels.py). Every name and title comes from post files or
configuration, so every one is escaped. Links are root-relative (``/feeds/…``) so the page works behind any host name
the server is reached by; the addresses to copy are the absolute ones the feeds name as their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote

from syndicate._html import MEDIA_TYPE, SUFFIX, attr, autodiscovery, entry_lines, href_of, html_page, subscription_urls
from syndicate.config import Settings
from syndicate.documents import Document, feed_url
from syndicate.groups import SITE_WIDE, FeedInfo, built_kinds
from syndicate.labels import Labels, labels_for
from syndicate.opml import MEDIA_TYPE as OPML_MEDIA_TYPE

if TYPE_CHECKING:
    from syndicate.records import Post

INDEX = "index.html"  # the page's path among the documents
HEADLINES = 10  # the newest posts the index lists


def feed_href(feed: FeedInfo, fmt: str) -> str:
    return href_of(feed.path(fmt))


def _feed_item(settings: Settings, feed: FeedInfo, labels: Labels, named: bool) -> list[str]:
    from syndicate.formats import FEED_FORMATS, FORMATS  # the writers' modules: a build's, not a resumed start's

    name = escape(feed.display)
    if named and feed.display != feed.name:
        name += f" <small>({escape(feed.name)})</small>"
    links = "".join(
        f'<a href="{attr(feed_href(feed, spec.name))}">{escape(spec.label)}</a>'
        for spec in (FORMATS[n] for n in FEED_FORMATS)
    )
    urls = "".join(f'<code class="url">{escape(feed_url(settings, feed.base, fmt))}</code>' for fmt in FEED_FORMATS)
    return [
        "<li>",
        f'<a class="name" href="{attr(feed_href(feed, SUFFIX))}">{name}</a>',
        f'<span class="count">{escape(labels.count(feed.count))}</span>',
        f'<span class="formats">{links}</span>',
        f"<details><summary>{escape(labels.subscribe)}</summary>{urls}</details>",
        "</li>",
    ]


def render_index(
    settings: Settings,
    feeds: Iterable[FeedInfo],
    *,
    posts: Sequence[Post] = (),
    count: int | None = None,
    jekyll_feeds: Iterable[str] = (),
) -> bytes:
    """The page. ``posts``: the newest posts, newest first (the first HEADLINES are listed); ``count``: how many
    posts the site has (default: ``len(posts)``); ``jekyll_feeds``: a Jekyll site's jekyll-feed documents (paths
    from the site's root), listed under a heading of their own."""
    labels = labels_for(settings.language)
    feeds = tuple(feeds)
    total = len(posts) if count is None else count
    title = f"{settings.title} — {labels.feeds}"
    # Each kind the site builds, its feeds under its heading, by display name (groups.FEED_KINDS: the site-wide feed
    # first; a kind left out of feed_kinds has no heading, where "None yet" would promise feeds that never come).
    by_kind = [
        (kind, sorted((f for f in feeds if f.kind == kind.name), key=lambda f: (f.display.casefold(), f.slug)))
        for kind in (SITE_WIDE, *built_kinds(settings))
    ]
    site_wide = by_kind[0][1]

    head: list[str] = []
    for feed in site_wide:
        head.extend(autodiscovery(feed, settings.title))
    opml_type = OPML_MEDIA_TYPE.partition(";")[0]
    head.append(f'<link rel="outline" type="{opml_type}" title="OPML" href="/feeds/index.opml">')

    body = [f"<h1>{escape(settings.title)}</h1>"]
    if settings.description:
        body.append(f'<p class="lead">{escape(settings.description)}</p>')
    body.append(f'<p class="lead">{escape(labels.count(total))} · {len(feeds)} {escape(labels.feeds)}</p>')
    for feed in site_wide:
        body.extend(subscription_urls(settings, feed, labels))
    body.append(f"<h2>{escape(labels.latest)}</h2>")
    if posts:
        body.append('<ol class="entries">')
        for post in posts[:HEADLINES]:
            body.extend(entry_lines(post, labels, summary=False))
        body.append("</ol>")
    else:
        body.append(f"<p>{escape(labels.no_posts)}</p>")
    for kind, group in by_kind:
        body.append(f"<h2>{escape(labels.headings.get(kind.name, kind.heading))}</h2>")
        if not group:
            body.append(f"<p>{escape(labels.none_yet)}</p>")
            continue
        body.append('<ul class="feeds">')
        for feed in group:
            body.extend(_feed_item(settings, feed, labels, kind.terms is not None))
        body.append("</ul>")
    jekyll_paths = sorted(jekyll_feeds)
    if jekyll_paths:
        body.append(f"<h2>{escape(labels.jekyll)}</h2>")
        body.append('<ul class="feeds">')
        for path in jekyll_paths:
            href = attr("/" + quote(path, safe="/"))
            body.append(f'<li><a href="{href}">{escape(path)}</a></li>')
        body.append("</ul>")
    body.append(f'<footer><p><a href="/feeds/index.opml">{escape(labels.opml)}</a></p></footer>')
    return html_page(settings, title, head, body)


def index_document(
    settings: Settings, feeds: Iterable[FeedInfo], posts: Sequence[Post], jekyll_feeds: Iterable[str] = ()
) -> Document:
    """The index page as the build's document ``index.html`` (written with the feeds: a static export has it)."""
    body = render_index(settings, feeds, posts=posts, jekyll_feeds=jekyll_feeds)
    return Document(path=INDEX, body=body, media_type=MEDIA_TYPE, updated=None)
