from __future__ import annotations

import re

import frontmatter
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLE_POST
from syndicate.attribution import Attribution, compile_patterns, find_attribution
from syndicate.config import SETTINGS

SITE = "https://news.example.org/"
# The shipped defaults, so these tests cover what users get.
DEFAULT_PATTERNS = tuple(next(s.default for s in SETTINGS if s.name == "attribution_patterns"))
PATTERNS = compile_patterns(DEFAULT_PATTERNS)
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def find(body: str, meta: dict[str, object] | None = None, *, site_url: str = SITE) -> Attribution:
    return find_attribution(meta or {}, body, PATTERNS, site_url=site_url)


# --- compile_patterns -----------------------------------------------------------------------------------------------


def test_compile_patterns_compiles_defaults() -> None:
    compiled = compile_patterns(DEFAULT_PATTERNS)
    assert [p.pattern for p in compiled] == list(DEFAULT_PATTERNS)
    assert all("name" in p.groupindex for p in compiled)


def test_compile_patterns_rejects_bad_regex() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        compile_patterns(["来源[：:(?P<name>.+)"])


def test_compile_patterns_rejects_pattern_without_name_group() -> None:
    with pytest.raises(ValueError, match="named group 'name'"):
        compile_patterns([r"Source:\s*(.+)"])


def test_compile_patterns_empty() -> None:
    assert compile_patterns([]) == ()


# --- the sample post ------------------------------------------------------------------------------------------------


def test_sample_post_attribution() -> None:
    post = frontmatter.load(SAMPLE_POST)
    found = find_attribution(post.metadata, post.content, PATTERNS, site_url="https://finews.example.com/")
    assert found == Attribution(
        name="右江日报", url="http://www.yjrb.example/html_News/NewsShare.html?infoCode=NW202112240851300417"
    )


def test_sample_post_attribution_without_knowing_the_site_host() -> None:
    # The back links are protocol-relative: they never qualify as the original, whatever site_url says.
    post = frontmatter.load(SAMPLE_POST)
    found = find_attribution(post.metadata, post.content, PATTERNS, site_url="https://unrelated.example/")
    assert found.url == "http://www.yjrb.example/html_News/NewsShare.html?infoCode=NW202112240851300417"


# --- front matter ---------------------------------------------------------------------------------------------------


def test_front_matter_wins_over_body() -> None:
    body = "<p>（文章来源：江畔晚报）</p>\n\n<https://river.example/a/1>\n"
    found = find(body, {"source": "Harbour Times", "source_url": "https://harbour.example/story"})
    assert found == Attribution("Harbour Times", "https://harbour.example/story")


def test_front_matter_mapping_and_original_url() -> None:
    assert find("", {"source": {"name": "Valley Post", "url": "https://valley.example/p"}}) == Attribution(
        "Valley Post", "https://valley.example/p"
    )
    assert find("", {"source": "Valley Post", "original_url": "http://valley.example/q"}) == Attribution(
        "Valley Post", "http://valley.example/q"
    )


def test_front_matter_fields_are_independent() -> None:
    body = "Story.\n\n来源：江畔晚报\n\n<https://river.example/a/1>\n"
    assert find(body, {"source": "Harbour Times"}) == Attribution("Harbour Times", "https://river.example/a/1")
    assert find(body, {"source_url": "https://harbour.example/s"}) == Attribution(
        "江畔晚报", "https://harbour.example/s"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://files.example/x",
        "https://harbour.example/a b",
        "https://harbour.example/a\tb",
        "https://harbour.example/a\x01b",
        "//harbour.example/x",
        "/relative/path",
        "https://",
        "https://harbour.example:99999/",
        "http://[::1/",
        "",
    ],
)
def test_invalid_front_matter_url_is_rejected(url: str) -> None:
    assert find("", {"source": "Harbour Times", "source_url": url}) == Attribution("Harbour Times", None)


def test_front_matter_url_with_non_ascii_is_encoded() -> None:
    found = find("", {"source_url": "https://harbour.example/新闻/a?q=港口"})
    assert found.url == "https://harbour.example/%E6%96%B0%E9%97%BB/a?q=%E6%B8%AF%E5%8F%A3"


