from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from syndicate.builder import Builder
from syndicate.config import Settings


def test_opml_lists_every_feed_grouped_by_kind_with_display_names_as_text(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post(
        "2024-01-01-a.md",
        "title: A\ncategories: [youjiangribao, 'AI & ML']\ntags: [右江日报新闻, C++]\n"
        "source: 江畔晚报\nauthor: Lan Wei",
    )
    settings = make_settings(display_names={"youjiangribao": "右江日报"})
    builder = Builder(settings)
    builder.build()
    root = etree.fromstring((settings.out / "index.opml").read_bytes())
    assert root.get("version") == "2.0" and root.findtext("head/title")
    groups = {o.get("text"): o for o in root.findall("body/outline") if o.get("xmlUrl") is None}
    assert list(groups) == ["Categories", "Tags", "Sources", "Authors"]  # the table's order
    cats = {o.get("text"): (o.get("title"), o.get("xmlUrl")) for o in groups["Categories"]}
    tags = {o.get("text"): o.get("xmlUrl") for o in groups["Tags"]}
    # text: the display name readers show; title: the feed's own title
    assert cats == {
        "右江日报": ("Test Site · 右江日报", "https://news.example.net/feeds/categories/youjiangribao.atom"),
        "AI & ML": ("Test Site · AI & ML", "https://news.example.net/feeds/categories/ai-ml.atom"),
    }
    assert [(o.get("text"), o.get("xmlUrl")) for o in groups["Sources"]] == [
        ("江畔晚报", "https://news.example.net/feeds/sources/%E6%B1%9F%E7%95%94%E6%99%9A%E6%8A%A5.atom")
    ]
    assert [(o.get("text"), o.get("xmlUrl")) for o in groups["Authors"]] == [
        ("Lan Wei", "https://news.example.net/feeds/authors/lan-wei.atom")
    ]
    assert (
        tags["右江日报新闻"]
        == "https://news.example.net/feeds/tags/%E5%8F%B3%E6%B1%9F%E6%97%A5%E6%8A%A5%E6%96%B0%E9%97%BB.atom"
    )
    assert tags["C++"].endswith("/tags/c%2B%2B.atom") or tags["C++"].endswith("/tags/c++.atom")
    site = [o for o in root.findall("body/outline") if o.get("xmlUrl")]
    assert [o.get("xmlUrl") for o in site] == ["https://news.example.net/feeds/all.atom"]
    # the display name reaches the feed title too
    assert "<title>Test Site · 右江日报</title>" in (settings.out / "categories/youjiangribao.atom").read_text()
    # every listed feed exists
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl")
        if url:
            rel = url.split("/feeds/", 1)[1]
            assert (settings.out / unquote(rel)).is_file()


def test_a_kind_without_feeds_has_no_outline(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-a.md", "title: A\ntags: [x]")
    settings = make_settings()
    Builder(settings).build()
    root = etree.fromstring((settings.out / "index.opml").read_bytes())
    assert [o.get("text") for o in root.findall("body/outline")] == ["Test Site", "Tags"]
