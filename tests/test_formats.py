from __future__ import annotations

import importlib
from datetime import datetime, timedelta, timezone

import pytest

from syndicate.config import load_settings
from syndicate.feeds import Entry, Page, entry_fragment, render_page
from syndicate.formats import FEED_FORMATS, FORMATS, UnknownFormat
from syndicate.groups import FeedInfo
from syndicate.posts import Post

SETTINGS = load_settings(None, {"url": "https://site.example", "title": "Site"}, environ={})
WHEN = datetime(2024, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))
POST = Post("p.md", "d", "Title", "p", WHEN, WHEN, ("News",), (), "", "/p.html", "https://site.example", "Summary",
            None, None, True)  # fmt: skip
PAGE = Page(FeedInfo("all", "Site", "all", 1, "Site"), "Site", (Entry(POST, "<p>x</p>"),), "all", "all")


def test_builds_render_atom_rss_and_json_in_that_order() -> None:
    assert FEED_FORMATS == ("atom", "rss", "json")
    # jekyll-feed's documents are a format of their own, planned only for a Jekyll site, never for every feed.
    assert tuple(FORMATS) == (*FEED_FORMATS, "xml") and all(FORMATS[name].name == name for name in FORMATS)


@pytest.mark.parametrize(
    ("name", "module", "media_type", "link_type", "label"),
    [
        ("atom", "syndicate.atom", "application/atom+xml; charset=utf-8", "application/atom+xml", "Atom"),
        ("rss", "syndicate.rss", "application/rss+xml; charset=utf-8", "application/rss+xml", "RSS"),
        ("json", "syndicate.jsonfeed", "application/feed+json", "application/feed+json", "JSON Feed"),
    ],
)
def test_every_feed_format_is_a_row_and_a_module(
    name: str, module: str, media_type: str, link_type: str, label: str
) -> None:
    row = FORMATS[name]
    writer = importlib.import_module(module)
    assert row.write_entry is writer.write_entry and row.write_document is writer.write_document
    assert row.media_type == writer.MEDIA_TYPE == media_type and row.link_type == link_type and row.label == label
    document = render_page(SETTINGS, PAGE, name)
    assert document.path == f"all.{name}" and document.media_type == media_type
    assert entry_fragment(POST, "<p>x</p>", name) in document.body


def test_opml_is_not_a_feed_format() -> None:
    assert "opml" not in FORMATS and "opml" not in FEED_FORMATS


@pytest.mark.parametrize("name", ["xhtml", "opml", "Atom", ""])
def test_an_unknown_format_raises_in_the_registry(name: str) -> None:
    with pytest.raises(UnknownFormat, match="unknown feed format") as raised:
        FORMATS[name]
    assert raised.value.name == name and f"{name!r}" in str(raised.value) and "atom, rss, json" in str(raised.value)
    assert isinstance(raised.value, KeyError) and not isinstance(raised.value, ValueError)
    assert FORMATS.get(name) is None and name not in FORMATS


def test_an_unknown_format_raises_instead_of_writing_rss() -> None:
    # entry_fragment used to write any format it did not know as RSS.
    with pytest.raises(UnknownFormat):
        entry_fragment(POST, "<p>x</p>", "xhtml")
    with pytest.raises(UnknownFormat):
        render_page(SETTINGS, PAGE, "xhtml")
    with pytest.raises(UnknownFormat):
        render_page(SETTINGS, PAGE, "xhtml", [entry_fragment(POST, "<p>x</p>", "rss")])
