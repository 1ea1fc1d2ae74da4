from __future__ import annotations

import concurrent.futures
import gc
import gzip
import json
import os
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from conftest import EXAMPLE, SAMPLE_POST, Clock
from feedcheck import assert_valid
from syndicate import _workers, store, summaries
from syndicate import groups as groups_module
from syndicate import render as render_module
from syndicate.archivefiles import ArchiveFiles
from syndicate.builder import Builder, BuildError, Parallelism, gzip_sibling_wanted
from syndicate.config import Settings, load_settings
from syndicate.corpus import next_due
from syndicate.formats import FEED_FORMATS, FORMATS
from syndicate.plan import Planned
from syndicate.posts import Post, in_full, summary_of
from syndicate.scan import scan_post_files
from syndicate.signature import files_signature
from syndicate.store import manifest_entries, read_manifest

A = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"


def example_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"out": tmp_path / "out", "cache": tmp_path / "cache.sqlite3", **overrides}
    return load_settings(EXAMPLE / "syndicate.toml", values, environ={})


def check_all(documents: dict[str, bytes] | None, out: Path) -> int:
    checked = 0
    for path in sorted(out.rglob("*")):
        fmt = path.suffix[1:]
        if fmt not in FORMATS or path.name.startswith("."):
            continue
        data = path.read_bytes()
        assert_valid(data, fmt)
        if fmt != "json":
            parsed = feedparser.parse(data)
            assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        checked += 1
    return checked


def test_example_site_builds_valid_feeds_for_every_term(tmp_path: Path) -> None:
    settings = example_settings(tmp_path)
    report = Builder(settings).build()
    out = settings.out
    assert report.rejected == ()
    assert report.posts >= 15
    cats = {p.stem for p in (out / "categories").glob("*.atom")}
    tags = {p.stem for p in (out / "tags").glob("*.atom")}
    sources = {p.stem for p in (out / "sources").glob("*.atom")}
    authors = {p.stem for p in (out / "authors").glob("*.atom")}
    assert cats and tags and "右江日报新闻" in tags and "右江日报" in sources and authors
    for d in ("categories", "tags", "sources", "authors"):
        stems = {p.stem for p in (out / d).iterdir() if p.suffix != ".gz"}
        for stem in stems:
            for fmt in FEED_FORMATS:
                assert (out / d / f"{stem}.{fmt}").is_file()
    assert check_all(None, out) == 3 * (1 + len(cats) + len(tags) + len(sources) + len(authors))
    # feed updated = the newest entry's, never the build time
    atom = feedparser.parse((out / "all.atom").read_bytes())
    newest = max(e.updated_parsed for e in atom.entries)
    assert atom.feed.updated_parsed == newest


def sample_site(tmp_path: Path, posts_dir: Path) -> Settings:
    shutil.copy(SAMPLE_POST, posts_dir)
    return load_settings(
        None,
        {
            "posts": posts_dir,
            "out": tmp_path / "out",
            "url": "https://finews.example.com",
            "timezone": "Asia/Shanghai",
            "title": "Finews",
            "cache": tmp_path / "cache.sqlite3",
        },
        environ={},
    )


def test_sample_post_attribution_in_every_format(tmp_path: Path, posts_dir: Path) -> None:
    settings = sample_site(tmp_path, posts_dir)
    Builder(settings).build()
    out = settings.out
    original = "http://www.yjrb.example/html_News/NewsShare.html?infoCode=NW202112240851300417"
    tag_slug = "右江日报新闻"
    for feed in ("all", "categories/youjiangribao", f"tags/{tag_slug}"):
        atom = etree.fromstring((out / f"{feed}.atom").read_bytes())
        entry = atom.find(f"{A}entry")
        assert entry is not None
        links = entry.findall(f"{A}link")
        # feedgen #135 regression guard: exactly one alternate, and the via link keeps its rel
        assert [link.get("rel", "alternate") for link in links].count("alternate") == 1
        via = [link for link in links if link.get("rel") == "via"]
        assert len(via) == 1 and via[0].get("href") == original and via[0].get("title") == "右江日报"
        assert entry.findtext(f"{A}source/{A}title") == "右江日报"
        content = entry.find(f"{A}content")
        assert content is not None and content.get("type") == "html"
        html = content.text or ""
        assert "（文章来源：右江日报）" in html  # the visible attribution paragraph stays
        assert original.replace("&", "&amp;") in html or original in html  # original link kept
        assert "返回首页" not in html and "//finews.example.com/" not in html  # site chrome removed

        rss = etree.fromstring((out / f"{feed}.rss").read_bytes())
        source = rss.find("channel/item/source")
        assert source is not None and source.get("url") == original and source.text == "右江日报"

        item = json.loads((out / f"{feed}.json").read_text())["items"][0]
        assert item["external_url"] == original
        assert item["_source"] == {"name": "右江日报", "url": original}

        parsed = feedparser.parse((out / f"{feed}.atom").read_bytes())
        assert parsed.bozo == 0 and parsed.entries[0].source.title == "右江日报"
    # ids and links are URIs: the Chinese tag is percent-encoded
    assert "tags/%E5%8F%B3%E6%B1%9F" in (out / f"tags/{tag_slug}.atom").read_text()


# Own articles, each with something that used to be mistaken for site chrome or for a source.
OWN_POSTS = {
    "2024-05-01-timetable.md": (
        "The ferry timetable changes on Monday.\n\nThe full timetable is in the attached PDF.\n\n"
        "[Download the timetable (PDF)](/files/timetable-2024.pdf)\n",
        "https://news.example.net/files/timetable-2024.pdf",
    ),
    "2024-05-02-flood-3.md": (
        "<p>防汛系列报道第三篇。</p>\n\n本系列其他文章：\n\n- [防汛系列报道（一）](/2024/03/01/flood-1.html)\n"
        "- [防汛系列报道（二）](/2024/03/15/flood-2.html)\n",
        "https://news.example.net/2024/03/15/flood-2.html",
    ),
    "2024-05-03-roundup.md": (
        "Weekly roundup.\n\n[Harbour reopens](/2024/04/29/harbour.html)\n\n[Budget passes](/2024/04/30/budget.html)\n\n"
        "[Ferry changes](/2024/05/01/ferry.html)\n",
        "https://news.example.net/2024/05/01/ferry.html",
    ),
    "2024-05-04-dam.md": (
        '<p>堤坝加固工程完工。</p>\n<p><img src="/img/dam.jpg" alt="堤坝"></p>\n<p>图片来源：网络</p>\n',
        "图片来源：网络",
    ),
    "2024-05-05-gdp.md": (
        "<p>今年一季度全市生产总值同比增长5.2%。</p>\n\n数据来源：国家统计局 <https://www.stats.gov.cn/sj/zxfb/>\n\n"
        "[返回首页](/)\n",
        "数据来源",
    ),
    "2024-05-06-budget.md": (
        "The council will spend more on roads.\n\n"
        "Source: council budget documents, pages 4-9 <https://council.example/budget-2024.pdf>\n",
        "https://council.example/budget-2024.pdf",
    ),
}


