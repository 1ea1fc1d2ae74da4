"""OPML 2.0 subscription list of every feed (http://opml.org/spec2.opml), grouped by kind (groups.FEED_KINDS).

One outline per feed pointing at its Atom document (a reader importing the list subscribes once per feed, not once
per format). ``text`` is the feed's display name, which readers show (OPML 2.0: "text is the string of characters
that's displayed"); ``title`` the feed document's own title, as the spec describes it ("the top-level title element
from the feed"). A kind without feeds (a site that republishes nothing has no sources) has no outline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from syndicate.config import Settings
from syndicate.documents import Document, feed_url
from syndicate.groups import SITE_WIDE, TERM_KINDS, FeedInfo

if TYPE_CHECKING:
    from lxml import etree

MEDIA_TYPE = "text/x-opml; charset=utf-8"


def render_opml(
    settings: Settings, feeds: Sequence[FeedInfo], jekyll_feeds: Sequence[tuple[str, str]] = ()
) -> Document:
    """The list; ``jekyll_feeds``: a Jekyll site's jekyll-feed documents as (path, title), in an outline of their
    own (readers subscribed to them keep their subscriptions; the list says where they are)."""
    # Imported by the build that writes the list: a server serving the last build's documents names only MEDIA_TYPE.
    from lxml import etree

    from syndicate.feeds import feed_title
    from syndicate.jekyllfeed import SUFFIX, document_url

    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{settings.title} feeds"
    body = etree.SubElement(root, "body")

    def outline(parent: etree._Element, feed: FeedInfo) -> None:
        etree.SubElement(
            parent,
            "outline",
            type="rss",
            text=feed.display,
            title=feed_title(settings, feed),
            xmlUrl=feed_url(settings, feed.base, "atom"),
            htmlUrl=settings.site_url + "/",
        )

    for feed in feeds:
        if feed.kind == SITE_WIDE.name:
            outline(body, feed)
    for kind in TERM_KINDS:  # an outline per kind of term feed
        listed = [feed for feed in feeds if feed.kind == kind.name]
        if listed:
            group = etree.SubElement(body, "outline", text=kind.heading)
            for feed in listed:
                outline(group, feed)
    if jekyll_feeds:
        group = etree.SubElement(body, "outline", text="jekyll-feed")
        for path, title in jekyll_feeds:
            etree.SubElement(
                group,
                "outline",
                type="rss",
                text=path,
                title=title,
                xmlUrl=document_url(settings, path.removesuffix(f".{SUFFIX}")),
                htmlUrl=settings.site_url + "/",
            )
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return Document(path="index.opml", body=data, media_type=MEDIA_TYPE, updated=None)
