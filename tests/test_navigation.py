from __future__ import annotations

import pytest

from _fragments import PAGE, hrefs, parse, render


def test_sample_post_keeps_original_link_and_drops_back_links(sample_body: str) -> None:
    root = parse(render(sample_body, page_url=PAGE, site_url="https://finews.example.com/"))
    links = hrefs(root)
    assert links == ["http://www.yjrb.example/html_News/NewsShare.html?infoCode=NW202112240851300417"]
    text = "".join(root.itertext())
    assert "返回首页" not in text
    assert "｜" not in text


def test_sample_post_back_links_are_dropped_whatever_the_site_scheme(sample_body: str) -> None:
    # Protocol-relative links are chrome even when site_url names a different host.
    root = parse(render(sample_body, page_url="http://elsewhere.example/p.html", site_url="http://elsewhere.example/"))
    assert "返回" not in "".join(root.itertext())


def test_trailing_nav_line_is_removed() -> None:
    body = "A story about the harbour.\n\n[Back to World](//news.example.org/world/) | [Home](//news.example.org/)\n"
    root = parse(render(body))
    assert [p.text for p in root.findall("p")] == ["A story about the harbour."]
    assert hrefs(root) == []


def test_several_trailing_nav_blocks_are_removed() -> None:
    body = (
        "A story.\n\n"
        "[Previous](/world/2024/04/30/earlier.html) · [Next](/world/2024/05/02/later.html)\n\n"
        '<p><a href="https://news.example.org/world/">World</a> ｜ <a href="https://www.news.example.org/">Home</a></p>'
    )
    root = parse(render(body))
    assert ["".join(p.itertext()) for p in root.findall("p")] == ["A story."]


def test_nav_like_line_in_the_middle_is_kept() -> None:
    body = "Intro.\n\n[Home](/) | [About](/about/)\n\nMore text after it."
    root = parse(render(body))
    assert hrefs(root) == ["https://news.example.org/", "https://news.example.org/about/"]
    assert root.findall("p")[-1].text == "More text after it."


def test_trailing_external_single_link_is_kept() -> None:
    body = "Republished story.\n\n<https://original.example/story/42>\n"
    root = parse(render(body))
    assert hrefs(root) == ["https://original.example/story/42"]


def test_trailing_block_with_words_is_kept() -> None:
    body = "Story.\n\nRead more on [our world page](/world/) every day."
    root = parse(render(body))
    assert hrefs(root) == ["https://news.example.org/world/"]


def test_trailing_mixed_block_with_external_link_is_kept() -> None:
    body = "Story.\n\n[Home](/) | [Original](https://original.example/x)"
    root = parse(render(body))
    assert hrefs(root) == ["https://news.example.org/", "https://original.example/x"]


def test_body_that_is_only_a_site_link_is_kept() -> None:
    root = parse(render("[The full report](/reports/2024.html)"))
    assert hrefs(root) == ["https://news.example.org/reports/2024.html"]


def test_trailing_link_to_a_document_is_content() -> None:
    body = "The full timetable is in the attached PDF.\n\n[Download the timetable (PDF)](/files/timetable-2024.pdf)"
    root = parse(render(body))
    assert hrefs(root) == ["https://news.example.org/files/timetable-2024.pdf"]
    assert "".join(root.itertext()).endswith("Download the timetable (PDF)")


def test_trailing_list_of_series_articles_is_content() -> None:
    body = (
        "正文。\n\n本系列其他文章：\n\n"
        "- [防汛系列报道（一）：堤坝巡查](/2024/03/01/flood-1.html)\n"
        "- [防汛系列报道（二）：转移演练](/2024/03/15/flood-2.html)\n"
    )
    root = parse(render(body))
    assert hrefs(root) == [
        "https://news.example.org/2024/03/01/flood-1.html",
        "https://news.example.org/2024/03/15/flood-2.html",
    ]
    assert [li.findtext("a") for li in root.iter("li")] == [
        "防汛系列报道（一）：堤坝巡查",
        "防汛系列报道（二）：转移演练",
    ]


def test_a_list_of_home_links_is_content_too() -> None:
    # List items are content, whatever they point at: a site menu is not written as a post's list.
    root = parse(render("Our sections:\n\n- [World](/world/)\n- [Home](/)\n"))
    assert hrefs(root) == ["https://news.example.org/world/", "https://news.example.org/"]


def test_trailing_paragraphs_of_article_links_are_content() -> None:
    body = (
        "Weekly roundup: what we published this week.\n\n"
        "[Harbour reopens after storm](/world/2024/05/01/harbour.html)\n\n"
        "[Council passes the budget](https://news.example.org/local/2024/05/02/budget.html)\n\n"
        "[Ferry timetable changes](//news.example.org/local/2024/05/03/ferry.html)\n"
    )
    root = parse(render(body))
    assert [p.findtext("a") for p in root.findall("p")[1:]] == [
        "Harbour reopens after storm",
        "Council passes the budget",
        "Ferry timetable changes",
    ]


def test_only_the_trailing_navigation_goes_before_article_links() -> None:
    body = "Intro.\n\n[Part two](/world/2024/05/02/part-two.html)\n\n[返回首页](/)\n"
    root = parse(render(body))
    assert hrefs(root) == ["https://news.example.org/world/2024/05/02/part-two.html"]


@pytest.mark.parametrize(
    "line",
    [
        "[返回右江日报新闻](/category/youjiangribao.html)｜[返回首页](/)",
        "[首页](/) · [上一篇：旧闻](/2024/04/30/old.html) · [下一篇](/2024/05/02/new.html)",
        "[Back to top](#top)",
        "[← Previous post](/2024/04/30/old.html) | [Next post →](/2024/05/02/new.html)",
        "[World](/world/) / [Home](https://www.news.example.org/)",
        "[Local news](/categories/local/) | [Sport](/tag/sport.html)",
        "[Back to World](../../../../) | [Index](index.html)",
    ],
)
def test_trailing_navigation_lines_are_removed(line: str) -> None:
    root = parse(render(f"A story.\n\n{line}\n"))
    assert "".join(root.itertext()) == "A story."


@pytest.mark.parametrize(
    "line",
    [
        "[Home prices rise again](/2024/05/02/home-prices.html)",
        "[The annual report](/reports/2024/)",
        "[Search results](/?q=flood)",
        "[Next week's schedule](/files/schedule.pdf) | [Home](/)",
    ],
)
def test_trailing_site_links_that_are_not_navigation_are_kept(line: str) -> None:
    root = parse(render(f"A story.\n\n{line}\n"))
    assert len(hrefs(root)) == line.count("](")


def test_trailing_top_level_inline_nav_is_removed() -> None:
    # An HTML block leaves links at the top level, outside any paragraph: still navigation, still dropped.
    root = parse(render('<div>Story text.</div>\n<a href="/">Home</a> ｜ <a href="//news.example.org/w/">World</a>'))
    assert hrefs(root) == []
    assert "".join(root.itertext()).strip() == "Story text."


def test_entities_in_nav_separators_still_count_as_separators() -> None:
    root = parse(render("Story.\n\n[Home](/) &gt; [World](/world/) &nbsp;&lt;"))
    assert hrefs(root) == []
