from __future__ import annotations

import html
import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import feedparser
import pytest
from feedgen.entry import FeedEntry
from hypothesis import event, given, settings
from hypothesis import strategies as st
from lxml import etree

from _dates import WRITTEN_DATES
from feedcheck import assert_valid
from syndicate import _feedgen
from syndicate.atom import _origin
from syndicate.config import Settings, load_settings
from syndicate.feeds import Entry, Page, entry_fragment, paginate, render_page
from syndicate.formats import FEED_FORMATS, FORMATS
from syndicate.groups import FeedInfo
from syndicate.posts import Post
from syndicate.terms import slug_of

A = "{http://www.w3.org/2005/Atom}"
SY = "{http://purl.org/rss/1.0/modules/syndication/}"
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
        site="https://site.example",
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
    for fmt in FEED_FORMATS:
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


BRANDED = SETTINGS.replace(
    hub="https://hub.example.org/publish",
    icon="https://site.example/favicon.png",
    logo="https://site.example/logo.png",
)


def test_websub_discovery_and_branding_in_every_format() -> None:
    """W3C WebSub §4 discovery in each format, the site's icon and logo, and the RSS channel link left alone."""
    pg = page(make_post(2), make_post(1))
    self_url = "https://site.example/feeds/tags/c%2B%2B"
    for fmt in FEED_FORMATS:
        assert_valid(render_page(BRANDED, pg, fmt).body, fmt)
    rss = etree.fromstring(render_page(BRANDED, pg, "rss").body).find("channel")
    assert rss is not None
    assert rss.findtext("link") == "https://site.example/"  # the site's link, never the hub's
    rss_links = {link.get("rel"): link.get("href") for link in rss.findall(f"{A}link")}
    assert rss_links == {"self": self_url + ".rss", "hub": "https://hub.example.org/publish"}
    assert [rss.findtext(f"image/{tag}") for tag in ("url", "title", "link")] == [
        "https://site.example/logo.png",
        "Site · C++",
        "https://site.example/",
    ]
    atom = etree.fromstring(render_page(BRANDED, pg, "atom").body)
    atom_links = {link.get("rel"): link.get("href") for link in atom.findall(f"{A}link")}
    assert atom_links["hub"] == "https://hub.example.org/publish" and atom_links["self"] == self_url + ".atom"
    assert atom.findtext(f"{A}icon") == "https://site.example/favicon.png"
    assert atom.findtext(f"{A}logo") == "https://site.example/logo.png"
    feed = json.loads(render_page(BRANDED, pg, "json").body)
    assert feed["hubs"] == [{"type": "WebSub", "url": "https://hub.example.org/publish"}]
    assert feed["feed_url"] == self_url + ".json"
    assert (feed["icon"], feed["favicon"]) == ("https://site.example/logo.png", "https://site.example/favicon.png")
    # What readers take from it: feedparser keeps the site as the channel's link and finds the image and hub.
    parsed = feedparser.parse(render_page(BRANDED, pg, "rss").body)
    assert parsed.bozo == 0 and parsed.feed.link == "https://site.example/"
    assert parsed.feed.image.href == "https://site.example/logo.png"
    assert {link.rel: link.href for link in parsed.feed.links}["hub"] == "https://hub.example.org/publish"
    parsed = feedparser.parse(render_page(BRANDED, pg, "atom").body)
    assert (
        parsed.feed.icon == "https://site.example/favicon.png" and parsed.feed.logo == "https://site.example/logo.png"
    )


def test_an_icon_alone_is_the_rss_image_and_json_icon_and_no_branding_writes_none() -> None:
    pg = page(make_post(1))
    icon_only = SETTINGS.replace(icon="https://site.example/favicon.png")
    rss = etree.fromstring(render_page(icon_only, pg, "rss").body)
    assert rss.findtext("channel/image/url") == "https://site.example/favicon.png"
    feed = json.loads(render_page(icon_only, pg, "json").body)
    assert feed["icon"] == feed["favicon"] == "https://site.example/favicon.png"
    plain = etree.fromstring(render_page(SETTINGS, pg, "rss").body)
    assert plain.find("channel/image") is None
    assert [link.get("rel") for link in plain.findall(f"channel/{A}link")] == ["self"]
    assert not {"icon", "favicon", "hubs"} & json.loads(render_page(SETTINGS, pg, "json").body).keys()


