from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from syndicate.permalinks import expand_permalink

WHEN = datetime(2021, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("date", "/news/local/2021/02/03/hello.html"),
        ("pretty", "/news/local/2021/02/03/hello/"),
        ("ordinal", "/news/local/2021/034/hello.html"),
        ("none", "/news/local/hello.html"),
        ("/:year/:i_month/:i_day/:short_year/:hour:minute:second/:slug", "/2021/2/3/21/040506/hello"),
        ("/:categories/:title:output_ext", "/news/local/hello.html"),
    ],
)
def test_jekyll_patterns(pattern: str, expected: str) -> None:
    assert expand_permalink(pattern, date=WHEN, slug="hello", categories=["News", "local", "news"]) == expected


def test_no_categories_leaves_no_empty_segment() -> None:
    assert expand_permalink("date", date=WHEN, slug="x", categories=[]) == "/2021/02/03/x.html"


def test_result_is_a_uri_path() -> None:
    path = expand_permalink("/:categories/:title/", date=WHEN, slug="右江 日报", categories=["AI & ML"])
    assert path == "/ai%20&%20ml/%E5%8F%B3%E6%B1%9F%20%E6%97%A5%E6%8A%A5/"
    assert expand_permalink("/a%20b/100%/", date=WHEN, slug="x", categories=[]) == "/a%20b/100%25/"


def test_dot_segments_cannot_climb() -> None:
    assert expand_permalink("/../../etc/:title", date=WHEN, slug="x", categories=[]) == "/etc/x"
    assert "/.." not in expand_permalink("/:categories/:title", date=WHEN, slug="x", categories=[".."])
