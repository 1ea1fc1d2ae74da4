"""Routes and headers through the in-process ASGI client, with the real Builder on real post files."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import brotli
import feedparser
import pytest
from lxml import etree, html
from starlette.testclient import TestClient

from conftest import Clock
from feedcheck import assert_valid
from syndicate.app import FeedsFirst, create_app
from syndicate.config import Settings
from syndicate.formats import FEED_FORMATS


def _front(title: str, date: str, categories: str, tags: str) -> str:
    return f'layout: post\ntitle: "{title}"\ndate: {date}\ncategories: {categories}\ntags: {tags}'


@pytest.fixture
def site(write_post: Callable[..., Path]) -> None:
    write_post("2024-01-10-market.md", _front("Night market reopens", "2024-01-10 19:30:00 +0800", "local", "夜市"))
    write_post(
        "2024-02-11-river.md", _front("River cleanup", "2024-02-11 09:00:00 +0800", "local", "右江日报新闻 环保")
    )
    write_post("2024-03-12-boat.md", _front("Dragon boats", "2024-03-12 08:00:00 +0800", "sports", "右江日报新闻"))
    write_post("2024-04-13-tea.md", _front("Tea fair", "2024-04-13 10:00:00 +0800", "Local", "茶叶"))


@pytest.fixture
def client(site: None, make_settings: Callable[..., Settings], clock: Clock) -> Iterator[TestClient]:
    app = create_app(make_settings(limit=2, admin_token=""), background=False, clock=clock)
    with TestClient(app) as c:
        yield c


FORMAT_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json",
}


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_site_wide_feed_in_each_format(client: TestClient, fmt: str) -> None:
    response = client.get(f"/feeds/all.{fmt}", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"] == FORMAT_TYPES[fmt]
    assert "content-encoding" not in response.headers
    assert_valid(response.content, fmt)
    if fmt == "json":
        titles = [item["title"] for item in json.loads(response.content)["items"]]
    else:
        parsed = feedparser.parse(response.content)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        titles = [entry.title for entry in parsed.entries]
    assert titles == ["Tea fair", "Dragon boats"]  # newest first, limit 2 per document


def test_category_and_tag_feeds_by_slug_raw_name_and_case(client: TestClient) -> None:
    by_slug = client.get("/feeds/categories/local.atom")
    assert by_slug.status_code == 200
    titles = {e.title for e in feedparser.parse(by_slug.content).entries}
    assert titles == {"Tea fair", "River cleanup"}  # "Local" and "local" are one category; limit 2
    assert client.get("/feeds/categories/LOCAL.atom").content == by_slug.content
    tag = "/feeds/tags/" + quote("右江日报新闻") + ".rss"
    response = client.get(tag)
    assert response.status_code == 200
    assert {e.title for e in feedparser.parse(response.content).entries} == {"River cleanup", "Dragon boats"}


def test_archive_pages_and_opml(client: TestClient) -> None:
    opml = client.get("/feeds/index.opml")
    assert opml.status_code == 200
    assert opml.headers["content-type"].startswith("text/x-opml")
    outlines = etree.fromstring(opml.content).findall(".//outline")
    assert outlines, "OPML lists the feeds"
    # 4 posts, 2 per document: older posts are on RFC 5005 archive pages, reached by prev-archive links.
    seen: set[str] = set()
    path = "all.atom"
    for _ in range(10):
        page = client.get("/feeds/" + path)
        assert page.status_code == 200, path
        assert page.headers["content-type"] == FORMAT_TYPES["atom"]
        seen |= {e.title for e in feedparser.parse(page.content).entries}
        prev = [
            link.get("href")
            for link in etree.fromstring(page.content).findall("{http://www.w3.org/2005/Atom}link")
            if link.get("rel") == "prev-archive"
        ]
        if not prev:
            break
        path = prev[0].split("/feeds/", 1)[1]
        assert path.startswith("archive/")
    assert seen == {"Night market reopens", "River cleanup", "Dragon boats", "Tea fair"}


def test_encodings_are_negotiated_with_distinct_etags(client: TestClient) -> None:
    plain = client.get("/feeds/all.rss", headers={"Accept-Encoding": "identity"})
    gz = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"})
    br = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip, br"})
    assert gz.headers["content-encoding"] == "gzip"
    assert br.headers["content-encoding"] == "br"
    assert gz.content == br.content == plain.content  # the client decodes both
    etags = {plain.headers["etag"], gz.headers["etag"], br.headers["etag"]}
    assert len(etags) == 3 and all(e.startswith('"') for e in etags)
    for r in (plain, gz, br):
        assert r.headers["vary"] == "Accept, Accept-Encoding"  # a browser is served the feed's page here
        assert r.headers["cache-control"].startswith("public, max-age=300")
        assert "stale-while-revalidate" in r.headers["cache-control"]
        # when this build published the bytes (the service's clock), not the newest post's date
        assert r.headers["last-modified"] == "Fri, 01 May 2026 12:00:00 GMT"


def test_compressed_bodies_decode_to_the_same_bytes(client: TestClient) -> None:
    # Stream raw bytes so the client does not decode them for us.
    with client.stream("GET", "/feeds/all.atom", headers={"Accept-Encoding": "gzip"}) as r:
        raw_gz = b"".join(r.iter_raw())
    with client.stream("GET", "/feeds/all.atom", headers={"Accept-Encoding": "br"}) as r:
        raw_br = b"".join(r.iter_raw())
    plain = client.get("/feeds/all.atom", headers={"Accept-Encoding": "identity"}).content
    assert gzip.decompress(raw_gz) == plain
    assert brotli.decompress(raw_br) == plain


def test_conditional_get_and_head(client: TestClient) -> None:
    first = client.get("/feeds/all.json")
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    again = client.get("/feeds/all.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert "content-type" not in again.headers and "content-length" not in again.headers
    assert client.get("/feeds/all.json", headers={"If-Modified-Since": last_modified}).status_code == 304
    # If-None-Match takes precedence: a stale ETag means 200 even with a current If-Modified-Since.
    stale = client.get("/feeds/all.json", headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified})
    assert stale.status_code == 200
    head = client.head("/feeds/all.json")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag
    assert head.headers["content-length"] == first.headers["content-length"]


def rebuild(client: TestClient) -> None:
    """A build on the app's event loop, as the watcher would start one."""
    assert client.portal is not None
    assert client.portal.call(client.app.state.service.build_now).ok  # type: ignore[attr-defined]


