from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from _fragments import XML_ILLEGAL, markupish
from syndicate.content import clean_text
from syndicate.excerpts import MAX_EXCERPT, _summarize_windows, excerpt_text, summarize


def test_sample_post_summary_is_its_first_paragraph(sample_body: str) -> None:
    summary = summarize(sample_body)
    first = re.search(r"<p>(.*?)</p>", sample_body, re.DOTALL)
    assert first is not None
    assert summary == first.group(1).strip()
    assert "<" not in summary
    short = summarize(sample_body, max_chars=30)
    assert len(short) == 30
    assert short.endswith("…")
    assert summary.startswith(short[:-1])


def test_summary_of_markdown_skips_headings_images_and_link_lines() -> None:
    body = (
        "# The Title\n\n![a photo](/img/p.jpg)\n\n[Home](/) | [World](/world/)\n\n"
        "The **harbour** reopened on *Monday* &amp; ships returned.\n\nSecond paragraph."
    )
    assert summarize(body) == "The harbour reopened on Monday & ships returned."


def test_summary_of_html_body() -> None:
    body = "<h2>Sub</h2>\n<p>  First   <b>real</b>\n paragraph &lt;here&gt;.</p><p>Second.</p>"
    assert summarize(body) == "First real paragraph <here>."


def test_summary_skips_script_and_code() -> None:
    body = "<script>\n\nvar x = 1;\n\n</script>\n\n```\ncode line\n\nmore code\n```\n\nActual text."
    assert summarize(body) == "Actual text."


def test_summary_truncates_at_word_boundary() -> None:
    words = " ".join(f"word{i}" for i in range(100))
    summary = summarize(words, max_chars=50)
    assert len(summary) <= 50
    assert summary.endswith("…")
    assert summary[:-1].split(" ")[-1].startswith("word")
    assert summary[:-1] == " ".join(f"word{i}" for i in range(len(summary[:-1].split(" "))))


def test_summary_short_text_is_unchanged() -> None:
    assert summarize("Short.") == "Short."
    assert summarize("") == ""


def test_summary_of_link_only_body_falls_back_to_link_text() -> None:
    assert summarize("[The full report](/reports/2024.html)") == "The full report"


def test_summary_finds_text_after_a_long_preamble() -> None:
    body = "![x](/a.png)\n\n" * 2_000 + "Finally some text."
    assert summarize(body) == "Finally some text."


def test_summary_of_long_first_paragraph_beyond_first_window() -> None:
    paragraph = "词" * 10_000
    summary = summarize(paragraph + "\n\nNext.", max_chars=100)
    assert summary == "词" * 99 + "…"


def test_summary_removes_xml_illegal_characters() -> None:
    summary = summarize("a\x01b\x0bc\ud800d")
    assert summary == "abcd"


def test_summary_is_cheap_on_huge_body() -> None:
    # Not a timing assertion: a 20 MB body must not be fully parsed; the result is the first paragraph.
    body = "First paragraph.\n\n" + ("<div>" * 10 + "x" * 1000 + "\n\n") * 20_000
    assert summarize(body) == "First paragraph."


# --- properties -----------------------------------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=st.one_of(st.text(max_size=500), markupish), max_chars=st.integers(min_value=1, max_value=400))
def test_summarize_never_raises_and_is_clean(body: str, max_chars: int) -> None:
    summary = summarize(body, max_chars=max_chars)
    assert not XML_ILLEGAL.search(summary)
    assert len(summary) <= max_chars
    assert "\n" not in summary


# --- summarize: the fast first-block paths give exactly what the general path gives -----------------------------------

