"""The kramdown dialect against real Jekyll: a site of our own (tests/data/kramdown-site, one post per group of
kramdown's syntax) built by Jekyll 4.3.1 with kramdown 2.4.0, and each post's body rendered by ``render_body`` with
the dialect of the site's configuration. Per post the text must be the same, and so must the elements that carry
the structure: table cells, footnote references and notes, definition lists, ``del``, header ids, the table of
contents, and the classes and ids of attribute lists.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest
import yaml

from _jekyll import jekyll_build
from syndicate.content import render_body
from syndicate.dialects import kramdown_dialect

SITE = Path(__file__).parent / "data" / "kramdown-site"
SITE_URL = "https://kramdown.example.org"
POSTS = sorted(p.name for p in (SITE / "_posts").glob("*.md"))
_SPACE = re.compile(r"\s+")
# Elements whose presence, order, ids, classes and text make up the structure compared.
_STRUCTURE = frozenset(
    {
        "h1", "h2", "h3", "h4", "h5", "h6", "p", "table", "tr", "th", "td", "dl", "dt", "dd", "del", "ul", "ol",
        "li", "sup", "a", "em", "strong", "code", "pre", "blockquote",
    }
)  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site copied (Jekyll writes its cache into the source) and built by Jekyll."""
    base = tmp_path_factory.mktemp("kramdown-site")
    shutil.copytree(SITE, base / "site")
    return jekyll_build(base / "site", base / "_site")


def _page(name: str) -> str:
    """The post's URL path under Jekyll's default permalink (no categories): /YYYY/MM/DD/slug.html."""
    year, month, day, slug = name.removesuffix(".md").split("-", 3)
    return f"/{year}/{month}/{day}/{slug}.html"


def _body(name: str) -> str:
    return (SITE / "_posts" / name).read_text(encoding="utf-8").split("---\n", 2)[2]


def _text(markup: str) -> str:
    root = lxml.html.fragment_fromstring(markup, create_parent="div")
    return _SPACE.sub(" ", root.text_content()).strip()


