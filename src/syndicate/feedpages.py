"""A feed's page for people: ``<feed's path>.html`` beside its feed documents (``all.html``, ``tags/ai.html``).

A browser opening a feed's address is served this page instead of the feed (app.py negotiates on Accept; the static
export has it as a file): the feed's title and description, one line on what a feed is, the addresses to copy into a
reader, and the entries of the subscription document with their dates, links and summaries.

Pages are made by the build, as OPML is, one per feed; a page's key is the subscription document's key (which covers
the settings, the page's title and every entry's file) with what only the page shows (the post count), so a rebuild
makes only the pages of the feeds whose posts changed. Every name and title is escaped: they come from post files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from html import escape

from syndicate._html import MEDIA_TYPE, SUFFIX, attr, autodiscovery, entry_lines, href_of, html_page, subscription_urls
from syndicate.config import Settings
from syndicate.documents import Document
from syndicate.feeds import feed_title
from syndicate.formats import FEED_FORMATS, FORMATS
from syndicate.groups import SITE_WIDE, FeedInfo, Groups
from syndicate.labels import labels_for
from syndicate.plan import Plan
from syndicate.posts import Post


def page_path(feed: FeedInfo) -> str:
    return f"{feed.base}.{SUFFIX}"


def render_feed_page(settings: Settings, feed: FeedInfo, posts: Sequence[Post]) -> bytes:
    """The page of ``feed``, listing ``posts`` (its subscription document's, newest first)."""
    labels = labels_for(settings.language)
    title = feed_title(settings, feed)
    if feed.kind == SITE_WIDE.name:
        lead = settings.description
    else:
        lead = labels.feed_of.get(feed.kind, "{name}").format(name=feed.display)
    body = [f"<h1>{escape(title)}</h1>"]
    if lead:
        body.append(f'<p class="lead">{escape(lead)}</p>')
    body.extend(subscription_urls(settings, feed, labels))
    shown = f" — {labels.shown.format(n=len(posts))}" if len(posts) < feed.count else ""
    body.append(
        f'<h2>{escape(labels.latest)} <span class="count">({escape(labels.count(feed.count))}{shown})</span></h2>'
    )
    if posts:
        body.append('<ol class="entries">')
        for post in posts:
            body.extend(entry_lines(post, labels))
        body.append("</ol>")
    else:
        body.append(f"<p>{escape(labels.no_posts)}</p>")
    formats = " · ".join(
        f'<a href="{attr(href_of(feed.path(spec.name)))}">{escape(spec.label)}</a>'
        for spec in (FORMATS[name] for name in FEED_FORMATS)
    )
    body.append(
        f'<footer><p>{escape(labels.formats)}: {formats}</p><p><a href="/">{escape(labels.all_feeds)}</a> · '
        f'<a href="/feeds/index.opml">OPML</a></p></footer>'
    )
    return html_page(settings, title, autodiscovery(feed, title), body)


def page_key(feed_key: str, feed: FeedInfo) -> str:
    """The page's key: its subscription document's key (settings, title, every entry's file) and its post count."""
    material = f"{feed_key}\0{feed.count}\0{feed.display}\0{SUFFIX}".encode()
    return hashlib.blake2b(material, digest_size=16).hexdigest()


def render_feed_pages(
    settings: Settings,
    groups: Groups,
    plan: Plan,
    previous: Mapping[str, Document],
    previous_keys: Mapping[str, str],
) -> tuple[dict[str, Document], dict[str, str]]:
    """Every feed's page, and their keys; a page whose key is unchanged is the previous build's document."""
    first = FEED_FORMATS[0]
    subscription = {p.page.path: p for p in plan.subscriptions if p.fmt == first}
    documents: dict[str, Document] = {}
    keys: dict[str, str] = {}
    for group in groups.members:
        feed = group.feed
        planned = subscription.get(feed.base)
        if planned is None:
            continue
        path = page_path(feed)
        key = keys[path] = page_key(planned.key, feed)
        old = previous.get(path)
        if old is not None and previous_keys.get(path) == key:
            documents[path] = old
            continue
        body = render_feed_page(settings, feed, tuple(entry.post for entry in planned.page.entries))
        documents[path] = Document(path=path, body=body, media_type=MEDIA_TYPE, updated=planned.page.updated)
    return documents, keys


def html_paths(feeds: Iterable[FeedInfo], others: Iterable[tuple[str, FeedInfo]] = ()) -> dict[str, str]:
    """Each feed document's path (every format) -> the path of the feed's page: what a browser is served instead.
    ``others``: more documents with the feed they list (a Jekyll site's jekyll-feed documents, ``feed.xml``…)."""
    paths = {feed.path(fmt): page_path(feed) for feed in feeds for fmt in FEED_FORMATS}
    paths.update((path, page_path(feed)) for path, feed in others)
    return paths