def modified(response: object) -> datetime:
    return parsedate_to_datetime(response.headers["last-modified"])  # type: ignore[attr-defined]


def test_a_backdated_post_moves_last_modified_so_if_modified_since_gets_it(
    client: TestClient, write_post: Callable[..., Path], clock: Clock
) -> None:
    night_market = "/feeds/tags/" + quote("夜市") + ".atom"  # one post, older than the rest
    before = {path: client.get(path) for path in (night_market, "/feeds/categories/sports.atom", "/")}
    # Republished news keeps its original date: older than every post already in the feed.
    write_post("2023-06-01-archive.md", _front("From the archive", "2023-06-01 08:00:00 +0800", "local", "夜市"))
    clock.advance(90)
    rebuild(client)
    for path in (night_market, "/"):  # the index's counts changed too
        old = before[path]
        new = client.get(path)
        assert new.headers["etag"] != old.headers["etag"]
        assert modified(new) == clock.now > modified(old)
        since = {"If-Modified-Since": old.headers["last-modified"]}
        again = client.get(path, headers=since)
        assert again.status_code == 200, path
        assert client.get(path, headers={"If-Modified-Since": new.headers["last-modified"]}).status_code == 304
    since = {"If-Modified-Since": before[night_market].headers["last-modified"]}
    assert "From the archive" in client.get(night_market, headers=since).text
    # A feed the post is not in keeps its bytes and with them its Last-Modified.
    sports = client.get("/feeds/categories/sports.atom")
    assert sports.headers["last-modified"] == before["/feeds/categories/sports.atom"].headers["last-modified"]


