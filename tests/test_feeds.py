from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import feedparser
from lxml import etree

from feedcheck import assert_valid
from syndicate.config import load_settings
from syndicate.documents import FeedInfo
from syndicate.feeds import Entry, Page, entry_fragment, paginate, render_page
from syndicate.posts import Post

A = "{http://www.w3.org/2005/Atom}"
SETTINGS = load_settings(None, {"url": "https://site.example", "title": "Site", "author": "Desk"}, environ={})
FEED = FeedInfo("tag", "C++", "c++", 2, "C++")


def make_post(n: int, *, source: bool = True) -> Post:
    when = datetime(2024, 1, n, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    return Post(
        path=f"p{n}.md",
        digest=f"d{n}",
        title=f"Title <{n}> & more",
        slug=f"p{n}",
        date=when,
        updated=when + timedelta(hours=1),
        categories=("News",),
        tags=("C++", "右江"),
        author="Reporter",
        permalink=f"/news/p{n}.html",
        url=f"https://site.example/news/p{n}.html",
        summary=f"Summary {n}",
        source_name="Daily" if source else None,
        source_url=f"https://daily.example/{n}" if source else None,
        published=True,
    )


def page(*posts: Post, content: str | None = "<p>Hi &amp; bye</p>") -> Page:
    return Page(
        feed=FEED,
        title="Site · C++",
        entries=tuple(Entry(p, content) for p in posts),
        path="tags/c++",
        current="tags/c++",
    )


def test_documents_are_valid_and_parse_cleanly_in_every_format() -> None:
    pg = page(make_post(2), make_post(1, source=False))
    for fmt in ("atom", "rss", "json"):
        doc = render_page(SETTINGS, pg, fmt)
        assert_valid(doc.body, fmt)
        assert doc.updated == make_post(2).updated
        if fmt != "json":
            parsed = feedparser.parse(doc.body)
            assert parsed.bozo == 0
            assert [e.title for e in parsed.entries] == ["Title <2> & more", "Title <1> & more"]
            assert parsed.entries[0].link == "https://site.example/news/p2.html"


def test_atom_entry_links_keep_their_relations_feedgen_issue_135() -> None:
    root = etree.fromstring(render_page(SETTINGS, page(make_post(1)), "atom").body)
    entry = root.find(f"{A}entry")
    assert entry is not None
    links = [(link.get("rel", "alternate"), link.get("href")) for link in entry.findall(f"{A}link")]
    assert links == [("alternate", "https://site.example/news/p1.html"), ("via", "https://daily.example/1")]
    content = entry.find(f"{A}content")
    assert content is not None and content.get("type") == "html" and content.text == "<p>Hi &amp; bye</p>"
    assert entry.findtext(f"{A}summary") == "Summary 1"  # summary and content side by side
    assert b"ns0:" not in etree.tostring(root)


def test_self_link_and_feed_identity_are_uris() -> None:
    root = etree.fromstring(render_page(SETTINGS, page(make_post(1)), "atom").body)
    self_links = [link.get("href") for link in root.findall(f"{A}link") if link.get("rel") == "self"]
    assert self_links == ["https://site.example/feeds/tags/c%2B%2B.atom"]
    assert root.findtext(f"{A}id") == "https://site.example/feeds/tags/c%2B%2B.atom"


def test_rss_dates_and_source() -> None:
    root = etree.fromstring(render_page(SETTINGS, page(make_post(1)), "rss").body)
    item = root.find("channel/item")
    assert item is not None
    assert item.findtext("pubDate") == "Mon, 01 Jan 2024 08:00:00 +0800"
    source = item.find("source")
    assert source is not None and source.get("url") == "https://daily.example/1" and source.text == "Daily"
    assert root.findtext("channel/lastBuildDate") == "Mon, 01 Jan 2024 09:00:00 +0800"
    assert root.findtext("channel/ttl") == "60"


def test_json_feed_items_and_source_extension() -> None:
    feed = json.loads(render_page(SETTINGS, page(make_post(1)), "json").body)
    item = feed["items"][0]
    assert item["external_url"] == "https://daily.example/1" and item["_source"] == {
        "name": "Daily",
        "url": "https://daily.example/1",
    }
    assert item["content_html"] == "<p>Hi &amp; bye</p>" and item["tags"] == ["News", "C++", "右江"]


def test_spliced_fragments_equal_a_document_rendered_whole() -> None:
    pg = page(make_post(3), make_post(2))
    for fmt in ("atom", "rss", "json"):
        parts = [entry_fragment(e.post, e.content, fmt) for e in pg.entries]
        assert render_page(SETTINGS, pg, fmt, parts).body == render_page(SETTINGS, pg, fmt).body


def test_empty_feed_has_a_fixed_updated_time() -> None:
    doc = render_page(SETTINGS, page(), "atom")
    assert_valid(doc.body, "atom")
    assert b"<updated>1970-01-01T00:00:00+00:00</updated>" in doc.body
    assert doc.updated is None


def test_paginate_keeps_full_pages_stable() -> None:
    posts = [make_post(n) for n in range(9, 0, -1)]  # newest first
    current, archives = paginate(FEED, posts, 4)
    assert [p.path for p in current] == ["p9.md", "p8.md", "p7.md", "p6.md"]
    assert [(n, [p.path for p in chunk]) for n, chunk in archives] == [
        (1, ["p4.md", "p3.md", "p2.md", "p1.md"]),
        (2, ["p8.md", "p7.md", "p6.md", "p5.md"]),
    ]
    assert paginate(FEED, posts[:4], 4)[1] == []