def test_front_matter_wrong_types_are_ignored() -> None:
    meta: dict[str, object] = {"source": ["a", "b"], "source_url": 42, "original_url": None}
    assert find("Story without attribution.", meta) == Attribution(None, None)
    assert find("", {"source": {"name": 3, "url": ["x"]}}) == Attribution(None, None)


def test_front_matter_blank_name_falls_back_to_body() -> None:
    assert find("来源：江畔晚报", {"source": "   "}).name == "江畔晚报"


# --- names from the body --------------------------------------------------------------------------------------------


def test_name_in_html_paragraph_with_brackets() -> None:
    assert find('<p class="em_media">（文章来源：江畔晚报）</p>').name == "江畔晚报"


def test_name_does_not_run_into_the_next_paragraph() -> None:
    assert find("<p>来源：江畔晚报</p><p>下一段文字</p>").name == "江畔晚报"


def test_name_inside_a_link_after_the_marker() -> None:
    found = find('<p>来源：<a href="https://river.example/">江畔晚报</a></p>')
    assert found == Attribution("江畔晚报", "https://river.example/")


def test_english_source_with_html_link() -> None:
    found = find('<p>The harbour reopened.</p>\n<p>Source: <a href="https://tide.example/news/9">The Tide</a></p>')
    assert found == Attribution("The Tide", "https://tide.example/news/9")


def test_english_source_with_markdown_link() -> None:
    found = find('The harbour reopened.\n\nSource: [The Tide](https://tide.example/news/9 "title")\n')
    assert found == Attribution("The Tide", "https://tide.example/news/9")


def test_name_is_trimmed_of_punctuation_and_emphasis() -> None:
    assert find("Source: **The Tide**.").name == "The Tide"
    assert find("来源：「江畔晚报」。").name == "江畔晚报"
    assert find("（来源：江畔晚报）").name == "江畔晚报"


@pytest.mark.parametrize(
    ("written", "published"),
    [
        ("Tech Daily & Co.", "Tech Daily & Co."),  # an abbreviation's period is part of the name
        ("Harbour Freight Inc.", "Harbour Freight Inc."),
        ("The U.S. Ledger", "The U.S. Ledger"),
        ("Voice of the U.S.", "Voice of the U.S."),
        ("Meadow Bros. Ltd.", "Meadow Bros. Ltd."),
        ("Tech Daily & Co..", "Tech Daily & Co."),  # one period: the abbreviation's, not the sentence's too
        ("The Tide.", "The Tide"),  # a sentence's period is not
        ("Morocco.", "Morocco"),  # a word ending in "co" is no abbreviation
        ("江畔晚报。", "江畔晚报"),
    ],
)
def test_a_name_keeps_the_period_of_an_abbreviation(written: str, published: str) -> None:
    assert find("Story.", {"source": written}).name == published
    assert find(f"The harbour reopened.\n\nSource: {written}\n").name == published


def test_name_stops_at_field_separators() -> None:
    assert find("来源：江畔晚报  作者：李明").name == "江畔晚报"
    assert find("来源：江畔晚报 | 编辑：王芳").name == "江畔晚报"
    assert find("Source: The Tide By Jane Roe").name == "The Tide"


def test_name_entities_are_unescaped() -> None:
    assert find("<p>Source: Smith &amp; Sons&nbsp;Gazette</p>").name == "Smith & Sons Gazette"


def test_empty_marker_gives_no_name() -> None:
    assert find("来源：\n\nStory text.").name is None
    assert find("Source: <https://tide.example/x>").name is None


def test_name_length_is_bounded() -> None:
    name = find("Source: " + "x" * 5_000).name
    assert name is not None and len(name) == 200


def test_first_pattern_wins() -> None:
    # "文章来源" is listed before "来源", so the more specific marker decides even when it comes later.
    assert find("来源：甲报\n\n文章来源：乙报").name == "乙报"


def test_no_source() -> None:
    body = "An ordinary post.\n\nIt links to [a friend](https://friend.example/) in passing.\n\n[Home](/)\n"
    assert find(body) == Attribution(None, None)