def test_rss_polling_hints_follow_the_feeds_pace() -> None:
    hourly = [make_post(1).replace(date=make_post(1).date + timedelta(hours=n)) for n in range(5, -1, -1)]
    root = etree.fromstring(render_page(SETTINGS, page(*hourly), "rss").body)
    channel = root.find("channel")
    assert channel is not None
    assert (
        channel.findtext("ttl"),
        channel.findtext(f"{SY}updatePeriod"),
        channel.findtext(f"{SY}updateFrequency"),
    ) == (
        "60",
        "hourly",
        "1",
    )
    assert_valid(etree.tostring(root), "rss")
    archived = replace(page(*hourly), archive=True, path="archive/tags/c++/1")
    assert etree.fromstring(render_page(SETTINGS, archived, "rss").body).findtext("channel/ttl") == "1440"


def test_rss_dates_and_source() -> None:
    root = etree.fromstring(render_page(SETTINGS, page(make_post(1)), "rss").body)
    item = root.find("channel/item")
    assert item is not None
    assert item.findtext("pubDate") == "Mon, 01 Jan 2024 08:00:00 +0800"
    source = item.find("source")
    assert source is not None and source.get("url") == "https://daily.example/1" and source.text == "Daily"
    assert root.findtext("channel/lastBuildDate") == "Mon, 01 Jan 2024 09:00:00 +0800"
    assert root.findtext("channel/ttl") == "1440"  # one post: no gap to go by, so poll_max (test_polling.py)


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
    for fmt in FEED_FORMATS:
        parts = [entry_fragment(e.post, e.content, fmt) for e in pg.entries]
        assert render_page(SETTINGS, pg, fmt, parts).body == render_page(SETTINGS, pg, fmt).body


def test_empty_feed_has_a_fixed_updated_time() -> None:
    doc = render_page(SETTINGS, page(), "atom")
    assert_valid(doc.body, "atom")
    assert b"<updated>1970-01-01T00:00:00+00:00</updated>" in doc.body
    assert doc.updated is None


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(("when", "atom", "rss"), WRITTEN_DATES)
def test_an_offset_in_seconds_is_written_in_utc(when: datetime, atom: str, rss: str) -> None:
    # RFC 3339 (RFC 4287 §3.3, JSON Feed 1.1) offsets are ±hh:mm, RFC 822's ±hhmm: -04:56:02 fits neither.
    pg = page(make_post(1).replace(date=when, updated=when))
    for fmt in FEED_FORMATS:
        assert_valid(render_page(SETTINGS, pg, fmt).body, fmt)
    root = etree.fromstring(render_page(SETTINGS, pg, "atom").body)
    # the feed's updated, the entry's updated and published, and its source's updated (the post's date)
    assert [el.text for el in root.iter(f"{A}updated", f"{A}published")] == [atom, atom, atom, atom]
    channel = etree.fromstring(render_page(SETTINGS, pg, "rss").body).find("channel")
    assert channel is not None and channel.findtext("lastBuildDate") == rss and channel.findtext("item/pubDate") == rss
    item = json.loads(render_page(SETTINGS, pg, "json").body)["items"][0]
    assert item["date_published"] == item["date_modified"] == atom
    assert datetime.fromisoformat(atom) == when  # the same instant


