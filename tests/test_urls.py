from __future__ import annotations

import pytest

from _fragments import PAGE, hrefs, parse, render


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


@pytest.mark.parametrize("page_url", ["", "javascript:alert(1)//", "not a url", "http://[bad"])
def test_bad_page_url_never_produces_a_script_link(page_url: str) -> None:
    root = parse(render("Intro [a](x.html) and [b](/y) text.", page_url=page_url, site_url="vbscript:x"))
    for href in hrefs(root):
        assert not href.lower().startswith(("javascript:", "vbscript:", "data:")), href