def test_custom_pattern() -> None:
    patterns = compile_patterns([r"Originally published by (?P<name>[^.\n]+)"])
    found = find_attribution({}, "Text.\n\nOriginally published by Valley Post.", patterns, site_url=SITE)
    assert found.name == "Valley Post"


# --- the attribution keyword as a word of its own -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ("<p>（文章来源：江畔晚报）</p>", "江畔晚报"),
        ("<p>正文。</p><p>来源：江畔晚报</p>", "江畔晚报"),
        ("正文。\n\n来源：江畔晚报\n", "江畔晚报"),
        ("正文最后一句。来源：江畔晚报", "江畔晚报"),  # after sentence punctuation: a new sentence
        ("2024-05-01 09:00 来源：江畔晚报 作者：李明", "江畔晚报"),  # a dateline's fields, spaced
        ("【来源：江畔晚报】", "江畔晚报"),
        ("(来源:江畔晚报)", "江畔晚报"),
        ("稿件来源：江畔晚报", "江畔晚报"),
        ("新闻来源：江畔晚报", "江畔晚报"),
        ("本文来源：江畔晚报", "江畔晚报"),
        ("原文来源：江畔晚报", "江畔晚报"),
        ("**来源：**江畔晚报", "江畔晚报"),
    ],
)
def test_chinese_source_markers_that_name_a_publication(body: str, name: str) -> None:
    assert find(body).name == name


@pytest.mark.parametrize(
    "body",
    [
        "<p>正文。</p><p>（图片来源：网络）</p>",
        "<p>正文。</p><p>图片来源：网络</p>",
        "数据来源：国家统计局",
        "资料来源：市档案馆",
        # A reporter's informant, not a publication the article was taken from.
        "消息来源：知情人士",
        "Photo来源：网络",
    ],
)
def test_source_inside_a_compound_word_is_not_an_attribution(body: str) -> None:
    assert find(body) == Attribution(None, None)


def test_image_credit_keeps_an_own_post_own() -> None:
    body = '<p>堤坝加固工程完工。</p>\n<p><img src="/img/dam.jpg" alt="堤坝"></p>\n<p>图片来源：网络</p>\n'
    assert find(body) == Attribution(None, None)


@pytest.mark.parametrize(
    "citation",
    [
        "数据来源：[国家统计局](https://www.stats.gov.cn/sj/zxfb/)",
        '数据来源：<a href="https://www.stats.gov.cn/sj/zxfb/">国家统计局</a>',
        "数据来源：国家统计局 <https://www.stats.gov.cn/sj/zxfb/>",
        "数据来源：国家统计局（<https://www.stats.gov.cn/sj/zxfb/>）",
    ],
)
def test_data_citation_with_a_link_keeps_an_own_post_own(citation: str) -> None:
    body = f"今年一季度全市生产总值同比增长5.2%。\n\n{citation}\n\n[返回首页](//news.example.org/)\n"
    assert find(body) == Attribution(None, None)


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ("The harbour reopened.\n\nSource: Reuters\n", "Reuters"),
        ("The harbour reopened. (Source: The Guardian)", "The Guardian"),
        ("<p>The harbour reopened.</p><p>Source: The Tide</p>", "The Tide"),
        ("Source: Valley Post\n\nThe harbour reopened.", "Valley Post"),
        ("<p><strong>Source:</strong> Agence France-Presse</p>", "Agence France-Presse"),
        ("**Source:** The People&#8217;s Daily", "The People’s Daily"),
    ],
)
def test_english_source_lines_that_name_a_publication(body: str, name: str) -> None:
    assert find(body).name == name


@pytest.mark.parametrize(
    "body",
    [
        "The council will spend more on roads.\n\nSource: council budget documents, pages 4-9\n",
        "Rents rose by a tenth (Source: ONS, 2023).",
        "Source: Census Bureau 2020 tables",
        "Open Source: why we publish our code",
        "Spending is up. Source: council budget documents",  # not a line of its own
        "Source: interviews with residents, traders and officials at the harbour",
        "Source: interviews with residents and traders and officials at the old harbour",  # not a name: 12 words
    ],
)
def test_english_data_citations_are_not_attributions(body: str) -> None:
    assert find(body).name is None