@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=timezone(-timedelta(hours=23, minutes=59))),
        datetime(1, 1, 1, 0, 0, 30, tzinfo=NEW_YORK),
        datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=23, minutes=59))),
    ],
)
def test_dates_at_the_ends_of_the_utc_range_give_valid_documents(when: datetime) -> None:
    pg = page(make_post(1).replace(date=when, updated=when))
    for fmt in FEED_FORMATS:
        body = render_page(SETTINGS, pg, fmt).body
        assert_valid(body, fmt)
        if fmt != "json":
            assert feedparser.parse(body).bozo == 0
    channel = etree.fromstring(render_page(SETTINGS, pg, "rss").body).find("channel")
    assert channel is not None
    # four-digit years (RFC 2822 §3.3): feedgen's strftime wrote year 1 as "1"
    assert channel.findtext("lastBuildDate") == channel.findtext("item/pubDate")
    assert f" {as_written(when).year:04d} " in (channel.findtext("lastBuildDate") or "")


def test_a_date_that_cannot_be_written_in_utc_is_a_value_error() -> None:
    # Never a parsed post's (dates.parse_date rejects it), but an entry that cannot be written must be a ValueError.
    when = datetime(1, 1, 1, tzinfo=timezone(timedelta(seconds=30)))
    for fmt in FEED_FORMATS:
        with pytest.raises(ValueError, match="outside the years 1 to 9999"):
            entry_fragment(make_post(1).replace(date=when, updated=when), None, fmt)


def test_paginate_keeps_full_pages_stable() -> None:
    posts = [make_post(n) for n in range(9, 0, -1)]  # newest first
    current, archives = paginate(FEED, posts, 4)
    assert [p.path for p in current] == ["p9.md", "p8.md", "p7.md", "p6.md"]
    assert [(n, [p.path for p in chunk]) for n, chunk in archives] == [
        (1, ["p4.md", "p3.md", "p2.md", "p1.md"]),
        (2, ["p8.md", "p7.md", "p6.md", "p5.md"]),
    ]
    assert paginate(FEED, posts[:4], 4)[1] == []


# entry_fragment writes entries directly; the reference below is the feedgen 1.0.0 FeedEntry + lxml path it replaced
# (with the elements our entry extension added after feedgen's), and the two must agree byte for byte: documents are
# content-hashed for ETags and rebuilds are compared by their bytes.

SHANGHAI = ZoneInfo("Asia/Shanghai")
RSS_NSMAP = {"content": "http://purl.org/rss/1.0/modules/content/", "dc": "http://purl.org/dc/elements/1.1/"}


def as_written(when: datetime) -> datetime:
    """The dates feeds write, stated here on its own: an offset that is not whole minutes, which RFC 3339 and RFC 822
    cannot write (and feedgen wrote as -04:56:02 or -045602), becomes UTC; ValueError if UTC cannot hold the instant.
    The references below are given these dates, so what they check is that the same dates are written the same way."""
    offset = when.utcoffset()
    if offset is None or offset % timedelta(minutes=1) == timedelta(0):
        return when
    try:
        return when.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None


