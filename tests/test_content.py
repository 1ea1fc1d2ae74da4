from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from _fragments import PAGE, XML_ILLEGAL, hrefs, markupish, parse, render
from syndicate.content import _render_markdown, clean_text

# --- clean_text -----------------------------------------------------------------------------------------------------


def test_clean_text_removes_xml_illegal_characters() -> None:
    assert clean_text("a\x00b\x01c\x08d\x0be\x0cf\x0eg\x1fh") == "abcdefgh"
    assert clean_text("x\ufffey\uffffz") == "xyz"
    assert clean_text("lone\ud800high\udfffend") == "lonehighend"


def test_clean_text_keeps_legal_characters() -> None:
    text = "tab\tnewline\ncr\r 中文 emoji 🎉 \u00a0 \ue000 \ufffd"
    assert clean_text(text) == text


# --- render_body: the sample post -----------------------------------------------------------------------------------


def test_sample_post_renders_to_well_formed_fragment(sample_body: str) -> None:
    root = parse(render(sample_body, page_url=PAGE, site_url="https://finews.example.com/"))
    paragraphs = root.findall("p")
    assert len(paragraphs) >= 6
    # The attribution paragraph stays, with its class.
    assert any(p.get("class") == "em_media" and "文章来源" in "".join(p.itertext()) for p in paragraphs)


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


# --- render_body: Markdown and HTML ---------------------------------------------------------------------------------


def test_markdown_renders_commonmark() -> None:
    root = parse(render("# Heading\n\nSome *emphasis* and `code`.\n\n- one\n- two\n\n> quoted\n"))
    assert root.find("h1") is not None and root.find("h1").text == "Heading"
    assert root.find("p/em").text == "emphasis"
    assert root.find("p/code").text == "code"
    assert [li.text for li in root.findall("ul/li")] == ["one", "two"]
    assert root.find("blockquote/p").text == "quoted"


def test_autolinks_become_links_but_bare_urls_stay_text() -> None:
    root = parse(render("See <https://elsewhere.example/a> and https://elsewhere.example/b here."))
    assert hrefs(root) == ["https://elsewhere.example/a"]
    assert "https://elsewhere.example/b" in "".join(root.itertext())


def test_ordinary_formatting_is_kept() -> None:
    body = (
        '<table><thead><tr><th>k</th></tr></thead><tbody><tr><td colspan="2">v</td></tr></tbody></table>\n\n'
        '<figure><img src="https://img.example/a.jpg" alt="A harbour" title="t" width="10" height="20">'
        "<figcaption>Caption</figcaption></figure>\n\n"
        '<pre><code class="language-python">x = 1 &lt; 2</code></pre>\n\n'
        '<ol start="3"><li><strong>b</strong> <em>i</em> <sub>s</sub></li></ol>\n'
    )
    root = parse(render(body))
    assert root.find("table/tbody/tr/td").get("colspan") == "2"
    img = root.find("figure/img")
    assert img is not None
    assert {k: img.get(k) for k in ("src", "alt", "title", "width", "height")} == {
        "src": "https://img.example/a.jpg",
        "alt": "A harbour",
        "title": "t",
        "width": "10",
        "height": "20",
    }
    assert root.find("figure/figcaption").text == "Caption"
    assert root.find("pre/code").text == "x = 1 < 2"
    assert root.find("pre/code").get("class") == "language-python"
    assert root.find("ol").get("start") == "3"


def test_void_elements_and_entities_are_xml_safe() -> None:
    out = render('<p>a&nbsp;b<br>c &copy; &amp; <img src="/x.png" alt=\'1 < 2 & "q"\'></p><hr>')
    root = parse(out)
    assert "&nbsp;" not in out
    assert "a\u00a0b" in "".join(root.itertext())
    assert root.find("p/img").get("alt") == '1 < 2 & "q"'
    assert root.find("hr") is not None