def test_data_citation_with_a_link_is_not_an_attribution() -> None:
    body = (
        "The council will spend more on roads.\n\n"
        "Source: council budget documents, pages 4-9 <https://council.example/budget-2024.pdf>\n"
    )
    assert find(body) == Attribution(None, None)


def test_original_link_without_a_marker_must_stand_on_its_own_line() -> None:
    own = "Our story.\n\nRead the full report at <https://stats.example/report>\n\n[Home](/)\n"
    assert find(own) == Attribution(None, None)
    html_own = '<p>Our story.</p><p>See <a href="https://stats.example/r">https://stats.example/r</a></p>'
    assert find(html_own) == Attribution(None, None)
    republished = "Their story.\n\n<https://original.example/story/42>\n\n[Home](/)\n"
    assert find(republished) == Attribution(None, "https://original.example/story/42")
    html_republished = '<p>Their story.</p><p><a href="https://original.example/1">https://original.example/1</a></p>'
    assert find(html_republished) == Attribution(None, "https://original.example/1")


# --- URLs from the body ---------------------------------------------------------------------------------------------


def test_url_is_autolink_after_marker() -> None:
    body = (
        "Story cites <https://cited.example/report> in passing.\n\n<p>（文章来源：江畔晚报）</p>\n\n"
        "<https://river.example/a/1>\n\n[返回首页](//news.example.org/)"
    )
    assert find(body).url == "https://river.example/a/1"


def test_self_link_html_after_marker() -> None:
    body = '<p>来源：江畔晚报</p><p><a href="https://river.example/a/2">https://river.example/a/2</a></p>'
    assert find(body).url == "https://river.example/a/2"


def test_self_link_markdown_at_end_without_marker() -> None:
    body = (
        "Story.\n\n[https://river.example/a/3](https://river.example/a/3)\n\n[Back](/) ｜ [Home](//news.example.org/)"
    )
    assert find(body) == Attribution(None, "https://river.example/a/3")


def test_link_in_the_middle_without_marker_is_not_the_original() -> None:
    body = "Story mentions <https://cited.example/report> and goes on.\n\nMore text."
    assert find(body).url is None


def test_site_links_are_never_the_original() -> None:
    body = "来源：本站\n\n<https://news.example.org/2024/a.html>\n\n<https://www.news.example.org/b>\n\n[//x](//x)"
    assert find(body) == Attribution("本站", None)


def test_protocol_relative_and_relative_links_are_never_the_original() -> None:
    body = '来源：江畔晚报\n\n<a href="//river.example/a">//river.example/a</a> <a href="/a">/a</a>'
    assert find(body).url is None


@pytest.mark.parametrize(
    "link",
    ["<javascript:alert(1)>", "<data:text/html,hi>", "<ftp://river.example/x>", "[http://a b](http://a b)"],
)
def test_non_http_or_broken_links_are_rejected(link: str) -> None:
    assert find(f"来源：江畔晚报\n\n{link}\n").url is None


def test_url_with_uppercase_scheme_and_entities() -> None:
    body = '来源：江畔晚报 <a href="https://river.example/a?x=1&amp;y=2">https://river.example/a?x=1&amp;y=2</a>'
    assert find(body).url == "https://river.example/a?x=1&y=2"
    assert find("来源：江畔晚报\n\n<HTTPS://River.example/Z>").url == "HTTPS://River.example/Z"


# --- hostile input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "<" * 200_000,
        "<a " * 200_000,
        "[" * 200_000 + "](" * 200_000,
        "<!--" * 200_000,
        "来源：" * 200_000,
        "<http://" * 200_000,
        "<div>" * 200_000 + "来源：江畔晚报" + "</div>" * 200_000,
        "Source: " + "y" * 1_000_000,
        "\x00\x01\ud800\uffff" * 1000,
    ],
)
def test_hostile_bodies_do_not_raise(body: str) -> None:
    found = find(body)
    assert found.name is None or (len(found.name) <= 200 and not XML_ILLEGAL.search(found.name))
    assert found.url is None or found.url.startswith(("http://", "https://"))