def feedgen_fragment(post: Post, content: str | None, fmt: str) -> bytes:
    """What entry_fragment wrote before it wrote entries itself, given the dates as feeds write them."""
    fe = FeedEntry()
    fe.id(post.url)
    fe.guid(post.url, permalink=True)
    fe.title(post.title)
    fe.link(href=post.url)
    if fmt == "atom":
        fe.published(as_written(post.date))
    fe.updated(as_written(post.updated) if fmt == "atom" else post.updated)  # RSS items do not write it
    if post.author:
        fe.author({"name": post.author})
    if post.summary:
        fe.summary(post.summary)
    elif content is None:
        fe.summary(post.title)
    if content is not None:
        fe.content(content, type="html")
    for name in dict.fromkeys((*post.categories, *post.tags)):
        fe.category(term=name)
    if fmt == "atom":
        entry = fe.atom_entry()
        if post.source_url:
            via = etree.SubElement(entry, "link", rel="via", href=post.source_url, type="text/html")
            if post.source_name:
                via.set("title", post.source_name)
        if post.source_name or post.source_url:
            # id, title and updated, which the W3C validator asks of a source (MissingSourceElement)
            source = etree.SubElement(entry, "source")
            origin = "{0.scheme}://{0.netloc}/".format(urlsplit(post.source_url)) if post.source_url else ""
            named = uuid.uuid5(uuid.NAMESPACE_URL, f"{post.site}/#source={slug_of(post.source_name or '')}")
            etree.SubElement(source, "id").text = origin or f"urn:uuid:{named}"
            etree.SubElement(source, "title").text = post.source_name or urlsplit(origin).hostname or ""
            etree.SubElement(source, "updated").text = as_written(post.date).isoformat()
            if origin:
                etree.SubElement(source, "link", rel="alternate", href=origin, type="text/html")
        return bytes(etree.tostring(entry, encoding="UTF-8", xml_declaration=False))
    item = fe.rss_entry()
    etree.SubElement(item, "pubDate").text = format_datetime(as_written(post.date))
    description = item.find("description")
    if description is not None and description.text in (post.summary, post.title):
        description.text = html.escape(description.text, quote=False)
    if post.author:
        etree.SubElement(item, "{http://purl.org/dc/elements/1.1/}creator").text = post.author
    if post.source_url:
        etree.SubElement(item, "source", url=post.source_url).text = post.source_name or post.source_url
    elif post.source_name:  # no address for RSS's <source>: Dublin Core's source carries the name
        etree.SubElement(item, "{http://purl.org/dc/elements/1.1/}source").text = post.source_name
    root = etree.Element("rss", nsmap=RSS_NSMAP)  # the channel's root declares the content: and dc: prefixes
    root.append(item)
    data = bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=False))
    return data[data.index(b"<item") : data.rindex(b"</rss>")]


PIECES = [*"&<>\"'\r\n\t \x85\x7f", "\r\n", "&amp;", "]]>", "<p>", "右江日报", "😀", "é"]
# XML-legal characters: no surrogates, no C0 controls but TAB, LF and CR, no U+FFFE/U+FFFF.
legal_char = st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff")
legal_text = st.lists(st.one_of(st.text(legal_char, max_size=6), st.sampled_from(PIECES)), max_size=6).map("".join)
ILLEGAL = ["\x00", "\x01", "\x0b", "\x0c", "\x1f", "\ud800", "\ufffe", "\uffff"]
hostile_text = st.lists(st.one_of(legal_text, st.sampled_from(ILLEGAL)), max_size=3).map("".join)
offsets = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
zones = st.one_of(
    # None (naive): feedgen refused these for Atom, and for RSS's updated
    st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30)), SHANGHAI, None]),
    offsets.map(timezone),  # odd offsets too (seconds, microseconds)
)


