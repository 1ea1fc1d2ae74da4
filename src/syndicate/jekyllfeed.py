"""jekyll-feed's documents, for a Jekyll site: the same URLs, feed ids and entry ids, so its subscribers notice nothing.

jekyll-feed (0.17, ``generator.rb`` and ``feed.xml``) writes Atom documents at ``/feed.xml`` (``feed.path``), one per
category listed in ``feed.categories`` at ``/feed/<category>.xml``, with ``feed.tags`` one per tag at
``/feed/by_tag/<tag>.xml`` (``feed.tags.path``, ``only``, ``except``; tags of letters, digits and '_' only), and for
each other collection listed in ``feed.collections`` one at ``/feed/<label>.xml`` (its ``path``) and one per
category listed for it at ``/feed/<label>/<category>.xml``. Each holds the newest ``feed.posts_limit`` posts (10).
With ``feed.disable_in_development`` and ``JEKYLL_ENV=development`` it writes none, and neither does syndicate. A site
that has a file of its own at one of those paths keeps it: jekyll-feed does not write that document, and neither
does syndicate.

Entries are Atom entries as every other document of ours writes them (atom.write_entry); for a Jekyll site's post
they carry Jekyll's ``post.id`` as their id (posts.Post.id). The head is written here: it is jekyll-feed's, with its
feed id (the document's URL), self and alternate links, title ("Site | Category") and author.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syndicate import __version__, atom
from syndicate._feedgen import EMPTY_FEED_UPDATED, GENERATOR, GENERATOR_URI
from syndicate._xml import escape_attribute, escape_text
from syndicate.config import Settings
from syndicate.dates import as_written, format_rfc3339
from syndicate.groups import FeedInfo, Groups
from syndicate.permalinks import percent_encode
from syndicate.posts import Post
from syndicate.site import JekyllSite

if TYPE_CHECKING:
    from syndicate.feeds import Page

MEDIA_TYPE = "application/atom+xml; charset=utf-8"
SUFFIX = "xml"  # the format's name in formats.FORMATS: its documents' paths end in .xml, as jekyll-feed's do
DEFAULT_LIMIT = 10
_TAG_NAME = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class JekyllFeed:
    """One document jekyll-feed would write: its path without ``.xml``, title, feed and posts (newest first)."""

    path: str
    title: str
    feed: FeedInfo
    posts: tuple[Post, ...]


def _capitalize(text: str) -> str:
    """Ruby's String#capitalize (Liquid's ``capitalize``): the first character upper case, the rest lower."""
    return text[:1].upper() + text[1:].lower()


def _path(value: object, default: str) -> str:
    """A configured path as a document path: no leading '/', no ``.xml`` (added back as the format's suffix)."""
    path = value if isinstance(value, str) and value.strip("/") else default
    path = path.lstrip("/")
    return path[: -len(".xml")] if path.endswith(".xml") else path


def _limit(site: JekyllSite) -> int:
    value = site.feed.get("posts_limit")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_LIMIT


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def jekyll_feeds(site: JekyllSite, groups: Groups, collected: Sequence[Post] = ()) -> list[JekyllFeed]:
    """The documents jekyll-feed writes for ``site``, from the posts of ``groups`` (drafts are only visible when the
    site shows them, as jekyll-feed lists them) and the documents of other collections in ``collected``; none with
    ``feed.disable_in_development`` in the development environment."""
    config = site.feed
    limit = _limit(site)
    title = site.title
    documents: list[JekyllFeed] = []
    everything = groups.members[0] if groups.members else None
    if everything is None or site.feeds_disabled:
        return documents
    collections = site.feed_collections
    posts_feed = collections["posts"]
    documents.append(
        JekyllFeed(_path(posts_feed.path, "feed.xml"), title, everything.feed, tuple(everything.posts[:limit]))
    )
    for category in posts_feed.categories:
        posts = tuple(p for p in everything.posts if category in p.categories)[:limit]
        feed = _term_feed(groups, "category", category) or everything.feed
        documents.append(JekyllFeed(f"feed/{category}", f"{title} | {_capitalize(category)}", feed, posts))
    tags_config = config.get("tags")
    if tags_config:
        settings_of_tags: Mapping[str, object] = tags_config if isinstance(tags_config, Mapping) else {}
        all_tags = dict.fromkeys(t for p in everything.posts for t in p.tags)
        only = _names(settings_of_tags.get("only")) if "only" in settings_of_tags else list(all_tags)
        excluded = set(_names(settings_of_tags.get("except")))
        tags_path = settings_of_tags.get("path")
        prefix = (tags_path if isinstance(tags_path, str) and tags_path else "/feed/by_tag/").lstrip("/")
        for tag in only:
            if tag in excluded or not _TAG_NAME.fullmatch(tag) or tag not in all_tags:
                continue
            posts = tuple(p for p in everything.posts if tag in p.tags)[:limit]
            feed = _term_feed(groups, "tag", tag) or everything.feed
            documents.append(JekyllFeed(f"{prefix}{tag}", title, feed, posts))
    for label, collection in collections.items():
        if label == "posts":
            continue
        # Generator#feed_path and feed.xml's title: "/feed/<label>.xml" (or the collection's ``path``), and
        # "/feed/<label>/<category>.xml" for each of its categories, titled "Site | Label [| Category]".
        members = tuple(d for d in collected if d.collection == label)
        named = f"{title} | {_capitalize(label)}"
        documents.append(
            JekyllFeed(_path(collection.path, f"feed/{label}.xml"), named, everything.feed, members[:limit])
        )
        for category in collection.categories:
            posts = tuple(d for d in members if category in d.categories)[:limit]
            documents.append(
                JekyllFeed(f"feed/{label}/{category}", f"{named} | {_capitalize(category)}", everything.feed, posts)
            )
    return [d for d in documents if not (site.root / f"{d.path}.{SUFFIX}").exists()]


def _term_feed(groups: Groups, kind: str, name: str) -> FeedInfo | None:
    return groups.resolve(kind, name)


def write_entry(post: Post, content: str | None) -> bytes:
    """An Atom entry as atom.write_entry writes it, with the whole excerpt as its summary, as jekyll-feed shows it."""
    return atom.write_entry(post, content, whole_summary=True)


def document_url(settings: Settings, path: str) -> str:
    """The absolute URL of a jekyll-feed document (``feed`` → ``https://site/feed.xml``): at the site's root."""
    return settings.site_url + percent_encode(f"/{path}.{SUFFIX}")


def write_document(settings: Settings, page: Page, entries: Sequence[bytes]) -> bytes:
    """jekyll-feed's head for the page, its entries' bytes (atom.write_entry's) put in, in order."""
    site = settings.jekyll
    url = escape_attribute(document_url(settings, page.path))
    lang = site.text("lang") if site is not None else ""
    lang_attribute = b' xml:lang="%s"' % escape_attribute(lang) if lang else b""
    hreflang = b' hreflang="%s"' % escape_attribute(lang) if lang else b""
    updated = as_written(page.updated or EMPTY_FEED_UPDATED)
    parts = [
        b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"%s>' % lang_attribute,
        b'<generator uri="%s" version="%s">%s</generator>'
        % (escape_attribute(GENERATOR_URI), __version__.encode("ascii"), GENERATOR.encode("ascii")),
        b'<link href="%s" rel="self" type="application/atom+xml"/>' % url,
        b'<link href="%s" rel="alternate" type="text/html"%s/>' % (escape_attribute(settings.site_url + "/"), hreflang),
    ]
    if settings.hub:
        parts.append(b'<link href="%s" rel="hub"/>' % escape_attribute(settings.hub))
    parts.append(b"<updated>%s</updated><id>%s</id>" % (format_rfc3339(updated).encode("ascii"), url))
    if page.title:
        parts.append(b"<title>%s</title>" % escape_text(page.title))
    if settings.description:
        parts.append(b"<subtitle>%s</subtitle>" % escape_text(settings.description))
    if settings.author:
        parts.append(b"<author><name>%s</name></author>" % escape_text(settings.author))
    parts.extend(entries)
    parts.append(b"</feed>")
    return b"".join(parts)
