"""A Jekyll site read by syndicate against the same site built by real Jekyll and jekyll-feed (differential tests).

The site in tests/data/jekyll-site is ours (written for these tests); Debian's ``jekyll`` and ``ruby-jekyll-feed``
build it, ``syndicate --site`` builds and serves it, and every document jekyll-feed writes must have a twin at the
same path holding the same entries: ids, links, titles, instants, authors, categories, images, summaries and the text
of their content. A subscriber switching from jekyll-feed to syndicate sees nothing change.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import lxml.html
import pytest

from _jekyll import jekyll_build
from _serving import running_server
from syndicate.builder import Builder
from syndicate.config import load_settings

SITE = Path(__file__).parent / "data" / "jekyll-site"
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Seen:
    """An entry as a feed reader keeps it."""

    id: str
    link: str
    title: str
    published: str
    updated: str
    author: str
    author_email: str
    author_uri: str
    lang: str
    categories: tuple[str, ...]
    image: str
    summary: str
    text: str


def _text(markup: str) -> str:
    if not markup.strip():
        return ""
    return _SPACE.sub(" ", lxml.html.fragment_fromstring(markup, create_parent="div").text_content()).strip()


def read_feed(data: bytes) -> tuple[str, list[Seen]]:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    entries = []
    for e in parsed.entries:
        content = e.content[0].value if e.get("content") else ""
        entries.append(
            Seen(
                id=e.id,
                link=e.link,
                title=e.title,
                published=e.published,
                updated=e.updated,
                author=(e.get("author_detail") or {}).get("name", ""),
                author_email=(e.get("author_detail") or {}).get("email", ""),
                author_uri=(e.get("author_detail") or {}).get("href", ""),
                lang=e.title_detail.get("language") or "",
                categories=tuple(sorted({t.term for t in e.get("tags", [])})),
                image=(e.get("media_thumbnail") or [{}])[0].get("url", ""),
                summary=_SPACE.sub(" ", e.get("summary", "")).strip(),
                text=_text(content),
            )
        )
    return parsed.feed.get("id", ""), entries


def documents(root: Path) -> dict[str, bytes]:
    """jekyll-feed's documents under ``root``: *.xml (feed.xml, and logbook.xml: a collection's ``path``) and
    feed/**.xml, by path."""
    found = {p.name: p.read_bytes() for p in sorted(root.glob("*.xml"))}
    found.update({p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "feed").rglob("*.xml"))})
    return found


def feed_title(data: bytes) -> str:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return str(parsed.feed.get("title", ""))


def run_build(site: Path, out: Path, **environment: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--site", str(site), "--out", str(out), "--no-cache", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **environment},
    )
    assert done.returncode == 0, done.stdout + done.stderr


# The site as written, and the same site in safe mode (as GitHub Pages builds it: no plugins but whitelisted gems).
SAFE_MODE = "safe: true\nwhitelist:\n  - jekyll-feed\n"


@pytest.fixture(scope="module", params=["as-written", "safe"])
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Path, Path]]:
    """The site copied (Jekyll writes its cache into the source), built by Jekyll and by ``syndicate build``."""
    base = tmp_path_factory.mktemp("jekyll-site")
    site = base / "site"
    shutil.copytree(SITE, site)
    if request.param == "safe":
        with (site / "_config.yml").open("a", encoding="utf-8") as config:
            config.write(SAFE_MODE)
    jekyll_out = jekyll_build(site, base / "_site")
    shutil.rmtree(site / ".jekyll-cache", ignore_errors=True)
    ours = base / "ours"
    run_build(site, ours)
    yield site, jekyll_out, ours


def test_every_jekyll_feed_document_has_a_twin_at_the_same_path(built: tuple[Path, Path, Path]) -> None:
    _, theirs, ours = built
    assert set(documents(ours)) == set(documents(theirs))
    assert {"feed.xml", "feed/harbour.xml", "feed/news.xml", "feed/by_tag/ferries.xml"} <= set(documents(theirs))
    # feed.collections: a collection's document, one per category listed for it, one at the ``path`` it is given.
    assert {"feed/reports.xml", "feed/reports/harbour.xml", "feed/reports/weather.xml", "logbook.xml"} <= set(
        documents(theirs)
    )


def test_every_document_has_jekyll_feeds_title(built: tuple[Path, Path, Path]) -> None:
    _, theirs, ours = built
    titles = {path: feed_title(data) for path, data in documents(theirs).items()}
    assert titles["feed/reports/harbour.xml"] == "Harbour Town Ledger | Reports | Harbour"
    assert titles["logbook.xml"] == "Harbour Town Ledger | Logbook"
    assert {path: feed_title((ours / path).read_bytes()) for path in titles} == titles


@pytest.mark.parametrize(
    "path",
    [
        "feed.xml",
        "feed/harbour.xml",
        "feed/news.xml",
        "feed/by_tag/council.xml",
        "feed/reports.xml",
        "feed/reports/harbour.xml",
        "feed/reports/weather.xml",
    ],
)
def test_the_same_entries_as_jekyll_feed(built: tuple[Path, Path, Path], path: str) -> None:
    _, theirs, ours = built
    their_id, their_entries = read_feed((theirs / path).read_bytes())
    our_id, our_entries = read_feed((ours / path).read_bytes())
    assert our_id == their_id
    assert [e.id for e in our_entries] == [e.id for e in their_entries]
    for mine, jekylls in zip(our_entries, their_entries, strict=True):
        assert mine == jekylls


def test_a_post_with_feed_excerpt_only_has_no_content_in_either(built: tuple[Path, Path, Path]) -> None:
    _, theirs, ours = built
    for root in (theirs, ours):
        entries = feedparser.parse((root / "feed.xml").read_bytes()).entries
        council = [e for e in entries if "council-notes" in e.link]
        assert len(council) == 1 and not council[0].get("content") and council[0].summary
        assert all(e.get("content") for e in entries if "council-notes" not in e.link)


def test_a_long_excerpt_is_whole_in_jekyll_feeds_documents_and_its_first_paragraph_in_ours(
    built: tuple[Path, Path, Path],
) -> None:
    _, theirs, ours = built

    def summary(path: Path) -> str:
        entries = feedparser.parse(path.read_bytes()).entries
        return next(e.summary for e in entries if "lighthouse-keepers-log" in e.link)

    whole = summary(theirs / "feed.xml")
    assert len(whole) > 1000  # the excerpt is the whole body: its HTML paragraphs have no blank line between them
    assert summary(ours / "feed.xml") == whole
    for name in ("all.atom", "all.rss", "all.json"):
        if name.endswith(".json"):
            items = json.loads((ours / name).read_bytes())["items"]
            short = next(i["summary"] for i in items if "lighthouse-keepers-log" in i["url"])
        else:
            short = summary(ours / name)
        # the first paragraph, as every post's summary in our documents
        assert len(short) <= 280 and whole.startswith(short) and short.endswith("first lit."), name


def test_all_tag_feeds_list_the_same_ids(built: tuple[Path, Path, Path]) -> None:
    _, theirs, ours = built
    for path, data in documents(theirs).items():
        assert [e.id for e in read_feed((ours / path).read_bytes())[1]] == [e.id for e in read_feed(data)[1]], path


def test_our_own_feeds_give_each_post_the_jekyll_id_and_link(built: tuple[Path, Path, Path]) -> None:
    # A reader subscribed to /feed.xml and to one of our category feeds sees one entry per post, not two.
    _, theirs, ours = built
    _, jekylls = read_feed((theirs / "feed.xml").read_bytes())
    ids = {e.id: e.link for e in jekylls}
    for name in ("all.atom", "all.rss", "categories/harbour.atom"):
        parsed = feedparser.parse((ours / name).read_bytes())
        assert parsed.entries and all(ids[e.id] == e.link for e in parsed.entries), name
    json_ids = {item["id"] for item in json.loads((ours / "all.json").read_bytes())["items"]}
    assert json_ids == set(ids)


def test_jekyll_feed_paths_are_served_over_http(built: tuple[Path, Path, Path], tmp_path: Path) -> None:
    site, theirs, _ = built
    # The site's own settings only: syndicate.toml names the site and where our output goes, nothing else.
    (tmp_path / "syndicate.toml").write_text(f'site = "{site}"\nout = "out"\ncache = "off"\n', encoding="utf-8")
    with running_server(tmp_path) as server:
        base = server.url
        for path in ("feed.xml", "feed/news.xml", "feed/by_tag/winter.xml", "feed/reports/weather.xml"):
            with urllib.request.urlopen(f"{base}/{path}") as response:
                assert response.headers["Content-Type"].startswith("application/atom+xml")
                assert response.headers["ETag"]
                served = response.read()
            assert read_feed(served)[1] == read_feed((theirs / path).read_bytes())[1]
        # A browser opening jekyll-feed's address is shown the page of the same feed (feedpages.py).
        browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
        with urllib.request.urlopen(urllib.request.Request(f"{base}/feed/news.xml", headers=browser)) as response:
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.headers["Vary"] == "Accept, Accept-Encoding"
            page = response.read()
        with urllib.request.urlopen(f"{base}/feeds/categories/news.html") as response:
            assert page == response.read()
        with urllib.request.urlopen(f"{base}/") as response:  # the index lists jekyll-feed's addresses
            index = response.read().decode("utf-8")
        assert 'href="/feed.xml"' in index and 'href="/feed/news.xml"' in index
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/feed/nothing-here.xml")
        assert missing.value.code == 404
        missing.value.close()


def test_an_undated_document_is_dated_by_its_file_and_listed_as_jekyll_lists_it(
    built: tuple[Path, Path, Path],
) -> None:
    # Jekyll dates a document dated neither in its front matter nor in its name by the build's time (site.time), so
    # jekyll-feed's published and updated change with every build; ours are its file's modification time. The rest
    # of its entry, and every other entry in order, are jekyll-feed's.
    site, theirs, ours = built
    their_id, their_entries = read_feed((theirs / "logbook.xml").read_bytes())
    our_id, our_entries = read_feed((ours / "logbook.xml").read_bytes())
    assert our_id == their_id
    undated = "https://ledger.example.org/news-desk/logbook/standing-orders"
    assert len(our_entries) == len(their_entries) == 3
    mine = next(e for e in our_entries if e.id == undated)
    jekylls = next(e for e in their_entries if e.id == undated)
    assert replace(mine, published="", updated="") == replace(jekylls, published="", updated="")
    modified = (site / "_logbook" / "standing-orders.md").stat().st_mtime
    written = datetime.fromtimestamp(int(modified), ZoneInfo("Asia/Shanghai")).isoformat()
    assert mine.published == mine.updated == written
    assert [e for e in our_entries if e.id != undated] == [e for e in their_entries if e.id != undated]
    # Placed by that date among the others, newest first.
    assert [e.published for e in our_entries] == sorted((e.published for e in our_entries), reverse=True)
    ids = {e.id for e in our_entries}
    assert "https://ledger.example.org/news-desk/logbook/watch/night-watch" in ids  # Document#id: its URL's directory


def test_a_collections_documents_are_only_in_its_own_feeds(built: tuple[Path, Path, Path]) -> None:
    # Jekyll's site.posts does not hold them: our site-wide, category and tag feeds list posts only, as
    # jekyll-feed's posts documents do. A collection jekyll-feed is not told of, a draft, a file without front matter
    # (a static file to Jekyll) and a name starting with '_' are in no feed.
    _, theirs, ours = built
    everywhere = b"".join(p.read_bytes() for p in ours.rglob("*") if p.is_file())
    for absent in (b"fish-stew", b"A budget not yet agreed", b"A template, not a report", b"static file"):
        assert absent not in everywhere
    for name in ("all.atom", "all.rss", "all.json", "categories/harbour.atom", "feed.xml", "feed/harbour.xml"):
        data = (ours / name).read_bytes()
        assert b"/reports/" not in data and b"/logbook/" not in data, name
    assert b"/reports/2023/dredging-the-inner-basin.html" in (ours / "feed/reports/harbour.xml").read_bytes()


def test_feed_disable_in_development_writes_no_jekyll_feed_document(tmp_path: Path) -> None:
    # The site sets feed.disable_in_development: under JEKYLL_ENV=development jekyll-feed writes nothing, and
    # syndicate writes none of its documents either (its own feeds stay).
    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    theirs = jekyll_build(site, tmp_path / "_site", environment="development")
    run_build(site, tmp_path / "ours", JEKYLL_ENV="development")
    assert documents(theirs) == {} and documents(tmp_path / "ours") == {}
    assert feedparser.parse((tmp_path / "ours" / "all.atom").read_bytes()).entries


def test_a_plugins_tag_is_dropped_with_a_note_and_the_post_published(tmp_path: Path) -> None:
    # Jekyll itself fails the whole build on a tag of a plugin it lacks; syndicate publishes the post without it.
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_config.yml").write_text("title: Plugins\nurl: https://plugins.example.org\n", encoding="utf-8")
    (site / "_posts" / "2024-02-02-skipper.md").write_text(
        "---\ntitle: Meet the skipper\n---\nHello from {{ site.title }}.\n\n{% avatar gull-skipper %}\n\nBye.\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--site", str(site), "--out", str(tmp_path / "out"), "--no-cache"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "avatar" in done.stderr and "2024-02-02-skipper.md" in done.stderr
    _, entries = read_feed((tmp_path / "out" / "feed.xml").read_bytes())
    assert [e.title for e in entries] == ["Meet the skipper"]
    assert entries[0].text == "Hello from Plugins. Bye." and "{%" not in (tmp_path / "out" / "all.json").read_text()


def test_a_collections_documents_follow_each_change(tmp_path: Path) -> None:
    # A document added, one losing its front matter (Jekyll then copies it as a static file) and one dated in the
    # future (left out until its date, as a post is: Jekyll would list it with a link to a page it does not write),
    # each told to an incremental build as the watcher tells them.
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_reports").mkdir()
    (site / "_config.yml").write_text(
        "title: Quay\nurl: https://quay.example.org\ncollections: {reports: {output: true}}\n"
        "feed:\n  collections: [reports]\n",
        encoding="utf-8",
    )
    (site / "_posts" / "2024-01-01-opening.md").write_text("---\ntitle: Opening\n---\nThe quay opens.\n", "utf-8")
    first = site / "_reports" / "2024-02-02-first-survey.md"
    first.write_text("---\ntitle: First survey\n---\nThe quay is sound.\n", encoding="utf-8")
    out = tmp_path / "out"
    builder = Builder(load_settings(None, {"site": str(site), "out": str(out), "cache": "off"}, environ={}))
    builder.build()

    def listed(path: str) -> list[str]:
        return [e.title for e in feedparser.parse((out / path).read_bytes()).entries]

    assert listed("feed/reports.xml") == ["First survey"] and listed("all.atom") == ["Opening"]
    second = site / "_reports" / "second-survey.md"
    second.write_text("---\ntitle: Second survey\ndate: 2024-03-03\n---\nStill sound.\n", encoding="utf-8")
    later = site / "_reports" / "2999-01-01-far-future.md"
    later.write_text("---\ntitle: Far future\n---\nNot yet.\n", encoding="utf-8")
    report = builder.build([second, later])
    assert listed("feed/reports.xml") == ["Second survey", "First survey"]
    assert report.scheduled == 1 and not report.rejected and report.posts == 1
    second.write_text("Only notes now, no front matter.\n", encoding="utf-8")
    report = builder.build([second])
    assert listed("feed/reports.xml") == ["First survey"] and not report.rejected
    assert builder.build().written == frozenset()  # a full rescan agrees with the incremental builds