def rarely(value: str, strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``value`` in about one example in ten, else ``strategy``."""
    return st.sampled_from(range(10)).flatmap(lambda n: strategy if n else st.just(value))


def source_urls(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    host = st.sampled_from(
        ["daily.example", "DAILY.example:8080", "右江.example", "a\u2100b", "[::1]", "[x", "a]", "a b", "x\ty", ""]
    )
    ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=6)
    path = st.builds(
        "{}{}".format, st.sampled_from(["", "/", "?", "#", "/\t", "\n", "/a/b?q=1&r=2#f"]), ascii_text | text
    )
    scheme = st.sampled_from(["http", "https", "HTTP", " http", "ftp"])
    return st.builds("{}://{}{}".format, scheme, host, path)


@st.composite
def posts(draw: st.DrawFn, text: st.SearchStrategy[str]) -> tuple[Post, str | None]:
    filled = st.builds("{}{}{}".format, text, st.one_of(st.text(legal_char, min_size=1), st.sampled_from(PIECES)), text)
    names = st.one_of(text, st.sampled_from(["News", "C++", "右江", "AI & ML", ""]))
    urls = st.one_of(filled, source_urls(text), st.builds("https://site.example/p/{}".format, text))
    when = draw(st.datetimes(timezones=zones))
    post = Post(
        path="p.md",
        digest="d",
        title=draw(rarely("", filled)),  # an Atom entry without a title was refused, an RSS item not
        slug="p",
        date=when,
        updated=draw(st.one_of(st.just(when), st.datetimes(timezones=zones))),
        categories=tuple(draw(st.lists(names, max_size=3))),
        tags=tuple(draw(st.lists(names, max_size=3))),
        author=draw(text),
        permalink=draw(rarely("", urls)),  # the whole URL: the site part is empty
        site="",
        summary=draw(text),
        source_name=draw(st.none() | text),
        source_url=draw(st.none() | urls),
        published=True,
    )
    content = draw(st.none() | text | st.sampled_from(["", "<p>Hi &amp; bye</p>"]))
    return post, content


@settings(max_examples=1000, deadline=None)
@given(url=source_urls(legal_text))
def test_origin_takes_a_shortcut_only_where_urlsplit_agrees(url: str) -> None:
    try:
        expected = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
    except ValueError:
        with pytest.raises(ValueError):
            _origin(url)
    else:
        assert _origin(url) == expected


def outcome(render: Callable[[Post, str | None, str], bytes], post: Post, content: str | None, fmt: str) -> object:
    """The entry's bytes, or ValueError if it was refused."""
    try:
        return bytes(render(post, content, fmt))
    except ValueError:  # includes UnicodeEncodeError (lone surrogates), raised by both
        return ValueError


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@settings(max_examples=300, deadline=None)
@given(case=posts(legal_text))
def test_entry_fragment_is_byte_identical_to_feedgen(fmt: str, case: tuple[Post, str | None]) -> None:
    post, content = case
    expected = outcome(feedgen_fragment, post, content, fmt)
    event("refused" if expected is ValueError else "written")
    assert outcome(entry_fragment, post, content, fmt) == expected


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@settings(max_examples=150, deadline=None)
@given(case=posts(hostile_text))
def test_entry_fragment_refuses_what_lxml_refused(fmt: str, case: tuple[Post, str | None]) -> None:
    post, content = case
    assert outcome(entry_fragment, post, content, fmt) == outcome(feedgen_fragment, post, content, fmt)


def json_dumps_item(post: Post, content: str | None, fmt: str = "json") -> bytes:
    """What entry_fragment wrote for JSON Feed before it wrote items itself: a dict through json.dumps."""
    item: dict[str, object] = {"id": post.url, "url": post.url, "title": post.title}
    if post.source_url:
        item["external_url"] = post.source_url
    if content is not None:
        item["content_html"] = content
    else:
        item["content_text"] = post.summary or post.title
    if post.summary:
        item["summary"] = post.summary
    item["date_published"] = as_written(post.date).isoformat()
    item["date_modified"] = as_written(post.updated).isoformat()
    if post.author:
        item["authors"] = [{"name": post.author}]
    terms = list(dict.fromkeys((*post.categories, *post.tags)))
    if terms:
        item["tags"] = terms
    if post.source_name or post.source_url:
        item["_source"] = {"name": post.source_name, "url": post.source_url}
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@settings(max_examples=500, deadline=None)
@given(case=posts(hostile_text))
def test_json_item_is_byte_identical_to_json_dumps(case: tuple[Post, str | None]) -> None:
    post, content = case
    expected = outcome(json_dumps_item, post, content, "json")
    event("refused" if expected is ValueError else "written")
    assert outcome(entry_fragment, post, content, "json") == expected


# Heads are written from a template per feed (see _feedgen.write_head); feedgen's head of the same page is the
# reference.
paths = st.lists(st.sampled_from(["tags", "c++", "右江", "a b", "%", "x", "archive", "3", "?"]), min_size=1, max_size=4)


@st.composite
def feed_pages(draw: st.DrawFn) -> tuple[Page, Page]:
    """Two pages of one feed: same title, subscription document and kind, their own path, older page and date."""
    stand_ins = st.sampled_from(["Site · zq7selfzq7", "1903-04-05T06:07:08+00:00"])
    title = draw(st.one_of(legal_text.filter(bool), stand_ins))
    current = "/".join(draw(paths))
    archive, older = draw(st.booleans()), draw(st.booleans())
    return drawn_page(draw, title, current, archive, older), drawn_page(draw, title, current, archive, older)


def drawn_page(draw: st.DrawFn, title: str, current: str, archive: bool, older: bool) -> Page:
    """A page of the feed with ``title`` and subscription document ``current``: its own path, older page and date."""
    when = draw(st.datetimes(timezones=zones.filter(lambda z: z is not None)))
    entry = Entry(make_post(1).replace(date=when, updated=when), None)
    return Page(
        feed=FEED,
        title=title,
        entries=draw(st.sampled_from([(entry,), ()])),
        path="archive/" + "/".join(draw(paths)) if archive else current,
        current=current,
        prev_archive="archive/" + "/".join(draw(paths)) if older else None,
        archive=archive,
    )


def head_outcome(render: Callable[[Settings, Page, str, str], bytes], site: Settings, page: Page, fmt: str) -> object:
    """The head's bytes, or ValueError (a date no feed can write: an offset in seconds, an instant UTC lacks)."""
    try:
        return render(site, page, fmt, FORMATS[fmt].media_type)
    except ValueError:
        return ValueError


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@settings(max_examples=300, deadline=None)
@given(
    pages=feed_pages(),
    site=st.sampled_from([SETTINGS, replace(SETTINGS, description="<b>D</b>", hub="https://h.example/")]),
)
def test_feed_heads_from_a_template_are_feedgen_heads(fmt: str, pages: tuple[Page, Page], site: object) -> None:
    assert isinstance(site, type(SETTINGS))
    first, second = pages
    for page in (first, second, first):
        assert head_outcome(_feedgen.write_head, site, page, fmt) == head_outcome(
            _feedgen.feedgen_head, site, page, fmt
        )


@pytest.fixture
def feedgen_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each call of feedgen for a feed's head, from now on, with no head template made yet."""
    calls: list[str] = []
    original = _feedgen.feedgen_head

    def counted(*args: object) -> bytes:
        calls.append("feedgen")
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_feedgen, "feedgen_head", counted)
    monkeypatch.setattr(_feedgen, "_templates", {})
    return calls


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_a_feeds_heads_come_from_one_template(fmt: str, feedgen_calls: list[str]) -> None:
    calls = feedgen_calls
    for title, expected in (("Site · C++", 2), ("Site · zq7selfzq7", 2 + 10)):
        calls.clear()
        for n in range(1, 12):
            posts = [make_post(d) for d in range(1, 1 + n % 5 + 1)]
            archived = Page(FEED, title, tuple(Entry(p, None) for p in posts), f"archive/tags/c++/{n}", "tags/c++",
                            f"archive/tags/c++/{n - 1}", archive=True)  # fmt: skip
            document = render_page(SETTINGS, archived, fmt, [entry_fragment(p, None, fmt) for p in posts])
            assert_valid(document.body, fmt)
            assert f"archive/tags/c%2B%2B/{n}.{fmt}".encode() in document.body
        # the template and its check against feedgen; a title holding a stand-in: no template, feedgen for every page
        assert len(calls) == expected


