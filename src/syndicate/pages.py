"""The HTML index page: every feed by category and tag, with post counts and feed autodiscovery.

Every name and title comes from post files or configuration, so every one is escaped (names are data).
Links are root-relative (``/feeds/…``) so the page works behind any host name the server is reached by.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from syndicate.config import Settings
from syndicate.formats import FEED_FORMATS, FORMATS
from syndicate.groups import SITE_WIDE, FeedInfo, built_kinds
from syndicate.opml import MEDIA_TYPE as OPML_MEDIA_TYPE


def feed_href(feed: FeedInfo, fmt: str) -> str:
    return "/feeds/" + quote(feed.path(fmt), safe="/")


def render_index(settings: Settings, feeds: Iterable[FeedInfo], *, posts: int, jekyll_feeds: Iterable[str] = ()) -> str:
    """The page; ``jekyll_feeds``: a Jekyll site's jekyll-feed documents (paths from the site's root), listed under
    a heading of their own."""
    feeds = tuple(feeds)
    title = escape(settings.title)
    # Each kind the site builds, its feeds under its heading, by display name (groups.FEED_KINDS: the site-wide feed
    # first; a kind left out of feed_kinds has no heading, where "None yet" would promise feeds that never come).
    by_kind = [
        (kind, sorted((f for f in feeds if f.kind == kind.name), key=lambda f: (f.display.casefold(), f.slug)))
        for kind in (SITE_WIDE, *built_kinds(settings))
    ]
    site_wide = by_kind[0][1]

    head = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(settings.language, quote=True)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title} — feeds</title>",
    ]
    # Feed autodiscovery (the RSS/Atom autodiscovery convention, JSON Feed §1): site-wide feeds only.
    for feed in site_wide:
        for spec in (FORMATS[name] for name in FEED_FORMATS):
            head.append(
                f'<link rel="alternate" type="{spec.link_type}" '
                f'title="{escape(feed.display, quote=True)} ({spec.name})" '
                f'href="{escape(feed_href(feed, spec.name), quote=True)}">'
            )
    opml_type = OPML_MEDIA_TYPE.partition(";")[0]
    head.append(f'<link rel="outline" type="{opml_type}" title="OPML" href="/feeds/index.opml">')
    head.append("</head>")

    body = ["<body>", f"<h1>{title}</h1>", f"<p>{posts} posts in {len(feeds)} feeds.</p>"]
    for kind, group in by_kind:
        body.append(f"<h2>{kind.heading}</h2>")
        if not group:
            body.append("<p>None yet.</p>")
            continue
        body.append("<ul>")
        for feed in group:
            links = " · ".join(
                f'<a href="{escape(feed_href(feed, spec.name), quote=True)}">{spec.label}</a>'
                for spec in (FORMATS[name] for name in FEED_FORMATS)
            )
            name = escape(feed.display)
            if feed.display != feed.name and kind.terms is not None:
                name += f" <small>({escape(feed.name)})</small>"
            noun = "post" if feed.count == 1 else "posts"
            body.append(f'<li><span class="feed">{name}</span> — {feed.count} {noun}: {links}</li>')
        body.append("</ul>")
    jekyll_paths = sorted(jekyll_feeds)
    if jekyll_paths:
        body.append("<h2>jekyll-feed</h2>")
        body.append("<p>The feeds this site published with jekyll-feed, at the same addresses.</p>")
        body.append("<ul>")
        for path in jekyll_paths:
            href = escape("/" + quote(path, safe="/"), quote=True)
            body.append(f'<li><a href="{href}">{escape(path)}</a></li>')
        body.append("</ul>")
    body.append('<p><a href="/feeds/index.opml">OPML subscription list</a></p>')
    body.append("</body>")
    return "\n".join([*head, *body, "</html>"]) + "\n"
