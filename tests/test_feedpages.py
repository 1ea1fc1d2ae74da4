"""feedpages: every feed's page is a document of the build, written beside its feeds, remade only when it changes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from lxml import html

from syndicate.builder import Builder
from syndicate.config import Settings
from syndicate.formats import FEED_FORMATS

FRONT = "title: {title}\ndate: 2024-05-{day:02d} 08:00:00 +0800\ncategories: {category}\ntags: [{tags}]"


def write_posts(write_post: Callable[..., Path], count: int, category: str = "river", tags: str = "boats") -> None:
    for day in range(1, count + 1):
        write_post(
            f"2024-05-{day:02d}-p{day}.md",
            FRONT.format(title=f"Boat race heat {day}", day=day, category=category, tags=tags),
            f"<p>Heat {day} was rowed against the current.</p>\n",
        )


def test_every_feed_has_a_page_with_its_entries_and_addresses(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_posts(write_post, 5)
    settings = make_settings(limit=3, language="en")
    Builder(settings).build()
    out = settings.out
    for base in ("all", "categories/river", "tags/boats"):
        assert (out / f"{base}.html").is_file(), base
    page = html.fromstring((out / "tags/boats.html").read_bytes())
    assert page.get("lang") == "en"
    titles = page.xpath("//ol[@class='entries']/li/h3/a/text()")
    assert titles == ["Boat race heat 5", "Boat race heat 4", "Boat race heat 3"]  # the subscription document's
    assert page.xpath("//ol[@class='entries']/li/p/text()")[0] == "Heat 5 was rowed against the current."
    counted = " ".join(page.xpath("//h2/span[@class='count']//text()"))
    assert "5 posts" in counted and "the newest 3 shown here" in counted
    assert page.xpath("//code[@class='url']/text()") == [
        f"https://news.example.net/feeds/tags/boats.{fmt}" for fmt in FEED_FORMATS
    ]
    discovered = page.xpath("//head/link[@rel='alternate']/@href")
    assert discovered == [f"/feeds/tags/boats.{fmt}" for fmt in FEED_FORMATS]
    assert page.xpath("//footer//a/@href")[: len(FEED_FORMATS)] == discovered


def test_pages_are_deterministic_and_remade_only_when_their_feed_changes(
    tmp_path: Path, write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_posts(write_post, 3)
    write_post("2024-05-09-other.md", FRONT.format(title="Quiet day", day=9, category="weather", tags="sun"))
    first = make_settings()
    builder = Builder(first)
    builder.build()
    second = make_settings(out=tmp_path / "again", cache="off")
    Builder(second).build()
    pages = sorted(p.relative_to(first.out) for p in first.out.rglob("*.html"))
    assert len(pages) == 6  # five feeds' pages and the index
    for rel in pages:
        assert (first.out / rel).read_bytes() == (second.out / rel).read_bytes(), rel
    edited = first.posts / "2024-05-09-other.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Quiet day", "Windy day"), encoding="utf-8")
    report = builder.build([edited])
    pages_written = {p for p in report.written if p.endswith(".html")}
    assert pages_written == {"all.html", "categories/weather.html", "tags/sun.html", "index.html"}
    assert "Windy day" in (first.out / "tags/sun.html").read_text(encoding="utf-8")


def test_a_static_export_has_the_pages(tmp_path: Path, write_post: Callable[..., Path], posts_dir: Path) -> None:
    write_posts(write_post, 2)
    config = tmp_path / "syndicate.toml"
    config.write_text(
        f'title = "Export"\nurl = "https://news.example.net"\nposts = "{posts_dir}"\nout = "{tmp_path / "site"}"\n'
        'cache = "off"\nlanguage = "zh-CN"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    index = html.fromstring((tmp_path / "site" / "index.html").read_bytes())
    assert index.get("lang") == "zh-CN" and index.xpath("//h2/text()")[:2] == ["订阅", "最新文章"]
    for href in index.xpath("//a/@href"):
        if href.startswith("/feeds/"):
            assert (tmp_path / "site" / href.removeprefix("/feeds/")).is_file(), href


def test_a_site_without_posts_has_pages_that_say_so(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(language="en", description="Nothing here yet, but soon.")
    Builder(settings).build()
    page = html.fromstring((settings.out / "all.html").read_bytes())
    assert page.xpath("//main/p[not(@class)]/text()") == ["No posts yet."]
    index = html.fromstring((settings.out / "index.html").read_bytes())
    assert index.xpath("//p[@class='lead']/text()")[0] == "Nothing here yet, but soon."
    text = " ".join(index.text_content().split())
    assert "No posts yet." in text and "Categories None yet." in text and "Tags None yet." in text