def test_deeply_nested_markup_still_finds_the_name() -> None:
    assert find("<div>" * 50_000 + "来源：江畔晚报" + "</div>" * 50_000).name == "江畔晚报"


# --- properties -----------------------------------------------------------------------------------------------------

pieces = st.lists(
    st.sampled_from(
        ["来源：", "文章来源:", "Source: ", "<", ">", "</p>", "<p>", "<a href=\"", "\">", "</a>", "[", "](", ")", "\n",
         "<http://", "https://", "//", "river.example", "news.example.org", " ", "）", "\x01", "&amp;", "\ud800"]
    )
    | st.text(max_size=5),
    max_size=60,
).map("".join)  # fmt: skip


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=st.one_of(st.text(max_size=400), pieces), source=st.one_of(st.none(), st.text(max_size=30), pieces))
def test_find_attribution_never_raises(body: str, source: str | None) -> None:
    meta: dict[str, object] = {} if source is None else {"source": source, "source_url": source}
    found = find(body, meta)
    if found.name is not None:
        assert found.name == found.name.strip()
        assert 0 < len(found.name) <= 200
        assert not XML_ILLEGAL.search(found.name)
    if found.url is not None:
        assert found.url.isascii()
        assert re.match(r"https?://[^\s/]", found.url, re.IGNORECASE)
        assert not re.search(r"[\x00-\x20\x7f]", found.url)


def _reference_text(body: str) -> tuple[str, list[int]]:
    """The text and the body position of each of its characters, from one plain walk over ``_MARKUP``'s spans."""
    from syndicate.attribution import _BLOCK, _MARKUP

    pieces: list[str] = []
    positions: list[int] = []
    last = 0
    for match in _MARKUP.finditer(body):
        pieces.append(body[last : match.start()])
        positions.extend(range(last, match.start()))
        if match.group("text") is not None:
            pieces.append(match.group("text"))
            positions.extend(match.start() + i for i in range(len(match.group("text"))))
        elif match.group("tag") is not None and match.group("tag").lower() in _BLOCK:
            pieces.append("\n")
            positions.append(match.start())
        last = match.end()
    pieces.append(body[last:])
    positions.extend(range(last, len(body)))
    return "".join(pieces), positions


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    body=st.lists(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<b>",
                "<!-- c -->",
                "<http://a.example/x>",
                "[t](http://b.example/z)",
                "![i](/p.png)",
                "来源：",
                "Source: ",
                "\n",
                " ",
                "[",
                "]",
                "<",
                ">",
                "x",
                "!",
                "](",
                ")",
                '"',
                "<a title='[x]'>",  # a tag holding the first "[": where the cheaper tag-only pass must stop
                "<Div\n>",
                "<pre-x>",
                '[a](u\n"t")',
            ]
        )  # fmt: skip
        | st.text(max_size=3),
        max_size=40,
    ).map("".join)
)
def test_text_and_positions_match_one_plain_pass_over_the_markup(body: str) -> None:
    from syndicate.attribution import _Text

    text = _Text(body)
    expected_text, positions = _reference_text(body)
    assert text.text == expected_text
    assert [text.body_position(i) for i in range(len(text.text))] == positions
    # An empty match at the end of the text maps just past the last character's body position.
    end = positions[-1] + 1 if positions else 0
    assert [text.body_position(len(text.text) + i) for i in range(2)] == ([end, end + 1] if positions else [0, 0])


def _external_by_parsing(raw: str, site_host: str) -> str | None:
    """``_external`` without its shortcut for plain URLs: validate, then take the host from urlsplit."""
    from syndicate.attribution import _host, _valid_url

    url = _valid_url(raw)
    host = _host(url) if url is not None else ""
    return url if host and host != site_host else None


@settings(max_examples=1000, deadline=None)
@given(
    raw=st.lists(
        st.sampled_from(["http", "HTTPS", "hTtP", "s", "://", ":", "/", "//", "?", "#", "@", "[", "]", ".", "-", "..",
                         "www.", "news.example.org", "a", "Z", "0", "80", "99999", " ", "\t", "%", "例", "\x7f", "~"])
        | st.text(max_size=2),
        max_size=12,
    ).map("".join),
    site_host=st.sampled_from(["news.example.org", "a", ""]),
)  # fmt: skip
def test_plain_url_shortcut_agrees_with_parsing(raw: str, site_host: str) -> None:
    from syndicate.attribution import _external

    assert _external(raw, site_host) == _external_by_parsing(raw, site_host)
    assert _external("http://" + raw, site_host) == _external_by_parsing("http://" + raw, site_host)