@st.composite
def any_feed_page(draw: st.DrawFn) -> Page:
    """A page of any feed: its own title (plain or not), subscription document, kind, path, older page and date."""
    title = draw(
        st.one_of(legal_text.filter(bool), st.sampled_from(["Site · C++", "右江 · zq7titlezq7", "zq7currentzq7"]))
    )
    current = "/".join(draw(paths))
    return drawn_page(draw, title, current, draw(st.booleans()), draw(st.booleans()))


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@settings(max_examples=300, deadline=None)
@given(
    pages=st.lists(any_feed_page(), min_size=2, max_size=4),
    site=st.sampled_from(
        [
            SETTINGS,
            replace(SETTINGS, description="<b>D</b>", hub="https://h.example/"),
            replace(SETTINGS, logo="https://site.example/logo.png", icon="https://site.example/i.png"),
            replace(SETTINGS, title="zq7titlezq7 zq7currentzq7"),
        ]
    ),
)
def test_heads_of_different_feeds_from_shared_templates_are_feedgen_heads(
    fmt: str, pages: list[Page], site: object
) -> None:
    """A template is shared by every feed with a plain title: its title and subscription URL are put in."""
    assert isinstance(site, type(SETTINGS))
    for page in [*pages, *pages]:
        assert head_outcome(_feedgen.write_head, site, page, fmt) == head_outcome(
            _feedgen.feedgen_head, site, page, fmt
        )


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_feeds_with_plain_titles_share_one_template(fmt: str, feedgen_calls: list[str]) -> None:
    calls = feedgen_calls
    posts = [make_post(1), make_post(2)]
    for name in ("C++", "右江日报", "a b", "Q&A", "x < y"):
        slug = name.replace(" ", "-")
        archived = Page(FEED, f"Site · {name}", tuple(Entry(p, None) for p in posts), f"archive/tags/{slug}/2",
                        f"tags/{slug}", f"archive/tags/{slug}/1", archive=True)  # fmt: skip
        document = render_page(SETTINGS, archived, fmt, [entry_fragment(p, None, fmt) for p in posts])
        assert_valid(document.body, fmt)
        assert f"<title>Site · {html.escape(name, quote=False)}</title>".encode() in document.body
    # one template for the three plain titles (made and checked: 2 heads), one of its own for each of the others
    assert len(calls) == 2 + 2 * 2


