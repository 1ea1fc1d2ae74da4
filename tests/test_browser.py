"""Feeds in a browser, against the real server on 127.0.0.1: a browser asking for a feed's address is served the
feed's page (its own ETag, Vary: Accept, 304s per representation, gzip and brotli), every reader the feed; the
index links every page; and headless Chromium (Debian ``chromium``) renders the pages people see."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import brotli
import feedparser
import httpx
import pytest
from lxml import html

from _serving import DEADLINE, Server, free_port, need_program, running_server
from syndicate.formats import FEED_FORMATS, FORMATS
from syndicate.gzipfiles import GZIP_TAG

pytestmark = pytest.mark.server

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FEEDPARSER = (
    "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,application/xml;q=0.9,"
    "text/xml;q=0.2,*/*;q=0.1"
)
HOSTILE_TITLE = '<script>alert("t")</script> & "quotes" <b>bold</b>'
HOSTILE_TAG = "<img src=x onerror=alert(1)>"


def write_post(root: Path, name: str, front: str, body: str) -> None:
    (root / "_posts" / name).write_text(f"---\n{front.strip()}\n---\n{body}", encoding="utf-8")


def write_site(root: Path) -> None:
    (root / "_posts").mkdir(parents=True)
    write_post(
        root,
        "2024-03-02-ferry.md",
        'title: "Ferry timetable changes for the spring floods"\ndate: 2024-03-02 08:30:00 +0800\n'
        "categories: transport\ntags: [river, notices]",
        "<p>The ferry across the river runs every forty minutes until the water falls again.</p>\n",
    )
    write_post(
        root,
        "2024-03-09-orchard.md",
        'title: "Orchard co-operative opens a cold store"\ndate: 2024-03-09 10:00:00 +0800\n'
        "categories: farming\ntags: [mangoes]",
        "<p>Growers can now keep fruit for three weeks before it goes to market.</p>\n",
    )
    write_post(
        root,
        "2024-03-15-odd.md",
        f"title: '{HOSTILE_TITLE}'\ndate: 2024-03-15 09:00:00 +0800\ncategories: farming\ntags: ['{HOSTILE_TAG}']",
        "<p>A title full of markup, shown as text.</p>\n",
    )


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("english")
    write_site(root)
    # A hub on a port nobody listens on: pings fail quietly, and the Link header names the hub and self.
    config = (
        f'language = "en"\ndescription = "River valley news, checked twice."\nhub = "http://127.0.0.1:{free_port()}/"\n'
    )
    with running_server(root, extra_config=config) as server:
        yield server


@pytest.fixture(scope="module")
def chinese(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("chinese")
    write_site(root)
    with running_server(root, extra_config='language = "zh-CN"\n') as server:
        yield server


def get(server: Server, path: str, **headers: str) -> httpx.Response:
    return httpx.get(server.url + path, headers=headers, timeout=DEADLINE)


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_a_browser_gets_the_page_and_a_reader_the_feed(english: Server, fmt: str) -> None:
    spec = FORMATS[fmt]
    page = get(english, "/feeds/all.html")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    browser = get(english, f"/feeds/all.{fmt}", accept=FIREFOX, **{"accept-encoding": "identity"})
    assert browser.headers["content-type"] == "text/html; charset=utf-8"
    assert browser.content == page.content
    assert browser.headers["vary"] == "Accept, Accept-Encoding"
    assert "default-src 'none'" in browser.headers["content-security-policy"]
    for accept in (FEEDPARSER, "*/*", None):
        headers = {"accept-encoding": "identity", **({"accept": accept} if accept is not None else {})}
        # httpx sends "Accept: */*" by default; a request without any Accept is made with the header removed
        with httpx.Client(headers={}) as client:
            client.headers.pop("accept", None)
            reader = client.get(english.url + f"/feeds/all.{fmt}", headers=headers, timeout=DEADLINE)
        assert reader.status_code == 200 and reader.headers["content-type"] == spec.media_type, accept
        assert reader.headers["vary"] == "Accept, Accept-Encoding"
        assert "content-security-policy" not in reader.headers
        assert reader.headers["etag"] != browser.headers["etag"]
        if fmt == "json":
            assert len(json.loads(reader.content)["items"]) == 3, accept
        else:
            parsed = feedparser.parse(reader.content)
            assert not parsed.bozo and len(parsed.entries) == 3, accept
    # Conditional requests are answered per representation: each one's ETag validates only itself.
    feed_etag = reader.headers["etag"]
    page_etag = browser.headers["etag"]
    identity = {"accept-encoding": "identity"}
    assert (
        get(english, f"/feeds/all.{fmt}", accept=FIREFOX, **{"if-none-match": page_etag}, **identity).status_code == 304
    )
    assert (
        get(english, f"/feeds/all.{fmt}", accept=FEEDPARSER, **{"if-none-match": feed_etag}, **identity).status_code
        == 304
    )
    stale = get(english, f"/feeds/all.{fmt}", accept=FEEDPARSER, **{"if-none-match": page_etag}, **identity)
    assert stale.status_code == 200 and stale.headers["content-type"] == spec.media_type
    stale = get(english, f"/feeds/all.{fmt}", accept=FIREFOX, **{"if-none-match": feed_etag}, **identity)
    assert stale.status_code == 200 and stale.content == page.content


def test_pages_are_compressed_with_their_own_etags(english: Server) -> None:
    plain = get(english, "/feeds/tags/river.rss", accept=FIREFOX, **{"accept-encoding": "identity"})
    gz = get(english, "/feeds/tags/river.rss", accept=FIREFOX, **{"accept-encoding": "gzip"})
    with httpx.stream(
        "GET", english.url + "/feeds/tags/river.rss", headers={"accept": FIREFOX, "accept-encoding": "br"}
    ) as response:
        raw = b"".join(response.iter_raw())
        br_headers = response.headers
    assert gz.headers["content-encoding"] == "gzip" and br_headers["content-encoding"] == "br"
    assert gz.content == plain.content == brotli.decompress(raw)
    etags = {plain.headers["etag"], gz.headers["etag"], br_headers["etag"]}
    assert len(etags) == 3 and gz.headers["etag"].endswith(f'{GZIP_TAG}"') and br_headers["etag"].endswith('-br"')
    assert b"Ferry timetable changes for the spring floods" in plain.content
    assert b"Orchard co-operative" not in plain.content  # another tag's post
    not_modified = get(
        english,
        "/feeds/tags/river.rss",
        accept=FIREFOX,
        **{"accept-encoding": "gzip", "if-none-match": gz.headers["etag"]},
    )
    assert not_modified.status_code == 304 and not_modified.headers["vary"] == "Accept, Accept-Encoding"


def test_the_index_links_every_feed_page_and_names_an_existing_self(english: Server) -> None:
    index = get(english, "/")
    assert index.status_code == 200 and index.headers["content-type"] == "text/html; charset=utf-8"
    doc = html.fromstring(index.content)
    assert doc.get("lang") == "en"
    pages = [href for href in doc.xpath("//ul[@class='feeds']/li/a[@class='name']/@href")]
    assert set(pages) >= {"/feeds/all.html", "/feeds/categories/farming.html", "/feeds/tags/river.html"}
    for href in doc.xpath("//a/@href"):
        if href.startswith("/"):
            response = get(english, href)
            assert response.status_code == 200, href
    # The Link header's self (WebSub discovery) names an address that answers with this page.
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="([^"]+)"', index.headers["link"]))
    self_path = httpx.URL(links["self"]).path
    assert get(english, self_path).content == index.content
    assert get(english, "/feeds/").content == index.content
    # The addresses to copy are the absolute ones the feeds name as their own.
    urls = doc.xpath("//section[@class='subscribe']/code[@class='url']/text()")
    assert urls == [f"https://news.example.net/feeds/all.{fmt}" for fmt in FEED_FORMATS]


def test_the_style_is_allowed_by_its_hash_and_nothing_else_is(english: Server) -> None:
    response = get(english, "/feeds/all.html")
    doc = html.fromstring(response.content)
    (style,) = doc.xpath("//style/text()")
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    policy = response.headers["content-security-policy"]
    assert f"style-src 'sha256-{digest}'" in policy and "script-src" not in policy
    assert not doc.xpath("//script") and "prefers-color-scheme:dark" in style


def test_hostile_titles_and_names_stay_text(english: Server) -> None:
    for path in ("/", "/feeds/all.html", "/feeds/categories/farming.html"):
        body = get(english, path).text
        assert "<script" not in body and "<img" not in body and "<b>bold" not in body, path
        doc = html.fromstring(body)
        assert not doc.xpath("//script | //img | //*[@onerror]"), path
        assert HOSTILE_TITLE in doc.text_content(), path
    index = html.fromstring(get(english, "/").content)
    assert HOSTILE_TAG in index.xpath("//ul[@class='feeds']/li/a[@class='name']/text()")


def dump_dom(url: str) -> html.HtmlElement:
    """The DOM headless Chromium renders for ``url`` (it asks as every browser does: text/html first)."""
    program = need_program("chromium")
    result = subprocess.run(
        [program, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--dump-dom", url],
        capture_output=True,
        timeout=DEADLINE * 2,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return html.fromstring(result.stdout)


@pytest.mark.external
def test_chromium_opening_a_feed_shows_its_page(english: Server) -> None:
    dom = dump_dom(english.url + "/feeds/tags/river.atom")
    assert dom.findtext(".//h1") == "Test Site · river"
    text = " ".join(dom.text_content().split())
    assert "Posts tagged river" in text and "This is a web feed" in text
    assert "https://news.example.net/feeds/tags/river.atom" in dom.xpath("//code[@class='url']/text()")
    (entry,) = dom.xpath("//ol[@class='entries']/li")
    link = entry.xpath(".//h3/a")[0]
    assert link.text == "Ferry timetable changes for the spring floods"
    assert link.get("href").startswith("https://news.example.net/")
    assert entry.xpath(".//time/text()") == ["2 March 2024"]
    assert "runs every forty minutes" in entry.text_content()


@pytest.mark.external
def test_chromium_renders_the_index_with_headlines_and_every_feed(english: Server) -> None:
    dom = dump_dom(english.url + "/")
    assert dom.findtext(".//h1") == "Test Site"
    headlines = [" ".join(a.text_content().split()) for a in dom.xpath("//ol[@class='entries']/li/h3/a")]
    assert headlines == [
        " ".join(HOSTILE_TITLE.split()),
        "Orchard co-operative opens a cold store",
        "Ferry timetable changes for the spring floods",
    ]
    assert not dom.xpath("//script | //img")  # the hostile title and tag are text in the rendered page too
    feeds = {li.findtext("a[@class='name']"): li.findtext("span[@class='count']") for li in dom.xpath("//li")}
    assert feeds["Test Site"] == "3 posts" and feeds["farming"] == "2 posts" and feeds["river"] == "1 post"
    headings = dom.xpath("//h2/text()")
    assert headings[:2] == ["Subscribe", "Latest posts"] and "Categories" in headings and "Tags" in headings


@pytest.mark.external
def test_chromium_renders_a_chinese_site_in_chinese(chinese: Server) -> None:
    dom = dump_dom(chinese.url + "/feeds/categories/farming.json")
    assert dom.get("lang") == "zh-CN"
    text = " ".join(dom.text_content().split())
    assert "分类“farming”下的文章" in text and "复制到 RSS 阅读器" in text
    assert dom.xpath("//time/text()") == ["2024年3月15日", "2024年3月9日"]
    index = dump_dom(chinese.url + "/")
    assert index.xpath("//h2/text()")[:2] == ["订阅", "最新文章"]
    assert {"分类", "标签"} <= set(index.xpath("//h2/text()"))
