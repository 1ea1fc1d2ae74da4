"""A Jekyll site read by syndicate against the same site built by real Jekyll and jekyll-feed (differential tests).

The site in tests/data/jekyll-site is ours (written for these tests); Debian's ``jekyll`` and ``ruby-jekyll-feed``
build it, ``syndicate --site`` builds and serves it, and every document jekyll-feed writes must have a twin at the
same path holding the same entries: ids, links, titles, instants, authors, categories, images, summaries and the text
of their content. A subscriber switching from jekyll-feed to syndicate sees nothing change.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import feedparser
import lxml.html
import pytest

from _jekyll import jekyll_build
from _serving import running_server

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
                categories=tuple(sorted({t.term for t in e.get("tags", [])})),
                image=(e.get("media_thumbnail") or [{}])[0].get("url", ""),
                summary=_SPACE.sub(" ", e.get("summary", "")).strip(),
                text=_text(content),
            )
        )
    return parsed.feed.get("id", ""), entries


def documents(root: Path) -> dict[str, bytes]:
    """jekyll-feed's documents under ``root``: feed.xml and feed/**.xml, by path."""
    found = {"feed.xml": (root / "feed.xml").read_bytes()} if (root / "feed.xml").is_file() else {}
    found.update({p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "feed").rglob("*.xml"))})
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """The site copied (Jekyll writes its cache into the source), built by Jekyll and by ``syndicate build``."""
    base = tmp_path_factory.mktemp("jekyll-site")
    site = base / "site"
    shutil.copytree(SITE, site)
    jekyll_out = jekyll_build(site, base / "_site")
    shutil.rmtree(site / ".jekyll-cache", ignore_errors=True)
    ours = base / "ours"
    done = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--site", str(site), "--out", str(ours), "--no-cache", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    yield site, jekyll_out, ours


def test_every_jekyll_feed_document_has_a_twin_at_the_same_path(built: tuple[Path, Path, Path]) -> None:
    _, theirs, ours = built
    assert set(documents(ours)) == set(documents(theirs))
    assert {"feed.xml", "feed/harbour.xml", "feed/news.xml", "feed/by_tag/ferries.xml"} <= set(documents(theirs))


@pytest.mark.parametrize("path", ["feed.xml", "feed/harbour.xml", "feed/news.xml", "feed/by_tag/council.xml"])
def test_the_same_entries_as_jekyll_feed(built: tuple[Path, Path, Path], path: str) -> None:
    _, theirs, ours = built
    their_id, their_entries = read_feed((theirs / path).read_bytes())
    our_id, our_entries = read_feed((ours / path).read_bytes())
    assert our_id == their_id
    assert [e.id for e in our_entries] == [e.id for e in their_entries]
    for mine, jekylls in zip(our_entries, their_entries, strict=True):
        assert mine == jekylls


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
        for path in ("feed.xml", "feed/news.xml", "feed/by_tag/winter.xml"):
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