def test_own_posts_keep_their_endings_and_carry_no_source(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    for name, (body, _kept) in OWN_POSTS.items():
        write_post(name, f"title: {name[11:-3]}", body)
    settings = make_settings()
    Builder(settings).build()
    out = settings.out
    atom = etree.fromstring((out / "all.atom").read_bytes())
    entries = {str(e.findtext(f"{A}title")): e for e in atom.findall(f"{A}entry")}
    assert len(entries) == len(OWN_POSTS)
    for name, (_body, kept) in OWN_POSTS.items():
        entry = entries[name[11:-3]]
        assert entry.find(f"{A}source") is None, name
        assert [link.get("rel", "alternate") for link in entry.findall(f"{A}link")] == ["alternate"], name
        assert kept in (entry.findtext(f"{A}content") or ""), name
    rss = etree.fromstring((out / "all.rss").read_bytes())
    assert rss.findall("channel/item/source") == []
    items = json.loads((out / "all.json").read_text())["items"]
    assert len(items) == len(OWN_POSTS)
    assert [key for item in items for key in item if key in {"external_url", "_source"}] == []
    assert check_all(None, out) > 0


def test_identical_input_gives_byte_identical_output(tmp_path: Path) -> None:
    a = example_settings(tmp_path / "a", cache="off")
    b = example_settings(tmp_path / "b")
    Builder(a).build()
    Builder(b).build()
    files_a = sorted(p.relative_to(a.out) for p in a.out.rglob("*") if p.is_file() and not p.name.startswith("."))
    files_b = sorted(p.relative_to(b.out) for p in b.out.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert files_a == files_b and files_a
    for rel in files_a:
        assert (a.out / rel).read_bytes() == (b.out / rel).read_bytes(), rel


def test_failed_write_leaves_previous_feeds(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_post: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    write_post("2024-01-01-one.md", "title: One\ntags: a")
    settings = make_settings()
    builder = Builder(settings)
    builder.build()
    before = {p: p.read_bytes() for p in settings.out.rglob("*") if p.is_file()}
    write_post("2024-01-02-two.md", "title: Two\ntags: a b")
    calls = {"n": 0}
    real = store._write_temp

    def failing(target: Path, body: bytes) -> str:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(target, body)

    monkeypatch.setattr(store, "_write_temp", failing)
    with pytest.raises(BuildError, match="No space left"):
        builder.build()
    after = {p: p.read_bytes() for p in settings.out.rglob("*") if p.is_file()}
    assert after == before  # nothing replaced, no temporary files left behind
    assert b"Two" not in builder.documents["all.atom"].body  # the served snapshot is the old one too
    monkeypatch.setattr(store, "_write_temp", real)
    builder.build()
    assert b"Two" in (settings.out / "all.atom").read_bytes()


def test_incremental_build_touches_only_affected_feeds(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-one.md", "title: One\ncategories: x\ntags: a")
    p2 = write_post("2024-01-02-two.md", "title: Two\ncategories: y\ntags: b")
    settings = make_settings()
    builder = Builder(settings)
    builder.build()
    p2.write_text(p2.read_text().replace("title: Two", "title: Two edited"))
    report = builder.build([p2])
    assert report.parsed == 1
    # the feeds of the post, their pages for people, and the index (which lists the latest headlines)
    assert {p.rsplit(".", 1)[0] for p in report.written} == {"all", "categories/y", "tags/b", "index"}
    assert {"all.html", "categories/y.html", "tags/b.html", "index.html"} <= report.written
    assert b"Two edited" in (settings.out / "tags/b.rss").read_bytes()
    # deleting a post removes it, and a term that disappears loses its feed files
    p2.unlink()
    report = builder.build([p2])
    assert "tags/b.atom" in report.removed and not (settings.out / "tags/b.atom").exists()
    assert b"Two" not in (settings.out / "all.atom").read_bytes()


def test_archives_are_rfc5005_pages_that_do_not_change(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    for day in range(1, 9):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: Post {day}\ntags: t")
    settings = make_settings(limit=3)
    builder = Builder(settings)
    builder.build()
    out = settings.out
    current = etree.fromstring((out / "tags/t.atom").read_bytes())
    assert [e.findtext(f"{A}title") for e in current.findall(f"{A}entry")] == ["Post 8", "Post 7", "Post 6"]
    prev = [link.get("href") for link in current.findall(f"{A}link") if link.get("rel") == "prev-archive"]
    assert prev == ["https://news.example.net/feeds/archive/tags/t/2.atom"]
    page2 = etree.fromstring((out / "archive/tags/t/2.atom").read_bytes())
    assert page2.find(f"{FH}archive") is not None
    assert [e.findtext(f"{A}title") for e in page2.findall(f"{A}entry")] == ["Post 6", "Post 5", "Post 4"]
    rels = {link.get("rel"): link.get("href") for link in page2.findall(f"{A}link")}
    assert rels["current"].endswith("/feeds/tags/t.atom") and rels["prev-archive"].endswith("/archive/tags/t/1.atom")
    assert json.loads((out / "tags/t.json").read_text())["next_url"].endswith("/archive/tags/t/2.json")
    for path in out.rglob("*.*"):
        if path.suffix.removeprefix(".") in FORMATS and not path.name.startswith("."):
            assert_valid(path.read_bytes(), path.suffix[1:])
    page1 = (out / "archive/tags/t/1.atom").read_bytes()
    write_post("2024-01-09-p9.md", "title: Post 9\ntags: t")
    builder.build()
    assert (out / "archive/tags/t/1.atom").read_bytes() == page1
    assert (out / "archive/tags/t/3.atom").is_file()  # 9 posts: three full pages


def test_warm_start_reads_and_writes_nothing(tmp_path: Path) -> None:
    settings = example_settings(tmp_path)
    first = Builder(settings).build()
    assert first.parsed > 0
    second = Builder(settings).build()
    assert second.parsed == 0 and second.written == frozenset()
    assert second.posts == first.posts


def test_future_and_unpublished_posts_are_left_out(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-now.md", "title: Now")
    write_post("2099-01-01-later.md", "title: Later")
    write_post("2024-01-02-draft.md", "title: Draft\npublished: false")
    clock = lambda: datetime(2030, 1, 1, tzinfo=UTC)  # noqa: E731
    builder = Builder(make_settings(), clock=clock)
    builder.build()
    assert [in_full(p).title for p in builder.posts] == ["Now"]
    builder = Builder(make_settings(future=True, cache="off"), clock=clock)
    builder.build()
    assert [in_full(p).title for p in builder.posts] == ["Later", "Now"]


def test_rejected_posts_do_not_stop_the_others(
    write_post: Callable[..., Path], posts_dir: Path, make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-good.md", "title: Good\ntags: ok")
    (posts_dir / "2024-01-02-bad.md").write_text("---\ntitle: [broken\n---\n")
    (posts_dir / "2024-01-03-empty.md").write_text("")
    report = Builder(make_settings()).build()
    assert report.posts == 1
    assert {r.path for r in report.rejected} == {"2024-01-02-bad.md", "2024-01-03-empty.md"}


def test_dates_past_the_ends_of_the_utc_range_cost_their_post_and_the_ends_themselves_build(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(timezone="America/New_York", future=True)
    write_post("2024-02-02-good.md", "title: Good\ndate: 2024-02-02 10:00:00 +0800")
    builder = Builder(settings)
    builder.build()
    # Arriving between builds, as in a server. Their UTC instants are past year 9999 or before year 1, which
    # stopped every build (OverflowError converting them to UTC); the other posts must still be published.
    write_post(
        "2024-02-01-lm.md", "title: Typo\ndate: 2024-02-01 10:00 +0800\nlast_modified_at: 9999-12-31 23:59:59 -1200"
    )
    write_post("0001-01-01-east.md", "title: East\ndate: 0001-01-01 00:00:00 +0800")
    # The very ends, which must build: year 1 in New York's local mean time (-04:56:02, written in UTC), year 9999.
    write_post("first.md", "title: First\ndate: 0001-01-01\ntags: ends")
    write_post("zero.md", "title: Zero\ndate: 0001-01-01 00:00 Z\ntags: ends")
    write_post("last.md", "title: Last\ndate: 9999-12-31 23:59:59.999999 Z\ntags: ends")
    write_post("late.md", "title: Late\ndate: 2024-02-03\nlast_modified_at: 9999-12-31 12:00 -1100\ntags: ends")
    write_post("2024-02-04-new.md", "title: New\ndate: 2024-02-04 10:00:00 +0800")
    report = builder.build()
    reasons = {r.path: r.reason for r in report.rejected}
    assert reasons.keys() == {"2024-02-01-lm.md", "0001-01-01-east.md"}
    assert (
        "'last_modified_at'" in reasons["2024-02-01-lm.md"]
        and "'0001-01-01 00:00:00 +0800'" in reasons["0001-01-01-east.md"]
    )
    assert [in_full(p).title for p in builder.posts] == ["Last", "New", "Late", "Good", "First", "Zero"]
    assert check_all(None, settings.out) == 3 * 2  # the site-wide feed and the tag's: checked, feedparser clean
    atom = etree.fromstring((settings.out / "tags/ends.atom").read_bytes())
    assert atom.findtext(f"{A}updated") == "9999-12-31T23:59:59.999999+00:00"
    published = [e.findtext(f"{A}published") for e in atom.iter(f"{A}entry")]
    assert published == ["9999-12-31T23:59:59.999999+00:00", "2024-02-03T00:00:00-05:00",
                         "0001-01-01T04:56:02+00:00", "0001-01-01T00:00:00+00:00"]  # fmt: skip
    rss = etree.fromstring((settings.out / "tags/ends.rss").read_bytes())
    assert rss.findtext("channel/lastBuildDate") == "Fri, 31 Dec 9999 23:59:59 +0000"
    assert rss.findtext("channel/item[last()]/pubDate") == "Mon, 01 Jan 0001 00:00:00 +0000"
    items = json.loads((settings.out / "tags/ends.json").read_bytes())["items"]
    assert [i["date_modified"] for i in items][1:3] == ["9999-12-31T12:00:00-11:00", "0001-01-01T04:56:02+00:00"]


def test_empty_directory_gives_valid_empty_feeds(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    report = Builder(settings).build()
    assert report.posts == 0
    for fmt in FEED_FORMATS:
        assert_valid((settings.out / f"all.{fmt}").read_bytes(), fmt)


def test_missing_posts_directory_is_a_build_error(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(BuildError, match="cannot be read"):
        Builder(make_settings(posts=tmp_path / "nope")).build()


def test_query_intersects_categories_and_tags(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-a.md", "title: A\ncategories: News\ntags: [x, y]")
    write_post("2024-01-02-b.md", "title: B\ncategories: news\ntags: x")
    write_post("2024-01-03-c.md", "title: C\ncategories: other\ntags: x")
    builder = Builder(make_settings())
    builder.build()
    doc = builder.query(terms={"category": ["news"], "tag": ["x"]}, limit=10, fmt="atom")
    assert [e.title for e in feedparser.parse(doc.body).entries] == ["B", "A"]
    doc = builder.query(terms={"category": ["NEWS"], "tag": ["y"]}, limit=10, fmt="json")
    assert [i["title"] for i in json.loads(doc.body)["items"]] == ["A"]
    assert builder.feedset.resolve("category", "NEWS") is builder.feedset.resolve("category", "news")


def test_names_sharing_a_slug_share_a_feed(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-a.md", "title: A\ntags: [AI]")
    write_post("2024-01-02-b.md", "title: B\ntags: [ai]")
    builder = Builder(make_settings())
    builder.build()
    feeds = [f for f in builder.feeds if f.kind == "tag"]
    assert [(f.slug, f.count, f.name) for f in feeds] == [("ai", 2, "ai")]


def test_query_feed_links_to_itself(write_post: Callable[..., Path], make_settings: Callable[..., Settings]) -> None:
    write_post("2024-01-01-a.md", "title: A\ncategories: 新闻\ntags: x")
    builder = Builder(make_settings())
    builder.build()
    doc = builder.query(terms={"category": ["新闻"], "tag": ["x"]}, limit=5, fmt="atom")
    assert_valid(doc.body, "atom")
    root = etree.fromstring(doc.body)
    self_link = next(link.get("href") for link in root.findall(f"{A}link") if link.get("rel") == "self")
    assert self_link == "https://news.example.net/feeds/all.atom?category=%E6%96%B0%E9%97%BB&tag=x&limit=5"
    assert root.findtext(f"{A}id") == self_link
    feed = json.loads(builder.query(terms={"category": [], "tag": ["x"]}, limit=5, fmt="json").body)
    assert feed["feed_url"] == "https://news.example.net/feeds/all.json?tag=x&limit=5"


def test_worker_processes_give_the_same_feeds_and_a_broken_pool_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = example_settings(tmp_path / "serial", cache="off")
    Builder(serial).build()
    two = Parallelism(workers=2, parse_from=2, render_from=2)
    parallel = example_settings(tmp_path / "parallel", cache="off")
    assert Builder(parallel, parallelism=two).build().parsed > 2

    def no_pool(workers: int) -> object:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(_workers, "process_pool", no_pool)
    fallback = example_settings(tmp_path / "fallback", cache="off")
    Builder(fallback, parallelism=two).build()
    for path in sorted(serial.out.rglob("*.atom")):
        rel = path.relative_to(serial.out)
        assert (parallel.out / rel).read_bytes() == path.read_bytes() == (fallback.out / rel).read_bytes()


def test_archive_pages_are_kept_out_of_memory_and_load_the_same_bytes(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    for day in range(1, 8):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: Post {day}\ntags: t")
    settings = make_settings(limit=2)
    builder = Builder(settings)
    builder.build()
    archive = {p: d for p, d in builder.documents.items() if p.startswith("archive/")}
    assert archive and not any(d.loaded for d in archive.values())
    assert all(d.loaded for p, d in builder.documents.items() if not p.startswith("archive/"))
    reference = Builder(make_settings(limit=2, cache="off", out=tmp_path / "ref"))
    reference.build()
    for path, doc in archive.items():
        assert doc.body == reference.documents[path].body == (settings.out / path).read_bytes()
    # an output file changed or removed behind our back (and no bytes in the cache): rendered again, identically
    assert builder.cache is not None
    builder.cache.prune(set(), set())
    first, second = sorted(archive)[:2]
    (settings.out / first).write_bytes(b"tampered")
    (settings.out / second).unlink()
    for path, doc in archive.items():
        assert doc.body == reference.documents[path].body
    # archive pages are written once, not also stored in the cache
    assert builder.cache.get_documents(builder.feedset.keys[p] for p in archive) == {}


def test_unchanged_rescans_render_nothing_but_time_and_deleted_files_count(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_post("2024-01-01-now.md", "title: Now\ntags: t")
    later = write_post("2030-01-01-later.md", "title: Later\ntags: t")
    now = {"t": datetime(2025, 1, 1, tzinfo=UTC)}
    settings = make_settings()
    builder = Builder(settings, clock=lambda: now["t"])
    builder.build()
    renders = {"n": 0}
    real = render_module.render_page

    def counting(*args: object, **kwargs: object) -> object:
        renders["n"] += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render_module, "render_page", counting)
    later.write_text(later.read_text())  # saved without changes: new mtime, same bytes
    assert builder.build([later]).written == frozenset() and builder.build().written == frozenset()
    assert renders["n"] == 0
    (settings.out / "tags/t.rss").unlink()
    assert "tags/t.rss" in builder.build().written  # a full rescan restores a file deleted by hand
    now["t"] = datetime(2031, 1, 1, tzinfo=UTC)
    report = builder.build()
    assert report.posts == 2 and b"Later" in (settings.out / "all.atom").read_bytes()


@pytest.mark.parametrize("seed", range(3))
def test_incremental_builds_equal_a_fresh_build(
    seed: int, write_post: Callable[..., Path], posts_dir: Path, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """Edits, additions and removals through partial builds (which take unchanged archive pages over from the
    previous build) give the same documents as one fresh build of the final directory."""
    import random

    rng = random.Random(seed)
    terms = ["a", "b", "c", "中文"]
    settings = make_settings(limit=2)
    builder = Builder(settings)
    for day in range(1, 13):
        write_post(f"2024-01-{day:02d}-p{day}.md", f"title: P{day}\ntags: [{rng.choice(terms)}, {rng.choice(terms)}]")
    builder.build()
    for step in range(12):
        day = rng.randint(1, 20)
        path = posts_dir / f"2024-01-{day:02d}-p{day}.md"
        action = rng.choice(["edit", "edit", "retitle", "retitle", "remove"]) if path.exists() else "add"
        if action == "remove":
            path.unlink()
        elif action == "retitle":  # same terms, so the last render's groups are reused with this post swapped in
            tags = next(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("tags:"))
            write_post(path.name, f"title: P{day} v{step}\n{tags}")
        else:
            write_post(path.name, f"title: P{day} v{step}\ntags: [{rng.choice(terms)}]")
        builder.build([path] if step % 3 else None)  # partial builds, and every third a full rescan
        fresh = Builder(make_settings(limit=2, out=tmp_path / f"fresh{step}", cache="off"), write=False)
        fresh.build()
        assert set(builder.documents) == set(fresh.documents)
        for name, doc in fresh.documents.items():
            assert builder.documents[name].body == doc.body, (step, action, name)
            assert (settings.out / name).read_bytes() == doc.body, (step, action, name)


def _random_front(rng: Any, n: int, step: int) -> str:
    """A post's front matter with terms of every kind drawn from small pools (so feeds gain and lose posts), dated
    in the past or (now and then) in the months ahead, now and then unpublished or with another post's URL."""
    pick = lambda pool: rng.sample(pool, rng.randint(0, 2))  # noqa: E731
    year, month = (2026, rng.randint(5, 8)) if rng.random() < 0.15 else (2024, rng.randint(1, 3))
    lines = [
        f"title: Post {n} v{step}",
        f"date: {year}-0{month}-{rng.randint(10, 28)} {rng.randint(10, 23)}:00:00 +0800",
        f"categories: [{', '.join(pick(['news', 'sport', 'Sport', '区域']))}]",
        f"tags: [{', '.join(pick(['a', 'b', 'B', '中文']))}]",
    ]
    if rng.random() < 0.4:
        lines.append(f"source: {rng.choice(['River Post', 'RIVER POST', 'Hill Daily'])}")
    if rng.random() < 0.4:
        lines.append(f"author: {rng.choice(['Mei Lin', 'mei lin', 'Omar Haddad'])}")
    if rng.random() < 0.08:
        lines.append("published: false")
    if rng.random() < 0.15:  # one URL, several posts: the oldest keeps it
        lines.append(f"permalink: /shared/{rng.randint(0, 1)}.html")
    return "\n".join(lines)


def _page_of(planned: Planned) -> tuple[object, ...]:
    """What a planned page is made of: its place among the pages and its posts (as paths and file hashes)."""
    page = planned.page
    posts = [(e.post.path, e.post.digest, e.content) for e in page.entries]
    return (
        planned.fmt,
        planned.key,
        page.feed,
        page.title,
        page.path,
        page.current,
        page.prev_archive,
        page.archive,
        posts,
    )


@pytest.mark.parametrize("on_request", [False, True], ids=["export", "server"])
@pytest.mark.parametrize("seed", range(3))
def test_random_changes_through_incremental_builds_equal_a_build_from_scratch_after_every_step(
    seed: int,
    on_request: bool,
    write_post: Callable[..., Path],
    posts_dir: Path,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    """Posts added, edited, retitled, re-tagged, moved in time, dated in the future, unpublished and removed, one
    or many at a time, through incremental builds (groups patched, plans taken over; a server's builds leave archive
    pages to requests): after every step the groups, the plan and every document equal a build from scratch, and
    the files on disk are its bytes."""
    import random

    rng = random.Random(seed)
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))  # moves on: posts dated ahead come due
    settings = make_settings(limit=3)
    archives = ArchiveFiles(settings.out, None) if on_request else None
    builder = Builder(settings, clock=clock, cache=False, archives=archives)
    for n in range(30):
        write_post(f"p{n}.md", _random_front(rng, n, 0))
    builder.build()
    for step in range(1, 25):
        changed = []
        for _ in range(rng.choice([1, 1, 1, 2, 3, 12])):
            n = rng.randint(0, 40)
            path = posts_dir / f"p{n}.md"
            if path.exists() and rng.random() < 0.25:
                path.unlink()
            elif path.exists() and rng.random() < 0.4:  # retitled only: the same terms and date
                kept = [line for line in path.read_text(encoding="utf-8").splitlines()[1:-2] if ":" in line]
                write_post(path.name, "\n".join([f"title: Post {n} retitled {step}", *kept[1:]]))
            else:
                write_post(path.name, _random_front(rng, n, step))
            changed.append(path)
        if rng.random() < 0.3:
            clock.advance(rng.randint(1, 20) * 86400)
        builder.build(changed if step % 5 else None)  # every fifth a full rescan
        fresh = Builder(make_settings(limit=3, out=tmp_path / f"fresh{step}", cache="off"), clock=clock)
        fresh.build()
        made, want = builder.feedset, fresh.feedset
        assert (made.rejected, made.unpublished, made.scheduled) == (want.rejected, want.unpublished, want.scheduled)
        assert [(g.feed, [p.path for p in g.posts]) for g in made.groups.members] == [
            (g.feed, [p.path for p in g.posts]) for g in want.groups.members
        ], step
        assert [[p.digest for p in g.posts] for g in made.groups.members] == [
            [p.digest for p in g.posts] for g in want.groups.members
        ]
        assert made.groups.index == want.groups.index
        # A server's plan renders no archive page: they are made from the groups when asked for (plan.ArchiveDocuments).
        assert [(p.path, p.key) for p in made.plan.documents] == [
            (p.path, p.key) for p in want.plan.documents if not (on_request and p.page.archive)
        ]
        assert {p: _page_of(d) for p, d in made.plan.archives.items()} == {
            p.path: _page_of(p) for p in want.plan.documents if p.page.archive
        }, step
        assert made.plan.subscribed == want.plan.subscribed and set(made.plan.archives) == set(want.plan.archives)
        # The plan's maps by path, patched from the last plan's where feeds changed, are those of every document.
        assert made.plan.keys == {p.path: p.key for p in want.plan.documents}, step
        assert {p: d.key for p, d in made.plan.archives.items()} == {
            p.path: p.key for p in want.plan.documents if p.page.archive
        }, step
        wanted = {p: d for p, d in want.documents.items() if not (on_request and p.startswith("archive/"))}
        assert {p: d.digest for p, d in made.documents.items()} == {p: d.digest for p, d in wanted.items()}
        assert {p: planned.key for p, planned in made.on_request.items()} == (
            {p.path: p.key for p in want.plan.documents if p.page.archive} if on_request else {}
        )
        files = {str(f.relative_to(settings.out)) for f in settings.out.rglob("*.*") if not f.name.startswith(".")}
        siblings = {name for name in files if name.endswith(".gz")}
        assert files - siblings == set(wanted), step
        assert siblings == {f"{p}.gz" for p in wanted if gzip_sibling_wanted(p)}, step
        # The manifest lists exactly these files, though incremental builds compare only the paths they changed.
        assert read_manifest(settings.out) == manifest_entries(made.documents, gzip_sibling_wanted), step
        # What a server records for its next start to compare with its scan (resume.py), kept from the changed files;
        # and the bound on when the next scheduled post comes due, never after it.
        scanned = ((rel, st.st_size, st.st_mtime_ns) for _, rel, st in scan_post_files(settings.posts))
        assert made.signature == files_signature(scanned), step
        due = next_due(made.records, clock().timestamp())
        assert due is None or made.visible.due <= due, step
        for name, doc in wanted.items():
            assert (settings.out / name).read_bytes() == doc.body, (step, name)
            if f"{name}.gz" in siblings:
                assert gzip.decompress((settings.out / f"{name}.gz").read_bytes()) == doc.body, (step, name)


def test_archive_entries_rendered_again_after_eviction_are_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real = render_module.entry_fragment

    def counting(post: Post, content: str | None, fmt: str) -> bytes:
        nonlocal calls
        calls += 1
        return real(post, content, fmt)

    monkeypatch.setattr(render_module, "entry_fragment", counting)
    roomy = Builder(example_settings(tmp_path / "a", limit=2, cache="off"), write=False)
    roomy.build()
    roomy_calls, calls = calls, 0
    monkeypatch.setattr(render_module, "entry_memo_room", lambda feeds, limit: 2)
    tight = Builder(example_settings(tmp_path / "b", limit=2, cache="off"), write=False)
    tight.build()
    assert calls > roomy_calls  # entries were evicted and rendered again
    assert {p: d.body for p, d in tight.documents.items()} == {p: d.body for p, d in roomy.documents.items()}


def test_a_build_that_holds_nothing_writes_the_same_and_loads_the_same(tmp_path: Path) -> None:
    held = Builder(example_settings(tmp_path / "held", limit=3))
    held.build()
    settings = example_settings(tmp_path / "lean", limit=3)
    lean = Builder(settings, hold=False)
    lean.build()
    files = sorted(p.relative_to(settings.out) for p in settings.out.rglob("*.*") if not p.name.startswith("."))
    assert files and files == sorted(
        p.relative_to(held.settings.out) for p in held.settings.out.rglob("*.*") if not p.name.startswith(".")
    )
    for rel in files:
        assert (settings.out / rel).read_bytes() == (held.settings.out / rel).read_bytes(), rel
    feeds = [p for p in lean.documents if p.rpartition(".")[2] in FORMATS]
    assert feeds and not any(lean.documents[p].loaded for p in feeds)
    for path in feeds:
        assert lean.documents[path].body == held.documents[path].body
    # The next process (a server) finds the subscription documents in the cache: it renders nothing.
    rendered: list[str] = []
    real = render_module.render_page
    server = Builder(settings)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(render_module, "render_page", lambda *a, **k: rendered.append(a[1].path) or real(*a, **k))
        server.build()
    assert rendered == []
    assert {p: d.body for p, d in server.documents.items()} == {p: d.body for p, d in held.documents.items()}


def test_subscription_documents_written_are_read_back_from_their_files_not_the_cache(tmp_path: Path) -> None:
    reference = Builder(example_settings(tmp_path / "ref", limit=3, cache="off"))
    reference.build()
    expected = {p: d.body for p, d in reference.documents.items()}
    settings = example_settings(tmp_path / "site", limit=3)
    lean = Builder(settings, hold=False)
    lean.build()
    subscriptions = [p for p in lean.documents if p.rpartition(".")[2] in FORMATS and "archive/" not in p]
    assert lean.cache is not None and subscriptions
    # Written to the output directory: the cache has their digests, not their bytes.
    assert lean.cache.get_documents(lean.feedset.keys[p] for p in subscriptions) == {}
    assert set(lean.cache.get_digests(lean.feedset.keys[p] for p in subscriptions).values()) == {
        lean.documents[p].digest for p in subscriptions
    }
    # A file changed or removed behind our back: loaded again as the build rendered it, full content included.
    tampered, removed = sorted(p for p in subscriptions if p.endswith(".atom"))[:2]
    (settings.out / tampered).write_bytes(b"tampered")
    (settings.out / removed).unlink()
    assert b"<content" in expected[tampered] and b"<content" in expected[removed]
    assert lean.documents[tampered].body == expected[tampered] and lean.documents[removed].body == expected[removed]
    # The server's warm start reads the good files back and renders only what it could not read.
    server = Builder(settings)
    server.build()
    assert {p: d.body for p, d in server.documents.items()} == expected
    assert all(server.documents[p].loaded for p in subscriptions)


def test_builds_leave_no_cyclic_garbage(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    # The server freezes what a build made (service._freeze_heap), which is only safe if builds make no reference
    # cycles: a cycle frozen after it became garbage would never be collected.
    for day in range(1, 9):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: Post {day}\ntags: [t, u{day % 3}]\ncategories: c{day % 2}")
    builder = Builder(make_settings(limit=3))
    builder.build()
    gc.collect()
    gc.disable()
    try:
        new = write_post("2024-01-09-new.md", "title: New\ntags: t")
        builder.build([new])
        new.write_text("---\ntitle: Changed\ndate: 2024-01-09\ntags: [t, v]\n---\nBody\n", encoding="utf-8")
        builder.build([new])
        broken = write_post("2024-01-10-broken.md", "title: [unclosed")
        builder.build([broken])
        new.unlink()
        builder.build([new])
        builder.build()
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_summaries_are_kept_out_of_memory_and_the_documents_are_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # parsed in worker processes, archive pages in forked workers
    two = Parallelism(workers=2, parse_from=2, archive_from=1)
    held = Builder(example_settings(tmp_path / "held", limit=2), parallelism=two, summaries_out=False)
    held.build()
    assert all(p.summary_at < 0 for p in held.posts)
    by_path = {p.path: p for p in held.posts}
    for hold in (False, True):  # a one-shot build, and a server's
        settings = example_settings(tmp_path / f"lean-{hold}", limit=2)
        lean = Builder(settings, hold=hold, parallelism=two)
        assert lean.build().parsed > 2
        kept_out = [p for p in lean.posts if p.summary_at >= 0]
        assert kept_out and all(p.summary == "" for p in kept_out)
        assert all(summary_of(p) == by_path[p.path].summary != "" for p in kept_out)
        files = sorted(p.relative_to(settings.out) for p in settings.out.rglob("*") if p.is_file())
        assert any(str(f).startswith("archive/") for f in files)
        for rel in files:
            assert (settings.out / rel).read_bytes() == (held.settings.out / rel).read_bytes(), rel
    # The cache holds the summaries themselves: a server started on it keeps them out of memory as it loads them.
    server = Builder(settings, parallelism=two)
    assert server.build().parsed == 0
    assert all(p.summary_at >= 0 and summary_of(p) == by_path[p.path].summary for p in server.posts)
    assert {p: d.body for p, d in server.documents.items()} == {p: d.body for p, d in held.documents.items()}


def test_summaries_are_kept_out_of_memory_when_workers_come_from_a_fork_server(tmp_path: Path) -> None:
    """With another thread running, parse workers come from a fork server and do not share this process's summary
    store: this process writes the summaries they send into its own store (before: the workers wrote files of their
    own, and the build failed)."""
    two = Parallelism(workers=2, parse_from=2, archive_from=1)
    reference = Builder(example_settings(tmp_path / "ref", limit=2), parallelism=two, summaries_out=False)
    reference.build()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        settings = example_settings(tmp_path / "lean", limit=2)
        lean = Builder(settings, hold=False, parallelism=two)
        assert lean.build().parsed > 2
    finally:
        stop.set()
        other.join()
    by_path = {p.path: p.summary for p in reference.posts}
    assert all(p.summary_at >= 0 and summary_of(p) == by_path[p.path] for p in lean.posts if by_path[p.path])
    assert {p: d.body for p, d in lean.documents.items()} == {p: d.body for p, d in reference.documents.items()}


def test_a_jekyll_posts_liquid_sees_its_text_when_a_fork_servers_workers_render_it(tmp_path: Path) -> None:
    """A post's title and slug are kept out of memory, in a store that workers from a fork server (the server's) do
    not share: the posts they render carry their text, so Liquid's ``page.title`` and ``page.slug`` come out as a
    build that keeps the text in memory writes them."""
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_config.yml").write_text("title: Harbour notes\nurl: https://harbour.example.org\n", encoding="utf-8")
    for n in range(1, 7):
        (site / "_posts" / f"2024-05-0{n}-tide-{n}.md").write_text(
            f"---\ntitle: Tide table {n}\n---\nThis page is {{{{ page.title }}}} at {{{{ page.slug }}}}.\n",
            encoding="utf-8",
        )
    two = Parallelism(workers=2, parse_from=2, render_from=1)

    def settings(name: str) -> Settings:
        return load_settings(None, {"site": str(site), "out": str(tmp_path / name), "cache": "off"}, environ={})

    reference = Builder(settings("ref"), parallelism=two, summaries_out=False)
    reference.build()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)  # another thread: workers come from a fork server
    other.start()
    try:
        lean = Builder(settings("lean"), parallelism=two)
        lean.build()
    finally:
        stop.set()
        other.join()
    assert all(p.summary_at >= 0 and not p.title for p in lean.posts)
    atom = (tmp_path / "lean" / "all.atom").read_text(encoding="utf-8")
    assert "This page is Tide table 3 at tide-3." in atom
    assert {p: d.body for p, d in lean.documents.items()} == {p: d.body for p, d in reference.documents.items()}


def test_summaries_stay_in_memory_when_they_cannot_be_kept_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    two = Parallelism(workers=2, parse_from=2)
    reference = Builder(example_settings(tmp_path / "ref", limit=2), parallelism=two, summaries_out=False)
    reference.build()

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(summaries, "_write", full)  # what the workers' and this process's writes go through
    for parallelism in (two, Parallelism(workers=1)):  # written by forked workers, and by this process
        settings = example_settings(tmp_path / f"lean-{parallelism.workers}", limit=2, cache="off")
        lean = Builder(settings, hold=False, parallelism=parallelism)
        assert lean.build().parsed > 2
        assert all(p.summary_at < 0 for p in lean.posts)
        assert [p.summary for p in lean.posts] == [p.summary for p in reference.posts]
        for path in sorted(reference.settings.out.rglob("*.atom")):
            assert (settings.out / path.relative_to(reference.settings.out)).read_bytes() == path.read_bytes()


def test_posts_share_their_term_lists_and_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    two = Parallelism(workers=2, parse_from=2)  # parsed in worker processes, pickled back
    settings = example_settings(tmp_path)
    parsed = Builder(settings, parallelism=two)
    assert parsed.build().parsed > 2
    restarted = Builder(settings, parallelism=two)  # from the cache
    assert restarted.build().parsed == 0
    for builder in (parsed, restarted):
        values: dict[object, list[int]] = {}
        for post in builder.posts:
            for value in (post.categories, post.tags, post.source_name, post.author, *post.tags, *post.categories):
                if value:
                    values.setdefault(value, []).append(id(value))
        assert sum(len(ids) > 1 for ids in values.values()) >= 3  # values that several posts have
        assert all(len(set(ids)) == 1 for ids in values.values()), "equal values held as separate objects"


def test_a_build_failing_while_archive_workers_run_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = example_settings(tmp_path, limit=2)
    real = render_module.render_page
    real_start = render_module.fork_workers
    started: list[Any] = []

    def start(*args: Any) -> Any:
        started.append(real_start(*args))
        return started[-1]

    def failing_here(settings: Settings, page: Any, fmt: str, parts: Any = None) -> Any:
        if not page.archive:  # the subscription pages, rendered in this process while the workers stage theirs
            concurrent.futures.wait(started[-1].futures)  # their files are staged by now
            raise OSError(5, "Input/output error")
        return real(settings, page, fmt, parts)

    monkeypatch.setattr(render_module, "fork_workers", start)
    monkeypatch.setattr(render_module, "render_page", failing_here)
    with pytest.raises(OSError):
        Builder(settings, parallelism=Parallelism(workers=2, archive_from=1)).build()
    assert started and all(f.result() for f in started[0].futures)  # the workers did stage pages
    assert [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")] == []


def _crash_in_worker(indices: list[int]) -> list[tuple[str, str, str | None]]:
    os._exit(3)  # a worker that dies (OOM killer, a signal): the pool breaks


def test_archive_pages_rendered_by_forked_workers_are_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = example_settings(tmp_path / "serial", limit=2)
    Builder(serial).build()
    two = Parallelism(workers=2, archive_from=1)
    forked: list[int] = []
    real = render_module._collect

    def counting(*args: Any) -> Any:
        result = real(*args)
        forked.append(len(result or {}))
        return result

    monkeypatch.setattr(render_module, "_collect", counting)
    parallel = example_settings(tmp_path / "parallel", limit=2)
    Builder(parallel, parallelism=two).build()
    assert forked and forked[0] > 10
    monkeypatch.setattr(_workers, "run_inherited", _crash_in_worker)
    crashed = example_settings(tmp_path / "crashed", limit=2)
    Builder(crashed, parallelism=two).build()
    assert forked[-1] == 0  # the workers died: rendered here instead
    files = sorted(p.relative_to(serial.out) for p in serial.out.rglob("*") if p.is_file())
    assert any(str(p).startswith("archive/") for p in files)
    for out in (parallel.out, crashed.out):
        assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == files
        for rel in files:
            assert (out / rel).read_bytes() == (serial.out / rel).read_bytes(), rel


def test_a_changed_post_with_the_same_terms_is_swapped_into_the_last_groups_not_grouped_anew(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_post("2024-01-01-a.md", "title: A\ncategories: news\ntags: [x, 中文]")
    write_post("2024-01-02-b.md", "title: B\ntags: [x]")
    builder = Builder(make_settings(limit=1))
    builder.build()
    grouped = {"n": 0}
    real = groups_module.group_posts

    def counting(settings: Settings, visible: tuple[Post, ...]) -> object:
        grouped["n"] += 1
        return real(settings, visible)

    monkeypatch.setattr(groups_module, "group_posts", counting)
    write_post(first.name, "title: A, edited\ncategories: news\ntags: [x, 中文]")
    builder.build([first])
    builder.build()  # a rescan finding nothing new reuses them too
    assert grouped["n"] == 0
    # limit 1: the edited (older) post is on the first page of the feeds it is the newest post of
    for path in ("categories/news.atom", "tags/中文.atom", "categories/news.json", "tags/中文.rss"):
        assert b"A, edited" in builder.documents[path].body, path
    assert b"A, edited" not in builder.documents["all.atom"].body
    archives = [d.body for p, d in builder.documents.items() if p.startswith("archive/tags/x/")]
    assert any(b"A, edited" in body for body in archives)  # the older post of tag x, in an archive page
    assert not any(b"<title>A</title>" in body for body in archives)
    write_post(first.name, "title: A\ncategories: news\ntags: [y]")  # other terms: only those feeds regrouped
    builder.build([first])
    assert grouped["n"] == 0 and "tags/y.atom" in builder.documents and "tags/中文.atom" not in builder.documents


def test_readers_on_another_thread_see_one_whole_build_at_a_time(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    """Every name resolves, and every listed feed has its documents, in whatever build a reader catches: a build is
    published by one assignment, never filled in while readers look."""
    import threading

    for day in range(1, 6):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: P{day}\ntags: [keep, t{day}]")
    builder = Builder(make_settings(limit=2), write=False)
    builder.build()
    done = threading.Event()
    seen: list[str] = []

    def read() -> None:
        while not done.is_set():
            feedset = builder.feedset
            if feedset.resolve("tag", "keep") is None:
                seen.append("keep did not resolve")
            missing = [f.path("atom") for f in feedset.feeds if f.path("atom") not in feedset.documents]
            if missing:
                seen.append(f"no documents for {missing}")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        changing = write_post("2024-01-06-p6.md", "title: P6\ntags: [keep]")
        for step in range(30):  # each build adds or drops a tag feed: the posts are grouped anew
            write_post(changing.name, f"title: P6\ntags: [keep, new{step % 3}]")
            builder.build([changing])
    finally:
        done.set()
        reader.join()
    assert seen == []
    assert {f.slug for f in builder.feeds} >= {"keep", "new2"}


def test_a_body_the_markdown_library_trips_on_costs_no_other_post(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """markdown-it-py raises IndexError on an unterminated last line inside nested containers. A post with an
    excerpt is not summarised from its body, so its body is first parsed when its content is rendered: that must not
    fail the build. And a renderer that raises anything at all costs that post's content only."""
    write_post("2024-01-01-a.md", "title: Quoted\nexcerpt: A quote.", body=">- <script>\n>")
    write_post("2024-01-02-b.md", "title: Fine")
    settings = make_settings()
    report = Builder(settings).build()
    assert report.posts == 2 and not report.rejected
    entries = {e.title: e for e in feedparser.parse((settings.out / "all.atom").read_bytes()).entries}
    assert set(entries) == {"Quoted", "Fine"}
    assert "<blockquote>" in entries["Quoted"].content[0].value and "script" not in entries["Quoted"].content[0].value

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(render_module, "render_body", broken)
    other = make_settings(out=settings.out.parent / "other", cache="off")
    report = Builder(other).build()
    assert report.posts == 2
    entry = [e for e in feedparser.parse((other.out / "all.atom").read_bytes()).entries if e.title == "Quoted"][0]
    assert entry.summary == "A quote."  # the summary stands in for the content


def test_a_report_names_the_rejections_new_since_the_last_build(
    write_post: Callable[..., Path], posts_dir: Path, make_settings: Callable[..., Settings]
) -> None:
    """Issue 14: what a log says again is only what changed; ``rejected`` still lists every rejected post."""
    write_post("2024-01-01-a.md", "title: A")
    broken = posts_dir / "2024-01-02-broken.md"
    broken.write_text("---\ntitle: [x\n---\n")
    builder = Builder(make_settings())
    first = builder.build()
    assert [r.path for r in first.newly_rejected] == ["2024-01-02-broken.md"] == [r.path for r in first.rejected]
    write_post("2024-01-03-b.md", "title: B")
    again = builder.build()
    assert again.newly_rejected == () and len(again.rejected) == 1
    assert builder.build().newly_rejected == ()  # nothing changed at all
    broken.write_text("---\ntitle: {x\n---\n")
    assert [r.path for r in builder.build().newly_rejected] == ["2024-01-02-broken.md"]


def test_a_server_build_hands_the_gzip_of_what_it_wrote_to_the_cache(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    """The .gz files a server's build writes are compressed once: the snapshot finds their bytes in the cache."""
    write_post("2024-05-01-gz.md", "title: Gz\ncategories: news", "<p>" + "words and more words " * 40 + "</p>\n")
    settings = make_settings()
    builder = Builder(settings)  # hold=True: a server's
    builder.build()
    assert builder.cache is not None
    atom = builder.feedset.documents["all.atom"]
    gzipped = builder.cache.get_gzipped([atom.digest])
    assert gzipped == {atom.digest: (settings.out / "all.atom.gz").read_bytes()}
    assert gzip.decompress(gzipped[atom.digest]) == atom.body
    # A one-shot build keeps none: nothing will serve them.
    lean_settings = make_settings(out=settings.out.parent / "lean", cache=settings.out.parent / "lean.sqlite3")
    lean = Builder(lean_settings, hold=False)
    lean.build()
    assert lean.cache is not None and lean.cache.get_gzipped([atom.digest]) == {}
    assert (lean_settings.out / "all.atom.gz").read_bytes() == gzipped[atom.digest]


def test_builds_in_a_worker_thread_keep_their_staging_threads_and_one_shot_builds_leave_none(tmp_path: Path) -> None:
    """A server builds in a worker thread: the threads that stage its files are kept from one build to the next
    (a new post's build starts none), and ``close`` lets them go. A build on the main thread may fork workers only
    while it is the only thread: it leaves none behind."""

    def staging_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("syndicate-stage")}

    posts = tmp_path / "posts"
    shutil.copytree(example_settings(tmp_path).posts, posts)
    Builder(example_settings(tmp_path, limit=2, posts=posts, out=tmp_path / "export")).build()
    assert staging_threads() == set()
    settings = example_settings(tmp_path, limit=2, posts=posts)
    builder = Builder(settings)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as server:
        server.submit(builder.build).result()
        kept = staging_threads()
        assert kept
        post = next(settings.posts.rglob("*.md"))
        post.write_text(post.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
        server.submit(builder.build, [post]).result()
        assert staging_threads() == kept  # the same threads staged the second build's files
    builder.close()
    for thread in kept:
        thread.join(timeout=10)
    assert staging_threads() == set()
