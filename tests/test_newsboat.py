"""A real feed reader: Debian's newsboat, headless, subscribed to feeds of the running server."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from _serving import DEADLINE, need_program, running_server

pytestmark = [pytest.mark.server, pytest.mark.external]


def write_post(root: Path, name: str, title: str, category: str, tags: str, day: int) -> None:
    (root / "_posts" / name).write_text(
        f'---\nlayout: post\ntitle: "{title}"\ndate: 2024-06-{day:02d} 09:00:00 +0800\n'
        f"categories: {category}\ntags: {tags}\n---\n<p>{title}. 正文。</p>\n"
        '<p class="em_media">（文章来源：右江日报）</p>\n',
        encoding="utf-8",
    )


def newsboat(program: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [program, "-u", "urls", "-c", "cache.db", "-C", "config", *args],
        cwd=home,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "dumb"},
        capture_output=True,
        text=True,
        timeout=DEADLINE * 2,
        check=False,
    )


def test_newsboat_reads_category_and_tag_feeds(tmp_path: Path) -> None:
    program = need_program("newsboat")
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    write_post(site, "2024-06-01-a.md", "龙舟训练开始", "sports", "training", 1)
    write_post(site, "2024-06-02-b.md", "Harbour swim", "sports", "swimming", 2)
    write_post(site, "2024-06-03-c.md", "龙舟节筹备", "local", "龙舟", 3)
    write_post(site, "2024-06-04-d.md", "Boat museum opens", "local", "龙舟 museums", 4)
    home = tmp_path / "reader"
    home.mkdir()
    (home / "config").write_text("reload-threads 1\n", encoding="utf-8")
    with running_server(site) as server:
        category = f"{server.url}/feeds/categories/sports.atom"
        tag = f"{server.url}/feeds/tags/{quote('龙舟')}.rss"
        (home / "urls").write_text(f"{category}\n{tag}\n", encoding="utf-8")

        reload = newsboat(program, home, "-x", "reload")
        assert reload.returncode == 0, reload.stderr
        unread = newsboat(program, home, "-x", "print-unread")
        assert unread.returncode == 0, unread.stderr
        # The feeds are disjoint on purpose: newsboat keeps one row per entry id across feeds.
        assert unread.stdout.strip() == "4 unread articles"

        with sqlite3.connect(home / "cache.db") as db:
            rows = db.execute("SELECT feedurl, title, url FROM rss_item").fetchall()
            feeds = dict(db.execute("SELECT rssurl, title FROM rss_feed").fetchall())
        by_feed: dict[str, set[str]] = {}
        for feedurl, title, url in rows:
            by_feed.setdefault(feedurl, set()).add(title)
            assert url.startswith("https://news.example.net/"), url
        assert by_feed == {category: {"龙舟训练开始", "Harbour swim"}, tag: {"龙舟节筹备", "Boat museum opens"}}
        assert feeds[category] and feeds[tag]

        # A second reload of unchanged feeds adds nothing (same entry ids, stable across requests).
        assert newsboat(program, home, "-x", "reload").returncode == 0
        assert newsboat(program, home, "-x", "print-unread").stdout.strip() == "4 unread articles"


def test_newsboat_reads_a_publications_feed_and_an_authors_feed(tmp_path: Path) -> None:
    program = need_program("newsboat")
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    for day, title, author in ((1, "堤坝加固完工", "Mei Lin"), (2, "渡轮时刻调整", "Omar Haddad")):
        write_post(site, f"2024-06-0{day}-p{day}.md", title, "local", "news", day)  # both from 右江日报
        path = site / "_posts" / f"2024-06-0{day}-p{day}.md"
        path.write_text(path.read_text(encoding="utf-8").replace("layout: post\n", f"author: {author}\n"), "utf-8")
    home = tmp_path / "reader"
    home.mkdir()
    (home / "config").write_text("reload-threads 1\n", encoding="utf-8")
    with running_server(site) as server:
        source = f"{server.url}/feeds/sources/{quote('右江日报')}.rss"
        author = f"{server.url}/feeds/authors/mei-lin.atom"
        (home / "urls").write_text(f"{source}\n{author}\n", encoding="utf-8")
        reload = newsboat(program, home, "-x", "reload")
        assert reload.returncode == 0, reload.stderr
        with sqlite3.connect(home / "cache.db") as db:
            rows = db.execute("SELECT feedurl, title, author FROM rss_item").fetchall()
            feeds = dict(db.execute("SELECT rssurl, title FROM rss_feed").fetchall())
        # newsboat keeps one row per entry id across feeds: Mei Lin's post is filed under whichever feed came first
        assert {title for _feed, title, _author in rows} == {"堤坝加固完工", "渡轮时刻调整"}
        assert {(title, name) for _feed, title, name in rows} == {
            ("堤坝加固完工", "Mei Lin"),
            ("渡轮时刻调整", "Omar Haddad"),
        }
        assert feeds == {source: "Test Site · 右江日报", author: "Test Site · Mei Lin"}


def test_newsboat_keeps_the_sites_link_for_a_feed_that_names_a_hub_and_a_logo(tmp_path: Path) -> None:
    """With `hub` set, the RSS channel <link> was the hub's URL, and readers stored it as the site's."""
    program = need_program("newsboat")
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    write_post(site, "2024-06-01-a.md", "龙舟训练开始", "sports", "training", 1)
    write_post(site, "2024-06-02-b.md", "Harbour swim", "sports", "swimming", 2)
    home = tmp_path / "reader"
    home.mkdir()
    (home / "config").write_text("reload-threads 1\n", encoding="utf-8")
    branding = (
        'hub = "http://127.0.0.1:9/hub"\n'  # nothing listens there: the pings fail, the feeds are what is tested
        'icon = "https://news.example.net/favicon.png"\nlogo = "https://news.example.net/logo.png"\n'
    )
    with running_server(site, extra_config=branding) as server:
        feeds = [f"{server.url}/feeds/categories/sports.{fmt}" for fmt in ("rss", "atom")]
        (home / "urls").write_text("\n".join(feeds) + "\n", encoding="utf-8")
        reload = newsboat(program, home, "-x", "reload")
        assert reload.returncode == 0, reload.stderr
        with sqlite3.connect(home / "cache.db") as db:
            links = dict(db.execute("SELECT rssurl, url FROM rss_feed").fetchall())
            items = db.execute("SELECT COUNT(*) FROM rss_item").fetchone()[0]
    assert links == {feed: "https://news.example.net/" for feed in feeds}
    assert items == 2  # one row per entry id: the two documents list the same two posts
