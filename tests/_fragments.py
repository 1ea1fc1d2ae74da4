"""Rendering a post body and reading the fragment as a feed consumer would: shared by the content tests."""

from __future__ import annotations

import re

from hypothesis import strategies as st
from lxml import etree

from syndicate.content import render_body

SITE = "https://news.example.org/"
PAGE = "https://news.example.org/world/2024/05/01/harbour.html"
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render(body: str, *, page_url: str = PAGE, site_url: str = SITE) -> str:
    return render_body(body, page_url=page_url, site_url=site_url)


def parse(fragment: str) -> etree._Element:
    """Parse a fragment as XML, the way a feed consumer will meet it; raises if it is not well-formed."""
    return etree.fromstring(f"<div>{fragment}</div>")


def hrefs(root: etree._Element) -> list[str]:
    return [str(a.get("href")) for a in root.iter("a") if a.get("href") is not None]


# Bodies made of the pieces markup is made of, for property tests of everything that reads a body.
markupish = st.lists(
    st.sampled_from(
        list("<>/&;=\"' \n\t#*[]()!`-|｜:")
        + ["<p>", "</p>", "<a href=", "<script>", "<img ", "&nbsp;", "//", "\x01", "<div>", "javascript:"]
    )
    | st.characters(),
    max_size=120,
).map("".join)
