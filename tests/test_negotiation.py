"""negotiation.prefers_html: browsers get the page, every feed reader the feed, with the Accept values they send."""

from __future__ import annotations

import pytest

from syndicate.formats import FEED_FORMATS, FORMATS
from syndicate.negotiation import prefers_html

FEED_TYPES = [FORMATS[name].media_type for name in FEED_FORMATS]

BROWSERS = {
    "firefox": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "chromium": (
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
        "application/signed-exchange;v=b3;q=0.7"
    ),
    "safari": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "upper case, spaces": "TEXT/HTML ; q=1 , */* ; q=0.5",
}

READERS = {
    "feedparser": (
        "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,application/xml;q=0.9,"
        "text/xml;q=0.2,*/*;q=0.1"
    ),
    "miniflux": "application/rss+xml, application/rdf+xml;q=0.8, application/atom+xml;q=0.6, application/xml;q=0.4, "
    "text/xml;q=0.4",
    "simplepie": (
        "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, "
        "text/xml;q=0.8, text/html;q=0.7, unknown/unknown;q=0.1, application/unknown;q=0.1, */*;q=0.1"
    ),
    "html a little below feeds": "application/rss+xml, application/atom+xml, text/html;q=0.9",
    "anything": "*/*",
    "curl": "*/*",
    "text wildcard": "text/*",
    "none": "",
    "html and feeds alike": "text/html, application/atom+xml, application/rss+xml, application/feed+json",
    "html refused": "text/html;q=0, */*",
    "broken weight": "text/html;q=high, */*;q=0.5",
    "weight out of range": "text/html;q=7, */*;q=0.5",
}


@pytest.mark.parametrize("media_type", FEED_TYPES)
@pytest.mark.parametrize("client", BROWSERS)
def test_a_browser_is_given_the_page(client: str, media_type: str) -> None:
    assert prefers_html(BROWSERS[client].encode(), media_type)


@pytest.mark.parametrize("media_type", FEED_TYPES)
@pytest.mark.parametrize("client", READERS)
def test_a_reader_is_given_the_feed(client: str, media_type: str) -> None:
    assert not prefers_html(READERS[client].encode(), media_type)


def test_a_client_asking_for_the_feed_type_first_gets_it_even_beside_html() -> None:
    assert not prefers_html(b"application/feed+json, text/html;q=0.9", FORMATS["json"].media_type)
    assert prefers_html(b"text/html, application/feed+json;q=0.9", FORMATS["json"].media_type)


def test_verdicts_are_the_same_when_asked_again() -> None:
    value = BROWSERS["firefox"].encode()
    assert [prefers_html(value, FEED_TYPES[0]) for _ in range(3)] == [True] * 3
    long_value = b"text/html, " + b"x/y;q=0.1, " * 100 + b"*/*;q=0.8"  # not memoised, same answer
    assert prefers_html(long_value, FEED_TYPES[0]) and prefers_html(long_value, FEED_TYPES[0])


def test_wildcards_and_empty_items_are_read_as_rfc_9110_says() -> None:
    atom = FORMATS["atom"].media_type
    # application/* names the feed's type as much as text/html is named: equal weight, the feed wins
    assert not prefers_html(b"text/html, application/*", atom)
    assert prefers_html(b"text/html, application/*;q=0.5", atom)
    # the most specific range decides: application/atom+xml;q=0.1 outweighs the */* that would favour it
    assert prefers_html(b"text/html,,  ,*/*;q=0.9, application/atom+xml;q=0.1", atom)


def test_the_memo_stays_bounded_and_right() -> None:
    for n in range(1200):  # more distinct values than the memo keeps
        value = f"text/html;q=0.{n % 9 + 1}, x/{n};q=0.05, */*;q=0.01".encode()
        assert prefers_html(value, FEED_TYPES[0])
        assert not prefers_html(b"*/*;q=0.5, x/" + str(n).encode(), FEED_TYPES[0])