def test_rss_item_escapes_its_description_and_uses_the_channel_prefixes() -> None:
    post = make_post(1)
    item = entry_fragment(post, "<p>x</p>", "rss")
    assert b"<description>Summary 1</description><content:encoded>&lt;p&gt;x&lt;/p&gt;</content:encoded>" in item
    bare = post.replace(summary="", title="<img onerror=x> & co")
    assert b"<description>&amp;lt;img onerror=x&amp;gt; &amp;amp; co</description>" in entry_fragment(bare, None, "rss")
    assert b"xmlns" not in item and b"<dc:creator>Reporter</dc:creator>" in item


def test_a_publication_named_without_an_address_reaches_every_format() -> None:
    """RSS's <source> needs a url: the name goes in dc:source. Atom's <source> has the id, title and updated the
    validator asks for: an id of the name (the same for every post naming it), and the post's date."""
    named = make_post(2).replace(source_url=None, source_name="Tech Daily & Co.")
    other = make_post(1).replace(source_url=None, source_name="TECH DAILY & CO.")  # one publication, one slug
    pg = page(named, other)
    for fmt in FEED_FORMATS:
        assert_valid(render_page(SETTINGS, pg, fmt).body, fmt)
    rss = feedparser.parse(render_page(SETTINGS, pg, "rss").body)
    assert not rss.bozo and rss.entries[0].dc_source == "Tech Daily & Co."
    assert "source" not in rss.entries[0]  # no <source> without its required url
    atom = feedparser.parse(render_page(SETTINGS, pg, "atom").body)
    assert not atom.bozo
    first, second = (entry.source for entry in atom.entries)
    assert first.title == "Tech Daily & Co." and first.id.startswith("urn:uuid:") and first.id == second.id
    assert first.updated == named.date.isoformat()
    assert "links" not in first  # no address of its own is made up
    item = json.loads(render_page(SETTINGS, pg, "json").body)["items"][0]
    assert item["_source"] == {"name": "Tech Daily & Co.", "url": None}


def test_a_publication_known_by_its_address_is_titled_by_its_host() -> None:
    post = make_post(1).replace(source_name=None, source_url="https://www.tide.example/2024/harbour")
    body = render_page(SETTINGS, page(post), "atom").body
    assert_valid(body, "atom")
    source = feedparser.parse(body).entries[0].source
    assert (source.id, source.title, source.updated) == (
        "https://www.tide.example/",
        "www.tide.example",
        post.date.isoformat(),
    )
    rss = feedparser.parse(render_page(SETTINGS, page(post), "rss").body).entries[0]
    assert rss.source == {
        "href": "https://www.tide.example/2024/harbour",
        "title": "https://www.tide.example/2024/harbour",
    }
