"""The kramdown dialect against real Jekyll: a site of our own (tests/data/kramdown-site, one post per group of
kramdown's syntax) built by Jekyll 4.3.1 with kramdown 2.4.0, and each post's body rendered by ``render_body`` with
the dialect of the site's configuration. Per post the text must be the same, and so must the elements that carry
the structure: table cells, footnote references and notes, definition lists, ``del``, header ids, the table of
contents, and the classes and ids of attribute lists.
"""

from __future__ import annotations

import re
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
    return jekyll_build(SITE, tmp_path_factory.mktemp("kramdown-site"))


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