# --- render_body: hostile HTML --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert('x')</script><p>ok</p>",
        "<p>ok</p><style>p { display: none }</style>",
        '<iframe src="https://evil.example/">inner</iframe><p>ok</p>',
        '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/e"><p>ok</p>',
        '<form action="https://evil.example/"><input name="q"><button>go</button></form><p>ok</p>',
        "<svg><script>alert(1)</script></svg><p>ok</p>",
        '<noscript><img src="https://track.example/p.gif"></noscript><p>ok</p>',
    ],
)
def test_active_and_embedded_content_is_removed(body: str) -> None:
    out = render(body)
    root = parse(out)
    for tag in ("script", "style", "iframe", "object", "embed", "form", "input", "button", "svg", "noscript"):
        assert root.find(f".//{tag}") is None, tag
    assert "alert" not in out
    assert "display" not in out
    assert "evil.example" not in out
    assert "track.example" not in out
    assert [p.text for p in root.iter("p") if p.text] == ["ok"]


def test_event_handlers_and_unknown_attributes_are_removed() -> None:
    out = render('<p onclick="steal()" style="color:red" id="x"><img src="/a.png" onerror="steal()">t</p>')
    root = parse(out)
    for element in root.iter():
        assert not [name for name in element.attrib if name.startswith("on")], element.attrib
        assert "style" not in element.attrib
    assert "steal" not in out


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
    ],
)
def test_dangerous_url_schemes_are_removed(url: str) -> None:
    out = render(f'<p><a href="{url}">link</a> <img src="{url}" alt="i"></p>\n\n[md]({url})')
    root = parse(out)
    for element in root.iter():
        for name in ("href", "src"):
            value = element.get(name)
            assert value is None or value.startswith(("http://", "https://", "mailto:")), value
    # markdown-it leaves a link with a dangerous URL as plain text (CommonMark validateLink): harmless.
    attributes = " ".join(value for element in root.iter() for value in element.attrib.values()).lower()
    assert "script" not in attributes
    assert "data:" not in attributes


def test_mailto_is_allowed() -> None:
    root = parse(render("Write to [us](mailto:desk@news.example.org) today."))
    assert hrefs(root) == ["mailto:desk@news.example.org"]


def test_xml_illegal_characters_are_removed() -> None:
    out = render('<p>a\x01b\x0bc\x00d\ud800e\uffff</p>\n\nf\x1fg <img alt="x\x02y">')
    assert not XML_ILLEGAL.search(out)
    root = parse(out)
    assert "abcde" in "".join(root.itertext())


def test_deep_nesting_is_flattened_not_fatal() -> None:
    out = render("<div>" * 50_000 + "deep" + "</div>" * 50_000 + "\n\n<p>after</p>")
    root = parse(out)
    assert "deep" in "".join(root.itertext())
    depth = max(len(list(element.iterancestors())) for element in root.iter())
    assert depth <= 120


def test_text_cannot_smuggle_markup_or_cdata_end() -> None:
    out = render("<p>a ]]> b &lt;script&gt;x&lt;/script&gt;</p>")
    assert "]]>" not in out
    root = parse(out)
    assert root.find(".//script") is None
    assert "<script>x</script>" in "".join(root.itertext())


# --- render_body: absolute URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("photo.jpg", "https://news.example.org/world/2024/05/01/photo.jpg"),
        ("../../04/30/earlier.html", "https://news.example.org/world/2024/04/30/earlier.html"),
        ("/about/", "https://news.example.org/about/"),
        ("//cdn.example.net/img/a.png", "https://cdn.example.net/img/a.png"),
        ("\\\\cdn.example.net/b.png", "https://cdn.example.net/b.png"),
        ("?page=2", "https://news.example.org/world/2024/05/01/harbour.html?page=2"),
        ("https://other.example/x", "https://other.example/x"),
    ],
)
def test_links_and_images_are_made_absolute(href: str, expected: str) -> None:
    root = parse(render(f'<p>Intro <a href="{href}">here</a> <img src="{href}" alt="i"> text.</p>'))
    assert hrefs(root) == [expected]
    assert root.find("p/img").get("src") == expected


def test_protocol_relative_takes_site_scheme() -> None:
    root = parse(render("Intro [cdn](//cdn.example.net/a) text.", page_url="https://x.example/p", site_url="http://s/"))
    assert hrefs(root) == ["http://cdn.example.net/a"]