def test_bidi_controls_leave_a_name_from_the_body_or_front_matter() -> None:
    """Issue 14: an override in a publication's name would reorder the reader's line around it."""
    assert find("<p>正文。</p>\n<p>文章来源：右江\u202e日报\u2066</p>\n").name == "右江日报"
    assert find("<p>Body.</p>\n\nSource: The\u202d Guardian\u2069\n").name == "The Guardian"
    assert find("<p>x</p>", {"source": "Daily\u202eNews\u202c"}).name == "DailyNews"


def _url_checking_every_link(body: str, marker: int | None, site_host: str) -> str | None:
    """``_url_from_body`` as it was written first: every candidate link checked, then the one that counts taken."""
    from syndicate.attribution import (
        _A_TAG,
        _AUTOLINK,
        _MD_LINK,
        _external,
        _href,
        _line_links,
        _only_chrome,
        _same_address,
        _starts_its_line,
    )

    candidates = [(m.start(), m.end(), m.group("url")) for m in _AUTOLINK.finditer(body)]
    candidates += [(m.start(), m.end(), m.group("url")) for m in _MD_LINK.finditer(body) if _same_address(*m.groups())]
    for m in _A_TAG.finditer(body):
        address = _href(m.group("attrs"))
        if address is not None and _same_address(m.group("text"), address):
            candidates.append((m.start(), m.end(), address))
    usable = [(s, e, u) for s, e, raw in sorted(candidates) if (u := _external(raw, site_host)) is not None]
    if marker is not None:
        after = [u for s, _e, u in usable if s >= marker]
        if after:
            return after[0]
        line_end = body.find("\n", marker, marker + 2_000)
        line = body[marker : line_end if line_end >= 0 else marker + 2_000]
        on_line = [u for raw in _line_links(line) if (u := _external(raw, site_host)) is not None]
        if on_line:
            return on_line[0]
    if usable and _only_chrome(body[usable[-1][1] :]) and _starts_its_line(body, usable[-1][0]):
        return usable[-1][2]
    return None


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    body=st.lists(
        st.sampled_from(
            ["<http://a.example/x>", "<https://news.example.org/y>", "<http://例.example/z>", "<http://a b>",
             "[http://c.example/1](http://c.example/1)", "[//news.example.org/](//news.example.org/)", "[x](y)",
             '<a href="http://d.example/2">http://d.example/2</a>', "<a href='https://news.example.org/'>x</a>",
             "来源：", "\n", " ", "｜", "<p>", "</p>", "word", "&amp;", "[", "]", "(", ")"]
        )
        | st.text(max_size=3),
        max_size=30,
    ).map("".join),
    marker=st.one_of(st.none(), st.integers(min_value=0, max_value=200)),
    site_host=st.sampled_from(["news.example.org", "a.example", ""]),
)  # fmt: skip
def test_url_from_body_takes_what_checking_every_link_takes(body: str, marker: int | None, site_host: str) -> None:
    from syndicate.attribution import _url_from_body

    if marker is not None:
        marker = min(marker, len(body))
    assert _url_from_body(body, marker=marker, site_host=site_host) == _url_checking_every_link(body, marker, site_host)


def test_made_up_tag_names_do_not_grow_the_replacement_table_without_bound() -> None:
    from syndicate.attribution import _REPLACEMENTS, _Replacements

    body = "".join(f"<x{n}>a</x{n}>" for n in range(2 * _Replacements._NAMES)) + "<DIV>来源：江畔晚报</DIV>"
    assert find(body).name == "江畔晚报"
    assert len(_REPLACEMENTS) <= _Replacements._NAMES
    # A name met after the table is full is still replaced as a block tag or not, only no longer remembered.
    assert _REPLACEMENTS["P"] == "\n" and _REPLACEMENTS["x-new"] == ""