def test_deleting_the_newest_post_does_not_move_last_modified_back(
    client: TestClient, posts_dir: Path, clock: Clock
) -> None:
    old = client.get("/feeds/all.rss")
    (posts_dir / "2024-04-13-tea.md").unlink()
    clock.advance(30)
    rebuild(client)
    new = client.get("/feeds/all.rss")
    assert "Tea fair" in old.text and "Tea fair" not in new.text
    assert modified(new) == clock.now > modified(old)
    assert client.get("/feeds/all.rss", headers={"If-Modified-Since": old.headers["last-modified"]}).status_code == 200


def test_a_future_last_modified_at_is_not_a_future_last_modified(
    site: None, write_post: Callable[..., Path], make_settings: Callable[..., Settings], clock: Clock
) -> None:
    write_post(
        "2024-04-20-future.md",
        _front("Edited in 2099", "2024-04-20 08:00:00 +0800", "local", "x") + "\nlast_modified_at: 2099-01-01 08:00",
    )
    with TestClient(create_app(make_settings(limit=2), background=False, clock=clock)) as c:
        first = c.get("/feeds/all.atom")
        assert "2099-01-01" in first.text  # the entry's updated date is the post's: only the header is the server's
        assert modified(first) == clock.now
        clock.advance(60)
        write_post("2024-04-21-next.md", _front("Next", "2024-04-21 08:00:00 +0800", "local", "x"))
        rebuild(c)
        second = c.get("/feeds/all.atom")
        assert modified(second) == clock.now  # never later than the clock, so never later than Date
        # the change is not hidden behind a Last-Modified in 2099
        since = {"If-Modified-Since": first.headers["last-modified"]}
        assert c.get("/feeds/all.atom", headers=since).status_code == 200


def test_two_changes_within_one_second_are_not_hidden_from_if_modified_since(
    client: TestClient, write_post: Callable[..., Path], clock: Clock
) -> None:
    first = client.get("/feeds/all.json")
    write_post("2024-04-14-a.md", _front("Same second", "2024-04-14 08:00:00 +0800", "local", "x"))
    rebuild(client)  # the clock has not moved: the same Last-Modified, other bytes
    second = client.get("/feeds/all.json")
    assert second.headers["etag"] != first.headers["etag"]
    assert second.headers["last-modified"] == first.headers["last-modified"]
    since = {"If-Modified-Since": first.headers["last-modified"]}
    assert client.get("/feeds/all.json", headers=since).status_code == 200  # the date cannot tell them apart
    assert client.get("/feeds/all.json", headers={"If-None-Match": second.headers["etag"]}).status_code == 304
    # A later build (here a rescan that changes nothing) stamps the bytes again; from then on the date validates.
    clock.advance(1)
    rebuild(client)
    third = client.get("/feeds/all.json")
    assert third.headers["etag"] == second.headers["etag"] and modified(third) == clock.now
    assert client.get("/feeds/all.json", headers=since).status_code == 200
    again = {"If-Modified-Since": third.headers["last-modified"]}
    assert client.get("/feeds/all.json", headers=again).status_code == 304


def test_unknown_feeds_and_traversal_are_plain_404s(client: TestClient) -> None:
    for path in (
        "/feeds/nope.atom",
        "/feeds/categories/nope.atom",
        "/feeds/all.xml",
        "/feeds/../pyproject.toml",
        "/feeds/..%2f..%2fetc%2fpasswd",
        "/feeds/%2e%2e/%2e%2e/etc/passwd",
        "/feeds/all.atom%00",
        "/feeds/categories/%00.atom",
        "/feeds//etc/passwd",
        "/feeds/" + "a" * 5000 + ".atom",
        "/feeds/.syndicate-cache.sqlite3",
        "/feeds/feeds/all.atom",
        "/feeds/all.atom/",
        "/feeds/categories/",
        "/feeds/archive/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/plain")
        assert "Traceback" not in response.text and len(response.text) < 200


def test_odd_methods_are_refused(client: TestClient) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = client.request(method, "/feeds/all.atom")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"