def test_fragment_links_resolve_against_the_page() -> None:
    root = parse(render("Jump to [notes](#notes) below."))
    assert hrefs(root) == [PAGE + "#notes"]


# --- render_body: trailing navigation -------------------------------------------------------------------------------


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


def test_empty_body_renders_empty() -> None:
    assert render("") == ""
    assert render("   \n\n  ") == ""


# --- properties -----------------------------------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=st.one_of(st.text(max_size=500), markupish))
def test_render_body_never_raises_and_is_well_formed(body: str) -> None:
    out = render(body)
    assert not XML_ILLEGAL.search(out)
    root = parse(out)
    for element in root.iter():
        assert element.tag not in {"script", "style", "iframe"}
        for name in ("href", "src"):
            value = element.get(name)
            assert value is None or not value.lower().startswith(("javascript:", "data:", "vbscript:"))


@pytest.mark.parametrize("page_url", ["", "javascript:alert(1)//", "not a url", "http://[bad"])
def test_bad_page_url_never_produces_a_script_link(page_url: str) -> None:
    root = parse(render("Intro [a](x.html) and [b](/y) text.", page_url=page_url, site_url="vbscript:x"))
    for href in hrefs(root):
        assert not href.lower().startswith(("javascript:", "vbscript:", "data:")), href


# --- render_body: the fast paths give exactly what a plain pipeline gives ---------------------------------------------


def plain_markdown(source: str) -> str:
    """The reference: a fresh markdown-it with the same preset, no memo, whole document parsed."""
    return str(MarkdownIt("commonmark", {"html": True, "linkify": False}).render(source))


_MARKDOWN_ATOMS = st.sampled_from(
    [
        "<div>", "</div>", "<p>", "</P>", "<DIV class=x>", "<custom-x a='1'>", "</custom>", "<a href=x>", "<script>",
        "</script>", "<!--", "-->", "<?", "<!X", "<![CDATA[", "<pre>", "<textarea>", "\n", "\n\n", "\n \n", "\n\t\n",
        " ", "   ", "    ", "\t", "\r", "\r\n", "\x00", "text", "[x]", "[x]: /u", "*", "# ", "- ", "> ", "```",
        "===", "---", "<br/>", "<img src=a>", "<http://a.example/>", "[a](//h.example/x)", "<", ">", "\u3000",
    ]
)  # fmt: skip


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=st.lists(_MARKDOWN_ATOMS | st.text(alphabet="<>/ \n\tadivp=\"'", max_size=6), max_size=40).map("".join))
def test_leading_html_blocks_render_as_markdown_it_renders_them(body: str) -> None:
    assert _render_markdown(body) == plain_markdown(body)


def test_sample_post_markdown_renders_as_markdown_it_renders_it(sample_body: str) -> None:
    assert _render_markdown(sample_body) == plain_markdown(sample_body)
    assert _render_markdown(sample_body) == plain_markdown(sample_body)  # memoised links give the same result


def test_long_link_is_not_memoised_but_rendered() -> None:
    url = "https://elsewhere.example/" + "a" * 5_000
    root = parse(render(f"Intro [long]({url}) text."))
    assert hrefs(root) == [url]


def test_nbsp_in_attributes_becomes_the_character() -> None:
    out = render('<p><img src="/a.png" alt="a&nbsp;b" title="x &amp;nbsp; y"> text</p>')
    img = parse(out).find("p/img")
    assert img is not None
    assert img.get("alt") == "a\u00a0b"
    assert img.get("title") == "x &nbsp; y"


def test_trailing_top_level_inline_nav_is_removed() -> None:
    # An HTML block leaves links at the top level, outside any paragraph: still navigation, still dropped.
    root = parse(render('<div>Story text.</div>\n<a href="/">Home</a> ｜ <a href="//news.example.org/w/">World</a>'))
    assert hrefs(root) == []
    assert "".join(root.itertext()).strip() == "Story text."


def test_entities_in_nav_separators_still_count_as_separators() -> None:
    root = parse(render("Story.\n\n[Home](/) &gt; [World](/world/) &nbsp;&lt;"))
    assert hrefs(root) == []