def _structure(markup: str) -> Iterator[tuple[str, ...]]:
    root = lxml.html.fragment_fromstring(markup, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        classes = " ".join(sorted(element.get("class", "").split()))
        if element.tag == "div" and classes:
            yield ("div", classes)
        if element.tag not in _STRUCTURE:
            continue
        fragment = urlsplit(element.get("href", "")).fragment if element.tag == "a" else ""
        text = _SPACE.sub(" ", element.text_content()).strip()
        yield (element.tag, element.get("id", ""), classes, fragment, text)


@pytest.mark.parametrize("name", POSTS)
def test_a_post_renders_as_jekyll_renders_it(built: Path, name: str) -> None:
    config = yaml.safe_load((SITE / "_config.yml").read_text(encoding="utf-8"))
    page = _page(name)
    expected = (built / page.lstrip("/")).read_text(encoding="utf-8")
    ours = render_body(
        _body(name), page_url=SITE_URL + page, site_url=SITE_URL, dialect=kramdown_dialect(config.get("kramdown"))
    )
    assert _text(ours) == _text(expected)
    assert list(_structure(ours)) == list(_structure(expected))


# --- the dialect's options, each against kramdown's documented behaviour -------------------------------------------

PAGE = "https://news.example.net/2024/05/01/a.html"


def _render(body: str, config: dict[str, object] | None = None) -> str:
    return render_body(body, page_url=PAGE, site_url="https://news.example.net", dialect=kramdown_dialect(config))


def test_jekyll_defaults_give_curly_quotes_symbols_and_header_ids() -> None:
    assert _render('# It\'s "news"') == '<h1 id="its-news">It’s “news”</h1>'
    assert _render("a -- b --- c... <<d>>") == "<p>a – b — c… «d»</p>"


def test_smart_quotes_and_symbols_follow_the_configuration() -> None:
    config: dict[str, object] = {"smart_quotes": "apos,apos,quot,quot", "typographic_symbols": {"hellip": "..."}}
    assert _render("\"x\" and 'y'...", config) == "<p>\"x\" and 'y'...</p>"
    assert _render('"x"', {"smart_quotes": "sbquo,lsquo,bdquo,ldquo"}) == "<p>„x“</p>"
    assert _render('"x" --', {"gfm_quirks": ["no_auto_typographic"]}) == '<p>"x" --</p>'


def test_header_ids_follow_the_configuration() -> None:
    assert _render("## Über café", {"auto_id_prefix": "s-"}) == '<h2 id="s-über-café">Über café</h2>'
    assert _render("## Über café", {"input": "kramdown"}) == '<h2 id="ber-caf">Über café</h2>'
    assert _render("## 2024", {"input": "kramdown"}) == '<h2 id="section">2024</h2>'
    assert _render("## Über café", {"auto_ids": False}) == "<h2>Über café</h2>"


def test_toc_levels_limit_the_table_of_contents() -> None:
    rendered = _render("* x\n{:toc}\n\n# One\n\n## Two\n\n### Three\n", {"toc_levels": "2..3"})
    toc = lxml.html.fragment_fromstring(rendered, create_parent="div").get_element_by_id("markdown-toc")
    assert [a.text for a in toc.iter("a")] == ["Two", "Three"]
    assert [a.get("href") for a in toc.iter("a")] == [f"{PAGE}#two", f"{PAGE}#three"]


def test_hard_wrap_makes_every_line_break_a_br() -> None:
    assert _render("one\ntwo") == "<p>one\ntwo</p>"
    assert _render("one\ntwo", {"hard_wrap": True}) == "<p>one<br />\ntwo</p>"


def test_footnote_numbers_start_at_footnote_nr() -> None:
    rendered = _render("Text[^a].\n\n[^a]: Note.", {"footnote_nr": 5})
    assert '<a href="' + PAGE + '#fn:a" class="footnote" rel="noopener noreferrer">5</a>' in rendered
    assert '<ol start="5">' in rendered


def test_footnote_links_resolve_to_the_post_page() -> None:
    root = lxml.html.fragment_fromstring(_render("Text[^1].\n\n[^1]: Note."), create_parent="div")
    reference, backlink = root.iter("a")
    assert reference.get("href") == f"{PAGE}#fn:1" and root.get_element_by_id("fn:1").tag == "li"
    assert backlink.get("href") == f"{PAGE}#fnref:1" and root.get_element_by_id("fnref:1").tag == "sup"


def test_markdown_span_and_html_blocks_without_the_attribute() -> None:
    assert _render('<div markdown="span">\n*x*\n</div>') == "<div>\n<em>x</em></div>"
    assert _render("<div>\n*x*\n</div>") == "<div>\n*x*\n</div>"


def test_the_posts_dialect_has_the_structure_but_not_the_typography() -> None:
    body = '"Quoted" -- text[^1].\n\n| a |\n|---|\n| b |\n\n~~old~~\n\nTerm\n: Meaning\n{: .glossary}\n\n[^1]: Note.'
    rendered = render_body(body, page_url=PAGE, site_url="https://news.example.net")
    root = lxml.html.fragment_fromstring(rendered, create_parent="div")
    assert root[0].text.startswith('"Quoted" -- text')
    assert [e.tag for e in root] == ["p", "table", "p", "dl", "div"]
    assert root.find("p/del").text == "old" and root[3].get("class") == "glossary"
    assert root.get_element_by_id("fn:1") is not None
    assert "<h1>x</h1>" == render_body("# x", page_url=PAGE, site_url="https://news.example.net")


def test_attribute_lists_cannot_add_active_content() -> None:
    rendered = _render('Text\n{: onclick="alert(1)" style="color: red" href="javascript:x" .ok data-n="1"}')
    assert rendered == '<p class="ok" data-n="1">Text</p>'