def test_query_feed_intersects_and_caps_limit(client: TestClient, make_settings: Callable[..., Settings]) -> None:
    response = client.get("/feeds/all.atom", params={"category": "local", "tag": "右江日报新闻"})
    assert response.status_code == 200
    assert [e.title for e in feedparser.parse(response.content).entries] == ["River cleanup"]
    assert client.get("/feeds/all.atom?category=local&limit=1").status_code == 200
    one = feedparser.parse(client.get("/feeds/all.atom?category=local&limit=1").content)
    assert [e.title for e in one.entries] == ["Tea fair"]
    # the category feed narrowed by a tag is the same intersection
    narrowed = client.get("/feeds/categories/local.json", params={"tag": "茶叶"})
    assert [i["title"] for i in json.loads(narrowed.content)["items"]] == ["Tea fair"]
    # cached: same ETag, and conditional requests work on query feeds too
    again = client.get("/feeds/all.atom", params={"category": "local", "tag": "右江日报新闻"})
    assert again.headers["etag"] == response.headers["etag"]
    conditional = client.get(
        "/feeds/all.atom",
        params={"category": "local", "tag": "右江日报新闻"},
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert conditional.status_code == 304
    assert client.get("/feeds/all.atom?category=unknown").status_code == 404
    assert client.get("/feeds/all.atom?limit=abc").status_code == 400
    assert client.get("/feeds/all.atom?limit=0").status_code == 400
    assert client.get("/feeds/all.atom?limit=%C2%B2").status_code == 400  # "²" is a digit to str.isdigit()
    assert client.get("/feeds/all.atom?limit=-1").status_code == 400
    assert client.get("/feeds/all.atom?category=local&limit=" + "9" * 5000).status_code == 200
    assert client.get("/feeds/all.atom?category=" + "x" * 5000).status_code == 404
    # unrelated query parameters (cache busters, tracking) serve the static feed
    assert client.get("/feeds/all.atom?utm_source=x").content == client.get("/feeds/all.atom").content


def test_query_feeds_intersect_publications_and_authors_too(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    for day, (source, author) in enumerate([("江畔晚报", "Mei Lin"), ("江畔晚报", "Omar Haddad"), ("Tide", "Mei Lin")]):
        front = _front(f"Post {day}", f"2024-05-0{day + 1} 08:00:00 +0800", "news", "x")
        write_post(f"2024-05-0{day + 1}-p.md", f"{front}\nsource: {source}\nauthor: {author}")
    with TestClient(create_app(make_settings(), background=False)) as c:
        both = c.get("/feeds/all.atom", params={"source": "江畔晚报", "author": "mei lin"})
        assert both.status_code == 200 and [e.title for e in feedparser.parse(both.content).entries] == ["Post 0"]
        narrowed = c.get("/feeds/authors/mei-lin.json", params={"source": "Tide", "category": "news"})
        assert [i["title"] for i in json.loads(narrowed.content)["items"]] == ["Post 2"]
        assert c.get("/feeds/all.atom?author=nobody").text == "Unknown author: 'nobody'.\n"


def test_query_limit_is_capped(write_post: Callable[..., Path], make_settings: Callable[..., Settings]) -> None:
    for day in range(1, 6):
        write_post(f"2024-05-0{day}-p.md", _front(f"Post {day}", f"2024-05-0{day} 08:00:00 +0800", "news", "x"))
    app = create_app(make_settings(query_limit=3), background=False)
    with TestClient(app) as c:
        parsed = feedparser.parse(c.get("/feeds/all.rss?category=news&limit=1000").content)
        assert len(parsed.entries) == 3


def test_index_lists_feeds_with_counts_and_autodiscovery(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    doc = html.fromstring(response.content)
    alternates = {link.get("type"): link.get("href") for link in doc.xpath("//head/link[@rel='alternate']")}
    assert alternates == {
        "application/atom+xml": "/feeds/all.atom",
        "application/rss+xml": "/feeds/all.rss",
        "application/feed+json": "/feeds/all.json",
    }
    listed = {
        li.findtext("a[@class='name']"): li.findtext("span[@class='count']")
        for li in doc.xpath("//ul[@class='feeds']/li")
    }
    # "Local" and "local" are one category, named by the newest post's spelling; the site's language is Chinese
    assert listed["Local"] == "3 篇文章" and listed["右江日报新闻"] == "2 篇文章", listed
    # every link to this server resolves; the headlines link to the posts on the site
    hrefs = doc.xpath("//a/@href")
    for href in hrefs:
        if href.startswith("/"):
            assert client.get(href).status_code == 200, href
        else:
            assert href.startswith("https://news.example.net/"), href
    assert "/feeds/categories/local.html" in hrefs and "/feeds/index.opml" in hrefs
    assert client.get("/", headers={"If-None-Match": response.headers["etag"]}).status_code == 304


def test_the_feeds_directory_answers_with_the_list_of_feeds(client: TestClient) -> None:
    index = client.get("/")
    listing = client.get("/feeds/")
    assert listing.status_code == 200 and listing.headers["content-type"] == "text/html; charset=utf-8"
    assert listing.content == index.content and listing.headers["etag"] == index.headers["etag"]
    assert client.get("/feeds/", params={"tag": "夜市"}).content == index.content  # not a feed: no query feed
    redirect = client.get("/feeds", follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["location"].endswith("/feeds/")
    assert client.get("/feeds").content == index.content
    assert client.get("/feeds/", headers={"If-None-Match": index.headers["etag"]}).status_code == 304
    head = client.head("/feeds/")
    assert head.status_code == 200 and head.content == b""
    assert client.post("/feeds/").status_code == 405
    metrics = client.get("/metrics").text
    # counted once by status, and not as a feed request
    assert 'syndicate_http_requests_total{status="304"} 1\n' in metrics
    assert "syndicate_feed_requests_total 0\n" in metrics


def test_index_has_a_heading_per_kind_the_site_builds(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-05-01-p.md", _front("Dam", "2024-05-01 08:00:00 +0800", "news", "x") + "\nsource: 江畔晚报")
    settings = make_settings(feed_kinds=["category", "source"], language="en")
    with TestClient(create_app(settings, background=False)) as c:
        doc = html.fromstring(c.get("/").content)
        assert doc.xpath("//h2/text()")[2:] == ["All posts", "Categories", "Sources"]
        assert doc.xpath("//a[contains(@href, '/feeds/sources/')]/@href")[0].startswith("/feeds/sources/%E6")
        assert c.get("/feeds/tags/x.atom").status_code == 404  # a kind left out has no feeds


def test_index_escapes_names(write_post: Callable[..., Path], make_settings: Callable[..., Settings]) -> None:
    write_post(
        "2024-06-01-x.md",
        _front("<script>alert(1)</script>", "2024-06-01 08:00:00 +0800", '["<img src=x onerror=alert(1)>"]', "a&b"),
    )
    app = create_app(make_settings(title="<b>Site</b>"), background=False)
    with TestClient(app) as c:
        page = c.get("/").text
    assert "<img" not in page and "<b>Site" not in page and "<script" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;b&gt;Site&lt;/b&gt;" in page


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").text == "ok\n"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True


def test_missing_posts_dir_is_not_ready(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(posts=tmp_path / "nowhere"), background=False)
    with TestClient(app) as c:
        response = c.get("/feeds/all.atom")
        assert response.status_code == 503
        assert "nowhere" not in response.text and "Traceback" not in response.text  # paths are for the operator
        assert c.get("/readyz").status_code == 503
        assert c.get("/healthz").status_code == 200
        # RFC 9110 §10.2.3: every 503 says when to come back; here, when the failed build is tried again.
        for path in ("/feeds/all.atom", "/readyz", "/", "/feeds/"):
            unavailable = c.get(path)
            assert unavailable.status_code == 503, path
            assert 1 <= int(unavailable.headers["retry-after"]) <= 300, path


def test_admin_routes_do_not_exist_without_a_token(client: TestClient) -> None:
    assert client.post("/admin/regenerate").status_code == 404
    assert client.get("/admin/status", headers={"Authorization": "Bearer "}).status_code == 404


def test_websub_link_headers(site: None, make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(hub="http://127.0.0.1:9/hub"), background=False)
    with TestClient(app) as c:
        response = c.get("/feeds/tags/" + quote("夜市") + ".atom")
        not_modified = c.get(response.url, headers={"If-None-Match": response.headers["etag"]})
    expected = (
        '<http://127.0.0.1:9/hub>; rel="hub", <https://news.example.net/feeds/tags/%E5%A4%9C%E5%B8%82.atom>; rel="self"'
    )
    assert response.headers["link"] == expected
    assert not_modified.status_code == 304 and not_modified.headers["link"] == expected


def test_lifespan_runs_watcher_and_scheduler(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-03-01-a.md", _front("A", "2024-03-01 08:00:00 +0800", "local", "x"))
    app = create_app(make_settings(admin_token="app-admin-token-0123"))  # background=True: watcher and scheduler on
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200  # small sites are built before startup completes
        write_post("2024-03-02-b.md", _front("B", "2024-03-02 08:00:00 +0800", "local", "x"))
        end = time.monotonic() + 30
        while {"A", "B"} != {i["title"] for i in c.get("/feeds/all.json").json()["items"]}:
            assert time.monotonic() < end, "the watcher never picked up the new post"
            time.sleep(0.05)
        status = c.get("/admin/status", headers={"Authorization": "Bearer app-admin-token-0123"}).json()
        assert status["next_scheduled_run"] is not None
    assert app.state.service.next_scheduled is None  # stopped with the app


def test_brotli_of_a_rebuilt_large_feed_is_made_for_feeds_clients_read(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    def long_post(day: int) -> None:
        words = " ".join(f"w{day}x{n}" for n in range(1500))
        write_post(f"2024-05-0{day}-long.md", _front(f"Long {day}", f"2024-05-0{day} 10:00:00 +0800", "News", "x"),
                   f"<p>{words}</p>\n")  # fmt: skip

    def wait_for_brotli(c: TestClient, path: str) -> None:
        deadline = time.monotonic() + 30
        while c.get(path, headers={"Accept-Encoding": "br"}).headers.get("content-encoding") != "br":
            assert time.monotonic() < deadline, f"brotli never came for {path}"
            time.sleep(0.02)

    for day in range(1, 5):
        long_post(day)
    app = create_app(make_settings(admin_token=""), background=False)
    with TestClient(app) as c:
        service = app.state.service
        first = c.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip, br"})
        # The first build defers brotli for large feeds too (a start is ready sooner): gzip, then brotli once read.
        assert first.headers["content-encoding"] == "gzip"
        wait_for_brotli(c, "/feeds/all.atom")
        long_post(5)
        assert c.portal is not None
        assert c.portal.call(service.build_now).ok  # a rebuild, on the app's event loop
        # all.atom was read before: brotli follows the swap without another request.
        wait_for_brotli(c, "/feeds/all.atom")
        # all.rss was not: still pending (nothing spent on it) until a client reads it; then brotli comes.
        assert service.snapshot.resources["all.rss"].pending == {"br"}
        asked = c.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip, br"})
        assert asked.headers["content-encoding"] == "gzip" and "Long 5" in asked.text  # the next best, this time
        wait_for_brotli(c, "/feeds/all.rss")
        for path in ("/feeds/all.atom", "/feeds/all.rss"):
            br = c.get(path, headers={"Accept-Encoding": "br"})
            assert br.content == c.get(path, headers={"Accept-Encoding": "identity"}).content and "Long 5" in br.text
        assert service.snapshot.resources["all.json"].pending == {"br"}  # never read
        # Read by a client that takes no brotli: none is made for it.
        assert c.get("/feeds/all.json", headers={"Accept-Encoding": "gzip"}).headers["content-encoding"] == "gzip"
        c.portal.call(service.compressed)
        assert service.snapshot.resources["all.json"].pending == {"br"}


def test_archive_pages_are_prepared_on_request_with_every_encoding_and_validator(client: TestClient) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]
    archived = sorted(p for p in service.snapshot.on_request if p.endswith(".rss"))
    assert archived, "4 posts at 2 per document leave archive pages"
    path = "/feeds/" + archived[0]
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    # Made with identity and gzip; asked for again, brotli follows in the background.
    deadline = time.monotonic() + 30
    while (br := client.get(path, headers={"Accept-Encoding": "gzip, br"})).headers["content-encoding"] != "br":
        assert br.headers["content-encoding"] == "gzip" and time.monotonic() < deadline
        time.sleep(0.02)
    gz = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == br.status_code == gz.status_code == 200
    assert br.headers["content-encoding"] == "br" and gz.headers["content-encoding"] == "gzip"
    assert br.content == gz.content == plain.content  # the client decodes both
    assert feedparser.parse(plain.content).bozo == 0
    etags = {r.headers["etag"] for r in (plain, br, gz)}
    assert len(etags) == 3 and not any(e.startswith("W/") for e in etags)
    again = client.get(path, headers={"Accept-Encoding": "gzip, br", "If-None-Match": br.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == br.headers["etag"]
    head = client.head(path, headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.headers["etag"] == gz.headers["etag"] and head.content == b""
    assert service.metrics.archive_prepared == 1  # prepared once, then served from the cache
    # Case variants of a term's slug reach its archive pages too.
    local = sorted(p for p in service.snapshot.on_request if p.startswith("archive/categories/local/"))
    assert local
    variant = client.get("/feeds/" + local[0].replace("/local/", "/LOCAL/"))
    assert variant.status_code == 200 and variant.content == client.get("/feeds/" + local[0]).content
    assert client.get("/feeds/archive/categories/nope/1.rss").status_code == 404


def test_the_served_app_answers_feeds_directly_and_the_rest_through_starlette(
    site: None, make_settings: Callable[..., Settings]
) -> None:
    app = create_app(make_settings(limit=2, admin_token=""), background=False)
    with TestClient(FeedsFirst(app)) as direct, TestClient(app) as routed:
        for path in ("/feeds/all.atom", "/feeds/categories/local.rss", "/feeds/nope.atom", "/feeds/", "/feeds"):
            a, b = direct.get(path), routed.get(path)
            assert (a.status_code, a.content) == (b.status_code, b.content), path
            assert a.headers.get("etag") == b.headers.get("etag")
        etag = direct.get("/feeds/all.atom").headers["etag"]
        assert direct.get("/feeds/all.atom", headers={"If-None-Match": etag}).status_code == 304
        assert direct.post("/feeds/all.atom").status_code == 405
        assert direct.get("/").status_code == 200 and direct.get("/healthz").text == "ok\n"
        metrics = direct.get("/metrics").text
    # answered directly, the feed handler still counts its own responses (once each)
    assert 'syndicate_http_requests_total{status="405"} 1\n' in metrics
    assert 'syndicate_http_requests_total{status="304"} 1\n' in metrics


def test_cache_lifetime_follows_how_often_each_feed_changes(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    """A feed posted to every 20 minutes may be cached 2 minutes (a tenth), one posted to monthly the longest
    (max_age), and the RSS ttl says the same interval; archive pages, which do not change, archive_max_age."""
    for n, clock_time in enumerate(("10:00", "10:20", "10:40", "11:00")):
        write_post(
            f"2024-05-01-live-{n}.md", _front(f"Update {n}", f"2024-05-01 {clock_time}:00 +0800", "live", "flood")
        )
    write_post("2024-01-01-old.md", _front("Almanac", "2024-01-01 08:00:00 +0800", "history", "flood"))
    write_post("2024-02-01-old.md", _front("Almanac 2", "2024-02-01 08:00:00 +0800", "history", "flood"))
    app = create_app(make_settings(max_age=600, limit=2), background=False)
    with TestClient(app) as c:
        busy, quiet = c.get("/feeds/categories/live.rss"), c.get("/feeds/categories/history.rss")
        archive = c.get("/feeds/archive/categories/live/1.rss")
    assert busy.headers["cache-control"] == "public, max-age=120, stale-while-revalidate=120"
    assert "<ttl>20</ttl>" in busy.text and "<sy:updatePeriod>hourly</sy:updatePeriod>" in busy.text
    assert quiet.headers["cache-control"] == "public, max-age=600, stale-while-revalidate=600"
    assert "<ttl>1440</ttl>" in quiet.text
    assert archive.status_code == 200 and archive.headers["cache-control"].startswith("public, max-age=86400,")