_SUMMARY_ATOMS = st.sampled_from(
    [
        "<p>", "</p>", "<P>", '<p class="em_media">', "<p a='>'>", '<p a"b=\'c">', "<p\u3000x>", "\n", "\n\n", "\n \n",
        "   ", "    ", "\t", "\r", "&amp;", "&lt;", "&nbsp;", "&#x1;", "&#128;", "&copy", "&notin;", "&nota;",
        "&#xFDD0;", "&", "<b>", "</b>", "<a href=/x>", "</a>", "[x]", "[x]: /u", "](/y)", "*", "_", "`", "# ", "- ",
        "1. ", "> ", "```", "---", "===", "<script>", "</script>", "<!--", "-->", "<div>", "</div>", "<br>", "  \n",
        "\\\n", "|", "｜", "词", "word ", "Text.", "\x01", "\u3000", "\u00a0", "<h2>", "</h2>", "<pre>", "<custom>",
    ]
)  # fmt: skip
_SUMMARY_BODIES = st.lists(_SUMMARY_ATOMS | st.text(alphabet="ab <>&;/#\n\t[]()*_", max_size=5), max_size=40).map(
    "".join
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    head=_SUMMARY_BODIES,
    filler=st.sampled_from([0, 300, 3_990, 4_200, 40_000]),
    tail=_SUMMARY_BODIES,
    max_chars=st.sampled_from([1, 30, 280, 5_000]),
)
# An HTML block parsed without its last line ending: html5ever read the "</" at the end of input as text.
@example(head="", filler=0, tail="<p></\n\n", max_chars=1)
def test_summary_fast_paths_agree_with_the_general_path(head: str, filler: int, tail: str, max_chars: int) -> None:
    body = head + "x" * filler + tail
    assert summarize(body, max_chars=max_chars) == _summarize_windows(body, max_chars)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    head=_SUMMARY_BODIES,
    filler=st.sampled_from([0, 3_990, 40_000]),
    tail=_SUMMARY_BODIES,
    max_chars=st.sampled_from([1, 30, 280]),
)
def test_summary_of_a_cleaned_body_skips_cleaning_with_the_same_result(
    head: str, filler: int, tail: str, max_chars: int
) -> None:
    # parse_post passes bodies it already cleaned: scanning them again must not be needed for the same summary.
    body = clean_text(head + "x" * filler + tail)
    assert summarize(body, max_chars=max_chars, cleaned=True) == summarize(body, max_chars=max_chars)
    assert _summarize_windows(body, max_chars, cleaned=True) == _summarize_windows(body, max_chars)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<p>First &ldquo;para&rdquo;&nbsp;one.</p>\n <p>Second.</p>", "First “para” one."),
        ('\n  <p class="lead">First\n line.</p>', "First line."),
        ("<p>｜</p><p>Real text.</p>", "Real text."),  # separators only: not a paragraph of text
        ("<p>One\n\ntwo</p>", "One"),  # a blank line ends the HTML block (CommonMark §4.6)
        ("<p>AT&T &amp; co</p>", "AT&T & co"),
        ("Plain first paragraph,\nover two lines.\n\nSecond.", "Plain first paragraph, over two lines."),
        ("[ref] text.\n\n[ref]: https://example.org/", "ref text."),
    ],
)
def test_summary_of_common_first_blocks(body: str, expected: str) -> None:
    assert summarize(body) == expected


# excerpt_text: a Jekyll excerpt's text, read from a prefix of its markup.
_PARAGRAPH = "<p>The harbour master reported calm water and a late ferry, and the market stayed open until dusk.</p>\n"


def test_an_excerpt_of_text_dense_html_reads_the_same_whatever_follows() -> None:
    body = _PARAGRAPH * 30  # well over MAX_EXCERPT characters of text
    text = excerpt_text(body)
    assert 1300 < len(text) <= MAX_EXCERPT and text.endswith("…") and "<" not in text
    assert excerpt_text(body + "<p>" + "more words " * 2000 + "</p>\n") == text
    assert excerpt_text(body + "[a link](http://example.org/" + "x" * 5000 + ")\n") == text


def test_a_short_excerpt_is_read_whole() -> None:
    assert excerpt_text(_PARAGRAPH * 3) == " ".join([_PARAGRAPH[3:-5]] * 3)


def test_a_link_across_the_first_prefix_on_one_long_line_is_read_as_a_link() -> None:
    # No line end to cut at: the longer prefix is read, and the link is a link, not "[a link](http://exa…" as text.
    line = "word " * 100 + "[a link](http://example.org/" + "x" * 3000 + ") and " + "more " * 400
    text = excerpt_text(line)
    assert "a link and more" in text and "](" not in text


def test_the_last_prefix_never_ends_in_half_a_tag_or_reference() -> None:
    # Cut inside the tag, read as text it would come right after the words.
    text = excerpt_text("word " * 100 + '<img src="http://example.org/' + "y" * 5000 + '">')
    assert text == ("word " * 100).strip()
    # A long attribute gives no text, so the reference the cut splits would come right after the words.
    markup = "word " * 100 + '<span title="' + "z" * (3 * MAX_EXCERPT - 518) + '">'
    text = excerpt_text(markup + "&amp; after")
    assert text == ("word " * 100).strip()
